//! `/returns` and `/self-service/returns`: requests by staff and by the customer (the
//! order's number and email, nothing else, and throttled per peer), the review, the
//! label, receipt, inspection, resolution and cancellation, one return and the list.
//! Every answer is the return as `view.rs` shows it.

use crate::app::AppState;
use crate::app::auth::Principal;
use crate::app::error::AppError;
use crate::http::extract::{
    ApiJson, ApiQuery, bounded_param, decode_cursor, foreign_cursor, idempotency, origin,
    page_cursor, page_limit, parse_time, required_line, to_json, too_long,
};
use crate::http::problem::{ApiError, Problem};
use crate::http::schema::one_of;
use crate::http::throttle::AuthThrottle;
use crate::returns::commands::Requester;
use crate::returns::requests::{
    CancelReturnIn, CreateReturnIn, InspectIn, ReceiveIn, ResolveIn, ReviewIn, SelfServiceReturnIn,
    parse_ask, parse_inspection,
};
use crate::returns::view::{ReturnView, return_view};
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use orderly_domain::order::{FieldIssue, Order, OrderError};
use orderly_domain::returns::ReturnState;
use orderly_domain::time::rfc3339;
use orderly_domain::values::{Email, Id};
use orderly_store::ReturnFilter;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::sync::Arc;
use utoipa::openapi::schema::ObjectBuilder;
use utoipa::{IntoParams, ToSchema};

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
    let before = match q.cursor.as_deref() {
        None => None,
        Some(c) => {
            let raw = decode_cursor(c)?;
            let (ms, id) = raw.split_once('|').ok_or_else(foreign_cursor)?;
            let at = ms
                .parse::<i64>()
                .ok()
                .and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok())
                .ok_or_else(foreign_cursor)?;
            Some((at, id.to_owned()))
        }
    };
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
        format!("{}|{id}", at.as_millisecond())
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
#[utoipa::path(get, path = "/api/v1/customers/{email}/returns", tag = "returns",
    params(("email" = String, Path, format = Email, description = "The customer's email address")),
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
