//! One unit of work on a pooled connection: statements are sent pipelined, writes whose
//! result nothing reads are deferred (see `deferred`), and the transaction opens only
//! when something needs it.

use super::deferred::{Deferred, push_rows, runs, statements};
use super::params::{Column, StockMove};
use super::pg_error;
use super::statement::{COMMIT, StatementSpec};
use crate::error::StoreError;
use futures_util::future::{join, join_all, try_join_all};
use std::cell::{Cell, RefCell};
use std::future::Future;
use tokio::runtime::Handle;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Row, Statement};

/// A statement parameter owned by a deferred statement.
pub(crate) type Owned = Box<dyn ToSql + Sync + Send>;

pub(crate) fn owned<T: ToSql + Sync + Send + 'static>(value: T) -> Owned {
    Box::new(value)
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
    begin: Cell<Option<&'static StatementSpec>>,
}

impl<'a> Conn<'a> {
    /// A unit of work whose transaction `begin` (e.g. `BEGIN`) opens when first needed.
    pub(crate) fn lazy(
        client: &'a deadpool_postgres::ClientWrapper,
        handle: &'a Handle,
        begin: &'static StatementSpec,
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
        begin: &'static StatementSpec,
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
                .insert(0, Deferred::values(begin, Vec::new()));
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
        self.defer(&COMMIT, Vec::new());
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

    /// Queues `statement` (transaction control, or a write declared `WriteKind::Other`)
    /// to be sent with the next statement or the final flush.
    pub(crate) fn defer(&self, statement: &'static StatementSpec, params: Vec<Owned>) {
        self.deferred
            .borrow_mut()
            .push(Deferred::values(statement, params));
    }

    /// Queues rows given as columns for `statement`, declared `InsertRows` or `Keyed`: it
    /// may join other commands' writes of the same statement (see `batch`).
    ///
    /// Rows for a table this unit last wrote with the same statement are added to it (see
    /// `Deferred::absorb`): two writes of one table would otherwise take two statements
    /// (see `statements`).
    pub(crate) fn defer_columns(&self, statement: &'static StatementSpec, columns: Vec<Column>) {
        push_rows(
            &mut self.deferred.borrow_mut(),
            Deferred::columns(statement, columns),
        );
    }

    /// Queues a change of reserved stock, with its movement records (see `batch`).
    pub(crate) fn defer_stock(&self, moves: Vec<StockMove>) {
        self.deferred.borrow_mut().push(Deferred::stock(moves));
    }

    /// The deferred writes, taken out to be committed with other commands' (see
    /// `batch`), when they can be: no transaction open, and one statement of writes
    /// that may join others.
    pub(crate) fn take_joinable(&self) -> Option<Vec<Deferred>> {
        {
            let deferred = self.deferred.borrow();
            let joinable = !self.in_transaction()
                && !deferred.is_empty()
                && deferred.iter().all(Deferred::joins)
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
            // Every answer is awaited, and the first refusal in pipeline order is the one
            // reported. After a statement fails, PostgreSQL answers each later one in the
            // transaction with 25P02 (`in_failed_sql_transaction`), and those answers come
            // in while this polls, so the first error seen may be such an echo: a lost race
            // (a unique or CHECK violation, a `Conflict` that is retried) would then come
            // back as a database fault, a 500.
            let (written, result) = join(join_all(sent), run(statements)).await;
            if let Some(e) = written.into_iter().find_map(Result::err) {
                return Err(pg_error(e));
            }
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

    /// Runs a plain SELECT of rows none of this unit's deferred writes change, without
    /// sending those writes first: it reads only what other commands committed, and a
    /// unit whose writes may join other commands' keeps them queued (a query after
    /// writes otherwise opens the transaction, see `pipelined`).
    pub(crate) fn query_apart(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, StoreError> {
        debug_assert!(!needs_transaction(sql), "{sql}");
        self.handle.block_on(async {
            let statement = self.client.prepare_cached(sql).await.map_err(pg_error)?;
            self.client
                .query(&statement, params)
                .await
                .map_err(pg_error)
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
