//! `GET /orders/{id}/timeline`: every event of an order, oldest first, each with a
//! sentence a person can read (folded against the order as it stood before the event)
//! and the actor by role and name beside its stable id (`orders::history`).

use crate::app::AppState;
use crate::app::auth::Principal;
use crate::http::problem::{ApiError, Problem};
use axum::Json;
use axum::extract::{Path, State};
use orderly_domain::time::rfc3339;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct TimelineEntry {
    pub version: u64,
    #[serde(rename = "type")]
    pub type_: String,
    /// `order`, `payment`, `fulfillment`, `return`, `edit`, `note` or `notification`.
    pub strand: String,
    pub at: String,
    /// The actor's stable id for machines, e.g. `api_key:key_…` or `system:demo`.
    pub actor: String,
    /// Who it was, for a person: the key's role and name (`integration key
    /// 'storefront'`) or the part of the system (`system (timers)`).
    #[schema(example = "integration key 'storefront'")]
    pub actor_name: String,
    /// What happened and why, in one sentence, with money as money (`USD 15.00`).
    pub summary: String,
    pub correlation_id: String,
    /// The event's full payload.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Timeline {
    pub data: Vec<TimelineEntry>,
}

/// Every event of an order, oldest first, each with a one-line summary.
#[utoipa::path(get, path = "/api/v1/orders/{id}/timeline", tag = "orders",
    params(("id" = String, Path, description = "Order id or number")),
    responses((status = 200, body = Timeline), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn timeline(
    State(app): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<Timeline>, ApiError> {
    let story = app.order_story(&principal.actor(), id, false).await?;
    let data = story
        .into_iter()
        .map(|e| TimelineEntry {
            version: e.version,
            type_: e.kind,
            strand: e.strand.as_str().to_owned(),
            at: rfc3339(e.at),
            actor: e.actor,
            actor_name: e.actor_name,
            summary: e.summary,
            correlation_id: e.correlation_id,
            data: e.data,
        })
        .collect();
    Ok(Json(Timeline { data }))
}
