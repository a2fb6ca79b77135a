//! Where orders ship from: nearest warehouse, splits, backorders and out-of-stock refusals.

use crate::helpers::{buckets, field_errors, order_body, reservations, ship_to, spawn_app};

const WAREHOUSES: [&str; 3] = ["wh-east", "wh-central", "wh-west"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_to_new_jersey_ships_from_wh_east() {
    let app = spawn_app().await;
    app.seed_product("MUG-1", 1200).await;
    app.seed_product("CAP-1", 1500).await;
    for wh in WAREHOUSES {
        app.receive("MUG-1", wh, 10).await;
        app.receive("CAP-1", wh, 10).await;
    }
    let mut body = order_body("web", &[("MUG-1", 2, 1200), ("CAP-1", 1, 1500)]);
    ship_to(&mut body, "Newark", "NJ", "07102");

    let order = app.create_order(&body).await;

    assert_eq!(reservations(&order, 0), vec![("wh-east".into(), 2)]);
    assert_eq!(reservations(&order, 1), vec![("wh-east".into(), 1)]);
    assert_eq!(order["sourcing"]["strategy"], "single_location");
    assert_eq!(app.stock("MUG-1", "wh-east").await, (10, 2, 8));
    assert_eq!(app.stock("MUG-1", "wh-central").await, (10, 0, 10));
    assert_eq!(app.stock("MUG-1", "wh-west").await, (10, 0, 10));

    // The same order to Nevada comes from Reno.
    ship_to(&mut body, "Reno", "NV", "89501");
    let west = app.create_order(&body).await;
    assert_eq!(reservations(&west, 0), vec![("wh-west".into(), 2)]);
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lines_stocked_in_different_warehouses_are_split() {
    let app = spawn_app().await;
    app.seed_product("BOOT-WEST", 8000).await;
    app.seed_product("HAT-EAST", 2500).await;
    app.receive("BOOT-WEST", "wh-west", 5).await;
    app.receive("HAT-EAST", "wh-east", 5).await;

    let order = app
        .create_order(&order_body(
            "web",
            &[("BOOT-WEST", 1, 8000), ("HAT-EAST", 2, 2500)],
        ))
        .await;

    assert_eq!(order["sourcing"]["strategy"], "split");
    assert_eq!(reservations(&order, 0), vec![("wh-west".into(), 1)]);
    assert_eq!(reservations(&order, 1), vec![("wh-east".into(), 2)]);
    assert_eq!(order["lines"][1]["buckets"]["allocated"], 2);
    assert_eq!(app.stock("BOOT-WEST", "wh-west").await, (5, 1, 4));
    assert_eq!(app.stock("HAT-EAST", "wh-east").await, (5, 2, 3));
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_line_larger_than_any_warehouse_is_split_across_them() {
    let app = spawn_app().await;
    app.seed_product("SOCK-3", 500).await;
    app.receive("SOCK-3", "wh-east", 3).await;
    app.receive("SOCK-3", "wh-west", 4).await;

    let order = app
        .create_order(&order_body("web", &[("SOCK-3", 6, 500)]))
        .await;

    let held: u64 = reservations(&order, 0).iter().map(|(_, q)| q).sum();
    assert_eq!(held, 6);
    assert_eq!(reservations(&order, 0).len(), 2, "{order}");
    assert_eq!(order["lines"][0]["buckets"]["allocated"], 6);
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn marketplace_backorders_what_nobody_has() {
    let app = spawn_app().await;
    app.seed_product("LAMP-1", 4000).await;
    app.seed_product("GHOST-1", 100).await;
    app.receive("LAMP-1", "wh-central", 3).await;

    let order = app
        .create_order(&order_body(
            "marketplace",
            &[("LAMP-1", 5, 4000), ("GHOST-1", 2, 100)],
        ))
        .await;

    assert_eq!(order["number"], "MKT-1001");
    assert_eq!(
        buckets(&order, 0),
        (5, 3, 2),
        "LAMP-1 ordered/allocated/backordered"
    );
    assert_eq!(
        buckets(&order, 1),
        (2, 0, 2),
        "GHOST-1 ordered/allocated/backordered"
    );
    assert_eq!(reservations(&order, 0), vec![("wh-central".into(), 3)]);
    assert_eq!(reservations(&order, 1), vec![]);
    assert_eq!(app.stock("LAMP-1", "wh-central").await, (3, 3, 0));
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_refuses_an_order_it_cannot_fill_and_reserves_nothing() {
    let app = spawn_app().await;
    app.seed_product("LAMP-1", 4000).await;
    app.seed_product("DESK-1", 20000).await;
    app.receive("LAMP-1", "wh-central", 3).await;
    app.receive("DESK-1", "wh-central", 1).await;
    let before = app.fingerprint().await;

    let res = app
        .post(
            "/orders",
            &order_body("web", &[("LAMP-1", 1, 4000), ("DESK-1", 2, 20000)]),
        )
        .await;

    let problem = res.expect_problem(422, "out_of_stock");
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains("DESK-1"), "{detail}");
    assert!(!detail.contains("LAMP-1"), "{detail}");
    assert_eq!(
        field_errors(&problem),
        vec![("lines[1].quantity".into(), "out_of_stock".into())]
    );
    assert_eq!(app.fingerprint().await, before);
    assert_eq!(app.stock("LAMP-1", "wh-central").await, (3, 0, 3));
    // The refused order did not use up a number.
    let next = app
        .create_order(&order_body("web", &[("LAMP-1", 1, 4000)]))
        .await;
    assert_eq!(next["number"], "WEB-1001");
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_a_backordered_order_cancels_every_unit() {
    let app = spawn_app().await;
    app.seed_product("LAMP-1", 4000).await;
    app.receive("LAMP-1", "wh-central", 3).await;
    let order = app
        .create_order(&order_body("marketplace", &[("LAMP-1", 5, 4000)]))
        .await;

    let cancelled = app
        .cancel(
            order["id"].as_str().unwrap(),
            &serde_json::json!({"reason": "out_of_stock"}),
        )
        .await;

    assert_eq!(buckets(&cancelled, 0), (5, 0, 0));
    assert_eq!(cancelled["lines"][0]["buckets"]["cancelled"], 5);
    assert_eq!(cancelled["fulfillment_state"], "cancelled");
    assert_eq!(app.stock("LAMP-1", "wh-central").await, (3, 0, 3));
    app.assert_invariants().await;
}
