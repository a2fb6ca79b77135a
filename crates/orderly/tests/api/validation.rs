//! Bad input gets a clear problem+json answer and changes nothing.

use crate::helpers::{Res, TestApp, field_errors, order_body, send, spawn_app};
use reqwest::Method;
use serde_json::{Value, json};

/// An app with one product in stock and one order already placed, so "nothing changed"
/// is checked against a non-empty database.
async fn app() -> TestApp {
    let app = spawn_app().await;
    app.seed_product("TEE-BLK-M", 1999).await;
    app.receive("TEE-BLK-M", "wh-central", 10).await;
    app.create_order(&valid()).await;
    app
}

fn valid() -> Value {
    order_body("web", &[("TEE-BLK-M", 2, 1999)])
}

/// Sends `request`, asserts the refusal, and asserts that the database is as before.
async fn refused(
    app: &TestApp,
    request: reqwest::RequestBuilder,
    status: u16,
    code: &str,
) -> Value {
    let before = app.fingerprint().await;
    let rows = app.order_rows().await;
    let problem = send(request).await.expect_problem(status, code);
    assert_eq!(app.fingerprint().await, before, "the refusal changed data");
    assert_eq!(app.order_rows().await, rows);
    problem
}

/// POSTs an order body and asserts a 422 validation problem naming `field` with `code`.
async fn invalid_order(body: Value, field: &str, code: &str) {
    let app = app().await;
    let request = app.req(Method::POST, "/orders").json(&body);
    let problem = refused(&app, request, 422, "validation_failed").await;
    let errors = field_errors(&problem);
    assert!(
        errors.contains(&(field.to_owned(), code.to_owned())),
        "expected {field}/{code} in {errors:?}"
    );
    for e in problem["errors"].as_array().unwrap() {
        assert!(!e["message"].as_str().unwrap().is_empty(), "{e}");
    }
    // The next good order still gets the next number: the refusal consumed nothing.
    let next = app.create_order(&valid()).await;
    assert_eq!(next["number"], "WEB-1002");
}

fn with(mut body: Value, pointer: &str, value: Value) -> Value {
    *body
        .pointer_mut(pointer)
        .unwrap_or_else(|| panic!("no {pointer}")) = value;
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_sku() {
    let body = with(valid(), "/lines/0/sku", json!("NOPE-1"));
    invalid_order(body, "lines[0].sku", "unknown_sku").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inactive_sku() {
    let app = app().await;
    app.patch("/products/TEE-BLK-M", &json!({"active": false}))
        .await
        .expect(200);
    let request = app.req(Method::POST, "/orders").json(&valid());
    let problem = refused(&app, request, 422, "validation_failed").await;
    assert_eq!(
        field_errors(&problem),
        vec![("lines[0].sku".into(), "inactive_sku".into())]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zero_quantity() {
    let body = with(valid(), "/lines/0/quantity", json!(0));
    invalid_order(body, "lines[0].quantity", "must_be_positive").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn negative_quantity() {
    let body = with(valid(), "/lines/0/quantity", json!(-3));
    invalid_order(body, "lines[0].quantity", "must_be_positive").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quantity_above_maximum() {
    let body = with(valid(), "/lines/0/quantity", json!(1001));
    invalid_order(body, "lines[0].quantity", "quantity_above_maximum").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn currency_not_the_channels() {
    let body = with(valid(), "/currency", json!("EUR"));
    invalid_order(body, "currency", "currency_mismatch").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn totals_that_do_not_add_up() {
    // 2 × 19.99 + 5.00 shipping = 44.98, not 44.99.
    let mut body = valid();
    body["total_amount"] = json!(4499);
    invalid_order(body, "total_amount", "totals_mismatch").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn correct_declared_total_is_accepted() {
    let app = app().await;
    let mut body = valid();
    body["total_amount"] = json!(4498);
    let order = app.create_order(&body).await;
    assert_eq!(order["total_amount"], 4498);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_address_fields() {
    let mut body = valid();
    let address = body["shipping_address"].as_object_mut().unwrap();
    address.remove("line1");
    address.insert("city".into(), json!("  "));
    let app = app().await;
    let request = app.req(Method::POST, "/orders").json(&body);
    let problem = refused(&app, request, 422, "validation_failed").await;
    let errors = field_errors(&problem);
    for field in ["shipping_address.line1", "shipping_address.city"] {
        assert!(
            errors.contains(&(field.into(), "required".into())),
            "{field} in {errors:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_email() {
    let body = with(valid(), "/customer/email", json!("ana-at-example.com"));
    invalid_order(body, "customer.email", "invalid_email").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_country() {
    let body = with(valid(), "/shipping_address/country", json!("XX"));
    invalid_order(body, "shipping_address.country", "invalid_country").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_channel() {
    let body = with(valid(), "/channel", json!("telephone"));
    invalid_order(body, "channel", "unknown_channel").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_lines() {
    let lines: Vec<(&str, i64, i64)> = vec![("TEE-BLK-M", 1, 1999); 101];
    invalid_order(order_body("web", &lines), "lines", "too_many_lines").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_lines() {
    let body = with(valid(), "/lines", json!([]));
    invalid_order(body, "lines", "required").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discount_larger_than_the_order() {
    let body = with(valid(), "/discount_amount", json!(10_000));
    invalid_order(body, "discount_amount", "discount_exceeds_total").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn negative_amounts() {
    let body = with(valid(), "/lines/0/unit_price", json!(-1));
    invalid_order(body, "lines[0].unit_price", "must_not_be_negative").await;
    let body = with(valid(), "/shipping_amount", json!(-500));
    invalid_order(body, "shipping_amount", "must_not_be_negative").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_payment_method() {
    let body = with(valid(), "/payment/method", json!("seashells"));
    invalid_order(body, "payment.method", "unknown_payment_method").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_external_id() {
    let mut body = valid();
    body["external_id"] = json!("");
    invalid_order(body, "external_id", "invalid_length").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_problem_is_reported_at_once() {
    let mut body = valid();
    body["customer"]["email"] = json!("nope");
    body["shipping_address"]["country"] = json!("XX");
    body["lines"][0]["quantity"] = json!(0);
    let app = app().await;
    let request = app.req(Method::POST, "/orders").json(&body);
    let problem = refused(&app, request, 422, "validation_failed").await;
    let codes: Vec<String> = field_errors(&problem).into_iter().map(|(_, c)| c).collect();
    for code in ["invalid_email", "invalid_country", "must_be_positive"] {
        assert!(codes.iter().any(|c| c == code), "{code} in {codes:?}");
    }
}

fn raw_order(app: &TestApp, body: impl Into<reqwest::Body>) -> reqwest::RequestBuilder {
    app.req(Method::POST, "/orders")
        .header("content-type", "application/json")
        .body(body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_json() {
    let app = app().await;
    refused(
        &app,
        raw_order(&app, r#"{"channel": "web", "#),
        400,
        "malformed_json",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_type() {
    let app = app().await;
    let body = with(valid(), "/lines/0/quantity", json!("two"));
    refused(&app, raw_order(&app, body.to_string()), 422, "invalid_body").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_field() {
    let app = app().await;
    let mut body = valid();
    body["coupon"] = json!("FREE");
    refused(&app, raw_order(&app, body.to_string()), 422, "invalid_body").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_over_one_mebibyte() {
    let app = app().await;
    let mut body = valid();
    body["customer"]["name"] = json!("x".repeat(1024 * 1024 + 1));
    let problem = refused(
        &app,
        raw_order(&app, body.to_string()),
        413,
        "payload_too_large",
    )
    .await;
    assert!(!problem["detail"].as_str().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_content_type() {
    let app = app().await;
    let request = app.req(Method::POST, "/orders").body(valid().to_string());
    refused(&app, request, 415, "unsupported_media_type").await;
    let text = app
        .req(Method::POST, "/orders")
        .header("content-type", "text/plain")
        .body(valid().to_string());
    refused(&app, text, 415, "unsupported_media_type").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_route_and_wrong_method() {
    let app = app().await;
    let res: Res = app.get("/no-such-thing").await;
    res.expect_problem(404, "no_route");
    let res = send(app.client.get(format!("http://{}/elsewhere", app.addr))).await;
    res.expect_problem(404, "no_route");
    refused(
        &app,
        app.req(Method::DELETE, "/orders"),
        405,
        "method_not_allowed",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_idempotency_key() {
    let app = app().await;
    let request = app
        .req(Method::POST, "/orders")
        .header("idempotency-key", "has spaces in it")
        .json(&valid());
    refused(&app, request, 400, "invalid_idempotency_key").await;
}

/// The tables the migrations of the backend under test create, read from the SQL files
/// (so that the fingerprint's list, which comes from the database, is checked against a
/// second source).
fn tables_the_migrations_create(backend: &str) -> std::collections::BTreeSet<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../orderly-store/migrations")
        .join(backend);
    let mut tables = std::collections::BTreeSet::new();
    for file in std::fs::read_dir(&dir).expect("migrations directory") {
        let sql = std::fs::read_to_string(file.expect("migration").path()).expect("read");
        let words: Vec<String> = sql
            .split_whitespace()
            .map(|w| w.trim_matches(|c| "(\";".contains(c)).to_lowercase())
            .collect();
        for (i, pair) in words.windows(2).enumerate() {
            let name = || {
                words[i + 2..]
                    .iter()
                    .find(|w| !["if", "not", "exists"].contains(&w.as_str()))
                    .expect("a table name")
                    .clone()
            };
            match (pair[0].as_str(), pair[1].as_str()) {
                ("create", "table") => {
                    tables.insert(name());
                }
                ("drop", "table") => {
                    tables.remove(&name());
                }
                _ => {}
            }
        }
    }
    assert!(!tables.is_empty(), "no CREATE TABLE in {}", dir.display());
    tables
}

/// The "changes nothing" check looks at every table the migrations create (not a list
/// kept by hand), and sees a row whose content changed while the counts stayed the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fingerprint_covers_every_table_and_sees_changed_content() {
    let app = app().await;
    let backend = if app.db.sqlite_path.is_some() {
        "sqlite"
    } else {
        "postgres"
    };
    let before = app.fingerprint().await;
    let covered: std::collections::BTreeSet<String> = before["tables"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(covered, tables_the_migrations_create(backend));
    assert!(!covered.contains("refinery_schema_history"));

    app.db
        .execute("UPDATE products SET name = 'Renamed' WHERE sku = 'TEE-BLK-M'")
        .await;
    let after = app.fingerprint().await;
    let changed: Vec<&String> = covered
        .iter()
        .filter(|t| after["tables"][t.as_str()] != before["tables"][t.as_str()])
        .collect();
    assert_eq!(changed, ["products"]);
    assert_eq!(
        after["tables"]["products"]["rows"],
        before["tables"]["products"]["rows"]
    );
}
