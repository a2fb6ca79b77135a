//! What an order's events mean outside Orderly. Internal steps (a deadline set, an
//! operation asked of a provider, an edit being staged) concern no one else; the rest
//! become public event types (`order.placed`, `shipment.delivered`, `refund.succeeded` …)
//! that webhook subscribers choose from and notification triggers name. One mapping for
//! both, so a subscriber and a customer hear of the same facts under the same names.
//!
//! The mapping reads the order as it stood after the event: whether an operation was a
//! capture or a refund, whether a requested return was authorized at once, and whether
//! the order is the replacement of an exchange are facts of the state, not of the event.

use super::{Order, OrderEvent};
use crate::fulfillment::TrackingStatus;
use crate::payment::OpKind;
use crate::returns::ReturnState;

/// Every public event type, for subscriptions and triggers to be checked against.
pub const OUTWARD_TYPES: &[&str] = &[
    "order.placed",
    "order.confirmed",
    "order.cancelled",
    "order.edited",
    "payment.authorized",
    "payment.captured",
    "payment.voided",
    "payment.reduced",
    "payment.failed",
    "payment.expired",
    "refund.succeeded",
    "refund.failed",
    "hold.placed",
    "hold.released",
    "fulfillment.released",
    "fulfillment.rejected",
    "backorder.filled",
    "shipment.shipped",
    "shipment.tracking_updated",
    "shipment.delivered",
    "shipment.delayed",
    "shipment.exception",
    "exchange.shipped",
    "return.requested",
    "return.authorized",
    "return.rejected",
    "return.needs_review",
    "return.label_issued",
    "return.in_transit",
    "return.received",
    "return.inspected",
    "return.completed",
    "return.cancelled",
    "return.expired",
];

/// The public event types `event` stands for, given the order after it (`after`).
/// Most events are one type or none; a return authorized on request is both
/// `return.requested` and `return.authorized`, and an exchange's parcel is also
/// `exchange.shipped`.
pub fn outward_types(event: &OrderEvent, after: &Order) -> Vec<&'static str> {
    let op_kind = |id| after.op(id).map(|op| op.kind);
    let return_state = |id| after.returns.iter().find(|r| &r.id == id).map(|r| r.state);
    match event {
        OrderEvent::OrderPlaced(_) => vec!["order.placed"],
        OrderEvent::OrderConfirmed { .. } => vec!["order.confirmed"],
        OrderEvent::OrderCancelled(_) => vec!["order.cancelled"],
        OrderEvent::OrderEdited(_) => vec!["order.edited"],
        OrderEvent::PaymentOpSucceeded(e) => match op_kind(&e.op_id) {
            Some(OpKind::Authorize) => vec!["payment.authorized"],
            Some(OpKind::Capture) => vec!["payment.captured"],
            Some(OpKind::Void) => vec!["payment.voided"],
            Some(OpKind::Reduce) => vec!["payment.reduced"],
            Some(OpKind::Refund) => vec!["refund.succeeded"],
            None => vec![],
        },
        OrderEvent::PaymentOpFailed(e) => match op_kind(&e.op_id) {
            Some(OpKind::Refund) => vec!["refund.failed"],
            Some(_) => vec!["payment.failed"],
            None => vec![],
        },
        OrderEvent::AuthorizationExpired { .. } => vec!["payment.expired"],
        OrderEvent::HoldPlaced(_) => vec!["hold.placed"],
        OrderEvent::HoldReleased(_) => vec!["hold.released"],
        OrderEvent::FulfillmentReleased(_) => vec!["fulfillment.released"],
        OrderEvent::FulfillmentRejected(_) => vec!["fulfillment.rejected"],
        OrderEvent::BackorderFilled(_) => vec!["backorder.filled"],
        OrderEvent::PackageShipped(_) if is_exchange(after) => {
            vec!["shipment.shipped", "exchange.shipped"]
        }
        OrderEvent::PackageShipped(_) => vec!["shipment.shipped"],
        OrderEvent::TrackingRecorded(e) => match e.status {
            TrackingStatus::Delivered => vec!["shipment.delivered"],
            TrackingStatus::Delayed => vec!["shipment.delayed"],
            TrackingStatus::Exception
            | TrackingStatus::AttemptedDelivery
            | TrackingStatus::ReturnedToSender
            | TrackingStatus::Lost => vec!["shipment.exception"],
            _ => vec!["shipment.tracking_updated"],
        },
        OrderEvent::ShipmentDelayed(_) => vec!["shipment.delayed"],
        OrderEvent::ReturnRequested(e) => match return_state(&e.return_id) {
            Some(ReturnState::Authorized) => vec!["return.requested", "return.authorized"],
            Some(ReturnState::NeedsReview) => vec!["return.requested", "return.needs_review"],
            Some(ReturnState::Rejected) => vec!["return.requested", "return.rejected"],
            _ => vec!["return.requested"],
        },
        OrderEvent::ReturnReviewed(e) if e.decision.approved => vec!["return.authorized"],
        OrderEvent::ReturnReviewed(_) => vec!["return.rejected"],
        OrderEvent::ReturnLabelIssued(_) => vec!["return.label_issued"],
        OrderEvent::ReturnTracked(_) => vec!["return.in_transit"],
        OrderEvent::ReturnReceived(_) => vec!["return.received"],
        // A person's decision finishes the inspection the warehouse left open.
        OrderEvent::ReturnInspected(_) | OrderEvent::ReturnItemsDecided(_) => {
            vec!["return.inspected"]
        }
        OrderEvent::ReturnCompleted { .. } => vec!["return.completed"],
        OrderEvent::ReturnCancelled(_) => vec!["return.cancelled"],
        OrderEvent::ReturnExpired(_) => vec!["return.expired"],
        OrderEvent::OrderSourced(_)
        | OrderEvent::PaymentDeadlineSet { .. }
        | OrderEvent::PaymentDeadlineCleared { .. }
        | OrderEvent::PaymentAdded(_)
        | OrderEvent::PaymentOpRequested(_)
        | OrderEvent::RefundRequested(_)
        | OrderEvent::PickConfirmed(_)
        | OrderEvent::PackageCreated(_)
        | OrderEvent::ReturnExchangePlaced(_)
        | OrderEvent::ReturnItemsSentBack(_)
        | OrderEvent::ReturnResolved(_)
        | OrderEvent::EditBegun(_)
        | OrderEvent::EditStaged(_)
        | OrderEvent::EditAbandoned(_)
        | OrderEvent::CancellationRequested(_)
        | OrderEvent::CancellationAnswered(_)
        | OrderEvent::NoteAdded(_)
        | OrderEvent::TagsChanged(_)
        | OrderEvent::WatchRaised(_)
        | OrderEvent::WatchCleared(_) => vec![],
    }
}

/// Whether `order` sends the replacement of an exchange (placed by its return under the
/// external id `exchange-<RMA>`, see the application's exchanges).
pub fn is_exchange(order: &Order) -> bool {
    order
        .external_id
        .as_deref()
        .is_some_and(|x| x.starts_with(EXCHANGE_PREFIX))
}

/// The external id prefix of an exchange order.
pub const EXCHANGE_PREFIX: &str = "exchange-";
