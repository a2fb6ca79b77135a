//! `WorkTx` on PostgreSQL. Claims skip rows another process holds (`FOR UPDATE SKIP
//! LOCKED`); store credit moves with a guarded update, so two redemptions racing from two
//! processes cannot both spend the same balance.

use super::read::exception_row;
use super::statement::{StatementId, StatementSpec, Table, Target};
use super::write::PgTx;
use super::{Column, col, owned};
use crate::error::StoreError;
use crate::rows::ExceptionRow;
use crate::work::{
    CreditChange, FulfillmentRow, NewException, NewTimer, ParkedEvent, ShipmentRow, TimerRow,
    WorkTx,
};
use crate::{from_ms, to_ms};
use jiff::Timestamp;

pub(crate) const EMAIL_VELOCITY_SQL: &str =
    "SELECT count(*) FROM orders WHERE customer_email = $1 AND created_at >= $2";
pub(crate) const CARD_VELOCITY_SQL: &str =
    "SELECT count(*) FROM payment_fingerprints WHERE fingerprint = $1 AND created_at >= $2";

/// The number a `count(*)` query answered.
pub(crate) fn count(rows: &[tokio_postgres::Row]) -> Result<u32, StoreError> {
    let n: i64 = match rows.first() {
        Some(r) => col(r, 0)?,
        None => 0,
    };
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}

impl WorkTx for PgTx<'_> {
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

    fn schedule_timers(&mut self, timers: &[NewTimer<'_>]) -> Result<(), StoreError> {
        if timers.is_empty() {
            return Ok(());
        }
        // Deferred: sent with the transaction's next statement, never a round trip of its
        // own (it comes after the stock update, whose row locks last until COMMIT).
        let text = |f: fn(&NewTimer<'_>) -> String| Column::Text(timers.iter().map(f).collect());
        self.conn().defer_columns(
            &INSERT_TIMERS,
            vec![
                text(|t| t.order_id.to_owned()),
                text(|t| t.kind.to_owned()),
                text(|t| t.ref_id.to_owned()),
                Column::Int(timers.iter().map(|t| to_ms(t.due_at)).collect()),
            ],
        );
        Ok(())
    }

    fn claim_timers(
        &mut self,
        worker: &str,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<TimerRow>, StoreError> {
        let rows = self.conn().query(
            "UPDATE timers SET claimed_by = $1, claimed_until = $3, attempts = attempts + 1
             WHERE id IN (SELECT id FROM timers
                          WHERE fired_at IS NULL AND due_at <= $2
                            AND (claimed_until IS NULL OR claimed_until < $2)
                          ORDER BY due_at, id LIMIT $4
                          FOR UPDATE SKIP LOCKED)
             RETURNING id, order_id, kind, ref_id, due_at, attempts",
            &[&worker, &to_ms(now), &to_ms(lease_until), &i64::from(limit)],
        )?;
        let mut out = rows
            .iter()
            .map(|r| {
                Ok(TimerRow {
                    id: col(r, 0)?,
                    order_id: col(r, 1)?,
                    kind: col(r, 2)?,
                    ref_id: col(r, 3)?,
                    due_at: from_ms(col(r, 4)?)?,
                    attempts: col(r, 5)?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        out.sort_by_key(|t| (t.due_at, t.id));
        Ok(out)
    }

    fn complete_timer(&mut self, id: i64, now: Timestamp) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE timers SET fired_at = $2 WHERE id = $1",
            &[&id, &to_ms(now)],
        )?;
        Ok(())
    }

    fn reschedule_timer(&mut self, id: i64, due_at: Timestamp) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE timers SET due_at = $2, claimed_by = NULL, claimed_until = NULL WHERE id = $1",
            &[&id, &to_ms(due_at)],
        )?;
        Ok(())
    }

    fn record_provider_event(
        &mut self,
        provider: &str,
        event_id: &str,
        order_id: Option<&str>,
        status: &str,
        payload: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let n = self.conn().execute(
            "INSERT INTO provider_events (provider, event_id, order_id, status, payload, received_at)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
            &[&provider, &event_id, &order_id, &status, &payload, &to_ms(now)],
        )?;
        Ok(n == 1)
    }

    fn parked_provider_events(&mut self, order_id: &str) -> Result<Vec<ParkedEvent>, StoreError> {
        let rows = self.conn().query(
            "SELECT provider, event_id, payload FROM provider_events
             WHERE order_id = $1 AND status = 'parked' ORDER BY received_at, event_id",
            &[&order_id],
        )?;
        rows.iter()
            .map(|r| {
                Ok(ParkedEvent {
                    provider: col(r, 0)?,
                    event_id: col(r, 1)?,
                    payload: col(r, 2)?,
                })
            })
            .collect()
    }

    fn set_provider_event_status(
        &mut self,
        provider: &str,
        event_id: &str,
        status: &str,
    ) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE provider_events SET status = $3 WHERE provider = $1 AND event_id = $2",
            &[&provider, &event_id, &status],
        )?;
        Ok(())
    }

    fn orders_by_email_since(&mut self, email: &str, since: Timestamp) -> Result<u32, StoreError> {
        count(
            &self
                .conn()
                .query(EMAIL_VELOCITY_SQL, &[&email, &to_ms(since)])?,
        )
    }

    fn record_fingerprint(
        &mut self,
        fingerprint: &str,
        order_id: &str,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        self.conn().defer(
            &INSERT_FINGERPRINT,
            vec![
                owned(fingerprint.to_owned()),
                owned(order_id.to_owned()),
                owned(to_ms(at)),
            ],
        );
        Ok(())
    }

    fn save_payment_token(
        &mut self,
        payment_id: &str,
        order_id: &str,
        token: &str,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        // Rows, so that it joins the placement's statement (and other commands') in a
        // group commit, as the events and the read model do.
        self.conn().defer_columns(
            &INSERT_PAYMENT_TOKEN,
            vec![
                Column::Text(vec![payment_id.to_owned()]),
                Column::Text(vec![order_id.to_owned()]),
                Column::Text(vec![token.to_owned()]),
                Column::Int(vec![to_ms(at)]),
            ],
        );
        Ok(())
    }

    fn forget_payment_token(&mut self, payment_id: &str) -> Result<(), StoreError> {
        // Keyed by payment, so that it joins the outcome's statement in a group commit.
        self.conn().defer_columns(
            &DELETE_PAYMENT_TOKEN,
            vec![Column::Text(vec![payment_id.to_owned()])],
        );
        Ok(())
    }

    fn orders_by_card_since(
        &mut self,
        fingerprint: &str,
        since: Timestamp,
    ) -> Result<u32, StoreError> {
        count(
            &self
                .conn()
                .query(CARD_VELOCITY_SQL, &[&fingerprint, &to_ms(since)])?,
        )
    }

    fn backordered_orders(&mut self, sku: &str, limit: u32) -> Result<Vec<String>, StoreError> {
        let rows = self.conn().query(
            "SELECT order_id FROM backorders WHERE sku = $1 AND status = 'open'
             GROUP BY order_id ORDER BY MIN(created_at), order_id LIMIT $2",
            &[&sku, &i64::from(limit)],
        )?;
        rows.iter().map(|r| col(r, 0)).collect()
    }

    fn close_backorders(&mut self, order_id: &str) -> Result<(), StoreError> {
        self.conn()
            .defer(&FILL_BACKORDERS, vec![owned(order_id.to_owned())]);
        Ok(())
    }

    fn save_fulfillment_order(&mut self, f: &FulfillmentRow<'_>) -> Result<(), StoreError> {
        // Keyed by id, so that it may join other commands' writes; a second save of one
        // fulfillment order in a command goes in a statement of its own (an upsert cannot
        // change a row twice, and it keeps the first insert's other columns).
        self.conn().defer_columns(
            &SAVE_FULFILLMENT_ORDER,
            vec![
                Column::Text(vec![f.id.to_owned()]),
                Column::Text(vec![f.order_id.to_owned()]),
                Column::Text(vec![f.location_id.to_owned()]),
                Column::Text(vec![f.state.to_owned()]),
                Column::Int(vec![f.line_count]),
                Column::OptInt(vec![f.released_at.map(to_ms)]),
                Column::OptText(vec![f.service.map(str::to_owned)]),
            ],
        );
        Ok(())
    }

    fn wave_candidates(
        &mut self,
        location: &str,
        released_before: Option<Timestamp>,
        service: Option<&str>,
        limit: u32,
    ) -> Result<Vec<(String, String, i64)>, StoreError> {
        let rows = self.conn().query(
            "SELECT id, order_id, line_count FROM fulfillment_orders
             WHERE location_id = $1 AND state = 'released' AND wave_id IS NULL
               AND ($2::bigint IS NULL OR released_at <= $2)
               AND ($4::text IS NULL OR service = $4)
             ORDER BY released_at, id LIMIT $3
             FOR UPDATE SKIP LOCKED",
            &[
                &location,
                &released_before.map(to_ms),
                &i64::from(limit),
                &service,
            ],
        )?;
        rows.iter()
            .map(|r| Ok((col(r, 0)?, col(r, 1)?, col(r, 2)?)))
            .collect()
    }

    fn create_wave(
        &mut self,
        id: &str,
        location: &str,
        members: &[String],
        actor: &str,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT INTO waves (id, location_id, created_at, created_by) VALUES ($1, $2, $3, $4)",
            &[&id, &location, &to_ms(at), &actor],
        )?;
        let n = self.conn().execute(
            "UPDATE fulfillment_orders SET wave_id = $1 WHERE id = ANY($2) AND wave_id IS NULL",
            &[&id, &members],
        )?;
        if usize::try_from(n).unwrap_or(0) != members.len() {
            return Err(StoreError::Conflict(
                "a fulfillment order joined another wave".into(),
            ));
        }
        Ok(())
    }

    fn save_shipment(&mut self, s: &ShipmentRow<'_>) -> Result<(), StoreError> {
        self.conn().defer(
            &SAVE_SHIPMENT,
            vec![
                owned(s.id.to_owned()),
                owned(s.order_id.to_owned()),
                owned(s.carrier.to_owned()),
                owned(s.tracking_number.to_owned()),
                owned(s.status.to_owned()),
                owned(i64::from(s.delayed)),
                owned(to_ms(s.last_scan_at)),
                owned(s.promised_by.map(to_ms)),
            ],
        );
        Ok(())
    }

    fn shipment_by_tracking(
        &mut self,
        carrier: &str,
        tracking_number: &str,
    ) -> Result<Option<(String, String)>, StoreError> {
        let rows = self.conn().query(
            "SELECT order_id, id FROM shipments WHERE carrier = $1 AND tracking_number = $2",
            &[&carrier, &tracking_number],
        )?;
        rows.first()
            .map(|r| Ok((col(r, 0)?, col(r, 1)?)))
            .transpose()
    }

    fn open_exception(&mut self, e: &NewException<'_>) -> Result<(), StoreError> {
        self.conn().defer(
            &OPEN_EXCEPTION,
            vec![
                owned(e.queue.to_owned()),
                owned(e.kind.to_owned()),
                owned(e.order_id.to_owned()),
                owned(e.subject_id.to_owned()),
                owned(e.detail.to_owned()),
                owned(to_ms(e.at)),
            ],
        );
        Ok(())
    }

    fn resolve_exceptions(
        &mut self,
        subject_id: &str,
        kinds: &[&str],
        by: &str,
        resolution: &str,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let kinds: Vec<String> = kinds.iter().map(|k| (*k).to_owned()).collect();
        self.conn().defer(
            &RESOLVE_EXCEPTIONS,
            vec![
                owned(subject_id.to_owned()),
                owned(kinds),
                owned(to_ms(at)),
                owned(by.to_owned()),
                owned(resolution.to_owned()),
            ],
        );
        Ok(())
    }

    fn resolve_exception(
        &mut self,
        id: i64,
        queue: &str,
        by: &str,
        resolution: &str,
        at: Timestamp,
    ) -> Result<Option<(ExceptionRow, bool)>, StoreError> {
        // The row lock makes a second resolver wait, then see it resolved.
        let Some(row) = self.conn().query_opt(
            exception_select!("WHERE id = $1 AND queue = $2 FOR UPDATE"),
            &[&id, &queue],
        )?
        else {
            return Ok(None);
        };
        let row = exception_row(&row)?;
        if row.resolved_at.is_some() {
            return Ok(Some((row, false)));
        }
        self.conn().execute(
            "UPDATE exceptions SET resolved_at = $2, resolved_by = $3, resolution = $4 WHERE id = $1",
            &[&id, &to_ms(at), &by, &resolution],
        )?;
        Ok(Some((row.resolved(by, resolution, at), true)))
    }

    fn store_credit_balance(&mut self, email: &str, currency: &str) -> Result<i64, StoreError> {
        let rows = self.conn().query(
            "SELECT balance_minor FROM store_credit_balances WHERE customer_email = $1 AND currency = $2",
            &[&email, &currency],
        )?;
        match rows.first() {
            Some(r) => col(r, 0),
            None => Ok(0),
        }
    }

    fn change_store_credit(&mut self, c: &CreditChange<'_>) -> Result<i64, StoreError> {
        // The CHECK (balance_minor >= 0) refuses an overdraft as a constraint violation,
        // which is a `Conflict`: the command runs again and decides on the fresh balance.
        // A spend only updates (an insert of a negative balance would trip the CHECK
        // before the conflict is seen); a credit inserts or adds.
        let rows = if c.delta_minor < 0 {
            self.conn().query(
                "UPDATE store_credit_balances SET balance_minor = balance_minor + $3, updated_at = $4
                 WHERE customer_email = $1 AND currency = $2 RETURNING balance_minor",
                &[&c.email, &c.currency, &c.delta_minor, &to_ms(c.at)],
            )?
        } else {
            self.conn().query(
                "INSERT INTO store_credit_balances (customer_email, currency, balance_minor, updated_at)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (customer_email, currency)
                 DO UPDATE SET balance_minor = store_credit_balances.balance_minor + EXCLUDED.balance_minor,
                               updated_at = EXCLUDED.updated_at
                 RETURNING balance_minor",
                &[&c.email, &c.currency, &c.delta_minor, &to_ms(c.at)],
            )?
        };
        let balance: i64 = match rows.first() {
            Some(r) => col(r, 0)?,
            None => {
                return Err(StoreError::Corrupt(
                    "store credit upsert returned nothing".into(),
                ));
            }
        };
        // The entry needs no answer: it goes with the rest of the transaction's writes (a
        // repeated operation still fails there, on the unique op id, as a `Conflict`).
        self.conn().defer(
            &INSERT_CREDIT_ENTRY,
            vec![
                owned(c.email.to_owned()),
                owned(c.currency.to_owned()),
                owned(c.delta_minor),
                owned(balance),
                owned(c.reason.to_owned()),
                owned(c.order_id.map(str::to_owned)),
                owned(c.op_id.map(str::to_owned)),
                owned(c.note.map(str::to_owned)),
                owned(c.actor.to_owned()),
                owned(to_ms(c.at)),
            ],
        );
        Ok(balance)
    }
}

// The statements deferred above, with what each declares (see `statement`).

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

/// Timers to fire: rows.
pub(super) const INSERT_TIMERS: StatementSpec = StatementSpec::write(
    StatementId::InsertTimers,
    Target::rows(Table::Timers),
    "INSERT INTO timers (order_id, kind, ref_id, due_at)
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::bigint[])",
);

/// Remembers the card an order is paid with.
pub(super) const INSERT_FINGERPRINT: StatementSpec = StatementSpec::write(
    StatementId::InsertFingerprint,
    Target::other(Table::PaymentFingerprints),
    "INSERT INTO payment_fingerprints (fingerprint, order_id, created_at)
             VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
);

/// A payment's provider token: rows, so that it joins the placement's statement.
pub(super) const INSERT_PAYMENT_TOKEN: StatementSpec = StatementSpec::write(
    StatementId::InsertPaymentToken,
    Target::rows(Table::PaymentTokens),
    "INSERT INTO payment_tokens (payment_id, order_id, token, created_at)
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::bigint[])
             ON CONFLICT DO NOTHING",
);

/// Forgets a payment's token once its authorization is answered. Keyed by payment; deleting
/// the same row twice is deleting it once.
pub(super) const DELETE_PAYMENT_TOKEN: StatementSpec = StatementSpec::write(
    StatementId::DeletePaymentToken,
    Target::keyed(Table::PaymentTokens, 1, true),
    "DELETE FROM payment_tokens t USING UNNEST($1::text[]) AS u(payment_id)
             WHERE t.payment_id = u.payment_id",
);

/// Marks an order's open backorders filled.
pub(super) const FILL_BACKORDERS: StatementSpec = StatementSpec::write(
    StatementId::FillBackorders,
    Target::other(Table::Backorders),
    "UPDATE backorders SET status = 'filled' WHERE order_id = $1 AND status = 'open'",
);

/// A fulfillment order's row. Keyed by id, but an upsert keeps the first insert's other
/// columns, so a second save of the same one in a command cannot replace the first: it
/// goes in a statement of its own.
pub(super) const SAVE_FULFILLMENT_ORDER: StatementSpec = StatementSpec::write(
    StatementId::SaveFulfillmentOrder,
    Target::keyed(Table::FulfillmentOrders, 1, false),
    "INSERT INTO fulfillment_orders (id, order_id, location_id, state, line_count, released_at, service)
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[],
               $7::text[])
             ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state, line_count = EXCLUDED.line_count,
               released_at = EXCLUDED.released_at",
);

/// A shipment's watch row (an upsert).
pub(super) const SAVE_SHIPMENT: StatementSpec = StatementSpec::write(
    StatementId::SaveShipment,
    Target::other(Table::Shipments),
    "INSERT INTO shipments (id, order_id, carrier, tracking_number, status, delayed, last_scan_at, promised_by)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (id) DO UPDATE SET status = $5, delayed = $6, last_scan_at = $7, promised_by = $8",
);

/// Opens an exception entry unless one of its kind and subject exists.
pub(super) const OPEN_EXCEPTION: StatementSpec = StatementSpec::write(
    StatementId::OpenException,
    Target::other(Table::Exceptions),
    "INSERT INTO exceptions (queue, kind, order_id, subject_id, detail, opened_at)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (kind, subject_id) DO NOTHING",
);

/// Resolves a subject's open entries of some kinds.
pub(super) const RESOLVE_EXCEPTIONS: StatementSpec = StatementSpec::write(
    StatementId::ResolveExceptions,
    Target::other(Table::Exceptions),
    "UPDATE exceptions SET resolved_at = $3, resolved_by = $4, resolution = $5
             WHERE subject_id = $1 AND kind = ANY($2) AND resolved_at IS NULL",
);

/// A store credit entry, after its balance moved.
pub(super) const INSERT_CREDIT_ENTRY: StatementSpec = StatementSpec::write(
    StatementId::InsertCreditEntry,
    Target::other(Table::StoreCreditEntries),
    "INSERT INTO store_credit_entries (customer_email, currency, delta_minor, balance_after,
               reason, order_id, op_id, note, actor, at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
);
