//! The catalog and API keys on SQLite.

use super::queries::product_by_sku;
use super::queries::{API_KEY_COLUMNS, api_key_row};
use super::write::SqliteTx;
use crate::error::StoreError;
use crate::rows::{ApiKeyRow, NewApiKey, NewProduct, ProductPatch, ProductRow, channels_to_column};
use crate::to_ms;
use crate::tx::CatalogTx;
use jiff::Timestamp;
use rusqlite::{OptionalExtension, params};

impl CatalogTx for SqliteTx<'_> {
    fn product(&mut self, sku: &str) -> Result<Option<ProductRow>, StoreError> {
        product_by_sku(self.conn(), sku)
    }

    fn sku_by_gtin(&mut self, gtin: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn()
            .prepare_cached("SELECT sku FROM products WHERE gtin = ?1")?
            .query_row([gtin], |r| r.get(0))
            .optional()?)
    }

    fn create_product(&mut self, p: &NewProduct, now: Timestamp) -> Result<ProductRow, StoreError> {
        let n = self.conn().execute(
            "INSERT INTO products (sku, name, price_minor, currency, weight_grams, category, returnable, active,
               created_at, updated_at, version, gtin)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, 1, ?10) ON CONFLICT (sku) DO NOTHING",
            params![p.sku, p.name, p.price_minor, p.currency, p.weight_grams, p.category, p.returnable, p.active, to_ms(now), p.gtin],
        )?;
        if n == 0 {
            return Err(StoreError::Conflict(format!("product {} exists", p.sku)));
        }
        self.product(&p.sku)?
            .ok_or_else(|| StoreError::Corrupt("inserted product vanished".into()))
    }

    fn update_product(
        &mut self,
        sku: &str,
        patch: &ProductPatch,
        expected_version: Option<i64>,
        now: Timestamp,
    ) -> Result<Option<ProductRow>, StoreError> {
        let Some(cur) = self.product(sku)? else {
            return Ok(None);
        };
        let next = patch.apply(cur, expected_version)?;
        self.conn().execute(
            "UPDATE products SET name = ?2, price_minor = ?3, currency = ?4, weight_grams = ?5, category = ?6,
               returnable = ?7, active = ?8, updated_at = ?9, gtin = ?10, version = version + 1 WHERE sku = ?1",
            params![
                sku,
                next.name,
                next.price_minor,
                next.currency,
                next.weight_grams,
                next.category,
                next.returnable,
                next.active,
                to_ms(now),
                next.gtin
            ],
        )?;
        self.product(sku)
    }

    fn insert_api_key(&mut self, key: &NewApiKey) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT INTO api_keys (id, name, role, key_hash, created_at, channels, expires_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                key.id,
                key.name,
                key.role.as_str(),
                key.key_hash,
                to_ms(key.created_at),
                channels_to_column(key.channels.as_deref()),
                key.expires_at.map(to_ms)
            ],
        )?;
        Ok(())
    }

    fn revoke_api_key(&mut self, id: &str, at: Timestamp) -> Result<Option<ApiKeyRow>, StoreError> {
        let sql = format!(
            "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?2) WHERE id = ?1 RETURNING {API_KEY_COLUMNS}"
        );
        let mut stmt = self.conn().prepare_cached(&sql)?;
        let row = stmt
            .query_row(params![id, to_ms(at)], api_key_row)
            .optional()?;
        row.transpose()
    }

    fn expire_api_key(&mut self, id: &str, by: Timestamp) -> Result<Option<ApiKeyRow>, StoreError> {
        let sql = format!(
            "UPDATE api_keys SET expires_at = MIN(COALESCE(expires_at, ?2), ?2) WHERE id = ?1 RETURNING {API_KEY_COLUMNS}"
        );
        let mut stmt = self.conn().prepare_cached(&sql)?;
        let row = stmt
            .query_row(params![id, to_ms(by)], api_key_row)
            .optional()?;
        row.transpose()
    }
}
