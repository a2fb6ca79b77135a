//! Exception queues and barcode scans: a short pick, a refused fulfillment order and a
//! late parcel each open one entry for a person, a delivery closes a delay, and packers
//! may scan a product's GTIN instead of its SKU.

use crate::helpers::{TestApp, order_body, send, spawn_app};
use jiff::{SignedDuration, Timestamp};
use orderly_domain::actor::Role;
use reqwest::Method;
use serde_json::{Value, json};

/// A paid order of `lines`, released (the test config has no edit window).
async fn paid_order(app: &TestApp, lines: &[(&str, i64, i64)], email: &str) -> Value {
    let mut b = order_body("web", lines);
    b["customer"]["email"] = json!(email);
    b["payment"] = json!({"method": "card", "token": "tok_visa"});
    app.create_order(&b).await
}

fn fo_id(order: &Value, n: usize) -> String {
    order["fulfillment_orders"][n]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn entries(page: &Value) -> Vec<(String, String, String)> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap().to_owned(),
                e["subject_id"].as_str().unwrap().to_owned(),
                e["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_pick_opens_one_entry_that_a_person_resolves_once() {
    let app = spawn_app().await;
    app.seed_product("MUG", 1000).await;
    app.receive("MUG", "wh-central", 3).await;
    app.receive("MUG", "wh-east", 3).await;
    let order = paid_order(&app, &[("MUG", 3, 1000)], "short@example.com").await;
    let oid = order["id"].as_str().unwrap().to_owned();
    let fid = fo_id(&order, 0);
    assert!(
        entries(&app.get("/exceptions/fulfillment").await.expect(200)).is_empty(),
        "nothing is wrong yet"
    );

    app.post(
        &format!("/fulfillment-orders/{fid}/pick"),
        &json!({"lines": [{"line_no": 1, "picked": 1}]}),
    )
    .await
    .expect(200);
    let queue = app.get("/exceptions/fulfillment").await.expect(200);
    assert_eq!(
        entries(&queue),
        [("short_pick".into(), fid.clone(), "open".into())]
    );
    let entry = &queue["data"][0];
    assert_eq!(entry["order_id"], json!(oid));
    let detail = entry["detail"].as_str().unwrap();
    assert!(detail.contains("2 of 3 not found"), "{detail}");
    assert!(entries(&app.get("/exceptions/shipping").await.expect(200)).is_empty());
    // The same entry through the all-queues list and the order filter.
    let by_order = app
        .get(&format!("/exceptions?order_id={oid}"))
        .await
        .expect(200);
    assert_eq!(entries(&by_order).len(), 1);

    // Finance may look but not resolve; the warehouse resolves it, once.
    let id = entry["id"].as_str().unwrap().to_owned();
    let path = format!("/exceptions/fulfillment/{id}/resolve");
    let (_, finance) = app.key(Role::Finance).await;
    let (_, warehouse) = app.key(Role::Warehouse).await;
    let note = json!({"resolution": "cycle count: 2 units were never there; stock corrected"});
    send(app.req_as(&finance, Method::POST, &path).json(&note))
        .await
        .expect_problem(403, "forbidden");
    send(
        app.req_as(&warehouse, Method::POST, &path)
            .json(&json!({"resolution": " "})),
    )
    .await
    .expect_problem(422, "validation_failed");
    let resolved = send(app.req_as(&warehouse, Method::POST, &path).json(&note))
        .await
        .expect(200);
    assert_eq!(resolved["status"], "resolved");
    assert!(
        resolved["resolved_by"]
            .as_str()
            .unwrap()
            .contains("api_key")
    );
    send(app.req_as(&warehouse, Method::POST, &path).json(&note))
        .await
        .expect_problem(409, "already_resolved");
    app.post(&format!("/exceptions/shipping/{id}/resolve"), &note)
        .await
        .expect_problem(404, "not_found");
    assert!(entries(&app.get("/exceptions/fulfillment").await.expect(200)).is_empty());
    assert_eq!(
        entries(
            &app.get("/exceptions/fulfillment?status=resolved")
                .await
                .expect(200)
        ),
        [("short_pick".into(), fid, "resolved".into())]
    );
    app.get("/exceptions/refunds")
        .await
        .expect_problem(404, "not_found");
    app.get("/exceptions?status=maybe")
        .await
        .expect_problem(400, "invalid_query");
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn units_no_warehouse_can_find_wait_as_a_short_pick() {
    let app = spawn_app().await;
    app.seed_product("MUG", 1000).await;
    app.receive("MUG", "wh-central", 3).await;
    let order = paid_order(&app, &[("MUG", 3, 1000)], "lost@example.com").await;
    app.post(
        &format!("/fulfillment-orders/{}/pick", fo_id(&order, 0)),
        &json!({"lines": [{"line_no": 1, "picked": 1}]}),
    )
    .await
    .expect(200);
    let after = app
        .get(&format!("/orders/{}", order["id"].as_str().unwrap()))
        .await
        .expect(200);
    // Nobody else has MUG and central's count is down to the one it found.
    assert_eq!(app.stock("MUG", "wh-central").await, (1, 1, 0));
    let line = &after["lines"][0];
    assert_eq!(line["buckets"]["backordered"], 2);
    assert_eq!(
        line["waiting"],
        json!([{"reason": "short_pick", "quantity": 2}])
    );
    assert_eq!(line["ships_from"][0]["short"], 2);
    assert_eq!(line["ships_from"][0]["quantity"], 1);
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_fulfillment_order_opens_an_entry() {
    let app = spawn_app().await;
    app.seed_product("MUG", 1000).await;
    app.receive("MUG", "wh-central", 3).await;
    app.receive("MUG", "wh-east", 3).await;
    let order = paid_order(&app, &[("MUG", 1, 1000)], "refused@example.com").await;
    let fid = fo_id(&order, 0);
    app.post(
        &format!("/fulfillment-orders/{fid}/reject"),
        &json!({"reason": "flooded aisle"}),
    )
    .await
    .expect(200);
    let queue = app.get("/exceptions/fulfillment").await.expect(200);
    assert_eq!(
        entries(&queue),
        [("fulfillment_rejected".into(), fid, "open".into())]
    );
    assert!(
        queue["data"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("flooded aisle")
    );
}

/// Picks, packs and ships a one-MUG order; returns (order id, shipment id, tracking).
async fn shipped(
    app: &TestApp,
    email: &str,
    promised_by: Option<String>,
) -> (String, String, String) {
    let order = paid_order(app, &[("MUG", 1, 1000)], email).await;
    let packed = app
        .pick_and_pack(&fo_id(&order, 0), &[(1, 1)], &["MUG"])
        .await;
    let pkg = packed["id"].as_str().unwrap().to_owned();
    let shipped = app
        .post(
            &format!("/packages/{pkg}/ship"),
            &json!({"promised_by": promised_by}),
        )
        .await
        .expect(200);
    let s = &shipped["fulfillment_orders"][0]["shipments"][0];
    (
        shipped["id"].as_str().unwrap().to_owned(),
        s["id"].as_str().unwrap().to_owned(),
        s["tracking_number"].as_str().unwrap().to_owned(),
    )
}

async fn track(app: &TestApp, id: &str, tracking: &str, status: &str) {
    let event = json!({"id": id, "carrier": "local", "tracking_number": tracking,
        "status": status, "occurred_at": Timestamp::now().to_string()});
    app.track(&event).await.expect(200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_parcel_is_queued_and_its_delivery_resolves_the_entry() {
    let app = spawn_app().await;
    app.seed_product("MUG", 1000).await;
    app.receive("MUG", "wh-central", 10).await;
    let promise = (app.clock.now() + SignedDuration::from_hours(24)).to_string();
    let (_, late, late_tracking) = shipped(&app, "late@example.com", Some(promise)).await;
    let (_, lost, lost_tracking) = shipped(&app, "lost@example.com", None).await;

    app.fire_timers_at(SignedDuration::from_hours(25)).await;
    // The carrier also reports the second parcel lost.
    track(&app, "lost-1", &lost_tracking, "lost").await;
    let mut open = entries(&app.get("/exceptions/shipping").await.expect(200));
    open.sort();
    assert_eq!(
        open,
        [
            ("shipment_delayed".into(), late.clone(), "open".into()),
            ("shipment_lost".into(), lost.clone(), "open".into()),
        ]
    );
    // Timer passes again: still one entry per problem.
    app.fire_timers_at(SignedDuration::from_hours(26)).await;
    assert_eq!(
        entries(&app.get("/exceptions/shipping").await.expect(200)).len(),
        2
    );

    // The late parcel arrives: its delay is over; a lost parcel stays a problem.
    track(&app, "late-1", &late_tracking, "delivered").await;
    assert_eq!(
        entries(&app.get("/exceptions/shipping").await.expect(200)),
        [("shipment_lost".into(), lost, "open".into())]
    );
    let closed = app
        .get("/exceptions/shipping?status=resolved")
        .await
        .expect(200);
    assert_eq!(
        entries(&closed),
        [("shipment_delayed".into(), late, "resolved".into())]
    );
    assert_eq!(closed["data"][0]["resolution"], "delivered");
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn packers_may_scan_the_gtin_in_any_of_its_forms() {
    let app = spawn_app().await;
    // A UPC-A item, stored in its 14-digit form.
    let created = app
        .post(
            "/products",
            &json!({"sku": "SODA", "name": "Soda", "price": 200, "currency": "USD",
                    "gtin": "036000291452"}),
        )
        .await
        .expect(201);
    assert_eq!(created["gtin"], "00036000291452");
    app.seed_product("CUP", 300).await;
    // A wrong check digit, and a GTIN another product has, are refused.
    app.post(
        "/products",
        &json!({"sku": "BAD", "name": "Bad", "price": 1, "currency": "USD", "gtin": "036000291453"}),
    )
    .await
    .expect_problem(422, "validation_failed");
    app.patch("/products/CUP", &json!({"gtin": "0036000291452"}))
        .await
        .expect_problem(409, "gtin_taken");
    let cup = app
        .patch("/products/CUP", &json!({"gtin": "96385074"}))
        .await
        .expect(200);
    assert_eq!(cup["gtin"], "00000096385074");

    app.receive("SODA", "wh-central", 10).await;
    app.receive("CUP", "wh-central", 10).await;
    let order = paid_order(
        &app,
        &[("SODA", 2, 200), ("CUP", 1, 300)],
        "scan@example.com",
    )
    .await;
    let fid = fo_id(&order, 0);
    app.post(
        &format!("/fulfillment-orders/{fid}/pick"),
        &json!({"lines": [{"line_no": 1, "picked": 2}, {"line_no": 2, "picked": 1}]}),
    )
    .await
    .expect(200);
    let pack = |scans: Value| json!({"scans": scans, "weight_grams": 900, "dimensions_mm": [200, 200, 100]});
    let path = format!("/fulfillment-orders/{fid}/packages");
    // A GTIN no product has is not in the order; a third soda is one too many.
    app.post(&path, &pack(json!(["4006381333931"])))
        .await
        .expect_problem(422, "scan_not_in_order");
    app.post(
        &path,
        &pack(json!(["036000291452", "0036000291452", "00036000291452"])),
    )
    .await
    .expect_problem(422, "scan_exceeds_picked");
    // The EAN-13 form, the UPC-A form and the SKU all name their products.
    let packed = app
        .post(
            &path,
            &pack(json!(["0036000291452", "036000291452", "96385074"])),
        )
        .await
        .expect(201);
    let mut items: Vec<(String, u64)> = packed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["sku"].as_str().unwrap().into(),
                i["quantity"].as_u64().unwrap(),
            )
        })
        .collect();
    items.sort();
    assert_eq!(items, [("CUP".into(), 1), ("SODA".into(), 2)]);
    let order = app
        .get(&format!("/orders/{}", order["id"].as_str().unwrap()))
        .await
        .expect(200);
    assert_eq!(order["fulfillment_orders"][0]["state"], "packed");
    app.assert_invariants().await;
}
