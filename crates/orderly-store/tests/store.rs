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
    CatalogTx, EventMeta, PgOptions, SqliteOptions, Store, StoreError, StreamType,
};

/// A fresh store on the backend the suite runs against.
async fn open() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let Some(base) = std::env::var("ORDERLY_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        let store = open_sqlite(&dir);
        return (dir, store);
    };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let name = format!("orderly_store_t_{}_{nanos}", std::process::id());
    let (client, connection) = tokio_postgres::connect(&base, tokio_postgres::NoTls)
        .await
        .expect("connect to ORDERLY_TEST_DATABASE_URL");
    tokio::spawn(connection);
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    let (server, _) = base.rsplit_once('/').expect("a URL ending in /database");
    let store = Store::open_postgres(&PgOptions::new(format!("{server}/{name}")))
        .await
        .unwrap();
    store.prepare_channels(&["web".to_owned()]).await.unwrap();
    (dir, store)
}

fn open_sqlite(dir: &tempfile::TempDir) -> Store {
    Store::open_sqlite(&SqliteOptions::new(dir.path().join("t.db"))).unwrap()
}

/// Writes API key number `i` (a row a test can look for afterwards). It needs only the
/// catalog capability; a command's `&mut dyn WriteTx` upcasts to it.
fn insert_key(tx: &mut dyn CatalogTx, i: usize) -> Result<(), StoreError> {
    tx.insert_api_key(
        &format!("key_{i}"),
        "t",
        Role::Support,
        &format!("hash_{i}"),
        Timestamp::UNIX_EPOCH,
    )
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
