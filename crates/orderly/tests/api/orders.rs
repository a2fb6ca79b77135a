//! Capture, lookup, search, timeline and cancellation of orders.

use crate::helpers::{TestApp, enc, order_body, reservations, spawn_app};
use serde_json::{Value, json};
use std::collections::HashSet;

/// An app with TEE-BLK-M (19.99) stocked only at wh-central.
async fn app_with_tee() -> TestApp {
    let app = spawn_app().await;
    app.seed_product("TEE-BLK-M", 1999).await;
    app.receive("TEE-BLK-M", "wh-central", 10).await;
    app
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_order_returns_the_captured_order() {
    let app = app_with_tee().await;
    let mut body = order_body("web", &[("TEE-BLK-M", 2, 1999)]);
    body["external_id"] = json!("A-1001");

    let order = app.create_order(&body).await;

    assert!(order["id"].as_str().unwrap().starts_with("ord_"), "{order}");
    assert_eq!(order["number"], "WEB-1001");
    assert_eq!(order["channel"], "web");
    assert_eq!(order["external_id"], "A-1001");
    // tok_visa authorizes, the web channel captures at authorization, and the paid order
    // goes straight to its warehouse.
    assert_eq!(order["status"], "processing");
    assert_eq!(order["order_state"], "confirmed");
    assert_eq!(order["payment_state"], "captured");
    assert_eq!(order["payments"][0]["method"], "card");
    assert_eq!(order["payments"][0]["captured"], 4498);
    assert_eq!(order["release_blocked_by"], json!([]));
    assert_eq!(order["fulfillment_state"], "unfulfilled");
    assert_eq!(order["return_state"], "none");
    assert_eq!(order["currency"], "USD");
    assert_eq!(order["subtotal_amount"], 3998);
    assert_eq!(order["total_amount"], 4498);
    assert_eq!(order["customer"]["email"], "ana@example.com");
    assert_eq!(
        order["billing_address"], order["shipping_address"],
        "billing defaults to shipping"
    );
    let line = &order["lines"][0];
    assert_eq!(line["sku"], "TEE-BLK-M");
    assert_eq!(line["name"], "Product TEE-BLK-M");
    assert_eq!(line["line_total"], 3998);
    assert_eq!(line["buckets"]["ordered"], 2);
    assert_eq!(line["buckets"]["allocated"], 2);
    assert_eq!(line["buckets"]["backordered"], 0);
    assert_eq!(reservations(&order, 0), vec![("wh-central".into(), 2)]);
    assert_eq!(app.stock("TEE-BLK-M", "wh-central").await, (10, 2, 8));
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_is_found_by_id_and_by_number() {
    let app = app_with_tee().await;
    let created = app
        .create_order(&order_body("web", &[("TEE-BLK-M", 1, 1999)]))
        .await;
    let id = created["id"].as_str().unwrap();

    let by_id = app.get(&format!("/orders/{id}")).await.expect(200);
    let by_number = app.get("/orders/WEB-1001").await.expect(200);

    assert_eq!(by_id, created);
    assert_eq!(by_number, created);
    app.get("/orders/WEB-9999")
        .await
        .expect_problem(404, "order_not_found");
    app.get("/orders/ord_nope")
        .await
        .expect_problem(404, "order_not_found");
}

fn ids(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_are_listed_with_filters() {
    let app = app_with_tee().await;
    let mut created = Vec::new();
    for (channel, email) in [
        ("web", "ana@example.com"),
        ("web", "bob@example.com"),
        ("marketplace", "bob@example.com"),
        ("web", "cy@example.com"),
        ("marketplace", "ana@example.com"),
    ] {
        let mut body = order_body(channel, &[("TEE-BLK-M", 1, 1999)]);
        body["customer"]["email"] = json!(email);
        created.push(app.create_order(&body).await);
        // Distinct creation milliseconds, so the date filters have a clean boundary.
        app.clock.advance(jiff::SignedDuration::from_millis(5));
    }
    let id = |i: usize| created[i]["id"].as_str().unwrap().to_owned();
    let cancel = json!({"reason": "customer_request"});
    app.cancel(&id(1), &cancel).await;

    let list = |query: String| {
        let app = &app;
        async move { ids(&app.get(&format!("/orders?{query}")).await.expect(200)) }
    };
    // Newest first.
    assert_eq!(
        list(String::new()).await,
        vec![id(4), id(3), id(2), id(1), id(0)]
    );
    assert_eq!(list("status=cancelled".into()).await, vec![id(1)]);
    assert_eq!(
        list("status=processing".into()).await,
        vec![id(4), id(3), id(2), id(0)]
    );
    assert_eq!(list("channel=marketplace".into()).await, vec![id(4), id(2)]);
    assert_eq!(
        list(format!("email={}", enc("Bob@Example.com"))).await,
        vec![id(2), id(1)]
    );
    assert_eq!(
        list("channel=web&email=ana%40example.com".into()).await,
        vec![id(0)]
    );
    let third_created = created[2]["created_at"].as_str().unwrap();
    assert_eq!(
        list(format!("created_from={}", enc(third_created))).await,
        vec![id(4), id(3), id(2)]
    );
    assert_eq!(
        list(format!("created_to={}", enc(third_created))).await,
        vec![id(1), id(0)]
    );
    let fourth_created = created[3]["created_at"].as_str().unwrap();
    assert_eq!(
        list(format!(
            "created_from={}&created_to={}",
            enc(third_created),
            enc(fourth_created)
        ))
        .await,
        vec![id(2)]
    );
    app.get("/orders?status=lost")
        .await
        .expect_problem(400, "invalid_query");
    app.get("/orders?created_from=yesterday")
        .await
        .expect_problem(400, "invalid_query");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cursor_pagination_walks_every_order_once() {
    let app = app_with_tee().await;
    for _ in 0..5 {
        app.create_order(&order_body("web", &[("TEE-BLK-M", 1, 1999)]))
            .await;
    }

    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let query = match &cursor {
            Some(c) => format!("/orders?limit=2&cursor={}", enc(c)),
            None => "/orders?limit=2".to_owned(),
        };
        let page = app.get(&query).await.expect(200);
        pages.push(ids(&page));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
        assert!(pages.len() <= 5, "pagination does not end");
    }

    assert_eq!(
        pages.iter().map(Vec::len).collect::<Vec<_>>(),
        vec![2, 2, 1]
    );
    let all: Vec<String> = pages.concat();
    assert_eq!(all.iter().collect::<HashSet<_>>().len(), 5, "duplicates");
    assert_eq!(all, ids(&app.get("/orders").await.expect(200)));
    app.get("/orders?cursor=%21%21")
        .await
        .expect_problem(400, "invalid_query");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_timeline_lists_events_oldest_first_with_actor_and_summary() {
    let app = app_with_tee().await;
    let order = crate::helpers::send(
        app.req(reqwest::Method::POST, "/orders")
            .header("x-request-id", "req-timeline-1")
            .json(&order_body("web", &[("TEE-BLK-M", 2, 1999)])),
    )
    .await
    .expect(201);

    let timeline = app
        .get(&format!(
            "/orders/{}/timeline",
            order["id"].as_str().unwrap()
        ))
        .await
        .expect(200);

    let events = timeline["data"].as_array().unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "order_placed",
            "order_sourced",
            "payment_deadline_set",
            "payment_added",
            "payment_op_requested",
            "payment_op_succeeded",
            "order_confirmed",
            "payment_deadline_cleared",
            "payment_op_requested",
            "payment_op_succeeded",
            "fulfillment_released"
        ]
    );
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e["version"], i + 1);
        assert_eq!(e["actor"], format!("api_key:{}", app.admin_key_id));
        assert!(!e["summary"].as_str().unwrap().is_empty(), "{e}");
        assert_eq!(e["correlation_id"], "req-timeline-1");
        assert!(e["at"].as_str().unwrap().ends_with('Z'), "UTC: {e}");
    }
    assert!(events[0]["summary"].as_str().unwrap().contains("WEB-1001"));
    // The timeline is also reachable by number.
    assert_eq!(
        app.get("/orders/WEB-1001/timeline").await.expect(200),
        timeline
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_releases_the_stock_and_cannot_happen_twice() {
    let app = app_with_tee().await;
    let order = app
        .create_order(&order_body("web", &[("TEE-BLK-M", 3, 1999)]))
        .await;
    let id = order["id"].as_str().unwrap();
    assert_eq!(app.stock("TEE-BLK-M", "wh-central").await, (10, 3, 7));

    let cancel = json!({"reason": "customer_request", "note": "changed their mind"});
    let cancelled = app.cancel(id, &cancel).await;

    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["order_state"], "cancelled");
    assert_eq!(cancelled["cancel_reason"], "customer_request");
    assert_eq!(cancelled["lines"][0]["buckets"]["cancelled"], 3);
    assert_eq!(cancelled["lines"][0]["buckets"]["allocated"], 0);
    assert_eq!(reservations(&cancelled, 0), vec![]);
    assert_eq!(app.stock("TEE-BLK-M", "wh-central").await, (10, 0, 10));
    let timeline = app.get(&format!("/orders/{id}/timeline")).await.expect(200);
    let events = timeline["data"].as_array().unwrap();
    let last = events
        .iter()
        .find(|e| e["type"] == "order_cancelled")
        .unwrap()
        .clone();
    // The captured payment is refunded in full as part of the cancellation.
    assert_eq!(cancelled["refunds"][0]["reason"], "order_cancelled");
    assert_eq!(cancelled["refunds"][0]["status"], "succeeded");
    assert_eq!(cancelled["payment_state"], "refunded");
    assert!(
        last["summary"]
            .as_str()
            .unwrap()
            .contains("changed their mind")
    );

    app.post(&format!("/orders/{id}/cancellation"), &cancel)
        .await
        .expect_problem(409, "illegal_transition");
    app.post("/orders/WEB-4242/cancellation", &cancel)
        .await
        .expect_problem(404, "order_not_found");
    app.post(
        &format!("/orders/{id}/cancellation"),
        &json!({"reason": "bored"}),
    )
    .await
    .expect_problem(422, "validation_failed");
    assert_eq!(app.stock("TEE-BLK-M", "wh-central").await, (10, 0, 10));
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_cancellation_with_its_key_replays_the_answer() {
    let app = app_with_tee().await;
    let order = app
        .create_order(&order_body("web", &[("TEE-BLK-M", 1, 1999)]))
        .await;
    let id = order["id"].as_str().unwrap();
    let path = format!("/orders/{id}/cancellation");
    let cancel = json!({"reason": "fraud"});
    let keyed = || {
        app.req(reqwest::Method::POST, &path)
            .header("idempotency-key", "cancel-1")
            .json(&cancel)
    };

    let first = crate::helpers::send(keyed()).await;
    let retry = crate::helpers::send(keyed()).await;

    // Released to the warehouse: the cancellation is asked of it, once.
    assert_eq!(
        first.expect(202)["cancellation_request"]["state"],
        "pending"
    );
    assert_eq!(retry.status, 202);
    assert_eq!(retry.bytes, first.bytes);
    app.post(&path, &cancel)
        .await
        .expect_problem(409, "cancellation_requested");
    let ful = crate::helpers::asked_of(&first.json());
    app.accept_cancellation(&ful).await.expect(200);
    app.post(&path, &cancel)
        .await
        .expect_problem(409, "illegal_transition");
    let timeline = app.get(&format!("/orders/{id}/timeline")).await.expect(200);
    let cancellations = timeline["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "order_cancelled")
        .count();
    assert_eq!(cancellations, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_timeline_tells_a_short_pick_a_re_source_and_a_rejection_as_a_person_would() {
    let app = spawn_app().await;
    app.seed_product("TEE-BLK-M", 1500).await;
    app.receive("TEE-BLK-M", "wh-east", 3).await;
    app.receive("TEE-BLK-M", "wh-west", 1).await;
    let mut body = order_body("web", &[("TEE-BLK-M", 3, 1500)]);
    body["payment"] = json!({"method": "card", "token": "tok_visa", "last4": "4242"});
    let order = app.create_order(&body).await;
    let oid = order["id"].as_str().unwrap().to_owned();
    let east = order["fulfillment_orders"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, warehouse) = app.key(orderly_domain::actor::Role::Warehouse).await;
    let post = |path: String, body: Value| {
        let req = app
            .req_as(&warehouse, reqwest::Method::POST, &path)
            .json(&body);
        async move { crate::helpers::send(req).await }
    };
    // East finds 2 of the 3 tees; the missing one goes to west, which then refuses it.
    post(
        format!("/fulfillment-orders/{east}/pick"),
        json!({"lines": [{"line_no": 1, "picked": 2}]}),
    )
    .await
    .expect(200);
    let after_pick = app.get(&format!("/orders/{oid}")).await.expect(200);
    let west = after_pick["fulfillment_orders"][1]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    post(
        format!("/fulfillment-orders/{west}/reject"),
        json!({"reason": "water damage"}),
    )
    .await
    .expect(200);

    let timeline = app
        .get(&format!("/orders/{oid}/timeline"))
        .await
        .expect(200);
    let entries = timeline["data"].as_array().unwrap();
    let said = |kind: &str| -> Vec<&str> {
        entries
            .iter()
            .filter(|e| e["type"] == kind)
            .map(|e| e["summary"].as_str().unwrap())
            .collect()
    };
    assert_eq!(
        said("pick_confirmed"),
        [format!(
            "Picked 2 of 3 units for fulfillment order {east}; 1 unit of TEE-BLK-M missing"
        )]
    );
    assert_eq!(
        said("order_sourced"),
        [
            "Reserved 3 units at wh-east (one location serves the whole order)",
            "Re-sourced 1 unit of TEE-BLK-M missing from a short pick at wh-east: reserved \
             1 unit at wh-west",
            "Re-sourced 1 unit of TEE-BLK-M after wh-west rejected them (water damage): \
             nothing reserved; wh-west rejected it and was excluded; backordered 1 unit of \
             TEE-BLK-M (no other location had stock)",
        ]
    );
    let paid = said("payment_added");
    assert!(
        paid[0].ends_with("card (card ending 4242) via simulator for USD 50.00"),
        "{paid:?}"
    );
    assert!(
        said("payment_op_requested")
            .iter()
            .all(|s| s.contains("USD 50.00") && !s.contains("minor units")),
        "{timeline}"
    );
    // Who did it, by role and name; the stable id stays beside it for machines.
    let by = |kind: &str| {
        let e = entries.iter().find(|e| e["type"] == kind).unwrap();
        (
            e["actor_name"].as_str().unwrap().to_owned(),
            e["actor"].as_str().unwrap().to_owned(),
        )
    };
    assert_eq!(
        by("order_placed"),
        (
            "admin key 'test'".to_owned(),
            format!("api_key:{}", app.admin_key_id)
        )
    );
    assert_eq!(by("fulfillment_rejected").0, "warehouse key 'warehouse'");
}
