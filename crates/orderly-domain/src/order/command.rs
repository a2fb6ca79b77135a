//! What callers can ask of an order, and the outside facts a decision needs.

use super::state::{Address, Customer};
use crate::geo::LatLon;
use crate::sourcing::{LocationFacts, StockView};
use crate::values::{Currency, Id, Sku};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLine {
    pub sku: Sku,
    /// The catalog name at the time of the order, kept so the order reads the same later.
    pub name: String,
    pub quantity: u32,
    pub unit_price: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaceOrder {
    pub id: Id,
    pub number: String,
    pub channel: Id,
    pub external_id: Option<String>,
    pub currency: Currency,
    pub customer: Customer,
    pub shipping_address: Address,
    pub billing_address: Address,
    pub lines: Vec<NewLine>,
    pub shipping_amount: i64,
    pub tax_amount: i64,
    pub discount_amount: i64,
    /// The total the client computed, when it sent one; it must match ours.
    pub declared_total: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CancelReason {
    CustomerRequest,
    OutOfStock,
    Fraud,
    PaymentTimeout,
    Duplicate,
    Other,
}

impl CancelReason {
    pub fn as_str(self) -> &'static str {
        match self {
            CancelReason::CustomerRequest => "customer_request",
            CancelReason::OutOfStock => "out_of_stock",
            CancelReason::Fraud => "fraud",
            CancelReason::PaymentTimeout => "payment_timeout",
            CancelReason::Duplicate => "duplicate",
            CancelReason::Other => "other",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CancelOrder {
    pub reason: CancelReason,
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderCommand {
    Place(Box<PlaceOrder>),
    Cancel(CancelOrder),
}

/// Facts read inside the write transaction that placing an order depends on.
#[derive(Debug, Clone)]
pub struct PlaceContext<'a> {
    pub locations: &'a [LocationFacts],
    pub stock: &'a StockView,
    pub ship_to: Option<LatLon>,
    pub allow_backorders: bool,
    pub limits: super::Limits,
}
