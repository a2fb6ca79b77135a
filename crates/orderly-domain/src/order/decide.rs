//! Pure decisions: given the current state and a command (plus the facts it needs),
//! which events happen, or why not. It is a little over 600 lines because it is the one
//! dispatch table of every order command: each arm hands off to its capability's file.

use super::command::{
    CancelOrder, CancelReason, OrderCommand, PlaceContext, PlaceOrder, SourcingContext,
};
use super::error::OrderError;
use super::event::{HoldChange, OrderCancelled, OrderEvent, OrderPlaced, OrderSourced, PlacedLine};
use super::payments::{self, OpIds};
use super::refunds;
use super::state::{Delivery, Order, OrderState, Reservation};
use super::validate::validate_place;
use crate::payment::{PaymentState, RiskFacts, risk_holds};
use crate::sourcing::{Demand, Destination, LocationFacts, Shortfall, plan_with};
use crate::values::Id;

/// Decides `command` against `state` (None for an order that does not exist yet).
/// `ctx` carries the stock and location facts; only placing an order needs them.
pub fn decide(
    state: Option<&Order>,
    command: OrderCommand,
    ctx: Option<&PlaceContext<'_>>,
) -> Result<Vec<OrderEvent>, OrderError> {
    let mut events = decide_command(state, command, ctx)?;
    clear_met_deadline(state, &mut events);
    super::edit_decide::close_open_edit(state, &mut events);
    Ok(events)
}

/// A payment deadline that the decision met (the order was confirmed) or made moot (it
/// was cancelled) is cleared in the same decision, so no view or timeline keeps showing
/// a threat that no longer applies; every way to confirm or cancel passes here.
fn clear_met_deadline(state: Option<&Order>, events: &mut Vec<OrderEvent>) {
    let mut due = state.and_then(|o| o.payment_due_at).is_some();
    let mut clear = None;
    for (i, e) in events.iter().enumerate() {
        let reason = match e {
            OrderEvent::PaymentDeadlineSet { .. } => {
                due = true;
                continue;
            }
            OrderEvent::PaymentDeadlineCleared { .. } => return,
            OrderEvent::OrderConfirmed { reason } => {
                format!("met, the order was confirmed ({reason})")
            }
            OrderEvent::OrderCancelled(c) if c.reason == CancelReason::PaymentTimeout => {
                "reached, the order was cancelled unpaid".to_owned()
            }
            OrderEvent::OrderCancelled(_) => "moot, the order was cancelled".to_owned(),
            _ => continue,
        };
        if due {
            clear = Some((i + 1, reason));
            break;
        }
    }
    // Right after the event that settled it, so the timeline reads in order.
    if let Some((at, reason)) = clear {
        events.insert(at, OrderEvent::PaymentDeadlineCleared { reason });
    }
}

fn decide_command(
    state: Option<&Order>,
    command: OrderCommand,
    ctx: Option<&PlaceContext<'_>>,
) -> Result<Vec<OrderEvent>, OrderError> {
    match (state, command) {
        (Some(_), OrderCommand::Place(_)) => Err(OrderError::AlreadyExists),
        (None, OrderCommand::Place(cmd)) => match ctx {
            Some(ctx) => place(*cmd, ctx),
            None => Err(OrderError::Invalid(vec![super::FieldIssue::new(
                "lines",
                "no_sourcing_facts",
                "placing an order needs stock facts",
            )])),
        },
        (None, _) => Err(OrderError::NotFound),
        (Some(order), OrderCommand::Cancel(cmd)) => cancel(order, cmd),
        (Some(order), OrderCommand::AddPayment(p)) => payments::add_payment(order, p),
        (
            Some(order),
            OrderCommand::RecordOutcome {
                op_id,
                outcome,
                capture,
            },
        ) => payments::record_outcome(order, &op_id, outcome, capture),
        (Some(order), OrderCommand::Capture { amount_minor }) => {
            payments::capture(order, amount_minor)
        }
        (Some(order), OrderCommand::Refund(r)) => refunds::refund(order, r),
        (Some(order), OrderCommand::RetryRefund { refund_id }) => {
            payments::retry_refund(order, &refund_id)
        }
        (Some(order), OrderCommand::ExpireAuthorization { payment_id }) => {
            payments::expire(order, &payment_id)
        }
        (
            Some(order),
            OrderCommand::MarkPaid {
                payment_id,
                reference,
            },
        ) => payments::mark_paid(order, &payment_id, reference),
        (Some(order), OrderCommand::PlaceHold(h)) => payments::place_hold(order, h),
        (Some(order), OrderCommand::RaiseWatches { watches }) => {
            Ok(super::watch::raise(order, &watches))
        }
        (Some(order), OrderCommand::ClearWatches) => Ok(super::watch::clear(order)),
        (Some(order), OrderCommand::AddNote { id, text, author }) => {
            super::notes::add_note(order, id, &text, &author)
        }
        (Some(order), OrderCommand::ChangeTags { add, remove }) => {
            super::notes::change_tags(order, &add, &remove)
        }
        (Some(order), OrderCommand::ReleaseHold { hold, capture }) => {
            payments::release_hold(order, hold, capture)
        }
        (Some(order), OrderCommand::PaymentDeadline { now, refund_id }) => {
            payment_deadline(order, now, refund_id)
        }
        (Some(order), OrderCommand::Release { fulfillment_id }) => {
            super::fulfillment::release(order, fulfillment_id.as_ref())
        }
        (
            Some(order),
            OrderCommand::Pick {
                fulfillment_id,
                picked,
            },
        ) => super::fulfillment::pick(order, &fulfillment_id, &picked),
        (
            Some(order),
            OrderCommand::Pack {
                fulfillment_id,
                package_id,
                scans,
                weight_grams,
                dimensions_mm,
            },
        ) => super::fulfillment::pack(
            order,
            &fulfillment_id,
            package_id,
            &scans,
            weight_grams,
            dimensions_mm,
        ),
        (Some(order), OrderCommand::Ship { ship, capture }) => {
            super::shipments::ship(order, ship, capture)
        }
        (
            Some(order),
            OrderCommand::FillBackorder {
                sku,
                location,
                available,
            },
        ) => Ok(fill_backorder(order, &sku, &location, available)),
        (
            Some(order),
            OrderCommand::Reject {
                fulfillment_id,
                reason,
            },
        ) => super::fulfillment::reject(order, &fulfillment_id, reason),
        (Some(order), OrderCommand::RecordTracking(t)) => {
            super::shipments::record_tracking(order, t)
        }
        (
            Some(order),
            OrderCommand::CheckDelay {
                shipment_id,
                now,
                silence_hours,
            },
        ) => super::shipments::check_delay(order, &shipment_id, now, silence_hours),
        (Some(order), OrderCommand::RequestReturn(r)) => super::rma_decide::request(order, *r),
        (Some(order), OrderCommand::ReviewReturn { review, now }) => {
            super::rma_decide::review(order, review, now)
        }
        (
            Some(order),
            OrderCommand::TrackReturn {
                return_id,
                status,
                occurred_at,
            },
        ) => super::rma_decide::track(order, &return_id, status, occurred_at),
        (Some(order), OrderCommand::IssueReturnLabel { return_id, label }) => {
            super::rma_decide::issue_label(order, &return_id, label)
        }
        (
            Some(order),
            OrderCommand::RecordExchange {
                return_id,
                exchange,
            },
        ) => super::rma_decide::record_exchange(order, &return_id, exchange),
        (Some(order), OrderCommand::ReceiveReturn(r)) => super::rma_decide::receive(order, r),
        (Some(order), OrderCommand::InspectReturn { return_id, items }) => {
            super::rma_decide::inspect(order, &return_id, items)
        }
        (
            Some(order),
            OrderCommand::DecideReturnItems {
                return_id,
                items,
                note,
            },
        ) => super::rma_decide::decide_items(order, &return_id, items, note),
        (
            Some(order),
            OrderCommand::SendBackReturnItems {
                return_id,
                send_back,
            },
        ) => super::rma_decide::send_back(order, &return_id, send_back),
        (Some(order), OrderCommand::ResolveReturn { resolve, now }) => {
            super::rma_money::resolve(order, resolve, now)
        }
        (Some(order), OrderCommand::CompleteReturn { return_id }) => {
            super::rma_money::complete(order, &return_id)
        }
        (Some(order), OrderCommand::CancelReturn { return_id, reason }) => {
            super::rma_decide::cancel(order, &return_id, reason)
        }
        (Some(order), OrderCommand::ExpireReturn { return_id, now }) => {
            super::rma_decide::expire(order, &return_id, now)
        }
        (Some(order), OrderCommand::Edit(edit)) => {
            let (command, facts) = *edit;
            super::edit_decide::decide_edit(order, command, &facts)
        }
    }
}

/// Where an order with `delivery`, shipped to `country`, goes.
pub(super) fn destination<'a>(delivery: Option<&'a Delivery>, country: &'a str) -> Destination<'a> {
    match Delivery::pickup(delivery) {
        Some(counter) => Destination::Pickup(counter),
        None => Destination::Ship {
            country: Some(country),
        },
    }
}

/// Refuses a pickup at a location that does not take collections.
fn check_pickup(to: Destination<'_>, locations: &[LocationFacts]) -> Result<(), OrderError> {
    match to {
        Destination::Pickup(id) if !locations.iter().any(|l| l.serves(to)) => {
            Err(OrderError::Invalid(vec![super::FieldIssue::new(
                "delivery.pickup_location",
                "pickup_not_offered",
                format!("{id} does not offer pickup"),
            )]))
        }
        _ => Ok(()),
    }
}

/// Plans where `demands` are served from, among the locations that serve `to` (only the
/// counter, for a click-and-collect order); `OutOfStock` when something is short and the
/// channel does not backorder.
pub(super) fn source_demands(
    demands: &[Demand],
    to: Destination<'_>,
    ctx: &SourcingContext<'_>,
) -> Result<OrderSourced, OrderError> {
    let plan = plan_with(
        demands,
        ctx.locations,
        ctx.stock,
        ctx.ship_to,
        to,
        ctx.policy,
    );
    if !plan.shortfalls.is_empty() && !ctx.allow_backorders {
        let mut skus: Vec<_> = plan.shortfalls.iter().map(|s| s.sku.clone()).collect();
        skus.sort();
        skus.dedup();
        let lines = plan.shortfalls.iter().map(|s| s.line_no).collect();
        return Err(OrderError::OutOfStock { skus, lines });
    }
    let reservations = plan
        .allocations
        .into_iter()
        .map(|a| Reservation {
            line_no: a.line_no,
            sku: a.sku,
            location_id: a.location_id,
            quantity: a.quantity,
        })
        .collect();
    Ok(OrderSourced {
        reservations,
        backorders: plan.shortfalls,
        rationale: plan.rationale,
    })
}

/// Sources the units of a confirmed order still waiting for it: the order was paid on a
/// channel that reserves at payment, or a warehouse could not pick or refused them. Stock
/// that ran out before payment cancels the order and gives the money back (refund
/// `refund_id`), unless the channel backorders; units already promised wait as backorders.
pub fn source_waiting(
    order: &Order,
    ctx: &SourcingContext<'_>,
    refund_id: crate::values::Id,
) -> Result<Vec<OrderEvent>, OrderError> {
    if order.state != OrderState::Confirmed {
        return Ok(Vec::new());
    }
    let demands: Vec<Demand> = order
        .lines
        .iter()
        .filter(|l| l.buckets.unallocated > 0)
        .map(|l| Demand {
            line_no: l.line_no,
            sku: l.sku.clone(),
            quantity: l.buckets.unallocated,
        })
        .collect();
    if demands.is_empty() {
        return Ok(Vec::new());
    }
    // Units that a warehouse could not find (a short pick) are already promised to a paid
    // customer: what no other location has waits as a backorder rather than cancelling.
    let resourcing = !order.fulfillment_orders.is_empty();
    // A location that refused the order is not asked again; one whose picker came up
    // short is asked last, for what no other location has.
    let rejecting = order.rejecting_locations();
    let suspect = order.short_picking_locations();
    let (trusted, doubted): (Vec<LocationFacts>, Vec<LocationFacts>) = ctx
        .locations
        .iter()
        .filter(|l| !rejecting.contains(&&l.id))
        .cloned()
        .partition(|l| !suspect.contains(&&l.id));
    let first = SourcingContext {
        allow_backorders: ctx.allow_backorders || resourcing,
        locations: &trusted,
        ..ctx.clone()
    };
    let to = destination(
        order.delivery.as_ref(),
        order.shipping_address.country.as_str(),
    );
    let sourced = two_pass(&demands, to, &first, &doubted);
    match sourced {
        Ok(sourced) => Ok(vec![OrderEvent::OrderSourced(sourced)]),
        Err(OrderError::OutOfStock { skus, .. }) => {
            let names: Vec<&str> = skus.iter().map(|s| s.as_str()).collect();
            cancel(
                order,
                CancelOrder {
                    reason: CancelReason::OutOfStock,
                    note: Some(format!("out of stock when paid: {}", names.join(", "))),
                    refund_id,
                },
            )
        }
        Err(e) => Err(e),
    }
}

/// Sources `demands` from the trusted locations of `first`, then what they lack from the
/// `doubted` ones (whose pickers came up short for this order).
fn two_pass(
    demands: &[Demand],
    to: Destination<'_>,
    first: &SourcingContext<'_>,
    doubted: &[LocationFacts],
) -> Result<OrderSourced, OrderError> {
    let sourced = source_demands(demands, to, first)?;
    if sourced.backorders.is_empty() || doubted.is_empty() {
        return Ok(sourced);
    }
    let rest: Vec<Demand> = sourced
        .backorders
        .iter()
        .map(|s| Demand {
            line_no: s.line_no,
            sku: s.sku.clone(),
            quantity: s.quantity,
        })
        .collect();
    let last = SourcingContext {
        locations: doubted,
        ..first.clone()
    };
    let fallback = source_demands(&rest, to, &last)?;
    Ok(merge_sourcing(sourced, fallback))
}

/// A sourcing decision made in two passes: the first's reservations and the second's,
/// the second's shortfalls, and every candidate both considered.
fn merge_sourcing(mut first: OrderSourced, second: OrderSourced) -> OrderSourced {
    first.reservations.extend(second.reservations);
    first.backorders = second.backorders;
    first
        .rationale
        .candidates
        .extend(second.rationale.candidates);
    let mut locations: Vec<&Id> = first.reservations.iter().map(|r| &r.location_id).collect();
    locations.sort();
    locations.dedup();
    first.rationale.strategy = match locations.len() {
        0 => crate::sourcing::Strategy::NoStock,
        1 => crate::sourcing::Strategy::SingleLocation,
        _ => crate::sourcing::Strategy::Split,
    };
    first
}

/// Reserves arrived stock for the order's backordered lines of `sku`, oldest line first,
/// when `location` serves the order: its pickup counter, or a location that ships to its
/// country. (A refusal was of one fulfillment order at one time; new stock may serve.)
fn fill_backorder(
    order: &Order,
    sku: &crate::values::Sku,
    location: &LocationFacts,
    mut available: u32,
) -> Vec<OrderEvent> {
    let to = destination(
        order.delivery.as_ref(),
        order.shipping_address.country.as_str(),
    );
    if order.state == OrderState::Cancelled || !location.serves(to) {
        return Vec::new();
    }
    let location = &location.id;
    let mut events = Vec::new();
    for line in order.lines.iter().filter(|l| &l.sku == sku) {
        let quantity = line.buckets.backordered.min(available);
        if quantity == 0 {
            continue;
        }
        available -= quantity;
        events.push(OrderEvent::BackorderFilled(super::event::BackorderFilled {
            reservation: Reservation {
                line_no: line.line_no,
                sku: sku.clone(),
                location_id: location.clone(),
                quantity,
            },
        }));
    }
    events
}

/// Cancels an order still unpaid at its deadline; anything else makes the timer moot.
fn payment_deadline(
    order: &Order,
    now: crate::Timestamp,
    refund_id: crate::values::Id,
) -> Result<Vec<OrderEvent>, OrderError> {
    let due = order.payment_due_at.is_some_and(|due| due <= now);
    let unpaid = matches!(
        order.payment_state(),
        PaymentState::Unpaid | PaymentState::Failed | PaymentState::Voided | PaymentState::Expired
    );
    // An authorization whose answer is still unknown may yet succeed: not before it is known.
    if !due || order.state != OrderState::Pending || !unpaid || order.authorization_pending() {
        return Ok(Vec::new());
    }
    cancel(
        order,
        CancelOrder {
            reason: CancelReason::PaymentTimeout,
            note: Some("not paid by the deadline".to_owned()),
            refund_id,
        },
    )
}

/// Gives a freshly decided order its human number. Numbers are drawn after the decision
/// (which may refuse the order), so that a refused order never consumes one.
pub fn assign_number(events: &mut [OrderEvent], number: String) {
    for event in events {
        if let OrderEvent::OrderPlaced(p) = event {
            p.number = number.clone();
        }
    }
}

fn place(mut cmd: PlaceOrder, ctx: &PlaceContext<'_>) -> Result<Vec<OrderEvent>, OrderError> {
    // Prices are settled first: the total, its payment and the risk review follow them.
    let mut issues = ctx.prices.settle(&mut cmd.lines, &cmd.currency);
    issues.extend(validate_place(&cmd, &ctx.limits));
    if !issues.is_empty() {
        return Err(OrderError::Invalid(issues));
    }
    let to = destination(cmd.delivery.as_ref(), cmd.shipping_address.country.as_str());
    check_pickup(to, ctx.sourcing.locations)?;
    // Validation kept the total within 0..=MAX_AMOUNT_MINOR.
    let total = i64::try_from(cmd.total()).map_err(|_| OrderError::InvalidAmount)?;
    if total == 0 && !ctx.prices.allow_free_orders {
        return Err(OrderError::FreeOrderNotAllowed);
    }
    let lines: Vec<PlacedLine> = cmd
        .lines
        .into_iter()
        .zip(1u32..)
        .map(|(l, line_no)| PlacedLine {
            line_no,
            sku: l.sku,
            name: l.name,
            quantity: l.quantity,
            unit_price: l.unit_price,
        })
        .collect();
    let demands: Vec<Demand> = lines
        .iter()
        .map(|l| Demand {
            line_no: l.line_no,
            sku: l.sku.clone(),
            quantity: l.quantity,
        })
        .collect();
    // On a channel that reserves at payment, stock is looked at once the order is paid.
    let sourced = if ctx.reserve_at_payment {
        None
    } else {
        Some(source_demands(&demands, to, &ctx.sourcing)?)
    };
    let holds = risk_holds(
        ctx.risk,
        &RiskFacts {
            total_minor: total,
            billing_country: &cmd.billing_address.country,
            shipping_country: &cmd.shipping_address.country,
            recent_orders_same_email: ctx.recent_orders_same_email,
            recent_orders_same_card: ctx.recent_orders_same_card,
        },
    );
    let mut events = vec![OrderEvent::OrderPlaced(Box::new(OrderPlaced {
        id: cmd.id,
        number: cmd.number,
        channel: cmd.channel,
        external_id: cmd.external_id,
        currency: cmd.currency,
        customer: cmd.customer,
        shipping_address: cmd.shipping_address,
        billing_address: cmd.billing_address,
        lines,
        shipping_amount: cmd.shipping_amount,
        tax_amount: cmd.tax_amount,
        discount_amount: cmd.discount_amount,
        delivery: cmd.delivery,
    }))];
    events.extend(sourced.map(OrderEvent::OrderSourced));
    for (reason, note) in holds {
        events.push(OrderEvent::HoldPlaced(HoldChange {
            reason,
            note: Some(note),
        }));
    }
    let deferred = cmd.payment.as_ref().is_some_and(|p| p.method.is_deferred());
    if let Some(due_at) = ctx.payment_due_at
        && !deferred
    {
        events.push(OrderEvent::PaymentDeadlineSet { due_at });
    }
    match cmd.payment {
        Some(payment) => events.extend(payments::offer(
            OrderState::Pending,
            payment,
            total,
            &mut OpIds::new(None),
        )),
        // A free order the channel allows owes nothing: nothing to wait for.
        None if total == 0 => events.push(OrderEvent::OrderConfirmed {
            reason: "nothing to pay".to_owned(),
        }),
        None => {}
    }
    Ok(events)
}

fn cancel(order: &Order, cmd: CancelOrder) -> Result<Vec<OrderEvent>, OrderError> {
    if !order.state.can_transition_to(OrderState::Cancelled) {
        return Err(OrderError::IllegalTransition {
            from: order.state,
            to: OrderState::Cancelled,
        });
    }
    if order.lines.iter().any(|l| l.buckets.shipped > 0) {
        return Err(OrderError::AlreadyShipped);
    }
    let backorders_cancelled = order
        .lines
        .iter()
        .filter(|l| l.buckets.backordered > 0)
        .map(|l| Shortfall {
            line_no: l.line_no,
            sku: l.sku.clone(),
            quantity: l.buckets.backordered,
        })
        .collect();
    let mut events = vec![OrderEvent::OrderCancelled(OrderCancelled {
        reason: cmd.reason,
        note: cmd.note,
        released: order.reservations.clone(),
        backorders_cancelled,
    })];
    events.extend(payments::unwind(order, &cmd.refund_id));
    Ok(events)
}
