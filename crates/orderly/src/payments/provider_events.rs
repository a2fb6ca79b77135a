//! Signed events from payment providers: the answer to an operation whose call timed
//! out, a late capture result, an authorization that lapsed. Each event id is recorded
//! once (a replay is refused); an event that builds on a fact not yet known (an expiry
//! before its authorization) is parked and applied when that fact arrives.

use crate::app::Origin;
use crate::app::clock::IdSource;
use crate::app::error::AppError;
use crate::app::runner::capture_mode;
use crate::app::runner::run;
use crate::app::{App, refuse_future};
use crate::payments::commands::{external_pending, order_of};
use orderly_domain::actor::Actor;
use orderly_domain::order::{FieldIssue, Order, OrderCommand};
use orderly_domain::payment::{OpKind, OpOutcome, OpStatus};
use orderly_domain::values::Id;
use orderly_store::{EventMeta, WriteTx};
use serde::Deserialize;
use std::collections::HashSet;

/// A provider event as it arrives (the OpenAPI document's request schema of
/// `POST /payment-events/{provider}` is derived from this type).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct ProviderEvent {
    /// The event's id, also its `webhook-id`; each counts once.
    #[schema(min_length = 1, max_length = 200)]
    pub id: String,
    /// `<authorization|capture|void|refund>.<succeeded|failed>` or `authorization.expired`.
    #[serde(rename = "type")]
    #[schema(max_length = 64)]
    pub kind: String,
    /// When the provider says it happened; more than
    /// `payments.max_event_clock_skew_seconds` ahead of our clock is refused.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub occurred_at: Option<jiff::Timestamp>,
    pub data: ProviderEventData,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct ProviderEventData {
    /// Our operation id, which we sent as the idempotency key.
    #[schema(max_length = 200)]
    pub idempotency_key: Option<String>,
    /// The payment, for events about the payment rather than one operation.
    #[schema(max_length = 200)]
    pub payment_id: Option<String>,
    #[schema(max_length = 200)]
    pub reference: Option<String>,
    #[schema(max_length = 200)]
    pub code: Option<String>,
    #[schema(max_length = 1000)]
    pub message: Option<String>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub authorization_expires_at: Option<jiff::Timestamp>,
}

/// What became of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    Applied,
    /// Waits for an earlier fact.
    Parked,
    /// Nothing to change: the fact is already known (a late or duplicate answer).
    Ignored,
}

impl Disposition {
    pub fn as_str(self) -> &'static str {
        match self {
            Disposition::Applied => "applied",
            Disposition::Parked => "parked",
            Disposition::Ignored => "ignored",
        }
    }
}

/// An event that is bad input: a 422 naming the field at fault, and nothing changes.
fn invalid(field: &str, code: &'static str, message: impl Into<String>) -> AppError {
    AppError::Validation(vec![FieldIssue::new(field, code, message)])
}

/// What an event's `type` says happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EventType {
    /// `authorization.expired`: the provider let an authorization lapse.
    Expired,
    /// `<operation>.<succeeded|failed>`: the outcome of one of our operations.
    Outcome { kind: OpKind, succeeded: bool },
}

impl EventType {
    /// Parses `type`. An operation Orderly never asks of a provider, or an outcome that
    /// is neither `succeeded` nor `failed`, is refused as bad input.
    fn parse(text: &str) -> Result<EventType, AppError> {
        let (subject, verdict) = text.split_once('.').unwrap_or((text, ""));
        let op = match subject {
            "authorization" => Some(OpKind::Authorize),
            other => OpKind::parse(other),
        };
        let Some(op) = op else {
            return Err(invalid(
                "type",
                "unknown_operation",
                format!(
                    "{subject} is not a payment operation: authorization, capture, void or refund"
                ),
            ));
        };
        match (op, verdict) {
            (OpKind::Authorize, "expired") => Ok(EventType::Expired),
            (kind, "succeeded") => Ok(EventType::Outcome {
                kind,
                succeeded: true,
            }),
            (kind, "failed") => Ok(EventType::Outcome {
                kind,
                succeeded: false,
            }),
            _ => Err(invalid(
                "type",
                "unknown_outcome",
                format!(
                    "{text} is not an event type: <operation>.succeeded or <operation>.failed (or authorization.expired)"
                ),
            )),
        }
    }
}

impl ProviderEvent {
    /// The order the event is about; refuses an event whose type or subject is malformed.
    pub fn order_id(&self) -> Result<String, AppError> {
        // An expiry is about a payment, an outcome about one operation.
        let (field, subject, needs) = match EventType::parse(&self.kind)? {
            EventType::Expired => (
                "data.payment_id",
                &self.data.payment_id,
                "authorization.expired names the payment",
            ),
            EventType::Outcome { .. } => (
                "data.idempotency_key",
                &self.data.idempotency_key,
                "an operation's outcome names its idempotency_key",
            ),
        };
        let subject = subject
            .as_deref()
            .ok_or_else(|| invalid(field, "required", needs))?;
        order_of(subject).ok_or_else(|| {
            invalid(
                field,
                "unknown_payment",
                format!("{subject} is not one of our payments"),
            )
        })
    }

    /// The command this event stands for against `order`, or why there is none.
    fn command(
        &self,
        order: &Order,
        config: &crate::config::Config,
    ) -> Result<Result<OrderCommand, Disposition>, AppError> {
        let (kind, succeeded) = match EventType::parse(&self.kind)? {
            EventType::Outcome { kind, succeeded } => (kind, succeeded),
            EventType::Expired => return self.expiry(order),
        };
        let op_id = Id::new(self.data.idempotency_key.clone().ok_or_else(|| {
            invalid(
                "data.idempotency_key",
                "required",
                "an operation's outcome names its idempotency_key",
            )
        })?);
        let Some(op) = order.op(&op_id) else {
            return Err(invalid(
                "data.idempotency_key",
                "unknown_operation",
                format!("{op_id} is not a payment operation of this order"),
            ));
        };
        if op.kind != kind {
            return Err(invalid(
                "type",
                "operation_mismatch",
                format!(
                    "{op_id} is a {} operation, not {}",
                    op.kind.as_str(),
                    kind.as_str()
                ),
            ));
        }
        if op.status != OpStatus::Pending {
            return Ok(Err(Disposition::Ignored));
        }
        let outcome = if succeeded {
            OpOutcome::Succeeded {
                provider_reference: self.data.reference.clone(),
                authorization_expires_at: self
                    .data
                    .authorization_expires_at
                    .map(orderly_domain::time::to_millis),
            }
        } else {
            OpOutcome::Failed {
                code: self
                    .data
                    .code
                    .clone()
                    .unwrap_or_else(|| "provider_failure".to_owned()),
                message: self
                    .data
                    .message
                    .clone()
                    .unwrap_or_else(|| "the provider reported a failure".to_owned()),
            }
        };
        Ok(Ok(OrderCommand::RecordOutcome {
            op_id,
            outcome,
            capture: capture_mode(config, order),
        }))
    }

    /// `authorization.expired`: expires what is still capturable, waits for an
    /// authorization still pending, and ignores the rest.
    fn expiry(&self, order: &Order) -> Result<Result<OrderCommand, Disposition>, AppError> {
        let payment_id = Id::new(self.data.payment_id.clone().ok_or_else(|| {
            invalid(
                "data.payment_id",
                "required",
                "authorization.expired names the payment",
            )
        })?);
        let authorized = order.payment_totals(&payment_id).authorized > 0;
        let pending = order.payment_ops.iter().any(|o| {
            o.payment_id == payment_id
                && o.kind == OpKind::Authorize
                && o.status == OpStatus::Pending
        });
        Ok(match (authorized, pending) {
            (true, _) if order.capturable(&payment_id) > 0 => {
                Ok(OrderCommand::ExpireAuthorization { payment_id })
            }
            (false, true) => Err(Disposition::Parked),
            _ => Err(Disposition::Ignored),
        })
    }
}

/// Applies one event to `order` inside the transaction.
fn apply_event(
    tx: &mut dyn WriteTx,
    order: Order,
    event: &ProviderEvent,
    meta: &EventMeta,
    config: &crate::config::Config,
    ids: &dyn IdSource,
) -> Result<(Order, Disposition), AppError> {
    match event.command(&order, config)? {
        Ok(cmd) => Ok((
            run(tx, order, cmd, meta, config, ids)?,
            Disposition::Applied,
        )),
        Err(d) => Ok((order, d)),
    }
}

impl App {
    /// Records and applies a verified provider event. `raw` is stored as received.
    pub async fn provider_event(
        &self,
        provider: String,
        event: ProviderEvent,
        raw: String,
    ) -> Result<Disposition, AppError> {
        if let Some(at) = event.occurred_at {
            let skew = self.config.payments.max_event_clock_skew_seconds;
            refuse_future("occurred_at", at, self.now(), skew)?;
        }
        let order_id = event.order_id()?;
        let config = self.config.clone();
        let origin = Origin {
            actor: Actor::system(&format!("provider:{provider}")),
            correlation_id: event.id.clone(),
        };
        let meta_origin = origin.clone();
        let (clock, ids) = (self.clock.clone(), self.ids.clone());
        let (disposition, order, fresh) = self
            .store
            .write(move |tx| {
                let at = clock.now();
                if !tx.record_provider_event(
                    &provider,
                    &event.id,
                    Some(&order_id),
                    "applied",
                    &raw,
                    at,
                )? {
                    return Err(AppError::Conflict {
                        code: "duplicate_event",
                        detail: format!("event {} was already received", event.id),
                    });
                }
                let order = tx
                    .load_order(&order_id)?
                    .ok_or_else(|| AppError::NotFound(format!("order {order_id}")))?;
                let before: HashSet<Id> = order.payment_ops.iter().map(|o| o.id.clone()).collect();
                let meta = meta_origin.meta(at);
                let (mut order, disposition) =
                    apply_event(tx, order, &event, &meta, &config, ids.as_ref())?;
                if disposition != Disposition::Applied {
                    tx.set_provider_event_status(&provider, &event.id, disposition.as_str())?;
                } else {
                    // A new fact may be what a parked event was waiting for.
                    loop {
                        let mut progress = false;
                        for parked in tx.parked_provider_events(&order_id)? {
                            let Ok(p) = serde_json::from_str::<ProviderEvent>(&parked.payload)
                            else {
                                continue;
                            };
                            let (next, d) =
                                apply_event(tx, order, &p, &meta, &config, ids.as_ref())?;
                            order = next;
                            if d != Disposition::Parked {
                                tx.set_provider_event_status(
                                    &parked.provider,
                                    &parked.event_id,
                                    d.as_str(),
                                )?;
                                progress = true;
                            }
                        }
                        if !progress {
                            break;
                        }
                    }
                }
                let fresh: Vec<Id> = external_pending(&order)
                    .into_iter()
                    .filter(|id| !before.contains(id))
                    .collect();
                Ok((disposition, order, fresh))
            })
            .await?;
        // A late authorization may have led to a capture: drive it now.
        self.settle(order, fresh, None, None, &origin, None).await?;
        Ok(disposition)
    }
}
