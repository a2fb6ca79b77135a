//! Which return events need a person: a return waiting for a review, a parcel the carrier
//! lost, a unit the inspector could not decide on, and a refund the policy's timing asked
//! for that cannot go through as it stands (nothing captured, the line refunded by hand).
//! Each opens an entry in the `returns` queue, and the event that settles it closes it.
//! Rejected units waiting for their parcel back to the customer open one until it is
//! booked, and a stray that came back in place of an awaited unit one that stays until a
//! person has settled it with the customer.
//! A decision outside the policy (an approval over a rule, a fee waived, a refund
//! without the goods) opens one too, for a supervisor to look at and resolve by hand.

use super::event::OrderEvent;
use super::exceptions::{ExceptionChange, RaisedException, kind, queue};
use super::rma::{Return, ReturnParcelStatus};
use super::state::Order;
use crate::returns::{Acceptance, Outcome};
use crate::values::Id;

fn open(kind: &'static str, ret: &Return, detail: String) -> ExceptionChange {
    ExceptionChange::Open(RaisedException {
        queue: queue::RETURNS,
        kind,
        subject_id: ret.id.clone(),
        detail: format!("{}: {detail}", ret.rma),
    })
}

fn resolve(id: &Id, kinds: &'static [&'static str], resolution: &'static str) -> ExceptionChange {
    ExceptionChange::Resolve {
        subject_id: id.clone(),
        kinds,
        resolution,
    }
}

/// Every kind of the returns queue: what a terminal return closes.
const EVERY: &[&str] = &[
    kind::RETURN_REVIEW,
    kind::RETURN_LOST,
    kind::RETURN_NEEDS_DECISION,
    kind::RETURN_REFUND_BLOCKED,
    kind::RETURN_SEND_BACK,
];

/// The exception changes of a return event, given the order after it.
pub(super) fn changes(event: &OrderEvent, order: &Order) -> Vec<ExceptionChange> {
    let Some(id) = event.return_id() else {
        return Vec::new();
    };
    let Some(ret) = order.returns.iter().find(|r| &r.id == id) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    match event {
        OrderEvent::ReturnRequested(r) => {
            if let Outcome::NeedsReview { rules } = &r.judgement.outcome {
                let names: Vec<&str> = rules.iter().map(|r| r.as_str()).collect();
                out.push(open(
                    kind::RETURN_REVIEW,
                    ret,
                    format!("needs review ({})", names.join(", ")),
                ));
            }
        }
        OrderEvent::ReturnReviewed(_) => {
            out.push(resolve(id, &[kind::RETURN_REVIEW], "reviewed"));
        }
        OrderEvent::ReturnTracked(t) if t.status == ReturnParcelStatus::Lost => {
            out.push(open(
                kind::RETURN_LOST,
                ret,
                "the carrier lost the return parcel".to_owned(),
            ));
        }
        OrderEvent::ReturnReceived(r) => {
            if !r.items.is_empty() {
                out.push(resolve(id, &[kind::RETURN_LOST], "received"));
            }
            if !r.wrong_item.is_empty() {
                let strays: Vec<String> = ret
                    .unexpected
                    .iter()
                    .filter_map(|u| u.in_place_of.map(|no| format!("{} for item {no}", u.scan)))
                    .collect();
                out.push(open(
                    kind::RETURN_WRONG_ITEM,
                    ret,
                    format!("something else came back: {}", strays.join(", ")),
                ));
            }
        }
        OrderEvent::ReturnInspected(i) => {
            let undecided: Vec<String> = i
                .items
                .iter()
                .filter(|x| x.acceptance == Acceptance::NeedsManualDecision)
                .map(|x| x.item_no.to_string())
                .collect();
            if !undecided.is_empty() {
                out.push(open(
                    kind::RETURN_NEEDS_DECISION,
                    ret,
                    format!("items {} need a manual decision", undecided.join(", ")),
                ));
            }
            // The replacement went out against these goods: a person settles the gap.
            let rejected: Vec<String> = i
                .items
                .iter()
                .filter(|x| x.acceptance == Acceptance::Rejected)
                .map(|x| x.item_no.to_string())
                .collect();
            // The money (or the replacement) went out against these goods before they
            // were inspected: a person settles the gap.
            let already = if ret.exchange.is_some() {
                Some("their exchange order was placed")
            } else if ret.resolution.is_some() {
                Some("the refund went out before inspection")
            } else {
                None
            };
            if let Some(already) = already.filter(|_| !rejected.is_empty() && undecided.is_empty())
            {
                out.push(open(
                    kind::RETURN_NEEDS_DECISION,
                    ret,
                    format!("items {} were rejected, but {already}", rejected.join(", ")),
                ));
            }
        }
        OrderEvent::ReturnItemsDecided(d) => {
            let rejected: Vec<String> = d
                .items
                .iter()
                .filter(|x| x.acceptance == Acceptance::Rejected)
                .map(|x| x.item_no.to_string())
                .collect();
            let already = ret.exchange.is_some() || ret.resolution.is_some();
            if already && !rejected.is_empty() {
                out.push(open(
                    kind::RETURN_NEEDS_DECISION,
                    ret,
                    format!(
                        "items {} were rejected after the money or the replacement went out",
                        rejected.join(", ")
                    ),
                ));
            } else if !ret.undecided() {
                out.push(resolve(id, &[kind::RETURN_NEEDS_DECISION], "decided"));
            }
        }
        OrderEvent::ReturnItemsSentBack(_) if ret.send_back_due().is_empty() => {
            out.push(resolve(id, &[kind::RETURN_SEND_BACK], "sent back"));
        }
        OrderEvent::ReturnResolved(_) => {
            out.push(resolve(
                id,
                &[kind::RETURN_REFUND_BLOCKED, kind::RETURN_LOST],
                "resolved",
            ));
        }
        OrderEvent::ReturnCompleted { .. }
        | OrderEvent::ReturnCancelled(_)
        | OrderEvent::ReturnExpired(_) => out.push(resolve(id, EVERY, "closed")),
        _ => {}
    }
    let inspection = matches!(
        event,
        OrderEvent::ReturnInspected(_) | OrderEvent::ReturnItemsDecided(_)
    );
    let waiting: Vec<String> = ret
        .send_back_due()
        .iter()
        .map(|(no, _)| no.to_string())
        .collect();
    if inspection && !waiting.is_empty() {
        out.push(open(
            kind::RETURN_SEND_BACK,
            ret,
            format!(
                "items {} wait for their parcel back to the customer",
                waiting.join(", ")
            ),
        ));
    }
    let granted = match event {
        OrderEvent::ReturnReviewed(r) => r.exceptions.as_slice(),
        OrderEvent::ReturnResolved(r) => r.exceptions.as_slice(),
        _ => &[],
    };
    if !granted.is_empty() {
        // Kept until a supervisor has looked: a terminal return does not close it.
        let names: Vec<&str> = ret.exceptions.iter().map(|e| e.as_str()).collect();
        out.push(open(
            kind::POLICY_EXCEPTION,
            ret,
            format!("outside its policy: {}", names.join(", ")),
        ));
    }
    let blocked = super::rma_money::refund_due(ret) && !super::rma_money::can_resolve(order, ret);
    if blocked && !matches!(event, OrderEvent::ReturnResolved(_)) {
        out.push(open(
            kind::RETURN_REFUND_BLOCKED,
            ret,
            "the policy's refund is due but cannot go through as the order stands".to_owned(),
        ));
    }
    out
}
