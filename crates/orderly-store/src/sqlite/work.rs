//! Outbox, timers, payment facts and store credit on SQLite. One writer thread means
//! claims cannot race here; the lease columns still matter for a crash between claiming a
//! timer and firing it.

use super::queries::ts;
use super::write::SqliteTx;
use crate::error::StoreError;
use crate::rows::OutboxRow;
use crate::to_ms;
use crate::tx::{CreditTx, OutboxTx, PaymentsTx, TimersTx};
use crate::work::{CreditChange, NewTimer, ParkedEvent, TimerRow};
use jiff::Timestamp;
use rusqlite::{OptionalExtension, params};

impl OutboxTx for SqliteTx<'_> {
    fn enqueue_outbox(
        &mut self,
        messages: &[(&str, &str, String)],
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let mut stmt = self.conn().prepare_cached(
            "INSERT INTO outbox (topic, stream_id, payload, created_at, available_at) VALUES (?1, ?2, ?3, ?4, ?4)",
        )?;
        for (topic, stream_id, payload) in messages {
            stmt.execute(params![topic, stream_id, payload, to_ms(at)])?;
        }
        Ok(())
    }

    fn claim_outbox(
        &mut self,
        worker: &str,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        let mut stmt = self.conn().prepare_cached(
            "UPDATE outbox SET claimed_by = ?1, claimed_until = ?3, attempts = attempts + 1
             WHERE id IN (SELECT id FROM outbox
                          WHERE delivered_at IS NULL AND available_at <= ?2
                            AND (claimed_until IS NULL OR claimed_until < ?2)
                            AND NOT EXISTS (SELECT 1 FROM outbox p
                                            WHERE p.stream_id = outbox.stream_id
                                              AND p.delivered_at IS NULL AND p.id < outbox.id)
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
        let mut stmt = self.conn().prepare_cached(
            "UPDATE outbox SET delivered_at = ?3 WHERE id = ?2 AND claimed_by = ?1 AND delivered_at IS NULL",
        )?;
        let mut n = 0;
        for id in ids {
            n += stmt.execute(params![worker, id, to_ms(now)])?;
        }
        Ok(n)
    }
}

impl TimersTx for SqliteTx<'_> {
    fn settle_history(&mut self, before: Timestamp, limit: u32) -> Result<(u64, u64), StoreError> {
        let at = to_ms(before);
        let timers = self.conn().execute(
            "UPDATE timers SET fired_at = ?1 WHERE id IN (SELECT id FROM timers
               WHERE fired_at IS NULL AND due_at < ?1 LIMIT ?2)",
            params![at, limit],
        )?;
        let messages = self.conn().execute(
            "UPDATE outbox SET delivered_at = ?1 WHERE id IN (SELECT id FROM outbox
               WHERE delivered_at IS NULL AND created_at < ?1 LIMIT ?2)",
            params![at, limit],
        )?;
        Ok((timers as u64, messages as u64))
    }

    fn purge_done(&mut self, before: Timestamp, limit: u32) -> Result<(u64, u64), StoreError> {
        let (at, limit) = (to_ms(before), i64::from(limit));
        let messages = self.conn().execute(
            "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox
               WHERE delivered_at IS NOT NULL AND delivered_at < ?1 ORDER BY id LIMIT ?2)",
            params![at, limit],
        )?;
        let timers = self.conn().execute(
            "DELETE FROM timers WHERE id IN (SELECT id FROM timers
               WHERE fired_at IS NOT NULL AND fired_at < ?1 ORDER BY id LIMIT ?2)",
            params![at, limit],
        )?;
        Ok((messages as u64, timers as u64))
    }

    fn schedule_timers(&mut self, timers: &[NewTimer<'_>]) -> Result<(), StoreError> {
        let mut stmt = self.conn().prepare_cached(
            "INSERT INTO timers (order_id, kind, ref_id, due_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (order_id, ref_id) WHERE kind = 'watch' AND fired_at IS NULL DO NOTHING",
        )?;
        for t in timers {
            stmt.execute(params![t.order_id, t.kind, t.ref_id, to_ms(t.due_at)])?;
        }
        Ok(())
    }

    fn claim_timers(
        &mut self,
        worker: &str,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<TimerRow>, StoreError> {
        let mut stmt = self.conn().prepare_cached(
            "UPDATE timers SET claimed_by = ?1, claimed_until = ?3, attempts = attempts + 1
             WHERE id IN (SELECT id FROM timers
                          WHERE fired_at IS NULL AND due_at <= ?2
                            AND (claimed_until IS NULL OR claimed_until < ?2)
                          ORDER BY due_at, id LIMIT ?4)
             RETURNING id, order_id, kind, ref_id, due_at, attempts",
        )?;
        let rows = stmt.query_map(
            params![worker, to_ms(now), to_ms(lease_until), limit],
            |r| {
                Ok(TimerRow {
                    id: r.get(0)?,
                    order_id: r.get(1)?,
                    kind: r.get(2)?,
                    ref_id: r.get(3)?,
                    due_at: ts(r, 4)?,
                    attempts: r.get(5)?,
                })
            },
        )?;
        let mut out: Vec<TimerRow> = rows.collect::<Result<_, _>>()?;
        out.sort_by_key(|t| (t.due_at, t.id));
        Ok(out)
    }

    fn reschedule_timer(&mut self, id: i64, due_at: Timestamp) -> Result<(), StoreError> {
        self.conn()
            .prepare_cached(
                "UPDATE timers SET due_at = ?2, claimed_by = NULL, claimed_until = NULL WHERE id = ?1",
            )?
            .execute(params![id, to_ms(due_at)])?;
        Ok(())
    }

    fn complete_timer(&mut self, id: i64, now: Timestamp) -> Result<(), StoreError> {
        self.conn()
            .prepare_cached("UPDATE timers SET fired_at = ?2 WHERE id = ?1")?
            .execute(params![id, to_ms(now)])?;
        Ok(())
    }
}

impl PaymentsTx for SqliteTx<'_> {
    fn record_provider_event(
        &mut self,
        provider: &str,
        event_id: &str,
        order_id: Option<&str>,
        status: &str,
        payload: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let n = self
            .conn()
            .prepare_cached(
                "INSERT INTO provider_events (provider, event_id, order_id, status, payload, received_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING",
            )?
            .execute(params![provider, event_id, order_id, status, payload, to_ms(now)])?;
        Ok(n == 1)
    }

    fn parked_provider_events(&mut self, order_id: &str) -> Result<Vec<ParkedEvent>, StoreError> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT provider, event_id, payload FROM provider_events
             WHERE order_id = ?1 AND status = 'parked' ORDER BY received_at, event_id",
        )?;
        let rows = stmt.query_map(params![order_id], |r| {
            Ok(ParkedEvent {
                provider: r.get(0)?,
                event_id: r.get(1)?,
                payload: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn set_provider_event_status(
        &mut self,
        provider: &str,
        event_id: &str,
        status: &str,
    ) -> Result<(), StoreError> {
        self.conn()
            .prepare_cached(
                "UPDATE provider_events SET status = ?3 WHERE provider = ?1 AND event_id = ?2",
            )?
            .execute(params![provider, event_id, status])?;
        Ok(())
    }

    fn save_payment_token(
        &mut self,
        payment_id: &str,
        order_id: &str,
        token: &str,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        self.conn()
            .prepare_cached(
                "INSERT INTO payment_tokens (payment_id, order_id, token, created_at)
                 VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
            )?
            .execute(params![payment_id, order_id, token, to_ms(at)])?;
        Ok(())
    }

    fn forget_payment_token(&mut self, payment_id: &str) -> Result<(), StoreError> {
        self.conn()
            .prepare_cached("DELETE FROM payment_tokens WHERE payment_id = ?1")?
            .execute([payment_id])?;
        Ok(())
    }

    fn record_fingerprint(
        &mut self,
        fingerprint: &str,
        order_id: &str,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        self.conn()
            .prepare_cached(
                "INSERT INTO payment_fingerprints (fingerprint, order_id, created_at)
                 VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
            )?
            .execute(params![fingerprint, order_id, to_ms(at)])?;
        Ok(())
    }

    fn orders_by_card_since(
        &mut self,
        fingerprint: &str,
        since: Timestamp,
    ) -> Result<u32, StoreError> {
        let n: i64 = self
            .conn()
            .prepare_cached(
                "SELECT count(*) FROM payment_fingerprints WHERE fingerprint = ?1 AND created_at >= ?2",
            )?
            .query_row(params![fingerprint, to_ms(since)], |r| r.get(0))?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }
}

impl CreditTx for SqliteTx<'_> {
    fn store_credit_balance(&mut self, email: &str, currency: &str) -> Result<i64, StoreError> {
        let balance: Option<i64> = self
            .conn()
            .prepare_cached(
                "SELECT balance_minor FROM store_credit_balances WHERE customer_email = ?1 AND currency = ?2",
            )?
            .query_row(params![email, currency], |r| r.get(0))
            .optional()?;
        Ok(balance.unwrap_or(0))
    }

    fn change_store_credit(&mut self, c: &CreditChange<'_>) -> Result<i64, StoreError> {
        let balance = self.store_credit_balance(c.email, c.currency)? + c.delta_minor;
        if balance < 0 {
            return Err(StoreError::Conflict(format!(
                "store credit of {} would go below zero",
                c.email
            )));
        }
        self.conn()
            .prepare_cached(
                "INSERT INTO store_credit_balances (customer_email, currency, balance_minor, updated_at)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (customer_email, currency) DO UPDATE SET balance_minor = ?3, updated_at = ?4",
            )?
            .execute(params![c.email, c.currency, balance, to_ms(c.at)])?;
        self.conn()
            .prepare_cached(
                "INSERT INTO store_credit_entries (customer_email, currency, delta_minor, balance_after,
                   reason, order_id, op_id, note, actor, at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?
            .execute(params![
                c.email,
                c.currency,
                c.delta_minor,
                balance,
                c.reason,
                c.order_id,
                c.op_id,
                c.note,
                c.actor,
                to_ms(c.at)
            ])?;
        Ok(balance)
    }
}
