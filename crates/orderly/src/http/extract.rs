//! Request extractors that turn every kind of bad input into a problem+json answer:
//! bodies (media type, size, syntax, shape), queries, credentials and idempotency keys.

use crate::app::auth::Principal;
use crate::app::error::AppError;
use crate::app::{Answer, AppState, Idempotency, Outcome};
use crate::http::problem::ApiError;
use crate::http::throttle::{AuthThrottle, key_prefix};
use axum::body::Bytes;
use axum::extract::ConnectInfo;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use std::net::SocketAddr;
use std::sync::Arc;

/// A JSON body, with the raw bytes kept for idempotency hashing.
pub struct ApiJson<T> {
    pub value: T,
    pub raw: Bytes,
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|mime| {
            let mime = mime.trim().to_ascii_lowercase();
            mime == "application/json"
                || (mime.starts_with("application/") && mime.ends_with("+json"))
        })
        .unwrap_or(false)
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(ApiError::UnsupportedMediaType);
        }
        let raw = Bytes::from_request(req, state)
            .await
            .map_err(|e: BytesRejection| {
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::PayloadTooLarge
                } else {
                    ApiError::MalformedJson(e.body_text())
                }
            })?;
        let value = serde_json::from_slice(&raw).map_err(|e| match e.classify() {
            serde_json::error::Category::Data => ApiError::InvalidBody(e.to_string()),
            _ => ApiError::MalformedJson(e.to_string()),
        })?;
        Ok(ApiJson { value, raw })
    }
}

/// Query parameters with problem+json rejections.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(q)| ApiQuery(q))
            .map_err(|e: QueryRejection| ApiError::InvalidQuery(e.body_text()))
    }
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    /// Authenticates the bearer key. A peer that failed too often lately is answered 429
    /// first (`http/throttle.rs`); a presented key that fails is counted and logged with
    /// its prefix and the peer's address, never the secret. A request with no
    /// credential at all is the ordinary 401 challenge and is not counted.
    async fn from_request_parts(
        parts: &mut Parts,
        app: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        let throttle = parts.extensions.get::<Arc<AuthThrottle>>().cloned();
        if let (Some(throttle), Some(peer)) = (&throttle, peer) {
            throttle
                .check(peer, app.now())
                .map_err(|retry_after_seconds| ApiError::AuthenticationThrottled {
                    retry_after_seconds,
                })?;
        }
        let Some(presented) = parts
            .headers
            .get(header::AUTHORIZATION)
            .map(|v| v.to_str().unwrap_or(""))
        else {
            return Err(AppError::Unauthorized.into());
        };
        let token = Some(presented)
            // The scheme name is case-insensitive (RFC 9110 §11.1).
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .filter(|t| !t.is_empty() && t.len() <= 200);
        let result = match token {
            Some(token) => app.keys.authenticate(&app.store, token).await,
            None => Err(AppError::Unauthorized),
        };
        if matches!(result, Err(AppError::Unauthorized)) {
            let failures = match (&throttle, peer) {
                (Some(throttle), Some(peer)) => throttle.record_failure(peer, app.now()),
                _ => 0,
            };
            tracing::warn!(
                key_prefix = %key_prefix(token.unwrap_or(presented)),
                peer = %peer.map_or_else(|| "unknown".to_owned(), |p| p.to_string()),
                failures,
                "authentication failed"
            );
        }
        Ok(result?)
    }
}

/// Reads `Idempotency-Key`: 1-255 visible ASCII characters, scoped to the caller and
/// bound to the exact request (method, path and body bytes).
pub fn idempotency(
    headers: &HeaderMap,
    principal: &Principal,
    method: &str,
    path: &str,
    body: &[u8],
) -> Result<Option<Idempotency>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .filter(|k| !k.is_empty() && k.len() <= 255 && k.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or(ApiError::InvalidIdempotencyKey(
            "Idempotency-Key must be 1-255 visible ASCII characters",
        ))?;
    let mut hash = Sha256::new();
    hash.update(method.as_bytes());
    hash.update(b" ");
    hash.update(path.as_bytes());
    hash.update(b"\n");
    hash.update(body);
    Ok(Some(Idempotency {
        principal: principal.key_id.clone(),
        key: key.to_owned(),
        request_hash: hex::encode(hash.finalize()),
    }))
}

/// The caller's `X-Request-Id` when it is sane, else a fresh one; recorded on events.
pub fn correlation_id(headers: &HeaderMap) -> String {
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string())
}

/// A stored or fresh `(status, JSON bytes)` reply as an HTTP response.
pub fn json_reply((status, body): (u16, Vec<u8>)) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// A command's outcome as an HTTP response; orders are rendered here, off the writer.
pub fn outcome_reply(outcome: Outcome) -> Response {
    match outcome {
        Outcome::Body(answer, body) => json_reply((answer_status(answer), body)),
        Outcome::Order(Answer::PaymentRefused, order) => {
            ApiError::from(payment_failed(&order)).into_response()
        }
        Outcome::Order(answer, order) => json_reply((
            answer_status(answer),
            to_json(&crate::orders::view::order_view(&order)),
        )),
    }
}

/// The HTTP status of a command's answer.
fn answer_status(answer: Answer) -> u16 {
    match answer {
        Answer::Done => StatusCode::OK,
        Answer::Created => StatusCode::CREATED,
        Answer::Accepted => StatusCode::ACCEPTED,
        Answer::PaymentRefused => StatusCode::PAYMENT_REQUIRED,
    }
    .as_u16()
}

/// The problem of a capture or refund the provider refused: the latest such failure on
/// the order (a replay renders the same order version, so the same failure).
fn payment_failed(order: &orderly_domain::order::Order) -> AppError {
    use orderly_domain::payment::{OpKind, OpStatus};
    let failed = order
        .payment_ops
        .iter()
        .filter(|o| {
            o.status == OpStatus::Failed && matches!(o.kind, OpKind::Capture | OpKind::Refund)
        })
        .max_by_key(|o| o.resolved_at);
    let Some(op) = failed else {
        return AppError::Internal(format!("order {} answered 402 without a failure", order.id));
    };
    let (code, what) = match op.kind {
        OpKind::Refund => ("refund_failed", "refund"),
        _ => ("capture_failed", "capture"),
    };
    let next = match op.kind {
        OpKind::Refund => "it is retried on a schedule and listed in the payments exception queue",
        _ => "the order is held (capture_failed) and the capture retried on a schedule",
    };
    AppError::PaymentFailed {
        code,
        detail: format!(
            "the provider refused the {what} of {}: {} ({}); {next}",
            orderly_domain::order::money(op.amount_minor, &order.currency),
            op.failure_message.as_deref().unwrap_or("no reason given"),
            op.failure_code.as_deref().unwrap_or("unknown"),
        ),
        order_id: order.id.to_string(),
        operation_id: op.id.to_string(),
    }
}

/// Serializes a DTO to JSON bytes (DTOs always serialize).
pub fn to_json<T: serde::Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

/// An optional RFC 3339 time query parameter.
pub fn parse_time(field: &str, v: Option<String>) -> Result<Option<jiff::Timestamp>, ApiError> {
    v.map(|s| {
        s.parse::<jiff::Timestamp>()
            .map_err(|_| ApiError::InvalidQuery(format!("{field} must be an RFC 3339 time")))
    })
    .transpose()
}

/// Keyset cursors are opaque to clients: URL-safe base64 of the last key.
pub fn encode_cursor(key: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key)
}

pub fn decode_cursor(cursor: &str) -> Result<String, ApiError> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| ApiError::InvalidQuery("cursor is not one this API issued".into()))
}

/// Cuts a page fetched with one extra row and returns the cursor of its last row.
pub fn page_cursor<T>(rows: &mut Vec<T>, limit: u32, key: impl Fn(&T) -> String) -> Option<String> {
    if rows.len() > limit as usize {
        rows.truncate(limit as usize);
        rows.last().map(|r| encode_cursor(&key(r)))
    } else {
        None
    }
}

/// Page size: default 50, at most 200.
pub fn page_limit(limit: Option<u32>) -> Result<u32, ApiError> {
    match limit.unwrap_or(50) {
        0 => Err(ApiError::InvalidQuery("limit must be at least 1".into())),
        n => Ok(n.min(200)),
    }
}

/// Who is asking (the key's actor) and under which request id.
pub fn origin(principal: &Principal, headers: &HeaderMap) -> crate::app::Origin {
    crate::app::Origin {
        actor: principal.actor(),
        correlation_id: correlation_id(headers),
    }
}

/// Runs a command on an order (by id or number) for the caller, under the request's
/// idempotency key, and answers with the order as it then stands.
pub async fn order_reply<F>(
    app: &AppState,
    order: String,
    idem: Option<Idempotency>,
    principal: &Principal,
    headers: &HeaderMap,
    make: F,
) -> Result<Response, ApiError>
where
    F: Fn(&orderly_domain::order::Order) -> Result<orderly_domain::order::OrderCommand, AppError>
        + Send
        + 'static,
{
    let outcome = app
        .order_command(order, idem, origin(principal, headers), None, make)
        .await?;
    Ok(outcome_reply(outcome))
}

/// Runs a command like `order_reply`, for a handler that answers with the part of the
/// order the command made (a package, a pick) rather than the whole order. A replay under
/// the same key yields the order as the first answer left it, so it answers the same.
pub async fn order_after<F>(
    app: &AppState,
    order: String,
    idem: Option<Idempotency>,
    principal: &Principal,
    headers: &HeaderMap,
    make: F,
) -> Result<orderly_domain::order::Order, ApiError>
where
    F: Fn(&orderly_domain::order::Order) -> Result<orderly_domain::order::OrderCommand, AppError>
        + Send
        + 'static,
{
    match app
        .order_command(order, idem, origin(principal, headers), None, make)
        .await?
    {
        Outcome::Order(_, order) => Ok(*order),
        Outcome::Body(..) => {
            Err(AppError::Internal("an order command answered without its order".into()).into())
        }
    }
}

/// An inbound event signed with Standard Webhooks headers (`webhook-id`,
/// `webhook-timestamp`, `webhook-signature`) by one of `secrets`: verified over the raw
/// body before it is parsed, and its `id` (from `id_of`) must be the signed `webhook-id`.
/// With no secret configured the endpoint does not exist (404 `what`).
pub fn signed_event<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: &[u8],
    secrets: &[crate::providers::signature::Secret],
    what: &str,
    id_of: fn(&T) -> &str,
    now: jiff::Timestamp,
) -> Result<T, ApiError> {
    use crate::providers::signature::verify;
    if secrets.is_empty() {
        return Err(AppError::NotFound(what.to_owned()).into());
    }
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    };
    let id = header("webhook-id");
    verify(
        secrets,
        id,
        header("webhook-timestamp"),
        header("webhook-signature"),
        body,
        now.as_second(),
    )
    .map_err(|e| AppError::BadSignature(e.code(), e.to_string()))?;
    let event: T =
        serde_json::from_slice(body).map_err(|e| ApiError::InvalidBody(e.to_string()))?;
    if id_of(&event) != id {
        return Err(ApiError::InvalidBody(
            "the event id differs from the webhook-id header".into(),
        ));
    }
    Ok(event)
}
