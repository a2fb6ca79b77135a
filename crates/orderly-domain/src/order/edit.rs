//! Order edits as change sets. Support begins an edit, stages changes (address, lines,
//! quantities, variants, shipping service), previews what they would do, and commits or
//! abandons it; one edit is open per order at a time. The commit is one event,
//! `OrderEdited`, that says before and after, which reservations moved and why, and how
//! the money difference is settled, so stock and money follow the order in the same
//! transaction and nobody reconciles by hand. A cancellation of some units (per line) is
//! the same event with its reason.

use super::command::CancelReason;
use super::state::{Address, Delivery};
use crate::Timestamp;
use crate::sourcing::{Rationale, Shortfall};
use crate::values::{Id, Sku};
use serde::{Deserialize, Serialize};

snake_enum!(
    /// How long an order may be edited: until the warehouse starts picking an affected
    /// fulfillment order (the default), or only until it is released to the warehouse.
    EditWindow {
        UntilPicking => "until_picking",
        UntilRelease => "until_release",
    }
);

/// One change of an edit. Names and prices are resolved when the change is staged (the
/// catalog's name, the order's own price for a SKU it has), so the edit reads the same
/// later whatever the catalog does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EditChange {
    ShippingAddress {
        address: Address,
    },
    AddLine {
        sku: Sku,
        name: String,
        quantity: u32,
        unit_price: i64,
        /// The editor set the price instead of the order's or the catalog's.
        #[serde(default)]
        price_override: bool,
    },
    RemoveLine {
        line_no: u32,
    },
    SetQuantity {
        line_no: u32,
        quantity: u32,
    },
    /// Moves `quantity` units (all of the line when absent) to another variant, e.g. a size.
    SwapVariant {
        line_no: u32,
        sku: Sku,
        name: String,
        #[serde(default)]
        quantity: Option<u32>,
        unit_price: i64,
        #[serde(default)]
        price_override: bool,
    },
    ShippingService {
        /// `carrier/service`, e.g. `local/express`.
        service: String,
        /// The new shipping charge; the order's stays when absent.
        #[serde(default)]
        shipping_amount: Option<i64>,
    },
}

/// The edit being prepared on an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenEdit {
    pub id: Id,
    /// Who began it, as the actor reads to a person.
    pub author: String,
    pub note: Option<String>,
    pub changes: Vec<EditChange>,
    pub began_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EditBegun {
    pub edit_id: Id,
    pub author: String,
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EditStaged {
    pub edit_id: Id,
    pub changes: Vec<EditChange>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EditAbandoned {
    pub edit_id: Id,
    pub reason: String,
}

/// A line's quantity (and for a new line, everything) before and after an edit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineEdit {
    pub line_no: u32,
    pub sku: Sku,
    pub name: String,
    pub unit_price: i64,
    pub before: u32,
    pub after: u32,
}

/// Units of a line whose reservation at a location moved: given back, or taken (into
/// `fulfillment_id` when a pending fulfillment order there takes them, else a new one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitsMoved {
    pub fulfillment_id: Option<Id>,
    pub line_no: u32,
    pub sku: Sku,
    pub location_id: Id,
    pub quantity: u32,
}

/// The order's money fields.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EditTotals {
    pub subtotal: i64,
    pub shipping: i64,
    pub tax: i64,
    pub discount: i64,
    pub total: i64,
}

/// How the money difference is settled: a decrease lowers open authorizations first
/// (`reduced`, or a void of all that is left) and refunds captured money for the rest; an
/// increase asks a new payment for an authorization, or stays owed (`balance_due`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settlement {
    /// New total less what the order held towards its total before the edit.
    pub difference: i64,
    /// Authorized money released (reductions and voids).
    pub released: i64,
    /// Captured money given back (refund `refund_id`).
    pub refunded: i64,
    /// Asked of the commit's new payment.
    pub authorization: i64,
    /// Owed and not asked of anyone: it blocks release where the channel says so.
    pub balance_due: i64,
}

/// The order sourced again because its address changed the best location.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resourced {
    pub reason: String,
    pub rationale: Rationale,
}

/// A committed edit (or a cancellation of some units).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderEdited {
    pub edit_id: Id,
    pub author: String,
    /// Set when the edit cancels units: why.
    pub cancellation: Option<CancelReason>,
    pub changes: Vec<EditChange>,
    pub note: Option<String>,
    /// Told to the customer with the change.
    pub note_to_customer: Option<String>,
    /// Every line whose quantity changed, and every new line.
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
    pub settlement: Settlement,
    /// The refund that gives captured money back, when there is one.
    pub refund_id: Option<Id>,
    /// The payment asked for the increase, when there is one.
    pub payment_id: Option<Id>,
    /// Fulfillment orders the edit changes: units given back or added, or (for a new
    /// address or service) where their parcel goes.
    #[serde(default)]
    pub affected: Vec<Id>,
}

/// A committed edit as the order keeps it (`GET /orders/{id}/changes`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EditRecord {
    pub edit: OrderEdited,
    pub committed_at: Timestamp,
}

impl EditChange {
    /// The change in words, naming lines by SKU (`lines` is the order before the edit).
    pub fn describe(&self, sku_of: impl Fn(u32) -> Option<Sku>) -> String {
        let sku = |n: u32| sku_of(n).map_or(format!("line {n}"), |s| s.to_string());
        match self {
            EditChange::ShippingAddress { address } => format!(
                "shipping address to {}, {}{} {}",
                address.line1,
                address.city,
                address
                    .region
                    .as_deref()
                    .map(|r| format!(" {r}"))
                    .unwrap_or_default(),
                address.country
            ),
            EditChange::AddLine { sku, quantity, .. } => {
                format!("added {} of {sku}", super::summary::units(*quantity))
            }
            EditChange::RemoveLine { line_no } => format!("removed {}", sku(*line_no)),
            EditChange::SetQuantity { line_no, quantity } => {
                format!("{} quantity to {quantity}", sku(*line_no))
            }
            EditChange::SwapVariant {
                line_no,
                sku: to,
                quantity,
                ..
            } => match quantity {
                Some(q) => format!(
                    "changed {} of {} to {to}",
                    super::summary::units(*q),
                    sku(*line_no)
                ),
                None => format!("changed {} to {to}", sku(*line_no)),
            },
            EditChange::ShippingService { service, .. } => {
                format!("shipping service to {service}")
            }
        }
    }
}
