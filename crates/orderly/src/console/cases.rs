//! The cases pages: the queues an agent works from (mine, unassigned, a group's, the
//! breached ones, all), oldest first with their SLA due times and paged, and one case
//! with its contact log, what it is linked to, and the forms that work it (contact,
//! assignment, status, priority, resolution with the root-cause picker, reopen, close).
//! The forms post to `case_actions`; what the role may not do is not shown.

use crate::app::AppState;
use crate::app::auth::{Permission, allows};
use crate::console::error::ConsoleError;
use crate::console::page::{Layout, Pager, cursor, render, when, zone_of};
use crate::console::session::Viewer;
use crate::http::extract::{page_cursor, time_cursor_key};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use jiff::Timestamp;
use orderly_domain::case::{CaseStatus, ContactChannel, LinkKind, Priority};
use orderly_store::{CaseFilter, CaseListed, CaseQueue};
use serde::Deserialize;
use std::collections::HashMap;

/// Cases per page of a queue.
const PER_PAGE: u32 = 50;

type Answered = Result<Response, ConsoleError>;

pub struct Tab {
    pub label: String,
    pub href: String,
    pub current: bool,
}

pub struct QueueRow {
    pub number: String,
    pub href: String,
    pub subject: String,
    pub status: &'static str,
    pub priority: &'static str,
    pub owner: String,
    pub group: String,
    pub order: Option<(String, String)>,
    pub opened: String,
    pub due: String,
    pub breached: bool,
    pub escalation: u32,
}

#[derive(Template)]
#[template(path = "console/cases.html")]
pub struct QueuePage {
    pub layout: Layout,
    pub heading: String,
    pub tabs: Vec<Tab>,
    pub groups: Vec<Tab>,
    pub rows: Vec<QueueRow>,
    pub pager: Pager,
}

#[derive(Debug, Deserialize)]
pub struct QueueQuery {
    queue: Option<String>,
    group: Option<String>,
    cursor: Option<String>,
}

/// Owner labels by name, `unassigned` for none.
fn owner_name(owner: Option<&String>, names: &HashMap<String, String>) -> String {
    match owner {
        None => "unassigned".into(),
        Some(o) => names.get(o).cloned().unwrap_or_else(|| o.clone()),
    }
}

pub async fn queue(
    State(app): State<AppState>,
    viewer: Viewer,
    Query(q): Query<QueueQuery>,
) -> Answered {
    let actor = viewer.actor();
    let now = app.now();
    let zone = zone_of(&app, &viewer);
    let groups = &app.config.cases.groups;
    let name = q.queue.as_deref().unwrap_or("mine");
    let group = q.group.as_deref().filter(|g| groups.iter().any(|c| c == g));
    let (queue, heading) = match (name, group) {
        ("unassigned", _) => (CaseQueue::Unassigned, "Unassigned cases".to_owned()),
        ("breached", _) => (CaseQueue::Breached(now), "Cases past their SLA".to_owned()),
        ("all", _) => (CaseQueue::All, "Every case".to_owned()),
        ("group", Some(g)) => (CaseQueue::Group(g.to_owned()), format!("Group {g}")),
        _ => (CaseQueue::Mine(actor.label()), "My cases".to_owned()),
    };
    let filter = CaseFilter {
        queue,
        status: None,
        opened_before: None,
        channels: None,
        after: cursor(q.cursor.as_deref())?,
        limit: PER_PAGE + 1,
    };
    let mut rows = app.cases(&actor, filter).await?;
    let next = page_cursor(&mut rows, PER_PAGE, |r| {
        time_cursor_key(r.case.opened_at, r.case.id.as_str())
    });
    let names = app
        .names_of(rows.iter().filter_map(|r| r.case.owner.clone()).collect())
        .await?;
    let here = |queue: &str, group: Option<&str>| match group {
        Some(g) => format!("/console/cases?queue={queue}&group={g}"),
        None => format!("/console/cases?queue={queue}"),
    };
    let current = match name {
        "unassigned" | "breached" | "all" => name,
        "group" if group.is_some() => "group",
        _ => "mine",
    };
    let tabs = [
        ("mine", "Mine"),
        ("unassigned", "Unassigned"),
        ("breached", "Breached"),
        ("all", "All"),
    ]
    .into_iter()
    .map(|(q, label)| Tab {
        label: label.into(),
        href: here(q, None),
        current: current == q,
    })
    .collect();
    let group_tabs = groups
        .iter()
        .map(|g| Tab {
            label: g.clone(),
            href: here("group", Some(g)),
            current: current == "group" && group == Some(g.as_str()),
        })
        .collect();
    let this = here(current, group.filter(|_| current == "group"));
    let page = QueuePage {
        layout: Layout::new(&viewer, heading.clone(), "/console/cases"),
        heading,
        tabs,
        groups: group_tabs,
        rows: rows
            .iter()
            .map(|r| queue_row(r, now, &zone, &names))
            .collect(),
        pager: Pager::new(&this, q.cursor.is_some(), next),
    };
    Ok(render(Some(&viewer), StatusCode::OK, &page))
}

fn queue_row(
    r: &CaseListed,
    now: Timestamp,
    zone: &jiff::tz::TimeZone,
    names: &HashMap<String, String>,
) -> QueueRow {
    let c = &r.case;
    QueueRow {
        number: c.number.clone(),
        href: format!("/console/cases/{}", c.number),
        subject: c.subject.clone(),
        status: c.status.as_str(),
        priority: c.priority.as_str(),
        owner: owner_name(c.owner.as_ref(), names),
        group: c.group.clone().unwrap_or_default(),
        order: c
            .order_id
            .as_ref()
            .map(|o| (o.to_string(), format!("/console/orders/{o}"))),
        opened: when(c.opened_at, zone),
        due: r.due_at.map(|d| when(d, zone)).unwrap_or_default(),
        breached: c.status.is_active() && r.due_at.is_some_and(|d| d <= now),
        escalation: c.escalation_level,
    }
}

pub struct ContactRow {
    pub at: String,
    pub channel: &'static str,
    pub direction: &'static str,
    pub summary: String,
    pub order_status: bool,
}

pub struct LinkRow {
    pub kind: &'static str,
    pub id: String,
    pub href: Option<String>,
}

/// A choice in a select.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "console/case.html")]
pub struct CasePage {
    pub layout: Layout,
    pub form_key: String,
    pub number: String,
    pub subject: String,
    pub status: &'static str,
    pub active: bool,
    pub resolved: bool,
    pub priority: &'static str,
    pub owner: String,
    pub group: String,
    pub due: String,
    pub breached: bool,
    pub escalation: u32,
    pub opened: String,
    pub first_response: String,
    pub root_cause: String,
    pub suggested: String,
    pub links: Vec<LinkRow>,
    pub contacts: Vec<ContactRow>,
    /// The role may work the case (otherwise it only reads it).
    pub manage: bool,
    pub root_causes: Vec<Choice>,
    pub assignees: Vec<Choice>,
    pub groups: Vec<Choice>,
    pub statuses: Vec<Choice>,
    pub priorities: Vec<Choice>,
    pub channels: Vec<&'static str>,
}

fn choices<'a>(
    values: impl IntoIterator<Item = (&'a str, String)>,
    selected: Option<&str>,
) -> Vec<Choice> {
    values
        .into_iter()
        .map(|(v, label)| Choice {
            value: v.to_owned(),
            label,
            selected: Some(v) == selected,
        })
        .collect()
}

pub async fn case_page(
    State(app): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Answered {
    let actor = viewer.actor();
    let listed = app.case(&actor, id).await?;
    let (c, now, zone) = (&listed.case, app.now(), zone_of(&app, &viewer));
    let manage = allows(viewer.user.role, Permission::ManageCases);
    let assignees = if manage {
        app.case_assignees(&actor).await?
    } else {
        Vec::new()
    };
    let names = app.names_of(c.owner.iter().cloned().collect()).await?;
    let suggested = c.suggested_root_cause.clone().unwrap_or_default();
    let cases = &app.config.cases;
    let root_causes = choices(
        cases.root_causes.iter().map(|r| {
            let label = if *r == suggested {
                format!("{r} (suggested)")
            } else {
                r.clone()
            };
            (r.as_str(), label)
        }),
        c.root_cause.as_deref().or(Some(suggested.as_str())),
    );
    let links = c
        .links
        .iter()
        .map(|l| LinkRow {
            kind: l.kind.as_str(),
            id: l.id.clone(),
            href: match l.kind {
                LinkKind::Order => Some(format!("/console/orders/{}", l.id)),
                LinkKind::Customer => Some(format!("/console/customers/{}", l.id)),
                LinkKind::Return | LinkKind::Shipment => None,
            },
        })
        .chain(c.customer_email.iter().map(|e| LinkRow {
            kind: "customer",
            id: e.clone(),
            href: Some(format!("/console/customers/{e}")),
        }))
        .collect();
    let page = CasePage {
        layout: Layout::new(&viewer, format!("Case {}", c.number), "/console/cases"),
        form_key: app.new_id("frm"),
        number: c.number.clone(),
        subject: c.subject.clone(),
        status: c.status.as_str(),
        active: c.status.is_active(),
        resolved: c.status == CaseStatus::Resolved,
        priority: c.priority.as_str(),
        owner: owner_name(c.owner.as_ref(), &names),
        group: c.group.clone().unwrap_or_default(),
        due: listed.due_at.map(|d| when(d, &zone)).unwrap_or_default(),
        breached: c.status.is_active() && listed.due_at.is_some_and(|d| d <= now),
        escalation: c.escalation_level,
        opened: when(c.opened_at, &zone),
        first_response: c
            .first_response_at
            .map(|t| when(t, &zone))
            .unwrap_or_default(),
        root_cause: c.root_cause.clone().unwrap_or_default(),
        suggested,
        links,
        contacts: c
            .contacts
            .iter()
            .rev()
            .map(|k| ContactRow {
                at: when(k.at, &zone),
                channel: k.channel.as_str(),
                direction: k.direction.as_str(),
                summary: k.summary.clone(),
                order_status: k.order_status,
            })
            .collect(),
        manage,
        root_causes,
        assignees: choices(
            assignees.iter().map(|(v, n)| (v.as_str(), n.clone())),
            c.owner.as_deref(),
        ),
        groups: choices(
            cases.groups.iter().map(|g| (g.as_str(), g.clone())),
            c.group.as_deref(),
        ),
        statuses: choices(
            [
                CaseStatus::Open,
                CaseStatus::PendingCustomer,
                CaseStatus::PendingInternal,
            ]
            .map(|s| (s.as_str(), s.as_str().replace('_', " "))),
            Some(c.status.as_str()),
        ),
        priorities: choices(
            [
                Priority::Low,
                Priority::Normal,
                Priority::High,
                Priority::Urgent,
            ]
            .map(|p| (p.as_str(), p.as_str().to_owned())),
            Some(c.priority.as_str()),
        ),
        channels: CONTACT_CHANNELS.map(ContactChannel::as_str).to_vec(),
    };
    Ok(render(Some(&viewer), StatusCode::OK, &page))
}

/// The ways a customer reaches support, as the forms offer them.
pub const CONTACT_CHANNELS: [ContactChannel; 4] = [
    ContactChannel::Email,
    ContactChannel::Chat,
    ContactChannel::Phone,
    ContactChannel::Marketplace,
];
