//! The store handle the application holds: one type over the backends, so command and
//! query code is written once against `WriteTx` and `Reader`.

use crate::check::CheckReport;
use crate::error::StoreError;
use crate::group::{GroupStats, WriterBusy};
use crate::pg::{PgOptions, PgStore};
use crate::read::Reader;
use crate::sqlite::{SqliteOptions, SqliteStore};
use crate::tx::WriteTx;

/// Errors that can tell a lost race (worth retrying with fresh facts) from a final answer.
pub trait Retryable {
    fn is_retryable(&self) -> bool;
}

impl Retryable for StoreError {
    fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Conflict(_))
    }
}

#[derive(Clone, Debug)]
pub enum Store {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

impl Store {
    /// Opens (and migrates) a SQLite database.
    pub fn open_sqlite(options: &SqliteOptions) -> Result<Store, StoreError> {
        Ok(Store::Sqlite(SqliteStore::open(options)?))
    }

    /// Connects to (and migrates) a PostgreSQL database.
    pub async fn open_postgres(options: &PgOptions) -> Result<Store, StoreError> {
        Ok(Store::Postgres(PgStore::open(options).await?))
    }

    /// Makes sure each channel has what numbering its orders needs (a sequence on
    /// PostgreSQL; nothing on SQLite, whose single writer numbers from a table).
    pub async fn prepare_channels(&self, channels: &[String]) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(_) => Ok(()),
            Store::Postgres(p) => p.prepare_channels(channels).await,
        }
    }

    /// Runs `command` inside a write transaction. Its effects commit only if it returns
    /// `Ok` and the commit succeeds; the answer arrives after the commit is durable. A
    /// command that loses a race (`is_retryable`) runs again with fresh facts, a bounded
    /// number of times, so it must not assume it runs once.
    pub async fn write<T, E, F>(&self, command: F) -> Result<T, E>
    where
        F: FnMut(&mut dyn WriteTx) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Retryable + Send + 'static,
    {
        match self {
            // One writer sees every change in order, so a SQLite decision cannot race.
            Store::Sqlite(s) => s.write(command, false).await,
            Store::Postgres(p) => p.write(command).await,
        }
    }

    /// Runs read-only queries off the async threads.
    pub async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(&mut dyn Reader) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        match self {
            Store::Sqlite(s) => s.read(f).await,
            Store::Postgres(p) => p.read(f).await,
        }
    }

    /// Verifies every stored invariant in one consistent snapshot.
    pub async fn check(&self) -> Result<CheckReport, StoreError> {
        match self {
            Store::Sqlite(s) => s.check().await,
            Store::Postgres(p) => p.check().await,
        }
    }

    /// What group commit has done since the store was opened.
    pub fn group_stats(&self) -> GroupStats {
        match self {
            Store::Sqlite(s) => s.group_stats(),
            Store::Postgres(p) => p.group_stats(),
        }
    }

    /// As `write`, for background work: on SQLite it commits in a group of its own, so
    /// it never weighs on a request's commit and its writer time is counted apart
    /// (`writer_busy`); on PostgreSQL, whose writes run side by side, it is `write`.
    pub async fn write_background<T, E, F>(&self, command: F) -> Result<T, E>
    where
        F: FnMut(&mut dyn WriteTx) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Retryable + Send + 'static,
    {
        match self {
            Store::Sqlite(s) => s.write(command, true).await,
            Store::Postgres(p) => p.write(command).await,
        }
    }

    /// How long the single writer has been busy running and committing groups since the
    /// store was opened, in all and with background work: SQLite's writer serves every
    /// request, so background work can tell from it how much of the writer the requests
    /// are using. `None` on PostgreSQL, whose writes run side by side on pooled
    /// connections.
    pub fn writer_busy(&self) -> Option<WriterBusy> {
        match self {
            Store::Sqlite(s) => Some(s.writer_busy()),
            Store::Postgres(_) => None,
        }
    }

    /// Stops accepting writes and lets queued ones finish.
    pub fn shutdown(&self) {
        match self {
            Store::Sqlite(s) => s.shutdown(),
            Store::Postgres(p) => p.shutdown(),
        }
    }
}
