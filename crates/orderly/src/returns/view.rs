//! A return as the API shows it: its state, each unit with both facts (reception and
//! acceptance) and its disposition, the policy's decision with the version and rules
//! that gave it, the reviews, the money as the policy computes it and as it was paid,
//! and the stock each disposition moved. Built from the order's snapshot, never stored.

use orderly_domain::order::{Order, Return};
use orderly_domain::returns::{Outcome, ReturnShipping, Wanted};
use orderly_domain::time::rfc3339;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct ReturnItemView {
    pub item_no: u32,
    pub line_no: u32,
    pub sku: String,
    /// `awaiting`, `received`, `lost_in_transit`, `wrong_item` or `short`.
    pub reception: String,
    /// `pending`, `accepted`, `rejected` or `needs_manual_decision`.
    pub acceptance: String,
    pub condition: Option<String>,
    /// `restock`, `quarantine`, `scrap`, `refurbish` or `return_to_customer`.
    pub disposition: Option<String>,
    pub location_id: Option<String>,
    pub received_at: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UnexpectedItemView {
    pub scan: String,
    pub sku: Option<String>,
    pub location_id: String,
    /// The awaited unit it came back in place of (that unit reads `wrong_item`).
    pub in_place_of: Option<u32>,
}

/// The policy's answer when the return was asked for.
#[derive(Debug, Serialize, ToSchema)]
pub struct DecisionView {
    /// `authorized`, `needs_review` or `rejected`.
    pub outcome: String,
    /// The rules that sent it to review, or the one that rejected it.
    pub rules: Vec<String>,
    pub policy_version: String,
    pub serial_returner: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewView {
    pub approved: bool,
    pub by: String,
    pub role: String,
    pub note: Option<String>,
    pub rules: Vec<String>,
    pub at: String,
}

/// The money side, in the order's currency.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReturnMoneyView {
    pub currency: String,
    /// The paid value of the asked units.
    pub value: i64,
    pub restocking_fee: i64,
    /// `free`, `flat_fee` or `customer_label`.
    pub return_shipping: String,
    pub return_shipping_fee: i64,
    /// The customer's own postage the policy pays back (their stated cost, up to the
    /// reason's cap).
    pub shipping_reimbursed: i64,
    /// What the policy refunds for the asked units (the postage paid back comes beside it).
    pub refundable: i64,
    /// `original_payment` or `store_credit`.
    pub refund_method: String,
    /// `on_carrier_acceptance`, `on_receipt` or `after_inspection`.
    pub refund_timing: String,
    pub resolution: Option<ResolutionView>,
}

/// How the money was settled, and where its refund stands.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResolutionView {
    pub value: i64,
    pub restocking_fee: i64,
    pub return_shipping_fee: i64,
    /// What `refund_id` pays for the goods.
    pub amount: i64,
    pub method: String,
    pub refund_id: Option<String>,
    /// `pending`, `succeeded` or `refund_failed`; none when nothing was owed.
    pub refund_status: Option<String>,
    /// The customer's own postage paid back, by a refund of its own tied to no line.
    pub shipping_reimbursed: i64,
    pub postage_refund_id: Option<String>,
    pub postage_refund_status: Option<String>,
    pub at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LabelView {
    pub carrier: String,
    pub service: String,
    pub tracking_number: String,
    pub location_id: String,
    /// The label PDF.
    pub url: String,
}

/// A parcel that took rejected units back to the customer.
#[derive(Debug, Serialize, ToSchema)]
pub struct SendBackView {
    pub item_nos: Vec<u32>,
    pub carrier: String,
    pub service: String,
    pub tracking_number: String,
    /// Where it left from.
    pub location_id: String,
    /// The label PDF.
    pub url: String,
}

/// A stock movement a disposition made (or records, when nothing moves).
#[derive(Debug, Serialize, ToSchema)]
pub struct ReturnMovementView {
    pub item_no: u32,
    pub sku: String,
    pub location_id: String,
    /// `return_restock`, `return_quarantine`, `return_scrap` or `return_to_customer`.
    pub reason: String,
}

/// The order that sends an exchange's replacement.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExchangeView {
    pub sku: String,
    pub units: u32,
    /// The replacement's price per unit, as the policy judged it.
    pub unit_price: i64,
    /// Replacement price less the returned value: above zero the customer pays it on the
    /// exchange order, below zero it is refunded once the goods are in.
    pub price_difference: i64,
    /// Once placed (at authorization): the exchange order.
    pub order_id: Option<String>,
    pub order_number: Option<String>,
    /// The returned value put toward the replacement.
    pub credit: Option<i64>,
    /// What the exchange order asks the customer to pay.
    pub to_pay: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReturnView {
    pub id: String,
    pub rma: String,
    pub order_id: String,
    pub order_number: String,
    pub channel: String,
    /// The goods' stage, or `refund_pending` / `refund_failed` while the money waits.
    pub state: String,
    /// `staff` or `self_service`.
    pub source: String,
    pub reason: String,
    pub note: Option<String>,
    pub photos: Vec<String>,
    /// `refund`, `store_credit` or `exchange`.
    pub wanted: String,
    pub exchange_sku: Option<String>,
    pub required_condition: String,
    pub decision: DecisionView,
    pub reviews: Vec<ReviewView>,
    /// Rules set aside by a person with the authority, each counted.
    pub policy_exceptions: Vec<String>,
    pub items: Vec<ReturnItemView>,
    pub unexpected_items: Vec<UnexpectedItemView>,
    pub money: ReturnMoneyView,
    pub stock_movements: Vec<ReturnMovementView>,
    pub label: Option<LabelView>,
    /// What the policy does with rejected units: `inspector_chooses`,
    /// `return_to_customer` or `hold`.
    pub rejected_items: String,
    /// Rejected units disposed `return_to_customer` that no parcel has taken back yet
    /// (`POST …/send-back` books one when the automatic booking failed).
    pub awaiting_send_back: Vec<u32>,
    pub send_backs: Vec<SendBackView>,
    pub exchange: Option<ExchangeView>,
    pub ship_by: Option<String>,
    pub requested_at: String,
    pub updated_at: String,
}

fn status_of(order: &Order, refund: Option<&orderly_domain::values::Id>) -> Option<String> {
    refund
        .and_then(|id| order.refund_status_of(id))
        .map(|s| s.as_str().to_owned())
}

fn movement_reason(d: orderly_domain::returns::Disposition) -> &'static str {
    use orderly_domain::returns::Disposition::*;
    match d {
        Restock => "return_restock",
        Quarantine | Refurbish => "return_quarantine",
        Scrap => "return_scrap",
        ReturnToCustomer => "return_to_customer",
    }
}

/// The movements a unit's dispositions made: a decided unit went into quarantine first,
/// and its decision moved it on from there (or left it).
fn item_movements(i: &orderly_domain::order::ReturnItem) -> Vec<ReturnMovementView> {
    use orderly_domain::returns::Disposition::*;
    let (Some(location), Some(disposition)) = (i.location_id.as_ref(), i.disposition) else {
        return Vec::new();
    };
    let reasons: &[&str] = match (i.decided, disposition) {
        (false, d) => &[movement_reason(d)],
        (true, Quarantine | Refurbish) => &["return_quarantine"],
        (true, Restock) => &["return_quarantine", "quarantine_release"],
        (true, Scrap) => &["return_quarantine", "quarantine_scrap"],
        (true, ReturnToCustomer) => &["return_quarantine", "quarantine_to_customer"],
    };
    reasons
        .iter()
        .map(|reason| ReturnMovementView {
            item_no: i.item_no,
            sku: i.sku.to_string(),
            location_id: location.to_string(),
            reason: (*reason).to_owned(),
        })
        .collect()
}

pub fn return_view(order: &Order, ret: &Return) -> ReturnView {
    let j = &ret.judgement;
    let (outcome, rules) = match &j.outcome {
        Outcome::Authorized => ("authorized", Vec::new()),
        Outcome::NeedsReview { rules } => (
            "needs_review",
            rules.iter().map(|r| r.as_str().to_owned()).collect(),
        ),
        Outcome::Rejected { rule } => ("rejected", vec![rule.as_str().to_owned()]),
    };
    let (wanted, exchange_sku) = match &ret.wanted {
        Wanted::Refund => ("refund", None),
        Wanted::StoreCredit => ("store_credit", None),
        Wanted::Exchange { sku } => ("exchange", Some(sku.to_string())),
    };
    let shipping = match j.return_shipping {
        ReturnShipping::Free => "free",
        ReturnShipping::FlatFee { .. } => "flat_fee",
        ReturnShipping::CustomerLabel { .. } => "customer_label",
    };
    ReturnView {
        id: ret.id.to_string(),
        rma: ret.rma.clone(),
        order_id: order.id.to_string(),
        order_number: order.number.clone(),
        channel: order.channel.to_string(),
        state: ret.status(order).as_str().to_owned(),
        source: ret.source.as_str().to_owned(),
        reason: ret.reason.clone(),
        note: ret.note.clone(),
        photos: ret.photos.clone(),
        wanted: wanted.to_owned(),
        exchange_sku,
        required_condition: j.required_condition.clone(),
        decision: DecisionView {
            outcome: outcome.to_owned(),
            rules,
            policy_version: j.version.clone(),
            serial_returner: j.serial_returner.clone(),
        },
        reviews: ret
            .decisions
            .iter()
            .map(|d| ReviewView {
                approved: d.approved,
                by: d.by.clone(),
                role: d.role.clone(),
                note: d.note.clone(),
                rules: d.rules.iter().map(|r| r.as_str().to_owned()).collect(),
                at: rfc3339(d.at),
            })
            .collect(),
        policy_exceptions: ret
            .exceptions
            .iter()
            .map(|e| e.as_str().to_owned())
            .collect(),
        items: ret
            .items
            .iter()
            .map(|i| ReturnItemView {
                item_no: i.item_no,
                line_no: i.line_no,
                sku: i.sku.to_string(),
                reception: i.reception.as_str().to_owned(),
                acceptance: i.acceptance.as_str().to_owned(),
                condition: i.condition.clone(),
                disposition: i.disposition.map(|d| d.as_str().to_owned()),
                location_id: i.location_id.as_ref().map(|l| l.to_string()),
                received_at: i.received_at.map(rfc3339),
            })
            .collect(),
        unexpected_items: ret
            .unexpected
            .iter()
            .map(|u| UnexpectedItemView {
                scan: u.scan.clone(),
                sku: u.sku.as_ref().map(|s| s.to_string()),
                location_id: u.location_id.to_string(),
                in_place_of: u.in_place_of,
            })
            .collect(),
        money: ReturnMoneyView {
            currency: order.currency.to_string(),
            value: j.value_minor,
            restocking_fee: j.restocking_fee_minor,
            return_shipping: shipping.to_owned(),
            return_shipping_fee: j.return_shipping.fee_minor(),
            shipping_reimbursed: j.shipping_reimbursed_minor,
            refundable: j.refundable_minor,
            refund_method: j.refund_method.as_str().to_owned(),
            refund_timing: j.refund_timing.as_str().to_owned(),
            resolution: ret.resolution.as_ref().map(|r| ResolutionView {
                value: r.value_minor,
                restocking_fee: r.restocking_fee_minor,
                return_shipping_fee: r.shipping_fee_minor,
                amount: r.amount_minor,
                method: r.method.as_str().to_owned(),
                refund_id: r.refund_id.as_ref().map(|id| id.to_string()),
                refund_status: status_of(order, r.refund_id.as_ref()),
                shipping_reimbursed: r.shipping_reimbursed_minor,
                postage_refund_id: r.postage_refund_id.as_ref().map(|id| id.to_string()),
                postage_refund_status: status_of(order, r.postage_refund_id.as_ref()),
                at: rfc3339(r.at),
            }),
        },
        stock_movements: ret.items.iter().flat_map(item_movements).collect(),
        label: ret.label.as_ref().map(|l| LabelView {
            carrier: l.carrier.clone(),
            service: l.service.clone(),
            tracking_number: l.tracking_number.clone(),
            location_id: l.location_id.to_string(),
            url: format!("/api/v1/returns/{}/label.pdf", ret.id),
        }),
        rejected_items: j.rejected_items.as_str().to_owned(),
        awaiting_send_back: ret.send_back_due().iter().map(|(no, _)| *no).collect(),
        send_backs: (1..)
            .zip(&ret.send_backs)
            .map(|(n, s)| SendBackView {
                item_nos: s.item_nos.clone(),
                carrier: s.carrier.clone(),
                service: s.service.clone(),
                tracking_number: s.tracking_number.clone(),
                location_id: s.location_id.to_string(),
                url: format!("/api/v1/returns/{}/send-backs/{n}/label.pdf", ret.id),
            })
            .collect(),
        exchange: j.exchange.as_ref().map(|terms| ExchangeView {
            sku: terms.sku.to_string(),
            units: u32::try_from(ret.items.len()).unwrap_or(u32::MAX),
            unit_price: terms.unit_price_minor,
            price_difference: terms.price_difference_minor,
            order_id: ret.exchange.as_ref().map(|x| x.order_id.to_string()),
            order_number: ret.exchange.as_ref().map(|x| x.order_number.clone()),
            credit: ret.exchange.as_ref().map(|x| x.credit_minor),
            to_pay: ret.exchange.as_ref().map(|x| x.to_pay_minor),
        }),
        ship_by: ret.ship_by.map(rfc3339),
        requested_at: rfc3339(ret.requested_at),
        updated_at: rfc3339(ret.updated_at),
    }
}
