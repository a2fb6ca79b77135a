//! `WorkTx` on SQLite. One writer thread means claims cannot race here; the lease columns
//! still matter for a crash between claiming a timer and firing it.

use super::queries::{exception_from_row, ts};
use super::write::SqliteTx;
use crate::error::StoreError;
use crate::rows::ExceptionRow;
use crate::to_ms;
use crate::work::{
    CreditChange, FulfillmentRow, NewException, NewTimer, ParkedEvent, ShipmentRow, TimerRow,
    WorkTx,
};
use jiff::Timestamp;
use rusqlite::{OptionalExtension, params};

impl WorkTx for SqliteTx<'_> {
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

    fn schedule_timers(&mut self, timers: &[NewTimer<'_>]) -> Result<(), StoreError> {
        let mut stmt = self.conn().prepare_cached(
            "INSERT INTO timers (order_id, kind, ref_id, due_at) VALUES (?1, ?2, ?3, ?4)",
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

    fn complete_timer(&mut self, id: i64, now: Timestamp) -> Result<(), StoreError> {
        self.conn()
            .prepare_cached("UPDATE timers SET fired_at = ?2 WHERE id = ?1")?
            .execute(params![id, to_ms(now)])?;
        Ok(())
    }

    fn reschedule_timer(&mut self, id: i64, due_at: Timestamp) -> Result<(), StoreError> {
        self.conn()
            .prepare_cached(
                "UPDATE timers SET due_at = ?2, claimed_by = NULL, claimed_until = NULL WHERE id = ?1",
            )?
            .execute(params![id, to_ms(due_at)])?;
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

    fn orders_by_email_since(&mut self, email: &str, since: Timestamp) -> Result<u32, StoreError> {
        let n: i64 = self
            .conn()
            .prepare_cached(
                "SELECT count(*) FROM orders WHERE customer_email = ?1 AND created_at >= ?2",
            )?
            .query_row(params![email, to_ms(since)], |r| r.get(0))?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
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

    fn backordered_orders(&mut self, sku: &str, limit: u32) -> Result<Vec<String>, StoreError> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT order_id FROM backorders WHERE sku = ?1 AND status = 'open'
             GROUP BY order_id ORDER BY MIN(created_at), order_id LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![sku, limit], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn close_backorders(&mut self, order_id: &str) -> Result<(), StoreError> {
        self.conn()
            .prepare_cached(
                "UPDATE backorders SET status = 'filled' WHERE order_id = ?1 AND status = 'open'",
            )?
            .execute(params![order_id])?;
        Ok(())
    }

    fn save_fulfillment_order(&mut self, f: &FulfillmentRow<'_>) -> Result<(), StoreError> {
        self.conn()
            .prepare_cached(
                "INSERT INTO fulfillment_orders (id, order_id, location_id, state, line_count, released_at, service)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (id) DO UPDATE SET state = ?4, line_count = ?5, released_at = ?6",
            )?
            .execute(params![
                f.id,
                f.order_id,
                f.location_id,
                f.state,
                f.line_count,
                f.released_at.map(to_ms),
                f.service
            ])?;
        Ok(())
    }

    fn wave_candidates(
        &mut self,
        location: &str,
        released_before: Option<Timestamp>,
        service: Option<&str>,
        limit: u32,
    ) -> Result<Vec<(String, String, i64)>, StoreError> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT id, order_id, line_count FROM fulfillment_orders
             WHERE location_id = ?1 AND state = 'released' AND wave_id IS NULL
               AND (?2 IS NULL OR released_at <= ?2) AND (?4 IS NULL OR service = ?4)
             ORDER BY released_at, id LIMIT ?3",
        )?;
        let rows = stmt.query_map(
            params![location, released_before.map(to_ms), limit, service],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn create_wave(
        &mut self,
        id: &str,
        location: &str,
        members: &[String],
        actor: &str,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        self.conn()
            .prepare_cached(
                "INSERT INTO waves (id, location_id, created_at, created_by) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![id, location, to_ms(at), actor])?;
        let mut stmt = self.conn().prepare_cached(
            "UPDATE fulfillment_orders SET wave_id = ?1 WHERE id = ?2 AND wave_id IS NULL",
        )?;
        for member in members {
            if stmt.execute(params![id, member])? != 1 {
                return Err(StoreError::Conflict(format!(
                    "{member} joined another wave"
                )));
            }
        }
        Ok(())
    }

    fn save_shipment(&mut self, s: &ShipmentRow<'_>) -> Result<(), StoreError> {
        self.conn()
            .prepare_cached(
                "INSERT INTO shipments (id, order_id, carrier, tracking_number, status, delayed, last_scan_at, promised_by)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (id) DO UPDATE SET status = ?5, delayed = ?6, last_scan_at = ?7, promised_by = ?8",
            )?
            .execute(params![
                s.id,
                s.order_id,
                s.carrier,
                s.tracking_number,
                s.status,
                i64::from(s.delayed),
                to_ms(s.last_scan_at),
                s.promised_by.map(to_ms)
            ])?;
        Ok(())
    }

    fn shipment_by_tracking(
        &mut self,
        carrier: &str,
        tracking_number: &str,
    ) -> Result<Option<(String, String)>, StoreError> {
        Ok(self
            .conn()
            .prepare_cached(
                "SELECT order_id, id FROM shipments WHERE carrier = ?1 AND tracking_number = ?2",
            )?
            .query_row(params![carrier, tracking_number], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?)
    }

    fn open_exception(&mut self, e: &NewException<'_>) -> Result<(), StoreError> {
        self.conn()
            .prepare_cached(
                "INSERT INTO exceptions (queue, kind, order_id, subject_id, detail, opened_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (kind, subject_id) DO NOTHING",
            )?
            .execute(params![
                e.queue,
                e.kind,
                e.order_id,
                e.subject_id,
                e.detail,
                to_ms(e.at)
            ])?;
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
        let mut stmt = self.conn().prepare_cached(
            "UPDATE exceptions SET resolved_at = ?3, resolved_by = ?4, resolution = ?5
             WHERE subject_id = ?1 AND kind = ?2 AND resolved_at IS NULL",
        )?;
        for kind in kinds {
            stmt.execute(params![subject_id, kind, to_ms(at), by, resolution])?;
        }
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
        let row = self
            .conn()
            .prepare_cached(exception_select!("WHERE id = ?1 AND queue = ?2"))?
            .query_row(params![id, queue], exception_from_row)
            .optional()?;
        let Some(row) = row else {
            return Ok(None);
        };
        if row.resolved_at.is_some() {
            return Ok(Some((row, false)));
        }
        self.conn()
            .prepare_cached(
                "UPDATE exceptions SET resolved_at = ?2, resolved_by = ?3, resolution = ?4 WHERE id = ?1",
            )?
            .execute(params![id, to_ms(at), by, resolution])?;
        Ok(Some((row.resolved(by, resolution, at), true)))
    }

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
