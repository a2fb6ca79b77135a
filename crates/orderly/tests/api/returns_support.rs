//! What the return tests share besides `returns.rs`'s shop and delivery: asking for a
//! return as staff (with any key) or as the customer, taking it through receipt and
//! inspection, and reading what it left on its order.

use crate::helpers::*;
use jiff::SignedDuration;
use reqwest::Method;
use serde_json::{Value, json};

/// The text at `key` of a JSON object.
pub fn text(v: &Value, key: &str) -> String {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("no text {key} in {v}"))
        .to_owned()
}

/// A return request's items, reason and a refund wanted, for `(line_no, quantity)` pairs.
pub fn ask(items: &[(u32, u32)], reason: &str) -> Value {
    let items: Vec<Value> = items
        .iter()
        .map(|(line_no, quantity)| json!({"line_no": line_no, "quantity": quantity}))
        .collect();
    json!({"items": items, "reason": reason, "wanted": {"kind": "refund"}})
}

/// Staff ask for a return of `order` (its id or number) with `key`; `extra` adds fields.
pub async fn staff_return(app: &TestApp, key: &str, order: &str, mut body: Value) -> Res {
    body["order"] = json!(order);
    send(app.req_as(key, Method::POST, "/returns").json(&body)).await
}

/// Staff ask with the admin key.
pub async fn admin_return(app: &TestApp, order: &Value, body: Value) -> Res {
    staff_return(app, &app.admin_key, &text(order, "number"), body).await
}

/// The customer asks with an order number and an email, and no key.
pub async fn self_service(app: &TestApp, number: &str, email: &str, mut body: Value) -> Res {
    body["order_number"] = json!(number);
    body["email"] = json!(email);
    send(
        app.client
            .post(app.url("/self-service/returns"))
            .json(&body),
    )
    .await
}

/// Receives `scans` for return `id` at Newark.
pub async fn receive_at_newark(app: &TestApp, id: &str, scans: &[&str], close: bool) -> Res {
    app.post(
        &format!("/returns/{id}/receive"),
        &json!({"location_id": "wh-east", "scans": scans, "close": close}),
    )
    .await
}

/// Inspects items `(item_no, disposition)` of return `id`, each accepted like new.
pub async fn inspect_accepted(app: &TestApp, id: &str, items: &[(u32, &str)]) -> Res {
    let items: Vec<Value> = items
        .iter()
        .map(|(n, d)| {
            json!({"item_no": n, "condition": "like_new", "acceptance": "accepted", "disposition": d})
        })
        .collect();
    app.post(
        &format!("/returns/{id}/inspect"),
        &json!({ "items": items }),
    )
    .await
}

/// The return event types on the order's timeline, oldest first.
pub async fn return_events(app: &TestApp, order_id: &str) -> Vec<String> {
    let timeline = app
        .get(&format!("/orders/{order_id}/timeline"))
        .await
        .expect(200);
    timeline["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| text(e, "type"))
        .filter(|k| k.starts_with("return_"))
        .collect()
}

/// The entries of an exception queue as (kind, subject, status), resolved ones included.
pub async fn queue_entries(app: &TestApp, queue: &str) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for status in ["open", "resolved"] {
        let page = app
            .get(&format!("/exceptions/{queue}?status={status}"))
            .await
            .expect(200);
        for e in page["data"].as_array().unwrap() {
            out.push((text(e, "kind"), text(e, "subject_id"), text(e, "status")));
        }
    }
    out
}

/// Fires the timers due `after` from now (a refund's retry, an operation's re-drive),
/// then asserts that return `id` completed with its refund `refund_id` through and that
/// its order refunded `amount`, once; returns the order.
pub async fn refund_goes_through_after(
    app: &TestApp,
    (id, order_id, refund_id): (&str, &str, &str),
    after: SignedDuration,
    amount: i64,
) -> Value {
    let elapsed = app.clock.now().duration_since(app.started);
    app.fire_timers_at(elapsed + after).await;
    let done = app.get(&format!("/returns/{id}")).await.expect(200);
    assert_eq!(done["state"], "completed", "{done}");
    assert_eq!(done["money"]["resolution"]["refund_status"], "succeeded");
    assert_eq!(done["money"]["resolution"]["refund_id"], refund_id);
    let paid = app.get(&format!("/orders/{order_id}")).await.expect(200);
    let refunds = paid["refunds"].as_array().unwrap();
    assert_eq!(refunds.len(), 1, "{refunds:?}");
    assert_eq!(refunds[0]["status"], "succeeded");
    assert_eq!(refunds[0]["amount"], amount);
    assert_eq!(paid["payments"][0]["refunded"], amount);
    paid
}

/// A T-shirt (20.00) paid with the simulator's `token`, delivered, asked back as the
/// wrong item (free shipping, no fee), received at Newark and inspected, which makes
/// its refund due: the order, the return's id and the inspection's answer.
pub async fn tee_inspected_paid_with(app: &TestApp, token: &str) -> (Value, String, Res) {
    let body = card_order(&[("TEE-BLK-M", 1, 2000)], token);
    let order = crate::returns::deliver(app, &body).await;
    let asked = admin_return(app, &order, ask(&[(1, 1)], "wrong_item"))
        .await
        .expect(201);
    let id = text(&asked, "id");
    receive_at_newark(app, &id, &["TEE-BLK-M"], true)
        .await
        .expect(200);
    let inspected = inspect_accepted(app, &id, &[(1, "restock")]).await;
    (order, id, inspected)
}
