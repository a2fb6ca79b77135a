//! The one catalogue of API errors. Every refusal renders as RFC 9457
//! `application/problem+json` with a stable snake_case `code`; internal causes are logged,
//! never sent.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use orderly_domain::inventory::AdjustmentError;
use orderly_domain::order::{FieldIssue, OrderError};
use orderly_store::{Retryable, StoreError};
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

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("missing or invalid API key")]
    Unauthorized,
    #[error("the {role} role may not {action}")]
    Forbidden {
        role: &'static str,
        action: &'static str,
    },
    #[error("{0} not found")]
    NotFound(String),
    #[error("no such endpoint")]
    NoRoute,
    #[error("method not allowed on this endpoint")]
    MethodNotAllowed,
    #[error("the request is invalid")]
    Validation(Vec<FieldIssue>),
    #[error("the body is not valid JSON: {0}")]
    MalformedJson(String),
    #[error("the body does not match the expected shape: {0}")]
    InvalidBody(String),
    #[error("send the body as application/json")]
    UnsupportedMediaType,
    #[error("the body exceeds the configured size limit")]
    PayloadTooLarge,
    #[error("invalid query parameter: {0}")]
    InvalidQuery(String),
    #[error("{0}")]
    InvalidIdempotencyKey(&'static str),
    #[error("this idempotency key was used with a different request")]
    IdempotencyKeyReused,
    #[error("a request with this idempotency key is still being processed; retry later")]
    IdempotencyKeyInFlight,
    #[error("{0}")]
    Order(OrderError),
    /// The provider refused a capture or refund; the failure is recorded on the order.
    #[error("{detail}")]
    PaymentFailed {
        code: &'static str,
        detail: String,
        order_id: String,
        operation_id: String,
    },
    #[error("{0}")]
    Adjustment(AdjustmentError),
    #[error("the resource changed since you read it: {0}")]
    PreconditionFailed(String),
    #[error("{detail}")]
    Conflict { code: &'static str, detail: String },
    #[error("the event's signature does not verify: {1}")]
    BadSignature(&'static str, String),
    #[error("a concurrent change kept winning; retry with the same idempotency key")]
    Contention(String),
    #[error("the service is temporarily unavailable; retry with the same idempotency key")]
    Unavailable(String),
    #[error("an internal error occurred")]
    Internal(String),
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(m) => ApiError::Unavailable(m),
            StoreError::Conflict(m) => ApiError::Contention(m),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl Retryable for ApiError {
    fn is_retryable(&self) -> bool {
        matches!(self, ApiError::Contention(_))
    }
}

impl From<OrderError> for ApiError {
    fn from(e: OrderError) -> Self {
        match e {
            OrderError::Invalid(issues) => ApiError::Validation(issues),
            other => ApiError::Order(other),
        }
    }
}

impl ApiError {
    fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        use ApiError::*;
        match self {
            Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized", "Unauthorized"),
            Forbidden { .. } => (StatusCode::FORBIDDEN, "forbidden", "Forbidden"),
            NotFound(_) => (StatusCode::NOT_FOUND, "not_found", "Not found"),
            NoRoute => (StatusCode::NOT_FOUND, "no_route", "Not found"),
            MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "Method not allowed",
            ),
            Validation(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                "Validation failed",
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
            InvalidQuery(_) => (StatusCode::BAD_REQUEST, "invalid_query", "Invalid query"),
            InvalidIdempotencyKey(_) => (
                StatusCode::BAD_REQUEST,
                "invalid_idempotency_key",
                "Invalid idempotency key",
            ),
            IdempotencyKeyReused => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "Idempotency key reused",
            ),
            IdempotencyKeyInFlight => (
                StatusCode::CONFLICT,
                "idempotency_key_in_flight",
                "Request in flight",
            ),
            Order(e) => match e {
                OrderError::OutOfStock { .. } => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "out_of_stock",
                    "Out of stock",
                ),
                OrderError::NotFound => {
                    (StatusCode::NOT_FOUND, "order_not_found", "Order not found")
                }
                OrderError::AlreadyExists => (StatusCode::CONFLICT, "order_exists", "Order exists"),
                OrderError::IllegalTransition { .. } => (
                    StatusCode::CONFLICT,
                    "illegal_transition",
                    "Illegal transition",
                ),
                OrderError::AlreadyShipped => (
                    StatusCode::CONFLICT,
                    "order_already_shipped",
                    "Order already shipped",
                ),
                OrderError::Invalid(_) => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "validation_failed",
                    "Validation failed",
                ),
                OrderError::UnknownPaymentOp(_)
                | OrderError::UnknownPayment(_)
                | OrderError::UnknownRefund(_)
                | OrderError::UnknownFulfillmentOrder(_) => {
                    (StatusCode::NOT_FOUND, e.code(), "Not found")
                }
                OrderError::ReleaseBlocked(_)
                | OrderError::FulfillmentNotPending(_)
                | OrderError::FulfillmentState { .. }
                | OrderError::PackageAlreadyShipped(_) => {
                    (StatusCode::CONFLICT, e.code(), "Conflict")
                }
                OrderError::UnknownPackage(_) | OrderError::UnknownShipment(_) => {
                    (StatusCode::NOT_FOUND, e.code(), "Not found")
                }
                OrderError::InvalidPick(_)
                | OrderError::EmptyPackage
                | OrderError::InvalidPackage
                | OrderError::ScanNotInOrder(_)
                | OrderError::ScanExceedsPicked(_) => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    e.code(),
                    "Refused by the warehouse checks",
                ),
                OrderError::HoldAlreadyActive(_)
                | OrderError::HoldNotActive(_)
                | OrderError::AlreadyPaid(_)
                | OrderError::PaymentNotNeeded
                | OrderError::NothingToRetry(_) => (StatusCode::CONFLICT, e.code(), "Conflict"),
                OrderError::NothingToCapture
                | OrderError::CaptureExceedsAuthorized { .. }
                | OrderError::RefundExceedsCaptured { .. }
                | OrderError::InvalidAmount
                | OrderError::NotManualPayment(_)
                | OrderError::InvalidRefundLine(_)
                | OrderError::RefundExceedsLine { .. } => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    e.code(),
                    "Payment refused",
                ),
            },
            Adjustment(e) => match e {
                AdjustmentError::StaleCount { .. } => {
                    (StatusCode::CONFLICT, "stale_count", "Stale count")
                }
                AdjustmentError::BelowReserved { .. } => {
                    (StatusCode::CONFLICT, "below_reserved", "Below reserved")
                }
                AdjustmentError::NonPositive | AdjustmentError::ZeroCorrection => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "validation_failed",
                    "Validation failed",
                ),
            },
            Conflict { code, .. } => (StatusCode::CONFLICT, code, "Conflict"),
            PaymentFailed { code, .. } => (
                StatusCode::PAYMENT_REQUIRED,
                code,
                "Payment operation refused",
            ),
            BadSignature(code, _) => (StatusCode::UNAUTHORIZED, code, "Signature rejected"),
            PreconditionFailed(_) => (
                StatusCode::PRECONDITION_FAILED,
                "precondition_failed",
                "Precondition failed",
            ),
            Contention(_) => (
                StatusCode::CONFLICT,
                "concurrent_update",
                "Concurrent update",
            ),
            Unavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "Service unavailable",
            ),
            Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                "Internal error",
            ),
        }
    }

    fn field_errors(&self) -> Vec<FieldError> {
        let issue = |i: &FieldIssue| FieldError {
            field: i.field.clone(),
            code: i.code.to_owned(),
            message: i.message.clone(),
        };
        match self {
            ApiError::Validation(issues) => issues.iter().map(issue).collect(),
            ApiError::Order(OrderError::OutOfStock { lines, .. }) => lines
                .iter()
                .map(|l| FieldError {
                    field: format!("lines[{}].quantity", l.saturating_sub(1)),
                    code: "out_of_stock".into(),
                    message: "not enough stock to reserve this line".into(),
                })
                .collect(),
            ApiError::Adjustment(
                e @ (AdjustmentError::NonPositive | AdjustmentError::ZeroCorrection),
            ) => {
                vec![FieldError {
                    field: "quantity".into(),
                    code: e.code().into(),
                    message: e.to_string(),
                }]
            }
            _ => Vec::new(),
        }
    }

    pub fn problem(&self) -> Problem {
        let (status, code, title) = self.parts();
        Problem {
            type_: format!("urn:orderly:problem:{code}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail: self.to_string(),
            code: code.to_owned(),
            errors: self.field_errors(),
            order_id: match self {
                ApiError::PaymentFailed { order_id, .. } => Some(order_id.clone()),
                _ => None,
            },
            operation_id: match self {
                ApiError::PaymentFailed { operation_id, .. } => Some(operation_id.clone()),
                _ => None,
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            ApiError::Internal(cause) => tracing::error!(%cause, "internal error"),
            ApiError::Unavailable(cause) => tracing::warn!(%cause, "store unavailable"),
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
        if matches!(self, ApiError::Unauthorized) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if matches!(
            self,
            ApiError::Unavailable(_) | ApiError::IdempotencyKeyInFlight | ApiError::Contention(_)
        ) {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}
