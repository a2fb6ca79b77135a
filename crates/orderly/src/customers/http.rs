//! `/customers`: find a customer by email, name or phone (prefixes, paged), read one
//! with their profile and history, and the decisions support takes about a customer:
//! flags with a reason, notes, and merging two records of one person.

use crate::app::AppState;
use crate::app::auth::Principal;
use crate::app::error::AppError;
use crate::customers::commands::CustomerAction;
use crate::customers::view::{CustomerRecordView, CustomerView, customer_view, record_view};
use crate::http::extract::{
    ApiJson, ApiQuery, bounded_param, decode_cursor, foreign_cursor, idempotency, origin,
    outcome_reply, page_cursor, page_limit, required_line, required_text,
};
use crate::http::problem::{ApiError, Problem};
use crate::http::schema::{one_of, required_line as line_schema, required_text as text_schema};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use orderly_domain::customer::{self, CustomerFlag, NOTE_MAX_CHARS, REASON_MAX_CHARS};
use orderly_domain::order::FieldIssue;
use orderly_domain::time::rfc3339;
use orderly_store::{CustomerFilter, CustomerSearch, search_key};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

fn flag_schema() -> utoipa::openapi::schema::ObjectBuilder {
    one_of(CustomerFlag::ALL.iter().map(|f| f.as_str()).collect())
}

fn validation(issue: Option<FieldIssue>) -> Result<(), ApiError> {
    match issue {
        Some(i) => Err(AppError::Validation(vec![i]).into()),
        None => Ok(()),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CustomerQuery {
    /// Customers whose email starts with this (case does not matter).
    #[param(max_length = 254)]
    pub email: Option<String>,
    /// Customers whose name starts with this (case and repeated spaces do not matter).
    #[param(max_length = 200)]
    pub name: Option<String>,
    /// Customers whose phone ends with these digits (other characters are ignored, so a
    /// number typed without its country code matches; no digits match nobody).
    #[param(max_length = 40)]
    pub phone: Option<String>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the page before (of the same search).
    #[param(max_length = 256)]
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerPage {
    /// Ordered by what was searched (email, name or phone), then id; by id without a search.
    pub data: Vec<CustomerRecordView>,
    pub next_cursor: Option<String>,
}

/// The search a query asks for: at most one of email, name and phone (None: a phone
/// without digits, which matches nobody).
fn search_of(q: &CustomerQuery) -> Result<Option<CustomerSearch>, ApiError> {
    let email = bounded_param("email", q.email.clone(), 254)?;
    let name = bounded_param("name", q.name.clone(), 200)?;
    let phone = bounded_param("phone", q.phone.clone(), 40)?;
    let given = [email.is_some(), name.is_some(), phone.is_some()];
    if given.iter().filter(|g| **g).count() > 1 {
        return Err(ApiError::InvalidQueryParam(FieldIssue::new(
            "email",
            "one_search_at_a_time",
            "search by one of email, name or phone",
        )));
    }
    Ok(match (email, name, phone) {
        (Some(e), _, _) => Some(CustomerSearch::Email(e.trim().to_lowercase())),
        (_, Some(n), _) => Some(CustomerSearch::Name(customer::name_key(&n))),
        (_, _, Some(p)) => customer::phone_key(&p).map(CustomerSearch::Phone),
        _ => Some(CustomerSearch::All),
    })
}

fn search_name(s: &CustomerSearch) -> &'static str {
    match s {
        CustomerSearch::All => "all",
        CustomerSearch::Email(_) => "email",
        CustomerSearch::Name(_) => "name",
        CustomerSearch::Phone(_) => "phone",
    }
}

/// Customers matching a search, paged.
#[utoipa::path(get, path = "/api/v1/customers", tag = "customers", params(CustomerQuery),
    responses((status = 200, body = CustomerPage),
        (status = 400, description = "invalid_query_parameter (one_search_at_a_time), invalid_cursor", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn list_customers(
    State(app): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<CustomerQuery>,
) -> Result<Json<CustomerPage>, ApiError> {
    let limit = page_limit(q.limit)?;
    let Some(search) = search_of(&q)? else {
        return Ok(Json(CustomerPage {
            data: Vec::new(),
            next_cursor: None,
        }));
    };
    // A cursor carries its search's name, its sort key and id: one from another search
    // is refused rather than read as a position it never was.
    let after = q
        .cursor
        .as_deref()
        .map(|c| {
            let raw = decode_cursor(c)?;
            let mut parts = raw.splitn(3, '\n');
            match (parts.next(), parts.next(), parts.next()) {
                (Some(kind), Some(key), Some(id)) if kind == search_name(&search) => {
                    Ok((key.to_owned(), id.to_owned()))
                }
                _ => Err(foreign_cursor()),
            }
        })
        .transpose()?;
    let filter = CustomerFilter {
        search: search.clone(),
        channels: None,
        after,
        limit: limit + 1,
    };
    let mut rows = app.customers(&principal.actor(), filter).await?;
    let next_cursor = page_cursor(&mut rows, limit, |c| {
        format!(
            "{}\n{}\n{}",
            search_name(&search),
            search_key(&search, c),
            c.id
        )
    });
    Ok(Json(CustomerPage {
        data: rows.iter().map(|c| record_view(c, &c.facts)).collect(),
        next_cursor,
    }))
}

/// One customer with their profile: lifetime value, return rate, flags, addresses and
/// the latest orders, returns and cases. A merged record answers with its survivor.
#[utoipa::path(get, path = "/api/v1/customers/{id}", tag = "customers",
    params(("id" = String, Path, description = "`cus_…` or an email")),
    responses((status = 200, body = CustomerView),
        (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn get_customer(
    State(app): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<CustomerView>, ApiError> {
    let detail = app.customer(&principal.actor(), id).await?;
    Ok(Json(customer_view(&detail)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerEventOut {
    pub version: u64,
    /// `customer_flag_raised`, `customer_flag_cleared`, `customer_note_added`,
    /// `customer_absorbed` or `customer_merged_into`.
    #[serde(rename = "type")]
    pub type_: String,
    pub actor: String,
    pub at: String,
    pub data: serde_json::Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerHistory {
    /// Oldest first.
    pub data: Vec<CustomerEventOut>,
}

/// What people decided about the customer, oldest first, with who and when.
#[utoipa::path(get, path = "/api/v1/customers/{id}/history", tag = "customers",
    params(("id" = String, Path, description = "`cus_…` or an email")),
    responses((status = 200, body = CustomerHistory),
        (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn customer_history(
    State(app): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<CustomerHistory>, ApiError> {
    let rows = app.customer_history(&principal.actor(), id).await?;
    Ok(Json(CustomerHistory {
        data: rows
            .into_iter()
            .map(|r| CustomerEventOut {
                version: r.version,
                type_: r.kind,
                actor: r.actor.label(),
                at: rfc3339(r.at),
                data: r.data,
            })
            .collect(),
    }))
}

/// Runs a customer command from a POST on `/customers/{id}/<action>`.
async fn run(
    app: &AppState,
    principal: &Principal,
    headers: &HeaderMap,
    (id, action): (String, &str),
    raw: &[u8],
    command: CustomerAction,
) -> Result<Response, ApiError> {
    let path = format!("/api/v1/customers/{id}/{action}");
    let idem = idempotency(headers, principal, "POST", &path, raw)?;
    let outcome = app
        .customer_command(origin(principal, headers), idem, id, command)
        .await?;
    Ok(outcome_reply(outcome))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerFlagIn {
    #[schema(schema_with = flag_schema)]
    pub flag: String,
    /// Why (shown beside the flag wherever the customer is).
    #[schema(schema_with = text_schema::<500>)]
    pub reason: String,
}

fn flag_of(value: &str) -> Result<CustomerFlag, ApiError> {
    CustomerFlag::parse(value).ok_or_else(|| {
        AppError::Validation(vec![FieldIssue::new(
            "flag",
            "unknown_value",
            "vip, fraud_review or serial_returner",
        )])
        .into()
    })
}

/// Sets a flag with its reason; a flag already set is refused (409 `flag_already_set`).
#[utoipa::path(post, path = "/api/v1/customers/{id}/flags", tag = "customers",
    params(("id" = String, Path, description = "`cus_…` or an email"),
        ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Replays the first response for the same key and request")),
    request_body = CustomerFlagIn,
    responses((status = 200, body = CustomerRecordView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "flag_already_set", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn raise_flag(
    State(app): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: ApiJson<CustomerFlagIn>,
) -> Result<Response, ApiError> {
    let flag = flag_of(&body.value.flag)?;
    validation(required_text(
        "reason",
        &body.value.reason,
        REASON_MAX_CHARS,
    ))?;
    let command = CustomerAction::RaiseFlag {
        flag,
        reason: body.value.reason.clone(),
    };
    run(
        &app,
        &principal,
        &headers,
        (id, "flags"),
        &body.raw,
        command,
    )
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerFlagClearIn {
    #[schema(schema_with = text_schema::<500>)]
    pub reason: String,
}

/// Takes a flag off, saying why; a flag not set is refused (409 `flag_not_set`).
#[utoipa::path(post, path = "/api/v1/customers/{id}/flags/{flag}/clear", tag = "customers",
    params(("id" = String, Path, description = "`cus_…` or an email"),
        ("flag" = String, Path, pattern = "^(vip|fraud_review|serial_returner)$"),
        ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Replays the first response for the same key and request")),
    request_body = CustomerFlagClearIn,
    responses((status = 200, body = CustomerRecordView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "flag_not_set", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn clear_flag(
    State(app): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Path((id, flag)): Path<(String, String)>,
    body: ApiJson<CustomerFlagClearIn>,
) -> Result<Response, ApiError> {
    let flag = flag_of(&flag)?;
    validation(required_text(
        "reason",
        &body.value.reason,
        REASON_MAX_CHARS,
    ))?;
    let command = CustomerAction::ClearFlag {
        flag,
        reason: body.value.reason.clone(),
    };
    let action = format!("flags/{}/clear", flag.as_str());
    run(
        &app,
        &principal,
        &headers,
        (id, &action),
        &body.raw,
        command,
    )
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerNoteIn {
    #[schema(schema_with = text_schema::<4000>)]
    pub text: String,
}

/// Writes an internal note on the customer (its author is the caller).
#[utoipa::path(post, path = "/api/v1/customers/{id}/notes", tag = "customers",
    params(("id" = String, Path, description = "`cus_…` or an email"),
        ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Replays the first response for the same key and request")),
    request_body = CustomerNoteIn,
    responses((status = 200, body = CustomerRecordView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn add_note(
    State(app): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: ApiJson<CustomerNoteIn>,
) -> Result<Response, ApiError> {
    validation(required_text("text", &body.value.text, NOTE_MAX_CHARS))?;
    let command = CustomerAction::AddNote {
        text: body.value.text.clone(),
    };
    run(
        &app,
        &principal,
        &headers,
        (id, "notes"),
        &body.raw,
        command,
    )
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerMergeIn {
    /// The record to fold into this one (`cus_…` or an email): its orders, returns and
    /// cases count as this customer's from now on, and it takes no more decisions.
    #[schema(schema_with = line_schema::<254>)]
    pub from: String,
}

/// Merges another record of the same person into this one.
#[utoipa::path(post, path = "/api/v1/customers/{id}/merge", tag = "customers",
    params(("id" = String, Path, description = "`cus_…` or an email: the record that stays"),
        ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Replays the first response for the same key and request")),
    request_body = CustomerMergeIn,
    responses((status = 200, body = CustomerRecordView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "customer_merged: that record was merged already", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "validation_failed (same_customer)", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn merge(
    State(app): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: ApiJson<CustomerMergeIn>,
) -> Result<Response, ApiError> {
    validation(required_line("from", &body.value.from, 254))?;
    let command = CustomerAction::Merge {
        from: body.value.from.trim().to_owned(),
    };
    run(
        &app,
        &principal,
        &headers,
        (id, "merge"),
        &body.raw,
        command,
    )
    .await
}
