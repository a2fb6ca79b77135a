//! Pure decisions: given the current state and a command (plus the facts it needs),
//! which events happen, or why not.

use super::command::{CancelOrder, OrderCommand, PlaceContext, PlaceOrder};
use super::error::OrderError;
use super::event::{OrderCancelled, OrderEvent, OrderPlaced, OrderSourced, PlacedLine};
use super::state::{Order, OrderState, Reservation};
use super::validate::validate_place;
use crate::sourcing::{Demand, Shortfall, plan};

/// Decides `command` against `state` (None for an order that does not exist yet).
/// `ctx` carries the stock and location facts; only placing an order needs them.
pub fn decide(
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
        (None, OrderCommand::Cancel(_)) => Err(OrderError::NotFound),
        (Some(order), OrderCommand::Cancel(cmd)) => cancel(order, cmd),
    }
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

fn place(cmd: PlaceOrder, ctx: &PlaceContext<'_>) -> Result<Vec<OrderEvent>, OrderError> {
    let issues = validate_place(&cmd, &ctx.limits);
    if !issues.is_empty() {
        return Err(OrderError::Invalid(issues));
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
    let plan = plan(&demands, ctx.locations, ctx.stock, ctx.ship_to);
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
    Ok(vec![
        OrderEvent::OrderPlaced(Box::new(OrderPlaced {
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
        })),
        OrderEvent::OrderSourced(OrderSourced {
            reservations,
            backorders: plan.shortfalls,
            rationale: plan.rationale,
        }),
    ])
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
    Ok(vec![OrderEvent::OrderCancelled(OrderCancelled {
        reason: cmd.reason,
        note: cmd.note,
        released: order.reservations.clone(),
        backorders_cancelled,
    })])
}
