//! `WriteTx` on PostgreSQL: the same primitives as SQLite, in PostgreSQL's dialect.

use super::statement::{StatementId, StatementSpec, Table, Target};
use super::{Column, Conn, NumberBlocks, StockMove, col, owned, sequence_name};
use crate::error::StoreError;
use crate::rows::{
    IdempotencyRecord, InventoryRow, NewProduct, OutboxRow, ProductPatch, ProductRow, StoredBody,
};
use crate::tx::{Movement, NewEvent, NewOrderFacts, ReservedMove, Velocity, WriteTx};
use crate::{from_ms, to_ms};
use jiff::Timestamp;
use orderly_domain::actor::{Actor, Role};
use orderly_domain::inventory::{MovementReason, StockLevel};
use orderly_domain::order::{Order, OrderEvent, Reservation};
use orderly_domain::sourcing::{Shortfall, StockView};
use orderly_domain::values::{Id, Sku};
use std::collections::BTreeMap;

pub(crate) struct PgTx<'a> {
    c: Conn<'a>,
    numbers: &'a NumberBlocks,
    /// Order numbers this run took (channel, number): given back if it does not commit.
    drawn: Vec<(String, i64)>,
    keys: KeyCheck,
    assumed_new_key: bool,
}

/// When a command learns whether its idempotency key was used before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyCheck {
    /// Looked up before the command runs (a round trip of its own).
    First,
    /// Assumed new: the key's row is inserted at COMMIT, where its unique index fails a
    /// key that is not, as a `Conflict`; the run after that looks it up first.
    AtCommit,
}

impl<'a> PgTx<'a> {
    pub(crate) fn conn(&self) -> &Conn<'a> {
        &self.c
    }
}

pub(crate) fn product_row(row: &tokio_postgres::Row) -> Result<ProductRow, StoreError> {
    Ok(ProductRow {
        sku: col(row, 0)?,
        name: col(row, 1)?,
        price_minor: col(row, 2)?,
        currency: col(row, 3)?,
        weight_grams: col(row, 4)?,
        category: col(row, 5)?,
        returnable: col(row, 6)?,
        active: col(row, 7)?,
        created_at: from_ms(col(row, 8)?)?,
        updated_at: from_ms(col(row, 9)?)?,
        version: col(row, 10)?,
        gtin: col(row, 11)?,
    })
}

const STOCK_SQL: &str =
    "SELECT sku, location_id, on_hand - reserved FROM inventory WHERE sku = ANY($1)";

fn stock_rows(rows: &[tokio_postgres::Row]) -> Result<StockView, StoreError> {
    let mut view = StockView::default();
    for r in rows {
        let sku: String = col(r, 0)?;
        let location: String = col(r, 1)?;
        let available: i64 = col(r, 2)?;
        let sku = Sku::parse(&sku).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        view.set(sku, Id::new(location), clamp_units(available));
    }
    Ok(view)
}

/// Available units as sourcing counts them (never below zero).
fn clamp_units(available: i64) -> u32 {
    u32::try_from(available.max(0)).unwrap_or(u32::MAX)
}

pub(crate) fn product_by_sku(c: &Conn<'_>, sku: &str) -> Result<Option<ProductRow>, StoreError> {
    let sql = product_select!("WHERE sku = $1");
    c.query_opt(sql, &[&sku])?
        .map(|r| product_row(&r))
        .transpose()
}

pub(crate) fn order_snapshot(
    c: &Conn<'_>,
    id_or_number: &str,
) -> Result<Option<Order>, StoreError> {
    let row = c.query_opt(
        "SELECT snapshot FROM orders WHERE id = $1 OR number = $1",
        &[&id_or_number],
    )?;
    row.map(|r| Ok(serde_json::from_str(&col::<String>(&r, 0)?)?))
        .transpose()
}

impl<'a> PgTx<'a> {
    pub(crate) fn new(c: Conn<'a>, numbers: &'a NumberBlocks, keys: KeyCheck) -> Self {
        PgTx {
            c,
            numbers,
            drawn: Vec::new(),
            keys,
            assumed_new_key: false,
        }
    }

    /// The order numbers this run took, which are free again when it does not commit.
    pub(crate) fn drawn_numbers(&mut self) -> Vec<(String, i64)> {
        std::mem::take(&mut self.drawn)
    }

    /// Whether this run took an idempotency key for new without looking it up.
    pub(crate) fn assumed_new_key(&self) -> bool {
        self.assumed_new_key
    }

    pub(crate) fn into_conn(self) -> Conn<'a> {
        self.c
    }

    /// Queues stock movement rows, sent as one multi-row insert.
    fn movements<'m>(&self, ms: &[Movement<'m>]) {
        let text = |f: fn(&Movement<'m>) -> &'m str| {
            owned(ms.iter().map(|m| f(m).to_owned()).collect::<Vec<_>>())
        };
        let opt = |f: fn(&Movement<'m>) -> Option<&'m str>| {
            owned(
                ms.iter()
                    .map(|m| f(m).map(str::to_owned))
                    .collect::<Vec<Option<String>>>(),
            )
        };
        let int = |f: fn(&Movement<'m>) -> i64| owned(ms.iter().map(f).collect::<Vec<_>>());
        self.c.defer(
            &INSERT_MOVEMENTS,
            vec![
                text(|m| m.sku),
                text(|m| m.location),
                text(|m| m.reason.as_str()),
                int(|m| m.delta_on_hand),
                int(|m| m.delta_reserved),
                int(|m| m.after.on_hand),
                int(|m| m.after.reserved),
                opt(|m| m.order_id),
                opt(|m| m.note),
                text(|m| m.actor),
                int(|m| m.at),
            ],
        );
    }
}

impl WriteTx for PgTx<'_> {
    fn find_idempotency(
        &mut self,
        principal: &str,
        key: &str,
        now: Timestamp,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        // On a first run the key is taken for new, which saves this lookup (a statement
        // and a round trip). A key that was used fails `save_idempotency`'s INSERT at
        // COMMIT, or the command refuses; either way `PgStore::write` runs it again,
        // looking the key up first this time.
        if self.keys == KeyCheck::AtCommit {
            self.assumed_new_key = true;
            return Ok(None);
        }
        // An expired record that the hourly purge has not reached yet frees its key here
        // (sent in the same round trip), so `save_idempotency` can stay a plain INSERT
        // whose unique violation means "another request holds this key right now".
        self.c.defer(
            &DELETE_EXPIRED_KEY,
            vec![
                owned(principal.to_owned()),
                owned(key.to_owned()),
                owned(to_ms(now)),
            ],
        );
        let row = self.c.query_opt(
            "SELECT request_hash, status_code, body, order_id, order_version FROM idempotency_keys
             WHERE principal = $1 AND key = $2 AND expires_at > $3",
            &[&principal, &key, &to_ms(now)],
        )?;
        row.map(|r| {
            let status: i64 = col(&r, 1)?;
            Ok(IdempotencyRecord {
                request_hash: col(&r, 0)?,
                status_code: u16::try_from(status)
                    .map_err(|_| StoreError::Corrupt(format!("status {status}")))?,
                body: StoredBody::from_columns(col(&r, 2)?, col(&r, 3)?, col(&r, 4)?),
            })
        })
        .transpose()
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
        // A plain INSERT: when another process stored the same key first, the unique
        // violation makes this command lose the race and replay the winner's answer.
        self.c.defer_columns(
            &INSERT_KEY,
            vec![
                Column::Text(vec![principal.to_owned()]),
                Column::Text(vec![key.to_owned()]),
                Column::Text(vec![record.request_hash.clone()]),
                Column::Int(vec![i64::from(record.status_code)]),
                Column::Bytes(vec![bytes.to_vec()]),
                Column::OptText(vec![order_id.map(str::to_owned)]),
                Column::OptInt(vec![version]),
                Column::Int(vec![to_ms(now)]),
                Column::Int(vec![to_ms(now) + keep_ms]),
            ],
        );
        Ok(())
    }

    fn purge_idempotency(&mut self, now: Timestamp) -> Result<usize, StoreError> {
        let n = self.c.execute(
            "DELETE FROM idempotency_keys WHERE expires_at <= $1",
            &[&to_ms(now)],
        )?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    fn order_id_by_external(
        &mut self,
        channel: &str,
        external_id: &str,
    ) -> Result<Option<String>, StoreError> {
        let row = self.c.query_opt(
            "SELECT id FROM orders WHERE channel = $1 AND external_id = $2",
            &[&channel, &external_id],
        )?;
        row.map(|r| col(&r, 0)).transpose()
    }

    fn load_order(&mut self, id_or_number: &str) -> Result<Option<Order>, StoreError> {
        order_snapshot(&self.c, id_or_number)
    }

    fn stream(
        &mut self,
        order_id: &str,
        up_to_version: u64,
    ) -> Result<Vec<(OrderEvent, Timestamp)>, StoreError> {
        let rows = self.c.query(
            "SELECT data, at FROM events WHERE stream_id = $1 AND version <= $2 ORDER BY version",
            &[&order_id, &(up_to_version as i64)],
        )?;
        rows.iter()
            .map(|r| {
                Ok((
                    serde_json::from_str(&col::<String>(r, 0)?)?,
                    from_ms(col(r, 1)?)?,
                ))
            })
            .collect()
    }

    fn next_order_number(&mut self, channel: &str, prefix: &str) -> Result<String, StoreError> {
        let n = match self.numbers.take(channel) {
            Some(n) => n,
            None => {
                let sequence = sequence_name(channel);
                let row = self
                    .c
                    .query_opt("SELECT nextval($1::text::regclass)", &[&sequence])?
                    .ok_or_else(|| StoreError::Corrupt("nextval returned nothing".into()))?;
                self.numbers.start(channel, col(&row, 0)?)
            }
        };
        self.drawn.push((channel.to_owned(), n));
        Ok(format!("{prefix}-{n}"))
    }

    fn product(&mut self, sku: &str) -> Result<Option<ProductRow>, StoreError> {
        product_by_sku(&self.c, sku)
    }

    fn sku_by_gtin(&mut self, gtin: &str) -> Result<Option<String>, StoreError> {
        self.c
            .query_opt("SELECT sku FROM products WHERE gtin = $1", &[&gtin])?
            .map(|r| col(&r, 0))
            .transpose()
    }

    fn create_product(&mut self, p: &NewProduct, now: Timestamp) -> Result<ProductRow, StoreError> {
        let n = self.c.execute(
            "INSERT INTO products (sku, name, price_minor, currency, weight_grams, category, returnable, active,
               created_at, updated_at, version, gtin)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, 1, $10) ON CONFLICT (sku) DO NOTHING",
            &[&p.sku, &p.name, &p.price_minor, &p.currency, &p.weight_grams, &p.category, &p.returnable, &p.active, &to_ms(now), &p.gtin],
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
        let sql = product_select!("WHERE sku = $1 FOR UPDATE");
        let Some(cur) = self
            .c
            .query_opt(sql, &[&sku])?
            .map(|r| product_row(&r))
            .transpose()?
        else {
            return Ok(None);
        };
        let next = patch.apply(cur, expected_version)?;
        self.c.execute(
            "UPDATE products SET name = $2, price_minor = $3, currency = $4, weight_grams = $5, category = $6,
               returnable = $7, active = $8, updated_at = $9, gtin = $10, version = version + 1 WHERE sku = $1",
            &[
                &sku,
                &next.name,
                &next.price_minor,
                &next.currency,
                &next.weight_grams,
                &next.category,
                &next.returnable,
                &next.active,
                &to_ms(now),
                &next.gtin,
            ],
        )?;
        self.product(sku)
    }

    fn stock_view(&mut self, skus: &[Sku]) -> Result<StockView, StoreError> {
        let names: Vec<&str> = skus.iter().map(Sku::as_str).collect();
        stock_rows(&self.c.query(STOCK_SQL, &[&names])?)
    }

    /// Every fact in one statement: each product row joined with its stock, and the
    /// order already captured under the external id and the velocity counts alongside.
    fn new_order_facts(
        &mut self,
        channel: &str,
        external_id: Option<&str>,
        skus: &[Sku],
        velocity: Velocity<'_>,
    ) -> Result<NewOrderFacts, StoreError> {
        let names: Vec<&str> = skus.iter().map(Sku::as_str).collect();
        let rows = self.c.query(
            // The product columns first, as `product_row` reads them.
            concat!(
                "SELECT p.*, i.location_id, i.on_hand - i.reserved, f.existing, f.by_email, f.by_card
                 FROM (SELECT
                   (SELECT snapshot FROM orders WHERE channel = $1 AND external_id = $2) AS existing,
                   (SELECT count(*) FROM orders WHERE customer_email = $4 AND created_at >= $5) AS by_email,
                   CASE WHEN $6::text IS NULL THEN 0 ELSE
                     (SELECT count(*) FROM payment_fingerprints WHERE fingerprint = $6 AND created_at >= $5)
                   END AS by_card) f
                 LEFT JOIN (",
                product_select!("WHERE sku = ANY($3)"),
                ") p ON TRUE
                 LEFT JOIN inventory i ON i.sku = p.sku"
            ),
            &[
                &channel,
                &external_id,
                &names,
                &velocity.email,
                &to_ms(velocity.since),
                &velocity.fingerprint,
            ],
        )?;
        let first = rows
            .first()
            .ok_or_else(|| StoreError::Corrupt("order facts returned no row".into()))?;
        let existing: Option<String> = col(first, 14)?;
        let velocity_count = |i: usize| -> Result<u32, StoreError> {
            let n: i64 = col(first, i)?;
            Ok(u32::try_from(n).unwrap_or(u32::MAX))
        };
        // A product comes once per location that stocks it (rows in no particular order).
        let mut products: BTreeMap<String, ProductRow> = BTreeMap::new();
        let mut stock = StockView::default();
        for row in &rows {
            let Some(sku) = col::<Option<String>>(row, 0)? else {
                continue;
            };
            if !products.contains_key(&sku) {
                products.insert(sku.clone(), product_row(row)?);
            }
            if let Some(location) = col::<Option<String>>(row, 12)? {
                let available: i64 = col(row, 13)?;
                let sku = Sku::parse(&sku).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                stock.set(sku, Id::new(location), clamp_units(available));
            }
        }
        Ok(NewOrderFacts {
            existing: existing.map(|s| serde_json::from_str(&s)).transpose()?,
            products: products.into_values().collect(),
            stock,
            recent_orders_same_email: velocity_count(15)?,
            recent_orders_same_card: velocity_count(16)?,
        })
    }

    fn stock_level(&mut self, sku: &str, location: &str) -> Result<StockLevel, StoreError> {
        // FOR UPDATE: an adjustment decides against this level, so no one may change it
        // until this transaction ends.
        let row = self.c.query_opt(
            "SELECT on_hand, reserved FROM inventory WHERE sku = $1 AND location_id = $2 FOR UPDATE",
            &[&sku, &location],
        )?;
        row.map(|r| {
            Ok(StockLevel {
                on_hand: col(&r, 0)?,
                reserved: col(&r, 1)?,
            })
        })
        .transpose()
        .map(Option::unwrap_or_default)
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
        let row = self
            .c
            .query_opt(
                "INSERT INTO inventory (sku, location_id, on_hand, reserved, bin, updated_at)
                 VALUES ($1, $2, GREATEST($3::bigint, 0), 0, $4, $5)
                 ON CONFLICT (sku, location_id) DO UPDATE SET on_hand = inventory.on_hand + $3,
                   bin = COALESCE(EXCLUDED.bin, inventory.bin), updated_at = EXCLUDED.updated_at
                 RETURNING on_hand, reserved, bin",
                &[&sku, &location, &delta, &bin, &at],
            )?
            .ok_or_else(|| StoreError::Corrupt("upsert returned nothing".into()))?;
        let (on_hand, reserved, bin): (i64, i64, Option<String>) =
            (col(&row, 0)?, col(&row, 1)?, col(&row, 2)?);
        let actor = actor.label();
        self.movements(&[Movement {
            sku,
            location,
            reason,
            delta_on_hand: delta,
            delta_reserved: 0,
            after: StockLevel { on_hand, reserved },
            order_id: None,
            note,
            actor: &actor,
            at,
        }]);
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
        self.c.execute(
            "INSERT INTO api_keys (id, name, role, key_hash, created_at) VALUES ($1, $2, $3, $4, $5)",
            &[&id, &name, &role.as_str(), &key_hash, &to_ms(now)],
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
        let rows = self.c.query(
            "UPDATE outbox SET claimed_by = $1, claimed_until = $3, attempts = attempts + 1
             WHERE id IN (SELECT id FROM outbox
                          WHERE delivered_at IS NULL AND available_at <= $2
                            AND (claimed_until IS NULL OR claimed_until < $2)
                          ORDER BY id LIMIT $4
                          FOR UPDATE SKIP LOCKED)
             RETURNING id, topic, stream_id, payload, attempts",
            &[&worker, &to_ms(now), &to_ms(lease_until), &i64::from(limit)],
        )?;
        let mut out: Vec<OutboxRow> = rows
            .iter()
            .map(|r| {
                Ok(OutboxRow {
                    id: col(r, 0)?,
                    topic: col(r, 1)?,
                    stream_id: col(r, 2)?,
                    payload: col(r, 3)?,
                    attempts: col(r, 4)?,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        out.sort_by_key(|r| r.id);
        Ok(out)
    }

    fn complete_outbox(
        &mut self,
        worker: &str,
        ids: &[i64],
        now: Timestamp,
    ) -> Result<usize, StoreError> {
        let n = self.c.execute(
            "UPDATE outbox SET delivered_at = $3 WHERE id = ANY($2) AND claimed_by = $1 AND delivered_at IS NULL",
            &[&worker, &ids, &to_ms(now)],
        )?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    fn insert_events<'e>(&mut self, events: &[NewEvent<'e>]) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        let text = |f: fn(&NewEvent<'e>) -> &'e str| {
            Column::Text(events.iter().map(|e| f(e).to_owned()).collect())
        };
        // A concurrent append of the same version fails on the unique (stream, version)
        // index when this is sent: `Conflict`, and the command runs again.
        self.c.defer_columns(
            &INSERT_EVENTS,
            vec![
                text(|e| e.stream_id),
                Column::Int(events.iter().map(|e| e.version as i64).collect()),
                text(|e| e.kind),
                text(|e| e.data),
                text(|e| e.actor),
                text(|e| e.correlation_id),
                Column::Int(events.iter().map(|e| to_ms(e.at)).collect()),
            ],
        );
        Ok(())
    }

    fn move_reserved(&mut self, moves: &[ReservedMove<'_>]) -> Result<(), StoreError> {
        if moves.is_empty() {
            return Ok(());
        }
        // One statement, deferred (sent with the rest of the transaction, no round trip of
        // its own), so a hot inventory row stays locked only until the pipelined COMMIT
        // rather than across a trip to the client and back. The stock guard is the table's
        // CHECK (0 <= reserved <= on_hand): a violation is a `Conflict`, and the command
        // runs again on fresh facts. Rows are locked in (SKU, location) order, the same in
        // every transaction, so orders reserving the same stock queue instead of
        // deadlocking. (Every (SKU, location) has a row: the decision reserves only stock
        // it read, and rows are never deleted; `orderly check` would name a reservation
        // without one.) See `batch::stock_columns` for how the levels are worked out.
        self.c.defer_stock(
            moves
                .iter()
                .map(|m| StockMove {
                    sku: m.reservation.sku.to_string(),
                    location: m.reservation.location_id.to_string(),
                    reason: m.reason.as_str(),
                    delta: m.delta,
                    delta_on_hand: m.delta_on_hand,
                    order_id: m.order_id.to_owned(),
                    actor: m.actor.to_owned(),
                    at: to_ms(m.at),
                })
                .collect(),
        );
        Ok(())
    }

    fn insert_reservations(
        &mut self,
        order_id: &str,
        rs: &[Reservation],
        at: Timestamp,
    ) -> Result<(), StoreError> {
        if rs.is_empty() {
            return Ok(());
        }
        self.c.defer_columns(
            &INSERT_RESERVATIONS,
            vec![
                Column::Text(vec![order_id.to_owned(); rs.len()]),
                Column::Int(rs.iter().map(|r| i64::from(r.line_no)).collect()),
                Column::Text(rs.iter().map(|r| r.sku.to_string()).collect()),
                Column::Text(rs.iter().map(|r| r.location_id.to_string()).collect()),
                Column::Int(rs.iter().map(|r| i64::from(r.quantity)).collect()),
                Column::Int(vec![to_ms(at); rs.len()]),
            ],
        );
        Ok(())
    }

    fn close_reservations(&mut self, order_id: &str, at: Timestamp) -> Result<(), StoreError> {
        self.c.defer(
            &CLOSE_RESERVATIONS,
            vec![owned(order_id.to_owned()), owned(to_ms(at))],
        );
        Ok(())
    }

    fn insert_backorder(
        &mut self,
        order_id: &str,
        b: &Shortfall,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        self.c.defer(
            &INSERT_BACKORDER,
            vec![
                owned(order_id.to_owned()),
                owned(i64::from(b.line_no)),
                owned(b.sku.to_string()),
                owned(i64::from(b.quantity)),
                owned(to_ms(at)),
            ],
        );
        Ok(())
    }

    fn cancel_backorders(&mut self, order_id: &str) -> Result<(), StoreError> {
        self.c
            .defer(&CANCEL_BACKORDERS, vec![owned(order_id.to_owned())]);
        Ok(())
    }

    fn enqueue_outbox(
        &mut self,
        messages: &[(&str, &str, String)],
        at: Timestamp,
    ) -> Result<(), StoreError> {
        if messages.is_empty() {
            return Ok(());
        }
        self.c.defer_columns(
            &INSERT_OUTBOX,
            vec![
                Column::Text(messages.iter().map(|m| m.0.to_owned()).collect()),
                Column::Text(messages.iter().map(|m| m.1.to_owned()).collect()),
                Column::Text(messages.iter().map(|m| m.2.clone()).collect()),
                Column::Int(vec![to_ms(at); messages.len()]),
            ],
        );
        Ok(())
    }

    fn save_read_model(
        &mut self,
        o: &Order,
        snapshot: &str,
        created: bool,
    ) -> Result<(), StoreError> {
        let text = |t: String| Column::Text(vec![t]);
        let int = |n: i64| Column::Int(vec![n]);
        // One row, $1 to $19 in the order of both statements' columns.
        let row = vec![
            text(o.id.to_string()),
            text(o.number.clone()),
            text(o.channel.to_string()),
            Column::OptText(vec![o.external_id.clone()]),
            text(o.customer.email.to_string()),
            text(o.customer_status().as_str().to_owned()),
            text(o.state.as_str().to_owned()),
            text(o.payment_state().as_str().to_owned()),
            text(o.fulfillment_summary().as_str().to_owned()),
            text(o.return_summary().as_str().to_owned()),
            text(o.currency.to_string()),
            int(o.total()),
            int(to_ms(o.created_at)),
            int(to_ms(o.updated_at)),
            int(o.version as i64),
            text(snapshot.to_owned()),
            text(o.refund_state().as_str().to_owned()),
            int(i64::from(o.on_hold())),
            text(crate::read::search_text(o)),
        ];
        // Rows, so that the write may join other commands' (see `batch`); a later save of
        // the same order in one command replaces the earlier.
        if created {
            self.c.defer_columns(&INSERT_ORDER, row);
        } else {
            self.c.defer_columns(&UPDATE_ORDER, row);
        }
        Ok(())
    }
}

// The statements deferred above, with what each declares (see `statement`).

/// Stock movement rows of an adjustment (given as values: an adjustment commits alone).
pub(super) const INSERT_MOVEMENTS: StatementSpec = StatementSpec::write(
    StatementId::InsertMovements,
    Target::other(Table::StockMovements),
    "INSERT INTO stock_movements (sku, location_id, reason, delta_on_hand, delta_reserved,
               on_hand_after, reserved_after, order_id, note, actor, at)
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[],
               $7::bigint[], $8::text[], $9::text[], $10::text[], $11::bigint[])",
);

/// Frees an expired key the hourly purge has not reached yet.
pub(super) const DELETE_EXPIRED_KEY: StatementSpec = StatementSpec::write(
    StatementId::DeleteExpiredKey,
    Target::other(Table::IdempotencyKeys),
    "DELETE FROM idempotency_keys WHERE principal = $1 AND key = $2 AND expires_at <= $3",
);

/// A key's first answer: rows, so that it joins the command's statement (and others').
pub(super) const INSERT_KEY: StatementSpec = StatementSpec::write(
    StatementId::InsertKey,
    Target::rows(Table::IdempotencyKeys),
    "INSERT INTO idempotency_keys
               (principal, key, request_hash, status_code, body, order_id, order_version, created_at, expires_at)
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bytea[], $6::text[],
               $7::bigint[], $8::bigint[], $9::bigint[])",
);

/// An append's events: rows, joined with other commands' appends.
pub(super) const INSERT_EVENTS: StatementSpec = StatementSpec::write(
    StatementId::InsertEvents,
    Target::rows(Table::Events),
    "INSERT INTO events (stream_id, version, type, data, actor, correlation_id, at)
             SELECT * FROM UNNEST($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[])",
);

/// An order's open reservations: rows.
pub(super) const INSERT_RESERVATIONS: StatementSpec = StatementSpec::write(
    StatementId::InsertReservations,
    Target::rows(Table::Reservations),
    "INSERT INTO reservations (order_id, line_no, sku, location_id, quantity, status, created_at)
             SELECT u.order_id, u.line_no, u.sku, u.location_id, u.quantity, 'open', u.created_at
             FROM UNNEST($1::text[], $2::bigint[], $3::text[], $4::text[], $5::bigint[], $6::bigint[])
               AS u(order_id, line_no, sku, location_id, quantity, created_at)",
);

/// Releases every open reservation of an order.
pub(super) const CLOSE_RESERVATIONS: StatementSpec = StatementSpec::write(
    StatementId::CloseReservations,
    Target::other(Table::Reservations),
    "UPDATE reservations SET status = 'released', closed_at = $2
             WHERE order_id = $1 AND status = 'open'",
);

/// One line's units waiting for stock.
pub(super) const INSERT_BACKORDER: StatementSpec = StatementSpec::write(
    StatementId::InsertBackorder,
    Target::other(Table::Backorders),
    "INSERT INTO backorders (order_id, line_no, sku, quantity, status, created_at)
             VALUES ($1, $2, $3, $4, 'open', $5)",
);

/// Cancels an order's open backorders.
pub(super) const CANCEL_BACKORDERS: StatementSpec = StatementSpec::write(
    StatementId::CancelBackorders,
    Target::other(Table::Backorders),
    "UPDATE backorders SET status = 'cancelled' WHERE order_id = $1 AND status = 'open'",
);

/// An append's outbox message: rows.
pub(super) const INSERT_OUTBOX: StatementSpec = StatementSpec::write(
    StatementId::InsertOutbox,
    Target::rows(Table::Outbox),
    "INSERT INTO outbox (topic, stream_id, payload, created_at, available_at)
             SELECT u.topic, u.stream_id, u.payload, u.at, u.at
             FROM UNNEST($1::text[], $2::text[], $3::text[], $4::bigint[]) AS u(topic, stream_id, payload, at)",
);

/// A new order's read-model row and snapshot: rows.
pub(super) const INSERT_ORDER: StatementSpec = StatementSpec::write(
    StatementId::InsertOrder,
    Target::rows(Table::Orders),
    "INSERT INTO orders (id, number, channel, external_id, customer_email, status, order_state,
                   payment_state, fulfillment_state, return_state, currency, total_minor, created_at, updated_at,
                   version, snapshot, refund_state, on_hold, search_text)
                 SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                   $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::bigint[], $13::bigint[],
                   $14::bigint[], $15::bigint[], $16::text[], $17::text[], $18::bigint[], $19::text[])",
);

/// An order's read-model row and snapshot, changed. Keyed by id; it sets every column it
/// carries, so a later save of the same order in one command replaces the earlier.
pub(super) const UPDATE_ORDER: StatementSpec = StatementSpec::write(
    StatementId::UpdateOrder,
    Target::keyed(Table::Orders, 1, true),
    "UPDATE orders o SET number = u.number, channel = u.channel, external_id = u.external_id,
                   customer_email = u.customer_email, status = u.status, order_state = u.order_state,
                   payment_state = u.payment_state, fulfillment_state = u.fulfillment_state,
                   return_state = u.return_state, currency = u.currency, total_minor = u.total_minor,
                   created_at = u.created_at, updated_at = u.updated_at, version = u.version, snapshot = u.snapshot,
                   refund_state = u.refund_state, on_hold = u.on_hold, search_text = u.search_text
                 FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                   $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::bigint[], $13::bigint[],
                   $14::bigint[], $15::bigint[], $16::text[], $17::text[], $18::bigint[], $19::text[])
                   AS u(id, number, channel, external_id, customer_email, status, order_state, payment_state,
                        fulfillment_state, return_state, currency, total_minor, created_at, updated_at,
                        version, snapshot, refund_state, on_hold, search_text)
                 WHERE o.id = u.id",
);
