//! `Reader` on PostgreSQL: read-only queries inside a read-only transaction.
//!
//! The file runs past the usual size: it is the one `impl Reader` block, which Rust
//! keeps in one place, and each method is a short query found by its name. Reads with
//! logic of their own live beside it (`customers`, `cases`, `returns`, `console`).

use super::catalog::{product_by_sku, product_row};
use super::write::order_snapshot;
use super::{API_KEY_COLUMNS, Conn, api_key_row, col};
use crate::error::StoreError;
use crate::read::{
    ExceptionFilter, OpenReservation, OrderFilter, OrderRow, Reader, ReturnFilter,
    ReturnOrderMismatch, ReturnRecord, WaveFilter, WaveRow, WaveSummary,
};
use crate::rows::{
    ApiKeyRow, EventRow, ExceptionRow, InventoryRow, MovementRow, ProductRow, StoreCreditRow,
    StreamType,
};
use crate::{from_ms, to_ms};
use orderly_domain::order::Order;
use tokio_postgres::types::ToSql;

pub(crate) struct PgReader<'a> {
    c: Conn<'a>,
}

impl<'a> PgReader<'a> {
    pub(crate) fn new(c: Conn<'a>) -> Self {
        PgReader { c }
    }

    pub(crate) fn conn(&self) -> &Conn<'a> {
        &self.c
    }

    pub(crate) fn into_conn(self) -> Conn<'a> {
        self.c
    }
}

/// An exception entry from an `exception_select!` row.
pub(crate) fn exception_row(r: &tokio_postgres::Row) -> Result<ExceptionRow, StoreError> {
    Ok(ExceptionRow {
        id: col(r, 0)?,
        queue: col(r, 1)?,
        kind: col(r, 2)?,
        order_id: col(r, 3)?,
        subject_id: col(r, 4)?,
        detail: col(r, 5)?,
        opened_at: from_ms(col(r, 6)?)?,
        resolved_at: col::<Option<i64>>(r, 7)?.map(from_ms).transpose()?,
        resolved_by: col(r, 8)?,
        resolution: col(r, 9)?,
    })
}

fn u32_col(row: &tokio_postgres::Row, i: usize) -> Result<u32, StoreError> {
    let v: i64 = col(row, i)?;
    u32::try_from(v).map_err(|_| StoreError::Corrupt(format!("column {i} out of range: {v}")))
}

impl Reader for PgReader<'_> {
    fn order(&mut self, id_or_number: &str) -> Result<Option<Order>, StoreError> {
        order_snapshot(&self.c, id_or_number)
    }

    fn orders_by_id(&mut self, ids: &[&str]) -> Result<Vec<Order>, StoreError> {
        let rows = self
            .c
            .query("SELECT snapshot FROM orders WHERE id = ANY($1)", &[&ids])?;
        rows.iter()
            .map(|r| Ok(serde_json::from_str(&col::<String>(r, 0)?)?))
            .collect()
    }

    fn bins(
        &mut self,
        location: &str,
        skus: &[&str],
    ) -> Result<Vec<(String, Option<String>)>, StoreError> {
        let rows = self.c.query(
            "SELECT sku, bin FROM inventory WHERE location_id = $1 AND sku = ANY($2)",
            &[&location, &skus],
        )?;
        rows.iter().map(|r| Ok((col(r, 0)?, col(r, 1)?))).collect()
    }

    fn orders(&mut self, f: &OrderFilter) -> Result<Vec<Order>, StoreError> {
        // The lookups by a client's key are conditions of their own, added only when
        // asked for, so even a generic plan drives the query from their indexes.
        let mut sql = String::from(
            "SELECT snapshot FROM orders
             WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR channel = $2)
               AND ($3::text IS NULL OR customer_email = $3) AND ($4::bigint IS NULL OR created_at >= $4)
               AND ($5::bigint IS NULL OR created_at < $5) AND ($6::text IS NULL OR id < $6)
               AND ($8::text IS NULL OR order_state = $8) AND ($9::text IS NULL OR payment_state = $9)
               AND ($10::text IS NULL OR fulfillment_state = $10) AND ($11::text IS NULL OR return_state = $11)
               AND ($12::text IS NULL OR refund_state = $12) AND ($13::bigint IS NULL OR on_hold = $13)",
        );
        let mut extra: Vec<&(dyn ToSql + Sync)> = Vec::new();
        for (value, condition) in [
            // Beside the generic condition above, so the planner sees a plain equality
            // and drives a customer's orders from `orders_by_email`, not a scan by id.
            (&f.email, "customer_email = ?"),
            (&f.external_id, "external_id = ?"),
            (
                &f.tracking_number,
                "id IN (SELECT order_id FROM shipments WHERE tracking_number = ?)",
            ),
            (&f.text, "strpos(search_text, ?) > 0"),
        ] {
            if let Some(v) = value {
                extra.push(v);
                let n = 13 + extra.len();
                sql.push_str(&format!(
                    " AND {}",
                    condition.replace('?', &format!("${n}::text"))
                ));
            }
        }
        if let Some(channels) = &f.channels {
            extra.push(channels);
            let n = 13 + extra.len();
            sql.push_str(&format!(" AND channel = ANY(${n}::text[])"));
        }
        sql.push_str(" ORDER BY id DESC LIMIT $7");
        let created_from = f.created_from.map(to_ms);
        let created_to = f.created_to.map(to_ms);
        let limit = i64::from(f.limit);
        let on_hold = f.on_hold.map(i64::from);
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![
            &f.status,
            &f.channel,
            &f.email,
            &created_from,
            &created_to,
            &f.before_id,
            &limit,
            &f.order_state,
            &f.payment_state,
            &f.fulfillment_state,
            &f.return_state,
            &f.refund_state,
            &on_hold,
        ];
        params.extend(extra);
        let rows = self.c.query(&sql, &params)?;
        rows.iter()
            .map(|r| Ok(serde_json::from_str(&col::<String>(r, 0)?)?))
            .collect()
    }

    fn events(&mut self, stream_id: &str) -> Result<Vec<EventRow>, StoreError> {
        let rows = self.c.query(
            "SELECT seq, version, data, actor, correlation_id, at, stream_type FROM events
             WHERE stream_id = $1 ORDER BY version",
            &[&stream_id],
        )?;
        rows.iter()
            .map(|r| {
                let version: i64 = col(r, 1)?;
                Ok(EventRow {
                    seq: col(r, 0)?,
                    stream_type: StreamType::parse(&col::<String>(r, 6)?)?,
                    version: u64::try_from(version)
                        .map_err(|_| StoreError::Corrupt("negative version".into()))?,
                    event: serde_json::from_str(&col::<String>(r, 2)?)?,
                    actor: serde_json::from_str(&col::<String>(r, 3)?)?,
                    correlation_id: col(r, 4)?,
                    at: from_ms(col(r, 5)?)?,
                })
            })
            .collect()
    }

    fn history(&mut self, stream_id: &str) -> Result<Vec<crate::rows::HistoryRow>, StoreError> {
        self.c
            .query(
                "SELECT seq, stream_type, version, type, data, actor, correlation_id, at FROM events
                 WHERE stream_id = $1 ORDER BY version",
                &[&stream_id],
            )?
            .iter()
            .map(|r| {
                crate::rows::HistoryRow::from_columns(
                    col(r, 0)?,
                    &col::<String>(r, 1)?,
                    col(r, 2)?,
                    col(r, 3)?,
                    &col::<String>(r, 4)?,
                    &col::<String>(r, 5)?,
                    col(r, 6)?,
                    col(r, 7)?,
                )
            })
            .collect()
    }

    fn product(&mut self, sku: &str) -> Result<Option<ProductRow>, StoreError> {
        product_by_sku(&self.c, sku)
    }

    fn products(
        &mut self,
        after_sku: Option<&str>,
        limit: u32,
    ) -> Result<Vec<ProductRow>, StoreError> {
        let sql = product_select!("WHERE ($1::text IS NULL OR sku > $1) ORDER BY sku LIMIT $2");
        let rows = self.c.query(sql, &[&after_sku, &i64::from(limit)])?;
        rows.iter().map(product_row).collect()
    }

    fn inventory(
        &mut self,
        sku: Option<&str>,
        location: Option<&str>,
        after: Option<(&str, &str)>,
        limit: u32,
    ) -> Result<Vec<InventoryRow>, StoreError> {
        let (after_sku, after_loc) = after.unzip();
        let rows = self.c.query(
            "SELECT sku, location_id, on_hand, reserved, bin, updated_at, quarantine FROM inventory
             WHERE ($1::text IS NULL OR sku = $1) AND ($2::text IS NULL OR location_id = $2)
               AND ($3::text IS NULL OR (sku, location_id) > ($3, $4::text))
             ORDER BY sku, location_id LIMIT $5",
            &[&sku, &location, &after_sku, &after_loc, &i64::from(limit)],
        )?;
        rows.iter()
            .map(|r| {
                Ok(InventoryRow {
                    sku: col(r, 0)?,
                    location_id: col(r, 1)?,
                    on_hand: col(r, 2)?,
                    reserved: col(r, 3)?,
                    quarantine: col(r, 6)?,
                    bin: col(r, 4)?,
                    updated_at: from_ms(col(r, 5)?)?,
                })
            })
            .collect()
    }

    fn movements(
        &mut self,
        sku: &str,
        before_id: Option<i64>,
        limit: u32,
    ) -> Result<Vec<MovementRow>, StoreError> {
        let rows = self.c.query(
            "SELECT id, sku, location_id, reason, delta_on_hand, delta_reserved, on_hand_after, reserved_after,
                    order_id, note, actor, at, delta_quarantine
             FROM stock_movements WHERE sku = $1 AND ($2::bigint IS NULL OR id < $2) ORDER BY id DESC LIMIT $3",
            &[&sku, &before_id, &i64::from(limit)],
        )?;
        rows.iter()
            .map(|r| {
                Ok(MovementRow {
                    id: col(r, 0)?,
                    sku: col(r, 1)?,
                    location_id: col(r, 2)?,
                    reason: col(r, 3)?,
                    delta_on_hand: col(r, 4)?,
                    delta_reserved: col(r, 5)?,
                    delta_quarantine: col(r, 12)?,
                    on_hand_after: col(r, 6)?,
                    reserved_after: col(r, 7)?,
                    order_id: col(r, 8)?,
                    note: col(r, 9)?,
                    actor: col(r, 10)?,
                    at: from_ms(col(r, 11)?)?,
                })
            })
            .collect()
    }

    fn quiet_shipments(
        &mut self,
        silent_since: jiff::Timestamp,
        now: jiff::Timestamp,
        limit: u32,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let rows = self.c.query(
            "SELECT order_id, id FROM shipments
             WHERE delayed = 0 AND status NOT IN ('delivered', 'returned_to_sender', 'lost')
               AND (last_scan_at <= $1 OR promised_by <= $2)
             ORDER BY last_scan_at LIMIT $3",
            &[&to_ms(silent_since), &to_ms(now), &i64::from(limit)],
        )?;
        rows.iter().map(|r| Ok((col(r, 0)?, col(r, 1)?))).collect()
    }

    fn skus_by_gtin(&mut self, gtins: &[String]) -> Result<Vec<(String, String)>, StoreError> {
        let rows = self.c.query(
            "SELECT gtin, sku FROM products WHERE gtin = ANY($1)",
            &[&gtins],
        )?;
        rows.iter().map(|r| Ok((col(r, 0)?, col(r, 1)?))).collect()
    }

    fn exceptions(&mut self, f: &ExceptionFilter) -> Result<Vec<ExceptionRow>, StoreError> {
        // The channel scope is a condition of its own, present only for a bound key: as
        // `$7 IS NULL OR …` a generic plan hashed every order's id for each list.
        let channel_sql =
            " AND order_id IN (SELECT o.id FROM orders o WHERE o.channel = ANY($7::TEXT[]))";
        let (after_sql, order_sql, after) = if f.newest_first {
            (
                " AND id < $5",
                " ORDER BY id DESC LIMIT $6",
                f.after_id.unwrap_or(i64::MAX),
            )
        } else {
            (
                " AND id > $5",
                " ORDER BY id LIMIT $6",
                f.after_id.unwrap_or(0),
            )
        };
        let base = exception_select!(
            "WHERE ($1::TEXT IS NULL OR queue = $1) AND ($2::TEXT IS NULL OR kind = $2)
               AND ($3::TEXT IS NULL OR order_id = $3)
               AND ($4::BOOLEAN IS NULL OR (resolved_at IS NULL) = $4)"
        );
        let limit = i64::from(f.limit);
        let mut params: Vec<&(dyn ToSql + Sync)> =
            vec![&f.queue, &f.kind, &f.order_id, &f.open, &after, &limit];
        let sql = match &f.channels {
            Some(channels) => {
                params.push(channels);
                format!("{base}{after_sql}{channel_sql}{order_sql}")
            }
            None => format!("{base}{after_sql}{order_sql}"),
        };
        let rows = self.c.query(&sql, &params)?;
        rows.iter().map(exception_row).collect()
    }

    fn exception_counts(
        &mut self,
        channels: Option<&[String]>,
        escalate_before: jiff::Timestamp,
    ) -> Result<Vec<crate::rows::ExceptionCount>, StoreError> {
        let channels: Option<Vec<String>> = channels.map(<[String]>::to_vec);
        let before = escalate_before.as_millisecond();
        let rows = match &channels {
            Some(channels) => self.c.query(
                "SELECT queue, kind, COUNT(*), MIN(opened_at),
                        COUNT(*) FILTER (WHERE opened_at <= $2) FROM exceptions
                 WHERE resolved_at IS NULL
                   AND order_id IN (SELECT o.id FROM orders o WHERE o.channel = ANY($1))
                 GROUP BY queue, kind ORDER BY queue, kind",
                &[channels, &before],
            )?,
            None => self.c.query(
                "SELECT queue, kind, COUNT(*), MIN(opened_at),
                        COUNT(*) FILTER (WHERE opened_at <= $1) FROM exceptions
                 WHERE resolved_at IS NULL GROUP BY queue, kind ORDER BY queue, kind",
                &[&before],
            )?,
        };
        rows.iter()
            .map(|r| {
                Ok(crate::rows::ExceptionCount {
                    queue: col(r, 0)?,
                    kind: col(r, 1)?,
                    open: u64::try_from(col::<i64>(r, 2)?).unwrap_or_default(),
                    oldest_opened_at: from_ms(col(r, 3)?)?,
                    escalated: u64::try_from(col::<i64>(r, 4)?).unwrap_or_default(),
                })
            })
            .collect()
    }

    fn shipped_from(
        &mut self,
        location_id: &str,
        from: jiff::Timestamp,
        to: jiff::Timestamp,
        after: Option<(jiff::Timestamp, String)>,
        limit: u32,
    ) -> Result<Vec<crate::read::ShippedRow>, StoreError> {
        let (after_at, after_id) =
            after.map_or((i64::MIN, String::new()), |(t, id)| (to_ms(t), id));
        let rows = self.c.query(
            "SELECT s.id, s.order_id, o.number, s.carrier, s.tracking_number, s.status, s.shipped_at
             FROM shipments s JOIN orders o ON o.id = s.order_id
             WHERE s.location_id = $1 AND s.shipped_at >= $2 AND s.shipped_at < $3
               AND (s.shipped_at, s.id) > ($4, $5)
             ORDER BY s.shipped_at, s.id LIMIT $6",
            &[
                &location_id,
                &to_ms(from),
                &to_ms(to),
                &after_at,
                &after_id,
                &i64::from(limit),
            ],
        )?;
        rows.iter()
            .map(|r| {
                Ok(crate::read::ShippedRow {
                    id: col(r, 0)?,
                    order_id: col(r, 1)?,
                    order_number: col(r, 2)?,
                    carrier: col(r, 3)?,
                    tracking_number: col(r, 4)?,
                    status: col(r, 5)?,
                    shipped_at: from_ms(col(r, 6)?)?,
                })
            })
            .collect()
    }

    fn backlog(&mut self, now: jiff::Timestamp) -> Result<crate::read::Backlog, StoreError> {
        let r = self
            .c
            .query_opt(crate::read::backlog_sql!("$1"), &[&to_ms(now)])?
            .ok_or_else(|| StoreError::Corrupt("the backlog query answered no row".into()))?;
        crate::read::Backlog::from_columns(
            [col(&r, 0)?, col(&r, 2)?, col(&r, 4)?, col(&r, 6)?],
            [col(&r, 1)?, col(&r, 3)?, col(&r, 5)?, col(&r, 7)?],
        )
    }

    fn waves(&mut self, f: &WaveFilter) -> Result<Vec<WaveSummary>, StoreError> {
        let rows = self.c.query(
            "SELECT w.id, w.location_id, w.created_at, w.created_by,
                    (SELECT COUNT(*) FROM fulfillment_orders m WHERE m.wave_id = w.id),
                    (SELECT COUNT(*) FROM fulfillment_orders m
                     WHERE m.wave_id = w.id AND m.state = 'released')
             FROM waves w
             WHERE ($1::text IS NULL OR w.location_id = $1) AND ($2::bigint IS NULL OR w.created_at >= $2)
               AND ($3::bigint IS NULL OR w.created_at < $3) AND ($4::text IS NULL OR w.id < $4)
               AND ($5::boolean IS NULL OR EXISTS (SELECT 1 FROM fulfillment_orders m
                                                   WHERE m.wave_id = w.id AND m.state = 'released') = $5)
             ORDER BY w.id DESC LIMIT $6",
            &[
                &f.location_id,
                &f.created_from.map(to_ms),
                &f.created_to.map(to_ms),
                &f.before_id,
                &f.open,
                &i64::from(f.limit),
            ],
        )?;
        rows.iter()
            .map(|r| {
                Ok(WaveSummary {
                    id: col(r, 0)?,
                    location_id: col(r, 1)?,
                    created_at: from_ms(col(r, 2)?)?,
                    created_by: col(r, 3)?,
                    members: u32_col(r, 4)?,
                    to_pick: u32_col(r, 5)?,
                })
            })
            .collect()
    }

    fn wave(&mut self, id: &str) -> Result<Option<WaveRow>, StoreError> {
        let head = self.c.query(
            "SELECT location_id, created_at, created_by FROM waves WHERE id = $1",
            &[&id],
        )?;
        let Some(row) = head.first() else {
            return Ok(None);
        };
        let members = self.c.query(
            "SELECT id, order_id FROM fulfillment_orders WHERE wave_id = $1 ORDER BY released_at, id",
            &[&id],
        )?;
        Ok(Some(WaveRow {
            id: id.to_owned(),
            location_id: col(row, 0)?,
            created_at: from_ms(col(row, 1)?)?,
            created_by: col(row, 2)?,
            members: members
                .iter()
                .map(|r| Ok((col(r, 0)?, col(r, 1)?)))
                .collect::<Result<_, StoreError>>()?,
        }))
    }

    fn store_credit_entries(
        &mut self,
        email: &str,
        limit: u32,
    ) -> Result<Vec<StoreCreditRow>, StoreError> {
        let rows = self.c.query(
            "SELECT id, currency, delta_minor, balance_after, reason, order_id, note, actor, at
             FROM store_credit_entries WHERE customer_email = $1 ORDER BY id DESC LIMIT $2",
            &[&email, &i64::from(limit)],
        )?;
        rows.iter()
            .map(|r| {
                Ok(StoreCreditRow {
                    id: col(r, 0)?,
                    currency: col(r, 1)?,
                    delta_minor: col(r, 2)?,
                    balance_after: col(r, 3)?,
                    reason: col(r, 4)?,
                    order_id: col(r, 5)?,
                    note: col(r, 6)?,
                    actor: col(r, 7)?,
                    at: from_ms(col(r, 8)?)?,
                })
            })
            .collect()
    }

    fn api_key_names(&mut self, ids: &[String]) -> Result<Vec<(String, String)>, StoreError> {
        let rows = self
            .c
            .query("SELECT id, name FROM api_keys WHERE id = ANY($1)", &[&ids])?;
        rows.iter().map(|r| Ok((col(r, 0)?, col(r, 1)?))).collect()
    }

    fn payment_token(&mut self, payment_id: &str) -> Result<Option<String>, StoreError> {
        let row = self.c.query_opt(
            "SELECT token FROM payment_tokens WHERE payment_id = $1",
            &[&payment_id],
        )?;
        row.map(|r| col(&r, 0)).transpose()
    }

    fn api_key_by_hash(&mut self, key_hash: &str) -> Result<Option<ApiKeyRow>, StoreError> {
        let sql = format!("SELECT {API_KEY_COLUMNS} FROM api_keys WHERE key_hash = $1");
        let row = self.c.query_opt(&sql, &[&key_hash])?;
        row.as_ref().map(api_key_row).transpose()
    }

    fn api_keys(&mut self) -> Result<Vec<ApiKeyRow>, StoreError> {
        let sql = format!("SELECT {API_KEY_COLUMNS} FROM api_keys ORDER BY created_at, id");
        self.c.query(&sql, &[])?.iter().map(api_key_row).collect()
    }

    fn returns(&mut self, f: &ReturnFilter) -> Result<Vec<ReturnRecord>, StoreError> {
        super::returns::returns(&self.c, f)
    }

    fn return_requests(
        &mut self,
        since: jiff::Timestamp,
        after: Option<(jiff::Timestamp, i64)>,
        limit: u32,
    ) -> Result<Vec<crate::read::ReturnRequestRow>, StoreError> {
        super::returns::return_requests(&self.c, since, after, limit)
    }

    fn return_row(&mut self, id: &str) -> Result<Option<ReturnRecord>, StoreError> {
        super::returns::return_row(&self.c, id)
    }

    fn return_order_mismatches(&mut self) -> Result<Vec<ReturnOrderMismatch>, StoreError> {
        super::returns::return_order_mismatches(&self.c)
    }

    fn ping(&mut self) -> Result<(), StoreError> {
        self.c.query_opt("SELECT 1", &[])?;
        Ok(())
    }

    fn store_credit_mismatches(&mut self) -> Result<Vec<(String, String, i64, i64)>, StoreError> {
        let rows = self.c.query(
            "SELECT b.customer_email, b.currency, b.balance_minor, COALESCE(SUM(e.delta_minor), 0)::bigint
             FROM store_credit_balances b
             LEFT JOIN store_credit_entries e
               ON e.customer_email = b.customer_email AND e.currency = b.currency
             GROUP BY b.customer_email, b.currency, b.balance_minor
             HAVING b.balance_minor <> COALESCE(SUM(e.delta_minor), 0)::bigint",
            &[],
        )?;
        rows.iter()
            .map(|r| Ok((col(r, 0)?, col(r, 1)?, col(r, 2)?, col(r, 3)?)))
            .collect()
    }

    fn open_reservations(&mut self) -> Result<Vec<OpenReservation>, StoreError> {
        let rows = self.c.query(
            "SELECT order_id, line_no, sku, location_id, quantity FROM reservations WHERE status = 'open'",
            &[],
        )?;
        rows.iter()
            .map(|r| {
                Ok((
                    col(r, 0)?,
                    u32_col(r, 1)?,
                    col(r, 2)?,
                    col(r, 3)?,
                    u32_col(r, 4)?,
                ))
            })
            .collect()
    }

    fn order_rows(
        &mut self,
        after_id: Option<&str>,
        limit: u32,
    ) -> Result<Vec<OrderRow>, StoreError> {
        let rows = self.c.query(
            "SELECT id, status, order_state, payment_state, fulfillment_state, return_state, total_minor, version,
                    snapshot, refund_state, on_hold
             FROM orders WHERE ($1::text IS NULL OR id > $1) ORDER BY id LIMIT $2",
            &[&after_id, &i64::from(limit)],
        )?;
        rows.iter()
            .map(|r| {
                Ok(OrderRow {
                    id: col(r, 0)?,
                    states: [
                        col(r, 1)?,
                        col(r, 2)?,
                        col(r, 3)?,
                        col(r, 4)?,
                        col(r, 5)?,
                        col(r, 9)?,
                    ],
                    on_hold: col::<i64>(r, 10)? != 0,
                    total_minor: col(r, 6)?,
                    version: col(r, 7)?,
                    snapshot: col(r, 8)?,
                })
            })
            .collect()
    }
}
