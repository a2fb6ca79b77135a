//! Applying a change set to an order's lines: which lines it names (and whether they
//! exist), new lines for added SKUs and swapped variants, the quantity limits, and the
//! address, service and shipping charge it leaves. What that means for stock and money
//! is `edit_plan`'s.

use super::edit::EditChange;
use super::error::{FieldIssue, OrderError};
use super::state::{Address, Delivery, Order};
use super::validate::Limits;

pub(super) struct WorkLine {
    pub(super) line_no: u32,
    pub(super) sku: crate::values::Sku,
    pub(super) name: String,
    pub(super) unit_price: i64,
    pub(super) before: u32,
    pub(super) after: u32,
}

/// The changes applied to the order's lines, address, delivery and shipping charge.
pub(super) struct Applied {
    pub(super) lines: Vec<WorkLine>,
    pub(super) address: Option<Address>,
    pub(super) delivery: Option<Delivery>,
    pub(super) shipping: i64,
}

pub(super) fn apply_changes(
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
