//! Support cases (tickets), each an event stream of its own: opened from an order, a
//! return, a shipment or a customer; owned by a person and a group until resolved; every
//! contact logged and counted, so repeat contacts per order are a fact rather than a
//! feeling. A case cannot be resolved without a root cause from the configured taxonomy
//! (as helpdesks let teams require), because the causes, counted by period, channel,
//! carrier and SKU, are what tells the team which seam to fix. Assignment, status and
//! priority changes are events; the store records who made each one.
//!
//! Status: `open` ⇄ `pending_customer` ⇄ `pending_internal` → `resolved` → `closed`;
//! a resolved case may be reopened (the customer wrote again), a closed one may not (a
//! new contact opens a new case, linked to the same objects).
//!
//! One file past the usual size: the machine's state, commands, events, `decide` and
//! `evolve` read together, and splitting them would scatter one exhaustive match.

use crate::Timestamp;
use crate::values::Id;
use serde::{Deserialize, Serialize};

#[path = "case_signals.rs"]
mod signals;
pub use signals::{signals, suggest};

/// The most contacts one case logs, and the most objects it links.
pub const MAX_CONTACTS: usize = 500;
pub const MAX_LINKS: usize = 50;
/// The longest subject and contact summary, in characters.
pub const SUBJECT_MAX_CHARS: usize = 200;
pub const SUMMARY_MAX_CHARS: usize = 4000;

snake_enum!(
    /// How the customer reached support.
    ContactChannel { Email => "email", Chat => "chat", Phone => "phone", Marketplace => "marketplace" }
);
snake_enum!(
    /// Where a case stands.
    CaseStatus {
        Open => "open",
        PendingCustomer => "pending_customer",
        PendingInternal => "pending_internal",
        Resolved => "resolved",
        Closed => "closed",
    }
);
snake_enum!(
    /// How urgent a case is; escalation raises it (the variants are in rising order).
    #[derive(PartialOrd, Ord)]
    Priority { Low => "low", Normal => "normal", High => "high", Urgent => "urgent" }
);
snake_enum!(
    /// What a case is about, beside its order.
    LinkKind { Order => "order", Return => "return", Shipment => "shipment", Customer => "customer" }
);
snake_enum!(
    /// Who wrote a contact: the customer, or support answering.
    Direction { Inbound => "inbound", Outbound => "outbound" }
);

impl CaseStatus {
    /// Whether the case still needs work (counts in queues and SLA clocks).
    pub fn is_active(self) -> bool {
        matches!(
            self,
            CaseStatus::Open | CaseStatus::PendingCustomer | CaseStatus::PendingInternal
        )
    }

    /// The status changes `change_status` allows (resolving has its own command, as it
    /// needs a root cause; reopening has its own, as it is a new contact's doing).
    fn may_become(self, to: CaseStatus) -> bool {
        self.is_active() && to.is_active() && self != to
    }
}

/// An object the case is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    pub kind: LinkKind,
    pub id: String,
}

/// One contact with the customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub channel: ContactChannel,
    pub direction: Direction,
    pub summary: String,
    /// The customer asked where their order is ("WISMO"): counted apart, as it is the
    /// contact good order status information prevents.
    pub order_status: bool,
    pub at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Case {
    pub id: Id,
    /// The human number, `CASE-1042`.
    pub number: String,
    pub subject: String,
    pub channel: ContactChannel,
    pub status: CaseStatus,
    pub priority: Priority,
    pub owner: Option<String>,
    pub group: Option<String>,
    /// The order the case is about, if any (also among `links`).
    pub order_id: Option<Id>,
    /// That order's sales channel: who may see the case follows it.
    pub order_channel: Option<String>,
    /// The customer's normalised email, if known.
    pub customer_email: Option<String>,
    pub links: Vec<Link>,
    pub contacts: Vec<Contact>,
    pub root_cause: Option<String>,
    /// What the linked order went through suggested, when the case was opened.
    pub suggested_root_cause: Option<String>,
    /// How many escalation levels the case has passed.
    pub escalation_level: u32,
    pub opened_at: Timestamp,
    /// Support's first answer (the first outbound contact).
    pub first_response_at: Option<Timestamp>,
    pub resolved_at: Option<Timestamp>,
    pub closed_at: Option<Timestamp>,
    pub updated_at: Timestamp,
    pub version: u64,
}

/// What opening a case needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenCase {
    pub id: Id,
    pub number: String,
    pub subject: String,
    pub channel: ContactChannel,
    pub priority: Priority,
    pub group: Option<String>,
    pub owner: Option<String>,
    pub order_id: Option<Id>,
    pub order_channel: Option<String>,
    pub customer_email: Option<String>,
    pub links: Vec<Link>,
    /// The contact that opened it, if a customer's (a case may be opened by support
    /// noticing a problem first).
    pub first_contact: Option<NewContact>,
    pub suggested_root_cause: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewContact {
    pub channel: ContactChannel,
    pub direction: Direction,
    pub summary: String,
    pub order_status: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseCommand {
    Open(Box<OpenCase>),
    LogContact(NewContact),
    /// Gives the case to an owner and/or a group (None leaves that part as it is).
    Assign {
        owner: Option<String>,
        group: Option<String>,
    },
    Unassign,
    ChangeStatus(CaseStatus),
    ChangePriority(Priority),
    Link(Link),
    /// Resolves with a root cause from `taxonomy` (the configured one).
    Resolve {
        root_cause: String,
        taxonomy: Vec<String>,
        note: Option<String>,
    },
    Reopen {
        reason: String,
    },
    Close,
    /// The timer worker passed escalation level `level` (numbered from 1): the rule
    /// raises the priority and may hand the case to a group.
    Escalate {
        level: u32,
        rule: String,
        priority: Option<Priority>,
        group: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CaseEvent {
    Opened(Box<OpenCase>),
    ContactLogged(NewContact),
    Assigned {
        owner: Option<String>,
        group: Option<String>,
    },
    Unassigned,
    StatusChanged {
        from: CaseStatus,
        to: CaseStatus,
    },
    PriorityChanged {
        from: Priority,
        to: Priority,
    },
    Linked(Link),
    Resolved {
        root_cause: String,
        note: Option<String>,
    },
    Reopened {
        reason: String,
    },
    Closed,
    Escalated {
        level: u32,
        rule: String,
        priority: Option<Priority>,
        group: Option<String>,
    },
}

/// Why a case command was refused; each has a stable code for the API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaseError {
    #[error("the case does not exist")]
    NotFound,
    #[error("the case already exists")]
    AlreadyExists,
    #[error("a case that is {} cannot become {}", from.as_str(), to)]
    IllegalTransition { from: CaseStatus, to: &'static str },
    #[error("a case is resolved with a root cause; {0:?} is not one of the configured root causes")]
    UnknownRootCause(String),
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        code: &'static str,
        message: String,
    },
}

impl CaseError {
    pub fn code(&self) -> &'static str {
        match self {
            CaseError::NotFound => "case_not_found",
            CaseError::AlreadyExists => "case_exists",
            CaseError::IllegalTransition { .. } => "illegal_case_transition",
            CaseError::UnknownRootCause(_) => "unknown_root_cause",
            CaseError::Invalid { code, .. } => code,
        }
    }
}

fn invalid(field: &'static str, code: &'static str, message: impl Into<String>) -> CaseError {
    CaseError::Invalid {
        field,
        code,
        message: message.into(),
    }
}

fn check_text(field: &'static str, text: &str, max: usize) -> Result<(), CaseError> {
    if text.trim().is_empty() {
        return Err(invalid(field, "required", format!("{field} is required")));
    }
    if text.chars().count() > max {
        return Err(invalid(
            field,
            "too_long",
            format!("at most {max} characters"),
        ));
    }
    Ok(())
}

fn illegal(case: &Case, to: &'static str) -> CaseError {
    CaseError::IllegalTransition {
        from: case.status,
        to,
    }
}

/// Decides `command` against `state` (None for a case not opened yet).
pub fn decide(state: Option<&Case>, command: CaseCommand) -> Result<Vec<CaseEvent>, CaseError> {
    let Some(case) = state else {
        return match command {
            CaseCommand::Open(open) => {
                check_text("subject", &open.subject, SUBJECT_MAX_CHARS)?;
                if let Some(c) = &open.first_contact {
                    check_text("contact.summary", &c.summary, SUMMARY_MAX_CHARS)?;
                }
                if open.links.len() > MAX_LINKS {
                    return Err(invalid(
                        "links",
                        "too_many_links",
                        format!("at most {MAX_LINKS}"),
                    ));
                }
                Ok(vec![CaseEvent::Opened(open)])
            }
            _ => Err(CaseError::NotFound),
        };
    };
    let events = match command {
        CaseCommand::Open(_) => return Err(CaseError::AlreadyExists),
        CaseCommand::LogContact(contact) => {
            check_text("summary", &contact.summary, SUMMARY_MAX_CHARS)?;
            if case.status == CaseStatus::Closed {
                return Err(illegal(case, "contacted"));
            }
            if case.contacts.len() >= MAX_CONTACTS {
                return Err(invalid(
                    "summary",
                    "too_many_contacts",
                    format!("a case logs at most {MAX_CONTACTS} contacts; open a new one"),
                ));
            }
            let mut events = Vec::new();
            // A customer writing to a resolved case reopens it: the problem is not over.
            if case.status == CaseStatus::Resolved && contact.direction == Direction::Inbound {
                events.push(CaseEvent::Reopened {
                    reason: "the customer wrote again".into(),
                });
            } else if case.status == CaseStatus::PendingCustomer
                && contact.direction == Direction::Inbound
            {
                events.push(CaseEvent::StatusChanged {
                    from: case.status,
                    to: CaseStatus::Open,
                });
            }
            events.insert(0, CaseEvent::ContactLogged(contact));
            events
        }
        CaseCommand::Assign { owner, group } => {
            if !case.status.is_active() {
                return Err(illegal(case, "assigned"));
            }
            let owner = owner.filter(|o| case.owner.as_ref() != Some(o));
            let group = group.filter(|g| case.group.as_ref() != Some(g));
            if owner.is_none() && group.is_none() {
                return Ok(Vec::new());
            }
            vec![CaseEvent::Assigned { owner, group }]
        }
        CaseCommand::Unassign => {
            if !case.status.is_active() {
                return Err(illegal(case, "unassigned"));
            }
            if case.owner.is_none() {
                return Ok(Vec::new());
            }
            vec![CaseEvent::Unassigned]
        }
        CaseCommand::ChangeStatus(to) => {
            if case.status == to {
                return Ok(Vec::new());
            }
            if !case.status.may_become(to) {
                return Err(illegal(case, to.as_str()));
            }
            vec![CaseEvent::StatusChanged {
                from: case.status,
                to,
            }]
        }
        CaseCommand::ChangePriority(to) => {
            if case.status == CaseStatus::Closed {
                return Err(illegal(case, "reprioritized"));
            }
            if case.priority == to {
                return Ok(Vec::new());
            }
            vec![CaseEvent::PriorityChanged {
                from: case.priority,
                to,
            }]
        }
        CaseCommand::Link(link) => {
            if case.status == CaseStatus::Closed {
                return Err(illegal(case, "linked"));
            }
            if case.links.contains(&link) {
                return Ok(Vec::new());
            }
            if case.links.len() >= MAX_LINKS {
                return Err(invalid(
                    "id",
                    "too_many_links",
                    format!("at most {MAX_LINKS}"),
                ));
            }
            vec![CaseEvent::Linked(link)]
        }
        CaseCommand::Resolve {
            root_cause,
            taxonomy,
            note,
        } => {
            if !case.status.is_active() {
                return Err(illegal(case, "resolved"));
            }
            if !taxonomy.contains(&root_cause) {
                return Err(CaseError::UnknownRootCause(root_cause));
            }
            vec![CaseEvent::Resolved { root_cause, note }]
        }
        CaseCommand::Reopen { reason } => {
            check_text("reason", &reason, SUBJECT_MAX_CHARS)?;
            if case.status != CaseStatus::Resolved {
                return Err(illegal(case, "reopened"));
            }
            vec![CaseEvent::Reopened { reason }]
        }
        CaseCommand::Close => {
            if case.status != CaseStatus::Resolved {
                return Err(illegal(case, "closed"));
            }
            vec![CaseEvent::Closed]
        }
        CaseCommand::Escalate {
            level,
            rule,
            priority,
            group,
        } => {
            // Each level once, and only while the case needs work: a timer that fires
            // late or twice changes nothing.
            if !case.status.is_active() || level <= case.escalation_level {
                return Ok(Vec::new());
            }
            let priority = priority.filter(|p| *p > case.priority);
            let group = group.filter(|g| case.group.as_ref() != Some(g));
            vec![CaseEvent::Escalated {
                level,
                rule,
                priority,
                group,
            }]
        }
    };
    Ok(events)
}

/// Folds one event into the case; `at` is when it was recorded.
pub fn evolve(
    state: Option<Case>,
    event: &CaseEvent,
    at: Timestamp,
    version: u64,
) -> Result<Case, CaseError> {
    let mut case = match (state, event) {
        (None, CaseEvent::Opened(o)) => {
            let mut links = o.links.clone();
            if let Some(order) = &o.order_id {
                let link = Link {
                    kind: LinkKind::Order,
                    id: order.to_string(),
                };
                if !links.contains(&link) {
                    links.insert(0, link);
                }
            }
            let first = o.first_contact.as_ref().map(|c| contact(c, at));
            Case {
                id: o.id.clone(),
                number: o.number.clone(),
                subject: o.subject.trim().to_owned(),
                channel: o.channel,
                status: CaseStatus::Open,
                priority: o.priority,
                owner: o.owner.clone(),
                group: o.group.clone(),
                order_id: o.order_id.clone(),
                order_channel: o.order_channel.clone(),
                customer_email: o.customer_email.clone(),
                links,
                first_response_at: first
                    .as_ref()
                    .filter(|c| c.direction == Direction::Outbound)
                    .map(|c| c.at),
                contacts: first.into_iter().collect(),
                root_cause: None,
                suggested_root_cause: o.suggested_root_cause.clone(),
                escalation_level: 0,
                opened_at: at,
                resolved_at: None,
                closed_at: None,
                updated_at: at,
                version: 0,
            }
        }
        (Some(_), CaseEvent::Opened(_)) => return Err(CaseError::AlreadyExists),
        (None, _) => return Err(CaseError::NotFound),
        (Some(mut case), event) => {
            match event {
                CaseEvent::Opened(_) => return Err(CaseError::AlreadyExists),
                CaseEvent::ContactLogged(c) => {
                    if c.direction == Direction::Outbound && case.first_response_at.is_none() {
                        case.first_response_at = Some(at);
                    }
                    case.contacts.push(contact(c, at));
                }
                CaseEvent::Assigned { owner, group } => {
                    if owner.is_some() {
                        case.owner.clone_from(owner);
                    }
                    if group.is_some() {
                        case.group.clone_from(group);
                    }
                }
                CaseEvent::Unassigned => case.owner = None,
                CaseEvent::StatusChanged { to, .. } => case.status = *to,
                CaseEvent::PriorityChanged { to, .. } => case.priority = *to,
                CaseEvent::Linked(l) => case.links.push(l.clone()),
                CaseEvent::Resolved { root_cause, .. } => {
                    case.status = CaseStatus::Resolved;
                    case.root_cause = Some(root_cause.clone());
                    case.resolved_at = Some(at);
                }
                CaseEvent::Reopened { .. } => {
                    case.status = CaseStatus::Open;
                    case.resolved_at = None;
                }
                CaseEvent::Closed => {
                    case.status = CaseStatus::Closed;
                    case.closed_at = Some(at);
                }
                CaseEvent::Escalated {
                    level,
                    priority,
                    group,
                    ..
                } => {
                    case.escalation_level = *level;
                    if let Some(p) = priority {
                        case.priority = *p;
                    }
                    if group.is_some() {
                        case.group.clone_from(group);
                    }
                }
            }
            case
        }
    };
    case.updated_at = at;
    case.version = version;
    Ok(case)
}

fn contact(c: &NewContact, at: Timestamp) -> Contact {
    Contact {
        channel: c.channel,
        direction: c.direction,
        summary: c.summary.trim().to_owned(),
        order_status: c.order_status,
        at,
    }
}

impl CaseEvent {
    /// The stored name of the event.
    pub fn kind(&self) -> &'static str {
        match self {
            CaseEvent::Opened(_) => "case_opened",
            CaseEvent::ContactLogged(_) => "case_contact_logged",
            CaseEvent::Assigned { .. } => "case_assigned",
            CaseEvent::Unassigned => "case_unassigned",
            CaseEvent::StatusChanged { .. } => "case_status_changed",
            CaseEvent::PriorityChanged { .. } => "case_priority_changed",
            CaseEvent::Linked(_) => "case_linked",
            CaseEvent::Resolved { .. } => "case_resolved",
            CaseEvent::Reopened { .. } => "case_reopened",
            CaseEvent::Closed => "case_closed",
            CaseEvent::Escalated { .. } => "case_escalated",
        }
    }

    /// One line for the timeline.
    pub fn summary(&self, case: &Case) -> String {
        let n = &case.number;
        match self {
            CaseEvent::Opened(o) => format!(
                "Case {n} opened ({}, {}): {}",
                o.channel.as_str(),
                o.priority.as_str(),
                o.subject.trim()
            ),
            CaseEvent::ContactLogged(c) => format!(
                "Case {n}: {} {} contact{}",
                c.direction.as_str(),
                c.channel.as_str(),
                if c.order_status {
                    " (order status)"
                } else {
                    ""
                }
            ),
            CaseEvent::Assigned { owner, group } => {
                let to: Vec<&str> = owner.iter().chain(group).map(String::as_str).collect();
                format!("Case {n} assigned to {}", to.join(" in "))
            }
            CaseEvent::Unassigned => format!("Case {n} unassigned"),
            CaseEvent::StatusChanged { from, to } => {
                format!("Case {n}: {} → {}", from.as_str(), to.as_str())
            }
            CaseEvent::PriorityChanged { from, to } => {
                format!("Case {n} priority {} → {}", from.as_str(), to.as_str())
            }
            CaseEvent::Linked(l) => format!("Case {n} linked to {} {}", l.kind.as_str(), l.id),
            CaseEvent::Resolved { root_cause, .. } => {
                format!("Case {n} resolved: root cause {root_cause}")
            }
            CaseEvent::Reopened { reason } => format!("Case {n} reopened: {reason}"),
            CaseEvent::Closed => format!("Case {n} closed"),
            CaseEvent::Escalated { level, rule, .. } => {
                format!("Case {n} escalated to level {level} ({rule})")
            }
        }
    }
}

#[cfg(test)]
#[path = "case_tests.rs"]
mod tests;
