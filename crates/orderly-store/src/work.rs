//! The write-side contract for background work and money kept outside the order stream:
//! timers the worker fires, inbound provider events (deduplicated by the provider's id),
//! and store credit balances. A supertrait of `WriteTx`, so every command can use it.

use crate::error::StoreError;
use crate::rows::ExceptionRow;
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

pub trait WorkTx {
    /// Points an idempotency record's stored order response at a later version of the
    /// order (the state after the provider answered, which is what the client was shown)
    /// and the status it was answered with (a capture the provider refused is a 402).
    fn repoint_idempotency(
        &mut self,
        principal: &str,
        key: &str,
        order_id: &str,
        version: u64,
        status_code: u16,
    ) -> Result<(), StoreError>;

    fn schedule_timers(&mut self, timers: &[NewTimer<'_>]) -> Result<(), StoreError>;
    /// Leases up to `limit` due, unfired timers not leased by anyone else (PostgreSQL
    /// skips rows another transaction holds, so processes never share one).
    fn claim_timers(
        &mut self,
        worker: &str,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<TimerRow>, StoreError>;
    /// Releases a timer's claim and makes it due again at `due_at`.
    fn reschedule_timer(&mut self, id: i64, due_at: Timestamp) -> Result<(), StoreError>;
    /// Marks a timer fired (it never fires again).
    fn complete_timer(&mut self, id: i64, now: Timestamp) -> Result<(), StoreError>;

    /// Records an inbound provider event; false when that provider's event id was seen.
    fn record_provider_event(
        &mut self,
        provider: &str,
        event_id: &str,
        order_id: Option<&str>,
        status: &str,
        payload: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError>;
    fn parked_provider_events(&mut self, order_id: &str) -> Result<Vec<ParkedEvent>, StoreError>;
    fn set_provider_event_status(
        &mut self,
        provider: &str,
        event_id: &str,
        status: &str,
    ) -> Result<(), StoreError>;

    /// Orders placed with this email at or after `since`.
    fn orders_by_email_since(&mut self, email: &str, since: Timestamp) -> Result<u32, StoreError>;

    /// Remembers that `order_id` is paid with the card `fingerprint`.
    fn record_fingerprint(
        &mut self,
        fingerprint: &str,
        order_id: &str,
        at: Timestamp,
    ) -> Result<(), StoreError>;
    /// Keeps a payment's provider token until its authorization is answered (see
    /// `Reader::payment_token`); never part of the order's events or snapshot.
    fn save_payment_token(
        &mut self,
        payment_id: &str,
        order_id: &str,
        token: &str,
        at: Timestamp,
    ) -> Result<(), StoreError>;
    /// Deletes a payment's token: its authorization was answered.
    fn forget_payment_token(&mut self, payment_id: &str) -> Result<(), StoreError>;
    /// Orders paid with this card at or after `since`.
    fn orders_by_card_since(
        &mut self,
        fingerprint: &str,
        since: Timestamp,
    ) -> Result<u32, StoreError>;

    /// Orders waiting for `sku` on backorder, oldest order first (at most `limit`).
    fn backordered_orders(&mut self, sku: &str, limit: u32) -> Result<Vec<String>, StoreError>;
    /// Marks an order's open backorder rows filled (the line's remaining backorder, if
    /// any, is written again by the caller).
    fn close_backorders(&mut self, order_id: &str) -> Result<(), StoreError>;

    /// Inserts or updates a fulfillment order's row (its wave, once set, stays).
    fn save_fulfillment_order(&mut self, f: &FulfillmentRow<'_>) -> Result<(), StoreError>;
    /// Released fulfillment orders at `location` in no wave yet, oldest release first,
    /// released at or before `released_before` and of orders that asked for `service`,
    /// when given: (id, order id, line count).
    fn wave_candidates(
        &mut self,
        location: &str,
        released_before: Option<Timestamp>,
        service: Option<&str>,
        limit: u32,
    ) -> Result<Vec<(String, String, i64)>, StoreError>;
    /// Records a wave of `members`; `Conflict` when one of them joined another wave.
    fn create_wave(
        &mut self,
        id: &str,
        location: &str,
        members: &[String],
        actor: &str,
        at: Timestamp,
    ) -> Result<(), StoreError>;

    /// Inserts or updates a shipment's watch row; `Conflict` when another shipment has
    /// the same carrier and tracking number.
    fn save_shipment(&mut self, s: &ShipmentRow<'_>) -> Result<(), StoreError>;
    /// The (order id, shipment id) a carrier's tracking number belongs to.
    fn shipment_by_tracking(
        &mut self,
        carrier: &str,
        tracking_number: &str,
    ) -> Result<Option<(String, String)>, StoreError>;

    /// Opens an exception entry unless one of the same kind and subject exists.
    fn open_exception(&mut self, e: &NewException<'_>) -> Result<(), StoreError>;
    /// Resolves the subject's open entries of `kinds`.
    fn resolve_exceptions(
        &mut self,
        subject_id: &str,
        kinds: &[&str],
        by: &str,
        resolution: &str,
        at: Timestamp,
    ) -> Result<(), StoreError>;
    /// Resolves entry `id` of `queue` if it is open: the row as it then stands and
    /// whether this call resolved it (false: it was resolved before); None when the queue
    /// has no such entry.
    fn resolve_exception(
        &mut self,
        id: i64,
        queue: &str,
        by: &str,
        resolution: &str,
        at: Timestamp,
    ) -> Result<Option<(ExceptionRow, bool)>, StoreError>;

    fn store_credit_balance(&mut self, email: &str, currency: &str) -> Result<i64, StoreError>;
    /// Applies a change and records it; `Conflict` when the balance would go below zero
    /// (a concurrent redemption won) or the operation was already applied.
    fn change_store_credit(&mut self, change: &CreditChange<'_>) -> Result<i64, StoreError>;
}
