//! What every answer gets, whichever handler made it (issue 14):
//!
//! - **a correlation id**: the caller's sane `X-Request-Id`, or a fresh one, written back
//!   into the request (so the handler's `extract::correlation_id`, recorded on events,
//!   reads the same value), echoed on the response, and carried by the request's tracing
//!   span, so every log line of the request names it;
//! - **a time limit**: past `server.request_timeout_seconds` the request answers 503
//!   `request_timeout` (a command already handed to the store may still commit, as with
//!   any lost answer; a retry with the same `Idempotency-Key` is safe);
//! - **problem+json on every error**: an error that a framework extractor rendered as
//!   plain text (a body over the size limit read as raw bytes by the signed-webhook
//!   routes, a path that does not decode) is rendered again as problem+json with a
//!   stable code, without the framework's wording;
//! - **security headers**: `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY`,
//!   `Referrer-Policy: no-referrer` and a Content-Security-Policy on every response (the
//!   printable pick list may use its inline style, nothing else), and
//!   `Cache-Control: no-store` unless the handler chose otherwise: answers carry orders,
//!   customers, addresses or stock that changes by the second, and none is worth keeping
//!   in a shared cache.

use crate::http::extract::correlation_id;
use crate::http::problem::ApiError;
use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use std::time::Duration;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The policy of HTML pages: their own inline style, nothing loaded, never framed.
const HTML_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; \
                           frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
/// Everything else is data, never a document.
const DATA_POLICY: &str = "default-src 'none'; frame-ancestors 'none'";

/// Wraps the route table in the layers above (the outermost last).
pub fn layers(router: Router, request_timeout: Duration) -> Router {
    router
        .layer(middleware::from_fn(move |request: Request, next: Next| {
            time_limit(request, next, request_timeout)
        }))
        .layer(middleware::from_fn(problem_for_plain_errors))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            |response: &Response| Some(HeaderValue::from_static(content_policy(response))),
        ))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .layer(middleware::from_fn(correlate))
}

fn content_policy(response: &Response) -> &'static str {
    let html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("text/html"));
    if html { HTML_POLICY } else { DATA_POLICY }
}

/// Makes the request's correlation id the one in its `X-Request-Id` header, and echoes it.
async fn correlate(mut request: Request, next: Next) -> Response {
    let id = correlation_id(request.headers());
    // `correlation_id` keeps only visible ASCII, so the id is always a valid header value.
    let Ok(value) = HeaderValue::from_str(&id) else {
        return next.run(request).await;
    };
    request.headers_mut().insert(REQUEST_ID, value.clone());
    let mut response = next.run(request).await;
    response.headers_mut().insert(REQUEST_ID, value);
    response
}

/// The span every log line of a request is written in. It names the route's template
/// rather than the path, because paths carry personal data (`/customers/{email}/…`).
fn request_span(request: &Request) -> tracing::Span {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("(no route)", MatchedPath::as_str);
    let correlation_id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    tracing::info_span!(
        "request",
        method = %request.method(),
        route,
        correlation_id,
    )
}

async fn time_limit(request: Request, next: Next, limit: Duration) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(seconds = limit.as_secs(), "request timed out");
            ApiError::RequestTimeout.into_response()
        }
    }
}

/// Renders an error answer that is not JSON (axum's plain-text rejections) as
/// problem+json, keeping its status and its other headers (`Allow`, `Retry-After`, …).
async fn problem_for_plain_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let plain = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| v.trim_start().starts_with("text/plain"));
    if !(status.is_client_error() || status.is_server_error()) || !plain {
        return response;
    }
    let mut problem = match status {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
        _ => ApiError::Refused(status),
    }
    .into_response();
    let (parts, _) = response.into_parts();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            problem
                .headers_mut()
                .entry(name)
                .or_insert_with(|| value.clone());
        }
    }
    problem
}
