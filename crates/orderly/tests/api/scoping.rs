//! Keys with a scope and a life: a key bound to channels sees and acts on only their
//! orders (anything else is not found), keys expire, are listed, revoked and rotated,
//! and a revocation holds at once on every process.

use crate::crash::{Server, admin_key, write_config};
use crate::helpers::{TestApp, client, fresh_database, order_body, send, spawn_app};
use jiff::SignedDuration;
use orderly::app::auth::KeySpec;
use orderly_domain::actor::Role;
use reqwest::Method;
use serde_json::{Value, json};

const EXE: &str = env!("CARGO_BIN_EXE_orderly");

/// A web order (WEB-1001) and a marketplace order (MKT-1001), both for ana@example.com.
async fn two_channels() -> (TestApp, Value, Value) {
    let app = spawn_app().await;
    app.seed_product("TEE-BLK-M", 1999).await;
    app.receive("TEE-BLK-M", "wh-central", 10).await;
    let web = app
        .create_order(&order_body("web", &[("TEE-BLK-M", 1, 1999)]))
        .await;
    let mkt = app
        .create_order(&order_body("marketplace", &[("TEE-BLK-M", 1, 1500)]))
        .await;
    (app, web, mkt)
}

fn bound(role: Role, channels: &[&str]) -> KeySpec {
    KeySpec {
        channels: Some(channels.iter().map(|c| (*c).to_owned()).collect()),
        ..KeySpec::unbound(role, "bound")
    }
}

fn numbers(list: &Value) -> Vec<String> {
    list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["number"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_bound_to_the_marketplace_sees_and_acts_on_only_its_orders() {
    let (app, web, mkt) = two_channels().await;
    let (_, key) = app
        .key_with(bound(Role::Integration, &["marketplace"]))
        .await;
    let get = |path: String| send(app.req_as(&key, Method::GET, &path));

    assert_eq!(
        numbers(&get("/orders".into()).await.expect(200)),
        ["MKT-1001"]
    );
    let other = get("/orders?channel=web".into()).await.expect(200);
    assert_eq!(numbers(&other), Vec::<String>::new());
    get("/orders/MKT-1001".into()).await.expect(200);
    for path in [
        "/orders/WEB-1001".to_owned(),
        format!("/orders/{}", web["id"].as_str().unwrap()),
        "/orders/WEB-1001/timeline".to_owned(),
        format!(
            "/fulfillment-orders/{}",
            web["fulfillment_orders"][0]["id"].as_str().unwrap()
        ),
    ] {
        let res = get(path.clone()).await;
        assert_eq!(res.status, 404, "{path}: {:?}", res.json());
    }
    // Not found, exactly as an order that does not exist: nothing tells the two apart.
    let missing = get("/orders/WEB-9999".into()).await.json();
    let hidden = get("/orders/WEB-1001".into()).await.json();
    assert_eq!(hidden["code"], missing["code"]);

    // Acting on the other channel's order changes nothing.
    let before = app.fingerprint().await;
    send(
        app.req_as(&key, Method::POST, "/orders/WEB-1001/cancellation")
            .json(&json!({"reason": "customer_request"})),
    )
    .await
    .expect_problem(404, "order_not_found");
    assert_eq!(app.fingerprint().await, before);
    // Its own channel's order it may cancel (asked of the warehouse, which accepts).
    let asked = send(
        app.req_as(&key, Method::POST, "/orders/MKT-1001/cancellation")
            .json(&json!({"reason": "customer_request"})),
    )
    .await
    .expect(202);
    let ful = crate::helpers::asked_of(&asked);
    let cancelled = app.accept_cancellation(&ful).await.expect(200);
    assert_eq!(cancelled["order_state"], "cancelled");
    assert_eq!(mkt["id"], cancelled["id"]);

    // It cannot create orders in another channel: to it, that channel does not exist.
    let res = send(
        app.req_as(&key, Method::POST, "/orders")
            .json(&order_body("web", &[("TEE-BLK-M", 1, 1999)])),
    )
    .await;
    let problem = res.expect_problem(422, "validation_failed");
    assert_eq!(problem["errors"][0]["code"], "unknown_channel");
    let created = send(
        app.req_as(&key, Method::POST, "/orders")
            .json(&order_body("marketplace", &[("TEE-BLK-M", 1, 1500)])),
    )
    .await
    .expect(201);
    assert_eq!(created["number"], "MKT-1002");

    let channels = get("/channels".into()).await.expect(200);
    let ids: Vec<&str> = channels["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["marketplace"]);
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bound_key_reads_store_credit_only_of_its_channels_customers() {
    let (app, _, _) = two_channels().await;
    let (_, web_only) = app.key_with(bound(Role::Finance, &["web"])).await;
    let grant = json!({"currency": "USD", "amount": 500, "note": "goodwill"});
    app.post("/customers/bo%40example.com/store-credit", &grant)
        .await
        .expect(201);
    let read = |email: &str| {
        send(app.req_as(
            &web_only,
            Method::GET,
            &format!("/customers/{email}/store-credit"),
        ))
    };
    read("ana%40example.com").await.expect(200);
    // Bo never ordered on the web: to a web key, Bo is nobody.
    read("bo%40example.com")
        .await
        .expect_problem(404, "not_found");
    let before = app.fingerprint().await;
    send(
        app.req_as(
            &web_only,
            Method::POST,
            "/customers/bo%40example.com/store-credit",
        )
        .json(&grant),
    )
    .await
    .expect_problem(404, "not_found");
    assert_eq!(app.fingerprint().await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_are_created_listed_rotated_with_a_grace_period_and_revoked() {
    let (app, _, _) = two_channels().await;
    let created = app
        .post(
            "/api-keys",
            &json!({"role": "integration", "name": "marketplace feed", "channels": ["marketplace"]}),
        )
        .await
        .expect(201);
    assert_eq!(created["channels"], json!(["marketplace"]));
    assert_eq!(created["state"], "live");
    let (id, secret) = (
        created["id"].as_str().unwrap().to_owned(),
        created["key"].as_str().unwrap().to_owned(),
    );
    let orders_as = |key: &str| send(app.req_as(key, Method::GET, "/orders"));
    assert_eq!(numbers(&orders_as(&secret).await.expect(200)), ["MKT-1001"]);

    let listed = app.get("/api-keys").await.expect(200);
    let mine = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == id.as_str())
        .expect("listed");
    assert_eq!(mine["name"], "marketplace feed");
    assert!(
        mine.get("key").is_none(),
        "a secret is shown only once: {mine}"
    );
    assert!(!listed.to_string().contains(&secret));

    // Rotated with ten minutes' grace: both secrets work until the grace ends.
    let rotated = app
        .post(
            &format!("/api-keys/{id}/rotate"),
            &json!({"grace_minutes": 10}),
        )
        .await
        .expect(201);
    let new_secret = rotated["key"].as_str().unwrap().to_owned();
    assert_eq!(rotated["channels"], json!(["marketplace"]));
    assert_eq!(rotated["name"], "marketplace feed");
    orders_as(&secret).await.expect(200);
    orders_as(&new_secret).await.expect(200);
    app.clock.advance(SignedDuration::from_mins(10));
    orders_as(&secret).await.expect_problem(401, "unauthorized");
    assert_eq!(
        numbers(&orders_as(&new_secret).await.expect(200)),
        ["MKT-1001"]
    );
    // The old key, ended, cannot be rotated again.
    app.post(&format!("/api-keys/{id}/rotate"), &json!({}))
        .await
        .expect_problem(409, "key_not_live");

    // Revoked, it fails on the very next request.
    let new_id = rotated["id"].as_str().unwrap();
    let revoked = app
        .post(&format!("/api-keys/{new_id}/revoke"), &json!({}))
        .await
        .expect(200);
    assert_eq!(revoked["state"], "revoked");
    orders_as(&new_secret)
        .await
        .expect_problem(401, "unauthorized");
    app.post("/api-keys/key_nobody/revoke", &json!({}))
        .await
        .expect_problem(404, "not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_expires_at_its_time_and_not_a_millisecond_before() {
    let (app, _, _) = two_channels().await;
    let expires_at = app
        .clock
        .now()
        .checked_add(SignedDuration::from_hours(1))
        .unwrap();
    let created = app
        .post(
            "/api-keys",
            &json!({"role": "support", "name": "temp", "expires_at": expires_at.to_string()}),
        )
        .await
        .expect(201);
    let secret = created["key"].as_str().unwrap();
    app.clock
        .advance(SignedDuration::from_mins(60) - SignedDuration::from_millis(1));
    send(app.req_as(secret, Method::GET, "/orders"))
        .await
        .expect(200);
    app.clock.advance(SignedDuration::from_millis(1));
    send(app.req_as(secret, Method::GET, "/orders"))
        .await
        .expect_problem(401, "unauthorized");
    let listed = app.get("/api-keys").await.expect(200);
    let state = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == created["id"])
        .map(|k| k["state"].clone());
    assert_eq!(state, Some(json!("expired")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_key_request_is_refused_naming_the_field_and_a_bound_key_manages_no_keys() {
    let (app, _, _) = two_channels().await;
    let past = app
        .clock
        .now()
        .checked_sub(SignedDuration::from_secs(1))
        .unwrap();
    let cases = [
        (
            json!({"role": "admin", "name": "x", "channels": ["nowhere"]}),
            "channels[0]",
            "unknown_channel",
        ),
        (
            json!({"role": "admin", "name": "x", "channels": []}),
            "channels",
            "invalid_length",
        ),
        (
            json!({"role": "admin", "name": "x", "expires_at": past.to_string()}),
            "expires_at",
            "in_the_past",
        ),
        (
            json!({"role": "admin", "name": "x", "expires_at": "tomorrow"}),
            "expires_at",
            "invalid_time",
        ),
        (json!({"role": "root", "name": "x"}), "role", "unknown_role"),
    ];
    let before = app.fingerprint().await;
    for (body, field, code) in cases {
        let problem = app
            .post("/api-keys", &body)
            .await
            .expect_problem(422, "validation_failed");
        assert_eq!(problem["errors"][0]["field"], field, "{body}");
        assert_eq!(problem["errors"][0]["code"], code, "{body}");
    }
    assert_eq!(app.fingerprint().await, before);

    let (_, bound_admin) = app.key_with(bound(Role::Admin, &["web"])).await;
    let before = app.fingerprint().await;
    for (method, path) in [(Method::GET, "/api-keys"), (Method::POST, "/api-keys")] {
        let req = app.req_as(&bound_admin, method, path);
        let req = if path == "/api-keys" {
            req.json(&json!({"role": "admin", "name": "wider"}))
        } else {
            req
        };
        send(req).await.expect_problem(403, "forbidden");
    }
    assert_eq!(app.fingerprint().await, before);
}

/// `orderly keys …` runs the same commands as the API, and a key revoked by one process
/// fails at once on a server running in another.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_creates_lists_and_revokes_keys_and_a_running_server_obeys_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_database(dir.path()).await;
    let config = write_config(dir.path(), &db);
    let server = Server::start(&config).await;
    let admin = admin_key(&db.url);
    let cli = |args: &[&str]| {
        let out = std::process::Command::new(EXE)
            .arg("keys")
            .args(args)
            .args(["--config".as_ref(), config.as_os_str()])
            .output()
            .expect("run orderly keys");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        (out.status.success(), text, err)
    };
    let (ok, text, err) = cli(&[
        "create",
        "--role",
        "integration",
        "--name",
        "feed",
        "--channel",
        "marketplace",
    ]);
    assert!(ok, "{text}{err}");
    let secret = text.lines().last().unwrap().trim().to_owned();
    let id = text.split_whitespace().nth(3).unwrap().to_owned();
    assert!(
        secret.starts_with("oly_") && id.starts_with("key_"),
        "{text}"
    );
    let (ok, text, err) = cli(&["create", "--role", "admin", "--channel", "nowhere"]);
    assert!(!ok && err.contains("channels[0]"), "{text}{err}");

    let (ok, listed, _) = cli(&["list"]);
    assert!(ok);
    let line = listed.lines().find(|l| l.contains(&id)).expect("listed");
    assert!(
        line.contains("marketplace") && line.ends_with("live"),
        "{line}"
    );
    assert!(!listed.contains(&secret));

    let http = client();
    let orders = || {
        send(
            http.get(format!("{}/orders", server.base_url))
                .bearer_auth(&secret),
        )
    };
    orders().await.expect(200);
    let (ok, text, err) = cli(&["revoke", &id]);
    assert!(ok, "{text}{err}");
    // No cache stands between the revocation and the next request.
    orders().await.expect_problem(401, "unauthorized");
    let (_, listed, _) = cli(&["list"]);
    assert!(
        listed
            .lines()
            .any(|l| l.contains(&id) && l.ends_with("revoked"))
    );
    send(
        http.get(format!("{}/api-keys", server.base_url))
            .bearer_auth(&admin),
    )
    .await
    .expect(200);
}
