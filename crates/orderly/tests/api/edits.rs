//! Order edits over real HTTP: begin, stage, preview, commit or abandon; one-shot
//! changes; unit cancellations; stock and money following each commit, and nothing of
//! a refused or abandoned edit applied.

use crate::helpers::{TestApp, order_body, reservations, ship_to, spawn_app};
use reqwest::Method;
use serde_json::{Value, json};

/// Two TEE-BLK-M at 20.00 and one MUG-1 at 12.00 to Newark (served by wh-east), paid
/// by card (the web channel captures at authorization), with 5.00 shipping.
pub(crate) async fn newark_order(app: &TestApp) -> Value {
    for (sku, price) in [("TEE-BLK-M", 2000), ("TEE-BLK-L", 2000), ("MUG-1", 1200)] {
        app.seed_product(sku, price).await;
        for wh in ["wh-east", "wh-west"] {
            app.receive(sku, wh, 5).await;
        }
    }
    let mut body = order_body("web", &[("TEE-BLK-M", 2, 2000), ("MUG-1", 1, 1200)]);
    ship_to(&mut body, "Newark", "NJ", "07102");
    let order = app.create_order(&body).await;
    assert_eq!(order["payment_state"], "captured");
    order
}

pub(crate) fn id(v: &Value) -> String {
    v["id"].as_str().expect("an id").to_owned()
}

/// POST with `If-Match` naming `version`.
async fn post_if(app: &TestApp, path: &str, version: u64, body: &Value) -> crate::helpers::Res {
    crate::helpers::send(
        app.req(Method::POST, path)
            .header("If-Match", format!("\"{version}\""))
            .json(body),
    )
    .await
}

fn reno() -> Value {
    json!({"name": "Ana Diaz", "line1": "1 Virginia St", "line2": null, "city": "Reno",
        "region": "NV", "postal_code": "89501", "country": "US"})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_address_change_previewed_and_committed_resources_to_the_nearer_warehouse() {
    let app = spawn_app().await;
    let order = newark_order(&app).await;
    let oid = id(&order);
    assert_eq!(reservations(&order, 0), vec![("wh-east".into(), 2)]);
    let begun = app
        .post(
            &format!("/orders/{oid}/edits"),
            &json!({"note": "customer moved"}),
        )
        .await
        .expect(201);
    let edit = id(&begun);
    assert_eq!(
        (
            begun["state"].as_str(),
            begun["changes"].as_array().map(Vec::len)
        ),
        (Some("open"), Some(0))
    );
    let staged = app
        .post(
            &format!("/orders/{oid}/edits/{edit}/changes"),
            &json!({"changes": [{"type": "shipping_address", "address": reno()}]}),
        )
        .await
        .expect(200);
    // The preview says what will move and why, and nothing has moved yet.
    let reason = staged["resourced"].as_str().expect("a re-sourcing");
    assert!(
        reason.contains("wh-west") && reason.contains("wh-east"),
        "{reason}"
    );
    assert_eq!(
        staged["stock"]["released"].as_array().map(Vec::len),
        Some(2)
    );
    assert_eq!(staged["money"]["settlement"], "no money moves");
    assert_eq!(
        staged["affected_fulfillment_orders"],
        json!([order["fulfillment_orders"][0]["id"]])
    );
    assert_eq!(app.stock("TEE-BLK-M", "wh-east").await, (5, 2, 3));
    let preview = app
        .get(&format!("/orders/{oid}/edits/{edit}"))
        .await
        .expect(200);
    assert_eq!(preview["resourced"], staged["resourced"]);
    let version = staged["order_version"].as_u64().expect("version");
    let committed = post_if(
        &app,
        &format!("/orders/{oid}/edits/{edit}/commit"),
        version,
        &json!({}),
    )
    .await
    .expect(200);
    assert_eq!(committed["state"], "committed");
    assert_eq!(app.stock("TEE-BLK-M", "wh-east").await, (5, 0, 5));
    assert_eq!(app.stock("TEE-BLK-M", "wh-west").await, (5, 2, 3));
    let after = app.get(&format!("/orders/{oid}")).await.expect(200);
    assert_eq!(after["shipping_address"]["city"], "Reno");
    assert_eq!(reservations(&after, 0), vec![("wh-west".into(), 2)]);
    assert!(after["open_edit"].is_null());
    let timeline = app
        .get(&format!("/orders/{oid}/timeline"))
        .await
        .expect(200);
    let said: Vec<&str> = timeline["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "order_edited")
        .filter_map(|e| e["summary"].as_str())
        .collect();
    assert_eq!(said.len(), 1);
    assert!(
        said[0].starts_with(
            "admin key 'test' changed the order: shipping address to 1 Virginia St, Reno NV US"
        ),
        "{}",
        said[0]
    );
    assert!(
        said[0].contains("re-sourced: the new address in Reno, US is better served from wh-west"),
        "{}",
        said[0]
    );
    let changes = app.get(&format!("/orders/{oid}/changes")).await.expect(200);
    assert_eq!(changes["data"][0]["id"], edit.as_str());
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_size_swap_keeps_the_price_and_moves_the_stock() {
    let app = spawn_app().await;
    let order = newark_order(&app).await;
    let oid = id(&order);
    let change = json!({"changes": [{"type": "swap_variant", "line_no": 1, "sku": "TEE-BLK-L", "quantity": 1}]});
    let done = app
        .post(&format!("/orders/{oid}/changes"), &change)
        .await
        .expect(201);
    assert_eq!(done["money"]["difference"], 0);
    assert_eq!(done["totals_after"]["total_amount"], order["total_amount"]);
    assert_eq!(app.stock("TEE-BLK-M", "wh-east").await, (5, 1, 4));
    assert_eq!(app.stock("TEE-BLK-L", "wh-east").await, (5, 1, 4));
    let after = app.get(&format!("/orders/{oid}")).await.expect(200);
    let skus: Vec<(&str, u64)> = after["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["sku"].as_str().unwrap(),
                l["buckets"]["ordered"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(skus, [("TEE-BLK-M", 1), ("MUG-1", 1), ("TEE-BLK-L", 1)]);
    assert!(
        done["summary"]
            .as_str()
            .unwrap()
            .contains("changed 1 unit of TEE-BLK-M to TEE-BLK-L")
    );
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quantity_beyond_stock_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let order = newark_order(&app).await;
    let oid = id(&order);
    let before = app.fingerprint().await;
    let change = json!({"changes": [{"type": "set_quantity", "line_no": 1, "quantity": 11}]});
    app.post(&format!("/orders/{oid}/changes"), &change)
        .await
        .expect_problem(422, "out_of_stock");
    assert_eq!(app.fingerprint().await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_a_line_refunds_its_captured_share() {
    let app = spawn_app().await;
    let order = newark_order(&app).await;
    let oid = id(&order);
    let refunds = app.simulator_calls("refund");
    let done = app
        .change(&oid, json!([{"type": "remove_line", "line_no": 2}]))
        .await
        .expect(201);
    assert_eq!(done["money"]["refunded_amount"], 1200);
    assert_eq!(
        app.simulator_calls("refund"),
        refunds + 1,
        "the refund reached the provider"
    );
    let after = app.get(&format!("/orders/{oid}")).await.expect(200);
    assert_eq!(after["total_amount"], 4500);
    assert_eq!(after["balance_due"], 0);
    assert_eq!(after["refunds"][0]["amount"], 1200);
    assert_eq!(app.stock("MUG-1", "wh-east").await, (5, 0, 5));
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_increase_collects_the_difference_and_a_decline_leaves_a_balance_due() {
    let app = spawn_app().await;
    let order = newark_order(&app).await;
    let oid = id(&order);
    let more = json!({"type": "set_quantity", "line_no": 1, "quantity": 3});
    let paid = app
        .post(
            &format!("/orders/{oid}/changes"),
            &json!({"changes": [more], "payment": {"method": "card", "token": "tok_visa"}}),
        )
        .await
        .expect(201);
    assert_eq!(paid["money"]["authorized_amount"], 2000);
    let after = app.get(&format!("/orders/{oid}")).await.expect(200);
    assert_eq!(
        (
            after["balance_due"].as_i64(),
            after["payment_state"].as_str()
        ),
        (Some(0), Some("captured"))
    );
    assert_eq!(after["payments"].as_array().map(Vec::len), Some(2));

    let declined = app
        .post(
            &format!("/orders/{oid}/changes"),
            &json!({"changes": [{"type": "set_quantity", "line_no": 1, "quantity": 4}],
                "payment": {"method": "card", "token": "tok_declined"}}),
        )
        .await
        .expect(201);
    assert_eq!(declined["money"]["authorized_amount"], 2000);
    let after = app.get(&format!("/orders/{oid}")).await.expect(200);
    assert_eq!(
        after["balance_due"], 2000,
        "the declined difference stays owed"
    );
    let queue = app
        .get("/exceptions/payments?kind=balance_due")
        .await
        .expect(200);
    let entry = &queue["data"][0];
    assert_eq!(entry["order_id"], oid.as_str());
    assert!(
        entry["detail"]
            .as_str()
            .unwrap()
            .starts_with("USD 20.00 owed after edit")
    );
    // A new card pays exactly what is owed, and the entry closes.
    let settled = app
        .post(
            &format!("/orders/{oid}/payments"),
            &json!({"method": "card", "token": "tok_visa"}),
        )
        .await
        .expect(200);
    assert_eq!(settled["payments"][3]["amount"], 2000);
    assert_eq!(settled["balance_due"], 0);
    let queue = app
        .get("/exceptions/payments?kind=balance_due")
        .await
        .expect(200);
    assert_eq!(queue["data"].as_array().map(Vec::len), Some(0), "{queue}");
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_increase_without_payment_holds_the_order_until_it_is_paid() {
    let app = spawn_app().await;
    app.seed_product("CAP-1", 1500).await;
    app.receive("CAP-1", "wh-east", 5).await;
    // A marketplace order (capture at shipment, stock at payment) not released yet:
    // held for review, so it waits.
    let mut body = order_body("marketplace", &[("CAP-1", 1, 1500)]);
    ship_to(&mut body, "Newark", "NJ", "07102");
    let order = app.create_order(&body).await;
    let oid = id(&order);
    app.post(
        &format!("/orders/{oid}/holds"),
        &json!({"reason": "manual"}),
    )
    .await
    .expect(200);
    let done = app
        .change(
            &oid,
            json!([{"type": "set_quantity", "line_no": 1, "quantity": 2}]),
        )
        .await
        .expect(201);
    assert_eq!(done["money"]["balance_due"], 1500);
    let after = app.get(&format!("/orders/{oid}")).await.expect(200);
    let holds: Vec<&str> = after["holds"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|h| h["reason"].as_str())
        .collect();
    assert!(holds.contains(&"balance_due"), "{holds:?}");
    assert!(
        after["release_blocked_by"]
            .as_array()
            .unwrap()
            .contains(&json!("hold:balance_due"))
    );
    let paid = app
        .post(
            &format!("/orders/{oid}/payments"),
            &json!({"method": "card", "token": "tok_visa"}),
        )
        .await
        .expect(200);
    let holds: Vec<&str> = paid["holds"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|h| h["reason"].as_str())
        .collect();
    assert_eq!(holds, ["manual"], "paying the balance lifts its hold");
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_open_edit_a_stale_version_and_an_abandoned_edit_change_nothing() {
    let app = spawn_app().await;
    let order = newark_order(&app).await;
    let oid = id(&order);
    let begun = app
        .post(&format!("/orders/{oid}/edits"), &json!({}))
        .await
        .expect(201);
    let edit = id(&begun);
    let second = app
        .post(&format!("/orders/{oid}/edits"), &json!({}))
        .await
        .expect_problem(409, "edit_open");
    assert!(second["detail"].as_str().unwrap().contains(&edit));
    let version = begun["order_version"].as_u64().unwrap();
    let stale = post_if(
        &app,
        &format!("/orders/{oid}/edits/{edit}/changes"),
        version - 1,
        &json!({"changes": [{"type": "set_quantity", "line_no": 1, "quantity": 3}]}),
    )
    .await
    .expect_problem(412, "precondition_failed");
    assert!(
        stale["detail"]
            .as_str()
            .unwrap()
            .contains(&format!("version {version}"))
    );
    app.post(
        &format!("/orders/{oid}/edits/{edit}/changes"),
        &json!({"changes": [{"type": "set_quantity", "line_no": 1, "quantity": 3}]}),
    )
    .await
    .expect(200);
    let stock = app.stock("TEE-BLK-M", "wh-east").await;
    app.post(
        &format!("/orders/{oid}/edits/{edit}/abandon"),
        &json!({"reason": "customer kept it"}),
    )
    .await
    .expect(200);
    assert_eq!(app.stock("TEE-BLK-M", "wh-east").await, stock);
    let after = app.get(&format!("/orders/{oid}")).await.expect(200);
    assert_eq!(
        (
            after["lines"][0]["buckets"]["ordered"].as_u64(),
            after["changes_count"].as_u64()
        ),
        (Some(2), Some(0))
    );
    app.post(&format!("/orders/{oid}/edits/{edit}/commit"), &json!({}))
        .await
        .expect_problem(409, "edit_closed");
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decrease_before_capture_lowers_the_authorization_and_the_shipment_captures_the_new_total()
 {
    let app = spawn_app().await;
    for (sku, price) in [("CAP-1", 1500), ("MUG-1", 1200)] {
        app.seed_product(sku, price).await;
        app.receive(sku, "wh-east", 5).await;
    }
    // The marketplace captures at shipment: the card is only authorized.
    let mut body = order_body("marketplace", &[("CAP-1", 1, 1500), ("MUG-1", 1, 1200)]);
    ship_to(&mut body, "Newark", "NJ", "07102");
    let order = app.create_order(&body).await;
    let oid = id(&order);
    assert_eq!(order["payment_state"], "authorized");
    let done = app
        .change(&oid, json!([{"type": "remove_line", "line_no": 2}]))
        .await
        .expect(201);
    assert_eq!(done["money"]["released_amount"], 1200);
    assert_eq!(
        app.simulator_calls("reduce"),
        1,
        "the provider lowered the authorization"
    );
    let after = app.get(&format!("/orders/{oid}")).await.expect(200);
    let payment = &after["payments"][0];
    assert_eq!(
        (
            payment["capturable"].as_i64(),
            after["total_amount"].as_i64()
        ),
        (Some(2000), Some(2000))
    );
    let ops: Vec<&str> = payment["operations"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| o["kind"].as_str())
        .collect();
    assert_eq!(ops, ["authorize", "reduce"]);
    let ful = crate::helpers::first_fulfillment(&after);
    let pkg = app.pick_and_pack(&ful, &[(1, 1)], &["CAP-1"]).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let shipped = app
        .post(&format!("/packages/{pkg}/ship"), &json!({}))
        .await
        .expect(200);
    assert_eq!(
        shipped["payments"][0]["captured"], 2000,
        "the shipment captures the new total"
    );
    app.assert_invariants().await;
}
