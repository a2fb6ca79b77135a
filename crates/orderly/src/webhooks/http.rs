//! `/webhook-subscriptions` and `/events`: subscriptions with their secrets (shown only
//! when made), the delivery log with every attempt, redelivery, and the public event
//! feed a consumer reads from its last position to catch up.

use super::subscriptions::{DeliveryLog, SubscriptionPatch, SubscriptionSpec, WithSecret};
use crate::app::AppState;
use crate::app::auth::Principal;
use crate::app::error::AppError;
use crate::http::extract::{
    ApiJson, ApiQuery, bound_texts, bounded_param, decode_cursor, page_cursor, page_limit,
    parse_time,
};
use crate::http::problem::{ApiError, Problem};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use orderly_domain::order::FieldIssue;
use orderly_domain::time::rfc3339;
use orderly_store::SubscriptionRow;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

fn event_type_schema() -> utoipa::openapi::schema::ObjectBuilder {
    let mut types = vec!["*"];
    types.extend(orderly_domain::order::OUTWARD_TYPES.iter().copied());
    crate::http::schema::one_of(types)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSubscriptionRequest {
    /// Where events are POSTed: an http(s) URL resolving to public addresses (unless the
    /// deployment allows a private network).
    #[schema(min_length = 1, max_length = 2000, pattern = "^https?://[^\\s]+$")]
    pub url: String,
    /// Public event types, or `*` for all.
    #[schema(schema_with = event_types_schema)]
    pub event_types: Vec<String>,
    #[schema(schema_with = crate::http::schema::optional_line::<200>)]
    pub description: Option<String>,
    /// Only events of orders in these channels; leave out for every channel (a key
    /// bound to channels gets its own).
    #[schema(min_items = 1, max_items = 20)]
    pub channels: Option<Vec<String>>,
}

fn event_types_schema() -> utoipa::openapi::schema::ArrayBuilder {
    utoipa::openapi::schema::ArrayBuilder::new()
        .items(event_type_schema())
        .min_items(Some(1))
        .max_items(Some(50))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateSubscriptionRequest {
    #[schema(min_length = 1, max_length = 2000, pattern = "^https?://[^\\s]+$")]
    pub url: Option<String>,
    #[schema(schema_with = optional_event_types_schema)]
    pub event_types: Option<Vec<String>>,
    #[schema(schema_with = crate::http::schema::optional_line::<200>)]
    pub description: Option<String>,
    /// `true` re-enables a subscription (also one disabled for failing); `false` pauses
    /// it (nothing is queued for it meanwhile: catch up with `GET /events`).
    pub active: Option<bool>,
}

fn optional_event_types_schema() -> utoipa::openapi::schema::ArrayBuilder {
    event_types_schema().schema_type(utoipa::openapi::schema::SchemaType::Array(vec![
        utoipa::openapi::schema::Type::Array,
        utoipa::openapi::schema::Type::Null,
    ]))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateSecretRequest {
    /// Keep signing with the current secret beside the new one (the default), so
    /// consumers can switch without a gap; the next rotation drops it.
    pub keep_previous: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedeliverRequest {
    /// These deliveries; or leave out and give `from` and `to`.
    #[schema(min_items = 1, max_items = 200)]
    pub delivery_ids: Option<Vec<String>>,
    /// Every delivery created at or after this time (RFC 3339) …
    #[schema(format = DateTime)]
    pub from: Option<String>,
    /// … and before this one.
    #[schema(format = DateTime)]
    pub to: Option<String>,
}

/// A subscription; its secrets are never shown again after they were made.
#[derive(Debug, Serialize, ToSchema)]
pub struct SubscriptionView {
    pub id: String,
    pub url: String,
    pub description: Option<String>,
    pub event_types: Vec<String>,
    pub channels: Option<Vec<String>>,
    pub active: bool,
    /// Why the worker disabled it, when it did (re-enable with `active: true`).
    pub disabled_reason: Option<String>,
    /// When its current run of failed attempts began.
    pub failing_since: Option<String>,
    /// How many secrets sign each delivery (two during a rotation).
    pub secrets: usize,
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SubscriptionWithSecret {
    #[serde(flatten)]
    pub subscription: SubscriptionView,
    /// The new signing secret (`whsec_…`); shown only in this response.
    pub secret: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SubscriptionPage {
    pub data: Vec<SubscriptionView>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptView {
    pub attempt: i64,
    pub at: String,
    /// `delivered` or `failed`.
    pub outcome: String,
    pub status_code: Option<i64>,
    pub latency_ms: i64,
    pub error: Option<String>,
    /// The start of the response body (as much as `webhooks.response_body_limit_bytes`).
    pub response_body: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    pub id: String,
    pub event_id: String,
    pub event_type: String,
    pub order_id: String,
    /// The consumer's per-order sequence number.
    pub sequence: i64,
    /// `pending`, `delivered` or `dead`.
    pub status: String,
    pub attempts: i64,
    /// When a pending delivery is tried next.
    pub next_attempt_at: Option<String>,
    pub created_at: String,
    pub finished_at: Option<String>,
    pub log: Vec<AttemptView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryPage {
    pub data: Vec<DeliveryView>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Redelivered {
    /// How many deliveries will be sent again.
    pub redelivered: usize,
}

/// One public event, as webhooks carry it (without the consumer's sequence number).
#[derive(Debug, Serialize, ToSchema)]
pub struct FeedItem {
    /// The feed position; pass the last one seen as `after`.
    pub position: i64,
    #[schema(value_type = Object)]
    pub event: serde_json::Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FeedPage {
    pub data: Vec<FeedItem>,
    /// The position to ask `after` next (the last one on this page, or `after` itself
    /// when nothing is new).
    pub next_after: i64,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    #[param(max_length = 256)]
    pub cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryQuery {
    /// `pending`, `delivered` or `dead`.
    #[param(pattern = "^(pending|delivered|dead)$")]
    pub status: Option<String>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    #[param(max_length = 256)]
    pub cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FeedQuery {
    /// The last position already read (0 or absent: from the start).
    #[param(minimum = 0)]
    pub after: Option<i64>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
}

fn view(s: &SubscriptionRow) -> SubscriptionView {
    SubscriptionView {
        id: s.id.clone(),
        url: s.url.clone(),
        description: s.description.clone(),
        event_types: s.event_types.clone(),
        channels: s.channels.clone(),
        active: s.active,
        disabled_reason: s.disabled_reason.clone(),
        failing_since: s.failing_since.map(rfc3339),
        secrets: s.secrets.len(),
        created_by: s.created_by.clone(),
        created_at: rfc3339(s.created_at),
        updated_at: rfc3339(s.updated_at),
    }
}

fn with_secret(w: WithSecret, status: StatusCode) -> Response {
    let body = SubscriptionWithSecret {
        subscription: view(&w.subscription),
        secret: w.secret,
    };
    (status, Json(body)).into_response()
}

fn delivery_view(l: DeliveryLog) -> DeliveryView {
    let d = l.delivery;
    DeliveryView {
        next_attempt_at: (d.status == "pending").then(|| rfc3339(d.next_at)),
        id: d.id,
        event_id: d.event_id,
        event_type: d.event_type,
        order_id: d.order_id,
        sequence: d.sequence,
        status: d.status,
        attempts: d.attempts,
        created_at: rfc3339(d.created_at),
        finished_at: d.finished_at.map(rfc3339),
        log: l
            .attempts
            .into_iter()
            .map(|a| AttemptView {
                attempt: a.attempt,
                at: rfc3339(a.at),
                outcome: a.outcome,
                status_code: a.status_code,
                latency_ms: a.latency_ms,
                error: a.error,
                response_body: a.response_body,
            })
            .collect(),
    }
}

fn check_texts(url: Option<&str>, description: Option<&str>) -> Result<(), ApiError> {
    bound_texts(&[("url", url, 2000), ("description", description, 200)])
}

/// Subscribe a URL to event types. The answer carries the signing secret, once.
#[utoipa::path(post, path = "/api/v1/webhook-subscriptions", tag = "webhooks",
    request_body = CreateSubscriptionRequest,
    responses((status = 201, body = SubscriptionWithSecret),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn create_subscription(
    State(app): State<AppState>,
    principal: Principal,
    body: ApiJson<CreateSubscriptionRequest>,
) -> Result<Response, ApiError> {
    let r = body.value;
    check_texts(Some(&r.url), r.description.as_deref())?;
    let spec = SubscriptionSpec {
        url: r.url,
        event_types: r.event_types,
        description: r.description.map(|d| d.trim().to_owned()),
        channels: r.channels,
    };
    let made = app.create_subscription(&principal.actor(), spec).await?;
    Ok(with_secret(made, StatusCode::CREATED))
}

/// Subscriptions by id.
#[utoipa::path(get, path = "/api/v1/webhook-subscriptions", tag = "webhooks", params(PageQuery),
    responses((status = 200, body = SubscriptionPage),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn list_subscriptions(
    State(app): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<SubscriptionPage>, ApiError> {
    let limit = page_limit(q.limit)?;
    let after = q.cursor.as_deref().map(decode_cursor).transpose()?;
    let mut rows = app
        .subscriptions(&principal.actor(), after, limit + 1)
        .await?;
    let next_cursor = page_cursor(&mut rows, limit, |s| s.id.clone());
    Ok(Json(SubscriptionPage {
        data: rows.iter().map(view).collect(),
        next_cursor,
    }))
}

#[utoipa::path(get, path = "/api/v1/webhook-subscriptions/{id}", tag = "webhooks",
    params(("id" = String, Path, max_length = 64)),
    responses((status = 200, body = SubscriptionView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn get_subscription(
    State(app): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<SubscriptionView>, ApiError> {
    let s = app.subscription(&principal.actor(), id).await?;
    Ok(Json(view(&s)))
}

/// Change the URL, event types or description; pause it, or re-enable it.
#[utoipa::path(patch, path = "/api/v1/webhook-subscriptions/{id}", tag = "webhooks",
    params(("id" = String, Path, max_length = 64)),
    request_body = UpdateSubscriptionRequest,
    responses((status = 200, body = SubscriptionView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn update_subscription(
    State(app): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    body: ApiJson<UpdateSubscriptionRequest>,
) -> Result<Json<SubscriptionView>, ApiError> {
    let r = body.value;
    check_texts(r.url.as_deref(), r.description.as_deref())?;
    let patch = SubscriptionPatch {
        url: r.url,
        event_types: r.event_types,
        description: r.description.map(|d| d.trim().to_owned()),
        active: r.active,
    };
    let s = app
        .update_subscription(&principal.actor(), id, patch)
        .await?;
    Ok(Json(view(&s)))
}

/// A new signing secret; the answer carries it, once.
#[utoipa::path(post, path = "/api/v1/webhook-subscriptions/{id}/rotate-secret", tag = "webhooks",
    params(("id" = String, Path, max_length = 64)),
    request_body = RotateSecretRequest,
    responses((status = 200, body = SubscriptionWithSecret),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn rotate_secret(
    State(app): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    body: ApiJson<RotateSecretRequest>,
) -> Result<Response, ApiError> {
    let keep = body.value.keep_previous.unwrap_or(true);
    let made = app
        .rotate_subscription_secret(&principal.actor(), id, keep)
        .await?;
    Ok(with_secret(made, StatusCode::OK))
}

/// The delivery log: deliveries newest first, each with every attempt.
#[utoipa::path(get, path = "/api/v1/webhook-subscriptions/{id}/deliveries", tag = "webhooks",
    params(("id" = String, Path, max_length = 64), DeliveryQuery),
    responses((status = 200, body = DeliveryPage),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn list_deliveries(
    State(app): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<DeliveryQuery>,
) -> Result<Json<DeliveryPage>, ApiError> {
    let status = bounded_param("status", q.status, 16)?;
    if let Some(s) = &status
        && !matches!(s.as_str(), "pending" | "delivered" | "dead")
    {
        return Err(ApiError::InvalidQueryParam(FieldIssue::new(
            "status",
            "unknown_value",
            "status is pending, delivered or dead",
        )));
    }
    let limit = page_limit(q.limit)?;
    let before = q.cursor.as_deref().map(decode_cursor).transpose()?;
    let mut rows = app
        .delivery_log(&principal.actor(), id, status, before, limit + 1)
        .await?;
    let next_cursor = page_cursor(&mut rows, limit, |l| l.delivery.id.clone());
    Ok(Json(DeliveryPage {
        data: rows.into_iter().map(delivery_view).collect(),
        next_cursor,
    }))
}

/// Send deliveries again from now: the ones named, or every one created in a time
/// range. Each keeps its event id, so a consumer that has it can tell.
#[utoipa::path(post, path = "/api/v1/webhook-subscriptions/{id}/redeliver", tag = "webhooks",
    params(("id" = String, Path, max_length = 64)),
    request_body = RedeliverRequest,
    responses((status = 202, body = Redelivered),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn redeliver(
    State(app): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    body: ApiJson<RedeliverRequest>,
) -> Result<Response, ApiError> {
    let r = body.value;
    let from = parse_time("from", r.from)?;
    let to = parse_time("to", r.to)?;
    let (ids, range) = match (r.delivery_ids, from, to) {
        (Some(ids), None, None) => (Some(ids), (Timestamp::MIN, Timestamp::MIN)),
        (None, Some(from), Some(to)) if from < to => (None, (from, to)),
        _ => {
            return Err(AppError::Validation(vec![FieldIssue::new(
                "delivery_ids",
                "redeliver_what",
                "give delivery_ids, or from and to (from before to), not both",
            )])
            .into());
        }
    };
    let n = app.redeliver(&principal.actor(), id, ids, range).await?;
    Ok((StatusCode::ACCEPTED, Json(Redelivered { redelivered: n })).into_response())
}

/// The public events after a position, oldest first: what a consumer that was down
/// reads to catch up. Positions follow commit order; an order's events are in its own
/// order.
#[utoipa::path(get, path = "/api/v1/events", tag = "webhooks", params(FeedQuery),
    responses((status = 200, body = FeedPage),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn feed(
    State(app): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<FeedQuery>,
) -> Result<Json<FeedPage>, ApiError> {
    let after = q.after.unwrap_or(0);
    if after < 0 {
        return Err(ApiError::InvalidQueryParam(FieldIssue::new(
            "after",
            "out_of_range",
            "after is a feed position, 0 or more",
        )));
    }
    let limit = page_limit(q.limit)?;
    let rows = app.event_feed(&principal.actor(), after, limit).await?;
    let next_after = rows.last().map_or(after, |e| e.position);
    let data = rows
        .into_iter()
        .map(|e| FeedItem {
            position: e.position,
            event: serde_json::from_str(&e.payload).unwrap_or_default(),
        })
        .collect();
    Ok(Json(FeedPage { data, next_after }))
}
