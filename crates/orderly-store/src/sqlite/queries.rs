//! Queries shared by the write transaction and the read pool, so both sides read rows
//! the same way.

use crate::error::StoreError;
use crate::from_ms;
use crate::rows::{ExceptionRow, ProductRow};
use jiff::Timestamp;
use orderly_domain::order::Order;
use rusqlite::{Connection, OptionalExtension};

pub(crate) fn product_from_row(
    row: &rusqlite::Row<'_>,
) -> rusqlite::Result<(ProductRow, i64, i64)> {
    Ok((
        ProductRow {
            sku: row.get(0)?,
            name: row.get(1)?,
            price_minor: row.get(2)?,
            currency: row.get(3)?,
            weight_grams: row.get(4)?,
            category: row.get(5)?,
            returnable: row.get(6)?,
            active: row.get(7)?,
            created_at: Timestamp::UNIX_EPOCH,
            updated_at: Timestamp::UNIX_EPOCH,
            version: row.get(10)?,
            gtin: row.get(11)?,
        },
        row.get(8)?,
        row.get(9)?,
    ))
}

pub(crate) fn finish_product(
    (mut p, created, updated): (ProductRow, i64, i64),
) -> Result<ProductRow, StoreError> {
    p.created_at = from_ms(created)?;
    p.updated_at = from_ms(updated)?;
    Ok(p)
}

/// An exception entry from an `exception_select!` row (times still to check).
pub(crate) fn exception_from_row(
    row: &rusqlite::Row<'_>,
) -> rusqlite::Result<Result<ExceptionRow, StoreError>> {
    let opened: i64 = row.get(6)?;
    let resolved: Option<i64> = row.get(7)?;
    let (id, queue, kind, order_id, subject_id, detail) = (
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
    );
    let (resolved_by, resolution) = (row.get(8)?, row.get(9)?);
    Ok((|| {
        Ok(ExceptionRow {
            id,
            queue,
            kind,
            order_id,
            subject_id,
            detail,
            opened_at: from_ms(opened)?,
            resolved_at: resolved.map(from_ms).transpose()?,
            resolved_by,
            resolution,
        })
    })())
}

/// A product by SKU.
pub(crate) fn product_by_sku(
    conn: &Connection,
    sku: &str,
) -> Result<Option<ProductRow>, StoreError> {
    let row = conn
        .prepare_cached(product_select!("WHERE sku = ?1"))?
        .query_row([sku], product_from_row)
        .optional()?;
    row.map(finish_product).transpose()
}

/// An order's stored snapshot, by id or human number.
pub(crate) fn order_snapshot(
    conn: &Connection,
    id_or_number: &str,
) -> Result<Option<Order>, StoreError> {
    let snapshot: Option<String> = conn
        .prepare_cached("SELECT snapshot FROM orders WHERE id = ?1 OR number = ?1")?
        .query_row([id_or_number], |r| r.get(0))
        .optional()?;
    snapshot
        .map(|s| serde_json::from_str(&s).map_err(StoreError::from))
        .transpose()
}
