//! The KPI counters and marks on SQLite (see `crate::kpi`). The single writer adds each
//! append's rows with one upsert per row; a rebuild replaces them all in its one
//! transaction.

use super::read::SqliteReader;
use super::write::SqliteTx;
use crate::error::StoreError;
use crate::kpi::{KpiKey, KpiMarks, KpiReads, KpiRows, KpiSums, KpiTx, MarkRow};
use crate::{from_ms, to_ms};
use jiff::Timestamp;
use jiff::civil::Date;
use orderly_domain::kpi::{Dim, KpiRules, Mark};
use rusqlite::{Connection, OptionalExtension, params};

fn add_rows(conn: &Connection, rows: &KpiRows) -> Result<(), StoreError> {
    let mut upsert = conn.prepare_cached(
        "INSERT INTO kpi_counts (dim, day, metric, key, bucket, count, sum)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (dim, day, metric, key, bucket)
         DO UPDATE SET count = count + excluded.count, sum = sum + excluded.sum",
    )?;
    for (k, v) in rows {
        upsert.execute(params![
            k.dim.as_str(),
            k.day.to_string(),
            k.metric,
            k.key,
            k.bucket,
            v.count,
            v.sum
        ])?;
    }
    Ok(())
}

impl KpiTx for SqliteTx<'_> {
    fn kpi_rules(&self) -> &KpiRules {
        self.kpi()
    }

    fn add_kpi_rows(&mut self, rows: &KpiRows) -> Result<(), StoreError> {
        add_rows(self.conn(), rows)
    }

    fn tally_mark(&mut self, subject: &str, mark: Mark, at: Timestamp) -> Result<u32, StoreError> {
        let tally: i64 = self
            .conn()
            .prepare_cached(
                "INSERT INTO kpi_marks (subject, mark, tally, first_at) VALUES (?1, ?2, 1, ?3)
             ON CONFLICT (subject, mark)
             DO UPDATE SET tally = tally + 1, first_at = min(first_at, excluded.first_at)
             RETURNING tally",
            )?
            .query_row(params![subject, mark.as_str(), to_ms(at)], |r| r.get(0))?;
        u32::try_from(tally).map_err(|_| StoreError::Corrupt(format!("tally {tally}")))
    }

    fn mark_first_at(
        &mut self,
        subject: &str,
        mark: Mark,
    ) -> Result<Option<Timestamp>, StoreError> {
        first_at(self.conn(), subject, mark)
    }

    fn replace_kpis(
        &mut self,
        rows: &KpiRows,
        marks: &KpiMarks,
        events: (i64, i64),
    ) -> Result<(), StoreError> {
        let conn = self.conn();
        if position(conn)? != events {
            return Err(StoreError::Conflict(
                "events were written while the figures were recomputed".into(),
            ));
        }
        conn.execute_batch("DELETE FROM kpi_counts; DELETE FROM kpi_marks;")?;
        add_rows(conn, rows)?;
        let mut insert = conn.prepare_cached(
            "INSERT INTO kpi_marks (subject, mark, tally, first_at) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for ((subject, mark), m) in marks {
            insert.execute(params![subject, mark.as_str(), m.tally, to_ms(m.first_at)])?;
        }
        Ok(())
    }
}

fn first_at(conn: &Connection, subject: &str, mark: Mark) -> Result<Option<Timestamp>, StoreError> {
    conn.prepare_cached("SELECT first_at FROM kpi_marks WHERE subject = ?1 AND mark = ?2")?
        .query_row(params![subject, mark.as_str()], |r| r.get::<_, i64>(0))
        .optional()?
        .map(from_ms)
        .transpose()
}

fn position(conn: &Connection) -> Result<(i64, i64), StoreError> {
    Ok(conn.query_row(
        "SELECT count(*), coalesce(max(seq), 0) FROM events",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?)
}

fn parse_day(s: &str) -> Result<Date, StoreError> {
    s.parse()
        .map_err(|e| StoreError::Corrupt(format!("kpi day {s}: {e}")))
}

impl KpiReads for SqliteReader<'_> {
    fn kpi_rows(&mut self, dim: Dim, from: Date, to: Date) -> Result<KpiRows, StoreError> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT day, metric, key, bucket, count, sum FROM kpi_counts
             WHERE dim = ?1 AND day >= ?2 AND day <= ?3",
        )?;
        let mut rows = stmt.query(params![dim.as_str(), from.to_string(), to.to_string()])?;
        let mut out = KpiRows::new();
        while let Some(r) = rows.next()? {
            let day: String = r.get(0)?;
            out.insert(
                KpiKey {
                    dim,
                    day: parse_day(&day)?,
                    metric: r.get(1)?,
                    key: r.get(2)?,
                    bucket: r.get(3)?,
                },
                KpiSums {
                    count: r.get(4)?,
                    sum: r.get(5)?,
                },
            );
        }
        Ok(out)
    }

    fn kpi_marks(&mut self) -> Result<KpiMarks, StoreError> {
        let mut stmt = self
            .conn()
            .prepare("SELECT subject, mark, tally, first_at FROM kpi_marks")?;
        let mut rows = stmt.query([])?;
        let mut out = KpiMarks::new();
        while let Some(r) = rows.next()? {
            let mark: String = r.get(1)?;
            let mark = Mark::parse(&mark)
                .ok_or_else(|| StoreError::Corrupt(format!("kpi mark {mark}")))?;
            out.insert(
                (r.get(0)?, mark),
                MarkRow {
                    tally: r.get(2)?,
                    first_at: from_ms(r.get(3)?)?,
                },
            );
        }
        Ok(out)
    }

    fn event_log_position(&mut self) -> Result<(i64, i64), StoreError> {
        position(self.conn())
    }
}
