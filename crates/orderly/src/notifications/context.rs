//! What a template sees: the order in words and money (`USD 12.99`), its parcels with
//! their items and tracking links, what still waits, and the facts of the event that
//! sent the message (the parcel shipped, the payment refused, the refund made, the
//! return approved). Built from the order as it stands when the message is rendered and
//! the event as it was committed (its feed payload). The variables are listed in
//! `defaults.toml`, for whoever writes templates.

use crate::config::notifications::NotificationsConfig;
use orderly_domain::order::{Order, money};
use orderly_domain::time::rfc3339;
use serde_json::{Value, json};

/// The template context of a message about `order`, sent for `event` (a feed payload;
/// `Value::Null` for a preview without one).
pub fn context(order: &Order, event: &Value, config: &NotificationsConfig) -> Value {
    let cur = |minor: i64| money(minor, &order.currency);
    let name_of = |line_no: u32| {
        order
            .lines
            .iter()
            .find(|l| l.line_no == line_no)
            .map(|l| l.name.clone())
            .unwrap_or_default()
    };
    let lines: Vec<Value> = order
        .lines
        .iter()
        .filter(|l| l.buckets.ordered > l.buckets.cancelled)
        .map(|l| {
            let quantity = l.buckets.ordered - l.buckets.cancelled;
            json!({
                "sku": l.sku, "name": l.name, "quantity": quantity,
                "unit_price": cur(l.unit_price),
                "line_total": cur(l.unit_price * i64::from(quantity)),
            })
        })
        .collect();
    let mut shipments = Vec::new();
    for f in &order.fulfillment_orders {
        for s in &f.shipments {
            let items: Vec<Value> = f
                .packages
                .iter()
                .find(|p| p.id == s.package_id)
                .map(|p| {
                    p.items
                        .iter()
                        .map(|i| json!({"sku": i.sku, "name": name_of(i.line_no), "quantity": i.quantity}))
                        .collect()
                })
                .unwrap_or_default();
            let status = s
                .scans
                .last()
                .map_or("shipped", |scan| scan.status.as_str());
            shipments.push((
                s.shipped_at,
                s.id.to_string(),
                json!({
                    "carrier": s.carrier, "service": s.service,
                    "tracking_number": s.tracking_number,
                    "tracking_url": tracking_url(config, &s.carrier, &s.tracking_number),
                    "promised_by": s.promised_by.map(date),
                    "status": status,
                    "items": items,
                }),
            ));
        }
    }
    shipments.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    let shipment_ids: Vec<String> = shipments.iter().map(|s| s.1.clone()).collect();
    let shipments: Vec<Value> = shipments
        .into_iter()
        .enumerate()
        .map(|(i, (_, _, mut s))| {
            s["number"] = json!(i + 1);
            s
        })
        .collect();
    let waiting: Vec<Value> = if order.state == orderly_domain::order::OrderState::Cancelled {
        Vec::new()
    } else {
        order
            .lines
            .iter()
            .filter_map(|l| {
                let b = &l.buckets;
                let left = b.ordered.saturating_sub(b.cancelled + b.shipped);
                (left > 0).then(|| json!({"sku": l.sku, "name": l.name, "quantity": left}))
            })
            .collect()
    };
    let a = &order.shipping_address;
    let mut ctx = json!({
        "store": {"name": config.store_name, "support_email": config.support_email},
        "customer": {
            "name": order.customer.name.clone().unwrap_or_else(|| a.name.clone()),
            "email": order.customer.email,
        },
        "order": {
            "id": order.id, "number": order.number, "channel": order.channel,
            "currency": order.currency,
            "subtotal": cur(order.subtotal()), "shipping": cur(order.shipping_amount),
            "tax": cur(order.tax_amount), "discount": cur(order.discount_amount),
            "total": cur(order.total()),
            "lines": lines,
            "shipping_address": {
                "name": a.name, "line1": a.line1, "line2": a.line2, "city": a.city,
                "region": a.region, "postal_code": a.postal_code, "country": a.country,
            },
        },
        "shipments": shipments,
        "waiting": waiting,
        "event": {"id": event["id"], "type": event["type"], "at": event["timestamp"]},
    });
    let data = &event["data"];
    if let Some(id) = data["shipment_id"].as_str()
        && let Some(i) = shipment_ids.iter().position(|s| s == id)
    {
        ctx["shipment"] = ctx["shipments"][i].clone();
    } else if event.is_null() && !shipment_ids.is_empty() {
        // A preview without an event shows the latest parcel.
        ctx["shipment"] = ctx["shipments"][shipment_ids.len() - 1].clone();
    }
    if let Some(op) = data["op_id"]
        .as_str()
        .and_then(|id| order.payment_ops.iter().find(|o| o.id.as_str() == id))
    {
        ctx["payment"] = json!({
            "amount": cur(op.amount_minor),
            "message": op.failure_message.clone().unwrap_or_default(),
        });
        let method = if op.to_store_credit {
            "store_credit"
        } else {
            "original_payment"
        };
        ctx["refund"] = json!({
            "amount": cur(op.amount_minor),
            "method": if op.to_store_credit { "store credit" } else { "original payment method" },
            "timing": config.refund_timing.get(method).cloned().unwrap_or_default(),
        });
    }
    if let Some(r) = data["return_id"]
        .as_str()
        .and_then(|id| order.returns.iter().find(|r| r.id.as_str() == id))
    {
        let items: Vec<Value> = r
            .units_per_line()
            .iter()
            .map(|u| {
                let sku = order
                    .lines
                    .iter()
                    .find(|l| l.line_no == u.line_no)
                    .map(|l| l.sku.to_string())
                    .unwrap_or_default();
                json!({"sku": sku, "name": name_of(u.line_no), "quantity": u.quantity})
            })
            .collect();
        ctx["return"] = json!({
            "rma": r.rma,
            "items": items,
            "label": r.label.as_ref().map(|l| json!({
                "carrier": l.carrier, "service": l.service, "tracking_number": l.tracking_number,
            })),
        });
    }
    if event["type"] == "shipment.delayed" {
        ctx["delay"] = json!({
            "reason": data["reason"],
            "promised_by": ctx["shipment"]["promised_by"],
        });
    }
    if event["type"] == "order.edited" {
        let total = |side: &str| data[side]["total"].as_i64().map(cur);
        ctx["change"] = json!({
            "total_before": total("before"), "total_after": total("after"),
            "note": data["note_to_customer"],
        });
    }
    if event["type"] == "order.cancelled" {
        ctx["cancellation"] = json!({"reason": data["reason"]});
    }
    ctx
}

fn tracking_url(config: &NotificationsConfig, carrier: &str, number: &str) -> Option<String> {
    config
        .tracking_urls
        .get(carrier)
        .map(|u| u.replace("{tracking_number}", number))
}

/// A date for people: `2026-12-07`.
fn date(t: jiff::Timestamp) -> String {
    rfc3339(t).chars().take(10).collect()
}
