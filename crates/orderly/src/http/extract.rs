//! Request extractors that turn every kind of bad input into a problem+json answer:
//! bodies (media type, size, syntax, shape), queries and idempotency keys (the bearer
//! key is `credentials.rs`).

use crate::app::auth::Principal;
use crate::app::error::AppError;
use crate::app::{Answer, AppState, Idempotency, Outcome};
use crate::http::problem::ApiError;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use orderly_domain::order::FieldIssue;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

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
                    ApiError::MalformedJson("the body could not be read".into())
                }
            })?;
        let value = parse_json(&raw)?;
        Ok(ApiJson { value, raw })
    }
}

/// Parses a JSON body. A syntax error is a 400 saying where; a body of the wrong shape is
/// a 422 naming the field at fault. Neither quotes serde's message, which would echo
/// what was sent (a whole string value) and name our Rust types. A number with a zero
/// fraction (`3.0`) is taken as the integer it is, as JSON Schema's `integer` (and so the
/// document) counts it.
pub fn parse_json<T: DeserializeOwned>(raw: &[u8]) -> Result<T, ApiError> {
    let mut value: serde_json::Value = serde_json::from_slice(raw).map_err(|e| {
        ApiError::MalformedJson(format!(
            "not valid JSON at line {}, column {}",
            e.line(),
            e.column()
        ))
    })?;
    integral_numbers(&mut value);
    serde_path_to_error::deserialize(value).map_err(|e| {
        ApiError::InvalidBody(shape_issue(&e.path().to_string(), &e.inner().to_string()))
    })
}

/// Rewrites every float with a zero fraction that an `i64` or `u64` holds as that integer.
fn integral_numbers(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Number(n) => {
            if let Some(f) = n.as_f64().filter(|f| n.is_f64() && f.fract() == 0.0) {
                // 2^63 and 2^64 bound what the integer types hold; the casts are exact
                // below them for a float without a fraction.
                if (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&f) {
                    *n = serde_json::Number::from(f as i64);
                } else if (0.0..1.844_674_407_370_955_2e19).contains(&f) {
                    *n = serde_json::Number::from(f as u64);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral_numbers),
        Value::Object(fields) => fields.values_mut().for_each(integral_numbers),
        _ => {}
    }
}

/// At most [`EXCERPT_CHARS`] characters of something a client sent, with control
/// characters replaced, for quoting in an error message: an error never echoes a whole
/// input (a 100 KB name would come back 100 KB long).
pub fn excerpt(s: &str) -> String {
    crate::http::problem::bounded(s, EXCERPT_CHARS)
}

/// How much of an input an error message quotes.
pub const EXCERPT_CHARS: usize = 32;

/// The field-level issue of a value serde refused at `path` (`.` is the whole input),
/// classified from serde's message but worded here.
fn shape_issue(path: &str, serde_message: &str) -> FieldIssue {
    let at = |name: &str| {
        if path == "." {
            name.to_owned()
        } else {
            format!("{path}.{name}")
        }
    };
    let here = if path == "." {
        "body".to_owned()
    } else {
        path.to_owned()
    };
    // serde names the field between backticks: "unknown field `x`, expected …".
    let named = |prefix: &str| {
        serde_message
            .strip_prefix(prefix)
            .and_then(|rest| rest.split('`').next())
            .map(excerpt)
    };
    if serde_message.starts_with("unknown field") {
        // The path already ends with the unknown name, which the client chose.
        FieldIssue::new(
            crate::http::problem::bounded(&here, 100),
            "unknown_field",
            "not a field of this request",
        )
    } else if let Some(name) = named("missing field `") {
        FieldIssue::new(at(&name), "required", "this field is required")
    } else if serde_message.starts_with("invalid type") {
        FieldIssue::new(
            here,
            "invalid_type",
            "the value has the wrong type for this field",
        )
    } else if serde_message.starts_with("invalid length") {
        FieldIssue::new(
            here,
            "invalid_length",
            "the list has the wrong number of items",
        )
    } else {
        FieldIssue::new(here, "invalid_value", "not a valid value for this field")
    }
}

/// The issue of a required one-line text (`http::schema::required_line`): blank, with a
/// control character, or longer than `max_chars` characters (counted as JSON Schema
/// counts them, in characters, not bytes).
pub fn required_line(field: &str, value: &str, max_chars: usize) -> Option<FieldIssue> {
    if value.trim().is_empty() {
        Some(FieldIssue::new(
            field,
            "required",
            format!("{field} is required"),
        ))
    } else if value.chars().any(char::is_control) {
        Some(FieldIssue::new(
            field,
            "invalid_characters",
            "control characters are not allowed here",
        ))
    } else {
        too_long(field, Some(value), max_chars)
    }
}

/// The issue of a required text (`http::schema::required_text`): nothing visible in it,
/// or longer than `max_chars` characters.
pub fn required_text(field: &str, value: &str, max_chars: usize) -> Option<FieldIssue> {
    if !value.chars().any(|c| !c.is_whitespace() && !c.is_control()) {
        Some(FieldIssue::new(
            field,
            "required",
            format!("{field} is required"),
        ))
    } else {
        too_long(field, Some(value), max_chars)
    }
}

/// The issue of a text longer than `max_chars` characters, if it is.
pub fn too_long(field: &str, value: Option<&str>, max_chars: usize) -> Option<FieldIssue> {
    value
        .filter(|v| v.chars().count() > max_chars)
        .map(|_| FieldIssue::new(field, "too_long", format!("at most {max_chars} characters")))
}

/// `too_long` as a refusal of the whole request.
pub fn bound_text(field: &str, value: Option<&str>, max_chars: usize) -> Result<(), ApiError> {
    match too_long(field, value, max_chars) {
        Some(issue) => Err(AppError::Validation(vec![issue]).into()),
        None => Ok(()),
    }
}

/// `too_long` over several fields at once: every field over its bound, in one refusal.
pub fn bound_texts(fields: &[(&str, Option<&str>, usize)]) -> Result<(), ApiError> {
    let issues: Vec<FieldIssue> = fields
        .iter()
        .filter_map(|(field, value, max)| too_long(field, *value, *max))
        .collect();
    if issues.is_empty() {
        Ok(())
    } else {
        Err(AppError::Validation(issues).into())
    }
}

/// Query parameters with problem+json rejections: a 400 naming the parameter at fault.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(ApiQuery)
            .map_err(|e| {
                let issue = shape_issue(&e.path().to_string(), &e.inner().to_string());
                ApiError::InvalidQueryParam(issue)
            })
    }
}

/// The longest path parameter any route takes (an email address can be 254 characters).
pub const MAX_PATH_PARAM_CHARS: usize = 254;

/// Refuses a request whose path parameter is longer than [`MAX_PATH_PARAM_CHARS`] with a
/// 400 naming it, before any handler sees it; so no id, SKU or email in a path is ever
/// looked up, stored or quoted back at any length.
pub async fn bound_path_params(
    params: axum::extract::RawPathParams,
    req: Request,
    next: axum::middleware::Next,
) -> Response {
    match params
        .iter()
        .find(|(_, value)| value.chars().count() > MAX_PATH_PARAM_CHARS)
    {
        Some((name, _)) => ApiError::InvalidPathParam(FieldIssue::new(
            name,
            "too_long",
            format!("at most {MAX_PATH_PARAM_CHARS} characters"),
        ))
        .into_response(),
        None => next.run(req).await,
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
        Outcome::Order(answer, order) => {
            let mut res = json_reply((
                answer_status(answer),
                to_json(&crate::orders::view::order_view(&order)),
            ));
            res.headers_mut().insert(header::ETAG, etag(order.version));
            res
        }
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

/// The version an `If-Match` header names (`"7"` or `W/"7"`, as this API's ETags are);
/// none, or `*` (any current version, RFC 9110 §13.1.1), is no condition.
pub fn if_match(headers: &HeaderMap) -> Result<Option<i64>, ApiError> {
    match headers.get(header::IF_MATCH) {
        None => Ok(None),
        Some(v) if v.as_bytes().trim_ascii() == b"*" => Ok(None),
        Some(v) => v
            .to_str()
            .ok()
            .map(|s| s.trim().trim_start_matches("W/").trim_matches('"'))
            .and_then(|s| s.parse::<i64>().ok())
            .map(Some)
            .ok_or_else(|| {
                AppError::PreconditionFailed("If-Match is not an ETag this API issued".into())
                    .into()
            }),
    }
}

/// The ETag of a version (`"7"`).
pub fn etag(version: u64) -> axum::http::HeaderValue {
    axum::http::HeaderValue::from_str(&format!("\"{version}\""))
        .unwrap_or(axum::http::HeaderValue::from_static("\"0\""))
}

/// Serializes a DTO to JSON bytes (DTOs always serialize).
pub fn to_json<T: serde::Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

/// An optional RFC 3339 time query parameter.
pub fn parse_time(field: &str, v: Option<String>) -> Result<Option<jiff::Timestamp>, ApiError> {
    v.map(|s| {
        s.parse::<jiff::Timestamp>().map_err(|_| {
            ApiError::InvalidQueryParam(FieldIssue::new(
                field,
                "invalid_time",
                "an RFC 3339 time, e.g. 2026-11-22T10:00:00Z",
            ))
        })
    })
    .transpose()
}

/// Keyset cursors are opaque to clients: URL-safe base64 of the last key.
pub fn encode_cursor(key: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key)
}

/// The longest cursor this API issues, as the document declares it.
pub const MAX_CURSOR_CHARS: usize = 256;

pub fn decode_cursor(cursor: &str) -> Result<String, ApiError> {
    use base64::Engine;
    Some(cursor)
        .filter(|c| c.len() <= MAX_CURSOR_CHARS)
        .and_then(|c| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(c)
                .ok()
        })
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(foreign_cursor)
}

/// The key of a page ordered by (time, id): `<milliseconds>|<id>`, for `page_cursor`.
pub fn time_cursor_key(at: jiff::Timestamp, id: &str) -> String {
    format!("{}|{id}", at.as_millisecond())
}

/// The (time, id) a `time_cursor_key` cursor carries.
pub fn decode_time_cursor(cursor: &str) -> Result<(jiff::Timestamp, String), ApiError> {
    let raw = decode_cursor(cursor)?;
    let (ms, id) = raw.split_once('|').ok_or_else(foreign_cursor)?;
    let at = ms
        .parse::<i64>()
        .ok()
        .and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok())
        .ok_or_else(foreign_cursor)?;
    Ok((at, id.to_owned()))
}

/// The refusal of a cursor this API did not issue.
pub fn foreign_cursor() -> ApiError {
    ApiError::InvalidQueryParam(FieldIssue::new(
        "cursor",
        "invalid_cursor",
        "not a cursor this API issued",
    ))
}

/// A query parameter of at most `max_chars` characters, or a 400 naming it.
pub fn bounded_param(
    field: &str,
    value: Option<String>,
    max_chars: usize,
) -> Result<Option<String>, ApiError> {
    match too_long(field, value.as_deref(), max_chars) {
        Some(issue) => Err(ApiError::InvalidQueryParam(issue)),
        None => Ok(value),
    }
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

/// The largest page a list answers (`limit`), as the document declares it.
pub const MAX_PAGE: u32 = 200;

/// Page size: default 50, 1 to [`MAX_PAGE`]. A larger one is refused rather than cut, so
/// a client never mistakes a short page for the whole answer.
pub fn page_limit(limit: Option<u32>) -> Result<u32, ApiError> {
    match limit.unwrap_or(50) {
        n @ 1..=MAX_PAGE => Ok(n),
        _ => Err(ApiError::InvalidQueryParam(FieldIssue::new(
            "limit",
            "out_of_range",
            format!("limit is 1-{MAX_PAGE}"),
        ))),
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
    let event: T = parse_json(body)?;
    if id_of(&event) != id {
        return Err(ApiError::InvalidBody(FieldIssue::new(
            "id",
            "id_mismatch",
            "the event id differs from the webhook-id header",
        )));
    }
    Ok(event)
}
