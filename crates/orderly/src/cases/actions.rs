//! The actions on one case, each a POST on `/cases/{id}/<action>` running one case
//! command: contacts, assignment, status, priority, links, resolution with a root
//! cause, reopening and closing.

use super::http::{
    ContactIn, LinkIn, active_status_schema, contact, issue, link, owner_of, parse, priority_schema,
};
use crate::app::AppState;
use crate::app::auth::Principal;
use crate::app::error::AppError;
use crate::cases::view::CaseView;
use crate::http::extract::{
    ApiJson, bound_texts, idempotency, origin, outcome_reply, required_line,
};
use crate::http::problem::{ApiError, Problem};
use crate::http::schema::required_line as line_schema;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use orderly_domain::case::{CaseCommand, CaseStatus, Priority};
use serde::Deserialize;
use utoipa::ToSchema;

/// Runs a case command from a POST on `/cases/{id}/<action>`.
async fn run(
    app: &AppState,
    principal: &Principal,
    headers: &HeaderMap,
    id: String,
    action: &str,
    raw: &[u8],
    command: CaseCommand,
) -> Result<Response, ApiError> {
    let path = format!("/api/v1/cases/{id}/{action}");
    let idem = idempotency(headers, principal, "POST", &path, raw)?;
    let outcome = app
        .case_command(origin(principal, headers), idem, id, command)
        .await?;
    Ok(outcome_reply(outcome))
}

/// Logs a contact. The customer writing to a case pending on them opens it again; to a
/// resolved case, reopens it.
#[utoipa::path(post, path = "/api/v1/cases/{id}/contacts", tag = "cases",
    params(("id" = String, Path, description = "Case id or number"),
        ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Replays the first response for the same key and request")),
    request_body = ContactIn,
    responses((status = 200, body = CaseView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "illegal_case_transition: the case is closed", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn log_contact(
    State(app): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: ApiJson<ContactIn>,
) -> Result<Response, ApiError> {
    let c = contact(&body.value, "")?;
    run(
        &app,
        &principal,
        &headers,
        id,
        "contacts",
        &body.raw,
        CaseCommand::LogContact(c),
    )
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignIn {
    /// The new owner: `me`, or an actor label such as `api_key:key_…` (what
    /// `queue=mine` matches); null keeps the owner (see `unassign`).
    #[schema(max_length = 128)]
    pub owner: Option<String>,
    /// One of `cases.groups`; null keeps the group.
    #[schema(max_length = 64)]
    pub group: Option<String>,
    /// Take the owner off instead (owner and group must then be null).
    #[serde(default)]
    pub unassign: bool,
}

/// Assigns the case to an owner and/or a group, or takes its owner off.
#[utoipa::path(post, path = "/api/v1/cases/{id}/assignment", tag = "cases",
    params(("id" = String, Path, description = "Case id or number"),
        ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Replays the first response for the same key and request")),
    request_body = AssignIn,
    responses((status = 200, body = CaseView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "illegal_case_transition", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "validation_failed (unknown_group, unassign_with_owner)", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn assign(
    State(app): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: ApiJson<AssignIn>,
) -> Result<Response, ApiError> {
    let req = &body.value;
    bound_texts(&[
        ("owner", req.owner.as_deref(), 128),
        ("group", req.group.as_deref(), 64),
    ])?;
    let owner = owner_of(&principal, req.owner.as_deref());
    let command = if req.unassign {
        if owner.is_some() || req.group.is_some() {
            return Err(issue(
                "unassign",
                "unassign_with_owner",
                "unassign names no owner or group",
            ));
        }
        CaseCommand::Unassign
    } else {
        CaseCommand::Assign {
            owner,
            group: req.group.clone(),
        }
    };
    run(
        &app,
        &principal,
        &headers,
        id,
        "assignment",
        &body.raw,
        command,
    )
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusIn {
    /// Between the active statuses; resolving and closing have their own actions.
    #[schema(schema_with = active_status_schema)]
    pub status: String,
}

/// Moves the case between open, pending on the customer and pending internally.
#[utoipa::path(post, path = "/api/v1/cases/{id}/status", tag = "cases",
    params(("id" = String, Path, description = "Case id or number"),
        ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Replays the first response for the same key and request")),
    request_body = StatusIn,
    responses((status = 200, body = CaseView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "illegal_case_transition", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn change_status(
    State(app): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: ApiJson<StatusIn>,
) -> Result<Response, ApiError> {
    let status = parse("status", &body.value.status, CaseStatus::parse)?;
    if !status.is_active() {
        return Err(issue(
            "status",
            "unknown_value",
            "open, pending_customer or pending_internal",
        ));
    }
    run(
        &app,
        &principal,
        &headers,
        id,
        "status",
        &body.raw,
        CaseCommand::ChangeStatus(status),
    )
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PriorityIn {
    #[schema(schema_with = priority_schema)]
    pub priority: String,
}

/// Changes the case's priority.
#[utoipa::path(post, path = "/api/v1/cases/{id}/priority", tag = "cases",
    params(("id" = String, Path, description = "Case id or number"),
        ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Replays the first response for the same key and request")),
    request_body = PriorityIn,
    responses((status = 200, body = CaseView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "illegal_case_transition", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn change_priority(
    State(app): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: ApiJson<PriorityIn>,
) -> Result<Response, ApiError> {
    let p = parse("priority", &body.value.priority, Priority::parse)?;
    run(
        &app,
        &principal,
        &headers,
        id,
        "priority",
        &body.raw,
        CaseCommand::ChangePriority(p),
    )
    .await
}

/// Links the case to a return, a shipment, an order or a customer.
#[utoipa::path(post, path = "/api/v1/cases/{id}/links", tag = "cases",
    params(("id" = String, Path, description = "Case id or number"),
        ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Replays the first response for the same key and request")),
    request_body = LinkIn,
    responses((status = 200, body = CaseView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "illegal_case_transition", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "validation_failed (too_many_links)", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn add_link(
    State(app): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: ApiJson<LinkIn>,
) -> Result<Response, ApiError> {
    let l = link(&body.value, "")?;
    run(
        &app,
        &principal,
        &headers,
        id,
        "links",
        &body.raw,
        CaseCommand::Link(l),
    )
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CaseResolveIn {
    /// One of `cases.root_causes`: a case is not resolved without one.
    #[schema(max_length = 64)]
    pub root_cause: String,
    #[schema(max_length = 4000)]
    pub note: Option<String>,
}

/// Resolves the case with a root cause from the configured taxonomy.
#[utoipa::path(post, path = "/api/v1/cases/{id}/resolve", tag = "cases",
    params(("id" = String, Path, description = "Case id or number"),
        ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Replays the first response for the same key and request")),
    request_body = CaseResolveIn,
    responses((status = 200, body = CaseView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "illegal_case_transition", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "validation_failed (unknown_root_cause)", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn resolve(
    State(app): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: ApiJson<CaseResolveIn>,
) -> Result<Response, ApiError> {
    bound_texts(&[
        ("root_cause", Some(&body.value.root_cause), 64),
        ("note", body.value.note.as_deref(), 4000),
    ])?;
    let command = CaseCommand::Resolve {
        root_cause: body.value.root_cause.clone(),
        taxonomy: app.config.cases.root_causes.clone(),
        note: body.value.note.clone(),
    };
    run(
        &app, &principal, &headers, id, "resolve", &body.raw, command,
    )
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReopenIn {
    #[schema(schema_with = line_schema::<200>)]
    pub reason: String,
}

/// Reopens a resolved case.
#[utoipa::path(post, path = "/api/v1/cases/{id}/reopen", tag = "cases",
    params(("id" = String, Path, description = "Case id or number"),
        ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Replays the first response for the same key and request")),
    request_body = ReopenIn,
    responses((status = 200, body = CaseView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "illegal_case_transition", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn reopen(
    State(app): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: ApiJson<ReopenIn>,
) -> Result<Response, ApiError> {
    if let Some(i) = required_line("reason", &body.value.reason, 200) {
        return Err(AppError::Validation(vec![i]).into());
    }
    let command = CaseCommand::Reopen {
        reason: body.value.reason.clone(),
    };
    run(&app, &principal, &headers, id, "reopen", &body.raw, command).await
}

/// Closes a resolved case for good.
#[utoipa::path(post, path = "/api/v1/cases/{id}/close", tag = "cases",
    params(("id" = String, Path, description = "Case id or number"),
        ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Replays the first response for the same key and request")),
    responses((status = 200, body = CaseView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "illegal_case_transition: not resolved", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn close(
    State(app): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    run(
        &app,
        &principal,
        &headers,
        id,
        "close",
        b"",
        CaseCommand::Close,
    )
    .await
}
