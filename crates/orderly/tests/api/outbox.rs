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
                mine.extend(batch.into_iter().map(|m| m.id));
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

    // A worker completes only what it holds; the others' messages stay pending.
    let (first, first_ids) = claimed
        .iter()
        .find(|(_, ids)| !ids.is_empty())
        .expect("a claimer got work")
        .clone();
    let (other, other_ids) = claimed
        .iter()
        .find(|(w, ids)| *w != first && !ids.is_empty())
        .cloned()
        .unwrap_or_default();
    let ids = first_ids.clone();
    let done = app
        .state
        .store
        .write(move |tx| tx.complete_outbox(&first, &ids, now))
        .await
        .expect("complete");
    assert_eq!(done, first_ids.len());
    if !other_ids.is_empty() {
        let ids = first_ids.clone();
        let stolen = app
            .state
            .store
            .write(move |tx| tx.complete_outbox(&other, &ids, now))
            .await
            .expect("complete");
        assert_eq!(stolen, 0, "a worker cannot complete another's lease");
    }
    let delivered = app
        .db
        .count("SELECT COUNT(*) FROM outbox WHERE delivered_at IS NOT NULL")
        .await;
    assert_eq!(delivered, first_ids.len() as i64);

    // Nothing is claimable while leases run; after they run out, the undelivered rest is.
    let none = app
        .state
        .store
        .write(move |tx| tx.claim_outbox("late", now, lease, 100))
        .await
        .expect("claim");
    assert!(none.is_empty());
    let later = lease + SignedDuration::from_secs(1);
    let until = later + SignedDuration::from_secs(60);
    let again: Result<Vec<_>, StoreError> = app
        .state
        .store
        .write(move |tx| tx.claim_outbox("late", later, until, 1000))
        .await;
    let again = again.expect("claim");
    assert_eq!(again.len() as i64, total - first_ids.len() as i64);
    assert!(
        again
            .iter()
            .all(|m| m.attempts == 2 && !first_ids.contains(&m.id))
    );
}
