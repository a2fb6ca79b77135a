//! Catalog and stock changes made by people and integrations.

use super::orders::Origin;
use super::{App, Idempotency, Outcome, now};
use crate::api::problem::ApiError;
use orderly_domain::inventory::{Adjustment, decide_adjustment};
use orderly_domain::order::FieldIssue;
use orderly_store::{InventoryRow, NewProduct, ProductPatch, ProductRow, StoreError};

/// A stock adjustment as requested.
#[derive(Debug, Clone)]
pub struct AdjustInput {
    pub sku: String,
    pub location_id: String,
    pub adjustment: Adjustment,
    pub bin: Option<String>,
    pub note: Option<String>,
}

impl App {
    pub async fn create_product(
        &self,
        p: NewProduct,
        idem: Option<Idempotency>,
        render: fn(&ProductRow) -> Vec<u8>,
    ) -> Result<Outcome, ApiError> {
        self.idempotent_write(idem, move |tx| match tx.create_product(&p, now()) {
            Ok(row) => Ok(Outcome::Body(201, render(&row))),
            Err(StoreError::Conflict(_)) => Err(ApiError::Conflict {
                code: "product_exists",
                detail: format!("a product with SKU {} exists", p.sku),
            }),
            Err(e) => Err(e.into()),
        })
        .await
    }

    pub async fn update_product(
        &self,
        sku: String,
        patch: ProductPatch,
        expected_version: Option<i64>,
    ) -> Result<ProductRow, ApiError> {
        self.store
            .write(
                move |tx| match tx.update_product(&sku, &patch, expected_version, now()) {
                    Ok(Some(row)) => Ok(row),
                    Ok(None) => Err(ApiError::NotFound(format!("product {sku}"))),
                    Err(StoreError::Conflict(detail)) => Err(ApiError::PreconditionFailed(detail)),
                    Err(e) => Err(e.into()),
                },
            )
            .await
    }

    /// Applies a stock adjustment, deciding it against the level read in the same
    /// transaction, so a stale cycle count can never overwrite a newer value.
    pub async fn adjust_stock(
        &self,
        input: AdjustInput,
        idem: Option<Idempotency>,
        origin: Origin,
        render: fn(&InventoryRow) -> Vec<u8>,
    ) -> Result<Outcome, ApiError> {
        if !self
            .config
            .locations
            .iter()
            .any(|l| l.id == input.location_id)
        {
            return Err(ApiError::Validation(vec![FieldIssue::new(
                "location_id",
                "unknown_location",
                format!("no location {}", input.location_id),
            )]));
        }
        self.idempotent_write(idem, move |tx| {
            if tx.product(&input.sku)?.is_none() {
                return Err(ApiError::Validation(vec![FieldIssue::new(
                    "sku",
                    "unknown_sku",
                    format!("no product {}", input.sku),
                )]));
            }
            let level = tx.stock_level(&input.sku, &input.location_id)?;
            let delta = decide_adjustment(level, input.adjustment).map_err(ApiError::Adjustment)?;
            let row = tx.adjust_on_hand(
                &input.sku,
                &input.location_id,
                delta,
                input.adjustment.reason(),
                input.bin.as_deref(),
                input.note.as_deref(),
                &origin.actor,
                now(),
            )?;
            Ok(Outcome::Body(201, render(&row)))
        })
        .await
    }
}
