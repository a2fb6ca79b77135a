//! Where an edit's units go: a new address sources the order again when it changes the
//! best location (with the distances that decided it), and new units join a pending
//! fulfillment order at their location so a size swap still ships as one parcel.

use super::command::SourcingContext;
use super::decide::source_demands;
use super::edit::{Resourced, UnitsMoved};
use super::edit_plan::{EditFacts, EditPlan, open_to_edit};
use super::error::OrderError;
use super::state::Order;
use crate::fulfillment::FulfillmentState;
use crate::sourcing::{Demand, Destination, Shortfall, StockView};
use crate::values::Id;
use std::collections::BTreeSet;

/// A new address sources the order again when the best location for it changed: every
/// unit an edit may still move is planned anew (its own reservations counted as free),
/// and if the plan picks other locations than those holding the units now, they move.
pub(super) fn resource(
    order: &Order,
    out: &mut EditPlan,
    demands: &mut Vec<Demand>,
    to: Destination<'_>,
    facts: &EditFacts,
) -> Result<(), OrderError> {
    let window = facts.window;
    // What each line keeps where: its open reservations less what the edit gives back.
    let mut kept: Vec<UnitsMoved> = Vec::new();
    for fo in order
        .fulfillment_orders
        .iter()
        .filter(|f| open_to_edit(f, window))
    {
        for fl in fo.lines.iter().filter(|l| l.quantity > 0) {
            let given: u32 = out
                .released
                .iter()
                .filter(|r| r.fulfillment_id.as_ref() == Some(&fo.id) && r.line_no == fl.line_no)
                .map(|r| r.quantity)
                .sum();
            if fl.quantity > given {
                kept.push(UnitsMoved {
                    fulfillment_id: Some(fo.id.clone()),
                    line_no: fl.line_no,
                    sku: fl.sku.clone(),
                    location_id: fo.location_id.clone(),
                    quantity: fl.quantity - given,
                });
            }
        }
    }
    let backordered: Vec<Shortfall> = order
        .lines
        .iter()
        .filter_map(|l| {
            let cancelled: u32 = out
                .backorders_cancelled
                .iter()
                .filter(|b| b.line_no == l.line_no)
                .map(|b| b.quantity)
                .sum();
            let left = l.buckets.backordered - cancelled.min(l.buckets.backordered);
            (left > 0).then(|| Shortfall {
                line_no: l.line_no,
                sku: l.sku.clone(),
                quantity: left,
            })
        })
        .collect();
    if kept.is_empty() {
        return Ok(());
    }
    let mut all: Vec<Demand> = demands.clone();
    for u in kept
        .iter()
        .map(|k| (k.line_no, &k.sku, k.quantity))
        .chain(backordered.iter().map(|b| (b.line_no, &b.sku, b.quantity)))
    {
        match all.iter_mut().find(|d| d.line_no == u.0) {
            Some(d) => d.quantity += u.2,
            None => all.push(Demand {
                line_no: u.0,
                sku: u.1.clone(),
                quantity: u.2,
            }),
        }
    }
    let mut stock: StockView = facts.stock.clone();
    for k in &kept {
        let now = stock.available(&k.sku, &k.location_id);
        stock.set(k.sku.clone(), k.location_id.clone(), now + k.quantity);
    }
    let ctx = SourcingContext {
        stock: &stock,
        ..facts.sourcing()
    };
    let Ok(planned) = source_demands(&all, to, &ctx) else {
        // The new address cannot be served as well as the old one is: nothing moves.
        return Ok(());
    };
    let now_at: BTreeSet<&Id> = kept.iter().map(|k| &k.location_id).collect();
    let best_at: BTreeSet<&Id> = planned
        .reservations
        .iter()
        .map(|r| &r.location_id)
        .collect();
    let short_now: u32 = backordered.iter().map(|b| b.quantity).sum();
    let short_then: u32 = planned.backorders.iter().map(|b| b.quantity).sum();
    if now_at == best_at || short_then > short_now {
        return Ok(());
    }
    let reason = resource_reason(&now_at, &best_at, &planned.rationale, to_city(out));
    out.released.extend(kept);
    out.backorders_cancelled.extend(backordered);
    out.reserved
        .extend(planned.reservations.into_iter().map(|r| UnitsMoved {
            fulfillment_id: None,
            line_no: r.line_no,
            sku: r.sku,
            location_id: r.location_id,
            quantity: r.quantity,
        }));
    out.backordered.extend(planned.backorders);
    out.resourced = Some(Resourced {
        reason,
        rationale: planned.rationale,
    });
    demands.clear();
    Ok(())
}

fn to_city(out: &EditPlan) -> String {
    out.shipping_address
        .as_ref()
        .map(|a| format!("{}, {}", a.city, a.country))
        .unwrap_or_default()
}

/// Why the order moved, with the distances the sourcing weighed.
fn resource_reason(
    from: &BTreeSet<&Id>,
    to: &BTreeSet<&Id>,
    rationale: &crate::sourcing::Rationale,
    city: String,
) -> String {
    let km = |set: &BTreeSet<&Id>| -> String {
        set.iter()
            .map(|id| {
                let d = rationale
                    .candidates
                    .iter()
                    .find(|c| &&c.location_id == id)
                    .and_then(|c| c.distance_km);
                match d {
                    Some(d) => format!("{id} ({d} km)"),
                    None => id.to_string(),
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "the new address in {city} is better served from {} than from {}",
        km(to),
        km(from)
    )
}

/// New units reserved where a pending fulfillment order already waits join it, so a
/// size swap at the same warehouse still ships as one parcel.
pub(super) fn join_pending(order: &Order, out: &mut EditPlan) {
    for r in &mut out.reserved {
        r.fulfillment_id = order
            .fulfillment_orders
            .iter()
            .rev()
            .find(|f| f.state == FulfillmentState::Pending && f.location_id == r.location_id)
            .map(|f| f.id.clone());
    }
}
