//! Persistence for Orderly. Everything a decision touches (events, the order snapshot and
//! read model, inventory, reservations, the outbox, idempotency records) commits in one
//! transaction. Commands and queries are written against the `WriteTx` contract (the
//! union of one trait per capability: order events, inventory, outbox, timers, payments,
//! catalog, fulfillment, exceptions, credit, returns) and `Reader`; SQLite implements them with one writer thread and group commit, PostgreSQL
//! with pooled connections shared by many processes.

/// `SELECT <every product column> FROM products <rest>` as one literal, the column list
/// written once for both backends (and no formatting on the hot path).
macro_rules! product_select {
    ($rest:literal) => {
        concat!(
            "SELECT sku, name, price_minor, currency, weight_grams, category, returnable, active, ",
            "created_at, updated_at, version, gtin FROM products ",
            $rest
        )
    };
}

/// The columns of an exception entry, in `ExceptionRow` order, then `$rest`.
macro_rules! exception_select {
    ($($rest:literal),+) => {
        concat!(
            "SELECT id, queue, kind, order_id, subject_id, detail, opened_at, resolved_at, ",
            "resolved_by, resolution FROM exceptions ",
            $($rest),+
        )
    };
}

mod cases;
mod check;
mod check_streams;
mod console;
mod customers;
mod delivery;
mod error;
mod group;
mod kpi;
mod pg;
mod read;
mod rows;
mod sqlite;
mod store;
mod tx;
mod work;

pub use cases::{
    CAUSE_SLOT_MS, CaseFilter, CaseListed, CaseQueue, CaseReads, CaseRow, CasesTx, CauseCount,
    CauseDimension, CauseFacts, ContactCounts,
};
pub use check::{CheckReport, Violation};
pub use console::{ConsoleReads, ConsoleTx, ConsoleUserRow, FailedLogin, SessionRow};
pub use customers::{
    CustomerFilter, CustomerReads, CustomerRecord, CustomerSearch, CustomersTx, search_key,
};
pub use delivery::{
    AttemptRow, ClaimedDelivery, DeliveryOutcome, DeliveryReads, DeliveryRecord, DeliveryTx,
    FeedEntry, MessageContent, MessageOutcome, MessageRow, NewDelivery, NewMessage, Next,
    SubscriptionRow,
};
pub use error::StoreError;
pub use group::{GroupStats, WriterBusy};
pub use kpi::{
    KpiKey, KpiMarks, KpiReads, KpiRows, KpiSums, KpiTx, MarkRow, Recomputed, recompute,
};
pub use pg::{PgOptions, PgStore};
pub use read::{
    Backlog, ExceptionFilter, OpenReservation, OrderFilter, OrderRow, Reader, ReturnFilter,
    ReturnOrderMismatch, ReturnRecord, ReturnRequestRow, ShippedRow, WaveFilter, WaveRow,
    WaveSummary, search_text,
};
pub use rows::{
    ApiKeyRow, EventRow, ExceptionCount, ExceptionRow, HistoryRow, IdempotencyRecord, InventoryRow,
    MovementRow, NewApiKey, NewProduct, OutboxRow, ProductPatch, ProductRow, StoreCreditRow,
    StoredBody, StreamType,
};
pub use sqlite::{SqliteOptions, SqliteStore, Synchronous, backup as backup_sqlite, migrate};
pub use store::{Retryable, Store};
pub use tx::{
    CatalogTx, CreditTx, EventMeta, ExceptionsTx, FulfillmentTx, InventoryTx, NewEvent,
    NewOrderFacts, ORDER_TOPIC, OrderEvents, OutboxTx, PaymentsTx, ReservedMove, ReturnsTx,
    TimersTx, Velocity, WriteTx,
};
pub use work::{
    CreditChange, NewException, NewTimer, RETURN_STATES_NOT_COUNTED, ReturnRow, TimerRow,
    timer_kind,
};

use jiff::Timestamp;

/// The migration after which every order's derived state columns are recomputed from its
/// snapshot (V11 changed what the status means and added refund and hold columns).
pub(crate) const RECOMPUTE_STATES_AT: i32 = 11;

/// The migration after which SQLite folds the customers' search keys in Rust (V19
/// created the rows from the orders; PostgreSQL folds them in its SQL).
pub(crate) const CUSTOMER_KEYS_AT: i32 = 19;

/// Milliseconds since the epoch, the storage form of every time column.
pub(crate) fn to_ms(t: Timestamp) -> i64 {
    t.as_millisecond()
}

pub(crate) fn from_ms(ms: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_millisecond(ms)
        .map_err(|e| StoreError::Corrupt(format!("bad timestamp {ms}: {e}")))
}
