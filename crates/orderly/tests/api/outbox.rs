//! The outbox claim: several workers (threads here, processes in production) share the
//! outbox without ever holding the same message, and leases that run out are reclaimed.

use crate::helpers::{join_all, order_body, spawn_app};
use jiff::{SignedDuration, Timestamp};
use orderly_store::{ORDER_TOPIC, StoreError};
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_claimers_never_share_an_outbox_message() {
    let app = spawn_app().await;
    app.seed_product("MUG-CLASSIC", 1299).await;
    app.receive("MUG-CLASSIC", "wh-east", 100).await;
    for _ in 0..30 {
        app.create_order(&order_body("web", &[("MUG-CLASSIC", 1, 1299)]))
            .await;
    }
    let total = app.db.count("SELECT COUNT(*) FROM outbox").await;
    let events = app.db.count("SELECT COUNT(*) FROM events").await;
    assert!(total >= 30, "at least one message per order");
    assert!(total < events, "one message per append, not per event");
    let listed = Arc::new(AtomicI64::new(0));

    let now = Timestamp::now();
    let lease = now + SignedDuration::from_secs(60);
    let claimers = (0..4).map(|w| {
        let store = app.state.store.clone();
        let listed = listed.clone();
        async move {
            let worker = format!("worker-{w}");
            let mut mine = Vec::new();
            loop {
                let who = worker.clone();
                let batch = store
                    .write(move |tx| tx.claim_outbox(&who, now, lease, 7))
                    .await
                    .expect("claim");
                if batch.is_empty() {
                    break;
                }
                for m in &batch {
                    assert_eq!((m.attempts, m.topic.as_str()), (1, ORDER_TOPIC));
                    // One append's events, in stream order, under the order's id.
                    let payload: serde_json::Value = serde_json::from_str(&m.payload).unwrap();
                    assert_eq!(payload["order_id"].as_str(), Some(m.stream_id.as_str()));
                    let events = payload["events"].as_array().unwrap();
                    let versions: Vec<u64> = events
                        .iter()
                        .map(|e| e["version"].as_u64().unwrap())
                        .collect();
                    let first = versions[0];
                    let expected: Vec<u64> = (first..first + versions.len() as u64).collect();
                    assert_eq!(versions, expected, "one append's events, in order");
                    if first == 1 {
                        assert_eq!(events[0]["type"], "order_placed");
                    }
                    listed.fetch_add(versions.len() as i64, Ordering::Relaxed);
                }
                let ids: Vec<i64> = batch.iter().map(|m| m.id).collect();
                let (who, done) = (worker.clone(), ids.clone());
                let completed = store
                    .write(move |tx| tx.complete_outbox(&who, &done, now))
                    .await
                    .expect("complete");
                assert_eq!(completed, ids.len(), "a worker completes what it holds");
                mine.extend(ids);
            }
            (worker, mine)
        }
    });
    let claimed = join_all(claimers).await;
    let mut seen = HashSet::new();
    for (_, ids) in &claimed {
        for id in ids {
            assert!(seen.insert(*id), "message {id} was claimed twice");
        }
    }
    assert_eq!(seen.len() as i64, total, "every message was claimed once");
    assert_eq!(
        listed.load(Ordering::Relaxed),
        events,
        "every event is in exactly one message"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_is_its_holders_until_it_runs_out_and_an_order_waits_its_turn() {
    let app = spawn_app().await;
    app.seed_product("MUG-CLASSIC", 1299).await;
    app.receive("MUG-CLASSIC", "wh-east", 100).await;
    let order = app
        .create_order(&order_body("web", &[("MUG-CLASSIC", 1, 1299)]))
        .await;
    let id = order["id"].as_str().unwrap().to_owned();
    let of_order = app
        .db
        .count(&format!(
            "SELECT COUNT(*) FROM outbox WHERE stream_id = '{id}'"
        ))
        .await;
    assert!(of_order >= 2, "placing and paying are two appends");
    let now = Timestamp::now();
    let lease = now + SignedDuration::from_secs(60);
    let store = app.state.store.clone();
    let first = store
        .write(move |tx| tx.claim_outbox("a", now, lease, 100))
        .await
        .expect("claim");
    assert_eq!(
        first.len(),
        1,
        "an order's later messages wait for its first"
    );
    let ids: Vec<i64> = first.iter().map(|m| m.id).collect();
    let (held, stolen) = (ids.clone(), ids.clone());
    let none = store
        .write(move |tx| tx.claim_outbox("b", now, lease, 100))
        .await
        .expect("claim");
    assert!(none.is_empty(), "nothing is claimable while the lease runs");
    let done = store
        .write(move |tx| tx.complete_outbox("b", &stolen, now))
        .await
        .expect("complete");
    assert_eq!(done, 0, "a worker cannot complete another's lease");
    // After the lease runs out, the message is claimable again, one attempt more.
    let later = lease + SignedDuration::from_secs(1);
    let until = later + SignedDuration::from_secs(60);
    let again: Result<Vec<_>, StoreError> = store
        .write(move |tx| tx.claim_outbox("b", later, until, 100))
        .await;
    let again = again.expect("claim");
    assert_eq!(again.iter().map(|m| m.id).collect::<Vec<_>>(), held);
    assert!(again.iter().all(|m| m.attempts == 2));
    let done = store
        .write(move |tx| tx.complete_outbox("b", &held, later))
        .await
        .expect("complete");
    assert_eq!(done, 1);
    // With the first done, the order's next message is the next one claimed.
    let next = store
        .write(move |tx| tx.claim_outbox("b", later, until, 100))
        .await
        .expect("claim");
    assert_eq!(next.len(), 1);
    assert!(next[0].id > ids[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivered_messages_and_fired_timers_are_purged_after_their_retention_and_nothing_else() {
    let app = spawn_app().await;
    app.seed_product("MUG-CLASSIC", 1299).await;
    app.receive("MUG-CLASSIC", "wh-east", 100).await;
    for _ in 0..12 {
        app.create_order(&order_body("web", &[("MUG-CLASSIC", 1, 1299)]))
            .await;
    }
    let now = app.clock.now();
    let total = app.db.count("SELECT COUNT(*) FROM outbox").await;
    // Deliver all but the messages of the last order; fire every timer due now.
    let lease = now + SignedDuration::from_secs(60);
    let batch = app
        .state
        .store
        .write(move |tx| tx.claim_outbox("w", now, lease, 1000))
        .await
        .unwrap();
    let last_stream = batch.last().unwrap().stream_id.clone();
    let done: Vec<i64> = batch
        .iter()
        .filter(|m| m.stream_id != last_stream)
        .map(|m| m.id)
        .collect();
    let n = done.len() as i64;
    app.state
        .store
        .write(move |tx| tx.complete_outbox("w", &done, now))
        .await
        .unwrap();
    app.db
        .execute(&format!(
            "UPDATE timers SET fired_at = {} WHERE id IN (SELECT id FROM timers ORDER BY id LIMIT 3)",
            now.as_millisecond()
        ))
        .await;
    let timers = app.db.count("SELECT COUNT(*) FROM timers").await;
    let events = app.db.count("SELECT COUNT(*) FROM events").await;

    // Within the retention nothing goes.
    app.clock.advance(SignedDuration::from_hours(167));
    assert_eq!(
        orderly::startup::purge_done_work(&app.state).await.unwrap(),
        (0, 0)
    );
    // After it, exactly the delivered messages and the fired timers go.
    app.clock.advance(SignedDuration::from_hours(2));
    let purged = orderly::startup::purge_done_work(&app.state).await.unwrap();
    assert_eq!(purged, (n as u64, 3));
    assert_eq!(app.db.count("SELECT COUNT(*) FROM outbox").await, total - n);
    assert_eq!(
        app.db
            .count("SELECT COUNT(*) FROM outbox WHERE delivered_at IS NOT NULL")
            .await,
        0
    );
    assert_eq!(
        app.db.count("SELECT COUNT(*) FROM timers").await,
        timers - 3
    );
    assert_eq!(app.db.count("SELECT COUNT(*) FROM events").await, events);
    app.assert_invariants().await;
}
