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

use super::{Deferred, Owned, combine, pg_error, pool_error};
use crate::error::StoreError;
use bytes::BytesMut;
use deadpool_postgres::Pool;
use futures_util::future::join_all;
use std::collections::BTreeMap;
use std::error::Error;
use tokio::sync::{mpsc, oneshot};
use tokio_postgres::types::{IsNull, ToSql, Type};

/// The most commands one statement carries.
const MAX_GROUP: usize = 32;

/// One column of the rows a write inserts, sent as an array parameter, so the rows of
/// several commands join by appending.
#[derive(Debug, Clone)]
pub(crate) enum Column {
    Text(Vec<String>),
    OptText(Vec<Option<String>>),
    Int(Vec<i64>),
    OptInt(Vec<Option<i64>>),
    Bytes(Vec<Vec<u8>>),
}

impl Column {
    /// Appends `other`'s rows; false (and nothing appended) for a column of another type.
    fn append(&mut self, other: &Column) -> bool {
        match (self, other) {
            (Column::Text(a), Column::Text(b)) => a.extend_from_slice(b),
            (Column::OptText(a), Column::OptText(b)) => a.extend_from_slice(b),
            (Column::Int(a), Column::Int(b)) => a.extend_from_slice(b),
            (Column::OptInt(a), Column::OptInt(b)) => a.extend_from_slice(b),
            (Column::Bytes(a), Column::Bytes(b)) => a.extend_from_slice(b),
            _ => return false,
        }
        true
    }

    fn rows(&self) -> usize {
        match self {
            Column::Text(v) => v.len(),
            Column::OptText(v) => v.len(),
            Column::Int(v) => v.len(),
            Column::OptInt(v) => v.len(),
            Column::Bytes(v) => v.len(),
        }
    }

    /// The text in row `i`, if this is a text column.
    fn text(&self, i: usize) -> Option<&str> {
        match self {
            Column::Text(v) => v.get(i).map(String::as_str),
            _ => None,
        }
    }

    fn remove(&mut self, i: usize) {
        fn out<T>(v: &mut Vec<T>, i: usize) {
            if i < v.len() {
                v.remove(i);
            }
        }
        match self {
            Column::Text(v) => out(v, i),
            Column::OptText(v) => out(v, i),
            Column::Int(v) => out(v, i),
            Column::OptInt(v) => out(v, i),
            Column::Bytes(v) => out(v, i),
        }
    }
}

impl ToSql for Column {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        match self {
            Column::Text(v) => v.to_sql(ty, out),
            Column::OptText(v) => v.to_sql(ty, out),
            Column::Int(v) => v.to_sql(ty, out),
            Column::OptInt(v) => v.to_sql(ty, out),
            Column::Bytes(v) => v.to_sql(ty, out),
        }
    }

    fn accepts(ty: &Type) -> bool {
        <Vec<String> as ToSql>::accepts(ty)
            || <Vec<i64> as ToSql>::accepts(ty)
            || <Vec<Vec<u8>> as ToSql>::accepts(ty)
    }

    // Each kind checks the parameter's type itself (text[] is not bigint[]).
    fn to_sql_checked(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        match self {
            Column::Text(v) => v.to_sql_checked(ty, out),
            Column::OptText(v) => v.to_sql_checked(ty, out),
            Column::Int(v) => v.to_sql_checked(ty, out),
            Column::OptInt(v) => v.to_sql_checked(ty, out),
            Column::Bytes(v) => v.to_sql_checked(ty, out),
        }
    }
}

/// One change of a stock row's reserved (and on-hand) units, with its movement record.
#[derive(Debug, Clone)]
pub(crate) struct StockMove {
    pub sku: String,
    pub location: String,
    pub reason: &'static str,
    pub delta: i64,
    pub delta_on_hand: i64,
    pub order_id: String,
    pub actor: String,
    pub at: i64,
}

/// The parameters of `STOCK_CTES` and `STOCK_SQL` for `moves`, applied in this order.
///
/// The sums are worked out here, so the statement stays a lock, an update and an
/// insert: per row (sorted, which is the order rows are locked in), the total change and
/// the latest time; per move, what the row's later moves still add, which the row's
/// final level less that is the level just after the move.
pub(crate) fn stock_columns(moves: &[StockMove]) -> Vec<Column> {
    let mut totals: BTreeMap<(&str, &str), (i64, i64, i64)> = BTreeMap::new();
    let mut rest = vec![(0_i64, 0_i64); moves.len()];
    for (i, m) in moves.iter().enumerate().rev() {
        let total = totals
            .entry((m.sku.as_str(), m.location.as_str()))
            .or_insert((0, 0, m.at));
        rest[i] = (total.0, total.1);
        total.0 += m.delta;
        total.1 += m.delta_on_hand;
        total.2 = total.2.max(m.at);
    }
    let text =
        |f: fn(&StockMove) -> &str| Column::Text(moves.iter().map(|m| f(m).to_owned()).collect());
    let int = |f: fn(&StockMove) -> i64| Column::Int(moves.iter().map(f).collect());
    vec![
        Column::Text(totals.keys().map(|k| k.0.to_owned()).collect()),
        Column::Text(totals.keys().map(|k| k.1.to_owned()).collect()),
        Column::Int(totals.values().map(|t| t.0).collect()),
        Column::Int(totals.values().map(|t| t.1).collect()),
        Column::Int(totals.values().map(|t| t.2).collect()),
        text(|m| &m.sku),
        text(|m| &m.location),
        text(|m| m.reason),
        int(|m| m.delta),
        int(|m| m.delta_on_hand),
        Column::Int(rest.iter().map(|r| r.0).collect()),
        Column::Int(rest.iter().map(|r| r.1).collect()),
        text(|m| &m.order_id),
        text(|m| &m.actor),
        int(|m| m.at),
    ]
}

/// The locked and updated stock rows of `STOCK_SQL`. The rows are locked one by one in
/// the order given (a lateral subquery with FOR UPDATE is a nested loop over the sorted
/// keys), so transactions that take the same rows queue instead of deadlocking.
pub(crate) const STOCK_CTES: &str = "locked AS MATERIALIZED (
         SELECT i.sku, i.location_id, t.total, t.on_total, t.at
         FROM UNNEST($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[])
           AS t(sku, location_id, total, on_total, at)
         CROSS JOIN LATERAL (
           SELECT sku, location_id FROM inventory
           WHERE sku = t.sku AND location_id = t.location_id FOR UPDATE
         ) i
     ), levels AS (
         UPDATE inventory i SET reserved = i.reserved + g.total,
                on_hand = i.on_hand + g.on_total, updated_at = g.at
         FROM locked g WHERE i.sku = g.sku AND i.location_id = g.location_id
         RETURNING i.sku, i.location_id, i.on_hand, i.reserved
     )";

/// The movement records of a stock change, each with the level just after it.
pub(crate) const STOCK_SQL: &str =
    "INSERT INTO stock_movements (sku, location_id, reason, delta_on_hand, delta_reserved,
       on_hand_after, reserved_after, order_id, note, actor, at)
     SELECT m.sku, m.location_id, m.reason, m.delta_on_hand, m.delta,
            (SELECT u.on_hand FROM levels u
             WHERE u.sku = m.sku AND u.location_id = m.location_id) - m.rest_on_hand,
            (SELECT u.reserved FROM levels u
             WHERE u.sku = m.sku AND u.location_id = m.location_id) - m.rest_reserved,
            m.order_id, NULL, m.actor, m.at
     FROM UNNEST($6::text[], $7::text[], $8::text[], $9::bigint[], $10::bigint[],
                 $11::bigint[], $12::bigint[], $13::text[], $14::text[], $15::bigint[])
            WITH ORDINALITY AS m(sku, location_id, reason, delta, delta_on_hand,
                                 rest_reserved, rest_on_hand, order_id, actor, at, ord)
     ORDER BY m.ord";

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
    /// lets queued writes finish.
    pub(crate) fn start(pool: Pool) -> Batcher {
        let (queue, waiting) = mpsc::unbounded_channel();
        tokio::spawn(committer(pool, waiting));
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
async fn committer(pool: Pool, mut waiting: mpsc::UnboundedReceiver<Queued>) {
    while let Some(first) = waiting.recv().await {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match waiting.try_recv() {
                Ok(next) => group.push(next),
                Err(_) => break,
            }
        }
        let writes: Vec<&[Deferred]> = group.iter().map(|q| q.writes.as_slice()).collect();
        let results = commit_group(&pool, &writes).await;
        for (queued, result) in group.into_iter().zip(results) {
            // A caller that went away (its request was dropped) needs no answer.
            let _ = queued.done.send(result);
        }
    }
}

/// Commits each command's writes, joined into one statement when they can be; one
/// result per command.
async fn commit_group(pool: &Pool, group: &[&[Deferred]]) -> Vec<Result<(), StoreError>> {
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
            Ok(()) => results.extend(group.iter().map(|_| Ok(()))),
            // Refused by the server: nothing of it committed, so each goes alone.
            Err(e) if e.as_db_error().is_some() => {
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
            match joined.iter_mut().find(|j| j.text_key() == d.text_key()) {
                Some(j) => {
                    if !j.params.append(&d.params) {
                        return None;
                    }
                }
                None => joined.push(d.try_clone()?),
            }
        }
    }
    for d in &mut joined {
        if d.params.repeats_a_key() {
            return None;
        }
        d.params.settle();
    }
    // Named subqueries of two writes could clash (only the stock write has them).
    (joined.iter().filter(|d| !d.ctes.is_empty()).count() <= 1).then_some(joined)
}

/// The parameters of a deferred write.
pub(crate) enum Params {
    /// Any values: the write is sent as it is.
    Values(Vec<Owned>),
    /// The columns of the rows it inserts: it may join other commands' writes.
    Rows(Vec<Column>),
    /// The columns of the rows it changes, each named by its first `key` (text) columns:
    /// it may join other commands' writes that change other rows (an `UPDATE … FROM`
    /// given one row twice applies only one of them; an upsert fails). Within a command,
    /// a later row for the same row `replaces` the earlier one when the write sets every
    /// column it carries; otherwise it goes in a statement of its own.
    Keyed {
        columns: Vec<Column>,
        key: usize,
        replaces: bool,
    },
    /// A stock change (`STOCK_CTES` and `STOCK_SQL`), which may join others' too.
    Stock {
        moves: Vec<StockMove>,
        columns: Vec<Column>,
    },
}

impl Params {
    pub(crate) fn stock(moves: Vec<StockMove>) -> Params {
        let columns = stock_columns(&moves);
        Params::Stock { moves, columns }
    }

    pub(crate) fn len(&self) -> usize {
        match self {
            Params::Values(v) => v.len(),
            Params::Rows(c)
            | Params::Keyed { columns: c, .. }
            | Params::Stock { columns: c, .. } => c.len(),
        }
    }

    pub(crate) fn refs(&self) -> Vec<&(dyn ToSql + Sync)> {
        match self {
            Params::Values(v) => v.iter().map(|p| p.as_ref() as _).collect(),
            Params::Rows(c)
            | Params::Keyed { columns: c, .. }
            | Params::Stock { columns: c, .. } => c.iter().map(|p| p as _).collect(),
        }
    }

    /// Whether the write may join other commands' writes.
    pub(crate) fn joinable(&self) -> bool {
        !matches!(self, Params::Values(_))
    }

    fn try_clone(&self) -> Option<Params> {
        match self {
            Params::Values(_) => None,
            Params::Rows(c) => Some(Params::Rows(c.clone())),
            Params::Keyed {
                columns,
                key,
                replaces,
            } => Some(Params::Keyed {
                columns: columns.clone(),
                key: *key,
                replaces: *replaces,
            }),
            Params::Stock { moves, columns } => Some(Params::Stock {
                moves: moves.clone(),
                columns: columns.clone(),
            }),
        }
    }

    /// Appends the rows (or moves) of `other`, a write of the same text; false if they
    /// do not fit.
    pub(crate) fn append(&mut self, other: &Params) -> bool {
        match (self, other) {
            (Params::Rows(a), Params::Rows(b))
            | (Params::Keyed { columns: a, .. }, Params::Keyed { columns: b, .. }) => {
                a.len() == b.len() && a.iter_mut().zip(b).all(|(a, b)| a.append(b))
            }
            (Params::Stock { moves: a, .. }, Params::Stock { moves: b, .. }) => {
                a.extend_from_slice(b);
                true
            }
            _ => false,
        }
    }

    /// The key of each row of a keyed write (None for other writes, or when a key column
    /// is not text, which the callers take as "cannot tell rows apart").
    fn keys(&self) -> Option<Vec<Vec<&str>>> {
        let Params::Keyed { columns, key, .. } = self else {
            return None;
        };
        let rows = columns.first().map_or(0, Column::rows);
        (0..rows)
            .map(|i| columns[..*key].iter().map(|c| c.text(i)).collect())
            .collect()
    }

    /// Whether two of its rows may change the same row.
    fn repeats_a_key(&self) -> bool {
        if !matches!(self, Params::Keyed { .. }) {
            return false;
        }
        self.keys().is_none_or(|keys| {
            let distinct: std::collections::BTreeSet<&Vec<&str>> = keys.iter().collect();
            distinct.len() < keys.len()
        })
    }

    /// Adds the rows of `other`, a later write of the same text in the same command:
    /// appended, or for a keyed write that replaces, in place of an earlier row for the
    /// same row. False when they cannot share a statement.
    pub(crate) fn absorb(&mut self, other: &Params) -> bool {
        let replaces = matches!(self, Params::Keyed { replaces: true, .. });
        if matches!(self, Params::Keyed { .. }) {
            let (Some(ours), Some(theirs)) = (self.keys(), other.keys()) else {
                return false;
            };
            let repeated: Vec<usize> = ours
                .iter()
                .enumerate()
                .filter(|(_, k)| theirs.contains(k))
                .map(|(i, _)| i)
                .collect();
            if !repeated.is_empty() {
                if !replaces {
                    return false;
                }
                if let Params::Keyed { columns, .. } = self {
                    for i in repeated.into_iter().rev() {
                        columns.iter_mut().for_each(|c| c.remove(i));
                    }
                }
            }
        }
        self.append(other)
    }

    /// Works out the stock columns again after moves were appended.
    fn settle(&mut self) {
        if let Params::Stock { moves, columns } = self {
            *columns = stock_columns(moves);
        }
    }
}

impl Deferred {
    fn try_clone(&self) -> Option<Deferred> {
        Some(Deferred {
            ctes: self.ctes,
            sql: self.sql,
            params: self.params.try_clone()?,
            targets: self.targets.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pg::{owned, statements};

    fn reserve(sku: &str, delta: i64, order: &str, at: i64) -> StockMove {
        StockMove {
            sku: sku.into(),
            location: "wh".into(),
            reason: "reserve",
            delta,
            delta_on_hand: 0,
            order_id: order.into(),
            actor: "api".into(),
            at,
        }
    }

    fn ints(c: &Column) -> &[i64] {
        match c {
            Column::Int(v) => v,
            other => panic!("not ints: {other:?}"),
        }
    }

    fn texts(c: &Column) -> &[String] {
        match c {
            Column::Text(v) => v,
            other => panic!("not texts: {other:?}"),
        }
    }

    #[test]
    fn stock_rows_are_sorted_and_each_move_knows_what_follows_it() {
        let moves = [
            reserve("B", 2, "o1", 10),
            reserve("A", 1, "o1", 10),
            reserve("B", 3, "o2", 20),
        ];
        let c = stock_columns(&moves);
        assert_eq!(texts(&c[0]), ["A", "B"], "rows in lock order");
        assert_eq!(ints(&c[2]), [1, 5], "total change per row");
        assert_eq!(ints(&c[4]), [10, 20], "latest time per row");
        assert_eq!(texts(&c[5]), ["B", "A", "B"], "moves in the order given");
        // B's first move is followed by +3, so its level just after is the final less 3.
        assert_eq!(ints(&c[10]), [3, 0, 0]);
        assert_eq!(texts(&c[12]), ["o1", "o1", "o2"]);
    }

    fn events(stream: &str) -> Deferred {
        Deferred::new(
            "",
            "INSERT INTO events (stream_id) SELECT * FROM UNNEST($1::text[])",
            Params::Rows(vec![Column::Text(vec![stream.into()])]),
        )
    }

    fn stock(order: &str) -> Deferred {
        Deferred::new(
            STOCK_CTES,
            STOCK_SQL,
            Params::stock(vec![reserve("A", 1, order, 1)]),
        )
    }

    #[test]
    fn commands_join_table_by_table_in_command_order() {
        // Built the same way twice: the same texts.
        let (a, b) = (
            vec![events("o1"), stock("o1")],
            vec![events("o2"), stock("o2")],
        );
        let joined = join(&[&a, &b]).expect("joinable");
        assert_eq!(joined.len(), 2);
        let Params::Rows(columns) = &joined[0].params else {
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

    fn save(order: &str, version: i64, replaces: bool) -> Params {
        Params::Keyed {
            columns: vec![Column::Text(vec![order.into()]), Column::Int(vec![version])],
            key: 1,
            replaces,
        }
    }

    fn versions(p: &Params) -> Vec<i64> {
        let Params::Keyed { columns, .. } = p else {
            panic!("keyed")
        };
        ints(&columns[1]).to_vec()
    }

    #[test]
    fn a_later_change_of_the_same_row_replaces_the_earlier_in_a_command() {
        let mut write = save("o1", 2, true);
        assert!(write.absorb(&save("o2", 7, true)));
        assert!(write.absorb(&save("o1", 3, true)));
        assert_eq!(versions(&write), [7, 3], "o1 once, at its last version");
        // A write that does not set every column cannot stand in for an earlier one.
        let mut upsert = save("f1", 1, false);
        assert!(!upsert.absorb(&save("f1", 2, false)));
        assert!(upsert.absorb(&save("f2", 2, false)));
        assert_eq!(versions(&upsert), [1, 2]);
    }

    #[test]
    fn rows_that_cannot_be_told_apart_never_share_a_statement() {
        // A key column that is not text: no row is taken for another's replacement.
        let by_number = |n: i64| Params::Keyed {
            columns: vec![Column::Int(vec![n])],
            key: 1,
            replaces: true,
        };
        let mut write = by_number(1);
        assert!(!write.absorb(&by_number(2)));
        assert!(write.repeats_a_key(), "a group with it is not joined");
        assert!(!save("o1", 1, true).repeats_a_key());
    }

    #[test]
    fn commands_changing_the_same_row_do_not_join() {
        let update = |order: &str| {
            vec![Deferred::new(
                "",
                "UPDATE orders o SET version = u.version FROM UNNEST($1::text[], $2::bigint[]) u",
                save(order, 1, true),
            )]
        };
        let (a, b, c) = (update("o1"), update("o2"), update("o1"));
        assert!(join(&[&a, &b]).is_some());
        assert!(join(&[&a, &b, &c]).is_none(), "o1 twice in one statement");
        // An order placed by one command and another updated by the next: one statement
        // with both writes to the table side by side.
        let place = vec![Deferred::new(
            "",
            "INSERT INTO orders (id) SELECT * FROM UNNEST($1::text[])",
            Params::Rows(vec![Column::Text(vec!["o3".into()])]),
        )];
        let joined = join(&[&place, &a]).expect("joinable");
        let run: Vec<&Deferred> = joined.iter().collect();
        let (sql, params) = combine(&run).expect("one statement");
        assert!(sql.starts_with("WITH w0 AS (INSERT INTO orders"), "{sql}");
        assert!(sql.contains("w1 AS (UPDATE orders"), "{sql}");
        assert_eq!(params.len(), 3);
    }

    #[test]
    fn only_rows_of_several_commands_join() {
        let a = vec![events("o1")];
        assert!(join(&[&a]).is_none(), "one command goes as it is");
        let update = vec![Deferred::plain(
            "UPDATE orders SET version = $1",
            vec![owned(2_i64)],
        )];
        assert!(join(&[&a, &update]).is_none());
    }
}
