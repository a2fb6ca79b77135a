//! The shared harness: every test gets its own server on port 0 with a fresh SQLite
//! database in a temporary directory, an admin key, and helpers that speak real HTTP.

use orderly::app::AppState;
use orderly::app::auth::KeySpec;
use orderly::app::clock::ManualClock;
use orderly::config::Config;
use orderly::startup::Application;
use orderly_domain::actor::{Actor, Role};
use reqwest::header::HeaderMap;
use reqwest::{Method, RequestBuilder};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tempfile::TempDir;
use tokio::sync::oneshot;

pub struct TestApp {
    pub addr: SocketAddr,
    /// Where `/metrics` is served without a key, when `metrics.listen` is set.
    pub metrics_addr: Option<SocketAddr>,
    /// `http://127.0.0.1:PORT/api/v1`
    pub base_url: String,
    pub client: reqwest::Client,
    pub admin_key: String,
    pub admin_key_id: String,
    pub db: TestDb,
    pub state: AppState,
    /// The app's clock: it stands still until the test moves it.
    pub clock: Arc<ManualClock>,
    /// Where the clock stood when the app started (`fire_timers_at` counts from here).
    pub started: jiff::Timestamp,
    /// Dropping the sender stops the server gracefully.
    _shutdown: oneshot::Sender<()>,
    pub _dir: TempDir,
}

/// A response with its body read, so a test can look at it more than once.
#[derive(Debug)]
pub struct Res {
    pub status: u16,
    pub headers: HeaderMap,
    pub bytes: Vec<u8>,
}

impl Res {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes).unwrap_or_else(|e| {
            panic!(
                "response ({}) is not JSON: {e}: {}",
                self.status,
                String::from_utf8_lossy(&self.bytes)
            )
        })
    }

    pub fn content_type(&self) -> &str {
        self.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// Asserts the status, printing the body when it differs; returns the JSON body.
    #[track_caller]
    pub fn expect(&self, status: u16) -> Value {
        assert_eq!(
            self.status,
            status,
            "unexpected status; body: {}",
            String::from_utf8_lossy(&self.bytes)
        );
        self.json()
    }

    /// Asserts a problem+json answer with this status and `code`; returns the problem.
    #[track_caller]
    pub fn expect_problem(&self, status: u16, code: &str) -> Value {
        let problem = self.expect(status);
        assert_eq!(
            self.content_type(),
            "application/problem+json",
            "problem content type"
        );
        assert_eq!(problem["code"], code, "problem code in {problem}");
        assert_eq!(problem["status"], status, "problem status in {problem}");
        assert!(problem["title"].is_string() && problem["type"].is_string());
        problem
    }
}

/// The field-level error codes of a validation problem, as (field, code) pairs.
pub fn field_errors(problem: &Value) -> Vec<(String, String)> {
    problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| {
                    (
                        e["field"].as_str().unwrap_or_default().to_owned(),
                        e["code"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A fresh, empty database for one test: a SQLite file in the test's directory, or a new
/// PostgreSQL database when `ORDERLY_TEST_DATABASE_URL` names a server (CI sets it).
pub struct TestDb {
    pub url: String,
    /// Set on SQLite, for the tests that work on the file itself.
    pub sqlite_path: Option<PathBuf>,
    /// (server URL, database name) of a PostgreSQL database this test created and drops.
    pub created: Option<(String, String)>,
}

impl Drop for TestDb {
    /// Drops the test's PostgreSQL database (best effort), so that a long local session
    /// does not leave hundreds behind for autovacuum to visit.
    fn drop(&mut self) {
        let Some((base, name)) = self.created.take() else {
            return;
        };
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let (client, connection) = tokio_postgres::connect(&base, tokio_postgres::NoTls)
                    .await
                    .ok()?;
                tokio::spawn(connection);
                client
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await
                    .ok()
            })
        });
        let _ = dropped.join();
    }
}

/// The PostgreSQL server the suite runs against, if any.
pub fn postgres_base_url() -> Option<String> {
    std::env::var("ORDERLY_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

/// The server of a test that only means something on PostgreSQL. Such a test is
/// `#[ignore = "needs ORDERLY_TEST_DATABASE_URL (PostgreSQL)"]`, so a plain `cargo test`
/// lists it as ignored with that reason, and `.ci/run`'s PostgreSQL stage runs it with
/// `--include-ignored`. Run without a server, it fails: it never passes having run nothing.
pub fn require_postgres() -> String {
    postgres_base_url().expect(
        "this test needs ORDERLY_TEST_DATABASE_URL to name a PostgreSQL server \
         (it is #[ignore]d for that reason; .ci/run's PostgreSQL stage runs it)",
    )
}

pub async fn fresh_database(dir: &Path) -> TestDb {
    match postgres_base_url() {
        Some(base) => {
            let name = format!("orderly_t_{}", uuid::Uuid::now_v7().simple());
            let (client, connection) = tokio_postgres::connect(&base, tokio_postgres::NoTls)
                .await
                .expect("connect to ORDERLY_TEST_DATABASE_URL");
            tokio::spawn(connection);
            client
                .batch_execute(&format!("CREATE DATABASE {name}"))
                .await
                .expect("create test database");
            TestDb {
                url: orderly::bench::with_database(&base, &name),
                sqlite_path: None,
                created: Some((base, name)),
            }
        }
        None => {
            let path = dir.join("t.db");
            TestDb {
                url: format!("sqlite://{}", path.display()),
                sqlite_path: Some(path),
                created: None,
            }
        }
    }
}

impl TestDb {
    /// Runs a query that returns one integer, straight against the database.
    pub async fn count(&self, sql: &str) -> i64 {
        match &self.sqlite_path {
            Some(path) => {
                let conn = rusqlite::Connection::open_with_flags(
                    path,
                    rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
                )
                .expect("open db");
                conn.query_row(sql, [], |r| r.get(0)).expect("count query")
            }
            None => self
                .postgres()
                .await
                .query_one(sql, &[])
                .await
                .expect("count query")
                .get(0),
        }
    }

    /// Runs a statement straight against the database (to tamper with it).
    pub async fn execute(&self, sql: &str) {
        match &self.sqlite_path {
            Some(path) => {
                rusqlite::Connection::open(path)
                    .expect("open db")
                    .execute_batch(sql)
                    .expect("statement");
            }
            None => self
                .postgres()
                .await
                .batch_execute(sql)
                .await
                .expect("statement"),
        }
    }

    /// Every table of the schema, read from the database's own catalogue, without
    /// refinery's migration history.
    pub async fn tables(&self) -> Vec<String> {
        match &self.sqlite_path {
            Some(path) => {
                let conn = self.sqlite_reader(path);
                let mut query = conn
                    .prepare(
                        "SELECT name FROM sqlite_master WHERE type = 'table' \
                         AND name NOT LIKE 'sqlite_%' AND name <> 'refinery_schema_history' \
                         ORDER BY name",
                    )
                    .expect("list tables");
                query
                    .query_map([], |r| r.get(0))
                    .expect("list tables")
                    .collect::<Result<_, _>>()
                    .expect("table name")
            }
            None => self
                .postgres()
                .await
                .query(
                    "SELECT table_name::text FROM information_schema.tables \
                     WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' \
                     AND table_name <> 'refinery_schema_history' ORDER BY 1",
                    &[],
                )
                .await
                .expect("list tables")
                .iter()
                .map(|r| r.get(0))
                .collect(),
        }
    }

    /// For every table of [`TestDb::tables`]: its row count and a digest of its rows, in
    /// no particular order (so that two equal contents give equal digests whatever order
    /// the rows come back in).
    pub async fn table_digests(&self) -> std::collections::BTreeMap<String, (i64, String)> {
        let mut digests = std::collections::BTreeMap::new();
        let tables = self.tables().await;
        match &self.sqlite_path {
            Some(path) => {
                let conn = self.sqlite_reader(path);
                for table in tables {
                    let mut query = conn
                        .prepare(&format!("SELECT * FROM \"{table}\""))
                        .expect("read table");
                    let columns = query.column_count();
                    let mut rows: Vec<String> = query
                        .query_map([], |r| {
                            (0..columns)
                                .map(|i| r.get_ref(i).map(|v| format!("{v:?}")))
                                .collect::<Result<Vec<_>, _>>()
                                .map(|values| values.join("\u{1f}"))
                        })
                        .expect("read table")
                        .collect::<Result<_, _>>()
                        .expect("read row");
                    rows.sort();
                    let digest = hex::encode(Sha256::digest(rows.join("\n")));
                    digests.insert(table, (rows.len() as i64, digest));
                }
            }
            None => {
                let client = self.postgres().await;
                for table in tables {
                    let row = client
                        .query_one(
                            &format!(
                                "SELECT COUNT(*), COALESCE(md5(string_agg(t::text, E'\\n' \
                                 ORDER BY t::text)), '') FROM \"{table}\" t"
                            ),
                            &[],
                        )
                        .await
                        .expect("digest table");
                    digests.insert(table, (row.get(0), row.get(1)));
                }
            }
        }
        digests
    }

    fn sqlite_reader(&self, path: &Path) -> rusqlite::Connection {
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("open db")
    }

    async fn postgres(&self) -> tokio_postgres::Client {
        let (client, connection) = tokio_postgres::connect(&self.url, tokio_postgres::NoTls)
            .await
            .expect("connect to the test database");
        tokio::spawn(connection);
        client
    }
}

/// Writes the test's configuration overrides; the demo configuration supplies the rest.
pub fn write_config(dir: &Path, db: &TestDb, synchronous: &str) -> PathBuf {
    let path = dir.join("orderly.toml");
    let toml = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n[database]\nurl = \"{}\"\nsynchronous = \"{synchronous}\"\n",
        db.url
    );
    std::fs::write(&path, toml).expect("write config");
    path
}

/// The simulator's event signing secrets in tests: the current one and the one being
/// rotated out (both accepted).
pub const EVENT_SECRET: &str = "whsec_dGVzdC1zZWNyZXQtY3VycmVudC0zMi1ieXRlcyEh";
pub const EVENT_SECRET_OLD: &str = "whsec_dGVzdC1zZWNyZXQtcHJldmlvdXMtMzItYnl0ZXM=";

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Spawns the app after letting the test adjust the loaded configuration.
pub async fn spawn_app_with(tweak: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = fresh_database(dir.path()).await;
    spawn_app_on(dir, db, tweak, real_time()).await
}

/// Spawns the app on SQLite whatever `ORDERLY_TEST_DATABASE_URL` says.
pub async fn spawn_sqlite_app() -> TestApp {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("t.db");
    let db = TestDb {
        url: format!("sqlite://{}", path.display()),
        sqlite_path: Some(path),
        created: None,
    };
    spawn_app_on(dir, db, |_| {}, real_time()).await
}

/// A manual clock stopped at the real current time (signed requests carry real times).
fn real_time() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(jiff::Timestamp::now()))
}

async fn spawn_app_on(
    dir: TempDir,
    db: TestDb,
    tweak: impl FnOnce(&mut Config),
    clock: Arc<ManualClock>,
) -> TestApp {
    let config_path = write_config(dir.path(), &db, "normal");
    let mut config =
        Config::load(Some(&config_path), Some(orderly::DEMO_CONFIG)).expect("load config");
    // Tests fire timers themselves, with their own clock; a provider timeout is quick;
    // review thresholds are set by the tests that want them.
    config.payments.worker_interval_ms = 3_600_000;
    config.webhooks.dispatcher = false;
    config.payments.simulator.timeout_ms = 50;
    config.risk.high_value_threshold_minor = None;
    config.fulfillment.tracking_event_secrets = vec![EVENT_SECRET.into()];
    config.payments.event_secrets.insert(
        "simulator".into(),
        vec![EVENT_SECRET.into(), EVENT_SECRET_OLD.into()],
    );
    // CI runs the modules that race commands once more with group commit off.
    if std::env::var("ORDERLY_TEST_GROUP_COMMIT").is_ok_and(|v| v == "off") {
        config.database.group_commit = false;
    }
    tweak(&mut config);
    let application = Application::build_with_clock(config, clock.clone())
        .await
        .expect("build app");
    let addr = application.local_addr().expect("local addr");
    let metrics_addr = application.metrics_addr().expect("metrics addr");
    let state = application.state();
    let (shutdown, stopped) = oneshot::channel::<()>();
    tokio::spawn(application.run_until(async {
        let _ = stopped.await;
    }));
    let admin = state
        .create_key(
            &Actor::system("test"),
            KeySpec::unbound(Role::Admin, "test"),
        )
        .await
        .expect("admin key");
    let (admin_key_id, admin_key) = (admin.key.id, admin.secret);
    TestApp {
        addr,
        metrics_addr,
        base_url: format!("http://{addr}/api/v1"),
        client: client(),
        admin_key,
        admin_key_id,
        db,
        state,
        started: clock.now(),
        clock,
        _shutdown: shutdown,
        _dir: dir,
    }
}

/// A client for talking to a server, in this process or another. reqwest's TLS needs a
/// crypto provider installed in the process; the app installs one when it starts, but a
/// test that only starts the binary in another process has no app here.
pub fn client() -> reqwest::Client {
    #[allow(deprecated)] // ring, as the app installs it (`App::new`)
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .no_proxy()
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .expect("http client")
}

pub async fn send(request: RequestBuilder) -> Res {
    let res = request.send().await.expect("request failed");
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let bytes = res.bytes().await.expect("read body").to_vec();
    Res {
        status,
        headers,
        bytes,
    }
}

/// Percent-encodes a query-string value.
pub fn enc(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// A request to `path` (under `/api/v1`) with the admin key.
    pub fn req(&self, method: Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(&self.admin_key)
    }

    /// A request to `path` with the given key.
    pub fn req_as(&self, key: &str, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, self.url(path)).bearer_auth(key)
    }

    pub async fn get(&self, path: &str) -> Res {
        send(self.req(Method::GET, path)).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Res {
        send(self.req(Method::POST, path).json(body)).await
    }

    pub async fn patch(&self, path: &str, body: &Value) -> Res {
        send(self.req(Method::PATCH, path).json(body)).await
    }

    /// Posts `event` to `path` signed Standard Webhooks style with `secret` as of `at`
    /// (unix seconds), its `id` as the webhook id.
    pub async fn signed_post(&self, path: &str, secret: &str, at: i64, event: &Value) -> Res {
        use orderly::providers::signature::{Secret, sign};
        let body = serde_json::to_vec(event).unwrap();
        let id = event["id"].as_str().unwrap();
        let signature = sign(&Secret::parse(secret).unwrap(), id, at, &body);
        send(
            self.client
                .post(self.url(path))
                .header("content-type", "application/json")
                .header("webhook-id", id)
                .header("webhook-timestamp", at.to_string())
                .header("webhook-signature", signature)
                .body(body),
        )
        .await
    }

    /// Sends a carrier tracking event signed with the test secret.
    pub async fn track(&self, event: &Value) -> Res {
        let now = self.clock.now().as_second();
        self.signed_post("/tracking-events", EVENT_SECRET, now, event)
            .await
    }

    /// Picks a released fulfillment order ((line, units found) per line) and packs
    /// `scans` into one package; returns the package (`id`, `order_id`, …).
    pub async fn pick_and_pack(&self, fid: &str, picked: &[(u32, u32)], scans: &[&str]) -> Value {
        let lines: Vec<Value> = picked
            .iter()
            .map(|(line_no, n)| json!({"line_no": line_no, "picked": n}))
            .collect();
        self.post(
            &format!("/fulfillment-orders/{fid}/pick"),
            &json!({ "lines": lines }),
        )
        .await
        .expect(200);
        self.post(
            &format!("/fulfillment-orders/{fid}/packages"),
            &json!({"scans": scans, "weight_grams": 500, "dimensions_mm": [100, 100, 100]}),
        )
        .await
        .expect(201)
    }

    /// The app stopped and started again on the same database, as after a crash: nothing
    /// it held in memory survives, the payment simulator's memory included (so a re-drive
    /// reaches a provider that never saw the operation).
    pub async fn restart(self) -> TestApp {
        let TestApp {
            db,
            state,
            clock,
            _shutdown,
            _dir,
            ..
        } = self;
        drop(_shutdown);
        state.store.shutdown();
        drop(state);
        // The clock goes on from where the test left it.
        spawn_app_on(_dir, db, |_| {}, clock).await
    }

    /// Moves the app's clock to `later` past the time it was started at (later calls
    /// name their time from the same start), then fires what is due then.
    pub async fn fire_timers_at(&self, later: jiff::SignedDuration) {
        let at = self.started + later;
        self.clock.set(at);
        self.state.fire_due_timers(at).await.expect("timer pass");
    }

    /// Calls of `kind` (authorize, capture, void, refund) the payment simulator received.
    pub fn simulator_calls(&self, kind: &str) -> usize {
        self.state.simulator.calls(kind)
    }

    /// The reference the simulator gave the operation `key` (what its event would carry).
    pub fn simulator_reference(&self, key: &str) -> String {
        match self.state.simulator.outcome(key) {
            Some(orderly::providers::ProviderAnswer::Approved { reference, .. }) => reference,
            other => panic!("no approval recorded for {key}: {other:?}"),
        }
    }

    /// A new API key with `role`; returns (id, secret).
    pub async fn key(&self, role: Role) -> (String, String) {
        self.key_with(KeySpec::unbound(role, role.as_str())).await
    }

    /// A new API key as `spec` says (channels, expiry); returns (id, secret).
    pub async fn key_with(&self, spec: KeySpec) -> (String, String) {
        let created = self
            .state
            .create_key(&Actor::system("test"), spec)
            .await
            .expect("create key");
        (created.key.id, created.secret)
    }

    pub async fn seed_product(&self, sku: &str, price: i64) -> Value {
        let body = json!({
            "sku": sku, "name": format!("Product {sku}"), "price": price, "currency": "USD",
            "weight_grams": 250, "category": "apparel", "returnable": true, "active": true,
        });
        self.post("/products", &body).await.expect(201)
    }

    pub async fn receive(&self, sku: &str, location: &str, quantity: i64) -> Value {
        let body =
            json!({"sku": sku, "location_id": location, "kind": "receipt", "quantity": quantity});
        self.post("/inventory/adjustments", &body).await.expect(201)
    }

    /// Stock of `sku` at `location` as the API reports it: (on_hand, reserved, available).
    pub async fn stock(&self, sku: &str, location: &str) -> (i64, i64, i64) {
        let page = self
            .get(&format!(
                "/inventory?sku={}&location_id={}",
                enc(sku),
                enc(location)
            ))
            .await
            .expect(200);
        match page["data"].as_array().and_then(|rows| rows.first()) {
            None => (0, 0, 0),
            Some(row) => (
                row["on_hand"].as_i64().expect("on_hand"),
                row["reserved"].as_i64().expect("reserved"),
                row["available"].as_i64().expect("available"),
            ),
        }
    }

    /// Cancels order `id` (or the units `body` names) as support does, each warehouse it
    /// reached accepting: the order as it ends. A cancellation of what no warehouse has
    /// is done at once (200); one a warehouse has waits for it (202) until it accepts.
    pub async fn cancel(&self, id: &str, body: &Value) -> Value {
        let res = self.post(&format!("/orders/{id}/cancellation"), body).await;
        if res.status == 200 {
            return res.json();
        }
        let pending = res.expect(202);
        let mut last = pending.clone();
        for ful in pending["cancellation_request"]["waiting_for"]
            .as_array()
            .expect("the fulfillment orders asked")
        {
            last = self
                .accept_cancellation(ful.as_str().expect("an id"))
                .await
                .expect(200);
        }
        last
    }

    /// The warehouse of fulfillment order `ful` accepts the cancellation asked of it.
    pub async fn accept_cancellation(&self, ful: &str) -> Res {
        self.post(
            &format!("/fulfillment-orders/{ful}/cancel-request/accept"),
            &json!({}),
        )
        .await
    }

    /// A one-shot edit of order `id` making `changes` (a JSON array of changes).
    pub async fn change(&self, id: &str, changes: Value) -> Res {
        self.post(
            &format!("/orders/{id}/changes"),
            &json!({ "changes": changes }),
        )
        .await
    }

    /// POSTs an order and asserts 201.
    pub async fn create_order(&self, body: &Value) -> Value {
        self.post("/orders", body).await.expect(201)
    }

    /// Every order the list endpoint returns (first page of up to 200).
    pub async fn all_orders(&self) -> Vec<Value> {
        let page = self.get("/orders?limit=200").await.expect(200);
        page["data"].as_array().expect("data").clone()
    }

    /// Everything a refused request must leave untouched: what the API lists, and the
    /// row count and a digest of the content of every table of the schema, as the database
    /// itself lists them (refinery's migration history aside). PostgreSQL numbers orders
    /// from sequences, which are gap-tolerant by design, so those are not compared.
    pub async fn fingerprint(&self) -> Value {
        let orders = self.get("/orders?limit=200").await.expect(200);
        let inventory = self.get("/inventory?limit=200").await.expect(200);
        let tables: serde_json::Map<String, Value> = self
            .db
            .table_digests()
            .await
            .into_iter()
            .map(|(table, (rows, digest))| (table, json!({"rows": rows, "digest": digest})))
            .collect();
        json!({"orders": orders, "inventory": inventory, "tables": tables})
    }

    /// Rows in the `orders` table, read straight from the database.
    pub async fn order_rows(&self) -> i64 {
        self.db.count("SELECT COUNT(*) FROM orders").await
    }

    /// Runs `orderly check` in-process and asserts it finds nothing.
    pub async fn assert_invariants(&self) {
        let report = self.state.store.check().await.expect("check runs");
        assert!(
            report.violations.is_empty(),
            "invariant violations: {:#?}",
            report.violations
        );
    }
}

/// A valid order request in the shape the README's tour sends, shipping to Austin, TX,
/// with `lines` as (sku, quantity, unit price) and 5.00 shipping.
/// The text of a PDF as `pdftotext` (Debian poppler-utils) reads it, with the file it
/// was written to (kept while the directory lives) for tools that need a path.
pub fn pdf_text(bytes: &[u8], dir: &Path) -> (String, PathBuf) {
    let path = dir.join("doc.pdf");
    std::fs::write(&path, bytes).unwrap();
    let out = std::process::Command::new("pdftotext")
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext (Debian poppler-utils) must be installed");
    assert!(out.status.success(), "pdftotext could not read the PDF");
    (String::from_utf8_lossy(&out.stdout).into_owned(), path)
}

/// What a scanner reads off a label's barcode: the PDF rendered at 300 dpi by `pdftoppm`
/// and scanned by `zbarimg` (Debian poppler-utils and zbar-tools).
pub fn decode_barcode(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let (_, path) = pdf_text(pdf, dir.path());
    let png = dir.path().join("label");
    let rendered = std::process::Command::new("pdftoppm")
        .args(["-r", "300", "-png", "-singlefile"])
        .arg(&path)
        .arg(&png)
        .status()
        .expect("pdftoppm (Debian poppler-utils) must be installed");
    assert!(rendered.success());
    let scanned = std::process::Command::new("zbarimg")
        .args(["--raw", "-q"])
        .arg(dir.path().join("label.png"))
        .output()
        .expect("zbarimg (Debian zbar-tools) must be installed");
    String::from_utf8_lossy(&scanned.stdout).trim().to_owned()
}

pub fn order_body(channel: &str, lines: &[(&str, i64, i64)]) -> Value {
    let lines: Vec<Value> = lines
        .iter()
        .map(
            |(sku, quantity, price)| json!({"sku": sku, "quantity": quantity, "unit_price": price}),
        )
        .collect();
    json!({
        "channel": channel,
        "currency": "USD",
        "customer": {"email": "ana@example.com", "name": "Ana Diaz", "phone": "+1 555 0100"},
        "shipping_address": {
            "name": "Ana Diaz", "line1": "1 Main St", "line2": null,
            "city": "Austin", "region": "TX", "postal_code": "78701", "country": "US"
        },
        "billing_address": null,
        "lines": lines,
        "shipping_amount": 500, "tax_amount": 0, "discount_amount": 0,
        "payment": {"method": "card", "provider": "simulator", "token": "tok_visa"}
    })
}

/// Changes the ship-to address of an order body.
/// A web order of `lines` paid by card with the simulator's `token` (`tok_visa`,
/// `tok_declined`, …).
pub fn card_order(lines: &[(&str, i64, i64)], token: &str) -> Value {
    let mut body = order_body("web", lines);
    body["payment"] = json!({"method": "card", "token": token});
    body
}

pub fn ship_to(body: &mut Value, city: &str, region: &str, postal_code: &str) {
    let a = &mut body["shipping_address"];
    a["city"] = json!(city);
    a["region"] = json!(region);
    a["postal_code"] = json!(postal_code);
}

/// The id of an order's first fulfillment order.
pub fn first_fulfillment(order: &Value) -> String {
    order["fulfillment_orders"][0]["id"]
        .as_str()
        .expect("a fulfillment order")
        .to_owned()
}

/// The first fulfillment order a pending cancellation request waits for.
pub fn asked_of(order: &Value) -> String {
    order["cancellation_request"]["waiting_for"][0]
        .as_str()
        .expect("a cancellation request waiting for a warehouse")
        .to_owned()
}

/// (location, quantity) of every reservation of line `line` of an order, sorted.
pub fn reservations(order: &Value, line: usize) -> Vec<(String, u64)> {
    let mut out: Vec<(String, u64)> = order["lines"][line]["reservations"]
        .as_array()
        .expect("reservations")
        .iter()
        .map(|r| {
            (
                r["location_id"].as_str().expect("location").to_owned(),
                r["quantity"].as_u64().expect("quantity"),
            )
        })
        .collect();
    out.sort();
    out
}

/// (ordered, allocated, backordered) of line `line` of an order.
pub fn buckets(order: &Value, line: usize) -> (u64, u64, u64) {
    let b = &order["lines"][line]["buckets"];
    let n = |k: &str| b[k].as_u64().unwrap_or_else(|| panic!("bucket {k} in {b}"));
    (n("ordered"), n("allocated"), n("backordered"))
}

/// Runs futures concurrently as tasks on the test's runtime; outputs in input order.
pub async fn join_all<F>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        out.push(h.await.expect("task panicked"));
    }
    out
}
