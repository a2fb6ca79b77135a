//! Health, configured locations and channels, API keys, and `/metrics`.

use crate::app::AppState;
use crate::app::auth::Principal;
use crate::http::problem::ApiError;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok` or `degraded`.
    pub status: String,
    pub database: String,
    pub version: String,
}

/// Liveness and database reachability; the only endpoint without authentication.
#[utoipa::path(get, path = "/api/v1/health", tag = "system",
    responses((status = 200, body = Health), (status = 503, description = "Database unreachable", body = Health)))]
pub async fn health(State(app): State<AppState>) -> Response {
    let db = app.database_reachable().await;
    let (code, status, database) = match db {
        Ok(()) => (StatusCode::OK, "ok", "ok".to_owned()),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, "degraded", e.to_string()),
    };
    let body = Health {
        status: status.into(),
        database,
        version: env!("CARGO_PKG_VERSION").into(),
    };
    (code, Json(body)).into_response()
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LocationView {
    pub id: String,
    pub name: String,
    pub city: String,
    pub region: Option<String>,
    pub country: String,
    pub latitude: f64,
    pub longitude: f64,
    pub can_ship: bool,
    pub can_pickup: bool,
    pub priority: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LocationList {
    pub data: Vec<LocationView>,
}

/// Configured stock locations.
#[utoipa::path(get, path = "/api/v1/locations", tag = "system", responses((status = 200, body = LocationList)),
    security(("bearer" = [])))]
pub async fn locations(
    State(app): State<AppState>,
    principal: Principal,
) -> Result<Json<LocationList>, ApiError> {
    let data = app
        .locations(&principal.actor())?
        .iter()
        .map(|l| LocationView {
            id: l.id.clone(),
            name: l.name.clone(),
            city: l.address.city.clone(),
            region: l.address.region.clone(),
            country: l.address.country.clone(),
            latitude: l.latitude,
            longitude: l.longitude,
            can_ship: l.can_ship,
            can_pickup: l.can_pickup,
            priority: l.priority,
        })
        .collect();
    Ok(Json(LocationList { data }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChannelView {
    pub id: String,
    pub name: String,
    pub number_prefix: String,
    pub currency: String,
    pub allow_backorders: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChannelList {
    pub data: Vec<ChannelView>,
}

/// Configured sales channels.
#[utoipa::path(get, path = "/api/v1/channels", tag = "system", responses((status = 200, body = ChannelList)),
    security(("bearer" = [])))]
pub async fn channels(
    State(app): State<AppState>,
    principal: Principal,
) -> Result<Json<ChannelList>, ApiError> {
    let data = app
        .channels(&principal.actor())?
        .iter()
        .map(|c| ChannelView {
            id: c.id.clone(),
            name: c.name.clone(),
            number_prefix: c.number_prefix.clone(),
            currency: c.currency.clone(),
            allow_backorders: c.allow_backorders,
        })
        .collect();
    Ok(Json(ChannelList { data }))
}

/// The metrics in Prometheus' text format, for an admin key (when `metrics.listen` does
/// not give them an address of their own).
pub async fn metrics_with_key(
    State(app): State<AppState>,
    principal: crate::app::auth::Principal,
) -> Result<Response, ApiError> {
    crate::app::auth::authorize(
        &principal.actor(),
        crate::app::auth::Permission::ReadMetrics,
    )?;
    metrics_text(&app).await
}

/// The metrics on `metrics.listen`, which only a private network should reach.
pub async fn metrics_open(State(app): State<AppState>) -> Result<Response, ApiError> {
    metrics_text(&app).await
}

async fn metrics_text(app: &AppState) -> Result<Response, ApiError> {
    let text = app.metrics_text().await?;
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response())
}
