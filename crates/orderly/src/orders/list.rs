//! `GET /orders`: search orders, newest first, by any of the order's derived states, its
//! refund and hold facts, channel, customer and creation time. Every state filter accepts
//! exactly the values the order view can show, declared as enums in the OpenAPI document.

use crate::app::AppState;
use crate::app::auth::Principal;
use crate::http::extract::{
    ApiQuery, bounded_param, decode_cursor, excerpt, page_cursor, page_limit, parse_time,
    required_line,
};
use crate::http::problem::{ApiError, Problem};
use crate::http::schema::required_line as required_line_schema;
use crate::orders::view::{
    OrderView, fulfillment_state_schema, order_state_schema, order_view, payment_state_schema,
    refund_state_schema, return_state_schema, status_schema,
};
use axum::Json;
use axum::extract::State;
use orderly_domain::order::{
    CustomerStatus, FieldIssue, FulfillmentSummary, OrderState, RefundState, ReturnSummary,
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
    #[param(max_length = 64)]
    pub channel: Option<String>,
    #[param(max_length = 254)]
    pub email: Option<String>,
    /// RFC 3339; orders created at or after.
    #[param(format = DateTime)]
    pub created_from: Option<String>,
    /// RFC 3339; orders created before.
    #[param(format = DateTime)]
    pub created_to: Option<String>,
    /// Page size, 1-200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the page before.
    #[param(max_length = 256)]
    pub cursor: Option<String>,
    /// The order's id in its sales channel (any channel unless `channel` is given).
    #[param(schema_with = required_line_schema::<128>)]
    pub external_id: Option<String>,
    /// A tracking number (or pickup code) of one of the order's shipments.
    #[param(schema_with = required_line_schema::<128>)]
    pub tracking_number: Option<String>,
    /// Free text, case-insensitive, found in the order's number, customer email or
    /// customer name (`web-10`, `ana@`, `díaz`); 1-100 characters.
    #[param(schema_with = required_line_schema::<100>)]
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
        Some(v) if !known(&v) => Err(ApiError::InvalidQueryParam(FieldIssue::new(
            field,
            "unknown_value",
            format!("'{}' is not a value of {field}", excerpt(&v)),
        ))),
        other => Ok(other),
    }
}

/// A client's key for an order (external id, tracking number): 1-128 characters, not
/// blank, no control characters (`http::schema::required_line`); trimmed.
fn key(field: &str, v: Option<String>) -> Result<Option<String>, ApiError> {
    v.map(|v| match required_line(field, &v, 128) {
        Some(issue) => Err(ApiError::InvalidQueryParam(issue)),
        None => Ok(v.trim().to_owned()),
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
    if let Some(issue) = q.q.as_deref().and_then(|t| required_line("q", t, 100)) {
        return Err(ApiError::InvalidQueryParam(issue));
    }
    // Lowercased here as the stored search text is (see `orderly_store::search_text`).
    let text = q.q.map(|t| t.trim().to_lowercase());
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
        channel: bounded_param("channel", q.channel, 64)?,
        email: bounded_param("email", q.email, 254)?.map(|e| e.trim().to_ascii_lowercase()),
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
