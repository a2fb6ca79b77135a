//! Events from outside (carriers' tracking, payment providers' outcomes) are input like
//! any other: malformed ones are refused with a field error and change nothing.

use crate::helpers::{EVENT_SECRET, Res, TestApp, field_errors, order_body, spawn_app};
use jiff::Timestamp;
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
    app.pick_and_pack(fid, &[(1, 1)], &["MUG"]).await;
    let packed = app.get(&format!("/orders/{id}")).await.expect(200);
    let pkg = packed["fulfillment_orders"][0]["packages"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
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
        Timestamp::now().as_second(),
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
