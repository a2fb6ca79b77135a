//! Health, the OpenAPI document, configured locations and channels, and API keys.

pub mod http;
pub mod keys;
pub mod queries;
