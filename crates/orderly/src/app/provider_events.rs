//! Signed events from payment providers: the answer to an operation whose call timed
//! out, a late capture result, an authorization that lapsed. Each event id is recorded
//! once (a replay is refused); an event that builds on a fact not yet known (an expiry
//! before its authorization) is parked and applied when that fact arrives.

use super::orders::Origin;
use super::payments::{apply, capture_mode, external_pending, order_of};
use super::{App, now};
use crate::api::problem::ApiError;
use orderly_domain::actor::Actor;
use orderly_domain::order::{Order, OrderCommand};
use orderly_domain::payment::{OpKind, OpOutcome, OpStatus};
use orderly_domain::values::Id;
use orderly_store::{EventMeta, WriteTx};
use serde::Deserialize;
use std::collections::HashSet;

/// A provider event as it arrives.
#[derive(Debug, Clone, Deserialize)]
pub struct ProviderEvent {
    pub id: String,
    /// `<authorization|capture|void|refund>.<succeeded|failed>` or `authorization.expired`.
    #[serde(rename = "type")]
    pub kind: String,
    pub data: ProviderEventData,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ProviderEventData {
    /// Our operation id, which we sent as the idempotency key.
    pub idempotency_key: Option<String>,
    /// The payment, for events about the payment rather than one operation.
    pub payment_id: Option<String>,
    pub reference: Option<String>,
    pub code: Option<String>,
    pub message: Option<String>,
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

fn invalid(detail: impl Into<String>) -> ApiError {
    ApiError::Conflict {
        code: "invalid_event",
        detail: detail.into(),
    }
}

impl ProviderEvent {
    /// The order the event is about.
    pub fn order_id(&self) -> Result<String, ApiError> {
        let subject = self
            .data
            .idempotency_key
            .as_deref()
            .or(self.data.payment_id.as_deref())
            .ok_or_else(|| invalid("the event names no idempotency_key or payment_id"))?;
        order_of(subject).ok_or_else(|| invalid(format!("{subject} is not one of our payments")))
    }

    /// The command this event stands for against `order`, or why there is none.
    fn command(
        &self,
        order: &Order,
        config: &crate::config::Config,
    ) -> Result<Result<OrderCommand, Disposition>, ApiError> {
        let (subject, verdict) = self
            .kind
            .split_once('.')
            .ok_or_else(|| invalid(format!("unknown event type {}", self.kind)))?;
        if (subject, verdict) == ("authorization", "expired") {
            let payment_id = Id::new(
                self.data
                    .payment_id
                    .clone()
                    .ok_or_else(|| invalid("authorization.expired needs data.payment_id"))?,
            );
            let authorized = order.payment_totals(&payment_id).authorized > 0;
            let pending = order.payment_ops.iter().any(|o| {
                o.payment_id == payment_id
                    && o.kind == OpKind::Authorize
                    && o.status == OpStatus::Pending
            });
            return Ok(match (authorized, pending) {
                (true, _) if order.capturable(&payment_id) > 0 => {
                    Ok(OrderCommand::ExpireAuthorization { payment_id })
                }
                (false, true) => Err(Disposition::Parked),
                _ => Err(Disposition::Ignored),
            });
        }
        let kind = OpKind::parse(match subject {
            "authorization" => "authorize",
            other => other,
        })
        .ok_or_else(|| invalid(format!("unknown event type {}", self.kind)))?;
        let op_id = Id::new(
            self.data
                .idempotency_key
                .clone()
                .ok_or_else(|| invalid("operation events need data.idempotency_key"))?,
        );
        let Some(op) = order.op(&op_id) else {
            return Err(ApiError::NotFound(format!("payment operation {op_id}")));
        };
        if op.kind != kind {
            return Err(invalid(format!(
                "{op_id} is a {} operation, not {subject}",
                op.kind.as_str()
            )));
        }
        if op.status != OpStatus::Pending {
            return Ok(Err(Disposition::Ignored));
        }
        let outcome = match verdict {
            "succeeded" => OpOutcome::Succeeded {
                provider_reference: self.data.reference.clone(),
                authorization_expires_at: self
                    .data
                    .authorization_expires_at
                    .map(orderly_domain::time::to_millis),
            },
            "failed" => OpOutcome::Failed {
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
            },
            _ => return Err(invalid(format!("unknown event type {}", self.kind))),
        };
        Ok(Ok(OrderCommand::RecordOutcome {
            op_id,
            outcome,
            capture: capture_mode(config, order),
        }))
    }
}

/// Applies one event to `order` inside the transaction.
fn apply_event(
    tx: &mut dyn WriteTx,
    order: Order,
    event: &ProviderEvent,
    meta: &EventMeta,
    config: &crate::config::Config,
) -> Result<(Order, Disposition), ApiError> {
    match event.command(&order, config)? {
        Ok(cmd) => Ok((apply(tx, order, cmd, meta, config)?, Disposition::Applied)),
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
    ) -> Result<Disposition, ApiError> {
        let order_id = event.order_id()?;
        let config = self.config.clone();
        let origin = Origin {
            actor: Actor::system(&format!("provider:{provider}")),
            correlation_id: event.id.clone(),
        };
        let meta_origin = origin.clone();
        let (disposition, order, fresh) = self
            .store
            .write(move |tx| {
                let at = now();
                if !tx.record_provider_event(
                    &provider,
                    &event.id,
                    Some(&order_id),
                    "applied",
                    &raw,
                    at,
                )? {
                    return Err(ApiError::Conflict {
                        code: "duplicate_event",
                        detail: format!("event {} was already received", event.id),
                    });
                }
                let order = tx
                    .load_order(&order_id)?
                    .ok_or_else(|| ApiError::NotFound(format!("order {order_id}")))?;
                let before: HashSet<Id> = order.payment_ops.iter().map(|o| o.id.clone()).collect();
                let meta = meta_origin.meta();
                let (mut order, disposition) = apply_event(tx, order, &event, &meta, &config)?;
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
                            let (next, d) = apply_event(tx, order, &p, &meta, &config)?;
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
        self.settle(order, fresh, None, &origin, None).await?;
        Ok(disposition)
    }
}
