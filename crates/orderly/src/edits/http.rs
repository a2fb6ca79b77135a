//! `/orders/{id}/edits` and `/orders/{id}/changes`: begin an edit, stage changes, see
//! the preview, commit or abandon it; or make a one-shot change. Every write takes
//! `If-Match` with the order's ETag, so an edit of a version the editor did not see is
//! refused with 412 and nothing of it is applied.

use crate::app::auth::Principal;
use crate::app::error::AppError;
use crate::app::{AppState, Outcome};
use crate::edits::commands::EditAction;
use crate::edits::requests::{
    AbandonEditRequest, BeginEditRequest, CommitEditRequest, OneShotEditRequest, StageEditRequest,
    parse_changes, payment,
};
use crate::edits::view::{EditView, OrderChanges, changes_view, edit_view};
use crate::http::extract::{
    ApiJson, bound_text, etag, idempotency, if_match, origin, outcome_reply, required_line,
};
use crate::http::problem::{ApiError, Problem};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use orderly_domain::order::{Order, OrderError};
use orderly_domain::values::Id;

/// Runs `action` with the request's `If-Match`, idempotency key and author.
async fn run(
    app: &AppState,
    principal: &Principal,
    headers: &HeaderMap,
    (id, path, raw): (String, String, &[u8]),
    action: EditAction,
) -> Result<Order, ApiError> {
    let idem = idempotency(headers, principal, "POST", &path, raw)?;
    let expected = if_match(headers)?;
    let outcome = app
        .edit_order(
            id,
            action,
            principal.describe(),
            expected,
            idem,
            origin(principal, headers),
        )
        .await?;
    match outcome {
        Outcome::Order(_, order) => Ok(*order),
        Outcome::Body(..) => Err(AppError::Internal("an edit answered no order".to_owned()).into()),
    }
}

/// The view of edit `edit_id` of `order`: its preview while open, what it did once
/// committed.
async fn view(
    app: &AppState,
    principal: &Principal,
    headers: &HeaderMap,
    order: Order,
    edit_id: Id,
    status: StatusCode,
) -> Result<Response, ApiError> {
    let committed = order.edits.iter().find(|r| r.edit.edit_id == edit_id);
    let (version, body) = match committed {
        Some(r) => (
            order.version,
            edit_view(&order, &r.edit, Some(r.committed_at)),
        ),
        None => {
            let origin = origin(principal, headers);
            let (now, preview) = app
                .preview_edit(&origin, order.id.to_string(), edit_id)
                .await?;
            (now.version, edit_view(&now, &preview, None))
        }
    };
    let mut res = (status, Json(body)).into_response();
    res.headers_mut().insert(header::ETAG, etag(version));
    Ok(res)
}

const IF_MATCH: &str = "ETag of the order version you read, or `*`";

/// Begin an edit of the order, optionally with changes; answers the preview.
#[utoipa::path(post, path = "/api/v1/orders/{id}/edits", tag = "orders",
    params(("id" = String, Path, description = "Order id or number"),
        ("If-Match" = Option<String>, Header, pattern = "^(\\*|(W/)?\"[0-9]{1,18}\")$", description = IF_MATCH),
        ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Replays the first response for the same key and request")),
    request_body = BeginEditRequest,
    responses((status = 201, description = "The open edit and what committing it now would do", body = EditView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "edit_open (naming the open edit), edit_not_allowed, payment_in_flight, illegal_transition", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "precondition_failed: the order changed since the version If-Match names", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn begin_edit(
    State(app): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: ApiJson<BeginEditRequest>,
) -> Result<Response, ApiError> {
    let req = body.value;
    bound_text("note", req.note.as_deref(), 1000)?;
    let changes = parse_changes(&req.changes, &app)?;
    let path = format!("/api/v1/orders/{id}/edits");
    let action = EditAction::Begin {
        note: req.note,
        changes,
    };
    let order = run(&app, &principal, &headers, (id, path, &body.raw), action).await?;
    let edit_id = match (&order.open_edit, order.edits.last()) {
        (Some(open), _) => open.id.clone(),
        (None, Some(last)) => last.edit.edit_id.clone(),
        (None, None) => return Err(AppError::Internal("no edit began".to_owned()).into()),
    };
    view(
        &app,
        &principal,
        &headers,
        order,
        edit_id,
        StatusCode::CREATED,
    )
    .await
}

/// An edit: while open, what committing it now would do (stock read now); once
/// committed, what it did.
#[utoipa::path(get, path = "/api/v1/orders/{id}/edits/{edit_id}", tag = "orders",
    params(("id" = String, Path, description = "Order id or number"),
        ("edit_id" = String, Path, description = "Edit id (edt_…)")),
    responses((status = 200, body = EditView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "edit_closed: abandoned", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn get_edit(
    State(app): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Path((id, edit_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let order = app.order(&principal.actor(), id).await?;
    view(
        &app,
        &principal,
        &headers,
        order,
        Id::new(edit_id),
        StatusCode::OK,
    )
    .await
}

/// Add changes to the open edit; each is planned against stock as it is added, so a
/// change that cannot be made is refused at once.
#[utoipa::path(post, path = "/api/v1/orders/{id}/edits/{edit_id}/changes", tag = "orders",
    params(("id" = String, Path, description = "Order id or number"),
        ("edit_id" = String, Path, description = "Edit id (edt_…)"),
        ("If-Match" = Option<String>, Header, pattern = "^(\\*|(W/)?\"[0-9]{1,18}\")$", description = IF_MATCH),
        ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Replays the first response for the same key and request")),
    request_body = StageEditRequest,
    responses((status = 200, description = "The open edit's new preview", body = EditView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "edit_closed, edit_not_allowed, payment_in_flight", body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "out_of_stock, unknown_line, unknown_sku, edit_empties_order …", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn stage_changes(
    State(app): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Path((id, edit_id)): Path<(String, String)>,
    body: ApiJson<StageEditRequest>,
) -> Result<Response, ApiError> {
    let changes = parse_changes(&body.value.changes, &app)?;
    let path = format!("/api/v1/orders/{id}/edits/{edit_id}/changes");
    let edit_id = Id::new(edit_id);
    let action = EditAction::Stage {
        edit_id: edit_id.clone(),
        changes,
    };
    let order = run(&app, &principal, &headers, (id, path, &body.raw), action).await?;
    view(&app, &principal, &headers, order, edit_id, StatusCode::OK).await
}

/// Commit the open edit: stock, fulfillment orders and money follow in one transaction.
#[utoipa::path(post, path = "/api/v1/orders/{id}/edits/{edit_id}/commit", tag = "orders",
    params(("id" = String, Path, description = "Order id or number"),
        ("edit_id" = String, Path, description = "Edit id (edt_…)"),
        ("If-Match" = Option<String>, Header, pattern = "^(\\*|(W/)?\"[0-9]{1,18}\")$", description = IF_MATCH),
        ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Replays the first response for the same key and request")),
    request_body = CommitEditRequest,
    responses((status = 200, description = "What the edit did", body = EditView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "edit_closed, edit_not_allowed (a warehouse started), payment_in_flight", body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn commit_edit(
    State(app): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Path((id, edit_id)): Path<(String, String)>,
    body: ApiJson<CommitEditRequest>,
) -> Result<Response, ApiError> {
    let req = body.value;
    bound_text("note_to_customer", req.note_to_customer.as_deref(), 1000)?;
    let payment = payment(req.payment.as_ref(), &app)?;
    let path = format!("/api/v1/orders/{id}/edits/{edit_id}/commit");
    let edit_id = Id::new(edit_id);
    let action = EditAction::Commit {
        edit_id: Some(edit_id.clone()),
        changes: Vec::new(),
        note: None,
        note_to_customer: req.note_to_customer,
        payment,
    };
    let order = run(&app, &principal, &headers, (id, path, &body.raw), action).await?;
    view(&app, &principal, &headers, order, edit_id, StatusCode::OK).await
}

/// Abandon the open edit: nothing of it is applied.
#[utoipa::path(post, path = "/api/v1/orders/{id}/edits/{edit_id}/abandon", tag = "orders",
    params(("id" = String, Path, description = "Order id or number"),
        ("edit_id" = String, Path, description = "Edit id (edt_…)"),
        ("If-Match" = Option<String>, Header, pattern = "^(\\*|(W/)?\"[0-9]{1,18}\")$", description = IF_MATCH),
        ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Replays the first response for the same key and request")),
    request_body = AbandonEditRequest,
    responses((status = 200, body = crate::orders::view::OrderView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "edit_closed", body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn abandon_edit(
    State(app): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Path((id, edit_id)): Path<(String, String)>,
    body: ApiJson<AbandonEditRequest>,
) -> Result<Response, ApiError> {
    let reason = body.value.reason.trim().to_owned();
    if let Some(issue) = required_line("reason", &reason, 500) {
        return Err(AppError::Validation(vec![issue]).into());
    }
    let path = format!("/api/v1/orders/{id}/edits/{edit_id}/abandon");
    let action = EditAction::Abandon {
        edit_id: Id::new(edit_id),
        reason,
    };
    let order = run(&app, &principal, &headers, (id, path, &body.raw), action).await?;
    Ok(outcome_reply(Outcome::Order(
        crate::app::Answer::Done,
        Box::new(order),
    )))
}

/// Make changes at once (a one-shot edit): as begin, stage and commit in one step.
#[utoipa::path(post, path = "/api/v1/orders/{id}/changes", tag = "orders",
    params(("id" = String, Path, description = "Order id or number"),
        ("If-Match" = Option<String>, Header, pattern = "^(\\*|(W/)?\"[0-9]{1,18}\")$", description = IF_MATCH),
        ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Replays the first response for the same key and request")),
    request_body = OneShotEditRequest,
    responses((status = 201, description = "What the edit did", body = EditView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "edit_open (commit or abandon it first), edit_not_allowed, payment_in_flight", body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn change_order(
    State(app): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: ApiJson<OneShotEditRequest>,
) -> Result<Response, ApiError> {
    let req = body.value;
    bound_text("note", req.note.as_deref(), 1000)?;
    bound_text("note_to_customer", req.note_to_customer.as_deref(), 1000)?;
    let changes = parse_changes(&req.changes, &app)?;
    if changes.is_empty() {
        return Err(AppError::Order(OrderError::NothingToEdit).into());
    }
    let payment = payment(req.payment.as_ref(), &app)?;
    let path = format!("/api/v1/orders/{id}/changes");
    let action = EditAction::Commit {
        edit_id: None,
        changes,
        note: req.note,
        note_to_customer: req.note_to_customer,
        payment,
    };
    let order = run(&app, &principal, &headers, (id, path, &body.raw), action).await?;
    let Some(last) = order.edits.last() else {
        return Err(AppError::Internal("no edit was committed".to_owned()).into());
    };
    let edit_id = last.edit.edit_id.clone();
    view(
        &app,
        &principal,
        &headers,
        order,
        edit_id,
        StatusCode::CREATED,
    )
    .await
}

/// Every committed edit and unit cancellation of the order, oldest first, each with
/// before and after, author and what it did to stock and money.
#[utoipa::path(get, path = "/api/v1/orders/{id}/changes", tag = "orders",
    params(("id" = String, Path, description = "Order id or number")),
    responses((status = 200, body = OrderChanges),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn list_changes(
    State(app): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let order = app.order(&principal.actor(), id).await?;
    let mut res = Json(changes_view(&order)).into_response();
    res.headers_mut().insert(header::ETAG, etag(order.version));
    Ok(res)
}
