//! `/fulfillment-orders`: the part of an order one location ships, looked up on its own
//! and released to the warehouse by hand (release is otherwise automatic once the order
//! is confirmed, free of holds and past its edit window).

use crate::app::AppState;
use crate::app::auth::Principal;
use crate::app::error::AppError;
use crate::fulfillment::commands::NewPackage;
use crate::fulfillment::handover::ShipRequest;
use crate::fulfillment::packages::{created_package, package_view, pick_view};
use crate::fulfillment::tracking::TrackingEvent;
use crate::fulfillment::view::{FulfillmentOrderOut, fulfillment_out};
use crate::http::extract::{
    ApiJson, idempotency, json_reply, order_after, order_reply, origin, outcome_reply,
    signed_event, to_json,
};
use crate::http::problem::{ApiError, Problem};
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::response::Response;
use orderly_domain::order::{FieldIssue, FulfillmentOrder, OrderCommand, OrderError};
use orderly_domain::values::Id;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct FulfillmentOrderView {
    #[serde(flatten)]
    pub fulfillment: FulfillmentOrderOut,
    pub order_id: String,
    pub order_number: String,
}

/// The order a fulfillment order id (`ful_<order suffix>_<n>`) belongs to.
fn order_of(id: &str) -> Result<String, AppError> {
    Id::order_of_child(id, "ful")
        .map(|o| o.to_string())
        .ok_or_else(|| AppError::Order(OrderError::UnknownFulfillmentOrder(id.to_owned())))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PickedLineIn {
    pub line_no: u32,
    /// Units found; fewer than the line holds is a short pick.
    pub picked: u32,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PickRequest {
    /// Every line of the fulfillment order, once.
    pub lines: Vec<PickedLineIn>,
}

/// Confirms what was picked, and answers with what it recorded per line. A short pick
/// takes the missing units off this location (and off its stock) and sources them again
/// elsewhere, or backorders them (the order's lines say which).
#[utoipa::path(post, path = "/api/v1/fulfillment-orders/{id}/pick", tag = "fulfillment",
    request_body = PickRequest,
    responses((status = 200, body = crate::fulfillment::packages::PickView),
        (status = 409, description = "illegal_fulfillment_transition", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid_pick", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn pick(
    State(app): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: ApiJson<PickRequest>,
) -> Result<Response, ApiError> {
    let order_id = order_of(&id)?;
    let path = format!("/api/v1/fulfillment-orders/{id}/pick");
    let idem = idempotency(&headers, &principal, "POST", &path, &body.raw)?;
    let picked: Vec<(u32, u32)> = body
        .value
        .lines
        .iter()
        .map(|l| (l.line_no, l.picked))
        .collect();
    let fulfillment_id = Id::new(id);
    let command_fo = fulfillment_id.clone();
    let order = order_after(&app, order_id, idem, &principal, &headers, move |_| {
        Ok(OrderCommand::Pick {
            fulfillment_id: command_fo.clone(),
            picked: picked.clone(),
        })
    })
    .await?;
    let fo = find_fulfillment(&order, &fulfillment_id)?;
    Ok(json_reply((200, to_json(&pick_view(&order, fo)))))
}

/// The fulfillment order a command just worked on.
fn find_fulfillment<'o>(
    order: &'o orderly_domain::order::Order,
    id: &Id,
) -> Result<&'o FulfillmentOrder, AppError> {
    order
        .fulfillment_orders
        .iter()
        .find(|f| &f.id == id)
        .ok_or_else(|| AppError::Order(OrderError::UnknownFulfillmentOrder(id.to_string())))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PackRequest {
    /// One entry per scanned unit: the item's barcode number (GTIN-8/12/13/14) or the
    /// SKU on its label.
    pub scans: Vec<String>,
    pub weight_grams: u32,
    /// Length, width and height.
    pub dimensions_mm: [u32; 3],
}

/// Packs scanned units into a new package, and answers with the package (its id is what
/// `POST /packages/{id}/ship` takes) and the order it belongs to. An item this
/// fulfillment order does not hold, or one unit more than was picked, is refused and
/// nothing is packed.
#[utoipa::path(post, path = "/api/v1/fulfillment-orders/{id}/packages", tag = "fulfillment",
    request_body = PackRequest,
    responses((status = 201, description = "The package; `Location` names it", body = crate::fulfillment::packages::PackageView),
        (status = 422, description = "scan_not_in_order, scan_exceeds_picked, invalid_package", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn pack(
    State(app): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: ApiJson<PackRequest>,
) -> Result<Response, ApiError> {
    let order_id = order_of(&id)?;
    let path = format!("/api/v1/fulfillment-orders/{id}/packages");
    let idem = idempotency(&headers, &principal, "POST", &path, &body.raw)?;
    let req = body.value;
    let package = NewPackage {
        scans: req.scans,
        weight_grams: req.weight_grams,
        dimensions_mm: req.dimensions_mm,
    };
    let fulfillment_id = Id::new(id);
    let origin = origin(&principal, &headers);
    let order = app
        .pack(origin, idem, order_id, fulfillment_id.clone(), package)
        .await?;
    // The package this command made is the newest of its fulfillment order, also when a
    // replay rebuilds the order as the first answer left it.
    let fo = find_fulfillment(&order, &fulfillment_id)?;
    let view = fo
        .packages
        .last()
        .and_then(|p| package_view(&order, fo, &p.id))
        .ok_or_else(|| {
            AppError::Internal(format!("{fulfillment_id} was packed without a package"))
        })?;
    Ok(created_package(&view))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TrackingAccepted {
    /// `applied` or `ignored` (a scan already known).
    pub status: String,
}

/// A signed tracking event from a carrier integration (Standard Webhooks headers, the
/// secrets in `fulfillment.tracking_event_secrets`). Each event id counts once; a late
/// scan is recorded on the timeline but never moves a shipment (its status or its
/// `last_scan_at`) backwards; a scan dated more than
/// `fulfillment.max_event_clock_skew_seconds` (300) ahead of Orderly's clock is refused.
#[utoipa::path(post, path = "/api/v1/tracking-events", tag = "fulfillment",
    request_body(content = String, content_type = "application/json",
        description = r#"{"id": "trk_1", "carrier": "local", "tracking_number": "LC…", "status": "in_transit", "occurred_at": "2026-11-22T10:00:00Z", "location": "Dallas, TX"}"#),
    responses((status = 200, body = TrackingAccepted),
        (status = 401, description = "bad_signature, stale_timestamp", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "shipment_not_found", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "duplicate_event", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "validation_failed: `status` is not a tracking status (unknown_status), or `occurred_at` is in the future (in_the_future)", body = Problem, content_type = "application/problem+json")))]
pub async fn tracking_event(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let event: TrackingEvent = signed_event(
        &headers,
        &body,
        &app.tracking_event_secrets,
        "tracking events (no secret configured)",
        |e: &TrackingEvent| &e.id,
        app.now(),
    )?;
    let raw = String::from_utf8_lossy(&body).into_owned();
    let disposition = app.tracking_event(event, raw).await?;
    Ok(json_reply((
        200,
        to_json(&TrackingAccepted {
            status: disposition.as_str().to_owned(),
        }),
    )))
}

/// Ships a packed package: its units leave stock and move to `shipped` on their lines; on
/// a channel that captures on shipment, the shipment captures its share of the payment.
#[utoipa::path(post, path = "/api/v1/packages/{id}/ship", tag = "fulfillment",
    request_body = ShipRequest,
    responses((status = 200, body = crate::orders::view::OrderView),
        (status = 409, description = "package_already_shipped", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn ship(
    State(app): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: ApiJson<ShipRequest>,
) -> Result<Response, ApiError> {
    let order_id = Id::order_of_child(&id, "pkg")
        .ok_or_else(|| AppError::Order(OrderError::UnknownPackage(id.clone())))?
        .to_string();
    let path = format!("/api/v1/packages/{id}/ship");
    let idem = idempotency(&headers, &principal, "POST", &path, &body.raw)?;
    let origin = origin(&principal, &headers);
    let outcome = app
        .ship(origin, idem, order_id, Id::new(id), body.value)
        .await?;
    Ok(outcome_reply(outcome))
}

/// One fulfillment order with the order it belongs to.
#[utoipa::path(get, path = "/api/v1/fulfillment-orders/{id}", tag = "fulfillment",
    responses((status = 200, body = FulfillmentOrderView),
        (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn get_fulfillment_order(
    State(app): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let o = app
        .order_of_fulfillment(&principal.actor(), id.clone())
        .await?;
    let view = o
        .fulfillment_orders
        .iter()
        .find(|f| f.id.as_str() == id)
        .map(|fo| FulfillmentOrderView {
            fulfillment: fulfillment_out(fo),
            order_id: o.id.to_string(),
            order_number: o.number.clone(),
        });
    match view {
        Some(v) => Ok(json_reply((200, to_json(&v)))),
        None => Err(AppError::Order(OrderError::UnknownFulfillmentOrder(id)).into()),
    }
}

/// Releases a pending fulfillment order to its warehouse now (skipping the edit window);
/// refused while the order is unpaid or on hold. Answers with the whole order.
#[utoipa::path(post, path = "/api/v1/fulfillment-orders/{id}/release", tag = "fulfillment",
    responses((status = 200, body = crate::orders::view::OrderView),
        (status = 409, description = "release_blocked, fulfillment_not_pending", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn release(
    State(app): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let order_id = order_of(&id)?;
    let path = format!("/api/v1/fulfillment-orders/{id}/release");
    let idem = idempotency(&headers, &principal, "POST", &path, b"")?;
    let fulfillment_id = Id::new(id);
    order_reply(&app, order_id, idem, &principal, &headers, move |_| {
        Ok(OrderCommand::Release {
            fulfillment_id: Some(fulfillment_id.clone()),
        })
    })
    .await
}

/// The shipping label of a shipment as a 4x6 inch PDF: addresses, carrier and service,
/// weight, and the tracking number as a Code128 barcode. Made from the order's facts on
/// every request, so it always matches them.
#[utoipa::path(get, path = "/api/v1/shipments/{id}/label.pdf", tag = "fulfillment",
    responses((status = 200, description = "The label", content_type = "application/pdf"),
        (status = 404, description = "shipment_not_found", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "label_unavailable (a tracking number too long to print)", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn label(
    State(app): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let pdf = app.shipment_label(&principal.actor(), id).await?;
    Ok(([(axum::http::header::CONTENT_TYPE, "application/pdf")], pdf).into_response())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectRequest {
    /// Why the warehouse cannot fulfil it (damaged stock, closed, …).
    pub reason: String,
}

/// The warehouse refuses a fulfillment order it has not started picking: its stock is
/// given back and its units are sourced again at another location (or backordered).
#[utoipa::path(post, path = "/api/v1/fulfillment-orders/{id}/reject", tag = "fulfillment",
    request_body = RejectRequest,
    responses((status = 200, body = crate::orders::view::OrderView),
        (status = 409, description = "illegal_fulfillment_transition", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn reject(
    State(app): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: ApiJson<RejectRequest>,
) -> Result<Response, ApiError> {
    let order_id = order_of(&id)?;
    let path = format!("/api/v1/fulfillment-orders/{id}/reject");
    let idem = idempotency(&headers, &principal, "POST", &path, &body.raw)?;
    let reason = body.value.reason.trim().to_owned();
    if reason.is_empty() || reason.len() > 500 {
        return Err(AppError::Validation(vec![FieldIssue::new(
            "reason",
            "invalid_length",
            "1-500 characters",
        )])
        .into());
    }
    let fulfillment_id = Id::new(id);
    order_reply(&app, order_id, idem, &principal, &headers, move |_| {
        Ok(OrderCommand::Reject {
            fulfillment_id: fulfillment_id.clone(),
            reason: reason.clone(),
        })
    })
    .await
}
