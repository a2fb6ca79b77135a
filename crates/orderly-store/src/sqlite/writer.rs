//! The single SQLite writer. One thread owns the write connection; async handlers send it
//! closures. It takes whatever is queued (up to `max_batch`), runs each closure in its own
//! SAVEPOINT (a failing command rolls back alone), commits the group with one fsync, and
//! only then answers every caller. Group commit is what makes durable writes fast: the
//! fsync, not the SQL, is the cost of a commit.

use super::write::SqliteTx;
use crate::error::StoreError;
use crate::tx::WriteTx;
use rusqlite::Connection;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot};

type Finish = Box<dyn FnOnce(Option<StoreError>) + Send>;
type Job = Box<dyn FnOnce(&Connection) -> (bool, Finish) + Send>;

#[derive(Clone)]
pub(crate) struct Writer {
    sender: Arc<Mutex<Option<mpsc::Sender<Job>>>>,
}

const QUEUE_DEPTH: usize = 4096;

impl Writer {
    pub(crate) fn start(conn: Connection, max_batch: usize) -> Result<Writer, StoreError> {
        let (sender, receiver) = mpsc::channel::<Job>(QUEUE_DEPTH);
        std::thread::Builder::new()
            .name("orderly-sqlite-writer".into())
            .spawn(move || run(conn, receiver, max_batch.max(1)))
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

    pub(crate) async fn submit<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut dyn WriteTx) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel::<Result<T, E>>();
        let job: Job = Box::new(move |conn| {
            let result = f(&mut SqliteTx::new(conn));
            let ok = result.is_ok();
            let finish: Finish = Box::new(move |commit_error| {
                let outcome = match (commit_error, result) {
                    (Some(e), Ok(_)) => Err(E::from(e)),
                    (_, result) => result,
                };
                // The caller may have gone away (client disconnected); nothing to tell then.
                let _ = reply.send(outcome);
            });
            (ok, finish)
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

fn run(conn: Connection, mut receiver: mpsc::Receiver<Job>, max_batch: usize) {
    let mut batch: Vec<Job> = Vec::with_capacity(max_batch);
    while let Some(first) = receiver.blocking_recv() {
        batch.push(first);
        while batch.len() < max_batch {
            match receiver.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        commit_group(&conn, &mut batch);
    }
    tracing::debug!("sqlite writer stopped");
}

fn commit_group(conn: &Connection, batch: &mut Vec<Job>) {
    let started = std::time::Instant::now();
    let size = batch.len();
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        let err = StoreError::from(e);
        tracing::error!(error = %err, "cannot begin write transaction");
        for job in batch.drain(..) {
            // Run nothing: answer each caller with the failure.
            let (_, finish) = fail_job(job, conn);
            finish(Some(err.clone()));
        }
        return;
    }
    let mut finishes: Vec<Finish> = Vec::with_capacity(batch.len());
    for job in batch.drain(..) {
        if let Err(e) = conn.execute_batch("SAVEPOINT cmd") {
            let (_, finish) = fail_job(job, conn);
            finishes.push(Box::new(move |_| finish(Some(StoreError::from(e)))));
            continue;
        }
        let (ok, finish) = match catch_unwind(AssertUnwindSafe(|| job(conn))) {
            Ok(outcome) => outcome,
            Err(_) => {
                tracing::error!("a write command panicked; it was rolled back");
                (false, Box::new(|_| {}) as Finish)
            }
        };
        let end = if ok {
            "RELEASE cmd"
        } else {
            "ROLLBACK TO cmd; RELEASE cmd"
        };
        if let Err(e) = conn.execute_batch(end) {
            tracing::error!(error = %e, "savepoint end failed");
        }
        finishes.push(finish);
    }
    let executed = started.elapsed();
    let commit_error = conn.execute_batch("COMMIT").err().map(|e| {
        tracing::error!(error = %e, "group commit failed; every command in it fails");
        let _ = conn.execute_batch("ROLLBACK");
        StoreError::Unavailable(format!("commit failed: {e}"))
    });
    tracing::debug!(
        size,
        execute_us = executed.as_micros() as u64,
        commit_us = (started.elapsed() - executed).as_micros() as u64,
        "group committed"
    );
    for finish in finishes {
        finish(commit_error.clone());
    }
}

/// Produces a job's `finish` without letting it change anything durable: it runs inside
/// a savepoint that is always rolled back.
fn fail_job(job: Job, conn: &Connection) -> (bool, Finish) {
    let _ = conn.execute_batch("SAVEPOINT doomed");
    let outcome = catch_unwind(AssertUnwindSafe(|| job(conn))).unwrap_or((false, Box::new(|_| {})));
    let _ = conn.execute_batch("ROLLBACK TO doomed; RELEASE doomed");
    outcome
}
