//! The order's state as folded from its events; this is what the snapshot stores.

use crate::Timestamp;
use crate::payment::{LedgerEntry, Payment, PaymentOp, Refund};
use crate::sourcing::Rationale;
use crate::values::{CountryCode, Currency, Email, Id, Sku};
use serde::{Deserialize, Serialize};

snake_enum!(
    /// The order machine's state; holds are a set beside it, not states.
    OrderState {
        Pending => "pending",
        Confirmed => "confirmed",
        Completed => "completed",
        Cancelled => "cancelled",
    }
);

impl OrderState {
    /// The legal moves of the order machine; holds are not states but a set beside it.
    pub fn can_transition_to(self, to: OrderState) -> bool {
        use OrderState::*;
        matches!(
            (self, to),
            (Pending, Confirmed) | (Confirmed, Completed) | (Pending | Confirmed, Cancelled)
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    pub email: Email,
    pub name: Option<String>,
    pub phone: Option<String>,
}

/// What the customer asked of delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// `carrier/service`, e.g. `local/express`; the cheapest in time when absent.
    pub service: Option<String>,
    /// The date the customer was promised.
    #[serde(default, with = "crate::time::wire_opt")]
    pub deliver_by: Option<Timestamp>,
    /// Click and collect: the customer picks the order up at this location, which then
    /// serves every unit (nothing is shipped by carrier).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pickup_location: Option<Id>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    pub name: String,
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub region: Option<String>,
    pub postal_code: String,
    pub country: CountryCode,
}

/// Per-line quantities. `ordered = cancelled + unallocated + backordered + allocated +
/// shipped`; the other buckets are subsets that later stages move units through.
/// `unallocated` units wait for sourcing: on channels that reserve stock at payment,
/// until the order is paid.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Buckets {
    pub ordered: u32,
    pub cancelled: u32,
    #[serde(default)]
    pub unallocated: u32,
    pub allocated: u32,
    pub backordered: u32,
    pub released: u32,
    pub shipped: u32,
    pub delivered: u32,
    pub return_requested: u32,
    pub returned: u32,
    pub restocked: u32,
}

impl Buckets {
    /// Every way the buckets can fail to add up, as human-readable sentences.
    pub fn violations(&self) -> Vec<String> {
        let b = self;
        let mut out = Vec::new();
        let accounted = b.cancelled + b.unallocated + b.backordered + b.allocated + b.shipped;
        if accounted != b.ordered {
            out.push(format!(
                "cancelled {} + unallocated {} + backordered {} + allocated {} + shipped {} != ordered {}",
                b.cancelled, b.unallocated, b.backordered, b.allocated, b.shipped, b.ordered
            ));
        }
        for (name, part, whole, whole_name) in [
            ("released", b.released, b.allocated, "allocated"),
            ("delivered", b.delivered, b.shipped, "shipped"),
            (
                "return_requested",
                b.return_requested,
                b.delivered,
                "delivered",
            ),
            (
                "returned",
                b.returned,
                b.return_requested,
                "return_requested",
            ),
            ("restocked", b.restocked, b.returned, "returned"),
        ] {
            if part > whole {
                out.push(format!("{name} {part} > {whole_name} {whole}"));
            }
        }
        out
    }

    /// Units still meant to reach the customer.
    pub fn active(&self) -> u32 {
        self.ordered - self.cancelled.min(self.ordered)
    }
}

/// One ordered line. How many units were ordered is `buckets.ordered`, its only home
/// (snapshots written before this kept a `quantity` beside it; it is ignored on read).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    pub line_no: u32,
    pub sku: Sku,
    pub name: String,
    pub unit_price: i64,
    pub buckets: Buckets,
}

/// Stock held at one location for one line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reservation {
    pub line_no: u32,
    pub sku: Sku,
    pub location_id: Id,
    pub quantity: u32,
}

snake_enum!(HoldReason {
    PaymentFailed => "payment_failed",
    FraudReview => "fraud_review",
    HighValueReview => "high_value_review",
    AddressVerification => "address_verification",
    AwaitingReturnItems => "awaiting_return_items",
    /// The provider refused to capture authorized money: nothing ships until a capture
    /// (retried on a schedule, or asked by finance) goes through.
    CaptureFailed => "capture_failed",
    /// An edit raised the total and the difference is not paid yet.
    BalanceDue => "balance_due",
    Manual => "manual",
});

impl HoldReason {
    /// Review holds guard against fraud: while one is active no money is captured (the
    /// authorization is held), so a review that ends in cancellation voids, not refunds.
    pub fn is_review(self) -> bool {
        matches!(self, HoldReason::FraudReview | HoldReason::HighValueReview)
    }

    /// Holds that guard money: only finance (or an admin) may release them.
    pub fn needs_finance(self) -> bool {
        self.is_review() || matches!(self, HoldReason::CaptureFailed | HoldReason::BalanceDue)
    }
}

/// An active reason that blocks release to the warehouse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hold {
    pub reason: HoldReason,
    pub note: Option<String>,
    pub placed_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub id: Id,
    pub number: String,
    pub channel: Id,
    pub external_id: Option<String>,
    pub currency: Currency,
    pub customer: Customer,
    pub shipping_address: Address,
    pub billing_address: Address,
    pub lines: Vec<OrderLine>,
    pub shipping_amount: i64,
    pub tax_amount: i64,
    pub discount_amount: i64,
    pub state: OrderState,
    /// Every way the order is (to be) paid, oldest first.
    #[serde(default)]
    pub payments: Vec<Payment>,
    /// Every operation asked of a provider, oldest first.
    #[serde(default)]
    pub payment_ops: Vec<PaymentOp>,
    /// The append-only money ledger of all payments.
    #[serde(default)]
    pub ledger: Vec<LedgerEntry>,
    #[serde(default)]
    pub refunds: Vec<Refund>,
    /// Unpaid at this time, the order is cancelled by the timer worker.
    #[serde(default)]
    pub payment_due_at: Option<Timestamp>,
    /// One per location and sourcing decision, oldest first.
    #[serde(default)]
    pub fulfillment_orders: Vec<super::fulfillment::FulfillmentOrder>,
    /// When the order was confirmed (the release edit window counts from here).
    #[serde(default)]
    pub confirmed_at: Option<Timestamp>,
    #[serde(default)]
    pub delivery: Option<Delivery>,
    pub reservations: Vec<Reservation>,
    pub holds: Vec<Hold>,
    pub sourcing: Option<Rationale>,
    pub cancel_reason: Option<super::CancelReason>,
    /// Every return (RMA) of the order, oldest first.
    #[serde(default)]
    pub returns: Vec<super::rma::Return>,
    /// The edit being prepared, if one is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_edit: Option<super::edit::OpenEdit>,
    /// Every committed edit and unit cancellation, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub edits: Vec<super::edit::EditRecord>,
    /// A cancellation waiting for warehouses to answer, or the last one refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancel_request: Option<super::cancel_request::CancelRequest>,
    /// Edits abandoned, each with why (so its id still answers "closed").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub abandoned_edits: Vec<super::edit::EditAbandoned>,
    /// Internal notes, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<super::notes::Note>,
    #[serde(default, skip_serializing_if = "std::collections::BTreeSet::is_empty")]
    pub tags: std::collections::BTreeSet<String>,
    /// Watched conditions raised as overdue (`watch::Watch::key`), until they end.
    #[serde(default, skip_serializing_if = "std::collections::BTreeSet::is_empty")]
    pub watches: std::collections::BTreeSet<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Number of events folded into this state; the stream's current version.
    pub version: u64,
}

impl Delivery {
    /// The pickup location of a click-and-collect order.
    pub fn pickup(delivery: Option<&Delivery>) -> Option<&Id> {
        delivery.and_then(|d| d.pickup_location.as_ref())
    }
}

impl Order {
    pub fn subtotal(&self) -> i64 {
        self.lines
            .iter()
            .map(|l| l.unit_price * i64::from(l.buckets.ordered))
            .sum()
    }

    pub fn total(&self) -> i64 {
        self.subtotal() + self.shipping_amount + self.tax_amount - self.discount_amount
    }

    /// Everything wrong with this order's internal consistency (empty when sound).
    pub fn violations(&self) -> Vec<String> {
        let mut out = Vec::new();
        for line in &self.lines {
            for v in line.buckets.violations() {
                out.push(format!("line {}: {v}", line.line_no));
            }
            let reserved: u32 = self
                .reservations
                .iter()
                .filter(|r| r.line_no == line.line_no)
                .map(|r| r.quantity)
                .sum();
            if reserved != line.buckets.allocated {
                out.push(format!(
                    "line {}: reservations hold {reserved} but {} allocated",
                    line.line_no, line.buckets.allocated
                ));
            }
        }
        if self.state == OrderState::Cancelled && !self.reservations.is_empty() {
            out.push("cancelled order still holds reservations".to_owned());
        }
        out.extend(self.payment_violations());
        out.extend(self.return_violations());
        out
    }
}
