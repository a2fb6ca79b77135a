//! Every input has a bound, refused field by field, and no error echoes more than a short
//! excerpt of what was sent or anything of our internals (issue 14). The OpenAPI
//! document declares the same bounds, where the server reads each parameter and every
//! status it answers; the fuzzer in `.ci/fuzz` checks the two agree on every operation.

use crate::helpers::{TestApp, field_errors, order_body, send, spawn_app};
use reqwest::Method;
use serde_json::{Value, json};

/// The most an error body may weigh when the request carried 100 KB or more.
const SMALL_ERROR_BYTES: usize = 2_000;

/// Asserts a refusal names exactly `field` with `code`, and quotes no long input.
#[track_caller]
fn refused_field(problem: &Value, field: &str, code: &str) {
    assert!(
        field_errors(problem).contains(&(field.to_owned(), code.to_owned())),
        "{field}: {code} in {problem}"
    );
    assert!(
        problem.to_string().len() < SMALL_ERROR_BYTES,
        "an error quoting its input: {} bytes",
        problem.to_string().len()
    );
}

async fn shop() -> TestApp {
    let app = spawn_app().await;
    app.seed_product("TEE", 1000).await;
    app.receive("TEE", "wh-central", 10).await;
    app
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_customer_and_address_texts_that_took_a_million_characters_are_bounded() {
    let app = shop().await;
    let huge = "x".repeat(1_000_000);
    for (pointer, field) in [
        ("/customer/name", "customer.name"),
        ("/customer/phone", "customer.phone"),
        ("/shipping_address/line2", "shipping_address.line2"),
        ("/shipping_address/region", "shipping_address.region"),
    ] {
        let mut body = order_body("web", &[("TEE", 1, 1000)]);
        *body.pointer_mut(pointer).unwrap() = json!(huge);
        let res = app.post("/orders", &body).await;
        assert!(
            res.bytes.len() < SMALL_ERROR_BYTES,
            "{field}: {} bytes",
            res.bytes.len()
        );
        refused_field(
            &res.expect_problem(422, "validation_failed"),
            field,
            "too_long",
        );
    }
    // At the bound itself the order is taken, so the bound is the one declared.
    let mut body = order_body("web", &[("TEE", 1, 1000)]);
    body["customer"]["name"] = json!("ñ".repeat(200));
    body["customer"]["phone"] = json!("5".repeat(50));
    body["shipping_address"]["line2"] = json!("x".repeat(200));
    body["shipping_address"]["region"] = json!("x".repeat(200));
    app.post("/orders", &body).await.expect(201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_100_kb_provider_name_is_refused_without_being_echoed() {
    let app = shop().await;
    let huge = "p".repeat(100_000);
    // In a payment: a field refusal quoting at most an excerpt.
    let mut body = order_body("web", &[("TEE", 1, 1000)]);
    body["payment"]["provider"] = json!(huge);
    let res = app.post("/orders", &body).await;
    assert!(
        res.bytes.len() < SMALL_ERROR_BYTES,
        "{} bytes",
        res.bytes.len()
    );
    refused_field(
        &res.expect_problem(422, "validation_failed"),
        "payment.provider",
        "too_long",
    );
    // In the path of a provider event (60 KB, as long as a URI may be): refused before
    // any lookup, naming the parameter.
    let long_path = "p".repeat(60_000);
    let res = send(
        app.client
            .post(app.url(&format!("/payment-events/{long_path}")))
            .header("content-type", "application/json")
            .body("{}"),
    )
    .await;
    assert!(
        res.bytes.len() < SMALL_ERROR_BYTES,
        "{} bytes",
        res.bytes.len()
    );
    refused_field(
        &res.expect_problem(400, "invalid_path_parameter"),
        "provider",
        "too_long",
    );
    // A long name within the path bound is not found, and quoted only in part.
    let long = "q".repeat(250);
    let res = send(
        app.client
            .post(app.url(&format!("/payment-events/{long}")))
            .header("content-type", "application/json")
            .body("{}"),
    )
    .await;
    let problem = res.expect_problem(404, "not_found");
    let detail = problem["detail"].as_str().unwrap();
    assert!(!detail.contains(&"q".repeat(40)), "{detail}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_never_quote_internal_messages() {
    let app = shop().await;
    // A query the parser cannot read: the parameter is named, serde and axum are not.
    let res = app.get("/orders?limit=lots").await;
    let text = String::from_utf8_lossy(&res.bytes).into_owned();
    refused_field(
        &res.expect_problem(400, "invalid_query"),
        "limit",
        "invalid_value",
    );
    assert!(!text.contains("Failed to deserialize"), "{text}");
    let res = app.get("/products?colour=red").await;
    refused_field(
        &res.expect_problem(400, "invalid_query"),
        "colour",
        "unknown_field",
    );
    // A date jiff cannot place on the time line: the field is named, jiff is not quoted.
    let mut body = order_body("web", &[("TEE", 1, 1000)]);
    body["delivery"] = json!({"deliver_by": "9999-12-31T23:59:59-01:00"});
    let res = app.post("/orders", &body).await;
    let text = String::from_utf8_lossy(&res.bytes).into_owned();
    refused_field(
        &res.expect_problem(422, "invalid_body"),
        "delivery.deliver_by",
        "invalid_value",
    );
    assert!(!text.contains("civil"), "{text}");
    // A wrong type quotes neither the value sent nor our type names.
    let mut body = order_body("web", &[("TEE", 1, 1000)]);
    body["lines"][0]["quantity"] = json!("x".repeat(100_000));
    let res = app.post("/orders", &body).await;
    let text = String::from_utf8_lossy(&res.bytes).into_owned();
    refused_field(
        &res.expect_problem(422, "invalid_body"),
        "lines[0].quantity",
        "invalid_type",
    );
    assert!(!text.contains("i64") && !text.contains("xxxx"), "{text}");
    // Malformed JSON says where, not what.
    let res = send(
        app.req(Method::POST, "/orders")
            .header("content-type", "application/json")
            .body(format!("{{\"channel\": \"{}", "w".repeat(100_000))),
    )
    .await;
    assert!(
        res.bytes.len() < SMALL_ERROR_BYTES,
        "{} bytes",
        res.bytes.len()
    );
    res.expect_problem(400, "malformed_json");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_size_out_of_its_declared_range_is_refused_not_clamped() {
    let app = shop().await;
    for limit in ["2147483648", "201", "0"] {
        let res = app.get(&format!("/orders?limit={limit}")).await;
        refused_field(
            &res.expect_problem(400, "invalid_query"),
            "limit",
            "out_of_range",
        );
    }
    // 2^32 does not fit the parameter's type at all.
    let res = app.get("/products?limit=4294967296").await;
    refused_field(
        &res.expect_problem(400, "invalid_query"),
        "limit",
        "invalid_value",
    );
    app.get("/orders?limit=200").await.expect(200);
    app.get("/inventory?limit=1").await.expect(200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receipt_of_2147483647_units_is_a_field_bound_not_below_reserved() {
    let app = shop().await;
    let app = &app;
    let adjust = |body: Value| async move { app.post("/inventory/adjustments", &body).await };
    let receipt = json!({"sku": "TEE", "location_id": "wh-central", "kind": "receipt",
        "quantity": 2_147_483_647_i64});
    refused_field(
        &adjust(receipt)
            .await
            .expect_problem(422, "validation_failed"),
        "quantity",
        "out_of_range",
    );
    // Within the bound, but past the most a location holds: still the quantity's refusal.
    let receipt = json!({"sku": "TEE", "location_id": "wh-central", "kind": "receipt",
        "quantity": 1_000_000_000});
    refused_field(
        &adjust(receipt)
            .await
            .expect_problem(422, "validation_failed"),
        "quantity",
        "above_maximum_on_hand",
    );
    let count = json!({"sku": "TEE", "location_id": "wh-central", "kind": "receipt",
        "quantity": 5, "bin": "b".repeat(65)});
    refused_field(
        &adjust(count).await.expect_problem(422, "validation_failed"),
        "bin",
        "too_long",
    );
    assert_eq!(app.stock("TEE", "wh-central").await, (10, 0, 10));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_return_disposition_is_no_adjustment_kind() {
    let app = shop().await;
    for kind in ["return_restock", "return_quarantine", "quarantine_release"] {
        let body = json!({"sku": "TEE", "location_id": "wh-central", "kind": kind,
            "quantity": 1});
        refused_field(
            &app.post("/inventory/adjustments", &body)
                .await
                .expect_problem(422, "validation_failed"),
            "kind",
            "unknown_kind",
        );
    }
    assert_eq!(app.stock("TEE", "wh-central").await, (10, 0, 10));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cycle_count_and_a_correction_name_their_own_fields() {
    let app = shop().await;
    let app = &app;
    let adjust = |body: Value| async move { app.post("/inventory/adjustments", &body).await };
    let count = json!({"sku": "TEE", "location_id": "wh-central", "kind": "cycle_count",
        "counted": -1, "expected_on_hand": 10});
    refused_field(
        &adjust(count).await.expect_problem(422, "validation_failed"),
        "counted",
        "out_of_range",
    );
    let count = json!({"sku": "TEE", "location_id": "wh-central", "kind": "cycle_count",
        "counted": 4});
    refused_field(
        &adjust(count).await.expect_problem(422, "validation_failed"),
        "expected_on_hand",
        "required",
    );
    let correction = json!({"sku": "TEE", "location_id": "wh-central", "kind": "correction",
        "delta": 0});
    refused_field(
        &adjust(correction)
            .await
            .expect_problem(422, "validation_failed"),
        "delta",
        "must_not_be_zero",
    );
    // A number the kind does not use is still held to its documented bound (the fuzzer
    // found a damage with `delta: 0` accepted).
    let damage = json!({"sku": "TEE", "location_id": "wh-central", "kind": "damage",
        "quantity": 1, "delta": 0});
    refused_field(
        &adjust(damage)
            .await
            .expect_problem(422, "validation_failed"),
        "delta",
        "must_not_be_zero",
    );
    let receipt = json!({"sku": "TEE", "location_id": "wh-central", "kind": "receipt",
        "quantity": 1, "counted": -1});
    refused_field(
        &adjust(receipt)
            .await
            .expect_problem(422, "validation_failed"),
        "counted",
        "out_of_range",
    );
    assert_eq!(app.stock("TEE", "wh-central").await.0, 10);
    let count = json!({"sku": "TEE", "location_id": "wh-central", "kind": "cycle_count",
        "counted": 4, "expected_on_hand": 10});
    assert_eq!(adjust(count).await.expect(201)["on_hand"], 4);
}

/// The operations of the served document, as (method, path, operation).
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            ops.push((method.clone(), path.clone(), op.clone()));
        }
    }
    ops
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_declares_parameters_where_they_are_read_and_the_statuses_answered() {
    let app = spawn_app().await;
    let doc = app.get("/openapi.json").await.expect(200);
    for (method, path, op) in operations(&doc) {
        let name = format!("{method} {path}");
        for p in op["parameters"].as_array().into_iter().flatten() {
            let param = p["name"].as_str().unwrap();
            let in_path = path.contains(&format!("{{{param}}}"));
            assert_eq!(
                p["in"] == "path",
                in_path,
                "{name}: parameter {param} is {}",
                p["in"]
            );
            if in_path {
                assert!(
                    p["schema"]["maxLength"].is_u64(),
                    "{name}: {param} unbounded"
                );
            }
            if p["in"] == "query" {
                assert_ne!(p["required"], true, "{name}: filter {param} required");
            }
        }
        let responses = op["responses"].as_object().unwrap();
        let authenticated = op["security"].as_array().is_some_and(|s| !s.is_empty());
        let mut expected: Vec<&str> = Vec::new();
        if authenticated {
            expected.extend(["401", "403"]);
        }
        if op["requestBody"]["content"]["application/json"].is_object() {
            expected.extend(["400", "413", "422"]);
            if authenticated {
                expected.push("415");
            }
        }
        for status in expected {
            let declared = &responses
                .get(status)
                .unwrap_or_else(|| panic!("{name} does not declare {status}"));
            assert_eq!(
                declared["content"]["application/problem+json"]["schema"]["$ref"],
                "#/components/schemas/Problem",
                "{name} {status}"
            );
        }
    }
    // The signed webhooks declare their real bodies and headers, not a string.
    for (path, schema) in [
        ("/api/v1/payment-events/{provider}", "ProviderEvent"),
        ("/api/v1/tracking-events", "TrackingEvent"),
    ] {
        let op = &doc["paths"][path]["post"];
        assert_eq!(
            op["requestBody"]["content"]["application/json"]["schema"]["$ref"],
            format!("#/components/schemas/{schema}"),
            "{path}"
        );
        let headers: Vec<&str> = op["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["in"] == "header")
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            headers,
            ["webhook-id", "webhook-timestamp", "webhook-signature"],
            "{path}"
        );
    }
    // Enums, formats and the configured limits, as the parser takes them.
    let schemas = &doc["components"]["schemas"];
    assert_eq!(
        schemas["CreateKeyRequest"]["properties"]["role"]["enum"],
        json!([
            "admin",
            "support",
            "supervisor",
            "warehouse",
            "finance",
            "integration"
        ])
    );
    assert_eq!(
        schemas["CustomerIn"]["properties"]["email"]["format"],
        "email"
    );
    // Adjustments take four kinds; movements show every reason, returns' included.
    assert_eq!(
        schemas["AdjustmentRequest"]["properties"]["kind"]["enum"],
        json!(["receipt", "damage", "correction", "cycle_count"])
    );
    assert_eq!(
        schemas["MovementView"]["properties"]["reason"]["enum"],
        json!([
            "receipt",
            "cycle_count",
            "damage",
            "correction",
            "reservation",
            "release",
            "short_pick",
            "shipment",
            "return_restock",
            "return_quarantine",
            "return_scrap",
            "return_to_customer",
            "quarantine_release",
            "quarantine_scrap",
            "quarantine_to_customer"
        ])
    );
    assert_eq!(
        schemas["CustomerIn"]["properties"]["name"]["maxLength"],
        200
    );
    assert_eq!(
        schemas["AddressDto"]["properties"]["region"]["maxLength"],
        200
    );
    let limits = app.state.config.limits();
    assert_eq!(
        schemas["CreateOrderRequest"]["properties"]["lines"]["maxItems"],
        limits.max_lines_per_order
    );
    assert_eq!(
        schemas["LineIn"]["properties"]["quantity"]["maximum"],
        limits.max_quantity_per_line
    );
    let limit = doc["paths"]["/api/v1/orders"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "limit")
        .unwrap();
    assert_eq!(
        (&limit["schema"]["minimum"], &limit["schema"]["maximum"]),
        (&json!(1), &json!(200))
    );
}
