//! Click and collect. A pickup order is sourced only from its pickup location; once
//! packed, its package goes onto the counter shelf instead of to a carrier (a shipment
//! with carrier `pickup`, status `ready_for_pickup`, and a collection code as its
//! tracking number), and the customer collecting it, code in hand, is its delivery.

use crate::app::AppState;
use crate::app::auth::Principal;
use crate::app::error::AppError;
use crate::http::extract::{ApiJson, idempotency, origin, outcome_reply};
use crate::http::problem::{ApiError, Problem};
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use orderly_domain::order::OrderError;
use orderly_domain::values::Id;
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CollectRequest {
    /// The collection code the customer shows (the shipment's tracking number).
    #[schema(min_length = 1, max_length = 64)]
    pub pickup_code: String,
}

/// The customer collected a pickup order's package: checked against its collection
/// code, recorded as its delivery.
#[utoipa::path(post, path = "/api/v1/shipments/{id}/collect", tag = "fulfillment",
    params(("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Replays the first response for the same key and request")),
    request_body = CollectRequest,
    responses((status = 200, body = crate::orders::view::OrderView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "not_ready_for_pickup", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "validation_failed: wrong_pickup_code", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn collect(
    State(app): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: ApiJson<CollectRequest>,
) -> Result<Response, ApiError> {
    let order_id = Id::order_of_child(&id, "shp")
        .ok_or_else(|| AppError::Order(OrderError::UnknownShipment(id.clone())))?
        .to_string();
    let path = format!("/api/v1/shipments/{id}/collect");
    let idem = idempotency(&headers, &principal, "POST", &path, &body.raw)?;
    crate::http::extract::bound_text("pickup_code", Some(&body.value.pickup_code), 64)?;
    let code = body.value.pickup_code.trim().to_ascii_uppercase();
    let outcome = app
        .collect(
            origin(&principal, &headers),
            idem,
            order_id,
            Id::new(id),
            code,
        )
        .await?;
    Ok(outcome_reply(outcome))
}
