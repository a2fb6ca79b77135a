//! What a command or query can answer besides its result. The application owns these
//! errors so every interface renders the same refusal: the JSON API as problem+json with
//! a status, the console as a form message, the CLI as a line on stderr. A *refusal* is
//! the caller's to fix (it carries a stable snake_case code); a *failure* is ours (a
//! store that is down, a race that kept losing, a bug) and its cause is logged, not shown.

use orderly_domain::inventory::AdjustmentError;
use orderly_domain::order::{FieldIssue, OrderError};
use orderly_store::{Retryable, StoreError};

/// Whether the caller can do something about an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The request is wrong for the state it met: fix it, or do something else.
    Refusal,
    /// The same request may succeed later (contention, an unavailable store).
    Transient,
    /// Something broke on our side.
    Internal,
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("missing or invalid API key")]
    Unauthorized,
    #[error("the {role} role may not {action}")]
    Forbidden {
        role: &'static str,
        action: &'static str,
    },
    #[error("{0} not found")]
    NotFound(String),
    #[error("the request is invalid")]
    Validation(Vec<FieldIssue>),
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
    /// A stock adjustment refused; `field` is the request field carrying its number.
    #[error("{error}")]
    Adjustment {
        error: AdjustmentError,
        field: &'static str,
    },
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

impl AppError {
    /// The error as a command line prints it: its message and each field's problem.
    pub fn explain(self) -> anyhow::Error {
        let issues: Vec<String> = self
            .field_issues()
            .into_iter()
            .map(|i| format!("{}: {}", i.field, i.message))
            .collect();
        if issues.is_empty() {
            anyhow::anyhow!("{self}")
        } else {
            anyhow::anyhow!("{self}: {}", issues.join("; "))
        }
    }

    /// A refusal, something to retry, or our fault.
    pub fn kind(&self) -> ErrorKind {
        match self {
            AppError::Contention(_)
            | AppError::Unavailable(_)
            | AppError::IdempotencyKeyInFlight => ErrorKind::Transient,
            AppError::Internal(_) => ErrorKind::Internal,
            _ => ErrorKind::Refusal,
        }
    }

    /// The stable code every interface shows (and clients match on).
    pub fn code(&self) -> &'static str {
        use AppError::*;
        match self {
            Unauthorized => "unauthorized",
            Forbidden { .. } => "forbidden",
            NotFound(_) => "not_found",
            Validation(_) => "validation_failed",
            IdempotencyKeyReused => "idempotency_key_reused",
            IdempotencyKeyInFlight => "idempotency_key_in_flight",
            Order(e) => e.code(),
            PaymentFailed { code, .. } | Conflict { code, .. } | BadSignature(code, _) => code,
            Adjustment { error, .. } => match error {
                AdjustmentError::StaleCount { .. } => "stale_count",
                AdjustmentError::BelowReserved { .. } => "below_reserved",
                AdjustmentError::NonPositive
                | AdjustmentError::ZeroCorrection
                | AdjustmentError::AboveMaximum { .. } => "validation_failed",
            },
            PreconditionFailed(_) => "precondition_failed",
            Contention(_) => "concurrent_update",
            Unavailable(_) => "unavailable",
            Internal(_) => "internal_error",
        }
    }

    /// The per-field problems of a refused request (empty when it is not about fields).
    pub fn field_issues(&self) -> Vec<FieldIssue> {
        match self {
            AppError::Validation(issues) => issues.clone(),
            AppError::Order(OrderError::OutOfStock { lines, .. }) => lines
                .iter()
                .map(|l| {
                    FieldIssue::new(
                        format!("lines[{}].quantity", l.saturating_sub(1)),
                        "out_of_stock",
                        "not enough stock to reserve this line",
                    )
                })
                .collect(),
            AppError::Adjustment {
                error:
                    e @ (AdjustmentError::NonPositive
                    | AdjustmentError::ZeroCorrection
                    | AdjustmentError::AboveMaximum { .. }),
                field,
            } => vec![FieldIssue::new(*field, e.code(), e.to_string())],
            _ => Vec::new(),
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(m) => AppError::Unavailable(m),
            StoreError::Conflict(m) => AppError::Contention(m),
            other => AppError::Internal(other.to_string()),
        }
    }
}

impl Retryable for AppError {
    fn is_retryable(&self) -> bool {
        matches!(self, AppError::Contention(_))
    }
}

impl From<OrderError> for AppError {
    fn from(e: OrderError) -> Self {
        match e {
            OrderError::Invalid(issues) => AppError::Validation(issues),
            other => AppError::Order(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_failures_and_transients_are_told_apart() {
        assert_eq!(AppError::NotFound("x".into()).kind(), ErrorKind::Refusal);
        assert_eq!(
            AppError::Contention("x".into()).kind(),
            ErrorKind::Transient
        );
        assert_eq!(AppError::Internal("x".into()).kind(), ErrorKind::Internal);
        let store: AppError = StoreError::Unavailable("down".into()).into();
        assert_eq!(store.kind(), ErrorKind::Transient);
        assert_eq!(store.code(), "unavailable");
    }

    #[test]
    fn an_invalid_order_is_a_validation_refusal_with_its_fields() {
        let e: AppError =
            OrderError::Invalid(vec![FieldIssue::new("lines", "required", "add a line")]).into();
        assert_eq!(e.code(), "validation_failed");
        assert_eq!(e.field_issues().len(), 1);
    }
}
