//! Return policies through the API: the version in force when the order was placed
//! judges it, a review is approved only within the role's limit (and nothing changes
//! beyond it), an approval that sets a rule aside is counted as an exception, a review
//! waits in the returns queue until answered, and an unshipped return expires.

use crate::helpers::*;
use crate::returns::{delivered, return_buckets, shop};
use crate::returns_support::*;
use jiff::{SignedDuration, Timestamp};
use orderly_domain::actor::Role;
use reqwest::Method;
use serde_json::{Value, json};

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

/// A shop that also sells a 120.00 coat, so that two are over the auto-approval limit.
pub(crate) async fn coat_shop() -> TestApp {
    let app = shop(spawn_app().await).await;
    app.seed_product("COAT-BLK-M", 12000).await;
    app.receive("COAT-BLK-M", "wh-east", 10).await;
    app
}

/// Two coats (240.00, over the auto-approval limit) delivered and asked back by staff:
/// the order and the return, in review.
pub(crate) async fn coats_in_review(app: &TestApp) -> (Value, Value) {
    let order = delivered(app, &[("COAT-BLK-M", 2, 12000)]).await;
    let asked = admin_return(app, &order, ask(&[(1, 2)], "size_too_large"))
        .await
        .expect(201);
    (order, asked)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_request_is_judged_by_the_version_in_force_when_each_order_was_placed() {
    let app = shop(spawn_app().await).await;
    // One order before the 2026-11 version took effect, one after.
    app.clock.set(at("2026-11-01T12:00:00Z"));
    let before = delivered(&app, &[("TEE-BLK-M", 1, 2000)]).await;
    app.clock.set(at("2026-11-20T12:00:00Z"));
    let after = delivered(&app, &[("TEE-BLK-M", 1, 2000)]).await;
    app.clock.set(at("2026-11-21T09:00:00Z"));

    let old = admin_return(&app, &before, ask(&[(1, 1)], "changed_mind"))
        .await
        .expect(201);
    let new = admin_return(&app, &after, ask(&[(1, 1)], "changed_mind"))
        .await
        .expect(201);

    // The launch policy: 30 days, nothing charged.
    assert_eq!(old["state"], "authorized", "{old}");
    assert_eq!(old["decision"]["policy_version"], "2025-06");
    assert_eq!(old["decision"]["rules"], json!([]));
    assert_eq!(old["required_condition"], "used");
    assert_eq!(old["money"]["value"], 2000);
    assert_eq!(old["money"]["restocking_fee"], 0);
    assert_eq!(old["money"]["return_shipping"], "free");
    assert_eq!(old["money"]["return_shipping_fee"], 0);
    assert_eq!(old["money"]["refundable"], 2000);
    // The holiday policy: 10 % restocking and the 6.95 label for a change of mind.
    assert_eq!(new["state"], "authorized", "{new}");
    assert_eq!(new["decision"]["policy_version"], "2026-11");
    assert_eq!(new["required_condition"], "like_new");
    assert_eq!(new["money"]["value"], 2000);
    assert_eq!(new["money"]["restocking_fee"], 200);
    assert_eq!(new["money"]["return_shipping"], "flat_fee");
    assert_eq!(new["money"]["return_shipping_fee"], 695);
    assert_eq!(new["money"]["refundable"], 1105);

    // The list names each return's version too.
    let list = app.get("/returns").await.expect(200);
    let versions: Vec<(String, String)> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (text(r, "rma"), text(r, "policy_version")))
        .collect();
    assert_eq!(
        versions,
        [
            (text(&new, "rma"), "2026-11".to_owned()),
            (text(&old, "rma"), "2025-06".to_owned())
        ]
    );
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn support_cannot_approve_beyond_its_limit_and_a_supervisor_can() {
    let app = coat_shop().await;
    let (order, asked) = coats_in_review(&app).await;
    let oid = text(&order, "id");
    let id = text(&asked, "id");
    assert_eq!(asked["state"], "needs_review");
    assert_eq!(asked["decision"]["outcome"], "needs_review");
    assert_eq!(
        asked["decision"]["rules"],
        json!(["over_auto_approval_limit"])
    );
    assert_eq!(asked["money"]["value"], 24000);
    assert_eq!(asked["label"], Value::Null, "no label before the approval");

    // 240.00 is beyond support's 100.00: refused, and nothing at all changes.
    let (_, support) = app.key(Role::Support).await;
    let path = format!("/returns/{id}/authorize");
    let before = app.fingerprint().await;
    let refused = send(
        app.req_as(&support, Method::POST, &path)
            .json(&json!({"decision": "approve", "note": "fine by me"})),
    )
    .await
    .expect_problem(403, "forbidden");
    assert_eq!(refused["status"], 403);
    assert_eq!(app.fingerprint().await, before);
    let still = app.get(&format!("/returns/{id}")).await.expect(200);
    assert_eq!(still["state"], "needs_review");
    assert_eq!(still["reviews"], json!([]));
    assert_eq!(still["policy_exceptions"], json!([]));
    let after_refusal = app.get(&format!("/orders/{oid}")).await.expect(200);
    assert_eq!(return_buckets(&after_refusal, 0), (2, 0, 0));
    assert!(
        !return_events(&app, &oid)
            .await
            .contains(&"return_reviewed".to_owned())
    );

    // A supervisor's 1000.00 covers it.
    let (supervisor_id, supervisor) = app.key(Role::Supervisor).await;
    let approved = send(
        app.req_as(&supervisor, Method::POST, &path)
            .json(&json!({"decision": "approve"})),
    )
    .await
    .expect(200);
    assert_eq!(approved["state"], "authorized", "{approved}");
    let review = &approved["reviews"][0];
    assert_eq!(review["approved"], true);
    assert_eq!(review["by"], supervisor_id.as_str());
    assert_eq!(review["role"], "supervisor");
    assert_eq!(review["rules"], json!(["over_auto_approval_limit"]));
    assert_eq!(approved["reviews"].as_array().unwrap().len(), 1);
    // Sending a large return to a person is the policy working: no exception.
    assert_eq!(approved["policy_exceptions"], json!([]));
    assert_eq!(approved["label"]["tracking_number"], approved["rma"]);
    let events = return_events(&app, &oid).await;
    assert_eq!(
        events,
        ["return_requested", "return_reviewed", "return_label_issued"]
    );
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approved_window_extension_is_a_counted_policy_exception() {
    let app = shop(spawn_app().await).await;
    let order = delivered(&app, &[("TEE-BLK-M", 1, 2000)]).await;
    app.clock.advance(SignedDuration::from_hours(20 * 24));
    let mut body = ask(&[(1, 1)], "size_too_small");
    body["window_extension"] = json!(true);
    let asked = admin_return(&app, &order, body).await.expect(201);
    assert_eq!(asked["state"], "needs_review");
    assert_eq!(
        asked["decision"]["rules"],
        json!(["window_extension_asked"])
    );
    let id = text(&asked, "id");

    // 20.00 is within support's limit.
    let (_, support) = app.key(Role::Support).await;
    let approved = send(
        app.req_as(&support, Method::POST, &format!("/returns/{id}/authorize"))
            .json(&json!({"decision": "approve", "note": "customer was abroad"})),
    )
    .await
    .expect(200);
    assert_eq!(approved["state"], "authorized");
    assert_eq!(approved["policy_exceptions"], json!(["window_extended"]));
    assert_eq!(approved["reviews"][0]["note"], "customer was abroad");
    assert_eq!(
        approved["reviews"][0]["rules"],
        json!(["window_extension_asked"])
    );
    let timeline = app
        .get(&format!("/orders/{}/timeline", text(&order, "id")))
        .await
        .expect(200);
    let reviewed = timeline["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "return_reviewed")
        .unwrap()
        .clone();
    let summary = text(&reviewed, "summary");
    assert!(
        summary.contains("policy exception: window_extended"),
        "{summary}"
    );
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_warehouse_key_cannot_ask_for_a_return() {
    let app = shop(spawn_app().await).await;
    let order = delivered(&app, &[("TEE-BLK-M", 1, 2000)]).await;
    let (_, warehouse) = app.key(Role::Warehouse).await;
    let before = app.fingerprint().await;
    staff_return(
        &app,
        &warehouse,
        &text(&order, "number"),
        ask(&[(1, 1)], "size_too_small"),
    )
    .await
    .expect_problem(403, "forbidden");
    assert_eq!(app.fingerprint().await, before);
    assert_eq!(app.get("/returns").await.expect(200)["data"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_review_waits_in_the_returns_queue_until_it_is_answered() {
    let app = coat_shop().await;
    let (_, asked) = coats_in_review(&app).await;
    let id = text(&asked, "id");
    assert_eq!(
        queue_entries(&app, "returns").await,
        [("return_review".to_owned(), id.clone(), "open".to_owned())]
    );
    let open = app.get("/exceptions/returns").await.expect(200);
    let detail = text(&open["data"][0], "detail");
    assert!(
        detail.contains("over_auto_approval_limit") && detail.contains(&text(&asked, "rma")),
        "{detail}"
    );

    app.post(
        &format!("/returns/{id}/authorize"),
        &json!({"decision": "approve"}),
    )
    .await
    .expect(200);
    assert_eq!(
        queue_entries(&app, "returns").await,
        [("return_review".to_owned(), id, "resolved".to_owned())]
    );
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_authorized_return_not_shipped_in_time_expires_and_frees_its_units() {
    let app = shop(spawn_app().await).await;
    let order = delivered(&app, &[("TEE-BLK-M", 1, 2000)]).await;
    let oid = text(&order, "id");
    let asked = admin_return(&app, &order, ask(&[(1, 1)], "size_too_small"))
        .await
        .expect(201);
    let id = text(&asked, "id");
    assert_eq!(asked["state"], "authorized");
    let ship_by = at(&text(&asked, "ship_by"));
    assert_eq!(
        ship_by,
        app.clock.now() + SignedDuration::from_hours(30 * 24)
    );

    // A day before its date nothing happens; a day after, it is gone.
    app.fire_timers_at(SignedDuration::from_hours(29 * 24))
        .await;
    assert_eq!(
        app.get(&format!("/returns/{id}")).await.expect(200)["state"],
        "authorized"
    );
    app.fire_timers_at(SignedDuration::from_hours(31 * 24))
        .await;
    let expired = app.get(&format!("/returns/{id}")).await.expect(200);
    assert_eq!(expired["state"], "expired", "{expired}");
    let freed = app.get(&format!("/orders/{oid}")).await.expect(200);
    assert_eq!(return_buckets(&freed, 0), (0, 0, 0));
    assert!(
        return_events(&app, &oid)
            .await
            .contains(&"return_expired".to_owned())
    );

    // The unit may be asked back again (late now, so staff ask for an extension).
    let mut again = ask(&[(1, 1)], "size_too_small");
    again["window_extension"] = json!(true);
    let second = admin_return(&app, &order, again).await.expect(201);
    assert_eq!(second["state"], "needs_review");
    assert_eq!(
        second["decision"]["rules"],
        json!(["window_extension_asked"])
    );
    let held = app.get(&format!("/orders/{oid}")).await.expect(200);
    assert_eq!(return_buckets(&held, 0), (1, 0, 0));
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finance_approves_a_review_and_the_return_gets_its_label() {
    let app = coat_shop().await;
    let (_, asked) = coats_in_review(&app).await;
    let id = text(&asked, "id");
    let (_, finance) = app.key(Role::Finance).await;
    let approved = send(
        app.req_as(&finance, Method::POST, &format!("/returns/{id}/authorize"))
            .json(&json!({"decision": "approve"})),
    )
    .await
    .expect(200);
    assert_eq!(approved["state"], "authorized");
    assert_eq!(approved["reviews"][0]["role"], "finance");
    assert_eq!(approved["label"]["tracking_number"], approved["rma"]);
    app.assert_invariants().await;
}
