//! Folding edits. A committed edit moves units through `unallocated`: units given back
//! by reservations and cancelled backorders land there, the lines' new quantities are
//! taken from or added to it, and the new reservations and backorders take from it, so
//! every bucket invariant holds at each step and a wrong event fails to fold.

use super::edit::{
    EditAbandoned, EditBegun, EditRecord, EditStaged, OpenEdit, OrderEdited, UnitsMoved,
};
use super::fulfillment::FulfillmentLine;
use super::state::{Buckets, Order, OrderLine, Reservation};
use crate::Timestamp;
use crate::fulfillment::FulfillmentState;

pub(super) fn apply_begun(
    order: &mut Order,
    b: &EditBegun,
    at: Timestamp,
) -> Result<(), &'static str> {
    if order.open_edit.is_some() {
        return Err("an edit is already open");
    }
    order.open_edit = Some(OpenEdit {
        id: b.edit_id.clone(),
        author: b.author.clone(),
        note: b.note.clone(),
        changes: Vec::new(),
        began_at: at,
    });
    Ok(())
}

pub(super) fn apply_staged(order: &mut Order, s: &EditStaged) -> Result<(), &'static str> {
    match &mut order.open_edit {
        Some(open) if open.id == s.edit_id => {
            open.changes.extend(s.changes.iter().cloned());
            Ok(())
        }
        _ => Err("no such open edit"),
    }
}

pub(super) fn apply_abandoned(order: &mut Order, a: &EditAbandoned) -> Result<(), &'static str> {
    match &order.open_edit {
        Some(open) if open.id == a.edit_id => {
            order.open_edit = None;
            order.abandoned_edits.push(a.clone());
            Ok(())
        }
        _ => Err("no such open edit"),
    }
}

/// `from` less `n`, or `why` when it has fewer.
fn less(from: u32, n: u32, why: &'static str) -> Result<u32, &'static str> {
    from.checked_sub(n).ok_or(why)
}

fn buckets(order: &mut Order, line_no: u32) -> Result<&mut Buckets, &'static str> {
    order
        .lines
        .iter_mut()
        .find(|l| l.line_no == line_no)
        .map(|l| &mut l.buckets)
        .ok_or("unknown line")
}

/// Gives back `u`'s units: off its fulfillment order's line, off the reservations at its
/// location, out of allocated (and released, if the warehouse had it) into unallocated.
fn give_back(order: &mut Order, u: &UnitsMoved) -> Result<(), &'static str> {
    let fo_id = u
        .fulfillment_id
        .as_ref()
        .ok_or("given-back units name no fulfillment order")?;
    let fo = order
        .fulfillment_orders
        .iter_mut()
        .find(|f| &f.id == fo_id)
        .ok_or("no such fulfillment order")?;
    // Released units stay counted released through picking (see `apply_pick`).
    let was_released = matches!(
        fo.state,
        FulfillmentState::Released | FulfillmentState::Picking | FulfillmentState::Packed
    );
    let fl = fo
        .lines
        .iter_mut()
        .find(|l| l.line_no == u.line_no)
        .ok_or("unknown fulfillment line")?;
    fl.quantity = less(
        fl.quantity,
        u.quantity,
        "gave back more than the fulfillment order held",
    )?;
    // Picked units the warehouse put back for a cancellation.
    fl.picked = fl.picked.min(fl.quantity);
    let mut left = u.quantity;
    for r in order
        .reservations
        .iter_mut()
        .filter(|r| r.line_no == u.line_no && r.location_id == u.location_id)
    {
        let take = left.min(r.quantity);
        r.quantity -= take;
        left -= take;
    }
    if left > 0 {
        return Err("no reservation covers the units");
    }
    order.reservations.retain(|r| r.quantity > 0);
    let b = buckets(order, u.line_no)?;
    b.allocated = less(b.allocated, u.quantity, "allocated underflow")?;
    if was_released {
        b.released = less(b.released, u.quantity, "released underflow")?;
    }
    b.unallocated += u.quantity;
    Ok(())
}

/// Reserves `u`'s units, in the pending fulfillment order it names or in a new one.
fn take(
    order: &mut Order,
    u: &UnitsMoved,
    fresh: &mut Vec<Reservation>,
) -> Result<(), &'static str> {
    let b = buckets(order, u.line_no)?;
    b.unallocated = less(b.unallocated, u.quantity, "reserved more than was waiting")?;
    b.allocated += u.quantity;
    let r = Reservation {
        line_no: u.line_no,
        sku: u.sku.clone(),
        location_id: u.location_id.clone(),
        quantity: u.quantity,
    };
    match order
        .reservations
        .iter_mut()
        .find(|x| x.line_no == r.line_no && x.location_id == r.location_id)
    {
        Some(x) => x.quantity += r.quantity,
        None => order.reservations.push(r.clone()),
    }
    let Some(fo_id) = &u.fulfillment_id else {
        fresh.push(r);
        return Ok(());
    };
    let fo = order
        .fulfillment_orders
        .iter_mut()
        .find(|f| &f.id == fo_id && f.state == FulfillmentState::Pending)
        .ok_or("units join no pending fulfillment order")?;
    match fo.lines.iter_mut().find(|l| l.line_no == u.line_no) {
        Some(l) => l.quantity += u.quantity,
        None => fo.lines.push(FulfillmentLine {
            line_no: u.line_no,
            sku: u.sku.clone(),
            quantity: u.quantity,
            picked: 0,
            packed: 0,
            shipped: 0,
            short: 0,
        }),
    }
    Ok(())
}

pub(super) fn apply_edited(
    order: &mut Order,
    e: &OrderEdited,
    at: Timestamp,
) -> Result<(), &'static str> {
    for u in &e.released {
        give_back(order, u)?;
    }
    for s in &e.backorders_cancelled {
        let b = buckets(order, s.line_no)?;
        b.backordered = less(b.backordered, s.quantity, "backorder underflow")?;
        b.unallocated += s.quantity;
    }
    for l in &e.lines {
        match order.lines.iter_mut().find(|x| x.line_no == l.line_no) {
            Some(line) => {
                let b = &mut line.buckets;
                if b.active() != l.before {
                    return Err("the line changed since the edit was decided");
                }
                if l.after < l.before {
                    let less = l.before - l.after;
                    b.unallocated =
                        self::less(b.unallocated, less, "removed units were not given back")?;
                    b.ordered -= less;
                } else {
                    b.ordered += l.after - l.before;
                    b.unallocated += l.after - l.before;
                }
            }
            None if l.before == 0 => order.lines.push(OrderLine {
                line_no: l.line_no,
                sku: l.sku.clone(),
                name: l.name.clone(),
                unit_price: l.unit_price,
                buckets: Buckets {
                    ordered: l.after,
                    unallocated: l.after,
                    ..Buckets::default()
                },
            }),
            None => return Err("unknown line"),
        }
    }
    let mut fresh = Vec::new();
    for u in &e.reserved {
        take(order, u, &mut fresh)?;
    }
    super::fulfillment::open(order, &fresh, at);
    for s in &e.backordered {
        let b = buckets(order, s.line_no)?;
        b.unallocated = less(
            b.unallocated,
            s.quantity,
            "backordered more than was waiting",
        )?;
        b.backordered += s.quantity;
    }
    for fo in &mut order.fulfillment_orders {
        let open = matches!(
            fo.state,
            FulfillmentState::Pending | FulfillmentState::Released | FulfillmentState::Picking
        );
        if open {
            fo.lines.retain(|l| l.quantity > 0 || l.picked > 0);
            if fo.lines.is_empty() {
                fo.state = FulfillmentState::Cancelled;
            }
        }
    }
    if let Some(a) = &e.shipping_address {
        order.shipping_address = a.clone();
    }
    if let Some(d) = &e.delivery {
        order.delivery = Some(d.clone());
    }
    order.shipping_amount = e.after.shipping;
    order.tax_amount = e.after.tax;
    order.discount_amount = e.after.discount;
    if let Some(r) = &e.resourced {
        order.sourcing = Some(r.rationale.clone());
    }
    if order.open_edit.as_ref().is_some_and(|o| o.id == e.edit_id) {
        order.open_edit = None;
    }
    // A cancellation request carried out (every warehouse gave its units up).
    if e.cancellation.is_some()
        && order
            .pending_cancellation()
            .is_some_and(|r| r.waiting.is_empty())
    {
        order.cancel_request = None;
    }
    order.edits.push(EditRecord {
        edit: e.clone(),
        committed_at: at,
    });
    Ok(())
}
