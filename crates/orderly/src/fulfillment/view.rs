//! Fulfillment orders, packages and shipments as the API shows them, inside an order's
//! view and on their own (`GET /fulfillment-orders/{id}`, `/packages/{id}`,
//! `/shipments/{id}`). Only views here: the handlers that change them are in
//! `fulfillment`, so the order view needs no handler module.

use orderly_domain::order::{FulfillmentOrder, Package, Shipment};
use orderly_domain::time::rfc3339;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct FulfillmentLineOut {
    pub line_no: u32,
    pub sku: String,
    pub quantity: u32,
    pub picked: u32,
    pub packed: u32,
    pub shipped: u32,
    /// Units the picker could not find here (sourced again elsewhere).
    pub short: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PackageItemOut {
    pub line_no: u32,
    pub sku: String,
    pub quantity: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PackageOut {
    pub id: String,
    pub items: Vec<PackageItemOut>,
    pub weight_grams: u32,
    /// Length, width, height.
    pub dimensions_mm: [u32; 3],
    pub packed_at: String,
    pub shipment_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ShipmentOut {
    pub id: String,
    pub package_id: String,
    pub carrier: String,
    pub service: String,
    pub tracking_number: String,
    pub shipped_at: String,
    /// The furthest status the carrier reported: label_created, picked_up, in_transit,
    /// out_for_delivery or delivered.
    pub status: String,
    /// delayed, delivery_failed, lost, returned_to_sender.
    pub flags: Vec<String>,
    pub last_scan_at: Option<String>,
    pub promised_by: Option<String>,
    pub scans: Vec<ScanOut>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScanOut {
    pub status: String,
    pub occurred_at: String,
    pub location: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FulfillmentOrderOut {
    pub id: String,
    pub location_id: String,
    /// pending, released, picking, packed, shipped, in_transit, out_for_delivery,
    /// delivered or cancelled.
    pub state: String,
    pub lines: Vec<FulfillmentLineOut>,
    pub created_at: String,
    pub released_at: Option<String>,
    pub packages: Vec<PackageOut>,
    pub shipments: Vec<ShipmentOut>,
}

pub fn fulfillment_out(f: &FulfillmentOrder) -> FulfillmentOrderOut {
    FulfillmentOrderOut {
        id: f.id.to_string(),
        location_id: f.location_id.to_string(),
        state: f.state.as_str().to_owned(),
        lines: f
            .lines
            .iter()
            .map(|l| FulfillmentLineOut {
                line_no: l.line_no,
                sku: l.sku.to_string(),
                quantity: l.quantity,
                picked: l.picked,
                packed: l.packed,
                shipped: l.shipped,
                short: l.short,
            })
            .collect(),
        created_at: rfc3339(f.created_at),
        released_at: f.released_at.map(rfc3339),
        packages: f.packages.iter().map(|p| package_out(f, p)).collect(),
        shipments: f.shipments.iter().map(shipment_out).collect(),
    }
}

pub fn package_out(fo: &FulfillmentOrder, p: &Package) -> PackageOut {
    PackageOut {
        id: p.id.to_string(),
        items: p
            .items
            .iter()
            .map(|i| PackageItemOut {
                line_no: i.line_no,
                sku: i.sku.to_string(),
                quantity: i.quantity,
            })
            .collect(),
        weight_grams: p.weight_grams,
        dimensions_mm: p.dimensions_mm,
        packed_at: rfc3339(p.packed_at),
        shipment_id: fo.shipment_of(&p.id).map(|s| s.id.to_string()),
    }
}

pub fn shipment_out(s: &Shipment) -> ShipmentOut {
    ShipmentOut {
        id: s.id.to_string(),
        package_id: s.package_id.to_string(),
        carrier: s.carrier.clone(),
        service: s.service.clone(),
        tracking_number: s.tracking_number.clone(),
        shipped_at: rfc3339(s.shipped_at),
        status: s.status().as_str().to_owned(),
        flags: s
            .flags()
            .iter()
            .map(|f| {
                serde_json::to_value(f)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default()
            })
            .collect(),
        last_scan_at: Some(rfc3339(s.last_scan_at())),
        promised_by: s.promised_by.map(rfc3339),
        scans: s
            .scans
            .iter()
            .map(|c| ScanOut {
                status: c.status.as_str().to_owned(),
                occurred_at: rfc3339(c.occurred_at),
                location: c.location.clone(),
            })
            .collect(),
    }
}
