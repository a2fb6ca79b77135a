//! The one catalogue of API errors. Every refusal renders as RFC 9457
//! `application/problem+json` with a stable snake_case `code`; internal causes are logged,
//! never sent.

use crate::app::error::{AppError, ErrorKind};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use orderly_domain::inventory::AdjustmentError;
use orderly_domain::order::{FieldIssue, OrderError};
use orderly_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

/// A field-level validation problem.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FieldError {
    /// Path of the field in the request body, e.g. `lines[0].quantity`.
    pub field: String,
    pub code: String,
    pub message: String,
}

/// RFC 9457 problem details.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable machine-readable error code.
    pub code: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// For a payment operation the provider refused (402): the order, whose state now
    /// shows the failure, and the operation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation_id: Option<String>,
}

/// An application error, or a request the HTTP layer refused before any command ran.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    App(#[from] AppError),
    #[error("no such endpoint")]
    NoRoute,
    #[error("method not allowed on this endpoint")]
    MethodNotAllowed,
    #[error("the body is not valid JSON: {0}")]
    MalformedJson(String),
    #[error("the body does not match the expected shape at {}", .0.field)]
    InvalidBody(FieldIssue),
    #[error("send the body as application/json")]
    UnsupportedMediaType,
    #[error("the body exceeds the configured size limit")]
    PayloadTooLarge,
    #[error("invalid query parameter {}", .0.field)]
    InvalidQueryParam(FieldIssue),
    #[error("invalid path parameter {}", .0.field)]
    InvalidPathParam(FieldIssue),
    #[error("{0}")]
    InvalidIdempotencyKey(&'static str),
    #[error(
        "the request took longer than the server allows; retry it (with the same Idempotency-Key for a write)"
    )]
    RequestTimeout,
    #[error(
        "too many failed authentications from this address; retry after {retry_after_seconds} s"
    )]
    AuthenticationThrottled { retry_after_seconds: u64 },
    /// An error a framework extractor answered in plain text, rendered again (`hygiene.rs`).
    #[error("the request was refused ({0})")]
    Refused(StatusCode),
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::App(e.into())
    }
}

impl From<OrderError> for ApiError {
    fn from(e: OrderError) -> Self {
        ApiError::App(e.into())
    }
}

/// The HTTP status and title of an application error (its code is the application's).
fn app_status(e: &AppError) -> (StatusCode, &'static str) {
    use AppError::*;
    match e {
        Unauthorized => (StatusCode::UNAUTHORIZED, "Unauthorized"),
        Forbidden { .. } => (StatusCode::FORBIDDEN, "Forbidden"),
        NotFound(_) => (StatusCode::NOT_FOUND, "Not found"),
        Validation(_) => (StatusCode::UNPROCESSABLE_ENTITY, "Validation failed"),
        IdempotencyKeyReused => (StatusCode::UNPROCESSABLE_ENTITY, "Idempotency key reused"),
        IdempotencyKeyInFlight => (StatusCode::CONFLICT, "Request in flight"),
        Order(e) => order_status(e),
        Adjustment { error, .. } => match error {
            AdjustmentError::StaleCount { .. } => (StatusCode::CONFLICT, "Stale count"),
            AdjustmentError::BelowReserved { .. } => (StatusCode::CONFLICT, "Below reserved"),
            AdjustmentError::NonPositive
            | AdjustmentError::ZeroCorrection
            | AdjustmentError::AboveMaximum { .. } => {
                (StatusCode::UNPROCESSABLE_ENTITY, "Validation failed")
            }
        },
        Conflict { .. } => (StatusCode::CONFLICT, "Conflict"),
        PaymentFailed { .. } => (StatusCode::PAYMENT_REQUIRED, "Payment operation refused"),
        BadSignature(..) => (StatusCode::UNAUTHORIZED, "Signature rejected"),
        PreconditionFailed(_) => (StatusCode::PRECONDITION_FAILED, "Precondition failed"),
        Contention(_) => (StatusCode::CONFLICT, "Concurrent update"),
        Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "Service unavailable"),
        Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "Internal error"),
    }
}

fn order_status(e: &OrderError) -> (StatusCode, &'static str) {
    use OrderError::*;
    match e {
        OutOfStock { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "Out of stock"),
        NotFound => (StatusCode::NOT_FOUND, "Order not found"),
        AlreadyExists => (StatusCode::CONFLICT, "Order exists"),
        IllegalTransition { .. } => (StatusCode::CONFLICT, "Illegal transition"),
        AlreadyShipped => (StatusCode::CONFLICT, "Order already shipped"),
        Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, "Validation failed"),
        UnknownPaymentOp(_)
        | UnknownPayment(_)
        | UnknownRefund(_)
        | UnknownFulfillmentOrder(_)
        | UnknownPackage(_)
        | UnknownShipment(_) => (StatusCode::NOT_FOUND, "Not found"),
        ReleaseBlocked(_)
        | FulfillmentNotPending(_)
        | FulfillmentState { .. }
        | PackageAlreadyShipped(_)
        | HoldAlreadyActive(_)
        | HoldNotActive(_)
        | AlreadyPaid(_)
        | PaymentNotNeeded
        | NothingToRetry(_) => (StatusCode::CONFLICT, "Conflict"),
        InvalidPick(_) | EmptyPackage | InvalidPackage | ScanNotInOrder(_)
        | ScanExceedsPicked(_) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "Refused by the warehouse checks",
        ),
        NothingToCapture
        | CaptureExceedsAuthorized { .. }
        | RefundExceedsCaptured { .. }
        | InvalidAmount
        | NotManualPayment(_)
        | InvalidRefundLine(_)
        | RefundExceedsLine { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "Payment refused"),
        FreeOrderNotAllowed => (StatusCode::UNPROCESSABLE_ENTITY, "Free order not allowed"),
        UnknownReturn(_) | UnknownReturnItem { .. } => (StatusCode::NOT_FOUND, "Not found"),
        ReturnState { .. }
        | AlreadyReceived { .. }
        | ReturnAlreadyResolved(_)
        | NothingToResolve(_) => (StatusCode::CONFLICT, "Conflict"),
        ReturnQuantity { .. } | InspectionRefused { .. } => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "Refused by the return checks",
        ),
        UnknownEdit(_) => (StatusCode::NOT_FOUND, "Not found"),
        EditOpen(_) | EditClosed(_) | EditNotAllowed(_) | PaymentInFlight(_) => {
            (StatusCode::CONFLICT, "Edit refused")
        }
        CancellationPending(_) | NoCancellationRequest(_) => {
            (StatusCode::CONFLICT, "Cancellation requested")
        }
        EditEmptiesOrder | NothingToEdit => (StatusCode::UNPROCESSABLE_ENTITY, "Edit refused"),
    }
}

/// The stable code of a plain-text framework error, by its status.
fn refused_code(status: StatusCode) -> &'static str {
    match status.as_u16() {
        404 => "no_route",
        405 => "method_not_allowed",
        408 => "request_timeout",
        411 => "length_required",
        413 => "payload_too_large",
        414 => "uri_too_long",
        415 => "unsupported_media_type",
        422 => "invalid_body",
        431 => "headers_too_large",
        500..=599 => "internal",
        _ => "bad_request",
    }
}

impl ApiError {
    fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        use ApiError::*;
        match self {
            App(e) => {
                let (status, title) = app_status(e);
                (status, e.code(), title)
            }
            NoRoute => (StatusCode::NOT_FOUND, "no_route", "Not found"),
            MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "Method not allowed",
            ),
            MalformedJson(_) => (StatusCode::BAD_REQUEST, "malformed_json", "Malformed JSON"),
            InvalidBody(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_body",
                "Invalid request body",
            ),
            UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Unsupported media type",
            ),
            PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "Payload too large",
            ),
            InvalidQueryParam(_) => (StatusCode::BAD_REQUEST, "invalid_query", "Invalid query"),
            InvalidPathParam(_) => (
                StatusCode::BAD_REQUEST,
                "invalid_path_parameter",
                "Invalid path parameter",
            ),
            InvalidIdempotencyKey(_) => (
                StatusCode::BAD_REQUEST,
                "invalid_idempotency_key",
                "Invalid idempotency key",
            ),
            RequestTimeout => (
                StatusCode::SERVICE_UNAVAILABLE,
                "request_timeout",
                "Request timeout",
            ),
            AuthenticationThrottled { .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                "authentication_throttled",
                "Too many failed authentications",
            ),
            Refused(status) => (
                *status,
                refused_code(*status),
                status.canonical_reason().unwrap_or("Refused"),
            ),
        }
    }

    fn field_issues(&self) -> Vec<FieldIssue> {
        match self {
            ApiError::App(e) => e.field_issues(),
            ApiError::InvalidBody(issue)
            | ApiError::InvalidQueryParam(issue)
            | ApiError::InvalidPathParam(issue) => {
                vec![issue.clone()]
            }
            _ => Vec::new(),
        }
    }

    fn app(&self) -> Option<&AppError> {
        match self {
            ApiError::App(e) => Some(e),
            _ => None,
        }
    }

    pub fn problem(&self) -> Problem {
        let (status, code, title) = self.parts();
        let payment = match self.app() {
            Some(AppError::PaymentFailed {
                order_id,
                operation_id,
                ..
            }) => Some((order_id.clone(), operation_id.clone())),
            _ => None,
        };
        Problem {
            type_: format!("urn:orderly:problem:{code}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail: bounded(&self.to_string(), MAX_MESSAGE_CHARS),
            code: code.to_owned(),
            errors: self
                .field_issues()
                .iter()
                .map(|i| FieldError {
                    field: bounded(&i.field, MAX_FIELD_CHARS),
                    code: i.code.to_owned(),
                    message: bounded(&i.message, MAX_MESSAGE_CHARS),
                })
                .collect(),
            order_id: payment.as_ref().map(|p| p.0.clone()),
            operation_id: payment.map(|p| p.1),
        }
    }
}

/// The longest `detail` or field `message` a problem carries, and the longest field path.
/// Messages are written to quote only short excerpts of what was sent
/// (`extract::excerpt`); this is the backstop, so that no error ever echoes a whole input.
const MAX_MESSAGE_CHARS: usize = 300;
const MAX_FIELD_CHARS: usize = 100;

/// `s` cut to `max` characters, control characters replaced.
pub fn bounded(s: &str, max: usize) -> String {
    let mut out: String = s
        .chars()
        .take(max)
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect();
    if s.chars().nth(max).is_some() {
        out.push('…');
    }
    out
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self.app() {
            Some(AppError::Internal(cause)) => tracing::error!(%cause, "internal error"),
            Some(AppError::Unavailable(cause)) => tracing::warn!(%cause, "store unavailable"),
            _ => {}
        }
        let problem = self.problem();
        let status =
            StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut response = (status, body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if matches!(self.app(), Some(AppError::Unauthorized)) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if self.app().is_some_and(|e| e.kind() == ErrorKind::Transient)
            || matches!(self, ApiError::RequestTimeout)
        {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        if let ApiError::AuthenticationThrottled {
            retry_after_seconds,
        } = self
        {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_seconds));
        }
        response
    }
}
