//! Returns through the API, on the backend the test database names: a delivered order
//! taken back through self-service, the label, transit, receipt, inspection and the
//! refund, with stock, ledger, buckets, timeline and `orderly check` right at each step.

use crate::helpers::*;
use serde_json::{Value, json};

/// A shop with a T-shirt and a mug in Newark's stock.
pub async fn shop(app: TestApp) -> TestApp {
    app.seed_product("TEE-BLK-M", 2000).await;
    app.seed_product("TEE-BLK-L", 2000).await;
    app.seed_product("MUG", 1000).await;
    for sku in ["TEE-BLK-M", "TEE-BLK-L", "MUG"] {
        app.receive(sku, "wh-east", 20).await;
    }
    app
}

/// Places a card order of `lines` (sku, quantity, unit price) and takes every unit
/// through pick, pack, ship and delivery; returns the delivered order.
pub async fn delivered(app: &TestApp, lines: &[(&str, i64, i64)]) -> Value {
    deliver(app, &card_order(lines, "tok_visa")).await
}

/// Places the order `body` and takes every unit through pick, pack, ship and delivery
/// (delivered a minute before the clock's time); returns the delivered order.
pub async fn deliver(app: &TestApp, body: &Value) -> Value {
    let order = app.create_order(body).await;
    let oid = order["id"].as_str().unwrap().to_owned();
    let fos = order["fulfillment_orders"].as_array().unwrap().clone();
    for fo in fos {
        let fid = fo["id"].as_str().unwrap();
        let picked: Vec<(u32, u32)> = fo["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                (
                    l["line_no"].as_u64().unwrap() as u32,
                    l["quantity"].as_u64().unwrap() as u32,
                )
            })
            .collect();
        let mut scans = Vec::new();
        for l in fo["lines"].as_array().unwrap() {
            for _ in 0..l["quantity"].as_u64().unwrap() {
                scans.push(l["sku"].as_str().unwrap().to_owned());
            }
        }
        let scans: Vec<&str> = scans.iter().map(String::as_str).collect();
        let pkg = app.pick_and_pack(fid, &picked, &scans).await;
        let shipped = app
            .post(
                &format!("/packages/{}/ship", pkg["id"].as_str().unwrap()),
                &json!({}),
            )
            .await
            .expect(200);
        let tracking = shipped["fulfillment_orders"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|f| f["shipments"].as_array().unwrap().clone())
            .find(|s| s["package_id"] == pkg["id"])
            .unwrap()["tracking_number"]
            .as_str()
            .unwrap()
            .to_owned();
        let at = jiff::Timestamp::from_second(app.clock.now().as_second() - 60).unwrap();
        app.track(&json!({"id": format!("d-{tracking}"), "carrier": "local",
            "tracking_number": tracking, "status": "delivered", "occurred_at": at.to_string()}))
            .await
            .expect(200);
    }
    let order = app.get(&format!("/orders/{oid}")).await.expect(200);
    assert_eq!(order["status"], "delivered", "{order}");
    order
}

/// The buckets that returns move, for line `line` (0-based): (requested, returned, restocked).
pub fn return_buckets(order: &Value, line: usize) -> (u64, u64, u64) {
    let b = &order["lines"][line]["buckets"];
    (
        b["return_requested"].as_u64().unwrap(),
        b["returned"].as_u64().unwrap(),
        b["restocked"].as_u64().unwrap(),
    )
}

/// Stock of `sku` at `location`: (on hand, available, quarantine).
pub async fn stock_with_quarantine(app: &TestApp, sku: &str, location: &str) -> (i64, i64, i64) {
    let page = app
        .get(&format!("/inventory?sku={sku}&location_id={location}"))
        .await
        .expect(200);
    let row = &page["data"][0];
    (
        row["on_hand"].as_i64().unwrap(),
        row["available"].as_i64().unwrap(),
        row["quarantine"].as_i64().unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivered_order_goes_back_by_self_service_and_is_refunded_minus_the_fee() {
    let app = shop(spawn_app().await).await;
    let order = delivered(&app, &[("TEE-BLK-M", 2, 2000), ("MUG", 1, 1000)]).await;
    let oid = order["id"].as_str().unwrap();
    let number = order["number"].as_str().unwrap();
    let before_tee = stock_with_quarantine(&app, "TEE-BLK-M", "wh-east").await;
    let before_mug = stock_with_quarantine(&app, "MUG", "wh-east").await;

    // The customer asks with the order's number and email only.
    let asked = send(
        app.client
            .post(app.url("/self-service/returns"))
            .json(&json!({
                "order_number": number, "email": "ana@example.com",
                "items": [{"line_no": 1, "quantity": 1}, {"line_no": 2, "quantity": 1}],
                "reason": "changed_mind", "note": "not for me",
                "wanted": {"kind": "refund"}
            })),
    )
    .await
    .expect(201);
    let rma = asked["rma"].as_str().unwrap().to_owned();
    assert!(rma.starts_with("RMA-WEB-"), "{rma}");
    assert_eq!(asked["state"], "authorized", "{asked}");
    assert_eq!(asked["source"], "self_service");
    assert_eq!(asked["decision"]["policy_version"], "2026-11");
    // 10 % restocking fee on 30.00 and the 6.95 label from the refund.
    assert_eq!(asked["money"]["value"], 3000);
    assert_eq!(asked["money"]["restocking_fee"], 300);
    assert_eq!(asked["money"]["return_shipping_fee"], 695);
    assert_eq!(asked["money"]["refundable"], 2005);
    assert_eq!(asked["label"]["tracking_number"], rma.as_str());
    let id = asked["id"].as_str().unwrap().to_owned();
    let after = app.get(&format!("/orders/{oid}")).await.expect(200);
    assert_eq!(after["status"], "return_requested");
    assert_eq!(return_buckets(&after, 0), (1, 0, 0));
    app.assert_invariants().await;

    // The label's barcode is the RMA.
    let pdf = app.get(&format!("/returns/{id}/label.pdf")).await;
    assert_eq!(pdf.status, 200);
    assert_eq!(decode_barcode(&pdf.bytes), rma);

    // The carrier picks it up.
    let now = app.clock.now().to_string();
    app.track(
        &json!({"id": "r-1", "carrier": "local", "tracking_number": rma,
        "status": "in_transit", "occurred_at": now}),
    )
    .await
    .expect(200);
    let moving = app.get(&format!("/returns/{rma}")).await.expect(200);
    assert_eq!(moving["state"], "in_transit");

    // Receipt at Newark: both units, and a cap that is not on the RMA.
    let received = app
        .post(
            &format!("/returns/{id}/receive"),
            &json!({"location_id": "wh-east", "scans": ["TEE-BLK-M", "MUG", "CAP-RED"], "close": true}),
        )
        .await
        .expect(200);
    assert_eq!(received["state"], "received");
    assert_eq!(received["unexpected_items"][0]["scan"], "CAP-RED");
    let receptions: Vec<&str> = received["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["reception"].as_str().unwrap())
        .collect();
    assert_eq!(receptions, ["received", "received"]);
    // Receiving moved no money and no stock yet.
    let ledger_before = app.get(&format!("/orders/{oid}")).await.expect(200);
    assert_eq!(ledger_before["refund_state"], "none");
    assert_eq!(
        stock_with_quarantine(&app, "TEE-BLK-M", "wh-east").await,
        before_tee
    );
    app.assert_invariants().await;

    // Inspection: the T-shirt back on the shelf, the mug into quarantine.
    let inspected = app
        .post(
            &format!("/returns/{id}/inspect"),
            &json!({"items": [
                {"item_no": 1, "condition": "like_new", "acceptance": "accepted", "disposition": "restock"},
                {"item_no": 2, "condition": "used", "acceptance": "accepted", "disposition": "quarantine"}
            ]}),
        )
        .await
        .expect(200);
    assert_eq!(inspected["state"], "completed", "{inspected}");
    let res = &inspected["money"]["resolution"];
    assert_eq!(res["amount"], 2005);
    assert_eq!(res["method"], "original_payment");
    assert_eq!(res["refund_status"], "succeeded");
    let tee = stock_with_quarantine(&app, "TEE-BLK-M", "wh-east").await;
    assert_eq!(tee, (before_tee.0 + 1, before_tee.1 + 1, 0));
    let mug = stock_with_quarantine(&app, "MUG", "wh-east").await;
    assert_eq!(
        mug,
        (before_mug.0, before_mug.1, 1),
        "quarantine is never sellable"
    );
    let movements: Vec<&str> = inspected["stock_movements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["reason"].as_str().unwrap())
        .collect();
    assert_eq!(movements, ["return_restock", "return_quarantine"]);

    let done = app.get(&format!("/orders/{oid}")).await.expect(200);
    assert_eq!(return_buckets(&done, 0), (1, 1, 1));
    assert_eq!(return_buckets(&done, 1), (1, 1, 0));
    assert_eq!(done["refund_state"], "partially_refunded");
    assert_eq!(done["status"], "partially_returned");
    assert_eq!(app.simulator_calls("refund"), 1);
    let refunds = done["refunds"].as_array().unwrap();
    assert_eq!(refunds.len(), 1);
    assert_eq!(refunds[0]["amount"], 2005);
    assert_eq!(refunds[0]["reason"], "return");

    // Every step is on the timeline.
    let kinds = crate::returns_support::return_events(&app, oid).await;
    for kind in [
        "return_requested",
        "return_label_issued",
        "return_tracked",
        "return_received",
        "return_inspected",
        "return_resolved",
        "return_completed",
    ] {
        assert!(
            kinds.iter().any(|k| k == kind),
            "{kind} missing from {kinds:?}"
        );
    }
    let list = app.get("/returns?state=completed").await.expect(200);
    assert_eq!(list["data"][0]["rma"], rma.as_str());
    assert_eq!(list["data"][0]["location_id"], "wh-east");
    app.assert_invariants().await;

    // The quarantined mug is fit to sell after all: released back on hand, once.
    let release =
        json!({"sku": "MUG", "location_id": "wh-east", "action": "release", "quantity": 1});
    app.post("/inventory/quarantine", &release)
        .await
        .expect(201);
    let mug = stock_with_quarantine(&app, "MUG", "wh-east").await;
    assert_eq!(mug, (before_mug.0 + 1, before_mug.1 + 1, 0));
    app.post("/inventory/quarantine", &release)
        .await
        .expect_problem(409, "not_in_quarantine");
    let moves = app.get("/inventory/MUG/movements").await.expect(200);
    let reasons: Vec<&str> = moves["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["reason"].as_str().unwrap())
        .collect();
    assert!(reasons.contains(&"quarantine_release"), "{reasons:?}");
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiving_scan_matches_any_form_of_the_gtin() {
    let app = spawn_app().await;
    // The catalog keeps GTIN-14; a warehouse scanner reads the EAN-13 on the box.
    app.post(
        "/products",
        &json!({"sku": "CUP", "name": "Cup", "price": 1000, "currency": "USD",
            "weight_grams": 250, "category": "kitchen", "returnable": true, "active": true,
            "gtin": "0614141000210"}),
    )
    .await
    .expect(201);
    app.receive("CUP", "wh-east", 5).await;
    let order = delivered(&app, &[("CUP", 1, 1000)]).await;
    let asked = app
        .post(
            "/returns",
            &json!({"order": order["number"], "items": [{"line_no": 1, "quantity": 1}],
                "reason": "arrived_damaged", "wanted": {"kind": "refund"}}),
        )
        .await
        .expect(201);
    let id = asked["id"].as_str().unwrap();
    let received = app
        .post(
            &format!("/returns/{id}/receive"),
            &json!({"location_id": "wh-east", "scans": ["0614141000210"]}),
        )
        .await
        .expect(200);
    assert_eq!(received["items"][0]["reception"], "received", "{received}");
    assert_eq!(received["unexpected_items"], json!([]));
}
