//! The console's pages beyond the order: cases, exception queues, customers, the returns
//! desk, the warehouse floor and the order's edits, over HTTP as a browser without
//! JavaScript uses them. Every form refuses a missing token, a role without the action
//! and an expired session, and changes nothing when it does; each page shows what its
//! action did.

use crate::console::{Browser, Page, signed_in, user};
use crate::helpers::*;
use crate::returns::{delivered, shop};
use crate::returns_support::{admin_return, ask};
use jiff::SignedDuration;
use orderly_domain::actor::Role;
use serde_json::{Value, json};

/// Every table's digest but the console's own (signing in and a session's idle clock
/// write there).
async fn state(app: &TestApp) -> Vec<(String, (i64, String))> {
    app.db
        .table_digests()
        .await
        .into_iter()
        .filter(|(t, _)| !t.starts_with("console_"))
        .collect()
}

fn text(v: &Value, key: &str) -> String {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} in {v}"))
        .to_owned()
}

/// A paid web order of two shirts, released to its warehouse.
async fn released(app: &TestApp) -> Value {
    let body = card_order(&[("TEE-BLK-M", 2, 2000)], "tok_visa");
    app.create_order(&body).await
}

/// A support user, and a way to sign them in again after the clock jumped past their
/// session's idle time.
async fn support_user(app: &TestApp) -> (Browser, (String, String)) {
    let who = user(app, Role::Support).await;
    (again(app, &who).await, who)
}

async fn again(app: &TestApp, (name, password): &(String, String)) -> Browser {
    let mut b = Browser::new(app);
    assert_eq!(b.sign_in(name, password).await.status, 303);
    b
}

/// A form's path, its fields, and a role that may not send it.
type FormCase = (String, Vec<(&'static str, String)>, Role);

/// Follows a redirect and answers the page it leads to.
async fn follow(b: &mut Browser, page: Page) -> Page {
    assert_eq!(page.status, 303, "{}", page.html);
    let to = page.location.clone().unwrap();
    b.get(&to).await
}

#[tokio::test]
async fn every_console_form_refuses_a_missing_token_a_role_without_it_and_an_expired_session() {
    let app = shop(spawn_app().await).await;
    let order = released(&app).await;
    let (oid, fo) = (text(&order, "id"), first_fulfillment(&order));
    let home = delivered(&app, &[("MUG", 1, 1000)]).await;
    let ret = admin_return(&app, &home, ask(&[(1, 1)], "size_too_small"))
        .await
        .expect(201);
    let rma = text(&ret, "rma");
    let case = app
        .post(
            "/cases",
            &json!({"subject": "Where is it", "channel": "email", "order": oid}),
        )
        .await
        .expect(201);
    let number = text(&case, "number");
    let pkg = format!("pkg_{}_1", &oid[4..]);
    // (path, form, a role that may not do it)
    let forms: Vec<FormCase> = vec![
        (
            format!("/console/orders/{oid}/cases"),
            vec![
                ("subject", "x".into()),
                ("channel", "email".into()),
                ("priority", "normal".into()),
            ],
            Role::Warehouse,
        ),
        (
            format!("/console/cases/{number}/contacts"),
            vec![
                ("channel", "email".into()),
                ("direction", "inbound".into()),
                ("summary", "hi".into()),
            ],
            Role::Warehouse,
        ),
        (
            format!("/console/cases/{number}/assignment"),
            vec![("owner", "me".into())],
            Role::Warehouse,
        ),
        (
            format!("/console/cases/{number}/status"),
            vec![("status", "pending_customer".into())],
            Role::Warehouse,
        ),
        (
            format!("/console/cases/{number}/priority"),
            vec![("priority", "high".into())],
            Role::Warehouse,
        ),
        (
            format!("/console/cases/{number}/resolve"),
            vec![("root_cause", "carrier_delay".into())],
            Role::Warehouse,
        ),
        (
            format!("/console/orders/{oid}/edits"),
            vec![
                ("name", "Ana Diaz".into()),
                ("line1", "2 Elm St".into()),
                ("city", "Austin".into()),
                ("region", "TX".into()),
                ("postal_code", "78701".into()),
                ("country", "US".into()),
            ],
            Role::Warehouse,
        ),
        (
            format!("/console/orders/{oid}/lines/1/cancellation"),
            vec![
                ("quantity", "1".into()),
                ("reason", "customer_request".into()),
            ],
            Role::Warehouse,
        ),
        (
            format!("/console/orders/{oid}/tags"),
            vec![("add", "vip".into())],
            Role::Support,
        ),
        (
            format!("/console/orders/{}/returns", text(&home, "id")),
            vec![
                ("return_1", "1".into()),
                ("reason", "size_too_small".into()),
                ("wanted", "refund".into()),
            ],
            Role::Warehouse,
        ),
        (
            format!("/console/orders/{oid}/payments"),
            vec![("method", "card".into()), ("token", "tok_visa".into())],
            Role::Warehouse,
        ),
        (
            format!("/console/orders/{oid}/refunds/ref_{}_1/retry", &oid[4..]),
            vec![],
            Role::Warehouse,
        ),
        (
            format!("/console/orders/{oid}/edits/edt_none"),
            vec![("decision", "commit".into())],
            Role::Warehouse,
        ),
        (
            format!("/console/cases/{number}/reopen"),
            vec![("reason", "wrote again".into())],
            Role::Warehouse,
        ),
        (
            format!("/console/cases/{number}/close"),
            vec![],
            Role::Warehouse,
        ),
        (
            format!("/console/orders/{oid}/captures"),
            vec![],
            Role::Support,
        ),
        (
            format!("/console/returns/{rma}/review"),
            vec![("decision", "approve".into())],
            Role::Warehouse,
        ),
        (
            format!("/console/returns/{rma}/receive"),
            vec![("location_id", "wh-east".into()), ("scans", "MUG".into())],
            Role::Support,
        ),
        (
            format!("/console/returns/{rma}/inspect"),
            vec![
                ("acceptance_1", "accepted".into()),
                ("condition_1", "like_new".into()),
                ("disposition_1", "restock".into()),
            ],
            Role::Support,
        ),
        (
            format!("/console/returns/{rma}/decide"),
            vec![
                ("acceptance_1", "accepted".into()),
                ("disposition_1", "restock".into()),
            ],
            Role::Warehouse,
        ),
        (
            format!("/console/returns/{rma}/send-back"),
            vec![],
            Role::Support,
        ),
        (
            "/console/exceptions/payments/exc_1/resolve".into(),
            vec![("resolution", "done".into())],
            Role::Finance,
        ),
        (
            "/console/waves".into(),
            vec![("location_id", "wh-east".into())],
            Role::Support,
        ),
        (
            format!("/console/fulfillment-orders/{fo}/pick"),
            vec![("picked_1", "2".into())],
            Role::Support,
        ),
        (
            format!("/console/fulfillment-orders/{fo}/packages"),
            vec![
                ("scans", "TEE-BLK-M TEE-BLK-M".into()),
                ("weight_grams", "500".into()),
                ("length_mm", "100".into()),
                ("width_mm", "100".into()),
                ("height_mm", "100".into()),
            ],
            Role::Support,
        ),
        (
            format!("/console/packages/{pkg}/ship"),
            vec![],
            Role::Support,
        ),
    ];
    // Every role signed in here may tag an order, so the tags form is checked for its
    // token and its session only.
    let mut browsers = std::collections::HashMap::new();
    for role in [Role::Support, Role::Warehouse, Role::Finance] {
        browsers.insert(role.as_str(), signed_in(&app, role).await);
    }
    let before = state(&app).await;
    let support = browsers.get_mut("support").unwrap();
    for (path, form, _) in &forms {
        let page = support.post(path, form).await;
        assert_eq!(page.status, 403, "{path}: {}", page.html);
        assert!(page.shows("csrf_token_invalid"), "{path}");
        let mut forged = form.clone();
        forged.push(("csrf", "0".repeat(64)));
        assert_eq!(support.post(path, &forged).await.status, 403, "{path}");
    }
    assert_eq!(
        state(&app).await,
        before,
        "a form without its token changed something"
    );

    for (path, form, role) in forms.iter().filter(|(p, ..)| !p.ends_with("/tags")) {
        let b = browsers.get_mut(role.as_str()).unwrap();
        let mut form = form.clone();
        form.push(("csrf", b.csrf().await));
        let page = b.post(path, &form).await;
        assert_eq!(
            page.status,
            403,
            "{path} as {}: {}",
            role.as_str(),
            page.html
        );
        assert!(page.shows("forbidden"), "{path}: {}", page.html);
    }
    assert_eq!(
        state(&app).await,
        before,
        "a role without the action changed something"
    );

    let mut tokens = Vec::new();
    for role in ["support", "warehouse", "finance"] {
        let b = browsers.get_mut(role).unwrap();
        tokens.push((role, b.csrf().await));
    }
    app.clock.advance(SignedDuration::from_mins(31));
    for (path, form, _) in &forms {
        for (role, csrf) in &tokens {
            let mut form = form.clone();
            form.push(("csrf", csrf.clone()));
            let page = browsers.get_mut(role).unwrap().post(path, &form).await;
            assert_eq!(page.status, 303, "{path} as {role}");
            assert!(page.location.unwrap().starts_with("/console/sign-in"));
        }
    }
    assert_eq!(
        state(&app).await,
        before,
        "an expired session changed something"
    );
}

#[tokio::test]
async fn a_case_is_opened_from_its_order_worked_from_the_queues_and_resolved_with_the_suggested_cause()
 {
    let app = shop(spawn_app().await).await;
    let body = card_order(&[("TEE-BLK-M", 1, 2000)], "tok_declined");
    let order = app.create_order(&body).await;
    let oid = text(&order, "id");
    let (mut support, who) = support_user(&app).await;
    let csrf = support.csrf().await;
    let opened = support
        .post(
            &format!("/console/orders/{oid}/cases"),
            &[
                ("csrf", csrf.clone()),
                ("subject", "Card refused".into()),
                ("channel", "phone".into()),
                ("summary", "Customer asks why".into()),
                ("priority", "normal".into()),
                ("group", "tier1".into()),
                ("owner", "me".into()),
            ],
        )
        .await;
    let case = follow(&mut support, opened).await;
    assert!(
        case.shows("Case opened") || case.shows("opened."),
        "{}",
        case.html
    );
    assert!(case.shows("Customer asks why"));
    // The order's refused payment suggests the cause, and the picker starts on it.
    assert!(
        case.shows("<option value=\"payment_issue\" selected>payment_issue (suggested)"),
        "{}",
        case.html
    );
    let number = case
        .html
        .split("<h1>Case ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .to_owned();

    // Mine and the group's queue list it with its SLA due time; unassigned does not.
    let mine = support.get("/console/cases?queue=mine").await;
    assert!(
        mine.shows(&number) && mine.shows("Card refused"),
        "{}",
        mine.html
    );
    let group = support.get("/console/cases?queue=group&group=tier1").await;
    assert!(group.shows(&number));
    assert!(
        !support
            .get("/console/cases?queue=unassigned")
            .await
            .shows(&number)
    );
    assert!(
        !support
            .get("/console/cases?queue=breached")
            .await
            .shows(&number)
    );
    // Past its SLA it is breached, and stands out.
    app.clock.advance(SignedDuration::from_hours(24 * 4));
    let mut support = again(&app, &who).await;
    let breached = support.get("/console/cases?queue=breached").await;
    assert!(
        breached.shows(&number) && breached.shows("badge bad\">breached"),
        "{}",
        breached.html
    );

    let csrf = support.csrf().await;
    let resolved = support
        .post(
            &format!("/console/cases/{number}/resolve"),
            &[
                ("csrf", csrf),
                ("root_cause", "payment_issue".into()),
                ("note", "new card".into()),
            ],
        )
        .await;
    let page = follow(&mut support, resolved).await;
    assert!(
        page.shows("badge\">resolved") && page.shows("Root cause</strong>: payment_issue"),
        "{}",
        page.html
    );
    let api = app.get(&format!("/cases/{number}")).await.expect(200);
    assert_eq!(api["root_cause"], "payment_issue");
    assert_eq!(api["status"], "resolved");
}

#[tokio::test]
async fn the_board_counts_every_queue_and_a_retried_payment_leaves_the_payments_queue() {
    let app = shop(spawn_app().await).await;
    let body = card_order(&[("TEE-BLK-M", 1, 2000)], "tok_declined");
    let order = app.create_order(&body).await;
    let (oid, number) = (text(&order, "id"), text(&order, "number"));
    let (mut support, who) = support_user(&app).await;

    let board = support.get("/console/exceptions").await;
    assert!(board.shows("data-open=\"1\""), "{}", board.html);
    assert!(!board.shows("escalated</span>"), "nothing is old yet");
    app.clock.advance(SignedDuration::from_hours(25));
    let mut support = again(&app, &who).await;
    let board = support.get("/console/exceptions").await;
    assert!(board.shows("1 escalated"), "{}", board.html);

    let queue = support
        .get("/console/exceptions/payments?kind=payment_failed")
        .await;
    assert!(
        queue.shows(&oid) && queue.shows("Retry payment") && queue.shows("class=\"escalated\""),
        "{}",
        queue.html
    );
    // Sorting and paging links keep the kind.
    assert!(
        queue.shows("/console/exceptions/payments?sort=newest&#38;kind=payment_failed"),
        "{}",
        queue.html
    );

    // A declined retry keeps it there; a good card takes it out.
    let csrf = support.csrf().await;
    let back = "/console/exceptions/payments?sort=oldest&kind=payment_failed".to_owned();
    let again = support
        .post(
            &format!("/console/orders/{oid}/payments"),
            &[
                ("csrf", csrf.clone()),
                ("form_key", "k1".into()),
                ("method", "card".into()),
                ("token", "tok_declined".into()),
                ("back", back.clone()),
            ],
        )
        .await;
    let page = follow(&mut support, again).await;
    assert!(page.shows(&oid), "still refused: {}", page.html);
    let paid = support
        .post(
            &format!("/console/orders/{oid}/payments"),
            &[
                ("csrf", csrf),
                ("form_key", "k2".into()),
                ("method", "card".into()),
                ("token", "tok_visa".into()),
                ("back", back),
            ],
        )
        .await;
    assert_eq!(
        paid.location.as_deref(),
        Some("/console/exceptions/payments?sort=oldest&kind=payment_failed")
    );
    let page = follow(&mut support, paid).await;
    assert!(
        page.shows(&format!("New payment for {number}")),
        "{}",
        page.html
    );
    assert!(!page.shows(&oid), "{}", page.html);
    assert!(page.shows("Nothing open here."));
    // A form cannot send anyone elsewhere.
    let csrf = support.csrf().await;
    let away = support
        .post(
            "/console/exceptions/payments/exc_999/resolve",
            &[
                ("csrf", csrf),
                ("resolution", "x".into()),
                ("back", "//evil.example/".into()),
            ],
        )
        .await;
    assert_eq!(away.status, 404, "{}", away.html);
}

#[tokio::test]
async fn the_customer_page_shows_lifetime_value_return_rate_orders_and_returns() {
    let app = shop(spawn_app().await).await;
    let order = delivered(&app, &[("TEE-BLK-M", 2, 2000)]).await;
    admin_return(&app, &order, ask(&[(1, 1)], "size_too_small"))
        .await
        .expect(201);
    let mut support = signed_in(&app, Role::Support).await;
    let page = support.get("/console/customers/ana@example.com").await;
    assert_eq!(page.status, 200, "{}", page.html);
    assert!(
        page.shows("Ana Diaz") && page.shows(&text(&order, "number")),
        "{}",
        page.html
    );
    assert!(page.shows("50.0 % (1 of 2 units shipped)"), "{}", page.html);
    assert!(page.shows("Lifetime value</th><td>USD "), "{}", page.html);
    assert!(page.shows("RMA-"), "{}", page.html);
    // Every return of theirs is a paged list on the returns desk.
    let desk = support
        .get("/console/returns?list=all&customer=ana%40example.com")
        .await;
    assert!(
        desk.shows("RMA-") && desk.shows("of ana@example.com"),
        "{}",
        desk.html
    );
    let nobody = support
        .get("/console/returns?list=all&customer=nobody%40example.com")
        .await;
    assert!(
        !nobody.shows("RMA-") && nobody.shows("No returns here."),
        "{}",
        nobody.html
    );
    // A warehouse user may not read customers.
    let mut warehouse = signed_in(&app, Role::Warehouse).await;
    assert_eq!(
        warehouse
            .get("/console/customers/ana@example.com")
            .await
            .status,
        403
    );
}
