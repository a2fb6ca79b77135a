//! Deferred writes and how a unit's run of them becomes one statement of data-modifying
//! subqueries (see `Conn`); the committer joins several commands' with the same rules
//! (see `batch`). Every decision here reads what each write declared when it was queued
//! (see `statement`), never its SQL text.

use super::conn::Owned;
use super::params::{Column, Params, StockMove};
use super::statement::{StatementId, StatementSpec, WriteKind};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use tokio_postgres::types::ToSql;

/// A write whose result nobody reads until the transaction ends (or transaction control,
/// queued ahead of it).
pub(crate) struct Deferred {
    pub(super) spec: &'static StatementSpec,
    pub(super) params: Params,
}

impl Deferred {
    /// A statement sent as it is, with any values: transaction control, or a write
    /// declared `WriteKind::Other`.
    pub(super) fn values(spec: &'static StatementSpec, params: Vec<Owned>) -> Deferred {
        // A write declared joinable but given plain values would never join (it cannot be
        // copied into a joined statement): declarations and calls must agree.
        debug_assert!(
            spec.kind().is_none_or(|k| k == WriteKind::Other),
            "{:?}",
            spec.id
        );
        Deferred {
            spec,
            params: Params::Values(params),
        }
    }

    /// Rows given as array columns, for a statement declared `InsertRows` or `Keyed`.
    pub(super) fn columns(spec: &'static StatementSpec, columns: Vec<Column>) -> Deferred {
        debug_assert!(
            matches!(
                spec.kind(),
                Some(WriteKind::InsertRows | WriteKind::Keyed { .. })
            ),
            "{:?}",
            spec.id
        );
        Deferred {
            spec,
            params: Params::Columns(columns),
        }
    }

    /// The stock change (see `params::STOCK_CHANGE`).
    pub(super) fn stock(moves: Vec<StockMove>) -> Deferred {
        Deferred {
            spec: &super::params::STOCK_CHANGE,
            params: Params::stock(moves),
        }
    }

    /// Transaction control (`BEGIN …`, `SET LOCAL …`, `COMMIT`), which never joins a
    /// combined statement.
    pub(super) fn is_control(&self) -> bool {
        self.spec.target.is_none()
    }

    /// Whether it was declared a write that may join other commands' writes.
    pub(super) fn joins(&self) -> bool {
        self.spec.kind().is_some_and(WriteKind::joins)
    }

    /// Whether both write a table in common.
    fn writes_a_table_of(&self, other: &Deferred) -> bool {
        self.spec
            .tables()
            .any(|t| other.spec.tables().any(|o| o == t))
    }

    /// Adds the rows of `other`, a later write of the same statement: appended, or for a
    /// keyed write declared to replace, in place of an earlier change of the same row (see
    /// `Params::absorb`). False when they cannot share a statement.
    pub(super) fn absorb(&mut self, other: &Deferred) -> bool {
        match self.spec.kind() {
            Some(kind) if self.spec.id == other.spec.id => self.params.absorb(&other.params, kind),
            _ => false,
        }
    }

    /// Appends the rows (or moves) of `other`, another command's write of the same
    /// statement; false if they do not fit.
    pub(super) fn append(&mut self, other: &Deferred) -> bool {
        self.spec.id == other.spec.id && self.params.append(&other.params)
    }

    /// Whether two of its rows may change the same row, which a joined statement must not
    /// do (see `WriteKind::Keyed`).
    pub(super) fn repeats_a_key(&self) -> bool {
        self.spec
            .kind()
            .is_some_and(|kind| self.params.repeats_a_key(kind))
    }

    /// A copy to join others' rows into; None for plain values, which never join.
    pub(super) fn try_clone(&self) -> Option<Deferred> {
        Some(Deferred {
            spec: self.spec,
            params: self.params.try_clone()?,
        })
    }
}

/// Queues `write`, rows to insert or change, adding them to the last write to one of its
/// tables when that is the same statement (see `Deferred::absorb`).
pub(super) fn push_rows(deferred: &mut Vec<Deferred>, write: Deferred) {
    let last = deferred
        .iter_mut()
        .rev()
        .find(|d| d.writes_a_table_of(&write));
    if let Some(last) = last
        && last.absorb(&write)
    {
        return;
    }
    deferred.push(write);
}

/// The statements that send `deferred`, in order: consecutive writes become one
/// statement (each a data-modifying CTE, which PostgreSQL always runs to completion);
/// transaction control stays on its own. A run ends before a write to a table it already
/// writes (sibling CTEs share one snapshot, so the second would not see the first, e.g.
/// the read model saved twice by one command), and before a second write with named
/// subqueries (their names could clash).
pub(super) fn statements(deferred: &[Deferred]) -> Vec<(Arc<str>, Vec<&(dyn ToSql + Sync)>)> {
    runs(deferred)
        .iter()
        .filter_map(|run| combine(run))
        .collect()
}

/// The deferred writes grouped into the runs `statements` combines.
pub(super) fn runs(deferred: &[Deferred]) -> Vec<Vec<&Deferred>> {
    let mut out = Vec::new();
    let mut run: Vec<&Deferred> = Vec::new();
    for d in deferred {
        let clash = d.is_control()
            || run.last().is_some_and(|r| r.is_control())
            || run.iter().any(|r| r.writes_a_table_of(d))
            || (d.spec.ctes.is_some() && run.iter().any(|r| r.spec.ctes.is_some()));
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
pub(super) fn combine<'d>(run: &[&'d Deferred]) -> Option<(Arc<str>, Vec<&'d (dyn ToSql + Sync)>)> {
    if run.is_empty() {
        return None;
    }
    let mut run = run.to_vec();
    run.sort_by_key(|d| d.spec.ctes.is_none());
    let params = run.iter().flat_map(|d| d.params.refs()).collect();
    Some((combined_text(&run), params))
}

/// The text of a run's statement, from a process-wide cache keyed by the statements in
/// it: building it renumbers every placeholder, and the same few runs recur for every
/// command.
fn combined_text(run: &[&Deferred]) -> Arc<str> {
    type Texts = HashMap<Vec<StatementId>, Arc<str>>;
    static TEXTS: OnceLock<Mutex<Texts>> = OnceLock::new();
    let texts = TEXTS.get_or_init(Mutex::default);
    let key: Vec<StatementId> = run.iter().map(|d| d.spec.id).collect();
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
        [one] => match one.spec.ctes {
            None => one.spec.sql.to_owned(),
            Some(ctes) => format!("WITH {} {}", ctes.sql, one.spec.sql),
        },
        many => {
            let mut ctes = Vec::new();
            let mut offset = 0;
            for (i, d) in many.iter().enumerate() {
                if let Some(named) = d.spec.ctes {
                    ctes.insert(0, renumber(named.sql, offset));
                }
                ctes.push(format!("w{i} AS ({})", renumber(d.spec.sql, offset)));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pg::conn::owned;
    use crate::pg::statement::{BEGIN, COMMIT, Ctes, SEQ_SCAN_ON, Table, Target};

    use crate::pg::statement::test_spec as spec;

    /// Statement `n` writing `table` as it is, with `values` parameters.
    fn plain(n: u8, table: Table, sql: &'static str, values: usize) -> Deferred {
        let params = (0..values).map(|i| owned(i as i64)).collect();
        Deferred::values(spec(n, Target::other(table), sql), params)
    }

    fn sqls(deferred: &[Deferred]) -> Vec<String> {
        statements(deferred)
            .into_iter()
            .map(|(sql, _)| sql.to_string())
            .collect()
    }

    fn events() -> Deferred {
        plain(1, Table::Events, "INSERT INTO events VALUES ($1)", 1)
    }

    /// The statement with named subqueries the tests use: it writes two tables.
    fn with_ctes() -> &'static StatementSpec {
        const CTES: Ctes = Ctes {
            sql: "u AS (UPDATE inventory SET x = $1 RETURNING sku)",
            writes: &[Target::other(Table::Inventory)],
        };
        Box::leak(Box::new(StatementSpec::with_ctes(
            StatementId::Test(3),
            CTES,
            Target::other(Table::StockMovements),
            "INSERT INTO stock_movements SELECT sku, $2 FROM u",
        )))
    }

    #[test]
    fn a_write_writes_its_own_table_and_its_subqueries_tables() {
        let tables: Vec<Table> = with_ctes().tables().collect();
        assert_eq!(tables, [Table::Inventory, Table::StockMovements]);
        assert_eq!(COMMIT.tables().count(), 0);
        let movements = plain(4, Table::StockMovements, "INSERT INTO stock_movements", 0);
        let reservations = plain(5, Table::Reservations, "INSERT INTO reservations", 0);
        let stock = Deferred::values(with_ctes(), Vec::new());
        assert!(stock.writes_a_table_of(&movements));
        assert!(!stock.writes_a_table_of(&reservations));
    }

    #[test]
    fn rows_for_a_table_join_its_last_insert_when_it_is_the_same() {
        let insert = spec(
            11,
            Target::rows(Table::Timers),
            "INSERT INTO timers (id) SELECT * FROM UNNEST($1::text[])",
        );
        let timer = |id: &str| Deferred::columns(insert, vec![Column::Text(vec![id.into()])]);
        let mut writes = Vec::new();
        push_rows(&mut writes, timer("t1"));
        writes.push(events());
        push_rows(&mut writes, timer("t2"));
        assert_eq!(writes.len(), 2, "one insert of timers, with both rows");
        assert_eq!(statements(&writes).len(), 1);
        writes.push(plain(
            12,
            Table::Timers,
            "DELETE FROM timers WHERE id = $1",
            1,
        ));
        push_rows(&mut writes, timer("t3"));
        assert_eq!(writes.len(), 4, "not across another write to the table");
    }

    #[test]
    fn statements_are_told_apart_by_their_declared_name_not_their_text() {
        const SQL: &str = "INSERT INTO timers (id) SELECT * FROM UNNEST($1::text[])";
        let (a, b) = (
            spec(6, Target::rows(Table::Timers), SQL),
            spec(7, Target::rows(Table::Timers), SQL),
        );
        let row = |s, id: &str| Deferred::columns(s, vec![Column::Text(vec![id.into()])]);
        let mut writes = Vec::new();
        push_rows(&mut writes, row(a, "t1"));
        push_rows(&mut writes, row(b, "t2"));
        assert_eq!(writes.len(), 2, "the same text, but two statements");
        push_rows(&mut writes, row(b, "t3"));
        assert_eq!(
            writes.len(),
            2,
            "the same statement again: its rows appended"
        );
        // A write declared to go as it is never joins, whatever its parameters.
        let other = spec(8, Target::other(Table::Timers), SQL);
        assert!(!Deferred::values(other, Vec::new()).joins());
        assert!(row(a, "t5").joins());
    }

    #[test]
    fn a_second_write_to_a_table_starts_a_new_statement() {
        let update = || plain(2, Table::Orders, "UPDATE orders SET x = $1", 1);
        let writes = [events(), update(), update()];
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
            Deferred::values(&BEGIN, Vec::new()),
            Deferred::values(&SEQ_SCAN_ON, Vec::new()),
            events(),
            Deferred::values(&COMMIT, Vec::new()),
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
        let with = || Deferred::values(with_ctes(), vec![owned(1_i64), owned(2_i64)]);
        let writes = [events(), with(), with()];
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
    fn placeholders_are_shifted_past_earlier_parameters() {
        assert_eq!(renumber("VALUES ($1, $2, $10)", 3), "VALUES ($4, $5, $13)");
        assert_eq!(renumber("no placeholders", 5), "no placeholders");
    }

    #[test]
    fn a_run_of_writes_becomes_one_statement_with_all_parameters() {
        let a = plain(9, Table::Events, "INSERT INTO events VALUES ($1, $2)", 2);
        let b = plain(
            10,
            Table::Orders,
            "UPDATE orders SET x = $1 WHERE id = $2",
            2,
        );
        let (sql, params) = combine(&[&a, &b]).unwrap();
        assert_eq!(
            &*sql,
            "WITH w0 AS (INSERT INTO events VALUES ($1, $2)), w1 AS (UPDATE orders SET x = $3 WHERE id = $4) SELECT 1"
        );
        assert_eq!(params.len(), 4);
        let (single, _) = combine(&[&a]).unwrap();
        assert_eq!(&*single, a.spec.sql);
        // The same run again: the same text, from the cache.
        let (again, _) = combine(&[&a, &b]).unwrap();
        assert!(Arc::ptr_eq(&again, &sql));
        assert!(combine(&[]).is_none());
    }
}
