//! The write capabilities on PostgreSQL: the same primitives as SQLite, in PostgreSQL's
//! dialect, with writes deferred where nothing reads their result (see `Conn`). This file
//! holds the transaction handle and the order streams; `inventory`, `catalog`, `work` and
//! `fulfillment` hold the other capabilities. Each deferred statement is declared beside
//! the code that queues it (see `statement`).

use super::catalog::product_row;
use super::inventory::clamp_units;
use super::statement::{StatementId, StatementSpec, Table, Target};
use super::work::count;
use super::{Column, Conn, NumberBlocks, col, owned, sequence_name};
use crate::error::StoreError;
use crate::rows::{IdempotencyRecord, ProductRow, StoredBody};
use crate::tx::{NewEvent, NewOrderFacts, OrderEvents, Velocity, WriteTx};
use crate::{from_ms, to_ms};
use jiff::Timestamp;
use orderly_domain::kpi::KpiRules;
use orderly_domain::order::{Order, OrderEvent};
use orderly_domain::sourcing::StockView;
use orderly_domain::values::{Id, Sku};
use std::collections::BTreeMap;

const EMAIL_VELOCITY_SQL: &str =
    "SELECT count(*) FROM orders WHERE customer_email = $1 AND created_at >= $2";

pub(crate) struct PgTx<'a> {
    c: Conn<'a>,
    numbers: &'a NumberBlocks,
    kpi: &'a KpiRules,
    /// The KPI counter rows of this run, added after it commits (see `kpi`).
    pub(super) kpi_rows: crate::kpi::KpiRows,
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
    pub(crate) fn new(c: Conn<'a>, parts: super::TxParts<'a>) -> Self {
        PgTx {
            c,
            numbers: parts.numbers,
            kpi: parts.kpi,
            kpi_rows: crate::kpi::KpiRows::new(),
            drawn: Vec::new(),
            keys: parts.keys,
            assumed_new_key: false,
        }
    }

    pub(crate) fn kpi(&self) -> &'a KpiRules {
        self.kpi
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
}

impl OrderEvents for PgTx<'_> {
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

    fn repoint_idempotency(
        &mut self,
        principal: &str,
        key: &str,
        order_id: &str,
        version: u64,
        status_code: u16,
    ) -> Result<(), StoreError> {
        // Keyed by (principal, key), so that it may join other commands' writes.
        self.conn().defer_columns(
            &REPOINT_KEY,
            vec![
                Column::Text(vec![principal.to_owned()]),
                Column::Text(vec![key.to_owned()]),
                Column::Text(vec![order_id.to_owned()]),
                Column::Int(vec![version as i64]),
                Column::Int(vec![i64::from(status_code)]),
            ],
        );
        Ok(())
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

    fn orders_by_email_since(&mut self, email: &str, since: Timestamp) -> Result<u32, StoreError> {
        count(
            &self
                .conn()
                .query(EMAIL_VELOCITY_SQL, &[&email, &to_ms(since)])?,
        )
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
                Column::Text(
                    events
                        .iter()
                        .map(|e| e.stream_type.as_str().to_owned())
                        .collect(),
                ),
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

impl WriteTx for PgTx<'_> {
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
}

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

/// Points a key's answer at a later version of its order. Keyed by (principal, key); it
/// sets every column it carries, so a later repoint replaces an earlier one.
pub(super) const REPOINT_KEY: StatementSpec = StatementSpec::write(
    StatementId::RepointKey,
    Target::keyed(Table::IdempotencyKeys, 2, true),
    "UPDATE idempotency_keys k
             SET order_version = u.order_version, status_code = u.status_code
             FROM UNNEST($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[])
               AS u(principal, key, order_id, order_version, status_code)
             WHERE k.principal = u.principal AND k.key = u.key AND k.order_id = u.order_id",
);

/// An append's events: rows, joined with other commands' appends.
pub(super) const INSERT_EVENTS: StatementSpec = StatementSpec::write(
    StatementId::InsertEvents,
    Target::rows(Table::Events),
    "INSERT INTO events (stream_id, version, type, data, actor, correlation_id, at, stream_type)
             SELECT * FROM UNNEST($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[],
               $8::text[])",
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
