//! Fulfillment read models (fulfillment orders, waves, shipments) and exception entries
//! on SQLite.

use super::queries::exception_from_row;
use super::write::SqliteTx;
use crate::error::StoreError;
use crate::rows::ExceptionRow;
use crate::to_ms;
use crate::tx::{ExceptionsTx, FulfillmentTx};
use crate::work::{FulfillmentRow, NewException, ShipmentRow};
use jiff::Timestamp;
use rusqlite::{OptionalExtension, params};

impl FulfillmentTx for SqliteTx<'_> {
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
                "INSERT INTO shipments (id, order_id, carrier, tracking_number, status, delayed, last_scan_at, promised_by,
                                        location_id, shipped_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
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
                s.promised_by.map(to_ms),
                s.location_id,
                to_ms(s.shipped_at)
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
}

impl ExceptionsTx for SqliteTx<'_> {
    fn open_exception(&mut self, e: &NewException<'_>) -> Result<(), StoreError> {
        self.conn()
            .prepare_cached(
                "INSERT INTO exceptions (queue, kind, order_id, subject_id, detail, opened_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (kind, subject_id) DO UPDATE SET queue = excluded.queue,
                   detail = excluded.detail, opened_at = excluded.opened_at, resolved_at = NULL,
                   resolved_by = NULL, resolution = NULL
                 WHERE exceptions.resolved_at IS NOT NULL",
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
}
