//! Money that cannot leak: refunds bounded per line across refunds and races, failed
//! captures and refunds that stay visible, block what they must and are retried on a
//! schedule, and reviews that hold the authorization instead of taking the money.

use crate::helpers::{Res, TestApp, join_all, order_body, send, spawn_app, spawn_app_with};
use jiff::{SignedDuration, Timestamp};
use orderly_domain::actor::Role;
use reqwest::Method;
use serde_json::{Value, json};

/// Three tees at 7.00 and one poster at 15.00, 3.00 off, 2.00 tax and 5.00 shipping
/// (40.00). The poster's share of discount and tax leaves it paid 14.58; the tees 20.42.
async fn poster_order(app: &TestApp, token: &str) -> Value {
    app.seed_product("TEE", 700).await;
    app.seed_product("POSTER", 1500).await;
    app.receive("TEE", "wh-central", 10).await;
    app.receive("POSTER", "wh-central", 10).await;
    let mut body = order_body("web", &[("TEE", 3, 700), ("POSTER", 1, 1500)]);
    body["discount_amount"] = json!(300);
    body["tax_amount"] = json!(200);
    body["shipping_amount"] = json!(500);
    body["payment"] = json!({"method": "card", "token": token});
    app.create_order(&body).await
}

fn id(order: &Value) -> String {
    order["id"].as_str().unwrap().to_owned()
}

async fn refund(app: &TestApp, oid: &str, body: Value) -> Res {
    app.post(&format!("/orders/{oid}/refunds"), &body).await
}

/// The open entries of an exception queue as (kind, subject).
async fn open_exceptions(app: &TestApp, queue: &str) -> Vec<(String, String)> {
    let page = app.get(&format!("/exceptions/{queue}")).await.expect(200);
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["resolved_at"].is_null())
        .map(|e| {
            (
                e["kind"].as_str().unwrap().to_owned(),
                e["subject_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn line_refunds_never_exceed_what_the_line_was_sold_and_paid_for() {
    let app = spawn_app().await;
    let order = poster_order(&app, "tok_visa").await;
    let oid = id(&order);
    assert_eq!(order["total_amount"], 4000);
    assert_eq!(order["lines"][1]["paid_amount"], 1458);

    // 50.00 against one poster of 15.00 is refused and changes nothing.
    let problem = refund(
        &app,
        &oid,
        json!({"amount": 5000, "reason": "damaged", "lines": [{"line_no": 2, "quantity": 1}]}),
    )
    .await
    .expect_problem(422, "refund_exceeds_line");
    assert!(
        problem["detail"].as_str().unwrap().contains("1458"),
        "{problem}"
    );
    let same = app.get(&format!("/orders/{oid}")).await.expect(200);
    assert_eq!(same["refunds"], json!([]));

    // One tee of three, then three more: refused, only two are left.
    let one = refund(
        &app,
        &oid,
        json!({"reason": "damaged", "lines": [{"line_no": 1, "quantity": 1}]}),
    )
    .await
    .expect(200);
    assert_eq!(one["refunds"][0]["amount"], 680);
    assert_eq!(
        one["refunds"][0]["lines"],
        json!([{"line_no": 1, "quantity": 1, "amount": 680}])
    );
    assert_eq!(one["lines"][0]["refunded_quantity"], 1);
    assert_eq!(one["lines"][0]["refunded_amount"], 680);
    refund(
        &app,
        &oid,
        json!({"amount": 100, "reason": "damaged", "lines": [{"line_no": 1, "quantity": 3}]}),
    )
    .await
    .expect_problem(422, "refund_exceeds_line");
    refund(
        &app,
        &oid,
        json!({"reason": "damaged", "lines": [{"line_no": 7, "quantity": 1}]}),
    )
    .await
    .expect_problem(422, "invalid_refund_line");

    // The rest of both lines, then shipping as goodwill: exactly the total, no more.
    refund(
        &app,
        &oid,
        json!({"reason": "return", "lines": [{"line_no": 1, "quantity": 2}, {"line_no": 2, "quantity": 1}]}),
    )
    .await
    .expect(200);
    refund(&app, &oid, json!({"amount": 501, "reason": "other"}))
        .await
        .expect_problem(422, "refund_exceeds_captured");
    let done = refund(&app, &oid, json!({"amount": 500, "reason": "other"}))
        .await
        .expect(200);
    assert_eq!(done["payments"][0]["refunded"], 4000);
    assert_eq!(done["lines"][0]["refunded_amount"], 2042);
    assert_eq!(done["lines"][1]["refunded_amount"], 1458);
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_line_refunds_refund_each_unit_once() {
    let app = spawn_app().await;
    let order = poster_order(&app, "tok_visa").await;
    let path = format!("/orders/{}/refunds", id(&order));
    let body = json!({"reason": "damaged", "lines": [{"line_no": 2, "quantity": 1}]});

    let results = join_all((0..4).map(|_| send(app.req(Method::POST, &path).json(&body)))).await;

    let ok = results.iter().filter(|r| r.status == 200).count();
    assert_eq!(ok, 1, "one poster, one refund of it");
    for r in results.iter().filter(|r| r.status != 200) {
        r.expect_problem(422, "refund_exceeds_line");
    }
    let after = app
        .get(&format!("/orders/{}", id(&order)))
        .await
        .expect(200);
    assert_eq!(after["lines"][1]["refunded_quantity"], 1);
    assert_eq!(after["payments"][0]["refunded"], 1458);
    assert_eq!(app.simulator_calls("refund"), 1);
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capture_failure_holds_the_order_and_is_retried_on_schedule() {
    let app = spawn_app_with(|c| c.payments.capture_retry_minutes = vec![15, 60]).await;
    let order = poster_order(&app, "tok_capture_fails").await;
    let oid = id(&order);
    // Authorized, the capture refused: on hold, nothing released, in the payments queue.
    assert_eq!(order["payment_state"], "authorized");
    assert_eq!(order["holds"][0]["reason"], "capture_failed");
    assert_eq!(order["release_blocked_by"], json!(["hold:capture_failed"]));
    assert!(
        order["fulfillment_orders"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["state"] == "pending"),
        "{order}"
    );
    let payment = order["payments"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        open_exceptions(&app, "payments").await,
        vec![("capture_failed".to_owned(), payment.clone())]
    );
    // Support cannot wave it through; only finance may release it.
    let (_, support) = app.key(Role::Support).await;
    send(
        app.req_as(
            &support,
            Method::POST,
            &format!("/orders/{oid}/holds/capture_failed/release"),
        )
        .json(&json!({})),
    )
    .await
    .expect_problem(403, "forbidden");

    // Asking by hand answers with what happened: 402, not 200.
    let problem = app
        .post(&format!("/orders/{oid}/captures"), &json!({}))
        .await
        .expect_problem(402, "capture_failed");
    assert_eq!(problem["order_id"], json!(oid));
    assert_eq!(app.simulator_calls("capture"), 2);

    // The schedule, on the app's clock (it stood still since the order was placed): the
    // first refusal waits 15 minutes, the second (the capture asked by hand) an hour;
    // the retries' own refusals find the schedule used up.
    let placed: Timestamp = order["created_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(app.clock.now(), placed);
    let fire_at = |t: Timestamp| {
        app.clock.set(t);
        app.state.fire_due_timers(t)
    };
    fire_at(placed + SignedDuration::from_mins(15) - SignedDuration::from_millis(1))
        .await
        .unwrap();
    assert_eq!(app.simulator_calls("capture"), 2, "not a millisecond early");
    fire_at(placed + SignedDuration::from_mins(15))
        .await
        .unwrap();
    assert_eq!(app.simulator_calls("capture"), 3);
    fire_at(placed + SignedDuration::from_mins(60))
        .await
        .unwrap();
    assert_eq!(app.simulator_calls("capture"), 4);
    fire_at(placed + SignedDuration::from_hours(96))
        .await
        .unwrap();
    assert_eq!(app.simulator_calls("capture"), 4, "the schedule has an end");
    let after = app.get(&format!("/orders/{oid}")).await.expect(200);
    assert_eq!(after["payment_state"], "authorized");
    assert_eq!(after["holds"][0]["reason"], "capture_failed");
    assert_eq!(open_exceptions(&app, "payments").await.len(), 1);
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capture_failure_clears_when_the_retry_goes_through() {
    let app = spawn_app().await;
    let order = poster_order(&app, "tok_capture_fails_once").await;
    let oid = id(&order);
    assert_eq!(order["holds"][0]["reason"], "capture_failed");

    app.clock.advance(SignedDuration::from_mins(15));
    app.state.fire_due_timers(app.clock.now()).await.unwrap();

    let after = app.get(&format!("/orders/{oid}")).await.expect(200);
    assert_eq!(after["payment_state"], "captured");
    assert_eq!(after["holds"], json!([]));
    assert_eq!(after["release_blocked_by"], json!([]));
    assert!(open_exceptions(&app, "payments").await.is_empty());
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fraud_review_holds_the_authorization_until_released() {
    let app = spawn_app().await;
    app.seed_product("MUG", 1000).await;
    app.receive("MUG", "wh-central", 10).await;
    let mut abroad = order_body("web", &[("MUG", 2, 1000)]);
    abroad["billing_address"] = json!({"name": "Cara", "line1": "1 Rue", "city": "Paris",
        "postal_code": "75001", "country": "FR"});
    abroad["payment"] = json!({"method": "card", "token": "tok_visa"});
    let held = app.create_order(&abroad).await;
    assert_eq!(held["holds"][0]["reason"], "fraud_review");
    assert_eq!(held["payment_state"], "authorized", "{held}");
    assert_eq!(app.simulator_calls("capture"), 0);

    // The review passes: the money is taken then.
    let (_, finance) = app.key(Role::Finance).await;
    let released = send(
        app.req_as(
            &finance,
            Method::POST,
            &format!("/orders/{}/holds/fraud_review/release", id(&held)),
        )
        .json(&json!({"note": "customer verified"})),
    )
    .await
    .expect(200);
    assert_eq!(released["payment_state"], "captured");
    assert_eq!(app.simulator_calls("capture"), 1);

    // A review that ends in cancellation voids: nothing was taken, nothing to refund.
    let mut other = abroad.clone();
    other["customer"]["email"] = json!("eve@example.com");
    let second = app.create_order(&other).await;
    assert_eq!(second["holds"][0]["reason"], "fraud_review");
    let cancelled = app
        .post(
            &format!("/orders/{}/cancellation", id(&second)),
            &json!({"reason": "fraud"}),
        )
        .await
        .expect(200);
    assert_eq!(cancelled["payment_state"], "voided");
    assert_eq!(cancelled["refunds"], json!([]));
    assert_eq!(app.simulator_calls("void"), 1);
    assert_eq!(app.simulator_calls("refund"), 0);
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refund_failure_is_visible_retried_and_never_counted_as_refunded() {
    let app = spawn_app().await;
    let order = poster_order(&app, "tok_refund_fails_once").await;
    let oid = id(&order);
    let problem = refund(
        &app,
        &oid,
        json!({"reason": "damaged", "lines": [{"line_no": 2, "quantity": 1}]}),
    )
    .await
    .expect_problem(402, "refund_failed");
    assert_eq!(problem["order_id"], json!(oid));
    let failed = app.get(&format!("/orders/{oid}")).await.expect(200);
    let refund_id = failed["refunds"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(failed["refunds"][0]["status"], "refund_failed");
    assert_eq!(failed["payments"][0]["refunded"], 0);
    assert_eq!(failed["payment_state"], "captured");
    assert_eq!(
        open_exceptions(&app, "payments").await,
        vec![("refund_failed".to_owned(), refund_id.clone())]
    );

    app.clock.advance(SignedDuration::from_mins(15));
    app.state.fire_due_timers(app.clock.now()).await.unwrap();

    let after = app.get(&format!("/orders/{oid}")).await.expect(200);
    assert_eq!(after["refunds"][0]["status"], "succeeded");
    assert_eq!(after["payments"][0]["refunded"], 1458);
    assert!(open_exceptions(&app, "payments").await.is_empty());
    app.assert_invariants().await;
}
