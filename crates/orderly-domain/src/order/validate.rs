//! Structural rules for a new order that need no storage: limits, amounts, totals.
//! The API also runs these so a client gets every problem at once, field by field.

use super::command::PlaceOrder;
use super::error::FieldIssue;

/// Configured ceilings that keep one order from monopolising the system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_lines_per_order: u32,
    pub max_quantity_per_line: u32,
}

/// Largest amount we accept in any money field (10^13 minor units); keeps sums far from
/// overflowing an i64 even for the largest order the limits allow.
pub const MAX_AMOUNT_MINOR: i64 = 10_000_000_000_000;

pub fn validate_place(cmd: &PlaceOrder, limits: &Limits) -> Vec<FieldIssue> {
    let mut issues = Vec::new();
    if cmd.lines.is_empty() {
        issues.push(FieldIssue::new(
            "lines",
            "required",
            "an order needs at least one line",
        ));
    }
    if cmd.lines.len() > limits.max_lines_per_order as usize {
        issues.push(FieldIssue::new(
            "lines",
            "too_many_lines",
            format!("at most {} lines per order", limits.max_lines_per_order),
        ));
    }
    for (i, line) in cmd.lines.iter().enumerate() {
        if line.quantity == 0 {
            issues.push(FieldIssue::new(
                format!("lines[{i}].quantity"),
                "must_be_positive",
                "quantity must be at least 1",
            ));
        } else if line.quantity > limits.max_quantity_per_line {
            issues.push(FieldIssue::new(
                format!("lines[{i}].quantity"),
                "quantity_above_maximum",
                format!("at most {} units per line", limits.max_quantity_per_line),
            ));
        }
        if !(0..=MAX_AMOUNT_MINOR).contains(&line.unit_price) {
            issues.push(FieldIssue::new(
                format!("lines[{i}].unit_price"),
                "amount_out_of_range",
                "unit_price must be between 0 and 10^13 minor units",
            ));
        }
    }
    for (field, value) in [
        ("shipping_amount", cmd.shipping_amount),
        ("tax_amount", cmd.tax_amount),
        ("discount_amount", cmd.discount_amount),
    ] {
        if !(0..=MAX_AMOUNT_MINOR).contains(&value) {
            issues.push(FieldIssue::new(
                field,
                "amount_out_of_range",
                format!("{field} must be between 0 and 10^13 minor units"),
            ));
        }
    }
    if !issues.is_empty() {
        return issues;
    }
    let total = cmd.total();
    if total > i128::from(MAX_AMOUNT_MINOR) {
        issues.push(FieldIssue::new(
            "lines",
            "amount_out_of_range",
            "the order total exceeds 10^13 minor units",
        ));
        return issues;
    }
    if total < 0 {
        issues.push(FieldIssue::new(
            "discount_amount",
            "discount_exceeds_total",
            "the discount is larger than the order",
        ));
    }
    if let Some(declared) = cmd.declared_total
        && i128::from(declared) != total
    {
        issues.push(FieldIssue::new(
            "total_amount",
            "totals_mismatch",
            format!("lines, shipping, tax and discount add up to {total}, not {declared}"),
        ));
    }
    issues
}
