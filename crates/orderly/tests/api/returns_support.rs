//! What the return tests share besides `returns.rs`'s shop and delivery: asking for a
//! return as staff (with any key) or as the customer, taking it through receipt and
//! inspection, and reading what it left on its order.

use crate::helpers::*;
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
