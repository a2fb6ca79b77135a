//! Root causes reported through the API: cases resolved about orders that went through
//! different things, counted by channel, carrier, SKU, location and day, leaving the
//! counts when reopened, and scoped to a key's channels.

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

async fn open_and_resolve(app: &TestApp, order: &Value, cause: &str) -> String {
    let opened = app
        .post(
            "/cases",
            &json!({"subject": "A question", "channel": "email", "order": order["number"]}),
        )
        .await
        .expect(201);
    let id = opened["id"].as_str().unwrap().to_owned();
    app.post(
        &format!("/cases/{id}/resolve"),
        &json!({"root_cause": cause}),
    )
    .await
    .expect(200);
    id
}

/// A report's groups as (key, cases, [(cause, cases)]).
type Groups = Vec<(String, u64, Vec<(String, u64)>)>;

fn report(page: &Value) -> Groups {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["key"].as_str().unwrap().to_owned(),
                g["cases"].as_u64().unwrap(),
                g["causes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| {
                        (
                            c["root_cause"].as_str().unwrap().to_owned(),
                            c["cases"].as_u64().unwrap(),
                        )
                    })
                    .collect(),
            )
        })
        .collect()
}

#[tokio::test]
async fn root_causes_are_reported_by_what_the_orders_went_through_and_leave_when_reopened() {
    let app = spawn_app().await;
    let shipped = released(&app).await;
    let pkg = app
        .pick_and_pack(&first_fulfillment(&shipped), &[(1, 1)], &["MUG"])
        .await;
    app.post(
        &format!("/packages/{}/ship", pkg["id"].as_str().unwrap()),
        &json!({}),
    )
    .await
    .expect(200);
    let mut body = order_body("marketplace", &[("MUG", 1, 1000)]);
    body["payment"] = json!({"method": "card", "token": "tok_visa"});
    let other = app.create_order(&body).await;
    open_and_resolve(&app, &shipped, "carrier_delay").await;
    let wrong = open_and_resolve(&app, &shipped, "wrong_item").await;
    open_and_resolve(&app, &other, "wrong_item").await;

    let by = |what: &str| format!("/cases/root-causes?by={what}");
    assert_eq!(
        report(&app.get(&by("channel")).await.expect(200)),
        [
            ("marketplace".into(), 1, vec![("wrong_item".into(), 1)]),
            (
                "web".into(),
                2,
                vec![("carrier_delay".into(), 1), ("wrong_item".into(), 1)]
            ),
        ]
    );
    assert_eq!(
        report(&app.get(&by("carrier")).await.expect(200)),
        [(
            "local".into(),
            2,
            vec![("carrier_delay".into(), 1), ("wrong_item".into(), 1)]
        )],
        "only the shipped order had a carrier"
    );
    let sku = report(&app.get(&by("sku")).await.expect(200));
    assert_eq!(sku[0].0, "MUG");
    assert_eq!(sku[0].1, 3);
    let locations = report(&app.get(&by("location")).await.expect(200));
    assert_eq!(locations.iter().map(|g| g.1).sum::<u64>(), 3);
    // Days are the business calendar's, not UTC's (they differ for hours each night).
    let zone = app
        .state
        .config
        .calendar
        .calendar()
        .unwrap()
        .time_zone()
        .clone();
    let today = app.clock.now().to_zoned(zone).date().to_string();
    assert_eq!(
        report(&app.get("/cases/root-causes").await.expect(200)),
        [(
            today,
            3,
            vec![("wrong_item".into(), 2), ("carrier_delay".into(), 1)]
        )]
    );

    // Reopened: out of the counts until resolved again.
    app.post(
        &format!("/cases/{wrong}/reopen"),
        &json!({"reason": "the customer wrote again"}),
    )
    .await
    .expect(200);
    let channel = report(&app.get(&by("channel")).await.expect(200));
    assert_eq!(
        channel[1],
        ("web".into(), 1, vec![("carrier_delay".into(), 1)])
    );

    // A marketplace key counts only its channel's cases.
    let (_, market) = app
        .key_with(KeySpec {
            channels: Some(vec!["marketplace".to_owned()]),
            ..KeySpec::unbound(Role::Support, "marketplace support")
        })
        .await;
    let seen = send(app.req_as(&market, reqwest::Method::GET, &by("sku")))
        .await
        .expect(200);
    assert_eq!(
        report(&seen),
        [("MUG".into(), 1, vec![("wrong_item".into(), 1)])]
    );

    for (query, code) in [
        (
            "from=2026-12-05T00:00:00Z&to=2026-12-01T00:00:00Z",
            "empty_range",
        ),
        (
            "from=2024-01-01T00:00:00Z&to=2026-01-01T00:00:00Z",
            "range_too_long",
        ),
        ("from=yesterday", "invalid_time"),
    ] {
        let refused = app
            .get(&format!("/cases/root-causes?{query}"))
            .await
            .expect_problem(400, "invalid_query");
        assert_eq!(refused["errors"][0]["code"], code, "{query}");
    }
}
