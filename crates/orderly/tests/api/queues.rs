//! The exception queues an order enters by itself: each test starts the condition,
//! moves the clock past its threshold where it has one (the timer worker queues it),
//! ends the condition and sees the entry leave, with the timeline saying both. The API
//! suite runs on SQLite and, in CI, on PostgreSQL, so each queue is held to both.

use crate::helpers::*;
use jiff::SignedDuration;
use serde_json::{Value, json};

async fn shop() -> TestApp {
    shop_with(|_| {}).await
}

async fn shop_with(tweak: impl FnOnce(&mut orderly::config::Config)) -> TestApp {
    let app = spawn_app_with(|config| {
        let web = config.channels.iter_mut().find(|c| c.id == "web").unwrap();
        web.allow_backorders = true;
        tweak(config);
    })
    .await;
    app.seed_product("MUG", 1000).await;
    app.receive("MUG", "wh-east", 5).await;
    app
}

fn mug(quantity: i64, payment: Option<&str>) -> Value {
    let mut body = order_body("web", &[("MUG", quantity, 1000)]);
    match payment {
        Some(token) => body["payment"] = json!({"method": "card", "token": token}),
        None => {
            body.as_object_mut().unwrap().remove("payment");
        }
    }
    body
}

fn id(order: &Value) -> String {
    order["id"].as_str().unwrap().to_owned()
}

/// The order's entries of `kind`, as (status, resolution).
async fn entries(app: &TestApp, order: &str, kind: &str) -> Vec<(String, Option<String>)> {
    let page = app
        .get(&format!(
            "/exceptions?order_id={order}&kind={kind}&status=all"
        ))
        .await
        .expect(200);
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["status"].as_str().unwrap().to_owned(),
                e["resolution"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

fn open() -> Vec<(String, Option<String>)> {
    vec![("open".into(), None)]
}

fn resolved(why: &str) -> Vec<(String, Option<String>)> {
    vec![("resolved".into(), Some(why.into()))]
}

/// The summaries of the order's timeline entries of `kind`.
async fn said(app: &TestApp, order: &str, kind: &str) -> Vec<String> {
    let timeline = app
        .get(&format!("/orders/{order}/timeline"))
        .await
        .expect(200);
    timeline["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == kind)
        .map(|e| e["summary"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unpaid_order_is_queued_after_half_an_hour_and_leaves_once_paid() {
    let app = shop().await;
    // A bank transfer: due in three days, so it waits unpaid (a card order is cancelled
    // at its 30-minute deadline instead).
    let mut body = mug(1, None);
    body["payment"] = json!({"method": "bank_transfer"});
    let order = app.create_order(&body).await;
    let oid = id(&order);
    app.fire_timers_at(SignedDuration::from_mins(29)).await;
    assert!(entries(&app, &oid, "unpaid").await.is_empty(), "not yet");
    app.fire_timers_at(SignedDuration::from_mins(31)).await;
    assert_eq!(entries(&app, &oid, "unpaid").await, open());
    let board = app.get("/exceptions/payments").await.expect(200);
    assert_eq!(board["queues"][0]["queue"], "payments");
    assert_eq!(board["queues"][0]["open"], 1);
    assert_eq!(board["queues"][0]["oldest_age_minutes"], 0);
    assert_eq!(board["queues"][0]["kinds"][0]["kind"], "unpaid");
    assert_eq!(said(&app, &oid, "watch_raised").await.len(), 1);

    app.fire_timers_at(SignedDuration::from_mins(41)).await;
    let board = app.get("/exceptions").await.expect(200);
    let payments = board["queues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["queue"] == "payments")
        .unwrap();
    assert_eq!(payments["oldest_age_minutes"], 10, "aged with the clock");

    let pay_id = order["payments"][0]["id"].as_str().unwrap();
    app.post(
        &format!("/orders/{oid}/payments/{pay_id}/mark-paid"),
        &json!({"reference": "BANK-77"}),
    )
    .await
    .expect(200);
    assert_eq!(entries(&app, &oid, "unpaid").await, resolved("paid"));
    let left = said(&app, &oid, "watch_cleared").await;
    assert_eq!(left.len(), 1);
    assert!(left[0].contains("paid"), "{left:?}");
    assert_eq!(
        app.get("/exceptions/payments").await.expect(200)["queues"][0]["open"],
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_checkout_payment_is_queued_at_once_and_a_new_card_settles_it() {
    let app = shop().await;
    let order = app.create_order(&mug(1, Some("tok_declined"))).await;
    let oid = id(&order);
    assert_eq!(entries(&app, &oid, "payment_failed").await, open());
    app.post(
        &format!("/orders/{oid}/payments"),
        &json!({"method": "card", "token": "tok_visa"}),
    )
    .await
    .expect(200);
    assert_eq!(
        entries(&app, &oid, "payment_failed").await,
        resolved("paid")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_order_not_released_in_time_is_queued_until_it_is_released_and_shipped() {
    // Released after a 30-minute edit window, and held inside it.
    let app = shop_with(|c| c.fulfillment.release_delay_minutes = 30).await;
    let order = app.create_order(&mug(1, Some("tok_visa"))).await;
    let oid = id(&order);
    app.post(
        &format!("/orders/{oid}/holds"),
        &json!({"reason": "manual"}),
    )
    .await
    .expect(200);
    // A week on: past 4 and 16 business hours whatever weekday the test runs on.
    app.fire_timers_at(SignedDuration::from_hours(24 * 7)).await;
    assert_eq!(entries(&app, &oid, "release_overdue").await, open());
    assert_eq!(entries(&app, &oid, "ship_overdue").await, open());
    let detail = app
        .get(&format!("/exceptions?order_id={oid}&kind=release_overdue"))
        .await
        .expect(200)["data"][0]["detail"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(detail.contains("hold:manual"), "{detail}");

    app.post(
        &format!("/orders/{oid}/holds/manual/release"),
        &json!({"note": "checked"}),
    )
    .await
    .expect(200);
    let released = app.get(&format!("/orders/{oid}")).await.expect(200);
    let fid = first_fulfillment(&released);
    assert_eq!(released["fulfillment_orders"][0]["state"], "released");
    assert_eq!(
        entries(&app, &oid, "release_overdue").await,
        resolved("released")
    );
    assert_eq!(
        entries(&app, &oid, "ship_overdue").await,
        open(),
        "released is not shipped"
    );

    let pkg = app.pick_and_pack(&fid, &[(1, 1)], &["MUG"]).await;
    app.post(
        &format!("/packages/{}/ship", pkg["id"].as_str().unwrap()),
        &json!({}),
    )
    .await
    .expect(200);
    assert_eq!(
        entries(&app, &oid, "ship_overdue").await,
        resolved("shipped")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backordered_units_are_queued_until_stock_arrives() {
    let app = shop().await;
    let order = app.create_order(&mug(7, Some("tok_visa"))).await;
    let oid = id(&order);
    let found = app
        .get(&format!(
            "/exceptions/fulfillment?order_id={oid}&kind=backordered"
        ))
        .await
        .expect(200);
    assert_eq!(found["data"][0]["detail"], "backordered: 2 × MUG");
    app.receive("MUG", "wh-east", 2).await;
    assert_eq!(
        entries(&app, &oid, "backordered").await,
        resolved("no units wait for stock")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_review_hold_is_queued_while_it_holds_and_again_if_placed_again() {
    let app = shop().await;
    let order = app.create_order(&mug(1, Some("tok_visa"))).await;
    let oid = id(&order);
    let hold = json!({"reason": "fraud_review", "note": "card used on 6 emails"});
    app.post(&format!("/orders/{oid}/holds"), &hold)
        .await
        .expect(200);
    assert_eq!(entries(&app, &oid, "fraud_review").await, open());
    app.post(
        &format!("/orders/{oid}/holds/fraud_review/release"),
        &json!({"note": "customer called back"}),
    )
    .await
    .expect(200);
    assert_eq!(
        entries(&app, &oid, "fraud_review").await,
        resolved("hold released")
    );
    // Held again: the entry opens again, not silently stays resolved.
    app.post(&format!("/orders/{oid}/holds"), &hold)
        .await
        .expect(200);
    assert_eq!(entries(&app, &oid, "fraud_review").await, open());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_left_open_is_queued_and_leaves_when_abandoned() {
    let app = shop().await;
    let order = app.create_order(&mug(1, Some("tok_visa"))).await;
    let oid = id(&order);
    let edit = app
        .post(&format!("/orders/{oid}/edits"), &json!({}))
        .await
        .expect(201);
    let eid = edit["id"].as_str().unwrap().to_owned();
    app.fire_timers_at(SignedDuration::from_mins(61)).await;
    assert!(
        app.get(&format!("/exceptions?order_id={oid}&kind=edit_open"))
            .await
            .expect(200)["data"][0]["subject_id"]
            == eid.as_str()
    );
    app.post(
        &format!("/orders/{oid}/edits/{eid}/abandon"),
        &json!({"reason": "customer changed their mind again"}),
    )
    .await
    .expect(200);
    let page = app
        .get(&format!(
            "/exceptions?order_id={oid}&kind=edit_open&status=all"
        ))
        .await
        .expect(200);
    assert_eq!(page["data"][0]["status"], "resolved");
    assert_eq!(page["data"][0]["resolution"], "edit closed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_return_is_queued_while_it_waits_for_its_decision_its_goods_and_its_inspection() {
    use crate::returns_support::{inspect_accepted, receive_at_newark, text};
    let app = crate::returns_policy::coat_shop().await;
    let (order, asked) = crate::returns_policy::coats_in_review(&app).await;
    let (oid, rid) = (text(&order, "id"), text(&asked, "id"));
    let days = |d: i64| SignedDuration::from_hours(24 * d);

    // A business day (a week, whatever the weekday) without a decision.
    app.fire_timers_at(days(7)).await;
    assert_eq!(
        entries_of(&app, &rid, "return_decision_overdue").await,
        open()
    );
    app.post(
        &format!("/returns/{rid}/authorize"),
        &json!({"decision": "approve", "note": "regular customer"}),
    )
    .await
    .expect(200);
    assert_eq!(
        entries_of(&app, &rid, "return_decision_overdue").await,
        resolved("decided")
    );
    // On its way, then three weeks without arriving.
    let rma = text(&asked, "rma");
    let now = app.clock.now().to_string();
    app.track(
        &json!({"id": "r-1", "carrier": "local", "tracking_number": rma,
        "status": "in_transit", "occurred_at": now}),
    )
    .await
    .expect(200);
    app.fire_timers_at(days(7 + 22)).await;
    assert_eq!(
        entries_of(&app, &rid, "return_receipt_overdue").await,
        open()
    );
    receive_at_newark(&app, &rid, &["COAT-BLK-M", "COAT-BLK-M"], true)
        .await
        .expect(200);
    assert_eq!(
        entries_of(&app, &rid, "return_receipt_overdue").await,
        resolved("received or closed")
    );

    // In, and a week without inspection.
    app.fire_timers_at(days(7 + 22 + 7)).await;
    assert_eq!(entries_of(&app, &rid, "inspection_overdue").await, open());
    inspect_accepted(&app, &rid, &[(1, "restock"), (2, "restock")])
        .await
        .expect(200);
    assert_eq!(
        entries_of(&app, &rid, "inspection_overdue").await,
        resolved("inspected or closed")
    );
    let said = said(&app, &oid, "watch_cleared").await;
    assert_eq!(said.len(), 3, "{said:?}");
}

/// The entries of `kind` about subject `id` (a return), as (status, resolution).
async fn entries_of(app: &TestApp, id: &str, kind: &str) -> Vec<(String, Option<String>)> {
    let page = app
        .get(&format!("/exceptions?kind={kind}&status=all"))
        .await
        .expect(200);
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["subject_id"] == id)
        .map(|e| {
            (
                e["status"].as_str().unwrap().to_owned(),
                e["resolution"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_without_the_goods_is_kept_for_a_supervisor_until_resolved_by_hand() {
    use crate::returns_support::{admin_return, ask, text};
    let app = crate::returns::shop(spawn_app().await).await;
    let order = crate::returns::delivered(&app, &[("TEE-BLK-M", 1, 2000)]).await;
    let asked = admin_return(&app, &order, ask(&[(1, 1)], "size_too_small"))
        .await
        .expect(201);
    let rid = text(&asked, "id");
    let done = app
        .post(
            &format!("/returns/{rid}/resolve"),
            &json!({"without_return": true}),
        )
        .await
        .expect(200);
    assert_eq!(done["state"], "completed");
    let page = app
        .get("/exceptions/returns?kind=policy_exception")
        .await
        .expect(200);
    let entry = &page["data"][0];
    assert_eq!(entry["subject_id"], rid.as_str());
    assert_eq!(
        entry["status"], "open",
        "a completed return does not close it"
    );
    assert!(
        entry["detail"]
            .as_str()
            .unwrap()
            .contains("refund_without_return")
    );
    let id = entry["id"].as_str().unwrap();
    app.post(
        &format!("/exceptions/returns/{id}/resolve"),
        &json!({"resolution": "approved: loyal customer, item under 25.00"}),
    )
    .await
    .expect(200);
    assert_eq!(entries_of(&app, &rid, "policy_exception").await.len(), 1);
    assert_eq!(
        entries_of(&app, &rid, "policy_exception").await[0].0,
        "resolved"
    );
}
