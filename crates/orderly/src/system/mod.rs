//! Health, the OpenAPI document, configured locations and channels, API keys, and the
//! Prometheus metrics.

pub mod http;
pub mod keys;
pub mod metrics;
pub mod queries;
