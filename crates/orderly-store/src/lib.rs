//! Persistence for Orderly. Everything a decision touches (events, the order snapshot and
//! read model, inventory, reservations, the outbox, idempotency records) commits in one
//! transaction. SQLite is written by one dedicated thread with group commit; reads use a
//! small pool of read-only connections. PostgreSQL will implement the same operations.

mod check;
mod error;
mod queries;
mod read;
mod reader;
mod rows;
mod sqlite;
mod write;
mod writer;

pub use check::{CheckReport, Violation, check_invariants};
pub use error::StoreError;
pub use read::{OrderFilter, Reader};
pub use rows::{
    ApiKeyRow, EventRow, IdempotencyRecord, InventoryRow, MovementRow, NewProduct, ProductPatch,
    ProductRow, StoredBody,
};
pub use sqlite::{SqliteOptions, Store, Synchronous, migrate};
pub use write::{EventMeta, WriteTx};

use jiff::Timestamp;

/// Milliseconds since the epoch, the storage form of every time column.
pub(crate) fn to_ms(t: Timestamp) -> i64 {
    t.as_millisecond()
}

pub(crate) fn from_ms(ms: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_millisecond(ms)
        .map_err(|e| StoreError::Corrupt(format!("bad timestamp {ms}: {e}")))
}
