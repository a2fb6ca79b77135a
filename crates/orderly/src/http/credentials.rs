//! Who is asking: the bearer key of a request, authenticated by the application, with
//! failed keys counted per peer and logged (`throttle.rs`). Kept apart from the body and
//! query extractors because it is the one extractor that reads the store and the clock.

use crate::app::AppState;
use crate::app::auth::Principal;
use crate::app::error::AppError;
use crate::http::problem::ApiError;
use crate::http::throttle::{AuthThrottle, key_prefix};
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use std::net::SocketAddr;
use std::sync::Arc;

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    /// Authenticates the bearer key. A request with no credential at all is the ordinary
    /// 401 challenge, never counted nor throttled (it costs no lookup). A peer that
    /// failed too often lately is answered 429 before its key is read
    /// (`http/throttle.rs`); a presented key that fails is counted and logged with its
    /// prefix and the peer's address, never the secret.
    async fn from_request_parts(
        parts: &mut Parts,
        app: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        let Some(presented) = parts
            .headers
            .get(header::AUTHORIZATION)
            .map(|v| v.to_str().unwrap_or(""))
        else {
            return Err(AppError::Unauthorized.into());
        };
        let throttle = parts.extensions.get::<Arc<AuthThrottle>>().cloned();
        if let (Some(throttle), Some(peer)) = (&throttle, peer) {
            throttle
                .check(peer, app.now())
                .map_err(|retry_after_seconds| ApiError::AuthenticationThrottled {
                    retry_after_seconds,
                })?;
        }
        let token = Some(presented)
            // The scheme name is case-insensitive (RFC 9110 §11.1).
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .filter(|t| !t.is_empty() && t.len() <= 200);
        let result = match token {
            Some(token) => app.authenticate(token).await,
            None => Err(AppError::Unauthorized),
        };
        if matches!(result, Err(AppError::Unauthorized)) {
            let failures = match (&throttle, peer) {
                (Some(throttle), Some(peer)) => throttle.record_failure(peer, app.now()),
                _ => 0,
            };
            tracing::warn!(
                key_prefix = %key_prefix(token.unwrap_or(presented)),
                peer = %peer.map_or_else(|| "unknown".to_owned(), |p| p.to_string()),
                failures,
                "authentication failed"
            );
        }
        Ok(result?)
    }
}
