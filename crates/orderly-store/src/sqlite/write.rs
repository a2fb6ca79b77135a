//! `WriteTx` on SQLite: the SQL primitives, run on the writer thread's connection inside
//! the group's transaction (each command in its own savepoint).

use super::queries::{order_snapshot, product_by_sku};
use crate::error::StoreError;
use crate::rows::{
    IdempotencyRecord, InventoryRow, NewProduct, OutboxRow, ProductPatch, ProductRow, StoredBody,
};
use crate::tx::{Movement, NewEvent, ReservedMove, WriteTx};
use crate::{from_ms, to_ms};
use jiff::Timestamp;
use orderly_domain::actor::{Actor, Role};
use orderly_domain::inventory::{MovementReason, StockLevel};
use orderly_domain::order::{Order, OrderEvent, Reservation};
use orderly_domain::sourcing::{Shortfall, StockView};
use orderly_domain::values::{Id, Sku};
use rusqlite::{Connection, OptionalExtension, params};

pub(crate) struct SqliteTx<'c> {
    conn: &'c Connection,
}

impl<'c> SqliteTx<'c> {
    pub(crate) fn new(conn: &'c Connection) -> Self {
        SqliteTx { conn }
    }

    pub(crate) fn conn(&self) -> &'c Connection {
        self.conn
    }

    fn movement(&self, m: Movement<'_>) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "INSERT INTO stock_movements (sku, location_id, reason, delta_on_hand, delta_reserved,
                   on_hand_after, reserved_after, order_id, note, actor, at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?
            .execute(params![
                m.sku,
                m.location,
                m.reason.as_str(),
                m.delta_on_hand,
                m.delta_reserved,
                m.after.on_hand,
                m.after.reserved,
                m.order_id,
                m.note,
                m.actor,
                m.at
            ])?;
        Ok(())
    }
}

impl WriteTx for SqliteTx<'_> {
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

    fn product(&mut self, sku: &str) -> Result<Option<ProductRow>, StoreError> {
        product_by_sku(self.conn, sku)
    }

    fn sku_by_gtin(&mut self, gtin: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT sku FROM products WHERE gtin = ?1")?
            .query_row([gtin], |r| r.get(0))
            .optional()?)
    }

    fn create_product(&mut self, p: &NewProduct, now: Timestamp) -> Result<ProductRow, StoreError> {
        let n = self.conn.execute(
            "INSERT INTO products (sku, name, price_minor, currency, weight_grams, category, returnable, active,
               created_at, updated_at, version, gtin)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, 1, ?10) ON CONFLICT (sku) DO NOTHING",
            params![p.sku, p.name, p.price_minor, p.currency, p.weight_grams, p.category, p.returnable, p.active, to_ms(now), p.gtin],
        )?;
        if n == 0 {
            return Err(StoreError::Conflict(format!("product {} exists", p.sku)));
        }
        self.product(&p.sku)?
            .ok_or_else(|| StoreError::Corrupt("inserted product vanished".into()))
    }

    fn update_product(
        &mut self,
        sku: &str,
        patch: &ProductPatch,
        expected_version: Option<i64>,
        now: Timestamp,
    ) -> Result<Option<ProductRow>, StoreError> {
        let Some(cur) = self.product(sku)? else {
            return Ok(None);
        };
        let next = patch.apply(cur, expected_version)?;
        self.conn.execute(
            "UPDATE products SET name = ?2, price_minor = ?3, currency = ?4, weight_grams = ?5, category = ?6,
               returnable = ?7, active = ?8, updated_at = ?9, gtin = ?10, version = version + 1 WHERE sku = ?1",
            params![
                sku,
                next.name,
                next.price_minor,
                next.currency,
                next.weight_grams,
                next.category,
                next.returnable,
                next.active,
                to_ms(now),
                next.gtin
            ],
        )?;
        self.product(sku)
    }

    fn stock_view(&mut self, skus: &[Sku]) -> Result<StockView, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT location_id, on_hand - reserved FROM inventory WHERE sku = ?1",
        )?;
        let mut view = StockView::default();
        for sku in skus {
            let rows = stmt.query_map([sku.as_str()], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
            })?;
            for row in rows {
                let (location, available) = row?;
                view.set(
                    sku.clone(),
                    Id::new(location),
                    u32::try_from(available.max(0)).unwrap_or(u32::MAX),
                );
            }
        }
        Ok(view)
    }

    fn stock_level(&mut self, sku: &str, location: &str) -> Result<StockLevel, StoreError> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT on_hand, reserved FROM inventory WHERE sku = ?1 AND location_id = ?2",
            )?
            .query_row([sku, location], |r| {
                Ok(StockLevel {
                    on_hand: r.get(0)?,
                    reserved: r.get(1)?,
                })
            })
            .optional()?
            .unwrap_or_default())
    }

    fn adjust_on_hand(
        &mut self,
        sku: &str,
        location: &str,
        delta: i64,
        reason: MovementReason,
        bin: Option<&str>,
        note: Option<&str>,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<InventoryRow, StoreError> {
        let at = to_ms(now);
        let (on_hand, reserved, bin) = self
            .conn
            .prepare_cached(
                // SQLite checks CHECK constraints on the candidate row before ON CONFLICT
                // applies, so the inserted value must itself be valid; a new record can
                // only start from a receipt (the decision refuses anything else).
                "INSERT INTO inventory (sku, location_id, on_hand, reserved, bin, updated_at)
                 VALUES (?1, ?2, MAX(?3, 0), 0, ?4, ?5)
                 ON CONFLICT (sku, location_id) DO UPDATE SET on_hand = on_hand + ?3,
                   bin = COALESCE(excluded.bin, bin), updated_at = excluded.updated_at
                 RETURNING on_hand, reserved, bin",
            )?
            .query_row(params![sku, location, delta, bin, at], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, Option<String>>(2)?,
                ))
            })?;
        let after = StockLevel { on_hand, reserved };
        let actor = actor.label();
        self.movement(Movement {
            sku,
            location,
            reason,
            delta_on_hand: delta,
            delta_reserved: 0,
            after,
            order_id: None,
            note,
            actor: &actor,
            at,
        })?;
        Ok(InventoryRow {
            sku: sku.to_owned(),
            location_id: location.to_owned(),
            on_hand,
            reserved,
            bin,
            updated_at: now,
        })
    }

    fn insert_api_key(
        &mut self,
        id: &str,
        name: &str,
        role: Role,
        key_hash: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO api_keys (id, name, role, key_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![id, name, role.as_str(), key_hash, to_ms(now)],
        )?;
        Ok(())
    }

    fn claim_outbox(
        &mut self,
        worker: &str,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "UPDATE outbox SET claimed_by = ?1, claimed_until = ?3, attempts = attempts + 1
             WHERE id IN (SELECT id FROM outbox
                          WHERE delivered_at IS NULL AND available_at <= ?2
                            AND (claimed_until IS NULL OR claimed_until < ?2)
                          ORDER BY id LIMIT ?4)
             RETURNING id, topic, stream_id, payload, attempts",
        )?;
        let rows = stmt.query_map(
            params![worker, to_ms(now), to_ms(lease_until), limit],
            |r| {
                Ok(OutboxRow {
                    id: r.get(0)?,
                    topic: r.get(1)?,
                    stream_id: r.get(2)?,
                    payload: r.get(3)?,
                    attempts: r.get(4)?,
                })
            },
        )?;
        let mut out: Vec<OutboxRow> = rows.collect::<Result<_, _>>()?;
        out.sort_by_key(|r| r.id);
        Ok(out)
    }

    fn complete_outbox(
        &mut self,
        worker: &str,
        ids: &[i64],
        now: Timestamp,
    ) -> Result<usize, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "UPDATE outbox SET delivered_at = ?3 WHERE id = ?2 AND claimed_by = ?1 AND delivered_at IS NULL",
        )?;
        let mut n = 0;
        for id in ids {
            n += stmt.execute(params![worker, id, to_ms(now)])?;
        }
        Ok(n)
    }

    fn insert_events(&mut self, events: &[NewEvent<'_>]) -> Result<(), StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "INSERT INTO events (stream_id, version, type, data, actor, correlation_id, at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        for e in events {
            let inserted = stmt.execute(params![
                e.stream_id,
                e.version as i64,
                e.kind,
                e.data,
                e.actor,
                e.correlation_id,
                to_ms(e.at)
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

    fn move_reserved(&mut self, moves: &[ReservedMove<'_>]) -> Result<(), StoreError> {
        for m in moves {
            let r = m.reservation;
            let (sku, location, at) = (r.sku.as_str(), r.location_id.as_str(), to_ms(m.at));
            let after = self
                .conn
                .prepare_cached(
                    "UPDATE inventory SET reserved = reserved + ?3, on_hand = on_hand + ?5, updated_at = ?4
                     WHERE sku = ?1 AND location_id = ?2 AND reserved + ?3 >= 0
                       AND reserved + ?3 <= on_hand + ?5
                     RETURNING on_hand, reserved",
                )?
                .query_row(params![sku, location, m.delta, at, m.delta_on_hand], |row| {
                    Ok(StockLevel { on_hand: row.get(0)?, reserved: row.get(1)? })
                })
                .optional()?
                .ok_or_else(|| m.guard_failed())?;
            self.movement(Movement {
                sku,
                location,
                reason: m.reason,
                delta_on_hand: m.delta_on_hand,
                delta_reserved: m.delta,
                after,
                order_id: Some(m.order_id),
                note: None,
                actor: m.actor,
                at,
            })?;
        }
        Ok(())
    }

    fn insert_reservations(
        &mut self,
        order_id: &str,
        rs: &[Reservation],
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "INSERT INTO reservations (order_id, line_no, sku, location_id, quantity, status, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, 'open', ?6)",
        )?;
        for r in rs {
            stmt.execute(params![
                order_id,
                r.line_no,
                r.sku.as_str(),
                r.location_id.as_str(),
                r.quantity,
                to_ms(at)
            ])?;
        }
        Ok(())
    }

    fn close_reservations(&mut self, order_id: &str, at: Timestamp) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "UPDATE reservations SET status = 'released', closed_at = ?2
                 WHERE order_id = ?1 AND status = 'open'",
            )?
            .execute(params![order_id, to_ms(at)])?;
        Ok(())
    }

    fn insert_backorder(
        &mut self,
        order_id: &str,
        b: &Shortfall,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "INSERT INTO backorders (order_id, line_no, sku, quantity, status, created_at)
                 VALUES (?1, ?2, ?3, ?4, 'open', ?5)",
            )?
            .execute(params![
                order_id,
                b.line_no,
                b.sku.as_str(),
                b.quantity,
                to_ms(at)
            ])?;
        Ok(())
    }

    fn cancel_backorders(&mut self, order_id: &str) -> Result<(), StoreError> {
        self.conn
            .prepare_cached("UPDATE backorders SET status = 'cancelled' WHERE order_id = ?1 AND status = 'open'")?
            .execute([order_id])?;
        Ok(())
    }

    fn enqueue_outbox(
        &mut self,
        messages: &[(&str, &str, String)],
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "INSERT INTO outbox (topic, stream_id, payload, created_at, available_at) VALUES (?1, ?2, ?3, ?4, ?4)",
        )?;
        for (topic, stream_id, payload) in messages {
            stmt.execute(params![topic, stream_id, payload, to_ms(at)])?;
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
