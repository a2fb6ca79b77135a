//! Fulfillment read models (fulfillment orders, waves, shipments) and exception entries
//! on PostgreSQL. Wave candidates are taken with `FOR UPDATE SKIP LOCKED`, so two
//! processes never wave the same fulfillment order.

use super::read::exception_row;
use super::statement::{StatementId, StatementSpec, Table, Target};
use super::write::PgTx;
use super::{Column, col, owned};
use crate::error::StoreError;
use crate::rows::ExceptionRow;
use crate::to_ms;
use crate::tx::{ExceptionsTx, FulfillmentTx};
use crate::work::{FulfillmentRow, NewException, ShipmentRow};
use jiff::Timestamp;

impl FulfillmentTx for PgTx<'_> {
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
                owned(s.location_id.to_owned()),
                owned(to_ms(s.shipped_at)),
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
}

impl ExceptionsTx for PgTx<'_> {
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
}

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
    "INSERT INTO shipments (id, order_id, carrier, tracking_number, status, delayed, last_scan_at, promised_by,
                            location_id, shipped_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (id) DO UPDATE SET status = $5, delayed = $6, last_scan_at = $7, promised_by = $8",
);

/// Opens an exception entry, or opens again a resolved one of its kind and subject (the
/// problem came back); an open one stays as it is, its age counted from the first.
pub(super) const OPEN_EXCEPTION: StatementSpec = StatementSpec::write(
    StatementId::OpenException,
    Target::other(Table::Exceptions),
    "INSERT INTO exceptions (queue, kind, order_id, subject_id, detail, opened_at)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (kind, subject_id) DO UPDATE SET queue = EXCLUDED.queue,
               detail = EXCLUDED.detail, opened_at = EXCLUDED.opened_at, resolved_at = NULL,
               resolved_by = NULL, resolution = NULL
             WHERE exceptions.resolved_at IS NOT NULL",
);

/// Resolves a subject's open entries of some kinds.
pub(super) const RESOLVE_EXCEPTIONS: StatementSpec = StatementSpec::write(
    StatementId::ResolveExceptions,
    Target::other(Table::Exceptions),
    "UPDATE exceptions SET resolved_at = $3, resolved_by = $4, resolution = $5
             WHERE subject_id = $1 AND kind = ANY($2) AND resolved_at IS NULL",
);
