//! The rows and names of work kept beside the order stream, as the write capabilities
//! take them (see `tx::capabilities`): timers the worker fires, provider events, shipment
//! and fulfillment read models, exception entries, store credit changes and the returns
//! read model.

use jiff::Timestamp;

/// How long after an operation is requested a timer re-drives it if no answer came.
pub const OP_REDRIVE_AFTER_MS: i64 = 30_000;

/// Timer kinds; the worker turns each into an ordinary command.
pub mod timer_kind {
    pub const PAYMENT_DEADLINE: &str = "payment_deadline";
    pub const PAYMENT_OP: &str = "payment_op";
    pub const AUTHORIZATION_EXPIRY: &str = "authorization_expiry";
    /// The edit window after confirmation ran out: release to the warehouse.
    pub const RELEASE: &str = "release";
    /// A capture the provider refused is asked again (`ref_id` is the failed operation).
    pub const CAPTURE_RETRY: &str = "capture_retry";
    /// A refund the provider refused is asked again (`ref_id` is the refund).
    pub const REFUND_RETRY: &str = "refund_retry";
    /// An authorized return not shipped by its date expires (`ref_id` is the return).
    pub const RETURN_EXPIRY: &str = "return_expiry";
    /// A watched condition's threshold passed: queue it if it still holds (`ref_id` is
    /// the watch's key, `order::watch::Watch::key`).
    pub const WATCH: &str = "watch";
}

#[derive(Debug, Clone, Copy)]
pub struct NewTimer<'a> {
    pub order_id: &'a str,
    pub kind: &'a str,
    pub ref_id: &'a str,
    pub due_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimerRow {
    pub id: i64,
    pub order_id: String,
    pub kind: String,
    pub ref_id: String,
    pub due_at: Timestamp,
    /// How many times it has been claimed, this claim included.
    pub attempts: i64,
}

/// A provider event that arrived before the fact it builds on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParkedEvent {
    pub provider: String,
    pub event_id: String,
    pub payload: String,
}

/// A shipment as watched: found by tracking number, checked for silence.
#[derive(Debug, Clone, Copy)]
pub struct ShipmentRow<'a> {
    pub id: &'a str,
    pub order_id: &'a str,
    pub carrier: &'a str,
    pub tracking_number: &'a str,
    pub status: &'a str,
    /// No longer watched for silence (see `Shipment::watched`); the column keeps its
    /// first name, `delayed`.
    pub delayed: bool,
    pub last_scan_at: Timestamp,
    pub promised_by: Option<Timestamp>,
    /// Where it left from, and when (set on the first write only).
    pub location_id: &'a str,
    pub shipped_at: Timestamp,
}

/// A fulfillment order as waves see it.
#[derive(Debug, Clone, Copy)]
pub struct FulfillmentRow<'a> {
    pub id: &'a str,
    pub order_id: &'a str,
    pub location_id: &'a str,
    pub state: &'a str,
    pub line_count: i64,
    pub released_at: Option<Timestamp>,
    /// The `carrier/service` the order asked for, if it did.
    pub service: Option<&'a str>,
}

/// An exception entry to open (nothing happens when one of its kind and subject exists).
#[derive(Debug, Clone, Copy)]
pub struct NewException<'a> {
    pub queue: &'a str,
    pub kind: &'a str,
    pub order_id: &'a str,
    pub subject_id: &'a str,
    pub detail: &'a str,
    pub at: Timestamp,
}

/// One change to a customer's store credit.
#[derive(Debug, Clone, Copy)]
pub struct CreditChange<'a> {
    pub email: &'a str,
    pub currency: &'a str,
    pub delta_minor: i64,
    /// `issue`, `redeem`, `refund` or `void`.
    pub reason: &'a str,
    pub order_id: Option<&'a str>,
    pub op_id: Option<&'a str>,
    pub note: Option<&'a str>,
    pub actor: &'a str,
    pub at: Timestamp,
}

/// A return (RMA) as the returns read model keeps it: one row per return, written with
/// the order events that change it, so returns are listed and found without reading
/// order snapshots.
#[derive(Debug, Clone, Copy)]
pub struct ReturnRow<'a> {
    /// The return's id (`rma_…`).
    pub id: &'a str,
    pub order_id: &'a str,
    pub order_number: &'a str,
    /// The human number (`RMA-WEB-1001`, see `ReturnsTx::next_rma_number`), once the
    /// return is authorized; unique.
    pub rma: Option<&'a str>,
    pub channel: &'a str,
    pub state: &'a str,
    /// A leaf code of the policy's reason taxonomy.
    pub reason: &'a str,
    /// Stored lower case (as `Email` normalises it), whatever is passed.
    pub customer_email: &'a str,
    /// The location that receives it, once known.
    pub location_id: Option<&'a str>,
    /// `refund`, `store_credit` or `exchange`.
    pub wanted: &'a str,
    pub units: u32,
    /// The paid value of the returned units.
    pub value_minor: i64,
    /// What the policy would refund (value less fees).
    pub refundable_minor: i64,
    pub currency: &'a str,
    /// The policy version that judged it.
    pub policy_version: &'a str,
    pub requested_at: Timestamp,
    pub updated_at: Timestamp,
}

/// Return states that take nothing back: not counted in a customer's return history.
pub const RETURN_STATES_NOT_COUNTED: [&str; 3] = ["rejected", "cancelled", "expired"];
