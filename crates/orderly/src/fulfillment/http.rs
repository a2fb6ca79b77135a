//! `/fulfillment-orders`: the part of an order one location ships, looked up on its own
//! and released to the warehouse by hand (release is otherwise automatic once the order
//! is confirmed, free of holds and past its edit window).

use crate::app::AppState;
use crate::app::auth::Principal;
use crate::app::error::AppError;
use crate::fulfillment::commands::NewPackage;
use crate::fulfillment::handover::ShipRequest;
use crate::fulfillment::packages::{created_package, package_view, pick_view};
use crate::fulfillment::queries::order_of_fulfillment;
use crate::fulfillment::tracking::TrackingEvent;
use crate::fulfillment::view::{FulfillmentOrderOut, fulfillment_out};
use crate::http::extract::{
    ApiJson, bound_texts, idempotency, json_reply, order_after, order_reply, origin, outcome_reply,
    required_text, signed_event, to_json,
};
use crate::http::problem::{ApiError, Problem};
use crate::http::schema::required_text as text_schema;
use crate::orders::capture::sku_schema;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::response::Response;
use orderly_domain::order::{FieldIssue, FulfillmentOrder, OrderCommand, OrderError};
use orderly_domain::values::{Id, Sku};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};

#[derive(Debug, Serialize, ToSchema)]
pub struct FulfillmentOrderView {
    #[serde(flatten)]
    pub fulfillment: FulfillmentOrderOut,
    pub order_id: String,
    pub order_number: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PickedLineIn {
    /// The order line, from 1.
    #[schema(minimum = 1, maximum = 1000)]
    pub line_no: u32,
    /// Units found; fewer than the line holds is a short pick.
    #[schema(minimum = 0, maximum = 1_000_000)]
    pub picked: u32,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PickRequest {
    /// Every line of the fulfillment order, once.
    #[schema(max_items = 1000)]
    pub lines: Vec<PickedLineIn>,
}

/// A refusal naming `field`.
fn invalid(field: &str, code: &'static str, message: impl Into<String>) -> ApiError {
    AppError::Validation(vec![FieldIssue::new(field, code, message)]).into()
}

/// The bounds the pick request's document declares.
fn check_pick(req: &PickRequest) -> Result<(), ApiError> {
    if req.lines.len() > 1000 {
        return Err(invalid("lines", "too_many_lines", "at most 1000 lines"));
    }
    for (i, l) in req.lines.iter().enumerate() {
        if !(1..=1000).contains(&l.line_no) {
            return Err(invalid(
                &format!("lines[{i}].line_no"),
                "out_of_range",
                "line_no is 1-1000",
            ));
        }
        if l.picked > 1_000_000 {
            return Err(invalid(
                &format!("lines[{i}].picked"),
                "out_of_range",
                "picked is 0-1,000,000",
            ));
        }
    }
    Ok(())
}

/// Confirms what was picked, and answers with what it recorded per line. A short pick
/// takes the missing units off this location (and off its stock) and sources them again
/// elsewhere, or backorders them (the order's lines say which).
#[utoipa::path(post, path = "/api/v1/fulfillment-orders/{id}/pick", tag = "fulfillment",
    params(("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Replays the first response for the same key and request")),
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
    let order_id = order_of_fulfillment(&id)?;
    let path = format!("/api/v1/fulfillment-orders/{id}/pick");
    let idem = idempotency(&headers, &principal, "POST", &path, &body.raw)?;
    check_pick(&body.value)?;
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
    #[schema(min_items = 1, max_items = 10_000, value_type = Vec<String>, schema_with = scans_schema)]
    pub scans: Vec<String>,
    /// 1 g to 1,000 kg.
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub weight_grams: u32,
    /// Length, width and height, each 1 mm to 10 m.
    #[schema(schema_with = dimensions_schema)]
    pub dimensions_mm: [u32; 3],
}

fn scans_schema() -> ArrayBuilder {
    ArrayBuilder::new()
        .items(sku_schema())
        .min_items(Some(1))
        .max_items(Some(10_000))
}

fn dimensions_schema() -> ArrayBuilder {
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(1))
                .maximum(Some(10_000)),
        )
        .min_items(Some(3))
        .max_items(Some(3))
}

/// The bounds the pack request's document declares.
fn check_pack(req: &PackRequest) -> Result<(), ApiError> {
    if !(1..=10_000).contains(&req.scans.len()) {
        return Err(invalid("scans", "invalid_length", "1-10000 scans"));
    }
    if let Some(i) = req.scans.iter().position(|s| Sku::parse(s).is_err()) {
        return Err(invalid(
            &format!("scans[{i}]"),
            "invalid_scan",
            "a barcode number or SKU: 1-64 letters, digits, '-', '_' or '.'",
        ));
    }
    if !(1..=1_000_000).contains(&req.weight_grams) {
        return Err(invalid("weight_grams", "out_of_range", "1-1,000,000 grams"));
    }
    if let Some(i) = req
        .dimensions_mm
        .iter()
        .position(|d| !(1..=10_000).contains(d))
    {
        return Err(invalid(
            &format!("dimensions_mm[{i}]"),
            "out_of_range",
            "1-10,000 mm",
        ));
    }
    Ok(())
}

/// Packs scanned units into a new package, and answers with the package (its id is what
/// `POST /packages/{id}/ship` takes) and the order it belongs to. An item this
/// fulfillment order does not hold, or one unit more than was picked, is refused and
/// nothing is packed.
#[utoipa::path(post, path = "/api/v1/fulfillment-orders/{id}/packages", tag = "fulfillment",
    params(("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Replays the first response for the same key and request")),
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
    let order_id = order_of_fulfillment(&id)?;
    let path = format!("/api/v1/fulfillment-orders/{id}/packages");
    let idem = idempotency(&headers, &principal, "POST", &path, &body.raw)?;
    check_pack(&body.value)?;
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
    params(
        ("webhook-id" = String, Header, max_length = 200, description = "Standard Webhooks: the event's id, equal to the body's `id`"),
        ("webhook-timestamp" = String, Header, pattern = "^[0-9]{1,12}$", description = "Standard Webhooks: Unix seconds when it was signed"),
        ("webhook-signature" = String, Header, max_length = 2000, description = "Standard Webhooks: `v1,<base64 HMAC-SHA256>`, space-separated"),
    ),
    request_body = TrackingEvent,
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
    bound_texts(&[
        ("id", Some(&event.id), 200),
        ("carrier", Some(&event.carrier), 64),
        ("tracking_number", Some(&event.tracking_number), 64),
        ("status", Some(&event.status), 64),
        ("location", event.location.as_deref(), 200),
    ])?;
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
    params(("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Replays the first response for the same key and request")),
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
    params(("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Replays the first response for the same key and request")),
    responses((status = 200, body = crate::orders::view::OrderView),
        (status = 409, description = "release_blocked, fulfillment_not_pending", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn release(
    State(app): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let order_id = order_of_fulfillment(&id)?;
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
    #[schema(schema_with = text_schema::<500>)]
    pub reason: String,
}

/// The warehouse refuses a fulfillment order it has not started picking: its stock is
/// given back and its units are sourced again at another location (or backordered).
#[utoipa::path(post, path = "/api/v1/fulfillment-orders/{id}/reject", tag = "fulfillment",
    params(("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Replays the first response for the same key and request")),
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
    let order_id = order_of_fulfillment(&id)?;
    let path = format!("/api/v1/fulfillment-orders/{id}/reject");
    let idem = idempotency(&headers, &principal, "POST", &path, &body.raw)?;
    if let Some(issue) = required_text("reason", &body.value.reason, 500) {
        return Err(AppError::Validation(vec![issue]).into());
    }
    let reason = body.value.reason.trim().to_owned();
    let fulfillment_id = Id::new(id);
    order_reply(&app, order_id, idem, &principal, &headers, move |_| {
        Ok(OrderCommand::Reject {
            fulfillment_id: fulfillment_id.clone(),
            reason: reason.clone(),
        })
    })
    .await
}
