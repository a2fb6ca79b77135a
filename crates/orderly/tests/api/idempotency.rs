//! Retries are safe: `Idempotency-Key` replays the first response, and a channel's
//! `external_id` never creates a second order.

use crate::helpers::{TestApp, join_all, order_body, send, spawn_app};
use reqwest::Method;
use serde_json::{Value, json};

async fn app() -> TestApp {
    let app = spawn_app().await;
    app.seed_product("TEE-BLK-M", 1999).await;
    app.receive("TEE-BLK-M", "wh-central", 100).await;
    app
}

fn keyed(app: &TestApp, key: &str, body: &Value) -> reqwest::RequestBuilder {
    app.req(Method::POST, "/orders")
        .header("idempotency-key", key)
        .json(body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_posts_with_one_key_create_one_order() {
    let app = app().await;
    let body = order_body("web", &[("TEE-BLK-M", 1, 1999)]);

    let requests = (0..20).map(|_| send(keyed(&app, "order-abc-1", &body)));
    let responses = join_all(requests).await;

    let mut ids = std::collections::HashSet::new();
    let mut bodies = std::collections::HashSet::new();
    let mut created = false;
    for res in &responses {
        match res.status {
            200 | 201 => {
                ids.insert(res.json()["id"].as_str().unwrap().to_owned());
                bodies.insert(res.bytes.clone());
                created |= res.status == 201;
            }
            409 => {
                res.expect_problem(409, "idempotency_key_in_flight");
                assert_eq!(res.headers.get("retry-after").unwrap(), "1");
            }
            other => panic!(
                "unexpected {other}: {}",
                String::from_utf8_lossy(&res.bytes)
            ),
        }
    }
    assert!(created, "at least one 201");
    assert_eq!(ids.len(), 1, "every success names the same order");
    assert_eq!(bodies.len(), 1, "every success is the same answer");
    let first = bodies.into_iter().next().unwrap();
    let orders = app.all_orders().await;
    assert_eq!(orders.len(), 1);
    assert_eq!(app.order_rows().await, 1);
    assert_eq!(
        orders[0]["id"].as_str(),
        ids.iter().next().map(String::as_str)
    );

    let replay = send(keyed(&app, "order-abc-1", &body)).await;
    assert_eq!(replay.status, 201);
    assert_eq!(
        replay.bytes, first,
        "the replay is byte for byte the first answer"
    );
    assert_eq!(app.stock("TEE-BLK-M", "wh-central").await, (100, 1, 99));
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_key_with_another_body_is_refused() {
    let app = app().await;
    let body = order_body("web", &[("TEE-BLK-M", 1, 1999)]);
    send(keyed(&app, "k-1", &body)).await.expect(201);
    let before = app.fingerprint().await;

    let other = order_body("web", &[("TEE-BLK-M", 2, 1999)]);
    send(keyed(&app, "k-1", &other))
        .await
        .expect_problem(422, "idempotency_key_reused");

    assert_eq!(app.fingerprint().await, before);
    assert_eq!(app.order_rows().await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_are_scoped_to_the_caller() {
    let app = app().await;
    let (_, other_key) = app.key(orderly_domain::actor::Role::Integration).await;
    let body = order_body("web", &[("TEE-BLK-M", 1, 1999)]);

    let first = send(keyed(&app, "shared", &body)).await.expect(201);
    let second = send(
        app.req_as(&other_key, Method::POST, "/orders")
            .header("idempotency-key", "shared")
            .json(&body),
    )
    .await
    .expect(201);

    assert_ne!(first["id"], second["id"]);
    assert_eq!(app.order_rows().await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_request_does_not_burn_its_key() {
    let app = app().await;
    app.seed_product("RARE-1", 9999).await;
    let body = order_body("web", &[("RARE-1", 1, 9999)]);
    send(keyed(&app, "retry-me", &body))
        .await
        .expect_problem(422, "out_of_stock");

    app.receive("RARE-1", "wh-east", 1).await;
    let order = send(keyed(&app, "retry-me", &body)).await.expect(201);

    assert_eq!(order["lines"][0]["buckets"]["allocated"], 1);
}

/// The retry of a request that succeeded gets the first answer, even though running it
/// again now would be refused (on PostgreSQL the first attempt assumes the key is new,
/// so this is the path where the refusal must give way to the replay).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_answers_first_even_when_the_request_would_now_be_refused() {
    let app = app().await;
    app.seed_product("LAST-1", 500).await;
    app.receive("LAST-1", "wh-east", 1).await;
    let body = order_body("web", &[("LAST-1", 1, 500)]);
    let first = send(keyed(&app, "last-unit", &body)).await;
    first.expect(201);

    let again = send(keyed(&app, "last-unit", &body)).await;

    assert_eq!(again.status, 201);
    assert_eq!(
        again.bytes, first.bytes,
        "the same bytes as the first answer"
    );
    assert_eq!(app.order_rows().await, 1);
    assert_eq!(app.stock("LAST-1", "wh-east").await, (1, 1, 0));
    // Without the key the same request is refused: the stock really is gone.
    app.post("/orders", &body)
        .await
        .expect_problem(422, "out_of_stock");
}

/// A replay uses up no order number, nor does a key reused for another request (on
/// PostgreSQL their first run places the order, draws a number and rolls back).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replays_leave_no_gap_in_order_numbers() {
    let app = app().await;
    let body = order_body("web", &[("TEE-BLK-M", 1, 1999)]);
    let first = send(keyed(&app, "numbered", &body)).await.expect(201);
    send(keyed(&app, "numbered", &body)).await.expect(201);
    let mut other = body.clone();
    other["lines"][0]["quantity"] = json!(2);
    send(keyed(&app, "numbered", &other))
        .await
        .expect_problem(422, "idempotency_key_reused");

    let next = app.post("/orders", &body).await.expect(201);

    let n = |v: &Value| {
        let number = v["number"].as_str().unwrap();
        number.trim_start_matches("WEB-").parse::<u32>().unwrap()
    };
    assert_eq!(n(&next), n(&first) + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_external_id_returns_the_existing_order() {
    let app = app().await;
    let mut body = order_body("web", &[("TEE-BLK-M", 1, 1999)]);
    body["external_id"] = json!("A-1001");

    let first = app.post("/orders", &body).await.expect(201);
    let second = app.post("/orders", &body).await.expect(200);
    body["lines"][0]["quantity"] = json!(5);
    let third = app.post("/orders", &body).await.expect(200);

    assert_eq!(second["id"], first["id"]);
    assert_eq!(third["id"], first["id"]);
    assert_eq!(third["lines"][0]["quantity"], 1);
    assert_eq!(app.order_rows().await, 1);
    assert_eq!(app.stock("TEE-BLK-M", "wh-central").await, (100, 1, 99));
    // The same external id on another channel is another order.
    body["channel"] = json!("marketplace");
    let other = app.post("/orders", &body).await.expect(201);
    assert_ne!(other["id"], first["id"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_posts_with_one_external_id_create_one_order() {
    let app = app().await;
    let mut body = order_body("web", &[("TEE-BLK-M", 1, 1999)]);
    body["external_id"] = json!("A-2002");

    let requests = (0..16).map(|_| send(app.req(Method::POST, "/orders").json(&body)));
    let responses = join_all(requests).await;

    let statuses: Vec<u16> = responses.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        15,
        "{statuses:?}"
    );
    let ids: std::collections::HashSet<String> = responses
        .iter()
        .map(|r| r.json()["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 1);
    assert_eq!(app.order_rows().await, 1);
    assert_eq!(app.stock("TEE-BLK-M", "wh-central").await, (100, 1, 99));
    app.assert_invariants().await;
}

/// A key whose record has expired (but was not purged yet) is free again: reusing it
/// creates a new order instead of replaying, or failing on, the old record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_key_can_be_used_again() {
    let app = app().await;
    let principal = app.admin_key_id.clone();
    let expired = orderly_store::IdempotencyRecord {
        request_hash: "an older request".into(),
        status_code: 201,
        body: orderly_store::StoredBody::Bytes(b"{}".to_vec()),
    };
    let now = app.clock.now();
    app.state
        .store
        .write(move |tx| tx.save_idempotency(&principal, "reused-key", &expired, now, -1))
        .await
        .unwrap();

    let body = order_body("web", &[("TEE-BLK-M", 1, 1999)]);
    let first = send(keyed(&app, "reused-key", &body)).await.expect(201);
    let replay = send(keyed(&app, "reused-key", &body)).await.expect(201);
    assert_eq!(first["id"], replay["id"], "the new record replays");
    assert_eq!(app.order_rows().await, 1);
}
