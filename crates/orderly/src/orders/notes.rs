//! `/orders/{id}/notes` and `/orders/{id}/tags`: what support and operations write on an
//! order for the next person, and the labels a team sorts by. Both are order events, so
//! they are on the timeline with their author. Notes are not part of the order view,
//! which webhooks carry out of Orderly; they are read here. Tags are in the view.

use crate::app::AppState;
use crate::app::auth::{Permission, Principal};
use crate::app::error::AppError;
use crate::http::extract::{ApiJson, idempotency, order_after, order_reply, required_text};
use crate::http::problem::{ApiError, Problem};
use crate::http::schema::required_text as text_schema;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use orderly_domain::order::{
    FieldIssue, MAX_TAGS, NOTE_MAX_CHARS, Note, OrderCommand, TAG_MAX_CHARS,
};
use orderly_domain::time::rfc3339;
use orderly_domain::values::Id;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteIn {
    /// The note; it may span lines.
    #[schema(schema_with = text_schema::<4000>)]
    pub text: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NoteOut {
    pub id: String,
    pub text: String,
    /// Who wrote it: the user or API key.
    pub author: String,
    pub created_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NoteList {
    /// Newest first; an order keeps at most 500.
    pub data: Vec<NoteOut>,
}

fn note_out(n: &Note) -> NoteOut {
    NoteOut {
        id: n.id.to_string(),
        text: n.text.clone(),
        author: n.author.clone(),
        created_at: rfc3339(n.at),
    }
}

/// Adds an internal note to the order (any state: a cancelled order is still talked
/// about). It shows on the timeline with its author and never leaves Orderly.
#[utoipa::path(post, path = "/api/v1/orders/{id}/notes", tag = "orders",
    params(("id" = String, Path, description = "Order id or number"),
        ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Replays the first response for the same key and request")),
    request_body = NoteIn,
    responses((status = 201, body = NoteOut),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "validation_failed (too_many_notes)", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn add_note(
    State(app): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: ApiJson<NoteIn>,
) -> Result<Response, ApiError> {
    let path = format!("/api/v1/orders/{id}/notes");
    let idem = idempotency(&headers, &principal, "POST", &path, &body.raw)?;
    if let Some(issue) = required_text("text", &body.value.text, NOTE_MAX_CHARS) {
        return Err(AppError::Validation(vec![issue]).into());
    }
    let text = body.value.text;
    let author = principal.describe();
    let order = order_after(&app, id, idem, &principal, &headers, move |order| {
        Ok(OrderCommand::AddNote {
            id: Id::child(&order.id, "not", order.notes.len() + 1),
            text: text.clone(),
            author: author.clone(),
        })
    })
    .await?;
    // The request made the newest note; a replay answers with the order as it left it.
    let note = order
        .notes
        .last()
        .ok_or_else(|| AppError::Internal("a note was added and is not there".into()))?;
    Ok((StatusCode::CREATED, Json(note_out(note))).into_response())
}

/// The order's internal notes, newest first.
#[utoipa::path(get, path = "/api/v1/orders/{id}/notes", tag = "orders",
    params(("id" = String, Path, description = "Order id or number")),
    responses((status = 200, body = NoteList),
        (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn list_notes(
    State(app): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<NoteList>, ApiError> {
    principal.require(Permission::ReadOrders)?;
    let order = app.order(&principal.actor(), id).await?;
    Ok(Json(NoteList {
        data: order.notes.iter().rev().map(note_out).collect(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TagsIn {
    /// Tags to add (kept lower-cased); one already there changes nothing.
    #[serde(default)]
    #[schema(schema_with = tags_schema)]
    pub add: Vec<String>,
    /// Tags to remove; one not there changes nothing.
    #[serde(default)]
    #[schema(schema_with = tags_schema)]
    pub remove: Vec<String>,
}

/// Up to 30 tags, each 1 to 40 letters, digits, `-`, `_` or `:` (as `normalize_tag`
/// takes them).
fn tags_schema() -> ArrayBuilder {
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(TAG_MAX_CHARS))
                .pattern(Some("^[A-Za-z0-9_:-]{1,40}$")),
        )
        .max_items(Some(MAX_TAGS))
}

/// Adds and removes tags on the order in one change (on the timeline); answers with
/// the order, whose `tags` are the result.
#[utoipa::path(post, path = "/api/v1/orders/{id}/tags", tag = "orders",
    params(("id" = String, Path, description = "Order id or number"),
        ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Replays the first response for the same key and request")),
    request_body = TagsIn,
    responses((status = 200, body = crate::orders::view::OrderView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "validation_failed (invalid_tag, tag_added_and_removed, too_many_tags)", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn change_tags(
    State(app): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: ApiJson<TagsIn>,
) -> Result<Response, ApiError> {
    let path = format!("/api/v1/orders/{id}/tags");
    let idem = idempotency(&headers, &principal, "POST", &path, &body.raw)?;
    let TagsIn { add, remove } = body.value;
    let issues: Vec<FieldIssue> = [("add", add.len()), ("remove", remove.len())]
        .into_iter()
        .filter(|(_, n)| *n > MAX_TAGS)
        .map(|(field, _)| FieldIssue::new(field, "too_many_items", format!("at most {MAX_TAGS}")))
        .collect();
    if !issues.is_empty() {
        return Err(AppError::Validation(issues).into());
    }
    order_reply(&app, id, idem, &principal, &headers, move |_| {
        Ok(OrderCommand::ChangeTags {
            add: add.clone(),
            remove: remove.clone(),
        })
    })
    .await
}
