//! `/orders`: capture, lookup, search, timeline and whole-order cancellation.

use super::extract::{ApiJson, idempotency, outcome_reply};
use super::problem::{ApiError, Problem};
use crate::app::AppState;
use crate::app::auth::{Permission, Principal};
use crate::app::orders::{PaymentChoice, PlaceInput};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use orderly_domain::actor::Actor;
use orderly_domain::order::evolve;
use orderly_domain::order::{
    Address, CancelOrder, CancelReason, Customer, Delivery, FieldIssue, Order, OrderError,
};
use orderly_domain::payment::{MANUAL_PROVIDER, PaymentMethod, STORE_CREDIT_PROVIDER};
use orderly_domain::time::rfc3339;
use orderly_domain::values::{CountryCode, Currency, Email, Id, Sku};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerIn {
    #[serde(default)]
    pub email: String,
    pub name: Option<String>,
    pub phone: Option<String>,
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressDto {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub line1: String,
    pub line2: Option<String>,
    #[serde(default)]
    pub city: String,
    pub region: Option<String>,
    #[serde(default)]
    pub postal_code: String,
    #[serde(default)]
    pub country: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineIn {
    #[serde(default)]
    pub sku: String,
    pub quantity: i64,
    /// Price per unit in minor units of the order currency.
    pub unit_price: i64,
}

/// How the customer pays. `provider` defaults by method: `simulator` for card and gift
/// card, `manual` for cash on delivery and bank transfer, `store_credit` for store credit.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentIn {
    pub method: String,
    pub provider: Option<String>,
    /// The provider's token for the card. Used to authorize the payment and then
    /// deleted; it never appears in the order, its timeline or any view.
    pub token: Option<String>,
    /// The card's fingerprint from the provider's tokenization, when the storefront has
    /// it; the same card ordering too often within the risk window goes to review.
    pub fingerprint: Option<String>,
    /// The card's last four digits from the provider's tokenization, when it gave them;
    /// shown on the order so support can tell cards apart.
    #[schema(example = "4242")]
    pub last4: Option<String>,
}

/// Checks a payment offer: a known method, the provider that settles it, and a token
/// where the provider needs one.
pub(crate) fn parse_payment(
    p: &PaymentIn,
    app: &AppState,
    issues: &mut Vec<FieldIssue>,
) -> Option<PaymentChoice> {
    let Some(method) = PaymentMethod::parse(&p.method) else {
        let all: Vec<&str> = PaymentMethod::ALL.iter().map(|m| m.as_str()).collect();
        issues.push(FieldIssue::new(
            "payment.method",
            "unknown_payment_method",
            format!("method is one of {}", all.join(", ")),
        ));
        return None;
    };
    let default = match method {
        PaymentMethod::Card | PaymentMethod::GiftCard => "simulator",
        PaymentMethod::CashOnDelivery | PaymentMethod::BankTransfer => MANUAL_PROVIDER,
        PaymentMethod::StoreCredit => STORE_CREDIT_PROVIDER,
    };
    let provider = p.provider.clone().unwrap_or_else(|| default.to_owned());
    let known = match method {
        PaymentMethod::Card | PaymentMethod::GiftCard => app.provider(&provider).is_some(),
        _ => provider == default,
    };
    if !known {
        issues.push(FieldIssue::new(
            "payment.provider",
            "unknown_provider",
            format!("{} is not a provider for {}", provider, method.as_str()),
        ));
        return None;
    }
    let needs_token = matches!(method, PaymentMethod::Card | PaymentMethod::GiftCard);
    let token = p.token.clone().filter(|t| !t.trim().is_empty());
    if needs_token && token.is_none() {
        issues.push(FieldIssue::new(
            "payment.token",
            "required",
            "a card or gift card payment needs the provider's token",
        ));
        return None;
    }
    let fingerprint = p.fingerprint.clone().filter(|f| !f.trim().is_empty());
    if fingerprint.as_ref().is_some_and(|f| f.len() > 128) {
        issues.push(FieldIssue::new(
            "payment.fingerprint",
            "too_long",
            "at most 128 characters",
        ));
        return None;
    }
    let last4 = p.last4.clone();
    if last4
        .as_ref()
        .is_some_and(|d| d.len() != 4 || !d.bytes().all(|b| b.is_ascii_digit()))
    {
        issues.push(FieldIssue::new(
            "payment.last4",
            "invalid_last4",
            "the card's last four digits, e.g. 4242",
        ));
        return None;
    }
    if token.as_ref().is_some_and(|t| t.len() > 200) {
        issues.push(FieldIssue::new(
            "payment.token",
            "too_long",
            "at most 200 characters",
        ));
        return None;
    }
    Some(PaymentChoice {
        method,
        provider,
        token,
        fingerprint,
        last4,
    })
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrderRequest {
    pub channel: String,
    /// The order's id in the sales channel; a second create with the same pair returns
    /// the existing order.
    pub external_id: Option<String>,
    pub currency: String,
    pub customer: CustomerIn,
    pub shipping_address: AddressDto,
    /// Defaults to the shipping address.
    pub billing_address: Option<AddressDto>,
    pub lines: Vec<LineIn>,
    #[serde(default)]
    pub shipping_amount: i64,
    #[serde(default)]
    pub tax_amount: i64,
    #[serde(default)]
    pub discount_amount: i64,
    /// Optional: the total the client computed; refused when it differs from ours.
    pub total_amount: Option<i64>,
    pub payment: Option<PaymentIn>,
    pub delivery: Option<DeliveryIn>,
}

/// What the customer chose for delivery.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeliveryIn {
    /// `carrier/service`, e.g. `local/express`; the cheapest in time when omitted.
    pub service: Option<String>,
    /// The date promised to the customer (RFC 3339): the service chosen at shipping
    /// arrives by then.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub deliver_by: Option<jiff::Timestamp>,
    /// Click and collect: the id of a location that offers pickup. The order is then
    /// served from there only and collected at its counter.
    pub pickup_location: Option<String>,
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
    #[schema(schema_with = super::order_list::status_schema)]
    pub status: String,
    #[schema(schema_with = super::order_list::order_state_schema)]
    pub order_state: String,
    #[schema(schema_with = super::order_list::payment_state_schema)]
    pub payment_state: String,
    #[schema(schema_with = super::order_list::fulfillment_state_schema)]
    pub fulfillment_state: String,
    #[schema(schema_with = super::order_list::return_state_schema)]
    pub return_state: String,
    /// Where refunds stand: `refund_failed` while a refused refund waits for its retry.
    #[schema(schema_with = super::order_list::refund_state_schema)]
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
    pub fulfillment_orders: Vec<super::fulfillment::FulfillmentOrderOut>,
    pub subtotal_amount: i64,
    pub shipping_amount: i64,
    pub tax_amount: i64,
    pub discount_amount: i64,
    pub total_amount: i64,
    pub sourcing: Option<SourcingOut>,
    pub cancel_reason: Option<String>,
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

fn address_out(a: &Address) -> AddressDto {
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
                    quantity: l.quantity,
                    unit_price: l.unit_price,
                    line_total: l.unit_price * i64::from(l.quantity),
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
            .map(super::fulfillment::fulfillment_out)
            .collect(),
        subtotal_amount: o.subtotal(),
        shipping_amount: o.shipping_amount,
        tax_amount: o.tax_amount,
        discount_amount: o.discount_amount,
        total_amount: o.total(),
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
        created_at: rfc3339(o.created_at),
        updated_at: rfc3339(o.updated_at),
        version: o.version,
    }
}

fn parse_address(a: &AddressDto, path: &str, issues: &mut Vec<FieldIssue>) -> Option<Address> {
    for (field, value) in [
        ("name", &a.name),
        ("line1", &a.line1),
        ("city", &a.city),
        ("postal_code", &a.postal_code),
    ] {
        if value.trim().is_empty() {
            issues.push(FieldIssue::new(
                format!("{path}.{field}"),
                "required",
                format!("{field} is required"),
            ));
        } else if value.len() > 200 {
            issues.push(FieldIssue::new(
                format!("{path}.{field}"),
                "too_long",
                "at most 200 characters",
            ));
        }
    }
    let country = if a.country.trim().is_empty() {
        issues.push(FieldIssue::new(
            format!("{path}.country"),
            "required",
            "country is required",
        ));
        None
    } else {
        CountryCode::parse(&a.country)
            .map_err(|e| {
                issues.push(FieldIssue::new(
                    format!("{path}.country"),
                    e.code,
                    e.message,
                ))
            })
            .ok()
    };
    let non_empty = |s: &Option<String>| {
        s.as_ref()
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    Some(Address {
        name: a.name.trim().to_owned(),
        line1: a.line1.trim().to_owned(),
        line2: non_empty(&a.line2),
        city: a.city.trim().to_owned(),
        region: non_empty(&a.region),
        postal_code: a.postal_code.trim().to_owned(),
        country: country?,
    })
}

/// Turns the request into well-formed domain values, reporting every problem at once.
fn parse_create(req: CreateOrderRequest, app: &AppState) -> Result<PlaceInput, ApiError> {
    let mut issues = Vec::new();
    let channel = app.config.channel(&req.channel);
    if channel.is_none() {
        issues.push(FieldIssue::new(
            "channel",
            "unknown_channel",
            format!("no channel '{}'", req.channel),
        ));
    }
    let currency = match Currency::parse(&req.currency) {
        Ok(c) => {
            if let Some(ch) = channel
                && ch.currency != c.as_str()
            {
                issues.push(FieldIssue::new(
                    "currency",
                    "currency_mismatch",
                    format!("channel {} sells in {}", ch.id, ch.currency),
                ));
            }
            Some(c)
        }
        Err(e) => {
            issues.push(FieldIssue::new("currency", e.code, e.message));
            None
        }
    };
    if let Some(ext) = &req.external_id
        && (ext.is_empty() || ext.len() > 128)
    {
        issues.push(FieldIssue::new(
            "external_id",
            "invalid_length",
            "external_id is 1-128 characters",
        ));
    }
    let email = if req.customer.email.trim().is_empty() {
        issues.push(FieldIssue::new(
            "customer.email",
            "required",
            "an email address is required",
        ));
        None
    } else {
        Email::parse(&req.customer.email)
            .map_err(|e| issues.push(FieldIssue::new("customer.email", e.code, e.message)))
            .ok()
    };
    let shipping = parse_address(&req.shipping_address, "shipping_address", &mut issues);
    let billing = match &req.billing_address {
        Some(b) => parse_address(b, "billing_address", &mut issues),
        None => shipping.clone(),
    };
    let max_qty = app.config.limits.max_quantity_per_line;
    let mut lines = Vec::with_capacity(req.lines.len());
    for (i, l) in req.lines.iter().enumerate() {
        let sku = Sku::parse(&l.sku).map_err(|e| {
            issues.push(FieldIssue::new(
                format!("lines[{i}].sku"),
                e.code,
                e.message,
            ))
        });
        let qty = if l.quantity <= 0 {
            issues.push(FieldIssue::new(
                format!("lines[{i}].quantity"),
                "must_be_positive",
                "quantity must be at least 1",
            ));
            None
        } else if l.quantity > i64::from(max_qty) {
            issues.push(FieldIssue::new(
                format!("lines[{i}].quantity"),
                "quantity_above_maximum",
                format!("at most {max_qty} units per line"),
            ));
            None
        } else {
            u32::try_from(l.quantity).ok()
        };
        if l.unit_price < 0 {
            issues.push(FieldIssue::new(
                format!("lines[{i}].unit_price"),
                "must_not_be_negative",
                "unit_price cannot be negative",
            ));
        }
        if let (Ok(sku), Some(qty)) = (sku, qty) {
            lines.push((sku, qty, l.unit_price));
        }
    }
    for (field, value) in [
        ("shipping_amount", req.shipping_amount),
        ("tax_amount", req.tax_amount),
        ("discount_amount", req.discount_amount),
    ] {
        if value < 0 {
            issues.push(FieldIssue::new(
                field,
                "must_not_be_negative",
                format!("{field} cannot be negative"),
            ));
        }
    }
    let payment = req
        .payment
        .as_ref()
        .and_then(|p| parse_payment(p, app, &mut issues));
    let delivery = req.delivery.as_ref().map(|d| {
        if let Some(s) = &d.service
            && !app.config.has_service(s)
        {
            issues.push(FieldIssue::new(
                "delivery.service",
                "unknown_service",
                format!("{s} is not a configured carrier/service"),
            ));
        }
        if let Some(p) = &d.pickup_location
            && !app
                .config
                .locations
                .iter()
                .any(|l| &l.id == p && l.can_pickup)
        {
            issues.push(FieldIssue::new(
                "delivery.pickup_location",
                "pickup_not_offered",
                format!("{p} is not a location that offers pickup"),
            ));
        }
        Delivery {
            service: d.service.clone(),
            deliver_by: d.deliver_by.map(orderly_domain::time::to_millis),
            pickup_location: d.pickup_location.clone().map(Id::new),
        }
    });
    let limits = app.config.limits();
    if req.lines.is_empty() {
        issues.push(FieldIssue::new(
            "lines",
            "required",
            "an order needs at least one line",
        ));
    } else if req.lines.len() > limits.max_lines_per_order as usize {
        issues.push(FieldIssue::new(
            "lines",
            "too_many_lines",
            format!("at most {} lines", limits.max_lines_per_order),
        ));
    }
    match (issues.is_empty(), currency, email, shipping, billing) {
        (true, Some(currency), Some(email), Some(shipping_address), Some(billing_address)) => {
            Ok(PlaceInput {
                channel: req.channel,
                external_id: req.external_id,
                currency,
                customer: Customer {
                    email,
                    name: req.customer.name,
                    phone: req.customer.phone,
                },
                shipping_address,
                billing_address,
                lines,
                shipping_amount: req.shipping_amount,
                tax_amount: req.tax_amount,
                discount_amount: req.discount_amount,
                declared_total: req.total_amount,
                payment,
                delivery,
            })
        }
        _ => Err(ApiError::Validation(issues)),
    }
}

/// `unknown_sku` / `inactive_sku` for the lines whose SKU the catalog refuses. An order
/// over the line limit is refused for that alone: its lines are not looked up.
async fn catalog_issues(
    app: &AppState,
    lines: &[(usize, Sku)],
) -> Result<Vec<FieldIssue>, ApiError> {
    if lines.is_empty() || lines.len() > app.config.limits.max_lines_per_order as usize {
        return Ok(Vec::new());
    }
    let mut skus: Vec<String> = lines.iter().map(|(_, s)| s.to_string()).collect();
    skus.sort();
    skus.dedup();
    let products = app
        .store
        .read(move |r| {
            let skus: Vec<&str> = skus.iter().map(String::as_str).collect();
            r.products_by_sku(&skus)
        })
        .await?;
    Ok(crate::app::orders::catalog_issues(
        &products,
        lines.iter().map(|(i, s)| (*i, s)),
    ))
}

/// Capture an order. Bad input is refused with every field error at once, unknown or
/// inactive SKUs included.
#[utoipa::path(post, path = "/api/v1/orders", tag = "orders",
    request_body = CreateOrderRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for the same key and body")),
    responses(
        (status = 201, description = "Order created", body = OrderView),
        (status = 200, description = "An order with this channel and external_id already exists", body = OrderView),
        (status = 400, description = "Malformed JSON or idempotency key", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Same idempotency key in flight", body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Validation failed, out of stock, or idempotency key reused", body = Problem, content_type = "application/problem+json"),
        (status = 503, body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn create_order(
    State(app): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    body: ApiJson<CreateOrderRequest>,
) -> Result<Response, ApiError> {
    principal.require(Permission::CreateOrders)?;
    let idem = idempotency(&headers, &principal, "POST", "/api/v1/orders", &body.raw)?;
    let skus: Vec<(usize, Sku)> = body
        .value
        .lines
        .iter()
        .enumerate()
        .filter_map(|(i, l)| Sku::parse(&l.sku).ok().map(|s| (i, s)))
        .collect();
    let input = match parse_create(body.value, &app) {
        Ok(input) => input,
        // One answer names every problem: the catalog's too. A well-formed request has
        // its SKUs checked inside the write instead, against the catalog it reserves from,
        // so placing an order costs no extra read.
        Err(ApiError::Validation(mut issues)) => {
            issues.extend(catalog_issues(&app, &skus).await?);
            return Err(ApiError::Validation(issues));
        }
        Err(e) => return Err(e),
    };
    let origin = super::extract::origin(&principal, &headers);
    let reply = app.place_order(input, idem, origin).await?;
    Ok(outcome_reply(reply))
}

/// An order by id or human number.
#[utoipa::path(get, path = "/api/v1/orders/{id}", tag = "orders",
    params(("id" = String, Path, description = "Order id (ord_…) or number (WEB-1001)")),
    responses((status = 200, body = OrderView), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn get_order(
    State(app): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<OrderView>, ApiError> {
    principal.require(Permission::ReadOrders)?;
    let order = app
        .store
        .read(move |r| r.order(&id))
        .await?
        .ok_or(ApiError::Order(OrderError::NotFound))?;
    Ok(Json(order_view(&order)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TimelineEntry {
    pub version: u64,
    #[serde(rename = "type")]
    pub type_: String,
    pub at: String,
    /// The actor's stable id for machines, e.g. `api_key:key_…` or `system:demo`.
    pub actor: String,
    /// Who it was, for a person: the key's role and name (`integration key
    /// 'storefront'`) or the part of the system (`system (timers)`).
    #[schema(example = "integration key 'storefront'")]
    pub actor_name: String,
    /// What happened and why, in one sentence, with money as money (`USD 15.00`).
    pub summary: String,
    pub correlation_id: String,
    /// The event's full payload.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Timeline {
    pub data: Vec<TimelineEntry>,
}

/// Every event of an order, oldest first, each with a one-line summary.
#[utoipa::path(get, path = "/api/v1/orders/{id}/timeline", tag = "orders",
    params(("id" = String, Path, description = "Order id or number")),
    responses((status = 200, body = Timeline), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn timeline(
    State(app): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<Timeline>, ApiError> {
    principal.require(Permission::ReadOrders)?;
    let (events, key_names) = app
        .store
        .read(move |r| {
            let Some(o) = r.order(&id)? else {
                return Ok(None);
            };
            let events = r.events(o.id.as_str())?;
            let mut keys: Vec<String> = events
                .iter()
                .filter_map(|e| match &e.actor {
                    Actor::ApiKey { id, .. } => Some(id.clone()),
                    Actor::System { .. } => None,
                })
                .collect();
            keys.sort_unstable();
            keys.dedup();
            let names: HashMap<String, String> = r.api_key_names(&keys)?.into_iter().collect();
            Ok(Some((events, names)))
        })
        .await?
        .ok_or(ApiError::Order(OrderError::NotFound))?;
    // Summaries that need the order as it stood before their event (which SKU a line
    // is, the currency, what a re-source was for) get it by folding the stream here.
    let mut state: Option<Order> = None;
    let mut data = Vec::with_capacity(events.len());
    for e in events {
        let key_name = match &e.actor {
            Actor::ApiKey { id, .. } => key_names.get(id).map(String::as_str),
            Actor::System { .. } => None,
        };
        data.push(TimelineEntry {
            version: e.version,
            type_: e.event.kind().to_owned(),
            at: rfc3339(e.at),
            actor: e.actor.label(),
            actor_name: e.actor.describe(key_name),
            summary: e.event.summary(state.as_ref()),
            correlation_id: e.correlation_id.clone(),
            data: serde_json::to_value(&e.event)
                .ok()
                .and_then(|v| v.get("data").cloned())
                .unwrap_or_default(),
        });
        state = evolve(state, &e.event, e.at, e.version).ok();
    }
    Ok(Json(Timeline { data }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelRequest {
    /// customer_request, out_of_stock, fraud, payment_timeout, duplicate or other.
    pub reason: String,
    pub note: Option<String>,
}

fn parse_reason(s: &str) -> Option<CancelReason> {
    use CancelReason::*;
    [
        CustomerRequest,
        OutOfStock,
        Fraud,
        PaymentTimeout,
        Duplicate,
        Other,
    ]
    .into_iter()
    .find(|r| r.as_str() == s)
}

/// Cancel a whole order before anything shipped; its reservations are released.
#[utoipa::path(post, path = "/api/v1/orders/{id}/cancellation", tag = "orders",
    params(("id" = String, Path, description = "Order id or number"),
        ("Idempotency-Key" = Option<String>, Header, description = "Replays the first response")),
    request_body = CancelRequest,
    responses((status = 200, body = OrderView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already cancelled or shipped", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn cancel_order(
    State(app): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: ApiJson<CancelRequest>,
) -> Result<Response, ApiError> {
    principal.require(Permission::CancelOrders)?;
    let idem = idempotency(
        &headers,
        &principal,
        "POST",
        &format!("/api/v1/orders/{id}/cancellation"),
        &body.raw,
    )?;
    let req = body.value;
    let reason = parse_reason(&req.reason).ok_or_else(|| {
        ApiError::Validation(vec![FieldIssue::new(
            "reason",
            "unknown_reason",
            "not a known cancellation reason",
        )])
    })?;
    if req.note.as_ref().is_some_and(|n| n.len() > 1000) {
        return Err(ApiError::Validation(vec![FieldIssue::new(
            "note",
            "too_long",
            "at most 1000 characters",
        )]));
    }
    let origin = super::extract::origin(&principal, &headers);
    let cmd = CancelOrder {
        reason,
        note: req.note,
        refund_id: orderly_domain::values::Id::new(crate::app::new_id("ref")),
    };
    Ok(outcome_reply(
        app.cancel_order(id, cmd, idem, origin).await?,
    ))
}
