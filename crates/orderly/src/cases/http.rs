//! `/cases`: open a case, read one, page a queue (mine, unassigned, a group's, breached,
//! or all by status), and the request parts the actions on a case share (`actions.rs`
//! works a case). `/orders/{id}/contacts` counts how often the customer got in touch
//! about an order.

use crate::app::AppState;
use crate::app::auth::Principal;
use crate::app::error::AppError;
use crate::cases::commands::OpenInput;
use crate::cases::view::{CaseView, case_view};
use crate::http::extract::{
    ApiJson, ApiQuery, bound_texts, bounded_param, decode_time_cursor, idempotency, origin,
    outcome_reply, page_cursor, page_limit, required_line, required_text, time_cursor_key,
};
use crate::http::problem::{ApiError, Problem};
use crate::http::schema::{one_of, required_line as line_schema, required_text as text_schema};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use orderly_domain::case::{
    CaseStatus, ContactChannel, Direction, Link, LinkKind, NewContact, Priority,
};
use orderly_domain::order::FieldIssue;
use orderly_store::{CaseFilter, CaseQueue};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

fn channel_schema() -> utoipa::openapi::schema::ObjectBuilder {
    one_of(ContactChannel::ALL.iter().map(|c| c.as_str()).collect())
}
pub(super) fn priority_schema() -> utoipa::openapi::schema::ObjectBuilder {
    one_of(Priority::ALL.iter().map(|c| c.as_str()).collect())
}
fn direction_schema() -> utoipa::openapi::schema::ObjectBuilder {
    one_of(Direction::ALL.iter().map(|c| c.as_str()).collect())
}
fn link_kind_schema() -> utoipa::openapi::schema::ObjectBuilder {
    one_of(LinkKind::ALL.iter().map(|c| c.as_str()).collect())
}
pub(super) fn active_status_schema() -> utoipa::openapi::schema::ObjectBuilder {
    one_of(vec!["open", "pending_customer", "pending_internal"])
}

/// An owner as named: `me` is the caller (its actor label, as `queue=mine` finds it).
pub(super) fn owner_of(principal: &Principal, owner: Option<&str>) -> Option<String> {
    match owner.map(str::trim) {
        None | Some("") => None,
        Some("me") => Some(principal.actor().label()),
        Some(o) => Some(o.to_owned()),
    }
}

pub(super) fn issue(field: &str, code: &'static str, message: &str) -> ApiError {
    AppError::Validation(vec![FieldIssue::new(field, code, message)]).into()
}

pub(super) fn parse<T>(
    field: &str,
    value: &str,
    parse: fn(&str) -> Option<T>,
) -> Result<T, ApiError> {
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

pub(super) fn contact(c: &ContactIn, field: &str) -> Result<NewContact, ApiError> {
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

pub(super) fn link(l: &LinkIn, field: &str) -> Result<Link, ApiError> {
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
    let group = bounded_param("group", q.group.clone(), 64)?;
    let queue = match q.queue.as_deref().unwrap_or("all") {
        "all" => CaseQueue::All,
        "mine" => CaseQueue::Mine(principal.actor().label()),
        "unassigned" => CaseQueue::Unassigned,
        "breached" => CaseQueue::Breached(now),
        "group" => CaseQueue::Group(group.ok_or_else(|| {
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
    let after = q.cursor.as_deref().map(decode_time_cursor).transpose()?;
    if q.older_than_hours.is_some_and(|h| h > 100_000) {
        return Err(ApiError::InvalidQueryParam(FieldIssue::new(
            "older_than_hours",
            "out_of_range",
            "older_than_hours is 0-100000",
        )));
    }
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
        time_cursor_key(r.case.opened_at, r.case.id.as_str())
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
