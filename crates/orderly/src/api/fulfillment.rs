//! `/fulfillment-orders`: the part of an order one location ships, looked up on its own
//! and released to the warehouse by hand (release is otherwise automatic once the order
//! is confirmed, free of holds and past its edit window).

use super::extract::{correlation_id, idempotency, json_reply, outcome_reply, to_json};
use super::problem::{ApiError, Problem};
use crate::app::AppState;
use crate::app::auth::{Permission, Principal};
use crate::app::orders::Origin;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use orderly_domain::order::{FulfillmentOrder, OrderCommand, OrderError};
use orderly_domain::values::Id;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct FulfillmentLineOut {
    pub line_no: u32,
    pub sku: String,
    pub quantity: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FulfillmentOrderOut {
    pub id: String,
    pub location_id: String,
    /// pending, released, picking, packed, shipped, in_transit, out_for_delivery,
    /// delivered or cancelled.
    pub state: String,
    pub lines: Vec<FulfillmentLineOut>,
    pub created_at: String,
    pub released_at: Option<String>,
}

pub fn fulfillment_out(f: &FulfillmentOrder) -> FulfillmentOrderOut {
    FulfillmentOrderOut {
        id: f.id.to_string(),
        location_id: f.location_id.to_string(),
        state: serde_json::to_value(f.state)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
        lines: f
            .lines
            .iter()
            .map(|l| FulfillmentLineOut {
                line_no: l.line_no,
                sku: l.sku.to_string(),
                quantity: l.quantity,
            })
            .collect(),
        created_at: f.created_at.to_string(),
        released_at: f.released_at.map(|t| t.to_string()),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FulfillmentOrderView {
    #[serde(flatten)]
    pub fulfillment: FulfillmentOrderOut,
    pub order_id: String,
    pub order_number: String,
}

/// The order a fulfillment order id (`ful_<order id suffix>_<n>`) belongs to.
fn order_of(id: &str) -> Result<String, ApiError> {
    id.strip_prefix("ful_")
        .and_then(|rest| rest.rsplit_once('_'))
        .map(|(suffix, _)| format!("ord_{suffix}"))
        .ok_or_else(|| ApiError::Order(OrderError::UnknownFulfillmentOrder(id.to_owned())))
}

/// One fulfillment order with the order it belongs to.
#[utoipa::path(get, path = "/api/v1/fulfillment-orders/{id}", tag = "fulfillment",
    responses((status = 200, body = FulfillmentOrderView),
        (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn get_fulfillment_order(
    State(app): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    principal.require(Permission::ReadOrders)?;
    let order_id = order_of(&id)?;
    let order = app.store.read(move |r| r.order(&order_id)).await?;
    let view = order.and_then(|o| {
        let fo = o.fulfillment_orders.iter().find(|f| f.id.as_str() == id)?;
        Some(FulfillmentOrderView {
            fulfillment: fulfillment_out(fo),
            order_id: o.id.to_string(),
            order_number: o.number.clone(),
        })
    });
    match view {
        Some(v) => Ok(json_reply((200, to_json(&v)))),
        None => Err(ApiError::Order(OrderError::UnknownFulfillmentOrder(id))),
    }
}

/// Releases a pending fulfillment order to its warehouse now (skipping the edit window);
/// refused while the order is unpaid or on hold. Answers with the whole order.
#[utoipa::path(post, path = "/api/v1/fulfillment-orders/{id}/release", tag = "fulfillment",
    responses((status = 200, body = super::orders::OrderView),
        (status = 409, description = "release_blocked, fulfillment_not_pending", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn release(
    State(app): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    principal.require(Permission::ReleaseFulfillment)?;
    let order_id = order_of(&id)?;
    let path = format!("/api/v1/fulfillment-orders/{id}/release");
    let idem = idempotency(&headers, &principal, "POST", &path, b"")?;
    let origin = Origin {
        actor: principal.actor(),
        correlation_id: correlation_id(&headers),
    };
    let fulfillment_id = Id::new(id);
    let outcome = app
        .order_command(order_id, idem, origin, None, move |_| {
            Ok(OrderCommand::Release {
                fulfillment_id: Some(fulfillment_id.clone()),
            })
        })
        .await?;
    Ok(outcome_reply(outcome))
}
