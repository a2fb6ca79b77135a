//! Counting every request and timing it, per route (the route's pattern, such as
//! `/api/v1/orders/{id}`, so the labels stay few whatever the ids), method and status,
//! into the app's metrics. A request no route matched counts as `unmatched`.

use crate::app::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use std::time::Instant;

pub async fn metered(State(app): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = req.method().as_str().to_owned();
    let began = Instant::now();
    let res = next.run(req).await;
    let status = res.status().as_u16().to_string();
    let m = &app.metrics;
    m.count(
        "orderly_http_requests_total",
        &[("route", &route), ("method", &method), ("status", &status)],
        1,
    );
    m.observe(
        "orderly_http_request_duration_seconds",
        &[("route", &route), ("method", &method)],
        began.elapsed().as_secs_f64(),
    );
    res
}
