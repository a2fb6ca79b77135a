//! Support cases through the API: opened from an order with the root cause its history
//! suggests, worked through the queues, resolved only with a configured root cause, and
//! every contact counted per order.

use crate::helpers::*;
use orderly::app::auth::KeySpec;
use orderly_domain::actor::Role;
use serde_json::{Value, json};

/// A card order of one mug, released to Newark.
async fn released(app: &TestApp) -> Value {
    app.seed_product("MUG", 1000).await;
    app.receive("MUG", "wh-east", 5).await;
    let mut body = order_body("web", &[("MUG", 1, 1000)]);
    body["payment"] = json!({"method": "card", "token": "tok_visa"});
    app.create_order(&body).await
}

fn fulfillment_id(order: &Value) -> String {
    order["fulfillment_orders"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn ids(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn queue(app: &TestApp, key: &str, query: &str) -> Vec<String> {
    ids(
        &send(app.req_as(key, reqwest::Method::GET, &format!("/cases?{query}")))
            .await
            .expect(200),
    )
}

#[tokio::test]
async fn a_case_about_a_late_parcel_is_suggested_the_carrier_and_worked_to_closed() {
    let app = spawn_app().await;
    let order = released(&app).await;
    let pkg = app
        .pick_and_pack(&fulfillment_id(&order), &[(1, 1)], &["MUG"])
        .await;
    let shipped = app
        .post(
            &format!("/packages/{}/ship", pkg["id"].as_str().unwrap()),
            &json!({}),
        )
        .await
        .expect(200);
    let tracking = shipped["fulfillment_orders"][0]["shipments"][0]["tracking_number"]
        .as_str()
        .unwrap()
        .to_owned();
    app.track(
        &json!({"id": "late-1", "carrier": "local", "tracking_number": tracking,
        "status": "delayed", "occurred_at": app.clock.now().to_string()}),
    )
    .await
    .expect(200);
    let (support_id, support) = app.key(Role::Support).await;

    let opened = send(
        app.req_as(&support, reqwest::Method::POST, "/cases").json(&json!({
            "subject": "Where is my mug?", "channel": "email", "order": order["number"],
            "contact": {"channel": "email", "summary": "It was due yesterday", "order_status": true}
        })),
    )
    .await
    .expect(201);
    let id = opened["id"].as_str().unwrap().to_owned();
    assert!(
        opened["number"].as_str().unwrap().starts_with("CASE-"),
        "{opened}"
    );
    assert_eq!(opened["status"], "open");
    assert_eq!(opened["suggested_root_cause"], "carrier_delay");
    assert_eq!(opened["customer_email"], "ana@example.com");
    assert_eq!(
        opened["links"][0],
        json!({"kind": "order", "id": order["id"]})
    );
    assert!(
        opened["due_at"].is_string(),
        "a first-response clock runs: {opened}"
    );
    assert_eq!(opened["contacts"].as_array().unwrap().len(), 1);

    assert_eq!(
        queue(&app, &support, "queue=unassigned").await,
        vec![id.clone()]
    );
    assert_eq!(
        queue(&app, &support, "queue=mine").await,
        Vec::<String>::new()
    );
    let assigned = send(
        app.req_as(
            &support,
            reqwest::Method::POST,
            &format!("/cases/{id}/assignment"),
        )
        .json(&json!({"owner": "me", "group": "tier2"})),
    )
    .await
    .expect(200);
    assert_eq!(assigned["owner"], format!("api_key:{support_id}"));
    assert_eq!(queue(&app, &support, "queue=mine").await, vec![id.clone()]);
    assert_eq!(
        queue(&app, &support, "queue=unassigned").await,
        Vec::<String>::new()
    );
    assert_eq!(
        queue(&app, &support, "queue=group&group=tier2").await,
        vec![id.clone()]
    );
    app.post(
        &format!("/cases/{id}/assignment"),
        &json!({"group": "nope"}),
    )
    .await
    .expect_problem(422, "validation_failed");

    // Support answers: the first response is recorded and the clock moves to resolution.
    let answered = app
        .post(
            &format!("/cases/{id}/contacts"),
            &json!({"channel": "email", "direction": "outbound", "summary": "The carrier is late; new date Friday"}),
        )
        .await
        .expect(200);
    assert!(answered["first_response_at"].is_string(), "{answered}");
    assert_ne!(answered["due_at"], opened["due_at"]);

    let refused = app
        .post(
            &format!("/cases/{id}/resolve"),
            &json!({"root_cause": "gremlins"}),
        )
        .await;
    assert_eq!(
        field_errors(&refused.expect_problem(422, "validation_failed")),
        [("root_cause".to_owned(), "unknown_root_cause".to_owned())]
    );
    app.post(&format!("/cases/{id}/close"), &json!({}))
        .await
        .expect_problem(409, "illegal_case_transition");
    let resolved = app
        .post(
            &format!("/cases/{id}/resolve"),
            &json!({"root_cause": "carrier_delay"}),
        )
        .await
        .expect(200);
    assert_eq!(resolved["status"], "resolved");
    assert_eq!(resolved["root_cause"], "carrier_delay");
    assert_eq!(resolved["due_at"], Value::Null);
    assert_eq!(
        queue(&app, &support, "queue=mine").await,
        Vec::<String>::new()
    );
    assert_eq!(
        queue(&app, &support, "status=resolved").await,
        vec![id.clone()]
    );
    let closed = app
        .post(&format!("/cases/{id}/close"), &json!({}))
        .await
        .expect(200);
    assert_eq!(closed["status"], "closed");
    app.post(
        &format!("/cases/{id}/contacts"),
        &json!({"channel": "phone", "summary": "Still nothing"}),
    )
    .await
    .expect_problem(409, "illegal_case_transition");
    // By number too.
    let by_number = app
        .get(&format!("/cases/{}", opened["number"].as_str().unwrap()))
        .await
        .expect(200);
    assert_eq!(by_number["id"], id.as_str());
    assert_eq!(by_number["contacts"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_short_pick_suggests_the_stock_count() {
    let app = spawn_app().await;
    let order = released(&app).await;
    app.post(
        &format!("/fulfillment-orders/{}/pick", fulfillment_id(&order)),
        &json!({"lines": [{"line_no": 1, "picked": 0}]}),
    )
    .await
    .expect(200);
    let opened = app
        .post(
            "/cases",
            &json!({"subject": "Order not shipped", "channel": "chat", "order": order["id"]}),
        )
        .await
        .expect(201);
    assert_eq!(
        opened["suggested_root_cause"], "inventory_accuracy",
        "{opened}"
    );
}

#[tokio::test]
async fn three_contacts_on_one_order_across_two_cases_are_three_contacts_and_a_repeat() {
    let app = spawn_app().await;
    let order = released(&app).await;
    let oid = order["id"].as_str().unwrap();
    let first = app
        .post(
            "/cases",
            &json!({"subject": "Where is it?", "channel": "email", "order": oid,
                "contact": {"channel": "email", "summary": "Where is my order?", "order_status": true}}),
        )
        .await
        .expect(201);
    app.post(
        &format!("/cases/{}/contacts", first["id"].as_str().unwrap()),
        &json!({"channel": "email", "direction": "outbound", "summary": "On its way"}),
    )
    .await
    .expect(200);
    app.post(
        "/cases",
        &json!({"subject": "Change the address", "channel": "phone", "order": oid,
            "contact": {"channel": "phone", "summary": "Wants it at work"}}),
    )
    .await
    .expect(201);

    let contacts = app
        .get(&format!("/orders/{oid}/contacts"))
        .await
        .expect(200);
    assert_eq!(contacts["contacts"], 3);
    assert_eq!(contacts["inbound"], 2);
    assert_eq!(contacts["order_status"], 1);
    assert_eq!(contacts["repeat_contact"], true);
    assert_eq!(contacts["cases"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn cases_follow_their_orders_channel_and_roles_and_bad_input_changes_nothing() {
    let app = spawn_app().await;
    let order = released(&app).await;
    let opened = app
        .post(
            "/cases",
            &json!({"subject": "Question", "channel": "email", "order": order["id"]}),
        )
        .await
        .expect(201);
    let id = opened["id"].as_str().unwrap();
    let (_, other) = app
        .key_with(KeySpec {
            channels: Some(vec!["marketplace".to_owned()]),
            ..KeySpec::unbound(Role::Support, "marketplace support")
        })
        .await;
    send(app.req_as(&other, reqwest::Method::GET, &format!("/cases/{id}")))
        .await
        .expect_problem(404, "not_found");
    assert_eq!(queue(&app, &other, "queue=all").await, Vec::<String>::new());
    send(
        app.req_as(&other, reqwest::Method::POST, "/cases")
            .json(&json!({"subject": "No order", "channel": "email"})),
    )
    .await
    .expect_problem(422, "validation_failed");

    let (_, warehouse) = app.key(Role::Warehouse).await;
    send(app.req_as(&warehouse, reqwest::Method::GET, &format!("/cases/{id}")))
        .await
        .expect(200);
    send(
        app.req_as(
            &warehouse,
            reqwest::Method::POST,
            &format!("/cases/{id}/priority"),
        )
        .json(&json!({"priority": "urgent"})),
    )
    .await
    .expect_problem(403, "forbidden");
    for (body, field) in [
        (json!({"subject": "  ", "channel": "email"}), "subject"),
        (json!({"subject": "x", "channel": "fax"}), "channel"),
        (
            json!({"subject": "x", "channel": "email", "group": "nope"}),
            "group",
        ),
    ] {
        let res = app.post("/cases", &body).await;
        let problem = res.expect_problem(422, "validation_failed");
        assert_eq!(field_errors(&problem)[0].0, field, "{problem}");
    }
    app.post(
        "/cases",
        &json!({"subject": "x", "channel": "email", "order": "ord_nope"}),
    )
    .await
    .expect_problem(404, "order_not_found");
    app.post(
        &format!("/cases/{id}/status"),
        &json!({"status": "resolved"}),
    )
    .await
    .expect_problem(422, "validation_failed");
    let after = app.get(&format!("/cases/{id}")).await.expect(200);
    assert_eq!(after["version"], opened["version"], "nothing changed");
    assert_eq!(
        queue(&app, &app.key(Role::Admin).await.1, "queue=all")
            .await
            .len(),
        1
    );
}

/// Sets the clock to `at` and runs a timer pass there.
async fn timers_at(app: &TestApp, at: &str) {
    let at: jiff::Timestamp = at.parse().unwrap();
    app.clock.set(at);
    app.state.fire_due_timers(at).await.expect("timer pass");
}

#[tokio::test]
async fn an_unanswered_case_escalates_at_exactly_its_due_time_then_level_by_level() {
    let app = spawn_app().await;
    // Monday 10:00 in New York, the demo calendar's zone (Monday to Friday 09:00-18:00).
    app.clock.set("2026-12-07T15:00:00Z".parse().unwrap());
    let opened = app
        .post(
            "/cases",
            &json!({"subject": "Refund?", "channel": "email", "group": "tier1"}),
        )
        .await
        .expect(201);
    let id = opened["id"].as_str().unwrap().to_owned();
    // Normal priority: a first response within 8 business hours, Monday 18:00.
    assert_eq!(opened["due_at"], "2026-12-07T23:00:00.000Z");

    timers_at(&app, "2026-12-07T22:59:59.999Z").await;
    let case = app.get(&format!("/cases/{id}")).await.expect(200);
    assert_eq!(
        (case["escalation_level"].as_u64(), case["priority"].as_str()),
        (Some(0), Some("normal"))
    );
    let breached = app.get("/cases?queue=breached").await.expect(200);
    assert_eq!(ids(&breached), Vec::<String>::new());

    timers_at(&app, "2026-12-07T23:00:00.000Z").await;
    let case = app.get(&format!("/cases/{id}")).await.expect(200);
    assert_eq!(case["escalation_level"], 1, "{case}");
    assert_eq!(case["priority"], "high");
    assert_eq!(case["group"], "tier1");
    assert_eq!(
        ids(&app.get("/cases?queue=breached").await.expect(200)),
        vec![id.clone()]
    );
    // At high priority the clock was due Monday 14:00; level 2 comes 8 business hours
    // later, Tuesday 13:00 (four hours on Monday, four on Tuesday morning).
    timers_at(&app, "2026-12-08T17:59:59.999Z").await;
    assert_eq!(
        app.get(&format!("/cases/{id}")).await.expect(200)["escalation_level"],
        1
    );
    timers_at(&app, "2026-12-08T18:00:00.000Z").await;
    let case = app.get(&format!("/cases/{id}")).await.expect(200);
    assert_eq!(case["escalation_level"], 2);
    assert_eq!(case["priority"], "urgent");
    assert_eq!(case["group"], "tier2");
    // Another pass changes nothing.
    timers_at(&app, "2026-12-09T18:00:00.000Z").await;
    assert_eq!(
        app.get(&format!("/cases/{id}")).await.expect(200)["version"],
        case["version"]
    );
}

#[tokio::test]
async fn support_sees_what_to_tell_the_customer_with_the_orders_open_cases_and_exceptions() {
    let app = spawn_app().await;
    let order = released(&app).await;
    let oid = order["id"].as_str().unwrap();
    let pkg = app
        .pick_and_pack(&fulfillment_id(&order), &[(1, 1)], &["MUG"])
        .await;
    let shipped = app
        .post(
            &format!("/packages/{}/ship", pkg["id"].as_str().unwrap()),
            &json!({}),
        )
        .await
        .expect(200);
    let shipment = &shipped["fulfillment_orders"][0]["shipments"][0];
    let tracking = shipment["tracking_number"].as_str().unwrap();
    app.track(
        &json!({"id": "late-2", "carrier": "local", "tracking_number": tracking,
        "status": "delayed", "occurred_at": app.clock.now().to_string()}),
    )
    .await
    .expect(200);
    app.post(
        &format!("/orders/{oid}/refunds"),
        &json!({"amount": 100, "reason": "customer_request"}),
    )
    .await
    .expect(200);
    app.post(
        "/cases",
        &json!({"subject": "Late", "channel": "chat", "order": oid,
            "contact": {"channel": "chat", "summary": "Where is it?", "order_status": true}}),
    )
    .await
    .expect(201);

    let support = app.get(&format!("/orders/{oid}/support")).await.expect(200);
    let advice: Vec<(&str, &str)> = support["advice"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["topic"].as_str().unwrap(), a["text"].as_str().unwrap()))
        .collect();
    let parcel = advice.iter().find(|(t, _)| *t == "shipment").unwrap().1;
    assert!(
        parcel.starts_with(&format!(
            "Parcel {tracking} (1 unit) with local is delayed, expected by "
        )),
        "{advice:?}"
    );
    let refund = advice.iter().find(|(t, _)| *t == "refund").unwrap().1;
    assert!(
        refund.contains("USD 1.00") || refund.contains("$1.00"),
        "{refund}"
    );
    assert!(
        refund.ends_with("; it arrives within 5-10 business days, depending on your bank"),
        "{refund}"
    );
    let kinds: Vec<&str> = support["open_exceptions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["shipment_delayed"], "{support}");
    assert_eq!(support["open_cases"].as_array().unwrap().len(), 1);
    assert_eq!(support["contacts"], 1);
    assert_eq!(support["repeat_contact"], false);
    // A role that reads orders but not cases or queues sees the advice only.
    let (_, integration) = app.key(Role::Integration).await;
    let theirs = send(app.req_as(
        &integration,
        reqwest::Method::GET,
        &format!("/orders/{oid}/support"),
    ))
    .await
    .expect(200);
    assert_eq!(theirs["advice"], support["advice"]);
    assert_eq!(theirs["open_cases"], json!([]));
    assert_eq!(theirs["open_exceptions"], json!([]));
}
