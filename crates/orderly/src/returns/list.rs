//! `GET /returns` and `GET /customers/{email}/returns`: returns listed newest first,
//! filtered by state, reason, location, customer, order and age in cursor pages, and a
//! customer's returns with the serial-returner flag their judgements raised.

use crate::app::AppState;
use crate::app::auth::Principal;
use crate::app::error::AppError;
use crate::http::extract::{
    ApiQuery, bounded_param, decode_time_cursor, page_cursor, page_limit, parse_time,
    time_cursor_key,
};
use crate::http::problem::{ApiError, Problem};
use crate::http::schema::one_of;
use axum::Json;
use axum::extract::{Path, State};
use orderly_domain::order::FieldIssue;
use orderly_domain::returns::ReturnState;
use orderly_domain::time::rfc3339;
use orderly_domain::values::Email;
use orderly_store::ReturnFilter;
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::ObjectBuilder;
use utoipa::{IntoParams, ToSchema};

fn state_schema() -> ObjectBuilder {
    one_of(ReturnState::ALL.iter().map(|s| s.as_str()).collect())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReturnListQuery {
    #[param(schema_with = state_schema)]
    pub state: Option<String>,
    /// A leaf reason code.
    #[param(max_length = 64)]
    pub reason: Option<String>,
    /// The location the return arrives at.
    #[param(max_length = 64)]
    pub location_id: Option<String>,
    /// The customer's email.
    #[param(max_length = 254)]
    pub customer: Option<String>,
    /// An order id.
    #[param(max_length = 64)]
    pub order_id: Option<String>,
    /// Requested at or after (RFC 3339).
    #[param(format = DateTime)]
    pub requested_after: Option<String>,
    /// Requested before (RFC 3339): the age filter.
    #[param(format = DateTime)]
    pub requested_before: Option<String>,
    /// Page size, 1-200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the page before.
    #[param(max_length = 256)]
    pub cursor: Option<String>,
}

/// One return in a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReturnSummaryView {
    pub id: String,
    pub rma: Option<String>,
    pub order_id: String,
    pub order_number: String,
    pub channel: String,
    pub state: String,
    pub reason: String,
    pub customer_email: String,
    pub location_id: Option<String>,
    pub wanted: String,
    pub units: u32,
    pub currency: String,
    pub value: i64,
    pub refundable: i64,
    pub policy_version: String,
    pub requested_at: String,
    pub updated_at: String,
    /// Whole minutes since it was asked for.
    pub age_minutes: i64,
}

fn summary(r: orderly_store::ReturnRecord, now: jiff::Timestamp) -> ReturnSummaryView {
    ReturnSummaryView {
        age_minutes: (now.as_millisecond() - r.requested_at.as_millisecond()).max(0) / 60_000,
        id: r.id,
        rma: r.rma,
        order_id: r.order_id,
        order_number: r.order_number,
        channel: r.channel,
        state: r.state,
        reason: r.reason,
        customer_email: r.customer_email,
        location_id: r.location_id,
        wanted: r.wanted,
        units: r.units,
        currency: r.currency,
        value: r.value_minor,
        refundable: r.refundable_minor,
        policy_version: r.policy_version,
        requested_at: rfc3339(r.requested_at),
        updated_at: rfc3339(r.updated_at),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReturnPage {
    pub data: Vec<ReturnSummaryView>,
    pub next_cursor: Option<String>,
}

/// Returns, newest first, filtered by state, reason, location, customer, order and age.
#[utoipa::path(get, path = "/api/v1/returns", tag = "returns", params(ReturnListQuery),
    responses((status = 200, body = ReturnPage),
        (status = 400, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn list_returns(
    State(app): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<ReturnListQuery>,
) -> Result<Json<ReturnPage>, ApiError> {
    let bad = |field: &str, message: &str| {
        ApiError::InvalidQueryParam(FieldIssue::new(field, "unknown_value", message.to_owned()))
    };
    let states = match q.state.as_deref() {
        None => Vec::new(),
        Some(s) if ReturnState::parse(s).is_some() => vec![s.to_owned()],
        Some(_) => return Err(bad("state", "state is a return state")),
    };
    let before = q.cursor.as_deref().map(decode_time_cursor).transpose()?;
    let limit = page_limit(q.limit)?;
    let filter = ReturnFilter {
        states,
        channels: None,
        location_id: bounded_param("location_id", q.location_id, 64)?,
        reason: bounded_param("reason", q.reason, 64)?,
        customer_email: bounded_param("customer", q.customer, 254)?,
        order_id: bounded_param("order_id", q.order_id, 64)?,
        requested_after: parse_time("requested_after", q.requested_after)?,
        requested_before: parse_time("requested_before", q.requested_before)?,
        before,
        limit: limit + 1,
    };
    let mut rows = app.returns(&principal.actor(), filter).await?;
    let next_cursor = page_cursor(&mut rows, limit, |r| {
        let (at, id) = r.key();
        time_cursor_key(at, &id)
    });
    let now = app.now();
    Ok(Json(ReturnPage {
        data: rows.into_iter().map(|r| summary(r, now)).collect(),
        next_cursor,
    }))
}

/// The flag a serial returner carries, with the reason the policy gave.
#[derive(Debug, Serialize, ToSchema)]
pub struct SerialReturnerView {
    pub reason: String,
    /// The return whose judgement raised it.
    pub rma: String,
    pub at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerReturnsView {
    pub email: String,
    /// Present when the return policy's serial-returner rule flagged the customer.
    pub serial_returner: Option<SerialReturnerView>,
    /// The newest 50 returns (all of them: `GET /returns?customer=`).
    pub returns: Vec<ReturnSummaryView>,
}

/// A customer's returns and whether the policy counts them a serial returner (and why).
#[utoipa::path(get, path = "/api/v1/customers/{id}/returns", tag = "returns",
    params(("id" = String, Path, format = Email, description = "The customer's email address")),
    responses((status = 200, body = CustomerReturnsView),
        (status = 422, description = "validation_failed: `email` is not an email address", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn customer_returns(
    State(app): State<AppState>,
    principal: Principal,
    Path(email): Path<String>,
) -> Result<Json<CustomerReturnsView>, ApiError> {
    let email = Email::parse(&email)
        .map_err(|e| AppError::Validation(vec![FieldIssue::new("email", e.code, e.message)]))?;
    let found = app
        .customer_returns(&principal.actor(), email.clone())
        .await?;
    let now = app.now();
    Ok(Json(CustomerReturnsView {
        email: email.to_string(),
        serial_returner: found.serial_returner.map(|f| SerialReturnerView {
            reason: f.reason,
            rma: f.rma,
            at: rfc3339(f.at),
        }),
        returns: found.returns.into_iter().map(|r| summary(r, now)).collect(),
    }))
}
