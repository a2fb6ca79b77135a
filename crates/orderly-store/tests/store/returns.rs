//! The storage returns rely on (issue 15): RMA numbers per channel, the returns read model
//! with its filters and cursor, the customer's history, and returned units moved into on
//! hand, quarantine or nowhere, each with its movement. Runs on the suite's backend.

use super::{open, seed_order};
use jiff::Timestamp;
use orderly_domain::actor::Actor;
use orderly_domain::inventory::MovementReason;
use orderly_domain::values::Sku;
use orderly_store::{ReturnFilter, ReturnRecord, ReturnRow, Store, StoreError};

fn t(s: i64) -> Timestamp {
    Timestamp::from_second(1_700_000_000 + s).unwrap()
}

/// A return of order `ord_1` (`WEB-1001` on `web`), requested at `t(at)`.
fn row<'a>(id: &'a str, state: &'a str, at: i64) -> ReturnRow<'a> {
    ReturnRow {
        id,
        order_id: "ord_1",
        order_number: "WEB-1001",
        rma: None,
        channel: "web",
        state,
        reason: "too_small",
        customer_email: "ana@example.com",
        location_id: None,
        wanted: "refund",
        units: 1,
        value_minor: 100,
        refundable_minor: 90,
        currency: "USD",
        policy_version: "2026-01",
        requested_at: t(at),
        updated_at: t(at),
    }
}

async fn save(store: &Store, rows: Vec<ReturnRow<'static>>) {
    store
        .write(move |tx| {
            for r in &rows {
                tx.save_return(r)?;
            }
            Ok::<_, StoreError>(())
        })
        .await
        .unwrap();
}

async fn draw(store: &Store, channel: &'static str, prefix: &'static str) -> String {
    store
        .write(move |tx| tx.next_rma_number(channel, prefix))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rma_numbers_count_per_channel_and_only_when_committed() {
    let (_db, store) = open().await;
    assert_eq!(draw(&store, "web", "WEB").await, "RMA-WEB-1001");
    assert_eq!(draw(&store, "web", "WEB").await, "RMA-WEB-1002");
    assert_eq!(draw(&store, "marketplace", "MKT").await, "RMA-MKT-1001");
    // A command that draws and then fails takes no number with it.
    let failed = store
        .write(|tx| {
            tx.next_rma_number("web", "WEB")?;
            Err::<(), _>(StoreError::Database("refused after drawing".into()))
        })
        .await;
    assert!(failed.is_err());
    assert_eq!(draw(&store, "web", "WEB").await, "RMA-WEB-1003");
    assert_eq!(draw(&store, "marketplace", "MKT").await, "RMA-MKT-1002");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_rma_draws_never_collide() {
    let (_db, store) = open().await;
    let tasks: Vec<_> = (0..24)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let channel = if i % 3 == 0 { "marketplace" } else { "web" };
                store
                    .write(move |tx| tx.next_rma_number(channel, "X"))
                    .await
                    .map(|n| (channel, n))
            })
        })
        .collect();
    let mut web = Vec::new();
    let mut marketplace = Vec::new();
    for task in tasks {
        let (channel, number) = task.await.unwrap().unwrap();
        let n: u32 = number.strip_prefix("RMA-X-").unwrap().parse().unwrap();
        match channel {
            "web" => web.push(n),
            _ => marketplace.push(n),
        }
    }
    web.sort_unstable();
    marketplace.sort_unstable();
    assert_eq!(web, (1001..1017).collect::<Vec<_>>(), "every number once");
    assert_eq!(marketplace, (1001..1009).collect::<Vec<_>>());
}

fn ids(rows: &[ReturnRecord]) -> Vec<&str> {
    rows.iter().map(|r| r.id.as_str()).collect()
}

async fn list(store: &Store, f: ReturnFilter) -> Vec<ReturnRecord> {
    store.read(move |r| r.returns(&f)).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn returns_are_saved_found_filtered_and_paged_newest_first() {
    let (_db, store) = open().await;
    let mut authorized = row("rma_a", "requested", 10);
    authorized.rma = Some("RMA-WEB-1001");
    let mut mkt = row("rma_b", "needs_review", 20);
    mkt.channel = "marketplace";
    mkt.reason = "damaged";
    let mut other = row("rma_c", "authorized", 30);
    other.customer_email = "Bo@Example.com";
    other.order_id = "ord_2";
    let mut at_east = row("rma_d", "received", 30);
    at_east.location_id = Some("wh-east");
    let old = row("rma_e", "rejected", 0);
    save(&store, vec![authorized, mkt, other, at_east, old]).await;
    // An upsert: the same return, authorized later, at a location.
    authorized.state = "authorized";
    authorized.location_id = Some("wh-west");
    authorized.updated_at = t(40);
    save(&store, vec![authorized]).await;

    let found = store
        .read(|r| r.return_row("rma_a"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            found.state.as_str(),
            found.location_id.as_deref(),
            found.rma.as_deref()
        ),
        ("authorized", Some("wh-west"), Some("RMA-WEB-1001"))
    );
    assert_eq!((found.requested_at, found.updated_at), (t(10), t(40)));
    assert_eq!(
        (found.units, found.value_minor, found.refundable_minor),
        (1, 100, 90)
    );
    assert_eq!(store.read(|r| r.return_row("rma_x")).await.unwrap(), None);
    let by_rma = store
        .write(|tx| {
            Ok::<_, StoreError>((
                tx.return_by_rma("RMA-WEB-1001")?,
                tx.return_by_rma("RMA-WEB-9999")?,
            ))
        })
        .await
        .unwrap();
    assert_eq!(by_rma, (Some(("ord_1".into(), "rma_a".into())), None));
    // Another return cannot take a number that is someone's.
    let mut thief = row("rma_f", "authorized", 50);
    thief.rma = Some("RMA-WEB-1001");
    let taken = store.write(move |tx| tx.save_return(&thief)).await;
    assert!(matches!(taken, Err(StoreError::Conflict(_))), "{taken:?}");

    let all = |f: ReturnFilter| ReturnFilter { limit: 10, ..f };
    // Newest first; the same request time falls back to the id, descending.
    assert_eq!(
        ids(&list(&store, all(ReturnFilter::default())).await),
        ["rma_d", "rma_c", "rma_b", "rma_a", "rma_e"]
    );
    let states = vec!["authorized".to_owned(), "needs_review".to_owned()];
    let cases: Vec<(ReturnFilter, Vec<&str>)> = vec![
        (
            ReturnFilter {
                states,
                ..Default::default()
            },
            vec!["rma_c", "rma_b", "rma_a"],
        ),
        (
            ReturnFilter {
                channels: Some(vec!["marketplace".into()]),
                ..Default::default()
            },
            vec!["rma_b"],
        ),
        (
            ReturnFilter {
                channels: Some(Vec::new()),
                ..Default::default()
            },
            vec![],
        ),
        (
            ReturnFilter {
                location_id: Some("wh-east".into()),
                ..Default::default()
            },
            vec!["rma_d"],
        ),
        (
            ReturnFilter {
                reason: Some("damaged".into()),
                ..Default::default()
            },
            vec!["rma_b"],
        ),
        (
            ReturnFilter {
                customer_email: Some("BO@example.COM".into()),
                ..Default::default()
            },
            vec!["rma_c"],
        ),
        (
            ReturnFilter {
                order_id: Some("ord_2".into()),
                ..Default::default()
            },
            vec!["rma_c"],
        ),
        (
            ReturnFilter {
                requested_after: Some(t(10)),
                requested_before: Some(t(30)),
                ..Default::default()
            },
            vec!["rma_b", "rma_a"],
        ),
    ];
    for (f, expected) in cases {
        let shown = format!("{f:?}");
        assert_eq!(ids(&list(&store, all(f)).await), expected, "{shown}");
    }

    // Pages of two, each starting after the last key of the one before.
    let mut pages = Vec::new();
    let mut f = ReturnFilter {
        limit: 2,
        ..Default::default()
    };
    loop {
        let page = list(&store, f.clone()).await;
        pages.push(ids(&page).iter().map(|s| s.to_string()).collect::<Vec<_>>());
        match page.last() {
            Some(last) if page.len() == 2 => f.before = Some(last.key()),
            _ => break,
        }
    }
    assert_eq!(
        pages,
        [
            vec!["rma_d", "rma_c"],
            vec!["rma_b", "rma_a"],
            vec!["rma_e"]
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customers_history_counts_returns_that_took_something_back() {
    let (_db, store) = open().await;
    seed_order(&store, 4).await;
    let mut rows = Vec::new();
    for (id, state, at, value) in [
        ("rma_1", "authorized", 10, 100),
        ("rma_2", "completed", 20, 250),
        ("rma_3", "rejected", 20, 1_000),
        ("rma_4", "cancelled", 20, 1_000),
        ("rma_5", "expired", 20, 1_000),
        ("rma_6", "received", -100, 1_000),
    ] {
        let mut r = row(id, state, at);
        r.value_minor = value;
        r.refundable_minor = value;
        rows.push(r);
    }
    let mut bo = row("rma_7", "requested", 30);
    bo.customer_email = "bo@example.com";
    rows.push(bo);
    // Another currency's return is not added to these.
    let mut euros = row("rma_8", "completed", 20);
    euros.currency = "EUR";
    rows.push(euros);
    save(&store, rows).await;
    let answers = store
        .write(|tx| {
            Ok::<_, StoreError>((
                tx.customer_return_history("Ana@Example.com", t(0), "USD")?,
                tx.customer_return_history("ana@example.com", t(-100), "USD")?,
                tx.customer_return_history("nobody@example.com", t(0), "USD")?,
                tx.customer_purchases_since("ANA@example.com", t(0), "USD")?,
                tx.customer_purchases_since("ana@example.com", t(1), "USD")?,
                tx.customer_purchases_since("ana@example.com", t(0), "EUR")?,
            ))
        })
        .await
        .unwrap();
    // seed_order's order: 4 units of 100 in USD, placed at t(0).
    assert_eq!(answers, ((2, 350), (3, 1_350), (0, 0), 400, 0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_names_a_return_without_its_order() {
    let (_db, store) = open().await;
    seed_order(&store, 4).await;
    let mut renumbered = row("rma_2", "requested", 10);
    renumbered.order_number = "WEB-2000";
    let mut orphan = row("rma_3", "requested", 10);
    orphan.order_id = "ord_gone";
    let mut generous = row("rma_4", "requested", 10);
    generous.refundable_minor = 101;
    save(
        &store,
        vec![row("rma_1", "requested", 10), renumbered, orphan, generous],
    )
    .await;
    let report = store.check().await.unwrap();
    let text: Vec<String> = report.violations.iter().map(|v| v.to_string()).collect();
    assert_eq!(
        text,
        [
            "return rma_2: its row disagrees with order ord_1 (number WEB-1001, channel web)",
            "return rma_3: its order ord_gone does not exist",
            "return rma_4: refundable 101 is above its value 100",
        ]
    );
    assert_eq!(report.returns, 4);
}

type Level = (i64, i64, i64);

async fn levels(store: &Store, sku: &'static str) -> Option<Level> {
    let rows = store
        .read(move |r| r.inventory(Some(sku), Some("loc"), None, 1))
        .await
        .unwrap();
    rows.first().map(|i| (i.on_hand, i.reserved, i.quarantine))
}

async fn move_unit(
    store: &Store,
    sku: &'static str,
    quantity: u32,
    reason: MovementReason,
) -> Result<Level, StoreError> {
    store
        .write(move |tx| {
            let row = tx.move_returned_unit(
                sku,
                "loc",
                quantity,
                reason,
                Some("rma_1"),
                &Actor::system("test"),
                t(60),
            )?;
            Ok((row.on_hand, row.reserved, row.quarantine))
        })
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn returned_units_move_into_on_hand_quarantine_or_nowhere_with_a_movement_each() {
    use MovementReason::*;
    let (_db, store) = open().await;
    // seed_order: 10 of A on hand at loc, 4 reserved by ord_1.
    seed_order(&store, 4).await;
    let steps = [
        (ReturnRestock, 2, (12, 4, 0)),
        (ReturnQuarantine, 3, (12, 4, 3)),
        (ReturnScrap, 1, (12, 4, 3)),
        (ReturnToCustomer, 1, (12, 4, 3)),
        (QuarantineRelease, 1, (13, 4, 2)),
        (QuarantineScrap, 1, (13, 4, 1)),
    ];
    for (reason, quantity, expected) in steps {
        let after = move_unit(&store, "A", quantity, reason).await.unwrap();
        assert_eq!(after, expected, "{reason:?}");
        assert_eq!(levels(&store, "A").await, Some(expected), "{reason:?}");
    }
    // Taking more than quarantine holds changes nothing.
    for reason in [QuarantineRelease, QuarantineScrap] {
        let refused = move_unit(&store, "A", 2, reason).await;
        assert!(
            matches!(refused, Err(StoreError::Conflict(_))),
            "{refused:?}"
        );
    }
    assert!(matches!(
        move_unit(&store, "B", 1, QuarantineScrap).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        levels(&store, "B").await,
        None,
        "no record made by a refusal"
    );
    // Not a return's reason, or no units: an error, not a panic, and nothing moves.
    for (reason, quantity) in [(Receipt, 1), (Damage, 1), (ReturnRestock, 0)] {
        let refused = move_unit(&store, "A", quantity, reason).await;
        assert!(
            matches!(refused, Err(StoreError::Database(_))),
            "{refused:?}"
        );
    }
    assert_eq!(levels(&store, "A").await, Some((13, 4, 1)));

    // The first restock of a SKU makes its record; quarantine alone makes one too.
    assert_eq!(
        move_unit(&store, "C", 2, ReturnRestock).await.unwrap(),
        (2, 0, 0)
    );
    assert_eq!(
        move_unit(&store, "D", 1, ReturnQuarantine).await.unwrap(),
        (0, 0, 1)
    );

    // Quarantined units are never available, and a decision reads them apart.
    let (view, level) = store
        .write(|tx| {
            let skus = [Sku::parse("A").unwrap(), Sku::parse("D").unwrap()];
            Ok::<_, StoreError>((tx.stock_view(&skus)?, tx.stock_level("A", "loc")?))
        })
        .await
        .unwrap();
    let loc = orderly_domain::values::Id::new("loc");
    assert_eq!(view.available(&Sku::parse("A").unwrap(), &loc), 9);
    assert_eq!(view.available(&Sku::parse("D").unwrap(), &loc), 0);
    assert_eq!(
        (level.on_hand, level.quarantine, level.available()),
        (13, 1, 9)
    );

    let moves = store.read(|r| r.movements("A", None, 20)).await.unwrap();
    let shown: Vec<(String, i64, i64, i64, i64, i64)> = moves
        .iter()
        .rev()
        .map(|m| {
            let deltas = (m.delta_on_hand, m.delta_reserved, m.delta_quarantine);
            (
                m.reason.clone(),
                deltas.0,
                deltas.1,
                deltas.2,
                m.on_hand_after,
                m.reserved_after,
            )
        })
        .collect();
    let expected = [
        ("receipt", 10, 0, 0, 10, 0),
        ("reservation", 0, 4, 0, 10, 4),
        ("return_restock", 2, 0, 0, 12, 4),
        ("return_quarantine", 0, 0, 3, 12, 4),
        ("return_scrap", 0, 0, 0, 12, 4),
        ("return_to_customer", 0, 0, 0, 12, 4),
        ("quarantine_release", 1, 0, -1, 13, 4),
        ("quarantine_scrap", 0, 0, -1, 13, 4),
    ];
    let expected: Vec<_> = expected
        .iter()
        .map(|(r, a, b, c, d, e)| (r.to_string(), *a, *b, *c, *d, *e))
        .collect();
    assert_eq!(shown, expected);
    assert!(
        moves
            .iter()
            .take(6)
            .all(|m| m.note.as_deref() == Some("rma_1"))
    );
    let report = store.check().await.unwrap();
    assert!(report.violations.is_empty(), "{:?}", report.violations);
}
