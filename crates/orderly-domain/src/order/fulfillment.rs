//! Fulfillment orders: the part of an order one location ships. Each sourcing decision
//! opens one per location it reserved stock at; releasing hands it to the warehouse. The
//! line buckets move with them, so "partially released" is a fact about units.

use super::error::OrderError;
use super::event::{FulfillmentReleased, OrderEvent};
use super::state::{Order, OrderState, Reservation};
use crate::Timestamp;
use crate::fulfillment::FulfillmentState;
use crate::values::{Id, Sku};
use serde::{Deserialize, Serialize};

/// One order line's units at one location.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FulfillmentLine {
    pub line_no: u32,
    pub sku: Sku,
    pub quantity: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FulfillmentOrder {
    pub id: Id,
    pub location_id: Id,
    pub state: FulfillmentState,
    pub lines: Vec<FulfillmentLine>,
    pub created_at: Timestamp,
    pub released_at: Option<Timestamp>,
}

/// The id of an order's `n`th fulfillment order: `ful_<order id suffix>_<n>`.
fn fulfillment_id(order_id: &Id, n: usize) -> Id {
    let suffix = order_id
        .as_str()
        .strip_prefix("ord_")
        .unwrap_or(order_id.as_str());
    Id::new(format!("ful_{suffix}_{n}"))
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
        let id = fulfillment_id(&order.id, order.fulfillment_orders.len() + 1);
        let lines = reservations
            .iter()
            .filter(|r| &r.location_id == location)
            .map(|r| FulfillmentLine {
                line_no: r.line_no,
                sku: r.sku.clone(),
                quantity: r.quantity,
            })
            .collect();
        order.fulfillment_orders.push(FulfillmentOrder {
            id,
            location_id: location.clone(),
            state: FulfillmentState::Pending,
            lines,
            created_at: at,
            released_at: None,
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
}
