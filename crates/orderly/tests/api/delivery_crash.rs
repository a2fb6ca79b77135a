//! Nothing queued to leave is lost when the process dies: the real binary, with over a
//! thousand webhook deliveries and customer messages queued, killed with SIGKILL while
//! it delivers, then started again on the same database. Every event arrives, a
//! duplicate carries the id it had, each order's sequence numbers have no gap, and
//! every message ends sent.

use crate::crash::{Server, admin_key, write_config};
use crate::helpers::{client, fresh_database, order_body, send};
use crate::webhooks::Receiver;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The crash test's configuration with the dispatcher on or off and loopback allowed.
fn config(dir: &Path, base: &Path, dispatcher: bool) -> PathBuf {
    let path = dir.join(format!("orderly-{dispatcher}.toml"));
    let toml = std::fs::read_to_string(base).unwrap();
    let extra = format!(
        "\n[webhooks]\ndispatcher = {dispatcher}\nallowed_networks = [\"127.0.0.0/8\"]\n\
         retry_schedule_seconds = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\njitter_percent = 0\n\
         lease_seconds = 10\ntimeout_ms = 2000\n[notifications]\nlease_seconds = 5\n"
    );
    std::fs::write(&path, toml + extra.as_str()).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_deliveries_and_messages_survive_kill_9() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = fresh_database(dir.path()).await;
    let base = write_config(dir.path(), &db);
    let (off, on) = (
        config(dir.path(), &base, false),
        config(dir.path(), &base, true),
    );
    let key = admin_key(&db.url);
    let http = client();
    let receiver = Receiver::start(0).await;

    // Queue: orders captured while no process delivers.
    let server = Server::start(&off).await;
    let api = server.base_url.clone();
    let post = |path: &str, body: Value| {
        send(
            http.post(format!("{api}{path}"))
                .bearer_auth(&key)
                .json(&body),
        )
    };
    post(
        "/products",
        json!({"sku": "MUG", "name": "Mug", "price": 1000, "currency": "USD"}),
    )
    .await
    .expect(201);
    post(
        "/inventory/adjustments",
        json!({"sku": "MUG", "location_id": "wh-east", "kind": "receipt", "quantity": 100000}),
    )
    .await
    .expect(201);
    post(
        "/webhook-subscriptions",
        json!({"url": receiver.url, "event_types": ["*"]}),
    )
    .await
    .expect(201);
    let orders = 250;
    for _ in 0..orders {
        post("/orders", order_body("web", &[("MUG", 1, 1000)]))
            .await
            .expect(201);
    }
    drop(server);

    // Deliver, and die mid-way.
    let mut server = Server::start(&on).await;
    let began = Instant::now();
    while receiver.received().len() < 200 {
        assert!(
            began.elapsed() < Duration::from_secs(60),
            "deliveries did not start"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.child.start_kill().expect("SIGKILL");
    server.child.wait().await.expect("reap");
    let at_kill = receiver.received().len();

    // Start again and let it finish.
    let server = Server::start(&on).await;
    let api = server.base_url.clone();
    let mut feed_ids = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        // The feed holds every public event; each must have arrived.
        feed_ids.clear();
        let mut after = 0;
        loop {
            let page = send(
                http.get(format!("{api}/events?after={after}&limit=200"))
                    .bearer_auth(&key),
            )
            .await
            .expect(200);
            let data = page["data"].as_array().unwrap().clone();
            if data.is_empty() {
                break;
            }
            feed_ids.extend(
                data.iter()
                    .map(|e| e["event"]["id"].as_str().unwrap().to_owned()),
            );
            after = page["next_after"].as_i64().unwrap();
        }
        let got: BTreeSet<String> = receiver.accepted().iter().map(|r| r.id.clone()).collect();
        if !feed_ids.is_empty() && feed_ids.iter().all(|id| got.contains(id)) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {} events arrived",
            got.len(),
            feed_ids.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        feed_ids.len() >= 1000,
        "at least 1,000 deliveries were queued: {}",
        feed_ids.len()
    );
    assert!(at_kill < feed_ids.len(), "the kill came before the end");

    let received = receiver.accepted();
    let mut by_id: BTreeMap<String, Vec<Vec<u8>>> = BTreeMap::new();
    let mut sequences: BTreeMap<String, BTreeSet<i64>> = BTreeMap::new();
    for r in &received {
        by_id.entry(r.id.clone()).or_default().push(r.body.clone());
        let e = r.json();
        sequences
            .entry(e["order_id"].as_str().unwrap().to_owned())
            .or_default()
            .insert(e["sequence"].as_i64().unwrap());
    }
    assert_eq!(by_id.len(), feed_ids.len(), "every event, and no other");
    for (id, bodies) in &by_id {
        assert!(
            bodies.iter().all(|b| b == &bodies[0]),
            "{id}: a duplicate is the same event"
        );
    }
    assert_eq!(sequences.len(), orders);
    for (order, seen) in &sequences {
        let expected: BTreeSet<i64> = (1..=seen.len() as i64).collect();
        assert_eq!(seen, &expected, "{order}: sequence numbers without a gap");
    }
    let duplicates = received.len() - by_id.len();
    println!(
        "{} deliveries, {duplicates} duplicates after the kill",
        received.len()
    );

    // Every customer message ends sent, none lost or stuck.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut listed = Vec::new();
        let mut cursor = String::new();
        loop {
            let page = send(
                http.get(format!("{api}/orders?limit=200{cursor}"))
                    .bearer_auth(&key),
            )
            .await
            .expect(200);
            listed.extend(page["data"].as_array().unwrap().clone());
            match page["next_cursor"].as_str() {
                Some(c) => cursor = format!("&cursor={c}"),
                None => break,
            }
        }
        assert_eq!(listed.len(), orders);
        let mut statuses = Vec::new();
        for o in &listed {
            let id = o["id"].as_str().unwrap();
            let messages = send(
                http.get(format!("{api}/orders/{id}/messages"))
                    .bearer_auth(&key),
            )
            .await
            .expect(200);
            statuses.extend(
                messages["data"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|m| m["status"].as_str().unwrap().to_owned()),
            );
        }
        if !statuses.is_empty() && statuses.iter().all(|s| s == "sent") {
            assert!(statuses.len() >= orders, "{}", statuses.len());
            break;
        }
        assert!(Instant::now() < deadline, "messages stuck: {statuses:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    drop(server);
}
