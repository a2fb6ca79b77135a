//! Events from outside (carriers' tracking, payment providers' outcomes) are input like
//! any other: malformed ones are refused with a field error and change nothing, and their
//! times are not trusted blindly (one from the future is refused; one from the past is
//! recorded but moves no clock back).

use crate::helpers::{
    EVENT_SECRET, Res, TestApp, field_errors, order_body, spawn_app, spawn_app_with,
};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

/// An app selling MUG (10.00) with 20 in stock at wh-central.
async fn shop(app: TestApp) -> TestApp {
    app.seed_product("MUG", 1000).await;
    app.receive("MUG", "wh-central", 20).await;
    app
}

/// A paid one-MUG order, shipped; returns (order id, tracking number).
async fn shipped(app: &TestApp) -> (String, String) {
    let order = app
        .create_order(&order_body("web", &[("MUG", 1, 1000)]))
        .await;
    let id = order["id"].as_str().unwrap().to_owned();
    let fid = order["fulfillment_orders"][0]["id"].as_str().unwrap();
    let packed = app.pick_and_pack(fid, &[(1, 1)], &["MUG"]).await;
    let pkg = packed["id"].as_str().unwrap();
    let shipped = app
        .post(&format!("/packages/{pkg}/ship"), &json!({}))
        .await
        .expect(200);
    let tracking = shipped["fulfillment_orders"][0]["shipments"][0]["tracking_number"]
        .as_str()
        .unwrap()
        .to_owned();
    (id, tracking)
}

fn scan(id: &str, tracking: &str, status: &str, at: &str) -> Value {
    json!({"id": id, "carrier": "local", "tracking_number": tracking, "status": status,
           "occurred_at": at})
}

async fn payment_event(app: &TestApp, event: &Value) -> Res {
    app.signed_post(
        "/payment-events/simulator",
        EVENT_SECRET,
        app.clock.now().as_second(),
        event,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_tracking_status_is_a_field_error_that_changes_nothing() {
    let app = shop(spawn_app().await).await;
    let (_, tracking) = shipped(&app).await;
    let at = Timestamp::now().to_string();
    let before = app.fingerprint().await;

    let refused = app
        .track(&scan("trk_1", &tracking, "teleported", &at))
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(
        field_errors(&refused),
        [("status".to_owned(), "unknown_status".to_owned())]
    );
    assert_eq!(app.fingerprint().await, before);
    // The refused event was not recorded: its id is still free.
    let applied = app
        .track(&scan("trk_1", &tracking, "in_transit", &at))
        .await
        .expect(200);
    assert_eq!(applied["status"], "applied");
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_payment_operation_is_a_field_error_that_changes_nothing() {
    let app = shop(spawn_app().await).await;
    let mut body = order_body("web", &[("MUG", 1, 1000)]);
    body["payment"] = json!({"method": "card", "token": "tok_timeout"});
    let order = app.create_order(&body).await;
    let op = order["payments"][0]["operations"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let event = |kind: &str, key: &str| {
        json!({"id": "evt_1", "type": kind,
               "data": {"idempotency_key": key, "reference": app.simulator_reference(&op)}})
    };
    let before = app.fingerprint().await;
    let missing_op = format!("{}.auth9", order["payments"][0]["id"].as_str().unwrap());
    for (event, field, code) in [
        (
            event("teleport.succeeded", &op),
            "type",
            "unknown_operation",
        ),
        (event("refunds", &op), "type", "unknown_operation"),
        (
            event("authorization.exploded", &op),
            "type",
            "unknown_outcome",
        ),
        (
            event("capture.succeeded", &op),
            "type",
            "operation_mismatch",
        ),
        (
            event("authorization.succeeded", &missing_op),
            "data.idempotency_key",
            "unknown_operation",
        ),
        (
            event("authorization.succeeded", "nobody_else"),
            "data.idempotency_key",
            "unknown_payment",
        ),
        (
            json!({"id": "evt_1", "type": "authorization.expired", "data": {}}),
            "data.payment_id",
            "required",
        ),
    ] {
        let refused = payment_event(&app, &event)
            .await
            .expect_problem(422, "validation_failed");
        assert_eq!(
            field_errors(&refused),
            [(field.to_owned(), code.to_owned())],
            "{event}"
        );
    }
    assert_eq!(app.fingerprint().await, before);
    // None of them was recorded: the event id is still free for the real answer.
    let applied = payment_event(&app, &event("authorization.succeeded", &op))
        .await
        .expect(200);
    assert_eq!(applied["status"], "applied");
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scan_dated_beyond_the_clock_skew_is_refused_and_changes_nothing() {
    let app = shop(spawn_app_with(|c| c.fulfillment.max_event_clock_skew_seconds = 60).await).await;
    let (id, tracking) = shipped(&app).await;
    let now = Timestamp::now();
    let before = app.fingerprint().await;
    for at in [
        "2099-01-01T00:00:00Z".to_owned(),
        (now + SignedDuration::from_secs(120)).to_string(),
    ] {
        let refused = app
            .track(&scan("trk_1", &tracking, "in_transit", &at))
            .await
            .expect_problem(422, "validation_failed");
        assert_eq!(
            field_errors(&refused),
            [("occurred_at".to_owned(), "in_the_future".to_owned())],
            "{at}"
        );
    }
    assert_eq!(app.fingerprint().await, before);
    // Within the skew it counts, and the refused attempts left its id free.
    let soon = now + SignedDuration::from_secs(30);
    app.track(&scan("trk_1", &tracking, "in_transit", &soon.to_string()))
        .await
        .expect(200);
    let order = app.get(&format!("/orders/{id}")).await.expect(200);
    let last: Timestamp = order["fulfillment_orders"][0]["shipments"][0]["last_scan_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(last, orderly_domain::time::to_millis(soon));
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scan_from_the_past_is_recorded_but_never_moves_the_clock_back() {
    let app = shop(spawn_app().await).await;
    let (id, tracking) = shipped(&app).await;
    let shipment = |order: &Value| order["fulfillment_orders"][0]["shipments"][0].clone();
    let time = |v: &Value| v.as_str().unwrap().parse::<Timestamp>().unwrap();
    let shipped_at =
        time(&shipment(&app.get(&format!("/orders/{id}")).await.expect(200))["shipped_at"]);

    let month_ago = shipped_at - SignedDuration::from_hours(30 * 24);
    app.track(&scan(
        "trk_old",
        &tracking,
        "in_transit",
        &month_ago.to_string(),
    ))
    .await
    .expect(200);
    let order = app.get(&format!("/orders/{id}")).await.expect(200);
    let s = shipment(&order);
    assert_eq!(s["scans"].as_array().unwrap().len(), 1, "recorded: {s}");
    assert_eq!(s["status"], "in_transit");
    assert_eq!(time(&s["last_scan_at"]), shipped_at, "not moved back: {s}");
    let timeline = app.get(&format!("/orders/{id}/timeline")).await.expect(200);
    assert!(
        timeline["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["type"] == "tracking_recorded"),
        "on the timeline"
    );
    // The delay watch still counts from the shipping time, not from a month ago.
    app.clock.set(shipped_at + SignedDuration::from_hours(47));
    app.state.fire_due_timers(app.clock.now()).await.unwrap();
    let order = app.get(&format!("/orders/{id}")).await.expect(200);
    assert_eq!(shipment(&order)["flags"], json!([]), "not silent yet");
    app.clock.set(shipped_at + SignedDuration::from_hours(49));
    app.state.fire_due_timers(app.clock.now()).await.unwrap();
    let order = app.get(&format!("/orders/{id}")).await.expect(200);
    assert_eq!(shipment(&order)["flags"], json!(["delayed"]));
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_event_dated_beyond_the_clock_skew_is_refused() {
    let app = shop(spawn_app().await).await;
    let mut body = order_body("web", &[("MUG", 1, 1000)]);
    body["payment"] = json!({"method": "card", "token": "tok_timeout"});
    let order = app.create_order(&body).await;
    let op = order["payments"][0]["operations"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let event = |at: String| {
        json!({"id": "evt_1", "type": "authorization.succeeded", "occurred_at": at,
               "data": {"idempotency_key": op, "reference": app.simulator_reference(&op)}})
    };
    let before = app.fingerprint().await;
    let ahead = (app.clock.now() + SignedDuration::from_secs(600)).to_string();
    let refused = payment_event(&app, &event(ahead))
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(
        field_errors(&refused),
        [("occurred_at".to_owned(), "in_the_future".to_owned())]
    );
    assert_eq!(app.fingerprint().await, before);
    // An old event is fine (providers retry for days).
    let old = (Timestamp::now() - SignedDuration::from_hours(72)).to_string();
    let applied = payment_event(&app, &event(old)).await.expect(200);
    assert_eq!(applied["status"], "applied");
    let after = app
        .get(&format!("/orders/{}", order["id"].as_str().unwrap()))
        .await
        .expect(200);
    assert_eq!(after["payment_state"], "captured");
    app.assert_invariants().await;
}
