//! Payment providers and the inbound events they send: the `PaymentProvider` trait, the
//! built-in `simulator` (behaves like a real service, test tokens included), and the
//! Standard Webhooks signature check for provider events.

pub mod provider;
pub mod signature;
pub mod simulator;

pub use provider::{OpRequest, PaymentProvider, ProviderAnswer, ProviderError, ProviderResult};
