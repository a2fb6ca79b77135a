//! The storage customers rely on: a row per normalised email created by the first
//! order and brought up to date by later ones (its id from the first order), the
//! prefix searches by email, name and phone paged by (key, id), channel scoping, and
//! the customer's stream (facts and merges) written by `append_customer`. Runs on the
//! suite's backend, so SQLite and PostgreSQL are held to the same answers.

use super::open;
use jiff::Timestamp;
use orderly_domain::actor::Actor;
use orderly_domain::customer::{CustomerEvent, CustomerFlag, phone_key};
use orderly_domain::order::{Address, Customer, OrderEvent, OrderPlaced};
use orderly_domain::values::{CountryCode, Currency, Email, Id};
use orderly_store::{
    CustomerFilter, CustomerRecord, CustomerSearch, EventMeta, Store, StoreError, search_key,
};

fn t(s: i64) -> Timestamp {
    Timestamp::from_second(1_700_000_000 + s).unwrap()
}

fn meta(at: i64) -> EventMeta {
    EventMeta {
        actor: Actor::system("test"),
        correlation_id: "c".into(),
        at: t(at),
    }
}

/// Places order `id` in `channel` for this customer at `at` (an order with no lines is
/// enough for the customer row).
async fn place(
    store: &Store,
    (id, channel, at): (&str, &str, i64),
    (email, name, phone): (&str, Option<&str>, Option<&str>),
) {
    let address = Address {
        name: "A".into(),
        line1: "1 Main St".into(),
        line2: None,
        city: "Austin".into(),
        region: Some("TX".into()),
        postal_code: "78701".into(),
        country: CountryCode::parse("US").unwrap(),
    };
    let placed = OrderEvent::OrderPlaced(Box::new(OrderPlaced {
        id: Id::new(id),
        number: format!("N-{id}"),
        channel: Id::new(channel),
        external_id: None,
        currency: Currency::parse("USD").unwrap(),
        customer: Customer {
            email: Email::parse(email).unwrap(),
            name: name.map(str::to_owned),
            phone: phone.map(str::to_owned),
        },
        shipping_address: address.clone(),
        billing_address: address,
        lines: Vec::new(),
        shipping_amount: 0,
        tax_amount: 0,
        discount_amount: 0,
        delivery: None,
    }));
    store
        .write(move |tx| {
            tx.append(None, std::slice::from_ref(&placed), &meta(at))
                .map(|_| ())
        })
        .await
        .unwrap();
}

async fn list(store: &Store, f: CustomerFilter) -> Vec<CustomerRecord> {
    store.read(move |r| r.customers(&f)).await.unwrap()
}

fn filter(search: CustomerSearch) -> CustomerFilter {
    CustomerFilter {
        search,
        channels: None,
        after: None,
        limit: 10,
    }
}

fn ids(rows: &[CustomerRecord]) -> Vec<&str> {
    rows.iter().map(|c| c.id.as_str()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_order_names_the_customer_and_later_ones_bring_it_up_to_date() {
    let (_db, store) = open().await;
    place(
        &store,
        ("ord_1", "web", 0),
        ("Ana@Example.com", Some("Ana Díaz"), None),
    )
    .await;
    // Later: the same person (email in another case), now with a phone, and no name.
    place(
        &store,
        ("ord_2", "pos", 60),
        ("ana@example.com", None, Some("+1 555 0100")),
    )
    .await;
    let ana = store
        .read(|r| r.customer_by_email("ana@example.com"))
        .await
        .unwrap()
        .expect("a customer row");
    assert_eq!(ana.id, "cus_1");
    assert_eq!(
        ana.name.as_deref(),
        Some("Ana Díaz"),
        "a nameless order keeps the name"
    );
    assert_eq!(ana.phone.as_deref(), Some("+1 555 0100"));
    assert_eq!((ana.first_order_at, ana.last_order_at), (t(0), t(60)));
    assert_eq!(ana.facts.version, 0);
    let by_id = store.read(|r| r.customer("cus_1")).await.unwrap();
    assert_eq!(by_id, Some(ana));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn searches_match_prefixes_page_by_key_and_respect_channels() {
    let (_db, store) = open().await;
    place(
        &store,
        ("ord_1", "web", 0),
        (
            "ana@example.com",
            Some("Ana Díaz"),
            Some("+1 (555) 010-0123"),
        ),
    )
    .await;
    place(
        &store,
        ("ord_2", "web", 1),
        ("anabel@example.com", Some("ANA BELL"), None),
    )
    .await;
    place(
        &store,
        ("ord_3", "pos", 2),
        ("bo@example.com", Some("Bo Ek"), Some("555 0100 999")),
    )
    .await;

    let by_email = list(&store, filter(CustomerSearch::Email("ana".into()))).await;
    assert_eq!(ids(&by_email), ["cus_1", "cus_2"]);
    let by_name = list(&store, filter(CustomerSearch::Name("ana ".into()))).await;
    assert_eq!(
        ids(&by_name),
        ["cus_2", "cus_1"],
        "'ana bell' sorts before 'ana díaz'"
    );
    let typed = phone_key("555 010-0123").unwrap();
    let by_phone = list(&store, filter(CustomerSearch::Phone(typed))).await;
    assert_eq!(
        ids(&by_phone),
        ["cus_1"],
        "the number typed without its country code"
    );
    assert!(
        list(&store, filter(CustomerSearch::Name("zed".into())))
            .await
            .is_empty()
    );

    // Pages of one: each continues after the (key, id) of the last row.
    let search = CustomerSearch::Email("".into());
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = list(
            &store,
            CustomerFilter {
                after: after.clone(),
                limit: 1,
                ..filter(search.clone())
            },
        )
        .await;
        let Some(last) = page.last() else { break };
        after = Some((search_key(&search, last), last.id.clone()));
        seen.push(last.id.clone());
    }
    assert_eq!(seen, ["cus_1", "cus_2", "cus_3"]);

    let web_only = CustomerFilter {
        channels: Some(vec!["web".into()]),
        ..filter(CustomerSearch::All)
    };
    assert_eq!(ids(&list(&store, web_only).await), ["cus_1", "cus_2"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decisions_append_to_the_customer_stream_and_a_merge_leaves_the_searches() {
    let (_db, store) = open().await;
    place(
        &store,
        ("ord_1", "web", 0),
        ("ana@example.com", Some("Ana"), None),
    )
    .await;
    place(
        &store,
        ("ord_2", "web", 1),
        ("ana.work@example.com", Some("Ana"), None),
    )
    .await;
    let flagged = store
        .write(|tx| {
            let ana = tx.load_customer("cus_1")?.expect("the row");
            let event = CustomerEvent::FlagRaised {
                flag: CustomerFlag::Vip,
                reason: "top spender".into(),
            };
            tx.append_customer("cus_1", ana.facts, &[event], &meta(5))
        })
        .await
        .unwrap();
    assert_eq!(flagged.version, 1);
    let stored = store.read(|r| r.customer("cus_1")).await.unwrap().unwrap();
    assert_eq!(stored.facts, flagged);
    let history = store.read(|r| r.history("cus_1")).await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].kind, "customer_flag_raised");
    assert_eq!(history[0].data["reason"], "top spender");
    assert_eq!(history[0].stream_type, orderly_store::StreamType::Customer);

    // Merge cus_2 into cus_1: both streams in one transaction.
    store
        .write(|tx| {
            let ana = tx.load_customer("cus_1")?.expect("survivor");
            let work = tx.load_customer("cus_2")?.expect("absorbed");
            tx.append_customer(
                "cus_1",
                ana.facts,
                &[CustomerEvent::Absorbed {
                    from: Id::new("cus_2"),
                }],
                &meta(9),
            )?;
            tx.append_customer(
                "cus_2",
                work.facts,
                &[CustomerEvent::MergedInto {
                    into: Id::new("cus_1"),
                }],
                &meta(9),
            )?;
            Ok::<_, StoreError>(())
        })
        .await
        .unwrap();
    let absorbed = store.read(|r| r.absorbed_emails("cus_1")).await.unwrap();
    assert_eq!(absorbed, ["ana.work@example.com"]);
    let by_name = list(&store, filter(CustomerSearch::Name("ana".into()))).await;
    assert_eq!(
        ids(&by_name),
        ["cus_1"],
        "the merged record is found once, as its survivor"
    );
    let by_email = list(&store, filter(CustomerSearch::Email("ana.work".into()))).await;
    assert_eq!(ids(&by_email), ["cus_2"], "an email still names its record");
    assert_eq!(
        by_email[0].facts.merged_into.as_ref().map(Id::as_str),
        Some("cus_1")
    );

    // A stale decision (an old version) loses on the stream's unique version.
    let stale = store
        .write(|tx| {
            let mut ana = tx.load_customer("cus_1")?.expect("the row");
            ana.facts.version = 0;
            tx.append_customer(
                "cus_1",
                ana.facts,
                &[CustomerEvent::NoteAdded {
                    text: "late".into(),
                }],
                &meta(10),
            )
        })
        .await;
    assert!(matches!(stale, Err(StoreError::Conflict(_))), "{stale:?}");
}
