//! Products (create, read, list, optimistic updates) and stock adjustments with their
//! movement history.

use crate::helpers::{Res, TestApp, field_errors, order_body, send, ship_to, spawn_app};
use orderly_domain::actor::Role;
use reqwest::Method;
use serde_json::{Value, json};

fn product(sku: &str) -> Value {
    json!({
        "sku": sku, "name": "Black tee, M", "price": 1999, "currency": "USD",
        "weight_grams": 180, "category": "apparel", "returnable": true, "active": true,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn products_are_created_read_and_listed() {
    let app = spawn_app().await;

    let created = app
        .post("/products", &product("TEE-BLK-M"))
        .await
        .expect(201);
    assert_eq!(created["sku"], "TEE-BLK-M");
    assert_eq!(created["price"], 1999);
    assert_eq!(created["weight_grams"], 180);
    assert_eq!(created["version"], 1);

    let res = app.get("/products/TEE-BLK-M").await;
    assert_eq!(res.headers.get("etag").unwrap(), "\"1\"");
    assert_eq!(res.expect(200), created);

    for sku in ["A-1", "B-1", "C-1"] {
        app.seed_product(sku, 100).await;
    }
    let first = app.get("/products?limit=2").await.expect(200);
    let skus = |page: &Value| -> Vec<String> {
        page["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["sku"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(skus(&first), ["A-1", "B-1"]);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = app
        .get(&format!("/products?limit=2&cursor={cursor}"))
        .await
        .expect(200);
    assert_eq!(skus(&second), ["C-1", "TEE-BLK-M"]);
    assert!(second["next_cursor"].is_null());
    app.get("/products/NOPE")
        .await
        .expect_problem(404, "not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_sku_is_a_conflict() {
    let app = spawn_app().await;
    app.post("/products", &product("TEE-BLK-M"))
        .await
        .expect(201);

    let mut again = product("TEE-BLK-M");
    again["name"] = json!("Impostor");
    app.post("/products", &again)
        .await
        .expect_problem(409, "product_exists");

    let stored = app.get("/products/TEE-BLK-M").await.expect(200);
    assert_eq!(stored["name"], "Black tee, M");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_products_are_refused_field_by_field() {
    let app = spawn_app().await;
    let mut bad = product("has space");
    bad["price"] = json!(-1);
    bad["currency"] = json!("usd");
    let problem = app
        .post("/products", &bad)
        .await
        .expect_problem(422, "validation_failed");
    let fields: Vec<String> = field_errors(&problem).into_iter().map(|(f, _)| f).collect();
    assert_eq!(fields, ["sku", "price", "currency"]);
    assert!(
        app.get("/products").await.expect(200)["data"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn updates_honour_if_match() {
    let app = spawn_app().await;
    app.post("/products", &product("TEE-BLK-M"))
        .await
        .expect(201);

    let res = send(
        app.req(Method::PATCH, "/products/TEE-BLK-M")
            .header("if-match", "\"1\"")
            .json(&json!({"price": 2499})),
    )
    .await;
    assert_eq!(res.headers.get("etag").unwrap(), "\"2\"");
    let updated = res.expect(200);
    assert_eq!(updated["price"], 2499);
    assert_eq!(updated["name"], "Black tee, M", "untouched fields stay");
    assert_eq!(updated["version"], 2);

    let stale = send(
        app.req(Method::PATCH, "/products/TEE-BLK-M")
            .header("if-match", "\"1\"")
            .json(&json!({"price": 1})),
    )
    .await;
    stale.expect_problem(412, "precondition_failed");
    send(
        app.req(Method::PATCH, "/products/TEE-BLK-M")
            .header("if-match", "garbage")
            .json(&json!({"price": 1})),
    )
    .await
    .expect_problem(412, "precondition_failed");
    assert_eq!(app.get("/products/TEE-BLK-M").await.expect(200), updated);

    // Without If-Match the update applies to whatever is current.
    let last = app
        .patch("/products/TEE-BLK-M", &json!({"name": "Black tee (M)"}))
        .await
        .expect(200);
    assert_eq!(last["version"], 3);
    app.patch("/products/NOPE", &json!({"price": 1}))
        .await
        .expect_problem(404, "not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn if_match_star_matches_an_existing_product() {
    let app = spawn_app().await;
    app.post("/products", &product("TEE-BLK-M"))
        .await
        .expect(201);
    let res = send(
        app.req(Method::PATCH, "/products/TEE-BLK-M")
            .header("if-match", "*")
            .json(&json!({"price": 2499})),
    )
    .await;
    assert_eq!(res.expect(200)["price"], 2499);
}

async fn adjust(app: &TestApp, body: Value) -> Res {
    let mut body = body;
    body["sku"] = json!("TEE-BLK-M");
    body["location_id"] = json!("wh-east");
    app.post("/inventory/adjustments", &body).await
}

/// (reason, delta on hand, delta reserved, on hand after, reserved after, actor) of every
/// movement of TEE-BLK-M, newest first.
type Movement = (String, i64, i64, i64, i64, String);

async fn movements(app: &TestApp) -> Vec<Movement> {
    let page = app.get("/inventory/TEE-BLK-M/movements").await.expect(200);
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["reason"].as_str().unwrap().to_owned(),
                m["delta_on_hand"].as_i64().unwrap(),
                m["delta_reserved"].as_i64().unwrap(),
                m["on_hand_after"].as_i64().unwrap(),
                m["reserved_after"].as_i64().unwrap(),
                m["actor"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// An order for `quantity` TEE-BLK-M shipped to New Jersey, so it reserves at wh-east.
async fn reserve_at_east(app: &TestApp, quantity: i64) -> Value {
    let mut body = order_body("web", &[("TEE-BLK-M", quantity, 1999)]);
    ship_to(&mut body, "Newark", "NJ", "07102");
    app.create_order(&body).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receipts_corrections_and_cycle_counts_set_on_hand() {
    let app = spawn_app().await;
    app.seed_product("TEE-BLK-M", 1999).await;

    let r = adjust(&app, json!({"kind": "receipt", "quantity": 10}))
        .await
        .expect(201);
    assert_eq!(
        (
            r["on_hand"].as_i64(),
            r["reserved"].as_i64(),
            r["available"].as_i64()
        ),
        (Some(10), Some(0), Some(10))
    );
    adjust(&app, json!({"kind": "correction", "delta": 3}))
        .await
        .expect(201);
    let counted = adjust(
        &app,
        json!({"kind": "cycle_count", "counted": 20, "expected_on_hand": 13}),
    )
    .await
    .expect(201);
    assert_eq!(counted["on_hand"], 20);
    assert_eq!(app.stock("TEE-BLK-M", "wh-east").await, (20, 0, 20));
    let before = movements(&app).await;

    // A count taken before the last change is stale and changes nothing.
    adjust(
        &app,
        json!({"kind": "cycle_count", "counted": 25, "expected_on_hand": 13}),
    )
    .await
    .expect_problem(409, "stale_count");
    assert_eq!(app.stock("TEE-BLK-M", "wh-east").await, (20, 0, 20));

    for body in [
        json!({"kind": "receipt", "quantity": 0}),
        json!({"kind": "damage", "quantity": -1}),
        json!({"kind": "correction", "delta": 0}),
        json!({"kind": "receipt"}),
        json!({"kind": "cycle_count", "counted": 5}),
        json!({"kind": "teleport", "quantity": 1}),
    ] {
        adjust(&app, body.clone())
            .await
            .expect_problem(422, "validation_failed");
    }
    let unknown_location =
        json!({"sku": "TEE-BLK-M", "location_id": "wh-moon", "kind": "receipt", "quantity": 1});
    let problem = app
        .post("/inventory/adjustments", &unknown_location)
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(
        field_errors(&problem),
        vec![("location_id".into(), "unknown_location".into())]
    );
    let unknown_sku =
        json!({"sku": "NOPE", "location_id": "wh-east", "kind": "receipt", "quantity": 1});
    let problem = app
        .post("/inventory/adjustments", &unknown_sku)
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(
        field_errors(&problem),
        vec![("sku".into(), "unknown_sku".into())]
    );
    assert_eq!(app.stock("TEE-BLK-M", "wh-east").await, (20, 0, 20));
    assert_eq!(movements(&app).await, before, "refusals leave no movement");
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damage_and_downward_adjustments_reduce_on_hand() {
    let app = spawn_app().await;
    app.seed_product("TEE-BLK-M", 1999).await;
    adjust(&app, json!({"kind": "receipt", "quantity": 10}))
        .await
        .expect(201);

    let damaged = adjust(
        &app,
        json!({"kind": "damage", "quantity": 2, "note": "crushed"}),
    )
    .await
    .expect(201);
    assert_eq!(damaged["on_hand"], 8);
    adjust(&app, json!({"kind": "correction", "delta": -1}))
        .await
        .expect(201);
    adjust(
        &app,
        json!({"kind": "cycle_count", "counted": 5, "expected_on_hand": 7}),
    )
    .await
    .expect(201);
    assert_eq!(app.stock("TEE-BLK-M", "wh-east").await, (5, 0, 5));

    // Down to exactly what orders hold is allowed.
    reserve_at_east(&app, 4).await;
    adjust(&app, json!({"kind": "damage", "quantity": 1}))
        .await
        .expect(201);
    assert_eq!(app.stock("TEE-BLK-M", "wh-east").await, (4, 4, 0));

    let admin = format!("api_key:{}", app.admin_key_id);
    let reasons: Vec<(String, i64, i64)> = movements(&app)
        .await
        .into_iter()
        .map(|(reason, delta, _, after, _, actor)| {
            assert_eq!(actor, admin);
            (reason, delta, after)
        })
        .collect();
    assert_eq!(
        reasons,
        vec![
            ("damage".into(), -1, 4),
            ("reservation".into(), 0, 5),
            ("cycle_count".into(), -2, 5),
            ("correction".into(), -1, 7),
            ("damage".into(), -2, 8),
            ("receipt".into(), 10, 10),
        ]
    );
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stock_held_for_orders_cannot_be_adjusted_away() {
    let app = spawn_app().await;
    app.seed_product("TEE-BLK-M", 1999).await;
    adjust(&app, json!({"kind": "receipt", "quantity": 5}))
        .await
        .expect(201);
    reserve_at_east(&app, 4).await;
    assert_eq!(app.stock("TEE-BLK-M", "wh-east").await, (5, 4, 1));
    let before = movements(&app).await;

    for body in [
        json!({"kind": "damage", "quantity": 2}),
        json!({"kind": "correction", "delta": -2}),
        json!({"kind": "cycle_count", "counted": 3, "expected_on_hand": 5}),
    ] {
        adjust(&app, body)
            .await
            .expect_problem(409, "below_reserved");
    }

    assert_eq!(app.stock("TEE-BLK-M", "wh-east").await, (5, 4, 1));
    assert_eq!(movements(&app).await, before);
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn movements_explain_every_change_with_reason_and_actor() {
    let app = spawn_app().await;
    app.seed_product("TEE-BLK-M", 1999).await;
    let (warehouse_id, warehouse) = app.key(Role::Warehouse).await;
    adjust(
        &app,
        json!({"kind": "receipt", "quantity": 10, "note": "PO-7"}),
    )
    .await
    .expect(201);
    let receipt =
        json!({"sku": "TEE-BLK-M", "location_id": "wh-east", "kind": "receipt", "quantity": 1});
    send(
        app.req_as(&warehouse, Method::POST, "/inventory/adjustments")
            .json(&receipt),
    )
    .await
    .expect(201);
    adjust(&app, json!({"kind": "correction", "delta": 2}))
        .await
        .expect(201);
    adjust(
        &app,
        json!({"kind": "cycle_count", "counted": 15, "expected_on_hand": 13}),
    )
    .await
    .expect(201);
    let order = reserve_at_east(&app, 3).await;
    let order_id = order["id"].as_str().unwrap();
    app.cancel(order_id, &json!({"reason": "duplicate"})).await;

    let admin = format!("api_key:{}", app.admin_key_id);
    let by_warehouse = format!("api_key:{warehouse_id}");
    assert_eq!(
        movements(&app).await,
        vec![
            ("release".into(), 0, -3, 15, 0, admin.clone()),
            ("reservation".into(), 0, 3, 15, 3, admin.clone()),
            ("cycle_count".into(), 2, 0, 15, 0, admin.clone()),
            ("correction".into(), 2, 0, 13, 0, admin.clone()),
            ("receipt".into(), 1, 0, 11, 0, by_warehouse),
            ("receipt".into(), 10, 0, 10, 0, admin),
        ]
    );
    let page = app.get("/inventory/TEE-BLK-M/movements").await.expect(200);
    let data = page["data"].as_array().unwrap();
    assert!(data.iter().all(|m| m["location_id"] == "wh-east"));
    assert_eq!(data[0]["order_id"], order_id);
    assert_eq!(data[1]["order_id"], order_id);
    assert!(data[2]["order_id"].is_null());
    assert_eq!(data[5]["note"], "PO-7");

    let first = app
        .get("/inventory/TEE-BLK-M/movements?limit=4")
        .await
        .expect(200);
    let cursor = first["next_cursor"].as_str().unwrap();
    let rest = app
        .get(&format!(
            "/inventory/TEE-BLK-M/movements?limit=4&cursor={cursor}"
        ))
        .await
        .expect(200);
    assert_eq!(first["data"].as_array().unwrap().len(), 4);
    assert_eq!(rest["data"].as_array().unwrap().len(), 2);
    assert!(rest["next_cursor"].is_null());
    assert_eq!(rest["data"][1]["reason"], "receipt");
}

/// Two lines of one SKU reserve at one location in one statement: each movement records
/// the level just after it, not the level after both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_lines_of_one_sku_record_running_levels() {
    let app = spawn_app().await;
    app.seed_product("TEE-BLK-M", 1999).await;
    adjust(&app, json!({"kind": "receipt", "quantity": 10}))
        .await
        .expect(201);
    let mut body = order_body("web", &[("TEE-BLK-M", 2, 1999), ("TEE-BLK-M", 3, 1999)]);
    ship_to(&mut body, "Newark", "NJ", "07102");
    app.create_order(&body).await;

    let moves = movements(&app).await;
    let levels: Vec<(i64, i64, i64)> = moves.iter().map(|m| (m.2, m.3, m.4)).collect();
    assert_eq!(levels, [(3, 10, 5), (2, 10, 2), (0, 10, 0)]);
}
