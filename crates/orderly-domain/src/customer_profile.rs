//! What a customer's orders say about them, derived on every read so it can never
//! drift from the orders: money spent and kept (lifetime value is captured minus
//! refunded, per currency, since sums across currencies mean nothing), the share of
//! shipped units that came back, cancellations and refunds, the addresses used, and the
//! flags their history raises (a return the policy judged serial, an order held for
//! fraud review), beside the flags people set.

use super::{CustomerFacts, CustomerFlag, FlagMark};
use crate::Timestamp;
use crate::order::{Address, HoldReason, Order, OrderState};
use crate::payment::RefundStatus;

/// Money of one currency.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SpendByCurrency {
    pub currency: String,
    /// Order totals of orders not cancelled.
    pub ordered_minor: i64,
    pub captured_minor: i64,
    pub refunded_minor: i64,
}

impl SpendByCurrency {
    /// What the customer paid and kept paid.
    pub fn lifetime_value_minor(&self) -> i64 {
        self.captured_minor - self.refunded_minor
    }
}

/// A customer's history, from their orders.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Profile {
    pub orders: u32,
    pub first_order_at: Option<Timestamp>,
    pub last_order_at: Option<Timestamp>,
    pub spend: Vec<SpendByCurrency>,
    pub cancelled_orders: u32,
    /// Refunds that went through.
    pub refunds: u32,
    pub returns: u32,
    pub shipped_units: u32,
    /// Units asked back or returned.
    pub returned_units: u32,
    /// Distinct addresses, most recently used first.
    pub addresses: Vec<Address>,
    /// Flags set by people, then those the history raises (`by` names the source).
    pub flags: Vec<FlagMark>,
}

impl Profile {
    /// Returned units per thousand shipped (None before anything shipped).
    pub fn return_rate_per_mille(&self) -> Option<u32> {
        (self.shipped_units > 0).then(|| {
            let rate = u64::from(self.returned_units) * 1000 / u64::from(self.shipped_units);
            u32::try_from(rate).unwrap_or(u32::MAX)
        })
    }
}

/// The most addresses a profile lists.
const MAX_ADDRESSES: usize = 20;

/// The profile of the customer whose orders are `orders` (newest first) and whose
/// decided facts are `facts`.
pub fn profile(orders: &[Order], facts: &CustomerFacts) -> Profile {
    let mut p = Profile {
        orders: u32::try_from(orders.len()).unwrap_or(u32::MAX),
        first_order_at: orders.iter().map(|o| o.created_at).min(),
        last_order_at: orders.iter().map(|o| o.created_at).max(),
        flags: facts.flags.clone(),
        ..Profile::default()
    };
    for order in orders {
        let spend = spend_of(&mut p.spend, order.currency.as_str());
        if order.state == OrderState::Cancelled {
            p.cancelled_orders += 1;
        } else {
            spend.ordered_minor += order.total();
        }
        for payment in &order.payments {
            let t = order.payment_totals(&payment.id);
            spend.captured_minor += t.captured;
            spend.refunded_minor += t.refunded;
        }
        let refunds = order
            .refunds
            .iter()
            .filter(|r| order.refund_status(r) == RefundStatus::Succeeded)
            .count();
        p.refunds += u32::try_from(refunds).unwrap_or(u32::MAX);
        p.returns += u32::try_from(order.returns.len()).unwrap_or(u32::MAX);
        for line in &order.lines {
            p.shipped_units += line.buckets.shipped;
            p.returned_units += line.buckets.return_requested + line.buckets.returned;
        }
        for address in [&order.shipping_address, &order.billing_address] {
            if p.addresses.len() < MAX_ADDRESSES && !p.addresses.contains(address) {
                p.addresses.push(address.clone());
            }
        }
    }
    derived_flags(&mut p.flags, orders);
    p
}

fn spend_of<'s>(spend: &'s mut Vec<SpendByCurrency>, currency: &str) -> &'s mut SpendByCurrency {
    let at = match spend.iter().position(|s| s.currency == currency) {
        Some(at) => at,
        None => {
            spend.push(SpendByCurrency {
                currency: currency.to_owned(),
                ..SpendByCurrency::default()
            });
            spend.len() - 1
        }
    };
    &mut spend[at]
}

/// Adds the flags the orders raise that no person set: the latest return the policy
/// judged serial, and an order on a fraud-review hold.
fn derived_flags(flags: &mut Vec<FlagMark>, orders: &[Order]) {
    let set = |flags: &[FlagMark], f: CustomerFlag| flags.iter().any(|m| m.flag == f);
    if !set(flags, CustomerFlag::SerialReturner) {
        let serial = orders
            .iter()
            .flat_map(|o| o.returns.iter().map(move |r| (o, r)))
            .filter_map(|(o, r)| r.judgement.serial_returner.as_ref().map(|why| (o, r, why)))
            .max_by_key(|(_, r, _)| r.requested_at);
        if let Some((order, ret, why)) = serial {
            flags.push(FlagMark {
                flag: CustomerFlag::SerialReturner,
                reason: format!("{why} (return {} of {})", ret.rma, order.number),
                by: format!("return policy {}", ret.judgement.version),
                at: ret.requested_at,
            });
        }
    }
    if !set(flags, CustomerFlag::FraudReview) {
        let held = orders.iter().find_map(|o| {
            o.holds
                .iter()
                .find(|h| h.reason == HoldReason::FraudReview)
                .map(|h| (o, h))
        });
        if let Some((order, hold)) = held {
            flags.push(FlagMark {
                flag: CustomerFlag::FraudReview,
                reason: format!(
                    "order {} is held for fraud review{}",
                    order.number,
                    hold.note
                        .as_deref()
                        .map(|n| format!(": {n}"))
                        .unwrap_or_default()
                ),
                by: "order hold".into(),
                at: hold.placed_at,
            });
        }
    }
}
