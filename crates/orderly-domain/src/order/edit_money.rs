//! Money after an edit. What the order holds towards its total counts every payment (an
//! open authorization less its reductions, a closed one's captures) less what edits and
//! unit cancellations gave back, with operations on their way counted as done, so a
//! second edit never settles the same difference twice. A decrease lowers open
//! authorizations before refunding captured money; an increase is asked of a new
//! payment or stays owed as `balance_due`, visible and (per channel) holding release.

use super::command::NewPayment;
use super::edit::Settlement;
use super::event::{HoldChange, OrderEvent, RefundRequested};
use super::exceptions::ExceptionChange;
use super::payments::{OpIds, offer, refund_parts};
use super::state::{HoldReason, Order, OrderState};
use crate::payment::{OpKind, OpStatus, RefundMethod, RefundReason};
use crate::values::Id;

impl Order {
    /// Refunds that took value off the order (edits and unit cancellations), as against
    /// goodwill or returns, which leave what the order is worth as it was.
    fn edit_refund_ids(&self) -> impl Iterator<Item = &Id> {
        self.edits.iter().filter_map(|e| e.edit.refund_id.as_ref())
    }

    /// What edits and unit cancellations gave back, with refunds on their way.
    fn edit_refunded(&self) -> i64 {
        self.edit_refund_ids()
            .map(|id| {
                let (done, pending) = self.refund_progress(id);
                done + pending
            })
            .sum()
    }

    /// Money the order holds towards its total.
    pub fn held_minor(&self) -> i64 {
        let secured: i64 = self
            .payments
            .iter()
            .map(|p| {
                let t = self.payment_totals(&p.id);
                if t.closed.is_some() {
                    return t.captured;
                }
                let reducing: i64 = self
                    .payment_ops
                    .iter()
                    .filter(|o| o.payment_id == p.id && o.kind == OpKind::Reduce)
                    .filter(|o| o.status == OpStatus::Pending)
                    .map(|o| o.amount_minor)
                    .sum();
                t.authorized - t.reduced - reducing
            })
            .sum();
        let given_back = self.edit_refunded();
        secured - given_back
    }

    /// What of the total is not captured yet (captures less what edits gave back).
    pub fn uncaptured_minor(&self) -> i64 {
        let captured: i64 = self
            .payments
            .iter()
            .map(|p| self.payment_totals(&p.id).captured)
            .sum();
        let given_back = self.edit_refunded();
        (self.total() - captured + given_back).max(0)
    }

    /// What the customer owes beyond what the order holds (zero once cancelled, and
    /// while the order still waits for its first payment: that is the whole total).
    pub fn balance_due(&self) -> i64 {
        if self.state != OrderState::Confirmed && self.state != OrderState::Completed {
            return 0;
        }
        // Paid on delivery or by transfer: collected as placed, not owed beyond it.
        if self
            .payments
            .iter()
            .any(|p| p.method.is_manual() && self.payment_totals(&p.id).captured == 0)
        {
            return 0;
        }
        (self.total() - self.held_minor()).max(0)
    }
}

/// What settling an edit to `new_total` takes.
pub(super) struct SettleInput<'a> {
    pub edit_id: &'a Id,
    pub new_total: i64,
    pub payment: Option<NewPayment>,
    pub refund_id: &'a Id,
    /// Cancelled units give their money back as a cancellation; edits as an adjustment.
    pub reason: RefundReason,
    /// The channel holds release while money is owed.
    pub balance_blocks_release: bool,
}

/// Settles the difference between the order's new total and what it holds.
pub(super) fn settle(order: &Order, input: SettleInput<'_>) -> (Settlement, Vec<OrderEvent>) {
    let held = order.held_minor();
    let mut s = Settlement {
        difference: input.new_total - held,
        ..Settlement::default()
    };
    let mut events = Vec::new();
    let mut ids = OpIds::new(Some(order));
    if s.difference < 0 {
        let mut give = -s.difference;
        for p in order.payments.iter().rev() {
            let open = order.capturable(&p.id);
            if give == 0 || open == 0 {
                continue;
            }
            let part = give.min(open);
            let kind = if part == open {
                OpKind::Void
            } else {
                OpKind::Reduce
            };
            events.push(ids.request(&p.id, kind, part, None, false));
            s.released += part;
            give -= part;
        }
        let refundable: i64 = order.payments.iter().map(|p| order.refundable(&p.id)).sum();
        let refund = give.min(refundable);
        if refund > 0
            && let Ok(parts) = refund_parts(
                order,
                input.refund_id,
                refund,
                RefundMethod::OriginalPayment,
                &mut ids,
            )
        {
            events.push(OrderEvent::RefundRequested(RefundRequested {
                id: input.refund_id.clone(),
                amount_minor: refund,
                reason: input.reason,
                method: RefundMethod::OriginalPayment,
                lines: Vec::new(),
                note: Some(format!("edit {}", input.edit_id)),
            }));
            events.extend(parts);
            s.refunded = refund;
        }
    } else if s.difference > 0 && order.state != OrderState::Pending {
        let money = super::summary::money(s.difference, &order.currency);
        let note = match input.payment {
            Some(payment) => {
                s.authorization = s.difference;
                events.extend(offer(order.state, payment, s.difference, &mut ids));
                format!("edit {} waits for {money} to be authorized", input.edit_id)
            }
            None => {
                s.balance_due = s.difference;
                format!("edit {} left {money} to collect", input.edit_id)
            }
        };
        // Until the difference is secured nothing more goes to the warehouse (where the
        // channel says so): an authorization that is declined leaves it owed and held.
        if input.balance_blocks_release && order.hold(HoldReason::BalanceDue).is_none() {
            let at = events
                .iter()
                .position(|e| matches!(e, OrderEvent::PaymentAdded(_)))
                .unwrap_or(events.len());
            events.insert(
                at,
                OrderEvent::HoldPlaced(HoldChange {
                    reason: HoldReason::BalanceDue,
                    note: Some(note),
                }),
            );
        }
    }
    if s.difference <= 0 && order.hold(HoldReason::BalanceDue).is_some() {
        events.push(OrderEvent::HoldReleased(HoldChange {
            reason: HoldReason::BalanceDue,
            note: Some(format!("edit {} leaves nothing owed", input.edit_id)),
        }));
    }
    (s, events)
}

/// An authorization that covers what the order owes ends its balance-due hold.
pub(super) fn balance_settled(order: &Order, op_id: &Id) -> Option<OrderEvent> {
    let op = order.op(op_id)?;
    order.hold(HoldReason::BalanceDue)?;
    let owed_after = order.total() - order.held_minor() - op.amount_minor;
    (op.kind == OpKind::Authorize && owed_after <= 0).then(|| {
        OrderEvent::HoldReleased(HoldChange {
            reason: HoldReason::BalanceDue,
            note: Some(format!("payment {} authorized", op.payment_id)),
        })
    })
}

/// The payments queue's view of what an edit left owed: an entry per edit that left the
/// customer owing (opened by the edit, or by a declined payment for it), closed once the
/// order owes nothing or is cancelled; and one for a reduction the provider refused (the
/// capture is held to the new total, but the customer's card stays held for more).
pub(super) fn balance_changes(event: &OrderEvent, order: &Order) -> Vec<ExceptionChange> {
    use super::exceptions::{kind, open, queue};
    // Every event of every order passes here: only an order an edit raised (or a refused
    // reduction) has anything to say, and the balance is computed only then.
    let reduction = matches!(event, OrderEvent::PaymentOpFailed(f)
        if order.op(&f.op_id).is_some_and(|o| o.kind == OpKind::Reduce));
    if order.edits.is_empty() && !reduction {
        return Vec::new();
    }
    let owed = order.balance_due();
    let raising: Vec<&Id> = order
        .edits
        .iter()
        .filter(|e| e.edit.settlement.difference > 0)
        .map(|e| &e.edit.edit_id)
        .collect();
    let owing = |edit_id: &Id| {
        open(
            queue::PAYMENTS,
            kind::BALANCE_DUE,
            edit_id,
            format!(
                "{} owed after edit {edit_id}: add a payment (POST /api/v1/orders/{}/payments)",
                super::summary::money(owed, &order.currency),
                order.id
            ),
        )
    };
    let settled = |resolution: &'static str| -> Vec<ExceptionChange> {
        raising
            .iter()
            .map(|id| ExceptionChange::Resolve {
                subject_id: (*id).clone(),
                kinds: &[kind::BALANCE_DUE],
                resolution,
            })
            .collect()
    };
    match event {
        OrderEvent::OrderEdited(e) if owed > 0 && e.settlement.difference > 0 => {
            vec![owing(&e.edit_id)]
        }
        OrderEvent::OrderEdited(_) if owed == 0 => settled("nothing owed after an edit"),
        OrderEvent::PaymentOpFailed(f) => match order.op(&f.op_id) {
            Some(op) if op.kind == OpKind::Authorize && owed > 0 => {
                raising.last().map(|id| owing(id)).into_iter().collect()
            }
            Some(op) if op.kind == OpKind::Reduce => vec![open(
                queue::PAYMENTS,
                kind::REDUCTION_FAILED,
                &op.id,
                format!(
                    "the provider refused to release {} of the authorization ({}): only the new total is captured",
                    super::summary::money(op.amount_minor, &order.currency),
                    f.message
                ),
            )],
            _ => Vec::new(),
        },
        OrderEvent::PaymentOpSucceeded(s)
            if owed == 0
                && order
                    .op(&s.op_id)
                    .is_some_and(|o| o.kind == OpKind::Authorize) =>
        {
            settled("paid")
        }
        OrderEvent::OrderCancelled(_) => settled("order cancelled"),
        _ => Vec::new(),
    }
}
