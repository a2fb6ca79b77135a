//! The OpenAPI document and the configuration the API exposes.

use crate::helpers::{send, spawn_app};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// Routes the OpenAPI document leaves out on purpose, as `(method, path)` with the reason.
/// Empty today: every route is documented.
const UNDOCUMENTED: &[(&str, &str, &str)] = &[];

/// The methods an OpenAPI path item may hold.
const OPENAPI_METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// The router and the OpenAPI document agree both ways: every route the router answers is
/// documented with its method, and every documented path and method is routed. The
/// router's side is `http::ROUTES`, built from the same table as the router; the test also
/// asks the running server, so a documented operation it does not route fails here too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_describes_every_route() {
    let app = spawn_app().await;
    send(app.client.get(app.url("/openapi.json")))
        .await
        .expect_problem(401, "unauthorized");

    let res = app.get("/openapi.json").await;
    assert!(res.content_type().starts_with("application/json"));
    let doc = res.expect(200);

    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        let path = path
            .strip_prefix("/api/v1")
            .unwrap_or_else(|| panic!("{path} is not under /api/v1"));
        for method in item.as_object().unwrap().keys() {
            if OPENAPI_METHODS.contains(&method.as_str()) {
                documented.insert((method.clone(), path.to_owned()));
            }
        }
    }
    let routed: BTreeSet<(String, String)> = orderly::http::ROUTES
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    assert_eq!(
        routed.len(),
        orderly::http::ROUTES.len(),
        "a route listed twice"
    );
    let excused: BTreeSet<(String, String)> = UNDOCUMENTED
        .iter()
        .map(|(m, p, _reason)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    assert!(excused.is_subset(&routed), "an excused route is not routed");

    let undocumented: Vec<_> = routed.difference(&documented).collect();
    let unexplained: Vec<_> = undocumented
        .iter()
        .filter(|r| !excused.contains(**r))
        .collect();
    assert!(
        unexplained.is_empty(),
        "routed but not documented: {unexplained:?}"
    );
    let unrouted: Vec<_> = documented.difference(&routed).collect();
    assert!(
        unrouted.is_empty(),
        "documented but not routed: {unrouted:?}"
    );
    assert!(
        excused.is_disjoint(&documented),
        "an excused route is documented after all"
    );

    // The running server answers every documented operation: with a problem about the
    // probe's made-up ids and empty body, never with "no such route" or "wrong method".
    for (method, path) in &documented {
        let probe = path
            .split('/')
            .map(|segment| match segment.strip_prefix('{') {
                Some(_) => "probe",
                None => segment,
            })
            .collect::<Vec<_>>()
            .join("/");
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let mut request = app.req(method.clone(), &probe);
        if method != Method::GET {
            request = request.json(&json!({}));
        }
        let res = send(request).await;
        let code = serde_json::from_slice::<Value>(&res.bytes)
            .ok()
            .and_then(|body| body["code"].as_str().map(str::to_owned));
        assert!(
            !matches!(code.as_deref(), Some("no_route" | "method_not_allowed")),
            "{method} {probe} answers {} {code:?}",
            res.status
        );
    }

    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    assert!(doc["components"]["schemas"]["Problem"].is_object());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locations_and_channels_come_from_the_configuration() {
    let app = spawn_app_with_web_backorders().await;

    let locations = app.get("/locations").await.expect(200);
    let ids: Vec<&str> = locations["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["wh-east", "wh-central", "wh-west"]);

    let channels = app.get("/channels").await.expect(200);
    let web = &channels["data"][0];
    assert_eq!(web["id"], "web");
    assert_eq!(web["number_prefix"], "WEB");
    assert_eq!(
        web["allow_backorders"], true,
        "the test's override is served"
    );
}

async fn spawn_app_with_web_backorders() -> crate::helpers::TestApp {
    crate::helpers::spawn_app_with(|config| {
        let web = config.channels.iter_mut().find(|c| c.id == "web").unwrap();
        web.allow_backorders = true;
    })
    .await
}

/// `orderly check` (the binary) passes on a sound database and, once a reserved count is
/// tampered with, exits non-zero naming the broken record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_check_command_names_violations_and_fails() {
    let app = crate::helpers::spawn_app().await;
    app.seed_product("TEE-BLK-M", 1999).await;
    app.receive("TEE-BLK-M", "wh-central", 5).await;
    let order = crate::helpers::order_body("web", &[("TEE-BLK-M", 2, 1999)]);
    app.create_order(&order).await;
    let run = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_orderly"))
            .args(["check", "--database"])
            .arg(&app.db.url)
            .output()
            .unwrap()
    };
    let ok = run();
    assert!(ok.status.success(), "{ok:?}");
    assert!(String::from_utf8_lossy(&ok.stdout).contains("no invariant violations"));

    app.db
        .execute("UPDATE inventory SET reserved = reserved + 1 WHERE sku = 'TEE-BLK-M'")
        .await;
    let bad = run();
    assert_eq!(bad.status.code(), Some(1), "{bad:?}");
    let out = String::from_utf8_lossy(&bad.stdout);
    assert!(
        out.contains(
            "VIOLATION inventory TEE-BLK-M@wh-central: reserved 3 but open reservations sum to 2"
        ),
        "{out}"
    );
}

/// `orderly check` replays case and customer streams too: a worked case and a flagged
/// customer pass, and a case snapshot or customer facts changed behind the events'
/// back are named.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_check_replays_cases_and_customers_and_names_a_tampered_one() {
    let app = crate::helpers::spawn_app().await;
    app.seed_product("TEE-BLK-M", 1999).await;
    app.receive("TEE-BLK-M", "wh-central", 5).await;
    let order = app
        .create_order(&crate::helpers::order_body(
            "web",
            &[("TEE-BLK-M", 1, 1999)],
        ))
        .await;
    let case = app
        .post(
            "/cases",
            &serde_json::json!({"subject": "Late", "channel": "email", "order": order["id"]}),
        )
        .await
        .expect(201);
    let number = case["number"].as_str().unwrap().to_owned();
    app.post(
        &format!("/cases/{number}/resolve"),
        &serde_json::json!({"root_cause": "carrier_delay"}),
    )
    .await
    .expect(200);
    let customer = app.get("/customers/ana%40example.com").await.expect(200);
    let cid = customer["id"].as_str().unwrap().to_owned();
    app.post(
        &format!("/customers/{cid}/flags"),
        &serde_json::json!({"flag": "vip", "reason": "top spender"}),
    )
    .await
    .expect(200);
    let report = app.state.store.check().await.unwrap();
    assert!(report.violations.is_empty(), "{:?}", report.violations);
    assert_eq!((report.cases, report.customers), (1, 1));

    app.db
        .execute(&format!(
            "UPDATE cases SET snapshot = replace(snapshot, 'carrier_delay', 'wrong_item') WHERE number = '{number}';
             UPDATE customers SET facts = replace(facts, 'top spender', 'someone else') WHERE id = '{cid}'"
        ))
        .await;
    let report = app.state.store.check().await.unwrap();
    let named: Vec<String> = report
        .violations
        .iter()
        .map(|v| v.subject.clone())
        .collect();
    assert_eq!(
        named,
        vec![format!("case {number}"), format!("customer {cid}")],
        "{:?}",
        report.violations
    );
}

/// `orderly backup` copies a live database consistently: the copy holds every order
/// acknowledged before it started and passes `orderly check`; it never overwrites a file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_copies_a_live_database() {
    // PostgreSQL is backed up with pg_dump; `orderly backup` copies SQLite files, so this
    // test runs on SQLite on both of CI's stages.
    let app = crate::helpers::spawn_sqlite_app().await;
    let db_path = app.db.sqlite_path.clone().expect("a SQLite app");
    app.seed_product("MUG-CLASSIC", 1299).await;
    app.receive("MUG-CLASSIC", "wh-east", 50).await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        let order = crate::helpers::order_body("web", &[("MUG-CLASSIC", 1, 1299)]);
        ids.push(
            app.create_order(&order).await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let to = app._dir.path().join("copy.db");
    let run = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_orderly"))
            .args(["backup", "--database"])
            .arg(format!("sqlite://{}", db_path.display()))
            .arg("--to")
            .arg(&to)
            .output()
            .unwrap()
    };
    let first = run();
    assert!(first.status.success(), "{first:?}");
    let again = run();
    assert!(
        !again.status.success(),
        "a second backup must not overwrite the first"
    );

    let check = std::process::Command::new(env!("CARGO_BIN_EXE_orderly"))
        .args(["check", "--database"])
        .arg(format!("sqlite://{}", to.display()))
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&check.stdout);
    assert!(check.status.success(), "{out}");
    assert!(out.contains("checked 5 orders"), "{out}");
    let conn = rusqlite::Connection::open(&to).unwrap();
    for id in ids {
        let n: i64 = conn
            .query_row("SELECT COUNT(*) FROM orders WHERE id = ?1", [&id], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(n, 1, "{id} in the backup");
    }
}
