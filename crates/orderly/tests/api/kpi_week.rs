//! A scripted week of orders with known outcomes, on the backend the test database names,
//! and the exact value of every KPI it moves: late and on-time deliveries, a short pick,
//! a cancellation, a return for a wrong item with its refund, a customer who writes
//! twice, and a customer who buys again after a delivery. The clock is set for each step
//! (America/New_York is the demo's business calendar: 15:00 UTC is 10:00 there, the
//! same date).

use crate::helpers::*;
use jiff::Timestamp;
use serde_json::{Value, json};

fn at(day: u8, hour: u8) -> Timestamp {
    format!("2026-{}T{hour:02}:00:00Z", day_of(day))
        .parse()
        .unwrap()
}

/// Day 0 is Monday 2026-11-30.
fn day_of(day: u8) -> String {
    if day == 0 {
        "11-30".into()
    } else {
        format!("12-{:02}", day)
    }
}

async fn place(app: &TestApp, email: &str, quantity: i64, when: Timestamp) -> Value {
    place_sku(app, email, ("MUG", quantity, 1000), when).await
}

async fn place_sku(app: &TestApp, email: &str, line: (&str, i64, i64), when: Timestamp) -> Value {
    app.clock.set(when);
    let mut body = card_order(&[line], "tok_visa");
    body["customer"]["email"] = json!(email);
    app.create_order(&body).await
}

/// Picks `picked` of the order's mugs, packs and ships them at `when`, promised by
/// `promise`; returns the tracking number.
async fn ship(
    app: &TestApp,
    order: &Value,
    picked: u32,
    when: Timestamp,
    promise: Option<Timestamp>,
) -> String {
    ship_sku(app, order, "MUG", picked, when, promise).await
}

async fn ship_sku(
    app: &TestApp,
    order: &Value,
    sku: &str,
    picked: u32,
    when: Timestamp,
    promise: Option<Timestamp>,
) -> String {
    app.clock.set(when);
    let scans = vec![sku; picked as usize];
    let pkg = app
        .pick_and_pack(&first_fulfillment(order), &[(1, picked)], &scans)
        .await;
    let shipped = app
        .post(
            &format!("/packages/{}/ship", pkg["id"].as_str().unwrap()),
            &json!({"promised_by": promise.map(|p| p.to_string())}),
        )
        .await
        .expect(200);
    shipped["fulfillment_orders"][0]["shipments"][0]["tracking_number"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn deliver(app: &TestApp, tracking: &str, occurred: Timestamp) {
    app.clock
        .set(occurred + jiff::SignedDuration::from_mins(30));
    app.track(&json!({"id": format!("d-{tracking}"), "carrier": "local",
        "tracking_number": tracking, "status": "delivered", "occurred_at": occurred.to_string()}))
        .await
        .expect(200);
}

fn kpi<'a>(page: &'a Value, name: &str) -> &'a Value {
    page["kpis"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {page}"))
}

/// (value, count, denominator) of a KPI's total.
fn total(page: &Value, name: &str) -> (Option<f64>, i64, Option<i64>) {
    let t = &kpi(page, name)["total"];
    (
        t["value"].as_f64(),
        t["count"].as_i64().unwrap(),
        t["denominator"].as_i64(),
    )
}

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-9)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scripted_week_gives_exactly_the_expected_kpis() {
    let app = spawn_app().await;
    app.seed_product("MUG", 1000).await;
    app.receive("MUG", "wh-central", 10).await;

    // Monday: A ships in 6 h, promised Thursday, delivered Wednesday (on time).
    let a = place(&app, "ana@example.com", 1, at(0, 15)).await;
    let a_track = ship(&app, &a, 1, at(0, 21), Some(at(3, 15))).await;
    // Monday: B wants two, one is not on the shelf (a short pick); the one found ships
    // Tuesday after 24 h, promised Tuesday evening, delivered Thursday (late).
    let b = place(&app, "bo@example.com", 2, at(0, 16)).await;
    let b_track = ship(&app, &b, 1, at(1, 16), Some(at(1, 20))).await;
    // Tuesday: C is placed and cancelled two hours later.
    let c = place(&app, "cy@example.com", 1, at(1, 15)).await;
    app.clock.set(at(1, 17));
    app.cancel(
        c["id"].as_str().unwrap(),
        &json!({"reason": "customer_request"}),
    )
    .await;
    deliver(&app, &a_track, at(2, 14)).await;
    // Wednesday: Ana, delivered an hour ago, buys again; D ships in 4 h with the
    // carrier's own promise and arrives Friday.
    let d = place(&app, "ana@example.com", 1, at(2, 15)).await;
    let d_track = ship(&app, &d, 1, at(2, 19), None).await;
    deliver(&app, &b_track, at(3, 16)).await;
    // Thursday: Ana returns A's mug, the wrong item; it is authorized at once.
    app.clock.set(at(3, 15));
    let asked = send(
        app.client
            .post(app.url("/self-service/returns"))
            .json(&json!({
                "order_number": a["number"], "email": "ana@example.com",
                "items": [{"line_no": 1, "quantity": 1}], "reason": "wrong_item",
                "wanted": {"kind": "refund"}
            })),
    )
    .await
    .expect(201);
    assert_eq!(asked["state"], "authorized", "{asked}");
    let rma = asked["id"].as_str().unwrap().to_owned();
    // Thursday: Bo asks where the rest of the order is, and writes again on Friday.
    app.clock.set(at(3, 17));
    let case = app
        .post(
            "/cases",
            &json!({
                "subject": "Where is my second mug?", "channel": "email", "order": b["number"],
                "contact": {"channel": "email", "summary": "Only one arrived", "order_status": true}
            }),
        )
        .await
        .expect(201);
    let case = case["id"].as_str().unwrap().to_owned();
    deliver(&app, &d_track, at(4, 15)).await;
    app.clock.set(at(4, 17));
    app.post(
        &format!("/cases/{case}/contacts"),
        &json!({"channel": "email", "direction": "inbound", "summary": "Any news?"}),
    )
    .await
    .expect(200);
    // Friday: the mug comes back and is refunded after inspection (one business day
    // after its authorization).
    app.clock.set(at(4, 18));
    app.post(
        &format!("/returns/{rma}/receive"),
        &json!({"location_id": "wh-central", "scans": ["MUG"], "close": true}),
    )
    .await
    .expect(200);
    let inspected = app
        .post(
            &format!("/returns/{rma}/inspect"),
            &json!({"items": [{"item_no": 1, "condition": "like_new", "acceptance": "accepted", "disposition": "restock"}]}),
        )
        .await
        .expect(200);
    assert_eq!(inspected["state"], "completed", "{inspected}");
    let return_refund = inspected["money"]["resolution"]["amount"].as_i64().unwrap();
    // Saturday: the case is resolved.
    app.clock.set(at(5, 15));
    app.post(
        &format!("/cases/{case}/resolve"),
        &json!({"root_cause": "inventory_accuracy"}),
    )
    .await
    .expect(200);
    let cancelled = app
        .get(&format!("/orders/{}", c["id"].as_str().unwrap()))
        .await
        .expect(200);
    let cancel_refund: i64 = cancelled["refunds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["amount"].as_i64().unwrap())
        .sum();
    assert!(cancel_refund > 0, "{cancelled}");

    let week = app
        .get("/metrics/kpis?from=2026-11-30&to=2026-12-06")
        .await
        .expect(200);
    assert_eq!(week["time_zone"], "America/New_York");
    assert_eq!(total(&week, "orders_placed"), (Some(4.0), 4, None));
    // Order to ship: 4 h, 6 h and 24 h.
    let ship_time = &kpi(&week, "order_to_ship")["total"];
    assert_eq!(ship_time["value"], 6.0);
    assert_eq!(ship_time["p90"], 24.0);
    assert!(close(ship_time["mean"].as_f64(), 34.0 / 3.0), "{ship_time}");
    assert_eq!(ship_time["count"], 3);
    assert_eq!(kpi(&week, "order_to_ship")["benchmark"]["met"], true);
    // Cycle time: A in 47 h, D in 48 h; B is not all delivered.
    let cycle = &kpi(&week, "cycle_time")["total"];
    assert_eq!(
        (cycle["value"].as_f64(), cycle["p90"].as_f64()),
        (Some(47.0), Some(48.0))
    );
    assert!(close(cycle["mean"].as_f64(), 47.5));
    // A's (promised by the shop) and D's (by the carrier's service) were on time, B's
    // was late.
    let on_time = total(&week, "on_time_delivery");
    assert!(close(on_time.0, 200.0 / 3.0), "{on_time:?}");
    assert_eq!((on_time.1, on_time.2), (2, Some(3)));
    assert_eq!(kpi(&week, "on_time_delivery")["benchmark"]["met"], false);
    // B's shipment was short picked and A's was the wrong item: one of three was right.
    let accuracy = total(&week, "order_accuracy");
    assert!(close(accuracy.0, 100.0 / 3.0), "{accuracy:?}");
    assert_eq!((accuracy.1, accuracy.2), (2, Some(3)));
    assert_eq!(total(&week, "cancellation_rate"), (Some(25.0), 1, Some(4)));
    assert_eq!(total(&week, "cancellation_time").0, Some(0.0));
    // C's cancellation and A's return were refunded.
    assert_eq!(total(&week, "refund_rate"), (Some(50.0), 2, Some(4)));
    let amounts = &kpi(&week, "refund_amount")["total"]["amounts"];
    assert_eq!(
        amounts,
        &json!([{"currency": "USD", "minor": cancel_refund + return_refund, "refunds": 2}])
    );
    // One unit returned of the three delivered (A, B's one, D).
    let returns = total(&week, "return_rate");
    assert!(close(returns.0, 100.0 / 3.0), "{returns:?}");
    assert_eq!((returns.1, returns.2), (1, Some(3)));
    assert_eq!(total(&week, "returns_cycle").0, Some(1.0));
    assert_eq!(kpi(&week, "returns_cycle")["benchmark"]["met"], true);
    assert_eq!(total(&week, "return_authorization_turnaround").0, Some(0.0));
    assert_eq!(
        total(&week, "policy_exception_rate"),
        (Some(0.0), 0, Some(1))
    );
    assert_eq!(total(&week, "exchange_completion").1, 0);
    // B's short pick and C's cancellation, asked of the warehouse it was released to,
    // put two of the four orders in an exception queue.
    assert_eq!(total(&week, "exception_rate"), (Some(50.0), 2, Some(4)));
    assert_eq!(
        total(&week, "repeat_contact_rate"),
        (Some(100.0), 1, Some(1))
    );
    assert_eq!(
        total(&week, "order_status_contact_rate"),
        (Some(25.0), 1, Some(4))
    );
    assert_eq!(total(&week, "root_causes").1, 1);
    assert_eq!(
        total(&week, "repeat_purchase_rate"),
        (Some(25.0), 1, Some(4))
    );

    // The trend per day: two orders on Monday, one on Tuesday and Wednesday.
    let placed: Vec<i64> = kpi(&week, "orders_placed")["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["count"].as_i64().unwrap())
        .collect();
    assert_eq!(placed, [2, 1, 1, 0, 0, 0, 0]);

    // Grouped: by reason the cancellation keeps every order placed as its base; by
    // carrier, every shipment went with `local`; by category, the mug's.
    let by_reason = app
        .get("/metrics/kpis?from=2026-11-30&to=2026-12-06&group_by=reason")
        .await
        .expect(200);
    let groups = &kpi(&by_reason, "cancellation_rate")["groups"];
    assert_eq!(groups[0]["key"], "customer_request");
    assert_eq!(
        (
            groups[0]["value"].as_f64(),
            groups[0]["denominator"].as_i64()
        ),
        (Some(25.0), Some(4))
    );
    assert_eq!(kpi(&by_reason, "orders_placed")["grouped"], false);
    let by_root = app
        .get("/metrics/kpis?from=2026-11-30&to=2026-12-06&group_by=root_cause")
        .await
        .expect(200);
    assert_eq!(
        kpi(&by_root, "root_causes")["groups"][0]["key"],
        "inventory_accuracy"
    );
    let by_carrier = app
        .get("/metrics/kpis?from=2026-11-30&to=2026-12-06&group_by=carrier")
        .await
        .expect(200);
    let carriers = &kpi(&by_carrier, "order_to_ship")["groups"];
    assert_eq!(carriers.as_array().unwrap().len(), 1, "{carriers}");
    assert_eq!(
        (carriers[0]["key"].as_str(), carriers[0]["count"].as_i64()),
        (Some("local"), Some(3))
    );
    let by_category = app
        .get("/metrics/kpis?from=2026-11-30&to=2026-12-06&group_by=category")
        .await
        .expect(200);
    let categories = &kpi(&by_category, "return_rate")["groups"];
    assert_eq!(categories.as_array().unwrap().len(), 1, "{categories}");
    assert_eq!(
        (
            categories[0]["count"].as_i64(),
            categories[0]["denominator"].as_i64()
        ),
        (Some(1), Some(3))
    );

    // Monday alone: the two orders placed, the two first shipments (A's on Monday, B's on
    // Tuesday is outside), and A's shipment found wrong on Thursday counts on Monday.
    let monday = app
        .get("/metrics/kpis?from=2026-11-30&to=2026-11-30")
        .await
        .expect(200);
    assert_eq!(total(&monday, "orders_placed").1, 2);
    assert_eq!(total(&monday, "order_to_ship").1, 1);
    assert_eq!(total(&monday, "order_accuracy"), (Some(0.0), 1, Some(1)));

    // The dashboard shows the same figures with their charts, narrowed to the web
    // channel, and links to the orders behind them.
    let mut browser =
        crate::console::signed_in(&app, orderly_domain::actor::Role::Supervisor).await;
    let page = browser
        .get("/console/kpis?from=2026-11-30&to=2026-12-06&channel=web")
        .await;
    assert_eq!(page.status, 200, "{}", page.html);
    assert!(
        page.html
            .contains("<strong class=\"big\" data-value>25.0 %</strong>"),
        "{}",
        page.html
    );
    assert!(page.html.contains("Best in class: under 24.0 h"));
    assert!(page.html.contains("6.0 h"), "order to ship's median");
    assert!(page.html.matches("<svg").count() >= 20);
    let cancelled_orders = browser
        .get("/console/kpis/orders?kpi=cancellation_rate&from=2026-11-30&to=2026-12-06&channel=web")
        .await;
    assert_eq!(cancelled_orders.status, 200);
    let number = c["number"].as_str().unwrap();
    assert!(
        cancelled_orders.html.contains(number),
        "{}",
        cancelled_orders.html
    );
    for other in [&a, &b, &d] {
        assert!(
            !cancelled_orders
                .html
                .contains(other["number"].as_str().unwrap())
        );
    }
    let placed = browser
        .get("/console/kpis/orders?kpi=orders_placed&from=2026-11-30&to=2026-11-30")
        .await;
    assert!(placed.html.contains(a["number"].as_str().unwrap()));
    assert!(placed.html.contains(b["number"].as_str().unwrap()));
    assert!(
        !placed.html.contains(d["number"].as_str().unwrap()),
        "D was placed on Wednesday"
    );
    let by_location = browser.get("/console/kpis?location=wh-central").await;
    assert!(
        by_location
            .html
            .contains("Not kept per location: Orders placed"),
        "{}",
        by_location.html
    );

    // The weekly review, from the command line, on the same database: this week beside
    // the one before (empty), as CSV and as HTML with its charts.
    let review = |format: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_orderly"))
            .args([
                "report",
                "weekly",
                "--database",
                &app.db.url,
                "--week",
                "2026-12-02",
            ])
            .args(["--format", format])
            .env("ORDERLY_LOG", "error")
            .output()
            .expect("run orderly report weekly");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let csv = review("csv");
    let rows: Vec<Vec<&str>> = csv.lines().map(|l| l.split(',').collect()).collect();
    assert_eq!(
        rows[0][..5],
        ["kpi", "title", "unit", "this_week", "last_week"]
    );
    let row = |name: &str| rows.iter().find(|r| r[0] == name).unwrap().clone();
    assert_eq!(row("orders_placed")[3..6], ["4", "0", "4"]);
    assert_eq!(row("order_to_ship")[3], "6.00");
    assert_eq!(row("cancellation_rate")[3..7], ["25.00", "", "1", "4"]);
    assert_eq!(row("returns_cycle")[9..], ["≤ 5", "met"]);
    let html = review("html");
    assert!(html.contains("Weekly operations review"));
    assert!(html.contains("2026-11-30 to 2026-12-06"));
    assert!(html.matches("<svg").count() >= 20);

    // And a rebuild from the event log gives the same.
    let before = app
        .get("/metrics/kpis?from=2026-11-30&to=2026-12-06&group_by=channel&period=week")
        .await
        .expect(200);
    app.state.rebuild_kpis().await.expect("rebuild");
    let after = app
        .get("/metrics/kpis?from=2026-11-30&to=2026-12-06&group_by=channel&period=week")
        .await
        .expect(200);
    assert_eq!(before, after);
}

#[tokio::test]
async fn bad_kpi_queries_are_refused_and_roles_without_the_right_get_403() {
    let app = spawn_app().await;
    for (query, code) in [
        ("from=2026-13-01", "invalid_date"),
        ("from=2026-12-07&to=2026-12-01", "empty_range"),
        ("from=2025-01-01&to=2026-12-01", "range_too_long"),
        ("group_by=colour", "unknown_value"),
        ("period=hour", "unknown_value"),
    ] {
        let problem = app
            .get(&format!("/metrics/kpis?{query}"))
            .await
            .expect_problem(400, "invalid_query");
        assert_eq!(field_errors(&problem)[0].1, code, "{query}");
    }
    let (_, integration) = app.key(orderly_domain::actor::Role::Integration).await;
    send(app.req_as(&integration, reqwest::Method::GET, "/metrics/kpis"))
        .await
        .expect_problem(403, "forbidden");
    let (_, bound) = app
        .key_with(orderly::app::auth::KeySpec {
            channels: Some(vec!["marketplace".to_owned()]),
            ..orderly::app::auth::KeySpec::unbound(
                orderly_domain::actor::Role::Supervisor,
                "marketplace supervisor",
            )
        })
        .await;
    send(app.req_as(&bound, reqwest::Method::GET, "/metrics/kpis"))
        .await
        .expect_problem(403, "forbidden");
    let (_, warehouse) = app.key(orderly_domain::actor::Role::Warehouse).await;
    send(app.req_as(&warehouse, reqwest::Method::GET, "/metrics/kpis"))
        .await
        .expect(200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_insight_answers_cover_reorder_points_placement_and_carriers() {
    let app = spawn_app_with(|c| {
        c.kpis.reorder_points = vec![orderly::config::kpis::ReorderPoint {
            sku: "TEE".into(),
            location: "wh-east".into(),
            units: 9,
        }];
    })
    .await;
    app.seed_product("MUG", 1000).await;
    app.receive("MUG", "wh-central", 10).await;
    app.seed_product("TEE", 2000).await;
    app.receive("TEE", "wh-east", 10).await;
    // Austin: a mug from Dallas, the nearest; two T-shirts from Newark, as only Newark
    // has them.
    let near = place(&app, "ana@example.com", 1, at(0, 15)).await;
    let near_track = ship(&app, &near, 1, at(0, 18), Some(at(3, 15))).await;
    let far = place_sku(&app, "bo@example.com", ("TEE", 2, 2000), at(1, 15)).await;
    let far_track = ship_sku(&app, &far, "TEE", 2, at(1, 18), Some(at(4, 15))).await;
    deliver(&app, &near_track, at(2, 15)).await;
    deliver(&app, &far_track, at(3, 14)).await;
    let distance = |location: &str| {
        far["sourcing"]["candidates"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["location_id"] == location)
            .unwrap()["distance_km"]
            .as_i64()
            .unwrap()
    };
    let extra_km = distance("wh-east") - distance("wh-central");
    assert!(extra_km > 0);

    let insight = app.get("/metrics/insight?to=2026-12-03").await.expect(200);
    assert_eq!(
        (insight["from"].as_str(), insight["demand_days"].as_i64()),
        (Some("2026-11-06"), Some(28))
    );
    let stock = |sku: &str| {
        insight["stock"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["sku"] == sku)
            .unwrap_or_else(|| panic!("{sku} in {insight}"))
            .clone()
    };
    let mug = stock("MUG");
    assert_eq!(
        (
            mug["location_id"].as_str(),
            mug["available"].as_i64(),
            mug["shipped_units"].as_i64()
        ),
        (Some("wh-central"), Some(9), Some(1))
    );
    assert!(close(mug["days_of_cover"].as_f64(), 252.0), "{mug}");
    assert!(close(mug["sell_through_percent"].as_f64(), 10.0), "{mug}");
    assert_eq!(
        (
            mug["reorder_point"].as_i64(),
            mug["reorder_point_source"].as_str(),
            mug["low"].as_bool()
        ),
        (Some(1), Some("derived"), Some(false))
    );
    let tee = stock("TEE");
    assert!(close(tee["days_of_cover"].as_f64(), 112.0), "{tee}");
    assert!(close(tee["sell_through_percent"].as_f64(), 20.0), "{tee}");
    assert_eq!(
        (
            tee["reorder_point"].as_i64(),
            tee["reorder_point_source"].as_str(),
            tee["low"].as_bool()
        ),
        (Some(9), Some("configured"), Some(true))
    );

    let p = &insight["placement"];
    assert_eq!(
        (
            p["orders_shipped"].as_i64(),
            p["orders_from_farther"].as_i64()
        ),
        (Some(2), Some(1))
    );
    assert!(close(p["orders_percent"].as_f64(), 50.0));
    assert_eq!(
        (
            p["units_shipped"].as_i64(),
            p["units_from_farther"].as_i64()
        ),
        (Some(3), Some(2))
    );
    assert_eq!(
        (p["farther_shipments"].as_i64(), p["extra_km"].as_i64()),
        (Some(1), Some(extra_km))
    );
    assert_eq!(
        p["skus"],
        json!([{"sku": "TEE", "farther_units": 2, "share_percent": 100.0}])
    );

    let lanes = insight["carriers"].as_array().unwrap();
    assert_eq!(lanes.len(), 1, "{lanes:?}");
    assert_eq!(
        (
            lanes[0]["carrier"].as_str(),
            lanes[0]["zone"].as_str(),
            lanes[0]["shipments"].as_i64()
        ),
        (Some("local"), Some("US-TX"), Some(2))
    );
    assert_eq!(
        (
            lanes[0]["delivered_with_promise"].as_i64(),
            lanes[0]["on_time_percent"].as_f64()
        ),
        (Some(2), Some(100.0))
    );
    assert_eq!(lanes[0]["average_cost"][0]["currency"], "USD", "{lanes:?}");

    // The T-shirts are below their reorder point: one entry in the inventory queue, and
    // it leaves when stock arrives.
    assert_eq!(app.state.check_low_stock().await.unwrap(), (1, 0));
    assert_eq!(
        app.state.check_low_stock().await.unwrap(),
        (0, 0),
        "opened once"
    );
    let queue = app.get("/exceptions/inventory").await.expect(200);
    assert_eq!(queue["data"].as_array().unwrap().len(), 1, "{queue}");
    assert_eq!(
        (
            queue["data"][0]["kind"].as_str(),
            queue["data"][0]["subject_id"].as_str()
        ),
        (Some("low_stock"), Some("TEE@wh-east"))
    );
    app.receive("TEE", "wh-east", 5).await;
    assert_eq!(app.state.check_low_stock().await.unwrap(), (0, 1));
    let queue = app.get("/exceptions/inventory").await.expect(200);
    assert!(queue["data"].as_array().unwrap().is_empty(), "{queue}");

    let (_, bound) = app
        .key_with(orderly::app::auth::KeySpec {
            channels: Some(vec!["web".to_owned()]),
            ..orderly::app::auth::KeySpec::unbound(orderly_domain::actor::Role::Supervisor, "web")
        })
        .await;
    send(app.req_as(&bound, reqwest::Method::GET, "/metrics/insight"))
        .await
        .expect_problem(403, "forbidden");
}
