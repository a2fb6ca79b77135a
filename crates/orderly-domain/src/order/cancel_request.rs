//! Cancelling what a warehouse already has. Before release a cancellation is immediate;
//! once a fulfillment order is released (and until it ships) the warehouse may be
//! picking it, so the cancellation becomes a request to each such fulfillment order. The
//! warehouse accepts (nothing picked yet, or the picked units put back) or rejects (it
//! is packed); when every one accepted, the cancellation is carried out in the same
//! decision, and one rejection ends the request with the order as it was. While a
//! request waits, nothing more is released, picked, packed or shipped for it.

use super::command::{CancelOrder, CancelReason, OrderCommand};
use super::edit_decide::CancelUnits;
use super::edit_plan::EditFacts;
use super::error::OrderError;
use super::event::OrderEvent;
use super::fulfillment::FulfillmentOrder;
use super::state::Order;
use crate::Timestamp;
use crate::fulfillment::FulfillmentState;
use crate::values::Id;
use serde::{Deserialize, Serialize};

/// Units of one line to cancel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancelLine {
    pub line_no: u32,
    pub quantity: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancelRejection {
    pub fulfillment_id: Id,
    pub reason: String,
}

/// A cancellation waiting for warehouses (or the last one they rejected).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancelRequest {
    pub id: Id,
    pub author: String,
    pub reason: CancelReason,
    pub note: Option<String>,
    /// Units to cancel; the whole order when absent.
    pub lines: Option<Vec<CancelLine>>,
    pub refund_id: Id,
    /// Fulfillment orders that have not answered yet.
    pub waiting: Vec<Id>,
    pub accepted: Vec<Id>,
    pub rejected: Option<CancelRejection>,
    pub requested_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancellationRequested {
    pub request_id: Id,
    pub author: String,
    pub reason: CancelReason,
    pub note: Option<String>,
    pub lines: Option<Vec<CancelLine>>,
    pub refund_id: Id,
    pub fulfillment_ids: Vec<Id>,
}

/// A warehouse's answer to a cancellation request for one fulfillment order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancellationAnswered {
    pub request_id: Id,
    pub fulfillment_id: Id,
    /// Why it was refused; absent when accepted.
    pub rejected: Option<String>,
}

/// Asks for a cancellation, of the whole order or (with `lines`) of some units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestCancellation {
    pub request_id: Id,
    pub author: String,
    pub lines: Option<Vec<CancelLine>>,
    pub reason: CancelReason,
    pub note: Option<String>,
    pub refund_id: Id,
}

impl Order {
    /// The cancellation request waiting for warehouses, if one is.
    pub fn pending_cancellation(&self) -> Option<&CancelRequest> {
        self.cancel_request
            .as_ref()
            .filter(|r| r.rejected.is_none())
    }

    /// Whether fulfillment order `id` waits to answer a cancellation request.
    pub fn cancellation_waits_on(&self, id: &Id) -> bool {
        self.pending_cancellation()
            .is_some_and(|r| r.waiting.contains(id))
    }

    /// A fulfillment order its warehouse gave back for a cancellation.
    pub(super) fn given_up(&self, id: &Id) -> bool {
        self.pending_cancellation()
            .is_some_and(|r| r.accepted.contains(id))
    }
}

/// A fulfillment order asked to give its units up for a cancellation answers first:
/// nothing more is picked, packed or shipped for it meanwhile.
pub(super) fn awaits_no_cancellation(order: &Order, id: &Id) -> Result<(), OrderError> {
    match order.pending_cancellation() {
        Some(r) if r.waiting.contains(id) => Err(OrderError::CancellationPending(r.id.to_string())),
        _ => Ok(()),
    }
}

/// Handed to a warehouse and not gone yet: a cancellation must ask it.
fn at_warehouse(fo: &FulfillmentOrder) -> bool {
    matches!(
        fo.state,
        FulfillmentState::Released | FulfillmentState::Picking | FulfillmentState::Packed
    )
}

/// The fulfillment orders a cancellation of `lines` (every unit, when absent) must ask:
/// those at a warehouse holding units the cancellation cannot take elsewhere (waiting,
/// backordered, or at a fulfillment order not released yet).
fn to_ask(order: &Order, lines: Option<&[CancelLine]>) -> Vec<Id> {
    let Some(lines) = lines else {
        return order
            .fulfillment_orders
            .iter()
            .filter(|f| at_warehouse(f))
            .map(|f| f.id.clone())
            .collect();
    };
    let mut ids: Vec<Id> = Vec::new();
    for c in lines {
        let Some(line) = order.lines.iter().find(|l| l.line_no == c.line_no) else {
            continue;
        };
        let held = |pred: &dyn Fn(&FulfillmentOrder) -> bool| -> u32 {
            order
                .fulfillment_orders
                .iter()
                .filter(|f| pred(f))
                .flat_map(|f| f.lines.iter().filter(|l| l.line_no == c.line_no))
                .map(|l| l.quantity)
                .sum()
        };
        let free = line.buckets.unallocated
            + line.buckets.backordered
            + held(&|f| f.state == FulfillmentState::Pending);
        let mut left = c.quantity.saturating_sub(free);
        for fo in order
            .fulfillment_orders
            .iter()
            .rev()
            .filter(|f| at_warehouse(f))
        {
            if left == 0 {
                break;
            }
            let q: u32 = fo
                .lines
                .iter()
                .filter(|l| l.line_no == c.line_no)
                .map(|l| l.quantity)
                .sum();
            if q > 0 {
                left -= left.min(q);
                if !ids.contains(&fo.id) {
                    ids.push(fo.id.clone());
                }
            }
        }
    }
    ids
}

/// Whether `lines` name every unit still to ship.
fn everything(order: &Order, lines: &[CancelLine]) -> bool {
    order.lines.iter().all(|l| {
        let asked = lines
            .iter()
            .find(|c| c.line_no == l.line_no)
            .map_or(0, |c| c.quantity);
        l.buckets.active() == asked
    })
}

pub(super) fn request(
    order: &Order,
    r: RequestCancellation,
    facts: &EditFacts,
) -> Result<Vec<OrderEvent>, OrderError> {
    if let Some(p) = order.pending_cancellation() {
        return Err(OrderError::CancellationPending(p.id.to_string()));
    }
    let whole = match &r.lines {
        None => true,
        Some(lines) => {
            super::edit_decide::check_units(order, lines)?;
            everything(order, lines)
        }
    };
    let lines = if whole { None } else { r.lines.clone() };
    let ask = to_ask(order, lines.as_deref());
    if !ask.is_empty() {
        if whole {
            // The order as a whole: refused as the immediate cancellation would refuse it.
            if !order
                .state
                .can_transition_to(super::state::OrderState::Cancelled)
            {
                return Err(OrderError::IllegalTransition {
                    from: order.state,
                    to: super::state::OrderState::Cancelled,
                });
            }
            if order.lines.iter().any(|l| l.buckets.shipped > 0) {
                return Err(OrderError::AlreadyShipped);
            }
        } else {
            // Some units: an edit, refused now rather than when the warehouse answers.
            super::edit_plan::check_editable(order).or_else(|e| match e {
                // Money in flight settles before the warehouse answers.
                OrderError::PaymentInFlight(_) => Ok(()),
                e => Err(e),
            })?;
        }
        return Ok(vec![OrderEvent::CancellationRequested(
            CancellationRequested {
                request_id: r.request_id,
                author: r.author,
                reason: r.reason,
                note: r.note,
                lines,
                refund_id: r.refund_id,
                fulfillment_ids: ask,
            },
        )]);
    }
    carry_out(
        order,
        r.request_id,
        r.author,
        lines,
        (r.reason, r.note, r.refund_id),
        facts,
    )
}

/// The cancellation itself: the whole order, or its units as an edit.
fn carry_out(
    order: &Order,
    edit_id: Id,
    author: String,
    lines: Option<Vec<CancelLine>>,
    (reason, note, refund_id): (CancelReason, Option<String>, Id),
    facts: &EditFacts,
) -> Result<Vec<OrderEvent>, OrderError> {
    match lines {
        None => super::decide::decide(
            Some(order),
            OrderCommand::Cancel(CancelOrder {
                reason,
                note,
                refund_id,
            }),
            None,
        ),
        Some(lines) => super::edit_decide::cancel_units(
            order,
            CancelUnits {
                edit_id,
                author,
                lines: lines.iter().map(|c| (c.line_no, c.quantity)).collect(),
                reason,
                note,
                refund_id,
            },
            facts,
        ),
    }
}

/// A warehouse answers for fulfillment order `id`; the last acceptance carries the
/// cancellation out, decided against the order with that acceptance folded in.
pub(super) fn answer(
    order: &Order,
    id: &Id,
    rejected: Option<String>,
    facts: &EditFacts,
) -> Result<Vec<OrderEvent>, OrderError> {
    let Some(req) = order
        .pending_cancellation()
        .filter(|r| r.waiting.contains(id))
    else {
        return Err(OrderError::NoCancellationRequest(id.to_string()));
    };
    let fo = super::fulfillment::find(order, id)?;
    if rejected.is_none() && fo.state == FulfillmentState::Packed {
        return Err(super::fulfillment::wrong_state(
            fo,
            "give up its units for a cancellation (it is packed: reject the request)",
        ));
    }
    let answered = OrderEvent::CancellationAnswered(CancellationAnswered {
        request_id: req.id.clone(),
        fulfillment_id: id.clone(),
        rejected: rejected.clone(),
    });
    if rejected.is_some() || req.waiting.len() > 1 {
        return Ok(vec![answered]);
    }
    let after = super::evolve::evolve(
        Some(order.clone()),
        &answered,
        order.updated_at,
        order.version + 1,
    )
    .map_err(|_| OrderError::NoCancellationRequest(id.to_string()))?;
    let mut events = vec![answered];
    events.extend(carry_out(
        &after,
        req.id.clone(),
        req.author.clone(),
        req.lines.clone(),
        (req.reason, req.note.clone(), req.refund_id.clone()),
        facts,
    )?);
    Ok(events)
}

pub(super) fn apply_requested(order: &mut Order, r: &CancellationRequested, at: Timestamp) {
    order.cancel_request = Some(CancelRequest {
        id: r.request_id.clone(),
        author: r.author.clone(),
        reason: r.reason,
        note: r.note.clone(),
        lines: r.lines.clone(),
        refund_id: r.refund_id.clone(),
        waiting: r.fulfillment_ids.clone(),
        accepted: Vec::new(),
        rejected: None,
        requested_at: at,
    });
}

pub(super) fn apply_answered(
    order: &mut Order,
    a: &CancellationAnswered,
) -> Result<(), &'static str> {
    let req = order
        .cancel_request
        .as_mut()
        .filter(|r| r.id == a.request_id && r.rejected.is_none())
        .ok_or("no such cancellation request")?;
    let at = req
        .waiting
        .iter()
        .position(|w| w == &a.fulfillment_id)
        .ok_or("the fulfillment order was not asked")?;
    let fo = req.waiting.remove(at);
    match &a.rejected {
        Some(reason) => {
            req.rejected = Some(CancelRejection {
                fulfillment_id: fo,
                reason: reason.clone(),
            })
        }
        None => req.accepted.push(fo),
    }
    Ok(())
}

/// The sentences of the request's events.
pub(super) fn summary(event: &OrderEvent, before: Option<&Order>) -> String {
    match event {
        OrderEvent::CancellationRequested(r) => {
            let what = match &r.lines {
                None => "the order".to_owned(),
                Some(lines) => lines
                    .iter()
                    .map(|c| {
                        let sku = before
                            .and_then(|o| o.lines.iter().find(|l| l.line_no == c.line_no))
                            .map_or(format!("line {}", c.line_no), |l| l.sku.to_string());
                        format!("{} of {sku}", super::summary::units(c.quantity))
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
            };
            let asked: Vec<String> = r
                .fulfillment_ids
                .iter()
                .map(|id| {
                    let at = before
                        .and_then(|o| o.fulfillment_orders.iter().find(|f| &f.id == id))
                        .map_or("?", |f| f.location_id.as_str());
                    format!("{id} at {at}")
                })
                .collect();
            format!(
                "{} asked to cancel {what} ({}); waiting for the warehouse to answer for {}",
                r.author,
                r.reason.as_str(),
                asked.join(", ")
            )
        }
        OrderEvent::CancellationAnswered(a) => match &a.rejected {
            Some(why) => format!(
                "The warehouse refused to cancel {}: {why}; the order stays as it was",
                a.fulfillment_id
            ),
            None => format!(
                "The warehouse gave up {} for the cancellation",
                a.fulfillment_id
            ),
        },
        _ => String::new(),
    }
}

/// A request waiting for a warehouse is work for the fulfillment team until it is
/// answered.
pub(super) fn exception_changes(
    event: &OrderEvent,
    order: &Order,
) -> Vec<super::exceptions::ExceptionChange> {
    use super::exceptions::{ExceptionChange, kind, open, queue};
    match event {
        OrderEvent::CancellationRequested(r) => vec![open(
            queue::FULFILLMENT,
            kind::CANCELLATION_REQUESTED,
            &r.request_id,
            format!(
                "{} asks to cancel {}: accept or reject it for {}",
                r.author,
                if r.lines.is_some() {
                    "some units"
                } else {
                    "the order"
                },
                r.fulfillment_ids
                    .iter()
                    .map(|i| i.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )],
        OrderEvent::CancellationAnswered(a)
            if a.rejected.is_some() || order.pending_cancellation().is_none() =>
        {
            vec![ExceptionChange::Resolve {
                subject_id: a.request_id.clone(),
                kinds: &[kind::CANCELLATION_REQUESTED],
                resolution: if a.rejected.is_some() {
                    "refused by the warehouse"
                } else {
                    "cancelled"
                },
            }]
        }
        _ => Vec::new(),
    }
}
