//! Outbox, timers, payment facts and store credit on PostgreSQL. Claims skip rows another
//! process holds (`FOR UPDATE SKIP LOCKED`); store credit moves with a guarded update, so
//! two redemptions racing from two processes cannot both spend the same balance.

use super::statement::{StatementId, StatementSpec, Table, Target};
use super::write::PgTx;
use super::{Column, col, owned};
use crate::error::StoreError;
use crate::rows::OutboxRow;
use crate::tx::{CreditTx, OutboxTx, PaymentsTx, TimersTx};
use crate::work::{CreditChange, NewTimer, ParkedEvent, TimerRow};
use crate::{from_ms, to_ms};
use jiff::Timestamp;

const CARD_VELOCITY_SQL: &str =
    "SELECT count(*) FROM payment_fingerprints WHERE fingerprint = $1 AND created_at >= $2";

/// The number a `count(*)` query answered.
pub(crate) fn count(rows: &[tokio_postgres::Row]) -> Result<u32, StoreError> {
    let n: i64 = match rows.first() {
        Some(r) => col(r, 0)?,
        None => 0,
    };
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}

impl OutboxTx for PgTx<'_> {
    fn enqueue_outbox(
        &mut self,
        messages: &[(&str, &str, String)],
        at: Timestamp,
    ) -> Result<(), StoreError> {
        if messages.is_empty() {
            return Ok(());
        }
        self.conn().defer_columns(
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

    fn claim_outbox(
        &mut self,
        worker: &str,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        let rows = self.conn().query(
            "UPDATE outbox SET claimed_by = $1, claimed_until = $3, attempts = attempts + 1
             WHERE id IN (SELECT id FROM outbox
                          WHERE delivered_at IS NULL AND available_at <= $2
                            AND (claimed_until IS NULL OR claimed_until < $2)
                            AND NOT EXISTS (SELECT 1 FROM outbox p
                                            WHERE p.stream_id = outbox.stream_id
                                              AND p.delivered_at IS NULL AND p.id < outbox.id)
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
        let n = self.conn().execute(
            "UPDATE outbox SET delivered_at = $3 WHERE id = ANY($2) AND claimed_by = $1 AND delivered_at IS NULL",
            &[&worker, &ids, &to_ms(now)],
        )?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }
}

impl TimersTx for PgTx<'_> {
    fn settle_history(&mut self, before: Timestamp, limit: u32) -> Result<(u64, u64), StoreError> {
        let at = to_ms(before);
        let limit = i64::from(limit);
        let timers = self.conn().execute(
            "UPDATE timers SET fired_at = $1 WHERE id IN (SELECT id FROM timers
               WHERE fired_at IS NULL AND due_at < $1 LIMIT $2)",
            &[&at, &limit],
        )?;
        let messages = self.conn().execute(
            "UPDATE outbox SET delivered_at = $1 WHERE id IN (SELECT id FROM outbox
               WHERE delivered_at IS NULL AND created_at < $1 LIMIT $2)",
            &[&at, &limit],
        )?;
        Ok((timers, messages))
    }

    fn purge_done(&mut self, before: Timestamp, limit: u32) -> Result<(u64, u64), StoreError> {
        let (at, limit) = (to_ms(before), i64::from(limit));
        let messages = self.conn().execute(
            "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox
               WHERE delivered_at IS NOT NULL AND delivered_at < $1 ORDER BY id LIMIT $2)",
            &[&at, &limit],
        )?;
        let timers = self.conn().execute(
            "DELETE FROM timers WHERE id IN (SELECT id FROM timers
               WHERE fired_at IS NOT NULL AND fired_at < $1 ORDER BY id LIMIT $2)",
            &[&at, &limit],
        )?;
        Ok((messages, timers))
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

    fn reschedule_timer(&mut self, id: i64, due_at: Timestamp) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE timers SET due_at = $2, claimed_by = NULL, claimed_until = NULL WHERE id = $1",
            &[&id, &to_ms(due_at)],
        )?;
        Ok(())
    }

    fn complete_timer(&mut self, id: i64, now: Timestamp) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE timers SET fired_at = $2 WHERE id = $1",
            &[&id, &to_ms(now)],
        )?;
        Ok(())
    }
}

impl PaymentsTx for PgTx<'_> {
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
}

impl CreditTx for PgTx<'_> {
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

/// An append's outbox message: rows.
pub(super) const INSERT_OUTBOX: StatementSpec = StatementSpec::write(
    StatementId::InsertOutbox,
    Target::rows(Table::Outbox),
    "INSERT INTO outbox (topic, stream_id, payload, created_at, available_at)
             SELECT u.topic, u.stream_id, u.payload, u.at, u.at
             FROM UNNEST($1::text[], $2::text[], $3::text[], $4::bigint[]) AS u(topic, stream_id, payload, at)",
);

/// Timers to fire: rows. A watch already waiting for its timer keeps the first
/// (`timers_one_watch`); other kinds never conflict.
pub(super) const INSERT_TIMERS: StatementSpec = StatementSpec::write(
    StatementId::InsertTimers,
    Target::rows(Table::Timers),
    "INSERT INTO timers (order_id, kind, ref_id, due_at)
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::bigint[])
             ON CONFLICT (order_id, ref_id) WHERE kind = 'watch' AND fired_at IS NULL DO NOTHING",
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

/// A store credit entry, after its balance moved.
pub(super) const INSERT_CREDIT_ENTRY: StatementSpec = StatementSpec::write(
    StatementId::InsertCreditEntry,
    Target::other(Table::StoreCreditEntries),
    "INSERT INTO store_credit_entries (customer_email, currency, delta_minor, balance_after,
               reason, order_id, op_id, note, actor, at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
);
