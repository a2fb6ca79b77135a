//! Facts about an order. Events are the audit log and the timeline, so each can say what
//! happened in one human sentence (`summary`).

use super::command::CancelReason;
use super::state::{Address, Customer, Reservation};
use crate::sourcing::{Rationale, Shortfall, Strategy};
use crate::values::{Currency, Id, Sku};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlacedLine {
    pub line_no: u32,
    pub sku: Sku,
    pub name: String,
    pub quantity: u32,
    pub unit_price: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderPlaced {
    pub id: Id,
    pub number: String,
    pub channel: Id,
    pub external_id: Option<String>,
    pub currency: Currency,
    pub customer: Customer,
    pub shipping_address: Address,
    pub billing_address: Address,
    pub lines: Vec<PlacedLine>,
    pub shipping_amount: i64,
    pub tax_amount: i64,
    pub discount_amount: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderSourced {
    pub reservations: Vec<Reservation>,
    pub backorders: Vec<Shortfall>,
    pub rationale: Rationale,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderCancelled {
    pub reason: CancelReason,
    pub note: Option<String>,
    /// Reservations given back to stock by this cancellation.
    pub released: Vec<Reservation>,
    /// Backordered units no longer awaited.
    pub backorders_cancelled: Vec<Shortfall>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
pub enum OrderEvent {
    OrderPlaced(Box<OrderPlaced>),
    OrderSourced(OrderSourced),
    OrderCancelled(OrderCancelled),
}

fn money(minor: i64, currency: &Currency) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    format!("{sign}{currency} {}.{:02}", abs / 100, abs % 100)
}

fn units(n: u32) -> String {
    if n == 1 {
        "1 unit".to_owned()
    } else {
        format!("{n} units")
    }
}

impl OrderEvent {
    /// The stable snake_case name stored beside the payload.
    pub fn kind(&self) -> &'static str {
        match self {
            OrderEvent::OrderPlaced(_) => "order_placed",
            OrderEvent::OrderSourced(_) => "order_sourced",
            OrderEvent::OrderCancelled(_) => "order_cancelled",
        }
    }

    /// One line a support agent can read on the timeline.
    pub fn summary(&self) -> String {
        match self {
            OrderEvent::OrderPlaced(p) => {
                let subtotal: i64 = p
                    .lines
                    .iter()
                    .map(|l| l.unit_price * i64::from(l.quantity))
                    .sum();
                let total = subtotal + p.shipping_amount + p.tax_amount - p.discount_amount;
                let count: u32 = p.lines.iter().map(|l| l.quantity).sum();
                format!(
                    "Order {} placed on {} by {}: {} in {} line{}, total {}",
                    p.number,
                    p.channel,
                    p.customer.email,
                    units(count),
                    p.lines.len(),
                    if p.lines.len() == 1 { "" } else { "s" },
                    money(total, &p.currency)
                )
            }
            OrderEvent::OrderSourced(s) => {
                let mut locations: Vec<&str> = s
                    .reservations
                    .iter()
                    .map(|r| r.location_id.as_str())
                    .collect();
                locations.sort_unstable();
                locations.dedup();
                let reserved: u32 = s.reservations.iter().map(|r| r.quantity).sum();
                let how = match s.rationale.strategy {
                    Strategy::SingleLocation => "one location serves the whole order",
                    Strategy::Split => "no single location had everything",
                    Strategy::NoStock => "no location had stock",
                };
                let mut text = if locations.is_empty() {
                    "Nothing reserved".to_owned()
                } else {
                    format!("Reserved {} at {}", units(reserved), locations.join(", "))
                };
                text.push_str(&format!(" ({how})"));
                let back: u32 = s.backorders.iter().map(|b| b.quantity).sum();
                if back > 0 {
                    let mut skus: Vec<&str> = s.backorders.iter().map(|b| b.sku.as_str()).collect();
                    skus.sort_unstable();
                    skus.dedup();
                    text.push_str(&format!(
                        "; backordered {} of {}",
                        units(back),
                        skus.join(", ")
                    ));
                }
                text
            }
            OrderEvent::OrderCancelled(c) => {
                let released: u32 = c.released.iter().map(|r| r.quantity).sum();
                let mut text = format!("Order cancelled ({})", c.reason.as_str());
                if released > 0 {
                    text.push_str(&format!("; released {} to stock", units(released)));
                }
                if let Some(note) = &c.note {
                    text.push_str(&format!(": {note}"));
                }
                text
            }
        }
    }
}
