//! Fulfillment orders: the part of an order one location ships. Each sourcing decision
//! opens one per location it reserved stock at; releasing hands it to the warehouse. The
//! line buckets move with them, so "partially released" is a fact about units.

use super::error::OrderError;
use super::event::{
    FulfillmentRejected, FulfillmentReleased, OrderEvent, PackageCreated, PackageItem,
    PickConfirmed, PickedLine,
};
use super::shipments::Shipment;
use super::state::{Buckets, Order, OrderState, Reservation};
use crate::Timestamp;
use crate::fulfillment::FulfillmentState;
use crate::values::{Id, Sku};
use serde::{Deserialize, Serialize};

/// One order line's units at one location.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FulfillmentLine {
    pub line_no: u32,
    pub sku: Sku,
    /// Units this location ships (less after a short pick).
    pub quantity: u32,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub picked: u32,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub packed: u32,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub shipped: u32,
    /// Units the picker could not find here (they left this location's stock and were
    /// sourced again): this location's count for them was wrong.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub short: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Package {
    pub id: Id,
    pub items: Vec<PackageItem>,
    pub weight_grams: u32,
    pub dimensions_mm: [u32; 3],
    pub packed_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FulfillmentOrder {
    pub id: Id,
    pub location_id: Id,
    pub state: FulfillmentState,
    pub lines: Vec<FulfillmentLine>,
    pub created_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub released_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub packages: Vec<Package>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shipments: Vec<Shipment>,
    /// Why the warehouse refused it, if it did (its location is then not asked again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejected: Option<String>,
}

impl FulfillmentOrder {
    /// The shipment that carried `package_id`, if it has shipped: a package's shipment is
    /// recorded once, on the shipment (`Shipment::package_id`).
    pub fn shipment_of(&self, package_id: &Id) -> Option<&Shipment> {
        self.shipments.iter().find(|s| &s.package_id == package_id)
    }
}

/// Opens a fulfillment order per location of `reservations` (in the order the locations
/// first appear), as part of folding a sourcing decision.
pub(super) fn open(order: &mut Order, reservations: &[Reservation], at: Timestamp) {
    let mut locations: Vec<&Id> = Vec::new();
    for r in reservations {
        if !locations.contains(&&r.location_id) {
            locations.push(&r.location_id);
        }
    }
    for location in locations {
        let id = Id::child(&order.id, "ful", order.fulfillment_orders.len() + 1);
        let lines = reservations
            .iter()
            .filter(|r| &r.location_id == location)
            .map(|r| FulfillmentLine {
                line_no: r.line_no,
                sku: r.sku.clone(),
                quantity: r.quantity,
                picked: 0,
                packed: 0,
                shipped: 0,
                short: 0,
            })
            .collect();
        order.fulfillment_orders.push(FulfillmentOrder {
            id,
            location_id: location.clone(),
            state: FulfillmentState::Pending,
            lines,
            created_at: at,
            released_at: None,
            packages: Vec::new(),
            shipments: Vec::new(),
            rejected: None,
        });
    }
}

/// Folds a release: the fulfillment order goes to the warehouse and its units count as
/// released on their lines.
pub(super) fn apply_release(
    order: &mut Order,
    r: &FulfillmentReleased,
    at: Timestamp,
) -> Result<(), &'static str> {
    let fo = order
        .fulfillment_orders
        .iter_mut()
        .find(|f| f.id == r.fulfillment_id)
        .ok_or("no such fulfillment order")?;
    if !fo.state.can_transition_to(FulfillmentState::Released) {
        return Err("the fulfillment order is not pending");
    }
    fo.state = FulfillmentState::Released;
    fo.released_at = Some(at);
    let units: Vec<(u32, u32)> = fo.lines.iter().map(|l| (l.line_no, l.quantity)).collect();
    for (line_no, quantity) in units {
        let line = order
            .lines
            .iter_mut()
            .find(|l| l.line_no == line_no)
            .ok_or("unknown line")?;
        line.buckets.released += quantity;
    }
    Ok(())
}

/// Cancelling the order cancels whatever has not left a warehouse.
pub(super) fn cancel_open(order: &mut Order) {
    for fo in &mut order.fulfillment_orders {
        if fo.state.can_transition_to(FulfillmentState::Cancelled) {
            fo.state = FulfillmentState::Cancelled;
        }
    }
}

/// Releases the pending fulfillment order `only` (or every pending one): allowed once
/// the order is confirmed and no hold is active.
pub(super) fn release(order: &Order, only: Option<&Id>) -> Result<Vec<OrderEvent>, OrderError> {
    let blockers = order.release_blockers();
    if !blockers.is_empty() {
        return Err(OrderError::ReleaseBlocked(blockers));
    }
    debug_assert_eq!(order.state, OrderState::Confirmed);
    let chosen: Vec<&FulfillmentOrder> = match only {
        Some(id) => {
            let fo = order
                .fulfillment_orders
                .iter()
                .find(|f| &f.id == id)
                .ok_or_else(|| OrderError::UnknownFulfillmentOrder(id.to_string()))?;
            if fo.state != FulfillmentState::Pending {
                return Err(OrderError::FulfillmentNotPending(id.to_string()));
            }
            vec![fo]
        }
        None => order
            .fulfillment_orders
            .iter()
            .filter(|f| f.state == FulfillmentState::Pending)
            .collect(),
    };
    Ok(chosen
        .into_iter()
        .map(|fo| {
            OrderEvent::FulfillmentReleased(FulfillmentReleased {
                fulfillment_id: fo.id.clone(),
            })
        })
        .collect())
}

impl Order {
    /// Fulfillment orders waiting for release.
    pub fn pending_fulfillment(&self) -> bool {
        self.fulfillment_orders
            .iter()
            .any(|f| f.state == FulfillmentState::Pending)
    }

    /// The package `id`, with the fulfillment order that packed it.
    pub fn package(&self, id: &Id) -> Option<(&FulfillmentOrder, &Package)> {
        self.fulfillment_orders
            .iter()
            .find_map(|f| f.packages.iter().find(|p| &p.id == id).map(|p| (f, p)))
    }

    /// The shipment `id`, with the fulfillment order that shipped it.
    pub fn shipment(&self, id: &Id) -> Option<(&FulfillmentOrder, &Shipment)> {
        self.fulfillment_orders
            .iter()
            .find_map(|f| f.shipments.iter().find(|s| &s.id == id).map(|s| (f, s)))
    }

    /// The id of the order's next package (`pkg_<order suffix>_<n>`). Packages are
    /// numbered across all of the order's fulfillment orders, from 1, so the id names
    /// its order and is the same when a replayed request decides again.
    pub fn next_package_id(&self) -> Id {
        let n: usize = self
            .fulfillment_orders
            .iter()
            .map(|f| f.packages.len())
            .sum();
        Id::child(&self.id, "pkg", n + 1)
    }

    /// The id of the order's next shipment (`shp_<order suffix>_<n>`), numbered as
    /// packages are.
    pub fn next_shipment_id(&self) -> Id {
        let n: usize = self
            .fulfillment_orders
            .iter()
            .map(|f| f.shipments.len())
            .sum();
        Id::child(&self.id, "shp", n + 1)
    }
}

pub(super) fn find<'a>(order: &'a Order, id: &Id) -> Result<&'a FulfillmentOrder, OrderError> {
    order
        .fulfillment_orders
        .iter()
        .find(|f| &f.id == id)
        .ok_or_else(|| OrderError::UnknownFulfillmentOrder(id.to_string()))
}

pub(super) fn wrong_state(fo: &FulfillmentOrder, doing: &'static str) -> OrderError {
    OrderError::FulfillmentState {
        id: fo.id.to_string(),
        state: fo.state,
        doing,
    }
}

/// The picker's count for every line of a released fulfillment order.
pub(super) fn pick(
    order: &Order,
    id: &Id,
    picked: &[(u32, u32)],
) -> Result<Vec<OrderEvent>, OrderError> {
    let fo = find(order, id)?;
    if fo.state != FulfillmentState::Released {
        return Err(wrong_state(fo, "pick"));
    }
    super::cancel_request::awaits_no_cancellation(order, id)?;
    let mut lines = Vec::with_capacity(fo.lines.len());
    for line in &fo.lines {
        let counted: Vec<u32> = picked
            .iter()
            .filter(|(n, _)| *n == line.line_no)
            .map(|(_, q)| *q)
            .collect();
        match counted.as_slice() {
            [q] if *q <= line.quantity => lines.push(PickedLine {
                line_no: line.line_no,
                picked: *q,
                short: line.quantity - q,
            }),
            _ => return Err(OrderError::InvalidPick(line.line_no)),
        }
    }
    if let Some((n, _)) = picked
        .iter()
        .find(|(n, _)| !fo.lines.iter().any(|l| l.line_no == *n))
    {
        return Err(OrderError::InvalidPick(*n));
    }
    Ok(vec![OrderEvent::PickConfirmed(PickConfirmed {
        fulfillment_id: id.clone(),
        lines,
    })])
}

/// Folds a pick: what was not found leaves this location (its reservation and its stock,
/// which was not there) and waits to be sourced again.
pub(super) fn apply_pick(order: &mut Order, p: &PickConfirmed) -> Result<(), &'static str> {
    let fo_index = order
        .fulfillment_orders
        .iter()
        .position(|f| f.id == p.fulfillment_id)
        .ok_or("no such fulfillment order")?;
    let location = order.fulfillment_orders[fo_index].location_id.clone();
    for picked in &p.lines {
        let fo = &mut order.fulfillment_orders[fo_index];
        let line = fo
            .lines
            .iter_mut()
            .find(|l| l.line_no == picked.line_no)
            .ok_or("unknown fulfillment line")?;
        let short = picked.short;
        if picked.picked + short != line.quantity {
            return Err("picked and short do not add up to the line");
        }
        line.quantity = picked.picked;
        line.picked = picked.picked;
        line.short += short;
        if short > 0 {
            unreserve(order, picked.line_no, &location, short, true)?.unallocated += short;
        }
    }
    let fo = &mut order.fulfillment_orders[fo_index];
    fo.state = if fo.lines.iter().all(|l| l.quantity == 0) {
        FulfillmentState::Cancelled
    } else {
        FulfillmentState::Picking
    };
    Ok(())
}

/// Takes `quantity` units of a line off its reservation at `location` and out of its
/// allocated (and, when they had been released, released) bucket; the caller puts them
/// in the bucket they move to.
pub(super) fn unreserve<'o>(
    order: &'o mut Order,
    line_no: u32,
    location: &Id,
    quantity: u32,
    released: bool,
) -> Result<&'o mut Buckets, &'static str> {
    take_reserved(order, line_no, location, quantity)?;
    let b = &mut order
        .lines
        .iter_mut()
        .find(|l| l.line_no == line_no)
        .ok_or("unknown line")?
        .buckets;
    b.allocated = b
        .allocated
        .checked_sub(quantity)
        .ok_or("allocated underflow")?;
    if released {
        b.released = b
            .released
            .checked_sub(quantity)
            .ok_or("released underflow")?;
    }
    Ok(b)
}

/// Takes `quantity` of a line's reservation at `location` off the order's reservations.
fn take_reserved(
    order: &mut Order,
    line_no: u32,
    location: &Id,
    quantity: u32,
) -> Result<(), &'static str> {
    let r = order
        .reservations
        .iter_mut()
        .find(|r| r.line_no == line_no && &r.location_id == location && r.quantity >= quantity)
        .ok_or("no reservation covers the units")?;
    r.quantity -= quantity;
    order.reservations.retain(|r| r.quantity > 0);
    Ok(())
}

/// The package `scans` (one SKU per scanned unit) make from fulfillment order `fo`:
/// each unit goes to a line of its SKU with room (picked and not yet packed). A SKU
/// not in `fo` is `ScanNotInOrder`, one unit too many `ScanExceedsPicked`. The pack
/// station asks this after every scan, so it refuses exactly what packing refuses.
pub fn pack_items(fo: &FulfillmentOrder, scans: &[Sku]) -> Result<Vec<PackageItem>, OrderError> {
    let mut items: Vec<PackageItem> = Vec::new();
    for sku in scans {
        let holds = fo.lines.iter().filter(|l| &l.sku == sku);
        let mut fits = None;
        let mut known = false;
        for line in holds {
            known = true;
            let taken = items
                .iter()
                .find(|i| i.line_no == line.line_no)
                .map_or(0, |i| i.quantity);
            if line.picked - line.packed > taken {
                fits = Some(line.line_no);
                break;
            }
        }
        match (known, fits) {
            (false, _) => return Err(OrderError::ScanNotInOrder(sku.to_string())),
            (true, None) => return Err(OrderError::ScanExceedsPicked(sku.to_string())),
            (true, Some(line_no)) => match items.iter_mut().find(|i| i.line_no == line_no) {
                Some(i) => i.quantity += 1,
                None => items.push(PackageItem {
                    line_no,
                    sku: sku.clone(),
                    quantity: 1,
                }),
            },
        }
    }
    Ok(items)
}

/// Packs scanned items into a package: each scan is one unit of a SKU this fulfillment
/// order picked and has not packed yet. A SKU it does not hold, or one unit too many, is
/// refused, and nothing is packed.
pub(super) fn pack(
    order: &Order,
    id: &Id,
    package_id: Id,
    scans: &[Sku],
    weight_grams: u32,
    dimensions_mm: [u32; 3],
) -> Result<Vec<OrderEvent>, OrderError> {
    let fo = find(order, id)?;
    if fo.state != FulfillmentState::Picking {
        return Err(wrong_state(fo, "pack"));
    }
    super::cancel_request::awaits_no_cancellation(order, id)?;
    if scans.is_empty() {
        return Err(OrderError::EmptyPackage);
    }
    if weight_grams == 0 || dimensions_mm.contains(&0) {
        return Err(OrderError::InvalidPackage);
    }
    if fo.packages.iter().any(|p| p.id == package_id) {
        return Err(OrderError::InvalidPackage);
    }
    let items = pack_items(fo, scans)?;
    Ok(vec![OrderEvent::PackageCreated(PackageCreated {
        fulfillment_id: id.clone(),
        package_id,
        items,
        weight_grams,
        dimensions_mm,
    })])
}

pub(super) fn apply_pack(
    order: &mut Order,
    p: &PackageCreated,
    at: Timestamp,
) -> Result<(), &'static str> {
    let fo = order
        .fulfillment_orders
        .iter_mut()
        .find(|f| f.id == p.fulfillment_id)
        .ok_or("no such fulfillment order")?;
    for item in &p.items {
        let line = fo
            .lines
            .iter_mut()
            .find(|l| l.line_no == item.line_no)
            .ok_or("unknown fulfillment line")?;
        line.packed += item.quantity;
        if line.packed > line.picked {
            return Err("packed more than was picked");
        }
    }
    fo.packages.push(Package {
        id: p.package_id.clone(),
        items: p.items.clone(),
        weight_grams: p.weight_grams,
        dimensions_mm: p.dimensions_mm,
        packed_at: at,
    });
    if fo.lines.iter().all(|l| l.packed == l.picked) {
        fo.state = FulfillmentState::Packed;
    }
    Ok(())
}

/// A warehouse refuses a fulfillment order it has not started picking.
pub(super) fn reject(
    order: &Order,
    id: &Id,
    reason: String,
) -> Result<Vec<OrderEvent>, OrderError> {
    let fo = find(order, id)?;
    if !matches!(
        fo.state,
        FulfillmentState::Pending | FulfillmentState::Released
    ) {
        return Err(wrong_state(fo, "be rejected"));
    }
    Ok(vec![OrderEvent::FulfillmentRejected(FulfillmentRejected {
        fulfillment_id: id.clone(),
        reason,
    })])
}

/// Folds a rejection: the units go back to stock and wait to be sourced elsewhere.
pub(super) fn apply_reject(order: &mut Order, r: &FulfillmentRejected) -> Result<(), &'static str> {
    let i = order
        .fulfillment_orders
        .iter()
        .position(|f| f.id == r.fulfillment_id)
        .ok_or("no such fulfillment order")?;
    let fo = &mut order.fulfillment_orders[i];
    if !matches!(
        fo.state,
        FulfillmentState::Pending | FulfillmentState::Released
    ) {
        return Err("only a pending or released fulfillment order can be rejected");
    }
    let released = fo.state == FulfillmentState::Released;
    fo.state = FulfillmentState::Cancelled;
    fo.rejected = Some(r.reason.clone());
    let location = fo.location_id.clone();
    let units: Vec<(u32, u32)> = fo.lines.iter().map(|l| (l.line_no, l.quantity)).collect();
    for (line_no, quantity) in units {
        unreserve(order, line_no, &location, quantity, released)?.unallocated += quantity;
    }
    Ok(())
}

impl Order {
    /// Locations that refused one of this order's fulfillment orders.
    pub fn rejecting_locations(&self) -> Vec<&Id> {
        self.fulfillment_orders
            .iter()
            .filter(|f| f.rejected.is_some())
            .map(|f| &f.location_id)
            .collect()
    }

    /// Locations whose picker could not find units of this order (asked for them again
    /// only when no other location has them).
    pub fn short_picking_locations(&self) -> Vec<&Id> {
        self.fulfillment_orders
            .iter()
            .filter(|f| f.lines.iter().any(|l| l.short > 0))
            .map(|f| &f.location_id)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + s).expect("a time")
    }

    /// An order with two fulfillment orders: the first packed `pkg_1_1` and shipped it
    /// as `shp_1_1`, the second packed `pkg_1_2`, not shipped yet.
    fn packed() -> Order {
        let address = serde_json::json!({"name": "A", "line1": "1 Main", "line2": null,
            "city": "Austin", "region": "TX", "postal_code": "78701", "country": "US"});
        let package = |id: &str| {
            serde_json::json!({"id": id, "items": [], "weight_grams": 800,
                "dimensions_mm": [10, 10, 10], "packed_at": ts(1)})
        };
        let json = serde_json::json!({
            "id": "ord_1", "number": "WEB-1", "channel": "web", "external_id": null,
            "currency": "USD", "state": "confirmed",
            "customer": {"email": "a@example.com", "name": null, "phone": null},
            "shipping_address": address, "billing_address": address,
            "lines": [], "shipping_amount": 0, "tax_amount": 0, "discount_amount": 0,
            "holds": [], "reservations": [], "version": 5,
            "created_at": ts(0), "updated_at": ts(0),
            "fulfillment_orders": [
                {"id": "ful_1_1", "location_id": "wh-east", "state": "shipped", "lines": [],
                 "created_at": ts(0), "packages": [package("pkg_1_1")],
                 "shipments": [{"id": "shp_1_1", "package_id": "pkg_1_1", "carrier": "local",
                    "service": "ground", "tracking_number": "LC1", "shipped_at": ts(2),
                    "scans": []}]},
                {"id": "ful_1_2", "location_id": "wh-west", "state": "packed", "lines": [],
                 "created_at": ts(0), "packages": [package("pkg_1_2")]}
            ]
        });
        serde_json::from_value(json).expect("a packed order")
    }

    #[test]
    fn packages_and_shipments_are_numbered_across_the_orders_fulfillment_orders() {
        let order = packed();
        assert_eq!(order.next_package_id().as_str(), "pkg_1_3");
        assert_eq!(order.next_shipment_id().as_str(), "shp_1_2");
        assert_eq!(
            Id::order_of_child(order.next_shipment_id().as_str(), "shp"),
            Some(order.id.clone()),
            "a shipment id leads back to its order"
        );
    }

    #[test]
    fn a_package_or_shipment_is_found_with_its_fulfillment_order() {
        let order = packed();
        let (fo, package) = order.package(&Id::new("pkg_1_2")).expect("packed");
        assert_eq!((fo.id.as_str(), package.weight_grams), ("ful_1_2", 800));
        let (fo, shipment) = order.shipment(&Id::new("shp_1_1")).expect("shipped");
        assert_eq!(
            (fo.id.as_str(), shipment.package_id.as_str()),
            ("ful_1_1", "pkg_1_1")
        );
        assert!(order.package(&Id::new("pkg_1_9")).is_none());
        assert!(order.shipment(&Id::new("shp_1_2")).is_none());
    }
}
