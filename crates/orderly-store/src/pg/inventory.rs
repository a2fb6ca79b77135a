//! Stock on PostgreSQL: the inventory view and levels, adjustments, and the reservations
//! and backorders orders hold. Reserving is one deferred statement that locks the stock
//! rows in order (see `params::STOCK_CHANGE`); the table's CHECK is the guard.

use super::statement::{StatementId, StatementSpec, Table, Target};
use super::write::PgTx;
use super::{Column, StockMove, col, owned};
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
use tokio_postgres::types::ToSql;

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

/// The levels in a row's first three columns (on hand, reserved, quarantine).
fn level(row: &tokio_postgres::Row) -> Result<StockLevel, StoreError> {
    Ok(StockLevel {
        on_hand: col(row, 0)?,
        reserved: col(row, 1)?,
        quarantine: col(row, 2)?,
    })
}

fn inventory_row(
    sku: &str,
    location: &str,
    after: StockLevel,
    bin: Option<String>,
    now: Timestamp,
) -> InventoryRow {
    InventoryRow {
        sku: sku.to_owned(),
        location_id: location.to_owned(),
        on_hand: after.on_hand,
        reserved: after.reserved,
        quarantine: after.quarantine,
        bin,
        updated_at: now,
    }
}

/// Available units as sourcing counts them (never below zero).
pub(super) fn clamp_units(available: i64) -> u32 {
    u32::try_from(available.max(0)).unwrap_or(u32::MAX)
}

impl PgTx<'_> {
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
        self.conn().defer(
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
                int(|m| m.delta_quarantine),
            ],
        );
    }
}

impl InventoryTx for PgTx<'_> {
    fn stock_view(&mut self, skus: &[Sku]) -> Result<StockView, StoreError> {
        let names: Vec<&str> = skus.iter().map(Sku::as_str).collect();
        stock_rows(&self.conn().query(STOCK_SQL, &[&names])?)
    }

    fn stock_level(&mut self, sku: &str, location: &str) -> Result<StockLevel, StoreError> {
        // FOR UPDATE: an adjustment decides against this level, so no one may change it
        // until this transaction ends.
        let row = self.conn().query_opt(
            "SELECT on_hand, reserved, quarantine FROM inventory
             WHERE sku = $1 AND location_id = $2 FOR UPDATE",
            &[&sku, &location],
        )?;
        row.map(|r| level(&r))
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
            .conn()
            .query_opt(
                "INSERT INTO inventory (sku, location_id, on_hand, reserved, bin, updated_at)
                 VALUES ($1, $2, GREATEST($3::bigint, 0), 0, $4, $5)
                 ON CONFLICT (sku, location_id) DO UPDATE SET on_hand = inventory.on_hand + $3,
                   bin = COALESCE(EXCLUDED.bin, inventory.bin), updated_at = EXCLUDED.updated_at
                 RETURNING on_hand, reserved, quarantine, bin",
                &[&sku, &location, &delta, &bin, &at],
            )?
            .ok_or_else(|| StoreError::Corrupt("upsert returned nothing".into()))?;
        let after = level(&row)?;
        let actor = actor.label();
        self.movements(&[Movement {
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
        }]);
        Ok(inventory_row(sku, location, after, col(&row, 3)?, now))
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
        let params: [&(dyn ToSql + Sync); 5] =
            [&sku, &location, &delta_on_hand, &delta_quarantine, &at];
        // Run at once (the levels after are read); the row stays locked until COMMIT, so a
        // concurrent release waits and then sees what this one left.
        let row = if delta_quarantine < 0 {
            // Taken from quarantine: only what is there (no record holds nothing).
            self.conn()
                .query_opt(
                    "UPDATE inventory SET on_hand = on_hand + $3, quarantine = quarantine + $4,
                       updated_at = $5
                     WHERE sku = $1 AND location_id = $2 AND quarantine + $4 >= 0
                     RETURNING on_hand, reserved, quarantine, bin",
                    &params,
                )?
                .ok_or_else(|| quarantine_short(sku, location, quantity))?
        } else {
            self.conn()
                .query_opt(
                    "INSERT INTO inventory (sku, location_id, on_hand, reserved, quarantine, bin, updated_at)
                     VALUES ($1, $2, $3, 0, $4, NULL, $5)
                     ON CONFLICT (sku, location_id) DO UPDATE SET on_hand = inventory.on_hand + $3,
                       quarantine = inventory.quarantine + $4, updated_at = EXCLUDED.updated_at
                     RETURNING on_hand, reserved, quarantine, bin",
                    &params,
                )?
                .ok_or_else(|| StoreError::Corrupt("upsert returned nothing".into()))?
        };
        let after = level(&row)?;
        let actor = actor.label();
        self.movements(&[Movement {
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
        }]);
        Ok(inventory_row(sku, location, after, col(&row, 3)?, now))
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
        // without one.) See `params::stock_columns` for how the levels are worked out.
        self.conn().defer_stock(
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
        self.conn().defer_columns(
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
        self.conn().defer(
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
        self.conn().defer(
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
        self.conn()
            .defer(&CANCEL_BACKORDERS, vec![owned(order_id.to_owned())]);
        Ok(())
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
}

/// Stock movement rows of an adjustment or a returned unit's move (given as values: such
/// a command commits alone).
pub(super) const INSERT_MOVEMENTS: StatementSpec = StatementSpec::write(
    StatementId::InsertMovements,
    Target::other(Table::StockMovements),
    "INSERT INTO stock_movements (sku, location_id, reason, delta_on_hand, delta_reserved,
               on_hand_after, reserved_after, order_id, note, actor, at, delta_quarantine)
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[],
               $7::bigint[], $8::text[], $9::text[], $10::text[], $11::bigint[], $12::bigint[])",
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

/// Marks an order's open backorders filled.
pub(super) const FILL_BACKORDERS: StatementSpec = StatementSpec::write(
    StatementId::FillBackorders,
    Target::other(Table::Backorders),
    "UPDATE backorders SET status = 'filled' WHERE order_id = $1 AND status = 'open'",
);
