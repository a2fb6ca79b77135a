//! What an order went through, as signals a root cause can be suggested from: a case
//! about an order whose parcel was late most likely has the carrier's delay as its
//! cause, one about a short-picked order the stock count. Which signal suggests which
//! cause is configuration (`cases.suggestions`), because the taxonomy is; the signals
//! are facts of the order, listed most specific first, so the first one with a
//! configured cause wins.

use crate::fulfillment::ExceptionFlag;
use crate::order::{HoldReason, Order};
use crate::payment::OpStatus;
use std::collections::BTreeMap;

/// Every signal `order` shows, most specific first: the reasons of its returns (newest
/// first, as `return_reason:<reason>`), its parcels' exceptions (`shipment_lost`,
/// `delivery_failed`, `returned_to_sender`, `shipment_delayed`), a short pick, units on
/// backorder, a failed payment operation, an address verification hold. No duplicates.
pub fn signals(order: &Order) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |s: String| {
        if !out.contains(&s) {
            out.push(s);
        }
    };
    for r in order.returns.iter().rev() {
        push(format!("return_reason:{}", r.reason));
    }
    let flags: Vec<ExceptionFlag> = order
        .fulfillment_orders
        .iter()
        .flat_map(|f| f.shipments.iter())
        .flat_map(|s| s.flags())
        .collect();
    for (flag, signal) in [
        (ExceptionFlag::Lost, "shipment_lost"),
        (ExceptionFlag::DeliveryFailed, "delivery_failed"),
        (ExceptionFlag::ReturnedToSender, "returned_to_sender"),
        (ExceptionFlag::Delayed, "shipment_delayed"),
    ] {
        if flags.contains(&flag) {
            push(signal.to_owned());
        }
    }
    if order
        .fulfillment_orders
        .iter()
        .flat_map(|f| f.lines.iter())
        .any(|l| l.short > 0)
    {
        push("short_pick".to_owned());
    }
    if order.lines.iter().any(|l| l.buckets.backordered > 0) {
        push("backordered".to_owned());
    }
    if order
        .payment_ops
        .iter()
        .any(|op| op.status == OpStatus::Failed)
    {
        push("payment_failed".to_owned());
    }
    if order
        .holds
        .iter()
        .any(|h| h.reason == HoldReason::AddressVerification)
    {
        push("address_hold".to_owned());
    }
    out
}

/// The root cause the first of `order`'s signals with a rule in `rules` suggests.
pub fn suggest(order: &Order, rules: &BTreeMap<String, String>) -> Option<String> {
    signals(order)
        .into_iter()
        .find_map(|s| rules.get(&s).cloned())
}
