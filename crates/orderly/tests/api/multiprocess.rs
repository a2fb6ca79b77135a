//! Several `orderly serve` processes on one PostgreSQL database: races between processes
//! are settled by the database, a killed process loses nothing acknowledged, and a
//! database restart gives clean 503s, then service again. These tests need PostgreSQL
//! (`ORDERLY_TEST_DATABASE_URL`; on SQLite one process owns the file), so they are
//! ignored with that reason unless run with `--include-ignored`, as `.ci/run` does.

use crate::crash::{Server, admin_key, assert_check_passes, write_config};
use crate::helpers::{
    Res, TestDb, client, fresh_database, join_all, order_body, require_postgres, send,
};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tempfile::TempDir;

struct Fleet {
    _dir: TempDir,
    db: TestDb,
    key: String,
    servers: Vec<Server>,
}

/// `n` servers on one fresh PostgreSQL database.
async fn fleet(n: usize) -> Fleet {
    require_postgres();
    let dir = tempfile::tempdir().expect("tempdir");
    let db = fresh_database(dir.path()).await;
    let config = write_config(dir.path(), &db);
    let key = admin_key(&db.url);
    let mut servers = Vec::new();
    for _ in 0..n {
        servers.push(Server::start(&config).await);
    }
    Fleet {
        _dir: dir,
        db,
        key,
        servers,
    }
}

async fn post(url: &str, key: &str, body: &Value) -> Res {
    send(client().post(url).bearer_auth(key).json(body)).await
}

impl Fleet {
    fn url(&self, server: usize, path: &str) -> String {
        format!("{}{path}", self.servers[server].base_url)
    }

    async fn stock(&self, sku: &str, location: &str, quantity: i64) {
        let product = json!({"sku": sku, "name": sku, "price": 1000, "currency": "USD"});
        post(&self.url(0, "/products"), &self.key, &product)
            .await
            .expect(201);
        let receipt =
            json!({"sku": sku, "location_id": location, "kind": "receipt", "quantity": quantity});
        post(&self.url(0, "/inventory/adjustments"), &self.key, &receipt)
            .await
            .expect(201);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs ORDERLY_TEST_DATABASE_URL (PostgreSQL)"]
async fn two_processes_never_oversell() {
    let fleet = fleet(2).await;
    fleet.stock("HOT-1", "wh-central", 10).await;
    let answers = join_all((0..64).map(|i| {
        let url = fleet.url(i % 2, "/orders");
        let key = fleet.key.clone();
        async move { post(&url, &key, &order_body("web", &[("HOT-1", 1, 1000)])).await }
    }))
    .await;
    let created = answers.iter().filter(|r| r.status == 201).count();
    let refused = answers
        .iter()
        .filter(|r| r.status == 422 && r.json()["code"] == "out_of_stock")
        .count();
    assert_eq!(
        (created, refused),
        (10, 54),
        "{:?}",
        answers.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    let inventory = send(
        client()
            .get(fleet.url(1, "/inventory?sku=HOT-1"))
            .bearer_auth(&fleet.key),
    )
    .await
    .expect(200);
    let central = &inventory["data"][0];
    assert_eq!(
        (central["reserved"].as_i64(), central["available"].as_i64()),
        (Some(10), Some(0))
    );
    assert_check_passes(&fleet.db.url);
}

/// Each process numbers orders from its own block of the channel's sequence (20 at a
/// time), so numbers never collide and cost no round trip; they are not in arrival
/// order across processes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs ORDERLY_TEST_DATABASE_URL (PostgreSQL)"]
async fn each_process_numbers_orders_from_its_own_block() {
    let fleet = fleet(2).await;
    fleet.stock("PEN-1", "wh-east", 100).await;
    let mut numbers = Vec::new();
    for server in [0, 1, 0, 1] {
        let body = order_body("web", &[("PEN-1", 1, 1000)]);
        let order = post(&fleet.url(server, "/orders"), &fleet.key, &body).await;
        numbers.push(order.expect(201)["number"].as_str().unwrap().to_owned());
    }
    assert_eq!(numbers, ["WEB-1001", "WEB-1021", "WEB-1002", "WEB-1022"]);
    assert_check_passes(&fleet.db.url);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs ORDERLY_TEST_DATABASE_URL (PostgreSQL)"]
async fn one_idempotency_key_sent_to_two_processes_makes_one_order() {
    let fleet = fleet(2).await;
    fleet.stock("MUG-1", "wh-east", 100).await;
    for round in 0..5 {
        let body = order_body("web", &[("MUG-1", 1, 1000)]);
        let answers = join_all((0..2).map(|server| {
            let request = client()
                .post(fleet.url(server, "/orders"))
                .bearer_auth(&fleet.key)
                .header("Idempotency-Key", format!("same-key-{round}"))
                .json(&body);
            send(request)
        }))
        .await;
        let ids: Vec<Value> = answers
            .iter()
            .map(|r| r.expect(201)["id"].clone())
            .collect();
        assert_eq!(
            ids[0], ids[1],
            "round {round}: both processes answer with the one order"
        );
    }
    assert_eq!(fleet.db.count("SELECT COUNT(*) FROM orders").await, 5);
    assert_check_passes(&fleet.db.url);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs ORDERLY_TEST_DATABASE_URL (PostgreSQL)"]
async fn killing_one_process_loses_nothing_and_the_other_keeps_serving() {
    let mut fleet = fleet(2).await;
    fleet.stock("TEE-1", "wh-west", 1_000_000).await;
    let stop = Arc::new(AtomicBool::new(false));
    let acked: Arc<Mutex<Vec<(usize, String)>>> = Arc::default();
    let clients: Vec<_> = (0..6)
        .map(|c| {
            let (stop, acked, key) = (stop.clone(), acked.clone(), fleet.key.clone());
            let urls = [fleet.url(0, "/orders"), fleet.url(1, "/orders")];
            tokio::spawn(async move {
                let http = client();
                while !stop.load(Ordering::Relaxed) {
                    let server = c % 2;
                    let body = order_body("web", &[("TEE-1", 1, 1000)]);
                    let Ok(res) = http
                        .post(&urls[server])
                        .bearer_auth(&key)
                        .json(&body)
                        .send()
                        .await
                    else {
                        tokio::time::sleep(Duration::from_millis(5)).await;
                        continue;
                    };
                    if res.status().as_u16() == 201
                        && let Ok(bytes) = res.bytes().await
                    {
                        let order: Value = serde_json::from_slice(&bytes).expect("order JSON");
                        acked
                            .lock()
                            .expect("lock")
                            .push((server, order["id"].as_str().expect("id").to_owned()));
                    }
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(800)).await;
    fleet.servers[0]
        .child
        .kill()
        .await
        .expect("SIGKILL server 0");
    let killed_at = acked.lock().expect("lock").len();
    tokio::time::sleep(Duration::from_millis(800)).await;
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.await.expect("client");
    }
    let acked = std::mem::take(&mut *acked.lock().expect("lock"));
    let after_kill = acked[killed_at..].iter().filter(|(s, _)| *s == 1).count();
    assert!(
        after_kill > 0,
        "the surviving process kept capturing orders"
    );
    assert!(
        acked.iter().any(|(s, _)| *s == 0),
        "the killed process had acknowledged orders"
    );
    for (_, id) in &acked {
        send(
            client()
                .get(fleet.url(1, &format!("/orders/{id}")))
                .bearer_auth(&fleet.key),
        )
        .await
        .expect(200);
    }
    assert_check_passes(&fleet.db.url);
}

/// A PostgreSQL cluster of this test's own, so that restarting it disturbs no other test.
struct Cluster {
    dir: TempDir,
    bin: PathBuf,
    port: u16,
}

impl Cluster {
    /// Needs the server binaries and root (to run them as the `postgres` user).
    fn create() -> Option<Cluster> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .flatten()
            .map(|e| e.path().join("bin"))
            .max()?;
        let root = std::process::Command::new("id")
            .arg("-u")
            .output()
            .ok()?
            .stdout
            == b"0\n";
        if !root || !bin.join("initdb").exists() {
            return None;
        }
        let dir = tempfile::tempdir().ok()?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        let cluster = Cluster { dir, bin, port };
        let chown = std::process::Command::new("chown")
            .arg("postgres")
            .arg(cluster.dir.path())
            .status()
            .ok()?;
        assert!(chown.success());
        cluster.as_postgres(&format!(
            "{}/initdb -D {}/data -A trust -U orderly",
            cluster.bin.display(),
            cluster.path()
        ));
        cluster.start();
        Some(cluster)
    }

    fn path(&self) -> String {
        self.dir.path().display().to_string()
    }

    fn as_postgres(&self, command: &str) {
        let status = std::process::Command::new("su")
            .args(["postgres", "-s", "/bin/sh", "-c", command])
            .stdout(std::process::Stdio::null())
            .status()
            .expect("run as postgres");
        assert!(status.success(), "{command}");
    }

    fn pg_ctl(&self, action: &str) {
        let (bin, path, port) = (self.bin.display(), self.path(), self.port);
        self.as_postgres(&format!(
            "{bin}/pg_ctl -D {path}/data -l {path}/log -w -m fast \
             -o '-p {port} -c listen_addresses=127.0.0.1 -k {path}' {action}"
        ));
    }

    fn start(&self) {
        self.pg_ctl("start");
    }

    fn stop(&self) {
        self.pg_ctl("stop");
    }

    fn url(&self) -> String {
        format!("postgres://orderly@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = std::process::Command::new("su")
            .args(["postgres", "-s", "/bin/sh", "-c"])
            .arg(format!(
                "{}/pg_ctl -D {}/data -m immediate stop",
                self.bin.display(),
                self.path()
            ))
            .output();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root and the PostgreSQL server binaries (runs a private cluster)"]
async fn a_database_restart_gives_clean_503s_then_service_resumes() {
    let cluster = Cluster::create()
        .expect("this test needs root and the PostgreSQL server binaries to run a private cluster");
    let dir = tempfile::tempdir().expect("tempdir");
    let db = TestDb {
        url: cluster.url(),
        sqlite_path: None,
        created: None,
    };
    let config = write_config(dir.path(), &db);
    let key = admin_key(&db.url);
    let server = Server::start(Path::new(&config)).await;
    let base = server.base_url.clone();
    let product = json!({"sku": "CAP-1", "name": "Cap", "price": 1000, "currency": "USD"});
    post(&format!("{base}/products"), &key, &product)
        .await
        .expect(201);
    let receipt =
        json!({"sku": "CAP-1", "location_id": "wh-east", "kind": "receipt", "quantity": 1_000_000});
    post(&format!("{base}/inventory/adjustments"), &key, &receipt)
        .await
        .expect(201);

    let stop = Arc::new(AtomicBool::new(false));
    let seen: Arc<Mutex<Vec<(u16, String)>>> = Arc::default();
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let (stop, seen, key, url) = (
                stop.clone(),
                seen.clone(),
                key.clone(),
                format!("{base}/orders"),
            );
            tokio::spawn(async move {
                let http = client();
                while !stop.load(Ordering::Relaxed) {
                    let body = order_body("web", &[("CAP-1", 1, 1000)]);
                    let res = send(http.post(&url).bearer_auth(&key).json(&body)).await;
                    let code = if res.status >= 400 {
                        res.json()["code"].as_str().unwrap_or("").to_owned()
                    } else {
                        String::new()
                    };
                    seen.lock().expect("lock").push((res.status, code));
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let down = tokio::task::spawn_blocking(move || {
        cluster.stop();
        std::thread::sleep(Duration::from_millis(1500));
        cluster.start();
        cluster
    });
    let cluster = down.await.expect("restart");
    let restarted_at = seen.lock().expect("lock").len();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.await.expect("client");
    }
    let seen = std::mem::take(&mut *seen.lock().expect("lock"));
    let outage: Vec<_> = seen.iter().filter(|(s, _)| *s != 201).collect();
    assert!(!outage.is_empty(), "the outage was noticed");
    for (status, code) in &outage {
        assert_eq!(
            (*status, code.as_str()),
            (503, "unavailable"),
            "only clean 503s during the outage"
        );
    }
    assert!(
        seen[restarted_at..].iter().any(|(s, _)| *s == 201),
        "service resumed without restarting Orderly"
    );
    let health = send(client().get(format!("{base}/health"))).await;
    assert_eq!(health.status, 200);
    assert_check_passes(&db.url);
    drop(cluster);
}
