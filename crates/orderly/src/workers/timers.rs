//! The timer worker: fires due deadlines (unpaid orders, lapsing authorizations),
//! re-drives payment operations whose answer never came and retries captures and refunds
//! the provider refused, watches shipments and escalates overdue cases, each as an
//! ordinary command.
//! Time is passed in, so a test drives the worker step by step with its own clock.

use crate::app::App;
use crate::app::Origin;
use crate::app::error::AppError;
use crate::payments::commands::external_pending;
use jiff::{SignedDuration, Timestamp};
use orderly_domain::actor::Actor;
use orderly_domain::order::{HoldReason, OrderCommand, OrderError, watch};
use orderly_domain::payment::OpStatus;
use orderly_domain::values::Id;
use orderly_store::{TimerRow, timer_kind};

/// A claimed timer is someone else's to fire again only after this lease.
const LEASE: SignedDuration = SignedDuration::from_secs(300);
/// Timers fired per pass.
const BATCH: u32 = 100;
/// A payment operation is re-driven at most this many times before it waits for a person.
const MAX_REDRIVES: i64 = 10;

impl App {
    /// Fires every timer due at `now`; returns how many were claimed.
    pub async fn fire_due_timers(&self, now: Timestamp) -> Result<usize, AppError> {
        // Storage keeps milliseconds; so must the times events are recorded at.
        let now = Timestamp::from_millisecond(now.as_millisecond()).unwrap_or(now);
        let worker = self.worker_id.clone();
        let lease_until = now.saturating_add(LEASE).unwrap_or(now);
        let timers = self
            .store
            .write(move |tx| {
                tx.claim_timers(&worker, now, lease_until, BATCH)
                    .map_err(AppError::from)
            })
            .await?;
        if let Err(e) = self.watch_shipments(now).await {
            tracing::warn!(error = %e, "shipment watch failed");
        }
        if let Err(e) = self.escalate_cases(now).await {
            tracing::warn!(error = %e, "case escalation failed");
        }
        for t in &timers {
            let again = match self.fire(t, now).await {
                Ok(again) => again,
                Err(e) => {
                    // The lease runs out and another pass tries again.
                    tracing::warn!(timer = t.id, kind = %t.kind, order = %t.order_id, error = %e, "timer failed");
                    continue;
                }
            };
            let id = t.id;
            self.store
                .write(move |tx| {
                    match again {
                        Some(due_at) => tx.reschedule_timer(id, due_at),
                        None => tx.complete_timer(id, now),
                    }
                    .map_err(AppError::from)
                })
                .await?;
        }
        Ok(timers.len())
    }

    /// Fires one timer; `Some(time)` when it must fire again then.
    async fn fire(&self, t: &TimerRow, now: Timestamp) -> Result<Option<Timestamp>, AppError> {
        let origin = Origin {
            actor: Actor::system("timers"),
            correlation_id: format!("timer-{}", t.id),
        };
        let at = Some(now);
        match t.kind.as_str() {
            timer_kind::PAYMENT_DEADLINE => {
                let ids = self.ids.clone();
                self.order_command(t.order_id.clone(), None, origin, at, move |_| {
                    Ok(OrderCommand::PaymentDeadline {
                        now,
                        refund_id: Id::new(ids.new_id("ref")),
                    })
                })
                .await?;
            }
            timer_kind::AUTHORIZATION_EXPIRY => {
                let payment_id = Id::new(t.ref_id.clone());
                self.order_command(t.order_id.clone(), None, origin, at, move |_| {
                    Ok(OrderCommand::ExpireAuthorization {
                        payment_id: payment_id.clone(),
                    })
                })
                .await?;
            }
            timer_kind::PAYMENT_OP => return self.redrive(t, now, &origin).await,
            timer_kind::CAPTURE_RETRY => {
                let failed_op = Id::new(t.ref_id.clone());
                let asked = self
                    .order_command(t.order_id.clone(), None, origin, at, move |order| {
                        // Settled meanwhile (captured by hand, voided, cancelled): done.
                        let amount = order
                            .op(&failed_op)
                            .map_or(0, |op| op.amount_minor)
                            .min(order.payments.iter().map(|p| order.capturable(&p.id)).sum());
                        if order.hold(HoldReason::CaptureFailed).is_none() || amount == 0 {
                            return Err(AppError::Order(OrderError::NothingToCapture));
                        }
                        Ok(OrderCommand::Capture {
                            amount_minor: Some(amount),
                        })
                    })
                    .await;
                settled_meanwhile(asked)?;
            }
            timer_kind::REFUND_RETRY => {
                let refund_id = Id::new(t.ref_id.clone());
                let asked = self
                    .order_command(t.order_id.clone(), None, origin, at, move |_| {
                        Ok(OrderCommand::RetryRefund {
                            refund_id: refund_id.clone(),
                        })
                    })
                    .await;
                settled_meanwhile(asked)?;
            }
            timer_kind::WATCH => return self.fire_watch(t, now, origin).await,
            timer_kind::RETURN_EXPIRY => {
                let return_id = Id::new(t.ref_id.clone());
                self.order_command(t.order_id.clone(), None, origin, at, move |_| {
                    Ok(OrderCommand::ExpireReturn {
                        return_id: return_id.clone(),
                        now,
                    })
                })
                .await?;
            }
            timer_kind::RELEASE => {
                let (config, order_id) = (self.config.clone(), t.order_id.clone());
                let ids = self.ids.clone();
                self.store
                    .write(move |tx| {
                        let Some(order) = tx.load_order(&order_id)? else {
                            return Ok(());
                        };
                        let meta = origin.meta(now);
                        crate::app::runner::react(tx, order, &meta, &config, ids.as_ref())
                            .map(|_| ())
                    })
                    .await?;
            }
            other => tracing::warn!(kind = other, "unknown timer kind ignored"),
        }
        Ok(None)
    }

    /// Asks the provider again (same idempotency key) for an operation still pending.
    async fn redrive(
        &self,
        t: &TimerRow,
        now: Timestamp,
        origin: &Origin,
    ) -> Result<Option<Timestamp>, AppError> {
        let order_id = t.order_id.clone();
        let Some(order) = self.store.read(move |r| r.order(&order_id)).await? else {
            return Ok(None);
        };
        let op_id = Id::new(t.ref_id.clone());
        let pending = order
            .op(&op_id)
            .is_some_and(|o| o.status == OpStatus::Pending);
        if !pending || !external_pending(&order).contains(&op_id) {
            return Ok(None);
        }
        let settled = self
            .settle(order, vec![op_id.clone()], None, None, origin, Some(now))
            .await?;
        let still = settled
            .op(&op_id)
            .is_some_and(|o| o.status == OpStatus::Pending);
        if still && t.attempts < MAX_REDRIVES {
            // Back off: 30 s, 60 s, 90 s … between attempts.
            let wait = SignedDuration::from_secs(30 * t.attempts);
            return Ok(Some(now.saturating_add(wait).unwrap_or(now)));
        }
        if still {
            tracing::error!(op = %op_id, "payment operation unanswered after {MAX_REDRIVES} attempts");
        }
        Ok(None)
    }
}

/// A retry that finds nothing left to do (the money moved meanwhile, or the order was
/// cancelled) is done; any other failure is the timer's to try again.
fn settled_meanwhile(asked: Result<crate::app::Outcome, AppError>) -> Result<(), AppError> {
    match asked {
        Ok(_)
        | Err(AppError::Order(
            OrderError::NothingToCapture
            | OrderError::NothingToRetry(_)
            | OrderError::IllegalTransition { .. }
            | OrderError::RefundExceedsCaptured { .. },
        )) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Fires due timers every `interval` until the process stops.
pub async fn run(app: crate::app::AppState, interval: std::time::Duration) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = app.fire_due_timers(app.now()).await {
            tracing::warn!(error = %e, "timer pass failed");
        }
    }
}

impl App {
    /// A watch timer: raises its watch, or for the confirmation clock those due now,
    /// and comes back for the one not due yet.
    async fn fire_watch(
        &self,
        t: &TimerRow,
        now: Timestamp,
        origin: Origin,
    ) -> Result<Option<Timestamp>, AppError> {
        let calendar = self
            .config
            .calendar
            .calendar()
            .map_err(|e| AppError::Internal(format!("the business calendar: {e:#}")))?
            .clone();
        let thresholds = self.config.exceptions.thresholds();
        let key = t.ref_id.clone();
        let again = std::sync::Arc::new(std::sync::Mutex::new(None));
        let seen = again.clone();
        self.order_command(t.order_id.clone(), None, origin, Some(now), move |order| {
            let watches = if key == watch::CONFIRMED {
                let (due, later) = watch::confirmed_due(order, now, &thresholds, &calendar);
                if let Ok(mut s) = seen.lock() {
                    *s = later;
                }
                due.iter().map(watch::Watch::key).collect()
            } else {
                vec![key.clone()]
            };
            Ok(OrderCommand::RaiseWatches { watches })
        })
        .await?;
        Ok(again.lock().map(|a| *a).unwrap_or_default())
    }
}
