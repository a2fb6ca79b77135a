//! Deferred writes and how a unit's run of them becomes one statement of data-modifying
//! subqueries (see `Conn`); the committer joins several commands' with the same rules
//! (see `batch`).

use super::conn::Owned;
use super::params::Params;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use tokio_postgres::types::ToSql;

/// A write whose result nobody reads until the transaction ends.
pub(crate) struct Deferred {
    /// Named subqueries the statement uses (`a AS (…), b AS (…)`, without `WITH`):
    /// kept apart so that the statement can join a combined one.
    pub(super) ctes: &'static str,
    pub(super) sql: &'static str,
    pub(super) params: Params,
    /// The tables it changes (see `written_tables`).
    pub(super) targets: Vec<&'static str>,
}

impl Deferred {
    /// Transaction control (`BEGIN …`, `SET LOCAL …`, `COMMIT`), which never joins a
    /// combined statement.
    pub(super) fn is_control(&self) -> bool {
        self.sql == "COMMIT" || self.sql.starts_with("BEGIN") || self.sql.starts_with("SET ")
    }
}

/// Queues `write`, rows to insert or change, adding them to the last write to its table
/// when that is the same write (see `Params::absorb`).
pub(super) fn push_rows(deferred: &mut Vec<Deferred>, write: Deferred) {
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

impl Deferred {
    pub(super) fn plain(sql: &'static str, params: Vec<Owned>) -> Deferred {
        Deferred::new("", sql, Params::Values(params))
    }

    pub(super) fn new(ctes: &'static str, sql: &'static str, params: Params) -> Deferred {
        Deferred {
            ctes,
            sql,
            params,
            targets: written_tables(ctes).chain(written_tables(sql)).collect(),
        }
    }

    /// What identifies its text: the addresses and lengths of its static strings.
    pub(super) fn text_key(&self) -> [usize; 5] {
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
pub(super) fn written_tables(sql: &'static str) -> impl Iterator<Item = &'static str> {
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
pub(super) fn combine<'d>(run: &[&'d Deferred]) -> Option<(Arc<str>, Vec<&'d (dyn ToSql + Sync)>)> {
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
pub(super) fn combined_text(run: &[&Deferred]) -> Arc<str> {
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
pub(super) fn build_text(run: &[&Deferred]) -> String {
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
pub(super) fn renumber(sql: &str, offset: usize) -> String {
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

impl Deferred {
    pub(super) fn try_clone(&self) -> Option<Deferred> {
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
    use crate::pg::conn::owned;
    use crate::pg::params::Column;

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
