//! Click and collect: a pickup order is served only by its pickup location, goes onto
//! the counter instead of to a carrier, and is delivered when the customer collects it
//! with the right code.

use crate::helpers::{TestApp, order_body, spawn_app_with};
use jiff::SignedDuration;
use serde_json::{Value, json};

/// wh-west (Reno) takes collections; the Austin customer's nearest stock is in Dallas.
async fn shop() -> TestApp {
    let app = spawn_app_with(|c| {
        for l in &mut c.locations {
            l.can_pickup = l.id == "wh-west";
        }
    })
    .await;
    app.seed_product("MUG", 1000).await;
    app.receive("MUG", "wh-central", 10).await;
    app.receive("MUG", "wh-west", 2).await;
    app
}

fn pickup_body(location: &str, quantity: i64, email: &str) -> Value {
    let mut b = order_body("web", &[("MUG", quantity, 1000)]);
    b["customer"]["email"] = json!(email);
    b["delivery"] = json!({"pickup_location": location});
    b
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pickup_order_is_served_by_its_counter_and_delivered_when_collected() {
    let app = shop().await;
    let order = app
        .create_order(&pickup_body("wh-west", 1, "collect@example.com"))
        .await;
    let oid = order["id"].as_str().unwrap().to_owned();
    assert_eq!(order["delivery"]["pickup_location"], "wh-west");
    assert_eq!(order["fulfillment_orders"].as_array().unwrap().len(), 1);
    let fo = &order["fulfillment_orders"][0];
    assert_eq!(fo["location_id"], "wh-west", "not the nearer Dallas stock");
    let candidates: Vec<&str> = order["sourcing"]["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["location_id"].as_str().unwrap())
        .collect();
    assert_eq!(candidates, ["wh-west"]);
    let fid = fo["id"].as_str().unwrap().to_owned();

    let packed = app.pick_and_pack(&fid, &[(1, 1)], &["MUG"]).await;
    let pkg = packed["id"].as_str().unwrap().to_owned();
    // No carrier takes a pickup package.
    app.post(
        &format!("/packages/{pkg}/ship"),
        &json!({"carrier": "local", "service": "ground"}),
    )
    .await
    .expect_problem(422, "validation_failed");
    let on_shelf = app
        .post(&format!("/packages/{pkg}/ship"), &json!({}))
        .await
        .expect(200);
    let shipment = &on_shelf["fulfillment_orders"][0]["shipments"][0];
    assert_eq!(shipment["carrier"], "pickup");
    assert_eq!(shipment["status"], "ready_for_pickup");
    assert_eq!(
        on_shelf["fulfillment_orders"][0]["state"],
        "out_for_delivery"
    );
    assert_eq!(on_shelf["lines"][0]["buckets"]["shipped"], 1);
    assert_eq!(on_shelf["status"], "ready_for_pickup");
    let listed = app.get("/orders?status=ready_for_pickup").await.expect(200);
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);
    let sid = shipment["id"].as_str().unwrap().to_owned();
    let code = shipment["tracking_number"].as_str().unwrap().to_owned();
    assert!(code.starts_with("PU"), "{code}");
    app.get(&format!("/shipments/{sid}/label.pdf"))
        .await
        .expect_problem(409, "label_unavailable");

    // Days on the shelf are the customer's wait, not a carrier's delay.
    app.fire_timers_at(SignedDuration::from_hours(96)).await;
    let waiting = app.get(&format!("/orders/{oid}")).await.expect(200);
    assert_eq!(
        waiting["fulfillment_orders"][0]["shipments"][0]["flags"],
        json!([])
    );

    let collect = format!("/shipments/{sid}/collect");
    app.post(&collect, &json!({"pickup_code": "PU00000000"}))
        .await
        .expect_problem(422, "validation_failed");
    let collected = app
        .post(&collect, &json!({"pickup_code": code.to_lowercase()}))
        .await
        .expect(200);
    assert_eq!(collected["fulfillment_orders"][0]["state"], "delivered");
    assert_eq!(collected["lines"][0]["buckets"]["delivered"], 1);
    assert_eq!(collected["status"], "delivered");
    assert_eq!(
        collected["fulfillment_orders"][0]["shipments"][0]["scans"][1]["location"],
        "wh-west"
    );
    app.post(&collect, &json!({"pickup_code": code}))
        .await
        .expect_problem(409, "not_ready_for_pickup");
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pickup_needs_a_counter_and_its_stock() {
    let app = shop().await;
    // Dallas has no counter; an unknown location neither.
    for location in ["wh-central", "nowhere"] {
        let problem = app
            .post("/orders", &pickup_body(location, 1, "nope@example.com"))
            .await
            .expect_problem(422, "validation_failed");
        assert_eq!(
            problem["errors"][0]["code"], "pickup_not_offered",
            "{problem}"
        );
    }
    // Reno has two; Dallas's ten do not help a Reno pickup.
    app.post("/orders", &pickup_body("wh-west", 3, "three@example.com"))
        .await
        .expect_problem(422, "out_of_stock");
    assert_eq!(app.order_rows().await, 0);
    assert_eq!(
        app.stock("MUG", "wh-central").await.1,
        0,
        "nothing reserved"
    );
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_carrier_shipment_cannot_be_collected_at_a_counter() {
    let app = shop().await;
    let mut b = order_body("web", &[("MUG", 1, 1000)]);
    b["customer"]["email"] = json!("van@example.com");
    let order = app.create_order(&b).await;
    let fid = order["fulfillment_orders"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let packed = app.pick_and_pack(&fid, &[(1, 1)], &["MUG"]).await;
    let pkg = packed["id"].as_str().unwrap().to_owned();
    let shipped = app
        .post(&format!("/packages/{pkg}/ship"), &json!({}))
        .await
        .expect(200);
    let s = &shipped["fulfillment_orders"][0]["shipments"][0];
    assert_eq!(s["carrier"], "local");
    let sid = s["id"].as_str().unwrap();
    app.post(
        &format!("/shipments/{sid}/collect"),
        &json!({"pickup_code": s["tracking_number"]}),
    )
    .await
    .expect_problem(409, "not_ready_for_pickup");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stock_received_at_a_counter_that_does_not_ship_fills_its_pickup_backorder() {
    let app = spawn_app_with(|c| {
        for l in &mut c.locations {
            l.can_pickup = l.id == "wh-west";
            l.can_ship = l.id != "wh-west";
        }
        for ch in &mut c.channels {
            ch.allow_backorders = true;
        }
    })
    .await;
    app.seed_product("MUG", 1000).await;
    app.receive("MUG", "wh-central", 10).await;
    let order = app
        .create_order(&pickup_body("wh-west", 2, "wait@example.com"))
        .await;
    let oid = order["id"].as_str().unwrap().to_owned();
    assert_eq!(order["lines"][0]["buckets"]["backordered"], 2);
    // Stock arriving where it does not get collected leaves it waiting…
    app.receive("MUG", "wh-east", 5).await;
    let waiting = app.get(&format!("/orders/{oid}")).await.expect(200);
    assert_eq!(waiting["lines"][0]["buckets"]["backordered"], 2);
    // …stock at its counter fills it, though the counter ships nothing by carrier.
    app.receive("MUG", "wh-west", 5).await;
    let filled = app.get(&format!("/orders/{oid}")).await.expect(200);
    assert_eq!(filled["lines"][0]["buckets"]["backordered"], 0);
    assert_eq!(filled["fulfillment_orders"][0]["location_id"], "wh-west");
    assert_eq!(app.stock("MUG", "wh-west").await, (5, 2, 3));
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_counter_that_refuses_its_pickup_order_keeps_it_waiting_there() {
    let app = shop().await;
    let order = app
        .create_order(&pickup_body("wh-west", 1, "refused@example.com"))
        .await;
    let fid = order["fulfillment_orders"][0]["id"].as_str().unwrap();
    let after = app
        .post(
            &format!("/fulfillment-orders/{fid}/reject"),
            &json!({"reason": "counter closed for stocktake"}),
        )
        .await
        .expect(200);
    // Not sent to Dallas, which has stock: the customer collects in Reno.
    assert_eq!(after["fulfillment_orders"].as_array().unwrap().len(), 1);
    assert_eq!(after["lines"][0]["buckets"]["backordered"], 1);
    assert_eq!(app.stock("MUG", "wh-central").await.1, 0);
    assert_eq!(app.stock("MUG", "wh-west").await, (2, 0, 2));
    let queue = app.get("/exceptions/fulfillment").await.expect(200);
    assert_eq!(queue["data"][0]["kind"], "fulfillment_rejected");
    app.assert_invariants().await;
}
