//! Stock on SQLite: the inventory view and levels, adjustments, and the reservations and
//! backorders orders hold. One writer means the stock a decision read is still there when
//! its reservation is written; the guarded update only catches stored data that disagree.

use super::write::SqliteTx;
use crate::error::StoreError;
use crate::rows::InventoryRow;
use crate::to_ms;
use crate::tx::{InventoryTx, Movement, ReservedMove, quarantine_short, returned_unit_change};
use jiff::Timestamp;
use orderly_domain::actor::Actor;
use orderly_domain::inventory::{MovementReason, StockLevel};
use orderly_domain::order::Reservation;
use orderly_domain::sourcing::{Shortfall, StockView};
use orderly_domain::values::{Id, Sku};
use rusqlite::{OptionalExtension, params};

impl SqliteTx<'_> {
    fn movement(&self, m: Movement<'_>) -> Result<(), StoreError> {
        self.conn()
            .prepare_cached(
                "INSERT INTO stock_movements (sku, location_id, reason, delta_on_hand, delta_reserved,
                   on_hand_after, reserved_after, order_id, note, actor, at, delta_quarantine)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
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
                m.at,
                m.delta_quarantine
            ])?;
        Ok(())
    }
}

impl InventoryTx for SqliteTx<'_> {
    fn stock_view(&mut self, skus: &[Sku]) -> Result<StockView, StoreError> {
        let mut stmt = self.conn().prepare_cached(
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
            .conn()
            .prepare_cached(
                "SELECT on_hand, reserved, quarantine FROM inventory
                 WHERE sku = ?1 AND location_id = ?2",
            )?
            .query_row([sku, location], |r| {
                Ok(StockLevel {
                    on_hand: r.get(0)?,
                    reserved: r.get(1)?,
                    quarantine: r.get(2)?,
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
        let (on_hand, reserved, quarantine, bin) = self
            .conn()
            .prepare_cached(
                // SQLite checks CHECK constraints on the candidate row before ON CONFLICT
                // applies, so the inserted value must itself be valid; a new record can
                // only start from a receipt (the decision refuses anything else).
                "INSERT INTO inventory (sku, location_id, on_hand, reserved, bin, updated_at)
                 VALUES (?1, ?2, MAX(?3, 0), 0, ?4, ?5)
                 ON CONFLICT (sku, location_id) DO UPDATE SET on_hand = on_hand + ?3,
                   bin = COALESCE(excluded.bin, bin), updated_at = excluded.updated_at
                 RETURNING on_hand, reserved, quarantine, bin",
            )?
            .query_row(params![sku, location, delta, bin, at], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, Option<String>>(3)?,
                ))
            })?;
        let after = StockLevel {
            on_hand,
            reserved,
            quarantine,
        };
        let actor = actor.label();
        self.movement(Movement {
            sku,
            location,
            reason,
            delta_on_hand: delta,
            delta_reserved: 0,
            delta_quarantine: 0,
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
            quarantine,
            bin,
            updated_at: now,
        })
    }

    fn move_returned_unit(
        &mut self,
        sku: &str,
        location: &str,
        quantity: u32,
        reason: MovementReason,
        note: Option<&str>,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<InventoryRow, StoreError> {
        let (delta_on_hand, delta_quarantine) = returned_unit_change(reason, quantity)?;
        let at = to_ms(now);
        let read = |r: &rusqlite::Row<'_>| {
            Ok((
                StockLevel {
                    on_hand: r.get(0)?,
                    reserved: r.get(1)?,
                    quarantine: r.get(2)?,
                },
                r.get::<_, Option<String>>(3)?,
            ))
        };
        let params = params![sku, location, delta_on_hand, delta_quarantine, at];
        let (after, bin) = if delta_quarantine < 0 {
            // Taken from quarantine: only what is there (no record holds nothing).
            self.conn()
                .prepare_cached(
                    "UPDATE inventory SET on_hand = on_hand + ?3, quarantine = quarantine + ?4,
                       updated_at = ?5
                     WHERE sku = ?1 AND location_id = ?2 AND quarantine + ?4 >= 0
                     RETURNING on_hand, reserved, quarantine, bin",
                )?
                .query_row(params, read)
                .optional()?
                .ok_or_else(|| quarantine_short(sku, location, quantity))?
        } else {
            // Only ever added to: the candidate row is valid as it is (see adjust_on_hand).
            self.conn()
                .prepare_cached(
                    "INSERT INTO inventory (sku, location_id, on_hand, reserved, quarantine, bin, updated_at)
                     VALUES (?1, ?2, ?3, 0, ?4, NULL, ?5)
                     ON CONFLICT (sku, location_id) DO UPDATE SET on_hand = on_hand + ?3,
                       quarantine = quarantine + ?4, updated_at = excluded.updated_at
                     RETURNING on_hand, reserved, quarantine, bin",
                )?
                .query_row(params, read)?
        };
        let actor = actor.label();
        self.movement(Movement {
            sku,
            location,
            reason,
            delta_on_hand,
            delta_reserved: 0,
            delta_quarantine,
            after,
            order_id: None,
            note,
            actor: &actor,
            at,
        })?;
        Ok(InventoryRow {
            sku: sku.to_owned(),
            location_id: location.to_owned(),
            on_hand: after.on_hand,
            reserved: after.reserved,
            quarantine: after.quarantine,
            bin,
            updated_at: now,
        })
    }

    fn move_reserved(&mut self, moves: &[ReservedMove<'_>]) -> Result<(), StoreError> {
        for m in moves {
            let r = m.reservation;
            let (sku, location, at) = (r.sku.as_str(), r.location_id.as_str(), to_ms(m.at));
            let after = self
                .conn()
                .prepare_cached(
                    "UPDATE inventory SET reserved = reserved + ?3, on_hand = on_hand + ?5, updated_at = ?4
                     WHERE sku = ?1 AND location_id = ?2 AND reserved + ?3 >= 0
                       AND reserved + ?3 <= on_hand + ?5
                     RETURNING on_hand, reserved, quarantine",
                )?
                .query_row(params![sku, location, m.delta, at, m.delta_on_hand], |row| {
                    Ok(StockLevel { on_hand: row.get(0)?, reserved: row.get(1)?, quarantine: row.get(2)? })
                })
                .optional()?
                .ok_or_else(|| m.guard_failed())?;
            self.movement(Movement {
                sku,
                location,
                reason: m.reason,
                delta_on_hand: m.delta_on_hand,
                delta_reserved: m.delta,
                delta_quarantine: 0,
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
        let mut stmt = self.conn().prepare_cached(
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
        self.conn()
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
        self.conn()
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
        self.conn()
            .prepare_cached("UPDATE backorders SET status = 'cancelled' WHERE order_id = ?1 AND status = 'open'")?
            .execute([order_id])?;
        Ok(())
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
}
