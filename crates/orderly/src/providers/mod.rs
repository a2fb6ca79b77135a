//! The services at Orderly's edge, behind traits so a real one can replace the built-in
//! stand-in: payment providers (the `PaymentProvider` trait and the `simulator`, which
//! behaves like a real service, test tokens included), carriers with their rate tables
//! and labels, and the Standard Webhooks signature check for the events they send us.

pub mod carriers;
pub mod labels;
pub mod payment;
pub mod signature;
pub mod simulator;

pub use payment::{OpRequest, PaymentProvider, ProviderAnswer, ProviderError, ProviderResult};
