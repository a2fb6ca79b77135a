//! `/api-keys`: creating, listing, revoking and rotating API keys, for an admin key bound
//! to no channel. A marketplace or storefront gets a key bound to its channels, with an
//! expiry if it should not live for ever; a leaked key is revoked (it fails at once on
//! every process) or rotated (a new secret, the old one ending now or after a grace
//! period so the integration can switch without a gap).

use crate::app::AppState;
use crate::app::auth::{KeySpec, NewKey, Principal};
use crate::app::error::AppError;
use crate::http::extract::ApiJson;
use crate::http::problem::{ApiError, Problem};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use orderly_domain::actor::Role;
use orderly_domain::order::FieldIssue;
use orderly_domain::time::rfc3339;
use orderly_store::ApiKeyRow;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The longest grace period a rotation may leave the old secret working: a week.
const MAX_GRACE_MINUTES: u32 = 7 * 24 * 60;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateKeyRequest {
    #[schema(schema_with = role_schema)]
    pub role: String,
    /// What people know the key by, e.g. `marketplace feed`; 1-100 characters.
    #[schema(schema_with = crate::http::schema::required_line::<100>)]
    pub name: String,
    /// Bind the key to these channels: it sees and acts on only their orders, and
    /// anything else is not found. Leave out for every channel.
    #[schema(min_items = 1, max_items = 20)]
    pub channels: Option<Vec<String>>,
    /// RFC 3339; the key stops working at this time.
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
}

fn role_schema() -> utoipa::openapi::schema::ObjectBuilder {
    crate::http::schema::one_of(Role::ALL.iter().map(|r| r.as_str()).collect())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateKeyRequest {
    /// How long the old secret keeps working, in minutes (0-10080); 0 or absent ends it now.
    #[schema(maximum = 10080)]
    pub grace_minutes: Option<u32>,
}

/// A key as an admin sees it; its secret is never shown again after creation.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyView {
    pub id: String,
    pub name: String,
    pub role: String,
    /// The channels the key is bound to; null for every channel.
    pub channels: Option<Vec<String>>,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub revoked_at: Option<String>,
    /// `live`, `expired` or `revoked`.
    pub state: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedKey {
    #[serde(flatten)]
    pub view: KeyView,
    /// The secret; shown only in this response.
    pub key: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KeyList {
    pub data: Vec<KeyView>,
}

fn key_view(k: &ApiKeyRow, now: jiff::Timestamp) -> KeyView {
    let state = if k.revoked_at.is_some() {
        "revoked"
    } else if k.is_live(now) {
        "live"
    } else {
        "expired"
    };
    KeyView {
        id: k.id.clone(),
        name: k.name.clone(),
        role: k.role.as_str().into(),
        channels: k.channels.clone(),
        created_at: rfc3339(k.created_at),
        expires_at: k.expires_at.map(rfc3339),
        revoked_at: k.revoked_at.map(rfc3339),
        state: state.into(),
    }
}

fn created(new: &NewKey, now: jiff::Timestamp) -> Response {
    let body = CreatedKey {
        view: key_view(&new.key, now),
        key: new.secret.clone(),
    };
    (StatusCode::CREATED, Json(body)).into_response()
}

/// Create an API key (an admin key bound to no channel).
#[utoipa::path(post, path = "/api/v1/api-keys", tag = "system", request_body = CreateKeyRequest,
    responses((status = 201, body = CreatedKey),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
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
            "admin, support, supervisor, warehouse, finance or integration",
        )])
    })?;
    let expires_at = r
        .expires_at
        .as_deref()
        .map(|t| {
            t.parse::<jiff::Timestamp>().map_err(|_| {
                AppError::Validation(vec![FieldIssue::new(
                    "expires_at",
                    "invalid_time",
                    "an RFC 3339 time such as 2027-01-31T00:00:00Z",
                )])
            })
        })
        .transpose()?;
    let spec = KeySpec {
        role,
        name: r.name.trim().to_owned(),
        channels: r.channels,
        expires_at,
    };
    let new = app.create_key(&principal.actor(), spec).await?;
    Ok(created(&new, app.now()))
}

/// Every API key, oldest first, without secrets.
#[utoipa::path(get, path = "/api/v1/api-keys", tag = "system",
    responses((status = 200, body = KeyList),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn list_api_keys(
    State(app): State<AppState>,
    principal: Principal,
) -> Result<Json<KeyList>, ApiError> {
    let now = app.now();
    let keys = app.api_keys(&principal.actor()).await?;
    let data = keys.iter().map(|k| key_view(k, now)).collect();
    Ok(Json(KeyList { data }))
}

/// Revoke a key now: it fails at once on every process. Revoking again changes nothing.
#[utoipa::path(post, path = "/api/v1/api-keys/{id}/revoke", tag = "system",
    params(("id" = String, Path, max_length = 64)),
    responses((status = 200, body = KeyView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn revoke_api_key(
    State(app): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<KeyView>, ApiError> {
    let key = app.revoke_key(&principal.actor(), id).await?;
    Ok(Json(key_view(&key, app.now())))
}

/// Rotate a key: a new secret with the same role, name and channels; the old one ends
/// now or after `grace_minutes`.
#[utoipa::path(post, path = "/api/v1/api-keys/{id}/rotate", tag = "system",
    params(("id" = String, Path, max_length = 64)),
    request_body = RotateKeyRequest,
    responses((status = 201, body = CreatedKey),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn rotate_api_key(
    State(app): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    body: ApiJson<RotateKeyRequest>,
) -> Result<Response, ApiError> {
    let grace_minutes = body.value.grace_minutes.unwrap_or(0);
    if grace_minutes > MAX_GRACE_MINUTES {
        return Err(AppError::Validation(vec![FieldIssue::new(
            "grace_minutes",
            "out_of_range",
            "a grace period is 0-10080 minutes (a week)",
        )])
        .into());
    }
    let grace =
        (grace_minutes > 0).then(|| jiff::SignedDuration::from_mins(i64::from(grace_minutes)));
    let new = app.rotate_key(&principal.actor(), id, grace).await?;
    Ok(created(&new, app.now()))
}
