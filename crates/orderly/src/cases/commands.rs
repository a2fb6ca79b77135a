//! Opening and working cases, for every interface: each command is authorized here,
//! decided by the domain's case machine and appended in one transaction with the case's
//! row, whose SLA due time the business calendar computes from the case as the events
//! left it. A case about an order takes the order's channel (who may see it), the
//! customer's email and the root cause the order's history suggests.

use crate::app::auth::{Permission, authorize, channel_scope, sees_channel};
use crate::app::error::AppError;
use crate::app::{Answer, App, Idempotency, Origin, Outcome};
use crate::cases::view::case_json;
use crate::config::Config;
use jiff::{SignedDuration, Timestamp};
use orderly_domain::actor::Actor;
use orderly_domain::calendar::BusinessCalendar;
use orderly_domain::case::{
    Case, CaseCommand, CaseError, CaseEvent, Link, NewContact, OpenCase, decide, suggest,
};
use orderly_domain::order::FieldIssue;
use orderly_domain::values::Id;
use orderly_store::{CaseFilter, CaseListed, CauseFacts, ContactCounts, EventMeta, WriteTx};
use std::sync::Arc;

/// What opening a case asks, parsed by the interface.
#[derive(Debug, Clone)]
pub struct OpenInput {
    pub subject: String,
    pub channel: orderly_domain::case::ContactChannel,
    pub priority: orderly_domain::case::Priority,
    pub group: Option<String>,
    pub owner: Option<String>,
    /// The order (id or number) the case is about.
    pub order: Option<String>,
    pub customer_email: Option<String>,
    pub links: Vec<Link>,
    pub contact: Option<NewContact>,
}

impl From<CaseError> for AppError {
    fn from(e: CaseError) -> Self {
        match e {
            CaseError::NotFound => AppError::NotFound("case".into()),
            CaseError::Invalid {
                field,
                code,
                message,
            } => AppError::Validation(vec![FieldIssue::new(field, code, message)]),
            CaseError::UnknownRootCause(c) => AppError::Validation(vec![FieldIssue::new(
                "root_cause",
                "unknown_root_cause",
                format!("{c:?} is not one of the configured root causes"),
            )]),
            e @ (CaseError::IllegalTransition { .. } | CaseError::AlreadyExists) => {
                AppError::Conflict {
                    code: e.code(),
                    detail: e.to_string(),
                }
            }
        }
    }
}

/// When the case's SLA clock is next due: support's first answer, then the resolution,
/// each the configured business hours after opening; none once the case needs no work.
pub fn due_at(config: &Config, calendar: &BusinessCalendar, case: &Case) -> Option<Timestamp> {
    if !case.status.is_active() {
        return None;
    }
    let hours = if case.first_response_at.is_none() {
        config.cases.first_response_hours.of(case.priority)
    } else {
        config.cases.resolution_hours.of(case.priority)
    };
    Some(calendar.add(case.opened_at, SignedDuration::from_hours(i64::from(hours))))
}

/// Appends `events` to the case (None: a new one) with its row, and keeps its cause
/// facts (what the root-cause reports count) in step with its resolution.
pub(crate) fn append(
    tx: &mut dyn WriteTx,
    config: &Config,
    calendar: &BusinessCalendar,
    before: Option<Case>,
    events: &[CaseEvent],
    meta: &EventMeta,
) -> Result<Case, AppError> {
    let was = before.as_ref().and_then(resolved_cause);
    let case = tx.append_case(before, events, meta, &|case: &Case| {
        due_at(config, calendar, case)
    })?;
    let is = resolved_cause(&case);
    if was != is {
        let facts = match is {
            Some((root_cause, resolved_at)) => {
                Some(cause_facts(tx, &case, root_cause, resolved_at)?)
            }
            None => None,
        };
        tx.save_case_causes(case.id.as_str(), facts.as_ref())?;
    }
    Ok(case)
}

/// The cause and time of a resolved (or resolved and closed) case.
fn resolved_cause(case: &Case) -> Option<(String, Timestamp)> {
    matches!(
        case.status,
        orderly_domain::case::CaseStatus::Resolved | orderly_domain::case::CaseStatus::Closed
    )
    .then(|| case.root_cause.clone().zip(case.resolved_at))
    .flatten()
}

/// What the case's order went through, for the reports: its channel, the locations
/// that fulfilled it, the carriers that carried it and its SKUs.
fn cause_facts(
    tx: &mut dyn WriteTx,
    case: &Case,
    root_cause: String,
    resolved_at: Timestamp,
) -> Result<CauseFacts, AppError> {
    let order = match &case.order_id {
        Some(id) => tx.load_order(id.as_str())?,
        None => None,
    };
    let (mut locations, mut carriers, mut skus) = (Vec::new(), Vec::new(), Vec::new());
    if let Some(o) = &order {
        for f in &o.fulfillment_orders {
            locations.push(f.location_id.to_string());
            carriers.extend(f.shipments.iter().map(|s| s.carrier.clone()));
        }
        skus.extend(o.lines.iter().map(|l| l.sku.to_string()));
    }
    Ok(CauseFacts {
        root_cause,
        resolved_at,
        channel: order
            .as_ref()
            .map_or_else(|| "none".to_owned(), |o| o.channel.to_string()),
        locations,
        carriers,
        skus,
    })
}

impl App {
    fn calendar(&self) -> Result<Arc<BusinessCalendar>, AppError> {
        self.config
            .calendar
            .calendar()
            .map(|c| Arc::new(c.clone()))
            .map_err(|e| AppError::Internal(format!("the business calendar: {e:#}")))
    }

    /// Opens a case; answers 201 with it.
    pub async fn open_case(
        &self,
        origin: Origin,
        idem: Option<Idempotency>,
        input: OpenInput,
    ) -> Result<Outcome, AppError> {
        authorize(&origin.actor, Permission::ManageCases)?;
        if let Some(g) = &input.group
            && !self.config.cases.groups.contains(g)
        {
            return Err(unknown_group());
        }
        let (config, calendar, ids, clock) = (
            self.config.clone(),
            self.calendar()?,
            self.ids.clone(),
            self.clock.clone(),
        );
        let id = Id::new(ids.new_id("cas"));
        self.idempotent_write(idem, move |tx| {
            let order = match &input.order {
                Some(r) => Some(
                    tx.load_order(r)?
                        .filter(|o| sees_channel(&origin.actor, o.channel.as_str()))
                        .ok_or(AppError::Order(orderly_domain::order::OrderError::NotFound))?,
                ),
                None => None,
            };
            if order.is_none() && channel_scope(&origin.actor).is_some() {
                // A case about no order is seen by every channel's staff only.
                return Err(AppError::Validation(vec![FieldIssue::new(
                    "order",
                    "required",
                    "a key bound to channels opens cases about orders of its channels",
                )]));
            }
            let open = OpenCase {
                id: id.clone(),
                number: tx.next_case_number()?,
                subject: input.subject.clone(),
                channel: input.channel,
                priority: input.priority,
                group: input.group.clone(),
                owner: input.owner.clone(),
                order_id: order.as_ref().map(|o| o.id.clone()),
                order_channel: order.as_ref().map(|o| o.channel.to_string()),
                customer_email: input
                    .customer_email
                    .clone()
                    .or_else(|| order.as_ref().map(|o| o.customer.email.to_string())),
                links: input.links.clone(),
                first_contact: input.contact.clone(),
                suggested_root_cause: order
                    .as_ref()
                    .and_then(|o| suggest(o, &config.cases.suggestions)),
            };
            let events = decide(None, CaseCommand::Open(Box::new(open)))?;
            let meta = EventMeta {
                actor: origin.actor.clone(),
                correlation_id: origin.correlation_id.clone(),
                at: clock.now(),
            };
            let case = append(tx, &config, &calendar, None, &events, &meta)?;
            let due = due_at(&config, &calendar, &case);
            Ok(Outcome::Body(Answer::Created, case_json(&case, due)))
        })
        .await
    }

    /// Runs `command` on case `id` (id or number); answers with the case.
    pub async fn case_command(
        &self,
        origin: Origin,
        idem: Option<Idempotency>,
        id: String,
        command: CaseCommand,
    ) -> Result<Outcome, AppError> {
        self.case_command_then(origin, idem, id, command, |_, _, _| Ok(()))
            .await
    }

    /// `case_command`, with `then` run in the same transaction on the case as its
    /// events left it (when it changed), e.g. to notify a group of an escalation.
    pub(crate) async fn case_command_then<F>(
        &self,
        origin: Origin,
        idem: Option<Idempotency>,
        id: String,
        command: CaseCommand,
        then: F,
    ) -> Result<Outcome, AppError>
    where
        F: Fn(&mut dyn WriteTx, &Case, &EventMeta) -> Result<(), AppError> + Send + Sync + 'static,
    {
        authorize(&origin.actor, Permission::ManageCases)?;
        if let CaseCommand::Assign { group: Some(g), .. } = &command
            && !self.config.cases.groups.contains(g)
        {
            return Err(unknown_group());
        }
        let found = self.case(&origin.actor, id).await?;
        let (config, calendar, clock) = (self.config.clone(), self.calendar()?, self.clock.clone());
        let case_id = found.case.id.to_string();
        self.idempotent_write(idem, move |tx| {
            let before = tx
                .load_case(&case_id)?
                .ok_or_else(|| AppError::NotFound("case".into()))?;
            let events = decide(Some(&before), command.clone())?;
            if events.is_empty() {
                let due = due_at(&config, &calendar, &before);
                return Ok(Outcome::Body(Answer::Done, case_json(&before, due)));
            }
            let meta = EventMeta {
                actor: origin.actor.clone(),
                correlation_id: origin.correlation_id.clone(),
                at: clock.now(),
            };
            let case = append(tx, &config, &calendar, Some(before), &events, &meta)?;
            then(tx, &case, &meta)?;
            let due = due_at(&config, &calendar, &case);
            Ok(Outcome::Body(Answer::Done, case_json(&case, due)))
        })
        .await
    }

    /// A case by id or number, if the actor may see it.
    pub async fn case(&self, actor: &Actor, id: String) -> Result<CaseListed, AppError> {
        authorize(actor, Permission::ReadCases)?;
        let found = self.store.read(move |r| r.case(&id)).await?;
        found
            .filter(|c| match (&c.case.order_channel, channel_scope(actor)) {
                (_, None) => true,
                (Some(ch), Some(_)) => sees_channel(actor, ch),
                (None, Some(_)) => false,
            })
            .ok_or_else(|| AppError::NotFound("case".into()))
    }

    /// A page of a case queue, in the actor's channels.
    pub async fn cases(
        &self,
        actor: &Actor,
        mut filter: CaseFilter,
    ) -> Result<Vec<CaseListed>, AppError> {
        authorize(actor, Permission::ReadCases)?;
        filter.channels = channel_scope(actor);
        Ok(self.store.read(move |r| r.cases(&filter)).await?)
    }

    /// How often the customer got in touch about an order (its cases' contacts).
    pub async fn order_contacts(
        &self,
        actor: &Actor,
        order: String,
    ) -> Result<(ContactCounts, Vec<CaseListed>), AppError> {
        let order = self.order(actor, order).await?;
        authorize(actor, Permission::ReadCases)?;
        let id = order.id.to_string();
        Ok(self
            .store
            .read(move |r| Ok((r.order_contacts(&id)?, r.cases_of_order(&id)?)))
            .await?)
    }
}

fn unknown_group() -> AppError {
    AppError::Validation(vec![FieldIssue::new(
        "group",
        "unknown_group",
        "not one of cases.groups",
    )])
}
