//! The single SQLite writer. One thread owns the write connection; async handlers send it
//! closures. It takes whatever is queued (up to `max_batch`), runs them in one
//! transaction (a failing command never leaves a trace: see `commit_group`), commits the
//! group with one fsync, and only then answers every caller. Group commit is what makes
//! durable writes fast: the fsync, not the SQL, is the cost of a commit.
//!
//! Background work (the delivery workers) runs in groups of its own, in queue order: it
//! never makes a request's commit heavier, and the writer time it takes, its commit
//! included, is counted apart, so the workers can keep their share of the writer small
//! while requests keep it busy (see `GroupCounters::busy`).

use super::write::SqliteTx;
use crate::error::StoreError;
use crate::group::GroupCounters;
use crate::tx::WriteTx;
use orderly_domain::kpi::KpiRules;
use rusqlite::Connection;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot};

/// The write connection with what every command's transaction needs beside it.
pub(crate) struct WriterConn {
    conn: Connection,
    kpi: Arc<KpiRules>,
}

impl WriterConn {
    pub(crate) fn new(conn: Connection, kpi: Arc<KpiRules>) -> WriterConn {
        WriterConn { conn, kpi }
    }
}

impl std::ops::Deref for WriterConn {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        &self.conn
    }
}

/// A command waiting in the writer's queue. It may run more than once (when its group
/// has to be run again, see `commit_group`) and is answered exactly once.
trait Command: Send {
    /// Runs against the open transaction; true when it succeeded.
    fn run(&mut self, conn: &WriterConn) -> bool;
    /// Records a failure that kept it from running.
    fn fail(&mut self, e: StoreError);
    /// Answers the caller with the last run's outcome, or with the commit's failure.
    fn answer(self: Box<Self>, commit_error: Option<StoreError>);
    /// Whether it is background work, committed in a group of its own.
    fn background(&self) -> bool;
}

type Job = Box<dyn Command>;

struct Pending<F, T, E> {
    f: F,
    background: bool,
    /// None before it ran, and after a run that panicked.
    outcome: Option<Result<T, E>>,
    reply: oneshot::Sender<Result<T, E>>,
}

impl<F, T, E> Command for Pending<F, T, E>
where
    F: FnMut(&mut dyn WriteTx) -> Result<T, E> + Send,
    T: Send,
    E: From<StoreError> + Send,
{
    fn run(&mut self, conn: &WriterConn) -> bool {
        let f = &mut self.f;
        self.outcome = catch_unwind(AssertUnwindSafe(|| {
            f(&mut SqliteTx::new(&conn.conn, &conn.kpi))
        }))
        .ok();
        if self.outcome.is_none() {
            tracing::error!("a write command panicked; it was rolled back");
        }
        matches!(self.outcome, Some(Ok(_)))
    }

    fn fail(&mut self, e: StoreError) {
        self.outcome = Some(Err(E::from(e)));
    }

    fn answer(self: Box<Self>, commit_error: Option<StoreError>) {
        let outcome = match (commit_error, self.outcome) {
            (Some(e), Some(Ok(_)) | None) => Err(E::from(e)),
            (_, Some(result)) => result,
            // It panicked: dropping the reply tells the caller the writer dropped it.
            (None, None) => return,
        };
        // The caller may have gone away (client disconnected); nothing to tell then.
        let _ = self.reply.send(outcome);
    }

    fn background(&self) -> bool {
        self.background
    }
}

#[derive(Clone)]
pub(crate) struct Writer {
    sender: Arc<Mutex<Option<mpsc::Sender<Job>>>>,
}

const QUEUE_DEPTH: usize = 4096;

impl Writer {
    pub(crate) fn start(
        conn: WriterConn,
        max_batch: usize,
        groups: Arc<GroupCounters>,
    ) -> Result<Writer, StoreError> {
        let (sender, receiver) = mpsc::channel::<Job>(QUEUE_DEPTH);
        std::thread::Builder::new()
            .name("orderly-sqlite-writer".into())
            .spawn(move || run(conn, receiver, max_batch.max(1), &groups))
            .map_err(|e| StoreError::Unavailable(format!("cannot start writer thread: {e}")))?;
        Ok(Writer {
            sender: Arc::new(Mutex::new(Some(sender))),
        })
    }

    pub(crate) fn shutdown(&self) {
        if let Ok(mut s) = self.sender.lock() {
            s.take();
        }
    }

    pub(crate) async fn submit<T, E, F>(&self, f: F, background: bool) -> Result<T, E>
    where
        F: FnMut(&mut dyn WriteTx) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel::<Result<T, E>>();
        let job: Job = Box::new(Pending {
            f,
            background,
            outcome: None,
            reply,
        });
        let sender = self
            .sender
            .lock()
            .map_err(|_| E::from(StoreError::Unavailable("writer poisoned".into())))?
            .clone()
            .ok_or_else(|| E::from(StoreError::Unavailable("the store is shutting down".into())))?;
        sender
            .send(job)
            .await
            .map_err(|_| E::from(StoreError::Unavailable("the writer has stopped".into())))?;
        answer.await.map_err(|_| {
            E::from(StoreError::Unavailable(
                "the writer dropped the request".into(),
            ))
        })?
    }
}

fn run(
    conn: WriterConn,
    mut receiver: mpsc::Receiver<Job>,
    max_batch: usize,
    groups: &GroupCounters,
) {
    let mut batch: Vec<Job> = Vec::with_capacity(max_batch);
    // A background job met while gathering a group of requests: the next group.
    let mut held: Option<Job> = None;
    while let Some(first) = held.take().or_else(|| receiver.blocking_recv()) {
        let background = first.background();
        batch.push(first);
        while !background && batch.len() < max_batch {
            match receiver.try_recv() {
                Ok(job) if job.background() => {
                    held = Some(job);
                    break;
                }
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let started = std::time::Instant::now();
        commit_group(&conn, &mut batch, groups, background);
        groups.busy(started.elapsed(), background);
    }
    tracing::debug!("sqlite writer stopped");
}

/// Runs a group in one transaction and commits it with one fsync. Each command runs
/// straight in the transaction: a command that fails without having changed a row (the
/// usual failure: a refused decision) leaves nothing to undo. Only when one fails after
/// writing is the transaction rolled back and the whole group run again, each command
/// in its own SAVEPOINT so the failing one rolls back alone. (A savepoint per command
/// always would copy every page a command touches into the savepoint journal: a quarter
/// of the throughput, measured.)
fn commit_group(conn: &WriterConn, batch: &mut Vec<Job>, groups: &GroupCounters, background: bool) {
    let started = std::time::Instant::now();
    let size = batch.len();
    if let Err(e) = begin(conn) {
        fail_all(batch, e);
        return;
    }
    let mut clean = true;
    for job in batch.iter_mut() {
        let before = conn.total_changes();
        let ok = job.run(conn);
        // SQLite rolls a transaction back by itself on some errors (a full disk, an I/O
        // error): then nothing of the group is left, and must not be answered as done.
        if conn.is_autocommit() || (!ok && conn.total_changes() != before) {
            clean = false;
            break;
        }
    }
    if !clean {
        tracing::debug!(size, "a command failed after writing; the group runs again");
        groups.fell_back();
        if !conn.is_autocommit()
            && let Err(e) = conn.execute_batch("ROLLBACK")
        {
            fail_all(batch, StoreError::from(e));
            return;
        }
        if let Err(e) = begin(conn) {
            fail_all(batch, e);
            return;
        }
        for job in batch.iter_mut() {
            run_alone(conn, job);
            if conn.is_autocommit() {
                // Lost again: whatever ran is gone, and nothing more may run outside
                // a transaction.
                fail_all(
                    batch,
                    StoreError::Unavailable("the write transaction was rolled back".into()),
                );
                return;
            }
        }
    }
    let executed = started.elapsed();
    let commit_error = conn.execute_batch("COMMIT").err().map(|e| {
        tracing::error!(error = %e, "group commit failed; every command in it fails");
        let _ = conn.execute_batch("ROLLBACK");
        StoreError::Unavailable(format!("commit failed: {e}"))
    });
    if clean && commit_error.is_none() {
        groups.joined(size);
    }
    tracing::debug!(
        size,
        background,
        execute_us = executed.as_micros() as u64,
        commit_us = (started.elapsed() - executed).as_micros() as u64,
        "group committed"
    );
    for job in batch.drain(..) {
        job.answer(commit_error.clone());
    }
}

/// Answers every command of the group with `e`: none of them took effect.
fn fail_all(batch: &mut Vec<Job>, e: StoreError) {
    for job in batch.drain(..) {
        job.answer(Some(e.clone()));
    }
}

fn begin(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch("BEGIN IMMEDIATE").map_err(|e| {
        let err = StoreError::from(e);
        tracing::error!(error = %err, "cannot begin write transaction");
        err
    })
}

/// Runs a command inside its own savepoint: released on success, rolled back on failure.
fn run_alone(conn: &WriterConn, job: &mut Job) {
    if let Err(e) = conn.execute_batch("SAVEPOINT cmd") {
        job.fail(StoreError::from(e));
        return;
    }
    let end = if job.run(conn) {
        "RELEASE cmd"
    } else {
        "ROLLBACK TO cmd; RELEASE cmd"
    };
    if let Err(e) = conn.execute_batch(end) {
        tracing::error!(error = %e, "savepoint end failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A command that runs `sql` on the raw connection, for the failures `WriteTx`
    /// cannot produce; reports its outcome on `done`.
    struct Raw {
        sql: &'static str,
        ok: bool,
        background: bool,
        done: std::sync::mpsc::Sender<Option<StoreError>>,
    }

    impl Command for Raw {
        fn run(&mut self, conn: &WriterConn) -> bool {
            let _ = conn.execute_batch(self.sql);
            self.ok
        }
        fn fail(&mut self, _: StoreError) {}
        fn answer(self: Box<Self>, commit_error: Option<StoreError>) {
            let _ = self.done.send(commit_error);
        }
        fn background(&self) -> bool {
            self.background
        }
    }

    fn rows(conn: &Connection) -> i64 {
        conn.query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap()
    }

    /// Commits `commands` as one group: whether each was answered without a commit error,
    /// and what the group counted.
    fn group(
        conn: &WriterConn,
        commands: &[(&'static str, bool)],
    ) -> (Vec<bool>, crate::GroupStats) {
        let (done, answers) = std::sync::mpsc::channel();
        let mut batch: Vec<Job> = commands
            .iter()
            .map(|&(sql, ok)| {
                Box::new(Raw {
                    sql,
                    ok,
                    background: false,
                    done: done.clone(),
                }) as Job
            })
            .collect();
        let counters = GroupCounters::default();
        commit_group(conn, &mut batch, &counters, false);
        drop(done);
        (
            answers.iter().map(|e| e.is_none()).collect(),
            counters.snapshot(),
        )
    }

    #[test]
    fn background_work_commits_in_groups_of_its_own_and_its_time_is_counted_apart() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (x INTEGER)").unwrap();
        let (sender, receiver) = mpsc::channel::<Job>(16);
        let (done, answers) = std::sync::mpsc::channel();
        let queued = [
            ("INSERT INTO t VALUES (1)", false),
            ("INSERT INTO t VALUES (2)", false),
            ("INSERT INTO t VALUES (3)", true),
            ("INSERT INTO t VALUES (4)", false),
            ("INSERT INTO t VALUES (5)", false),
        ];
        for (sql, background) in queued {
            let job = Raw {
                sql,
                ok: true,
                background,
                done: done.clone(),
            };
            assert!(sender.try_send(Box::new(job)).is_ok());
        }
        drop((sender, done));
        let counters = GroupCounters::default();
        // Everything is queued before the writer starts, so it could take all five at
        // once; the background job splits them: [1, 2], [3] alone, [4, 5].
        run(
            WriterConn::new(conn, Arc::default()),
            receiver,
            64,
            &counters,
        );
        assert_eq!(answers.iter().filter(Option::is_none).count(), 5);
        let counted = counters.snapshot();
        assert_eq!(
            (counted.groups_joined, counted.commands_in_joined_groups),
            (2, 4)
        );
        let busy = counters.writer_busy();
        assert!(busy.background > std::time::Duration::ZERO);
        assert!(busy.all > busy.background, "{busy:?}");
    }

    #[test]
    fn a_command_that_fails_after_writing_is_undone_alone() {
        let conn = WriterConn::new(Connection::open_in_memory().unwrap(), Arc::default());
        conn.execute_batch("CREATE TABLE t (x INTEGER)").unwrap();
        let (answered, counted) = group(
            &conn,
            &[
                ("INSERT INTO t VALUES (1)", true),
                ("INSERT INTO t VALUES (2)", false),
                ("SELECT 1", false),
                ("INSERT INTO t VALUES (3)", true),
            ],
        );
        assert_eq!(answered, [true, true, true, true], "no commit error");
        let kept: Vec<i64> = conn
            .prepare("SELECT x FROM t ORDER BY x")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(kept, [1, 3]);
        assert!(conn.is_autocommit());
        assert_eq!(
            (counted.fallbacks_one_by_one, counted.groups_joined),
            (1, 0),
            "run again one by one, not committed as it first ran"
        );
    }

    #[test]
    fn a_group_that_runs_clean_is_counted_as_joined() {
        let conn = WriterConn::new(Connection::open_in_memory().unwrap(), Arc::default());
        conn.execute_batch("CREATE TABLE t (x INTEGER)").unwrap();
        // A refusal before writing leaves nothing to undo: still one transaction.
        let commands = [
            ("INSERT INTO t VALUES (1)", true),
            ("SELECT 1", false),
            ("INSERT INTO t VALUES (2)", true),
        ];
        let (answered, counted) = group(&conn, &commands);
        assert_eq!(answered, [true, true, true]);
        assert_eq!(rows(&conn), 2);
        assert_eq!(
            counted,
            crate::GroupStats {
                groups_joined: 1,
                commands_in_joined_groups: 3,
                fallbacks_one_by_one: 0,
            }
        );
        let (_, alone) = group(&conn, &commands[..1]);
        assert_eq!(alone.groups_joined, 0, "one command is no group");
    }

    #[test]
    fn a_transaction_sqlite_rolled_back_fails_the_whole_group() {
        let conn = WriterConn::new(Connection::open_in_memory().unwrap(), Arc::default());
        conn.execute_batch("CREATE TABLE t (x INTEGER)").unwrap();
        // The second command's transaction vanishes (as SQLite does on a full disk).
        let (answered, _) = group(
            &conn,
            &[
                ("INSERT INTO t VALUES (1)", true),
                ("INSERT INTO t VALUES (2); ROLLBACK", false),
                ("INSERT INTO t VALUES (3)", true),
            ],
        );
        assert_eq!(rows(&conn), 0, "nothing ran outside the transaction");
        assert_eq!(answered, [false, false, false], "no one is told it is done");
        assert!(conn.is_autocommit());
    }
}
