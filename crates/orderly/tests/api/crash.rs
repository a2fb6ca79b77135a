//! No acknowledged order is ever lost: the real binary, durable mode, killed with SIGKILL
//! under load, then restarted on the same database and checked.

use crate::helpers::{Res, TestDb, client, fresh_database, order_body, send};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

const EXE: &str = env!("CARGO_BIN_EXE_orderly");
const CLIENTS: usize = 8;

/// The demo configuration with this test's database and `synchronous = "full"`.
pub(crate) fn write_config(dir: &Path, db: &TestDb) -> PathBuf {
    let overrides = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n[database]\nurl = \"{}\"\nsynchronous = \"full\"\n",
        db.url
    );
    let rest: String = orderly::DEMO_CONFIG
        .split("\n[[locations]]")
        .skip(1)
        .map(|part| format!("\n[[locations]]{part}"))
        .collect();
    let path = dir.join("orderly.toml");
    std::fs::write(&path, format!("{overrides}{rest}")).expect("write config");
    path
}

/// Creates an admin key with the binary (`orderly keys create`) and returns the secret.
pub(crate) fn admin_key(database_url: &str) -> String {
    let out = std::process::Command::new(EXE)
        .args([
            "keys",
            "create",
            "--role",
            "admin",
            "--database",
            database_url,
        ])
        .output()
        .expect("run keys create");
    assert!(out.status.success(), "keys create: {out:?}");
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    let key = stdout.lines().last().expect("key line").trim().to_owned();
    assert!(key.starts_with("oly_"), "{stdout}");
    key
}

/// Runs `orderly check` with the binary and asserts it passes.
pub(crate) fn assert_check_passes(database_url: &str) {
    let check = std::process::Command::new(EXE)
        .args(["check", "--database", database_url])
        .output()
        .expect("run orderly check");
    let report = String::from_utf8_lossy(&check.stdout);
    assert!(check.status.success(), "orderly check failed:\n{report}");
    assert!(report.contains("no invariant violations"), "{report}");
}

pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) base_url: String,
}

impl Server {
    /// Starts `orderly serve` on a free port and waits until it answers health checks.
    pub(crate) async fn start(config: &Path) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let mut child = Command::new(EXE)
            .args(["serve", "--config"])
            .arg(config)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .env("ORDERLY_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start orderly serve");
        let base_url = format!("http://127.0.0.1:{port}/api/v1");
        let http = client();
        let started = Instant::now();
        loop {
            let healthy = http
                .get(format!("{base_url}/health"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if healthy {
                return Server { child, base_url };
            }
            if let Some(status) = child.try_wait().expect("poll child") {
                panic!("orderly serve exited early: {status}");
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "server not healthy in 30 s"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

async fn post(http: &reqwest::Client, url: String, key: &str, body: &Value) -> Res {
    send(http.post(url).bearer_auth(key).json(body)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_orders_survive_kill_9() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = fresh_database(dir.path()).await;
    let config = write_config(dir.path(), &db);
    let key = admin_key(&db.url);

    let mut server = Server::start(&config).await;
    let http = client();
    let base = server.base_url.clone();
    let product = json!({"sku": "TEE-BLK-M", "name": "Tee", "price": 1999, "currency": "USD"});
    post(&http, format!("{base}/products"), &key, &product)
        .await
        .expect(201);
    for wh in ["wh-east", "wh-central", "wh-west"] {
        let receipt = json!({"sku": "TEE-BLK-M", "location_id": wh, "kind": "receipt", "quantity": 1_000_000});
        post(
            &http,
            format!("{base}/inventory/adjustments"),
            &key,
            &receipt,
        )
        .await
        .expect(201);
    }

    // Eight clients capture orders until the server dies under them.
    let stop = Arc::new(AtomicBool::new(false));
    let acked: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let mut clients = Vec::new();
    for c in 0..CLIENTS {
        let (stop, acked, key, url) = (
            stop.clone(),
            acked.clone(),
            key.clone(),
            format!("{base}/orders"),
        );
        clients.push(tokio::spawn(async move {
            let http = client();
            let mut failures = 0usize;
            for n in 0usize.. {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let mut body = order_body("web", &[("TEE-BLK-M", 1, 1999)]);
                body["external_id"] = json!(format!("crash-{c}-{n}"));
                let res = http.post(&url).bearer_auth(&key).json(&body).send().await;
                let Ok(res) = res else {
                    failures += 1;
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    continue;
                };
                let ok = res.status().is_success();
                // Only a complete 2xx answer counts as an acknowledgement.
                if let (true, Ok(bytes)) = (ok, res.bytes().await) {
                    let order: Value = serde_json::from_slice(&bytes).expect("order JSON");
                    let pair = (
                        order["id"].as_str().expect("id").to_owned(),
                        order["number"].as_str().expect("number").to_owned(),
                    );
                    acked.lock().expect("lock").push(pair);
                }
            }
            failures
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    server.child.kill().await.expect("SIGKILL the server");
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.await.expect("client task");
    }
    let acked = std::mem::take(&mut *acked.lock().expect("lock"));
    assert!(
        acked.len() >= 10,
        "only {} orders acknowledged",
        acked.len()
    );

    let server = Server::start(&config).await;
    let base = server.base_url.clone();
    for (id, number) in &acked {
        let res = send(http.get(format!("{base}/orders/{id}")).bearer_auth(&key)).await;
        let order = res.expect(200);
        assert_eq!(order["number"].as_str(), Some(number.as_str()), "{id}");
        assert_eq!(order["lines"][0]["buckets"]["allocated"], 1);
    }
    // A new order after the restart never reuses an acknowledged number.
    let fresh = post(
        &http,
        format!("{base}/orders"),
        &key,
        &order_body("web", &[("TEE-BLK-M", 1, 1999)]),
    )
    .await
    .expect(201);
    let fresh_number = fresh["number"].as_str().expect("number");
    assert!(
        acked.iter().all(|(_, n)| n != fresh_number),
        "{fresh_number} reused"
    );

    // Stop the restarted server gracefully, then run `orderly check` on the database.
    drop(http);
    let pid = server.child.id().expect("pid").to_string();
    let term = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("send SIGTERM");
    assert!(term.success());
    let mut child = server.child;
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("server stops within 30 s after SIGTERM")
        .expect("wait");
    assert!(status.success(), "serve exited with {status}");

    assert_check_passes(&db.url);
    eprintln!(
        "crash test: {} acknowledged orders survived SIGKILL",
        acked.len()
    );
}
