//! How payment events fold into the order, and the amounts that follow from them: what
//! can still be captured or refunded counts pending operations as already spoken for, so
//! two concurrent requests can never both draw on the same money.

use super::event::OrderEvent;
use super::state::{Hold, Order, OrderState};
use crate::Timestamp;
use crate::payment::{
    EntryKind, LedgerEntry, OpKind, OpStatus, Payment, PaymentOp, PaymentTotals, Refund,
    RefundStatus, check_append,
};
use crate::values::Id;

/// Folds one payment or hold event; `Err` names what did not fit.
pub(super) fn apply(
    order: &mut Order,
    event: &OrderEvent,
    at: Timestamp,
) -> Result<(), &'static str> {
    match event {
        OrderEvent::OrderConfirmed { .. } => {
            if !order.state.can_transition_to(OrderState::Confirmed) {
                return Err("only a pending order can be confirmed");
            }
            order.state = OrderState::Confirmed;
            order.confirmed_at = Some(at);
        }
        OrderEvent::PaymentDeadlineSet { due_at } => order.payment_due_at = Some(*due_at),
        OrderEvent::PaymentDeadlineCleared { .. } => order.payment_due_at = None,
        OrderEvent::PaymentAdded(p) if order.payment(&p.id).is_some() => {
            return Err("a payment with that id exists");
        }
        OrderEvent::PaymentAdded(p) => order.payments.push(Payment {
            id: p.id.clone(),
            method: p.method,
            provider: p.provider.clone(),
            fingerprint: p.fingerprint.clone(),
            last4: p.last4.clone(),
            amount_minor: p.amount_minor,
            created_at: at,
            authorization_expires_at: None,
        }),
        OrderEvent::PaymentOpRequested(r) => {
            if !order.payments.iter().any(|p| p.id == r.payment_id) {
                return Err("operation on an unknown payment");
            }
            order.payment_ops.push(PaymentOp {
                id: r.id.clone(),
                payment_id: r.payment_id.clone(),
                kind: r.kind,
                amount_minor: r.amount_minor,
                status: OpStatus::Pending,
                refund_id: r.refund_id.clone(),
                to_store_credit: r.to_store_credit,
                provider_reference: None,
                failure_code: None,
                failure_message: None,
                requested_at: at,
                resolved_at: None,
            });
        }
        OrderEvent::PaymentOpSucceeded(s) => {
            let op = pending_op(order, &s.op_id)?;
            let kind = match op.kind {
                OpKind::Authorize => EntryKind::Authorize,
                OpKind::Capture => EntryKind::Capture,
                OpKind::Void => EntryKind::Void,
                OpKind::Refund => EntryKind::Refund,
                OpKind::Reduce => EntryKind::Reduce,
            };
            let amount = if kind == EntryKind::Void {
                0
            } else {
                op.amount_minor
            };
            let entry = LedgerEntry {
                payment_id: op.payment_id.clone(),
                kind,
                amount_minor: amount,
                provider_reference: s.provider_reference.clone(),
                idempotency_key: op.id.to_string(),
                at,
            };
            append_entry(order, entry)?;
            let op = pending_op_mut(order, &s.op_id)?;
            op.status = OpStatus::Succeeded;
            op.provider_reference = s.provider_reference.clone();
            op.resolved_at = Some(at);
            if kind == EntryKind::Authorize {
                let payment_id = op.payment_id.clone();
                if let Some(p) = order.payments.iter_mut().find(|p| p.id == payment_id) {
                    p.authorization_expires_at = s.authorization_expires_at;
                }
            }
        }
        OrderEvent::PaymentOpFailed(f) => {
            let op = pending_op(order, &f.op_id)?;
            let entry = LedgerEntry {
                payment_id: op.payment_id.clone(),
                kind: EntryKind::Failure,
                amount_minor: op.amount_minor.max(1),
                provider_reference: None,
                idempotency_key: op.id.to_string(),
                at,
            };
            append_entry(order, entry)?;
            let op = pending_op_mut(order, &f.op_id)?;
            op.status = OpStatus::Failed;
            op.failure_code = Some(f.code.clone());
            op.failure_message = Some(f.message.clone());
            op.resolved_at = Some(at);
        }
        OrderEvent::AuthorizationExpired { payment_id } => {
            let entry = LedgerEntry {
                payment_id: payment_id.clone(),
                kind: EntryKind::Expiry,
                amount_minor: 0,
                provider_reference: None,
                idempotency_key: format!("{payment_id}.expiry"),
                at,
            };
            append_entry(order, entry)?;
        }
        OrderEvent::RefundRequested(r) => order.refunds.push(Refund {
            id: r.id.clone(),
            amount_minor: r.amount_minor,
            reason: r.reason,
            method: r.method,
            lines: r.lines.clone(),
            note: r.note.clone(),
            requested_at: at,
        }),
        OrderEvent::HoldPlaced(h) => {
            if order.hold(h.reason).is_some() {
                return Err("the hold is already active");
            }
            order.holds.push(Hold {
                reason: h.reason,
                note: h.note.clone(),
                placed_at: at,
            });
        }
        OrderEvent::HoldReleased(h) => {
            let before = order.holds.len();
            order.holds.retain(|x| x.reason != h.reason);
            if order.holds.len() == before {
                return Err("the hold is not active");
            }
        }
        OrderEvent::OrderPlaced(_)
        | OrderEvent::OrderSourced(_)
        | OrderEvent::OrderCancelled(_)
        | OrderEvent::FulfillmentReleased(_)
        | OrderEvent::PickConfirmed(_)
        | OrderEvent::PackageCreated(_)
        | OrderEvent::PackageShipped(_)
        | OrderEvent::TrackingRecorded(_)
        | OrderEvent::ShipmentDelayed(_)
        | OrderEvent::BackorderFilled(_)
        | OrderEvent::FulfillmentRejected(_)
        | OrderEvent::ReturnRequested(_)
        | OrderEvent::ReturnReviewed(_)
        | OrderEvent::ReturnLabelIssued(_)
        | OrderEvent::ReturnExchangePlaced(_)
        | OrderEvent::ReturnTracked(_)
        | OrderEvent::ReturnReceived(_)
        | OrderEvent::ReturnInspected(_)
        | OrderEvent::ReturnItemsDecided(_)
        | OrderEvent::ReturnItemsSentBack(_)
        | OrderEvent::ReturnResolved(_)
        | OrderEvent::ReturnCompleted { .. }
        | OrderEvent::ReturnCancelled(_)
        | OrderEvent::ReturnExpired(_)
        | OrderEvent::EditBegun(_)
        | OrderEvent::EditStaged(_)
        | OrderEvent::EditAbandoned(_)
        | OrderEvent::OrderEdited(_)
        | OrderEvent::CancellationRequested(_)
        | OrderEvent::CancellationAnswered(_)
        | OrderEvent::NoteAdded(_)
        | OrderEvent::TagsChanged(_)
        | OrderEvent::WatchRaised(_)
        | OrderEvent::WatchCleared(_) => {
            return Err("not a payment event");
        }
    }
    Ok(())
}

fn append_entry(order: &mut Order, entry: LedgerEntry) -> Result<(), &'static str> {
    check_append(&order.ledger, &entry).map_err(|_| "the ledger refuses the entry")?;
    order.ledger.push(entry);
    Ok(())
}

fn pending_op<'a>(order: &'a Order, op_id: &Id) -> Result<&'a PaymentOp, &'static str> {
    order
        .payment_ops
        .iter()
        .find(|o| &o.id == op_id && o.status == OpStatus::Pending)
        .ok_or("no pending operation with that id")
}

fn pending_op_mut<'a>(order: &'a mut Order, op_id: &Id) -> Result<&'a mut PaymentOp, &'static str> {
    order
        .payment_ops
        .iter_mut()
        .find(|o| &o.id == op_id && o.status == OpStatus::Pending)
        .ok_or("no pending operation with that id")
}

impl Order {
    pub fn hold(&self, reason: super::HoldReason) -> Option<&Hold> {
        self.holds.iter().find(|h| h.reason == reason)
    }

    pub fn payment(&self, id: &Id) -> Option<&Payment> {
        self.payments.iter().find(|p| &p.id == id)
    }

    pub fn op(&self, id: &Id) -> Option<&PaymentOp> {
        self.payment_ops.iter().find(|o| &o.id == id)
    }

    pub fn payment_totals(&self, payment_id: &Id) -> PaymentTotals {
        PaymentTotals::of(&self.ledger, payment_id)
    }

    fn pending(&self, payment_id: &Id, kind: OpKind) -> i64 {
        self.payment_ops
            .iter()
            .filter(|o| &o.payment_id == payment_id && o.kind == kind)
            .filter(|o| o.status == OpStatus::Pending)
            .map(|o| o.amount_minor)
            .sum()
    }

    /// Authorized money of a payment that a new capture may still take: nothing once the
    /// authorization ended or a void is on its way, and less whatever captures and
    /// reductions are pending.
    pub fn capturable(&self, payment_id: &Id) -> i64 {
        if self.pending(payment_id, OpKind::Void) > 0 {
            return 0;
        }
        let open = self.payment_totals(payment_id).open_remaining();
        (open
            - self.pending(payment_id, OpKind::Capture)
            - self.pending(payment_id, OpKind::Reduce))
        .max(0)
    }

    /// Captured money of a payment that a new refund may still give back.
    pub fn refundable(&self, payment_id: &Id) -> i64 {
        let t = self.payment_totals(payment_id);
        (t.captured - t.refunded - self.pending(payment_id, OpKind::Refund)).max(0)
    }

    pub fn capture_pending(&self, payment_id: &Id) -> bool {
        self.pending(payment_id, OpKind::Capture) > 0
    }

    /// An authorize operation still waiting for its provider's answer.
    pub fn authorization_pending(&self) -> bool {
        self.payment_ops
            .iter()
            .any(|o| o.kind == OpKind::Authorize && o.status == OpStatus::Pending)
    }

    /// Money authorized (or received) and not voided or expired: what the order can count on.
    pub fn secured_minor(&self) -> i64 {
        self.payments
            .iter()
            .map(|p| {
                let t = self.payment_totals(&p.id);
                if t.closed.is_some() {
                    t.captured
                } else {
                    t.authorized - t.reduced
                }
            })
            .sum()
    }

    fn refund_ops<'a>(&'a self, refund_id: &'a Id) -> impl Iterator<Item = &'a PaymentOp> + 'a {
        self.payment_ops
            .iter()
            .filter(move |o| o.refund_id.as_ref() == Some(refund_id))
    }

    /// Of a refund's amount: (succeeded, pending).
    pub fn refund_progress(&self, refund_id: &Id) -> (i64, i64) {
        let mut done = (0, 0);
        for op in self.refund_ops(refund_id) {
            match op.status {
                OpStatus::Succeeded => done.0 += op.amount_minor,
                OpStatus::Pending => done.1 += op.amount_minor,
                OpStatus::Failed => {}
            }
        }
        done
    }

    /// A refund is pending while any part is in flight, failed when a part failed and has
    /// not been retried to the full amount, and succeeded when all of it went through.
    pub fn refund_status(&self, refund: &Refund) -> RefundStatus {
        let (succeeded, pending) = self.refund_progress(&refund.id);
        if succeeded >= refund.amount_minor {
            RefundStatus::Succeeded
        } else if pending > 0 {
            RefundStatus::Pending
        } else {
            RefundStatus::RefundFailed
        }
    }

    /// Everything wrong with the payment side: entries that the ledger rules would refuse
    /// in their order, operations without their entry, and pending amounts beyond what
    /// they draw on.
    pub fn payment_violations(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (i, entry) in self.ledger.iter().enumerate() {
            if let Err(e) = check_append(&self.ledger[..i], entry) {
                out.push(format!("ledger entry {i} ({:?}): {e}", entry.kind));
            }
        }
        for op in &self.payment_ops {
            let entries = self
                .ledger
                .iter()
                .filter(|e| e.idempotency_key == op.id.as_str())
                .count();
            let expected = usize::from(op.status != OpStatus::Pending);
            if entries != expected {
                out.push(format!(
                    "operation {} ({:?}) has {entries} ledger entries",
                    op.id, op.status
                ));
            }
        }
        for p in &self.payments {
            let t = self.payment_totals(&p.id);
            let drawing =
                self.pending(&p.id, OpKind::Capture) + self.pending(&p.id, OpKind::Reduce);
            if t.closed.is_none() && drawing > t.open_remaining() {
                out.push(format!(
                    "payment {}: pending captures exceed the authorization",
                    p.id
                ));
            }
            if self.pending(&p.id, OpKind::Refund) > t.captured - t.refunded {
                out.push(format!(
                    "payment {}: pending refunds exceed what was captured",
                    p.id
                ));
            }
        }
        for l in self.line_money() {
            if l.refunded_quantity > l.quantity || l.refunded_minor > l.paid_minor {
                out.push(format!(
                    "line {}: refunds took {} units and {} of {} units paid {}",
                    l.line_no, l.refunded_quantity, l.refunded_minor, l.quantity, l.paid_minor
                ));
            }
        }
        out
    }

    /// Why the order may not go to the warehouse now (empty when it may).
    pub fn release_blockers(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .holds
            .iter()
            .map(|h| format!("hold:{}", h.reason.as_str()))
            .collect();
        match self.state {
            OrderState::Pending => out.push("awaiting_payment".to_owned()),
            OrderState::Cancelled => out.push("cancelled".to_owned()),
            OrderState::Confirmed | OrderState::Completed => {}
        }
        // A warehouse asked to give the units up gets nothing more meanwhile.
        if self
            .pending_cancellation()
            .is_some_and(|r| !r.waiting.is_empty())
        {
            out.push("cancellation_requested".to_owned());
        }
        // Money in doubt ships nothing more: a capture that fails holds the order.
        if self
            .payment_ops
            .iter()
            .any(|o| o.kind == OpKind::Capture && o.status == OpStatus::Pending)
        {
            out.push("awaiting_capture".to_owned());
        }
        out
    }
}
