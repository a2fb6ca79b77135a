//! `/packages/{id}` and `/shipments/{id}`: a parcel looked up on its own, with the order
//! and fulfillment order it belongs to, and the answers of pick and pack, which say what
//! they recorded instead of repeating the whole order. A client holding an id from a
//! scan, a label or a webhook needs nothing else to find its way back.

use crate::app::AppState;
use crate::app::auth::Principal;
use crate::app::error::AppError;
use crate::fulfillment::view::{PackageOut, ShipmentOut, package_out, shipment_out};
use crate::http::extract::{json_reply, to_json};
use crate::http::problem::{ApiError, Problem};
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::Response;
use orderly_domain::order::{FulfillmentOrder, Order, OrderError};
use orderly_domain::values::Id;
use serde::Serialize;
use utoipa::ToSchema;

/// Where the things an answer names are read.
#[derive(Debug, Serialize, ToSchema)]
pub struct Links {
    /// `/api/v1/orders/{order_id}`.
    pub order: String,
    /// `/api/v1/fulfillment-orders/{fulfillment_order_id}`.
    pub fulfillment_order: String,
    /// `/api/v1/packages/{id}`, on a shipment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    /// `/api/v1/shipments/{id}`, on a shipped package.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shipment: Option<String>,
}

/// The fulfillment order and order a package, shipment or pick belongs to, with links
/// (flattened into each answer).
#[derive(Debug, Serialize, ToSchema)]
pub struct BelongsTo {
    pub fulfillment_order_id: String,
    pub location_id: String,
    pub order_id: String,
    pub order_number: String,
    pub links: Links,
}

impl BelongsTo {
    fn new(order: &Order, fo: &FulfillmentOrder) -> BelongsTo {
        BelongsTo {
            fulfillment_order_id: fo.id.to_string(),
            location_id: fo.location_id.to_string(),
            order_id: order.id.to_string(),
            order_number: order.number.clone(),
            links: Links {
                order: format!("/api/v1/orders/{}", order.id),
                fulfillment_order: format!("/api/v1/fulfillment-orders/{}", fo.id),
                package: None,
                shipment: None,
            },
        }
    }
}

/// A package with what it belongs to.
#[derive(Debug, Serialize, ToSchema)]
pub struct PackageView {
    #[serde(flatten)]
    pub package: PackageOut,
    #[serde(flatten)]
    pub belongs_to: BelongsTo,
}

/// A shipment with what it belongs to.
#[derive(Debug, Serialize, ToSchema)]
pub struct ShipmentView {
    #[serde(flatten)]
    pub shipment: ShipmentOut,
    #[serde(flatten)]
    pub belongs_to: BelongsTo,
}

/// One line of a pick as recorded.
#[derive(Debug, Serialize, ToSchema)]
pub struct PickedLineOut {
    pub line_no: u32,
    pub sku: String,
    /// Units found, to be packed here.
    pub picked: u32,
    /// Units not found here: taken off this location and sourced again (see the order's
    /// lines for where they went, or why they wait).
    pub short: u32,
}

/// What a pick recorded.
#[derive(Debug, Serialize, ToSchema)]
pub struct PickView {
    #[serde(flatten)]
    pub belongs_to: BelongsTo,
    /// The fulfillment order's state after the pick: `picking`, or `cancelled` when
    /// nothing was found.
    pub state: String,
    pub lines: Vec<PickedLineOut>,
}

pub fn package_view(order: &Order, fo: &FulfillmentOrder, package_id: &Id) -> Option<PackageView> {
    let p = fo.packages.iter().find(|p| &p.id == package_id)?;
    let mut belongs_to = BelongsTo::new(order, fo);
    belongs_to.links.shipment = fo
        .shipment_of(&p.id)
        .map(|s| format!("/api/v1/shipments/{}", s.id));
    Some(PackageView {
        package: package_out(fo, p),
        belongs_to,
    })
}

/// What the pick of `fo` recorded, as the order now stands.
pub fn pick_view(order: &Order, fo: &FulfillmentOrder) -> PickView {
    PickView {
        belongs_to: BelongsTo::new(order, fo),
        state: fo.state.as_str().to_owned(),
        lines: fo
            .lines
            .iter()
            .map(|l| PickedLineOut {
                line_no: l.line_no,
                sku: l.sku.to_string(),
                picked: l.picked,
                short: l.short,
            })
            .collect(),
    }
}

/// A package just made: `201 Created` with its `Location`.
pub fn created_package(view: &PackageView) -> Response {
    let mut response = json_reply((201, to_json(view)));
    if let Ok(location) = HeaderValue::from_str(&format!("/api/v1/packages/{}", view.package.id)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// A package with its order and fulfillment order (and its shipment, once shipped).
#[utoipa::path(get, path = "/api/v1/packages/{id}", tag = "fulfillment",
    params(("id" = String, Path, description = "Package id (pkg_…)")),
    responses((status = 200, body = PackageView),
        (status = 404, description = "package_not_found", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn get_package(
    State(app): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let order = app.order_of_package(&principal.actor(), id.clone()).await?;
    let package_id = Id::new(id.clone());
    let view = order
        .package(&package_id)
        .and_then(|(fo, _)| package_view(&order, fo, &package_id));
    match view {
        Some(v) => Ok(json_reply((200, to_json(&v)))),
        None => Err(AppError::Order(OrderError::UnknownPackage(id)).into()),
    }
}

/// A shipment with its scans, its package, and the order it belongs to.
#[utoipa::path(get, path = "/api/v1/shipments/{id}", tag = "fulfillment",
    params(("id" = String, Path, description = "Shipment id (shp_…)")),
    responses((status = 200, body = ShipmentView),
        (status = 404, description = "shipment_not_found", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn get_shipment(
    State(app): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let order = app
        .order_of_shipment(&principal.actor(), id.clone())
        .await?;
    let view = order.shipment(&Id::new(id.clone())).map(|(fo, s)| {
        let mut belongs_to = BelongsTo::new(&order, fo);
        belongs_to.links.package = Some(format!("/api/v1/packages/{}", s.package_id));
        ShipmentView {
            shipment: shipment_out(s),
            belongs_to,
        }
    });
    match view {
        Some(v) => Ok(json_reply((200, to_json(&v)))),
        None => Err(AppError::Order(OrderError::UnknownShipment(id)).into()),
    }
}
