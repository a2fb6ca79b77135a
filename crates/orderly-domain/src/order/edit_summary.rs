//! The timeline's sentences for edits: who changed what, what it did to stock, and how
//! the money difference was settled ("support key 'ana' changed TEE-BLK-M to TEE-BLK-L;
//! total USD 45.00 → USD 43.00; refunded USD 2.00").

use super::edit::{OrderEdited, Settlement};
use super::event::OrderEvent;
use super::state::Order;
use super::summary::{amount, units};
use crate::values::Sku;

/// The sentence of an edit event; `before` is the order as it stood before it.
pub(super) fn summary(event: &OrderEvent, before: Option<&Order>) -> String {
    let sku_of = |n: u32| -> Option<Sku> {
        before
            .and_then(|o| o.lines.iter().find(|l| l.line_no == n))
            .map(|l| l.sku.clone())
    };
    match event {
        OrderEvent::EditBegun(b) => match &b.note {
            Some(note) => format!("{} began edit {} ({note})", b.author, b.edit_id),
            None => format!("{} began edit {}", b.author, b.edit_id),
        },
        OrderEvent::EditStaged(s) => {
            let what: Vec<String> = s.changes.iter().map(|c| c.describe(sku_of)).collect();
            format!("Edit {} staged: {}", s.edit_id, what.join("; "))
        }
        OrderEvent::EditAbandoned(a) => format!("Edit {} abandoned: {}", a.edit_id, a.reason),
        OrderEvent::OrderEdited(e) => edited(e, before, sku_of),
        _ => String::new(),
    }
}

fn edited(
    e: &OrderEdited,
    before: Option<&Order>,
    sku_of: impl Fn(u32) -> Option<Sku> + Copy,
) -> String {
    let mut parts = Vec::new();
    match e.cancellation {
        Some(reason) => {
            let gone: Vec<String> = e
                .lines
                .iter()
                .filter(|l| l.after < l.before)
                .map(|l| format!("{} of {}", units(l.before - l.after), l.sku))
                .collect();
            parts.push(format!(
                "{} cancelled {} ({})",
                e.author,
                gone.join(", "),
                reason.as_str()
            ));
        }
        None => {
            let what: Vec<String> = e.changes.iter().map(|c| c.describe(sku_of)).collect();
            parts.push(format!(
                "{} changed the order: {}",
                e.author,
                what.join("; ")
            ));
        }
    }
    if e.before.total != e.after.total {
        parts.push(format!(
            "total {} → {}",
            amount(e.before.total, before),
            amount(e.after.total, before)
        ));
    }
    parts.extend(money(&e.settlement, e, before));
    if let Some(r) = &e.resourced {
        parts.push(format!("re-sourced: {}", r.reason));
    }
    let released: u32 = e.released.iter().map(|u| u.quantity).sum();
    if released > 0 && e.resourced.is_none() {
        parts.push(format!("released {} to stock", units(released)));
    }
    let reserved: u32 = e.reserved.iter().map(|u| u.quantity).sum();
    if reserved > 0 {
        let mut at: Vec<&str> = e.reserved.iter().map(|u| u.location_id.as_str()).collect();
        at.sort_unstable();
        at.dedup();
        parts.push(format!("reserved {} at {}", units(reserved), at.join(", ")));
    }
    let backordered: u32 = e.backordered.iter().map(|b| b.quantity).sum();
    if backordered > 0 {
        parts.push(format!("backordered {}", units(backordered)));
    }
    if let Some(note) = &e.note {
        parts.push(format!("note: {note}"));
    }
    parts.join("; ")
}

fn money(s: &Settlement, e: &OrderEdited, before: Option<&Order>) -> Vec<String> {
    let mut out = Vec::new();
    if s.released > 0 {
        out.push(format!(
            "released {} of the authorization",
            amount(s.released, before)
        ));
    }
    if s.refunded > 0 {
        out.push(format!("refunded {}", amount(s.refunded, before)));
    }
    if s.authorization > 0 {
        let payment = e
            .payment_id
            .as_ref()
            .map(|p| p.as_str())
            .unwrap_or("a new payment");
        out.push(format!(
            "asked {payment} to authorize {}",
            amount(s.authorization, before)
        ));
    }
    if s.balance_due > 0 {
        out.push(format!(
            "{} due from the customer",
            amount(s.balance_due, before)
        ));
    }
    out
}
