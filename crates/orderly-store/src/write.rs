//! Typed operations inside the write transaction. A command handler gets a `WriteTx`,
//! reads the facts its decision needs, and appends the resulting events; `append` applies
//! every effect of those events (snapshot, read model, reservations, movements, outbox)
//! in the same transaction, so they all commit or none do.

use crate::error::StoreError;
use crate::queries::{
    PRODUCT_COLUMNS, finish_product, order_snapshot, product_by_sku, product_from_row,
};
use crate::rows::{
    IdempotencyRecord, InventoryRow, NewProduct, ProductPatch, ProductRow, StoredBody,
};
use crate::to_ms;
use jiff::Timestamp;
use orderly_domain::actor::{Actor, Role};
use orderly_domain::inventory::{MovementReason, StockLevel};
use orderly_domain::order::{Order, OrderEvent, Reservation, evolve, replay};
use orderly_domain::sourcing::StockView;
use orderly_domain::values::{Id, Sku};
use rusqlite::{Connection, OptionalExtension, params};

/// Who, when and under which request an event was recorded.
#[derive(Debug, Clone)]
pub struct EventMeta {
    pub actor: Actor,
    pub correlation_id: String,
    pub at: Timestamp,
}

pub struct WriteTx<'c> {
    conn: &'c Connection,
}

impl<'c> WriteTx<'c> {
    pub(crate) fn new(conn: &'c Connection) -> Self {
        WriteTx { conn }
    }

    pub fn find_idempotency(
        &self,
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
        Ok(
            row.map(|(request_hash, status_code, bytes, order_id, version)| {
                let body = match (order_id, version) {
                    (Some(order_id), Some(v)) => StoredBody::OrderAt {
                        order_id,
                        version: v.unsigned_abs(),
                    },
                    _ => StoredBody::Bytes(bytes),
                };
                IdempotencyRecord {
                    request_hash,
                    status_code,
                    body,
                }
            }),
        )
    }

    pub fn save_idempotency(
        &self,
        principal: &str,
        key: &str,
        record: &IdempotencyRecord,
        now: Timestamp,
        keep_ms: i64,
    ) -> Result<(), StoreError> {
        let (bytes, order_id, version): (&[u8], Option<&str>, Option<i64>) = match &record.body {
            StoredBody::Bytes(b) => (b, None, None),
            StoredBody::OrderAt { order_id, version } => {
                (&[], Some(order_id), Some(*version as i64))
            }
        };
        let mut stmt = self.conn.prepare_cached(
            "INSERT INTO idempotency_keys
               (principal, key, request_hash, status_code, body, order_id, order_version, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT (principal, key) DO UPDATE SET request_hash = excluded.request_hash,
               status_code = excluded.status_code, body = excluded.body, order_id = excluded.order_id,
               order_version = excluded.order_version, created_at = excluded.created_at,
               expires_at = excluded.expires_at",
        )?;
        stmt.execute(params![
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

    /// The order as it stood at `version` of its stream, folded from its events.
    pub fn order_at(&self, order_id: &str, version: u64) -> Result<Option<Order>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT data, at FROM events WHERE stream_id = ?1 AND version <= ?2 ORDER BY version",
        )?;
        let rows = stmt.query_map(params![order_id, version as i64], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
        })?;
        let mut events = Vec::new();
        for row in rows {
            let (data, at) = row?;
            events.push((
                serde_json::from_str::<OrderEvent>(&data)?,
                crate::from_ms(at)?,
            ));
        }
        replay(events.iter().map(|(e, at)| (e, *at)))
            .map_err(|e| StoreError::Corrupt(e.to_string()))
    }

    /// Deletes idempotency records past their expiry; returns how many.
    pub fn purge_idempotency(&self, now: Timestamp) -> Result<usize, StoreError> {
        Ok(self.conn.execute(
            "DELETE FROM idempotency_keys WHERE expires_at <= ?1",
            [to_ms(now)],
        )?)
    }

    pub fn order_id_by_external(
        &self,
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

    /// Loads an order's snapshot (never a replay) by id or human number.
    pub fn load_order(&self, id_or_number: &str) -> Result<Option<Order>, StoreError> {
        order_snapshot(self.conn, id_or_number)
    }

    /// Catalog facts for the given SKUs (missing SKUs are simply absent).
    pub fn products(&self, skus: &[Sku]) -> Result<Vec<ProductRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {PRODUCT_COLUMNS} FROM products WHERE sku = ?1"
        ))?;
        let mut out = Vec::with_capacity(skus.len());
        for sku in skus {
            if let Some(row) = stmt
                .query_row([sku.as_str()], product_from_row)
                .optional()?
            {
                out.push(finish_product(row)?);
            }
        }
        Ok(out)
    }

    /// Available units of each SKU at every location that stocks it.
    pub fn stock_view(&self, skus: &[Sku]) -> Result<StockView, StoreError> {
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

    /// The next human order number of a channel, e.g. `WEB-1001`.
    pub fn next_order_number(&self, channel: &str, prefix: &str) -> Result<String, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "INSERT INTO order_counters (channel, last_number) VALUES (?1, 1001)
             ON CONFLICT (channel) DO UPDATE SET last_number = last_number + 1
             RETURNING last_number",
        )?;
        let n: i64 = stmt.query_row([channel], |r| r.get(0))?;
        Ok(format!("{prefix}-{n}"))
    }

    /// Appends `events` to the order's stream after `before` (None for a new order),
    /// applies their effects and returns the new state.
    pub fn append(
        &self,
        before: Option<Order>,
        events: &[OrderEvent],
        meta: &EventMeta,
    ) -> Result<Order, StoreError> {
        let created = before.is_none();
        let mut state = before;
        let actor_json = serde_json::to_string(&meta.actor)?;
        let actor_label = meta.actor.label();
        let at = to_ms(meta.at);
        for event in events {
            let version = state.as_ref().map_or(0, |o| o.version) + 1;
            let next = evolve(state, event, meta.at, version)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let data = serde_json::to_string(event)?;
            let inserted = self
                .conn
                .prepare_cached(
                    "INSERT INTO events (stream_id, version, type, data, actor, correlation_id, at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )?
                .execute(params![
                    next.id.as_str(),
                    version as i64,
                    event.kind(),
                    data,
                    actor_json,
                    meta.correlation_id,
                    at
                ]);
            if let Err(e) = inserted {
                return Err(match StoreError::from(e) {
                    StoreError::Conflict(_) => {
                        StoreError::Conflict(format!("order {} changed concurrently", next.id))
                    }
                    other => other,
                });
            }
            self.project(event, &next, &actor_label, at)?;
            let payload = serde_json::json!({
                "order_id": next.id, "number": next.number, "type": event.kind(), "version": version,
            });
            self.conn
                .prepare_cached(
                    "INSERT INTO outbox (topic, stream_id, payload, created_at, available_at) VALUES (?1, ?2, ?3, ?4, ?4)",
                )?
                .execute(params![event.kind(), next.id.as_str(), payload.to_string(), at])?;
            state = Some(next);
        }
        let order = state.ok_or_else(|| {
            StoreError::Corrupt("append called without events for a new order".into())
        })?;
        self.save_read_model(&order, created)?;
        Ok(order)
    }

    fn save_read_model(&self, o: &Order, created: bool) -> Result<(), StoreError> {
        let snapshot = serde_json::to_string(o)?;
        let p = params![
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
            snapshot
        ];
        let sql = if created {
            "INSERT INTO orders (id, number, channel, external_id, customer_email, status, order_state, payment_state,
               fulfillment_state, return_state, currency, total_minor, created_at, updated_at, version, snapshot)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)"
        } else {
            "UPDATE orders SET number = ?2, channel = ?3, external_id = ?4, customer_email = ?5, status = ?6,
               order_state = ?7, payment_state = ?8, fulfillment_state = ?9, return_state = ?10, currency = ?11,
               total_minor = ?12, created_at = ?13, updated_at = ?14, version = ?15, snapshot = ?16
             WHERE id = ?1"
        };
        self.conn.prepare_cached(sql)?.execute(p)?;
        Ok(())
    }

    fn project(
        &self,
        event: &OrderEvent,
        order: &Order,
        actor: &str,
        at: i64,
    ) -> Result<(), StoreError> {
        let oid = order.id.as_str();
        match event {
            OrderEvent::OrderPlaced(_) => {}
            OrderEvent::OrderSourced(s) => {
                for r in &s.reservations {
                    let q = i64::from(r.quantity);
                    self.move_reserved(r, q, MovementReason::Reservation, oid, actor, at)?;
                    self.conn
                        .prepare_cached(
                            "INSERT INTO reservations (order_id, line_no, sku, location_id, quantity, status, created_at)
                             VALUES (?1, ?2, ?3, ?4, ?5, 'open', ?6)",
                        )?
                        .execute(params![oid, r.line_no, r.sku.as_str(), r.location_id.as_str(), q, at])?;
                }
                for b in &s.backorders {
                    self.conn
                        .prepare_cached(
                            "INSERT INTO backorders (order_id, line_no, sku, quantity, status, created_at)
                             VALUES (?1, ?2, ?3, ?4, 'open', ?5)",
                        )?
                        .execute(params![oid, b.line_no, b.sku.as_str(), b.quantity, at])?;
                }
            }
            OrderEvent::OrderCancelled(c) => {
                for r in &c.released {
                    let q = i64::from(r.quantity);
                    self.move_reserved(r, -q, MovementReason::Release, oid, actor, at)?;
                }
                self.conn
                    .prepare_cached("UPDATE reservations SET status = 'released', closed_at = ?2 WHERE order_id = ?1 AND status = 'open'")?
                    .execute(params![oid, at])?;
                self.conn
                    .prepare_cached("UPDATE backorders SET status = 'cancelled' WHERE order_id = ?1 AND status = 'open'")?
                    .execute([oid])?;
            }
        }
        Ok(())
    }

    /// Changes the reserved count of a reservation's stock by `delta`, guarded so that
    /// reserved stays within 0..=on_hand, and records the movement. A guard that fails
    /// on a reservation means the stock changed under the decision (retryable); on a
    /// release it means stored data disagree (corrupt).
    fn move_reserved(
        &self,
        r: &Reservation,
        delta: i64,
        reason: MovementReason,
        order_id: &str,
        actor: &str,
        at: i64,
    ) -> Result<(), StoreError> {
        let (sku, location) = (r.sku.as_str(), r.location_id.as_str());
        let level = self
            .conn
            .prepare_cached(
                "UPDATE inventory SET reserved = reserved + ?3, updated_at = ?4
                 WHERE sku = ?1 AND location_id = ?2 AND reserved + ?3 >= 0 AND reserved + ?3 <= on_hand
                 RETURNING on_hand, reserved",
            )?
            .query_row(params![sku, location, delta, at], |row| {
                Ok(StockLevel { on_hand: row.get(0)?, reserved: row.get(1)? })
            })
            .optional()?;
        let Some(level) = level else {
            return Err(if delta > 0 {
                StoreError::Conflict(format!(
                    "stock of {sku} at {location} changed under the decision"
                ))
            } else {
                StoreError::Corrupt(format!(
                    "release of {sku} at {location} exceeds what is reserved"
                ))
            });
        };
        self.movement(
            sku,
            location,
            reason,
            0,
            delta,
            level,
            Some(order_id),
            None,
            actor,
            at,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn movement(
        &self,
        sku: &str,
        location: &str,
        reason: MovementReason,
        delta_on_hand: i64,
        delta_reserved: i64,
        after: StockLevel,
        order_id: Option<&str>,
        note: Option<&str>,
        actor: &str,
        at: i64,
    ) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "INSERT INTO stock_movements (sku, location_id, reason, delta_on_hand, delta_reserved,
                   on_hand_after, reserved_after, order_id, note, actor, at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?
            .execute(params![
                sku,
                location,
                reason.as_str(),
                delta_on_hand,
                delta_reserved,
                after.on_hand,
                after.reserved,
                order_id,
                note,
                actor,
                at
            ])?;
        Ok(())
    }

    /// Creates a product; `Conflict` when the SKU exists.
    pub fn create_product(&self, p: &NewProduct, now: Timestamp) -> Result<ProductRow, StoreError> {
        let n = self.conn.execute(
            "INSERT INTO products (sku, name, price_minor, currency, weight_grams, category, returnable, active,
               created_at, updated_at, version)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, 1) ON CONFLICT (sku) DO NOTHING",
            params![p.sku, p.name, p.price_minor, p.currency, p.weight_grams, p.category, p.returnable, p.active, to_ms(now)],
        )?;
        if n == 0 {
            return Err(StoreError::Conflict(format!("product {} exists", p.sku)));
        }
        self.product(&p.sku)?
            .ok_or_else(|| StoreError::Corrupt("inserted product vanished".into()))
    }

    pub fn product(&self, sku: &str) -> Result<Option<ProductRow>, StoreError> {
        product_by_sku(self.conn, sku)
    }

    /// Applies `patch` when the product's version is `expected_version` (if given).
    /// Returns None when the SKU is unknown; `Conflict` on a stale version.
    pub fn update_product(
        &self,
        sku: &str,
        patch: &ProductPatch,
        expected_version: Option<i64>,
        now: Timestamp,
    ) -> Result<Option<ProductRow>, StoreError> {
        let Some(cur) = self.product(sku)? else {
            return Ok(None);
        };
        if let Some(v) = expected_version
            && v != cur.version
        {
            return Err(StoreError::Conflict(format!(
                "product {sku} is at version {}, not {v}",
                cur.version
            )));
        }
        self.conn.execute(
            "UPDATE products SET name = ?2, price_minor = ?3, currency = ?4, weight_grams = ?5, category = ?6,
               returnable = ?7, active = ?8, updated_at = ?9, version = version + 1 WHERE sku = ?1",
            params![
                sku,
                patch.name.as_ref().unwrap_or(&cur.name),
                patch.price_minor.unwrap_or(cur.price_minor),
                patch.currency.as_ref().unwrap_or(&cur.currency),
                patch.weight_grams.unwrap_or(cur.weight_grams),
                patch.category.clone().unwrap_or(cur.category),
                patch.returnable.unwrap_or(cur.returnable),
                patch.active.unwrap_or(cur.active),
                to_ms(now)
            ],
        )?;
        self.product(sku)
    }

    pub fn stock_level(&self, sku: &str, location: &str) -> Result<StockLevel, StoreError> {
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

    /// Changes on hand by `delta` (already decided against the current level) and records
    /// the movement. Creates the inventory record on first receipt.
    #[allow(clippy::too_many_arguments)]
    pub fn adjust_on_hand(
        &self,
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
        let row = self
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
        let level = StockLevel {
            on_hand: row.0,
            reserved: row.1,
        };
        self.movement(
            sku,
            location,
            reason,
            delta,
            0,
            level,
            None,
            note,
            &actor.label(),
            at,
        )?;
        Ok(InventoryRow {
            sku: sku.to_owned(),
            location_id: location.to_owned(),
            on_hand: row.0,
            reserved: row.1,
            bin: row.2,
            updated_at: now,
        })
    }

    pub fn insert_api_key(
        &self,
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
}
