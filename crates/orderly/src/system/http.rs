//! Health, configured locations and channels, and API keys.

use crate::app::AppState;
use crate::app::auth::Principal;
use crate::app::error::AppError;
use crate::http::extract::ApiJson;
use crate::http::problem::{ApiError, Problem};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use orderly_domain::actor::Role;
use orderly_domain::order::FieldIssue;
use serde::{Deserialize, Serialize};
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

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateKeyRequest {
    #[schema(schema_with = role_schema)]
    pub role: String,
    #[schema(schema_with = crate::http::schema::required_line::<100>)]
    pub name: String,
}

fn role_schema() -> utoipa::openapi::schema::ObjectBuilder {
    crate::http::schema::one_of(Role::ALL.iter().map(|r| r.as_str()).collect())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedKey {
    pub id: String,
    pub role: String,
    pub name: String,
    /// The secret; shown only in this response.
    pub key: String,
}

/// Create an API key (admin only).
#[utoipa::path(post, path = "/api/v1/api-keys", tag = "system", request_body = CreateKeyRequest,
    responses((status = 201, body = CreatedKey), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn create_api_key(
    State(app): State<AppState>,
    principal: Principal,
    body: ApiJson<CreateKeyRequest>,
) -> Result<Response, ApiError> {
    let r = body.value;
    let role = Role::parse(&r.role).ok_or_else(|| {
        AppError::Validation(vec![FieldIssue::new(
            "role",
            "unknown_role",
            "admin, support, warehouse, finance or integration",
        )])
    })?;
    if let Some(issue) = crate::http::extract::required_line("name", &r.name, 100) {
        return Err(AppError::Validation(vec![issue]).into());
    }
    let (id, key) = app
        .create_key(&principal.actor(), role, r.name.trim())
        .await?;
    let body = CreatedKey {
        id,
        role: role.as_str().into(),
        name: r.name.trim().into(),
        key,
    };
    Ok((StatusCode::CREATED, Json(body)).into_response())
}
