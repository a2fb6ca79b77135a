//! Reading the catalog and stock, for every interface, each read authorized here once.
//! Pages are read one row past the limit so the caller can tell whether there is more.

use crate::app::App;
use crate::app::auth::{Permission, authorize};
use crate::app::error::AppError;
use orderly_domain::actor::Actor;
use orderly_store::{InventoryRow, MovementRow, ProductRow};

/// Which stock rows to read: optionally one SKU or one location, after a (SKU,
/// location) cursor.
pub struct InventoryQuery {
    pub sku: Option<String>,
    pub location_id: Option<String>,
    pub after: Option<(String, String)>,
    pub limit: u32,
}

impl App {
    /// One product by SKU.
    pub async fn product(&self, actor: &Actor, sku: String) -> Result<ProductRow, AppError> {
        authorize(actor, Permission::ReadCatalog)?;
        let label = sku.clone();
        self.store
            .read(move |r| r.product(&sku))
            .await?
            .ok_or(AppError::NotFound(format!("product {label}")))
    }

    /// Up to `limit` products by SKU, after the SKU `after`.
    pub async fn products(
        &self,
        actor: &Actor,
        after: Option<String>,
        limit: u32,
    ) -> Result<Vec<ProductRow>, AppError> {
        authorize(actor, Permission::ReadCatalog)?;
        Ok(self
            .store
            .read(move |r| r.products(after.as_deref(), limit))
            .await?)
    }

    /// Stock levels per (SKU, location).
    pub async fn inventory(
        &self,
        actor: &Actor,
        q: InventoryQuery,
    ) -> Result<Vec<InventoryRow>, AppError> {
        authorize(actor, Permission::ReadCatalog)?;
        Ok(self
            .store
            .read(move |r| {
                let after = q.after.as_ref().map(|(s, l)| (s.as_str(), l.as_str()));
                r.inventory(q.sku.as_deref(), q.location_id.as_deref(), after, q.limit)
            })
            .await?)
    }

    /// Up to `limit` stock movements of a SKU, newest first, before movement `before`.
    pub async fn movements(
        &self,
        actor: &Actor,
        sku: String,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<MovementRow>, AppError> {
        authorize(actor, Permission::ReadCatalog)?;
        Ok(self
            .store
            .read(move |r| r.movements(&sku, before, limit))
            .await?)
    }
}
