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

    app.state
        .fire_due_timers(confirmed + SignedDuration::from_mins(14))
        .await
        .unwrap();
    let early = app.get(&format!("/orders/{oid}")).await.expect(200);
    assert_eq!(states(&early)[0].1, "pending");
    app.state
        .fire_due_timers(confirmed + SignedDuration::from_mins(16))
        .await
        .unwrap();
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
