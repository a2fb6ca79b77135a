//! `/cases`: open a case, read one, page a queue (mine, unassigned, a group's, breached,
//! or all by status), and work it: contacts, assignment, status, priority, links,
//! resolution with a root cause, reopening and closing. `/orders/{id}/contacts` counts
//! how often the customer got in touch about an order.

use crate::app::AppState;
use crate::app::auth::Principal;
use crate::app::error::AppError;
use crate::cases::commands::OpenInput;
use crate::cases::view::{CaseView, case_view};
use crate::http::extract::{
    ApiJson, ApiQuery, bound_texts, decode_cursor, foreign_cursor, idempotency, origin,
    outcome_reply, page_cursor, page_limit, required_line, required_text,
};
use crate::http::problem::{ApiError, Problem};
use crate::http::schema::{one_of, required_line as line_schema, required_text as text_schema};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use orderly_domain::case::{
    CaseCommand, CaseStatus, ContactChannel, Direction, Link, LinkKind, NewContact, Priority,
};
use orderly_domain::order::FieldIssue;
use orderly_store::{CaseFilter, CaseQueue};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

fn channel_schema() -> utoipa::openapi::schema::ObjectBuilder {
    one_of(ContactChannel::ALL.iter().map(|c| c.as_str()).collect())
}
fn priority_schema() -> utoipa::openapi::schema::ObjectBuilder {
    one_of(Priority::ALL.iter().map(|c| c.as_str()).collect())
}
fn direction_schema() -> utoipa::openapi::schema::ObjectBuilder {
    one_of(Direction::ALL.iter().map(|c| c.as_str()).collect())
}
fn link_kind_schema() -> utoipa::openapi::schema::ObjectBuilder {
    one_of(LinkKind::ALL.iter().map(|c| c.as_str()).collect())
}
fn active_status_schema() -> utoipa::openapi::schema::ObjectBuilder {
    one_of(vec!["open", "pending_customer", "pending_internal"])
}

/// An owner as named: `me` is the caller (its actor label, as `queue=mine` finds it).
fn owner_of(principal: &Principal, owner: Option<&str>) -> Option<String> {
    match owner.map(str::trim) {
        None | Some("") => None,
        Some("me") => Some(principal.actor().label()),
        Some(o) => Some(o.to_owned()),
    }
}

fn issue(field: &str, code: &'static str, message: &str) -> ApiError {
    AppError::Validation(vec![FieldIssue::new(field, code, message)]).into()
}

fn parse<T>(field: &str, value: &str, parse: fn(&str) -> Option<T>) -> Result<T, ApiError> {
    parse(value).ok_or_else(|| issue(field, "unknown_value", "not one of the allowed values"))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactIn {
    #[schema(schema_with = channel_schema)]
    pub channel: String,
    /// Default `inbound`: the customer wrote or called.
    #[schema(schema_with = direction_schema)]
    #[serde(default = "inbound")]
    pub direction: String,
    #[schema(schema_with = text_schema::<4000>)]
    pub summary: String,
    /// The customer asked where their order is.
    #[serde(default)]
    pub order_status: bool,
}

fn inbound() -> String {
    "inbound".into()
}

fn contact(c: &ContactIn, field: &str) -> Result<NewContact, ApiError> {
    if let Some(i) = required_text(&format!("{field}summary"), &c.summary, 4000) {
        return Err(AppError::Validation(vec![i]).into());
    }
    Ok(NewContact {
        channel: parse(
            &format!("{field}channel"),
            &c.channel,
            ContactChannel::parse,
        )?,
        direction: parse(&format!("{field}direction"), &c.direction, Direction::parse)?,
        summary: c.summary.clone(),
        order_status: c.order_status,
    })
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkIn {
    #[schema(schema_with = link_kind_schema)]
    pub kind: String,
    #[schema(schema_with = line_schema::<128>)]
    pub id: String,
}

fn link(l: &LinkIn, field: &str) -> Result<Link, ApiError> {
    if let Some(i) = required_line(&format!("{field}id"), &l.id, 128) {
        return Err(AppError::Validation(vec![i]).into());
    }
    Ok(Link {
        kind: parse(&format!("{field}kind"), &l.kind, LinkKind::parse)?,
        id: l.id.trim().to_owned(),
    })
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenCaseIn {
    #[schema(schema_with = line_schema::<200>)]
    pub subject: String,
    /// How the customer reached support.
    #[schema(schema_with = channel_schema)]
    pub channel: String,
    /// Default `normal`.
    #[schema(schema_with = priority_schema)]
    #[serde(default = "normal")]
    pub priority: String,
    /// One of `cases.groups`.
    #[schema(max_length = 64)]
    pub group: Option<String>,
    /// `me` or an actor label (see `assignment`).
    #[schema(max_length = 128)]
    pub owner: Option<String>,
    /// The order (id or number) the case is about.
    #[schema(max_length = 254)]
    pub order: Option<String>,
    #[schema(max_length = 254)]
    pub customer_email: Option<String>,
    #[serde(default)]
    #[schema(max_items = 50)]
    pub links: Vec<LinkIn>,
    /// The contact that opened the case.
    pub contact: Option<ContactIn>,
}

fn normal() -> String {
    "normal".into()
}

/// Opens a case, from an order (its channel decides who sees the case, and its history
/// suggests a root cause), a return, a shipment or a customer.
#[utoipa::path(post, path = "/api/v1/cases", tag = "cases",
    params(("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Replays the first response for the same key and request")),
    request_body = OpenCaseIn,
    responses((status = 201, body = CaseView),
        (status = 404, description = "order_not_found", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "validation_failed (unknown_group)", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn open_case(
    State(app): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    body: ApiJson<OpenCaseIn>,
) -> Result<Response, ApiError> {
    let idem = idempotency(&headers, &principal, "POST", "/api/v1/cases", &body.raw)?;
    let req = body.value;
    if let Some(i) = required_line("subject", &req.subject, 200) {
        return Err(AppError::Validation(vec![i]).into());
    }
    bound_texts(&[
        ("owner", req.owner.as_deref(), 128),
        ("group", req.group.as_deref(), 64),
        ("order", req.order.as_deref(), 254),
        ("customer_email", req.customer_email.as_deref(), 254),
    ])?;
    let links = req
        .links
        .iter()
        .enumerate()
        .map(|(i, l)| link(l, &format!("links[{i}].")))
        .collect::<Result<Vec<_>, _>>()?;
    let input = OpenInput {
        subject: req.subject.clone(),
        channel: parse("channel", &req.channel, ContactChannel::parse)?,
        priority: parse("priority", &req.priority, Priority::parse)?,
        group: req.group.clone(),
        owner: owner_of(&principal, req.owner.as_deref()),
        order: req.order.clone(),
        customer_email: req
            .customer_email
            .as_deref()
            .map(|e| {
                orderly_domain::values::Email::parse(e)
                    .map(|e| e.to_string())
                    .map_err(|_| issue("customer_email", "invalid_email", "not an email address"))
            })
            .transpose()?,
        links,
        contact: req
            .contact
            .as_ref()
            .map(|c| contact(c, "contact."))
            .transpose()?,
    };
    let outcome = app
        .open_case(origin(&principal, &headers), idem, input)
        .await?;
    Ok(outcome_reply(outcome))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CaseQuery {
    /// `all` (default), `mine` (owned by the caller), `unassigned`, `group` (with
    /// `group`) or `breached` (SLA clock past due).
    #[param(pattern = "^(all|mine|unassigned|group|breached)$")]
    pub queue: Option<String>,
    #[param(max_length = 64)]
    pub group: Option<String>,
    /// With `queue=all`: only cases in this status.
    #[param(pattern = "^(open|pending_customer|pending_internal|resolved|closed)$")]
    pub status: Option<String>,
    /// Only cases open at least this many hours (the age queues).
    #[param(minimum = 0, maximum = 100000)]
    pub older_than_hours: Option<u32>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the page before.
    #[param(max_length = 256)]
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CasePage {
    /// Oldest first.
    pub data: Vec<CaseView>,
    pub next_cursor: Option<String>,
}

/// A page of a case queue, oldest first.
#[utoipa::path(get, path = "/api/v1/cases", tag = "cases", params(CaseQuery),
    responses((status = 200, body = CasePage),
        (status = 400, description = "invalid_query_parameter, invalid_cursor", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn list_cases(
    State(app): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<CaseQuery>,
) -> Result<Json<CasePage>, ApiError> {
    let now = app.now();
    let queue = match q.queue.as_deref().unwrap_or("all") {
        "all" => CaseQueue::All,
        "mine" => CaseQueue::Mine(principal.actor().label()),
        "unassigned" => CaseQueue::Unassigned,
        "breached" => CaseQueue::Breached(now),
        "group" => CaseQueue::Group(q.group.clone().ok_or_else(|| {
            ApiError::InvalidQueryParam(FieldIssue::new(
                "group",
                "required",
                "queue=group names a group",
            ))
        })?),
        _ => {
            return Err(ApiError::InvalidQueryParam(FieldIssue::new(
                "queue",
                "unknown_value",
                "all, mine, unassigned, group or breached",
            )));
        }
    };
    let status = q
        .status
        .as_deref()
        .map(|s| {
            CaseStatus::parse(s).ok_or_else(|| {
                ApiError::InvalidQueryParam(FieldIssue::new(
                    "status",
                    "unknown_value",
                    "not a case status",
                ))
            })
        })
        .transpose()?;
    let limit = page_limit(q.limit)?;
    let after = match q.cursor.as_deref() {
        None => None,
        Some(c) => {
            let raw = decode_cursor(c)?;
            let (ms, id) = raw.split_once('|').ok_or_else(foreign_cursor)?;
            let at = ms
                .parse::<i64>()
                .ok()
                .and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok())
                .ok_or_else(foreign_cursor)?;
            Some((at, id.to_owned()))
        }
    };
    let opened_before = q
        .older_than_hours
        .map(|h| now - jiff::SignedDuration::from_hours(i64::from(h)));
    let filter = CaseFilter {
        queue,
        status,
        opened_before,
        channels: None,
        after,
        limit: limit + 1,
    };
    let mut rows = app.cases(&principal.actor(), filter).await?;
    let next_cursor = page_cursor(&mut rows, limit, |r| {
        format!("{}|{}", r.case.opened_at.as_millisecond(), r.case.id)
    });
    Ok(Json(CasePage {
        data: rows.iter().map(|r| case_view(&r.case, r.due_at)).collect(),
        next_cursor,
    }))
}

/// One case by id or number, with its contact log.
#[utoipa::path(get, path = "/api/v1/cases/{id}", tag = "cases",
    params(("id" = String, Path, description = "Case id or number")),
    responses((status = 200, body = CaseView),
        (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn get_case(
    State(app): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<CaseView>, ApiError> {
    let found = app.case(&principal.actor(), id).await?;
    Ok(Json(case_view(&found.case, found.due_at)))
}

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
pub struct ResolveIn {
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
    request_body = ResolveIn,
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
    body: ApiJson<ResolveIn>,
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

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderContacts {
    /// Every contact on the order's cases, either direction.
    pub contacts: u32,
    /// Contacts from the customer.
    pub inbound: u32,
    /// Contacts asking where the order is.
    pub order_status: u32,
    /// The customer got in touch more than once.
    pub repeat_contact: bool,
    /// The order's cases, oldest first.
    pub cases: Vec<CaseView>,
}

/// How often the customer got in touch about the order, over all its cases.
#[utoipa::path(get, path = "/api/v1/orders/{id}/contacts", tag = "cases",
    params(("id" = String, Path, description = "Order id or number")),
    responses((status = 200, body = OrderContacts),
        (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn order_contacts(
    State(app): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<OrderContacts>, ApiError> {
    let (counts, cases) = app.order_contacts(&principal.actor(), id).await?;
    Ok(Json(OrderContacts {
        contacts: counts.contacts,
        inbound: counts.inbound,
        order_status: counts.order_status,
        repeat_contact: counts.repeat(),
        cases: cases.iter().map(|c| case_view(&c.case, c.due_at)).collect(),
    }))
}
