//! `/returns` and `/self-service/returns`: requests by staff and by the customer (the
//! order's number and email, nothing else, and throttled per peer), the review, the
//! label, receipt, inspection, resolution and cancellation, and one return (the lists
//! are `list.rs`).
//! Every answer is the return as `view.rs` shows it.

use crate::app::AppState;
use crate::app::auth::Principal;
use crate::app::error::AppError;
use crate::http::extract::{ApiJson, idempotency, origin, required_line, to_json, too_long};
use crate::http::problem::{ApiError, Problem};
use crate::http::throttle::AuthThrottle;
use crate::returns::commands::Requester;
use crate::returns::requests::{
    CancelReturnIn, CreateReturnIn, DecideIn, InspectIn, ReceiveIn, ResolveIn, ReviewIn,
    SelfServiceReturnIn, parse_ask, parse_decisions, parse_inspection,
};
use crate::returns::view::{ReturnView, return_view};
use axum::Extension;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use orderly_domain::order::{FieldIssue, Order, OrderError};
use orderly_domain::values::{Email, Id};
use std::net::SocketAddr;
use std::sync::Arc;

/// The failed-request throttle of the self-service route, apart from the keys' one.
#[derive(Debug)]
pub struct SelfServiceThrottle(pub AuthThrottle);

fn reply(status: StatusCode, order: &Order, id: &Id) -> Result<Response, ApiError> {
    let ret = order
        .return_by_id(id.as_str())
        .ok_or_else(|| AppError::Order(OrderError::UnknownReturn(id.to_string())))?;
    Ok((
        status,
        [(header::CONTENT_TYPE, "application/json")],
        to_json(&return_view(order, ret)),
    )
        .into_response())
}

fn validation(issues: Vec<FieldIssue>) -> Result<(), ApiError> {
    if issues.is_empty() {
        Ok(())
    } else {
        Err(AppError::Validation(issues).into())
    }
}

/// Staff create a return for an order; the policy in force when the order was placed
/// decides: authorized (with a prepaid label, unless the customer ships it), sent to
/// review with the rules that did, or rejected with the rule that did.
#[utoipa::path(post, path = "/api/v1/returns", tag = "returns",
    params(("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Replays the first response for the same key and request")),
    request_body = CreateReturnIn,
    responses((status = 201, body = ReturnView),
        (status = 404, description = "order_not_found", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "validation_failed (unknown_line, repeated_line, quantity_beyond_returnable, not_delivered, unknown_reason, not_a_leaf_reason, unknown_variant, no_return_policy), or out_of_stock: an exchange's replacement cannot be reserved", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn create_return(
    State(app): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    body: ApiJson<CreateReturnIn>,
) -> Result<Response, ApiError> {
    let idem = idempotency(&headers, &principal, "POST", "/api/v1/returns", &body.raw)?;
    let req = body.value;
    validation(
        required_line("order", &req.order, 254)
            .into_iter()
            .collect(),
    )?;
    let input = parse_ask(req.ask(), (req.final_sale_exception, req.window_extension))?;
    let (order, id) = app
        .request_return(
            req.order,
            input,
            Requester::Staff,
            origin(&principal, &headers),
            idem,
        )
        .await?;
    reply(StatusCode::CREATED, &order, &id)
}

/// A customer asks for a return with the order's number and the email it was placed
/// with, and nothing else. A pair that does not match is 404 and shows nothing; a peer
/// that misses too often is answered 429 for a while.
#[utoipa::path(post, path = "/api/v1/self-service/returns", tag = "returns",
    request_body = SelfServiceReturnIn,
    responses((status = 201, body = ReturnView),
        (status = 404, description = "order_not_found: no order with this number and email", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "unsupported_media_type: send the body as application/json", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "authentication_throttled: too many wrong pairs from this address; Retry-After says when to try again", body = Problem, content_type = "application/problem+json")))]
pub async fn self_service_return(
    State(app): State<AppState>,
    Extension(throttle): Extension<Arc<SelfServiceThrottle>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: ApiJson<SelfServiceReturnIn>,
) -> Result<Response, ApiError> {
    let now = app.now();
    throttle
        .0
        .check(peer.ip(), now)
        .map_err(|retry_after_seconds| ApiError::AuthenticationThrottled {
            retry_after_seconds,
        })?;
    let req = body.value;
    let mut issues: Vec<FieldIssue> = required_line("order_number", &req.order_number, 64)
        .into_iter()
        .collect();
    let email = Email::parse(&req.email).ok();
    if email.is_none() {
        issues.push(FieldIssue::new(
            "email",
            "invalid_email",
            "not an email address",
        ));
    }
    validation(issues)?;
    let Some(email) = email else {
        return Err(AppError::Internal("an email refused without an issue".into()).into());
    };
    let input = parse_ask(req.ask(), (false, false))?;
    let origin = crate::app::Origin {
        actor: orderly_domain::actor::Actor::system("self-service"),
        correlation_id: crate::http::extract::correlation_id(&headers),
    };
    // Only an order number, never an id: the customer knows the number.
    let number = req.order_number.clone();
    let result = if number.starts_with("ord_") {
        Err(AppError::Order(OrderError::NotFound))
    } else {
        app.request_return(number, input, Requester::Customer { email }, origin, None)
            .await
    };
    match result {
        Ok((order, id)) => reply(StatusCode::CREATED, &order, &id),
        Err(AppError::Order(OrderError::NotFound)) => {
            throttle.0.record_failure(peer.ip(), now);
            Err(AppError::Order(OrderError::NotFound).into())
        }
        Err(e) => Err(e.into()),
    }
}

/// One return, by id (`rma_…`) or RMA number.
#[utoipa::path(get, path = "/api/v1/returns/{id}", tag = "returns",
    responses((status = 200, body = ReturnView),
        (status = 404, description = "return_not_found", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn get_return(
    State(app): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (order, id) = app.return_with_order(&principal.actor(), id).await?;
    reply(StatusCode::OK, &order, &id)
}

/// A review's answer. Approving needs the role's approval limit (from the policy
/// version that judged the return) to cover the return's value: beyond it, 403 and
/// nothing changes. An approval that sets a rule aside is counted as a policy exception.
#[utoipa::path(post, path = "/api/v1/returns/{id}/authorize", tag = "returns",
    params(("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Replays the first response for the same key and request")),
    request_body = ReviewIn,
    responses((status = 200, body = ReturnView),
        (status = 403, description = "beyond the role's approval limit", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "illegal_return_transition (not in review)", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn authorize_return(
    State(app): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: ApiJson<ReviewIn>,
) -> Result<Response, ApiError> {
    let path = format!("/api/v1/returns/{id}/authorize");
    let idem = idempotency(&headers, &principal, "POST", &path, &body.raw)?;
    let approve = match body.value.decision.as_str() {
        "approve" => true,
        "deny" => false,
        _ => {
            return Err(AppError::Validation(vec![FieldIssue::new(
                "decision",
                "unknown_decision",
                "approve or deny",
            )])
            .into());
        }
    };
    validation(
        too_long("note", body.value.note.as_deref(), 1000)
            .into_iter()
            .collect(),
    )?;
    let (order, id) = app
        .review_return(
            id,
            approve,
            body.value.note.clone(),
            origin(&principal, &headers),
            idem,
        )
        .await?;
    reply(StatusCode::OK, &order, &id)
}

/// Books the prepaid label again for an authorized return whose booking failed.
#[utoipa::path(post, path = "/api/v1/returns/{id}/label", tag = "returns",
    responses((status = 200, body = ReturnView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "illegal_return_transition: no label is due", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn issue_label(
    State(app): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let actor = principal.actor();
    crate::app::auth::authorize(&actor, crate::app::auth::Permission::RequestReturns)?;
    let (order, id) = app.return_with_order(&actor, id).await?;
    let ret = order
        .return_by_id(id.as_str())
        .ok_or_else(|| AppError::Order(OrderError::UnknownReturn(id.to_string())))?;
    if !orderly_domain::order::label_due(ret) {
        return Err(AppError::Order(OrderError::ReturnState {
            rma: ret.rma.clone(),
            state: ret.state,
            doing: "take a new label",
        })
        .into());
    }
    let order = app
        .label_if_due(order, &id, &origin(&principal, &headers))
        .await?;
    reply(StatusCode::OK, &order, &id)
}

/// Books the parcel back to the customer again for rejected units disposed
/// `return_to_customer` whose automatic booking failed (the returns queue shows them as
/// `return_send_back`). A warehouse's or a supervisor's step; the return completes once
/// every such unit has gone.
#[utoipa::path(post, path = "/api/v1/returns/{id}/send-back", tag = "returns",
    responses((status = 200, body = ReturnView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "illegal_return_transition: no unit waits to go back; no_send_back_carrier", body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn send_back(
    State(app): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (order, id) = app
        .send_back_return_items(id, origin(&principal, &headers))
        .await?;
    reply(StatusCode::OK, &order, &id)
}

/// The label of the `n`th parcel (from 1) that took rejected units back to the
/// customer, as a 4x6 inch PDF: from the location to the order's shipping address.
#[utoipa::path(get, path = "/api/v1/returns/{id}/send-backs/{n}/label.pdf", tag = "returns",
    params(("n" = u32, Path, minimum = 1, maximum = 1000, description = "The parcel, from 1")),
    responses((status = 200, description = "The label", content_type = "application/pdf"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "label_not_issued: no such parcel", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn send_back_label_pdf(
    State(app): State<AppState>,
    principal: Principal,
    Path((id, n)): Path<(String, u32)>,
) -> Result<Response, ApiError> {
    let n = usize::try_from(n).unwrap_or(usize::MAX);
    let pdf = app.send_back_label(&principal.actor(), id, n).await?;
    Ok(([(header::CONTENT_TYPE, "application/pdf")], pdf).into_response())
}

/// The return's prepaid label as a 4x6 inch PDF, its Code128 barcode the RMA.
#[utoipa::path(get, path = "/api/v1/returns/{id}/label.pdf", tag = "returns",
    responses((status = 200, description = "The label", content_type = "application/pdf"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "label_not_issued", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn label_pdf(
    State(app): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let pdf = app.return_label(&principal.actor(), id).await?;
    Ok(([(header::CONTENT_TYPE, "application/pdf")], pdf).into_response())
}

/// Records what arrived at a location, by scan (GTIN or SKU per unit): partial receipts
/// are allowed, a unit not on the RMA is kept as an unexpected item, and `close` marks
/// what did not come short. Receiving never forces a refund: the policy's timing does.
#[utoipa::path(post, path = "/api/v1/returns/{id}/receive", tag = "returns",
    params(("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Replays the first response for the same key and request")),
    request_body = ReceiveIn,
    responses((status = 200, body = ReturnView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "already_received, illegal_return_transition", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "unknown_location", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn receive_return(
    State(app): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: ApiJson<ReceiveIn>,
) -> Result<Response, ApiError> {
    let path = format!("/api/v1/returns/{id}/receive");
    let idem = idempotency(&headers, &principal, "POST", &path, &body.raw)?;
    let req = body.value;
    let mut issues: Vec<FieldIssue> = required_line("location_id", &req.location_id, 64)
        .into_iter()
        .collect();
    if req.scans.len() > 1000 {
        issues.push(FieldIssue::new(
            "scans",
            "too_many_scans",
            "at most 1000 scans",
        ));
    }
    for (i, scan) in req.scans.iter().enumerate().take(1000) {
        issues.extend(required_line(&format!("scans[{i}]"), scan, 64));
    }
    validation(issues)?;
    let (order, id) = app
        .receive_return(
            id,
            req.location_id,
            req.scans,
            req.close,
            origin(&principal, &headers),
            idem,
        )
        .await?;
    reply(StatusCode::OK, &order, &id)
}

/// Records the inspection of received units: a condition grade of the policy's, the
/// acceptance, and the disposition, which moves stock (restock into on-hand, quarantine
/// never sellable until released, scrap and return to customer recorded).
#[utoipa::path(post, path = "/api/v1/returns/{id}/inspect", tag = "returns",
    params(("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Replays the first response for the same key and request")),
    request_body = InspectIn,
    responses((status = 200, body = ReturnView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "inspection_refused, unknown_condition", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn inspect_return(
    State(app): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: ApiJson<InspectIn>,
) -> Result<Response, ApiError> {
    let path = format!("/api/v1/returns/{id}/inspect");
    let idem = idempotency(&headers, &principal, "POST", &path, &body.raw)?;
    let items = parse_inspection(&body.value)?;
    let (order, id) = app
        .inspect_return(id, items, origin(&principal, &headers), idem)
        .await?;
    reply(StatusCode::OK, &order, &id)
}

/// Decides the units an inspection left `needs_manual_decision` (they wait in
/// quarantine): accepted or rejected, and where each goes from there, moving its stock.
/// Accepting needs the approval authority for the return's value; until every such unit
/// is decided, a return refunded after inspection waits.
#[utoipa::path(post, path = "/api/v1/returns/{id}/decide", tag = "returns",
    params(("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Replays the first response for the same key and request")),
    request_body = DecideIn,
    responses((status = 200, body = ReturnView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "illegal_return_transition", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "inspection_refused, unknown_return_item", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn decide_return(
    State(app): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: ApiJson<DecideIn>,
) -> Result<Response, ApiError> {
    let path = format!("/api/v1/returns/{id}/decide");
    let idem = idempotency(&headers, &principal, "POST", &path, &body.raw)?;
    let (items, note) = parse_decisions(&body.value)?;
    let (order, id) = app
        .decide_return_items(id, items, note, origin(&principal, &headers), idem)
        .await?;
    reply(StatusCode::OK, &order, &id)
}

/// Settles the return's money now: what its policy pays for the units its timing
/// counts, through the refund path (a refused refund leaves the return
/// `refund_failed`, retried on a schedule, never completed). `waive_fee` and
/// `without_return` set a rule aside: they need the approval authority and are counted.
#[utoipa::path(post, path = "/api/v1/returns/{id}/resolve", tag = "returns",
    params(("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Replays the first response for the same key and request")),
    request_body = ResolveIn,
    responses((status = 200, body = ReturnView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "return_already_resolved, nothing_to_resolve, illegal_return_transition", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "refund_exceeds_captured, refund_exceeds_line", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn resolve_return(
    State(app): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: ApiJson<ResolveIn>,
) -> Result<Response, ApiError> {
    let path = format!("/api/v1/returns/{id}/resolve");
    let idem = idempotency(&headers, &principal, "POST", &path, &body.raw)?;
    let (outcome, id) = app
        .resolve_return(
            id,
            body.value.waive_fee,
            body.value.without_return,
            origin(&principal, &headers),
            idem,
        )
        .await?;
    let order = crate::returns::commands::outcome_order(outcome)?;
    reply(StatusCode::OK, &order, &id)
}

/// Cancels a return not yet received (in review, authorized, or lost); its units may be
/// asked back again.
#[utoipa::path(post, path = "/api/v1/returns/{id}/cancel", tag = "returns",
    params(("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Replays the first response for the same key and request")),
    request_body = CancelReturnIn,
    responses((status = 200, body = ReturnView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "illegal_return_transition", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn cancel_return(
    State(app): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: ApiJson<CancelReturnIn>,
) -> Result<Response, ApiError> {
    let path = format!("/api/v1/returns/{id}/cancel");
    let idem = idempotency(&headers, &principal, "POST", &path, &body.raw)?;
    validation(
        required_line("reason", &body.value.reason, 500)
            .into_iter()
            .collect(),
    )?;
    let (order, id) = app
        .cancel_return(
            id,
            body.value.reason.clone(),
            origin(&principal, &headers),
            idem,
        )
        .await?;
    reply(StatusCode::OK, &order, &id)
}
