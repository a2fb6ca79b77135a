//! The parts of timeline sentences that need the order as it stood before the event
//! (which SKU a line is, what a re-source was for, the order's currency), so that a
//! summary says what happened and why without storing more in the event.

use super::event::{OrderSourced, PickConfirmed};
use super::state::Order;
use crate::values::{Currency, Id};

/// `minor` units of `currency` as money: "USD 15.00", "JPY 1500", "-EUR 0.50".
pub fn money(minor: i64, currency: &Currency) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    match currency.minor_digits() {
        0 => format!("{sign}{currency} {abs}"),
        digits => {
            let scale = 10u64.pow(digits);
            let width = digits as usize;
            format!("{sign}{currency} {}.{:0width$}", abs / scale, abs % scale)
        }
    }
}

/// An amount in the order's currency, or in minor units when the order is unknown.
pub(super) fn amount(minor: i64, before: Option<&Order>) -> String {
    match before {
        Some(order) => money(minor, &order.currency),
        None => format!("{minor} minor units"),
    }
}

pub(super) fn units(n: u32) -> String {
    if n == 1 {
        "1 unit".to_owned()
    } else {
        format!("{n} units")
    }
}

/// "1 unit of A", "1 unit of A and 2 units of B", "1 unit of A, 1 unit of B and …".
fn unit_list(parts: &[(String, u32)]) -> String {
    let texts: Vec<String> = parts
        .iter()
        .map(|(what, n)| format!("{} of {what}", units(*n)))
        .collect();
    match texts.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

/// A line's SKU, or "line N" when the order is unknown.
fn line_name(before: Option<&Order>, line_no: u32) -> String {
    before
        .and_then(|o| o.lines.iter().find(|l| l.line_no == line_no))
        .map_or_else(|| format!("line {line_no}"), |l| l.sku.to_string())
}

/// "Picked 3 units for fulfillment order ful_1", or for a short pick "Picked 2 of 3
/// units for fulfillment order ful_1; 1 unit of A missing".
pub(super) fn pick(p: &PickConfirmed, before: Option<&Order>) -> String {
    let picked: u32 = p.lines.iter().map(|l| l.picked).sum();
    let short: u32 = p.lines.iter().map(|l| l.short).sum();
    if short == 0 {
        return format!(
            "Picked {} for fulfillment order {}",
            units(picked),
            p.fulfillment_id
        );
    }
    let missing: Vec<(String, u32)> = p
        .lines
        .iter()
        .filter(|l| l.short > 0)
        .map(|l| (line_name(before, l.line_no), l.short))
        .collect();
    format!(
        "Picked {picked} of {} for fulfillment order {}; {} missing",
        units(picked + short),
        p.fulfillment_id,
        unit_list(&missing)
    )
}

/// Why units of an order already sourced wait again: the last fulfillment order that
/// was refused, or whose picker came up short.
enum Cause<'o> {
    Rejected { location: &'o Id, reason: &'o str },
    ShortPick { location: &'o Id },
}

fn cause(before: &Order) -> Option<Cause<'_>> {
    before.fulfillment_orders.iter().rev().find_map(|f| {
        if let Some(reason) = &f.rejected {
            Some(Cause::Rejected {
                location: &f.location_id,
                reason,
            })
        } else if f.lines.iter().any(|l| l.short > 0) {
            Some(Cause::ShortPick {
                location: &f.location_id,
            })
        } else {
            None
        }
    })
}

/// The sentence of a sourcing that only places the units a short pick or a rejection
/// sent back (None for an order's first sourcing): what was sourced again and why, where
/// it went, which location was left out, and what waits as a backorder.
pub(super) fn resourced(s: &OrderSourced, before: Option<&Order>) -> Option<String> {
    let before = before.filter(|o| !o.fulfillment_orders.is_empty())?;
    let waiting: Vec<(String, u32)> = before
        .lines
        .iter()
        .filter(|l| l.buckets.unallocated > 0)
        .map(|l| (l.sku.to_string(), l.buckets.unallocated))
        .collect();
    let what = unit_list(&waiting);
    let cause = cause(before);
    let head = match &cause {
        Some(Cause::Rejected { location, reason }) => {
            format!("Re-sourced {what} after {location} rejected them ({reason})")
        }
        Some(Cause::ShortPick { location }) => {
            format!("Re-sourced {what} missing from a short pick at {location}")
        }
        None => format!("Re-sourced {what}"),
    };
    let mut places: Vec<&str> = s
        .reservations
        .iter()
        .map(|r| r.location_id.as_str())
        .collect();
    places.sort_unstable();
    places.dedup();
    let reserved: u32 = s.reservations.iter().map(|r| r.quantity).sum();
    let mut parts = vec![if reserved > 0 {
        format!("reserved {} at {}", units(reserved), places.join(", "))
    } else {
        "nothing reserved".to_owned()
    }];
    match &cause {
        Some(Cause::Rejected { location, .. }) => {
            parts.push(format!("{location} rejected it and was excluded"));
        }
        Some(Cause::ShortPick { location }) if places.contains(&location.as_str()) => {
            parts.push(format!(
                "{location} was asked again, as no other location had stock"
            ));
        }
        _ => {}
    }
    if !s.backorders.is_empty() {
        let back: Vec<(String, u32)> = s
            .backorders
            .iter()
            .map(|b| (b.sku.to_string(), b.quantity))
            .collect();
        let other = if cause.is_some() { "other " } else { "" };
        parts.push(format!(
            "backordered {} (no {other}location had stock)",
            unit_list(&back)
        ));
    }
    Some(format!("{head}: {}", parts.join("; ")))
}
