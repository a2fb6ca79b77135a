//! The customer's own return request, with the order's number and email and no key: a
//! wrong pair (or an order id) shows nothing of the order, more units than were delivered
//! are refused, a final-sale item is rejected naming the rule, and a peer that keeps
//! guessing is turned away for the window, with the injected clock.

use crate::helpers::*;
use crate::returns::{delivered, return_buckets, shop};
use crate::returns_support::*;
use jiff::SignedDuration;
use serde_json::{Value, json};

const EMAIL: &str = "ana@example.com";

/// Asserts a 404 that names nothing of the order behind `order`.
fn assert_shows_nothing(res: &Res, order: &Value) {
    let problem = res.expect_problem(404, "order_not_found");
    let body = String::from_utf8_lossy(&res.bytes).into_owned();
    let id = text(order, "id");
    for secret in [
        id.as_str(),
        EMAIL,
        "Ana",
        "Austin",
        "TEE-BLK",
        "2000",
        "delivered",
    ] {
        assert!(!body.contains(secret), "{secret} shown in {body}");
    }
    let mut keys: Vec<&str> = problem
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["code", "detail", "status", "title", "type"],
        "{problem}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_email_or_an_order_id_is_not_found_and_shows_nothing() {
    let app = shop(spawn_app().await).await;
    let order = delivered(&app, &[("TEE-BLK-M", 1, 2000)]).await;
    let number = text(&order, "number");
    let before = app.fingerprint().await;

    let wrong = self_service(
        &app,
        &number,
        "eve@example.com",
        ask(&[(1, 1)], "size_too_small"),
    )
    .await;
    assert_shows_nothing(&wrong, &order);
    // The same answer as for a number that does not exist.
    let unknown = self_service(
        &app,
        "WEB-999999",
        "eve@example.com",
        ask(&[(1, 1)], "size_too_small"),
    )
    .await;
    assert_eq!(wrong.json(), unknown.json());
    // The customer knows the number, never the id: even with the right email.
    let by_id = self_service(
        &app,
        &text(&order, "id"),
        EMAIL,
        ask(&[(1, 1)], "size_too_small"),
    )
    .await;
    assert_shows_nothing(&by_id, &order);
    assert_eq!(by_id.json(), wrong.json());

    assert_eq!(app.fingerprint().await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_units_than_were_delivered_are_refused() {
    let app = shop(spawn_app().await).await;
    let order = delivered(&app, &[("TEE-BLK-M", 2, 2000)]).await;
    let number = text(&order, "number");
    let before = app.fingerprint().await;
    let problem = self_service(&app, &number, EMAIL, ask(&[(1, 3)], "size_too_small"))
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(
        field_errors(&problem),
        [(
            "items[0].quantity".to_owned(),
            "quantity_beyond_returnable".to_owned()
        )]
    );
    assert_eq!(app.fingerprint().await, before);

    // Two of two is fine; a third unit then is not.
    let asked = self_service(&app, &number, EMAIL, ask(&[(1, 2)], "size_too_small"))
        .await
        .expect(201);
    assert_eq!(asked["state"], "authorized");
    let problem = self_service(&app, &number, EMAIL, ask(&[(1, 1)], "size_too_small"))
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(
        field_errors(&problem),
        [(
            "items[0].quantity".to_owned(),
            "quantity_beyond_returnable".to_owned()
        )]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_final_sale_item_is_rejected_naming_the_rule() {
    let app = shop(spawn_app().await).await;
    app.seed_product("SOCK-CREW-S", 900).await;
    app.receive("SOCK-CREW-S", "wh-east", 5).await;
    let order = delivered(&app, &[("SOCK-CREW-S", 1, 900)]).await;
    let asked = self_service(
        &app,
        &text(&order, "number"),
        EMAIL,
        ask(&[(1, 1)], "size_too_small"),
    )
    .await
    .expect(201);
    assert_eq!(asked["state"], "rejected", "{asked}");
    assert_eq!(asked["decision"]["outcome"], "rejected");
    assert_eq!(asked["decision"]["rules"], json!(["final_sale"]));
    assert_eq!(asked["decision"]["policy_version"], "2026-11");
    assert_eq!(asked["label"], Value::Null);
    // A rejected return holds no units.
    let after = app
        .get(&format!("/orders/{}", text(&order, "id")))
        .await
        .expect(200);
    assert_eq!(return_buckets(&after, 0), (0, 0, 0));
    assert_eq!(after["status"], "delivered");
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_keeps_guessing_waits_out_the_window() {
    let app = shop(spawn_app().await).await;
    let order = delivered(&app, &[("TEE-BLK-M", 1, 2000)]).await;
    let number = text(&order, "number");
    for n in 0..5 {
        let guess = format!("guess{n}@example.com");
        self_service(&app, &number, &guess, ask(&[(1, 1)], "size_too_small"))
            .await
            .expect_problem(404, "order_not_found");
    }
    // The sixth is turned away before it is looked at, even with the right pair.
    let throttled = self_service(&app, &number, EMAIL, ask(&[(1, 1)], "size_too_small")).await;
    throttled.expect_problem(429, "authentication_throttled");
    assert_eq!(
        throttled
            .headers
            .get("retry-after")
            .unwrap()
            .to_str()
            .unwrap(),
        "900"
    );
    assert_eq!(app.get("/returns").await.expect(200)["data"], json!([]));

    // Still inside the window a second before its end; after it, the pair works.
    app.clock.advance(SignedDuration::from_secs(899));
    self_service(&app, &number, EMAIL, ask(&[(1, 1)], "size_too_small"))
        .await
        .expect_problem(429, "authentication_throttled");
    app.clock.advance(SignedDuration::from_secs(1));
    let asked = self_service(&app, &number, EMAIL, ask(&[(1, 1)], "size_too_small"))
        .await
        .expect(201);
    assert_eq!(asked["state"], "authorized");
    assert_eq!(asked["source"], "self_service");
}
