//! The pack station. A packer opens a fulfillment order (its id, or its order's number),
//! then scans each item into the scan field; a barcode scanner types the code and Enter,
//! which submits the field, so every scan is checked by the server at once against what
//! was picked and not yet packed (a GTIN is read as its catalog SKU, as packing reads
//! it). A refused scan is shown large and red and leaves the scans so far as they were.
//! The scans travel in the page (no server state), and "Pack" runs the API's pack
//! command with them, which checks them again; "Ship" then buys the label, cheapest
//! service that keeps the order's promise, as `POST /packages/{id}/ship` does.

use crate::app::AppState;
use crate::app::error::AppError;
use crate::console::error::ConsoleError;
use crate::console::page::{Layout, render};
use crate::console::session::{Posted, Viewer, done};
use crate::fulfillment::commands::NewPackage;
use crate::fulfillment::handover::ShipRequest;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use orderly_domain::fulfillment::FulfillmentState;
use orderly_domain::order::{FieldIssue, Order};
use orderly_domain::values::Id;
use serde::Deserialize;

type Answered = Result<Response, ConsoleError>;

/// The most scans one package carries here (the API's bound is larger; a pack station
/// that needs more packs twice).
const MAX_SCANS: usize = 500;

pub struct PackLine {
    pub line_no: u32,
    pub sku: String,
    pub name: String,
    pub picked: u32,
    pub packed: u32,
    pub scanned: u32,
    /// Still to scan for this package.
    pub left: u32,
}

pub struct PackageLine {
    pub id: String,
    pub items: String,
    pub shipped: Option<(String, String)>,
}

#[derive(Template)]
#[template(path = "console/pack.html")]
pub struct PackPage {
    pub layout: Layout,
    pub form_key: String,
    /// The fulfillment order open at the station, if any.
    pub fo: String,
    pub order_number: String,
    pub state: String,
    pub packable: bool,
    pub lines: Vec<PackLine>,
    /// The scans so far, space separated (what the hidden field carries).
    pub scans: String,
    pub scanned: Vec<String>,
    pub refused: Option<String>,
    pub accepted: Option<String>,
    pub packages: Vec<PackageLine>,
    /// The fulfillment orders of an order whose number was typed, to choose from.
    pub choices: Vec<(String, String)>,
    pub problem: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct StationQuery {
    /// A fulfillment order id or an order number.
    fo: Option<String>,
    /// The scans so far, separated by white space.
    scans: Option<String>,
    /// The scan just made.
    scan: Option<String>,
}

fn empty(layout: Layout, form_key: String) -> PackPage {
    PackPage {
        layout,
        form_key,
        fo: String::new(),
        order_number: String::new(),
        state: String::new(),
        packable: false,
        lines: Vec::new(),
        scans: String::new(),
        scanned: Vec::new(),
        refused: None,
        accepted: None,
        packages: Vec::new(),
        choices: Vec::new(),
        problem: None,
    }
}

pub async fn station(
    State(app): State<AppState>,
    viewer: Viewer,
    Query(q): Query<StationQuery>,
) -> Answered {
    let actor = viewer.actor();
    let mut page = empty(
        Layout::new(&viewer, "Pack station", "/console/floor"),
        app.new_id("frm"),
    );
    let asked = q.fo.as_deref().map(str::trim).unwrap_or_default();
    if asked.is_empty() {
        return Ok(render(Some(&viewer), StatusCode::OK, &page));
    }
    let found = if asked.starts_with("ful_") {
        app.order_of_fulfillment(&actor, asked.to_owned())
            .await
            .map(|o| (o, asked.to_owned()))
    } else {
        match app.order(&actor, asked.to_owned()).await {
            Ok(order) => {
                let open: Vec<_> = order
                    .fulfillment_orders
                    .iter()
                    .filter(|f| f.state == FulfillmentState::Picking)
                    .collect();
                if let [only] = open.as_slice() {
                    let id = only.id.to_string();
                    Ok((order, id))
                } else {
                    page.choices = order
                        .fulfillment_orders
                        .iter()
                        .map(|f| (f.id.to_string(), format!("{} ({})", f.id, f.state.as_str())))
                        .collect();
                    page.problem = Some(format!(
                        "Order {} has {} fulfillment orders to pack; choose one.",
                        order.number,
                        open.len()
                    ));
                    return Ok(render(Some(&viewer), StatusCode::OK, &page));
                }
            }
            Err(e) => Err(e),
        }
    };
    let (order, fo_id) = match found {
        Ok(found) => found,
        Err(AppError::NotFound(_) | AppError::Order(_)) => {
            page.problem = Some(format!("Nothing to pack is called {asked}."));
            return Ok(render(Some(&viewer), StatusCode::NOT_FOUND, &page));
        }
        Err(e) => return Err(e.into()),
    };
    let mut scans: Vec<String> = q
        .scans
        .as_deref()
        .unwrap_or_default()
        .split_whitespace()
        .take(MAX_SCANS)
        .map(str::to_owned)
        .collect();
    let mut status = StatusCode::OK;
    if let Some(scan) = q.scan.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        let mut tried = scans.clone();
        tried.push(scan.to_owned());
        match refusal(&app, &order, &fo_id, &tried).await? {
            Some(why) => {
                page.refused = Some(format!("Refused {scan}: {why}"));
                status = StatusCode::UNPROCESSABLE_ENTITY;
            }
            None => {
                page.accepted = Some(format!("{scan} scanned."));
                scans = tried;
            }
        }
    }
    fill(&app, &mut page, &order, &fo_id, &scans).await?;
    Ok(render(Some(&viewer), status, &page))
}

/// Why `scans` (the last one just made) do not fit fulfillment order `fo`, in the
/// domain's words, if they do not: the same rule packing applies.
async fn refusal(
    app: &AppState,
    order: &Order,
    fo: &str,
    scans: &[String],
) -> Result<Option<String>, AppError> {
    let skus = match app.resolve_scans(scans).await {
        Ok(skus) => skus,
        Err(AppError::Validation(_)) => return Ok(Some("not a SKU or barcode".into())),
        Err(e) => return Err(e),
    };
    let Some(f) = order
        .fulfillment_orders
        .iter()
        .find(|f| f.id.as_str() == fo)
    else {
        return Ok(Some("no such fulfillment order".into()));
    };
    Ok(orderly_domain::order::pack_items(f, &skus)
        .err()
        .map(|e| e.to_string()))
}

/// The station's view of fulfillment order `fo` with `scans` so far.
async fn fill(
    app: &AppState,
    page: &mut PackPage,
    order: &Order,
    fo: &str,
    scans: &[String],
) -> Result<(), AppError> {
    let f = order
        .fulfillment_orders
        .iter()
        .find(|f| f.id.as_str() == fo)
        .ok_or_else(|| AppError::NotFound("fulfillment order".into()))?;
    let skus = app.resolve_scans(scans).await.unwrap_or_default();
    page.fo = f.id.to_string();
    page.order_number = order.number.clone();
    page.state = f.state.as_str().to_owned();
    page.packable = f.state == FulfillmentState::Picking;
    page.lines = f
        .lines
        .iter()
        .filter(|l| l.quantity > 0)
        .map(|l| {
            let scanned =
                u32::try_from(skus.iter().filter(|s| **s == l.sku).count()).unwrap_or(u32::MAX);
            PackLine {
                line_no: l.line_no,
                sku: l.sku.to_string(),
                name: crate::console::page::line_name(order, l.line_no),
                picked: l.picked,
                packed: l.packed,
                scanned,
                left: l.picked.saturating_sub(l.packed).saturating_sub(scanned),
            }
        })
        .collect();
    page.scans = scans.join(" ");
    page.scanned = scans.to_vec();
    page.packages = f
        .packages
        .iter()
        .map(|p| PackageLine {
            id: p.id.to_string(),
            items: p
                .items
                .iter()
                .map(|i| format!("{} x{}", i.sku, i.quantity))
                .collect::<Vec<_>>()
                .join(", "),
            shipped: f.shipment_of(&p.id).map(|s| {
                (
                    format!("{} {}", s.carrier, s.tracking_number),
                    format!("/console/shipments/{}/label.pdf", s.id),
                )
            }),
        })
        .collect();
    Ok(())
}

#[derive(Debug, Deserialize)]
pub struct PackForm {
    #[serde(default)]
    scans: String,
    weight_grams: Option<String>,
    length_mm: Option<String>,
    width_mm: Option<String>,
    height_mm: Option<String>,
}

fn number(field: &str, text: Option<&str>) -> Result<u32, ConsoleError> {
    text.map(str::trim)
        .and_then(|t| t.parse::<u32>().ok())
        .filter(|n| (1..=1_000_000).contains(n))
        .ok_or_else(|| {
            AppError::Validation(vec![FieldIssue::new(
                field,
                "out_of_range",
                "a whole number, 1-1,000,000",
            )])
            .into()
        })
}

pub async fn pack(
    State(app): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<PackForm>,
) -> Answered {
    let form = &posted.form;
    let scans: Vec<String> = form
        .scans
        .split_whitespace()
        .take(MAX_SCANS + 1)
        .map(str::to_owned)
        .collect();
    if scans.len() > MAX_SCANS {
        return Err(AppError::Validation(vec![FieldIssue::new(
            "scans",
            "too_many",
            "at most 500 scans per package here",
        )])
        .into());
    }
    let package = NewPackage {
        scans,
        weight_grams: number("weight_grams", form.weight_grams.as_deref())?,
        dimensions_mm: [
            number("length_mm", form.length_mm.as_deref())?,
            number("width_mm", form.width_mm.as_deref())?,
            number("height_mm", form.height_mm.as_deref())?,
        ],
    };
    let order_id = crate::fulfillment::queries::order_of_fulfillment(&id)?;
    app.pack(
        posted.origin(),
        posted.idem.clone(),
        order_id,
        Id::new(id.clone()),
        package,
    )
    .await?;
    Ok(done(
        &posted.viewer,
        &format!("/console/pack?fo={id}"),
        "Packed. Ship it to print the label.",
    ))
}

pub async fn ship(
    State(app): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<crate::console::session::NoFields>,
) -> Answered {
    let order_id = Id::order_of_child(&id, "pkg")
        .ok_or_else(|| AppError::NotFound(format!("package {id}")))?
        .to_string();
    let order = app.order(&posted.viewer.actor(), order_id.clone()).await?;
    let fo = order
        .fulfillment_orders
        .iter()
        .find(|f| f.packages.iter().any(|p| p.id.as_str() == id))
        .map(|f| f.id.to_string())
        .unwrap_or_default();
    let req = ShipRequest {
        carrier: None,
        service: None,
        tracking_number: None,
        promised_by: None,
    };
    app.ship(
        posted.origin(),
        posted.idem.clone(),
        order_id,
        Id::new(id),
        req,
    )
    .await?;
    Ok(done(
        &posted.viewer,
        &format!("/console/pack?fo={fo}"),
        "Shipped: the label is ready.",
    ))
}
