//! Where returns are seen: `GET /returns` with each of its filters and its cursor pages,
//! a channel-bound key that sees only its channel's returns, and the returns queue that a
//! lost parcel opens and its late arrival closes.

use crate::helpers::*;
use crate::returns::{deliver, delivered, shop};
use crate::returns_support::*;
use jiff::{SignedDuration, Timestamp};
use orderly::app::auth::KeySpec;
use orderly_domain::actor::Role;
use reqwest::Method;
use serde_json::{Value, json};

/// The ids of a page of returns, in its order.
fn ids(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| text(r, "id"))
        .collect()
}

/// Three returns an hour apart: Ana's T-shirt (web, Newark), Ben's lamp (web, Dallas,
/// a change of mind) and Ana's marketplace mug; returns their ids, oldest first.
async fn three_returns(app: &TestApp, t0: Timestamp) -> [String; 3] {
    app.seed_product("LAMP-WHT", 4500).await;
    app.receive("LAMP-WHT", "wh-central", 3).await;
    app.clock.set(t0 - SignedDuration::from_hours(2));
    let tee = delivered(app, &[("TEE-BLK-M", 1, 2000)]).await;
    let mut lamp = order_body("web", &[("LAMP-WHT", 1, 4500)]);
    lamp["customer"]["email"] = json!("ben@example.com");
    let lamp = deliver(app, &lamp).await;
    let mug = deliver(app, &order_body("marketplace", &[("MUG", 1, 1000)])).await;

    let mut out = Vec::new();
    for (n, (order, reason)) in [
        (&tee, "size_too_small"),
        (&lamp, "changed_mind"),
        (&mug, "wrong_item"),
    ]
    .into_iter()
    .enumerate()
    {
        app.clock.set(t0 + SignedDuration::from_hours(n as i64));
        let asked = admin_return(app, order, ask(&[(1, 1)], reason))
            .await
            .expect(201);
        assert_eq!(asked["state"], "authorized", "{asked}");
        out.push(text(&asked, "id"));
    }
    [out[0].clone(), out[1].clone(), out[2].clone()]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_list_filters_by_each_field_and_pages_through_every_return_once() {
    let app = shop(spawn_app().await).await;
    let t0: Timestamp = "2026-12-01T10:00:00Z".parse().unwrap();
    let [tee, lamp, mug] = three_returns(&app, t0).await;
    let (tee, lamp, mug) = (tee.as_str(), lamp.as_str(), mug.as_str());
    // Ana's T-shirt arrives; the others are still out.
    receive_at_newark(&app, tee, &["TEE-BLK-M"], false)
        .await
        .expect(200);

    let list = |query: String| {
        let app = &app;
        async move { ids(&app.get(&format!("/returns?{query}")).await.expect(200)) }
    };
    assert_eq!(list(String::new()).await, [mug, lamp, tee]);
    assert_eq!(list("state=authorized".into()).await, [mug, lamp]);
    assert_eq!(list("state=received".into()).await, [tee]);
    assert_eq!(list("state=completed".into()).await, Vec::<String>::new());
    assert_eq!(list("reason=changed_mind".into()).await, [lamp]);
    assert_eq!(list("customer=ben%40example.com".into()).await, [lamp]);
    assert_eq!(list("customer=ana%40example.com".into()).await, [mug, tee]);
    assert_eq!(list("location_id=wh-central".into()).await, [lamp]);
    assert_eq!(list("location_id=wh-east".into()).await, [mug, tee]);
    let half = |h: i64| enc(&(t0 + SignedDuration::from_mins(h * 30)).to_string());
    assert_eq!(
        list(format!("requested_after={}", half(1))).await,
        [mug, lamp]
    );
    assert_eq!(list(format!("requested_before={}", half(1))).await, [tee]);
    assert_eq!(
        list(format!(
            "requested_after={}&requested_before={}",
            half(1),
            half(3)
        ))
        .await,
        [lamp]
    );
    // A request at exactly the bound is "at or after" it.
    assert_eq!(
        list(format!("requested_after={}", enc(&t0.to_string()))).await,
        [mug, lamp, tee]
    );
    let row = &app.get("/returns?reason=changed_mind").await.expect(200)["data"][0];
    assert_eq!(row["customer_email"], "ben@example.com");
    assert_eq!(row["location_id"], "wh-central");
    assert_eq!(row["channel"], "web");
    assert_eq!(row["value"], 4500);
    assert_eq!(row["refundable"], 4500 - 450 - 695);
    assert_eq!(row["units"], 1);

    // One at a time: every return exactly once, newest first, the last page without a
    // cursor.
    let mut walked = Vec::new();
    let mut path = "/returns?limit=1".to_owned();
    for page_no in 1..=3 {
        let page = app.get(&path).await.expect(200);
        walked.extend(ids(&page));
        match page["next_cursor"].as_str() {
            Some(c) => {
                assert!(page_no < 3, "a cursor after the last return");
                path = format!("/returns?limit=1&cursor={}", enc(c));
            }
            None => assert_eq!(page_no, 3, "no cursor before the last return"),
        }
    }
    assert_eq!(walked, [mug, lamp, tee]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_bound_key_sees_only_its_channels_returns() {
    let app = shop(spawn_app().await).await;
    let [tee, lamp, mug] = three_returns(&app, "2026-12-01T10:00:00Z".parse().unwrap()).await;
    let (tee, lamp, mug) = (tee.as_str(), lamp.as_str(), mug.as_str());
    let (_, market) = app
        .key_with(KeySpec {
            role: Role::Support,
            name: "marketplace desk".into(),
            channels: Some(vec!["marketplace".into()]),
            expires_at: None,
        })
        .await;
    let get = |path: String| send(app.req_as(&market, Method::GET, &path));
    let page = get("/returns".into()).await.expect(200);
    assert_eq!(ids(&page), [mug]);
    assert_eq!(page["data"][0]["channel"], "marketplace");
    let rma = text(&page["data"][0], "rma");
    assert!(rma.starts_with("RMA-MKT-"), "{rma}");
    get(format!("/returns/{mug}")).await.expect(200);
    get(format!("/returns/{rma}")).await.expect(200);

    // Another channel's return is not found, by id or by RMA, nor its label.
    for other in [tee, lamp] {
        get(format!("/returns/{other}"))
            .await
            .expect_problem(404, "return_not_found");
        get(format!("/returns/{other}/label.pdf"))
            .await
            .expect_problem(404, "return_not_found");
        let their_rma = text(
            &app.get(&format!("/returns/{other}")).await.expect(200),
            "rma",
        );
        get(format!("/returns/{their_rma}"))
            .await
            .expect_problem(404, "return_not_found");
    }
    assert_eq!(
        ids(&get("/returns?reason=changed_mind".into()).await.expect(200)),
        Vec::<String>::new()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_parcel_is_a_state_with_a_queue_entry_that_its_arrival_closes() {
    let app = shop(spawn_app().await).await;
    let order = delivered(&app, &[("TEE-BLK-M", 1, 2000)]).await;
    let asked = admin_return(&app, &order, ask(&[(1, 1)], "wrong_item"))
        .await
        .expect(201);
    let (id, rma) = (text(&asked, "id"), text(&asked, "rma"));
    let now = app.clock.now().to_string();
    for (event, status) in [("r-1", "in_transit"), ("r-2", "lost")] {
        app.track(
            &json!({"id": event, "carrier": "local", "tracking_number": rma,
            "status": status, "occurred_at": now}),
        )
        .await
        .expect(200);
    }
    let lost = app.get(&format!("/returns/{id}")).await.expect(200);
    assert_eq!(lost["state"], "lost");
    assert_eq!(lost["items"][0]["reception"], "lost_in_transit");
    assert_eq!(
        queue_entries(&app, "returns").await,
        [("return_lost".to_owned(), id.clone(), "open".to_owned())]
    );
    assert_eq!(
        ids(&app.get("/returns?state=lost").await.expect(200)),
        [id.as_str()]
    );

    // Found after all: it arrives at Newark.
    let found = receive_at_newark(&app, &id, &["TEE-BLK-M"], true)
        .await
        .expect(200);
    assert_eq!(found["state"], "received");
    assert_eq!(found["items"][0]["reception"], "received");
    assert_eq!(
        queue_entries(&app, "returns").await,
        [("return_lost".to_owned(), id, "resolved".to_owned())]
    );
    let kinds = return_events(&app, &text(&order, "id")).await;
    assert_eq!(
        kinds,
        [
            "return_requested",
            "return_label_issued",
            "return_tracked",
            "return_tracked",
            "return_received"
        ]
    );
    app.assert_invariants().await;
}
