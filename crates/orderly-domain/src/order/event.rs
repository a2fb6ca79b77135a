//! Facts about an order. Events are the audit log and the timeline, so each can say what
//! happened in one human sentence (`summary`).

use super::command::CancelReason;
use super::state::{Address, Customer, HoldReason, Order, Reservation};
use super::summary::{amount, money, units};
use crate::Timestamp;
use crate::payment::{OpKind, PaymentMethod, RefundLine, RefundMethod, RefundReason};
use crate::sourcing::{Rationale, Shortfall, Strategy};
use crate::time::Rfc3339;
use crate::values::{Currency, Id, Sku};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlacedLine {
    pub line_no: u32,
    pub sku: Sku,
    pub name: String,
    pub quantity: u32,
    pub unit_price: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderPlaced {
    pub id: Id,
    pub number: String,
    pub channel: Id,
    pub external_id: Option<String>,
    pub currency: Currency,
    pub customer: Customer,
    pub shipping_address: Address,
    pub billing_address: Address,
    pub lines: Vec<PlacedLine>,
    pub shipping_amount: i64,
    pub tax_amount: i64,
    pub discount_amount: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<super::state::Delivery>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderSourced {
    pub reservations: Vec<Reservation>,
    pub backorders: Vec<Shortfall>,
    pub rationale: Rationale,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderCancelled {
    pub reason: CancelReason,
    pub note: Option<String>,
    /// Reservations given back to stock by this cancellation.
    pub released: Vec<Reservation>,
    /// Backordered units no longer awaited.
    pub backorders_cancelled: Vec<Shortfall>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentAdded {
    pub id: Id,
    pub method: PaymentMethod,
    pub provider: String,
    pub amount_minor: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// The card's last digits. The provider's token is never part of the event (events
    /// are readable by every role): it waits in the store until the authorization is
    /// answered. An event written before carries a `token`, which is ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last4: Option<String>,
}

/// An intent towards a provider; its id is the provider's idempotency key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentOpRequested {
    pub id: Id,
    pub payment_id: Id,
    pub kind: OpKind,
    pub amount_minor: i64,
    pub refund_id: Option<Id>,
    pub to_store_credit: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentOpSucceeded {
    pub op_id: Id,
    pub provider_reference: Option<String>,
    #[serde(default, with = "crate::time::wire_opt")]
    pub authorization_expires_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentOpFailed {
    pub op_id: Id,
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundRequested {
    pub id: Id,
    pub amount_minor: i64,
    pub reason: RefundReason,
    pub method: RefundMethod,
    pub lines: Vec<RefundLine>,
    pub note: Option<String>,
}

/// What the picker found for one fulfillment line (less than ordered is a short pick).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PickedLine {
    pub line_no: u32,
    pub picked: u32,
    /// Units expected but not found: they leave this location.
    pub short: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PickConfirmed {
    pub fulfillment_id: Id,
    pub lines: Vec<PickedLine>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageItem {
    pub line_no: u32,
    pub sku: Sku,
    pub quantity: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageCreated {
    pub fulfillment_id: Id,
    pub package_id: Id,
    pub items: Vec<PackageItem>,
    pub weight_grams: u32,
    /// Length, width and height.
    pub dimensions_mm: [u32; 3],
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageShipped {
    pub fulfillment_id: Id,
    pub package_id: Id,
    pub shipment_id: Id,
    pub carrier: String,
    pub service: String,
    pub tracking_number: String,
    /// The delivery date the carrier promised, if it did.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::time::wire_opt"
    )]
    pub promised_by: Option<Timestamp>,
    /// What the carrier's rate table charged, in the order's currency (absent when
    /// Orderly does not rate the service, and in events written before prices).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_minor: Option<i64>,
}

/// Stock that arrived for a backordered line, reserved for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackorderFilled {
    pub reservation: Reservation,
}

/// A carrier's scan of a shipment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackingRecorded {
    pub shipment_id: Id,
    pub status: crate::fulfillment::TrackingStatus,
    #[serde(with = "crate::time::wire")]
    pub occurred_at: Timestamp,
    pub location: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShipmentDelayed {
    pub shipment_id: Id,
    pub reason: String,
}

/// A warehouse refused a fulfillment order (before picking); its units are sourced again
/// elsewhere.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FulfillmentRejected {
    pub fulfillment_id: Id,
    pub reason: String,
}

/// A fulfillment order handed to its warehouse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FulfillmentReleased {
    pub fulfillment_id: Id,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HoldChange {
    pub reason: HoldReason,
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
pub enum OrderEvent {
    OrderPlaced(Box<OrderPlaced>),
    OrderSourced(OrderSourced),
    OrderCancelled(OrderCancelled),
    /// The order is accepted: paid, or paid later by a deferred method.
    OrderConfirmed {
        reason: String,
    },
    /// Unpaid at this time, the order is cancelled.
    PaymentDeadlineSet {
        #[serde(with = "crate::time::wire")]
        due_at: Timestamp,
    },
    /// The payment deadline no longer applies: it was met (the order was confirmed) or
    /// is moot (the order was cancelled).
    PaymentDeadlineCleared {
        reason: String,
    },
    PaymentAdded(PaymentAdded),
    PaymentOpRequested(PaymentOpRequested),
    PaymentOpSucceeded(PaymentOpSucceeded),
    PaymentOpFailed(PaymentOpFailed),
    AuthorizationExpired {
        payment_id: Id,
    },
    RefundRequested(RefundRequested),
    HoldPlaced(HoldChange),
    HoldReleased(HoldChange),
    FulfillmentReleased(FulfillmentReleased),
    PickConfirmed(PickConfirmed),
    PackageCreated(PackageCreated),
    PackageShipped(PackageShipped),
    TrackingRecorded(TrackingRecorded),
    ShipmentDelayed(ShipmentDelayed),
    BackorderFilled(BackorderFilled),
    FulfillmentRejected(FulfillmentRejected),
    ReturnRequested(Box<super::rma::ReturnRequested>),
    ReturnReviewed(super::rma::ReturnReviewed),
    ReturnLabelIssued(super::rma::ReturnLabelIssued),
    ReturnExchangePlaced(super::rma::ReturnExchangePlaced),
    ReturnTracked(super::rma::ReturnTracked),
    ReturnReceived(super::rma::ReturnReceived),
    ReturnInspected(super::rma::ReturnInspected),
    ReturnItemsDecided(super::rma::ReturnItemsDecided),
    ReturnItemsSentBack(super::rma::ReturnItemsSentBack),
    ReturnResolved(super::rma::ReturnResolved),
    ReturnCompleted {
        return_id: Id,
    },
    ReturnCancelled(super::rma::ReturnClosed),
    ReturnExpired(super::rma::ReturnClosed),
    EditBegun(super::edit::EditBegun),
    EditStaged(super::edit::EditStaged),
    EditAbandoned(super::edit::EditAbandoned),
    OrderEdited(Box<super::edit::OrderEdited>),
    CancellationRequested(super::cancel_request::CancellationRequested),
    CancellationAnswered(super::cancel_request::CancellationAnswered),
    NoteAdded(super::notes::NoteAdded),
    TagsChanged(super::notes::TagsChanged),
    WatchRaised(super::watch::WatchRaised),
    WatchCleared(super::watch::WatchCleared),
}

fn hold_text(what: &str, h: &HoldChange) -> String {
    match &h.note {
        Some(note) => format!("{what}: {} ({note})", h.reason.as_str()),
        None => format!("{what}: {}", h.reason.as_str()),
    }
}

impl OrderEvent {
    /// The stable snake_case name stored beside the payload.
    pub fn kind(&self) -> &'static str {
        match self {
            OrderEvent::OrderPlaced(_) => "order_placed",
            OrderEvent::OrderSourced(_) => "order_sourced",
            OrderEvent::OrderCancelled(_) => "order_cancelled",
            OrderEvent::OrderConfirmed { .. } => "order_confirmed",
            OrderEvent::PaymentDeadlineSet { .. } => "payment_deadline_set",
            OrderEvent::PaymentDeadlineCleared { .. } => "payment_deadline_cleared",
            OrderEvent::PaymentAdded(_) => "payment_added",
            OrderEvent::PaymentOpRequested(_) => "payment_op_requested",
            OrderEvent::PaymentOpSucceeded(_) => "payment_op_succeeded",
            OrderEvent::PaymentOpFailed(_) => "payment_op_failed",
            OrderEvent::AuthorizationExpired { .. } => "authorization_expired",
            OrderEvent::RefundRequested(_) => "refund_requested",
            OrderEvent::HoldPlaced(_) => "hold_placed",
            OrderEvent::HoldReleased(_) => "hold_released",
            OrderEvent::FulfillmentReleased(_) => "fulfillment_released",
            OrderEvent::PickConfirmed(_) => "pick_confirmed",
            OrderEvent::PackageCreated(_) => "package_created",
            OrderEvent::PackageShipped(_) => "package_shipped",
            OrderEvent::TrackingRecorded(_) => "tracking_recorded",
            OrderEvent::ShipmentDelayed(_) => "shipment_delayed",
            OrderEvent::BackorderFilled(_) => "backorder_filled",
            OrderEvent::FulfillmentRejected(_) => "fulfillment_rejected",
            OrderEvent::ReturnRequested(_) => "return_requested",
            OrderEvent::ReturnReviewed(_) => "return_reviewed",
            OrderEvent::ReturnLabelIssued(_) => "return_label_issued",
            OrderEvent::ReturnExchangePlaced(_) => "return_exchange_placed",
            OrderEvent::ReturnTracked(_) => "return_tracked",
            OrderEvent::ReturnReceived(_) => "return_received",
            OrderEvent::ReturnInspected(_) => "return_inspected",
            OrderEvent::ReturnItemsDecided(_) => "return_items_decided",
            OrderEvent::ReturnItemsSentBack(_) => "return_items_sent_back",
            OrderEvent::ReturnResolved(_) => "return_resolved",
            OrderEvent::ReturnCompleted { .. } => "return_completed",
            OrderEvent::ReturnCancelled(_) => "return_cancelled",
            OrderEvent::ReturnExpired(_) => "return_expired",
            OrderEvent::EditBegun(_) => "edit_begun",
            OrderEvent::EditStaged(_) => "edit_staged",
            OrderEvent::EditAbandoned(_) => "edit_abandoned",
            OrderEvent::OrderEdited(_) => "order_edited",
            OrderEvent::CancellationRequested(_) => "cancellation_requested",
            OrderEvent::CancellationAnswered(_) => "cancellation_answered",
            OrderEvent::NoteAdded(_) => "note_added",
            OrderEvent::TagsChanged(_) => "tags_changed",
            OrderEvent::WatchRaised(_) => "watch_raised",
            OrderEvent::WatchCleared(_) => "watch_cleared",
        }
    }

    /// One line a support agent can read on the timeline. `before` is the order as it
    /// stood before this event (None for the first): it names lines by SKU, amounts in
    /// the order's currency, and tells a re-source from a first sourcing.
    pub fn summary(&self, before: Option<&Order>) -> String {
        match self {
            OrderEvent::OrderPlaced(p) => {
                let subtotal: i64 = p
                    .lines
                    .iter()
                    .map(|l| l.unit_price * i64::from(l.quantity))
                    .sum();
                let total = subtotal + p.shipping_amount + p.tax_amount - p.discount_amount;
                let count: u32 = p.lines.iter().map(|l| l.quantity).sum();
                format!(
                    "Order {} placed on {} by {}: {} in {} line{}, total {}",
                    p.number,
                    p.channel,
                    p.customer.email,
                    units(count),
                    p.lines.len(),
                    if p.lines.len() == 1 { "" } else { "s" },
                    money(total, &p.currency)
                )
            }
            OrderEvent::OrderSourced(s) => {
                if let Some(text) = super::summary::resourced(s, before) {
                    return text;
                }
                let mut locations: Vec<&str> = s
                    .reservations
                    .iter()
                    .map(|r| r.location_id.as_str())
                    .collect();
                locations.sort_unstable();
                locations.dedup();
                let reserved: u32 = s.reservations.iter().map(|r| r.quantity).sum();
                let how = match s.rationale.strategy {
                    Strategy::SingleLocation => "one location serves the whole order",
                    Strategy::Split => "no single location had everything",
                    Strategy::NoStock => "no location had stock",
                };
                let mut text = if locations.is_empty() {
                    "Nothing reserved".to_owned()
                } else {
                    format!("Reserved {} at {}", units(reserved), locations.join(", "))
                };
                text.push_str(&format!(" ({how})"));
                let back: u32 = s.backorders.iter().map(|b| b.quantity).sum();
                if back > 0 {
                    let mut skus: Vec<&str> = s.backorders.iter().map(|b| b.sku.as_str()).collect();
                    skus.sort_unstable();
                    skus.dedup();
                    text.push_str(&format!(
                        "; backordered {} of {}",
                        units(back),
                        skus.join(", ")
                    ));
                }
                text
            }
            OrderEvent::OrderCancelled(c) => {
                let released: u32 = c.released.iter().map(|r| r.quantity).sum();
                let mut text = format!("Order cancelled ({})", c.reason.as_str());
                if released > 0 {
                    text.push_str(&format!("; released {} to stock", units(released)));
                }
                if let Some(note) = &c.note {
                    text.push_str(&format!(": {note}"));
                }
                text
            }
            OrderEvent::OrderConfirmed { reason } => format!("Order confirmed: {reason}"),
            OrderEvent::PaymentDeadlineCleared { reason } => {
                format!("Payment deadline cleared: {reason}")
            }
            OrderEvent::PaymentDeadlineSet { due_at } => {
                format!(
                    "Payment due by {}, or the order is cancelled",
                    Rfc3339(*due_at)
                )
            }
            OrderEvent::PaymentAdded(p) => {
                let card = p
                    .last4
                    .as_ref()
                    .map(|d| format!(" (card ending {d})"))
                    .unwrap_or_default();
                format!(
                    "Payment {} added: {}{card} via {} for {}",
                    p.id,
                    p.method.as_str(),
                    p.provider,
                    amount(p.amount_minor, before)
                )
            }
            OrderEvent::PaymentOpRequested(op) => {
                let what = if op.to_store_credit {
                    "refund as store credit"
                } else {
                    op.kind.as_str()
                };
                format!(
                    "Requested {what} of {} on payment {} ({})",
                    amount(op.amount_minor, before),
                    op.payment_id,
                    op.id
                )
            }
            OrderEvent::PaymentOpSucceeded(s) => match &s.provider_reference {
                Some(r) => format!("Payment operation {} succeeded (reference {r})", s.op_id),
                None => format!("Payment operation {} succeeded", s.op_id),
            },
            OrderEvent::PaymentOpFailed(f) => format!(
                "Payment operation {} failed: {} ({})",
                f.op_id, f.message, f.code
            ),
            OrderEvent::AuthorizationExpired { payment_id } => {
                format!("Authorization of payment {payment_id} expired; its remainder is released")
            }
            OrderEvent::RefundRequested(r) => format!(
                "Refund {} of {} requested ({}, to {})",
                r.id,
                amount(r.amount_minor, before),
                r.reason.as_str(),
                r.method.as_str()
            ),
            OrderEvent::HoldPlaced(h) => hold_text("Hold placed", h),
            OrderEvent::HoldReleased(h) => hold_text("Hold released", h),
            OrderEvent::FulfillmentReleased(r) => {
                format!(
                    "Fulfillment order {} released to the warehouse",
                    r.fulfillment_id
                )
            }
            OrderEvent::PickConfirmed(p) => super::summary::pick(p, before),
            OrderEvent::PackageCreated(p) => format!(
                "Packed {} into package {} ({} g)",
                units(p.items.iter().map(|i| i.quantity).sum()),
                p.package_id,
                p.weight_grams
            ),
            OrderEvent::PackageShipped(s) => format!(
                "Package {} shipped with {} {} (tracking {})",
                s.package_id, s.carrier, s.service, s.tracking_number
            ),
            OrderEvent::TrackingRecorded(t) => match &t.location {
                Some(place) => format!(
                    "Shipment {}: {} at {place} ({})",
                    t.shipment_id,
                    t.status.as_str(),
                    Rfc3339(t.occurred_at)
                ),
                None => format!(
                    "Shipment {}: {} ({})",
                    t.shipment_id,
                    t.status.as_str(),
                    Rfc3339(t.occurred_at)
                ),
            },
            OrderEvent::ShipmentDelayed(d) => {
                format!("Shipment {} is delayed: {}", d.shipment_id, d.reason)
            }
            OrderEvent::FulfillmentRejected(r) => format!(
                "Fulfillment order {} rejected by its warehouse: {}",
                r.fulfillment_id, r.reason
            ),
            OrderEvent::ReturnRequested(_)
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
            | OrderEvent::ReturnExpired(_) => super::rma_summary::summary(self, before),
            OrderEvent::EditBegun(_)
            | OrderEvent::EditStaged(_)
            | OrderEvent::EditAbandoned(_)
            | OrderEvent::OrderEdited(_) => super::edit_summary::summary(self, before),
            OrderEvent::CancellationRequested(_) | OrderEvent::CancellationAnswered(_) => {
                super::cancel_request::summary(self, before)
            }
            OrderEvent::NoteAdded(n) => super::notes::note_summary(n),
            OrderEvent::TagsChanged(t) => super::notes::tags_summary(t),
            OrderEvent::WatchRaised(r) => super::watch::raised_summary(r),
            OrderEvent::WatchCleared(c) => super::watch::cleared_summary(c),
            OrderEvent::BackorderFilled(b) => format!(
                "Backordered {} of {} reserved at {} as stock arrived",
                units(b.reservation.quantity),
                b.reservation.sku,
                b.reservation.location_id
            ),
        }
    }
}
