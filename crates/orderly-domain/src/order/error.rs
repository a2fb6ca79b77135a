//! Domain refusals. These are answers ("you can't cancel a shipped order"), not technical
//! failures; each carries a stable code the API shows to clients.

use super::state::OrderState;
use crate::values::Sku;

/// One problem with one field of a request, e.g. `lines[0].quantity` / `must_be_positive`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldIssue {
    pub field: String,
    pub code: &'static str,
    pub message: String,
}

impl FieldIssue {
    pub fn new(field: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        FieldIssue {
            field: field.into(),
            code,
            message: message.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderError {
    #[error("the order is invalid")]
    Invalid(Vec<FieldIssue>),
    #[error("the order already exists")]
    AlreadyExists,
    #[error("the order does not exist")]
    NotFound,
    #[error("not enough stock for {}", skus.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "))]
    OutOfStock { skus: Vec<Sku>, lines: Vec<u32> },
    #[error("an order that is {} cannot become {}", from.as_str(), to.as_str())]
    IllegalTransition { from: OrderState, to: OrderState },
    #[error("the order has shipped units and can no longer be cancelled as a whole")]
    AlreadyShipped,
}

impl OrderError {
    pub fn code(&self) -> &'static str {
        match self {
            OrderError::Invalid(_) => "validation_failed",
            OrderError::AlreadyExists => "order_exists",
            OrderError::NotFound => "order_not_found",
            OrderError::OutOfStock { .. } => "out_of_stock",
            OrderError::IllegalTransition { .. } => "illegal_transition",
            OrderError::AlreadyShipped => "order_already_shipped",
        }
    }
}

/// A stream that cannot be folded: a programming or storage fault, never user input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot apply {event} at version {version}: {reason}")]
pub struct EvolveError {
    pub event: &'static str,
    pub version: u64,
    pub reason: &'static str,
}
