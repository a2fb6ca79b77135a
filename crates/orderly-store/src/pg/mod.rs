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
mod read;
mod work;
mod write;

use crate::check::{self, CheckReport};
use crate::error::StoreError;
use crate::read::Reader;
use crate::store::Retryable;
use crate::tx::WriteTx;
use batch::{Batcher, Column, Params, StockMove};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use futures_util::future::{join, try_join_all};
use read::PgReader;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::ops::Range;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;
use tokio::runtime::Handle;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{NoTls, Row, Statement};
use write::{KeyCheck, PgTx};

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
    /// Whether commands whose writes can join are committed together by the committer
    /// (see `batch`); off, every command commits alone.
    pub group_commit: bool,
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
}

/// How many order numbers one `nextval` hands to this process: its channel sequence
/// counts in steps of this size, and the process numbers orders from its block without
/// a round trip. Unique across processes; a restart leaves the rest of a block unused.
pub(crate) const NUMBER_BLOCK: i64 = 20;

/// What is left of each channel's blocks of order numbers in this process. Two commands
/// can find the blocks empty at once and each draw one: both blocks are kept.
#[derive(Debug, Default)]
pub(crate) struct NumberBlocks {
    free: Mutex<HashMap<String, Vec<Range<i64>>>>,
}

impl NumberBlocks {
    /// The next number of `channel` from this process's blocks, if any is left.
    pub(crate) fn take(&self, channel: &str) -> Option<i64> {
        let mut free = self.free.lock().unwrap_or_else(PoisonError::into_inner);
        let blocks = free.get_mut(channel)?;
        while let Some(block) = blocks.first_mut() {
            if let Some(n) = block.next() {
                return Some(n);
            }
            blocks.remove(0);
        }
        None
    }

    /// Makes `n`, taken by a run that did not commit, the next number handed out.
    pub(crate) fn give_back(&self, channel: &str, n: i64) {
        let mut free = self.free.lock().unwrap_or_else(PoisonError::into_inner);
        free.entry(channel.to_owned())
            .or_default()
            .insert(0, n..n + 1);
    }

    /// Keeps a new block that starts at `first`, and takes its first number. Blocks are
    /// kept in order, so that of two drawn at once the lower is used first.
    pub(crate) fn start(&self, channel: &str, first: i64) -> i64 {
        let mut free = self.free.lock().unwrap_or_else(PoisonError::into_inner);
        let blocks = free.entry(channel.to_owned()).or_default();
        let at = blocks.partition_point(|b| b.start < first);
        blocks.insert(at, first + 1..first + NUMBER_BLOCK);
        first
    }
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

/// A statement parameter owned by a deferred statement.
pub(crate) type Owned = Box<dyn ToSql + Sync + Send>;

pub(crate) fn owned<T: ToSql + Sync + Send + 'static>(value: T) -> Owned {
    Box::new(value)
}

/// A write whose result nobody reads until the transaction ends.
pub(crate) struct Deferred {
    /// Named subqueries the statement uses (`a AS (…), b AS (…)`, without `WITH`):
    /// kept apart so that the statement can join a combined one.
    ctes: &'static str,
    sql: &'static str,
    params: Params,
    /// The tables it changes (see `written_tables`).
    targets: Vec<&'static str>,
}

impl Deferred {
    /// Transaction control (`BEGIN …`, `SET LOCAL …`, `COMMIT`), which never joins a
    /// combined statement.
    fn is_control(&self) -> bool {
        self.sql == "COMMIT" || self.sql.starts_with("BEGIN") || self.sql.starts_with("SET ")
    }
}

/// Queues `write`, rows to insert or change, adding them to the last write to its table
/// when that is the same write (see `Params::absorb`).
fn push_rows(deferred: &mut Vec<Deferred>, write: Deferred) {
    let last = deferred
        .iter_mut()
        .rev()
        .find(|d| d.targets.iter().any(|t| write.targets.contains(t)));
    if let Some(last) = last
        && last.text_key() == write.text_key()
        && last.params.absorb(&write.params)
    {
        return;
    }
    deferred.push(write);
}

/// Whether a statement must run inside the transaction: anything but a plain SELECT
/// (a write, or a read that takes row locks to hold until the end).
fn needs_transaction(sql: &str) -> bool {
    let locks = [
        "FOR UPDATE",
        "FOR NO KEY UPDATE",
        "FOR SHARE",
        "FOR KEY SHARE",
    ];
    !sql.trim_start().starts_with("SELECT") || locks.iter().any(|l| sql.contains(l))
}

/// Statement helpers over one unit of work, shared by the write and read sides.
///
/// Statements, not SQL, are what a command costs here (each is a bind, an execution
/// and a flush on the server), so:
/// - writes whose result nothing reads (inserts of events, rows, movements, outbox
///   messages) are deferred and sent pipelined, in order, together with the next query
///   or at the end, and consecutive ones are combined into one statement;
/// - the transaction opens lazily: plain SELECTs before the first write run on their
///   own (under READ COMMITTED every statement sees fresh data anyway), and `BEGIN` is
///   sent with the first write or locking read. A unit whose writes all combine into one
///   statement sends no `BEGIN` or `COMMIT` at all: that one statement is atomic.
///
/// A deferred write that fails fails the command just the same, only later.
pub(crate) struct Conn<'a> {
    client: &'a deadpool_postgres::ClientWrapper,
    handle: &'a Handle,
    deferred: RefCell<Vec<Deferred>>,
    /// `BEGIN …`, until it has been sent.
    begin: Cell<Option<&'static str>>,
}

impl<'a> Conn<'a> {
    /// A unit of work whose transaction `begin` (e.g. `BEGIN`) opens when first needed.
    pub(crate) fn lazy(
        client: &'a deadpool_postgres::ClientWrapper,
        handle: &'a Handle,
        begin: &'static str,
    ) -> Self {
        Conn {
            client,
            handle,
            deferred: RefCell::new(Vec::new()),
            begin: Cell::new(Some(begin)),
        }
    }

    /// A transaction opened by `begin` with the first statement, whatever it is (a
    /// REPEATABLE READ snapshot must cover every read).
    pub(crate) fn begin(
        client: &'a deadpool_postgres::ClientWrapper,
        handle: &'a Handle,
        begin: &'static str,
    ) -> Self {
        let conn = Conn::lazy(client, handle, begin);
        conn.open_transaction();
        conn
    }

    /// Queues `BEGIN` (once) ahead of everything not yet sent.
    fn open_transaction(&self) {
        if let Some(begin) = self.begin.take() {
            self.deferred
                .borrow_mut()
                .insert(0, Deferred::plain(begin, Vec::new()));
        }
    }

    fn in_transaction(&self) -> bool {
        self.begin.get().is_none()
    }

    /// Sends what is deferred and ends the unit, in one round trip: as one statement of
    /// its own when it can be, else inside the transaction with `COMMIT`.
    pub(crate) fn commit(&self) -> Result<(), StoreError> {
        if !self.in_transaction() && runs(&self.deferred.borrow()).len() <= 1 {
            return self.flush();
        }
        self.open_transaction();
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
        if !self.in_transaction() {
            return;
        }
        if let Err(e) = self.handle.block_on(self.client.batch_execute("ROLLBACK")) {
            tracing::warn!(error = %e, "ROLLBACK failed; the connection will be replaced");
        }
    }

    /// Queues a write to be sent with the next statement or the final flush.
    pub(crate) fn defer(&self, sql: &'static str, params: Vec<Owned>) {
        self.deferred
            .borrow_mut()
            .push(Deferred::plain(sql, params));
    }

    /// Queues an insert of rows given as columns: it may join other commands' inserts
    /// (see `batch`).
    ///
    /// Rows for a table this unit last wrote with the same insert are appended to it: two
    /// inserts into one table would otherwise take two statements (see `statements`).
    pub(crate) fn defer_rows(&self, sql: &'static str, columns: Vec<Column>) {
        push_rows(
            &mut self.deferred.borrow_mut(),
            Deferred::new("", sql, Params::Rows(columns)),
        );
    }

    /// Queues a change of rows given as columns, each named by its first `key` columns
    /// (see `Params::Keyed`): it may join other commands' changes of other rows.
    pub(crate) fn defer_keyed(
        &self,
        sql: &'static str,
        columns: Vec<Column>,
        key: usize,
        replaces: bool,
    ) {
        let params = Params::Keyed {
            columns,
            key,
            replaces,
        };
        push_rows(
            &mut self.deferred.borrow_mut(),
            Deferred::new("", sql, params),
        );
    }

    /// Queues a change of reserved stock, with its movement records (see `batch`).
    pub(crate) fn defer_stock(&self, moves: Vec<StockMove>) {
        self.deferred.borrow_mut().push(Deferred::new(
            batch::STOCK_CTES,
            batch::STOCK_SQL,
            Params::stock(moves),
        ));
    }

    /// The deferred writes, taken out to be committed with other commands' (see
    /// `batch`), when they can be: no transaction open, and one statement of writes
    /// that may join others.
    pub(crate) fn take_joinable(&self) -> Option<Vec<Deferred>> {
        {
            let deferred = self.deferred.borrow();
            let joinable = !self.in_transaction()
                && !deferred.is_empty()
                && deferred.iter().all(|d| d.params.joinable())
                && runs(&deferred).len() == 1;
            if !joinable {
                return None;
            }
        }
        Some(self.deferred.take())
    }

    /// Sends every deferred write (pipelined) and waits for them.
    fn flush(&self) -> Result<(), StoreError> {
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
        // A query after writes must see them, and a write or lock must last until COMMIT
        // (the final flush decides for itself, in `commit`).
        let queries_after_writes = !sqls.is_empty() && !self.deferred.borrow().is_empty();
        if queries_after_writes || sqls.iter().any(|sql| needs_transaction(sql)) {
            self.open_transaction();
        }
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

    /// The deferred writes as prepared statements (see `statements`).
    async fn prepare_writes<'d>(
        &self,
        deferred: &'d [Deferred],
    ) -> Result<Vec<(Statement, Vec<&'d (dyn ToSql + Sync)>)>, StoreError> {
        let batches = statements(deferred);
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

impl Deferred {
    fn plain(sql: &'static str, params: Vec<Owned>) -> Deferred {
        Deferred::new("", sql, Params::Values(params))
    }

    fn new(ctes: &'static str, sql: &'static str, params: Params) -> Deferred {
        Deferred {
            ctes,
            sql,
            params,
            targets: written_tables(ctes).chain(written_tables(sql)).collect(),
        }
    }

    /// What identifies its text: the addresses and lengths of its static strings.
    fn text_key(&self) -> [usize; 5] {
        let (c, s) = (self.ctes, self.sql);
        [
            c.as_ptr() as usize,
            c.len(),
            s.as_ptr() as usize,
            s.len(),
            self.params.len(),
        ]
    }
}

/// The tables a statement changes (`INSERT INTO t`, `UPDATE t`, `DELETE FROM t`, in its
/// subqueries too; an upsert's `ON CONFLICT … DO UPDATE SET` names no table).
fn written_tables(sql: &'static str) -> impl Iterator<Item = &'static str> {
    ["INSERT INTO ", "UPDATE ", "DELETE FROM "]
        .into_iter()
        .flat_map(move |verb| {
            sql.match_indices(verb)
                .filter(move |(at, _)| !sql[..*at].ends_with("DO "))
                .map(move |(at, _)| &sql[at + verb.len()..])
        })
        .filter_map(|rest| rest.split(|c: char| c.is_whitespace() || c == '(').next())
}

/// The statements that send `deferred`, in order: consecutive writes become one
/// statement (each a data-modifying CTE, which PostgreSQL always runs to completion);
/// transaction control stays on its own. A run ends before a write to a table it already
/// writes (sibling CTEs share one snapshot, so the second would not see the first, e.g.
/// the read model saved twice by one command), and before a second write with named
/// subqueries (their names could clash).
fn statements(deferred: &[Deferred]) -> Vec<(Arc<str>, Vec<&(dyn ToSql + Sync)>)> {
    runs(deferred)
        .iter()
        .filter_map(|run| combine(run))
        .collect()
}

/// The deferred writes grouped into the runs `statements` combines.
fn runs(deferred: &[Deferred]) -> Vec<Vec<&Deferred>> {
    let mut out = Vec::new();
    let mut run: Vec<&Deferred> = Vec::new();
    for d in deferred {
        let clash = d.is_control()
            || run.last().is_some_and(|r| r.is_control())
            || run
                .iter()
                .any(|r| r.targets.iter().any(|t| d.targets.contains(t)))
            || (!d.ctes.is_empty() && run.iter().any(|r| !r.ctes.is_empty()));
        if clash && !run.is_empty() {
            out.push(std::mem::take(&mut run));
        }
        run.push(d);
    }
    if !run.is_empty() {
        out.push(run);
    }
    out
}

/// One statement for a run of deferred writes, with the parameters of all of them.
///
/// PostgreSQL runs sibling data-modifying subqueries from the last to the first, so the
/// write with named subqueries (the stock change, which locks rows) goes first: it runs
/// last, and the row locks are held for little more than the commit. (Siblings see the
/// same snapshot, so their order changes nothing else.)
fn combine<'d>(run: &[&'d Deferred]) -> Option<(Arc<str>, Vec<&'d (dyn ToSql + Sync)>)> {
    if run.is_empty() {
        return None;
    }
    let mut run = run.to_vec();
    run.sort_by_key(|d| d.ctes.is_empty());
    let params = run.iter().flat_map(|d| d.params.refs()).collect();
    Some((combined_text(&run), params))
}

/// The text of a run's statement, from a process-wide cache: building it renumbers every
/// placeholder, and the same few runs recur for every command.
fn combined_text(run: &[&Deferred]) -> Arc<str> {
    type Texts = HashMap<Vec<[usize; 5]>, Arc<str>>;
    static TEXTS: OnceLock<Mutex<Texts>> = OnceLock::new();
    let texts = TEXTS.get_or_init(Mutex::default);
    let key: Vec<[usize; 5]> = run.iter().map(|d| d.text_key()).collect();
    if let Some(text) = texts
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(&key)
    {
        return text.clone();
    }
    let text: Arc<str> = build_text(run).into();
    let mut texts = texts.lock().unwrap_or_else(PoisonError::into_inner);
    // Runs come from a fixed set of code paths; the bound only guards against surprises.
    if texts.len() >= 4096 {
        texts.clear();
    }
    texts.insert(key, text.clone());
    text
}

/// The write itself when the run has one, else `WITH w0 AS (…), w1 AS (…) SELECT 1` with
/// each write's placeholders shifted past the earlier writes' parameters (and the named
/// subqueries of a write first in the list).
fn build_text(run: &[&Deferred]) -> String {
    match run {
        [one] if one.ctes.is_empty() => one.sql.to_owned(),
        [one] => format!("WITH {} {}", one.ctes, one.sql),
        many => {
            let mut ctes = Vec::new();
            let mut offset = 0;
            for (i, d) in many.iter().enumerate() {
                if !d.ctes.is_empty() {
                    ctes.insert(0, renumber(d.ctes, offset));
                }
                ctes.push(format!("w{i} AS ({})", renumber(d.sql, offset)));
                offset += d.params.len();
            }
            format!("WITH {} SELECT 1", ctes.join(", "))
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
        Ok(PgStore {
            pool: pool(options.pool_size)?,
            batcher: Batcher::start(pool(1)?),
            numbers: Arc::default(),
            group_commit: options.group_commit,
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
            // Only the first run assumes its idempotency key is new.
            let keys = if attempt == 1 {
                KeyCheck::AtCommit
            } else {
                KeyCheck::First
            };
            let join = self.group_commit;
            let (returned, run) = tokio::task::spawn_blocking(move || {
                let run = run_write(&handle, &mut client, &numbers, keys, join, &mut command);
                (command, run)
            })
            .await
            .map_err(|e| E::from(StoreError::Unavailable(format!("write task failed: {e}"))))?;
            command = returned;
            let Attempt {
                ending,
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
            Isolation::ReadCommitted => "BEGIN READ ONLY",
            Isolation::Snapshot => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        };
        tokio::task::spawn_blocking(move || {
            let conn = match isolation {
                // Plain SELECTs never open it: each sees the latest commits, as it would.
                Isolation::ReadCommitted => Conn::lazy(&client, &handle, begin),
                Isolation::Snapshot => {
                    let conn = Conn::begin(&client, &handle, begin);
                    // Whole-table reads: scans are the right plan here (see `open`).
                    conn.defer("SET LOCAL enable_seqscan = on", Vec::new());
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

    /// Closes the pool of request connections; the committer still commits what is
    /// queued (see `Batcher::start`).
    pub(crate) fn shutdown(&self) {
        self.pool.close();
    }
}

/// One run of a command on its connection.
struct Attempt<T, E> {
    ending: Result<Ending<T>, E>,
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

/// Runs one attempt of a command, and commits it unless its writes can join others'.
fn run_write<T, E, F>(
    handle: &Handle,
    client: &mut deadpool_postgres::Object,
    numbers: &NumberBlocks,
    keys: KeyCheck,
    join: bool,
    command: &mut F,
) -> Attempt<T, E>
where
    F: FnMut(&mut dyn WriteTx) -> Result<T, E>,
    E: From<StoreError>,
{
    let mut pg = PgTx::new(Conn::lazy(client, handle, "BEGIN"), numbers, keys);
    // A panicking command must not hand a connection with an open transaction back to
    // the pool: roll back, then let the panic continue.
    let result = catch_unwind(AssertUnwindSafe(|| command(&mut pg)));
    let assumed_new_key = pg.assumed_new_key();
    let drawn = pg.drawn_numbers();
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

/// Rewrites every order's derived state columns from its snapshot, in one transaction:
/// run once, by the migration that changed how they are derived.
async fn recompute_states(client: &mut tokio_postgres::Client) -> Result<(), StoreError> {
    let tx = client.transaction().await.map_err(pg_error)?;
    let rows = tx
        .query("SELECT id, snapshot FROM orders", &[])
        .await
        .map_err(pg_error)?;
    let update = tx
        .prepare("UPDATE orders SET status = $2, refund_state = $3, on_hold = $4 WHERE id = $1")
        .await
        .map_err(pg_error)?;
    for row in rows {
        let id: String = row.try_get(0).map_err(pg_error)?;
        let snapshot: String = row.try_get(1).map_err(pg_error)?;
        let order: orderly_domain::order::Order = serde_json::from_str(&snapshot)?;
        tx.execute(
            &update,
            &[
                &id,
                &order.customer_status().as_str(),
                &order.refund_state().as_str(),
                &i64::from(order.on_hold()),
            ],
        )
        .await
        .map_err(pg_error)?;
    }
    tx.commit().await.map_err(pg_error)
}

/// Applies pending migrations on a dedicated connection, holding an advisory lock so
/// that processes starting at the same moment migrate one after the other.
async fn migrate(config: &tokio_postgres::Config) -> Result<(), StoreError> {
    let (mut client, connection) = config.connect(NoTls).await.map_err(pg_error)?;
    let task = tokio::spawn(connection);
    const LOCK: &str = "SELECT pg_advisory_lock(7212642017)";
    client.batch_execute(LOCK).await.map_err(pg_error)?;
    let result = match embedded::migrations::runner().run_async(&mut client).await {
        Ok(report)
            if report
                .applied_migrations()
                .iter()
                .any(|m| m.version() == crate::RECOMPUTE_STATES_AT) =>
        {
            recompute_states(&mut client).await
        }
        Ok(_) => Ok(()),
        Err(e) => Err(StoreError::Database(format!("migration failed: {e}"))),
    };
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

    #[test]
    fn blocks_drawn_at_once_are_both_used() {
        let blocks = NumberBlocks::default();
        assert_eq!(blocks.take("web"), None);
        // Two commands found nothing left and drew a block each.
        assert_eq!(blocks.start("web", 1001), 1001);
        assert_eq!(blocks.start("web", 1021), 1021);
        let rest: Vec<i64> = std::iter::from_fn(|| blocks.take("web")).collect();
        let expected: Vec<i64> = (1002..1021).chain(1022..1041).collect();
        assert_eq!(rest, expected, "every number of both blocks, once");
        assert_eq!(blocks.take("marketplace"), None);
        // The higher block's draw finished first: the lower one is still used first.
        assert_eq!(blocks.start("mkt", 1061), 1061);
        assert_eq!(blocks.start("mkt", 1041), 1041);
        assert_eq!(blocks.take("mkt"), Some(1042));
        blocks.give_back("web", 1040);
        assert_eq!(blocks.take("web"), Some(1040));
        assert_eq!(blocks.take("web"), None);
    }

    fn deferred(sql: &'static str, n: usize) -> Deferred {
        Deferred::plain(sql, (0..n).map(|i| owned(i as i64)).collect())
    }

    fn sqls(deferred: &[Deferred]) -> Vec<String> {
        statements(deferred)
            .into_iter()
            .map(|(sql, _)| sql.to_string())
            .collect()
    }

    #[test]
    fn writes_name_their_tables() {
        let targets = |sql| deferred(sql, 0).targets;
        assert_eq!(targets("INSERT INTO orders (id) VALUES ($1)"), ["orders"]);
        assert_eq!(targets("UPDATE orders SET x = 1"), ["orders"]);
        assert_eq!(targets("DELETE FROM timers WHERE id = $1"), ["timers"]);
        assert_eq!(
            targets("INSERT INTO reservations(order_id) VALUES ($1)"),
            ["reservations"]
        );
        assert!(targets("COMMIT").is_empty());
        assert_eq!(
            targets("INSERT INTO f (id) VALUES ($1) ON CONFLICT (id) DO UPDATE SET x = 1"),
            ["f"]
        );
        let with = Deferred::new(
            "u AS (UPDATE inventory SET x = $1 RETURNING sku)",
            "INSERT INTO stock_movements SELECT sku FROM u",
            Params::Values(Vec::new()),
        );
        assert_eq!(with.targets, ["inventory", "stock_movements"]);
    }

    #[test]
    fn rows_for_a_table_join_its_last_insert_when_it_is_the_same() {
        let timer = |id: &str| {
            Deferred::new(
                "",
                "INSERT INTO timers (id) SELECT * FROM UNNEST($1::text[])",
                Params::Rows(vec![Column::Text(vec![id.into()])]),
            )
        };
        let mut writes = Vec::new();
        push_rows(&mut writes, timer("t1"));
        writes.push(deferred("INSERT INTO events VALUES ($1)", 1));
        push_rows(&mut writes, timer("t2"));
        assert_eq!(writes.len(), 2, "one insert of timers, with both rows");
        assert_eq!(statements(&writes).len(), 1);
        writes.push(deferred("DELETE FROM timers WHERE id = $1", 1));
        push_rows(&mut writes, timer("t3"));
        assert_eq!(writes.len(), 4, "not across another write to the table");
    }

    #[test]
    fn a_second_write_to_a_table_starts_a_new_statement() {
        let writes = [
            deferred("INSERT INTO events VALUES ($1)", 1),
            deferred("UPDATE orders SET x = $1", 1),
            deferred("UPDATE orders SET x = $1", 1),
        ];
        assert_eq!(
            sqls(&writes),
            [
                "WITH w0 AS (INSERT INTO events VALUES ($1)), w1 AS (UPDATE orders SET x = $2) SELECT 1",
                "UPDATE orders SET x = $1"
            ]
        );
    }

    #[test]
    fn transaction_control_stays_on_its_own() {
        let writes = [
            deferred("BEGIN", 0),
            deferred("SET LOCAL enable_seqscan = on", 0),
            deferred("INSERT INTO events VALUES ($1)", 1),
            deferred("COMMIT", 0),
        ];
        assert_eq!(
            sqls(&writes),
            [
                "BEGIN",
                "SET LOCAL enable_seqscan = on",
                "INSERT INTO events VALUES ($1)",
                "COMMIT"
            ]
        );
    }

    #[test]
    fn named_subqueries_lead_the_combined_statement_and_their_write_runs_last() {
        let with = || {
            Deferred::new(
                "u AS (UPDATE inventory SET x = $1 RETURNING sku)",
                "INSERT INTO stock_movements SELECT sku, $2 FROM u",
                Params::Values(vec![owned(1_i64), owned(2_i64)]),
            )
        };
        let writes = [
            deferred("INSERT INTO events VALUES ($1)", 1),
            with(),
            with(),
        ];
        assert_eq!(
            sqls(&writes),
            [
                "WITH u AS (UPDATE inventory SET x = $1 RETURNING sku), \
                 w0 AS (INSERT INTO stock_movements SELECT sku, $2 FROM u), \
                 w1 AS (INSERT INTO events VALUES ($3)) SELECT 1",
                "WITH u AS (UPDATE inventory SET x = $1 RETURNING sku) \
                 INSERT INTO stock_movements SELECT sku, $2 FROM u",
            ]
        );
        // The parameters follow the text: the stock write's first.
        let (_, params) = &statements(&writes)[0];
        assert_eq!(format!("{params:?}"), "[1, 2, 0]");
    }

    #[test]
    fn only_plain_selects_run_outside_the_transaction() {
        assert!(!needs_transaction(
            "SELECT sku FROM products WHERE sku = ANY($1)"
        ));
        assert!(needs_transaction(
            "SELECT on_hand FROM inventory WHERE sku = $1 FOR UPDATE"
        ));
        assert!(needs_transaction(
            "UPDATE outbox SET claimed_by = $1 RETURNING id"
        ));
        assert!(needs_transaction(
            "WITH u AS (DELETE FROM t RETURNING id) SELECT id FROM u"
        ));
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
            &*sql,
            "WITH w0 AS (INSERT INTO t VALUES ($1, $2)), w1 AS (UPDATE u SET x = $3 WHERE id = $4) SELECT 1"
        );
        assert_eq!(params.len(), 4);
        let (single, _) = combine(&[&a]).unwrap();
        assert_eq!(&*single, a.sql);
        // The same run again: the same text, from the cache.
        let (again, _) = combine(&[&a, &b]).unwrap();
        assert!(Arc::ptr_eq(&again, &sql));
        assert!(combine(&[]).is_none());
    }
}
