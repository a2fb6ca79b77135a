//! Folding events into state. `evolve` must be total over every stream `decide` can
//! produce, and replaying a stream must reproduce the stored snapshot exactly.

use super::error::EvolveError;
use super::event::OrderEvent;
use super::state::{Buckets, Order, OrderLine, OrderState};
use super::{edit_evolve, rma_evolve};
use crate::Timestamp;
use crate::returns::ReturnState;

/// Applies one event recorded at `at` as the stream's `version`.
pub fn evolve(
    state: Option<Order>,
    event: &OrderEvent,
    at: Timestamp,
    version: u64,
) -> Result<Order, EvolveError> {
    let fail = |reason| EvolveError {
        event: event.kind(),
        version,
        reason,
    };
    let mut order = match (state, event) {
        (None, OrderEvent::OrderPlaced(p)) => Order {
            id: p.id.clone(),
            number: p.number.clone(),
            channel: p.channel.clone(),
            external_id: p.external_id.clone(),
            currency: p.currency.clone(),
            customer: p.customer.clone(),
            shipping_address: p.shipping_address.clone(),
            billing_address: p.billing_address.clone(),
            lines: p
                .lines
                .iter()
                .map(|l| OrderLine {
                    line_no: l.line_no,
                    sku: l.sku.clone(),
                    name: l.name.clone(),
                    unit_price: l.unit_price,
                    buckets: Buckets {
                        ordered: l.quantity,
                        unallocated: l.quantity,
                        ..Buckets::default()
                    },
                })
                .collect(),
            shipping_amount: p.shipping_amount,
            tax_amount: p.tax_amount,
            discount_amount: p.discount_amount,
            state: OrderState::Pending,
            payments: Vec::new(),
            payment_ops: Vec::new(),
            ledger: Vec::new(),
            refunds: Vec::new(),
            payment_due_at: None,
            fulfillment_orders: Vec::new(),
            confirmed_at: None,
            delivery: p.delivery.clone(),
            reservations: Vec::new(),
            holds: Vec::new(),
            sourcing: None,
            cancel_reason: None,
            returns: Vec::new(),
            open_edit: None,
            edits: Vec::new(),
            abandoned_edits: Vec::new(),
            cancel_request: None,
            notes: Vec::new(),
            tags: Default::default(),
            watches: Default::default(),
            created_at: at,
            updated_at: at,
            version: 0,
        },
        (Some(_), OrderEvent::OrderPlaced(_)) => return Err(fail("the order already exists")),
        (None, _) => return Err(fail("the stream does not start with order_placed")),
        (Some(mut order), OrderEvent::OrderSourced(s)) => {
            for r in &s.reservations {
                let line = order
                    .lines
                    .iter_mut()
                    .find(|l| l.line_no == r.line_no)
                    .ok_or_else(|| fail("unknown line"))?;
                line.buckets.unallocated = line
                    .buckets
                    .unallocated
                    .checked_sub(r.quantity)
                    .ok_or_else(|| fail("sourced more than was waiting"))?;
                line.buckets.allocated += r.quantity;
            }
            for b in &s.backorders {
                let line = order
                    .lines
                    .iter_mut()
                    .find(|l| l.line_no == b.line_no)
                    .ok_or_else(|| fail("unknown line"))?;
                line.buckets.unallocated = line
                    .buckets
                    .unallocated
                    .checked_sub(b.quantity)
                    .ok_or_else(|| fail("backordered more than was waiting"))?;
                line.buckets.backordered += b.quantity;
            }
            order.reservations.extend(s.reservations.iter().cloned());
            super::fulfillment::open(&mut order, &s.reservations, at);
            order.sourcing = Some(s.rationale.clone());
            order
        }
        (Some(mut order), OrderEvent::OrderCancelled(c)) => {
            for line in &mut order.lines {
                let b = &mut line.buckets;
                b.cancelled += b.unallocated + b.allocated + b.backordered;
                b.unallocated = 0;
                b.allocated = 0;
                b.backordered = 0;
                b.released = 0;
            }
            order.reservations.clear();
            super::fulfillment::cancel_open(&mut order);
            order.state = OrderState::Cancelled;
            order.cancel_reason = Some(c.reason);
            order.cancel_request = None;
            order
        }
        (Some(mut order), OrderEvent::FulfillmentReleased(r)) => {
            super::fulfillment::apply_release(&mut order, r, at).map_err(fail)?;
            order
        }
        (Some(mut order), OrderEvent::PickConfirmed(p)) => {
            super::fulfillment::apply_pick(&mut order, p).map_err(fail)?;
            order
        }
        (Some(mut order), OrderEvent::PackageCreated(p)) => {
            super::fulfillment::apply_pack(&mut order, p, at).map_err(fail)?;
            order
        }
        (Some(mut order), OrderEvent::PackageShipped(s)) => {
            super::shipments::apply_ship(&mut order, s, at).map_err(fail)?;
            order
        }
        (Some(mut order), OrderEvent::BackorderFilled(b)) => {
            let r = &b.reservation;
            let line = order
                .lines
                .iter_mut()
                .find(|l| l.line_no == r.line_no)
                .ok_or_else(|| fail("unknown line"))?;
            line.buckets.backordered = line
                .buckets
                .backordered
                .checked_sub(r.quantity)
                .ok_or_else(|| fail("filled more than was backordered"))?;
            line.buckets.allocated += r.quantity;
            order.reservations.push(r.clone());
            super::fulfillment::open(&mut order, std::slice::from_ref(r), at);
            order
        }
        (Some(mut order), OrderEvent::FulfillmentRejected(r)) => {
            super::fulfillment::apply_reject(&mut order, r).map_err(fail)?;
            order
        }
        (Some(mut order), OrderEvent::TrackingRecorded(t)) => {
            super::shipments::apply_tracking(&mut order, t).map_err(fail)?;
            order
        }
        (Some(mut order), OrderEvent::ShipmentDelayed(d)) => {
            super::shipments::apply_delay(&mut order, d).map_err(fail)?;
            order
        }
        (Some(mut order), OrderEvent::ReturnRequested(r)) => {
            rma_evolve::apply_requested(&mut order, r, at).map_err(fail)?;
            order
        }
        (Some(mut order), OrderEvent::ReturnReviewed(r)) => {
            rma_evolve::apply_reviewed(&mut order, r, at).map_err(fail)?;
            order
        }
        (Some(mut order), OrderEvent::ReturnLabelIssued(l)) => {
            rma_evolve::apply_label(&mut order, l, at).map_err(fail)?;
            order
        }
        (Some(mut order), OrderEvent::ReturnExchangePlaced(e)) => {
            rma_evolve::apply_exchange(&mut order, e, at).map_err(fail)?;
            order
        }
        (Some(mut order), OrderEvent::ReturnTracked(t)) => {
            rma_evolve::apply_tracked(&mut order, t, at).map_err(fail)?;
            order
        }
        (Some(mut order), OrderEvent::ReturnReceived(r)) => {
            rma_evolve::apply_received(&mut order, r, at).map_err(fail)?;
            order
        }
        (Some(mut order), OrderEvent::ReturnInspected(r)) => {
            rma_evolve::apply_inspected(&mut order, r, at).map_err(fail)?;
            order
        }
        (Some(mut order), OrderEvent::ReturnItemsDecided(r)) => {
            rma_evolve::apply_decided(&mut order, r, at).map_err(fail)?;
            order
        }
        (Some(mut order), OrderEvent::ReturnItemsSentBack(r)) => {
            rma_evolve::apply_sent_back(&mut order, r, at).map_err(fail)?;
            order
        }
        (Some(mut order), OrderEvent::ReturnResolved(r)) => {
            rma_evolve::apply_resolved(&mut order, r, at).map_err(fail)?;
            order
        }
        (Some(mut order), OrderEvent::ReturnCompleted { return_id }) => {
            rma_evolve::apply_completed(&mut order, return_id, at).map_err(fail)?;
            order
        }
        (Some(mut order), OrderEvent::ReturnCancelled(c)) => {
            rma_evolve::apply_closed(&mut order, c, ReturnState::Cancelled, at).map_err(fail)?;
            order
        }
        (Some(mut order), OrderEvent::ReturnExpired(c)) => {
            rma_evolve::apply_closed(&mut order, c, ReturnState::Expired, at).map_err(fail)?;
            order
        }
        (Some(mut order), OrderEvent::EditBegun(b)) => {
            edit_evolve::apply_begun(&mut order, b, at).map_err(fail)?;
            order
        }
        (Some(mut order), OrderEvent::EditStaged(s)) => {
            edit_evolve::apply_staged(&mut order, s).map_err(fail)?;
            order
        }
        (Some(mut order), OrderEvent::EditAbandoned(a)) => {
            edit_evolve::apply_abandoned(&mut order, a).map_err(fail)?;
            order
        }
        (Some(mut order), OrderEvent::CancellationRequested(r)) => {
            super::cancel_request::apply_requested(&mut order, r, at);
            order
        }
        (Some(mut order), OrderEvent::NoteAdded(n)) => {
            super::notes::apply_note(&mut order, n, at);
            order
        }
        (Some(mut order), OrderEvent::TagsChanged(t)) => {
            super::notes::apply_tags(&mut order, t);
            order
        }
        (Some(mut order), OrderEvent::WatchRaised(r)) => {
            order.watches.insert(r.watch.clone());
            order
        }
        (Some(mut order), OrderEvent::WatchCleared(c)) => {
            order.watches.remove(&c.watch);
            order
        }
        (Some(mut order), OrderEvent::CancellationAnswered(a)) => {
            super::cancel_request::apply_answered(&mut order, a).map_err(fail)?;
            order
        }
        (Some(mut order), OrderEvent::OrderEdited(e)) => {
            edit_evolve::apply_edited(&mut order, e, at).map_err(fail)?;
            order
        }
        (Some(mut order), other) => {
            super::money::apply(&mut order, other, at).map_err(fail)?;
            order
        }
    };
    order.updated_at = at;
    order.version = version;
    Ok(order)
}

/// Folds a whole stream of `(event, at)` pairs, versions counting from 1.
pub fn replay<'a>(
    events: impl IntoIterator<Item = (&'a OrderEvent, Timestamp)>,
) -> Result<Option<Order>, EvolveError> {
    let mut state = None;
    for (version, (event, at)) in (1u64..).zip(events) {
        state = Some(evolve(state, event, at, version)?);
    }
    Ok(state)
}
