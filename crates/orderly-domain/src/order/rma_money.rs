//! The money side of a return: which units the policy's refund timing pays for, when a
//! refund is due, the resolution through the ordinary refund path (bounded per line, the
//! intent holding its amount), and completion once goods and money are both settled, so
//! a return is never completed while its refund is pending or refused.

use super::command::RequestRefund;
use super::error::OrderError;
use super::event::OrderEvent;
use super::rma::{PolicyException, Return, ReturnResolution, ReturnResolved};
use super::rma_decide::{ResolveReturn, find, refuse};
use super::state::Order;
use crate::Timestamp;
use crate::payment::{RefundReason, RefundStatus};
use crate::returns::{Acceptance, AskedItem, Reception, RefundTiming, ReturnState, Wanted};
use crate::values::Id;

/// The units a resolution pays for now, per line.
fn units_to_pay(ret: &Return, without_return: bool) -> Vec<AskedItem> {
    let counted = |pick: &dyn Fn(&super::rma::ReturnItem) -> bool| {
        let mut out: Vec<AskedItem> = Vec::new();
        for item in ret.items.iter().filter(|i| pick(i)) {
            match out.iter_mut().find(|a| a.line_no == item.line_no) {
                Some(a) => a.quantity += 1,
                None => out.push(AskedItem {
                    line_no: item.line_no,
                    quantity: 1,
                }),
            }
        }
        out
    };
    if without_return {
        return counted(&|_| true);
    }
    match ret.judgement.refund_timing {
        RefundTiming::OnCarrierAcceptance => counted(&|i| {
            !matches!(i.reception, Reception::Short | Reception::WrongItem)
                && i.acceptance != Acceptance::Rejected
        }),
        RefundTiming::OnReceipt => {
            counted(&|i| i.reception == Reception::Received && i.acceptance != Acceptance::Rejected)
        }
        RefundTiming::AfterInspection => counted(&|i| i.acceptance == Acceptance::Accepted),
    }
}

/// Whether the policy's refund timing has come for `ret`.
pub fn refund_due(ret: &Return) -> bool {
    if ret.resolution.is_some() || ret.state.is_terminal() {
        return false;
    }
    // Every unit rejected, short or a wrong item: there is nothing to pay for.
    if nothing_to_pay(ret) {
        return false;
    }
    // An exchange settles its price difference once its exchange order stands.
    if matches!(ret.wanted, Wanted::Exchange { .. }) && ret.exchange.is_none() {
        return false;
    }
    match ret.judgement.refund_timing {
        RefundTiming::OnCarrierAcceptance => matches!(
            ret.state,
            ReturnState::InTransit | ReturnState::Received | ReturnState::Inspected
        ),
        RefundTiming::OnReceipt => {
            matches!(ret.state, ReturnState::Received | ReturnState::Inspected)
                && ret.receipt_closed()
        }
        // A unit waiting for a person's decision may yet be accepted: one refund pays
        // for the return, so it waits for that decision too.
        RefundTiming::AfterInspection => {
            ret.state == ReturnState::Inspected && ret.receipt_closed() && !ret.undecided()
        }
    }
}

/// Whether `ret` has nothing left to wait for: its goods are in (or were let go) and its
/// money, if any, went through.
pub fn complete_due(order: &Order, ret: &Return) -> bool {
    let paid = match &ret.resolution {
        Some(res) => res
            .refund_ids()
            .all(|id| order.refund_status_of(id) == Some(RefundStatus::Succeeded)),
        // Nothing came back that the policy pays for, so nothing is owed.
        None => nothing_to_pay(ret),
    };
    // The customer's rejected goods go back before the return ends.
    if !ret.send_back_due().is_empty() {
        return false;
    }
    let goods_done = match ret.state {
        ReturnState::Inspected => ret.receipt_closed() && !ret.undecided(),
        // Only strays came back in place of the awaited units (none to inspect).
        ReturnState::Received => {
            ret.receipt_closed() && ret.items.iter().all(|i| i.reception != Reception::Received)
        }
        ReturnState::Authorized => ret
            .exceptions
            .contains(&PolicyException::RefundWithoutReturn),
        // A lost parcel ends once a person closed its receipt (its units short), or its
        // money went back without it.
        ReturnState::Lost => {
            ret.receipt_closed()
                || ret
                    .exceptions
                    .contains(&PolicyException::RefundWithoutReturn)
        }
        _ => false,
    };
    paid && goods_done
}

/// Whether `ret` is settled with no money: its goods are all in (or short) and decided,
/// none of them is one the policy pays for, and it is no exchange (whose credit is
/// settled by a resolution of its own).
fn nothing_to_pay(ret: &Return) -> bool {
    ret.receipt_closed()
        && ret.inspected()
        && !ret.undecided()
        && !matches!(ret.wanted, Wanted::Exchange { .. })
        && !ret
            .exceptions
            .contains(&PolicyException::RefundWithoutReturn)
        && units_to_pay(ret, false).is_empty()
}

/// Whether the policy's resolution of `ret` can go through as it stands (money captured
/// to refund, lines not refunded already). One that cannot waits for a person instead of
/// failing the step (a receipt, an inspection) that made it due.
pub(super) fn can_resolve(order: &Order, ret: &Return) -> bool {
    let probe = ResolveReturn {
        return_id: ret.id.clone(),
        refund_id: Id::new("ref_probe"),
        waive_fee: false,
        without_return: false,
    };
    resolve(order, probe, order.updated_at).is_ok()
}

pub(super) fn resolve(
    order: &Order,
    r: ResolveReturn,
    now: Timestamp,
) -> Result<Vec<OrderEvent>, OrderError> {
    let ret = find(order, &r.return_id)?;
    if ret.resolution.is_some() {
        return Err(OrderError::ReturnAlreadyResolved(ret.rma.clone()));
    }
    if ret.state.is_terminal() || matches!(ret.state, ReturnState::NeedsReview) {
        return Err(refuse(ret, "be resolved"));
    }
    if r.without_return && !matches!(ret.state, ReturnState::Authorized | ReturnState::Lost) {
        return Err(refuse(ret, "be refunded without its goods"));
    }
    let lines = units_to_pay(ret, r.without_return);
    if lines.is_empty() {
        return Err(OrderError::NothingToResolve(ret.rma.clone()));
    }
    let money = order.line_money();
    // Counted on from the units refunded already, as the refund path bounds them, so
    // that a line returned one unit at a time gives back exactly what it was paid.
    let value: i64 = lines
        .iter()
        .map(|a| {
            money
                .iter()
                .find(|m| m.line_no == a.line_no)
                .map_or(0, |m| m.next_units_value(a.quantity))
        })
        .sum();
    let j = &ret.judgement;
    // An exchange puts the returned units' value toward the replacement: what is paid
    // back is what the accepted units are worth beyond that credit, with no fee.
    let credit = match (&ret.wanted, &ret.exchange) {
        (Wanted::Exchange { .. }, Some(x)) => Some(x.credit_minor),
        (Wanted::Exchange { .. }, None) => {
            return Err(refuse(
                ret,
                "be resolved before its exchange order is placed",
            ));
        }
        _ => None,
    };
    let (fee, shipping) = if r.waive_fee || credit.is_some() {
        (0, 0)
    } else {
        // The restocking fee follows the share of the judged value being paid now.
        // Never more than the fee itself (a later unit may be worth a minor unit more
        // than the judgement's rounding of it).
        let fee = if j.value_minor > 0 {
            i64::try_from(
                i128::from(j.restocking_fee_minor) * i128::from(value) / i128::from(j.value_minor),
            )
            .unwrap_or(i64::MAX)
            .min(j.restocking_fee_minor)
        } else {
            0
        };
        (fee, j.return_shipping.fee_minor())
    };
    let amount = (value - credit.unwrap_or(0) - fee - shipping).max(0);
    // The customer's own postage, for goods that came back (not with an exchange, whose
    // credit settles it, nor with money back without the goods).
    // Paid back from what the order's payments can still return beyond the goods: the
    // postage never blocks the goods' refund, and is never more than was taken.
    let room: i64 = order.payments.iter().map(|p| order.refundable(&p.id)).sum();
    let reimbursed = if credit.is_none() && !r.without_return {
        j.shipping_reimbursed_minor.clamp(0, (room - amount).max(0))
    } else {
        0
    };
    let mut exceptions = Vec::new();
    if r.waive_fee && (j.restocking_fee_minor > 0 || j.return_shipping.fee_minor() > 0) {
        exceptions.push(PolicyException::FeeWaived);
    }
    if r.without_return {
        exceptions.push(PolicyException::RefundWithoutReturn);
    }
    let refund_id = (amount > 0).then(|| r.refund_id.clone());
    let postage_refund_id =
        (reimbursed > 0).then(|| Id::new(format!("{}_postage", r.refund_id.as_str())));
    let mut events = vec![OrderEvent::ReturnResolved(ReturnResolved {
        return_id: r.return_id.clone(),
        resolution: ReturnResolution {
            refund_id: refund_id.clone(),
            value_minor: value,
            restocking_fee_minor: fee,
            shipping_fee_minor: shipping,
            amount_minor: amount,
            shipping_reimbursed_minor: reimbursed,
            postage_refund_id: postage_refund_id.clone(),
            method: j.refund_method,
            lines: lines.clone(),
            at: now,
        },
        exceptions,
    })];
    if let Some(id) = refund_id {
        events.extend(super::refunds::refund(
            order,
            RequestRefund {
                id,
                amount_minor: Some(amount),
                reason: RefundReason::Return,
                method: j.refund_method,
                lines: lines
                    .iter()
                    .map(|a| crate::payment::RefundLine {
                        line_no: a.line_no,
                        quantity: a.quantity,
                        amount_minor: 0,
                    })
                    .collect(),
                note: Some(format!("return {}", ret.rma)),
            },
        )?);
    }
    if let Some(id) = postage_refund_id {
        // Drawn on what the goods' refund left: the order as it stands after it.
        let mut after = order.clone();
        for e in &events {
            after = super::evolve::evolve(Some(after), e, now, order.version + 1)
                .map_err(|_| refuse(ret, "be resolved with its postage"))?;
        }
        events.extend(super::refunds::refund(
            &after,
            RequestRefund {
                id,
                amount_minor: Some(reimbursed),
                reason: RefundReason::Return,
                method: j.refund_method,
                lines: Vec::new(),
                note: Some(format!("return {}: the customer's postage", ret.rma)),
            },
        )?);
    }
    Ok(events)
}

pub(super) fn complete(order: &Order, return_id: &Id) -> Result<Vec<OrderEvent>, OrderError> {
    let ret = find(order, return_id)?;
    if !complete_due(order, ret) {
        return Err(refuse(ret, "be completed yet"));
    }
    Ok(vec![OrderEvent::ReturnCompleted {
        return_id: return_id.clone(),
    }])
}
