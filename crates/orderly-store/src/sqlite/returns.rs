//! Returns on SQLite: RMA numbers from a counter row per channel (one writer, so a draw
//! cannot race), the returns read model, the customer's history, and the queries the
//! read pool answers from the same rows (kept here, beside what writes them).

use super::queries::ts;
use super::write::SqliteTx;
use crate::error::StoreError;
use crate::read::{ReturnFilter, ReturnOrderMismatch, ReturnRecord, ReturnRequestRow};
use crate::rows::channels_to_column;
use crate::to_ms;
use crate::tx::ReturnsTx;
use crate::work::{RETURN_STATES_NOT_COUNTED, ReturnRow};
use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, params};

/// The columns `return_record` reads, in its order.
macro_rules! return_select {
    ($rest:literal) => {
        concat!(
            "SELECT id, order_id, order_number, rma, channel, state, reason, customer_email, ",
            "location_id, wanted, units, value_minor, refundable_minor, currency, policy_version, ",
            "requested_at, updated_at FROM returns ",
            $rest
        )
    };
}

fn return_record(r: &rusqlite::Row<'_>) -> rusqlite::Result<ReturnRecord> {
    Ok(ReturnRecord {
        id: r.get(0)?,
        order_id: r.get(1)?,
        order_number: r.get(2)?,
        rma: r.get(3)?,
        channel: r.get(4)?,
        state: r.get(5)?,
        reason: r.get(6)?,
        customer_email: r.get(7)?,
        location_id: r.get(8)?,
        wanted: r.get(9)?,
        units: r.get(10)?,
        value_minor: r.get(11)?,
        refundable_minor: r.get(12)?,
        currency: r.get(13)?,
        policy_version: r.get(14)?,
        requested_at: ts(r, 15)?,
        updated_at: ts(r, 16)?,
    })
}

impl ReturnsTx for SqliteTx<'_> {
    fn next_rma_number(&mut self, channel: &str, prefix: &str) -> Result<String, StoreError> {
        let n: i64 = self
            .conn()
            .prepare_cached(
                "INSERT INTO rma_counters (channel, last_number) VALUES (?1, 1001)
                 ON CONFLICT (channel) DO UPDATE SET last_number = last_number + 1
                 RETURNING last_number",
            )?
            .query_row([channel], |r| r.get(0))?;
        Ok(format!("RMA-{prefix}-{n}"))
    }

    fn save_return(&mut self, row: &ReturnRow<'_>) -> Result<(), StoreError> {
        self.conn()
            .prepare_cached(
                "INSERT INTO returns (id, order_id, order_number, rma, channel, state, reason,
                   customer_email, location_id, wanted, units, value_minor, refundable_minor,
                   currency, policy_version, requested_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)
                 ON CONFLICT (id) DO UPDATE SET order_id = excluded.order_id,
                   order_number = excluded.order_number, rma = excluded.rma,
                   channel = excluded.channel, state = excluded.state, reason = excluded.reason,
                   customer_email = excluded.customer_email, location_id = excluded.location_id,
                   wanted = excluded.wanted, units = excluded.units,
                   value_minor = excluded.value_minor, refundable_minor = excluded.refundable_minor,
                   currency = excluded.currency, policy_version = excluded.policy_version,
                   requested_at = excluded.requested_at, updated_at = excluded.updated_at",
            )?
            .execute(params![
                row.id,
                row.order_id,
                row.order_number,
                row.rma,
                row.channel,
                row.state,
                row.reason,
                row.customer_email.to_ascii_lowercase(),
                row.location_id,
                row.wanted,
                row.units,
                row.value_minor,
                row.refundable_minor,
                row.currency,
                row.policy_version,
                to_ms(row.requested_at),
                to_ms(row.updated_at)
            ])?;
        Ok(())
    }

    fn return_by_rma(&mut self, rma: &str) -> Result<Option<(String, String)>, StoreError> {
        Ok(self
            .conn()
            .prepare_cached("SELECT order_id, id FROM returns WHERE rma = ?1")?
            .query_row([rma], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?)
    }

    fn customer_return_history(
        &mut self,
        email: &str,
        since: Timestamp,
        currency: &str,
    ) -> Result<(u32, i64), StoreError> {
        let [a, b, c] = RETURN_STATES_NOT_COUNTED;
        let (n, value): (i64, i64) = self
            .conn()
            .prepare_cached(
                "SELECT count(*), COALESCE(SUM(value_minor), 0) FROM returns
                 WHERE customer_email = ?1 AND requested_at >= ?2 AND state NOT IN (?3, ?4, ?5)
                   AND currency = ?6",
            )?
            .query_row(
                params![email.to_ascii_lowercase(), to_ms(since), a, b, c, currency],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
        Ok((u32::try_from(n).unwrap_or(u32::MAX), value))
    }

    fn customer_purchases_since(
        &mut self,
        email: &str,
        since: Timestamp,
        currency: &str,
    ) -> Result<i64, StoreError> {
        Ok(self
            .conn()
            .prepare_cached(
                "SELECT COALESCE(SUM(total_minor), 0) FROM orders
                 WHERE customer_email = ?1 AND created_at >= ?2 AND order_state <> 'cancelled'
                   AND currency = ?3",
            )?
            .query_row(
                params![email.to_ascii_lowercase(), to_ms(since), currency],
                |r| r.get(0),
            )?)
    }
}

/// `Reader::returns`: one page, newest first.
pub(super) fn returns(
    conn: &Connection,
    f: &ReturnFilter,
) -> Result<Vec<ReturnRecord>, StoreError> {
    let states = (!f.states.is_empty())
        .then(|| channels_to_column(Some(f.states.as_slice())))
        .flatten();
    let (before_at, before_id) = f.before.clone().unzip();
    let mut stmt = conn.prepare_cached(return_select!(
        "WHERE (?1 IS NULL OR state IN (SELECT value FROM json_each(?1)))
           AND (?2 IS NULL OR channel IN (SELECT value FROM json_each(?2)))
           AND (?3 IS NULL OR location_id = ?3) AND (?4 IS NULL OR reason = ?4)
           AND (?5 IS NULL OR customer_email = ?5) AND (?6 IS NULL OR order_id = ?6)
           AND (?7 IS NULL OR requested_at >= ?7) AND (?8 IS NULL OR requested_at < ?8)
           AND (?9 IS NULL OR (requested_at, id) < (?9, ?10))
         ORDER BY requested_at DESC, id DESC LIMIT ?11"
    ))?;
    let rows = stmt.query_map(
        params![
            states,
            channels_to_column(f.channels.as_deref()),
            f.location_id,
            f.reason,
            f.customer_email.as_deref().map(str::to_ascii_lowercase),
            f.order_id,
            f.requested_after.map(to_ms),
            f.requested_before.map(to_ms),
            before_at.map(to_ms),
            before_id,
            f.limit
        ],
        return_record,
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// `Reader::return_row`.
pub(super) fn return_row(conn: &Connection, id: &str) -> Result<Option<ReturnRecord>, StoreError> {
    Ok(conn
        .prepare_cached(return_select!("WHERE id = ?1 OR rma = ?1"))?
        .query_row([id], return_record)
        .optional()?)
}

/// `Reader::return_order_mismatches`.
pub(super) fn return_order_mismatches(
    conn: &Connection,
) -> Result<Vec<ReturnOrderMismatch>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT r.id, r.order_id, o.number, o.channel FROM returns r
         LEFT JOIN orders o ON o.id = r.order_id
         WHERE o.id IS NULL OR o.number <> r.order_number OR o.channel <> r.channel
         ORDER BY r.id",
    )?;
    let rows = stmt.query_map([], |r| {
        let number: Option<String> = r.get(2)?;
        let channel: Option<String> = r.get(3)?;
        Ok((r.get(0)?, r.get(1)?, number.zip(channel)))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// `Reader::return_requests`. The first page starts just before (`since`, the lowest
/// seq), so one row-value comparison serves every page, and the literal event type lets
/// SQLite use the partial index `events_return_requests`.
pub(super) fn return_requests(
    conn: &Connection,
    since: Timestamp,
    after: Option<(Timestamp, i64)>,
    limit: u32,
) -> Result<Vec<ReturnRequestRow>, StoreError> {
    let (from_at, from_seq) = after
        .filter(|(at, _)| *at >= since)
        .map_or((to_ms(since), i64::MIN), |(at, seq)| (to_ms(at), seq));
    let mut stmt = conn.prepare_cached(
        "SELECT e.seq, e.stream_id, o.number, e.at, e.data FROM events e
           JOIN orders o ON o.id = e.stream_id
         WHERE e.type = 'return_requested' AND (e.at, e.seq) > (?1, ?2)
         ORDER BY e.at, e.seq LIMIT ?3",
    )?;
    let rows = stmt.query_map(params![from_at, from_seq, i64::from(limit)], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, i64>(3)?,
            r.get::<_, String>(4)?,
        ))
    })?;
    rows.map(|row| {
        let (seq, order_id, number, at, data) = row?;
        ReturnRequestRow::from_event(seq, order_id, number, at, &data)
    })
    .collect()
}
