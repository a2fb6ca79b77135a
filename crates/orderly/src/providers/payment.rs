//! The boundary to payment providers. Every call carries an idempotency key derived from
//! our ledger operation, so re-driving an operation whose answer was lost (a timeout, a
//! crash) can never charge twice: the provider answers the same key with the same result.

use futures_util::future::BoxFuture;
use jiff::Timestamp;

/// One operation as the provider sees it.
#[derive(Debug, Clone, Copy)]
pub struct OpRequest<'a> {
    /// Our operation id; the provider's idempotency key.
    pub idempotency_key: &'a str,
    pub payment_id: &'a str,
    /// The customer's single-use instrument token (authorize only).
    pub token: Option<&'a str>,
    /// The provider's reference of the authorization (capture, void and refund).
    pub authorization_reference: Option<&'a str>,
    pub amount_minor: i64,
    pub currency: &'a str,
    /// The time of the call, so expiry is decided by the same (injectable) clock as ours.
    pub now: Timestamp,
}

/// A definite answer from the provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderAnswer {
    Approved {
        reference: String,
        /// When an authorization lapses unless captured (authorize only).
        authorization_expires_at: Option<Timestamp>,
    },
    Declined {
        /// A stable snake_case reason, e.g. `insufficient_funds`, `suspected_fraud`.
        code: String,
        message: String,
    },
}

/// No definite answer: the outcome is unknown and the operation stays pending until the
/// provider's event arrives or a re-drive with the same key gets the answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    #[error("the provider did not answer in time")]
    Timeout,
    #[error("the provider is unavailable: {0}")]
    Unavailable(String),
}

pub type ProviderResult = Result<ProviderAnswer, ProviderError>;

/// A payment service. Implementations must be idempotent per `idempotency_key`.
pub trait PaymentProvider: Send + Sync {
    fn name(&self) -> &str;
    fn authorize<'a>(&'a self, req: OpRequest<'a>) -> BoxFuture<'a, ProviderResult>;
    fn capture<'a>(&'a self, req: OpRequest<'a>) -> BoxFuture<'a, ProviderResult>;
    fn void<'a>(&'a self, req: OpRequest<'a>) -> BoxFuture<'a, ProviderResult>;
    fn refund<'a>(&'a self, req: OpRequest<'a>) -> BoxFuture<'a, ProviderResult>;
    /// Lowers an open authorization by `amount_minor`, keeping the rest open.
    fn reduce<'a>(&'a self, req: OpRequest<'a>) -> BoxFuture<'a, ProviderResult>;
}
