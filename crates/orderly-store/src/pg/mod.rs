//! The PostgreSQL backend, for several `orderly serve` processes on one database.
//! Commands are the same closures as on SQLite: each runs on a blocking thread in its own
//! transaction on a pooled connection (statements are awaited with `block_on`, which is
//! allowed there), so many commands run at once. Races between processes are settled by
//! the database: guarded stock updates, unique (stream, version) on events, unique
//! idempotency keys and external ids; the loser gets `Conflict` and is retried with fresh
//! facts. Order numbers come from one sequence per channel (unique, gap-tolerant).

mod read;
mod work;
mod write;

use crate::check::{self, CheckReport};
use crate::error::StoreError;
use crate::read::Reader;
use crate::store::Retryable;
use crate::tx::WriteTx;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use futures_util::future::{join, try_join_all};
use read::PgReader;
use std::cell::RefCell;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::time::Duration;
use tokio::runtime::Handle;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{NoTls, Row, Statement};
use write::PgTx;

mod embedded {
    refinery::embed_migrations!("migrations/postgres");
}

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
}

impl PgOptions {
    pub fn new(url: impl Into<String>) -> PgOptions {
        PgOptions {
            url: url.into(),
            pool_size: 16,
            statement_timeout_ms: 5_000,
            synchronous_commit: "on".into(),
            connect_timeout_ms: 2_000,
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
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("pool", &self.pool.status())
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

/// A statement parameter owned by a deferred statement.
pub(crate) type Owned = Box<dyn ToSql + Sync + Send>;

pub(crate) fn owned<T: ToSql + Sync + Send + 'static>(value: T) -> Owned {
    Box::new(value)
}

/// A write whose result nobody reads until the transaction ends.
struct Deferred {
    sql: &'static str,
    params: Vec<Owned>,
}

/// Statement helpers over one transaction, shared by the write and read sides.
///
/// Round trips, not SQL, are what a command costs here, so writes whose result nothing
/// reads (inserts of events, rows, movements, outbox messages) are deferred and sent
/// pipelined, in order, together with the next query or with the final flush before
/// COMMIT. A deferred write that fails fails the command just the same, only later.
pub(crate) struct Conn<'a> {
    client: &'a deadpool_postgres::ClientWrapper,
    handle: &'a Handle,
    deferred: RefCell<Vec<Deferred>>,
}

impl<'a> Conn<'a> {
    /// Opens a transaction with `begin` (e.g. `BEGIN`), sent with the first statement.
    pub(crate) fn begin(
        client: &'a deadpool_postgres::ClientWrapper,
        handle: &'a Handle,
        begin: &'static str,
    ) -> Self {
        let conn = Conn {
            client,
            handle,
            deferred: RefCell::new(Vec::new()),
        };
        conn.defer(begin, Vec::new());
        conn
    }

    /// Sends what is deferred and COMMIT, in one round trip.
    pub(crate) fn commit(&self) -> Result<(), StoreError> {
        self.defer("COMMIT", Vec::new());
        let result = self.flush();
        if result.is_err() {
            self.rollback();
        }
        result
    }

    /// Ends the transaction without keeping anything (also after a failed COMMIT, where it
    /// is a harmless no-op), so the pooled connection goes back clean.
    pub(crate) fn rollback(&self) {
        self.deferred.take();
        if let Err(e) = self.handle.block_on(self.client.batch_execute("ROLLBACK")) {
            tracing::warn!(error = %e, "ROLLBACK failed; the connection will be replaced");
        }
    }

    /// Queues a write to be sent with the next statement or the final flush.
    pub(crate) fn defer(&self, sql: &'static str, params: Vec<Owned>) {
        self.deferred.borrow_mut().push(Deferred { sql, params });
    }

    /// Sends every deferred write (pipelined) and waits for them.
    pub(crate) fn flush(&self) -> Result<(), StoreError> {
        if self.deferred.borrow().is_empty() {
            return Ok(());
        }
        self.pipelined(&[], |_| async { Ok(()) })
    }

    /// Prepares the deferred writes and `sqls` first, then sends the writes and whatever
    /// `run` issues on the prepared statements in one pipeline. Nothing is sent before
    /// everything is prepared, so the server executes them in exactly this order.
    fn pipelined<T, F, Fut>(&self, sqls: &[&str], run: F) -> Result<T, StoreError>
    where
        F: FnOnce(Vec<Statement>) -> Fut,
        Fut: Future<Output = Result<T, tokio_postgres::Error>>,
    {
        let deferred = self.deferred.take();
        self.handle.block_on(async {
            let writes = self.prepare_writes(&deferred).await?;
            // Cache misses are prepared together (one round trip), never executed early.
            let statements = try_join_all(sqls.iter().map(|sql| self.client.prepare_cached(sql)))
                .await
                .map_err(pg_error)?;
            let sent = writes
                .iter()
                .map(|(stmt, params)| self.client.execute(stmt, params));
            let (written, result) = join(try_join_all(sent), run(statements)).await;
            written.map_err(pg_error)?;
            result.map_err(pg_error)
        })
    }

    /// The deferred writes as prepared statements: consecutive writes become one statement
    /// (each a data-modifying CTE, which PostgreSQL always runs to completion);
    /// transaction control stays on its own.
    async fn prepare_writes<'d>(
        &self,
        deferred: &'d [Deferred],
    ) -> Result<Vec<(Statement, Vec<&'d (dyn ToSql + Sync)>)>, StoreError> {
        let mut batches: Vec<(String, Vec<&(dyn ToSql + Sync)>)> = Vec::new();
        let mut run: Vec<&Deferred> = Vec::new();
        for d in deferred {
            // Transaction control, and statements with CTEs of their own (which cannot
            // nest inside another CTE), go on their own, still in the same pipeline.
            if matches!(d.sql, "COMMIT") || d.sql.starts_with("BEGIN") || d.sql.starts_with("WITH")
            {
                batches.extend(combine(&run));
                run.clear();
                batches.extend(combine(&[d]));
                continue;
            }
            // Sibling CTEs share one snapshot: a second write to a table the run already
            // writes (the read model saved twice by one command) would not see the first,
            // so it starts a new statement, still in the same pipeline.
            if run
                .iter()
                .any(|r| target_table(r.sql) == target_table(d.sql))
            {
                batches.extend(combine(&run));
                run.clear();
            }
            run.push(d);
        }
        batches.extend(combine(&run));
        let statements = try_join_all(
            batches
                .iter()
                .map(|(sql, _)| self.client.prepare_cached(sql)),
        )
        .await
        .map_err(pg_error)?;
        Ok(statements
            .into_iter()
            .zip(batches)
            .map(|(statement, (_, params))| (statement, params))
            .collect())
    }

    /// Runs `sql` after (and pipelined with) every deferred write.
    pub(crate) fn query(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, StoreError> {
        self.pipelined(
            &[sql],
            |s| async move { self.client.query(&s[0], params).await },
        )
    }

    /// Runs three queries in one round trip (after every deferred write).
    /// Runs independent reads in one round trip; their rows in the same order.
    pub(crate) fn query_all(
        &self,
        queries: &[(&str, &[&(dyn ToSql + Sync)])],
    ) -> Result<Vec<Vec<Row>>, StoreError> {
        let sqls: Vec<&str> = queries.iter().map(|(sql, _)| *sql).collect();
        self.pipelined(&sqls, |s| async move {
            try_join_all(
                s.iter()
                    .zip(queries)
                    .map(|(stmt, (_, params))| self.client.query(stmt, params)),
            )
            .await
        })
    }

    pub(crate) fn query_opt(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, StoreError> {
        let mut rows = self.query(sql, params)?;
        match rows.len() {
            0 => Ok(None),
            1 => Ok(rows.pop()),
            n => Err(StoreError::Corrupt(format!(
                "expected at most one row, got {n}"
            ))),
        }
    }

    pub(crate) fn execute(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, StoreError> {
        self.pipelined(&[sql], |s| async move {
            self.client.execute(&s[0], params).await
        })
    }
}

/// The table a write statement changes (`INSERT INTO t`, `UPDATE t`, `DELETE FROM t`).
fn target_table(sql: &str) -> Option<&str> {
    let rest = sql
        .strip_prefix("INSERT INTO ")
        .or_else(|| sql.strip_prefix("UPDATE "))
        .or_else(|| sql.strip_prefix("DELETE FROM "))?;
    rest.split(|c: char| c.is_whitespace() || c == '(').next()
}

/// One statement for a run of deferred writes: the writes themselves when there is one,
/// else `WITH w0 AS (…), w1 AS (…) SELECT 1` with each write's parameters renumbered.
fn combine<'d>(run: &[&'d Deferred]) -> Option<(String, Vec<&'d (dyn ToSql + Sync)>)> {
    let as_refs = |d: &'d Deferred| d.params.iter().map(|p| p.as_ref() as &(dyn ToSql + Sync));
    match run {
        [] => None,
        [one] => Some((one.sql.to_owned(), as_refs(one).collect())),
        many => {
            let mut sql = String::from("WITH ");
            let mut params = Vec::new();
            for (i, d) in many.iter().enumerate() {
                if i > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&format!("w{i} AS ({})", renumber(d.sql, params.len())));
                params.extend(as_refs(d));
            }
            sql.push_str(" SELECT 1");
            Some((sql, params))
        }
    }
}

/// `$n` placeholders shifted by `offset` (our statements have no `$` elsewhere).
fn renumber(sql: &str, offset: usize) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '$' {
            out.push(c);
            continue;
        }
        let mut digits = String::new();
        while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
            digits.push(*d);
            chars.next();
        }
        match digits.parse::<usize>() {
            Ok(n) => out.push_str(&format!("${}", n + offset)),
            Err(_) => out.push('$'),
        }
    }
    out
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
        config.options(format!(
            "-c statement_timeout={} -c synchronous_commit={}",
            options.statement_timeout_ms, options.synchronous_commit
        ));
        config.connect_timeout(Duration::from_millis(options.connect_timeout_ms));
        migrate(&config).await?;
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let timeout = Some(Duration::from_millis(options.connect_timeout_ms));
        let pool = Pool::builder(manager)
            .max_size(options.pool_size.max(1))
            .wait_timeout(timeout)
            .create_timeout(timeout)
            .recycle_timeout(timeout)
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|e| StoreError::Database(format!("cannot build the pool: {e}")))?;
        Ok(PgStore { pool })
    }

    /// Creates the order-number sequences of these channels if they are missing.
    pub(crate) async fn prepare_channels(&self, channels: &[String]) -> Result<(), StoreError> {
        let client = self.pool.get().await.map_err(pool_error)?;
        for channel in channels {
            let sql = format!(
                "CREATE SEQUENCE IF NOT EXISTS {} START 1001",
                sequence_name(channel)
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
            let (returned, result) = tokio::task::spawn_blocking(move || {
                let result = run_write(&handle, &mut client, &mut command);
                (command, result)
            })
            .await
            .map_err(|e| E::from(StoreError::Unavailable(format!("write task failed: {e}"))))?;
            command = returned;
            match result {
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
            Isolation::ReadCommitted => "BEGIN READ ONLY",
            Isolation::Snapshot => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        };
        tokio::task::spawn_blocking(move || {
            let conn = Conn::begin(&client, &handle, begin);
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

    pub(crate) fn shutdown(&self) {
        self.pool.close();
    }
}

fn run_write<T, E, F>(
    handle: &Handle,
    client: &mut deadpool_postgres::Object,
    command: &mut F,
) -> Result<T, E>
where
    F: FnMut(&mut dyn WriteTx) -> Result<T, E>,
    E: From<StoreError>,
{
    let mut pg = PgTx::new(Conn::begin(client, handle, "BEGIN"));
    // A panicking command must not hand a connection with an open transaction back to
    // the pool: roll back, then let the panic continue.
    let result = catch_unwind(AssertUnwindSafe(|| command(&mut pg)));
    let conn = pg.into_conn();
    match result {
        Ok(Ok(value)) => conn.commit().map(|()| value).map_err(E::from),
        Ok(Err(e)) => {
            conn.rollback();
            Err(e)
        }
        Err(panic) => {
            conn.rollback();
            resume_unwind(panic)
        }
    }
}
/// Applies pending migrations on a dedicated connection, holding an advisory lock so
/// that processes starting at the same moment migrate one after the other.
async fn migrate(config: &tokio_postgres::Config) -> Result<(), StoreError> {
    let (mut client, connection) = config.connect(NoTls).await.map_err(pg_error)?;
    let task = tokio::spawn(connection);
    const LOCK: &str = "SELECT pg_advisory_lock(7212642017)";
    client.batch_execute(LOCK).await.map_err(pg_error)?;
    let result = embedded::migrations::runner()
        .run_async(&mut client)
        .await
        .map(|_| ())
        .map_err(|e| StoreError::Database(format!("migration failed: {e}")));
    let _ = client
        .batch_execute("SELECT pg_advisory_unlock(7212642017)")
        .await;
    drop(client);
    let _ = task.await;
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deferred(sql: &'static str, n: usize) -> Deferred {
        Deferred {
            sql,
            params: (0..n).map(|i| owned(i as i64)).collect(),
        }
    }

    #[test]
    fn writes_name_their_table() {
        assert_eq!(
            target_table("INSERT INTO orders (id) VALUES ($1)"),
            Some("orders")
        );
        assert_eq!(target_table("UPDATE orders SET x = 1"), Some("orders"));
        assert_eq!(
            target_table("DELETE FROM timers WHERE id = $1"),
            Some("timers")
        );
        assert_eq!(
            target_table("INSERT INTO reservations(order_id) VALUES ($1)"),
            Some("reservations")
        );
        assert_eq!(target_table("COMMIT"), None);
    }

    #[test]
    fn placeholders_are_shifted_past_earlier_parameters() {
        assert_eq!(renumber("VALUES ($1, $2, $10)", 3), "VALUES ($4, $5, $13)");
        assert_eq!(renumber("no placeholders", 5), "no placeholders");
    }

    #[test]
    fn a_run_of_writes_becomes_one_statement_with_all_parameters() {
        let a = deferred("INSERT INTO t VALUES ($1, $2)", 2);
        let b = deferred("UPDATE u SET x = $1 WHERE id = $2", 2);
        let (sql, params) = combine(&[&a, &b]).unwrap();
        assert_eq!(
            sql,
            "WITH w0 AS (INSERT INTO t VALUES ($1, $2)), w1 AS (UPDATE u SET x = $3 WHERE id = $4) SELECT 1"
        );
        assert_eq!(params.len(), 4);
        let (single, _) = combine(&[&a]).unwrap();
        assert_eq!(single, a.sql);
        assert!(combine(&[]).is_none());
    }
}
