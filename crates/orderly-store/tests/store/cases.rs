//! The storage support cases rely on: case numbers from one counter, a case's stream and
//! row written by `append_case` and read back the same by id and by number, the queues
//! (mine, unassigned, a group's, breached, all) paged oldest first and scoped by channel,
//! and contacts counted per order across its cases. Runs on the suite's backend, so
//! SQLite and PostgreSQL are held to the same answers.

use super::open;
use jiff::Timestamp;
use orderly_domain::actor::Actor;
use orderly_domain::case::{
    Case, CaseEvent, CaseStatus, ContactChannel, Direction, NewContact, OpenCase, Priority,
};
use orderly_domain::values::Id;
use orderly_store::{
    CaseFilter, CaseListed, CaseQueue, ContactCounts, EventMeta, Store, StoreError,
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

fn contact(direction: Direction, order_status: bool) -> NewContact {
    NewContact {
        channel: ContactChannel::Email,
        direction,
        summary: "Where is my parcel?".into(),
        order_status,
    }
}

/// What a test case is opened with; the number is drawn when it is opened.
#[derive(Clone)]
struct Opening {
    id: &'static str,
    at: i64,
    /// The order and its sales channel.
    order: Option<(&'static str, &'static str)>,
    owner: Option<&'static str>,
    group: Option<&'static str>,
    first_contact: Option<NewContact>,
    due_at: Option<Timestamp>,
}

fn opening(id: &'static str, at: i64) -> Opening {
    Opening {
        id,
        at,
        order: None,
        owner: None,
        group: None,
        first_contact: None,
        due_at: None,
    }
}

/// Draws a number and opens the case in one command.
async fn open_case(store: &Store, o: Opening) -> Case {
    store
        .write(move |tx| {
            let number = tx.next_case_number()?;
            let opened = CaseEvent::Opened(Box::new(OpenCase {
                id: Id::new(o.id),
                number,
                subject: "Parcel late".into(),
                channel: ContactChannel::Email,
                priority: Priority::Normal,
                group: o.group.map(str::to_owned),
                owner: o.owner.map(str::to_owned),
                order_id: o.order.map(|(id, _)| Id::new(id)),
                order_channel: o.order.map(|(_, channel)| channel.to_owned()),
                customer_email: Some("ana@example.com".into()),
                links: Vec::new(),
                first_contact: o.first_contact.clone(),
                suggested_root_cause: None,
            }));
            tx.append_case(None, &[opened], &meta(o.at), &|_| o.due_at)
        })
        .await
        .unwrap()
}

/// Appends `events` to the case as it is stored; its SLA clock is next due at `due_at`.
async fn append(
    store: &Store,
    id: &'static str,
    events: Vec<CaseEvent>,
    at: i64,
    due_at: Option<Timestamp>,
) -> Case {
    store
        .write(move |tx| {
            let before = tx.load_case(id)?;
            assert!(before.is_some(), "{id} was opened");
            tx.append_case(before, &events, &meta(at), &|_| due_at)
        })
        .await
        .unwrap()
}

fn filter(queue: CaseQueue) -> CaseFilter {
    CaseFilter {
        queue,
        status: None,
        opened_before: None,
        channels: None,
        after: None,
        limit: 50,
    }
}

async fn list(store: &Store, f: CaseFilter) -> Vec<String> {
    store
        .read(move |r| r.cases(&f))
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.case.id.to_string())
        .collect()
}

async fn read_case(store: &Store, id_or_number: &'static str) -> Option<CaseListed> {
    store.read(move |r| r.case(id_or_number)).await.unwrap()
}

fn channels(names: &[&str]) -> Option<Vec<String>> {
    Some(names.iter().map(|n| (*n).to_owned()).collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn case_numbers_count_from_1001_and_only_when_committed() {
    let (_db, store) = open().await;
    let draw = || store.write(|tx| tx.next_case_number());
    assert_eq!(draw().await.unwrap(), "CASE-1001");
    assert_eq!(draw().await.unwrap(), "CASE-1002");
    // A command that draws and then fails takes no number with it.
    let failed = store
        .write(|tx| {
            tx.next_case_number()?;
            Err::<(), _>(StoreError::Database("refused after drawing".into()))
        })
        .await;
    assert!(failed.is_err());
    assert_eq!(draw().await.unwrap(), "CASE-1003");

    // Draws at once wait for each other's row lock: every number once.
    let tasks: Vec<_> = (0..12)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.write(|tx| tx.next_case_number()).await })
        })
        .collect();
    let mut drawn = Vec::new();
    for task in tasks {
        let number = task.await.unwrap().unwrap();
        drawn.push(
            number
                .strip_prefix("CASE-")
                .unwrap()
                .parse::<u32>()
                .unwrap(),
        );
    }
    drawn.sort_unstable();
    assert_eq!(drawn, (1004..1016).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_appended_case_reads_back_the_same_by_id_and_by_number() {
    let (_db, store) = open().await;
    let mut a = opening("cas_a", 10);
    a.order = Some(("ord_1", "web"));
    a.group = Some("billing");
    a.first_contact = Some(contact(Direction::Inbound, true));
    let opened = open_case(&store, a).await;
    assert_eq!(
        (
            opened.number.as_str(),
            opened.version,
            opened.contacts.len()
        ),
        ("CASE-1001", 1, 1)
    );

    let appended = append(
        &store,
        "cas_a",
        vec![
            CaseEvent::ContactLogged(contact(Direction::Outbound, false)),
            CaseEvent::Assigned {
                owner: Some("bo".into()),
                group: None,
            },
        ],
        20,
        Some(t(100)),
    )
    .await;
    assert_eq!(appended.version, 3);
    assert_eq!(appended.owner.as_deref(), Some("bo"));
    assert_eq!(appended.group.as_deref(), Some("billing"));
    assert_eq!(appended.contacts.len(), 2);
    assert_eq!(appended.first_response_at, Some(t(20)));
    assert_eq!((appended.opened_at, appended.updated_at), (t(10), t(20)));

    let loaded = store.write(|tx| tx.load_case("cas_a")).await.unwrap();
    assert_eq!(loaded.as_ref(), Some(&appended));
    let expected = CaseListed {
        case: appended,
        due_at: Some(t(100)),
    };
    assert_eq!(read_case(&store, "cas_a").await, Some(expected.clone()));
    assert_eq!(read_case(&store, "CASE-1001").await, Some(expected));
    assert_eq!(read_case(&store, "cas_nobody").await, None);
    assert_eq!(read_case(&store, "CASE-9999").await, None);
    let missing = store.write(|tx| tx.load_case("cas_nobody")).await.unwrap();
    assert_eq!(missing, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queues_list_active_cases_oldest_first_paged_and_scoped_by_channel() {
    let (_db, store) = open().await;
    // A: bo's (assigned after opening), billing, web, due at 100.
    let mut a = opening("cas_a", 10);
    a.order = Some(("ord_1", "web"));
    a.group = Some("billing");
    a.first_contact = Some(contact(Direction::Inbound, false));
    a.due_at = Some(t(100));
    // B: unassigned, billing, marketplace, due at 50.
    let mut b = opening("cas_b", 20);
    b.order = Some(("ord_2", "marketplace"));
    b.group = Some("billing");
    b.due_at = Some(t(50));
    // C: unassigned, shipping, about no order, no clock.
    let mut c = opening("cas_c", 30);
    c.group = Some("shipping");
    // D: bo's from the start, billing, web, due at 200.
    let mut d = opening("cas_d", 40);
    d.order = Some(("ord_3", "web"));
    d.owner = Some("bo");
    d.group = Some("billing");
    d.due_at = Some(t(200));
    // E: opened with D (the id breaks the tie), unassigned, billing, web; resolved below.
    let mut e = opening("cas_e", 40);
    e.order = Some(("ord_4", "web"));
    e.group = Some("billing");
    e.due_at = Some(t(45));
    // F: unassigned, billing, web, due at 60.
    let mut f = opening("cas_f", 50);
    f.order = Some(("ord_5", "web"));
    f.group = Some("billing");
    f.due_at = Some(t(60));
    let mut numbers = Vec::new();
    for o in [a, b, c, d, e, f] {
        numbers.push(open_case(&store, o).await.number);
    }
    assert_eq!(
        numbers,
        [
            "CASE-1001",
            "CASE-1002",
            "CASE-1003",
            "CASE-1004",
            "CASE-1005",
            "CASE-1006"
        ]
    );
    let assign = CaseEvent::Assigned {
        owner: Some("bo".into()),
        group: None,
    };
    append(&store, "cas_a", vec![assign], 60, Some(t(100))).await;
    let resolved = CaseEvent::Resolved {
        root_cause: "carrier_delay".into(),
        note: None,
    };
    let e = append(&store, "cas_e", vec![resolved], 70, None).await;
    assert_eq!(
        (e.status, e.resolved_at, e.version),
        (CaseStatus::Resolved, Some(t(70)), 2)
    );

    let mine = |owner: &str| filter(CaseQueue::Mine(owner.into()));
    assert_eq!(list(&store, mine("bo")).await, ["cas_a", "cas_d"]);
    assert!(list(&store, mine("al")).await.is_empty());
    assert_eq!(
        list(&store, filter(CaseQueue::Unassigned)).await,
        ["cas_b", "cas_c", "cas_f"],
        "the resolved E has no owner, but needs no work"
    );
    let billing = || filter(CaseQueue::Group("billing".into()));
    assert_eq!(
        list(&store, billing()).await,
        ["cas_a", "cas_b", "cas_d", "cas_f"]
    );
    assert_eq!(
        list(&store, filter(CaseQueue::Group("shipping".into()))).await,
        ["cas_c"]
    );
    // Due at or before the time; E's clock stopped when it was resolved.
    assert_eq!(
        list(&store, filter(CaseQueue::Breached(t(100)))).await,
        ["cas_a", "cas_b", "cas_f"]
    );
    assert_eq!(
        list(&store, filter(CaseQueue::Breached(t(59)))).await,
        ["cas_b"]
    );

    // All, by status, and every case whatever its status.
    let all = |status: Option<CaseStatus>| CaseFilter {
        status,
        ..filter(CaseQueue::All)
    };
    assert_eq!(
        list(&store, all(Some(CaseStatus::Resolved))).await,
        ["cas_e"]
    );
    assert_eq!(
        list(&store, all(Some(CaseStatus::Open))).await,
        ["cas_a", "cas_b", "cas_c", "cas_d", "cas_f"]
    );
    assert!(list(&store, all(Some(CaseStatus::Closed))).await.is_empty());
    assert_eq!(
        list(&store, all(None)).await,
        ["cas_a", "cas_b", "cas_c", "cas_d", "cas_e", "cas_f"]
    );
    let older = CaseFilter {
        opened_before: Some(t(30)),
        ..all(None)
    };
    assert_eq!(list(&store, older).await, ["cas_a", "cas_b", "cas_c"]);

    // Pages: the cursor is the last row's (opened at, id), so D and E, opened together,
    // are split by id.
    let page = |after: Option<(i64, &str)>, limit: u32| CaseFilter {
        after: after.map(|(at, id)| (t(at), id.to_owned())),
        limit,
        ..all(None)
    };
    assert_eq!(
        list(&store, page(None, 4)).await,
        ["cas_a", "cas_b", "cas_c", "cas_d"]
    );
    assert_eq!(
        list(&store, page(Some((40, "cas_d")), 4)).await,
        ["cas_e", "cas_f"]
    );
    assert_eq!(list(&store, page(Some((40, "cas_e")), 1)).await, ["cas_f"]);
    assert!(list(&store, page(Some((50, "cas_f")), 4)).await.is_empty());
    let unassigned_page = |after: Option<(i64, &str)>| CaseFilter {
        after: after.map(|(at, id)| (t(at), id.to_owned())),
        limit: 2,
        ..filter(CaseQueue::Unassigned)
    };
    assert_eq!(
        list(&store, unassigned_page(None)).await,
        ["cas_b", "cas_c"]
    );
    assert_eq!(
        list(&store, unassigned_page(Some((30, "cas_c")))).await,
        ["cas_f"]
    );

    // A channel-scoped key sees only cases of orders in its channels: not B (an order
    // of another channel), and not C (about no order).
    let scoped = |queue: CaseQueue, names: &[&str]| CaseFilter {
        channels: channels(names),
        ..filter(queue)
    };
    assert_eq!(
        list(&store, scoped(CaseQueue::Group("billing".into()), &["web"])).await,
        ["cas_a", "cas_d", "cas_f"]
    );
    assert_eq!(
        list(
            &store,
            scoped(CaseQueue::Group("billing".into()), &["web", "marketplace"])
        )
        .await,
        ["cas_a", "cas_b", "cas_d", "cas_f"]
    );
    assert_eq!(
        list(
            &store,
            scoped(CaseQueue::Unassigned, &["web", "marketplace"])
        )
        .await,
        ["cas_b", "cas_f"]
    );
    assert_eq!(
        list(&store, scoped(CaseQueue::All, &["marketplace"])).await,
        ["cas_b"]
    );
    assert!(
        list(&store, scoped(CaseQueue::All, &["pos"]))
            .await
            .is_empty()
    );

    // The resolved case is still found, its clock stopped.
    let e_read = read_case(&store, "CASE-1005").await.unwrap();
    assert_eq!(
        (e_read.case.id.as_str(), e_read.case.status, e_read.due_at),
        ("cas_e", CaseStatus::Resolved, None)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contacts_are_counted_per_order_across_its_cases() {
    let (_db, store) = open().await;
    // G: asked where the order is, and was answered.
    let mut g = opening("cas_g", 10);
    g.order = Some(("ord_9", "web"));
    g.first_contact = Some(contact(Direction::Inbound, true));
    open_case(&store, g).await;
    append(
        &store,
        "cas_g",
        vec![CaseEvent::ContactLogged(contact(
            Direction::Outbound,
            false,
        ))],
        15,
        None,
    )
    .await;
    // H: the same order, the customer again, about something else.
    let mut h = opening("cas_h", 20);
    h.order = Some(("ord_9", "web"));
    h.first_contact = Some(contact(Direction::Inbound, false));
    open_case(&store, h).await;
    // Another order's single contact, and a case about no order, count elsewhere.
    let mut other = opening("cas_i", 30);
    other.order = Some(("ord_8", "web"));
    other.first_contact = Some(contact(Direction::Inbound, true));
    open_case(&store, other).await;
    let mut loose = opening("cas_j", 40);
    loose.first_contact = Some(contact(Direction::Inbound, true));
    open_case(&store, loose).await;

    let counts = |order: &'static str| store.read(move |r| r.order_contacts(order));
    let nine = counts("ord_9").await.unwrap();
    assert_eq!(
        nine,
        ContactCounts {
            contacts: 3,
            inbound: 2,
            order_status: 1,
            cases: 2,
        }
    );
    assert!(nine.repeat());
    let eight = counts("ord_8").await.unwrap();
    assert_eq!(
        eight,
        ContactCounts {
            contacts: 1,
            inbound: 1,
            order_status: 1,
            cases: 1,
        }
    );
    assert!(!eight.repeat());
    assert_eq!(
        counts("ord_nobody").await.unwrap(),
        ContactCounts::default()
    );

    let of_order = |order: &'static str| store.read(move |r| r.cases_of_order(order));
    let listed: Vec<(String, usize)> = of_order("ord_9")
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.case.id.to_string(), c.case.contacts.len()))
        .collect();
    assert_eq!(listed, [("cas_g".to_owned(), 2), ("cas_h".to_owned(), 1)]);
    assert!(of_order("ord_nobody").await.unwrap().is_empty());
}
