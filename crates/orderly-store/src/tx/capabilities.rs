//! The write contract by capability: what a command may do inside one transaction, one
//! trait per part of the store, so code that needs only inventory or only timers can say
//! so (`&mut dyn InventoryTx`) and a new capability adds a trait instead of growing one.
//! `WriteTx` (in `tx`) is their union; `&mut dyn WriteTx` upcasts to any of them.
//!
//! Errors throughout: `Conflict` means a concurrent change won (the command may run again
//! with fresh facts); `Unavailable` means the database could not be reached.

use crate::error::StoreError;
use crate::rows::{
    ApiKeyRow, ExceptionRow, IdempotencyRecord, InventoryRow, NewApiKey, NewProduct, OutboxRow,
    ProductPatch, ProductRow,
};
use crate::tx::{NewEvent, ReservedMove};
use crate::work::{
    CreditChange, FulfillmentRow, NewException, NewTimer, ParkedEvent, ReturnRow, ShipmentRow,
    TimerRow,
};
use jiff::Timestamp;
use orderly_domain::actor::Actor;
use orderly_domain::inventory::{MovementReason, StockLevel};
use orderly_domain::order::{Order, OrderEvent, Reservation, replay};
use orderly_domain::sourcing::{Shortfall, StockView};
use orderly_domain::values::Sku;

/// Event streams and what belongs to them: loading and saving an order, its events, its
/// number, and the idempotency records that answer a repeated request.
pub trait OrderEvents {
    /// The stored answer under this key, if it has not expired. A backend may instead
    /// take the key for new and let `save_idempotency` fail at commit (PostgreSQL does on
    /// a command's first run, then runs it again with the lookup), so a command must not
    /// treat `None` as proof that the key was never used.
    fn find_idempotency(
        &mut self,
        principal: &str,
        key: &str,
        now: Timestamp,
    ) -> Result<Option<IdempotencyRecord>, StoreError>;
    fn save_idempotency(
        &mut self,
        principal: &str,
        key: &str,
        record: &IdempotencyRecord,
        now: Timestamp,
        keep_ms: i64,
    ) -> Result<(), StoreError>;
    /// Deletes idempotency records past their expiry; returns how many.
    fn purge_idempotency(&mut self, now: Timestamp) -> Result<usize, StoreError>;
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

    fn order_id_by_external(
        &mut self,
        channel: &str,
        external_id: &str,
    ) -> Result<Option<String>, StoreError>;
    /// An order's snapshot (never a replay) by id or human number.
    fn load_order(&mut self, id_or_number: &str) -> Result<Option<Order>, StoreError>;
    /// The events of an order's stream up to and including `version`, oldest first.
    fn stream(
        &mut self,
        order_id: &str,
        up_to_version: u64,
    ) -> Result<Vec<(OrderEvent, Timestamp)>, StoreError>;
    /// The next human order number of a channel, e.g. `WEB-1001`.
    fn next_order_number(&mut self, channel: &str, prefix: &str) -> Result<String, StoreError>;
    /// Orders placed with this email at or after `since`.
    fn orders_by_email_since(&mut self, email: &str, since: Timestamp) -> Result<u32, StoreError>;

    /// Inserts events; `Conflict` when the stream already has one of those versions.
    fn insert_events(&mut self, events: &[NewEvent<'_>]) -> Result<(), StoreError>;
    /// Writes the order's read-model row and snapshot.
    fn save_read_model(
        &mut self,
        order: &Order,
        snapshot: &str,
        created: bool,
    ) -> Result<(), StoreError>;

    /// The order as it stood at `version` of its stream, folded from its events.
    fn order_at(&mut self, order_id: &str, version: u64) -> Result<Option<Order>, StoreError> {
        let events = self.stream(order_id, version)?;
        replay(events.iter().map(|(e, at)| (e, *at)))
            .map_err(|e| StoreError::Corrupt(e.to_string()))
    }
}

/// Stock: what is available, adjustments of on-hand units, and the reservations and
/// backorders orders hold.
pub trait InventoryTx {
    /// Available units of each SKU at every location that stocks it.
    fn stock_view(&mut self, skus: &[Sku]) -> Result<StockView, StoreError>;
    /// On hand, reserved and quarantined units (all zero without a record). PostgreSQL
    /// locks the record until the transaction ends, so a decision holds on what it read.
    fn stock_level(&mut self, sku: &str, location: &str) -> Result<StockLevel, StoreError>;
    /// Changes on hand by `delta` (already decided against the current level) and records
    /// the movement. Creates the inventory record on first receipt.
    #[allow(clippy::too_many_arguments)]
    fn adjust_on_hand(
        &mut self,
        sku: &str,
        location: &str,
        delta: i64,
        reason: MovementReason,
        bin: Option<&str>,
        note: Option<&str>,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<InventoryRow, StoreError>;
    /// Moves `quantity` returned units at a location as `reason` says, and records one
    /// movement: `ReturnRestock` into on hand, `ReturnQuarantine` into quarantine,
    /// `ReturnScrap` and `ReturnToCustomer` change no level (the movement accounts for
    /// the unit), `QuarantineRelease` from quarantine into on hand, `QuarantineScrap` out
    /// of quarantine. Creates the inventory record if there is none. Taking more than
    /// quarantine holds changes nothing and is a `Conflict` (decide against
    /// `stock_level`'s quarantine first); any other reason, or no units, is an error.
    #[allow(clippy::too_many_arguments)]
    fn move_returned_unit(
        &mut self,
        sku: &str,
        location: &str,
        quantity: u32,
        reason: MovementReason,
        note: Option<&str>,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<InventoryRow, StoreError>;
    /// Changes reserved stock by each move's `delta`, guarded so reserved stays within
    /// 0..=on_hand, and records a movement per move. `Conflict` when a reservation no
    /// longer fits.
    fn move_reserved(&mut self, moves: &[ReservedMove<'_>]) -> Result<(), StoreError>;
    fn insert_reservations(
        &mut self,
        order_id: &str,
        rs: &[Reservation],
        at: Timestamp,
    ) -> Result<(), StoreError>;
    /// Marks every open reservation row of an order released.
    fn close_reservations(&mut self, order_id: &str, at: Timestamp) -> Result<(), StoreError>;
    /// Makes the order's open reservation rows exactly `rs` (the snapshot's), closing the
    /// rest: after a pick or a shipment has taken part of them.
    fn replace_reservations(
        &mut self,
        order_id: &str,
        rs: &[Reservation],
        at: Timestamp,
    ) -> Result<(), StoreError> {
        self.close_reservations(order_id, at)?;
        self.insert_reservations(order_id, rs, at)
    }
    fn insert_backorder(
        &mut self,
        order_id: &str,
        b: &Shortfall,
        at: Timestamp,
    ) -> Result<(), StoreError>;
    /// Marks every open backorder row of an order cancelled.
    fn cancel_backorders(&mut self, order_id: &str) -> Result<(), StoreError>;
    /// Marks every open reservation and backorder of an order closed.
    fn close_order_holds(&mut self, order_id: &str, at: Timestamp) -> Result<(), StoreError> {
        self.close_reservations(order_id, at)?;
        self.cancel_backorders(order_id)
    }
    /// Orders waiting for `sku` on backorder, oldest order first (at most `limit`).
    fn backordered_orders(&mut self, sku: &str, limit: u32) -> Result<Vec<String>, StoreError>;
    /// Marks an order's open backorder rows filled (the line's remaining backorder, if
    /// any, is written again by the caller).
    fn close_backorders(&mut self, order_id: &str) -> Result<(), StoreError>;
}

/// Messages out: one outbox row per append, claimed and delivered by workers.
pub trait OutboxTx {
    /// Enqueues messages (topic, stream id, payload) for the outbox workers.
    fn enqueue_outbox(
        &mut self,
        messages: &[(&str, &str, String)],
        at: Timestamp,
    ) -> Result<(), StoreError>;
    /// Claims up to `limit` undelivered outbox messages that are due and not leased by
    /// anyone (or whose lease ran out), leasing them to `worker` until `lease_until`.
    /// Concurrent claimers never get the same message: PostgreSQL skips rows another
    /// transaction has locked (`FOR UPDATE SKIP LOCKED`); SQLite has one writer.
    /// A message waits while an earlier one of its stream is undelivered, so a stream's
    /// messages are handled one after another, in order, even by several processes.
    fn claim_outbox(
        &mut self,
        worker: &str,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<OutboxRow>, StoreError>;
    /// Marks messages delivered, but only those `worker` still holds the lease on; returns
    /// how many.
    fn complete_outbox(
        &mut self,
        worker: &str,
        ids: &[i64],
        now: Timestamp,
    ) -> Result<usize, StoreError>;
}

/// Deadlines the timer worker fires as ordinary commands.
pub trait TimersTx {
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
    /// A bulk import's history (`orderly seed`): up to `limit` each of the timers due and
    /// the outbox messages made before `before` are marked done at `before`, so the
    /// workers neither fire the past's deadlines nor announce its events again. Returns
    /// (timers, messages) marked; the caller repeats until both are 0, each round a
    /// transaction of bounded size.
    fn settle_history(&mut self, before: Timestamp, limit: u32) -> Result<(u64, u64), StoreError>;
    /// Deletes up to `limit` each of the outbox messages delivered and the timers fired
    /// before `before`, oldest first: done work, which nothing reads again (the events
    /// are the record). Returns (messages, timers) deleted; the caller repeats until
    /// both are below `limit`, each round a transaction of bounded size.
    fn purge_done(&mut self, before: Timestamp, limit: u32) -> Result<(u64, u64), StoreError>;
}

/// Payment facts kept outside the order stream: inbound provider events (deduplicated by
/// the provider's id), provider tokens, and card fingerprints for the velocity rules.
pub trait PaymentsTx {
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
    /// Remembers that `order_id` is paid with the card `fingerprint`.
    fn record_fingerprint(
        &mut self,
        fingerprint: &str,
        order_id: &str,
        at: Timestamp,
    ) -> Result<(), StoreError>;
    /// Orders paid with this card at or after `since`.
    fn orders_by_card_since(
        &mut self,
        fingerprint: &str,
        since: Timestamp,
    ) -> Result<u32, StoreError>;
}

/// The catalog (products and their barcodes) and the API keys.
pub trait CatalogTx {
    fn product(&mut self, sku: &str) -> Result<Option<ProductRow>, StoreError>;
    /// Catalog facts for the given SKUs (missing SKUs are simply absent).
    fn products(&mut self, skus: &[Sku]) -> Result<Vec<ProductRow>, StoreError> {
        let mut out = Vec::with_capacity(skus.len());
        for sku in skus {
            if let Some(p) = self.product(sku.as_str())? {
                out.push(p);
            }
        }
        Ok(out)
    }
    /// The SKU of the product with this GTIN (barcode number), if any.
    fn sku_by_gtin(&mut self, gtin: &str) -> Result<Option<String>, StoreError>;
    /// Creates a product; `Conflict` when the SKU exists.
    fn create_product(&mut self, p: &NewProduct, now: Timestamp) -> Result<ProductRow, StoreError>;
    /// Applies `patch` when the product's version is `expected_version` (if given).
    /// None when the SKU is unknown; `Conflict` on a stale version.
    fn update_product(
        &mut self,
        sku: &str,
        patch: &ProductPatch,
        expected_version: Option<i64>,
        now: Timestamp,
    ) -> Result<Option<ProductRow>, StoreError>;
    fn insert_api_key(&mut self, key: &NewApiKey) -> Result<(), StoreError>;
    /// Revokes a key at `at` (a key revoked before keeps its first time); `None` if no
    /// key has this id.
    fn revoke_api_key(&mut self, id: &str, at: Timestamp) -> Result<Option<ApiKeyRow>, StoreError>;
    /// Makes a key expire no later than `by` (a rotation's grace period); `None` if no
    /// key has this id.
    fn expire_api_key(&mut self, id: &str, by: Timestamp) -> Result<Option<ApiKeyRow>, StoreError>;
}

/// The read models of fulfillment: fulfillment orders as waves choose them, waves, and
/// shipments as tracking watches them.
pub trait FulfillmentTx {
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
}

/// Exception entries: what a person must look at, opened and resolved with the events
/// that cause and settle them.
pub trait ExceptionsTx {
    /// Opens an exception entry, or opens a resolved one of the same kind and subject
    /// again (the problem came back); an open one stays as it is.
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
}

/// Customers' store credit: balances and the entries that explain them.
pub trait CreditTx {
    fn store_credit_balance(&mut self, email: &str, currency: &str) -> Result<i64, StoreError>;
    /// Applies a change and records it; `Conflict` when the balance would go below zero
    /// (a concurrent redemption won) or the operation was already applied.
    fn change_store_credit(&mut self, change: &CreditChange<'_>) -> Result<i64, StoreError>;
}

/// Returns (RMAs) outside the order stream: their numbers, the read model that lists and
/// finds them, and the customer's history the serial-returner rule reads. The return
/// itself lives in its order's events; these rows are written with them.
pub trait ReturnsTx {
    /// The next RMA number of a channel, `RMA-{prefix}-{n}` with the channel's number
    /// prefix (e.g. `RMA-WEB-1001`), counting from 1001 per channel. Drawn inside the
    /// command's transaction: two transactions never draw the same number, and a run
    /// that does not commit draws none.
    fn next_rma_number(&mut self, channel: &str, prefix: &str) -> Result<String, StoreError>;
    /// Inserts or replaces the return's row (by id); `Conflict` when another return has
    /// its RMA number.
    fn save_return(&mut self, row: &ReturnRow<'_>) -> Result<(), StoreError>;
    /// The (order id, return id) of the return with this RMA number: what receiving by
    /// scanning the RMA needs.
    fn return_by_rma(&mut self, rma: &str) -> Result<Option<(String, String)>, StoreError>;
    /// The customer's returns requested at or after `since`, those that took nothing back
    /// aside (`RETURN_STATES_NOT_COUNTED`): how many, and their value.
    fn customer_return_history(
        &mut self,
        email: &str,
        since: Timestamp,
        currency: &str,
    ) -> Result<(u32, i64), StoreError>;
    /// The sum of the totals of the customer's orders placed at or after `since`,
    /// cancelled orders aside (whatever their currency: the rule compares a share).
    fn customer_purchases_since(
        &mut self,
        email: &str,
        since: Timestamp,
        currency: &str,
    ) -> Result<i64, StoreError>;
}
