//! Cancelling what a warehouse already has, over real HTTP: an edit refused once picking
//! started leaves stock as it was; a cancellation is asked of the warehouse, which puts
//! picked units back or refuses a packed parcel; some units or all of them.

use crate::edits::{id, newark_order};
use crate::helpers::spawn_app;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_after_picking_is_refused_and_leaves_stock_as_it_was() {
    // medusa#16406: a failed edit after fulfillment resurrected consumed reservations.
    let app = spawn_app().await;
    let order = newark_order(&app).await;
    let oid = id(&order);
    let ful = crate::helpers::first_fulfillment(&order);
    app.post(
        &format!("/fulfillment-orders/{ful}/pick"),
        &json!({"lines": [{"line_no": 1, "picked": 2}, {"line_no": 2, "picked": 1}]}),
    )
    .await
    .expect(200);
    let before = app.fingerprint().await;
    let refused = app
        .change(&oid, json!([{"type": "remove_line", "line_no": 2}]))
        .await
        .expect_problem(409, "edit_not_allowed");
    assert!(
        refused["detail"].as_str().unwrap().contains("picking"),
        "{refused}"
    );
    assert_eq!(app.fingerprint().await, before);
    // A cancellation is asked of the warehouse instead; it puts the picked mug back.
    let asked = app
        .post(
            &format!("/orders/{oid}/cancellation"),
            &json!({"reason": "customer_request", "lines": [{"line_no": 2, "quantity": 1}]}),
        )
        .await
        .expect(202);
    assert_eq!(asked["cancellation_request"]["waiting_for"], json!([ful]));
    assert!(
        asked["release_blocked_by"]
            .as_array()
            .unwrap()
            .contains(&json!("cancellation_requested"))
    );
    app.post(
        &format!("/fulfillment-orders/{ful}/packages"),
        &json!({"scans": ["MUG-1"], "weight_grams": 300, "dimensions_mm": [100, 100, 100]}),
    )
    .await
    .expect_problem(409, "cancellation_requested");
    let queue = app
        .get("/exceptions/fulfillment?kind=cancellation_requested")
        .await
        .expect(200);
    assert_eq!(queue["data"][0]["order_id"], oid.as_str());
    let done = app.accept_cancellation(&ful).await.expect(200);
    assert!(done["cancellation_request"].is_null());
    assert_eq!(done["lines"][1]["buckets"]["ordered"], 0);
    assert_eq!(
        done["fulfillment_orders"][0]["lines"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    assert_eq!(
        app.stock("MUG-1", "wh-east").await,
        (5, 0, 5),
        "the mug is back in stock"
    );
    let queue = app
        .get("/exceptions/fulfillment?kind=cancellation_requested")
        .await
        .expect(200);
    assert_eq!(queue["data"].as_array().map(Vec::len), Some(0));
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_packed_order_is_not_given_up_and_a_rejected_request_leaves_it_as_it_was() {
    let app = spawn_app().await;
    let order = newark_order(&app).await;
    let oid = id(&order);
    let ful = crate::helpers::first_fulfillment(&order);
    app.pick_and_pack(
        &ful,
        &[(1, 2), (2, 1)],
        &["TEE-BLK-M", "TEE-BLK-M", "MUG-1"],
    )
    .await;
    let asked = app
        .post(
            &format!("/orders/{oid}/cancellation"),
            &json!({"reason": "customer_request"}),
        )
        .await
        .expect(202);
    let before = app.fingerprint().await;
    app.accept_cancellation(&ful)
        .await
        .expect_problem(409, "illegal_fulfillment_transition");
    assert_eq!(app.fingerprint().await, before);
    let rejected = app
        .post(
            &format!("/fulfillment-orders/{ful}/cancel-request/reject"),
            &json!({"reason": "packed and sealed"}),
        )
        .await
        .expect(200);
    assert_eq!(rejected["cancellation_request"]["state"], "rejected");
    assert_eq!(
        rejected["cancellation_request"]["rejected"]["reason"],
        "packed and sealed"
    );
    assert_eq!(
        (
            rejected["order_state"].as_str(),
            rejected["payment_state"].as_str()
        ),
        (Some("confirmed"), Some("captured"))
    );
    assert_eq!(
        rejected["lines"], asked["lines"],
        "the order stays as it was"
    );
    let timeline = app
        .get(&format!("/orders/{oid}/timeline"))
        .await
        .expect(200);
    let last = timeline["data"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        last["summary"],
        format!(
            "The warehouse refused to cancel {ful}: packed and sealed; the order stays as it was"
        )
    );
    // It ships, and a cancellation is then pointed to returns.
    let pkg = rejected["fulfillment_orders"][0]["packages"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post(&format!("/packages/{pkg}/ship"), &json!({}))
        .await
        .expect(200);
    app.post(
        &format!("/orders/{oid}/cancellation"),
        &json!({"reason": "customer_request"}),
    )
    .await
    .expect_problem(409, "already_shipped");
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_some_units_refunds_them_and_cancelling_the_rest_cancels_the_order() {
    let app = spawn_app().await;
    let order = newark_order(&app).await;
    let oid = id(&order);
    let one = app
        .cancel(
            &oid,
            &json!({"reason": "customer_request", "lines": [{"line_no": 1, "quantity": 1}]}),
        )
        .await;
    assert_eq!(
        (one["order_state"].as_str(), one["total_amount"].as_i64()),
        (Some("confirmed"), Some(3700))
    );
    assert_eq!(one["refunds"][0]["amount"], 2000);
    assert_eq!(app.stock("TEE-BLK-M", "wh-east").await, (5, 1, 4));
    let changes = app.get(&format!("/orders/{oid}/changes")).await.expect(200);
    assert_eq!(
        changes["data"][0]["cancellation_reason"],
        "customer_request"
    );
    let rest = app
        .cancel(&oid, &json!({"reason": "customer_request", "lines": [{"line_no": 1, "quantity": 1}, {"line_no": 2, "quantity": 1}]}))
        .await;
    assert_eq!(rest["order_state"], "cancelled");
    assert_eq!(rest["payment_state"], "refunded");
    app.assert_invariants().await;
}
