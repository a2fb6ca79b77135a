//! Captures and refunds the provider refused are asked again on the configured schedule
//! (`payments.capture_retry_minutes`, `refund_retry_minutes`): each refusal schedules
//! the next attempt as a timer, which the timer worker fires as an ordinary command.

use crate::app::error::AppError;
use crate::config::Config;
use jiff::SignedDuration;
use orderly_domain::order::{Order, OrderEvent, OrderState};
use orderly_domain::payment::{OpKind, OpStatus, PaymentOp};
use orderly_store::{EventMeta, NewTimer, WriteTx, timer_kind};

/// Schedules the next attempt of each capture or refund the provider just refused, on
/// the configured schedule; when it is used up the failure waits in the payments
/// exception queue (and a failed capture keeps its hold) for a person.
pub(crate) fn schedule_retries(
    tx: &mut dyn WriteTx,
    order: &Order,
    events: &[OrderEvent],
    meta: &EventMeta,
    config: &Config,
) -> Result<(), AppError> {
    for e in events {
        let OrderEvent::PaymentOpFailed(f) = e else {
            continue;
        };
        let Some(op) = order.op(&f.op_id) else {
            continue;
        };
        let failed = |same: &dyn Fn(&PaymentOp) -> bool| {
            order
                .payment_ops
                .iter()
                .filter(|o| o.status == OpStatus::Failed && o.kind == op.kind && same(o))
                .count()
        };
        let (kind, ref_id, attempt, schedule) = match (op.kind, &op.refund_id) {
            (OpKind::Capture, _) if order.state != OrderState::Cancelled => (
                timer_kind::CAPTURE_RETRY,
                op.id.as_str(),
                failed(&|o| o.payment_id == op.payment_id),
                &config.payments.capture_retry_minutes,
            ),
            (OpKind::Refund, Some(refund_id)) => (
                timer_kind::REFUND_RETRY,
                refund_id.as_str(),
                failed(&|o| o.refund_id.as_ref() == Some(refund_id)),
                &config.payments.refund_retry_minutes,
            ),
            _ => continue,
        };
        let Some(wait) = schedule.get(attempt.saturating_sub(1)) else {
            tracing::warn!(order = %order.id, op = %op.id, attempt, "retries used up; the failure waits in the payments queue");
            continue;
        };
        let wait = SignedDuration::from_mins(i64::from(*wait));
        tx.schedule_timers(&[NewTimer {
            order_id: order.id.as_str(),
            kind,
            ref_id,
            due_at: meta.at.saturating_add(wait).unwrap_or(meta.at),
        }])?;
    }
    Ok(())
}
