//! Which events need a person. A short pick, a refused fulfillment order, a delayed, lost
//! or returned parcel, a capture or a refund the provider refused each open an entry in
//! an exception queue; a delivery closes the shipment's open delay entries, and money
//! that finally moved closes its payment entry, because the problem they describe is over. Deciding
//! this here, purely from the event and the order it produced, keeps the store a writer.

use super::event::OrderEvent;
use super::state::Order;
use super::state::OrderState;
use crate::fulfillment::{ExceptionFlag, TrackingStatus};
use crate::payment::{OpKind, OpStatus, RefundStatus};
use crate::values::Id;

/// A queue of work for one team.
pub mod queue {
    /// Warehouse problems: short picks, refused fulfillment orders.
    pub const FULFILLMENT: &str = "fulfillment";
    /// Parcels that are late, lost or coming back.
    pub const SHIPPING: &str = "shipping";
    /// Money that did not move: failed captures and refunds (retried on a schedule).
    pub const PAYMENTS: &str = "payments";
    /// Returns waiting for a person: reviews, lost parcels, undecided units, blocked refunds.
    pub const RETURNS: &str = "returns";
    /// What did not leave: dead-lettered webhooks and notifications, disabled endpoints.
    pub const DELIVERIES: &str = "deliveries";
    /// Stock below its reorder point (an entry per SKU and location, about no order).
    pub const INVENTORY: &str = "inventory";
    pub const ALL: [&str; 6] = [
        FULFILLMENT,
        SHIPPING,
        PAYMENTS,
        RETURNS,
        DELIVERIES,
        INVENTORY,
    ];
}

/// What kind of problem an exception entry is.
pub mod kind {
    pub const SHORT_PICK: &str = "short_pick";
    /// Available stock below the reorder point (`kpis.reorder_points`, or derived).
    pub const LOW_STOCK: &str = "low_stock";
    pub const WEBHOOK_DEAD_LETTER: &str = "webhook_dead_letter";
    pub const WEBHOOK_ENDPOINT_DISABLED: &str = "webhook_endpoint_disabled";
    pub const NOTIFICATION_FAILED: &str = "notification_failed";
    pub const FULFILLMENT_REJECTED: &str = "fulfillment_rejected";
    pub const SHIPMENT_DELAYED: &str = "shipment_delayed";
    pub const DELIVERY_FAILED: &str = "delivery_failed";
    pub const SHIPMENT_LOST: &str = "shipment_lost";
    pub const RETURNED_TO_SENDER: &str = "returned_to_sender";
    pub const CAPTURE_FAILED: &str = "capture_failed";
    pub const REFUND_FAILED: &str = "refund_failed";
    pub const RETURN_REVIEW: &str = "return_review";
    pub const RETURN_LOST: &str = "return_lost";
    pub const RETURN_NEEDS_DECISION: &str = "return_needs_decision";
    pub const RETURN_REFUND_BLOCKED: &str = "return_refund_blocked";
    /// Rejected units wait for the parcel that takes them back to the customer.
    pub const RETURN_SEND_BACK: &str = "return_send_back";
    /// Something else came back in place of awaited units: kept until a person has
    /// settled it with the customer, resolved by hand.
    pub const RETURN_WRONG_ITEM: &str = "return_wrong_item";
    /// An edit raised the total and the difference is not paid.
    pub const BALANCE_DUE: &str = "balance_due";
    /// The provider refused to lower an authorization after an edit took value off.
    pub const REDUCTION_FAILED: &str = "reduction_failed";
    /// A cancellation waits for a warehouse to give its units up.
    pub const CANCELLATION_REQUESTED: &str = "cancellation_requested";
    /// The provider refused the authorization at checkout (a new payment settles it).
    pub const PAYMENT_FAILED: &str = "payment_failed";
    /// Units wait for stock that is not there.
    pub const BACKORDERED: &str = "backordered";
    /// Held for review: the order's value, or its risk signals.
    pub const HIGH_VALUE_REVIEW: &str = "high_value_review";
    pub const FRAUD_REVIEW: &str = "fraud_review";
    /// A return was decided or settled outside its policy (by a person with authority):
    /// kept for a supervisor's look, resolved by hand.
    pub const POLICY_EXCEPTION: &str = "policy_exception";
    pub use super::super::watch::watch_kind::*;
    pub const ALL: [&str; 35] = [
        SHORT_PICK,
        LOW_STOCK,
        FULFILLMENT_REJECTED,
        SHIPMENT_DELAYED,
        DELIVERY_FAILED,
        SHIPMENT_LOST,
        RETURNED_TO_SENDER,
        CAPTURE_FAILED,
        REFUND_FAILED,
        RETURN_REVIEW,
        RETURN_LOST,
        RETURN_NEEDS_DECISION,
        RETURN_REFUND_BLOCKED,
        RETURN_SEND_BACK,
        RETURN_WRONG_ITEM,
        BALANCE_DUE,
        REDUCTION_FAILED,
        CANCELLATION_REQUESTED,
        WEBHOOK_DEAD_LETTER,
        WEBHOOK_ENDPOINT_DISABLED,
        NOTIFICATION_FAILED,
        PAYMENT_FAILED,
        BACKORDERED,
        HIGH_VALUE_REVIEW,
        FRAUD_REVIEW,
        POLICY_EXCEPTION,
        UNPAID,
        EXCHANGE_AWAITING_PAYMENT,
        RELEASE_OVERDUE,
        SHIP_OVERDUE,
        PARTIALLY_SHIPPED,
        RETURN_DECISION_OVERDUE,
        RETURN_RECEIPT_OVERDUE,
        INSPECTION_OVERDUE,
        EDIT_OPEN,
    ];
}

/// An exception an event opens; at most one per (kind, subject) is ever open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaisedException {
    pub queue: &'static str,
    pub kind: &'static str,
    /// The fulfillment order, shipment, payment or refund it is about.
    pub subject_id: Id,
    pub detail: String,
}

/// What an event does to the exception queues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExceptionChange {
    Open(RaisedException),
    /// Closes the subject's open entries of these kinds, saying why.
    Resolve {
        subject_id: Id,
        kinds: &'static [&'static str],
        resolution: &'static str,
    },
}

/// The exception changes of `event`, given the order after it was folded.
pub fn exception_changes(event: &OrderEvent, order: &Order) -> Vec<ExceptionChange> {
    let mut changes = event_changes(event, order);
    changes.extend(super::edit_money::balance_changes(event, order));
    changes.extend(super::cancel_request::exception_changes(event, order));
    changes.extend(super::watch::exception_changes(event, order));
    changes
}

fn event_changes(event: &OrderEvent, order: &Order) -> Vec<ExceptionChange> {
    match event {
        OrderEvent::PickConfirmed(p) => {
            let location = location_of(order, &p.fulfillment_id);
            let missing: Vec<String> = p
                .lines
                .iter()
                .filter(|l| l.short > 0)
                .map(|l| {
                    let sku = order
                        .lines
                        .iter()
                        .find(|o| o.line_no == l.line_no)
                        .map_or("?", |o| o.sku.as_str());
                    format!(
                        "line {} ({sku}): {} of {} not found",
                        l.line_no,
                        l.short,
                        l.short + l.picked
                    )
                })
                .collect();
            if missing.is_empty() {
                return Vec::new();
            }
            vec![open(
                queue::FULFILLMENT,
                kind::SHORT_PICK,
                &p.fulfillment_id,
                format!("short pick at {location}: {}", missing.join("; ")),
            )]
        }
        OrderEvent::FulfillmentRejected(r) => vec![open(
            queue::FULFILLMENT,
            kind::FULFILLMENT_REJECTED,
            &r.fulfillment_id,
            format!(
                "{} refused by {}: {}",
                r.fulfillment_id,
                location_of(order, &r.fulfillment_id),
                r.reason
            ),
        )],
        OrderEvent::ShipmentDelayed(d) => vec![open(
            queue::SHIPPING,
            kind::SHIPMENT_DELAYED,
            &d.shipment_id,
            d.reason.clone(),
        )],
        OrderEvent::TrackingRecorded(t) => {
            if t.status == TrackingStatus::Delivered {
                return vec![ExceptionChange::Resolve {
                    subject_id: t.shipment_id.clone(),
                    kinds: &[kind::SHIPMENT_DELAYED, kind::DELIVERY_FAILED],
                    resolution: "delivered",
                }];
            }
            let delivered = order
                .fulfillment_orders
                .iter()
                .flat_map(|f| &f.shipments)
                .any(|s| s.id == t.shipment_id && s.status() == TrackingStatus::Delivered);
            // A late scan after delivery is history, not a problem to work on.
            let Some(flag) = t.status.flag().filter(|_| !delivered) else {
                return Vec::new();
            };
            let kind = match flag {
                ExceptionFlag::Delayed => kind::SHIPMENT_DELAYED,
                ExceptionFlag::DeliveryFailed => kind::DELIVERY_FAILED,
                ExceptionFlag::Lost => kind::SHIPMENT_LOST,
                ExceptionFlag::ReturnedToSender => kind::RETURNED_TO_SENDER,
            };
            let place = t
                .location
                .as_deref()
                .map(|l| format!(" at {l}"))
                .unwrap_or_default();
            vec![open(
                queue::SHIPPING,
                kind,
                &t.shipment_id,
                format!(
                    "carrier reported {}{place} ({})",
                    t.status.as_str(),
                    crate::time::Rfc3339(t.occurred_at)
                ),
            )]
        }
        OrderEvent::PaymentOpFailed(f) => {
            let Some(op) = order.op(&f.op_id) else {
                return Vec::new();
            };
            let (kind, subject) = match (op.kind, &op.refund_id) {
                (OpKind::Capture, _) if order.state != OrderState::Cancelled => {
                    (kind::CAPTURE_FAILED, &op.payment_id)
                }
                (OpKind::Authorize, _) if order.state != OrderState::Cancelled => {
                    (kind::PAYMENT_FAILED, &order.id)
                }
                (OpKind::Refund, Some(refund_id)) => (kind::REFUND_FAILED, refund_id),
                _ => return Vec::new(),
            };
            vec![open(
                queue::PAYMENTS,
                kind,
                subject,
                format!(
                    "{} of {} failed: {} ({})",
                    op.kind.as_str(),
                    super::summary::money(op.amount_minor, &order.currency),
                    f.message,
                    f.code
                ),
            )]
        }
        OrderEvent::PaymentOpSucceeded(s) => {
            let Some(op) = order.op(&s.op_id) else {
                return Vec::new();
            };
            // Only money that failed before has an entry to close: the common success
            // writes nothing more (a resolve is a write of its own on every backend).
            let failed_before = |same: &dyn Fn(&crate::payment::PaymentOp) -> bool| {
                order
                    .payment_ops
                    .iter()
                    .any(|o| o.kind == op.kind && o.status == OpStatus::Failed && same(o))
            };
            let authorization_failed = order
                .payment_ops
                .iter()
                .any(|o| o.kind == OpKind::Authorize && o.status == OpStatus::Failed);
            if matches!(op.kind, OpKind::Authorize | OpKind::Capture) && authorization_failed {
                // Money moved on an order whose checkout payment was refused: paid now.
                return vec![ExceptionChange::Resolve {
                    subject_id: order.id.clone(),
                    kinds: &[kind::PAYMENT_FAILED],
                    resolution: "paid",
                }];
            }
            match (op.kind, &op.refund_id) {
                (OpKind::Capture, _) if failed_before(&|o| o.payment_id == op.payment_id) => {
                    vec![ExceptionChange::Resolve {
                        subject_id: op.payment_id.clone(),
                        kinds: &[kind::CAPTURE_FAILED],
                        resolution: "captured",
                    }]
                }
                (OpKind::Refund, Some(refund_id))
                    if failed_before(&|o| o.refund_id.as_ref() == Some(refund_id))
                        && order
                            .refunds
                            .iter()
                            .find(|r| &r.id == refund_id)
                            .is_some_and(|r| order.refund_status(r) == RefundStatus::Succeeded) =>
                {
                    vec![ExceptionChange::Resolve {
                        subject_id: refund_id.clone(),
                        kinds: &[kind::REFUND_FAILED],
                        resolution: "refunded",
                    }]
                }
                _ => Vec::new(),
            }
        }
        OrderEvent::OrderCancelled(_) => std::iter::once(ExceptionChange::Resolve {
            subject_id: order.id.clone(),
            kinds: &[
                kind::PAYMENT_FAILED,
                kind::BACKORDERED,
                kind::HIGH_VALUE_REVIEW,
                kind::FRAUD_REVIEW,
            ],
            resolution: "order cancelled",
        })
        .chain(
            order
                .payments
                .iter()
                .filter(|p| {
                    order.payment_ops.iter().any(|o| {
                        o.payment_id == p.id
                            && o.kind == OpKind::Capture
                            && o.status == OpStatus::Failed
                    })
                })
                .map(|p| ExceptionChange::Resolve {
                    subject_id: p.id.clone(),
                    kinds: &[kind::CAPTURE_FAILED],
                    resolution: "order cancelled",
                }),
        )
        .collect(),
        OrderEvent::OrderSourced(s) if !s.backorders.is_empty() => {
            let waiting: Vec<String> = s
                .backorders
                .iter()
                .map(|b| format!("{} × {}", b.quantity, b.sku))
                .collect();
            vec![open(
                queue::FULFILLMENT,
                kind::BACKORDERED,
                &order.id,
                format!("backordered: {}", waiting.join(", ")),
            )]
        }
        OrderEvent::BackorderFilled(_) | OrderEvent::OrderEdited(_)
            if order.lines.iter().all(|l| l.buckets.backordered == 0) =>
        {
            vec![ExceptionChange::Resolve {
                subject_id: order.id.clone(),
                kinds: &[kind::BACKORDERED],
                resolution: "no units wait for stock",
            }]
        }
        OrderEvent::HoldPlaced(h) => match review_kind(h.reason) {
            Some(kind) => vec![open(
                queue::PAYMENTS,
                kind,
                &order.id,
                format!(
                    "held for {}{}",
                    h.reason.as_str().replace('_', " "),
                    h.note
                        .as_deref()
                        .map(|n| format!(": {n}"))
                        .unwrap_or_default()
                ),
            )],
            None => Vec::new(),
        },
        OrderEvent::HoldReleased(h) => match review_kind(h.reason) {
            Some(kind) => vec![ExceptionChange::Resolve {
                subject_id: order.id.clone(),
                kinds: if kind == kind::FRAUD_REVIEW {
                    &[kind::FRAUD_REVIEW]
                } else {
                    &[kind::HIGH_VALUE_REVIEW]
                },
                resolution: "hold released",
            }],
            None => Vec::new(),
        },
        e if e.return_id().is_some() => super::rma_exceptions::changes(event, order),
        _ => Vec::new(),
    }
}

/// The review queue a hold of this reason puts its order in.
fn review_kind(reason: super::HoldReason) -> Option<&'static str> {
    match reason {
        super::HoldReason::HighValueReview => Some(kind::HIGH_VALUE_REVIEW),
        super::HoldReason::FraudReview => Some(kind::FRAUD_REVIEW),
        _ => None,
    }
}

pub(super) fn open(
    queue: &'static str,
    kind: &'static str,
    subject: &Id,
    detail: String,
) -> ExceptionChange {
    ExceptionChange::Open(RaisedException {
        queue,
        kind,
        subject_id: subject.clone(),
        detail,
    })
}

fn location_of<'o>(order: &'o Order, fulfillment_id: &Id) -> &'o str {
    order
        .fulfillment_orders
        .iter()
        .find(|f| &f.id == fulfillment_id)
        .map_or("?", |f| f.location_id.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order::{ShipmentDelayed, TrackingRecorded};

    fn ts(s: i64) -> crate::Timestamp {
        crate::Timestamp::from_second(1_800_000_000 + s).unwrap()
    }

    /// An order whose one fulfillment order has shipped `shp_1`, scanned in `status`.
    fn shipped(status: TrackingStatus) -> Order {
        let json = serde_json::json!({
            "id": "ord_1", "number": "WEB-1", "channel": "web", "external_id": null,
            "currency": "USD", "state": "confirmed",
            "customer": {"email": "a@example.com", "name": null, "phone": null},
            "shipping_address": {"name": "A", "line1": "1 Main", "line2": null, "city": "Austin",
                "region": "TX", "postal_code": "78701", "country": "US"},
            "billing_address": {"name": "A", "line1": "1 Main", "line2": null, "city": "Austin",
                "region": "TX", "postal_code": "78701", "country": "US"},
            "lines": [], "shipping_amount": 0, "tax_amount": 0, "discount_amount": 0,
            "holds": [], "reservations": [], "version": 3,
            "created_at": ts(0), "updated_at": ts(0),
            "fulfillment_orders": [{
                "id": "ful_1_1", "location_id": "wh-east", "state": "shipped",
                "lines": [], "created_at": ts(0),
                "shipments": [{"id": "shp_1", "package_id": "pkg_1", "carrier": "local",
                    "service": "ground", "tracking_number": "LC1", "shipped_at": ts(1),
                    "scans": [{"status": status, "occurred_at": ts(2), "location": null}]}]
            }]
        });
        let order: Order = serde_json::from_value(json).expect("a shipped order");
        assert_eq!(order.state, OrderState::Confirmed);
        order
    }

    fn scan(status: TrackingStatus) -> OrderEvent {
        OrderEvent::TrackingRecorded(TrackingRecorded {
            shipment_id: Id::new("shp_1"),
            status,
            occurred_at: ts(5),
            location: Some("Dallas, TX".into()),
        })
    }

    fn opened(changes: &[ExceptionChange]) -> Vec<(&str, &str, &str)> {
        changes
            .iter()
            .filter_map(|c| match c {
                ExceptionChange::Open(e) => Some((e.queue, e.kind, e.subject_id.as_str())),
                ExceptionChange::Resolve { .. } => None,
            })
            .collect()
    }

    #[test]
    fn carrier_exceptions_open_shipping_entries_for_the_shipment() {
        let order = shipped(TrackingStatus::InTransit);
        for (status, kind) in [
            (TrackingStatus::Delayed, kind::SHIPMENT_DELAYED),
            (TrackingStatus::Exception, kind::SHIPMENT_DELAYED),
            (TrackingStatus::AttemptedDelivery, kind::DELIVERY_FAILED),
            (TrackingStatus::Lost, kind::SHIPMENT_LOST),
            (TrackingStatus::ReturnedToSender, kind::RETURNED_TO_SENDER),
        ] {
            let changes = exception_changes(&scan(status), &order);
            assert_eq!(
                opened(&changes),
                [(queue::SHIPPING, kind, "shp_1")],
                "{status:?}"
            );
        }
        for progress in [TrackingStatus::PickedUp, TrackingStatus::InTransit] {
            assert!(exception_changes(&scan(progress), &order).is_empty());
        }
        let delayed = OrderEvent::ShipmentDelayed(ShipmentDelayed {
            shipment_id: Id::new("shp_1"),
            reason: "no scan for 48 hours".into(),
        });
        assert_eq!(
            opened(&exception_changes(&delayed, &order)),
            [(queue::SHIPPING, kind::SHIPMENT_DELAYED, "shp_1")]
        );
    }

    #[test]
    fn delivery_resolves_delays_and_a_late_problem_scan_opens_nothing() {
        let delivered = shipped(TrackingStatus::Delivered);
        assert_eq!(
            exception_changes(&scan(TrackingStatus::Delivered), &delivered),
            [ExceptionChange::Resolve {
                subject_id: Id::new("shp_1"),
                kinds: &[kind::SHIPMENT_DELAYED, kind::DELIVERY_FAILED],
                resolution: "delivered",
            }]
        );
        assert!(exception_changes(&scan(TrackingStatus::Delayed), &delivered).is_empty());
    }
}
