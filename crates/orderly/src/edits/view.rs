//! How an edit reads on the wire: an open edit with its preview (what committing now
//! would do), or a committed one with what it did. Both come from the same domain
//! event, so the preview and the commit can never disagree on how they are shown.

use orderly_domain::order::{EditTotals, Order, OrderEdited, OrderEvent, UnitsMoved, money};
use orderly_domain::sourcing::Shortfall;
use orderly_domain::time::rfc3339;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct EditLineView {
    pub line_no: u32,
    pub sku: String,
    pub name: String,
    pub unit_price: i64,
    pub quantity_before: u32,
    pub quantity_after: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EditTotalsView {
    pub subtotal_amount: i64,
    pub shipping_amount: i64,
    pub tax_amount: i64,
    pub discount_amount: i64,
    pub total_amount: i64,
}

/// How the money difference is (or will be) settled, in minor units of `currency`.
#[derive(Debug, Serialize, ToSchema)]
pub struct EditMoneyView {
    /// The new total less what the order held towards its total.
    pub difference: i64,
    /// Authorized money released (an authorization lowered or voided).
    pub released_amount: i64,
    /// Captured money refunded.
    pub refunded_amount: i64,
    /// Asked of the new payment.
    pub authorized_amount: i64,
    /// Owed by the customer and not asked of a payment (without one at commit).
    pub balance_due: i64,
    /// The settlement in words, e.g. `refund USD 2.00 to the original payment`.
    pub settlement: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EditUnitsView {
    pub line_no: u32,
    pub sku: String,
    pub location_id: String,
    pub quantity: u32,
    /// The fulfillment order the units leave or join (absent: a new one opens).
    pub fulfillment_order_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EditBackorderView {
    pub line_no: u32,
    pub sku: String,
    pub quantity: u32,
}

/// Reservations the edit gives back and takes, and backorders it ends or adds.
#[derive(Debug, Serialize, ToSchema)]
pub struct EditStockView {
    pub released: Vec<EditUnitsView>,
    pub reserved: Vec<EditUnitsView>,
    pub backorders_cancelled: Vec<EditBackorderView>,
    pub backordered: Vec<EditBackorderView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EditView {
    pub id: String,
    pub order_id: String,
    pub order_number: String,
    /// The order's version (its ETag); send it as `If-Match` to commit what you saw.
    pub order_version: u64,
    /// `open` (a preview of committing now) or `committed`.
    #[schema(example = "open")]
    pub state: String,
    pub author: String,
    pub note: Option<String>,
    pub note_to_customer: Option<String>,
    /// For a cancellation of some units: why.
    pub cancellation_reason: Option<String>,
    /// The changes, as staged (names and prices resolved).
    #[schema(value_type = Vec<Object>)]
    pub changes: Vec<serde_json::Value>,
    pub currency: String,
    /// Every line of the order after the edit, with its quantity before.
    pub lines: Vec<EditLineView>,
    pub totals_before: EditTotalsView,
    pub totals_after: EditTotalsView,
    pub money: EditMoneyView,
    pub stock: EditStockView,
    /// Why the order moves to another location, when the new address does that.
    pub resourced: Option<String>,
    pub affected_fulfillment_orders: Vec<String>,
    /// The edit in one sentence, as the timeline says it.
    pub summary: String,
    /// When it was committed (RFC 3339), for a committed edit.
    pub committed_at: Option<String>,
}

fn totals(t: &EditTotals) -> EditTotalsView {
    EditTotalsView {
        subtotal_amount: t.subtotal,
        shipping_amount: t.shipping,
        tax_amount: t.tax,
        discount_amount: t.discount,
        total_amount: t.total,
    }
}

fn units(us: &[UnitsMoved]) -> Vec<EditUnitsView> {
    us.iter()
        .map(|u| EditUnitsView {
            line_no: u.line_no,
            sku: u.sku.to_string(),
            location_id: u.location_id.to_string(),
            quantity: u.quantity,
            fulfillment_order_id: u.fulfillment_id.as_ref().map(|f| f.to_string()),
        })
        .collect()
}

fn backorders(bs: &[Shortfall]) -> Vec<EditBackorderView> {
    bs.iter()
        .map(|b| EditBackorderView {
            line_no: b.line_no,
            sku: b.sku.to_string(),
            quantity: b.quantity,
        })
        .collect()
}

/// The settlement in words, for the order's currency.
fn settlement(e: &OrderEdited, order: &Order, open: bool) -> String {
    let s = &e.settlement;
    let m = |v: i64| money(v, &order.currency);
    let mut parts = Vec::new();
    if s.released > 0 {
        parts.push(format!(
            "release {} of the open authorization",
            m(s.released)
        ));
    }
    if s.refunded > 0 {
        parts.push(format!("refund {} to the original payment", m(s.refunded)));
    }
    if s.authorization > 0 {
        parts.push(format!(
            "authorize {} on the new payment",
            m(s.authorization)
        ));
    }
    if s.balance_due > 0 {
        parts.push(if open {
            format!(
                "{} to collect: pay it with the commit, or it stays owed (balance due)",
                m(s.balance_due)
            )
        } else {
            format!("{} owed by the customer (balance due)", m(s.balance_due))
        });
    }
    if parts.is_empty() {
        "no money moves".to_owned()
    } else {
        parts.join("; ")
    }
}

/// The view of edit `e` of `order` (`order` as it stands before a preview's commit, or
/// after a committed edit); `committed_at` is set for a committed edit.
pub fn edit_view(
    order: &Order,
    e: &OrderEdited,
    committed_at: Option<jiff::Timestamp>,
) -> EditView {
    let open = committed_at.is_none();
    let mut lines: Vec<EditLineView> = order
        .lines
        .iter()
        .filter(|l| !e.lines.iter().any(|c| c.line_no == l.line_no))
        .map(|l| EditLineView {
            line_no: l.line_no,
            sku: l.sku.to_string(),
            name: l.name.clone(),
            unit_price: l.unit_price,
            quantity_before: l.buckets.active(),
            quantity_after: l.buckets.active(),
        })
        .filter(|l| l.quantity_after > 0 || open)
        .collect();
    lines.extend(e.lines.iter().map(|c| EditLineView {
        line_no: c.line_no,
        sku: c.sku.to_string(),
        name: c.name.clone(),
        unit_price: c.unit_price,
        quantity_before: c.before,
        quantity_after: c.after,
    }));
    lines.sort_by_key(|l| l.line_no);
    // The sentence reads against the order before the edit; a committed edit's order
    // is after it, whose lines name the same SKUs.
    let summary = OrderEvent::OrderEdited(Box::new(e.clone())).summary(Some(order));
    EditView {
        id: e.edit_id.to_string(),
        order_id: order.id.to_string(),
        order_number: order.number.clone(),
        order_version: order.version,
        state: if open { "open" } else { "committed" }.to_owned(),
        author: e.author.clone(),
        note: e.note.clone(),
        note_to_customer: e.note_to_customer.clone(),
        cancellation_reason: e.cancellation.map(|r| r.as_str().to_owned()),
        changes: e
            .changes
            .iter()
            .filter_map(|c| serde_json::to_value(c).ok())
            .collect(),
        currency: order.currency.to_string(),
        lines,
        totals_before: totals(&e.before),
        totals_after: totals(&e.after),
        money: EditMoneyView {
            difference: e.settlement.difference,
            released_amount: e.settlement.released,
            refunded_amount: e.settlement.refunded,
            authorized_amount: e.settlement.authorization,
            balance_due: e.settlement.balance_due,
            settlement: settlement(e, order, open),
        },
        stock: EditStockView {
            released: units(&e.released),
            reserved: units(&e.reserved),
            backorders_cancelled: backorders(&e.backorders_cancelled),
            backordered: backorders(&e.backordered),
        },
        resourced: e.resourced.as_ref().map(|r| r.reason.clone()),
        affected_fulfillment_orders: e.affected.iter().map(|f| f.to_string()).collect(),
        summary,
        committed_at: committed_at.map(rfc3339),
    }
}

/// Every committed edit of an order, oldest first (`GET /orders/{id}/changes`).
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderChanges {
    pub data: Vec<EditView>,
}

pub fn changes_view(order: &Order) -> OrderChanges {
    OrderChanges {
        data: order
            .edits
            .iter()
            .map(|r| edit_view(order, &r.edit, Some(r.committed_at)))
            .collect(),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OpenEditOut {
    pub id: String,
    pub author: String,
    pub began_at: String,
    /// Changes staged so far.
    pub changes: usize,
}

pub fn open_edit_out(e: &orderly_domain::order::OpenEdit) -> OpenEditOut {
    OpenEditOut {
        id: e.id.to_string(),
        author: e.author.clone(),
        began_at: rfc3339(e.began_at),
        changes: e.changes.len(),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CancelLineOut {
    pub line_no: u32,
    pub quantity: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CancelRejectionOut {
    pub fulfillment_order_id: String,
    pub reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CancelRequestOut {
    pub id: String,
    /// `pending` while a warehouse has not answered, `rejected` once one refused.
    #[schema(example = "pending")]
    pub state: String,
    pub author: String,
    pub reason: String,
    pub note: Option<String>,
    /// The units asked; the whole order when absent.
    pub lines: Option<Vec<CancelLineOut>>,
    /// Fulfillment orders whose warehouse has not answered.
    pub waiting_for: Vec<String>,
    pub accepted_by: Vec<String>,
    pub rejected: Option<CancelRejectionOut>,
    pub requested_at: String,
}

pub fn cancel_request_out(r: &orderly_domain::order::CancelRequest) -> CancelRequestOut {
    CancelRequestOut {
        id: r.id.to_string(),
        state: if r.rejected.is_some() {
            "rejected"
        } else {
            "pending"
        }
        .to_owned(),
        author: r.author.clone(),
        reason: r.reason.as_str().to_owned(),
        note: r.note.clone(),
        lines: r.lines.as_ref().map(|ls| {
            ls.iter()
                .map(|c| CancelLineOut {
                    line_no: c.line_no,
                    quantity: c.quantity,
                })
                .collect()
        }),
        waiting_for: r.waiting.iter().map(|i| i.to_string()).collect(),
        accepted_by: r.accepted.iter().map(|i| i.to_string()).collect(),
        rejected: r.rejected.as_ref().map(|x| CancelRejectionOut {
            fulfillment_order_id: x.fulfillment_id.to_string(),
            reason: x.reason.clone(),
        }),
        requested_at: rfc3339(r.requested_at),
    }
}
