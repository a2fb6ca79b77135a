//! Customers through the API: one record per person across channels (found by email,
//! name or phone), the profile their orders give them (lifetime value, return rate,
//! flags), the decisions support takes (flags, notes, merges) with who took them, and
//! a channel-bound key seeing only what its channels sold.

use crate::helpers::*;
use orderly::app::auth::KeySpec;
use orderly_domain::actor::Role;
use reqwest::Method;
use serde_json::{Value, json};

async fn order_for(app: &TestApp, channel: &str, email: &str, name: Option<&str>) -> Value {
    let mut body = order_body(channel, &[("MUG", 1, 1000)]);
    body["customer"] = json!({"email": email, "name": name, "phone": null});
    app.create_order(&body).await
}

async fn stocked() -> TestApp {
    let app = spawn_app().await;
    app.seed_product("MUG", 1000).await;
    app.receive("MUG", "wh-east", 50).await;
    app
}

fn ids(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn search(app: &TestApp, key: &str, query: &str) -> Vec<String> {
    ids(
        &send(app.req_as(key, Method::GET, &format!("/customers?{query}")))
            .await
            .expect(200),
    )
}

#[tokio::test]
async fn one_person_across_channels_with_lifetime_value_flags_notes_and_their_authors() {
    let app = stocked().await;
    // The storefront order has the phone; the marketplace one is the same email in
    // other capitals and no phone.
    let web = app
        .create_order(&order_body("web", &[("MUG", 2, 1000)]))
        .await;
    let market = order_for(&app, "marketplace", "ANA@Example.com", Some("Ana Diaz")).await;
    let web_id = web["id"].as_str().unwrap();
    assert_eq!(web["payment_state"], "captured", "captured when authorized");
    app.post(
        &format!("/orders/{web_id}/refunds"),
        &json!({"amount": 300, "reason": "customer_request"}),
    )
    .await
    .expect(200);
    let (support_id, support) = app.key(Role::Support).await;

    let found = search(&app, &support, "email=Ana%40").await;
    assert_eq!(found.len(), 1, "one record for both orders");
    let id = found[0].clone();
    assert_eq!(
        id,
        web_id.replacen("ord_", "cus_", 1),
        "named after the first order"
    );
    assert_eq!(
        search(&app, &support, "phone=555-0100").await,
        std::slice::from_ref(&id)
    );
    assert_eq!(
        search(&app, &support, "name=ana%20%20D").await,
        std::slice::from_ref(&id)
    );
    assert!(search(&app, &support, "name=bo").await.is_empty());

    let view = send(app.req_as(&support, Method::GET, &format!("/customers/{id}")))
        .await
        .expect(200);
    assert_eq!(view["email"], "ana@example.com");
    assert_eq!(view["name"], "Ana Diaz");
    assert_eq!(
        view["phone"], "+1 555 0100",
        "a later order without a phone keeps it"
    );
    assert_eq!(view["orders_count"], 2);
    let web_total = web["total_amount"].as_i64().unwrap();
    let market_total = market["total_amount"].as_i64().unwrap();
    assert_eq!(
        view["spend"],
        json!([{"currency": "USD", "ordered": web_total + market_total,
            "captured": web_total, "refunded": 300, "lifetime_value": web_total - 300}])
    );
    assert_eq!(view["refunds"], 1);
    assert_eq!(view["cancelled_orders"], 0);
    assert_eq!(
        view["return_rate_percent"],
        Value::Null,
        "nothing shipped yet"
    );
    let listed: Vec<&str> = view["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["number"].as_str().unwrap())
        .collect();
    assert_eq!(
        listed,
        [
            market["number"].as_str().unwrap(),
            web["number"].as_str().unwrap()
        ],
        "newest first"
    );
    // By email too, in any case.
    let by_email = send(app.req_as(&support, Method::GET, "/customers/ANA%40example.com"))
        .await
        .expect(200);
    assert_eq!(by_email["id"], id.as_str());

    let flagged = send(
        app.req_as(&support, Method::POST, &format!("/customers/{id}/flags"))
            .json(&json!({"flag": "vip", "reason": "top spender"})),
    )
    .await
    .expect(200);
    assert_eq!(flagged["flags"][0]["flag"], "vip");
    assert_eq!(flagged["flags"][0]["by"], format!("api_key:{support_id}"));
    send(
        app.req_as(&support, Method::POST, &format!("/customers/{id}/flags"))
            .json(&json!({"flag": "vip", "reason": "again"})),
    )
    .await
    .expect_problem(409, "flag_already_set");
    send(
        app.req_as(&support, Method::POST, &format!("/customers/{id}/notes"))
            .json(&json!({"text": "Prefers a call to an email"})),
    )
    .await
    .expect(200);
    send(
        app.req_as(
            &support,
            Method::POST,
            &format!("/customers/{id}/flags/vip/clear"),
        )
        .json(&json!({"reason": "spend fell"})),
    )
    .await
    .expect(200);
    send(
        app.req_as(
            &support,
            Method::POST,
            &format!("/customers/{id}/flags/vip/clear"),
        )
        .json(&json!({"reason": "twice"})),
    )
    .await
    .expect_problem(409, "flag_not_set");

    let history = app
        .get(&format!("/customers/{id}/history"))
        .await
        .expect(200);
    let kinds: Vec<&str> = history["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "customer_flag_raised",
            "customer_note_added",
            "customer_flag_cleared"
        ]
    );
    assert_eq!(history["data"][2]["data"]["reason"], "spend fell");
    assert_eq!(history["data"][0]["actor"], format!("api_key:{support_id}"));
    let view = app.get(&format!("/customers/{id}")).await.expect(200);
    assert_eq!(view["flags"], json!([]));
    assert_eq!(view["notes"][0]["text"], "Prefers a call to an email");

    // The warehouse does not read customers.
    let (_, warehouse) = app.key(Role::Warehouse).await;
    send(app.req_as(&warehouse, Method::GET, &format!("/customers/{id}")))
        .await
        .expect_problem(403, "forbidden");
}

#[tokio::test]
async fn two_records_of_one_person_merge_into_one_and_stay_merged() {
    let app = stocked().await;
    let home = order_for(&app, "web", "ana@example.com", Some("Ana Diaz")).await;
    let work = order_for(&app, "web", "ana.diaz@work.example", Some("Ana Diaz")).await;
    let survivor = home["id"].as_str().unwrap().replacen("ord_", "cus_", 1);
    let absorbed = work["id"].as_str().unwrap().replacen("ord_", "cus_", 1);
    let (_, support) = app.key(Role::Support).await;
    assert_eq!(
        search(&app, &support, "name=ana%20diaz").await,
        [survivor.clone(), absorbed.clone()]
    );

    let merged = send(
        app.req_as(
            &support,
            Method::POST,
            &format!("/customers/{survivor}/merge"),
        )
        .json(&json!({"from": "Ana.Diaz@work.example"})),
    )
    .await
    .expect(200);
    assert_eq!(merged["merged_from"], json!([absorbed]));

    // Either id or email now reads the survivor, with both emails' orders.
    let view = app.get(&format!("/customers/{absorbed}")).await.expect(200);
    assert_eq!(view["id"], survivor.as_str());
    assert_eq!(
        view["emails"],
        json!(["ana@example.com", "ana.diaz@work.example"])
    );
    assert_eq!(view["orders_count"], 2);
    assert_eq!(
        search(&app, &support, "name=ana%20diaz").await,
        std::slice::from_ref(&survivor),
        "found once"
    );
    // A later order under the merged email counts for the survivor.
    order_for(&app, "web", "ana.diaz@work.example", None).await;
    let view = app.get(&format!("/customers/{survivor}")).await.expect(200);
    assert_eq!(view["orders_count"], 3);

    send(
        app.req_as(
            &support,
            Method::POST,
            &format!("/customers/{survivor}/merge"),
        )
        .json(&json!({"from": absorbed})),
    )
    .await
    .expect_problem(409, "customer_merged");
    let itself = send(
        app.req_as(
            &support,
            Method::POST,
            &format!("/customers/{survivor}/merge"),
        )
        .json(&json!({"from": "ana@example.com"})),
    )
    .await
    .expect_problem(422, "validation_failed");
    assert_eq!(
        field_errors(&itself),
        [("from".into(), "same_customer".into())]
    );
    send(
        app.req_as(
            &support,
            Method::POST,
            &format!("/customers/{survivor}/merge"),
        )
        .json(&json!({"from": "nobody@example.com"})),
    )
    .await
    .expect_problem(404, "not_found");
}

#[tokio::test]
async fn a_key_bound_to_a_channel_finds_only_its_customers_and_their_orders_there() {
    let app = stocked().await;
    let web = order_for(&app, "web", "ana@example.com", Some("Ana Diaz")).await;
    order_for(&app, "web", "bo@example.com", Some("Bo Ek")).await;
    let id = web["id"].as_str().unwrap().replacen("ord_", "cus_", 1);
    let (_, market) = app
        .key_with(KeySpec {
            channels: Some(vec!["marketplace".to_owned()]),
            ..KeySpec::unbound(Role::Support, "marketplace support")
        })
        .await;
    send(app.req_as(&market, Method::GET, &format!("/customers/{id}")))
        .await
        .expect_problem(404, "not_found");
    assert!(search(&app, &market, "").await.is_empty());
    send(
        app.req_as(&market, Method::POST, &format!("/customers/{id}/notes"))
            .json(&json!({"text": "x"})),
    )
    .await
    .expect_problem(404, "not_found");

    // Once Ana buys on the marketplace, its staff see her, and only that order.
    let market_order = order_for(&app, "marketplace", "ana@example.com", None).await;
    assert_eq!(search(&app, &market, "").await, std::slice::from_ref(&id));
    let view = send(app.req_as(&market, Method::GET, &format!("/customers/{id}")))
        .await
        .expect(200);
    assert_eq!(view["orders_count"], 1);
    assert_eq!(view["orders"][0]["id"], market_order["id"]);
}

#[tokio::test]
async fn searches_page_and_bad_input_is_refused_with_its_field() {
    let app = stocked().await;
    for (email, name) in [
        ("ana@example.com", "Ana"),
        ("anabel@example.com", "Anabel"),
        ("andre@example.com", "André"),
    ] {
        order_for(&app, "web", email, Some(name)).await;
    }
    let first = app.get("/customers?name=an&limit=2").await.expect(200);
    assert_eq!(first["data"].as_array().unwrap().len(), 2);
    let cursor = first["next_cursor"].as_str().unwrap().to_owned();
    let second = app
        .get(&format!("/customers?name=an&limit=2&cursor={cursor}"))
        .await
        .expect(200);
    let names: Vec<&str> = first["data"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second["data"].as_array().unwrap())
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Ana", "Anabel", "André"]);
    assert_eq!(second["next_cursor"], Value::Null);

    // A cursor of one search is not a position in another.
    app.get(&format!("/customers?email=an&cursor={cursor}"))
        .await
        .expect_problem(400, "invalid_query");
    app.get("/customers?email=a&name=b")
        .await
        .expect_problem(400, "invalid_query");
    assert!(
        app.get("/customers?phone=n%2Fa").await.expect(200)["data"]
            .as_array()
            .unwrap()
            .is_empty(),
        "a phone without digits matches nobody"
    );
    let id = app.get("/customers?email=ana%40").await.expect(200)["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let unknown = app
        .post(
            &format!("/customers/{id}/flags"),
            &json!({"flag": "gold", "reason": "x"}),
        )
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(
        field_errors(&unknown),
        [("flag".into(), "unknown_value".into())]
    );
    let blank = app
        .post(
            &format!("/customers/{id}/flags"),
            &json!({"flag": "vip", "reason": "  "}),
        )
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(field_errors(&blank), [("reason".into(), "required".into())]);
    app.post("/customers/cus_nobody/notes", &json!({"text": "x"}))
        .await
        .expect_problem(404, "not_found");
    let history = app
        .get(&format!("/customers/{id}/history"))
        .await
        .expect(200);
    assert_eq!(history["data"], json!([]), "nothing refused was recorded");
}
