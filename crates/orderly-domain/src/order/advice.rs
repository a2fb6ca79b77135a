//! "What should the customer hear next?" — the answers to where is my order, why
//! hasn't line 2 shipped and when will my refund arrive, derived from the order's state
//! so support reads them instead of piecing them together (and never types them by
//! hand). One sentence per parcel, per waiting line, per refund and per thing that
//! holds the order back; the application adds the order's open cases and exceptions.

use super::state::{HoldReason, Order, OrderState};
use super::summary::{money, units};
use crate::fulfillment::{ExceptionFlag, TrackingStatus};
use crate::payment::{PaymentState, RefundMethod, RefundStatus};
use crate::time::Rfc3339;

snake_enum!(
    /// What a piece of advice is about.
    Topic {
        Order => "order",
        Payment => "payment",
        Hold => "hold",
        Shipment => "shipment",
        Line => "line",
        Refund => "refund",
        Return => "return",
    }
);

/// One thing support can tell the customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advice {
    pub topic: Topic,
    /// The shipment, line number, refund or return it is about, when it is about one.
    pub subject: Option<String>,
    pub text: String,
}

fn advice(topic: Topic, subject: Option<String>, text: String) -> Advice {
    Advice {
        topic,
        subject,
        text,
    }
}

/// What a wait reason means to a customer, and what ends it.
fn wait_text(reason: &str) -> String {
    match reason {
        "backorder" => "they are on backorder and ship as soon as stock arrives".into(),
        "short_pick" => {
            "the warehouse could not find them; they ship when found or restocked".into()
        }
        "awaiting_payment" => "they wait for the payment".into(),
        "awaiting_capture" => "they wait for the payment to be taken".into(),
        "sourcing" => "a warehouse is being chosen for them".into(),
        "edit_window" => "the order can still be changed; they go to the warehouse after".into(),
        other => match other.strip_prefix("hold:") {
            Some(hold) => format!("the order is on hold ({})", hold.replace('_', " ")),
            None => other.replace('_', " "),
        },
    }
}

fn shipment_text(s: &super::shipments::Shipment, items: u32) -> String {
    let parcel = format!(
        "Parcel {} ({}) with {}",
        s.tracking_number,
        units(items),
        s.carrier
    );
    let flags = s.flags();
    let promise = s
        .promised_by
        .map(|p| format!(", expected by {}", Rfc3339(p)))
        .unwrap_or_default();
    if flags.contains(&ExceptionFlag::Lost) {
        return format!("{parcel} is reported lost; offer a replacement or a refund");
    }
    if flags.contains(&ExceptionFlag::ReturnedToSender) {
        return format!(
            "{parcel} is on its way back to us; check the address before sending again"
        );
    }
    match s.status() {
        TrackingStatus::Delivered => {
            format!("{parcel} was delivered {}", Rfc3339(s.last_scan_at()))
        }
        TrackingStatus::ReadyForPickup => format!("{parcel} is ready for pickup"),
        _ if flags.contains(&ExceptionFlag::DeliveryFailed) => {
            format!("{parcel}: a delivery attempt failed; the carrier tries again")
        }
        _ if flags.contains(&ExceptionFlag::Delayed) => {
            format!("{parcel} is delayed{promise}; the carrier has not scanned it on time")
        }
        TrackingStatus::OutForDelivery => format!("{parcel} is out for delivery today"),
        TrackingStatus::LabelCreated => {
            format!("{parcel} is packed and waits for the carrier{promise}")
        }
        status => format!("{parcel} is {}{promise}", status.as_str().replace('_', " ")),
    }
}

/// Everything support can tell the customer about `order` now, most pressing first:
/// the order's own state, payment, holds, then each parcel, each waiting line, each
/// refund and each open return.
pub fn advice_for(order: &Order) -> Vec<Advice> {
    let mut out = Vec::new();
    let cur = &order.currency;
    if order.state == OrderState::Cancelled {
        out.push(advice(
            Topic::Order,
            None,
            format!(
                "The order was cancelled ({})",
                order
                    .cancel_reason
                    .map_or("no reason recorded", |r| r.as_str())
                    .replace('_', " ")
            ),
        ));
    }
    match order.payment_state() {
        PaymentState::Failed => out.push(advice(
            Topic::Payment,
            None,
            "The payment failed: the customer needs to pay again or use another card".into(),
        )),
        PaymentState::Unpaid if order.state != OrderState::Cancelled => out.push(advice(
            Topic::Payment,
            None,
            match order.payment_due_at {
                Some(due) => format!(
                    "The order waits for payment; it is cancelled if unpaid by {}",
                    Rfc3339(due)
                ),
                None => "The order waits for payment".into(),
            },
        )),
        _ => {}
    }
    for h in &order.holds {
        let why = match h.reason {
            HoldReason::AddressVerification => "the address is being verified",
            HoldReason::FraudReview | HoldReason::HighValueReview => "the order is being reviewed",
            HoldReason::PaymentFailed | HoldReason::CaptureFailed => "the payment needs attention",
            HoldReason::AwaitingReturnItems => "it waits for returned items to arrive",
            HoldReason::BalanceDue => "a change raised the total and the difference is not paid",
            HoldReason::Manual => "support placed a hold",
        };
        out.push(advice(
            Topic::Hold,
            Some(h.reason.as_str().to_owned()),
            format!("The order is held back: {why}"),
        ));
    }
    for f in &order.fulfillment_orders {
        for s in &f.shipments {
            let items: u32 = f
                .packages
                .iter()
                .filter(|p| p.id == s.package_id)
                .flat_map(|p| p.items.iter())
                .map(|i| i.quantity)
                .sum();
            out.push(advice(
                Topic::Shipment,
                Some(s.id.to_string()),
                shipment_text(s, items),
            ));
        }
    }
    if order.state != OrderState::Cancelled {
        for l in &order.lines {
            let (_, waiting) = order.explain_line(l.line_no);
            for w in waiting {
                out.push(advice(
                    Topic::Line,
                    Some(l.line_no.to_string()),
                    format!(
                        "{} of {} ({}): {}",
                        units(w.quantity),
                        l.name,
                        l.sku,
                        wait_text(&w.reason)
                    ),
                ));
            }
        }
    }
    for r in &order.refunds {
        let to = match r.method {
            RefundMethod::StoreCredit => "as store credit",
            RefundMethod::OriginalPayment => "to the original payment method",
        };
        let amount = money(r.amount_minor, cur);
        let text = match order.refund_status(r) {
            RefundStatus::Succeeded => format!("Refund of {amount} {to} was sent"),
            RefundStatus::Pending => format!("Refund of {amount} {to} is being processed"),
            RefundStatus::RefundFailed => {
                format!(
                    "Refund of {amount} {to} failed and is retried; finance has it in the payments queue"
                )
            }
        };
        out.push(advice(Topic::Refund, Some(r.id.to_string()), text));
    }
    for r in order.returns.iter().filter(|r| !r.state.is_terminal()) {
        out.push(advice(
            Topic::Return,
            Some(r.rma.clone()),
            format!(
                "Return {}: {}",
                r.rma,
                r.status(order).as_str().replace('_', " ")
            ),
        ));
    }
    out
}
