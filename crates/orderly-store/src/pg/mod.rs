//! The PostgreSQL backend, for several `orderly serve` processes on one database.
//! Commands are the same closures as on SQLite: each runs on a blocking thread in its own
//! transaction on a pooled connection (statements are awaited with `block_on`, which is
//! allowed there), so many commands run at once. Races between processes are settled by
//! the database: guarded stock updates, unique (stream, version) on events, unique
//! idempotency keys and external ids; the loser gets `Conflict` and is retried with fresh
//! facts. Order numbers come from one sequence per channel (unique, gap-tolerant),
//! drawn a block at a time (see `NumberBlocks`).
//!
//! Round trips and statements are what a command costs here (see `Conn`), so a command
//! with an idempotency key first runs on the assumption that its key is new (see
//! `PgTx::find_idempotency`): the key's unique index settles it at COMMIT; and a command
//! whose writes are one statement of row writes (placing an order, a payment step) leaves
//! them to the process's committer, which sends the writes of several commands as one
//! statement and one commit (see `batch`).

mod batch;
mod cases;
mod catalog;
mod conn;
mod console;
mod customers;
mod deferred;
mod delivery;
mod fulfillment;
mod inventory;
mod kpi;
mod migrate;
mod numbers;
mod params;
mod read;
mod returns;
mod statement;
mod work;
mod write;

use crate::check::{self, CheckReport};
use crate::error::StoreError;
use crate::group::{GroupCounters, GroupStats};
use crate::read::Reader;
use crate::store::Retryable;
use crate::tx::WriteTx;
use batch::Batcher;
pub(crate) use conn::{Conn, owned};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use deferred::Deferred;
use migrate::migrate;
pub(crate) use numbers::{NUMBER_BLOCK, NumberBlocks};
use orderly_domain::kpi::KpiRules;
pub(crate) use params::{Column, StockMove};
use read::PgReader;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::Arc;
use std::time::Duration;
use tokio::runtime::Handle;
use tokio_postgres::error::SqlState;
use tokio_postgres::{NoTls, Row};
use write::{KeyCheck, PgTx};

/// Connection settings, from configuration.
#[derive(Debug, Clone)]
pub struct PgOptions {
    pub url: String,
    pub pool_size: usize,
    /// Longest a statement may run before the server cancels it.
    pub statement_timeout_ms: u64,
    /// `on` (durable at commit), `remote_apply`, `local`, or `off`.
    pub synchronous_commit: String,
    /// Longest a request waits for a pooled connection (or to connect) before a 503.
    pub connect_timeout_ms: u64,
    /// Whether commands whose writes can join are committed together by the committer
    /// (see `batch`); off, every command commits alone.
    pub group_commit: bool,
    /// What the KPI counters kept by every append need from configuration.
    pub kpi: Arc<KpiRules>,
}

impl PgOptions {
    pub fn new(url: impl Into<String>) -> PgOptions {
        PgOptions {
            url: url.into(),
            pool_size: 16,
            statement_timeout_ms: 5_000,
            synchronous_commit: "on".into(),
            connect_timeout_ms: 2_000,
            group_commit: true,
            kpi: Arc::default(),
        }
    }
}

/// How a read transaction sees concurrent writes.
enum Isolation {
    ReadCommitted,
    /// One snapshot for the whole transaction (REPEATABLE READ).
    Snapshot,
}

/// How many times a command that lost a race runs again before giving up.
const MAX_ATTEMPTS: u32 = 16;

#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
    numbers: Arc<NumberBlocks>,
    batcher: Batcher,
    group_commit: bool,
    groups: Arc<GroupCounters>,
    kpi: Arc<KpiRules>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("pool", &self.pool.status())
            .field("numbers", &self.numbers)
            .finish()
    }
}

/// Maps a driver error: lost races are `Conflict`, an unreachable or restarting server
/// is `Unavailable`, the rest are faults.
pub(crate) fn pg_error(e: tokio_postgres::Error) -> StoreError {
    if let Some(db) = e.as_db_error() {
        let code = db.code();
        let conflict = [
            SqlState::UNIQUE_VIOLATION,
            SqlState::T_R_SERIALIZATION_FAILURE,
            SqlState::T_R_DEADLOCK_DETECTED,
            SqlState::CHECK_VIOLATION,
        ];
        let unavailable = [
            SqlState::ADMIN_SHUTDOWN,
            SqlState::CRASH_SHUTDOWN,
            SqlState::CANNOT_CONNECT_NOW,
            SqlState::QUERY_CANCELED,
            SqlState::TOO_MANY_CONNECTIONS,
        ];
        if conflict.contains(code) {
            return StoreError::Conflict(db.message().to_owned());
        }
        if unavailable.contains(code) {
            return StoreError::Unavailable(db.message().to_owned());
        }
        return StoreError::Database(format!("{}: {}", code.code(), db.message()));
    }
    if e.is_closed() || std::error::Error::source(&e).is_some_and(|s| s.is::<std::io::Error>()) {
        return StoreError::Unavailable(e.to_string());
    }
    StoreError::Database(e.to_string())
}

fn pool_error(e: deadpool_postgres::PoolError) -> StoreError {
    StoreError::Unavailable(format!("no database connection: {e}"))
}

/// A column that must hold a value; a mismatch is corrupt data, not a panic.
pub(crate) fn col<'a, T: tokio_postgres::types::FromSql<'a>>(
    row: &'a Row,
    i: usize,
) -> Result<T, StoreError> {
    row.try_get(i)
        .map_err(|e| StoreError::Corrupt(format!("column {i}: {e}")))
}

/// Quotes a channel id into the name of its order-number sequence.
pub(crate) fn sequence_name(channel: &str) -> String {
    let safe: String = channel
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("\"order_number_{safe}\"")
}

impl PgStore {
    /// Connects, migrates (under an advisory lock, so processes starting together do not
    /// race) and builds the pool.
    pub async fn open(options: &PgOptions) -> Result<PgStore, StoreError> {
        let mut config: tokio_postgres::Config = options
            .url
            .parse()
            .map_err(|e| StoreError::Database(format!("bad PostgreSQL URL: {e}")))?;
        // Generic plans only: every statement is prepared once per connection and written
        // for plans that do not depend on its parameters (as SQLite plans them). Left to
        // choose, PostgreSQL kept re-planning the order-facts statement on some
        // connections (a sixth of its executions, 0.47 ms of planning each), because the
        // cost estimate of `= ANY($1)` made the generic plan look dearer.
        //
        // No sequential scans where an index serves: a plan is made once per connection,
        // often while a table is still small (a new database, a small catalog), and kept
        // for the connection's life. The inventory of a 50-product catalog fits in two
        // pages, so the stock lock and the order facts were planned as scans of the whole
        // table; under load its rows pile up dead versions (15 to 30 pages within
        // seconds) and every order scanned them all. `orderly check`, which reads whole
        // tables, turns scans back on for its own transaction.
        config.options(format!(
            "-c statement_timeout={} -c synchronous_commit={} -c plan_cache_mode=force_generic_plan \
             -c enable_seqscan=off",
            options.statement_timeout_ms, options.synchronous_commit
        ));
        config.connect_timeout(Duration::from_millis(options.connect_timeout_ms));
        migrate(&config).await?;
        let timeout = Some(Duration::from_millis(options.connect_timeout_ms));
        let pool = |size: usize| {
            let manager = Manager::from_config(
                config.clone(),
                NoTls,
                ManagerConfig {
                    recycling_method: RecyclingMethod::Fast,
                },
            );
            Pool::builder(manager)
                .max_size(size.max(1))
                .wait_timeout(timeout)
                .create_timeout(timeout)
                .recycle_timeout(timeout)
                .runtime(Runtime::Tokio1)
                .build()
                .map_err(|e| StoreError::Database(format!("cannot build the pool: {e}")))
        };
        // The committer has a connection of its own: it must never queue for the pool
        // behind the commands whose writes it carries.
        let groups = Arc::new(GroupCounters::default());
        Ok(PgStore {
            pool: pool(options.pool_size)?,
            batcher: Batcher::start(pool(1)?, groups.clone()),
            numbers: Arc::default(),
            group_commit: options.group_commit,
            groups,
            kpi: options.kpi.clone(),
        })
    }

    /// Creates the order-number sequences of these channels if they are missing, and
    /// makes each count in blocks of `NUMBER_BLOCK` (a sequence from before blocks
    /// counted by one; every value it already gave out stays below the next block).
    pub(crate) async fn prepare_channels(&self, channels: &[String]) -> Result<(), StoreError> {
        let client = self.pool.get().await.map_err(pool_error)?;
        for channel in channels {
            let name = sequence_name(channel);
            let sql = format!(
                "CREATE SEQUENCE IF NOT EXISTS {name} START 1001 INCREMENT BY {NUMBER_BLOCK};
                 ALTER SEQUENCE {name} INCREMENT BY {NUMBER_BLOCK}"
            );
            client.batch_execute(&sql).await.map_err(pg_error)?;
        }
        Ok(())
    }

    pub(crate) async fn write<T, E, F>(&self, mut command: F) -> Result<T, E>
    where
        F: FnMut(&mut dyn WriteTx) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Retryable + Send + 'static,
    {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut client = self.pool.get().await.map_err(|e| E::from(pool_error(e)))?;
            let handle = Handle::current();
            let numbers = self.numbers.clone();
            let kpi = self.kpi.clone();
            // Only the first run assumes its idempotency key is new.
            let keys = if attempt == 1 {
                KeyCheck::AtCommit
            } else {
                KeyCheck::First
            };
            let join = self.group_commit;
            let (returned, run) = tokio::task::spawn_blocking(move || {
                let tx = TxParts {
                    numbers: &numbers,
                    kpi: &kpi,
                    keys,
                };
                let run = run_write(&handle, &mut client, tx, join, &mut command);
                (command, run)
            })
            .await
            .map_err(|e| E::from(StoreError::Unavailable(format!("write task failed: {e}"))))?;
            command = returned;
            let Attempt {
                ending,
                kpi,
                assumed_new_key,
            } = run;
            let result = match ending {
                Ok(Ending::Committed(value)) => Ok(value),
                Ok(Ending::Queued {
                    value,
                    writes,
                    drawn,
                }) => {
                    let committed = self.batcher.commit(writes).await;
                    let unused = committed.as_ref().is_err_and(rolled_back);
                    give_back(&self.numbers, drawn, unused);
                    committed.map(|()| value).map_err(E::from)
                }
                Err(e) => Err(e),
            };
            if result.is_ok() {
                kpi::add_after(&self.pool, &kpi).await;
            }
            match result {
                // A refusal may be wrong when the key was only assumed new: its first
                // request may have succeeded, and then that answer is replayed. Run again
                // with the key looked up first.
                Err(e) if assumed_new_key && !e.is_retryable() && attempt < MAX_ATTEMPTS => {}
                Err(e) if e.is_retryable() && attempt < MAX_ATTEMPTS => {
                    // Spread the retries of racing commands apart a little.
                    tokio::time::sleep(Duration::from_millis(u64::from(attempt) * 2)).await;
                }
                other => return other,
            }
        }
    }

    pub(crate) async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(&mut dyn Reader) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        self.read_at(Isolation::ReadCommitted, f).await
    }

    /// `orderly check` in one REPEATABLE READ snapshot: a consistent picture even while
    /// other processes keep writing.
    pub(crate) async fn check(&self) -> Result<CheckReport, StoreError> {
        self.read_at(Isolation::Snapshot, |r| check::run(r)).await
    }

    async fn read_at<T, F>(&self, isolation: Isolation, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(&mut dyn Reader) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        let client = self.pool.get().await.map_err(pool_error)?;
        let handle = Handle::current();
        let begin = match isolation {
            Isolation::ReadCommitted => &statement::BEGIN_READ_ONLY,
            Isolation::Snapshot => &statement::BEGIN_SNAPSHOT,
        };
        tokio::task::spawn_blocking(move || {
            let conn = match isolation {
                // Plain SELECTs never open it: each sees the latest commits, as it would.
                Isolation::ReadCommitted => Conn::lazy(&client, &handle, begin),
                Isolation::Snapshot => {
                    let conn = Conn::begin(&client, &handle, begin);
                    // Whole-table reads: scans are the right plan here (see `open`).
                    conn.defer(&statement::SEQ_SCAN_ON, Vec::new());
                    conn
                }
            };
            let mut reader = PgReader::new(conn);
            let result = f(&mut reader);
            let conn = reader.into_conn();
            match result {
                Ok(value) => conn.commit().map(|()| value),
                Err(e) => {
                    conn.rollback();
                    Err(e)
                }
            }
        })
        .await
        .map_err(|e| StoreError::Unavailable(format!("read task failed: {e}")))?
    }

    pub(crate) fn group_stats(&self) -> GroupStats {
        self.groups.snapshot()
    }

    /// Closes the pool of request connections; the committer still commits what is
    /// queued (see `Batcher::start`).
    pub(crate) fn shutdown(&self) {
        self.pool.close();
    }
}

/// One run of a command on its connection.
struct Attempt<T, E> {
    ending: Result<Ending<T>, E>,
    /// The KPI counter rows to add once it committed.
    kpi: crate::kpi::KpiRows,
    /// Whether it took an idempotency key for new without looking it up.
    assumed_new_key: bool,
}

/// How a command that succeeded ended.
enum Ending<T> {
    Committed(T),
    /// Its writes wait to be committed with other commands' (see `batch`); the order
    /// numbers it drew are given back if they fail (see `give_back`).
    Queued {
        value: T,
        writes: Vec<Deferred>,
        drawn: Vec<(String, i64)>,
    },
}

/// What a write transaction holds beside its connection.
pub(crate) struct TxParts<'a> {
    pub(crate) numbers: &'a NumberBlocks,
    pub(crate) kpi: &'a KpiRules,
    pub(crate) keys: KeyCheck,
}

/// Runs one attempt of a command, and commits it unless its writes can join others'.
fn run_write<T, E, F>(
    handle: &Handle,
    client: &mut deadpool_postgres::Object,
    tx: TxParts<'_>,
    join: bool,
    command: &mut F,
) -> Attempt<T, E>
where
    F: FnMut(&mut dyn WriteTx) -> Result<T, E>,
    E: From<StoreError>,
{
    let numbers = tx.numbers;
    let mut pg = PgTx::new(Conn::lazy(client, handle, &statement::BEGIN), tx);
    // A panicking command must not hand a connection with an open transaction back to
    // the pool: roll back, then let the panic continue.
    let result = catch_unwind(AssertUnwindSafe(|| command(&mut pg)));
    let assumed_new_key = pg.assumed_new_key();
    let drawn = pg.drawn_numbers();
    let kpi = std::mem::take(&mut pg.kpi_rows);
    let conn = pg.into_conn();
    let ending = match result {
        Ok(Ok(value)) => {
            if join && let Some(writes) = conn.take_joinable() {
                return Attempt {
                    ending: Ok(Ending::Queued {
                        value,
                        writes,
                        drawn,
                    }),
                    kpi,
                    assumed_new_key,
                };
            }
            let committed = conn.commit();
            give_back(numbers, drawn, committed.as_ref().is_err_and(rolled_back));
            committed
                .map(|()| Ending::Committed(value))
                .map_err(E::from)
        }
        Ok(Err(e)) => {
            conn.rollback();
            give_back(numbers, drawn, true);
            Err(e)
        }
        Err(panic) => {
            conn.rollback();
            resume_unwind(panic)
        }
    };
    Attempt {
        ending,
        kpi,
        assumed_new_key,
    }
}

/// Gives the order numbers a run drew back to the next order when the run surely did
/// not commit (the command refused, or its commit `rolled_back`), so a lost race or a
/// replay leaves no gap in the numbering.
fn give_back(numbers: &NumberBlocks, drawn: Vec<(String, i64)>, unused: bool) {
    if unused {
        for (channel, n) in drawn {
            numbers.give_back(&channel, n);
        }
    }
}

/// Whether a failed commit surely left its order numbers unused: a statement refused by
/// a constraint rolled back. A lost connection may have committed, and a clash on the
/// number itself means it is taken.
fn rolled_back(e: &StoreError) -> bool {
    matches!(e, StoreError::Conflict(m) if !m.contains("orders_number_key"))
}

/// The columns [`api_key_row`] reads, in its order.
pub(crate) const API_KEY_COLUMNS: &str =
    "id, name, role, channels, created_at, expires_at, revoked_at";

/// An API key row read with [`API_KEY_COLUMNS`].
pub(crate) fn api_key_row(r: &Row) -> Result<crate::rows::ApiKeyRow, StoreError> {
    let role: String = col(r, 2)?;
    let time = |i: usize| -> Result<Option<jiff::Timestamp>, StoreError> {
        col::<Option<i64>>(r, i)?.map(crate::from_ms).transpose()
    };
    Ok(crate::rows::ApiKeyRow {
        id: col(r, 0)?,
        name: col(r, 1)?,
        role: orderly_domain::actor::Role::parse(&role)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown role {role}")))?,
        channels: crate::rows::channels_from_column(col(r, 3)?)?,
        created_at: crate::from_ms(col(r, 4)?)?,
        expires_at: time(5)?,
        revoked_at: time(6)?,
    })
}
