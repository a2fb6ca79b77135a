//! Payments end to end: authorization and capture through the simulator, refunds and
//! their races, signed provider events, the unpaid-order timer, holds and store credit.

use crate::helpers::{
    EVENT_SECRET, EVENT_SECRET_OLD, Res, TestApp, field_errors, join_all, order_body, send,
    spawn_app, spawn_app_with,
};
use jiff::{SignedDuration, Timestamp};
use orderly::providers::signature::{Secret, sign};
use orderly_domain::actor::Role;
use orderly_domain::payment::CaptureMode;
use reqwest::Method;
use serde_json::{Value, json};

/// An app selling MUG (10.00) with 20 in stock at wh-central.
async fn shop(app: TestApp) -> TestApp {
    app.seed_product("MUG", 1000).await;
    app.receive("MUG", "wh-central", 20).await;
    app
}

/// `shop` where every channel captures on shipment, so authorizations stay open.
async fn on_shipment_shop() -> TestApp {
    shop(
        spawn_app_with(|c| {
            for ch in &mut c.channels {
                ch.capture = CaptureMode::OnShipment;
            }
        })
        .await,
    )
    .await
}

/// An order of `quantity` mugs paid with `token`; no shipping, so the total is 10.00 each.
fn mug_order(quantity: i64, token: &str) -> Value {
    let mut body = order_body("web", &[("MUG", quantity, 1000)]);
    body["shipping_amount"] = json!(0);
    body["payment"] = json!({"method": "card", "token": token});
    body
}

fn id(order: &Value) -> String {
    order["id"].as_str().unwrap().to_owned()
}

fn events_of(timeline: &Value) -> Vec<String> {
    timeline["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_owned())
        .collect()
}

/// Sends a provider event signed with `secret` as of `at` (unix seconds).
async fn send_event(app: &TestApp, secret: &str, at: i64, event: &Value) -> Res {
    app.signed_post("/payment-events/simulator", secret, at, event)
        .await
}

/// The app clock in unix seconds: what signed events are dated against.
fn now_s(app: &TestApp) -> i64 {
    app.clock.now().as_second()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_order_is_authorized_captured_and_confirmed() {
    let app = shop(spawn_app().await).await;
    let order = app.create_order(&mug_order(2, "tok_visa")).await;

    assert_eq!(order["order_state"], "confirmed");
    assert_eq!(order["payment_state"], "captured");
    assert_eq!(
        order["status"], "processing",
        "paid and released to the warehouse"
    );
    let payment = &order["payments"][0];
    assert_eq!(payment["authorized"], 2000);
    assert_eq!(payment["captured"], 2000);
    let kinds: Vec<&str> = payment["operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["authorize", "capture"]);
    assert!(payment["authorization_expires_at"].is_string());
    assert_eq!(order["holds"], json!([]));
    assert_eq!(app.simulator_calls("authorize"), 1);

    // A retry with the same key replays the settled answer and calls no provider.
    let keyed = || {
        app.req(Method::POST, "/orders")
            .header("idempotency-key", "card-1")
            .json(&mug_order(1, "tok_visa"))
    };
    let first = send(keyed()).await;
    let again = send(keyed()).await;
    assert_eq!(first.expect(201)["payment_state"], "captured");
    assert_eq!(again.bytes, first.bytes);
    assert_eq!(app.simulator_calls("authorize"), 2);
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declined_card_holds_the_order_until_a_new_card_is_authorized() {
    let app = shop(spawn_app().await).await;
    let order = app.create_order(&mug_order(1, "tok_declined")).await;
    let id = id(&order);

    assert_eq!(order["order_state"], "pending");
    assert_eq!(order["payment_state"], "failed");
    assert_eq!(order["holds"][0]["reason"], "payment_failed");
    assert!(
        order["release_blocked_by"]
            .as_array()
            .unwrap()
            .contains(&json!("hold:payment_failed"))
    );
    let failed = &order["payments"][0]["operations"][0];
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["failure_code"], "insufficient_funds");
    let timeline = app.get(&format!("/orders/{id}/timeline")).await.expect(200);
    let held = timeline["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "hold_placed")
        .unwrap()
        .clone();
    assert!(held["summary"].as_str().unwrap().contains("payment_failed"));

    let retried = app
        .post(
            &format!("/orders/{id}/payments"),
            &json!({"method": "card", "token": "tok_visa"}),
        )
        .await
        .expect(200);
    assert_eq!(retried["holds"], json!([]));
    assert_eq!(retried["order_state"], "confirmed");
    assert_eq!(retried["payment_state"], "captured");
    assert_eq!(retried["payments"].as_array().unwrap().len(), 2);
    assert!(
        events_of(&app.get(&format!("/orders/{id}/timeline")).await.expect(200))
            .contains(&"hold_released".to_owned())
    );
    // Paid in full: a third payment is not needed.
    app.post(
        &format!("/orders/{id}/payments"),
        &json!({"method": "card", "token": "tok_visa"}),
    )
    .await
    .expect_problem(409, "payment_not_needed");
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fraud_declines_and_unknown_tokens_fail_the_payment() {
    let app = shop(spawn_app().await).await;
    let fraud = app.create_order(&mug_order(1, "tok_fraud")).await;
    assert_eq!(
        fraud["payments"][0]["operations"][0]["failure_code"],
        "suspected_fraud"
    );
    assert_eq!(fraud["payment_state"], "failed");
    let missing = app
        .post("/orders", &{
            let mut b = mug_order(1, "x");
            b["payment"] = json!({"method": "card"});
            b
        })
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(missing["errors"][0]["field"], "payment.token");
    let unknown = app
        .post("/orders", &{
            let mut b = mug_order(1, "x");
            b["payment"] = json!({"method": "card", "provider": "nope", "token": "tok_visa"});
            b
        })
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(unknown["errors"][0]["code"], "unknown_provider");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_concurrent_refunds_cannot_refund_more_than_was_captured() {
    let app = shop(spawn_app().await).await;
    let order = app.create_order(&mug_order(1, "tok_visa")).await;
    assert_eq!(order["payments"][0]["captured"], 1000);
    let path = format!("/orders/{}/refunds", id(&order));
    let body = json!({"amount": 600, "reason": "customer_request"});

    let results = join_all((0..2).map(|_| send(app.req(Method::POST, &path).json(&body)))).await;

    let ok: Vec<&Res> = results.iter().filter(|r| r.status == 200).collect();
    let refused: Vec<&Res> = results.iter().filter(|r| r.status != 200).collect();
    assert_eq!(ok.len(), 1, "exactly one refund of 600 out of 1000");
    let problem = refused[0].expect_problem(422, "refund_exceeds_captured");
    assert!(
        problem["detail"].as_str().unwrap().contains("400"),
        "{problem}"
    );
    let after = app
        .get(&format!("/orders/{}", id(&order)))
        .await
        .expect(200);
    assert_eq!(after["payments"][0]["refunded"], 600);
    assert_eq!(after["payment_state"], "partially_refunded");
    assert_eq!(after["refunds"][0]["status"], "succeeded");
    assert_eq!(app.simulator_calls("refund"), 1);
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_concurrent_captures_make_one_provider_call() {
    let app = on_shipment_shop().await;
    let order = app.create_order(&mug_order(3, "tok_visa")).await;
    assert_eq!(order["payment_state"], "authorized");
    assert_eq!(order["payments"][0]["capturable"], 3000);
    let path = format!("/orders/{}/captures", id(&order));

    let results =
        join_all((0..2).map(|_| send(app.req(Method::POST, &path).json(&json!({}))))).await;

    let statuses: Vec<u16> = results.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    let refused = results.iter().find(|r| r.status != 200).unwrap();
    refused.expect_problem(422, "nothing_to_capture");
    assert_eq!(app.simulator_calls("capture"), 1);
    let after = app
        .get(&format!("/orders/{}", id(&order)))
        .await
        .expect(200);
    assert_eq!(after["payment_state"], "captured");
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partial_captures_and_an_over_capture_on_shipment_channels() {
    let app = on_shipment_shop().await;
    let order = app.create_order(&mug_order(3, "tok_visa")).await;
    let path = format!("/orders/{}/captures", id(&order));

    let first = app.post(&path, &json!({"amount": 1500})).await.expect(200);
    assert_eq!(first["payment_state"], "partially_captured");
    app.post(&path, &json!({"amount": 1501}))
        .await
        .expect_problem(422, "capture_exceeds_authorized");
    // Out of its documented bound: refused as a field, before the order is looked up.
    let problem = app
        .post(&path, &json!({"amount": 0}))
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(
        field_errors(&problem),
        [("amount".to_owned(), "amount_out_of_range".to_owned())]
    );
    let rest = app.post(&path, &json!({})).await.expect(200);
    assert_eq!(rest["payment_state"], "captured");
    assert_eq!(rest["payments"][0]["captured"], 3000);
    // Support may not capture.
    let (_, support) = app.key(Role::Support).await;
    send(app.req_as(&support, Method::POST, &path).json(&json!({})))
        .await
        .expect_problem(403, "forbidden");
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_capture_that_fails_leaves_the_money_authorized() {
    let app = shop(spawn_app().await).await;
    let order = app.create_order(&mug_order(1, "tok_capture_fails")).await;
    assert_eq!(order["payment_state"], "authorized");
    assert_eq!(order["order_state"], "confirmed");
    let ops = order["payments"][0]["operations"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(ops[1]["kind"], "capture");
    assert_eq!(ops[1]["status"], "failed");
    assert_eq!(ops[1]["failure_code"], "capture_failed");
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_refund_is_visible_and_can_be_retried() {
    let app = shop(spawn_app().await).await;
    let order = app.create_order(&mug_order(1, "tok_refund_fails")).await;
    let oid = id(&order);
    // The provider refused: the answer says so (402), and the order shows it.
    let problem = app
        .post(
            &format!("/orders/{oid}/refunds"),
            &json!({"amount": 400, "reason": "damaged", "lines": [{"line_no": 1, "quantity": 1}]}),
        )
        .await
        .expect_problem(402, "refund_failed");
    assert_eq!(problem["order_id"], json!(oid));
    let refunded = app.get(&format!("/orders/{oid}")).await.expect(200);
    let refund = &refunded["refunds"][0];
    assert_eq!(refund["status"], "refund_failed");
    assert_eq!(refund["refunded"], 0);
    assert_eq!(refunded["payment_state"], "captured");
    let refund_id = refund["id"].as_str().unwrap().to_owned();

    app.post(
        &format!("/orders/{oid}/refunds/{refund_id}/retry"),
        &json!({}),
    )
    .await
    .expect_problem(402, "refund_failed");
    let retried = app.get(&format!("/orders/{oid}")).await.expect(200);
    // The simulator refuses every refund on this card: still failed, now twice.
    assert_eq!(retried["refunds"][0]["status"], "refund_failed");
    let refund_ops = retried["payments"][0]["operations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["kind"] == "refund")
        .count();
    assert_eq!(refund_ops, 2);
    // A refund that went through has nothing left to retry.
    let ok = app.create_order(&mug_order(1, "tok_visa")).await;
    let done = app
        .post(
            &format!("/orders/{}/refunds", id(&ok)),
            &json!({"amount": 1000, "reason": "customer_request"}),
        )
        .await
        .expect(200);
    assert_eq!(done["payment_state"], "refunded");
    let done_id = done["refunds"][0]["id"].as_str().unwrap();
    app.post(
        &format!("/orders/{}/refunds/{done_id}/retry", id(&ok)),
        &json!({}),
    )
    .await
    .expect_problem(409, "refund_not_failed");
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_credit_is_a_refund_method_and_a_payment_method() {
    let app = shop(spawn_app().await).await;
    let email = "ana@example.com";
    let card = app.create_order(&mug_order(2, "tok_visa")).await;
    let refunded = app
        .post(
            &format!("/orders/{}/refunds", id(&card)),
            &json!({"amount": 1500, "reason": "customer_request", "method": "store_credit"}),
        )
        .await
        .expect(200);
    assert_eq!(refunded["refunds"][0]["status"], "succeeded");
    assert_eq!(refunded["payments"][0]["refunded"], 1500);
    assert_eq!(
        app.simulator_calls("refund"),
        0,
        "store credit needs no provider"
    );
    let credit = app
        .get(&format!("/customers/{email}/store-credit"))
        .await
        .expect(200);
    assert_eq!(credit["balances"]["USD"], 1500);

    // Paying 10.00 with store credit redeems it.
    let mut body = mug_order(1, "x");
    body["payment"] = json!({"method": "store_credit"});
    let paid = app.create_order(&body).await;
    assert_eq!(paid["payment_state"], "captured");
    assert_eq!(paid["order_state"], "confirmed");
    let credit = app
        .get(&format!("/customers/{email}/store-credit"))
        .await
        .expect(200);
    assert_eq!(credit["balances"]["USD"], 500);
    assert_eq!(credit["entries"][0]["reason"], "redeem");

    // Not enough left for another: the payment fails and the order waits.
    let short = app.create_order(&body).await;
    assert_eq!(short["payment_state"], "failed");
    assert_eq!(
        short["payments"][0]["operations"][0]["failure_code"],
        "insufficient_store_credit"
    );
    // Finance issues goodwill credit; support may not.
    let issue = json!({"amount": 2500, "currency": "USD", "note": "goodwill"});
    let (_, support) = app.key(Role::Support).await;
    send(
        app.req_as(
            &support,
            Method::POST,
            &format!("/customers/{email}/store-credit"),
        )
        .json(&issue),
    )
    .await
    .expect_problem(403, "forbidden");
    let (_, finance) = app.key(Role::Finance).await;
    let issued = send(
        app.req_as(
            &finance,
            Method::POST,
            &format!("/customers/{email}/store-credit"),
        )
        .json(&issue),
    )
    .await
    .expect(201);
    assert_eq!(issued["balances"]["USD"], 3000);
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bank_transfers_wait_for_finance_and_cash_on_delivery_confirms_at_once() {
    let app = shop(spawn_app().await).await;
    let mut body = mug_order(1, "x");
    body["payment"] = json!({"method": "bank_transfer"});
    let transfer = app.create_order(&body).await;
    assert_eq!(transfer["order_state"], "pending");
    assert_eq!(transfer["payment_state"], "unpaid");
    let due: Timestamp = transfer["payment_due_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let created: Timestamp = transfer["created_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(due.duration_since(created), SignedDuration::from_hours(72));
    let pay_id = transfer["payments"][0]["id"].as_str().unwrap();
    let path = format!("/orders/{}/payments/{pay_id}/mark-paid", id(&transfer));
    let (_, support) = app.key(Role::Support).await;
    send(app.req_as(&support, Method::POST, &path).json(&json!({})))
        .await
        .expect_problem(403, "forbidden");
    let (_, finance) = app.key(Role::Finance).await;
    let paid = send(
        app.req_as(&finance, Method::POST, &path)
            .json(&json!({"reference": "BANK-77"})),
    )
    .await
    .expect(200);
    assert_eq!(paid["order_state"], "confirmed");
    assert_eq!(paid["payment_state"], "captured");
    send(app.req_as(&finance, Method::POST, &path).json(&json!({})))
        .await
        .expect_problem(409, "already_paid");

    body["payment"] = json!({"method": "cash_on_delivery"});
    let cod = app.create_order(&body).await;
    assert_eq!(cod["order_state"], "confirmed");
    assert_eq!(cod["payment_state"], "unpaid");
    assert_eq!(cod["status"], "processing", "accepted, paid on delivery");
    assert_eq!(cod["payment_due_at"], Value::Null);
    assert_eq!(cod["release_blocked_by"], json!([]));
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unpaid_order_is_cancelled_at_its_deadline_not_before() {
    let app = shop(spawn_app().await).await;
    let order = app.create_order(&mug_order(4, "tok_declined")).await;
    let oid = id(&order);
    assert_eq!(app.stock("MUG", "wh-central").await, (20, 4, 16));
    let due: Timestamp = order["payment_due_at"].as_str().unwrap().parse().unwrap();
    let created: Timestamp = order["created_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(due.duration_since(created), SignedDuration::from_mins(30));

    // One millisecond before the deadline, on the app's own clock: nothing happens.
    app.clock.set(due - SignedDuration::from_millis(1));
    app.state.fire_due_timers(app.clock.now()).await.unwrap();
    let before = app.get(&format!("/orders/{oid}")).await.expect(200);
    assert_eq!(before["order_state"], "pending");
    assert_eq!(app.stock("MUG", "wh-central").await, (20, 4, 16));

    // Exactly at the deadline, the order is cancelled.
    app.clock.advance(SignedDuration::from_millis(1));
    assert_eq!(app.clock.now(), due);
    app.state.fire_due_timers(app.clock.now()).await.unwrap();
    let after = app.get(&format!("/orders/{oid}")).await.expect(200);
    assert_eq!(after["order_state"], "cancelled");
    assert_eq!(after["cancel_reason"], "payment_timeout");
    assert_eq!(app.stock("MUG", "wh-central").await, (20, 0, 20));
    // Firing again changes nothing: the timer is spent.
    let version = after["version"].clone();
    app.clock.advance(SignedDuration::from_hours(1));
    app.state.fire_due_timers(app.clock.now()).await.unwrap();
    let again = app.get(&format!("/orders/{oid}")).await.expect(200);
    assert_eq!(again["version"], version);
    // A paid order is not touched by its deadline.
    let paid = app.create_order(&mug_order(1, "tok_visa")).await;
    app.clock.advance(SignedDuration::from_hours(2));
    app.state.fire_due_timers(app.clock.now()).await.unwrap();
    let paid = app.get(&format!("/orders/{}", id(&paid))).await.expect(200);
    assert_eq!(paid["order_state"], "confirmed");
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timed_out_authorization_is_resolved_by_the_timer_re_driving_it() {
    let app = shop(spawn_app().await).await;
    let order = app.create_order(&mug_order(1, "tok_timeout")).await;
    let oid = id(&order);
    assert_eq!(order["payment_state"], "unpaid");
    assert_eq!(order["payments"][0]["operations"][0]["status"], "pending");
    // Pending authorization: the deadline does not cancel an order whose payment may
    // still succeed.
    app.fire_timers_at(SignedDuration::from_secs(31)).await;
    let after = app.get(&format!("/orders/{oid}")).await.expect(200);
    assert_eq!(after["payment_state"], "captured", "{after}");
    assert_eq!(after["order_state"], "confirmed");
    // The same idempotency key twice at the provider, one authorization.
    assert_eq!(app.simulator_calls("authorize"), 2);
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_provider_event_resolves_a_timed_out_authorization() {
    let app = shop(spawn_app().await).await;
    let order = app.create_order(&mug_order(1, "tok_timeout")).await;
    let op = order["payments"][0]["operations"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let event = json!({"id": "evt_1", "type": "authorization.succeeded",
        "data": {"idempotency_key": op, "reference": app.simulator_reference(&op)}});

    // Refused, each changing nothing: a tampered body, a wrong secret, a stale timestamp.
    let before = app.fingerprint().await;
    let body = serde_json::to_vec(&event).unwrap();
    let signature = sign(
        &Secret::parse(EVENT_SECRET).unwrap(),
        "evt_1",
        now_s(&app),
        &body,
    );
    let mut tampered = event.clone();
    tampered["data"]["reference"] = json!("sim_auth_evil");
    send(
        app.client
            .post(app.url("/payment-events/simulator"))
            .header("webhook-id", "evt_1")
            .header("webhook-timestamp", now_s(&app).to_string())
            .header("webhook-signature", signature)
            .body(serde_json::to_vec(&tampered).unwrap()),
    )
    .await
    .expect_problem(401, "bad_signature");
    send_event(
        &app,
        "whsec_d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldC0zMg==",
        now_s(&app),
        &event,
    )
    .await
    .expect_problem(401, "bad_signature");
    send_event(&app, EVENT_SECRET, now_s(&app) - 301, &event)
        .await
        .expect_problem(401, "stale_timestamp");
    send(
        app.client
            .post(app.url("/payment-events/simulator"))
            .json(&event),
    )
    .await
    .expect_problem(401, "missing_signature_header");
    assert_eq!(app.fingerprint().await, before);
    let applied = send_event(&app, EVENT_SECRET, now_s(&app), &event)
        .await
        .expect(200);
    assert_eq!(applied["status"], "applied");

    // A replay of the same event id is refused and changes nothing.
    let applied = app.fingerprint().await;
    send_event(&app, EVENT_SECRET_OLD, now_s(&app) - 299, &event)
        .await
        .expect_problem(409, "duplicate_event");
    assert_eq!(app.fingerprint().await, applied);

    let after = app
        .get(&format!("/orders/{}", id(&order)))
        .await
        .expect(200);
    assert_eq!(after["order_state"], "confirmed");
    // The late authorization led to the channel's capture, driven at once.
    assert_eq!(after["payment_state"], "captured");
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_events_out_of_order_end_in_the_right_state() {
    let app = shop(spawn_app().await).await;
    let order = app.create_order(&mug_order(1, "tok_timeout")).await;
    let payment = order["payments"][0]["id"].as_str().unwrap().to_owned();
    let op = order["payments"][0]["operations"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let expired = json!({"id": "evt_2", "type": "authorization.expired",
        "data": {"payment_id": payment}});
    let succeeded = json!({"id": "evt_1", "type": "authorization.succeeded",
        "data": {"idempotency_key": op, "reference": app.simulator_reference(&op)}});

    // The expiry arrives first: it waits for the authorization it is about.
    let parked = send_event(&app, EVENT_SECRET, now_s(&app), &expired)
        .await
        .expect(200);
    assert_eq!(parked["status"], "parked");
    let mid = app
        .get(&format!("/orders/{}", id(&order)))
        .await
        .expect(200);
    assert_eq!(mid["payment_state"], "unpaid");

    let applied = send_event(&app, EVENT_SECRET, now_s(&app), &succeeded)
        .await
        .expect(200);
    assert_eq!(applied["status"], "applied");
    let after = app
        .get(&format!("/orders/{}", id(&order)))
        .await
        .expect(200);
    // Authorized, then (the parked event) expired before anything was captured, or
    // captured at authorization: either way no money is left authorized and open.
    let p = &after["payments"][0];
    assert_eq!(p["capturable"], 0, "{after}");
    let rows = app
        .db
        .count("SELECT COUNT(*) FROM provider_events WHERE status = 'parked'")
        .await;
    assert_eq!(rows, 0, "the parked event was applied or settled");
    // A late duplicate answer for the resolved operation is ignored.
    let late = json!({"id": "evt_3", "type": "authorization.failed",
        "data": {"idempotency_key": op, "code": "insufficient_funds"}});
    let ignored = send_event(&app, EVENT_SECRET, now_s(&app), &late)
        .await
        .expect(200);
    assert_eq!(ignored["status"], "ignored");
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expiry_event_before_the_authorization_leaves_the_payment_expired() {
    let app = on_shipment_shop().await;
    let order = app.create_order(&mug_order(1, "tok_timeout")).await;
    let payment = order["payments"][0]["id"].as_str().unwrap().to_owned();
    let op = order["payments"][0]["operations"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let expired = json!({"id": "evt_b", "type": "authorization.expired",
        "data": {"payment_id": payment}});
    let succeeded = json!({"id": "evt_a", "type": "authorization.succeeded",
        "data": {"idempotency_key": op, "reference": app.simulator_reference(&op)}});
    send_event(&app, EVENT_SECRET, now_s(&app), &expired)
        .await
        .expect(200);
    send_event(&app, EVENT_SECRET, now_s(&app), &succeeded)
        .await
        .expect(200);
    let after = app
        .get(&format!("/orders/{}", id(&order)))
        .await
        .expect(200);
    assert_eq!(after["payment_state"], "expired", "{after}");
    assert_eq!(after["payments"][0]["closed_by"], "expiry");
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_high_value_order_waits_for_finance_to_release_its_review() {
    let app = shop(spawn_app_with(|c| c.risk.high_value_threshold_minor = Some(5000)).await).await;
    let small = app.create_order(&mug_order(5, "tok_visa")).await;
    assert_eq!(small["holds"], json!([]));
    let big = app.create_order(&mug_order(6, "tok_visa")).await;
    let oid = id(&big);
    assert_eq!(big["holds"][0]["reason"], "high_value_review");
    assert!(
        big["release_blocked_by"]
            .as_array()
            .unwrap()
            .contains(&json!("hold:high_value_review"))
    );
    let release = format!("/orders/{oid}/holds/high_value_review/release");
    let (_, support) = app.key(Role::Support).await;
    send(
        app.req_as(&support, Method::POST, &release)
            .json(&json!({"note": "looks fine"})),
    )
    .await
    .expect_problem(403, "forbidden");
    let still = app.get(&format!("/orders/{oid}")).await.expect(200);
    assert_eq!(still["holds"][0]["reason"], "high_value_review");

    let (_, finance) = app.key(Role::Finance).await;
    let released = send(
        app.req_as(&finance, Method::POST, &release)
            .json(&json!({"note": "customer verified by phone"})),
    )
    .await
    .expect(200);
    assert_eq!(released["holds"], json!([]));
    assert_eq!(released["release_blocked_by"], json!([]));
    send(
        app.req_as(&finance, Method::POST, &release)
            .json(&json!({})),
    )
    .await
    .expect_problem(409, "hold_not_active");

    // Support can place and release a manual hold.
    let hold = format!("/orders/{oid}/holds");
    let placed = send(
        app.req_as(&support, Method::POST, &hold)
            .json(&json!({"reason": "manual", "note": "customer asked to wait"})),
    )
    .await
    .expect(200);
    assert_eq!(placed["holds"][0]["note"], "customer asked to wait");
    send(
        app.req_as(&support, Method::POST, &hold)
            .json(&json!({"reason": "manual"})),
    )
    .await
    .expect_problem(409, "hold_already_active");
    send(
        app.req_as(
            &support,
            Method::POST,
            &format!("/orders/{oid}/holds/manual/release"),
        )
        .json(&json!({})),
    )
    .await
    .expect(200);
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn risk_rules_review_country_mismatch_and_order_velocity() {
    let app = shop(spawn_app().await).await;
    let mut abroad = mug_order(1, "tok_visa");
    abroad["customer"]["email"] = json!("cara@example.com");
    abroad["billing_address"] = json!({"name": "Cara", "line1": "1 Rue", "city": "Paris",
        "postal_code": "75001", "country": "FR"});
    let held = app.create_order(&abroad).await;
    assert_eq!(held["holds"][0]["reason"], "fraud_review");
    assert!(held["holds"][0]["note"].as_str().unwrap().contains("FR"));

    let mut quick = mug_order(1, "tok_visa");
    quick["customer"]["email"] = json!("dan@example.com");
    for n in 0..5 {
        let o = app.create_order(&quick).await;
        assert_eq!(o["holds"], json!([]), "order {n} is within the limit");
    }
    let sixth = app.create_order(&quick).await;
    assert_eq!(sixth["holds"][0]["reason"], "fraud_review");
    assert!(
        sixth["holds"][0]["note"]
            .as_str()
            .unwrap()
            .contains("6 orders")
    );

    // One card across six emails: the sixth order with it goes to review.
    for n in 0..6 {
        let mut body = mug_order(1, "tok_visa");
        body["customer"]["email"] = json!(format!("card{n}@example.com"));
        body["payment"]["fingerprint"] = json!("fp_4242");
        let o = app.create_order(&body).await;
        if n < 5 {
            assert_eq!(
                o["holds"],
                json!([]),
                "order {n} with the card is within the limit"
            );
        } else {
            let note = o["holds"][0]["note"].as_str().unwrap();
            assert!(note.contains("6 orders with this card"), "{note}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_names_a_broken_ledger_and_a_store_credit_balance_off_its_entries() {
    let app = shop(spawn_app().await).await;
    let order = app.create_order(&mug_order(1, "tok_visa")).await;
    app.post(
        "/customers/ana@example.com/store-credit",
        &json!({"amount": 700, "currency": "USD"}),
    )
    .await
    .expect(201);
    app.assert_invariants().await;
    // A capture larger than its authorization, and a balance nobody issued.
    app.db
        .execute(&format!(
            "UPDATE orders SET snapshot = replace(snapshot, '\"kind\":\"capture\",\"amount_minor\":1000', \
             '\"kind\":\"capture\",\"amount_minor\":1200') WHERE id = '{}'",
            id(&order)
        ))
        .await;
    app.db
        .execute("UPDATE store_credit_balances SET balance_minor = 9700")
        .await;
    let report = app.state.store.check().await.unwrap();
    let text: Vec<String> = report.violations.iter().map(|v| v.to_string()).collect();
    assert!(
        text.iter()
            .any(|t| t.contains(&id(&order)) && t.contains("exceeds the 1000 still authorized")),
        "{text:?}"
    );
    assert!(
        text.iter()
            .any(|t| t.contains("store credit of ana@example.com") && t.contains("9700")),
        "{text:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_reserving_at_payment_holds_stock_only_for_paid_orders() {
    let app = shop(
        spawn_app_with(|c| {
            for ch in &mut c.channels {
                ch.reserve_stock = orderly::config::ReserveStock::AtPayment;
            }
        })
        .await,
    )
    .await;
    let declined = app.create_order(&mug_order(3, "tok_declined")).await;
    assert_eq!(declined["lines"][0]["buckets"]["unallocated"], 3);
    assert_eq!(app.stock("MUG", "wh-central").await, (20, 0, 20));

    let paid = app
        .post(
            &format!("/orders/{}/payments", id(&declined)),
            &json!({"method": "card", "token": "tok_visa"}),
        )
        .await
        .expect(200);
    assert_eq!(paid["lines"][0]["buckets"]["allocated"], 3);
    assert_eq!(paid["lines"][0]["buckets"]["unallocated"], 0);
    assert_eq!(app.stock("MUG", "wh-central").await, (20, 3, 17));

    // An order whose payment is still unknown holds nothing; a paid one takes the rest.
    let slow = app.create_order(&mug_order(10, "tok_timeout")).await;
    assert_eq!(app.stock("MUG", "wh-central").await, (20, 3, 17));
    app.create_order(&mug_order(17, "tok_visa")).await;
    assert_eq!(app.stock("MUG", "wh-central").await, (20, 20, 0));
    // The slow payment succeeds when re-driven, but the stock is gone: the web channel
    // does not backorder, so the order is cancelled and its money given back.
    app.fire_timers_at(SignedDuration::from_secs(31)).await;
    let after = app.get(&format!("/orders/{}", id(&slow))).await.expect(200);
    assert_eq!(after["order_state"], "cancelled", "{after}");
    assert_eq!(after["cancel_reason"], "out_of_stock");
    assert_eq!(after["payment_state"], "refunded", "{after}");
    assert_eq!(app.stock("MUG", "wh-central").await, (20, 20, 0));
    app.assert_invariants().await;
}
