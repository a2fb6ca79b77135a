//! API keys and roles: who may do what.

use crate::helpers::{order_body, send, spawn_app};
use orderly_domain::actor::Role;
use reqwest::Method;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_needs_no_key() {
    let app = spawn_app().await;
    let res = send(app.client.get(app.url("/health"))).await;
    let health = res.expect(200);
    assert_eq!(health["status"], "ok");
    assert_eq!(health["database"], "ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_without_a_valid_key_are_unauthorized() {
    let app = spawn_app().await;
    let cases = [
        ("no key", app.client.get(app.url("/orders"))),
        (
            "wrong key",
            app.client.get(app.url("/orders")).bearer_auth("oly_0000"),
        ),
        (
            "not bearer",
            app.client
                .get(app.url("/orders"))
                .header("authorization", format!("Basic {}", app.admin_key)),
        ),
        (
            "post without key",
            app.client
                .post(app.url("/orders"))
                .json(&order_body("web", &[("X", 1, 1)])),
        ),
    ];
    for (name, request) in cases {
        let res = send(request).await;
        assert_eq!(res.status, 401, "{name}");
        res.expect_problem(401, "unauthorized");
        assert_eq!(
            res.headers.get("www-authenticate").unwrap(),
            "Bearer",
            "{name}"
        );
    }
    assert_eq!(app.order_rows().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_warehouse_key_cannot_create_orders() {
    let app = spawn_app().await;
    app.seed_product("TEE-BLK-M", 1999).await;
    app.receive("TEE-BLK-M", "wh-central", 10).await;
    let (_, warehouse) = app.key(Role::Warehouse).await;

    let res = send(
        app.req_as(&warehouse, Method::POST, "/orders")
            .json(&order_body("web", &[("TEE-BLK-M", 1, 1999)])),
    )
    .await;

    let problem = res.expect_problem(403, "forbidden");
    assert!(problem["detail"].as_str().unwrap().contains("warehouse"));
    assert_eq!(app.order_rows().await, 0);
    assert_eq!(app.stock("TEE-BLK-M", "wh-central").await, (10, 0, 10));
    // Warehouse staff do adjust stock.
    let adjust =
        json!({"sku": "TEE-BLK-M", "location_id": "wh-central", "kind": "receipt", "quantity": 1});
    send(
        app.req_as(&warehouse, Method::POST, "/inventory/adjustments")
            .json(&adjust),
    )
    .await
    .expect(201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_support_key_reads_orders_but_not_the_catalog_writes() {
    let app = spawn_app().await;
    app.seed_product("TEE-BLK-M", 1999).await;
    app.receive("TEE-BLK-M", "wh-central", 10).await;
    let order = app
        .create_order(&order_body("web", &[("TEE-BLK-M", 1, 1999)]))
        .await;
    let (_, support) = app.key(Role::Support).await;

    let got = send(app.req_as(&support, Method::GET, "/orders/WEB-1001"))
        .await
        .expect(200);
    assert_eq!(got["id"], order["id"]);
    let list = send(app.req_as(&support, Method::GET, "/orders"))
        .await
        .expect(200);
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    send(app.req_as(&support, Method::GET, "/orders/WEB-1001/timeline"))
        .await
        .expect(200);

    let product = json!({"sku": "NEW-1", "name": "New", "price": 100, "currency": "USD"});
    send(
        app.req_as(&support, Method::POST, "/products")
            .json(&product),
    )
    .await
    .expect_problem(403, "forbidden");
    app.get("/products/NEW-1")
        .await
        .expect_problem(404, "not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finance_key_cannot_adjust_stock() {
    let app = spawn_app().await;
    app.seed_product("TEE-BLK-M", 1999).await;
    app.receive("TEE-BLK-M", "wh-central", 10).await;
    let (_, finance) = app.key(Role::Finance).await;

    let adjust =
        json!({"sku": "TEE-BLK-M", "location_id": "wh-central", "kind": "damage", "quantity": 4});
    send(
        app.req_as(&finance, Method::POST, "/inventory/adjustments")
            .json(&adjust),
    )
    .await
    .expect_problem(403, "forbidden");

    assert_eq!(app.stock("TEE-BLK-M", "wh-central").await, (10, 0, 10));
    // Finance may read stock and orders.
    send(app.req_as(&finance, Method::GET, "/inventory"))
        .await
        .expect(200);
    send(app.req_as(&finance, Method::GET, "/orders"))
        .await
        .expect(200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_admins_create_api_keys_and_new_keys_work_at_once() {
    let app = spawn_app().await;
    let (_, integration) = app.key(Role::Integration).await;
    let request = json!({"role": "support", "name": "helpdesk"});

    send(
        app.req_as(&integration, Method::POST, "/api-keys")
            .json(&request),
    )
    .await
    .expect_problem(403, "forbidden");
    let created = app.post("/api-keys", &request).await.expect(201);

    assert_eq!(created["role"], "support");
    assert_eq!(created["name"], "helpdesk");
    assert!(created["id"].as_str().unwrap().starts_with("key_"));
    let key = created["key"].as_str().unwrap();
    send(app.req_as(key, Method::GET, "/orders"))
        .await
        .expect(200);
    send(app.req_as(key, Method::POST, "/api-keys").json(&request))
        .await
        .expect_problem(403, "forbidden");
    app.post("/api-keys", &json!({"role": "overlord", "name": "x"}))
        .await
        .expect_problem(422, "validation_failed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bearer_scheme_is_case_insensitive() {
    let app = spawn_app().await;
    let request = app
        .client
        .get(app.url("/orders"))
        .header("authorization", format!("bearer {}", app.admin_key));
    send(request).await.expect(200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn support_cannot_place_a_hold_only_finance_may_release() {
    let app = spawn_app().await;
    app.seed_product("TEE-BLK-M", 1999).await;
    app.receive("TEE-BLK-M", "wh-central", 10).await;
    let order = app
        .create_order(&order_body("web", &[("TEE-BLK-M", 1, 1999)]))
        .await;
    let id = order["id"].as_str().unwrap();
    let (_, support) = app.key(Role::Support).await;
    let (_, finance) = app.key(Role::Finance).await;
    let holds = format!("/orders/{id}/holds");
    for reason in ["fraud_review", "high_value_review"] {
        let before = app.fingerprint().await;
        send(
            app.req_as(&support, Method::POST, &holds)
                .json(&json!({"reason": reason})),
        )
        .await
        .expect_problem(403, "forbidden");
        assert_eq!(app.fingerprint().await, before, "{reason}");
    }
    send(
        app.req_as(&support, Method::POST, &holds)
            .json(&json!({"reason": "manual"})),
    )
    .await
    .expect(200);
    let held = send(
        app.req_as(&finance, Method::POST, &holds)
            .json(&json!({"reason": "fraud_review"})),
    )
    .await
    .expect(200);
    assert_eq!(held["on_hold"], true);
}
