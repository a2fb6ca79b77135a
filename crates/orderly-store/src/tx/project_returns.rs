//! The storage effects of return events: the return's read-model row (saved after
//! every event that changes it, and after its refund's answer, which changes what it
//! shows), the stock movement of each disposition, and the expiry timer of an
//! authorized return.

use super::WriteTx;
use crate::error::StoreError;
use crate::work::{NewTimer, ReturnRow, timer_kind};
use jiff::Timestamp;
use orderly_domain::actor::Actor;
use orderly_domain::inventory::MovementReason;
use orderly_domain::order::{Order, Return};
use orderly_domain::returns::{Disposition, ReturnState, Wanted};
use orderly_domain::values::Id;

fn the_return<'o>(order: &'o Order, id: &Id) -> Result<&'o Return, StoreError> {
    order
        .returns
        .iter()
        .find(|r| &r.id == id)
        .ok_or_else(|| StoreError::Corrupt(format!("no return {id} on order {}", order.id)))
}

/// The return's read-model row, as its order now stands.
pub(super) fn save_return<T: WriteTx + ?Sized>(
    tx: &mut T,
    order: &Order,
    id: &Id,
) -> Result<(), StoreError> {
    let ret = the_return(order, id)?;
    let wanted = match &ret.wanted {
        Wanted::Refund => "refund",
        Wanted::StoreCredit => "store_credit",
        Wanted::Exchange { .. } => "exchange",
    };
    let location = ret
        .items
        .iter()
        .find_map(|i| i.location_id.as_ref())
        .or(ret.label.as_ref().map(|l| &l.location_id));
    tx.save_return(&ReturnRow {
        id: ret.id.as_str(),
        order_id: order.id.as_str(),
        order_number: &order.number,
        rma: Some(&ret.rma),
        channel: order.channel.as_str(),
        state: ret.status(order).as_str(),
        reason: &ret.reason,
        customer_email: order.customer.email.as_str(),
        location_id: location.map(|l| l.as_str()),
        wanted,
        units: u32::try_from(ret.items.len()).unwrap_or(u32::MAX),
        value_minor: ret.judgement.value_minor,
        refundable_minor: ret.judgement.refundable_minor,
        currency: order.currency.as_str(),
        policy_version: &ret.judgement.version,
        requested_at: ret.requested_at,
        updated_at: ret.updated_at,
    })
}

/// Moves one returned unit at the location it arrived at, noting the RMA and why.
fn move_unit<T: WriteTx + ?Sized>(
    tx: &mut T,
    ret: &orderly_domain::order::Return,
    item_no: u32,
    reason: MovementReason,
    why: &str,
    who: &Actor,
    at: Timestamp,
) -> Result<(), StoreError> {
    let item = ret
        .item(item_no)
        .ok_or_else(|| StoreError::Corrupt(format!("no item {item_no} on {}", ret.rma)))?;
    let location = item.location_id.as_ref().ok_or_else(|| {
        StoreError::Corrupt(format!(
            "item {item_no} of {} was disposed of unreceived",
            ret.rma
        ))
    })?;
    let note = format!("{} item {item_no} ({why})", ret.rma);
    tx.move_returned_unit(
        item.sku.as_str(),
        location.as_str(),
        1,
        reason,
        Some(&note),
        who,
        at,
    )?;
    Ok(())
}

/// Every disposition moves stock at the location the unit arrived at: restocked units
/// are sellable again, quarantined (and refurbishing) ones never until released, and a
/// scrapped unit or one sent back to the customer is recorded without a level change.
pub(super) fn dispose<T: WriteTx + ?Sized>(
    tx: &mut T,
    order: &Order,
    r: &orderly_domain::order::ReturnInspected,
    who: &Actor,
    at: Timestamp,
) -> Result<(), StoreError> {
    let ret = the_return(order, &r.return_id)?;
    for i in &r.items {
        let reason = match i.disposition {
            Disposition::Restock => MovementReason::ReturnRestock,
            Disposition::Quarantine | Disposition::Refurbish => MovementReason::ReturnQuarantine,
            Disposition::Scrap => MovementReason::ReturnScrap,
            Disposition::ReturnToCustomer => MovementReason::ReturnToCustomer,
        };
        move_unit(tx, ret, i.item_no, reason, i.disposition.as_str(), who, at)?;
    }
    Ok(())
}

/// A decided unit waited in quarantine (`inspect` holds one there): its disposition
/// moves it out, into on hand, to scrap or back to the customer, or leaves it.
pub(super) fn dispose_decided<T: WriteTx + ?Sized>(
    tx: &mut T,
    order: &Order,
    r: &orderly_domain::order::ReturnItemsDecided,
    who: &Actor,
    at: Timestamp,
) -> Result<(), StoreError> {
    let ret = the_return(order, &r.return_id)?;
    for d in &r.items {
        let reason = match d.disposition {
            Disposition::Restock => MovementReason::QuarantineRelease,
            Disposition::Scrap => MovementReason::QuarantineScrap,
            Disposition::ReturnToCustomer => MovementReason::QuarantineToCustomer,
            Disposition::Quarantine | Disposition::Refurbish => continue,
        };
        let why = format!("{}, decided", d.disposition.as_str());
        move_unit(tx, ret, d.item_no, reason, &why, who, at)?;
    }
    Ok(())
}

/// An authorized return must be shipped by its date: the timer expires it then (and
/// finds nothing to do if it moved on).
pub(super) fn expiry_timer<T: WriteTx + ?Sized>(
    tx: &mut T,
    order: &Order,
    return_id: &Id,
) -> Result<(), StoreError> {
    let Some(ret) = order.returns.iter().find(|r| &r.id == return_id) else {
        return Err(StoreError::Corrupt(format!("no return {return_id}")));
    };
    match (ret.state, ret.ship_by) {
        (ReturnState::Authorized, Some(due_at)) => tx.schedule_timers(&[NewTimer {
            order_id: order.id.as_str(),
            kind: timer_kind::RETURN_EXPIRY,
            ref_id: return_id.as_str(),
            due_at,
        }]),
        _ => Ok(()),
    }
}

/// The rows of the returns whose refund the operation `op_id` is part of: its answer
/// changes what they show (`refund_pending`, `refund_failed`).
pub(super) fn save_returns_of_op<T: WriteTx + ?Sized>(
    tx: &mut T,
    order: &Order,
    op_id: &Id,
) -> Result<(), StoreError> {
    let Some(refund_id) = order.op(op_id).and_then(|o| o.refund_id.as_ref()) else {
        return Ok(());
    };
    let ids: Vec<Id> = order
        .returns
        .iter()
        .filter(|r| {
            r.resolution
                .as_ref()
                .is_some_and(|res| res.refund_ids().any(|id| id == refund_id))
        })
        .map(|r| r.id.clone())
        .collect();
    for id in ids {
        save_return(tx, order, &id)?;
    }
    Ok(())
}
