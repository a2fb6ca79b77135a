//! The order as the API shows it: every state, each line's buckets and why its units
//! wait, payments with their operations, refunds with their allocation to lines, the
//! fulfillment orders and the sourcing decision. Built from the snapshot alone, never
//! stored, so what a client reads is always what the state machines say.

use crate::http::schema::{one_of, required_line};
use orderly_domain::order::{
    Address, CustomerStatus, FulfillmentSummary, Order, OrderState, RefundState, ReturnSummary,
};
use orderly_domain::payment::PaymentState;
use orderly_domain::time::rfc3339;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::schema::ObjectBuilder;

/// The schema of a state field or filter: exactly the values its enum has.
macro_rules! state_schema {
    ($fn:ident, $ty:ty) => {
        pub(crate) fn $fn() -> ObjectBuilder {
            one_of(<$ty>::ALL.iter().map(|v| v.as_str()).collect())
        }
    };
}
state_schema!(status_schema, CustomerStatus);
state_schema!(order_state_schema, OrderState);
state_schema!(payment_state_schema, PaymentState);
state_schema!(fulfillment_state_schema, FulfillmentSummary);
state_schema!(return_state_schema, ReturnSummary);
state_schema!(refund_state_schema, RefundState);

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressDto {
    #[serde(default)]
    #[schema(required = true, schema_with = required_line::<200>)]
    pub name: String,
    #[serde(default)]
    #[schema(required = true, schema_with = required_line::<200>)]
    pub line1: String,
    #[schema(max_length = 200)]
    pub line2: Option<String>,
    #[serde(default)]
    #[schema(required = true, schema_with = required_line::<200>)]
    pub city: String,
    #[schema(max_length = 200)]
    pub region: Option<String>,
    #[serde(default)]
    #[schema(required = true, schema_with = required_line::<200>)]
    pub postal_code: String,
    /// ISO 3166-1 alpha-2, in capitals.
    #[serde(default)]
    #[schema(required = true, schema_with = country_schema)]
    pub country: String,
}

fn country_schema() -> ObjectBuilder {
    one_of(orderly_domain::values::CountryCode::all().collect())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerOut {
    pub email: String,
    pub name: Option<String>,
    pub phone: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BucketsOut {
    pub ordered: u32,
    pub cancelled: u32,
    /// Waiting to be sourced (channels that reserve stock only once paid).
    pub unallocated: u32,
    pub allocated: u32,
    pub backordered: u32,
    pub released: u32,
    pub shipped: u32,
    pub delivered: u32,
    pub return_requested: u32,
    pub returned: u32,
    pub restocked: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LineReservationOut {
    pub location_id: String,
    pub quantity: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LineOut {
    pub line_no: u32,
    pub sku: String,
    pub name: String,
    pub quantity: u32,
    pub unit_price: i64,
    pub line_total: i64,
    /// What the line was paid: `line_total` less its share of the order's discount, plus
    /// its share of tax. Refunds of the line can never give back more than this.
    pub paid_amount: i64,
    /// Units and money of the line that refunds gave (or are giving) back.
    pub refunded_quantity: u32,
    pub refunded_amount: i64,
    pub buckets: BucketsOut,
    /// Where the line's allocated units are held.
    pub reservations: Vec<LineReservationOut>,
    /// Where the line ships from: each fulfillment order that carries some of it.
    pub ships_from: Vec<LinePlacementOut>,
    /// Why units of the line are not on their way yet, and how many.
    pub waiting: Vec<LineWaitOut>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LinePlacementOut {
    pub location_id: String,
    pub fulfillment_order_id: String,
    /// The fulfillment order's state.
    pub state: String,
    pub quantity: u32,
    pub shipped: u32,
    /// Units the picker could not find at this location.
    pub short: u32,
    /// Tracking numbers of the shipments that carried the line's units.
    pub tracking_numbers: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LineWaitOut {
    /// `short_pick` (a warehouse could not find the units and no other has them yet),
    /// `backorder`, `awaiting_payment`, `sourcing`, `hold:<reason>` or `edit_window`.
    pub reason: String,
    pub quantity: u32,
}

/// Where each unit of a line is, and why the rest waits (`Order::explain_line`), as
/// the API shows it.
fn explain_line(o: &Order, line_no: u32) -> (Vec<LinePlacementOut>, Vec<LineWaitOut>) {
    let (ships_from, waiting) = o.explain_line(line_no);
    let ships_from = ships_from
        .into_iter()
        .map(|p| LinePlacementOut {
            location_id: p.location_id.to_string(),
            fulfillment_order_id: p.fulfillment_order_id.to_string(),
            state: p.state.as_str().to_owned(),
            quantity: p.quantity,
            shipped: p.shipped,
            short: p.short,
            tracking_numbers: p.tracking_numbers,
        })
        .collect();
    let waiting = waiting
        .into_iter()
        .map(|w| LineWaitOut {
            reason: w.reason,
            quantity: w.quantity,
        })
        .collect();
    (ships_from, waiting)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HoldOut {
    pub reason: String,
    pub note: Option<String>,
    pub placed_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentOpOut {
    /// Also the idempotency key the provider saw.
    pub id: String,
    /// authorize, capture, void or refund.
    pub kind: String,
    pub amount: i64,
    /// pending, succeeded or failed.
    pub status: String,
    pub refund_id: Option<String>,
    pub to_store_credit: bool,
    pub provider_reference: Option<String>,
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
    pub requested_at: String,
    pub resolved_at: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentOut {
    pub id: String,
    pub method: String,
    pub provider: String,
    /// The card's last four digits, when the storefront passed them. The provider's
    /// token is never shown.
    pub last4: Option<String>,
    pub amount: i64,
    pub authorized: i64,
    pub captured: i64,
    pub refunded: i64,
    /// What a new capture may still take.
    pub capturable: i64,
    /// What a new refund may still give back.
    pub refundable: i64,
    /// `void` or `expiry` when the authorization ended without being fully captured.
    pub closed_by: Option<String>,
    pub authorization_expires_at: Option<String>,
    pub created_at: String,
    pub operations: Vec<PaymentOpOut>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RefundOut {
    pub id: String,
    pub amount: i64,
    /// The part that went through so far.
    pub refunded: i64,
    /// pending, succeeded or refund_failed (retry with `/refunds/{id}/retry`).
    pub status: String,
    pub reason: String,
    pub method: String,
    pub note: Option<String>,
    pub requested_at: String,
    /// How the amount was shared out over the order's lines (empty for a refund tied to
    /// no line, such as shipping or goodwill).
    pub lines: Vec<RefundLineOut>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RefundLineOut {
    pub line_no: u32,
    pub quantity: u32,
    pub amount: i64,
}

fn payments_out(o: &Order) -> Vec<PaymentOut> {
    o.payments
        .iter()
        .map(|p| {
            let t = o.payment_totals(&p.id);
            PaymentOut {
                id: p.id.to_string(),
                method: p.method.as_str().to_owned(),
                provider: p.provider.clone(),
                last4: p.last4.clone(),
                amount: p.amount_minor,
                authorized: t.authorized,
                captured: t.captured,
                refunded: t.refunded,
                capturable: o.capturable(&p.id),
                refundable: o.refundable(&p.id),
                closed_by: t.closed.map(|k| enum_str(&k)),
                authorization_expires_at: p.authorization_expires_at.map(rfc3339),
                created_at: rfc3339(p.created_at),
                operations: o
                    .payment_ops
                    .iter()
                    .filter(|op| op.payment_id == p.id)
                    .map(|op| PaymentOpOut {
                        id: op.id.to_string(),
                        kind: op.kind.as_str().to_owned(),
                        amount: op.amount_minor,
                        status: op.status.as_str().to_owned(),
                        refund_id: op.refund_id.as_ref().map(|r| r.to_string()),
                        to_store_credit: op.to_store_credit,
                        provider_reference: op.provider_reference.clone(),
                        failure_code: op.failure_code.clone(),
                        failure_message: op.failure_message.clone(),
                        requested_at: rfc3339(op.requested_at),
                        resolved_at: op.resolved_at.map(rfc3339),
                    })
                    .collect(),
            }
        })
        .collect()
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CandidateOut {
    pub location_id: String,
    pub distance_km: Option<u32>,
    pub priority: u32,
    pub can_serve_all: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SourcingOut {
    /// `single_location`, `split` or `no_stock`.
    pub strategy: String,
    pub candidates: Vec<CandidateOut>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderView {
    pub id: String,
    pub number: String,
    pub channel: String,
    pub external_id: Option<String>,
    /// Customer-facing status derived from the state machines. It follows the goods
    /// (shipped, delivered, ready for pickup); refunds and holds are `refund_state` and
    /// `on_hold`.
    #[schema(schema_with = status_schema)]
    pub status: String,
    #[schema(schema_with = order_state_schema)]
    pub order_state: String,
    #[schema(schema_with = payment_state_schema)]
    pub payment_state: String,
    #[schema(schema_with = fulfillment_state_schema)]
    pub fulfillment_state: String,
    #[schema(schema_with = return_state_schema)]
    pub return_state: String,
    /// Where refunds stand: `refund_failed` while a refused refund waits for its retry.
    #[schema(schema_with = refund_state_schema)]
    pub refund_state: String,
    /// A hold is active; `release_blocked_by` says what keeps the order back.
    pub on_hold: bool,
    pub currency: String,
    pub customer: CustomerOut,
    pub shipping_address: AddressDto,
    pub billing_address: AddressDto,
    /// What the customer asked of delivery, when they asked anything.
    pub delivery: Option<DeliveryOut>,
    pub lines: Vec<LineOut>,
    /// Active holds; any of them keeps the order from the warehouse.
    pub holds: Vec<HoldOut>,
    /// Why the order cannot be released to fulfillment now (`hold:<reason>`,
    /// `awaiting_payment`, `awaiting_capture`, `cancelled`); empty when it can.
    pub release_blocked_by: Vec<String>,
    pub payments: Vec<PaymentOut>,
    pub refunds: Vec<RefundOut>,
    /// When the order is cancelled if still unpaid.
    pub payment_due_at: Option<String>,
    /// The parts of the order each location ships.
    pub fulfillment_orders: Vec<crate::fulfillment::view::FulfillmentOrderOut>,
    pub subtotal_amount: i64,
    pub shipping_amount: i64,
    pub tax_amount: i64,
    pub discount_amount: i64,
    pub total_amount: i64,
    /// What the customer owes beyond what the order holds (after an edit raised it).
    pub balance_due: i64,
    /// The edit being prepared, if one is (`GET /orders/{id}/edits/{edit_id}` previews it).
    pub open_edit: Option<crate::edits::view::OpenEditOut>,
    /// A cancellation waiting for warehouses to answer, or the last one they refused.
    pub cancellation_request: Option<crate::edits::view::CancelRequestOut>,
    /// How many edits and unit cancellations were committed (`GET /orders/{id}/changes`).
    pub changes_count: usize,
    pub sourcing: Option<SourcingOut>,
    pub cancel_reason: Option<String>,
    /// The order's tags (`POST /orders/{id}/tags`), sorted.
    pub tags: Vec<String>,
    /// How many internal notes the order has (`GET /orders/{id}/notes`; notes are not
    /// part of this view, which webhooks carry out of Orderly).
    pub notes_count: usize,
    pub created_at: String,
    pub updated_at: String,
    pub version: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryOut {
    /// `carrier/service` the customer chose.
    pub service: Option<String>,
    pub deliver_by: Option<String>,
    /// Click and collect at this location.
    pub pickup_location: Option<String>,
}

pub fn address_out(a: &Address) -> AddressDto {
    AddressDto {
        name: a.name.clone(),
        line1: a.line1.clone(),
        line2: a.line2.clone(),
        city: a.city.clone(),
        region: a.region.clone(),
        postal_code: a.postal_code.clone(),
        country: a.country.to_string(),
    }
}

fn enum_str<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

pub fn order_view(o: &Order) -> OrderView {
    OrderView {
        id: o.id.to_string(),
        number: o.number.clone(),
        channel: o.channel.to_string(),
        external_id: o.external_id.clone(),
        status: o.customer_status().as_str().to_owned(),
        order_state: o.state.as_str().to_owned(),
        payment_state: o.payment_state().as_str().to_owned(),
        fulfillment_state: o.fulfillment_summary().as_str().to_owned(),
        return_state: o.return_summary().as_str().to_owned(),
        refund_state: o.refund_state().as_str().to_owned(),
        on_hold: o.on_hold(),
        currency: o.currency.to_string(),
        customer: CustomerOut {
            email: o.customer.email.to_string(),
            name: o.customer.name.clone(),
            phone: o.customer.phone.clone(),
        },
        shipping_address: address_out(&o.shipping_address),
        billing_address: address_out(&o.billing_address),
        delivery: o.delivery.as_ref().map(|d| DeliveryOut {
            service: d.service.clone(),
            deliver_by: d.deliver_by.map(rfc3339),
            pickup_location: d.pickup_location.as_ref().map(|p| p.to_string()),
        }),
        lines: o
            .lines
            .iter()
            .zip(o.line_money())
            .map(|(l, money)| {
                let b = &l.buckets;
                let (ships_from, waiting) = explain_line(o, l.line_no);
                LineOut {
                    line_no: l.line_no,
                    sku: l.sku.to_string(),
                    name: l.name.clone(),
                    quantity: b.ordered,
                    unit_price: l.unit_price,
                    line_total: l.unit_price * i64::from(b.ordered),
                    paid_amount: money.paid_minor,
                    refunded_quantity: money.refunded_quantity,
                    refunded_amount: money.refunded_minor,
                    buckets: BucketsOut {
                        ordered: b.ordered,
                        cancelled: b.cancelled,
                        unallocated: b.unallocated,
                        allocated: b.allocated,
                        backordered: b.backordered,
                        released: b.released,
                        shipped: b.shipped,
                        delivered: b.delivered,
                        return_requested: b.return_requested,
                        returned: b.returned,
                        restocked: b.restocked,
                    },
                    reservations: o
                        .reservations
                        .iter()
                        .filter(|r| r.line_no == l.line_no)
                        .map(|r| LineReservationOut {
                            location_id: r.location_id.to_string(),
                            quantity: r.quantity,
                        })
                        .collect(),
                    ships_from,
                    waiting,
                }
            })
            .collect(),
        holds: o
            .holds
            .iter()
            .map(|h| HoldOut {
                reason: enum_str(&h.reason),
                note: h.note.clone(),
                placed_at: rfc3339(h.placed_at),
            })
            .collect(),
        release_blocked_by: o.release_blockers(),
        payments: payments_out(o),
        refunds: o
            .refunds
            .iter()
            .map(|r| RefundOut {
                id: r.id.to_string(),
                amount: r.amount_minor,
                refunded: o.refund_progress(&r.id).0,
                status: o.refund_status(r).as_str().to_owned(),
                reason: r.reason.as_str().to_owned(),
                method: r.method.as_str().to_owned(),
                note: r.note.clone(),
                requested_at: rfc3339(r.requested_at),
                lines: r
                    .lines
                    .iter()
                    .map(|l| RefundLineOut {
                        line_no: l.line_no,
                        quantity: l.quantity,
                        amount: l.amount_minor,
                    })
                    .collect(),
            })
            .collect(),
        payment_due_at: o.payment_due_at.map(rfc3339),
        fulfillment_orders: o
            .fulfillment_orders
            .iter()
            .map(crate::fulfillment::view::fulfillment_out)
            .collect(),
        subtotal_amount: o.subtotal(),
        shipping_amount: o.shipping_amount,
        tax_amount: o.tax_amount,
        discount_amount: o.discount_amount,
        total_amount: o.total(),
        balance_due: o.balance_due(),
        open_edit: o.open_edit.as_ref().map(crate::edits::view::open_edit_out),
        cancellation_request: o
            .cancel_request
            .as_ref()
            .map(crate::edits::view::cancel_request_out),
        changes_count: o.edits.len(),
        sourcing: o.sourcing.as_ref().map(|s| SourcingOut {
            strategy: enum_str(&s.strategy),
            candidates: s
                .candidates
                .iter()
                .map(|c| CandidateOut {
                    location_id: c.location_id.to_string(),
                    distance_km: c.distance_km,
                    priority: c.priority,
                    can_serve_all: c.can_serve_all,
                })
                .collect(),
        }),
        cancel_reason: o.cancel_reason.map(|r| r.as_str().to_owned()),
        tags: o.tags.iter().cloned().collect(),
        notes_count: o.notes.len(),
        created_at: rfc3339(o.created_at),
        updated_at: rfc3339(o.updated_at),
        version: o.version,
    }
}
