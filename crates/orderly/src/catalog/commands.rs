//! Catalog and stock changes made by people and integrations; stock that arrives goes
//! to backordered orders first, oldest order first.

use crate::app::Origin;
use crate::app::auth::{Permission, authorize};
use crate::app::clock::IdSource;
use crate::app::error::AppError;
use crate::app::runner::run;
use crate::app::{Answer, App, Idempotency, Outcome};
use crate::config::Config;
use orderly_domain::actor::Actor;
use orderly_domain::inventory::{Adjustment, decide_adjustment};
use orderly_domain::order::{FieldIssue, OrderCommand};
use orderly_domain::sourcing::LocationFacts;
use orderly_domain::values::Sku;
use orderly_store::{
    EventMeta, InventoryRow, NewProduct, ProductPatch, ProductRow, StoreError, WriteTx,
};

/// A stock adjustment as requested.
#[derive(Debug, Clone)]
pub struct AdjustInput {
    pub sku: String,
    pub location_id: String,
    pub adjustment: Adjustment,
    pub bin: Option<String>,
    pub note: Option<String>,
}

/// Refuses a GTIN that already names another product (a scan must name one item).
fn gtin_free(tx: &mut dyn WriteTx, gtin: Option<&str>, sku: &str) -> Result<(), AppError> {
    let Some(gtin) = gtin else {
        return Ok(());
    };
    match tx.sku_by_gtin(gtin)? {
        Some(other) if other != sku => Err(AppError::Conflict {
            code: "gtin_taken",
            detail: format!("GTIN {gtin} already belongs to {other}"),
        }),
        _ => Ok(()),
    }
}

impl App {
    pub async fn create_product(
        &self,
        actor: &Actor,
        p: NewProduct,
        idem: Option<Idempotency>,
        render: fn(&ProductRow) -> Vec<u8>,
    ) -> Result<Outcome, AppError> {
        authorize(actor, Permission::WriteCatalog)?;
        let clock = self.clock.clone();
        self.idempotent_write(idem, move |tx| {
            gtin_free(tx, p.gtin.as_deref(), &p.sku)?;
            match tx.create_product(&p, clock.now()) {
                Ok(row) => Ok(Outcome::Body(Answer::Created, render(&row))),
                Err(StoreError::Conflict(_)) => Err(AppError::Conflict {
                    code: "product_exists",
                    detail: format!("a product with SKU {} exists", p.sku),
                }),
                Err(e) => Err(e.into()),
            }
        })
        .await
    }

    pub async fn update_product(
        &self,
        actor: &Actor,
        sku: String,
        patch: ProductPatch,
        expected_version: Option<i64>,
    ) -> Result<ProductRow, AppError> {
        authorize(actor, Permission::WriteCatalog)?;
        let clock = self.clock.clone();
        self.store
            .write(move |tx| {
                if let Some(Some(gtin)) = &patch.gtin {
                    gtin_free(tx, Some(gtin), &sku)?;
                }
                match tx.update_product(&sku, &patch, expected_version, clock.now()) {
                    Ok(Some(row)) => Ok(row),
                    Ok(None) => Err(AppError::NotFound(format!("product {sku}"))),
                    Err(StoreError::Conflict(detail)) => Err(AppError::PreconditionFailed(detail)),
                    Err(e) => Err(e.into()),
                }
            })
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
    ) -> Result<Outcome, AppError> {
        authorize(&origin.actor, Permission::AdjustStock)?;
        if !self
            .config
            .locations
            .iter()
            .any(|l| l.id == input.location_id)
        {
            return Err(AppError::Validation(vec![FieldIssue::new(
                "location_id",
                "unknown_location",
                format!("no location {}", input.location_id),
            )]));
        }
        let config = self.config.clone();
        // A location that ships or hands orders over can serve waiting orders.
        let serving = self
            .locations
            .iter()
            .find(|l| l.id.as_str() == input.location_id && (l.can_ship || l.can_pickup))
            .cloned();
        let (clock, ids) = (self.clock.clone(), self.ids.clone());
        self.idempotent_write(idem, move |tx| {
            let now = clock.now();
            if tx.product(&input.sku)?.is_none() {
                return Err(AppError::Validation(vec![FieldIssue::new(
                    "sku",
                    "unknown_sku",
                    format!("no product {}", input.sku),
                )]));
            }
            let level = tx.stock_level(&input.sku, &input.location_id)?;
            let delta = decide_adjustment(level, input.adjustment).map_err(|error| {
                AppError::Adjustment {
                    error,
                    field: input.adjustment.field(),
                }
            })?;
            let mut row = tx.adjust_on_hand(
                &input.sku,
                &input.location_id,
                delta,
                input.adjustment.reason(),
                input.bin.as_deref(),
                input.note.as_deref(),
                &origin.actor,
                now,
            )?;
            // New stock at a shipping location goes to orders waiting for it first.
            if let Some(facts) = serving.as_ref().filter(|_| delta > 0) {
                let sku = Sku::parse(&input.sku).map_err(|e| {
                    AppError::Validation(vec![FieldIssue::new("sku", e.code, e.message)])
                })?;
                fill_backorders(tx, &sku, facts, &origin.meta(now), &config, ids.as_ref())?;
                row.reserved = tx.stock_level(&input.sku, &input.location_id)?.reserved;
            }
            Ok(Outcome::Body(Answer::Created, render(&row)))
        })
        .await
    }
}

/// At most this many waiting orders are served by one receipt (the rest by the next).
const BACKORDER_BATCH: u32 = 100;

/// Reserves stock that just arrived at `facts`' location for the orders waiting for
/// `sku` that it serves, oldest order first, until it runs out.
pub(crate) fn fill_backorders(
    tx: &mut dyn WriteTx,
    sku: &Sku,
    facts: &LocationFacts,
    meta: &EventMeta,
    config: &Config,
    ids: &dyn IdSource,
) -> Result<(), AppError> {
    let location = facts.id.as_str();
    for order_id in tx.backordered_orders(sku.as_str(), BACKORDER_BATCH)? {
        let level = tx.stock_level(sku.as_str(), location)?;
        let available = u32::try_from(level.on_hand - level.reserved).unwrap_or(0);
        if available == 0 {
            break;
        }
        let Some(order) = tx.load_order(&order_id)? else {
            continue;
        };
        let cmd = OrderCommand::FillBackorder {
            sku: sku.clone(),
            location: facts.clone(),
            available,
        };
        run(tx, order, cmd, meta, config, ids)?;
    }
    Ok(())
}
