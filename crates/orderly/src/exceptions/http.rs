//! `/exceptions`: the queues of things that need a person (a short pick, a refused
//! fulfillment order, a late, lost or returned parcel, a failed capture or refund),
//! oldest first so the most aged
//! problem is on top. Entries are opened by the events that raise them, in the same
//! transaction; a person resolves them with a note, and a delivery resolves a delay.

use crate::app::AppState;
use crate::app::auth::Principal;
use crate::app::error::AppError;
use crate::http::extract::{
    ApiJson, ApiQuery, bounded_param, decode_cursor, foreign_cursor, page_cursor, page_limit,
    required_text,
};
use crate::http::problem::{ApiError, Problem};
use crate::http::schema::{one_of, required_text as text_schema};
use axum::Json;
use axum::extract::{Path, State};
use orderly_domain::order::FieldIssue;
use orderly_domain::order::exceptions::kind;
use orderly_domain::time::rfc3339;
use orderly_store::{ExceptionFilter, ExceptionRow};
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::ObjectBuilder;
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Serialize, ToSchema)]
pub struct ExceptionView {
    /// `exc_<n>`.
    pub id: String,
    pub queue: String,
    /// `short_pick`, `fulfillment_rejected`, `shipment_delayed`, `delivery_failed`,
    /// `shipment_lost`, `returned_to_sender`, `capture_failed` or `refund_failed`.
    pub kind: String,
    pub order_id: String,
    /// The fulfillment order, shipment, payment or refund it is about.
    pub subject_id: String,
    pub detail: String,
    pub opened_at: String,
    /// Whole minutes since it was opened (until it was resolved, when it was).
    pub age_minutes: i64,
    /// `open` or `resolved`.
    pub status: String,
    pub resolved_at: Option<String>,
    pub resolved_by: Option<String>,
    pub resolution: Option<String>,
}

fn view(e: &ExceptionRow, now: jiff::Timestamp) -> ExceptionView {
    let until = e.resolved_at.unwrap_or(now);
    ExceptionView {
        id: format!("exc_{}", e.id),
        queue: e.queue.clone(),
        kind: e.kind.clone(),
        order_id: e.order_id.clone(),
        subject_id: e.subject_id.clone(),
        detail: e.detail.clone(),
        opened_at: rfc3339(e.opened_at),
        age_minutes: (until.as_millisecond() - e.opened_at.as_millisecond()).max(0) / 60_000,
        status: if e.resolved_at.is_some() {
            "resolved"
        } else {
            "open"
        }
        .into(),
        resolved_at: e.resolved_at.map(rfc3339),
        resolved_by: e.resolved_by.clone(),
        resolution: e.resolution.clone(),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExceptionPage {
    pub data: Vec<ExceptionView>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExceptionQuery {
    #[param(schema_with = kind_schema)]
    pub kind: Option<String>,
    /// An order id.
    #[param(max_length = 64)]
    pub order_id: Option<String>,
    /// `open` (the default), `resolved` or `all`.
    #[param(schema_with = status_schema)]
    pub status: Option<String>,
    /// Page size, 1-200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the page before.
    #[param(max_length = 256)]
    pub cursor: Option<String>,
}

fn kind_schema() -> ObjectBuilder {
    one_of(kind::ALL.to_vec())
}

fn status_schema() -> ObjectBuilder {
    one_of(vec!["open", "resolved", "all"])
}

/// One queue's entries, oldest first.
#[utoipa::path(get, path = "/api/v1/exceptions/{queue}", tag = "exceptions",
    params(("queue" = String, Path, pattern = "^(fulfillment|shipping|payments|returns|deliveries)$", description = "`fulfillment`, `shipping`, `payments`, `returns` or `deliveries`"), ExceptionQuery),
    responses((status = 200, body = ExceptionPage),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn list_queue(
    State(app): State<AppState>,
    principal: Principal,
    Path(queue): Path<String>,
    ApiQuery(q): ApiQuery<ExceptionQuery>,
) -> Result<Json<ExceptionPage>, ApiError> {
    list(app, principal, Some(queue), q).await
}

/// Entries of every queue, oldest first.
#[utoipa::path(get, path = "/api/v1/exceptions", tag = "exceptions", params(ExceptionQuery),
    responses((status = 200, body = ExceptionPage),
        (status = 400, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn list_all(
    State(app): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<ExceptionQuery>,
) -> Result<Json<ExceptionPage>, ApiError> {
    list(app, principal, None, q).await
}

async fn list(
    app: AppState,
    principal: Principal,
    queue: Option<String>,
    q: ExceptionQuery,
) -> Result<Json<ExceptionPage>, ApiError> {
    let open = match q.status.as_deref() {
        None | Some("open") => Some(true),
        Some("resolved") => Some(false),
        Some("all") => None,
        Some(_) => {
            return Err(ApiError::InvalidQueryParam(FieldIssue::new(
                "status",
                "unknown_value",
                "status is open, resolved or all",
            )));
        }
    };
    if let Some(k) = &q.kind
        && !kind::ALL.contains(&k.as_str())
    {
        return Err(ApiError::InvalidQueryParam(FieldIssue::new(
            "kind",
            "unknown_value",
            format!("kind is one of {}", kind::ALL.join(", ")),
        )));
    }
    let after_id = q
        .cursor
        .as_deref()
        .map(decode_cursor)
        .transpose()?
        .map(|c| c.parse::<i64>().map_err(|_| foreign_cursor()))
        .transpose()?;
    let limit = page_limit(q.limit)?;
    let filter = ExceptionFilter {
        channels: None,
        queue,
        kind: q.kind,
        order_id: bounded_param("order_id", q.order_id, 64)?,
        open,
        after_id,
        limit: limit + 1,
    };
    let mut rows = app.exceptions(&principal.actor(), filter).await?;
    let next_cursor = page_cursor(&mut rows, limit, |e| e.id.to_string());
    let now = app.now();
    Ok(Json(ExceptionPage {
        data: rows.iter().map(|e| view(e, now)).collect(),
        next_cursor,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveRequest {
    /// What was done about it (recorded on the entry).
    #[schema(schema_with = text_schema::<2000>)]
    pub resolution: String,
}

/// Resolves an open entry with a note of what was done. Resolving twice is refused (409),
/// so two people working one queue learn that the other got there first.
#[utoipa::path(post, path = "/api/v1/exceptions/{queue}/{id}/resolve", tag = "exceptions",
    params(("queue" = String, Path, pattern = "^(fulfillment|shipping|payments|returns|deliveries)$"), ("id" = String, Path, description = "`exc_<n>`")),
    request_body = ResolveRequest,
    responses((status = 200, body = ExceptionView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "already_resolved", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn resolve(
    State(app): State<AppState>,
    principal: Principal,
    headers: axum::http::HeaderMap,
    Path((queue, id)): Path<(String, String)>,
    body: ApiJson<ResolveRequest>,
) -> Result<Json<ExceptionView>, ApiError> {
    if let Some(issue) = required_text("resolution", &body.value.resolution, 2000) {
        return Err(AppError::Validation(vec![issue]).into());
    }
    let origin = crate::http::extract::origin(&principal, &headers);
    let row = app
        .resolve_exception(&origin, queue, id, &body.value.resolution)
        .await?;
    Ok(Json(view(&row, app.now())))
}
