//! `/fulfillment-orders`: the part of an order one location ships, looked up on its own
//! and released to the warehouse by hand (release is otherwise automatic once the order
//! is confirmed, free of holds and past its edit window).

use crate::app::AppState;
use crate::app::auth::{Permission, Principal};
use crate::app::error::AppError;
use crate::app::runner::capture_mode;
use crate::fulfillment::handover::{Handover, ShipRequest, to_counter};
use crate::fulfillment::packages::{created_package, package_view, pick_view};
use crate::fulfillment::tracking::TrackingEvent;
use crate::fulfillment::view::{FulfillmentOrderOut, fulfillment_out};
use crate::http::extract::{
    ApiJson, idempotency, json_reply, order_after, order_reply, signed_event, to_json,
};
use crate::http::problem::{ApiError, Problem};
use crate::providers::carriers::all_quotes;
use crate::providers::labels::{Label, LabelAddress};
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::response::Response;
use orderly_domain::carrier::{Quote, choose};
use orderly_domain::order::{
    Delivery, FieldIssue, FulfillmentOrder, OrderCommand, OrderError, ShipPackage,
};
use orderly_domain::values::{Gtin, Id, Sku};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
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

/// Each scan as a SKU: a barcode number (a valid GTIN) names the catalog product that has
/// it; anything else is read as a SKU. A GTIN no product has is kept as its digits, so
/// the fulfillment order refuses it as not in the order.
async fn resolve_scans(app: &AppState, raw: &[String]) -> Result<Vec<Sku>, AppError> {
    let mut gtins: Vec<String> = raw
        .iter()
        .filter_map(|s| Gtin::parse(s).ok())
        .map(|g| g.as_str().to_owned())
        .collect();
    gtins.sort();
    gtins.dedup();
    let known: HashMap<String, String> = if gtins.is_empty() {
        HashMap::new()
    } else {
        app.store
            .read(move |r| r.skus_by_gtin(&gtins))
            .await?
            .into_iter()
            .collect()
    };
    raw.iter()
        .enumerate()
        .map(|(i, scan)| {
            let by_gtin = Gtin::parse(scan)
                .ok()
                .and_then(|g| known.get(g.as_str()))
                .and_then(|sku| Sku::parse(sku).ok());
            match by_gtin {
                Some(sku) => Ok(sku),
                None => Sku::parse(scan.trim()).map_err(|e| {
                    AppError::Validation(vec![FieldIssue::new(
                        format!("scans[{i}]"),
                        e.code,
                        e.message,
                    )])
                }),
            }
        })
        .collect()
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
    if req.scans.len() > 10_000 {
        return Err(AppError::Validation(vec![FieldIssue::new(
            "scans",
            "too_many",
            "at most 10000 scans per package",
        )])
        .into());
    }
    let scans = resolve_scans(&app, &req.scans).await?;
    let fulfillment_id = Id::new(id);
    let command_fo = fulfillment_id.clone();
    let order = order_after(&app, order_id, idem, &principal, &headers, move |order| {
        let n: usize = order
            .fulfillment_orders
            .iter()
            .map(|f| f.packages.len())
            .sum();
        Ok(OrderCommand::Pack {
            fulfillment_id: command_fo.clone(),
            package_id: Id::child(&order.id, "pkg", n + 1),
            scans: scans.clone(),
            weight_grams: req.weight_grams,
            dimensions_mm: req.dimensions_mm,
        })
    })
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
    let mut req = body.value;
    req.promised_by = req.promised_by.map(orderly_domain::time::to_millis);
    for (field, value) in [
        ("carrier", &req.carrier),
        ("service", &req.service),
        ("tracking_number", &req.tracking_number),
    ] {
        if value
            .as_ref()
            .is_some_and(|v| v.trim().is_empty() || v.len() > 64)
        {
            return Err(AppError::Validation(vec![FieldIssue::new(
                field,
                "invalid_length",
                "1-64 characters",
            )])
            .into());
        }
    }
    let package_id = Id::new(id);
    // The service and the tracking number are settled before the write: booking with a
    // carrier is a call out, never made inside a transaction.
    let order = {
        let order_id = order_id.clone();
        app.store.read(move |r| r.order(&order_id)).await?
    }
    .ok_or_else(|| AppError::Order(OrderError::UnknownPackage(package_id.to_string())))?;
    if Delivery::pickup(order.delivery.as_ref()).is_some() {
        let handover = to_counter(&req, app.now())?;
        return ship_package(
            app, principal, headers, idem, order_id, package_id, handover,
        )
        .await;
    }
    let (carrier, service, promised_by) = match (&req.carrier, &req.service) {
        (Some(c), Some(s)) => (c.clone(), s.clone(), req.promised_by),
        _ => {
            let quote = rate_shop(&app.carriers, &order, &package_id, app.now())?;
            (
                quote.carrier,
                quote.service,
                req.promised_by.or(Some(quote.arrives_by)),
            )
        }
    };
    let tracking = match (req.tracking_number, app.carrier(&carrier)) {
        (Some(t), _) => t,
        (None, Some(c)) => c.book().map_err(|e| AppError::Conflict {
            code: "carrier_unavailable",
            detail: format!("{carrier} could not book the shipment: {e:#}"),
        })?,
        (None, None) => {
            return Err(AppError::Validation(vec![FieldIssue::new(
                "tracking_number",
                "required",
                format!("{carrier} is not a carrier Orderly books: send its tracking number"),
            )])
            .into());
        }
    };
    let handover = Handover {
        carrier,
        service,
        tracking_number: tracking,
        promised_by,
        ready_for_pickup_at: None,
    };
    ship_package(
        app, principal, headers, idem, order_id, package_id, handover,
    )
    .await
}

/// Records the shipment of `package_id` as `handover` says.
async fn ship_package(
    app: AppState,
    principal: Principal,
    headers: HeaderMap,
    idem: Option<crate::app::Idempotency>,
    order_id: String,
    package_id: Id,
    handover: Handover,
) -> Result<Response, ApiError> {
    let config = app.config.clone();
    order_reply(&app, order_id, idem, &principal, &headers, move |order| {
        let fo = order
            .fulfillment_orders
            .iter()
            .find(|f| f.packages.iter().any(|p| p.id == package_id))
            .ok_or_else(|| AppError::Order(OrderError::UnknownPackage(package_id.to_string())))?;
        let n: usize = order
            .fulfillment_orders
            .iter()
            .map(|f| f.shipments.len())
            .sum();
        Ok(OrderCommand::Ship {
            ship: ShipPackage {
                fulfillment_id: fo.id.clone(),
                package_id: package_id.clone(),
                shipment_id: Id::child(&order.id, "shp", n + 1),
                carrier: handover.carrier.clone(),
                service: handover.service.clone(),
                tracking_number: handover.tracking_number.clone(),
                promised_by: handover.promised_by,
                ready_for_pickup_at: handover.ready_for_pickup_at,
            },
            capture: capture_mode(&config, order),
        })
    })
    .await
}

/// The service a package ships with: the one the order asked for, else the cheapest that
/// arrives by the order's promised date (see `orderly_domain::carrier::choose`).
fn rate_shop(
    carriers: &[std::sync::Arc<dyn crate::providers::carriers::Carrier>],
    order: &orderly_domain::order::Order,
    package_id: &Id,
    now: jiff::Timestamp,
) -> Result<Quote, AppError> {
    let package = order
        .fulfillment_orders
        .iter()
        .flat_map(|f| &f.packages)
        .find(|p| &p.id == package_id)
        .ok_or_else(|| AppError::Order(OrderError::UnknownPackage(package_id.to_string())))?;
    let to = &order.shipping_address;
    let offers = all_quotes(
        carriers,
        to.country.as_str(),
        to.region.as_deref(),
        package.weight_grams,
        now,
    );
    let delivery = order.delivery.as_ref();
    choose(
        &offers,
        delivery.and_then(|d| d.service.as_deref()),
        delivery.and_then(|d| d.deliver_by),
        to.country.as_str(),
        package.weight_grams,
    )
    .map_err(|e| AppError::Conflict {
        code: "no_carrier_service",
        detail: e.to_string(),
    })
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
    principal.require(Permission::ReadOrders)?;
    let order_id = order_of(&id)?;
    let order = app.store.read(move |r| r.order(&order_id)).await?;
    let view = order.and_then(|o| {
        let fo = o.fulfillment_orders.iter().find(|f| f.id.as_str() == id)?;
        Some(FulfillmentOrderView {
            fulfillment: fulfillment_out(fo),
            order_id: o.id.to_string(),
            order_number: o.number.clone(),
        })
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
    principal.require(Permission::ReadOrders)?;
    let not_found = || AppError::Order(OrderError::UnknownShipment(id.clone()));
    let order_id = Id::order_of_child(&id, "shp")
        .ok_or_else(not_found)?
        .to_string();
    let order = app
        .store
        .read(move |r| r.order(&order_id))
        .await?
        .ok_or_else(not_found)?;
    let (fo, shipment) = order
        .fulfillment_orders
        .iter()
        .find_map(|f| {
            f.shipments
                .iter()
                .find(|s| s.id.as_str() == id)
                .map(|s| (f, s))
        })
        .ok_or_else(not_found)?;
    let package = fo
        .packages
        .iter()
        .find(|p| p.id == shipment.package_id)
        .ok_or_else(not_found)?;
    let location = app
        .config
        .locations
        .iter()
        .find(|l| l.id == fo.location_id.as_str())
        .ok_or_else(|| AppError::Internal(format!("no location {}", fo.location_id)))?;
    let to = &order.shipping_address;
    let label = Label {
        tracking_number: shipment.tracking_number.clone(),
        carrier: shipment.carrier.clone(),
        service: shipment.service.clone(),
        weight_grams: package.weight_grams,
        ship_from: LabelAddress {
            name: location.name.clone(),
            line1: location.address.line1.clone(),
            line2: None,
            city: location.address.city.clone(),
            region: location.address.region.clone(),
            postal_code: location.address.postal_code.clone(),
            country: location.address.country.clone(),
        },
        ship_to: LabelAddress {
            name: to.name.clone(),
            line1: to.line1.clone(),
            line2: to.line2.clone(),
            city: to.city.clone(),
            region: to.region.clone(),
            postal_code: to.postal_code.clone(),
            country: to.country.to_string(),
        },
        order_number: order.number.clone(),
        package_id: package.id.to_string(),
    };
    // The shipment's carrier prints its label; one Orderly does not book prints its own.
    let carrier = app
        .carrier(&shipment.carrier)
        .ok_or_else(|| AppError::Conflict {
            code: "label_unavailable",
            detail: format!("{} prints its own labels", shipment.carrier),
        })?;
    let pdf = carrier.label(&label).map_err(|e| AppError::Conflict {
        code: "label_unavailable",
        detail: format!("no label can be printed for this shipment: {e}"),
    })?;
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
