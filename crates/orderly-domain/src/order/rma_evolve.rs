//! How return events fold into the order: each unit's two facts, the return's stage, and
//! the line's `return_requested`, `returned` and `restocked` buckets, which move only
//! here, with the items they count (`Order::return_violations` checks they agree).

use super::rma::{
    Return, ReturnClosed, ReturnExchangePlaced, ReturnInspected, ReturnItem, ReturnItemsDecided,
    ReturnItemsSentBack, ReturnLabelIssued, ReturnParcelStatus, ReturnReceived, ReturnRequested,
    ReturnResolved, ReturnReviewed, ReturnTracked,
};
use super::state::Order;
use crate::Timestamp;
use crate::returns::{Acceptance, Disposition, Outcome, Reception, ReturnState};
use crate::values::Id;

fn find<'a>(order: &'a mut Order, id: &Id) -> Result<&'a mut Return, &'static str> {
    order
        .returns
        .iter_mut()
        .find(|r| &r.id == id)
        .ok_or("unknown return")
}

fn moved(ret: &mut Return, to: ReturnState, at: Timestamp) -> Result<(), &'static str> {
    if !ret.state.can_transition_to(to) {
        return Err("illegal return transition");
    }
    ret.state = to;
    ret.updated_at = at;
    Ok(())
}

/// Adds `delta` units of `line_no` to the bucket `pick` chooses.
fn bucket(
    order: &mut Order,
    line_no: u32,
    delta: i64,
    pick: fn(&mut super::state::Buckets) -> &mut u32,
) -> Result<(), &'static str> {
    let line = order
        .lines
        .iter_mut()
        .find(|l| l.line_no == line_no)
        .ok_or("unknown line")?;
    let slot = pick(&mut line.buckets);
    let next = i64::from(*slot) + delta;
    *slot = u32::try_from(next).map_err(|_| "a return bucket went negative")?;
    Ok(())
}

/// Gives a return's units back to the line (a rejection, cancellation or expiry).
fn free_units(order: &mut Order, id: &Id) -> Result<(), &'static str> {
    let units = find(order, id)?.units_per_line();
    for u in units {
        bucket(order, u.line_no, -i64::from(u.quantity), |b| {
            &mut b.return_requested
        })?;
    }
    Ok(())
}

pub(super) fn apply_requested(
    order: &mut Order,
    r: &ReturnRequested,
    at: Timestamp,
) -> Result<(), &'static str> {
    if order.returns.iter().any(|x| x.id == r.return_id) {
        return Err("a return with that id exists");
    }
    let state = match r.judgement.outcome {
        Outcome::Authorized => ReturnState::Authorized,
        Outcome::NeedsReview { .. } => ReturnState::NeedsReview,
        Outcome::Rejected { .. } => ReturnState::Rejected,
    };
    let mut items = Vec::new();
    for asked in &r.items {
        let sku = order
            .lines
            .iter()
            .find(|l| l.line_no == asked.line_no)
            .map(|l| l.sku.clone())
            .ok_or("unknown line")?;
        for _ in 0..asked.quantity {
            items.push(ReturnItem {
                item_no: u32::try_from(items.len() + 1).map_err(|_| "too many items")?,
                line_no: asked.line_no,
                sku: sku.clone(),
                reception: Reception::Awaiting,
                acceptance: Acceptance::Pending,
                condition: None,
                disposition: None,
                location_id: None,
                received_at: None,
                decided: false,
            });
        }
        if state.holds_units() {
            bucket(order, asked.line_no, i64::from(asked.quantity), |b| {
                &mut b.return_requested
            })?;
        }
    }
    order.returns.push(Return {
        id: r.return_id.clone(),
        rma: r.rma.clone(),
        state,
        source: r.source,
        reason: r.reason.clone(),
        note: r.note.clone(),
        photos: r.photos.clone(),
        wanted: r.wanted.clone(),
        judgement: r.judgement.clone(),
        decisions: Vec::new(),
        items,
        unexpected: Vec::new(),
        exceptions: Vec::new(),
        resolution: None,
        label: None,
        exchange: None,
        send_backs: Vec::new(),
        ship_by: (state == ReturnState::Authorized).then_some(r.judgement.ship_by),
        requested_at: at,
        updated_at: at,
    });
    Ok(())
}

pub(super) fn apply_reviewed(
    order: &mut Order,
    r: &ReturnReviewed,
    at: Timestamp,
) -> Result<(), &'static str> {
    let to = if r.decision.approved {
        ReturnState::Authorized
    } else {
        ReturnState::Rejected
    };
    let ret = find(order, &r.return_id)?;
    moved(ret, to, at)?;
    ret.decisions.push(r.decision.clone());
    if r.decision.approved {
        // The customer gets the policy's whole shipping time from the approval.
        let allowed = ret.judgement.ship_by.duration_since(ret.requested_at);
        ret.ship_by = Some(at.saturating_add(allowed).unwrap_or(at));
    }
    ret.exceptions.extend(r.exceptions.iter().copied());
    if !r.decision.approved {
        free_units(order, &r.return_id)?;
    }
    Ok(())
}

pub(super) fn apply_label(
    order: &mut Order,
    l: &ReturnLabelIssued,
    at: Timestamp,
) -> Result<(), &'static str> {
    let ret = find(order, &l.return_id)?;
    if ret.label.is_some() {
        return Err("the return already has a label");
    }
    ret.label = Some(l.label.clone());
    ret.updated_at = at;
    Ok(())
}

pub(super) fn apply_exchange(
    order: &mut Order,
    e: &ReturnExchangePlaced,
    at: Timestamp,
) -> Result<(), &'static str> {
    let ret = find(order, &e.return_id)?;
    if ret.exchange.is_some() {
        return Err("the return already has its exchange order");
    }
    ret.exchange = Some(e.exchange.clone());
    ret.updated_at = at;
    Ok(())
}

pub(super) fn apply_tracked(
    order: &mut Order,
    t: &ReturnTracked,
    at: Timestamp,
) -> Result<(), &'static str> {
    let ret = find(order, &t.return_id)?;
    match t.status {
        ReturnParcelStatus::InTransit => moved(ret, ReturnState::InTransit, at)?,
        ReturnParcelStatus::Lost => {
            moved(ret, ReturnState::Lost, at)?;
            for item in &mut ret.items {
                if item.reception == Reception::Awaiting {
                    item.reception = Reception::LostInTransit;
                }
            }
        }
    }
    Ok(())
}

pub(super) fn apply_received(
    order: &mut Order,
    r: &ReturnReceived,
    at: Timestamp,
) -> Result<(), &'static str> {
    let ret = find(order, &r.return_id)?;
    // Something came back: the awaited units, or strays in place of missing ones.
    if !r.items.is_empty() || (!r.wrong_item.is_empty() && ret.state != ReturnState::Received) {
        moved(ret, ReturnState::Received, at)?;
    }
    let mut lines = Vec::new();
    for no in &r.items {
        let item = ret
            .items
            .iter_mut()
            .find(|i| i.item_no == *no)
            .ok_or("unknown return item")?;
        if !matches!(
            item.reception,
            Reception::Awaiting | Reception::LostInTransit
        ) {
            return Err("a return item was received twice");
        }
        item.reception = Reception::Received;
        item.location_id = Some(r.location_id.clone());
        item.received_at = Some(at);
        lines.push(item.line_no);
    }
    for no in &r.short {
        let item = ret
            .items
            .iter_mut()
            .find(|i| i.item_no == *no)
            .ok_or("unknown return item")?;
        item.reception = Reception::Short;
    }
    ret.unexpected.extend(r.unexpected.iter().cloned());
    for no in &r.wrong_item {
        let item = ret
            .items
            .iter_mut()
            .find(|i| i.item_no == *no)
            .ok_or("unknown return item")?;
        item.reception = Reception::WrongItem;
        let stray = ret
            .unexpected
            .iter_mut()
            .find(|u| u.in_place_of.is_none())
            .ok_or("a wrong item with no stray in its place")?;
        stray.in_place_of = Some(*no);
    }
    ret.updated_at = at;
    for line_no in lines {
        bucket(order, line_no, 1, |b| &mut b.returned)?;
    }
    Ok(())
}

pub(super) fn apply_inspected(
    order: &mut Order,
    r: &ReturnInspected,
    at: Timestamp,
) -> Result<(), &'static str> {
    let ret = find(order, &r.return_id)?;
    let mut restocked = Vec::new();
    for i in &r.items {
        let item = ret
            .items
            .iter_mut()
            .find(|x| x.item_no == i.item_no)
            .ok_or("unknown return item")?;
        if item.reception != Reception::Received || item.disposition.is_some() {
            return Err("only a received, uninspected item can be inspected");
        }
        item.condition = Some(i.condition.clone());
        item.acceptance = i.acceptance;
        item.disposition = Some(i.disposition);
        if i.disposition == Disposition::Restock {
            restocked.push(item.line_no);
        }
    }
    if ret.inspected() {
        moved(ret, ReturnState::Inspected, at)?;
    }
    ret.updated_at = at;
    for line_no in restocked {
        bucket(order, line_no, 1, |b| &mut b.restocked)?;
    }
    Ok(())
}

pub(super) fn apply_decided(
    order: &mut Order,
    r: &ReturnItemsDecided,
    at: Timestamp,
) -> Result<(), &'static str> {
    let ret = find(order, &r.return_id)?;
    let mut restocked = Vec::new();
    for d in &r.items {
        let item = ret
            .items
            .iter_mut()
            .find(|x| x.item_no == d.item_no)
            .ok_or("unknown return item")?;
        if item.acceptance != Acceptance::NeedsManualDecision {
            return Err("only a unit waiting for a manual decision can be decided");
        }
        item.acceptance = d.acceptance;
        item.disposition = Some(d.disposition);
        item.decided = true;
        if d.disposition == Disposition::Restock {
            restocked.push(item.line_no);
        }
    }
    ret.updated_at = at;
    for line_no in restocked {
        bucket(order, line_no, 1, |b| &mut b.restocked)?;
    }
    Ok(())
}

pub(super) fn apply_sent_back(
    order: &mut Order,
    r: &ReturnItemsSentBack,
    at: Timestamp,
) -> Result<(), &'static str> {
    let ret = find(order, &r.return_id)?;
    let due: Vec<u32> = ret.send_back_due().iter().map(|(no, _)| *no).collect();
    if r.send_back.item_nos.is_empty() || r.send_back.item_nos.iter().any(|n| !due.contains(n)) {
        return Err("only units waiting to go back to the customer can be sent back");
    }
    ret.send_backs.push(r.send_back.clone());
    ret.updated_at = at;
    Ok(())
}

pub(super) fn apply_resolved(
    order: &mut Order,
    r: &ReturnResolved,
    at: Timestamp,
) -> Result<(), &'static str> {
    let ret = find(order, &r.return_id)?;
    if ret.resolution.is_some() || ret.state.is_terminal() {
        return Err("the return's money was already settled");
    }
    ret.resolution = Some(r.resolution.clone());
    ret.exceptions.extend(r.exceptions.iter().copied());
    ret.updated_at = at;
    Ok(())
}

pub(super) fn apply_completed(
    order: &mut Order,
    id: &Id,
    at: Timestamp,
) -> Result<(), &'static str> {
    let ret = find(order, id)?;
    moved(ret, ReturnState::Completed, at)
}

/// A cancellation or an expiry: the units go back to the line.
pub(super) fn apply_closed(
    order: &mut Order,
    c: &ReturnClosed,
    to: ReturnState,
    at: Timestamp,
) -> Result<(), &'static str> {
    let ret = find(order, &c.return_id)?;
    moved(ret, to, at)?;
    free_units(order, &c.return_id)
}
