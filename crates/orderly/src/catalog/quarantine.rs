//! `POST /inventory/quarantine`: returned units held in a location's quarantine (never
//! sellable) are released back on hand once they are fit to sell, or scrapped. Each is a
//! stock movement with its reason and actor, like every other change of stock; released
//! units go to orders waiting for them first, as received units do.

use crate::app::AppState;
use crate::app::auth::{Permission, Principal, authorize};
use crate::app::error::AppError;
use crate::app::{Answer, App, Idempotency, Origin, Outcome};
use crate::catalog::inventory::{InventoryView, render_inventory};
use crate::http::extract::{ApiJson, idempotency, outcome_reply, too_long};
use crate::http::problem::{ApiError, Problem};
use crate::http::schema::one_of;
use crate::orders::capture::sku_schema;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use orderly_domain::inventory::MovementReason;
use orderly_domain::order::FieldIssue;
use orderly_domain::values::Sku;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa::openapi::schema::ObjectBuilder;

fn action_schema() -> ObjectBuilder {
    one_of(vec!["release", "scrap"])
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuarantineRequest {
    #[schema(schema_with = sku_schema)]
    pub sku: String,
    #[schema(max_length = 64)]
    pub location_id: String,
    /// `release` (back on hand, sellable) or `scrap` (gone).
    #[schema(schema_with = action_schema)]
    pub action: String,
    #[schema(minimum = 1, maximum = 1_000_000_000)]
    pub quantity: i64,
    #[schema(max_length = 1000)]
    pub note: Option<String>,
}

/// Quarantined units to release (`QuarantineRelease`) or scrap (`QuarantineScrap`).
#[derive(Debug, Clone)]
pub struct QuarantineMove {
    pub sku: Sku,
    pub location_id: String,
    pub reason: MovementReason,
    pub quantity: u32,
    pub note: Option<String>,
}

impl App {
    /// Releases or scraps quarantined units; more than the quarantine holds is refused
    /// (409 `not_in_quarantine`) and changes nothing.
    pub async fn move_quarantine(
        &self,
        m: QuarantineMove,
        idem: Option<Idempotency>,
        origin: Origin,
    ) -> Result<Outcome, AppError> {
        let QuarantineMove {
            sku,
            location_id,
            reason,
            quantity,
            note,
        } = m;
        authorize(&origin.actor, Permission::AdjustStock)?;
        if !self.config.locations.iter().any(|l| l.id == location_id) {
            return Err(AppError::Validation(vec![FieldIssue::new(
                "location_id",
                "unknown_location",
                "no such location",
            )]));
        }
        let serving = self
            .locations
            .iter()
            .find(|l| l.id.as_str() == location_id && (l.can_ship || l.can_pickup))
            .cloned();
        let (config, clock, ids) = (self.config.clone(), self.clock.clone(), self.ids.clone());
        self.idempotent_write(idem, move |tx| {
            let now = clock.now();
            let level = tx.stock_level(sku.as_str(), &location_id)?;
            if level.quarantine < i64::from(quantity) {
                return Err(AppError::Conflict {
                    code: "not_in_quarantine",
                    detail: format!(
                        "{} holds {} of {sku} in quarantine, not {quantity}",
                        location_id, level.quarantine
                    ),
                });
            }
            let mut row = tx.move_returned_unit(
                sku.as_str(),
                &location_id,
                quantity,
                reason,
                note.as_deref(),
                &origin.actor,
                now,
            )?;
            if let (Some(facts), MovementReason::QuarantineRelease) = (serving.as_ref(), reason) {
                crate::catalog::commands::fill_backorders(
                    tx,
                    &sku,
                    facts,
                    &origin.meta(now),
                    &config,
                    ids.as_ref(),
                )?;
                row.reserved = tx.stock_level(sku.as_str(), &location_id)?.reserved;
            }
            Ok(Outcome::Body(Answer::Created, render_inventory(&row)))
        })
        .await
    }
}

/// Releases quarantined units back on hand, or scraps them.
#[utoipa::path(post, path = "/api/v1/inventory/quarantine", tag = "inventory", request_body = QuarantineRequest,
    params(("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Replays the first response for the same key and request")),
    responses((status = 201, body = InventoryView),
        (status = 409, description = "not_in_quarantine: fewer units are quarantined there", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn quarantine(
    State(app): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    body: ApiJson<QuarantineRequest>,
) -> Result<Response, ApiError> {
    let idem = idempotency(
        &headers,
        &principal,
        "POST",
        "/api/v1/inventory/quarantine",
        &body.raw,
    )?;
    let r = body.value;
    let mut issues: Vec<FieldIssue> = [
        too_long("location_id", Some(&r.location_id), 64),
        too_long("note", r.note.as_deref(), 1000),
    ]
    .into_iter()
    .flatten()
    .collect();
    let sku = Sku::parse(&r.sku)
        .map_err(|e| issues.push(FieldIssue::new("sku", e.code, e.message)))
        .ok();
    let reason = match r.action.as_str() {
        "release" => Some(MovementReason::QuarantineRelease),
        "scrap" => Some(MovementReason::QuarantineScrap),
        _ => {
            issues.push(FieldIssue::new(
                "action",
                "unknown_action",
                "release or scrap",
            ));
            None
        }
    };
    let quantity = u32::try_from(r.quantity)
        .ok()
        .filter(|q| (1..=1_000_000_000).contains(q));
    if quantity.is_none() {
        issues.push(FieldIssue::new(
            "quantity",
            "out_of_range",
            "quantity is 1 to 10^9",
        ));
    }
    let (Some(sku), Some(reason), Some(quantity), true) =
        (sku, reason, quantity, issues.is_empty())
    else {
        return Err(AppError::Validation(issues).into());
    };
    let origin = crate::http::extract::origin(&principal, &headers);
    Ok(outcome_reply(
        app.move_quarantine(
            QuarantineMove {
                sku,
                location_id: r.location_id,
                reason,
                quantity,
                note: r.note,
            },
            idem,
            origin,
        )
        .await?,
    ))
}
