//! Store behaviour that the API relies on: group commit keeps failing commands isolated,
//! appends project events into inventory and reservations, and `Store::check` names
//! what is broken. The contract runs on SQLite always and, when
//! `ORDERLY_TEST_DATABASE_URL` names a PostgreSQL server (CI sets it), on a fresh
//! PostgreSQL database instead; only the test that tampers with a SQLite file by hand is
//! SQLite's alone.

// Test code: a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use jiff::Timestamp;
use orderly_domain::actor::{Actor, Role};
use orderly_domain::geo::LatLon;
use orderly_domain::inventory::MovementReason;
use orderly_domain::order::{
    Address, Customer, Limits, NewLine, OrderCommand, PlaceContext, PlaceOrder, SourcingContext,
    decide,
};
use orderly_domain::payment::RiskPolicy;
use orderly_domain::sourcing::LocationFacts;
use orderly_domain::values::{CountryCode, Currency, Email, Id, Sku};
use orderly_store::{
    CatalogTx, EventMeta, NewApiKey, SqliteOptions, Store, StoreError, StreamType,
};

#[path = "store/cases.rs"]
mod cases;
mod common;
#[path = "store/customers.rs"]
mod customers;
#[path = "store/return_requests.rs"]
mod return_requests;
#[path = "store/returns.rs"]
mod returns;

/// A fresh store on the backend the suite runs against, committing in groups.
async fn open() -> (common::TestStore, Store) {
    let db = common::open(true).await;
    let store = db.store.clone();
    (db, store)
}

fn open_sqlite(dir: &tempfile::TempDir) -> Store {
    Store::open_sqlite(&SqliteOptions::new(dir.path().join("t.db"))).unwrap()
}

/// Writes API key number `i` (a row a test can look for afterwards). It needs only the
/// catalog capability; a command's `&mut dyn WriteTx` upcasts to it.
fn insert_key(tx: &mut dyn CatalogTx, i: usize) -> Result<(), StoreError> {
    tx.insert_api_key(&NewApiKey {
        id: format!("key_{i}"),
        name: "t".into(),
        role: Role::Support,
        key_hash: format!("hash_{i}"),
        channels: None,
        created_at: Timestamp::UNIX_EPOCH,
        expires_at: None,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_key_keeps_its_scope_and_ends_by_revocation_or_expiry() {
    let (_dir, store) = open().await;
    let t = |s: i64| Timestamp::from_second(s).unwrap();
    store
        .write(move |tx| {
            tx.insert_api_key(&NewApiKey {
                id: "key_mkt".into(),
                name: "marketplace feed".into(),
                role: Role::Integration,
                key_hash: "hash_mkt".into(),
                channels: Some(vec!["marketplace".into(), "web".into()]),
                created_at: t(100),
                expires_at: Some(t(1_000)),
            })?;
            insert_key(tx, 1)
        })
        .await
        .unwrap();
    let read = store
        .read(|r| r.api_key_by_hash("hash_mkt"))
        .await
        .unwrap()
        .expect("the key is found by its hash");
    assert_eq!(
        read.channels.as_deref(),
        Some(&["marketplace".to_owned(), "web".to_owned()][..])
    );
    assert_eq!((read.created_at, read.expires_at), (t(100), Some(t(1_000))));
    assert!(read.is_live(t(999)) && !read.is_live(t(1_000)));

    // A grace period only ever shortens a key's life.
    let shortened = store
        .write(move |tx| tx.expire_api_key("key_mkt", t(500)))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(shortened.expires_at, Some(t(500)));
    let kept = store
        .write(move |tx| tx.expire_api_key("key_mkt", t(900)))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept.expires_at, Some(t(500)));

    // Revoking twice keeps the first time; an unknown id is None.
    let revoked = store
        .write(move |tx| tx.revoke_api_key("key_1", t(200)))
        .await
        .unwrap()
        .unwrap();
    let again = store
        .write(move |tx| tx.revoke_api_key("key_1", t(300)))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (revoked.revoked_at, again.revoked_at),
        (Some(t(200)), Some(t(200)))
    );
    assert!(
        !again.is_live(t(150)),
        "a revoked key is dead whatever the clock says"
    );
    let nobody = store
        .write(move |tx| tx.revoke_api_key("key_nobody", t(300)))
        .await
        .unwrap();
    assert_eq!(nobody, None);

    let listed: Vec<(String, Option<Vec<String>>)> = store
        .read(|r| r.api_keys())
        .await
        .unwrap()
        .into_iter()
        .map(|k| (k.id, k.channels))
        .collect();
    assert_eq!(
        listed,
        vec![
            ("key_1".to_owned(), None),
            (
                "key_mkt".to_owned(),
                Some(vec!["marketplace".into(), "web".into()])
            ),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_command_rolls_back_alone_inside_its_group() {
    let (_dir, store) = open().await;
    let mut tasks = Vec::new();
    for i in 0..200 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .write(move |tx| {
                    insert_key(tx, i)?;
                    if i % 3 == 0 {
                        Err(StoreError::Conflict("refused".into()))
                    } else {
                        Ok(i)
                    }
                })
                .await
        }));
    }
    for (i, t) in tasks.into_iter().enumerate() {
        let result = t.await.unwrap();
        assert_eq!(result.is_ok(), i % 3 != 0, "command {i}");
    }
    for i in 0..200 {
        let found = store
            .read(move |r| r.api_key_by_hash(&format!("hash_{i}")))
            .await
            .unwrap();
        assert_eq!(
            found.is_some(),
            i % 3 != 0,
            "key {i} after the groups committed"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_refused_before_writing_makes_no_one_run_again() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let (_dir, store) = open().await;
    let runs = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for i in 0..200 {
        let (store, runs) = (store.clone(), runs.clone());
        tasks.push(tokio::spawn(async move {
            store
                .write(move |tx| {
                    runs.fetch_add(1, Ordering::SeqCst);
                    // Every third is refused before it writes (a decision said no).
                    if i % 3 == 0 {
                        return Err(StoreError::Database("refused".into()));
                    }
                    insert_key(tx, i)?;
                    Ok(i)
                })
                .await
        }));
    }
    for (i, t) in tasks.into_iter().enumerate() {
        assert_eq!(t.await.unwrap().is_ok(), i % 3 != 0, "command {i}");
    }
    // Not one group had to be rolled back and run again.
    assert_eq!(runs.load(Ordering::SeqCst), 200);
    for i in 0..200 {
        let found = store
            .read(move |r| r.api_key_by_hash(&format!("hash_{i}")))
            .await
            .unwrap();
        assert_eq!(found.is_some(), i % 3 != 0, "key {i}");
    }
}

fn place(id: &str, number: &str, sku: &str, quantity: u32) -> PlaceOrder {
    let address = Address {
        name: "Ana".into(),
        line1: "1 Main St".into(),
        line2: None,
        city: "Austin".into(),
        region: Some("TX".into()),
        postal_code: "78701".into(),
        country: CountryCode::parse("US").unwrap(),
    };
    PlaceOrder {
        id: Id::new(id),
        number: number.into(),
        channel: Id::new("web"),
        external_id: None,
        currency: Currency::parse("USD").unwrap(),
        customer: Customer {
            email: Email::parse("ana@example.com").unwrap(),
            name: None,
            phone: None,
        },
        shipping_address: address.clone(),
        billing_address: address,
        lines: vec![NewLine {
            sku: Sku::parse(sku).unwrap(),
            name: sku.into(),
            quantity,
            unit_price: 100,
        }],
        shipping_amount: 0,
        tax_amount: 0,
        discount_amount: 0,
        declared_total: None,
        payment: None,
        delivery: None,
    }
}

/// Receives `on_hand` units of A at `loc`, then places an order for `quantity` of them.
async fn seed_order(store: &Store, quantity: u32) {
    store
        .write(move |tx| {
            let at = Timestamp::from_second(1_700_000_000).unwrap();
            let actor = Actor::system("test");
            tx.adjust_on_hand(
                "A",
                "loc",
                10,
                MovementReason::Receipt,
                None,
                None,
                &actor,
                at,
            )?;
            let skus = [Sku::parse("A").unwrap()];
            let stock = tx.stock_view(&skus)?;
            let locations = [LocationFacts {
                id: Id::new("loc"),
                coords: LatLon {
                    latitude: 30.0,
                    longitude: -97.0,
                },
                can_ship: true,
                can_pickup: false,
                priority: 0,
                handling_cost_minor: 0,
                ships_to: Vec::new(),
            }];
            let ctx = PlaceContext {
                sourcing: SourcingContext {
                    locations: &locations,
                    stock: &stock,
                    ship_to: None,
                    allow_backorders: false,
                    policy: Default::default(),
                },
                limits: Limits {
                    max_lines_per_order: 10,
                    max_quantity_per_line: 100,
                },
                risk: &RiskPolicy::default(),
                recent_orders_same_email: 0,
                recent_orders_same_card: 0,
                payment_due_at: None,
                reserve_at_payment: false,
                prices: orderly_domain::order::PriceRules::trusting(),
            };
            let number = tx.next_order_number("web", "WEB")?;
            assert_eq!(number, "WEB-1001");
            let events = decide(
                None,
                OrderCommand::Place(Box::new(place("ord_1", &number, "A", quantity))),
                Some(&ctx),
            )
            .unwrap();
            tx.append(
                None,
                &events,
                &EventMeta {
                    actor,
                    correlation_id: "c".into(),
                    at,
                },
            )?;
            Ok::<_, StoreError>(())
        })
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appending_an_order_reserves_stock_and_check_passes() {
    let (_dir, store) = open().await;
    seed_order(&store, 4).await;
    let inv = store
        .read(|r| r.inventory(Some("A"), None, None, 10))
        .await
        .unwrap();
    assert_eq!((inv[0].on_hand, inv[0].reserved), (10, 4));
    let moves = store.read(|r| r.movements("A", None, 10)).await.unwrap();
    let reasons: Vec<&str> = moves.iter().map(|m| m.reason.as_str()).collect();
    assert_eq!(reasons, ["reservation", "receipt"]);
    let order = store.read(|r| r.order("WEB-1001")).await.unwrap().unwrap();
    assert_eq!(order.lines[0].buckets.allocated, 4);
    // The order's events are read back by its stream id, typed as an order's stream.
    let events = store.read(|r| r.events("ord_1")).await.unwrap();
    let typed: Vec<(u64, StreamType)> = events.iter().map(|e| (e.version, e.stream_type)).collect();
    assert_eq!(typed, [(1, StreamType::Order), (2, StreamType::Order)]);
    let report = store.check().await.unwrap();
    assert!(report.violations.is_empty(), "{:?}", report.violations);
    assert_eq!(
        (report.orders, report.events, report.inventory_records),
        (1, 2, 1)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_names_each_broken_invariant() {
    // Tampers with the SQLite file by hand (the PostgreSQL `orderly check` is exercised by
    // the API suite's check tests).
    let dir = tempfile::tempdir().unwrap();
    let store = open_sqlite(&dir);
    seed_order(&store, 4).await;
    store.shutdown();
    let path = dir.path().join("t.db");
    let conn = rusqlite::Connection::open(&path).unwrap();
    // A reserved count that no reservation explains, and a snapshot that its events do not
    // reproduce (its line claims fewer allocated units than its reservations hold).
    conn.execute("UPDATE inventory SET reserved = 6", [])
        .unwrap();
    let snapshot: String = conn
        .query_row("SELECT snapshot FROM orders", [], |r| r.get(0))
        .unwrap();
    let tampered = snapshot.replace("\"allocated\":4", "\"allocated\":3");
    assert_ne!(snapshot, tampered);
    conn.execute("UPDATE orders SET snapshot = ?1", [tampered])
        .unwrap();
    drop(conn);
    let store = Store::open_sqlite(&SqliteOptions::new(&path)).unwrap();
    let report = store.check().await.unwrap();
    let text: Vec<String> = report.violations.iter().map(|v| v.to_string()).collect();
    assert!(
        text.iter()
            .any(|t| t.contains("inventory A@loc") && t.contains("reserved 6")),
        "{text:?}"
    );
    assert!(
        text.iter()
            .any(|t| t.contains("order ord_1") && t.contains("does not reproduce the snapshot")),
        "{text:?}"
    );
    assert!(
        text.iter()
            .any(|t| t.contains("reservations hold 4 but 3 allocated")),
        "{text:?}"
    );
}
