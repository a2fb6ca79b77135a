//! `Reader` on SQLite: read-only queries on a pooled connection.
//!
//! The file runs past the usual size: it is the one `impl Reader` block, which Rust
//! keeps in one place, and each method is a short query found by its name. Reads with
//! logic of their own live beside it (`customers`, `cases`, `returns`, `console`).

use super::queries::{
    API_KEY_COLUMNS, api_key_row, exception_from_row, order_snapshot, product_by_sku,
    product_from_row, ts,
};
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
use jiff::Timestamp;
use orderly_domain::order::Order;
use rusqlite::{Connection, OptionalExtension, params};

pub(crate) struct SqliteReader<'c> {
    conn: &'c Connection,
}

impl<'c> SqliteReader<'c> {
    pub(crate) fn new(conn: &'c Connection) -> Self {
        SqliteReader { conn }
    }

    pub(crate) fn conn(&self) -> &'c Connection {
        self.conn
    }
}

impl Reader for SqliteReader<'_> {
    /// An order by id (`ord_…`) or human number (`WEB-1001`).
    fn order(&mut self, id_or_number: &str) -> Result<Option<Order>, StoreError> {
        order_snapshot(self.conn, id_or_number)
    }

    fn orders(&mut self, f: &OrderFilter) -> Result<Vec<Order>, StoreError> {
        // The lookups by a client's key are conditions of their own, added only when
        // asked for, so the planner drives the query from their indexes.
        let mut sql = String::from(
            "SELECT snapshot FROM orders
             WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR channel = ?2)
               AND (?3 IS NULL OR customer_email = ?3) AND (?4 IS NULL OR created_at >= ?4)
               AND (?5 IS NULL OR created_at < ?5) AND (?6 IS NULL OR id < ?6)
               AND (?8 IS NULL OR order_state = ?8) AND (?9 IS NULL OR payment_state = ?9)
               AND (?10 IS NULL OR fulfillment_state = ?10) AND (?11 IS NULL OR return_state = ?11)
               AND (?12 IS NULL OR refund_state = ?12) AND (?13 IS NULL OR on_hold = ?13)",
        );
        let mut extra: Vec<&dyn rusqlite::ToSql> = Vec::new();
        for (value, condition) in [
            // Beside the generic condition above, so the planner sees a plain equality
            // and drives a customer's orders from `orders_by_email`, not a scan by id.
            (&f.email, "customer_email = ?"),
            (&f.external_id, "external_id = ?"),
            (
                &f.tracking_number,
                "id IN (SELECT order_id FROM shipments WHERE tracking_number = ?)",
            ),
            (&f.text, "instr(search_text, ?) > 0"),
        ] {
            if let Some(v) = value {
                extra.push(v);
                let n = 13 + extra.len();
                sql.push_str(&format!(
                    " AND {}",
                    condition.replace('?', &format!("?{n}"))
                ));
            }
        }
        let scope = crate::rows::channels_to_column(f.channels.as_deref());
        if let Some(channels) = &scope {
            extra.push(channels);
            let n = 13 + extra.len();
            sql.push_str(&format!(
                " AND channel IN (SELECT value FROM json_each(?{n}))"
            ));
        }
        sql.push_str(" ORDER BY id DESC LIMIT ?7");
        let created_from = f.created_from.map(to_ms);
        let created_to = f.created_to.map(to_ms);
        let mut all: Vec<&dyn rusqlite::ToSql> = vec![
            &f.status,
            &f.channel,
            &f.email,
            &created_from,
            &created_to,
            &f.before_id,
            &f.limit,
            &f.order_state,
            &f.payment_state,
            &f.fulfillment_state,
            &f.return_state,
            &f.refund_state,
            &f.on_hold,
        ];
        all.extend(extra);
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(all.as_slice(), |r| r.get::<_, String>(0))?;
        rows.map(|s| Ok(serde_json::from_str(&s?)?)).collect()
    }

    /// Every event of a stream, oldest first.
    fn events(&mut self, stream_id: &str) -> Result<Vec<EventRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, version, data, actor, correlation_id, at, stream_type FROM events
             WHERE stream_id = ?1 ORDER BY version",
        )?;
        let rows = stmt.query_map([stream_id], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, i64>(5)?,
                r.get::<_, String>(6)?,
            ))
        })?;
        rows.map(|row| {
            let (seq, version, data, actor, correlation_id, at, stream_type) = row?;
            Ok(EventRow {
                seq,
                stream_type: StreamType::parse(&stream_type)?,
                version: u64::try_from(version)
                    .map_err(|_| StoreError::Corrupt("negative version".into()))?,
                event: serde_json::from_str(&data)?,
                actor: serde_json::from_str(&actor)?,
                correlation_id,
                at: from_ms(at)?,
            })
        })
        .collect()
    }

    fn history(&mut self, stream_id: &str) -> Result<Vec<crate::rows::HistoryRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, stream_type, version, type, data, actor, correlation_id, at FROM events
             WHERE stream_id = ?1 ORDER BY version",
        )?;
        let rows = stmt
            .query_map([stream_id], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, String>(6)?,
                    r.get::<_, i64>(7)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter()
            .map(|(seq, st, version, kind, data, actor, corr, at)| {
                crate::rows::HistoryRow::from_columns(
                    seq, &st, version, kind, &data, &actor, corr, at,
                )
            })
            .collect()
    }

    fn product(&mut self, sku: &str) -> Result<Option<ProductRow>, StoreError> {
        product_by_sku(self.conn, sku)
    }

    /// Products ordered by SKU, starting after `after_sku`.
    fn products(
        &mut self,
        after_sku: Option<&str>,
        limit: u32,
    ) -> Result<Vec<ProductRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(product_select!(
            "WHERE (?1 IS NULL OR sku > ?1) ORDER BY sku LIMIT ?2"
        ))?;
        let rows = stmt.query_map(params![after_sku, limit], product_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Inventory records ordered by (SKU, location), optionally for one SKU or location,
    /// starting after the `(sku, location)` key.
    fn inventory(
        &mut self,
        sku: Option<&str>,
        location: Option<&str>,
        after: Option<(&str, &str)>,
        limit: u32,
    ) -> Result<Vec<InventoryRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT sku, location_id, on_hand, reserved, bin, updated_at, quarantine FROM inventory
             WHERE (?1 IS NULL OR sku = ?1) AND (?2 IS NULL OR location_id = ?2)
               AND (?3 IS NULL OR (sku, location_id) > (?3, ?4))
             ORDER BY sku, location_id LIMIT ?5",
        )?;
        let (after_sku, after_loc) = after.unzip();
        let rows = stmt.query_map(params![sku, location, after_sku, after_loc, limit], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get::<_, i64>(5)?,
                r.get(6)?,
            ))
        })?;
        rows.map(|row| {
            let (sku, location_id, on_hand, reserved, bin, at, quarantine) = row?;
            Ok(InventoryRow {
                sku,
                location_id,
                on_hand,
                reserved,
                quarantine,
                bin,
                updated_at: from_ms(at)?,
            })
        })
        .collect()
    }

    /// Stock movements of a SKU, newest first, starting before movement id `before_id`.
    fn movements(
        &mut self,
        sku: &str,
        before_id: Option<i64>,
        limit: u32,
    ) -> Result<Vec<MovementRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, sku, location_id, reason, delta_on_hand, delta_reserved, on_hand_after, reserved_after,
                    order_id, note, actor, at, delta_quarantine
             FROM stock_movements WHERE sku = ?1 AND (?2 IS NULL OR id < ?2) ORDER BY id DESC LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![sku, before_id, limit], |r| {
            Ok(MovementRow {
                id: r.get(0)?,
                sku: r.get(1)?,
                location_id: r.get(2)?,
                reason: r.get(3)?,
                delta_on_hand: r.get(4)?,
                delta_reserved: r.get(5)?,
                delta_quarantine: r.get(12)?,
                on_hand_after: r.get(6)?,
                reserved_after: r.get(7)?,
                order_id: r.get(8)?,
                note: r.get(9)?,
                actor: r.get(10)?,
                at: ts(r, 11)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn quiet_shipments(
        &mut self,
        silent_since: Timestamp,
        now: Timestamp,
        limit: u32,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT order_id, id FROM shipments
             WHERE delayed = 0 AND status NOT IN ('delivered', 'returned_to_sender', 'lost')
               AND (last_scan_at <= ?1 OR promised_by <= ?2)
             ORDER BY last_scan_at LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![to_ms(silent_since), to_ms(now), limit], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn skus_by_gtin(&mut self, gtins: &[String]) -> Result<Vec<(String, String)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT gtin, sku FROM products WHERE gtin = ?1")?;
        let mut found = Vec::new();
        for gtin in gtins {
            if let Some(pair) = stmt
                .query_row([gtin], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?
            {
                found.push(pair);
            }
        }
        Ok(found)
    }

    fn exceptions(&mut self, f: &ExceptionFilter) -> Result<Vec<ExceptionRow>, StoreError> {
        macro_rules! listed {
            ($after:literal, $order:literal) => {
                exception_select!(
                    "WHERE (?1 IS NULL OR queue = ?1) AND (?2 IS NULL OR kind = ?2)
                       AND (?3 IS NULL OR order_id = ?3) AND (?4 IS NULL OR (resolved_at IS NULL) = ?4)
                       AND ",
                    $after,
                    "
                       AND (?7 IS NULL OR order_id IN (SELECT o.id FROM orders o
                                                       WHERE o.channel IN (SELECT value FROM json_each(?7))))
                     ORDER BY ",
                    $order,
                    " LIMIT ?6"
                )
            };
        }
        let (sql, after) = if f.newest_first {
            (
                listed!("id < ?5", "id DESC"),
                f.after_id.unwrap_or(i64::MAX),
            )
        } else {
            (listed!("id > ?5", "id"), f.after_id.unwrap_or(0))
        };
        let mut stmt = self.conn.prepare_cached(sql)?;
        let rows = stmt.query_map(
            params![
                f.queue,
                f.kind,
                f.order_id,
                f.open,
                after,
                f.limit,
                crate::rows::channels_to_column(f.channels.as_deref())
            ],
            exception_from_row,
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn exception_counts(
        &mut self,
        channels: Option<&[String]>,
        escalate_before: jiff::Timestamp,
    ) -> Result<Vec<crate::rows::ExceptionCount>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT queue, kind, COUNT(*), MIN(opened_at),
                    SUM(CASE WHEN opened_at <= ?2 THEN 1 ELSE 0 END) FROM exceptions
             WHERE resolved_at IS NULL
               AND (?1 IS NULL OR order_id IN (SELECT o.id FROM orders o
                                               WHERE o.channel IN (SELECT value FROM json_each(?1))))
             GROUP BY queue, kind ORDER BY queue, kind",
        )?;
        let rows = stmt
            .query_map(
                params![
                    crate::rows::channels_to_column(channels),
                    escalate_before.as_millisecond()
                ],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, i64>(3)?,
                        r.get::<_, i64>(4)?,
                    ))
                },
            )?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter()
            .map(|(queue, kind, open, oldest, escalated)| {
                Ok(crate::rows::ExceptionCount {
                    queue,
                    kind,
                    open: u64::try_from(open).unwrap_or_default(),
                    oldest_opened_at: from_ms(oldest)?,
                    escalated: u64::try_from(escalated).unwrap_or_default(),
                })
            })
            .collect()
    }

    fn shipped_from(
        &mut self,
        location_id: &str,
        from: Timestamp,
        to: Timestamp,
        after: Option<(Timestamp, String)>,
        limit: u32,
    ) -> Result<Vec<crate::read::ShippedRow>, StoreError> {
        let (after_at, after_id) =
            after.map_or((i64::MIN, String::new()), |(t, id)| (to_ms(t), id));
        let mut stmt = self.conn.prepare_cached(
            "SELECT s.id, s.order_id, o.number, s.carrier, s.tracking_number, s.status, s.shipped_at
             FROM shipments s JOIN orders o ON o.id = s.order_id
             WHERE s.location_id = ?1 AND s.shipped_at >= ?2 AND s.shipped_at < ?3
               AND (s.shipped_at, s.id) > (?4, ?5)
             ORDER BY s.shipped_at, s.id LIMIT ?6",
        )?;
        let rows = stmt
            .query_map(
                params![
                    location_id,
                    to_ms(from),
                    to_ms(to),
                    after_at,
                    after_id,
                    limit
                ],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, String>(5)?,
                        r.get::<_, i64>(6)?,
                    ))
                },
            )?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter()
            .map(
                |(id, order_id, order_number, carrier, tracking_number, status, at)| {
                    Ok(crate::read::ShippedRow {
                        id,
                        order_id,
                        order_number,
                        carrier,
                        tracking_number,
                        status,
                        shipped_at: from_ms(at)?,
                    })
                },
            )
            .collect()
    }

    fn backlog(&mut self, now: Timestamp) -> Result<crate::read::Backlog, StoreError> {
        let mut stmt = self.conn.prepare_cached(crate::read::backlog_sql!("?1"))?;
        let (counts, oldest) = stmt.query_row(params![to_ms(now)], |r| {
            Ok((
                [r.get(0)?, r.get(2)?, r.get(4)?, r.get(6)?],
                [r.get(1)?, r.get(3)?, r.get(5)?, r.get(7)?],
            ))
        })?;
        crate::read::Backlog::from_columns(counts, oldest)
    }

    fn waves(&mut self, f: &WaveFilter) -> Result<Vec<WaveSummary>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT w.id, w.location_id, w.created_at, w.created_by,
                    (SELECT COUNT(*) FROM fulfillment_orders m WHERE m.wave_id = w.id),
                    (SELECT COUNT(*) FROM fulfillment_orders m
                     WHERE m.wave_id = w.id AND m.state = 'released')
             FROM waves w
             WHERE (?1 IS NULL OR w.location_id = ?1) AND (?2 IS NULL OR w.created_at >= ?2)
               AND (?3 IS NULL OR w.created_at < ?3) AND (?4 IS NULL OR w.id < ?4)
               AND (?5 IS NULL OR EXISTS (SELECT 1 FROM fulfillment_orders m
                                          WHERE m.wave_id = w.id AND m.state = 'released') = ?5)
             ORDER BY w.id DESC LIMIT ?6",
        )?;
        let rows = stmt.query_map(
            params![
                f.location_id,
                f.created_from.map(to_ms),
                f.created_to.map(to_ms),
                f.before_id,
                f.open,
                f.limit
            ],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, u32>(4)?,
                    r.get::<_, u32>(5)?,
                ))
            },
        )?;
        rows.map(|row| {
            let (id, location_id, created_at, created_by, members, to_pick) = row?;
            Ok(WaveSummary {
                id,
                location_id,
                created_at: from_ms(created_at)?,
                created_by,
                members,
                to_pick,
            })
        })
        .collect()
    }

    fn wave(&mut self, id: &str) -> Result<Option<WaveRow>, StoreError> {
        let head: Option<(String, i64, String)> = self
            .conn
            .prepare_cached("SELECT location_id, created_at, created_by FROM waves WHERE id = ?1")?
            .query_row(params![id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?;
        let Some((location_id, created_at, created_by)) = head else {
            return Ok(None);
        };
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, order_id FROM fulfillment_orders WHERE wave_id = ?1
             ORDER BY released_at, id",
        )?;
        let members = stmt
            .query_map(params![id], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        Ok(Some(WaveRow {
            id: id.to_owned(),
            location_id,
            created_at: from_ms(created_at)?,
            created_by,
            members,
        }))
    }

    fn store_credit_entries(
        &mut self,
        email: &str,
        limit: u32,
    ) -> Result<Vec<StoreCreditRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, currency, delta_minor, balance_after, reason, order_id, note, actor, at
             FROM store_credit_entries WHERE customer_email = ?1 ORDER BY id DESC LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![email, limit], |r| {
            Ok(StoreCreditRow {
                id: r.get(0)?,
                currency: r.get(1)?,
                delta_minor: r.get(2)?,
                balance_after: r.get(3)?,
                reason: r.get(4)?,
                order_id: r.get(5)?,
                note: r.get(6)?,
                actor: r.get(7)?,
                at: ts(r, 8)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn api_key_names(&mut self, ids: &[String]) -> Result<Vec<(String, String)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id, name FROM api_keys WHERE id = ?1")?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(row) = stmt
                .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?
            {
                out.push(row);
            }
        }
        Ok(out)
    }

    fn payment_token(&mut self, payment_id: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT token FROM payment_tokens WHERE payment_id = ?1")?
            .query_row([payment_id], |r| r.get(0))
            .optional()?)
    }

    fn api_key_by_hash(&mut self, key_hash: &str) -> Result<Option<ApiKeyRow>, StoreError> {
        let sql = format!("SELECT {API_KEY_COLUMNS} FROM api_keys WHERE key_hash = ?1");
        let row = self
            .conn
            .prepare_cached(&sql)?
            .query_row([key_hash], api_key_row)
            .optional()?;
        row.transpose()
    }

    fn api_keys(&mut self) -> Result<Vec<ApiKeyRow>, StoreError> {
        let sql = format!("SELECT {API_KEY_COLUMNS} FROM api_keys ORDER BY created_at, id");
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map([], api_key_row)?;
        let mut keys = Vec::new();
        for row in rows {
            keys.push(row??);
        }
        Ok(keys)
    }

    fn returns(&mut self, f: &ReturnFilter) -> Result<Vec<ReturnRecord>, StoreError> {
        super::returns::returns(self.conn, f)
    }

    fn return_requests(
        &mut self,
        since: Timestamp,
        after: Option<(Timestamp, i64)>,
        limit: u32,
    ) -> Result<Vec<crate::read::ReturnRequestRow>, StoreError> {
        super::returns::return_requests(self.conn, since, after, limit)
    }

    fn return_row(&mut self, id: &str) -> Result<Option<ReturnRecord>, StoreError> {
        super::returns::return_row(self.conn, id)
    }

    fn return_order_mismatches(&mut self) -> Result<Vec<ReturnOrderMismatch>, StoreError> {
        super::returns::return_order_mismatches(self.conn)
    }

    /// Cheap liveness probe of the database.
    fn ping(&mut self) -> Result<(), StoreError> {
        self.conn.query_row("SELECT 1", [], |_| Ok(()))?;
        Ok(())
    }

    fn store_credit_mismatches(&mut self) -> Result<Vec<(String, String, i64, i64)>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT b.customer_email, b.currency, b.balance_minor, COALESCE(SUM(e.delta_minor), 0)
             FROM store_credit_balances b
             LEFT JOIN store_credit_entries e
               ON e.customer_email = b.customer_email AND e.currency = b.currency
             GROUP BY b.customer_email, b.currency, b.balance_minor
             HAVING b.balance_minor <> COALESCE(SUM(e.delta_minor), 0)",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
        rows.map(|r| Ok(r?)).collect()
    }

    fn open_reservations(&mut self) -> Result<Vec<OpenReservation>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT order_id, line_no, sku, location_id, quantity FROM reservations WHERE status = 'open'")?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?;
        rows.map(|r| Ok(r?)).collect()
    }

    fn order_rows(
        &mut self,
        after_id: Option<&str>,
        limit: u32,
    ) -> Result<Vec<OrderRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, status, order_state, payment_state, fulfillment_state, return_state, total_minor, version,
                    snapshot, refund_state, on_hold
             FROM orders WHERE (?1 IS NULL OR id > ?1) ORDER BY id LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![after_id, limit], |r| {
            Ok(OrderRow {
                id: r.get(0)?,
                states: [
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(9)?,
                ],
                on_hold: r.get(10)?,
                total_minor: r.get(6)?,
                version: r.get(7)?,
                snapshot: r.get(8)?,
            })
        })?;
        rows.map(|r| Ok(r?)).collect()
    }
}
