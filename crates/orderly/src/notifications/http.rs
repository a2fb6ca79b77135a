//! `/orders/{id}/messages`, the template preview and the customer's notification
//! preferences.

use crate::app::AppState;
use crate::app::auth::Principal;
use crate::http::extract::ApiJson;
use crate::http::problem::{ApiError, Problem};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use orderly_domain::time::rfc3339;
use orderly_store::{MessageContent, MessageRow};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A customer message and where it stands.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageView {
    pub id: String,
    pub template: String,
    /// `transactional` or `follow_up`.
    pub category: String,
    pub recipient: String,
    /// The public event that sent it (none for a resend made by hand).
    pub event_id: Option<String>,
    pub event_type: Option<String>,
    /// `database` or `smtp`.
    pub transport: String,
    /// `pending`, `sent`, `dead` (gave up: see the `deliveries` exception queue) or
    /// `suppressed` (held back on purpose: `last_error` says why).
    pub status: String,
    pub attempts: i64,
    /// When a pending message is (re)tried.
    pub next_attempt_at: Option<String>,
    /// What was (or will be) sent; empty until it is rendered, on its first attempt.
    pub language: Option<String>,
    pub subject: Option<String>,
    pub text: Option<String>,
    pub html: Option<String>,
    pub last_error: Option<String>,
    /// The message this one sends again.
    pub resend_of: Option<String>,
    pub created_by: String,
    pub created_at: String,
    pub sent_at: Option<String>,
}

pub fn message_view(m: MessageRow) -> MessageView {
    let (language, subject, text, html) = match m.content {
        Some(c) => (
            Some(c.language),
            Some(c.subject),
            Some(c.text),
            Some(c.html),
        ),
        None => (None, None, None, None),
    };
    MessageView {
        next_attempt_at: (m.status == "pending").then(|| rfc3339(m.next_at)),
        id: m.id,
        template: m.template,
        category: m.category,
        recipient: m.recipient,
        event_id: m.event_id,
        event_type: m.event_type,
        transport: m.transport,
        status: m.status,
        attempts: m.attempts,
        language,
        subject,
        text,
        html,
        last_error: m.last_error,
        resend_of: m.resend_of,
        created_by: m.created_by,
        created_at: rfc3339(m.created_at),
        sent_at: m.sent_at.map(rfc3339),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MessageList {
    pub data: Vec<MessageView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Preview {
    pub template: String,
    pub language: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreferencesRequest {
    /// Whether the customer takes follow-up messages (a review request after delivery).
    pub follow_ups: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Preferences {
    pub email: String,
    pub follow_ups: bool,
}

/// The customer messages of an order, oldest first, with what each said and its status.
#[utoipa::path(get, path = "/api/v1/orders/{id}/messages", tag = "notifications",
    params(("id" = String, Path, description = "Order id or number")),
    responses((status = 200, body = MessageList),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn list_messages(
    State(app): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<MessageList>, ApiError> {
    let rows = app.order_messages(&principal.actor(), id).await?;
    Ok(Json(MessageList {
        data: rows.into_iter().map(message_view).collect(),
    }))
}

/// A template rendered for the order as it stands now.
#[utoipa::path(get, path = "/api/v1/orders/{id}/notifications/{template}/preview", tag = "notifications",
    params(("id" = String, Path, description = "Order id or number"),
        ("template" = String, Path, max_length = 64, description = "A template name, e.g. `shipping_confirmation`")),
    responses((status = 200, body = Preview),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn preview(
    State(app): State<AppState>,
    principal: Principal,
    Path((id, template)): Path<(String, String)>,
) -> Result<Json<Preview>, ApiError> {
    let MessageContent {
        language,
        subject,
        text,
        html,
    } = app
        .preview_message(&principal.actor(), id, template.clone())
        .await?;
    Ok(Json(Preview {
        template,
        language,
        subject,
        text,
        html,
    }))
}

/// Send a message again: a new message with the same words, sent through the current
/// transport; the original stays as it was.
#[utoipa::path(post, path = "/api/v1/orders/{id}/messages/{message_id}/resend", tag = "notifications",
    params(("id" = String, Path, description = "Order id or number"),
        ("message_id" = String, Path, max_length = 64)),
    responses((status = 202, body = MessageView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn resend(
    State(app): State<AppState>,
    principal: Principal,
    Path((id, message_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let m = app
        .resend_message(&principal.actor(), id, message_id)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(message_view(m))).into_response())
}

/// Whether a customer takes follow-up messages.
#[utoipa::path(get, path = "/api/v1/customers/{id}/notification-preferences", tag = "notifications",
    params(("id" = String, Path, format = Email, description = "The customer's email address")),
    responses((status = 200, body = Preferences),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "validation_failed (invalid_email)", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn get_preferences(
    State(app): State<AppState>,
    principal: Principal,
    Path(email): Path<String>,
) -> Result<Json<Preferences>, ApiError> {
    let follow_ups = app
        .notification_preferences(&principal.actor(), email.clone())
        .await?;
    Ok(Json(Preferences { email, follow_ups }))
}

/// Record whether a customer takes follow-up messages (transactional ones always go).
#[utoipa::path(post, path = "/api/v1/customers/{id}/notification-preferences", tag = "notifications",
    params(("id" = String, Path, format = Email, description = "The customer's email address")),
    request_body = PreferencesRequest,
    responses((status = 200, body = Preferences),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn set_preferences(
    State(app): State<AppState>,
    principal: Principal,
    Path(email): Path<String>,
    body: ApiJson<PreferencesRequest>,
) -> Result<Json<Preferences>, ApiError> {
    let follow_ups = body.value.follow_ups;
    app.set_notification_preferences(&principal.actor(), email.clone(), follow_ups)
        .await?;
    Ok(Json(Preferences { email, follow_ups }))
}
