//! What an edit would do, computed the same way for a preview and for the commit: the
//! lines after it, which units leave their reservations and which are reserved where,
//! whether the new address moves the order to a nearer location (and why), and the new
//! totals. Units a warehouse has started on are never touched: an edit that needs them
//! is refused, naming the fulfillment order (so an abandoned or refused edit leaves
//! stock exactly as it was).

use super::command::SourcingContext;
use super::decide::{destination, source_demands};
use super::edit::{EditChange, EditTotals, EditWindow, LineEdit, Resourced, UnitsMoved};
use super::error::{FieldIssue, OrderError};
use super::fulfillment::FulfillmentOrder;
use super::state::{Address, Delivery, Order, OrderState};
use super::validate::{Limits, MAX_AMOUNT_MINOR};
use crate::fulfillment::FulfillmentState;
use crate::payment::OpStatus;
use crate::sourcing::{Demand, Destination, Shortfall, StockView};
use crate::values::Id;
use std::collections::BTreeSet;

/// What a plan reads beside the order: stock and locations (inside the write
/// transaction for a commit), the address's coordinates after the edit, and the rules.
#[derive(Debug, Clone, PartialEq)]
pub struct EditFacts {
    pub locations: Vec<crate::sourcing::LocationFacts>,
    /// Available stock of every SKU the order has or the edit adds.
    pub stock: StockView,
    /// Where the order goes *after* the edit (see `address_after`).
    pub ship_to: Option<crate::geo::LatLon>,
    pub allow_backorders: bool,
    pub policy: crate::sourcing::SourcingPolicy,
    pub window: EditWindow,
    pub limits: Limits,
    /// The channel reserves only once the order is paid: an unpaid order's units wait.
    pub reserve_at_payment: bool,
}

impl EditFacts {
    pub(super) fn sourcing(&self) -> SourcingContext<'_> {
        SourcingContext {
            locations: &self.locations,
            stock: &self.stock,
            ship_to: self.ship_to,
            allow_backorders: self.allow_backorders,
            policy: self.policy,
        }
    }
}

/// Everything an edit would change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditPlan {
    /// Every line after the edit (new lines last), with its quantity before.
    pub lines: Vec<LineEdit>,
    pub released: Vec<UnitsMoved>,
    pub backorders_cancelled: Vec<Shortfall>,
    pub reserved: Vec<UnitsMoved>,
    pub backordered: Vec<Shortfall>,
    pub shipping_address: Option<Address>,
    pub delivery: Option<Delivery>,
    pub before: EditTotals,
    pub after: EditTotals,
    pub resourced: Option<Resourced>,
    /// Fulfillment orders whose units change (given back, or added to).
    pub affected: Vec<Id>,
}

impl EditPlan {
    /// The lines whose quantity changes, and the new ones.
    pub fn changed_lines(&self) -> Vec<LineEdit> {
        self.lines
            .iter()
            .filter(|l| l.before != l.after)
            .cloned()
            .collect()
    }
}

/// The address an order has after `changes` (the last address change wins).
pub fn address_after<'a>(order: &'a Order, changes: &'a [EditChange]) -> &'a Address {
    changes
        .iter()
        .rev()
        .find_map(|c| match c {
            EditChange::ShippingAddress { address } => Some(address),
            _ => None,
        })
        .unwrap_or(&order.shipping_address)
}

/// The fulfillment orders an edit may still change under `window`.
pub(super) fn open_to_edit(fo: &FulfillmentOrder, window: EditWindow) -> bool {
    match fo.state {
        FulfillmentState::Pending => true,
        FulfillmentState::Released => window == EditWindow::UntilPicking,
        _ => false,
    }
}

/// Started by a warehouse and not yet gone: its parcel is being made for the old terms.
fn in_progress(fo: &FulfillmentOrder, window: EditWindow) -> bool {
    !open_to_edit(fo, window)
        && matches!(
            fo.state,
            FulfillmentState::Released | FulfillmentState::Picking | FulfillmentState::Packed
        )
}

/// Refusals that do not depend on the changes: the order's state and money in flight.
pub(super) fn check_editable(order: &Order) -> Result<(), OrderError> {
    if !matches!(order.state, OrderState::Pending | OrderState::Confirmed) {
        return Err(OrderError::IllegalTransition {
            from: order.state,
            to: order.state,
        });
    }
    if let Some(r) = order
        .pending_cancellation()
        .filter(|r| !r.waiting.is_empty())
    {
        return Err(OrderError::CancellationPending(r.id.to_string()));
    }
    if let Some(op) = order
        .payment_ops
        .iter()
        .find(|o| o.status == OpStatus::Pending)
    {
        return Err(OrderError::PaymentInFlight(op.id.to_string()));
    }
    if order
        .payments
        .iter()
        .any(|p| p.method.is_manual() && order.payment_totals(&p.id).captured == 0)
    {
        return Err(OrderError::EditNotAllowed(
            "the order is paid on delivery or by hand and not settled yet: its amount is \
             collected as placed; cancel the units instead"
                .to_owned(),
        ));
    }
    Ok(())
}

/// Computes what `changes` would do to `order`.
pub fn plan(
    order: &Order,
    changes: &[EditChange],
    facts: &EditFacts,
) -> Result<EditPlan, OrderError> {
    check_editable(order)?;
    let applied = super::edit_changes::apply_changes(order, changes, &facts.limits)?;
    let window = facts.window;
    let retargeted = applied.address.is_some()
        || applied.delivery.as_ref().and_then(|d| d.service.as_ref())
            != order.delivery.as_ref().and_then(|d| d.service.as_ref());
    if retargeted
        && let Some(fo) = order
            .fulfillment_orders
            .iter()
            .find(|f| in_progress(f, window))
    {
        return Err(window_closed(
            fo,
            "its parcel is made for the current address and service",
        ));
    }
    let mut out = EditPlan {
        lines: Vec::new(),
        released: Vec::new(),
        backorders_cancelled: Vec::new(),
        reserved: Vec::new(),
        backordered: Vec::new(),
        shipping_address: applied.address.clone(),
        delivery: (applied.delivery != order.delivery)
            .then(|| applied.delivery.clone())
            .flatten(),
        before: totals_of(order),
        after: EditTotals::default(),
        resourced: None,
        affected: Vec::new(),
    };
    let mut demands = Vec::new();
    for w in &applied.lines {
        take_back(order, w, window, &mut out, &mut demands)?;
    }
    let waits_for_payment = facts.reserve_at_payment && order.state == OrderState::Pending;
    if !waits_for_payment {
        let to = destination(
            applied.delivery.as_ref(),
            address_after(order, changes).country.as_str(),
        );
        if applied.address.is_some() && matches!(to, Destination::Ship { .. }) {
            super::edit_sourcing::resource(order, &mut out, &mut demands, to, facts)?;
        }
        if !demands.is_empty() {
            let sourced = source_demands(&demands, to, &facts.sourcing())?;
            out.reserved
                .extend(sourced.reservations.into_iter().map(|r| UnitsMoved {
                    fulfillment_id: None,
                    line_no: r.line_no,
                    sku: r.sku,
                    location_id: r.location_id,
                    quantity: r.quantity,
                }));
            out.backordered.extend(sourced.backorders);
        }
        super::edit_sourcing::join_pending(order, &mut out);
    }
    out.lines = applied
        .lines
        .iter()
        .map(|w| LineEdit {
            line_no: w.line_no,
            sku: w.sku.clone(),
            name: w.name.clone(),
            unit_price: w.unit_price,
            before: w.before,
            after: w.after,
        })
        .collect();
    out.after = totals_after(order, &out.lines, applied.shipping)?;
    let mut affected: BTreeSet<Id> = out
        .released
        .iter()
        .chain(&out.reserved)
        .filter_map(|m| m.fulfillment_id.clone())
        .collect();
    if retargeted {
        affected.extend(
            order
                .fulfillment_orders
                .iter()
                .filter(|f| open_to_edit(f, window))
                .map(|f| f.id.clone()),
        );
    }
    out.affected = affected.into_iter().collect();
    out.released = merged(out.released);
    out.reserved = merged(out.reserved);
    Ok(out)
}

/// Units of the same line moving at the same fulfillment order and location, as one.
fn merged(units: Vec<UnitsMoved>) -> Vec<UnitsMoved> {
    let mut out: Vec<UnitsMoved> = Vec::with_capacity(units.len());
    for u in units {
        match out.iter_mut().find(|m| {
            m.fulfillment_id == u.fulfillment_id
                && m.line_no == u.line_no
                && m.location_id == u.location_id
        }) {
            Some(m) => m.quantity += u.quantity,
            None => out.push(u),
        }
    }
    out
}

fn window_closed(fo: &FulfillmentOrder, why: &str) -> OrderError {
    OrderError::EditNotAllowed(format!(
        "fulfillment order {} is {} at {}: {why}",
        fo.id,
        fo.state.as_str(),
        fo.location_id
    ))
}

/// Takes a line's removed units back (waiting ones first, then backorders, then the
/// newest reservations an edit may still change), and notes what it adds as demand.
fn take_back(
    order: &Order,
    w: &super::edit_changes::WorkLine,
    window: EditWindow,
    out: &mut EditPlan,
    demands: &mut Vec<Demand>,
) -> Result<(), OrderError> {
    if w.after > w.before {
        demands.push(Demand {
            line_no: w.line_no,
            sku: w.sku.clone(),
            quantity: w.after - w.before,
        });
        return Ok(());
    }
    let mut left = w.before - w.after;
    let Some(line) = order.lines.iter().find(|l| l.line_no == w.line_no) else {
        return Ok(());
    };
    // Units no refund may have taken already: a line never gives back more than it sold.
    let refunded: u32 = order
        .line_money()
        .iter()
        .find(|m| m.line_no == w.line_no)
        .map_or(0, |m| m.refunded_quantity);
    if w.after < refunded {
        return Err(OrderError::EditNotAllowed(format!(
            "line {}: {refunded} units were refunded already and stay on the order",
            w.line_no
        )));
    }
    left -= left.min(line.buckets.unallocated);
    let back = left.min(line.buckets.backordered);
    if back > 0 {
        out.backorders_cancelled.push(Shortfall {
            line_no: w.line_no,
            sku: w.sku.clone(),
            quantity: back,
        });
        left -= back;
    }
    for fo in order.fulfillment_orders.iter().rev() {
        if left == 0 {
            break;
        }
        let Some(fl) = fo.lines.iter().find(|l| l.line_no == w.line_no) else {
            continue;
        };
        if fo.state == FulfillmentState::Cancelled || fl.quantity == 0 {
            continue;
        }
        // Units a warehouse has started on stay; another fulfillment order may have some.
        if !open_to_edit(fo, window) && !order.given_up(&fo.id) {
            continue;
        }
        let q = left.min(fl.quantity);
        out.released.push(UnitsMoved {
            fulfillment_id: Some(fo.id.clone()),
            line_no: w.line_no,
            sku: w.sku.clone(),
            location_id: fo.location_id.clone(),
            quantity: q,
        });
        left -= q;
    }
    if left > 0 {
        // Only units at fulfillment orders past the window are left.
        let fo = order.fulfillment_orders.iter().find(|f| {
            !open_to_edit(f, window)
                && !order.given_up(&f.id)
                && f.state != FulfillmentState::Cancelled
                && f.lines
                    .iter()
                    .any(|l| l.line_no == w.line_no && l.quantity > 0)
        });
        return Err(match fo {
            Some(fo) => window_closed(fo, "its units can no longer change"),
            None => OrderError::EditNotAllowed(format!(
                "line {}: {left} units have left the warehouse",
                w.line_no
            )),
        });
    }
    Ok(())
}

pub(super) fn totals_of(order: &Order) -> EditTotals {
    EditTotals {
        subtotal: order.subtotal(),
        shipping: order.shipping_amount,
        tax: order.tax_amount,
        discount: order.discount_amount,
        total: order.total(),
    }
}

/// The totals after the edit, at the lines' prices: tax follows the subtotal at the
/// order's own rate, and the discount stays (never above the subtotal).
fn totals_after(
    order: &Order,
    lines: &[LineEdit],
    shipping: i64,
) -> Result<EditTotals, OrderError> {
    let subtotal: i128 = lines
        .iter()
        .map(|l| i128::from(l.unit_price) * i128::from(l.after))
        .sum();
    let before = i128::from(order.subtotal());
    let tax = if before > 0 {
        (i128::from(order.tax_amount) * subtotal * 2 + before) / (before * 2)
    } else {
        i128::from(order.tax_amount)
    };
    let discount = i128::from(order.discount_amount).min(subtotal);
    let total = subtotal + i128::from(shipping) + tax - discount;
    let fits = |v: i128| {
        i64::try_from(v)
            .ok()
            .filter(|v| (0..=MAX_AMOUNT_MINOR).contains(v))
    };
    match (fits(subtotal), fits(tax), fits(discount), fits(total)) {
        (Some(subtotal), Some(tax), Some(discount), Some(total)) => Ok(EditTotals {
            subtotal,
            shipping,
            tax,
            discount,
            total,
        }),
        _ => Err(OrderError::Invalid(vec![FieldIssue::new(
            "changes",
            "amount_out_of_range",
            "the edited order's total must be between 0 and 10^13 minor units",
        )])),
    }
}
