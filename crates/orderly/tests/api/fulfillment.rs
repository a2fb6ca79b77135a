//! Fulfillment orders: one per location a sourcing decision reserved at, released to the
//! warehouse once the order is paid and free of holds (after the edit window), or by hand.

use crate::helpers::{TestApp, order_body, send, spawn_app, spawn_app_with};
use jiff::{SignedDuration, Timestamp};
use orderly_domain::actor::Role;
use reqwest::Method;
use serde_json::{Value, json};

/// MUG at wh-central only, CAP at wh-east only: an order of both splits in two.
async fn shop(app: TestApp) -> TestApp {
    app.seed_product("MUG", 1000).await;
    app.seed_product("CAP", 2000).await;
    app.receive("MUG", "wh-central", 20).await;
    app.receive("CAP", "wh-east", 20).await;
    app
}

fn body(token: &str) -> Value {
    let mut b = order_body("web", &[("MUG", 2, 1000), ("CAP", 1, 2000)]);
    b["payment"] = json!({"method": "card", "token": token});
    b
}

fn states(order: &Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = order["fulfillment_orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["location_id"].as_str().unwrap().to_owned(),
                f["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    out.sort();
    out
}

fn released(order: &Value) -> Vec<u64> {
    order["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["buckets"]["released"].as_u64().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paid_split_order_is_released_to_both_warehouses() {
    let app = shop(spawn_app().await).await;
    let order = app.create_order(&body("tok_visa")).await;
    assert_eq!(
        states(&order),
        [
            ("wh-central".into(), "released".into()),
            ("wh-east".into(), "released".into())
        ]
    );
    assert_eq!(released(&order), [2, 1]);
    assert_eq!(order["release_blocked_by"], json!([]));
    let fo = &order["fulfillment_orders"][0];
    let id = fo["id"].as_str().unwrap();
    let alone = app
        .get(&format!("/fulfillment-orders/{id}"))
        .await
        .expect(200);
    assert_eq!(alone["order_number"], order["number"]);
    assert_eq!(alone["lines"], fo["lines"]);
    app.get("/fulfillment-orders/ful_nope_1")
        .await
        .expect_problem(404, "fulfillment_order_not_found");
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unpaid_order_waits_and_is_released_once_paid() {
    let app = shop(spawn_app().await).await;
    let order = app.create_order(&body("tok_declined")).await;
    let oid = order["id"].as_str().unwrap().to_owned();
    assert_eq!(states(&order)[0].1, "pending");
    assert_eq!(released(&order), [0, 0]);
    let fid = order["fulfillment_orders"][0]["id"].as_str().unwrap();
    let refused = app
        .post(&format!("/fulfillment-orders/{fid}/release"), &json!({}))
        .await
        .expect_problem(409, "release_blocked");
    assert!(
        refused["detail"]
            .as_str()
            .unwrap()
            .contains("awaiting_payment"),
        "{refused}"
    );
    let paid = app
        .post(
            &format!("/orders/{oid}/payments"),
            &json!({"method": "card", "token": "tok_visa"}),
        )
        .await
        .expect(200);
    assert_eq!(states(&paid)[0].1, "released");
    assert_eq!(states(&paid)[1].1, "released");
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hold_keeps_the_order_from_the_warehouse_until_it_is_released() {
    let app = shop(spawn_app_with(|c| c.risk.high_value_threshold_minor = Some(3000)).await).await;
    let order = app.create_order(&body("tok_visa")).await;
    let oid = order["id"].as_str().unwrap().to_owned();
    assert_eq!(order["holds"][0]["reason"], "high_value_review");
    assert_eq!(states(&order)[0].1, "pending");
    assert_eq!(
        order["lines"][0]["waiting"],
        json!([{"reason": "hold:high_value_review", "quantity": 2}])
    );
    let (_, finance) = app.key(Role::Finance).await;
    let fid = order["fulfillment_orders"][0]["id"].as_str().unwrap();
    // Finance may not release to the warehouse; the warehouse may not while on hold.
    send(app.req_as(
        &finance,
        Method::POST,
        &format!("/fulfillment-orders/{fid}/release"),
    ))
    .await
    .expect_problem(403, "forbidden");
    let (_, warehouse) = app.key(Role::Warehouse).await;
    send(app.req_as(
        &warehouse,
        Method::POST,
        &format!("/fulfillment-orders/{fid}/release"),
    ))
    .await
    .expect_problem(409, "release_blocked");
    let cleared = send(
        app.req_as(
            &finance,
            Method::POST,
            &format!("/orders/{oid}/holds/high_value_review/release"),
        )
        .json(&json!({"note": "ok"})),
    )
    .await
    .expect(200);
    assert_eq!(states(&cleared)[0].1, "released");
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_edit_window_delays_release_and_a_person_can_skip_it() {
    let app = shop(spawn_app_with(|c| c.fulfillment.release_delay_minutes = 15).await).await;
    let order = app.create_order(&body("tok_visa")).await;
    let oid = order["id"].as_str().unwrap().to_owned();
    assert_eq!(order["order_state"], "confirmed");
    assert_eq!(states(&order)[0].1, "pending");
    assert_eq!(order["release_blocked_by"], json!([]));
    let confirmed: Timestamp = order["updated_at"].as_str().unwrap().parse().unwrap();

    app.clock.set(confirmed + SignedDuration::from_mins(14));
    app.state.fire_due_timers(app.clock.now()).await.unwrap();
    let early = app.get(&format!("/orders/{oid}")).await.expect(200);
    assert_eq!(states(&early)[0].1, "pending");
    app.clock.set(confirmed + SignedDuration::from_mins(16));
    app.state.fire_due_timers(app.clock.now()).await.unwrap();
    let late = app.get(&format!("/orders/{oid}")).await.expect(200);
    assert_eq!(states(&late)[0].1, "released");
    assert_eq!(states(&late)[1].1, "released");

    // Another order, released by hand inside its window; the timer then finds nothing.
    let other = app.create_order(&body("tok_visa")).await;
    let fid = other["fulfillment_orders"][0]["id"].as_str().unwrap();
    let (_, support) = app.key(Role::Support).await;
    let by_hand = send(app.req_as(
        &support,
        Method::POST,
        &format!("/fulfillment-orders/{fid}/release"),
    ))
    .await
    .expect(200);
    let first = by_hand["fulfillment_orders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == fid)
        .unwrap()
        .clone();
    assert_eq!(first["state"], "released");
    send(app.req_as(
        &support,
        Method::POST,
        &format!("/fulfillment-orders/{fid}/release"),
    ))
    .await
    .expect_problem(409, "fulfillment_not_pending");
    app.assert_invariants().await;
}

fn fo_at<'a>(order: &'a Value, location: &str) -> &'a Value {
    order["fulfillment_orders"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|f| f["location_id"] == location)
        .unwrap_or_else(|| panic!("no fulfillment order at {location}: {order}"))
}

fn bucket(order: &Value, line: usize, name: &str) -> u64 {
    order["lines"][line]["buckets"][name].as_u64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_split_order_is_picked_packed_and_shipped_with_a_short_pick_resourced() {
    let app = spawn_app_with(|c| {
        for ch in &mut c.channels {
            ch.capture = orderly_domain::payment::CaptureMode::OnShipment;
        }
    })
    .await;
    app.seed_product("MUG", 1000).await;
    app.seed_product("CAP", 2000).await;
    app.seed_product("TEE", 1500).await;
    app.receive("MUG", "wh-central", 20).await;
    app.receive("CAP", "wh-east", 20).await;
    app.receive("TEE", "wh-east", 5).await;
    app.receive("TEE", "wh-west", 5).await;
    let mut b = order_body(
        "web",
        &[("MUG", 2, 1000), ("CAP", 1, 2000), ("TEE", 2, 1500)],
    );
    b["payment"] = json!({"method": "card", "token": "tok_visa"});
    let order = app.create_order(&b).await;
    let oid = order["id"].as_str().unwrap().to_owned();
    assert_eq!(order["payment_state"], "authorized");
    assert_eq!(order["payments"][0]["authorized"], 7500);
    assert_eq!(
        states(&order),
        [
            ("wh-central".into(), "released".into()),
            ("wh-east".into(), "released".into())
        ]
    );
    let central = fo_at(&order, "wh-central")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let east = fo_at(&order, "wh-east")["id"].as_str().unwrap().to_owned();
    let (_, warehouse) = app.key(Role::Warehouse).await;
    let post = |path: String, body: Value| {
        let req = app.req_as(&warehouse, Method::POST, &path).json(&body);
        async move { send(req).await }
    };

    // Pick: all of it at central; at east one TEE is missing.
    post(
        format!("/fulfillment-orders/{central}/pick"),
        json!({"lines": [{"line_no": 1, "picked": 3}]}),
    )
    .await
    .expect_problem(422, "invalid_pick");
    post(
        format!("/fulfillment-orders/{central}/pick"),
        json!({"lines": [{"line_no": 1, "picked": 2}]}),
    )
    .await
    .expect(200);
    let picked = post(
        format!("/fulfillment-orders/{east}/pick"),
        json!({"lines": [{"line_no": 2, "picked": 1}, {"line_no": 3, "picked": 1}]}),
    )
    .await
    .expect(200);
    // The pick answers with what it recorded, and where the order is.
    assert_eq!(picked["fulfillment_order_id"], json!(east));
    assert_eq!(picked["state"], "picking");
    assert_eq!(
        picked["lines"],
        json!([{"line_no": 2, "sku": "CAP", "picked": 1, "short": 0},
               {"line_no": 3, "sku": "TEE", "picked": 1, "short": 1}])
    );
    assert_eq!(picked["order_id"], json!(oid));
    assert_eq!(
        picked["links"]["order"],
        json!(format!("/api/v1/orders/{oid}"))
    );
    let after_short = app.get(&format!("/orders/{oid}")).await.expect(200);
    // The missing TEE is sourced again, at wh-west, and released there.
    let west = fo_at(&after_short, "wh-west");
    assert_eq!(west["state"], "released");
    assert_eq!(west["lines"][0]["sku"], "TEE");
    assert_eq!(west["lines"][0]["quantity"], 1);
    let west = west["id"].as_str().unwrap().to_owned();
    assert_eq!(
        app.stock("TEE", "wh-east").await,
        (4, 1, 3),
        "the missing unit left on hand"
    );
    assert_eq!(app.stock("TEE", "wh-west").await, (5, 1, 4));
    assert_eq!(bucket(&after_short, 2, "allocated"), 2);
    // The line says where its units went: one found at east, one not, one now at west.
    let placements: Vec<(String, u64, u64)> = after_short["lines"][2]["ships_from"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["location_id"].as_str().unwrap().to_owned(),
                p["quantity"].as_u64().unwrap(),
                p["short"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        placements,
        [("wh-east".into(), 1, 1), ("wh-west".into(), 1, 0)]
    );
    assert_eq!(after_short["lines"][2]["waiting"], json!([]));

    // Pack with scan checks.
    let pack = |fo: String, scans: Value| {
        post(
            format!("/fulfillment-orders/{fo}/packages"),
            json!({"scans": scans, "weight_grams": 900, "dimensions_mm": [300, 200, 100]}),
        )
    };
    pack(central.clone(), json!(["CAP"]))
        .await
        .expect_problem(422, "scan_not_in_order");
    pack(central.clone(), json!(["MUG", "MUG", "MUG"]))
        .await
        .expect_problem(422, "scan_exceeds_picked");
    let packed = pack(central.clone(), json!(["MUG", "MUG"]))
        .await
        .expect(201);
    let package = packed["id"].as_str().unwrap().to_owned();
    assert_eq!(packed["fulfillment_order_id"], json!(central));
    assert_eq!(packed["order_id"], json!(oid));
    let after_pack = app.get(&format!("/orders/{oid}")).await.expect(200);
    let central_fo = fo_at(&after_pack, "wh-central");
    assert_eq!(central_fo["state"], "packed");
    assert_eq!(central_fo["packages"][0]["id"], json!(package));

    // Ship central: a partial shipment, capturing its share.
    let shipped = post(format!("/packages/{package}/ship"), json!({}))
        .await
        .expect(200);
    assert_eq!(fo_at(&shipped, "wh-central")["state"], "shipped");
    let tracking = fo_at(&shipped, "wh-central")["shipments"][0]["tracking_number"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(tracking.starts_with("LC"), "{tracking}");
    assert_eq!(bucket(&shipped, 0, "shipped"), 2);
    assert_eq!(bucket(&shipped, 0, "allocated"), 0);
    assert_eq!(shipped["fulfillment_state"], "partially_fulfilled");
    assert_eq!(shipped["status"], "partially_fulfilled");
    assert_eq!(shipped["payments"][0]["captured"], 2000);
    // Each line says where it ships from and with which tracking number.
    let from = &shipped["lines"][0]["ships_from"][0];
    assert_eq!(from["location_id"], "wh-central");
    assert_eq!(from["shipped"], 2);
    assert_eq!(from["tracking_numbers"], json!([tracking]));
    assert_eq!(shipped["lines"][0]["waiting"], json!([]));
    assert_eq!(app.stock("MUG", "wh-central").await, (18, 0, 18));
    post(format!("/packages/{package}/ship"), json!({}))
        .await
        .expect_problem(409, "package_already_shipped");

    // East and west follow; the last shipment captures the rest (shipping included).
    let east_packed = pack(east.clone(), json!(["TEE", "CAP"])).await.expect(201);
    let east_pkg = east_packed["id"].as_str().unwrap().to_owned();
    let mid = post(
        format!("/packages/{east_pkg}/ship"),
        json!({"carrier": "local", "service": "express", "tracking_number": "LC-EAST-1"}),
    )
    .await
    .expect(200);
    assert_eq!(mid["payments"][0]["captured"], 5500);
    post(
        format!("/fulfillment-orders/{west}/pick"),
        json!({"lines": [{"line_no": 3, "picked": 1}]}),
    )
    .await
    .expect(200);
    let west_packed = pack(west.clone(), json!(["TEE"])).await.expect(201);
    let west_pkg = west_packed["id"].as_str().unwrap().to_owned();
    let done = post(format!("/packages/{west_pkg}/ship"), json!({}))
        .await
        .expect(200);
    assert_eq!(done["fulfillment_state"], "fulfilled");
    assert_eq!(done["status"], "shipped");
    assert_eq!(done["payment_state"], "captured");
    assert_eq!(done["payments"][0]["captured"], 7500);
    for line in 0..3 {
        assert_eq!(
            bucket(&done, line, "shipped"),
            done["lines"][line]["quantity"].as_u64().unwrap()
        );
    }
    assert_eq!(app.stock("TEE", "wh-east").await, (3, 0, 3));
    assert_eq!(app.stock("TEE", "wh-west").await, (4, 0, 4));
    // Support may not pick, pack or ship.
    let (_, support) = app.key(Role::Support).await;
    send(
        app.req_as(
            &support,
            Method::POST,
            &format!("/fulfillment-orders/{west}/pick"),
        )
        .json(&json!({"lines": []})),
    )
    .await
    .expect_problem(403, "forbidden");
    // Refused before anything is looked up or booked: a package the order does not have
    // is still the role's refusal, not a 404 that tells support what exists.
    send(
        app.req_as(
            &support,
            Method::POST,
            &format!("/packages/{west_pkg}9/ship"),
        )
        .json(&json!({})),
    )
    .await
    .expect_problem(403, "forbidden");
    send(
        app.req_as(
            &support,
            Method::POST,
            &format!("/fulfillment-orders/{west}/packages"),
        )
        .json(&json!({"scans": ["MUG"], "weight_grams": 100, "dimensions_mm": [1, 1, 1]})),
    )
    .await
    .expect_problem(403, "forbidden");
    let timeline = app
        .get(&format!("/orders/{oid}/timeline"))
        .await
        .expect(200);
    let kinds: Vec<&str> = timeline["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.iter().filter(|k| **k == "package_shipped").count(), 3);
    app.assert_invariants().await;
}

/// Picks and packs a one-MUG order's only fulfillment order; returns the package id.
async fn pick_and_pack_mug(app: &TestApp, order: &Value) -> String {
    let fid = order["fulfillment_orders"][0]["id"].as_str().unwrap();
    let packed = app.pick_and_pack(fid, &[(1, 1)], &["MUG"]).await;
    packed["id"].as_str().unwrap().to_owned()
}

/// Places, picks, packs and ships a one-MUG order; returns (order id, tracking number).
async fn shipped_mug(app: &TestApp, promised_by: Option<&str>) -> (String, String) {
    let mut b = order_body("web", &[("MUG", 1, 1000)]);
    b["payment"] = json!({"method": "card", "token": "tok_visa"});
    let order = app.create_order(&b).await;
    let oid = order["id"].as_str().unwrap().to_owned();
    let pkg = pick_and_pack_mug(app, &order).await;
    let mut ship = json!({});
    if let Some(p) = promised_by {
        ship["promised_by"] = json!(p);
    }
    let shipped = app
        .post(&format!("/packages/{pkg}/ship"), &ship)
        .await
        .expect(200);
    let tracking = shipped["fulfillment_orders"][0]["shipments"][0]["tracking_number"]
        .as_str()
        .unwrap()
        .to_owned();
    (oid, tracking)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tracking_moves_shipments_forward_only_and_ignores_duplicates() {
    let app = shop(spawn_app().await).await;
    let (oid, tracking) = shipped_mug(&app, None).await;
    let event = |id: &str, status: &str, at: &str| {
        json!({"id": id, "carrier": "local", "tracking_number": tracking, "status": status,
               "occurred_at": at, "location": "Dallas, TX"})
    };
    let path = format!("/orders/{oid}");

    let moved = app
        .track(&event("t1", "in_transit", "2026-11-22T10:00:00Z"))
        .await
        .expect(200);
    assert_eq!(moved["status"], "applied");
    assert_eq!(
        app.get(&path).await.expect(200)["fulfillment_orders"][0]["state"],
        "in_transit"
    );
    // The same event again is refused; a forged one too; an unknown parcel is 404.
    app.track(&event("t1", "in_transit", "2026-11-22T10:00:00Z"))
        .await
        .expect_problem(409, "duplicate_event");
    let mut unknown = event("t9", "in_transit", "2026-11-22T10:00:00Z");
    unknown["tracking_number"] = json!("NOPE");
    app.track(&unknown)
        .await
        .expect_problem(404, "shipment_not_found");
    send(app.client.post(app.url("/tracking-events")).json(&event(
        "t8",
        "delivered",
        "2026-11-22T10:00:00Z",
    )))
    .await
    .expect_problem(401, "missing_signature_header");

    app.track(&event("t2", "delivered", "2026-11-23T09:00:00Z"))
        .await
        .expect(200);
    let delivered = app.get(&path).await.expect(200);
    assert_eq!(delivered["fulfillment_orders"][0]["state"], "delivered");
    assert_eq!(delivered["lines"][0]["buckets"]["delivered"], 1);
    assert_eq!(delivered["fulfillment_state"], "delivered");
    assert_eq!(delivered["status"], "delivered");
    // A late scan is recorded but does not move the parcel back.
    app.track(&event("t3", "in_transit", "2026-11-22T18:00:00Z"))
        .await
        .expect(200);
    let after = app.get(&path).await.expect(200);
    let shipment = &after["fulfillment_orders"][0]["shipments"][0];
    assert_eq!(shipment["status"], "delivered");
    assert_eq!(shipment["scans"].as_array().unwrap().len(), 3);
    assert_eq!(after["fulfillment_orders"][0]["state"], "delivered");
    assert_eq!(after["lines"][0]["buckets"]["delivered"], 1);
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_shipment_or_a_missed_promise_is_flagged_delayed() {
    let app = shop(spawn_app().await).await;
    let (quiet, _) = shipped_mug(&app, None).await;
    let promise = (app.clock.now() + SignedDuration::from_hours(24)).to_string();
    let (promised, _) = shipped_mug(&app, Some(&promise)).await;
    let flags = |order: &Value| order["fulfillment_orders"][0]["shipments"][0]["flags"].clone();

    // A day on: the promise passed, the other parcel has been quiet for 24 h only.
    app.fire_timers_at(SignedDuration::from_hours(25)).await;
    assert_eq!(
        flags(&app.get(&format!("/orders/{promised}")).await.expect(200)),
        json!(["delayed"])
    );
    assert_eq!(
        flags(&app.get(&format!("/orders/{quiet}")).await.expect(200)),
        json!([])
    );
    // Two days on: 48 h without a scan.
    app.fire_timers_at(SignedDuration::from_hours(49)).await;
    let late = app.get(&format!("/orders/{quiet}")).await.expect(200);
    assert_eq!(flags(&late), json!(["delayed"]));
    let timeline = app
        .get(&format!("/orders/{quiet}/timeline"))
        .await
        .expect(200);
    let delayed: Vec<&Value> = timeline["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "shipment_delayed")
        .collect();
    assert_eq!(delayed.len(), 1, "flagged once");
    assert!(
        delayed[0]["summary"]
            .as_str()
            .unwrap()
            .contains("no scan for 48 hours")
    );
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn received_stock_goes_to_the_oldest_backordered_order_first() {
    let app = spawn_app().await;
    app.seed_product("RARE", 5000).await;
    let order = |qty: i64, email: &str| {
        let mut b = order_body("marketplace", &[("RARE", qty, 5000)]);
        b["customer"]["email"] = json!(email);
        b["payment"] = json!({"method": "card", "token": "tok_visa"});
        b
    };
    let first = app.create_order(&order(2, "a@example.com")).await;
    let cancelled = app.create_order(&order(1, "b@example.com")).await;
    let second = app.create_order(&order(1, "c@example.com")).await;
    let third = app.create_order(&order(1, "d@example.com")).await;
    for o in [&first, &second, &third] {
        assert_eq!(o["lines"][0]["buckets"]["allocated"], 0, "{o}");
        assert!(o["lines"][0]["buckets"]["backordered"].as_u64().unwrap() > 0);
    }
    app.post(
        &format!("/orders/{}/cancellation", cancelled["id"].as_str().unwrap()),
        &json!({"reason": "customer_request"}),
    )
    .await
    .expect(200);
    let get = |o: &Value| {
        let path = format!("/orders/{}", o["id"].as_str().unwrap());
        let app = &app;
        async move { app.get(&path).await.expect(200) }
    };

    // Three arrive: the oldest order takes two, the cancelled one nothing, the next one.
    app.receive("RARE", "wh-west", 3).await;
    let (a, b, c) = (get(&first).await, get(&second).await, get(&third).await);
    assert_eq!(a["lines"][0]["buckets"]["allocated"], 2);
    assert_eq!(a["lines"][0]["buckets"]["backordered"], 0);
    assert_eq!(fo_at(&a, "wh-west")["state"], "released");
    assert_eq!(b["lines"][0]["buckets"]["allocated"], 1);
    assert_eq!(c["lines"][0]["buckets"]["allocated"], 0);
    assert_eq!(c["lines"][0]["buckets"]["backordered"], 1);
    assert_eq!(
        c["lines"][0]["waiting"],
        json!([{"reason": "backorder", "quantity": 1}])
    );
    assert_eq!(app.stock("RARE", "wh-west").await, (3, 3, 0));
    let timeline = app
        .get(&format!(
            "/orders/{}/timeline",
            first["id"].as_str().unwrap()
        ))
        .await
        .expect(200);
    assert!(
        timeline["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["type"] == "backorder_filled")
    );
    // The next unit goes to the last one waiting.
    app.receive("RARE", "wh-east", 1).await;
    assert_eq!(get(&third).await["lines"][0]["buckets"]["allocated"], 1);
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_label_pdf_opens_and_its_barcode_decodes_to_the_tracking_number() {
    let app = shop(spawn_app().await).await;
    let (oid, tracking) = shipped_mug(&app, None).await;
    let order = app.get(&format!("/orders/{oid}")).await.expect(200);
    let shipment = order["fulfillment_orders"][0]["shipments"][0]["id"]
        .as_str()
        .unwrap();
    let res = app.get(&format!("/shipments/{shipment}/label.pdf")).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.content_type(), "application/pdf");
    assert!(res.bytes.starts_with(b"%PDF"));
    let dir = tempfile::tempdir().unwrap();
    let (text, _) = crate::helpers::pdf_text(&res.bytes, dir.path());
    assert!(text.contains(&tracking), "{text}");
    assert!(
        text.contains("Ana Diaz") && text.contains("78701"),
        "{text}"
    );
    assert!(text.contains(order["number"].as_str().unwrap()), "{text}");
    assert_eq!(crate::helpers::decode_barcode(&res.bytes), tracking);
    app.get("/shipments/shp_nope_1/label.pdf")
        .await
        .expect_problem(404, "shipment_not_found");

    // A carrier Orderly does not book needs its tracking number, and prints its own label.
    let mut b = order_body("web", &[("MUG", 1, 1000)]);
    b["payment"] = json!({"method": "card", "token": "tok_visa"});
    let other = app.create_order(&b).await;
    let pkg = pick_and_pack_mug(&app, &other).await;
    let ship = format!("/packages/{pkg}/ship");
    let refused = app
        .post(&ship, &json!({"carrier": "acme", "service": "air"}))
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(refused["errors"][0]["field"], "tracking_number");
    let shipped = app
        .post(
            &ship,
            &json!({"carrier": "acme", "service": "air", "tracking_number": "AC123"}),
        )
        .await
        .expect(200);
    let id = shipped["fulfillment_orders"][0]["shipments"][0]["id"]
        .as_str()
        .unwrap();
    app.get(&format!("/shipments/{id}/label.pdf"))
        .await
        .expect_problem(409, "label_unavailable");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_package_ships_with_the_cheapest_service_that_arrives_in_time() {
    let app = shop(spawn_app().await).await;
    let ship_with = |delivery: Value| {
        let app = &app;
        async move {
            let mut b = order_body("web", &[("MUG", 1, 1000)]);
            b["payment"] = json!({"method": "card", "token": "tok_visa"});
            b["delivery"] = delivery;
            let order = app.create_order(&b).await;
            let pkg = pick_and_pack_mug(app, &order).await;
            let shipped = app
                .post(&format!("/packages/{pkg}/ship"), &json!({}))
                .await
                .expect(200);
            shipped["fulfillment_orders"][0]["shipments"][0].clone()
        }
    };
    // No promise: the cheapest (ground, four days).
    let cheap = ship_with(json!(null)).await;
    assert_eq!(
        (cheap["carrier"].as_str(), cheap["service"].as_str()),
        (Some("local"), Some("ground"))
    );
    let shipped: Timestamp = cheap["shipped_at"].as_str().unwrap().parse().unwrap();
    let promised: Timestamp = cheap["promised_by"].as_str().unwrap().parse().unwrap();
    // Four days from the quote, taken a moment before the shipment was recorded.
    let hours = promised.duration_since(shipped).as_secs_f64() / 3600.0;
    assert!((hours - 96.0).abs() < 0.01, "{hours}");
    // Promised in two days: ground is too slow, express makes it.
    let by = (app.clock.now() + SignedDuration::from_hours(48)).to_string();
    let fast = ship_with(json!({"deliver_by": by})).await;
    assert_eq!(fast["service"], "express");
    // Asked for by name.
    let asked = ship_with(json!({"service": "local/express"})).await;
    assert_eq!(asked["service"], "express");
    let mut b = order_body("web", &[("MUG", 1, 1000)]);
    b["delivery"] = json!({"service": "pigeon/fast"});
    let refused = app
        .post("/orders", &b)
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(refused["errors"][0]["code"], "unknown_service");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_fulfillment_order_is_sourced_again_elsewhere() {
    let app = spawn_app().await;
    app.seed_product("CAP", 2000).await;
    app.receive("CAP", "wh-central", 5).await;
    app.receive("CAP", "wh-west", 5).await;
    let mut b = order_body("web", &[("CAP", 2, 2000)]);
    b["payment"] = json!({"method": "card", "token": "tok_visa"});
    let order = app.create_order(&b).await;
    let first = fo_at(&order, "wh-central")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, warehouse) = app.key(Role::Warehouse).await;
    let rejected = send(
        app.req_as(
            &warehouse,
            Method::POST,
            &format!("/fulfillment-orders/{first}/reject"),
        )
        .json(&json!({"reason": "water damage in aisle B"})),
    )
    .await
    .expect(200);
    assert_eq!(fo_at(&rejected, "wh-central")["state"], "cancelled");
    let west = fo_at(&rejected, "wh-west");
    assert_eq!(west["state"], "released");
    assert_eq!(west["lines"][0]["quantity"], 2);
    assert_eq!(app.stock("CAP", "wh-central").await, (5, 0, 5));
    assert_eq!(app.stock("CAP", "wh-west").await, (5, 2, 3));
    send(
        app.req_as(
            &warehouse,
            Method::POST,
            &format!("/fulfillment-orders/{first}/reject"),
        )
        .json(&json!({"reason": "again"})),
    )
    .await
    .expect_problem(409, "illegal_fulfillment_transition");
    app.assert_invariants().await;
}

/// Issue 5's walk-through: a 3-line order split over two warehouses, released, waved,
/// picked, packed (a wrong scan refused), shipped in two shipments with two labels, and
/// tracked to delivery, with the buckets, the derived status and the captures checked at
/// every step.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_split_order_goes_from_release_to_delivery_in_two_shipments() {
    let app = spawn_app_with(|c| {
        for ch in &mut c.channels {
            ch.capture = orderly_domain::payment::CaptureMode::OnShipment;
        }
    })
    .await;
    for (sku, price) in [("MUG", 1000), ("CAP", 2000), ("TEE", 1500)] {
        app.seed_product(sku, price).await;
    }
    app.receive("MUG", "wh-central", 10).await;
    app.receive("CAP", "wh-east", 10).await;
    app.receive("TEE", "wh-east", 10).await;
    let mut b = order_body(
        "web",
        &[("MUG", 2, 1000), ("CAP", 1, 2000), ("TEE", 2, 1500)],
    );
    b["payment"] = json!({"method": "card", "token": "tok_visa"});
    let order = app.create_order(&b).await;
    let oid = order["id"].as_str().unwrap().to_owned();
    let number = order["number"].as_str().unwrap().to_owned();
    assert_eq!(order["status"], "processing");
    assert_eq!(order["payment_state"], "authorized");
    assert_eq!(released(&order), [2, 1, 2]);

    // Waves at both warehouses hold this order's two fulfillment orders.
    let (_, warehouse) = app.key(Role::Warehouse).await;
    let post = |path: String, body: Value| {
        let req = app.req_as(&warehouse, Method::POST, &path).json(&body);
        async move { send(req).await }
    };
    let mut packages = Vec::new();
    for (location, lines, scans) in [
        (
            "wh-central",
            json!([{"line_no": 1, "picked": 2}]),
            json!(["MUG", "MUG"]),
        ),
        (
            "wh-east",
            json!([{"line_no": 2, "picked": 1}, {"line_no": 3, "picked": 2}]),
            json!(["TEE", "CAP", "TEE"]),
        ),
    ] {
        let wave = post("/waves".into(), json!({"location_id": location}))
            .await
            .expect(201);
        let fid = fo_at(&order, location)["id"].as_str().unwrap().to_owned();
        assert_eq!(wave["fulfillment_order_ids"], json!([fid.clone()]));
        post(
            format!("/fulfillment-orders/{fid}/pick"),
            json!({"lines": lines}),
        )
        .await
        .expect(200);
        post(
            format!("/fulfillment-orders/{fid}/packages"),
            json!({"scans": ["SOCK"], "weight_grams": 700, "dimensions_mm": [300, 200, 100]}),
        )
        .await
        .expect_problem(422, "scan_not_in_order");
        let packed = post(
            format!("/fulfillment-orders/{fid}/packages"),
            json!({"scans": scans, "weight_grams": 700, "dimensions_mm": [300, 200, 100]}),
        )
        .await
        .expect(201);
        assert_eq!(packed["location_id"], location);
        packages.push(packed["id"].as_str().unwrap().to_owned());
    }

    // First shipment: partially fulfilled, its share captured.
    let first = post(format!("/packages/{}/ship", packages[0]), json!({}))
        .await
        .expect(200);
    assert_eq!(first["status"], "partially_fulfilled");
    assert_eq!(first["payment_state"], "partially_captured");
    assert_eq!(first["payments"][0]["captured"], 2000);
    assert_eq!(bucket(&first, 0, "shipped"), 2);
    assert_eq!(bucket(&first, 1, "shipped"), 0);
    // Second: everything shipped, the rest (shipping included) captured.
    let second = post(format!("/packages/{}/ship", packages[1]), json!({}))
        .await
        .expect(200);
    assert_eq!(second["status"], "shipped");
    assert_eq!(second["fulfillment_state"], "fulfilled");
    assert_eq!(second["payment_state"], "captured");
    assert_eq!(second["payments"][0]["captured"], 2000 + 2000 + 3000 + 500);

    // Two shipments, two labels, each with its own tracking number.
    let shipments: Vec<(String, String)> = ["wh-central", "wh-east"]
        .iter()
        .map(|l| {
            let s = &fo_at(&second, l)["shipments"][0];
            (
                s["id"].as_str().unwrap().to_owned(),
                s["tracking_number"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_ne!(shipments[0].1, shipments[1].1);
    for (id, tracking) in &shipments {
        let label = app.get(&format!("/shipments/{id}/label.pdf")).await;
        assert_eq!(label.status, 200);
        let dir = tempfile::tempdir().unwrap();
        let (text, _) = crate::helpers::pdf_text(&label.bytes, dir.path());
        assert!(
            text.contains(tracking.as_str()) && text.contains(&number),
            "{text}"
        );
    }

    // Tracked to the door: one delivered, then the other.
    for (n, (_, tracking)) in shipments.iter().enumerate() {
        let event = json!({"id": format!("e2e-{n}"), "carrier": "local", "tracking_number": tracking,
            "status": "delivered", "occurred_at": "2026-11-25T12:00:00Z"});
        app.track(&event).await.expect(200);
        let now = app.get(&format!("/orders/{oid}")).await.expect(200);
        if n == 0 {
            assert_eq!(now["status"], "partially_delivered");
            assert_eq!(bucket(&now, 0, "delivered"), 2);
            assert_eq!(bucket(&now, 1, "delivered"), 0);
        } else {
            assert_eq!(now["status"], "delivered");
            assert_eq!(now["fulfillment_state"], "delivered");
            for line in 0..3 {
                assert_eq!(
                    bucket(&now, line, "delivered"),
                    bucket(&now, line, "ordered")
                );
            }
        }
    }
    app.assert_invariants().await;
}
