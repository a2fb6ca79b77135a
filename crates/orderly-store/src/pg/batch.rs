//! Group commit on PostgreSQL. Placing an order ends in one statement of row writes and
//! a stock update (see `Conn`); most of what PostgreSQL spends on it is per statement,
//! not per row: setting up seven inserts with their indexes and checks, the plan, the
//! commit and its WAL flush, the round trip. So those statements do not go to the server
//! one per command: they queue here, and a committer joins whatever is waiting into one
//! statement (the rows of each write appended, the stock changes summed per row, no row
//! changed twice) and commits them together, as the SQLite writer does with its group
//! commit.
//!
//! One committer per process: while it waits for a commit, the next group gathers, so
//! groups grow with the load. A second committer made groups half as large and cost more
//! than it overlapped (about a tenth of the throughput, measured with `orderly bench`).
//!
//! A joined statement that the server refuses (a stock guard, a unique key) commits
//! nothing; then each command's statement is sent alone, so a failure stays with the
//! command that caused it. A joined statement whose answer is lost (the connection
//! dropped) fails every command in it: none can know whether it committed.

use super::deferred::{Deferred, combine};
use super::{pg_error, pool_error};
use crate::error::StoreError;
use crate::group::GroupCounters;
use deadpool_postgres::Pool;
use futures_util::future::join_all;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// The most commands one statement carries.
const MAX_GROUP: usize = 32;

/// A command's final writes, waiting for the committer.
struct Queued {
    writes: Vec<Deferred>,
    done: oneshot::Sender<Result<(), StoreError>>,
}

/// The queue of writes waiting to be committed, and the committer that empties it.
#[derive(Debug, Clone)]
pub(crate) struct Batcher {
    queue: mpsc::UnboundedSender<Queued>,
}

impl Batcher {
    /// Starts the committer on the current runtime, with `pool` for its connection. It
    /// commits what is queued until the last `Batcher` clone is dropped, so a shutdown
    /// lets queued writes finish. What it joins and where it falls back is counted in
    /// `groups`.
    pub(crate) fn start(pool: Pool, groups: Arc<GroupCounters>) -> Batcher {
        let (queue, waiting) = mpsc::unbounded_channel();
        tokio::spawn(committer(pool, waiting, groups));
        Batcher { queue }
    }

    /// Commits `writes` (one statement's worth, see `Conn::take_joinable`), most likely
    /// together with other commands'.
    pub(crate) async fn commit(&self, writes: Vec<Deferred>) -> Result<(), StoreError> {
        let (done, answer) = oneshot::channel();
        self.queue
            .send(Queued { writes, done })
            .map_err(|_| StoreError::Unavailable("the committer has stopped".into()))?;
        answer.await.map_err(|_| {
            StoreError::Unavailable("the committer stopped before it answered".into())
        })?
    }
}

/// Takes whatever is waiting (up to `MAX_GROUP`) and commits it, until the queue closes.
async fn committer(
    pool: Pool,
    mut waiting: mpsc::UnboundedReceiver<Queued>,
    groups: Arc<GroupCounters>,
) {
    while let Some(first) = waiting.recv().await {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match waiting.try_recv() {
                Ok(next) => group.push(next),
                Err(_) => break,
            }
        }
        let writes: Vec<&[Deferred]> = group.iter().map(|q| q.writes.as_slice()).collect();
        let results = commit_group(&pool, &writes, &groups).await;
        for (queued, result) in group.into_iter().zip(results) {
            // A caller that went away (its request was dropped) needs no answer.
            let _ = queued.done.send(result);
        }
    }
}

/// Commits each command's writes, joined into one statement when they can be; one
/// result per command.
async fn commit_group(
    pool: &Pool,
    group: &[&[Deferred]],
    groups: &GroupCounters,
) -> Vec<Result<(), StoreError>> {
    let client = match pool.get().await {
        Ok(client) => client,
        Err(e) => {
            let e = pool_error(e);
            return group.iter().map(|_| Err(e.clone())).collect();
        }
    };
    let mut results = Vec::with_capacity(group.len());
    if let Some(joined) = join(group) {
        match send(&client, &joined).await {
            Ok(()) => {
                groups.joined(group.len());
                results.extend(group.iter().map(|_| Ok(())));
            }
            // Refused by the server: nothing of it committed, so each goes alone.
            Err(e) if e.as_db_error().is_some() => {
                groups.fell_back();
                tracing::debug!(error = %e, commands = group.len(), "a joined commit was refused");
            }
            Err(e) => {
                let e = pg_error(e);
                results.extend(group.iter().map(|_| Err(e.clone())));
            }
        }
    }
    if results.is_empty() {
        // Pipelined: each is its own statement and commit (a failure stops only itself),
        // without a round trip each.
        let alone = group
            .iter()
            .map(|writes| async { send(&client, writes).await.map_err(pg_error) });
        results = join_all(alone).await;
    }
    results
}

/// Sends writes that make one statement (a command's, see `Conn::take_joinable`, or a
/// group's joined ones, whose writes to one table sit side by side).
async fn send(
    client: &deadpool_postgres::ClientWrapper,
    writes: &[Deferred],
) -> Result<(), tokio_postgres::Error> {
    let run: Vec<&Deferred> = writes.iter().collect();
    let Some((sql, params)) = combine(&run) else {
        return Ok(());
    };
    let statement = client.prepare_cached(&sql).await?;
    client.execute(&statement, &params).await?;
    Ok(())
}

/// The writes of several commands as one: the rows of the same write appended, in
/// command order. None when there is only one command, or when they cannot share a
/// statement (the same row changed twice).
///
/// Different writes to one table (an order inserted by one command, another updated by
/// the next) sit side by side in the statement, where neither sees the other: they change
/// different rows, since a command changes only rows committed before it read them.
fn join(group: &[&[Deferred]]) -> Option<Vec<Deferred>> {
    if group.len() < 2 {
        return None;
    }
    let mut joined: Vec<Deferred> = Vec::new();
    for writes in group {
        for d in writes.iter() {
            if !d.joins() {
                return None;
            }
            match joined.iter_mut().find(|j| j.spec.id == d.spec.id) {
                Some(j) => {
                    if !j.append(d) {
                        return None;
                    }
                }
                None => joined.push(d.try_clone()?),
            }
        }
    }
    for d in &mut joined {
        if d.repeats_a_key() {
            return None;
        }
        d.params.settle();
    }
    // Named subqueries of two writes could clash (only the stock change has them).
    (joined.iter().filter(|d| d.spec.ctes.is_some()).count() <= 1).then_some(joined)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pg::conn::owned;
    use crate::pg::deferred::statements;
    use crate::pg::params::Params;
    use crate::pg::params::tests::{ints, reserve, save, texts};
    use crate::pg::statement::{Table, Target, test_spec};
    use crate::pg::{Column, StockMove};

    fn events(stream: &str) -> Deferred {
        let insert = test_spec(
            20,
            Target::rows(Table::Events),
            "INSERT INTO events (stream_id) SELECT * FROM UNNEST($1::text[])",
        );
        Deferred::columns(insert, vec![Column::Text(vec![stream.into()])])
    }

    fn stock(order: &str) -> Deferred {
        let moves: Vec<StockMove> = vec![reserve("A", 1, order, 1)];
        Deferred::stock(moves)
    }

    #[test]
    fn commands_join_table_by_table_in_command_order() {
        let (a, b) = (
            vec![events("o1"), stock("o1")],
            vec![events("o2"), stock("o2")],
        );
        let joined = join(&[&a, &b]).expect("joinable");
        assert_eq!(joined.len(), 2);
        let Params::Columns(columns) = &joined[0].params else {
            panic!("rows")
        };
        assert_eq!(texts(&columns[0]), ["o1", "o2"]);
        let Params::Stock { columns, .. } = &joined[1].params else {
            panic!("stock")
        };
        assert_eq!(ints(&columns[2]), [2], "one row, both orders' units");
        assert_eq!(
            ints(&columns[10]),
            [1, 0],
            "the first order's level is before the second's"
        );
        assert_eq!(statements(&joined).len(), 1);
    }

    fn update(order: &str) -> Vec<Deferred> {
        let update = test_spec(
            21,
            Target::keyed(Table::Orders, 1, true),
            "UPDATE orders o SET version = u.version FROM UNNEST($1::text[], $2::bigint[]) u",
        );
        let Params::Columns(columns) = save(order, 1) else {
            unreachable!("save gives columns")
        };
        vec![Deferred::columns(update, columns)]
    }

    #[test]
    fn commands_changing_the_same_row_do_not_join() {
        let (a, b, c) = (update("o1"), update("o2"), update("o1"));
        assert!(join(&[&a, &b]).is_some());
        assert!(join(&[&a, &b, &c]).is_none(), "o1 twice in one statement");
        // An order placed by one command and another updated by the next: one statement
        // with both writes to the table side by side.
        let insert = test_spec(
            22,
            Target::rows(Table::Orders),
            "INSERT INTO orders (id) SELECT * FROM UNNEST($1::text[])",
        );
        let place = vec![Deferred::columns(
            insert,
            vec![Column::Text(vec!["o3".into()])],
        )];
        let joined = join(&[&place, &a]).expect("joinable");
        let run: Vec<&Deferred> = joined.iter().collect();
        let (sql, params) = combine(&run).expect("one statement");
        assert!(sql.starts_with("WITH w0 AS (INSERT INTO orders"), "{sql}");
        assert!(sql.contains("w1 AS (UPDATE orders"), "{sql}");
        assert_eq!(params.len(), 3);
    }

    #[test]
    fn only_writes_declared_joinable_of_several_commands_join() {
        let a = vec![events("o1")];
        assert!(join(&[&a]).is_none(), "one command goes as it is");
        let plain = test_spec(
            23,
            Target::other(Table::Orders),
            "UPDATE orders SET version = $1",
        );
        let update = vec![Deferred::values(plain, vec![owned(2_i64)])];
        assert!(join(&[&a, &update]).is_none());
        // Rows of a statement declared to go as it is do not join either.
        let unjoinable = test_spec(
            24,
            Target::other(Table::Events),
            "INSERT INTO events (stream_id) SELECT * FROM UNNEST($1::text[])",
        );
        let rows = |id: &str| {
            vec![Deferred {
                spec: unjoinable,
                params: Params::Columns(vec![Column::Text(vec![id.into()])]),
            }]
        };
        assert!(join(&[&rows("o1"), &rows("o2")]).is_none());
    }
}
