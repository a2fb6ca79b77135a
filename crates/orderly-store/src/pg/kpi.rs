//! The KPI counters and marks on PostgreSQL (see `crate::kpi`). A command's counter
//! rows are added in a statement of their own just after it commits (`add_after`),
//! locked in key order. They are the most contended rows there are (every order of a
//! day adds to the same ones), and inside the command's transaction they formed lock
//! cycles with its other rows under concurrent orders (deadlocks, then statement
//! timeouts, measured). The price: a crash between the two loses those counts, which
//! `orderly kpis rebuild` restores; the failure is logged as an error. A mark is counted with a statement of its own, in the
//! command's transaction (the command then commits alone); a mark is only read, with a
//! plain SELECT that leaves the command's writes queued, when an order is placed.

use super::read::PgReader;
use super::statement::{StatementId, StatementSpec, Table, Target};
use super::write::PgTx;
use super::{Column, Conn, col};
use crate::error::StoreError;
use crate::kpi::{KpiKey, KpiMarks, KpiReads, KpiRows, KpiSums, KpiTx, MarkRow};
use crate::{from_ms, to_ms};
use jiff::Timestamp;
use jiff::civil::Date;
use orderly_domain::kpi::{Dim, KpiRules, Mark};

/// Counter rows added to the stored ones.
pub(super) const ADD_KPI_ROWS: StatementSpec = StatementSpec::write(
    StatementId::AddKpiRows,
    Target::rows(Table::KpiCounts),
    "INSERT INTO kpi_counts (dim, day, metric, key, bucket, count, sum)
             SELECT u.dim, u.day, u.metric, u.key, u.bucket, sum(u.count)::bigint, sum(u.sum)::bigint
             FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::bigint[])
               AS u(dim, day, metric, key, bucket, count, sum)
             GROUP BY u.dim, u.day, u.metric, u.key, u.bucket
             ORDER BY u.dim, u.day, u.metric, u.key, u.bucket
             ON CONFLICT (dim, day, metric, key, bucket) DO UPDATE SET
               count = kpi_counts.count + EXCLUDED.count, sum = kpi_counts.sum + EXCLUDED.sum",
);

/// A rebuild's marks, into an emptied table.
pub(super) const INSERT_KPI_MARKS: StatementSpec = StatementSpec::write(
    StatementId::InsertKpiMarks,
    Target::rows(Table::KpiMarks),
    "INSERT INTO kpi_marks (subject, mark, tally, first_at)
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::bigint[], $4::bigint[])",
);

/// Rows per statement of a rebuild.
const CHUNK: usize = 5_000;

fn defer_rows<'r>(c: &Conn<'_>, rows: impl Iterator<Item = (&'r KpiKey, &'r KpiSums)>) {
    let mut columns: [Vec<String>; 4] = Default::default();
    let mut ints: [Vec<i64>; 3] = Default::default();
    for (k, v) in rows {
        columns[0].push(k.dim.as_str().to_owned());
        columns[1].push(k.day.to_string());
        columns[2].push(k.metric.clone());
        columns[3].push(k.key.clone());
        ints[0].push(k.bucket);
        ints[1].push(v.count);
        ints[2].push(v.sum);
    }
    if ints[0].is_empty() {
        return;
    }
    let mut out: Vec<Column> = columns.into_iter().map(Column::Text).collect();
    out.extend(ints.into_iter().map(Column::Int));
    c.defer_columns(&ADD_KPI_ROWS, out);
}

impl KpiTx for PgTx<'_> {
    fn kpi_rules(&self) -> &KpiRules {
        self.kpi()
    }

    fn add_kpi_rows(&mut self, rows: &KpiRows) -> Result<(), StoreError> {
        for (k, v) in rows {
            let sums = self.kpi_rows.entry(k.clone()).or_default();
            sums.count += v.count;
            sums.sum += v.sum;
        }
        Ok(())
    }

    fn tally_mark(&mut self, subject: &str, mark: Mark, at: Timestamp) -> Result<u32, StoreError> {
        let row = self.conn().query(
            "INSERT INTO kpi_marks (subject, mark, tally, first_at) VALUES ($1, $2, 1, $3)
             ON CONFLICT (subject, mark) DO UPDATE SET tally = kpi_marks.tally + 1,
               first_at = LEAST(kpi_marks.first_at, EXCLUDED.first_at)
             RETURNING tally",
            &[&subject, &mark.as_str(), &to_ms(at)],
        )?;
        let tally: i64 = match row.first() {
            Some(r) => col(r, 0)?,
            None => return Err(StoreError::Corrupt("a tally without its row".into())),
        };
        u32::try_from(tally).map_err(|_| StoreError::Corrupt(format!("tally {tally}")))
    }

    fn mark_first_at(
        &mut self,
        subject: &str,
        mark: Mark,
    ) -> Result<Option<Timestamp>, StoreError> {
        // Marks are counted in statements of their own, never deferred: none is queued.
        let rows = self.conn().query_apart(
            "SELECT first_at FROM kpi_marks WHERE subject = $1 AND mark = $2",
            &[&subject, &mark.as_str()],
        )?;
        rows.first().map(|r| from_ms(col(r, 0)?)).transpose()
    }

    fn replace_kpis(
        &mut self,
        rows: &KpiRows,
        marks: &KpiMarks,
        events: (i64, i64),
    ) -> Result<(), StoreError> {
        let c = self.conn();
        // Emptied first: a command committing meanwhile waits on these rows, and adds to
        // the rebuilt ones after this commits (the inserts below add, too); one that
        // committed before is seen by the check and fails the rebuild.
        c.execute("DELETE FROM kpi_counts", &[])?;
        c.execute("DELETE FROM kpi_marks", &[])?;
        if position(c)? != events {
            return Err(StoreError::Conflict(
                "events were written while the figures were recomputed".into(),
            ));
        }
        let all: Vec<_> = rows.iter().collect();
        for chunk in all.chunks(CHUNK) {
            defer_rows(c, chunk.iter().copied());
        }
        let all: Vec<_> = marks.iter().collect();
        for chunk in all.chunks(CHUNK) {
            let text = |f: &dyn Fn(&(String, Mark)) -> String| {
                Column::Text(chunk.iter().map(|(k, _)| f(k)).collect())
            };
            let subjects = text(&|k| k.0.clone());
            let kinds = text(&|k| k.1.as_str().to_owned());
            let tallies = Column::Int(chunk.iter().map(|(_, m)| i64::from(m.tally)).collect());
            let firsts = Column::Int(chunk.iter().map(|(_, m)| to_ms(m.first_at)).collect());
            c.defer_columns(&INSERT_KPI_MARKS, vec![subjects, kinds, tallies, firsts]);
        }
        Ok(())
    }
}

/// Adds a committed command's counter rows, in one statement.
pub(super) async fn add_after(pool: &deadpool_postgres::Pool, rows: &KpiRows) {
    if rows.is_empty() {
        return;
    }
    let mut text: [Vec<String>; 4] = Default::default();
    let mut ints: [Vec<i64>; 3] = Default::default();
    for (k, v) in rows {
        text[0].push(k.dim.as_str().to_owned());
        text[1].push(k.day.to_string());
        text[2].push(k.metric.clone());
        text[3].push(k.key.clone());
        ints[0].push(k.bucket);
        ints[1].push(v.count);
        ints[2].push(v.sum);
    }
    let added = async {
        let client = pool.get().await.map_err(|e| e.to_string())?;
        client
            .execute(
                ADD_KPI_ROWS.sql,
                &[
                    &text[0], &text[1], &text[2], &text[3], &ints[0], &ints[1], &ints[2],
                ],
            )
            .await
            .map_err(|e| e.to_string())
    }
    .await;
    if let Err(e) = added {
        tracing::error!(
            error = %e, rows = rows.len(),
            "KPI counters were not added after a commit; run `orderly kpis rebuild`"
        );
    }
}

fn position(c: &Conn<'_>) -> Result<(i64, i64), StoreError> {
    let rows = c.query("SELECT count(*), coalesce(max(seq), 0) FROM events", &[])?;
    match rows.first() {
        Some(r) => Ok((col(r, 0)?, col(r, 1)?)),
        None => Ok((0, 0)),
    }
}

fn parse_day(s: &str) -> Result<Date, StoreError> {
    s.parse()
        .map_err(|e| StoreError::Corrupt(format!("kpi day {s}: {e}")))
}

impl KpiReads for PgReader<'_> {
    fn kpi_rows(&mut self, dim: Dim, from: Date, to: Date) -> Result<KpiRows, StoreError> {
        let rows = self.conn().query(
            "SELECT day, metric, key, bucket, count, sum FROM kpi_counts
             WHERE dim = $1 AND day >= $2 AND day <= $3",
            &[&dim.as_str(), &from.to_string(), &to.to_string()],
        )?;
        let mut out = KpiRows::new();
        for r in &rows {
            let day: String = col(r, 0)?;
            out.insert(
                KpiKey {
                    dim,
                    day: parse_day(&day)?,
                    metric: col(r, 1)?,
                    key: col(r, 2)?,
                    bucket: col(r, 3)?,
                },
                KpiSums {
                    count: col(r, 4)?,
                    sum: col(r, 5)?,
                },
            );
        }
        Ok(out)
    }

    fn kpi_marks(&mut self) -> Result<KpiMarks, StoreError> {
        let rows = self
            .conn()
            .query("SELECT subject, mark, tally, first_at FROM kpi_marks", &[])?;
        let mut out = KpiMarks::new();
        for r in &rows {
            let mark: String = col(r, 1)?;
            let mark = Mark::parse(&mark)
                .ok_or_else(|| StoreError::Corrupt(format!("kpi mark {mark}")))?;
            let tally: i64 = col(r, 2)?;
            out.insert(
                (col(r, 0)?, mark),
                MarkRow {
                    tally: u32::try_from(tally)
                        .map_err(|_| StoreError::Corrupt(format!("tally {tally}")))?,
                    first_at: from_ms(col(r, 3)?)?,
                },
            );
        }
        Ok(out)
    }

    fn event_log_position(&mut self) -> Result<(i64, i64), StoreError> {
        position(self.conn())
    }
}
