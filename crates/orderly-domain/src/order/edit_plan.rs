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
    fn sourcing(&self) -> SourcingContext<'_> {
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
fn open_to_edit(fo: &FulfillmentOrder, window: EditWindow) -> bool {
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

struct WorkLine {
    line_no: u32,
    sku: crate::values::Sku,
    name: String,
    unit_price: i64,
    before: u32,
    after: u32,
}

/// The changes applied to the order's lines, address, delivery and shipping charge.
struct Applied {
    lines: Vec<WorkLine>,
    address: Option<Address>,
    delivery: Option<Delivery>,
    shipping: i64,
}

fn apply_changes(
    order: &Order,
    changes: &[EditChange],
    limits: &Limits,
) -> Result<Applied, OrderError> {
    let mut lines: Vec<WorkLine> = order
        .lines
        .iter()
        .map(|l| WorkLine {
            line_no: l.line_no,
            sku: l.sku.clone(),
            name: l.name.clone(),
            unit_price: l.unit_price,
            before: l.buckets.active(),
            after: l.buckets.active(),
        })
        .collect();
    let mut applied = Applied {
        lines: Vec::new(),
        address: None,
        delivery: order.delivery.clone(),
        shipping: order.shipping_amount,
    };
    let mut issues = Vec::new();
    let max = limits.max_quantity_per_line;
    for (i, change) in changes.iter().enumerate() {
        let field = |f: &str| format!("changes[{i}].{f}");
        let known = |n: u32| lines.iter().position(|l| l.line_no == n && l.before > 0);
        match change {
            EditChange::ShippingAddress { address } => applied.address = Some(address.clone()),
            EditChange::ShippingService {
                service,
                shipping_amount,
            } => {
                if Delivery::pickup(applied.delivery.as_ref()).is_some() {
                    issues.push(FieldIssue::new(
                        field("service"),
                        "pickup_order",
                        "a click-and-collect order is not shipped",
                    ));
                }
                let d = applied.delivery.get_or_insert(Delivery {
                    service: None,
                    deliver_by: None,
                    pickup_location: None,
                });
                d.service = Some(service.clone());
                if let Some(a) = shipping_amount {
                    applied.shipping = *a;
                }
            }
            EditChange::RemoveLine { line_no } => match known(*line_no) {
                Some(at) => lines[at].after = 0,
                None => issues.push(unknown_line(field("line_no"), *line_no)),
            },
            EditChange::SetQuantity { line_no, quantity } => match known(*line_no) {
                Some(_) if *quantity > max => issues.push(too_many(field("quantity"), max)),
                Some(at) => lines[at].after = *quantity,
                None => issues.push(unknown_line(field("line_no"), *line_no)),
            },
            EditChange::AddLine {
                sku,
                name,
                quantity,
                unit_price,
                ..
            } => {
                if *quantity == 0 {
                    issues.push(FieldIssue::new(
                        field("quantity"),
                        "must_be_positive",
                        "quantity must be at least 1",
                    ));
                    continue;
                }
                add_units(&mut lines, sku, name, *unit_price, *quantity);
            }
            EditChange::SwapVariant {
                line_no,
                sku,
                name,
                quantity,
                unit_price,
                ..
            } => {
                let Some(at) = known(*line_no) else {
                    issues.push(unknown_line(field("line_no"), *line_no));
                    continue;
                };
                let moved = quantity.unwrap_or(lines[at].after);
                if lines[at].sku == *sku {
                    issues.push(FieldIssue::new(
                        field("sku"),
                        "same_variant",
                        format!("line {line_no} is already {sku}"),
                    ));
                } else if moved == 0 || moved > lines[at].after {
                    issues.push(FieldIssue::new(
                        field("quantity"),
                        "quantity_beyond_line",
                        format!("line {line_no} has {} units to change", lines[at].after),
                    ));
                } else {
                    lines[at].after -= moved;
                    add_units(&mut lines, sku, name, *unit_price, moved);
                }
            }
        }
    }
    for l in &lines {
        if l.after > max {
            issues.push(too_many(format!("lines[{}]", l.line_no), max));
        }
    }
    if lines.iter().filter(|l| l.after > 0 || l.before > 0).count()
        > limits.max_lines_per_order as usize
    {
        issues.push(FieldIssue::new(
            "changes",
            "too_many_lines",
            format!("at most {} lines per order", limits.max_lines_per_order),
        ));
    }
    if !issues.is_empty() {
        return Err(OrderError::Invalid(issues));
    }
    if lines.iter().all(|l| l.after == 0) {
        return Err(OrderError::EditEmptiesOrder);
    }
    applied.lines = lines;
    Ok(applied)
}

/// Adds units of `sku` at `unit_price`: to a line with both, else as a new line.
fn add_units(
    lines: &mut Vec<WorkLine>,
    sku: &crate::values::Sku,
    name: &str,
    unit_price: i64,
    quantity: u32,
) {
    if let Some(l) = lines
        .iter_mut()
        .find(|l| &l.sku == sku && l.unit_price == unit_price)
    {
        l.after = l.after.saturating_add(quantity);
        return;
    }
    let line_no = lines.iter().map(|l| l.line_no).max().unwrap_or(0) + 1;
    lines.push(WorkLine {
        line_no,
        sku: sku.clone(),
        name: name.to_owned(),
        unit_price,
        before: 0,
        after: quantity,
    });
}

fn unknown_line(field: String, line_no: u32) -> FieldIssue {
    FieldIssue::new(
        field,
        "unknown_line",
        format!("the order has no line {line_no} with units"),
    )
}

fn too_many(field: String, max: u32) -> FieldIssue {
    FieldIssue::new(
        field,
        "quantity_above_maximum",
        format!("at most {max} units per line"),
    )
}

/// Computes what `changes` would do to `order`.
pub fn plan(
    order: &Order,
    changes: &[EditChange],
    facts: &EditFacts,
) -> Result<EditPlan, OrderError> {
    check_editable(order)?;
    let applied = apply_changes(order, changes, &facts.limits)?;
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
            resource(order, &mut out, &mut demands, to, facts)?;
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
        join_pending(order, &mut out);
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
    w: &WorkLine,
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
        if !open_to_edit(fo, window) && !order.given_up(&fo.id) {
            return Err(window_closed(fo, "its units can no longer change"));
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
                && f.lines.iter().any(|l| l.line_no == w.line_no)
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

/// A new address sources the order again when the best location for it changed: every
/// unit an edit may still move is planned anew (its own reservations counted as free),
/// and if the plan picks other locations than those holding the units now, they move.
fn resource(
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
fn join_pending(order: &Order, out: &mut EditPlan) {
    for r in &mut out.reserved {
        r.fulfillment_id = order
            .fulfillment_orders
            .iter()
            .rev()
            .find(|f| f.state == FulfillmentState::Pending && f.location_id == r.location_id)
            .map(|f| f.id.clone());
    }
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
