//! The write capabilities on SQLite: the SQL primitives, run on the writer thread's
//! connection inside the group's transaction (see `writer`). This file holds the
//! transaction handle and the order streams; `inventory`, `catalog`, `work` and
//! `fulfillment` hold the other capabilities.

use super::queries::order_snapshot;
use crate::error::StoreError;
use crate::rows::{IdempotencyRecord, StoredBody};
use crate::tx::{NewEvent, OrderEvents, WriteTx};
use crate::{from_ms, to_ms};
use jiff::Timestamp;
use orderly_domain::kpi::KpiRules;
use orderly_domain::order::{Order, OrderEvent};
use rusqlite::{Connection, OptionalExtension, params};

pub(crate) struct SqliteTx<'c> {
    conn: &'c Connection,
    kpi: &'c KpiRules,
}

impl<'c> SqliteTx<'c> {
    pub(crate) fn new(conn: &'c Connection, kpi: &'c KpiRules) -> Self {
        SqliteTx { conn, kpi }
    }

    pub(crate) fn kpi(&self) -> &'c KpiRules {
        self.kpi
    }

    pub(crate) fn conn(&self) -> &'c Connection {
        self.conn
    }
}

impl OrderEvents for SqliteTx<'_> {
    fn find_idempotency(
        &mut self,
        principal: &str,
        key: &str,
        now: Timestamp,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT request_hash, status_code, body, order_id, order_version FROM idempotency_keys
             WHERE principal = ?1 AND key = ?2 AND expires_at > ?3",
        )?;
        let row = stmt
            .query_row(params![principal, key, to_ms(now)], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, u16>(1)?,
                    r.get::<_, Vec<u8>>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, Option<i64>>(4)?,
                ))
            })
            .optional()?;
        Ok(row.map(
            |(request_hash, status_code, bytes, order_id, version)| IdempotencyRecord {
                request_hash,
                status_code,
                body: StoredBody::from_columns(bytes, order_id, version),
            },
        ))
    }

    fn save_idempotency(
        &mut self,
        principal: &str,
        key: &str,
        record: &IdempotencyRecord,
        now: Timestamp,
        keep_ms: i64,
    ) -> Result<(), StoreError> {
        let (bytes, order_id, version) = record.body.columns();
        self.conn
            .prepare_cached(
                "INSERT INTO idempotency_keys
                   (principal, key, request_hash, status_code, body, order_id, order_version, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                 ON CONFLICT (principal, key) DO UPDATE SET request_hash = excluded.request_hash,
                   status_code = excluded.status_code, body = excluded.body, order_id = excluded.order_id,
                   order_version = excluded.order_version, created_at = excluded.created_at,
                   expires_at = excluded.expires_at",
            )?
            .execute(params![
                principal,
                key,
                record.request_hash,
                record.status_code,
                bytes,
                order_id,
                version,
                to_ms(now),
                to_ms(now) + keep_ms
            ])?;
        Ok(())
    }

    fn purge_idempotency(&mut self, now: Timestamp) -> Result<usize, StoreError> {
        Ok(self.conn.execute(
            "DELETE FROM idempotency_keys WHERE expires_at <= ?1",
            [to_ms(now)],
        )?)
    }

    fn repoint_idempotency(
        &mut self,
        principal: &str,
        key: &str,
        order_id: &str,
        version: u64,
        status_code: u16,
    ) -> Result<(), StoreError> {
        self.conn()
            .prepare_cached(
                "UPDATE idempotency_keys SET order_version = ?4, status_code = ?5
                 WHERE principal = ?1 AND key = ?2 AND order_id = ?3",
            )?
            .execute(params![
                principal,
                key,
                order_id,
                version as i64,
                i64::from(status_code)
            ])?;
        Ok(())
    }

    fn order_id_by_external(
        &mut self,
        channel: &str,
        external_id: &str,
    ) -> Result<Option<String>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id FROM orders WHERE channel = ?1 AND external_id = ?2")?;
        Ok(stmt
            .query_row(params![channel, external_id], |r| r.get(0))
            .optional()?)
    }

    fn load_order(&mut self, id_or_number: &str) -> Result<Option<Order>, StoreError> {
        order_snapshot(self.conn, id_or_number)
    }

    fn stream(
        &mut self,
        order_id: &str,
        up_to_version: u64,
    ) -> Result<Vec<(OrderEvent, Timestamp)>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT data, at FROM events WHERE stream_id = ?1 AND version <= ?2 ORDER BY version",
        )?;
        let rows = stmt.query_map(params![order_id, up_to_version as i64], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
        })?;
        rows.map(|row| {
            let (data, at) = row?;
            Ok((serde_json::from_str(&data)?, from_ms(at)?))
        })
        .collect()
    }

    fn next_order_number(&mut self, channel: &str, prefix: &str) -> Result<String, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "INSERT INTO order_counters (channel, last_number) VALUES (?1, 1001)
             ON CONFLICT (channel) DO UPDATE SET last_number = last_number + 1
             RETURNING last_number",
        )?;
        let n: i64 = stmt.query_row([channel], |r| r.get(0))?;
        Ok(format!("{prefix}-{n}"))
    }

    fn orders_by_email_since(&mut self, email: &str, since: Timestamp) -> Result<u32, StoreError> {
        let n: i64 = self
            .conn()
            .prepare_cached(
                "SELECT count(*) FROM orders WHERE customer_email = ?1 AND created_at >= ?2",
            )?
            .query_row(params![email, to_ms(since)], |r| r.get(0))?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    fn insert_events(&mut self, events: &[NewEvent<'_>]) -> Result<(), StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "INSERT INTO events (stream_id, version, type, data, actor, correlation_id, at, stream_type)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?;
        for e in events {
            let inserted = stmt.execute(params![
                e.stream_id,
                e.version as i64,
                e.kind,
                e.data,
                e.actor,
                e.correlation_id,
                to_ms(e.at),
                e.stream_type.as_str()
            ]);
            match inserted.map_err(StoreError::from) {
                Ok(_) => {}
                Err(StoreError::Conflict(_)) => {
                    return Err(StoreError::Conflict(format!(
                        "order {} changed concurrently",
                        e.stream_id
                    )));
                }
                Err(other) => return Err(other),
            }
        }
        Ok(())
    }

    fn save_read_model(
        &mut self,
        o: &Order,
        snapshot: &str,
        created: bool,
    ) -> Result<(), StoreError> {
        let sql = if created {
            "INSERT INTO orders (id, number, channel, external_id, customer_email, status, order_state, payment_state,
               fulfillment_state, return_state, currency, total_minor, created_at, updated_at, version, snapshot,
               refund_state, on_hold, search_text)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)"
        } else {
            "UPDATE orders SET number = ?2, channel = ?3, external_id = ?4, customer_email = ?5, status = ?6,
               order_state = ?7, payment_state = ?8, fulfillment_state = ?9, return_state = ?10, currency = ?11,
               total_minor = ?12, created_at = ?13, updated_at = ?14, version = ?15, snapshot = ?16,
               refund_state = ?17, on_hold = ?18, search_text = ?19
             WHERE id = ?1"
        };
        self.conn.prepare_cached(sql)?.execute(params![
            o.id.as_str(),
            o.number,
            o.channel.as_str(),
            o.external_id,
            o.customer.email.as_str(),
            o.customer_status().as_str(),
            o.state.as_str(),
            o.payment_state().as_str(),
            o.fulfillment_summary().as_str(),
            o.return_summary().as_str(),
            o.currency.as_str(),
            o.total(),
            to_ms(o.created_at),
            to_ms(o.updated_at),
            o.version as i64,
            snapshot,
            o.refund_state().as_str(),
            o.on_hold(),
            crate::read::search_text(o)
        ])?;
        Ok(())
    }
}

impl WriteTx for SqliteTx<'_> {}
