//! Queries shared by the write transaction and the read pool, so both sides read rows
//! the same way.

use crate::error::StoreError;
use crate::rows::{ApiKeyRow, ExceptionRow, ProductRow, channels_from_column};
use jiff::Timestamp;
use orderly_domain::actor::Role;
use orderly_domain::order::Order;
use rusqlite::{Connection, OptionalExtension};

/// A time column (milliseconds since the epoch); a value out of range is a conversion
/// failure, which the store reports as corrupt data.
pub(crate) fn ts(row: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Timestamp> {
    let ms: i64 = row.get(i)?;
    Timestamp::from_millisecond(ms).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Integer, Box::new(e))
    })
}

/// An optional time column.
pub(crate) fn ts_opt(row: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<Option<Timestamp>> {
    match row.get::<_, Option<i64>>(i)? {
        Some(_) => ts(row, i).map(Some),
        None => Ok(None),
    }
}

pub(crate) fn product_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<ProductRow> {
    Ok(ProductRow {
        sku: row.get(0)?,
        name: row.get(1)?,
        price_minor: row.get(2)?,
        currency: row.get(3)?,
        weight_grams: row.get(4)?,
        category: row.get(5)?,
        returnable: row.get(6)?,
        active: row.get(7)?,
        created_at: ts(row, 8)?,
        updated_at: ts(row, 9)?,
        version: row.get(10)?,
        gtin: row.get(11)?,
    })
}

/// An exception entry from an `exception_select!` row.
pub(crate) fn exception_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<ExceptionRow> {
    Ok(ExceptionRow {
        id: row.get(0)?,
        queue: row.get(1)?,
        kind: row.get(2)?,
        order_id: row.get(3)?,
        subject_id: row.get(4)?,
        detail: row.get(5)?,
        opened_at: ts(row, 6)?,
        resolved_at: ts_opt(row, 7)?,
        resolved_by: row.get(8)?,
        resolution: row.get(9)?,
    })
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
    Ok(row)
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

/// The columns [`api_key_row`] reads, in its order.
pub(crate) const API_KEY_COLUMNS: &str =
    "id, name, role, channels, created_at, expires_at, revoked_at";

/// An API key row read with [`API_KEY_COLUMNS`]; a role or channel list the store cannot
/// read is corrupt data.
pub(crate) fn api_key_row(
    row: &rusqlite::Row<'_>,
) -> rusqlite::Result<Result<ApiKeyRow, StoreError>> {
    let role: String = row.get(2)?;
    let channels: Option<String> = row.get(3)?;
    let (id, name) = (row.get(0)?, row.get(1)?);
    let (created_at, expires_at, revoked_at) = (ts(row, 4)?, ts_opt(row, 5)?, ts_opt(row, 6)?);
    Ok((|| {
        Ok(ApiKeyRow {
            id,
            name,
            role: Role::parse(&role)
                .ok_or_else(|| StoreError::Corrupt(format!("unknown role {role}")))?,
            channels: channels_from_column(channels)?,
            created_at,
            expires_at,
            revoked_at,
        })
    })())
}
