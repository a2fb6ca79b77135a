//! `/orders`: capture, lookup by id or number, and whole-order cancellation. The request
//! and its parsing are in `capture.rs`; the view an order is answered with is
//! `order_view`, search is `order_list`, the timeline `order_timeline`.

use crate::app::AppState;
use crate::app::auth::Principal;
use crate::app::error::AppError;
use crate::http::extract::{ApiJson, bound_text, idempotency, outcome_reply};
use crate::http::problem::{ApiError, Problem};
use crate::http::schema::one_of;
use crate::orders::capture::{CreateOrderRequest, parse_create};
use crate::orders::view::{OrderView, order_view};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use orderly_domain::order::{CancelLine, CancelReason, FieldIssue};
use orderly_domain::values::Sku;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa::openapi::schema::ObjectBuilder;

/// Capture an order. Bad input is refused with every field error at once, unknown or
/// inactive SKUs included.
#[utoipa::path(post, path = "/api/v1/orders", tag = "orders",
    request_body = CreateOrderRequest,
    params(("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Replays the first response for the same key and request")),
    responses(
        (status = 201, description = "Order created", body = OrderView),
        (status = 200, description = "An order with this channel and external_id already exists", body = OrderView),
        (status = 400, description = "Malformed JSON or idempotency key", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Same idempotency key in flight", body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Validation failed, out of stock, or idempotency key reused", body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn create_order(
    State(app): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    body: ApiJson<CreateOrderRequest>,
) -> Result<Response, ApiError> {
    let idem = idempotency(&headers, &principal, "POST", "/api/v1/orders", &body.raw)?;
    let skus: Vec<(usize, Sku)> = body
        .value
        .lines
        .iter()
        .enumerate()
        .filter_map(|(i, l)| Sku::parse(&l.sku).ok().map(|s| (i, s)))
        .collect();
    let input = match parse_create(body.value, &app) {
        Ok(input) => input,
        // One answer names every problem: the catalog's too. A well-formed request has
        // its SKUs checked inside the write instead, against the catalog it reserves from,
        // so placing an order costs no extra read.
        Err(ApiError::App(AppError::Validation(mut issues))) => {
            issues.extend(app.catalog_issues(&skus).await?);
            return Err(AppError::Validation(issues).into());
        }
        Err(e) => return Err(e),
    };
    let origin = crate::http::extract::origin(&principal, &headers);
    let reply = app.place_order(input, idem, origin).await?;
    Ok(outcome_reply(reply))
}

/// An order by id or human number.
#[utoipa::path(get, path = "/api/v1/orders/{id}", tag = "orders",
    params(("id" = String, Path, description = "Order id (ord_…) or number (WEB-1001)")),
    responses((status = 200, body = OrderView), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn get_order(
    State(app): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let order = app.order(&principal.actor(), id).await?;
    let mut res = axum::response::IntoResponse::into_response(Json(order_view(&order)));
    res.headers_mut().insert(
        axum::http::header::ETAG,
        crate::http::extract::etag(order.version),
    );
    Ok(res)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelRequest {
    #[schema(schema_with = reason_schema)]
    pub reason: String,
    #[schema(max_length = 1000)]
    pub note: Option<String>,
    /// Cancel only these units; the whole order when absent. Cancelling every unit
    /// left cancels the order.
    #[schema(min_items = 1, max_items = 100)]
    pub lines: Option<Vec<CancelLineIn>>,
}

/// Units of one line to cancel.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelLineIn {
    #[schema(minimum = 1, maximum = 1000)]
    pub line_no: i64,
    #[schema(minimum = 1, maximum = 1000)]
    pub quantity: i64,
}

/// The reasons a client may give.
fn reason_schema() -> ObjectBuilder {
    one_of(CancelReason::ALL.iter().map(|r| r.as_str()).collect())
}

/// Cancel a whole order before anything shipped, or (with `lines`) some of its units;
/// reservations are released and money voided, reduced or refunded. Send `If-Match`
/// with the order's ETag to refuse a cancellation of a version you did not see.
#[utoipa::path(post, path = "/api/v1/orders/{id}/cancellation", tag = "orders",
    params(("id" = String, Path, description = "Order id or number"),
        ("If-Match" = Option<String>, Header, pattern = "^(\\*|(W/)?\"[0-9]{1,18}\")$", description = "ETag of the order version you read, or `*`"),
        ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Replays the first response for the same key and request")),
    request_body = CancelRequest,
    responses((status = 200, description = "Cancelled (or the units cancelled)", body = OrderView),
        (status = 202, description = "Asked of the warehouses that have the units (`cancellation_request` on the order); done when each accepts", body = OrderView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "illegal_transition (already cancelled), already_shipped (ask for a return instead), cancellation_requested (one waits already)", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "precondition_failed: the order changed since the version If-Match names", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn cancel_order(
    State(app): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: ApiJson<CancelRequest>,
) -> Result<Response, ApiError> {
    let idem = idempotency(
        &headers,
        &principal,
        "POST",
        &format!("/api/v1/orders/{id}/cancellation"),
        &body.raw,
    )?;
    let req = body.value;
    let reason = CancelReason::parse(&req.reason).ok_or_else(|| {
        AppError::Validation(vec![FieldIssue::new(
            "reason",
            "unknown_reason",
            "not a known cancellation reason",
        )])
    })?;
    bound_text("note", req.note.as_deref(), 1000)?;
    let expected = crate::http::extract::if_match(&headers)?;
    let origin = crate::http::extract::origin(&principal, &headers);
    let lines = match req.lines {
        None => None,
        Some(lines) => Some(cancel_lines(&lines)?),
    };
    let action = crate::edits::commands::EditAction::Cancel {
        lines,
        reason,
        note: req.note,
    };
    let author = principal.describe();
    let outcome = app
        .edit_order(id, action, author, expected, idem, origin)
        .await?;
    // A cancellation that waits for the warehouse is accepted, not done.
    let outcome = match outcome {
        crate::app::Outcome::Order(crate::app::Answer::Done, order)
            if order.pending_cancellation().is_some() =>
        {
            crate::app::Outcome::Order(crate::app::Answer::Accepted, order)
        }
        other => other,
    };
    Ok(outcome_reply(outcome))
}

/// The units of a partial cancellation, each line and quantity at least 1.
fn cancel_lines(lines: &[CancelLineIn]) -> Result<Vec<CancelLine>, ApiError> {
    let mut units = Vec::with_capacity(lines.len());
    let mut issues = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        for (field, v) in [("line_no", l.line_no), ("quantity", l.quantity)] {
            if v < 1 {
                issues.push(FieldIssue::new(
                    format!("lines[{i}].{field}"),
                    "must_be_positive",
                    format!("{field} must be at least 1"),
                ));
            }
        }
        if let (Ok(line_no), Ok(quantity)) = (u32::try_from(l.line_no), u32::try_from(l.quantity)) {
            units.push(CancelLine { line_no, quantity });
        }
    }
    if issues.is_empty() {
        Ok(units)
    } else {
        Err(AppError::Validation(issues).into())
    }
}
