//! The derived status tells the truth: it follows the goods, never hidden by money;
//! refunds and holds are fields of their own; every value of every state is filterable;
//! a payment deadline that was met or made moot is gone from the order.

use crate::helpers::{TestApp, order_body, spawn_app};
use serde_json::{Value, json};

async fn shop() -> TestApp {
    let app = spawn_app().await;
    app.seed_product("MUG", 1000).await;
    app.receive("MUG", "wh-central", 50).await;
    app
}

async fn mug_order(app: &TestApp) -> Value {
    let mut b = order_body("web", &[("MUG", 2, 1000)]);
    b["payment"] = json!({"method": "card", "token": "tok_visa"});
    app.create_order(&b).await
}

fn id(order: &Value) -> String {
    order["id"].as_str().unwrap().to_owned()
}

/// Picks, packs and ships the order's one fulfillment order; returns its tracking number.
async fn ship(app: &TestApp, order: &Value) -> String {
    let oid = id(order);
    let fid = order["fulfillment_orders"][0]["id"].as_str().unwrap();
    app.pick_and_pack(fid, &[(1, 2)], &["MUG", "MUG"]).await;
    let packed = app.get(&format!("/orders/{oid}")).await.expect(200);
    let pkg = packed["fulfillment_orders"][0]["packages"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post(&format!("/packages/{pkg}/ship"), &json!({}))
        .await
        .expect(200);
    let shipped = app.get(&format!("/orders/{oid}")).await.expect(200);
    shipped["fulfillment_orders"][0]["shipments"][0]["tracking_number"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The ids `GET /orders?{query}` lists.
async fn found(app: &TestApp, query: &str) -> Vec<String> {
    let page = app.get(&format!("/orders?{query}")).await.expect(200);
    page["data"].as_array().unwrap().iter().map(id).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_follows_the_goods_and_every_state_is_filterable() {
    let app = shop().await;
    let paid = mug_order(&app).await;
    let shipped = mug_order(&app).await;
    ship(&app, &shipped).await;
    let delivered = mug_order(&app).await;
    let tracking = ship(&app, &delivered).await;
    let now = jiff::Timestamp::now().to_string();
    app.track(
        &json!({"id": "t-del", "carrier": "local", "tracking_number": tracking,
        "status": "delivered", "occurred_at": now}),
    )
    .await
    .expect(200);
    // A goodwill refund on the delivered order: still delivered, the refund on its own.
    let refunded = app
        .post(
            &format!("/orders/{}/refunds", id(&delivered)),
            &json!({"amount": 300, "reason": "damaged"}),
        )
        .await
        .expect(200);
    assert_eq!(refunded["status"], "delivered");
    assert_eq!(refunded["refund_state"], "partially_refunded");
    assert_eq!(refunded["payment_state"], "partially_refunded");
    let held = mug_order(&app).await;
    let held = app
        .post(
            &format!("/orders/{}/holds", id(&held)),
            &json!({"reason": "manual", "note": "customer asked to wait"}),
        )
        .await
        .expect(200);
    assert_eq!(held["status"], "on_hold");
    assert_eq!(held["on_hold"], true);

    assert_eq!(found(&app, "status=delivered").await, vec![id(&delivered)]);
    assert_eq!(found(&app, "status=shipped").await, vec![id(&shipped)]);
    assert_eq!(found(&app, "status=on_hold").await, vec![id(&held)]);
    assert_eq!(found(&app, "on_hold=true").await, vec![id(&held)]);
    assert_eq!(
        found(&app, "refund_state=partially_refunded").await,
        vec![id(&delivered)]
    );
    assert_eq!(
        found(&app, "fulfillment_state=delivered").await,
        vec![id(&delivered)]
    );
    let unfulfilled = found(&app, "fulfillment_state=unfulfilled&on_hold=false").await;
    assert_eq!(unfulfilled, vec![id(&paid)]);
    assert_eq!(found(&app, "order_state=confirmed").await.len(), 4);
    assert_eq!(found(&app, "payment_state=captured").await.len(), 3);
    assert_eq!(found(&app, "return_state=none").await.len(), 4);
    for bad in [
        "status=partially_refunded",
        "refund_state=maybe",
        "order_state=done",
        "payment_state=paid",
        "on_hold=perhaps",
    ] {
        app.get(&format!("/orders?{bad}"))
            .await
            .expect_problem(400, "invalid_query");
    }

    // Every value the filters accept is declared as an enum in the OpenAPI document.
    let doc = app.get("/openapi.json").await.expect(200);
    let params = doc["paths"]["/api/v1/orders"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .clone();
    let values = |name: &str| -> Vec<String> {
        let p = params.iter().find(|p| p["name"] == name).unwrap();
        assert_eq!(p["in"], "query", "{p}");
        p["schema"]["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("{name} has no enum: {p}"))
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    };
    for v in ["on_hold", "shipped", "delivered", "ready_for_pickup"] {
        assert!(values("status").contains(&v.to_owned()), "{v}");
    }
    assert!(!values("status").contains(&"partially_refunded".to_owned()));
    assert!(values("refund_state").contains(&"refund_failed".to_owned()));
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payment_deadline_met_or_moot_is_cleared_and_said_so() {
    let app = shop().await;
    let paid = mug_order(&app).await;
    assert_eq!(paid["payment_state"], "captured");
    assert_eq!(paid["payment_due_at"], Value::Null);
    let timeline = app
        .get(&format!("/orders/{}/timeline", id(&paid)))
        .await
        .expect(200);
    let cleared = timeline["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "payment_deadline_cleared")
        .expect("the deadline is cleared on the timeline");
    assert!(
        cleared["summary"]
            .as_str()
            .unwrap()
            .starts_with("Payment deadline cleared: met"),
        "{cleared}"
    );

    // A declined order keeps its deadline until it is cancelled.
    let mut b = order_body("web", &[("MUG", 1, 1000)]);
    b["payment"] = json!({"method": "card", "token": "tok_declined"});
    let declined = app.create_order(&b).await;
    assert!(declined["payment_due_at"].is_string());
    let cancelled = app
        .post(
            &format!("/orders/{}/cancellation", id(&declined)),
            &json!({"reason": "customer_request"}),
        )
        .await
        .expect(200);
    assert_eq!(cancelled["payment_due_at"], Value::Null);
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn states_stored_before_the_status_change_are_recomputed_by_its_migration() {
    let app = crate::helpers::spawn_sqlite_app().await;
    app.seed_product("MUG", 1000).await;
    app.receive("MUG", "wh-central", 5).await;
    let order = mug_order(&app).await;
    app.post(
        &format!("/orders/{}/holds", id(&order)),
        &json!({"reason": "manual"}),
    )
    .await
    .expect(200);
    // The database as the previous release left it: the old status, no new columns (nor
    // the later events' stream type, nor the keys' scope, nor returns).
    app.db
        .execute(
            "UPDATE orders SET status = 'paid';
             ALTER TABLE orders DROP COLUMN refund_state;
             ALTER TABLE orders DROP COLUMN on_hold;
             ALTER TABLE events DROP COLUMN stream_type;
             ALTER TABLE api_keys DROP COLUMN channels;
             ALTER TABLE api_keys DROP COLUMN expires_at;
             DROP TABLE returns;
             DROP TABLE rma_counters;
             ALTER TABLE inventory DROP COLUMN quarantine;
             ALTER TABLE stock_movements DROP COLUMN delta_quarantine;
             DROP INDEX events_return_requests;
             DROP INDEX outbox_pending_by_stream;
             DROP TABLE feed_head;
             DROP TABLE event_feed;
             DROP TABLE webhook_subscriptions;
             DROP TABLE webhook_sequences;
             DROP TABLE webhook_deliveries;
             DROP TABLE webhook_attempts;
             DROP TABLE messages;
             DROP TABLE notification_preferences;
             DROP TABLE cases;
             DROP TABLE case_contacts;
             DROP TABLE case_counter;
             DROP TABLE customers;
             DROP INDEX timers_one_watch;
             DROP TABLE case_causes;
             DROP INDEX exceptions_open_counts;
             DROP TABLE console_sessions;
             DROP TABLE console_users;
             DROP TABLE kpi_counts;
             DROP TABLE kpi_marks;
             DROP INDEX shipments_by_location;
             ALTER TABLE shipments DROP COLUMN location_id;
             ALTER TABLE shipments DROP COLUMN shipped_at;
             DELETE FROM refinery_schema_history WHERE version >= 11;",
        )
        .await;

    let path = app.db.sqlite_path.clone().unwrap();
    assert_eq!(orderly_store::migrate(&path).unwrap(), 15);
    assert_eq!(
        app.db
            .count(&format!(
                "SELECT COUNT(*) FROM customers WHERE email = 'ana@example.com' AND id = 'cus_{}'
                   AND name_key = 'ana diaz' AND phone_key = '00105551'",
                &id(&order)[4..]
            ))
            .await,
        1,
        "the order's customer is found by the migration, with its search keys"
    );
    let events = app.db.count("SELECT COUNT(*) FROM events").await;
    assert!(events > 0);
    assert_eq!(
        app.db
            .count("SELECT COUNT(*) FROM events WHERE stream_type = 'order'")
            .await,
        events,
        "every stream before types is an order's"
    );

    assert_eq!(
        app.db
            .count("SELECT COUNT(*) FROM orders WHERE status = 'on_hold' AND on_hold = 1 AND refund_state = 'none'")
            .await,
        1
    );
}
