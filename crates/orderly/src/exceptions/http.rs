//! `/exceptions`: the queues of things that need a person (a short pick, a late or lost
//! parcel, a refused payment, an order unpaid or not shipped in time, a return waiting
//! too long, a dead-lettered message), oldest first so the most aged problem is on top,
//! each queue with its open count and the age of its oldest entry. Entries are opened
//! by the events that raise them, in the same transaction; a person resolves them with
//! a note, and most leave by themselves when their condition ends (a payment goes
//! through, a parcel is delivered).

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
use orderly_domain::order::exceptions::{kind, queue};
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
    /// What kind of problem it is (`short_pick`, `shipment_delayed`, `unpaid`,
    /// `backordered`, `return_receipt_overdue`, …; the `kind` filter lists them all).
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
    /// Every queue (or the one asked for) with its open entries counted and the age of
    /// its oldest, whatever the filters of `data`.
    pub queues: Vec<QueueSummary>,
    pub data: Vec<ExceptionView>,
    pub next_cursor: Option<String>,
}

/// A queue's open work: how much, and how long the oldest has waited.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueueSummary {
    pub queue: String,
    pub open: u64,
    pub oldest_opened_at: Option<String>,
    /// Whole minutes the oldest open entry has waited.
    pub oldest_age_minutes: Option<i64>,
    /// Open entries older than `exceptions.escalate_after_hours`.
    pub escalated: u64,
    /// The kinds with open entries, by kind.
    pub kinds: Vec<KindSummary>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KindSummary {
    pub kind: String,
    pub open: u64,
    pub oldest_opened_at: String,
    pub oldest_age_minutes: i64,
    pub escalated: u64,
}

fn minutes_since(at: jiff::Timestamp, now: jiff::Timestamp) -> i64 {
    (now.as_millisecond() - at.as_millisecond()).max(0) / 60_000
}

/// The summaries of `queues` from the open counts.
fn summaries(
    queues: &[&str],
    counts: &[orderly_store::ExceptionCount],
    now: jiff::Timestamp,
) -> Vec<QueueSummary> {
    queues
        .iter()
        .map(|q| {
            let of: Vec<&orderly_store::ExceptionCount> =
                counts.iter().filter(|c| c.queue == *q).collect();
            let oldest = of.iter().map(|c| c.oldest_opened_at).min();
            QueueSummary {
                queue: (*q).to_owned(),
                open: of.iter().map(|c| c.open).sum(),
                oldest_opened_at: oldest.map(rfc3339),
                oldest_age_minutes: oldest.map(|o| minutes_since(o, now)),
                escalated: of.iter().map(|c| c.escalated).sum(),
                kinds: of
                    .iter()
                    .map(|c| KindSummary {
                        kind: c.kind.clone(),
                        open: c.open,
                        oldest_opened_at: rfc3339(c.oldest_opened_at),
                        oldest_age_minutes: minutes_since(c.oldest_opened_at, now),
                        escalated: c.escalated,
                    })
                    .collect(),
            }
        })
        .collect()
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
    let shown: Vec<&str> = match queue.as_deref() {
        Some(q) => queue::ALL.iter().copied().filter(|k| *k == q).collect(),
        None => queue::ALL.to_vec(),
    };
    let filter = ExceptionFilter {
        channels: None,
        queue,
        kind: q.kind,
        order_id: bounded_param("order_id", q.order_id, 64)?,
        open,
        newest_first: false,
        after_id,
        limit: limit + 1,
    };
    let mut rows = app.exceptions(&principal.actor(), filter).await?;
    let next_cursor = page_cursor(&mut rows, limit, |e| e.id.to_string());
    let now = app.now();
    let counts = app.exception_counts(&principal.actor()).await?;
    Ok(Json(ExceptionPage {
        queues: summaries(&shown, &counts, now),
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
