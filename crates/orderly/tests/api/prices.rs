//! Whose word a line's price is: each channel's price trust (`checked` against the
//! catalog, `catalog` replacing what was sent, `as_sent` for a marketplace that sets its
//! own) and whether it takes orders that total nothing.

use crate::helpers::{TestApp, field_errors, order_body, spawn_app, spawn_app_with};
use orderly_domain::order::PriceTrust;
use serde_json::json;

async fn shop(app: TestApp) -> TestApp {
    app.seed_product("TEE-BLK-M", 1999).await;
    app.receive("TEE-BLK-M", "wh-central", 10).await;
    app
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_order_priced_at_nothing_is_refused_and_changes_nothing() {
    let app = shop(spawn_app().await).await;
    let before = app.fingerprint().await;
    let body = order_body("web", &[("TEE-BLK-M", 1, 0)]);
    let problem = app
        .post("/orders", &body)
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(
        field_errors(&problem),
        vec![(
            "lines[0].unit_price".to_owned(),
            "price_mismatch".to_owned()
        )]
    );
    let message = problem["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("1999"), "{message}");
    assert_eq!(app.fingerprint().await, before);
    assert_eq!(app.simulator_calls("authorize"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checked_price_within_the_channels_tolerance_is_taken_as_sent() {
    let app = shop(
        spawn_app_with(|c| {
            c.channels[0].price_tolerance_percent = 10;
        })
        .await,
    )
    .await;
    // 10 % of 19.99 is 1.999: 18.00 is within it, 17.99 beyond.
    let order = app
        .create_order(&order_body("web", &[("TEE-BLK-M", 1, 1800)]))
        .await;
    assert_eq!(order["lines"][0]["unit_price"], 1800);
    let problem = app
        .post("/orders", &order_body("web", &[("TEE-BLK-M", 1, 1799)]))
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(
        field_errors(&problem),
        vec![(
            "lines[0].unit_price".to_owned(),
            "price_mismatch".to_owned()
        )]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_catalog_priced_channel_charges_the_catalog_price_whatever_was_sent() {
    let app = shop(spawn_app_with(|c| c.channels[0].prices = PriceTrust::Catalog).await).await;
    let order = app
        .create_order(&order_body("web", &[("TEE-BLK-M", 2, 0)]))
        .await;
    assert_eq!(order["lines"][0]["unit_price"], 1999);
    // Two at 19.99 and 5.00 shipping: the card is asked for the whole order, not less.
    assert_eq!(order["total_amount"], 4498, "{order}");
    assert_eq!(order["payments"][0]["authorized"], 4498);
    assert_eq!(order["payment_state"], "captured");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_marketplace_sets_its_own_prices() {
    let app = shop(spawn_app().await).await;
    let order = app
        .create_order(&order_body("marketplace", &[("TEE-BLK-M", 1, 1500)]))
        .await;
    assert_eq!(order["lines"][0]["unit_price"], 1500);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_totalling_nothing_is_refused_unless_the_channel_takes_free_orders() {
    let app = shop(spawn_app().await).await;
    let mut free = order_body("web", &[("TEE-BLK-M", 1, 1999)]);
    free["discount_amount"] = json!(2499);
    let before = app.fingerprint().await;
    app.post("/orders", &free)
        .await
        .expect_problem(422, "free_order_not_allowed");
    assert_eq!(app.fingerprint().await, before);

    let generous = shop(spawn_app_with(|c| c.channels[0].allow_free_orders = true).await).await;
    for payment in [free["payment"].clone(), json!(null)] {
        let mut body = free.clone();
        body["payment"] = payment;
        let order = generous.create_order(&body).await;
        assert_eq!(order["order_state"], "confirmed", "{order}");
        assert_eq!(
            order["payments"],
            json!([]),
            "nothing is asked of a provider"
        );
    }
    assert_eq!(generous.simulator_calls("authorize"), 0);
}
