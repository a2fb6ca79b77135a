//! Returns on PostgreSQL: RMA numbers, the returns read model, the customer's history,
//! and the queries the read side answers from the same rows (kept here, beside what
//! writes them).
//!
//! RMA numbers come from a counter row per channel, drawn by an upsert that runs at once
//! (its number is read) and keeps the row locked until the transaction ends: a
//! concurrent draw waits, then counts on from what this one committed, and a run that
//! rolls back drew nothing. Returns are few, so this costs what order numbers' sequence
//! blocks (`numbers`) avoid on the hot path.

use super::statement::{StatementId, StatementSpec, Table, Target};
use super::write::PgTx;
use super::{Column, Conn, col};
use crate::error::StoreError;
use crate::from_ms;
use crate::read::{ReturnFilter, ReturnOrderMismatch, ReturnRecord, ReturnRequestRow};
use crate::to_ms;
use crate::tx::ReturnsTx;
use crate::work::{RETURN_STATES_NOT_COUNTED, ReturnRow};
use jiff::Timestamp;

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

fn return_record(r: &tokio_postgres::Row) -> Result<ReturnRecord, StoreError> {
    let units: i64 = col(r, 10)?;
    Ok(ReturnRecord {
        id: col(r, 0)?,
        order_id: col(r, 1)?,
        order_number: col(r, 2)?,
        rma: col(r, 3)?,
        channel: col(r, 4)?,
        state: col(r, 5)?,
        reason: col(r, 6)?,
        customer_email: col(r, 7)?,
        location_id: col(r, 8)?,
        wanted: col(r, 9)?,
        units: u32::try_from(units)
            .map_err(|_| StoreError::Corrupt(format!("return units out of range: {units}")))?,
        value_minor: col(r, 11)?,
        refundable_minor: col(r, 12)?,
        currency: col(r, 13)?,
        policy_version: col(r, 14)?,
        requested_at: from_ms(col(r, 15)?)?,
        updated_at: from_ms(col(r, 16)?)?,
    })
}

impl ReturnsTx for PgTx<'_> {
    fn next_rma_number(&mut self, channel: &str, prefix: &str) -> Result<String, StoreError> {
        let row = self
            .conn()
            .query_opt(
                "INSERT INTO rma_counters (channel, last_number) VALUES ($1, 1001)
                 ON CONFLICT (channel) DO UPDATE SET last_number = rma_counters.last_number + 1
                 RETURNING last_number",
                &[&channel],
            )?
            .ok_or_else(|| StoreError::Corrupt("the RMA counter upsert returned nothing".into()))?;
        let n: i64 = col(&row, 0)?;
        Ok(format!("RMA-{prefix}-{n}"))
    }

    fn save_return(&mut self, row: &ReturnRow<'_>) -> Result<(), StoreError> {
        // Keyed by id and setting every column it carries, so it may join other
        // commands' writes, and a later save of the same return in a command replaces
        // the earlier one.
        let text = |s: &str| Column::Text(vec![s.to_owned()]);
        let opt = |s: Option<&str>| Column::OptText(vec![s.map(str::to_owned)]);
        let int = |n: i64| Column::Int(vec![n]);
        self.conn().defer_columns(
            &SAVE_RETURN,
            vec![
                text(row.id),
                text(row.order_id),
                text(row.order_number),
                opt(row.rma),
                text(row.channel),
                text(row.state),
                text(row.reason),
                text(&row.customer_email.to_ascii_lowercase()),
                opt(row.location_id),
                text(row.wanted),
                int(i64::from(row.units)),
                int(row.value_minor),
                int(row.refundable_minor),
                text(row.currency),
                text(row.policy_version),
                int(to_ms(row.requested_at)),
                int(to_ms(row.updated_at)),
            ],
        );
        Ok(())
    }

    fn return_by_rma(&mut self, rma: &str) -> Result<Option<(String, String)>, StoreError> {
        let row = self
            .conn()
            .query_opt("SELECT order_id, id FROM returns WHERE rma = $1", &[&rma])?;
        row.map(|r| Ok((col(&r, 0)?, col(&r, 1)?))).transpose()
    }

    fn customer_return_history(
        &mut self,
        email: &str,
        since: Timestamp,
        currency: &str,
    ) -> Result<(u32, i64), StoreError> {
        let not_counted: Vec<&str> = RETURN_STATES_NOT_COUNTED.to_vec();
        let row = self
            .conn()
            .query_opt(
                "SELECT count(*), COALESCE(SUM(value_minor), 0)::bigint FROM returns
                 WHERE customer_email = $1 AND requested_at >= $2 AND NOT (state = ANY($3))
                   AND currency = $4",
                &[
                    &email.to_ascii_lowercase(),
                    &to_ms(since),
                    &not_counted,
                    &currency,
                ],
            )?
            .ok_or_else(|| StoreError::Corrupt("count returned no row".into()))?;
        let n: i64 = col(&row, 0)?;
        Ok((u32::try_from(n).unwrap_or(u32::MAX), col(&row, 1)?))
    }

    fn customer_purchases_since(
        &mut self,
        email: &str,
        since: Timestamp,
        currency: &str,
    ) -> Result<i64, StoreError> {
        let row = self
            .conn()
            .query_opt(
                "SELECT COALESCE(SUM(total_minor), 0)::bigint FROM orders
                 WHERE customer_email = $1 AND created_at >= $2 AND order_state <> 'cancelled'
                   AND currency = $3",
                &[&email.to_ascii_lowercase(), &to_ms(since), &currency],
            )?
            .ok_or_else(|| StoreError::Corrupt("sum returned no row".into()))?;
        col(&row, 0)
    }
}

/// `Reader::returns`: one page, newest first.
pub(super) fn returns(c: &Conn<'_>, f: &ReturnFilter) -> Result<Vec<ReturnRecord>, StoreError> {
    let states = (!f.states.is_empty()).then_some(&f.states);
    let (before_at, before_id) = f.before.clone().unzip();
    let rows = c.query(
        return_select!(
            "WHERE ($1::text[] IS NULL OR state = ANY($1)) AND ($2::text[] IS NULL OR channel = ANY($2))
               AND ($3::text IS NULL OR location_id = $3) AND ($4::text IS NULL OR reason = $4)
               AND ($5::text IS NULL OR customer_email = $5) AND ($6::text IS NULL OR order_id = $6)
               AND ($7::bigint IS NULL OR requested_at >= $7) AND ($8::bigint IS NULL OR requested_at < $8)
               AND ($9::bigint IS NULL OR (requested_at, id) < ($9, $10::text))
             ORDER BY requested_at DESC, id DESC LIMIT $11"
        ),
        &[
            &states,
            &f.channels,
            &f.location_id,
            &f.reason,
            &f.customer_email.as_deref().map(str::to_ascii_lowercase),
            &f.order_id,
            &f.requested_after.map(to_ms),
            &f.requested_before.map(to_ms),
            &before_at.map(to_ms),
            &before_id,
            &i64::from(f.limit),
        ],
    )?;
    rows.iter().map(return_record).collect()
}

/// `Reader::return_row`.
pub(super) fn return_row(c: &Conn<'_>, id: &str) -> Result<Option<ReturnRecord>, StoreError> {
    c.query_opt(return_select!("WHERE id = $1 OR rma = $1"), &[&id])?
        .map(|r| return_record(&r))
        .transpose()
}

/// `Reader::return_order_mismatches`.
pub(super) fn return_order_mismatches(
    c: &Conn<'_>,
) -> Result<Vec<ReturnOrderMismatch>, StoreError> {
    let rows = c.query(
        "SELECT r.id, r.order_id, o.number, o.channel FROM returns r
         LEFT JOIN orders o ON o.id = r.order_id
         WHERE o.id IS NULL OR o.number <> r.order_number OR o.channel <> r.channel
         ORDER BY r.id",
        &[],
    )?;
    rows.iter()
        .map(|r| {
            let number: Option<String> = col(r, 2)?;
            let channel: Option<String> = col(r, 3)?;
            Ok((col(r, 0)?, col(r, 1)?, number.zip(channel)))
        })
        .collect()
}

/// A return's read-model row. Keyed by id; it sets every column it carries, so a later
/// save of the same return in a command replaces the earlier.
pub(super) const SAVE_RETURN: StatementSpec = StatementSpec::write(
    StatementId::SaveReturn,
    Target::keyed(Table::Returns, 1, true),
    "INSERT INTO returns (id, order_id, order_number, rma, channel, state, reason, customer_email,
               location_id, wanted, units, value_minor, refundable_minor, currency, policy_version,
               requested_at, updated_at)
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
               $7::text[], $8::text[], $9::text[], $10::text[], $11::bigint[], $12::bigint[], $13::bigint[],
               $14::text[], $15::text[], $16::bigint[], $17::bigint[])
             ON CONFLICT (id) DO UPDATE SET order_id = EXCLUDED.order_id,
               order_number = EXCLUDED.order_number, rma = EXCLUDED.rma, channel = EXCLUDED.channel,
               state = EXCLUDED.state, reason = EXCLUDED.reason, customer_email = EXCLUDED.customer_email,
               location_id = EXCLUDED.location_id, wanted = EXCLUDED.wanted, units = EXCLUDED.units,
               value_minor = EXCLUDED.value_minor, refundable_minor = EXCLUDED.refundable_minor,
               currency = EXCLUDED.currency, policy_version = EXCLUDED.policy_version,
               requested_at = EXCLUDED.requested_at, updated_at = EXCLUDED.updated_at",
);

/// `Reader::return_requests`. The first page starts just before (`since`, the lowest
/// seq), so one row-value comparison serves every page, and the literal event type lets
/// the planner use the partial index `events_return_requests`.
pub(super) fn return_requests(
    c: &Conn<'_>,
    since: Timestamp,
    after: Option<(Timestamp, i64)>,
    limit: u32,
) -> Result<Vec<ReturnRequestRow>, StoreError> {
    let (from_at, from_seq) = after
        .filter(|(at, _)| *at >= since)
        .map_or((to_ms(since), i64::MIN), |(at, seq)| (to_ms(at), seq));
    let rows = c.query(
        "SELECT e.seq, e.stream_id, o.number, e.at, e.data FROM events e
           JOIN orders o ON o.id = e.stream_id
         WHERE e.type = 'return_requested' AND (e.at, e.seq) > ($1::bigint, $2::bigint)
         ORDER BY e.at, e.seq LIMIT $3",
        &[&from_at, &from_seq, &i64::from(limit)],
    )?;
    rows.iter()
        .map(|r| {
            let data: String = col(r, 4)?;
            ReturnRequestRow::from_event(col(r, 0)?, col(r, 1)?, col(r, 2)?, col(r, 3)?, &data)
        })
        .collect()
}
