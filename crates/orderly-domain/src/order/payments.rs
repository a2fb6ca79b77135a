//! Decisions about money and holds. Each returns the events of one command; operations
//! towards providers are only *requested* here (the app calls the provider after the
//! transaction commits and records the answer with `RecordOutcome`).

use super::command::NewPayment;
use super::error::OrderError;
use super::event::{
    HoldChange, OrderEvent, PaymentAdded, PaymentOpFailed, PaymentOpRequested, PaymentOpSucceeded,
    RefundRequested,
};
use super::state::{HoldReason, Order, OrderState};
use super::validate::MAX_AMOUNT_MINOR;
use crate::payment::{
    CaptureMode, OpKind, OpOutcome, OpStatus, PaymentMethod, RefundMethod, RefundReason,
    STORE_CREDIT_PROVIDER,
};
use crate::values::Id;
use std::collections::HashMap;

/// Mints operation ids `<payment id>.<kind><n>`: unique because payment ids are, and
/// stable because they derive from the stream, so the provider sees the same key again
/// whenever the same operation is re-driven.
pub(super) struct OpIds {
    next: HashMap<Id, usize>,
}

impl OpIds {
    pub(super) fn new(order: Option<&Order>) -> OpIds {
        let mut next = HashMap::new();
        for op in order.map(|o| o.payment_ops.as_slice()).unwrap_or_default() {
            *next.entry(op.payment_id.clone()).or_insert(0) += 1;
        }
        OpIds { next }
    }

    pub(super) fn request(
        &mut self,
        payment_id: &Id,
        kind: OpKind,
        amount_minor: i64,
        refund_id: Option<&Id>,
        to_store_credit: bool,
    ) -> OrderEvent {
        let n = self.next.entry(payment_id.clone()).or_insert(0);
        *n += 1;
        let short = match kind {
            OpKind::Authorize => "auth",
            OpKind::Capture => "cap",
            OpKind::Void => "void",
            OpKind::Refund => "ref",
            OpKind::Reduce => "red",
        };
        OrderEvent::PaymentOpRequested(PaymentOpRequested {
            id: Id::new(format!("{payment_id}.{short}{n}")),
            payment_id: payment_id.clone(),
            kind,
            amount_minor,
            refund_id: refund_id.cloned(),
            to_store_credit,
        })
    }
}

/// The events of offering `payment` for `amount_minor`: a deferred method confirms the
/// order at once, a manual one waits for finance, the rest ask for an authorization.
pub(super) fn offer(
    order_state: OrderState,
    payment: NewPayment,
    amount_minor: i64,
    ids: &mut OpIds,
) -> Vec<OrderEvent> {
    if amount_minor <= 0 {
        // Nothing to pay (a full discount): accepted as it is.
        return if order_state == OrderState::Pending {
            vec![OrderEvent::OrderConfirmed {
                reason: "nothing to pay".to_owned(),
            }]
        } else {
            Vec::new()
        };
    }
    let mut events = vec![OrderEvent::PaymentAdded(PaymentAdded {
        id: payment.id.clone(),
        method: payment.method,
        provider: payment.provider,
        amount_minor,
        fingerprint: payment.fingerprint,
        last4: payment.last4,
    })];
    if payment.method.is_deferred() {
        if order_state == OrderState::Pending {
            events.push(OrderEvent::OrderConfirmed {
                reason: format!("{} accepted", payment.method.as_str()),
            });
        }
    } else if !payment.method.is_manual() {
        events.push(ids.request(&payment.id, OpKind::Authorize, amount_minor, None, false));
    }
    events
}

pub(super) fn add_payment(
    order: &Order,
    payment: NewPayment,
) -> Result<Vec<OrderEvent>, OrderError> {
    if order.state == OrderState::Cancelled {
        return Err(OrderError::IllegalTransition {
            from: order.state,
            to: OrderState::Confirmed,
        });
    }
    if order.payment(&payment.id).is_some() {
        return Err(OrderError::Invalid(vec![super::FieldIssue::new(
            "payment.id",
            "duplicate_payment",
            format!("the order already has payment {}", payment.id),
        )]));
    }
    let needed = order.total() - order.held_minor();
    if needed <= 0 || order.authorization_pending() {
        return Err(OrderError::PaymentNotNeeded);
    }
    Ok(offer(
        order.state,
        payment,
        needed,
        &mut OpIds::new(Some(order)),
    ))
}

pub(super) fn record_outcome(
    order: &Order,
    op_id: &Id,
    outcome: OpOutcome,
    capture: CaptureMode,
) -> Result<Vec<OrderEvent>, OrderError> {
    let op = order
        .op(op_id)
        .ok_or_else(|| OrderError::UnknownPaymentOp(op_id.to_string()))?;
    if op.status != OpStatus::Pending {
        // A duplicate or late answer: the first one already decided.
        return Ok(Vec::new());
    }
    let mut events = Vec::new();
    match outcome {
        OpOutcome::Failed { code, message } => {
            events.push(OrderEvent::PaymentOpFailed(PaymentOpFailed {
                op_id: op_id.clone(),
                code,
                message: message.clone(),
            }));
            if op.kind == OpKind::Capture && order.state == OrderState::Cancelled {
                events.extend(after_cancel(order, &events, op_id));
            }
            if op.kind == OpKind::Capture
                && order.state != OrderState::Cancelled
                && order.hold(HoldReason::CaptureFailed).is_none()
            {
                events.push(OrderEvent::HoldPlaced(HoldChange {
                    reason: HoldReason::CaptureFailed,
                    note: Some(format!("capture {op_id} failed: {message}")),
                }));
            }
            if op.kind == OpKind::Authorize
                && order.hold(HoldReason::PaymentFailed).is_none()
                && order.state != OrderState::Cancelled
            {
                events.push(OrderEvent::HoldPlaced(HoldChange {
                    reason: HoldReason::PaymentFailed,
                    note: Some(message),
                }));
            }
        }
        OpOutcome::Succeeded {
            provider_reference,
            authorization_expires_at,
        } => {
            events.push(OrderEvent::PaymentOpSucceeded(PaymentOpSucceeded {
                op_id: op_id.clone(),
                provider_reference,
                authorization_expires_at,
            }));
            if op.kind == OpKind::Capture && order.state == OrderState::Cancelled {
                events.extend(after_cancel(order, &events, op_id));
            }
            let other_capture_pending = order.payment_ops.iter().any(|o| {
                &o.id != op_id && o.kind == OpKind::Capture && o.status == OpStatus::Pending
            });
            if op.kind == OpKind::Capture
                && order.hold(HoldReason::CaptureFailed).is_some()
                && !other_capture_pending
            {
                events.push(OrderEvent::HoldReleased(HoldChange {
                    reason: HoldReason::CaptureFailed,
                    note: Some(format!("capture {op_id} went through")),
                }));
            }
            if op.kind == OpKind::Authorize {
                let mut ids = OpIds::new(Some(order));
                if order.state == OrderState::Cancelled {
                    // Authorized after the order was cancelled: give the money back.
                    events.push(ids.request(
                        &op.payment_id,
                        OpKind::Void,
                        op.amount_minor,
                        None,
                        false,
                    ));
                    return Ok(events);
                }
                if order.hold(HoldReason::PaymentFailed).is_some() {
                    events.push(OrderEvent::HoldReleased(HoldChange {
                        reason: HoldReason::PaymentFailed,
                        note: Some(format!("payment {} authorized", op.payment_id)),
                    }));
                }
                events.extend(super::edit_money::balance_settled(order, op_id));
                if order.state == OrderState::Pending {
                    events.push(OrderEvent::OrderConfirmed {
                        reason: format!("payment {} authorized", op.payment_id),
                    });
                }
                // Under review the authorization is held, not captured: a review that
                // ends in cancellation then voids instead of refunding.
                if capture == CaptureMode::OnAuthorization && !under_review(order) {
                    events.push(ids.request(
                        &op.payment_id,
                        OpKind::Capture,
                        op.amount_minor,
                        None,
                        false,
                    ));
                }
            }
        }
    }
    Ok(events)
}

/// A capture answered after its order was cancelled: the money it took goes back, and
/// what the authorization still holds is voided once no other capture is in flight.
fn after_cancel(order: &Order, answer: &[OrderEvent], op_id: &Id) -> Vec<OrderEvent> {
    let mut next = order.clone();
    let at = next.updated_at;
    for e in answer {
        // The answer folds cleanly: it was decided against this very state.
        if super::money::apply(&mut next, e, at).is_err() {
            return Vec::new();
        }
    }
    let mut ids = OpIds::new(Some(&next));
    let mut events = Vec::new();
    let Some(op) = next.op(op_id) else {
        return events;
    };
    let payment_id = op.payment_id.clone();
    if op.status == OpStatus::Succeeded {
        let refund_id = Id::new(format!("{op_id}.back"));
        events.push(OrderEvent::RefundRequested(RefundRequested {
            id: refund_id.clone(),
            amount_minor: op.amount_minor,
            reason: RefundReason::OrderCancelled,
            method: RefundMethod::OriginalPayment,
            lines: Vec::new(),
            note: Some("captured after the order was cancelled".to_owned()),
        }));
        let to_credit = next
            .payment(&payment_id)
            .is_some_and(|p| p.method == PaymentMethod::StoreCredit);
        events.push(ids.request(
            &payment_id,
            OpKind::Refund,
            op.amount_minor,
            Some(&refund_id),
            to_credit,
        ));
    }
    let open = next.capturable(&payment_id);
    if open > 0 && !next.capture_pending(&payment_id) {
        events.push(ids.request(&payment_id, OpKind::Void, open, None, false));
    }
    events
}

pub(super) fn check_amount(amount: i64) -> Result<(), OrderError> {
    if (1..=MAX_AMOUNT_MINOR).contains(&amount) {
        Ok(())
    } else {
        Err(OrderError::InvalidAmount)
    }
}

pub(super) fn capture(order: &Order, amount: Option<i64>) -> Result<Vec<OrderEvent>, OrderError> {
    if let Some(a) = amount {
        check_amount(a)?;
    }
    if order.state == OrderState::Cancelled {
        return Err(OrderError::IllegalTransition {
            from: order.state,
            to: order.state,
        });
    }
    let available: Vec<(&Id, i64)> = order
        .payments
        .iter()
        .map(|p| (&p.id, order.capturable(&p.id)))
        .filter(|(_, c)| *c > 0)
        .collect();
    let remaining: i64 = available.iter().map(|(_, c)| c).sum();
    if remaining == 0 {
        return Err(OrderError::NothingToCapture);
    }
    let mut want = amount.unwrap_or(remaining);
    if want > remaining {
        return Err(OrderError::CaptureExceedsAuthorized {
            requested: want,
            remaining,
        });
    }
    let mut ids = OpIds::new(Some(order));
    let mut events = Vec::new();
    for (payment_id, capturable) in available {
        if want == 0 {
            break;
        }
        let part = want.min(capturable);
        events.push(ids.request(payment_id, OpKind::Capture, part, None, false));
        want -= part;
    }
    Ok(events)
}

/// Requests refund parts for `amount` across payments, oldest first.
pub(super) fn refund_parts(
    order: &Order,
    refund_id: &Id,
    amount: i64,
    method: RefundMethod,
    ids: &mut OpIds,
) -> Result<Vec<OrderEvent>, OrderError> {
    let refundable: i64 = order.payments.iter().map(|p| order.refundable(&p.id)).sum();
    if amount > refundable {
        return Err(OrderError::RefundExceedsCaptured {
            requested: amount,
            remaining: refundable,
        });
    }
    let mut want = amount;
    let mut events = Vec::new();
    for p in &order.payments {
        let part = want.min(order.refundable(&p.id));
        if part == 0 {
            continue;
        }
        // Store credit goes back as store credit whatever was asked, and so does money
        // received by hand (no provider can send a bank transfer or cash back).
        let to_credit = method == RefundMethod::StoreCredit
            || p.method == PaymentMethod::StoreCredit
            || p.method.is_manual();
        events.push(ids.request(&p.id, OpKind::Refund, part, Some(refund_id), to_credit));
        want -= part;
    }
    Ok(events)
}

pub(super) fn retry_refund(order: &Order, refund_id: &Id) -> Result<Vec<OrderEvent>, OrderError> {
    let refund = order
        .refunds
        .iter()
        .find(|r| &r.id == refund_id)
        .ok_or_else(|| OrderError::UnknownRefund(refund_id.to_string()))?;
    let (succeeded, pending) = order.refund_progress(refund_id);
    let outstanding = refund.amount_minor - succeeded - pending;
    if outstanding <= 0 {
        return Err(OrderError::NothingToRetry(refund_id.to_string()));
    }
    refund_parts(
        order,
        refund_id,
        outstanding,
        refund.method,
        &mut OpIds::new(Some(order)),
    )
}

/// Voids every open authorization's remainder and refunds what was captured: what
/// cancelling an order means for its money.
pub(super) fn unwind(order: &Order, refund_id: &Id) -> Vec<OrderEvent> {
    let mut ids = OpIds::new(Some(order));
    let mut events = Vec::new();
    for p in &order.payments {
        let open = order.capturable(&p.id);
        // A capture in flight decides first; its answer voids what is left (see
        // `after_cancel`), so the authorization still ends exactly once.
        if open > 0 && !order.capture_pending(&p.id) {
            events.push(ids.request(&p.id, OpKind::Void, open, None, false));
        }
    }
    let refundable: i64 = order.payments.iter().map(|p| order.refundable(&p.id)).sum();
    if refundable > 0 {
        events.push(OrderEvent::RefundRequested(RefundRequested {
            id: refund_id.clone(),
            amount_minor: refundable,
            reason: RefundReason::OrderCancelled,
            method: RefundMethod::OriginalPayment,
            lines: Vec::new(),
            note: None,
        }));
        // Cannot exceed what is refundable: the amount is exactly that.
        if let Ok(parts) = refund_parts(
            order,
            refund_id,
            refundable,
            RefundMethod::OriginalPayment,
            &mut ids,
        ) {
            events.extend(parts);
        }
    }
    events
}

pub(super) fn expire(order: &Order, payment_id: &Id) -> Result<Vec<OrderEvent>, OrderError> {
    if order.payment(payment_id).is_none() {
        return Err(OrderError::UnknownPayment(payment_id.to_string()));
    }
    let busy = order.payment_ops.iter().any(|o| {
        &o.payment_id == payment_id
            && o.status == OpStatus::Pending
            && matches!(o.kind, OpKind::Capture | OpKind::Void)
    });
    // Nothing left to lapse, or an operation in flight decides the remainder's fate.
    if order.capturable(payment_id) == 0 || busy {
        return Ok(Vec::new());
    }
    Ok(vec![OrderEvent::AuthorizationExpired {
        payment_id: payment_id.clone(),
    }])
}

pub(super) fn mark_paid(
    order: &Order,
    payment_id: &Id,
    reference: Option<String>,
) -> Result<Vec<OrderEvent>, OrderError> {
    let payment = order
        .payment(payment_id)
        .ok_or_else(|| OrderError::UnknownPayment(payment_id.to_string()))?;
    if !payment.method.is_manual() {
        return Err(OrderError::NotManualPayment(payment_id.to_string()));
    }
    // Money for a cancelled order is not taken in: finance returns it outside Orderly.
    if order.state == OrderState::Cancelled {
        return Err(OrderError::IllegalTransition {
            from: order.state,
            to: OrderState::Confirmed,
        });
    }
    if order.payment_totals(payment_id).authorized > 0 {
        return Err(OrderError::AlreadyPaid(payment_id.to_string()));
    }
    let mut ids = OpIds::new(Some(order));
    let mut events = Vec::new();
    // Money received is authorized and captured at once.
    for kind in [OpKind::Authorize, OpKind::Capture] {
        let request = ids.request(payment_id, kind, payment.amount_minor, None, false);
        if let OrderEvent::PaymentOpRequested(r) = &request {
            let op_id = r.id.clone();
            events.push(request);
            events.push(OrderEvent::PaymentOpSucceeded(PaymentOpSucceeded {
                op_id,
                provider_reference: reference.clone(),
                authorization_expires_at: None,
            }));
        }
    }
    if order.hold(HoldReason::PaymentFailed).is_some() {
        events.push(OrderEvent::HoldReleased(HoldChange {
            reason: HoldReason::PaymentFailed,
            note: Some(format!("payment {payment_id} received")),
        }));
    }
    if order.state == OrderState::Pending {
        events.push(OrderEvent::OrderConfirmed {
            reason: format!("payment {payment_id} received"),
        });
    }
    Ok(events)
}

pub(super) fn place_hold(order: &Order, h: HoldChange) -> Result<Vec<OrderEvent>, OrderError> {
    if order.state == OrderState::Cancelled {
        return Err(OrderError::IllegalTransition {
            from: order.state,
            to: order.state,
        });
    }
    if order.hold(h.reason).is_some() {
        return Err(OrderError::HoldAlreadyActive(h.reason.as_str()));
    }
    Ok(vec![OrderEvent::HoldPlaced(h)])
}

pub(super) fn release_hold(
    order: &Order,
    h: HoldChange,
    capture: CaptureMode,
) -> Result<Vec<OrderEvent>, OrderError> {
    if order.hold(h.reason).is_none() {
        return Err(OrderError::HoldNotActive(h.reason.as_str()));
    }
    let reason = h.reason;
    let mut events = vec![OrderEvent::HoldReleased(h)];
    let reviews_left = order
        .holds
        .iter()
        .any(|x| x.reason != reason && x.reason.is_review());
    if reason.is_review()
        && !reviews_left
        && capture == CaptureMode::OnAuthorization
        && order.state != OrderState::Cancelled
        && order.hold(HoldReason::CaptureFailed).is_none()
    {
        // The review passed: take the money its authorization was holding.
        let mut ids = OpIds::new(Some(order));
        for p in &order.payments {
            let open = order.capturable(&p.id);
            if open > 0 && !order.capture_pending(&p.id) {
                events.push(ids.request(&p.id, OpKind::Capture, open, None, false));
            }
        }
    }
    Ok(events)
}

/// A fraud or high-value review is active.
fn under_review(order: &Order) -> bool {
    order.holds.iter().any(|h| h.reason.is_review())
}

/// Whether the operation is settled inside Orderly (store credit) rather than by a provider.
pub fn is_internal(order: &Order, op_id: &Id) -> bool {
    order.op(op_id).is_some_and(|op| {
        op.to_store_credit
            || order
                .payment(&op.payment_id)
                .is_some_and(|p| p.provider == STORE_CREDIT_PROVIDER)
    })
}
