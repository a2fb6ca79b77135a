//! The read side as a contract, implemented per backend. Lists are keyset-paginated: the
//! cursor is the last key seen, so a page costs the same wherever it starts.

use crate::error::StoreError;
use crate::rows::{
    ApiKeyRow, EventRow, ExceptionRow, InventoryRow, MovementRow, ProductRow, StoreCreditRow,
};
use jiff::Timestamp;
use orderly_domain::order::Order;

/// Filters for listing orders; every field is optional.
#[derive(Debug, Clone, Default)]
pub struct OrderFilter {
    pub status: Option<String>,
    pub order_state: Option<String>,
    pub payment_state: Option<String>,
    pub fulfillment_state: Option<String>,
    pub return_state: Option<String>,
    pub refund_state: Option<String>,
    pub on_hold: Option<bool>,
    pub channel: Option<String>,
    /// Only orders of these channels (a channel-bound key's scope); `None`: any.
    pub channels: Option<Vec<String>>,
    pub email: Option<String>,
    pub created_from: Option<Timestamp>,
    pub created_to: Option<Timestamp>,
    /// Return orders whose id sorts before this one (newest first).
    pub before_id: Option<String>,
    pub limit: u32,
    /// The channel's id for the order (in any channel).
    pub external_id: Option<String>,
    /// A tracking number (or pickup code) of one of the order's shipments.
    pub tracking_number: Option<String>,
    /// Lowercase text found in the order's number, customer email or name (see
    /// `search_text`); a scan, newest first, so the other filters narrow it.
    pub text: Option<String>,
}

/// What `OrderFilter::text` is matched against: number, email and name, lowercased
/// (Unicode-aware, so both backends match alike), one per line.
pub fn search_text(order: &Order) -> String {
    format!(
        "{}\n{}\n{}",
        order.number,
        order.customer.email.as_str(),
        order.customer.name.as_deref().unwrap_or_default()
    )
    .to_lowercase()
}

/// An order's read-model row as `orderly check` compares it with the snapshot.
#[derive(Debug, Clone)]
pub struct OrderRow {
    pub id: String,
    /// status, order_state, payment_state, fulfillment_state, return_state, refund_state.
    pub states: [String; 6],
    pub on_hold: bool,
    pub total_minor: i64,
    pub version: i64,
    pub snapshot: String,
}

/// A wave as stored.
#[derive(Debug, Clone)]
pub struct WaveRow {
    pub id: String,
    pub location_id: String,
    pub created_at: Timestamp,
    pub created_by: String,
    /// (fulfillment order id, order id), in the order they were waved.
    pub members: Vec<(String, String)>,
}

/// Filters for listing waves, newest first; every field is optional.
#[derive(Debug, Clone, Default)]
pub struct WaveFilter {
    pub location_id: Option<String>,
    /// `Some(true)`: waves with a member still to pick; `Some(false)`: the others.
    pub open: Option<bool>,
    pub created_from: Option<Timestamp>,
    pub created_to: Option<Timestamp>,
    /// Waves whose id sorts before this one.
    pub before_id: Option<String>,
    pub limit: u32,
}

/// What the workers have still to do: outbox rows not delivered, webhook deliveries
/// and customer messages pending, and timers due but not fired, each with its oldest
/// (created, or due) time. Every count is served by a partial index of pending rows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Backlog {
    pub outbox_pending: u64,
    pub outbox_oldest: Option<Timestamp>,
    pub webhooks_pending: u64,
    pub webhooks_oldest: Option<Timestamp>,
    pub messages_pending: u64,
    pub messages_oldest: Option<Timestamp>,
    pub timers_due: u64,
    pub oldest_due_timer: Option<Timestamp>,
}

/// The backlog's query: one row of counts and oldest times, `now` as its parameter.
macro_rules! backlog_sql {
    ($now:literal) => {
        concat!(
            "SELECT (SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL),
                    (SELECT MIN(created_at) FROM outbox WHERE delivered_at IS NULL),
                    (SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'pending'),
                    (SELECT MIN(created_at) FROM webhook_deliveries WHERE status = 'pending'),
                    (SELECT COUNT(*) FROM messages WHERE status = 'pending'),
                    (SELECT MIN(created_at) FROM messages WHERE status = 'pending'),
                    (SELECT COUNT(*) FROM timers WHERE fired_at IS NULL AND due_at <= ",
            $now,
            "),
                    (SELECT MIN(due_at) FROM timers WHERE fired_at IS NULL AND due_at <= ",
            $now,
            ")"
        )
    };
}
pub(crate) use backlog_sql;

impl Backlog {
    /// From the query's eight columns: counts, and oldest times in milliseconds.
    pub(crate) fn from_columns(
        counts: [i64; 4],
        oldest: [Option<i64>; 4],
    ) -> Result<Backlog, StoreError> {
        let n = |c: i64| u64::try_from(c).unwrap_or_default();
        let t = |ms: Option<i64>| ms.map(crate::from_ms).transpose();
        Ok(Backlog {
            outbox_pending: n(counts[0]),
            outbox_oldest: t(oldest[0])?,
            webhooks_pending: n(counts[1]),
            webhooks_oldest: t(oldest[1])?,
            messages_pending: n(counts[2]),
            messages_oldest: t(oldest[2])?,
            timers_due: n(counts[3]),
            oldest_due_timer: t(oldest[3])?,
        })
    }
}

/// A shipment as the warehouse floor lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShippedRow {
    pub id: String,
    pub order_id: String,
    pub order_number: String,
    pub carrier: String,
    pub tracking_number: String,
    pub status: String,
    pub shipped_at: Timestamp,
}

/// A wave as listed: its members counted from the fulfillment orders' read model.
#[derive(Debug, Clone)]
pub struct WaveSummary {
    pub id: String,
    pub location_id: String,
    pub created_at: Timestamp,
    pub created_by: String,
    pub members: u32,
    /// Members still released and not picked: the wave is open while any is.
    pub to_pick: u32,
}

/// Filters for listing exception entries, oldest first.
#[derive(Debug, Clone, Default)]
pub struct ExceptionFilter {
    pub queue: Option<String>,
    pub kind: Option<String>,
    pub order_id: Option<String>,
    /// Only entries of orders of these channels (a channel-bound key's scope); `None`:
    /// every entry.
    pub channels: Option<Vec<String>>,
    /// `Some(true)`: only open entries; `Some(false)`: only resolved ones.
    pub open: Option<bool>,
    /// Newest first (ids falling) instead of oldest first.
    pub newest_first: bool,
    /// Entries after this one in the list's order (an id above it, or below it when
    /// newest first).
    pub after_id: Option<i64>,
    pub limit: u32,
}

/// Filters for listing returns, newest first by (requested_at, id); every field is
/// optional.
#[derive(Debug, Clone, Default)]
pub struct ReturnFilter {
    /// Returns in any of these states; empty: every state.
    pub states: Vec<String>,
    /// Only returns of these channels (a channel-bound key's scope); `None`: any. As for
    /// orders, an empty list is a scope with no channel, which sees nothing.
    pub channels: Option<Vec<String>>,
    pub location_id: Option<String>,
    pub reason: Option<String>,
    /// Compared lower case (returns store it so).
    pub customer_email: Option<String>,
    pub order_id: Option<String>,
    /// Requested at or after this time.
    pub requested_after: Option<Timestamp>,
    /// Requested before this time (the age filter: older than).
    pub requested_before: Option<Timestamp>,
    /// The cursor: returns that come after this key, `ReturnRecord::key`, in the list
    /// (older ones, or as old with a lower id).
    pub before: Option<(Timestamp, String)>,
    pub limit: u32,
}

/// A return's row as read back (see `ReturnRow`, which writes it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnRecord {
    pub id: String,
    pub order_id: String,
    pub order_number: String,
    pub rma: Option<String>,
    pub channel: String,
    pub state: String,
    pub reason: String,
    pub customer_email: String,
    pub location_id: Option<String>,
    pub wanted: String,
    pub units: u32,
    pub value_minor: i64,
    pub refundable_minor: i64,
    pub currency: String,
    pub policy_version: String,
    pub requested_at: Timestamp,
    pub updated_at: Timestamp,
}

impl ReturnRecord {
    /// Where the list stands after this row: the next page's `ReturnFilter::before`.
    pub fn key(&self) -> (Timestamp, String) {
        (self.requested_at, self.id.clone())
    }
}

/// A return whose row disagrees with its order: (return id, order id, the order's
/// (number, channel) when the order exists).
pub type ReturnOrderMismatch = (String, String, Option<(String, String)>);

/// A recorded return request (a `return_requested` event), as the policy backtest
/// replays it: the event with its order and the time it was recorded (and judged).
#[derive(Debug, Clone)]
pub struct ReturnRequestRow {
    /// The event's sequence number: with `at`, the list's key.
    pub seq: i64,
    pub order_id: String,
    pub order_number: String,
    pub at: Timestamp,
    pub request: orderly_domain::order::ReturnRequested,
}

impl ReturnRequestRow {
    /// Where the list stands after this row: the next page's `after`.
    pub fn key(&self) -> (Timestamp, i64) {
        (self.at, self.seq)
    }

    /// The row from an event's stored columns; any other event is corrupt here.
    pub(crate) fn from_event(
        seq: i64,
        order_id: String,
        order_number: String,
        at_ms: i64,
        data: &str,
    ) -> Result<ReturnRequestRow, StoreError> {
        match serde_json::from_str(data)? {
            orderly_domain::order::OrderEvent::ReturnRequested(request) => Ok(ReturnRequestRow {
                seq,
                order_id,
                order_number,
                at: crate::from_ms(at_ms)?,
                request: *request,
            }),
            other => Err(StoreError::Corrupt(format!(
                "event {seq} is stored as return_requested but holds {}",
                other.kind()
            ))),
        }
    }
}

/// One open reservation row: (order id, line, SKU, location, quantity).
pub type OpenReservation = (String, u32, String, String, u32);

pub trait Reader:
    crate::delivery::DeliveryReads
    + crate::cases::CaseReads
    + crate::customers::CustomerReads
    + crate::console::ConsoleReads
    + crate::kpi::KpiReads
{
    /// An order by id (`ord_…`) or human number (`WEB-1001`).
    fn order(&mut self, id_or_number: &str) -> Result<Option<Order>, StoreError>;
    fn orders(&mut self, f: &OrderFilter) -> Result<Vec<Order>, StoreError>;
    /// The products with these SKUs (those that exist), in no particular order.
    fn products_by_sku(&mut self, skus: &[&str]) -> Result<Vec<ProductRow>, StoreError> {
        let mut found = Vec::with_capacity(skus.len());
        for sku in skus {
            found.extend(self.product(sku)?);
        }
        Ok(found)
    }
    /// The orders with these ids (those that exist), in no particular order.
    fn orders_by_id(&mut self, ids: &[&str]) -> Result<Vec<Order>, StoreError> {
        let mut found = Vec::with_capacity(ids.len());
        for id in ids {
            found.extend(self.order(id)?);
        }
        Ok(found)
    }
    /// The bin each of `skus` is kept in at `location` (SKUs without a record are absent).
    fn bins(
        &mut self,
        location: &str,
        skus: &[&str],
    ) -> Result<Vec<(String, Option<String>)>, StoreError> {
        let mut found = Vec::with_capacity(skus.len());
        for sku in skus {
            for row in self.inventory(Some(sku), Some(location), None, 1)? {
                found.push((row.sku, row.bin));
            }
        }
        Ok(found)
    }
    /// Every event of a stream, oldest first.
    fn events(&mut self, stream_id: &str) -> Result<Vec<EventRow>, StoreError>;
    /// Every event of any stream (an order's, a case's, a customer's), oldest first,
    /// with its type and data as stored.
    fn history(&mut self, stream_id: &str) -> Result<Vec<crate::rows::HistoryRow>, StoreError>;
    fn product(&mut self, sku: &str) -> Result<Option<ProductRow>, StoreError>;
    /// Products ordered by SKU, starting after `after_sku`.
    fn products(
        &mut self,
        after_sku: Option<&str>,
        limit: u32,
    ) -> Result<Vec<ProductRow>, StoreError>;
    /// Inventory records ordered by (SKU, location), optionally for one SKU or location,
    /// starting after the `(sku, location)` key.
    fn inventory(
        &mut self,
        sku: Option<&str>,
        location: Option<&str>,
        after: Option<(&str, &str)>,
        limit: u32,
    ) -> Result<Vec<InventoryRow>, StoreError>;
    /// Stock movements of a SKU, newest first, starting before movement id `before_id`.
    fn movements(
        &mut self,
        sku: &str,
        before_id: Option<i64>,
        limit: u32,
    ) -> Result<Vec<MovementRow>, StoreError>;
    /// The names of the API keys with these ids (unknown ids are absent): who an
    /// event's actor is, for a person reading the timeline.
    fn api_key_names(&mut self, ids: &[String]) -> Result<Vec<(String, String)>, StoreError>;
    /// The provider token of a payment whose authorization is still unanswered.
    fn payment_token(&mut self, payment_id: &str) -> Result<Option<String>, StoreError>;
    fn api_key_by_hash(&mut self, key_hash: &str) -> Result<Option<ApiKeyRow>, StoreError>;
    /// Every API key, oldest first (there are few: one per integration and person).
    fn api_keys(&mut self) -> Result<Vec<ApiKeyRow>, StoreError>;
    /// Shipments still watched (see `Shipment::watched`) whose last scan is at or before
    /// `silent_since` or whose promise is at or before `now`: (order id, shipment id).
    fn quiet_shipments(
        &mut self,
        silent_since: Timestamp,
        now: Timestamp,
        limit: u32,
    ) -> Result<Vec<(String, String)>, StoreError>;
    /// The SKUs of the products with these GTINs (14-digit form): (GTIN, SKU) pairs.
    fn skus_by_gtin(&mut self, gtins: &[String]) -> Result<Vec<(String, String)>, StoreError>;
    /// Exception entries matching `f`, oldest (lowest id) first.
    fn exceptions(&mut self, f: &ExceptionFilter) -> Result<Vec<ExceptionRow>, StoreError>;
    /// The open entries counted per (queue, kind), with the oldest's opening time and
    /// how many were opened at or before `escalate_before`; only those of orders in
    /// `channels` when given.
    fn exception_counts(
        &mut self,
        channels: Option<&[String]>,
        escalate_before: jiff::Timestamp,
    ) -> Result<Vec<crate::rows::ExceptionCount>, StoreError>;
    /// A wave: its location, creation time and members (fulfillment id, order id).
    fn wave(&mut self, id: &str) -> Result<Option<WaveRow>, StoreError>;
    /// Waves matching `f`, newest (highest id) first.
    fn waves(&mut self, f: &WaveFilter) -> Result<Vec<WaveSummary>, StoreError>;
    /// The work waiting for the background workers at `now` (see `Backlog`).
    fn backlog(&mut self, now: Timestamp) -> Result<Backlog, StoreError>;
    /// Shipments that left `location_id` in [`from`, `to`), oldest first, after the
    /// (shipped at, id) of the previous page.
    fn shipped_from(
        &mut self,
        location_id: &str,
        from: Timestamp,
        to: Timestamp,
        after: Option<(Timestamp, String)>,
        limit: u32,
    ) -> Result<Vec<ShippedRow>, StoreError>;
    /// A customer's store credit entries, newest first (at most `limit`).
    fn store_credit_entries(
        &mut self,
        email: &str,
        limit: u32,
    ) -> Result<Vec<StoreCreditRow>, StoreError>;
    /// Returns matching `f`, newest first by (requested_at, id).
    fn returns(&mut self, f: &ReturnFilter) -> Result<Vec<ReturnRecord>, StoreError>;
    /// The return requests recorded at or after `since`, oldest first by (time, event
    /// seq), starting after the `after` key (`ReturnRequestRow::key`), at most `limit`.
    fn return_requests(
        &mut self,
        since: Timestamp,
        after: Option<(Timestamp, i64)>,
        limit: u32,
    ) -> Result<Vec<ReturnRequestRow>, StoreError>;
    /// A return's row by its id or its RMA number.
    fn return_row(&mut self, id_or_rma: &str) -> Result<Option<ReturnRecord>, StoreError>;
    /// Cheap liveness probe of the database.
    fn ping(&mut self) -> Result<(), StoreError>;

    // For `orderly check`.

    /// Store credit balances that differ from the sum of their entries:
    /// (email, currency, balance, sum of entries).
    fn store_credit_mismatches(&mut self) -> Result<Vec<(String, String, i64, i64)>, StoreError>;
    /// Returns whose order does not exist or has another number or channel than the
    /// return's row says.
    fn return_order_mismatches(&mut self) -> Result<Vec<ReturnOrderMismatch>, StoreError>;
    /// Every open reservation.
    fn open_reservations(&mut self) -> Result<Vec<OpenReservation>, StoreError>;
    /// Read-model rows ordered by id, after `after_id`.
    fn order_rows(
        &mut self,
        after_id: Option<&str>,
        limit: u32,
    ) -> Result<Vec<OrderRow>, StoreError>;
}
