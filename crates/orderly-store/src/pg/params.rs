//! The parameters of deferred writes: rows sent as array columns, so that the rows of
//! several commands join by appending (see `batch`), and the stock change with its sums.

use super::conn::Owned;
use super::statement::{Ctes, StatementId, StatementSpec, Table, Target, WriteKind};
use bytes::BytesMut;
use std::collections::BTreeMap;
use std::error::Error;
use tokio_postgres::types::{IsNull, ToSql, Type};

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
    pub(super) fn append(&mut self, other: &Column) -> bool {
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

    pub(super) fn rows(&self) -> usize {
        match self {
            Column::Text(v) => v.len(),
            Column::OptText(v) => v.len(),
            Column::Int(v) => v.len(),
            Column::OptInt(v) => v.len(),
            Column::Bytes(v) => v.len(),
        }
    }

    /// The text in row `i`, if this is a text column.
    pub(super) fn text(&self, i: usize) -> Option<&str> {
        match self {
            Column::Text(v) => v.get(i).map(String::as_str),
            _ => None,
        }
    }

    pub(super) fn remove(&mut self, i: usize) {
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
const STOCK_CTES: &str = "locked AS MATERIALIZED (
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
const STOCK_SQL: &str =
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

/// The stock change: the rows locked and updated (`STOCK_CTES`), and their movements.
pub(crate) const STOCK_CHANGE: StatementSpec = StatementSpec::with_ctes(
    StatementId::StockChange,
    Ctes {
        sql: STOCK_CTES,
        writes: &[Target {
            table: Table::Inventory,
            kind: WriteKind::StockMoves,
        }],
    },
    Target {
        table: Table::StockMovements,
        kind: WriteKind::StockMoves,
    },
    STOCK_SQL,
);

/// The parameters of a deferred write; which of them it has follows from how its
/// statement was declared (see `Deferred::values`, `Deferred::columns`).
pub(crate) enum Params {
    /// Any values: the statement is sent as it is.
    Values(Vec<Owned>),
    /// Array columns, one element per row, of a statement that inserts or changes rows.
    Columns(Vec<Column>),
    /// The stock change's moves, and its columns worked out from them.
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
            Params::Columns(c) | Params::Stock { columns: c, .. } => c.len(),
        }
    }

    pub(crate) fn refs(&self) -> Vec<&(dyn ToSql + Sync)> {
        match self {
            Params::Values(v) => v.iter().map(|p| p.as_ref() as _).collect(),
            Params::Columns(c) | Params::Stock { columns: c, .. } => {
                c.iter().map(|p| p as _).collect()
            }
        }
    }

    /// A copy; None for plain values, which cannot be copied (and never join).
    pub(super) fn try_clone(&self) -> Option<Params> {
        match self {
            Params::Values(_) => None,
            Params::Columns(c) => Some(Params::Columns(c.clone())),
            Params::Stock { moves, columns } => Some(Params::Stock {
                moves: moves.clone(),
                columns: columns.clone(),
            }),
        }
    }

    /// Appends the rows (or moves) of `other`, parameters of the same statement; false if
    /// they do not fit.
    pub(super) fn append(&mut self, other: &Params) -> bool {
        match (self, other) {
            (Params::Columns(a), Params::Columns(b)) => {
                a.len() == b.len() && a.iter_mut().zip(b).all(|(a, b)| a.append(b))
            }
            (Params::Stock { moves: a, .. }, Params::Stock { moves: b, .. }) => {
                a.extend_from_slice(b);
                true
            }
            _ => false,
        }
    }

    /// The key (its first `key` columns) of each row; None when a key column is missing
    /// or not text, which the callers take as "cannot tell rows apart".
    fn keys(&self, key: usize) -> Option<Vec<Vec<&str>>> {
        let Params::Columns(columns) = self else {
            return None;
        };
        let named = columns.get(..key)?;
        let rows = columns.first().map_or(0, Column::rows);
        (0..rows)
            .map(|i| named.iter().map(|c| c.text(i)).collect())
            .collect()
    }

    /// Whether two of its rows may change the same row, for a statement of `kind`.
    pub(super) fn repeats_a_key(&self, kind: WriteKind) -> bool {
        let WriteKind::Keyed { key, .. } = kind else {
            return false;
        };
        self.keys(key).is_none_or(|keys| {
            let distinct: std::collections::BTreeSet<&Vec<&str>> = keys.iter().collect();
            distinct.len() < keys.len()
        })
    }

    /// Adds the rows of `other`, a later write of the same statement (declared `kind`) in
    /// the same command: appended, or for a keyed write that replaces, in place of an
    /// earlier row for the same row. False when they cannot share a statement.
    pub(super) fn absorb(&mut self, other: &Params, kind: WriteKind) -> bool {
        if let WriteKind::Keyed { key, replaces } = kind {
            let (Some(ours), Some(theirs)) = (self.keys(key), other.keys(key)) else {
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
                if let Params::Columns(columns) = self {
                    for i in repeated.into_iter().rev() {
                        columns.iter_mut().for_each(|c| c.remove(i));
                    }
                }
            }
        }
        self.append(other)
    }

    /// Works out the stock columns again after moves were appended.
    pub(super) fn settle(&mut self) {
        if let Params::Stock { moves, columns } = self {
            *columns = stock_columns(moves);
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn reserve(sku: &str, delta: i64, order: &str, at: i64) -> StockMove {
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

    pub(crate) fn ints(c: &Column) -> &[i64] {
        match c {
            Column::Int(v) => v,
            other => panic!("not ints: {other:?}"),
        }
    }

    pub(crate) fn texts(c: &Column) -> &[String] {
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

    /// The keyed write of an order's version, declared to replace or not.
    pub(crate) fn save(order: &str, version: i64) -> Params {
        Params::Columns(vec![
            Column::Text(vec![order.into()]),
            Column::Int(vec![version]),
        ])
    }

    const REPLACES: WriteKind = WriteKind::Keyed {
        key: 1,
        replaces: true,
    };
    const KEEPS: WriteKind = WriteKind::Keyed {
        key: 1,
        replaces: false,
    };

    fn versions(p: &Params) -> Vec<i64> {
        let Params::Columns(columns) = p else {
            panic!("columns")
        };
        ints(&columns[1]).to_vec()
    }

    #[test]
    fn a_later_change_of_the_same_row_replaces_the_earlier_in_a_command() {
        let mut write = save("o1", 2);
        assert!(write.absorb(&save("o2", 7), REPLACES));
        assert!(write.absorb(&save("o1", 3), REPLACES));
        assert_eq!(versions(&write), [7, 3], "o1 once, at its last version");
        // A write that does not set every column cannot stand in for an earlier one.
        let mut upsert = save("f1", 1);
        assert!(!upsert.absorb(&save("f1", 2), KEEPS));
        assert!(upsert.absorb(&save("f2", 2), KEEPS));
        assert_eq!(versions(&upsert), [1, 2]);
        // Inserted rows are only ever appended.
        let mut rows = save("o1", 1);
        assert!(rows.absorb(&save("o1", 2), WriteKind::InsertRows));
        assert_eq!(versions(&rows), [1, 2]);
    }

    #[test]
    fn rows_that_cannot_be_told_apart_never_share_a_statement() {
        // A key column that is not text: no row is taken for another's replacement.
        let by_number = |n: i64| Params::Columns(vec![Column::Int(vec![n])]);
        let mut write = by_number(1);
        assert!(!write.absorb(&by_number(2), REPLACES));
        assert!(
            write.repeats_a_key(REPLACES),
            "a group with it is not joined"
        );
        assert!(!save("o1", 1).repeats_a_key(REPLACES));
        // A key wider than the columns given names no row either.
        let wide = WriteKind::Keyed {
            key: 3,
            replaces: true,
        };
        assert!(save("o1", 1).repeats_a_key(wide));
        assert!(!save("o1", 1).repeats_a_key(WriteKind::InsertRows));
    }
}
