//! `/fulfillment-orders/{id}/cancel-request/accept|reject`: the warehouse answers a
//! cancellation that reached it after release. Accepting gives the units up (nothing
//! picked, or the picked units put back); when every asked warehouse accepted, the
//! cancellation is carried out in the same transaction. Rejecting (a packed parcel)
//! ends the request and the order stays as it was.

use crate::app::AppState;
use crate::app::auth::Principal;
use crate::app::error::AppError;
use crate::edits::commands::EditAction;
use crate::http::extract::{ApiJson, idempotency, if_match, origin, outcome_reply, required_text};
use crate::http::problem::{ApiError, Problem};
use crate::http::schema::required_text as text_schema;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use orderly_domain::values::Id;
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectCancellationRequest {
    /// Why the units cannot be given up (e.g. the parcel is packed and sealed).
    #[schema(schema_with = text_schema::<500>)]
    pub reason: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptCancellationRequest {}

async fn answer(
    app: &AppState,
    principal: &Principal,
    headers: &HeaderMap,
    (id, path, raw): (String, String, &[u8]),
    rejected: Option<String>,
) -> Result<Response, ApiError> {
    let order_id = crate::fulfillment::queries::order_of_fulfillment(&id)?;
    let idem = idempotency(headers, principal, "POST", &path, raw)?;
    let expected = if_match(headers)?;
    let action = EditAction::AnswerCancellation {
        fulfillment_id: Id::new(id),
        rejected,
    };
    let outcome = app
        .edit_order(
            order_id,
            action,
            principal.describe(),
            expected,
            idem,
            origin(principal, headers),
        )
        .await?;
    Ok(outcome_reply(outcome))
}

/// The warehouse gives the fulfillment order's units up for the cancellation asked of
/// it (nothing picked yet, or the picked units put back into stock).
#[utoipa::path(post, path = "/api/v1/fulfillment-orders/{id}/cancel-request/accept", tag = "fulfillment",
    params(("id" = String, Path, description = "Fulfillment order id (ful_…)"),
        ("If-Match" = Option<String>, Header, pattern = "^(\\*|(W/)?\"[0-9]{1,18}\")$", description = "ETag of the order version you read, or `*`"),
        ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Replays the first response for the same key and request")),
    request_body = AcceptCancellationRequest,
    responses((status = 200, description = "The order: cancelled (or its units) once every warehouse asked accepted", body = crate::orders::view::OrderView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "no_cancellation_request, or illegal_fulfillment_transition (packed: reject instead)", body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn accept_cancellation(
    State(app): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: ApiJson<AcceptCancellationRequest>,
) -> Result<Response, ApiError> {
    let path = format!("/api/v1/fulfillment-orders/{id}/cancel-request/accept");
    answer(&app, &principal, &headers, (id, path, &body.raw), None).await
}

/// The warehouse refuses the cancellation asked of the fulfillment order (it is packed):
/// the request ends and the order stays as it was.
#[utoipa::path(post, path = "/api/v1/fulfillment-orders/{id}/cancel-request/reject", tag = "fulfillment",
    params(("id" = String, Path, description = "Fulfillment order id (ful_…)"),
        ("If-Match" = Option<String>, Header, pattern = "^(\\*|(W/)?\"[0-9]{1,18}\")$", description = "ETag of the order version you read, or `*`"),
        ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Replays the first response for the same key and request")),
    request_body = RejectCancellationRequest,
    responses((status = 200, body = crate::orders::view::OrderView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "no_cancellation_request", body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn reject_cancellation(
    State(app): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: ApiJson<RejectCancellationRequest>,
) -> Result<Response, ApiError> {
    if let Some(issue) = required_text("reason", &body.value.reason, 500) {
        return Err(AppError::Validation(vec![issue]).into());
    }
    let reason = body.value.reason.trim().to_owned();
    let path = format!("/api/v1/fulfillment-orders/{id}/cancel-request/reject");
    answer(
        &app,
        &principal,
        &headers,
        (id, path, &body.raw),
        Some(reason),
    )
    .await
}
