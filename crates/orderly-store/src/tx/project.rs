//! The storage effects of each event, written once for both backends: what an append
//! does besides inserting the event (stock moves, reservations, backorders, timers,
//! fingerprints, store credit, shipment rows, exception entries). Every event appears in
//! `project`'s match, so a new event cannot be forgotten here.

use super::project_returns as returns;
use super::{CreditTx, ExceptionsTx, FulfillmentTx, PaymentsTx, ReservedMove, WriteTx};
use crate::error::StoreError;
use crate::work::{
    CreditChange, NewException, NewTimer, OP_REDRIVE_AFTER_MS, ShipmentRow, timer_kind,
};
use jiff::Timestamp;
use orderly_domain::actor::Actor;
use orderly_domain::inventory::MovementReason;
use orderly_domain::order::exceptions::{ExceptionChange, exception_changes};
use orderly_domain::order::{Order, OrderEvent, Reservation, is_internal};
use orderly_domain::payment::{OpKind, PaymentMethod};
use orderly_domain::sourcing::Shortfall;
use orderly_domain::values::Id;

/// The storage effects of one event.
pub(super) fn project<T: WriteTx + ?Sized>(
    tx: &mut T,
    event: &OrderEvent,
    order: &Order,
    (actor, who): (&str, &Actor),
    at: Timestamp,
) -> Result<(), StoreError> {
    let order_id = order.id.as_str();
    match event {
        OrderEvent::OrderPlaced(_) => {}
        OrderEvent::OrderSourced(s) => {
            let moves = reserved_moves(
                &s.reservations,
                1,
                MovementReason::Reservation,
                order_id,
                actor,
                at,
            );
            tx.move_reserved(&moves)?;
            tx.insert_reservations(order_id, &s.reservations, at)?;
            for b in &s.backorders {
                tx.insert_backorder(order_id, b, at)?;
            }
        }
        OrderEvent::OrderCancelled(c) => {
            let moves = reserved_moves(
                &c.released,
                -1,
                MovementReason::Release,
                order_id,
                actor,
                at,
            );
            tx.move_reserved(&moves)?;
            tx.close_order_holds(order_id, at)?;
        }
        OrderEvent::PaymentDeadlineSet { due_at } => tx.schedule_timers(&[NewTimer {
            order_id,
            kind: timer_kind::PAYMENT_DEADLINE,
            ref_id: order_id,
            due_at: *due_at,
        }])?,
        OrderEvent::PaymentAdded(p) => {
            if let Some(fp) = &p.fingerprint {
                tx.record_fingerprint(fp, order_id, at)?;
            }
        }
        OrderEvent::PaymentOpRequested(r) if !is_internal(order, &r.id) => {
            // Answered in the request as a rule; the timer re-drives it after a crash or
            // a timeout (the provider sees the same idempotency key again).
            let due_at = Timestamp::from_millisecond(at.as_millisecond() + OP_REDRIVE_AFTER_MS)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            tx.schedule_timers(&[NewTimer {
                order_id,
                kind: timer_kind::PAYMENT_OP,
                ref_id: r.id.as_str(),
                due_at,
            }])?;
        }
        OrderEvent::PaymentOpSucceeded(s) => {
            let op = order.op(&s.op_id).ok_or_else(|| {
                StoreError::Corrupt(format!("no operation {} after folding", s.op_id))
            })?;
            if let Some(expires) = s.authorization_expires_at {
                tx.schedule_timers(&[NewTimer {
                    order_id,
                    kind: timer_kind::AUTHORIZATION_EXPIRY,
                    ref_id: op.payment_id.as_str(),
                    due_at: expires,
                }])?;
            }
            forget_token_once_answered(tx, order, op)?;
            credit_effect(tx, order, op, actor, at)?;
            returns::save_returns_of_op(tx, order, &s.op_id)?;
        }
        OrderEvent::PaymentOpFailed(f) => {
            let op = order.op(&f.op_id).ok_or_else(|| {
                StoreError::Corrupt(format!("no operation {} after folding", f.op_id))
            })?;
            forget_token_once_answered(tx, order, op)?;
            returns::save_returns_of_op(tx, order, &f.op_id)?;
        }
        OrderEvent::PickConfirmed(p) => {
            let location = fulfillment_location(order, &p.fulfillment_id)?;
            let shorts: Vec<Reservation> = p
                .lines
                .iter()
                .filter(|l| l.short > 0)
                .map(|l| taken(order, l.line_no, location, l.short))
                .collect::<Result<_, _>>()?;
            if !shorts.is_empty() {
                let moves = consumed_moves(&shorts, MovementReason::ShortPick, order_id, actor, at);
                tx.move_reserved(&moves)?;
                tx.replace_reservations(order_id, &order.reservations, at)?;
            }
        }
        OrderEvent::PackageShipped(s) => {
            let location = fulfillment_location(order, &s.fulfillment_id)?;
            let package = order
                .fulfillment_orders
                .iter()
                .flat_map(|f| &f.packages)
                .find(|p| p.id == s.package_id)
                .ok_or_else(|| StoreError::Corrupt(format!("no package {}", s.package_id)))?;
            let items: Vec<Reservation> = package
                .items
                .iter()
                .map(|i| taken(order, i.line_no, location, i.quantity))
                .collect::<Result<_, _>>()?;
            let moves = consumed_moves(&items, MovementReason::Shipment, order_id, actor, at);
            tx.move_reserved(&moves)?;
            tx.replace_reservations(order_id, &order.reservations, at)?;
            save_shipment(tx, order, &s.shipment_id)?;
        }
        OrderEvent::TrackingRecorded(t) => save_shipment(tx, order, &t.shipment_id)?,
        OrderEvent::FulfillmentRejected(r) => {
            let location = fulfillment_location(order, &r.fulfillment_id)?;
            let fo = order
                .fulfillment_orders
                .iter()
                .find(|f| f.id == r.fulfillment_id)
                .ok_or_else(|| StoreError::Corrupt(format!("no {}", r.fulfillment_id)))?;
            let given_back: Vec<Reservation> = fo
                .lines
                .iter()
                .filter(|l| l.quantity > 0)
                .map(|l| taken(order, l.line_no, location, l.quantity))
                .collect::<Result<_, _>>()?;
            let moves = reserved_moves(
                &given_back,
                -1,
                MovementReason::Release,
                order_id,
                actor,
                at,
            );
            tx.move_reserved(&moves)?;
            tx.replace_reservations(order_id, &order.reservations, at)?;
        }
        OrderEvent::BackorderFilled(b) => {
            let taken = std::slice::from_ref(&b.reservation);
            let moves = reserved_moves(taken, 1, MovementReason::Reservation, order_id, actor, at);
            tx.move_reserved(&moves)?;
            tx.insert_reservations(order_id, taken, at)?;
            rewrite_backorders(tx, order)?;
        }
        OrderEvent::OrderEdited(e) => {
            let as_reservation = |u: &orderly_domain::order::UnitsMoved| Reservation {
                line_no: u.line_no,
                sku: u.sku.clone(),
                location_id: u.location_id.clone(),
                quantity: u.quantity,
            };
            let given: Vec<Reservation> = e.released.iter().map(as_reservation).collect();
            let taken: Vec<Reservation> = e.reserved.iter().map(as_reservation).collect();
            // Given back first, so units moving within a location never overdraw it.
            let mut moves =
                reserved_moves(&given, -1, MovementReason::Release, order_id, actor, at);
            moves.extend(reserved_moves(
                &taken,
                1,
                MovementReason::Reservation,
                order_id,
                actor,
                at,
            ));
            if !moves.is_empty() {
                tx.move_reserved(&moves)?;
                tx.replace_reservations(order_id, &order.reservations, at)?;
            }
            if !e.backordered.is_empty() || !e.backorders_cancelled.is_empty() {
                rewrite_backorders(tx, order)?;
            }
        }
        OrderEvent::ShipmentDelayed(d) => save_shipment(tx, order, &d.shipment_id)?,
        OrderEvent::ReturnRequested(r) => {
            returns::save_return(tx, order, &r.return_id)?;
            returns::expiry_timer(tx, order, &r.return_id)?;
        }
        OrderEvent::ReturnReviewed(r) => {
            returns::save_return(tx, order, &r.return_id)?;
            returns::expiry_timer(tx, order, &r.return_id)?;
        }
        OrderEvent::ReturnInspected(r) => {
            returns::save_return(tx, order, &r.return_id)?;
            returns::dispose(tx, order, r, who, at)?;
        }
        OrderEvent::ReturnItemsDecided(r) => {
            returns::save_return(tx, order, &r.return_id)?;
            returns::dispose_decided(tx, order, r, who, at)?;
        }
        OrderEvent::ReturnLabelIssued(_)
        | OrderEvent::ReturnExchangePlaced(_)
        | OrderEvent::ReturnItemsSentBack(_)
        | OrderEvent::ReturnTracked(_)
        | OrderEvent::ReturnReceived(_)
        | OrderEvent::ReturnResolved(_)
        | OrderEvent::ReturnCompleted { .. }
        | OrderEvent::ReturnCancelled(_)
        | OrderEvent::ReturnExpired(_) => {
            if let Some(id) = event.return_id() {
                returns::save_return(tx, order, id)?;
            }
        }
        // The deadline timer still fires, and finds nothing to do.
        OrderEvent::OrderConfirmed { .. }
        | OrderEvent::PaymentDeadlineCleared { .. }
        | OrderEvent::PaymentOpRequested(_)
        | OrderEvent::AuthorizationExpired { .. }
        | OrderEvent::RefundRequested(_)
        | OrderEvent::HoldPlaced(_)
        | OrderEvent::HoldReleased(_)
        | OrderEvent::FulfillmentReleased(_)
        | OrderEvent::PackageCreated(_)
        | OrderEvent::EditBegun(_)
        | OrderEvent::EditStaged(_)
        | OrderEvent::EditAbandoned(_)
        | OrderEvent::CancellationRequested(_)
        | OrderEvent::CancellationAnswered(_)
        | OrderEvent::NoteAdded(_)
        | OrderEvent::TagsChanged(_)
        // Their queue entries are `record_exceptions`'s (`order::watch::exception_changes`).
        | OrderEvent::WatchRaised(_)
        | OrderEvent::WatchCleared(_) => {}
    }
    Ok(())
}

/// Makes the order's open backorder rows its lines' backordered units; what is still
/// awaited stays in line at the order's place (its date).
fn rewrite_backorders<T: WriteTx + ?Sized>(tx: &mut T, order: &Order) -> Result<(), StoreError> {
    tx.close_backorders(order.id.as_str())?;
    for line in order.lines.iter().filter(|l| l.buckets.backordered > 0) {
        let waiting = Shortfall {
            line_no: line.line_no,
            sku: line.sku.clone(),
            quantity: line.buckets.backordered,
        };
        tx.insert_backorder(order.id.as_str(), &waiting, order.created_at)?;
    }
    Ok(())
}

/// Opens and resolves the exception entries an event calls for.
pub(super) fn record_exceptions<T: ExceptionsTx + ?Sized>(
    tx: &mut T,
    event: &OrderEvent,
    order: &Order,
    actor: &str,
    at: Timestamp,
) -> Result<(), StoreError> {
    for change in exception_changes(event, order) {
        match change {
            ExceptionChange::Open(e) => tx.open_exception(&NewException {
                queue: e.queue,
                kind: e.kind,
                order_id: order.id.as_str(),
                subject_id: e.subject_id.as_str(),
                detail: &e.detail,
                at,
            })?,
            ExceptionChange::Resolve {
                subject_id,
                kinds,
                resolution,
            } => tx.resolve_exceptions(subject_id.as_str(), kinds, actor, resolution, at)?,
        }
    }
    Ok(())
}

/// A provider's answer to an authorization (approved or declined) ends the token's use:
/// capture, void and refund name the provider's authorization reference instead.
fn forget_token_once_answered<T: PaymentsTx + ?Sized>(
    tx: &mut T,
    order: &Order,
    op: &orderly_domain::payment::PaymentOp,
) -> Result<(), StoreError> {
    if op.kind == OpKind::Authorize && !is_internal(order, &op.id) {
        tx.forget_payment_token(op.payment_id.as_str())?;
    }
    Ok(())
}

/// Store credit moves with the operations settled against it: an authorization on a
/// store-credit payment redeems the balance, its void gives the remainder back, and any
/// refund paid as store credit issues it.
fn credit_effect<T: CreditTx + ?Sized>(
    tx: &mut T,
    order: &Order,
    op: &orderly_domain::payment::PaymentOp,
    actor: &str,
    at: Timestamp,
) -> Result<(), StoreError> {
    let on_credit = order
        .payment(&op.payment_id)
        .is_some_and(|p| p.method == PaymentMethod::StoreCredit);
    let (delta, reason) = match op.kind {
        OpKind::Authorize if on_credit => (-op.amount_minor, "redeem"),
        OpKind::Void if on_credit => (op.amount_minor, "void"),
        OpKind::Reduce if on_credit => (op.amount_minor, "reduce"),
        OpKind::Refund if op.to_store_credit => (op.amount_minor, "refund"),
        _ => return Ok(()),
    };
    tx.change_store_credit(&CreditChange {
        email: order.customer.email.as_str(),
        currency: order.currency.as_str(),
        delta_minor: delta,
        reason,
        order_id: Some(order.id.as_str()),
        op_id: Some(op.id.as_str()),
        note: None,
        actor,
        at,
    })?;
    Ok(())
}

/// Events after which the order's fulfillment order rows are written again.
pub(super) fn changes_fulfillment(event: &OrderEvent) -> bool {
    matches!(
        event,
        OrderEvent::OrderSourced(_)
            | OrderEvent::OrderCancelled(_)
            | OrderEvent::BackorderFilled(_)
            | OrderEvent::FulfillmentReleased(_)
            | OrderEvent::PickConfirmed(_)
            | OrderEvent::PackageCreated(_)
            | OrderEvent::PackageShipped(_)
            | OrderEvent::TrackingRecorded(_)
            | OrderEvent::FulfillmentRejected(_)
            | OrderEvent::OrderEdited(_)
    )
}

/// Writes a shipment's watch row from the order's state.
fn save_shipment<T: FulfillmentTx + ?Sized>(
    tx: &mut T,
    order: &Order,
    id: &Id,
) -> Result<(), StoreError> {
    let (location_id, s) = order
        .fulfillment_orders
        .iter()
        .flat_map(|f| f.shipments.iter().map(move |s| (&f.location_id, s)))
        .find(|(_, s)| &s.id == id)
        .ok_or_else(|| StoreError::Corrupt(format!("no shipment {id}")))?;
    tx.save_shipment(&ShipmentRow {
        id: s.id.as_str(),
        order_id: order.id.as_str(),
        carrier: &s.carrier,
        tracking_number: &s.tracking_number,
        status: s.status().as_str(),
        delayed: !s.watched(),
        last_scan_at: s.last_scan_at(),
        promised_by: s.promised_by,
        location_id: location_id.as_str(),
        shipped_at: s.shipped_at,
    })
}

fn fulfillment_location<'o>(order: &'o Order, id: &Id) -> Result<&'o Id, StoreError> {
    order
        .fulfillment_orders
        .iter()
        .find(|f| &f.id == id)
        .map(|f| &f.location_id)
        .ok_or_else(|| StoreError::Corrupt(format!("no fulfillment order {id}")))
}

/// `quantity` units of a line taken out of stock at `location`.
fn taken(
    order: &Order,
    line_no: u32,
    location: &Id,
    quantity: u32,
) -> Result<Reservation, StoreError> {
    let line = order
        .lines
        .iter()
        .find(|l| l.line_no == line_no)
        .ok_or_else(|| StoreError::Corrupt(format!("no line {line_no}")))?;
    Ok(Reservation {
        line_no,
        sku: line.sku.clone(),
        location_id: location.clone(),
        quantity,
    })
}

/// Reserved units leaving stock altogether (shipped, or not found).
fn consumed_moves<'a>(
    rs: &'a [Reservation],
    reason: MovementReason,
    order_id: &'a str,
    actor: &'a str,
    at: Timestamp,
) -> Vec<ReservedMove<'a>> {
    rs.iter()
        .map(|r| ReservedMove {
            reservation: r,
            delta: -i64::from(r.quantity),
            delta_on_hand: -i64::from(r.quantity),
            reason,
            order_id,
            actor,
            at,
        })
        .collect()
}

/// The stock moves of reservations taken (`sign` 1) or given back (`sign` -1).
fn reserved_moves<'a>(
    rs: &'a [Reservation],
    sign: i64,
    reason: MovementReason,
    order_id: &'a str,
    actor: &'a str,
    at: Timestamp,
) -> Vec<ReservedMove<'a>> {
    rs.iter()
        .map(|r| ReservedMove {
            reservation: r,
            delta: sign * i64::from(r.quantity),
            delta_on_hand: 0,
            reason,
            order_id,
            actor,
            at,
        })
        .collect()
}
