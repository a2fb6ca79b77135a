//! Card tokens let whoever holds them charge the card: they never reach the event log, a
//! snapshot or any view, yet an authorization re-driven after a crash still has one.

use crate::helpers::{TestApp, order_body, send, spawn_app};
use jiff::{SignedDuration, Timestamp};
use orderly_domain::actor::Role;
use reqwest::Method;
use serde_json::{Value, json};

/// An app selling MUG (10.00) with 20 in stock at wh-central.
async fn shop() -> TestApp {
    let app = spawn_app().await;
    app.seed_product("MUG", 1000).await;
    app.receive("MUG", "wh-central", 20).await;
    app
}

fn card_order(token: &str) -> Value {
    let mut body = order_body("web", &[("MUG", 1, 1000)]);
    body["payment"] = json!({"method": "card", "token": token, "last4": "4242"});
    body
}

fn id(order: &Value) -> String {
    order["id"].as_str().unwrap().to_owned()
}

/// Rows of the store's token table: tokens waiting for their authorization's answer.
async fn kept_tokens(app: &TestApp) -> i64 {
    app.db.count("SELECT COUNT(*) FROM payment_tokens").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_role_reads_a_card_token_in_events_views_or_lists() {
    let app = shop().await;
    let paid = app.create_order(&card_order("tok_visa")).await;
    assert_eq!(paid["payment_state"], "captured", "{paid}");
    assert_eq!(paid["payments"][0]["last4"], "4242");
    // A declined card, then a second card added to the same order.
    let declined = app.create_order(&card_order("tok_declined")).await;
    let retried = app
        .post(
            &format!("/orders/{}/payments", id(&declined)),
            &json!({"method": "card", "token": "tok_capture_fails"}),
        )
        .await
        .expect(200);
    assert_eq!(retried["payments"].as_array().unwrap().len(), 2);

    let (_, warehouse) = app.key(Role::Warehouse).await;
    let read = |path: String| {
        let req = app.req_as(&warehouse, Method::GET, &path);
        async move {
            let res = send(req).await;
            assert_eq!(res.status, 200, "{path}");
            String::from_utf8(res.bytes).unwrap()
        }
    };
    let mut bodies = vec![read("/orders?limit=200".into()).await];
    for order in [&paid, &declined] {
        let oid = id(order);
        bodies.push(read(format!("/orders/{oid}")).await);
        let timeline = read(format!("/orders/{oid}/timeline")).await;
        assert!(timeline.contains("payment_added"), "{timeline}");
        bodies.push(timeline);
    }
    for body in &bodies {
        for token in ["tok_visa", "tok_declined", "tok_capture_fails"] {
            assert!(!body.contains(token), "{token} in {body}");
        }
    }
    // Nor is it in what is stored for the order (its events and snapshot), and once
    // every authorization was answered the kept tokens are gone too.
    let stored = app
        .db
        .count(
            "SELECT (SELECT COUNT(*) FROM events WHERE data LIKE '%tok\\_%' ESCAPE '\\')
                  + (SELECT COUNT(*) FROM orders WHERE snapshot LIKE '%tok\\_%' ESCAPE '\\')",
        )
        .await;
    assert_eq!(stored, 0);
    assert_eq!(kept_tokens(&app).await, 0);
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_authorization_re_driven_after_a_restart_uses_the_kept_token() {
    let app = shop().await;
    // The provider takes the call but the answer is lost: the authorization stays pending
    // and its token waits in the store.
    let order = app.create_order(&card_order("tok_timeout")).await;
    let oid = id(&order);
    assert_eq!(order["payments"][0]["operations"][0]["status"], "pending");
    assert_eq!(kept_tokens(&app).await, 1);

    // After a crash nothing in memory is left: the token comes from the store, and the
    // provider (which forgot the first call too) authorizes again under the same key.
    let app = app.restart().await;
    let mut now = Timestamp::now();
    for _ in 0..3 {
        now += SignedDuration::from_secs(120);
        app.state.fire_due_timers(now).await.unwrap();
    }
    let after = app.get(&format!("/orders/{oid}")).await.expect(200);
    assert_eq!(after["payment_state"], "captured", "{after}");
    assert_eq!(after["order_state"], "confirmed");
    assert!(app.simulator_calls("authorize") >= 2);
    // Answered: the token is deleted.
    assert_eq!(kept_tokens(&app).await, 0);
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn last_digits_that_are_not_four_digits_are_refused_and_change_nothing() {
    let app = shop().await;
    let before = app.fingerprint().await;
    for bad in ["42", "4242 ", "abcd", "42424"] {
        let mut body = card_order("tok_visa");
        body["payment"]["last4"] = json!(bad);
        let problem = app
            .post("/orders", &body)
            .await
            .expect_problem(422, "validation_failed");
        assert_eq!(
            crate::helpers::field_errors(&problem),
            [("payment.last4".to_owned(), "invalid_last4".to_owned())],
            "{bad}"
        );
    }
    assert_eq!(app.fingerprint().await, before);
}
