//! `GET /orders`: search orders, newest first, by any of the order's derived states, its
//! refund and hold facts, channel, customer and creation time. Every state filter accepts
//! exactly the values the order view can show, declared as enums in the OpenAPI document.

use crate::app::AppState;
use crate::app::auth::Principal;
use crate::http::extract::{ApiQuery, decode_cursor, page_cursor, page_limit, parse_time};
use crate::http::problem::{ApiError, Problem};
use crate::orders::view::{
    OrderView, fulfillment_state_schema, order_state_schema, order_view, payment_state_schema,
    refund_state_schema, return_state_schema, status_schema,
};
use axum::Json;
use axum::extract::State;
use orderly_domain::order::{
    CustomerStatus, FulfillmentSummary, OrderState, RefundState, ReturnSummary,
};
use orderly_domain::payment::PaymentState;
use orderly_store::OrderFilter;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OrderListQuery {
    /// Derived customer-facing status, e.g. `on_hold`, `shipped` or `delivered`.
    #[param(schema_with = status_schema)]
    pub status: Option<String>,
    #[param(schema_with = order_state_schema)]
    pub order_state: Option<String>,
    #[param(schema_with = payment_state_schema)]
    pub payment_state: Option<String>,
    #[param(schema_with = fulfillment_state_schema)]
    pub fulfillment_state: Option<String>,
    #[param(schema_with = return_state_schema)]
    pub return_state: Option<String>,
    #[param(schema_with = refund_state_schema)]
    pub refund_state: Option<String>,
    /// `true` for orders with an active hold, `false` for the others.
    pub on_hold: Option<bool>,
    pub channel: Option<String>,
    pub email: Option<String>,
    /// RFC 3339; orders created at or after.
    pub created_from: Option<String>,
    /// RFC 3339; orders created before.
    pub created_to: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
    /// The order's id in its sales channel (any channel unless `channel` is given).
    pub external_id: Option<String>,
    /// A tracking number (or pickup code) of one of the order's shipments.
    pub tracking_number: Option<String>,
    /// Free text, case-insensitive, found in the order's number, customer email or
    /// customer name (`web-10`, `ana@`, `díaz`); 1-100 characters.
    pub q: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderPage {
    pub data: Vec<OrderView>,
    pub next_cursor: Option<String>,
}

/// `value` if it names one of `known`, else a 400 naming the parameter.
fn state(
    field: &str,
    value: Option<String>,
    known: impl Fn(&str) -> bool,
) -> Result<Option<String>, ApiError> {
    match value {
        Some(v) if !known(&v) => Err(ApiError::InvalidQuery(format!("unknown {field} '{v}'"))),
        other => Ok(other),
    }
}

/// A client's key for an order (external id, tracking number), trimmed, 1-128 characters.
fn key(field: &str, v: Option<String>) -> Result<Option<String>, ApiError> {
    v.map(|v| v.trim().to_owned())
        .map(|v| {
            if (1..=128).contains(&v.len()) {
                Ok(v)
            } else {
                Err(ApiError::InvalidQuery(format!(
                    "{field} is 1-128 characters"
                )))
            }
        })
        .transpose()
}

/// Search orders, newest first. `external_id` and `tracking_number` find an order by
/// what a client knows (through indexes); `q` scans for text in the number, email and
/// name, so combine it with other filters on a large store.
#[utoipa::path(get, path = "/api/v1/orders", tag = "orders", params(OrderListQuery),
    responses((status = 200, body = OrderPage), (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn list_orders(
    State(app): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<OrderListQuery>,
) -> Result<Json<OrderPage>, ApiError> {
    let limit = page_limit(q.limit)?;
    // Lowercased here as the stored search text is (see `orderly_store::search_text`).
    let text = q.q.map(|t| t.trim().to_lowercase());
    if let Some(t) = &text
        && (t.is_empty() || t.chars().count() > 100 || t.chars().any(char::is_control))
    {
        return Err(ApiError::InvalidQuery(
            "q is 1-100 characters, without control characters".into(),
        ));
    }
    let filter = OrderFilter {
        channels: None,
        status: state("status", q.status, |s| CustomerStatus::parse(s).is_some())?,
        order_state: state("order_state", q.order_state, |s| {
            OrderState::parse(s).is_some()
        })?,
        payment_state: state("payment_state", q.payment_state, |s| {
            PaymentState::parse(s).is_some()
        })?,
        fulfillment_state: state("fulfillment_state", q.fulfillment_state, |s| {
            FulfillmentSummary::parse(s).is_some()
        })?,
        return_state: state("return_state", q.return_state, |s| {
            ReturnSummary::parse(s).is_some()
        })?,
        refund_state: state("refund_state", q.refund_state, |s| {
            RefundState::parse(s).is_some()
        })?,
        on_hold: q.on_hold,
        channel: q.channel,
        email: q.email.map(|e| e.trim().to_ascii_lowercase()),
        created_from: parse_time("created_from", q.created_from)?,
        created_to: parse_time("created_to", q.created_to)?,
        before_id: q.cursor.as_deref().map(decode_cursor).transpose()?,
        limit: limit + 1,
        external_id: key("external_id", q.external_id)?,
        tracking_number: key("tracking_number", q.tracking_number)?,
        text,
    };
    let mut orders = app.orders(&principal.actor(), filter).await?;
    let next_cursor = page_cursor(&mut orders, limit, |o| o.id.to_string());
    Ok(Json(OrderPage {
        data: orders.iter().map(order_view).collect(),
        next_cursor,
    }))
}
