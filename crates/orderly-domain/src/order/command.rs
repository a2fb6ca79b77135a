//! What callers can ask of an order, and the outside facts a decision needs.

use super::event::HoldChange;
use super::state::{Address, Customer};
use crate::Timestamp;
use crate::geo::LatLon;
use crate::payment::{
    CaptureMode, OpOutcome, PaymentMethod, RefundLine, RefundMethod, RefundReason, RiskPolicy,
};
use crate::sourcing::{LocationFacts, StockView};
use crate::values::{Currency, Id, Sku};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLine {
    pub sku: Sku,
    /// The catalog name at the time of the order, kept so the order reads the same later.
    pub name: String,
    pub quantity: u32,
    pub unit_price: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaceOrder {
    pub id: Id,
    pub number: String,
    pub channel: Id,
    pub external_id: Option<String>,
    pub currency: Currency,
    pub customer: Customer,
    pub shipping_address: Address,
    pub billing_address: Address,
    pub lines: Vec<NewLine>,
    pub shipping_amount: i64,
    pub tax_amount: i64,
    pub discount_amount: i64,
    /// The total the client computed, when it sent one; it must match ours.
    pub declared_total: Option<i64>,
    /// How the customer pays; None leaves the order unpaid until a payment is added.
    pub payment: Option<NewPayment>,
    pub delivery: Option<super::state::Delivery>,
}

impl PlaceOrder {
    /// Lines, shipping and tax, less the discount. Wide (i128) so that no combination of
    /// the configured limits overflows before validation refuses it.
    pub fn total(&self) -> i128 {
        let subtotal: i128 = self
            .lines
            .iter()
            .map(|l| i128::from(l.unit_price) * i128::from(l.quantity))
            .sum();
        subtotal + i128::from(self.shipping_amount) + i128::from(self.tax_amount)
            - i128::from(self.discount_amount)
    }
}

/// A payment the customer offers; its amount is what the order still needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPayment {
    pub id: Id,
    pub method: PaymentMethod,
    pub provider: String,
    /// The instrument's fingerprint from the provider's tokenization (the same card gives
    /// the same fingerprint across tokens); used by the card velocity rule.
    pub fingerprint: Option<String>,
    /// The card's last digits, where the provider's tokenization gave them.
    pub last4: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRefund {
    pub id: Id,
    /// Absent with lines: the whole value of the named units.
    pub amount_minor: Option<i64>,
    pub reason: RefundReason,
    pub method: RefundMethod,
    pub lines: Vec<RefundLine>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CancelReason {
    CustomerRequest,
    OutOfStock,
    Fraud,
    PaymentTimeout,
    /// The address cannot be delivered to (or verified).
    AddressProblem,
    Duplicate,
    Other,
}

impl CancelReason {
    pub const ALL: [CancelReason; 7] = [
        CancelReason::CustomerRequest,
        CancelReason::OutOfStock,
        CancelReason::Fraud,
        CancelReason::PaymentTimeout,
        CancelReason::AddressProblem,
        CancelReason::Duplicate,
        CancelReason::Other,
    ];

    pub fn parse(s: &str) -> Option<CancelReason> {
        CancelReason::ALL.into_iter().find(|r| r.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CancelReason::CustomerRequest => "customer_request",
            CancelReason::OutOfStock => "out_of_stock",
            CancelReason::Fraud => "fraud",
            CancelReason::PaymentTimeout => "payment_timeout",
            CancelReason::AddressProblem => "address_problem",
            CancelReason::Duplicate => "duplicate",
            CancelReason::Other => "other",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CancelOrder {
    pub reason: CancelReason,
    pub note: Option<String>,
    /// The id of the refund that gives back money already captured, if there is any.
    pub refund_id: Id,
}

#[derive(Debug, Clone, PartialEq)]
pub enum OrderCommand {
    Place(Box<PlaceOrder>),
    Cancel(CancelOrder),
    /// Another attempt to pay, e.g. a new card after a decline.
    AddPayment(NewPayment),
    /// A provider's answer to one operation (in the request, later by event, or re-driven).
    RecordOutcome {
        op_id: Id,
        outcome: OpOutcome,
        capture: CaptureMode,
    },
    /// Capture this much (everything capturable when None).
    Capture {
        amount_minor: Option<i64>,
    },
    Refund(RequestRefund),
    /// Asks again for the part of a refund that failed.
    RetryRefund {
        refund_id: Id,
    },
    ExpireAuthorization {
        payment_id: Id,
    },
    /// Finance confirms money received for a manual payment (transfer, cash on delivery).
    MarkPaid {
        payment_id: Id,
        reference: Option<String>,
    },
    PlaceHold(HoldChange),
    /// Watches' timer fired (`watch::Watch::key`s): queue each whose condition holds.
    RaiseWatches {
        watches: Vec<String>,
    },
    /// Take every raised watch whose condition ended out of its queue.
    ClearWatches,
    /// An internal note, by `author` (the actor's label).
    AddNote {
        id: Id,
        text: String,
        author: String,
    },
    /// Tags added and removed (normalized; unknown removals and known additions change nothing).
    ChangeTags {
        add: Vec<String>,
        remove: Vec<String>,
    },
    /// Releases a hold; `capture` is the channel's policy, so that releasing the last
    /// review of a channel capturing at authorization takes the money it was holding.
    ReleaseHold {
        hold: HoldChange,
        capture: CaptureMode,
    },
    /// The unpaid deadline came (fired by the timer worker at `now`).
    PaymentDeadline {
        now: Timestamp,
        refund_id: Id,
    },
    /// Hand a pending fulfillment order (or every one) to its warehouse.
    Release {
        fulfillment_id: Option<Id>,
    },
    /// The picker's count per fulfillment line: (line_no, picked).
    Pick {
        fulfillment_id: Id,
        picked: Vec<(u32, u32)>,
    },
    /// Scanned units (one SKU per scan) packed into a new package.
    Pack {
        fulfillment_id: Id,
        package_id: Id,
        scans: Vec<Sku>,
        weight_grams: u32,
        dimensions_mm: [u32; 3],
    },
    Ship {
        ship: super::shipments::ShipPackage,
        capture: CaptureMode,
    },
    /// Stock of a SKU arrived at a location: reserve up to `available` units of it for
    /// this order's backordered lines, if that location serves the order.
    FillBackorder {
        sku: Sku,
        location: LocationFacts,
        available: u32,
    },
    /// The warehouse refuses a fulfillment order it has not started picking.
    Reject {
        fulfillment_id: Id,
        reason: String,
    },
    /// A carrier's scan.
    RecordTracking(super::event::TrackingRecorded),
    /// Is the shipment late (promise passed, or silent for `silence_hours`) at `now`?
    CheckDelay {
        shipment_id: Id,
        now: Timestamp,
        silence_hours: u32,
    },
    RequestReturn(Box<super::rma_decide::RequestReturn>),
    ReviewReturn {
        review: super::rma_decide::ReviewReturn,
        now: Timestamp,
    },
    /// The prepaid label booked with a carrier (after the authorization committed).
    IssueReturnLabel {
        return_id: Id,
        label: super::rma::ReturnLabel,
    },
    /// The exchange order placed for a return (in the same transaction as its placement).
    RecordExchange {
        return_id: Id,
        exchange: super::rma::ExchangeOrder,
    },
    /// A carrier's news of a return parcel.
    TrackReturn {
        return_id: Id,
        status: super::rma::ReturnParcelStatus,
        occurred_at: Timestamp,
    },
    ReceiveReturn(super::rma_decide::ReceiveReturn),
    InspectReturn {
        return_id: Id,
        items: Vec<super::rma::ItemInspection>,
    },
    /// A person decides the units an inspection left `needs_manual_decision`.
    DecideReturnItems {
        return_id: Id,
        items: Vec<super::rma::ItemDecision>,
        note: Option<String>,
    },
    /// Records the parcel booked to take rejected units back to the customer.
    SendBackReturnItems {
        return_id: Id,
        send_back: super::rma::SendBack,
    },
    ResolveReturn {
        resolve: super::rma_decide::ResolveReturn,
        now: Timestamp,
    },
    /// Ends a return whose goods and money are settled (a follow-up, see `reactions`).
    CompleteReturn {
        return_id: Id,
    },
    CancelReturn {
        return_id: Id,
        reason: String,
    },
    /// The return's shipping deadline came (fired by the timer worker at `now`).
    ExpireReturn {
        return_id: Id,
        now: Timestamp,
    },
    /// An edit or a cancellation of some units, with the facts read for it in the
    /// command's transaction.
    Edit(Box<(super::edit_decide::EditCommand, super::edit_plan::EditFacts)>),
}

/// What a sourcing decision reads: the locations, their stock (read inside the write
/// transaction), where the order's address is, and the configured policy.
#[derive(Debug, Clone)]
pub struct SourcingContext<'a> {
    pub locations: &'a [LocationFacts],
    pub stock: &'a StockView,
    pub ship_to: Option<LatLon>,
    pub allow_backorders: bool,
    pub policy: crate::sourcing::SourcingPolicy,
}

/// Facts read inside the write transaction that placing an order depends on.
#[derive(Debug, Clone)]
pub struct PlaceContext<'a> {
    pub sourcing: SourcingContext<'a>,
    pub limits: super::Limits,
    pub risk: &'a RiskPolicy,
    /// Orders the same email placed within the risk policy's velocity window.
    pub recent_orders_same_email: u32,
    /// Orders paid with the same card (fingerprint) within that window.
    pub recent_orders_same_card: u32,
    /// When an unpaid order is cancelled (None: never, e.g. cash on delivery).
    pub payment_due_at: Option<Timestamp>,
    /// The channel reserves stock only once the order is paid.
    pub reserve_at_payment: bool,
    /// How far the channel's line prices are trusted, and the catalog's prices.
    pub prices: super::PriceRules<'a>,
}
