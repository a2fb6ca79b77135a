//! Money and holds on an order (`/orders/{id}/captures`, `/refunds`, `/payments`,
//! `/holds`), signed provider events in (`/payment-events/{provider}`), and store credit
//! per customer (`/customers/{email}/store-credit`).

use crate::app::AppState;
use crate::app::auth::Principal;
use crate::app::error::AppError;
use crate::http::extract::{
    ApiJson, bound_text, bound_texts, excerpt, idempotency, order_reply, origin, outcome_reply,
    signed_event, to_json,
};
use crate::http::problem::{ApiError, Problem};
use crate::http::schema::{one_of, optional_one_of};
use crate::orders::capture::{PaymentIn, currency_schema, parse_payment};
use crate::payments::provider_events::ProviderEvent;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use orderly_domain::order::{
    FieldIssue, HoldChange, HoldReason, MAX_AMOUNT_MINOR, OrderCommand, RequestRefund,
};
use orderly_domain::payment::{RefundLine, RefundMethod, RefundReason};
use orderly_domain::time::rfc3339;
use orderly_domain::values::{Currency, Email, Id};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::schema::ObjectBuilder;

fn field(name: &str, code: &'static str, message: impl Into<String>) -> AppError {
    AppError::Validation(vec![FieldIssue::new(name, code, message)])
}

fn check_note(note: &Option<String>) -> Result<(), ApiError> {
    bound_text("note", note.as_deref(), 1000)
}

/// An amount of money in a request: 1 to 10^13 minor units.
fn check_amount(name: &str, amount: Option<i64>) -> Result<(), ApiError> {
    match amount {
        Some(a) if !(1..=MAX_AMOUNT_MINOR).contains(&a) => Err(ApiError::from(field(
            name,
            "amount_out_of_range",
            format!("{name} is 1 to 10^13 minor units"),
        ))),
        _ => Ok(()),
    }
}

fn refund_reason_schema() -> ObjectBuilder {
    one_of(RefundReason::ALL.iter().map(|r| r.as_str()).collect())
}

fn refund_method_schema() -> ObjectBuilder {
    optional_one_of(RefundMethod::ALL.iter().map(|r| r.as_str()).collect())
}

fn hold_reason_schema() -> ObjectBuilder {
    one_of(HoldReason::ALL.iter().map(|r| r.as_str()).collect())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CaptureRequest {
    /// Minor units; omit to capture everything authorized and not yet captured.
    #[schema(minimum = 1, maximum = 10_000_000_000_000_i64)]
    pub amount: Option<i64>,
}

/// Captures authorized money (split across payments, oldest first). The answer is the
/// provider's: 200 when the money was taken, 202 while it has not answered, 402 when it
/// refused.
#[utoipa::path(post, path = "/api/v1/orders/{id}/captures", tag = "payments",
    params(("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Replays the first response for the same key and request")),
    request_body = CaptureRequest,
    responses((status = 200, body = crate::orders::view::OrderView),
        (status = 202, description = "The provider has not answered yet; the timer worker asks again", body = crate::orders::view::OrderView),
        (status = 402, description = "capture_failed: the provider refused; the order is held and the capture retried on a schedule", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "nothing_to_capture, capture_exceeds_authorized", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn capture(
    State(app): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: ApiJson<CaptureRequest>,
) -> Result<Response, ApiError> {
    let path = format!("/api/v1/orders/{id}/captures");
    let idem = idempotency(&headers, &principal, "POST", &path, &body.raw)?;
    let amount = body.value.amount;
    check_amount("amount", amount)?;
    order_reply(&app, id, idem, &principal, &headers, move |_| {
        Ok(OrderCommand::Capture {
            amount_minor: amount,
        })
    })
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundLineIn {
    /// The order line, from 1.
    #[schema(minimum = 1, maximum = 1000)]
    pub line_no: u32,
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub quantity: u32,
}

/// The most lines one refund names (an order has at most 1000).
const MAX_REFUND_LINES: usize = 1000;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundRequestIn {
    /// Minor units. May be left out when `lines` are given: the refund is then the whole
    /// value of those units (their share of discount and tax included).
    #[schema(minimum = 1, maximum = 10_000_000_000_000_i64)]
    pub amount: Option<i64>,
    #[schema(schema_with = refund_reason_schema)]
    pub reason: String,
    /// `original_payment` (default) or `store_credit`.
    #[schema(schema_with = refund_method_schema)]
    pub method: Option<String>,
    #[serde(default)]
    #[schema(max_items = 1000)]
    pub lines: Vec<RefundLineIn>,
    #[schema(max_length = 1000)]
    pub note: Option<String>,
}

/// Refunds captured money through the provider (or as store credit); split across
/// payments when one does not cover it. A failed part leaves the refund `refund_failed`.
#[utoipa::path(post, path = "/api/v1/orders/{id}/refunds", tag = "payments",
    params(("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Replays the first response for the same key and request")),
    request_body = RefundRequestIn,
    responses((status = 200, body = crate::orders::view::OrderView),
        (status = 202, description = "The provider has not answered yet; the timer worker asks again", body = crate::orders::view::OrderView),
        (status = 402, description = "refund_failed: the provider refused; the refund is retried on a schedule and queued for finance", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "refund_exceeds_captured, refund_exceeds_line, invalid_refund_line, invalid_amount", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn refund(
    State(app): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: ApiJson<RefundRequestIn>,
) -> Result<Response, ApiError> {
    let path = format!("/api/v1/orders/{id}/refunds");
    let idem = idempotency(&headers, &principal, "POST", &path, &body.raw)?;
    let req = body.value;
    let reason = RefundReason::parse(&req.reason)
        .ok_or_else(|| field("reason", "unknown_reason", "not a known refund reason"))?;
    let method = match req.method.as_deref() {
        None => RefundMethod::OriginalPayment,
        Some(m) => RefundMethod::parse(m).ok_or_else(|| {
            field(
                "method",
                "unknown_refund_method",
                "original_payment or store_credit",
            )
        })?,
    };
    check_note(&req.note)?;
    check_amount("amount", req.amount)?;
    if req.lines.len() > MAX_REFUND_LINES {
        return Err(ApiError::from(field(
            "lines",
            "too_many_lines",
            format!("at most {MAX_REFUND_LINES} lines"),
        )));
    }
    for (i, l) in req.lines.iter().enumerate() {
        if !(1..=1000).contains(&l.line_no) {
            return Err(ApiError::from(field(
                &format!("lines[{i}].line_no"),
                "out_of_range",
                "line_no is 1-1000",
            )));
        }
        if !(1..=1_000_000).contains(&l.quantity) {
            return Err(ApiError::from(field(
                &format!("lines[{i}].quantity"),
                "out_of_range",
                "quantity is 1-1,000,000",
            )));
        }
    }
    let cmd = RequestRefund {
        id: Id::new(app.new_id("ref")),
        amount_minor: req.amount,
        reason,
        method,
        lines: req
            .lines
            .iter()
            .map(|l| RefundLine {
                line_no: l.line_no,
                quantity: l.quantity,
                amount_minor: 0,
            })
            .collect(),
        note: req.note,
    };
    order_reply(&app, id, idem, &principal, &headers, move |_| {
        Ok(OrderCommand::Refund(cmd.clone()))
    })
    .await
}

/// Asks again for the part of a refund that failed.
#[utoipa::path(post, path = "/api/v1/orders/{id}/refunds/{refund_id}/retry", tag = "payments",
    params(("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Replays the first response for the same key and request")),
    responses((status = 200, body = crate::orders::view::OrderView),
        (status = 202, description = "The provider has not answered yet; the timer worker asks again", body = crate::orders::view::OrderView),
        (status = 402, description = "refund_failed: the provider refused; the refund is retried on a schedule and queued for finance", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "refund_not_failed", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn retry_refund(
    State(app): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Path((id, refund_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let path = format!("/api/v1/orders/{id}/refunds/{refund_id}/retry");
    let idem = idempotency(&headers, &principal, "POST", &path, b"")?;
    let refund_id = Id::new(refund_id);
    order_reply(&app, id, idem, &principal, &headers, move |_| {
        Ok(OrderCommand::RetryRefund {
            refund_id: refund_id.clone(),
        })
    })
    .await
}

/// Another way to pay, e.g. a new card after a decline; a successful authorization
/// releases the `payment_failed` hold.
#[utoipa::path(post, path = "/api/v1/orders/{id}/payments", tag = "payments",
    params(("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Replays the first response for the same key and request")),
    request_body = PaymentIn,
    responses((status = 200, body = crate::orders::view::OrderView),
        (status = 409, description = "payment_not_needed", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn add_payment(
    State(app): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: ApiJson<PaymentIn>,
) -> Result<Response, ApiError> {
    let path = format!("/api/v1/orders/{id}/payments");
    let idem = idempotency(&headers, &principal, "POST", &path, &body.raw)?;
    let mut issues = Vec::new();
    let choice = parse_payment(&body.value, &app, &mut issues);
    let Some(choice) = choice.filter(|_| issues.is_empty()) else {
        return Err(AppError::Validation(issues).into());
    };
    let outcome = app
        .add_payment(id, idem, origin(&principal, &headers), choice)
        .await?;
    Ok(outcome_reply(outcome))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MarkPaidRequest {
    /// The bank's or courier's reference for the money received.
    #[schema(max_length = 200)]
    pub reference: Option<String>,
}

/// Finance confirms money received for a bank transfer or cash on delivery.
#[utoipa::path(post, path = "/api/v1/orders/{id}/payments/{payment_id}/mark-paid", tag = "payments",
    params(("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Replays the first response for the same key and request")),
    request_body = MarkPaidRequest,
    responses((status = 200, body = crate::orders::view::OrderView),
        (status = 409, description = "already_paid", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn mark_paid(
    State(app): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Path((id, payment)): Path<(String, String)>,
    body: ApiJson<MarkPaidRequest>,
) -> Result<Response, ApiError> {
    let path = format!("/api/v1/orders/{id}/payments/{payment}/mark-paid");
    let idem = idempotency(&headers, &principal, "POST", &path, &body.raw)?;
    bound_text("reference", body.value.reference.as_deref(), 200)?;
    let (payment_id, reference) = (Id::new(payment), body.value.reference);
    order_reply(&app, id, idem, &principal, &headers, move |_| {
        Ok(OrderCommand::MarkPaid {
            payment_id: payment_id.clone(),
            reference: reference.clone(),
        })
    })
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HoldRequest {
    #[schema(schema_with = hold_reason_schema)]
    pub reason: String,
    #[schema(max_length = 1000)]
    pub note: Option<String>,
}

fn hold_reason(s: &str) -> Result<HoldReason, AppError> {
    HoldReason::parse(s)
        .ok_or_else(|| field("reason", "unknown_hold_reason", "not a known hold reason"))
}

/// Places a hold: the order cannot go to the warehouse while any hold is active.
#[utoipa::path(post, path = "/api/v1/orders/{id}/holds", tag = "payments",
    params(("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Replays the first response for the same key and request")),
    request_body = HoldRequest,
    responses((status = 200, body = crate::orders::view::OrderView),
        (status = 409, description = "hold_already_active", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn place_hold(
    State(app): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: ApiJson<HoldRequest>,
) -> Result<Response, ApiError> {
    let path = format!("/api/v1/orders/{id}/holds");
    let idem = idempotency(&headers, &principal, "POST", &path, &body.raw)?;
    let reason = hold_reason(&body.value.reason)?;
    check_note(&body.value.note)?;
    let change = HoldChange {
        reason,
        note: body.value.note,
    };
    order_reply(&app, id, idem, &principal, &headers, move |_| {
        Ok(OrderCommand::PlaceHold(change.clone()))
    })
    .await
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleaseRequest {
    #[schema(max_length = 1000)]
    pub note: Option<String>,
}

/// Releases a hold. Fraud and high-value reviews and failed captures need the finance
/// (or admin) role. Releasing the last review of a channel that captures at
/// authorization captures the money the authorization was holding.
#[utoipa::path(post, path = "/api/v1/orders/{id}/holds/{reason}/release", tag = "payments",
    params(("id" = String, Path, description = "Order id or number"),
        ("reason" = String, Path, description = "The hold's reason", pattern = "^(payment_failed|capture_failed|fraud_review|high_value_review|address_verification|awaiting_return_items|manual)$"),
        ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Replays the first response for the same key and request")),
    request_body = ReleaseRequest,
    responses((status = 200, body = crate::orders::view::OrderView),
        (status = 403, description = "a review hold released without the finance role", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "hold_not_active", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn release_hold(
    State(app): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Path((id, reason)): Path<(String, String)>,
    body: ApiJson<ReleaseRequest>,
) -> Result<Response, ApiError> {
    let reason = hold_reason(&reason)?;
    let path = format!("/api/v1/orders/{id}/holds/{}/release", reason.as_str());
    let idem = idempotency(&headers, &principal, "POST", &path, &body.raw)?;
    check_note(&body.value.note)?;
    let change = HoldChange {
        reason,
        note: body.value.note,
    };
    let config = app.config.clone();
    order_reply(&app, id, idem, &principal, &headers, move |order| {
        Ok(OrderCommand::ReleaseHold {
            hold: change.clone(),
            capture: crate::app::runner::capture_mode(&config, order),
        })
    })
    .await
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventAccepted {
    /// `applied`, `parked` (waits for an earlier event) or `ignored` (already known).
    pub status: String,
}

/// A signed event from a payment provider (Standard Webhooks: `webhook-id`,
/// `webhook-timestamp`, `webhook-signature`). Unsigned, stale or replayed events are
/// refused and change nothing, and so is one whose optional `occurred_at` is more than
/// `payments.max_event_clock_skew_seconds` (300) ahead of Orderly's clock.
#[utoipa::path(post, path = "/api/v1/payment-events/{provider}", tag = "payments",
    params(
        ("provider" = String, Path, max_length = 64, description = "The configured provider, e.g. `simulator`"),
        ("webhook-id" = String, Header, max_length = 200, description = "Standard Webhooks: the event's id, equal to the body's `id`"),
        ("webhook-timestamp" = String, Header, pattern = "^[0-9]{1,12}$", description = "Standard Webhooks: Unix seconds when it was signed"),
        ("webhook-signature" = String, Header, max_length = 2000, description = "Standard Webhooks: `v1,<base64 HMAC-SHA256>`, space-separated"),
    ),
    request_body = ProviderEvent,
    responses((status = 200, body = EventAccepted),
        (status = 401, description = "bad_signature, stale_timestamp", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "duplicate_event", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "validation_failed: `type` names an unknown operation (unknown_operation) or outcome (unknown_outcome), or another operation than the one named (operation_mismatch); `data.idempotency_key` / `data.payment_id` is missing or not ours; `occurred_at` is in the future (in_the_future)", body = Problem, content_type = "application/problem+json")))]
pub async fn payment_event(
    State(app): State<AppState>,
    Path(provider): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let secrets = app
        .payment_event_secrets
        .get(&provider)
        .map_or(&[][..], Vec::as_slice);
    let what = format!("payment provider '{}'", excerpt(&provider));
    let event: ProviderEvent = signed_event(
        &headers,
        &body,
        secrets,
        &what,
        |e: &ProviderEvent| &e.id,
        app.now(),
    )?;
    let d = &event.data;
    bound_texts(&[
        ("id", Some(&event.id), 200),
        ("type", Some(&event.kind), 64),
        ("data.idempotency_key", d.idempotency_key.as_deref(), 200),
        ("data.payment_id", d.payment_id.as_deref(), 200),
        ("data.reference", d.reference.as_deref(), 200),
        ("data.code", d.code.as_deref(), 200),
        ("data.message", d.message.as_deref(), 1000),
    ])?;
    let raw = String::from_utf8_lossy(&body).into_owned();
    let disposition = app.provider_event(provider, event, raw).await?;
    Ok(crate::http::extract::json_reply((
        200,
        to_json(&EventAccepted {
            status: disposition.as_str().to_owned(),
        }),
    )))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StoreCreditEntryOut {
    pub currency: String,
    pub delta: i64,
    pub balance_after: i64,
    /// issue, redeem, refund or void.
    pub reason: String,
    pub order_id: Option<String>,
    pub note: Option<String>,
    pub actor: String,
    pub at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StoreCreditOut {
    pub email: String,
    /// Balance per currency, in minor units.
    pub balances: std::collections::BTreeMap<String, i64>,
    /// The latest 100 changes, newest first.
    pub entries: Vec<StoreCreditEntryOut>,
}

async fn store_credit_view(
    app: &AppState,
    principal: &Principal,
    email: Email,
) -> Result<StoreCreditOut, ApiError> {
    let rows = app.store_credit(&principal.actor(), &email).await?;
    let mut balances = std::collections::BTreeMap::new();
    // Newest first: the first entry seen per currency holds its balance.
    for row in &rows {
        balances
            .entry(row.currency.clone())
            .or_insert(row.balance_after);
    }
    Ok(StoreCreditOut {
        email: email.to_string(),
        balances,
        entries: rows
            .into_iter()
            .map(|r| StoreCreditEntryOut {
                currency: r.currency,
                delta: r.delta_minor,
                balance_after: r.balance_after,
                reason: r.reason,
                order_id: r.order_id,
                note: r.note,
                actor: r.actor,
                at: rfc3339(r.at),
            })
            .collect(),
    })
}

fn parse_email(s: &str) -> Result<Email, AppError> {
    Email::parse(s).map_err(|e| field("email", e.code, e.message))
}

/// A customer's store credit balances and latest changes.
#[utoipa::path(get, path = "/api/v1/customers/{id}/store-credit", tag = "payments",
    params(("id" = String, Path, format = Email, description = "The customer's email address")),
    responses((status = 200, body = StoreCreditOut),
        (status = 422, description = "validation_failed: `email` is not an email address", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn get_store_credit(
    State(app): State<AppState>,
    principal: Principal,
    Path(email): Path<String>,
) -> Result<Response, ApiError> {
    let view = store_credit_view(&app, &principal, parse_email(&email)?).await?;
    Ok(crate::http::extract::json_reply((200, to_json(&view))))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueCreditRequest {
    /// Minor units, positive.
    #[schema(minimum = 1, maximum = 10_000_000_000_000_i64)]
    pub amount: i64,
    #[schema(schema_with = currency_schema)]
    pub currency: String,
    #[schema(max_length = 1000)]
    pub note: Option<String>,
}

/// Issues store credit to a customer (goodwill, a manual refund).
#[utoipa::path(post, path = "/api/v1/customers/{id}/store-credit", tag = "payments",
    params(("id" = String, Path, format = Email, description = "The customer's email address"),
        ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Replays the first response for the same key and request")),
    request_body = IssueCreditRequest,
    responses((status = 201, body = StoreCreditOut)),
    security(("bearer" = [])))]
pub async fn issue_store_credit(
    State(app): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Path(email): Path<String>,
    body: ApiJson<IssueCreditRequest>,
) -> Result<Response, ApiError> {
    let email = parse_email(&email)?;
    let path = format!("/api/v1/customers/{email}/store-credit");
    let idem = idempotency(&headers, &principal, "POST", &path, &body.raw)?;
    let req = body.value;
    let currency =
        Currency::parse(&req.currency).map_err(|e| field("currency", e.code, e.message))?;
    check_note(&req.note)?;
    check_amount("amount", Some(req.amount))?;
    let origin = crate::http::extract::origin(&principal, &headers);
    app.issue_store_credit(&origin, idem, &email, currency, req.amount, req.note)
        .await?;
    let view = store_credit_view(&app, &principal, email).await?;
    Ok(crate::http::extract::json_reply((201, to_json(&view))))
}
