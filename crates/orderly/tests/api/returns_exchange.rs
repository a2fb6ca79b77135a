//! Exchanges: the replacement is reserved when the return is authorized (the last unit
//! cannot be sold meanwhile), waits in an exchange order held until the goods are on
//! their way, ships through ordinary fulfillment, and the price difference is collected
//! on the exchange order when higher and refunded when lower: until it is paid, the
//! exchange order waits however far its goods have come. An exchange and a new order
//! sent at once for the last unit never both get it.

use crate::helpers::*;
use crate::returns::{delivered, return_buckets, shop};
use crate::returns_support::return_events;
use reqwest::Method;
use serde_json::{Value, json};

/// The request for an exchange of line 1's one unit of `order` for `sku`.
fn exchange_ask(order: &Value, sku: &str) -> Value {
    json!({"order": order["number"], "items": [{"line_no": 1, "quantity": 1}],
           "reason": "size_too_small", "wanted": {"kind": "exchange", "sku": sku}})
}

async fn exchange(app: &TestApp, order: &Value, sku: &str) -> Value {
    app.post("/returns", &exchange_ask(order, sku))
        .await
        .expect(201)
}

/// A carrier scan of the return parcel `rma` with `status`, now.
pub async fn scan(app: &TestApp, rma: &str, status: &str) {
    let now = app.clock.now().to_string();
    app.track(&json!({"id": format!("{rma}-{status}"), "carrier": "local",
        "tracking_number": rma, "status": status, "occurred_at": now}))
        .await
        .expect(200);
}

/// Picks, packs and ships the one replacement unit (`sku`) of exchange order `ex`.
async fn ship_replacement(app: &TestApp, ex: &Value, sku: &str) {
    let pkg = app
        .pick_and_pack(&first_fulfillment(ex), &[(1, 1)], &[sku])
        .await;
    app.post(
        &format!("/packages/{}/ship", pkg["id"].as_str().unwrap()),
        &json!({}),
    )
    .await
    .expect(200);
}

/// Receives the return's one unit at Newark and restocks it.
async fn receive_and_restock(app: &TestApp, id: &str, sku: &str) -> Value {
    app.post(
        &format!("/returns/{id}/receive"),
        &json!({"location_id": "wh-east", "scans": [sku], "close": true}),
    )
    .await
    .expect(200);
    app.post(
        &format!("/returns/{id}/inspect"),
        &json!({"items": [{"item_no": 1, "condition": "like_new", "acceptance": "accepted",
                           "disposition": "restock"}]}),
    )
    .await
    .expect(200)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exchange_reserves_the_last_unit_at_authorization_and_ships_once_the_goods_move() {
    let app = shop(spawn_app().await).await;
    app.seed_product("TEE-BLK-S", 2000).await;
    app.receive("TEE-BLK-S", "wh-east", 1).await;
    let order = delivered(&app, &[("TEE-BLK-M", 1, 2000)]).await;

    let asked = exchange(&app, &order, "TEE-BLK-S").await;
    assert_eq!(asked["state"], "authorized", "{asked}");
    let x = &asked["exchange"];
    assert_eq!(
        (x["sku"].clone(), x["price_difference"].clone()),
        (json!("TEE-BLK-S"), json!(0))
    );
    assert_eq!(
        (x["credit"].clone(), x["to_pay"].clone()),
        (json!(2000), json!(0))
    );
    let ex_id = x["order_id"].as_str().unwrap().to_owned();
    let ex = app.get(&format!("/orders/{ex_id}")).await.expect(200);
    assert_eq!(ex["status"], "on_hold", "{ex}");
    assert_eq!(ex["holds"][0]["reason"], "awaiting_return_items");
    assert_eq!(
        stock(&app, "TEE-BLK-S").await,
        (1, 1, 0),
        "the last unit is reserved"
    );

    // Nobody else can buy the last unit meanwhile.
    let mut other = order_body("web", &[("TEE-BLK-S", 1, 2000)]);
    other["customer"]["email"] = json!("bo@example.com");
    app.post("/orders", &other)
        .await
        .expect_problem(422, "out_of_stock");

    // The goods are on their way: the replacement goes to the warehouse and ships.
    let rma = asked["rma"].as_str().unwrap().to_owned();
    scan(&app, &rma, "in_transit").await;
    let ex = app.get(&format!("/orders/{ex_id}")).await.expect(200);
    assert!(ex["holds"].as_array().unwrap().is_empty(), "{ex}");
    assert_eq!(ex["fulfillment_orders"][0]["state"], "released");
    ship_replacement(&app, &ex, "TEE-BLK-S").await;

    let id = asked["id"].as_str().unwrap();
    let done = receive_and_restock(&app, id, "TEE-BLK-M").await;
    assert_eq!(done["state"], "completed", "{done}");
    assert_eq!(done["money"]["resolution"]["amount"], 0);
    assert_eq!(done["money"]["resolution"]["refund_id"], Value::Null);
    assert_eq!(app.simulator_calls("refund"), 0);
    let events = return_events(&app, order["id"].as_str().unwrap()).await;
    assert!(
        events.contains(&"return_exchange_placed".to_owned()),
        "{events:?}"
    );
    app.assert_invariants().await;
}

async fn stock(app: &TestApp, sku: &str) -> (i64, i64, i64) {
    app.stock(sku, "wh-east").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dearer_replacement_is_paid_on_the_exchange_order_and_a_cheaper_one_refunded() {
    let app = shop(spawn_app().await).await;
    app.seed_product("TEE-BLK-XL", 2500).await;
    app.seed_product("TEE-BLK-XS", 1500).await;
    for sku in ["TEE-BLK-XL", "TEE-BLK-XS"] {
        app.receive(sku, "wh-east", 5).await;
    }

    // Dearer: 5.00 to pay; the exchange waits until it is paid.
    let first = delivered(&app, &[("TEE-BLK-M", 1, 2000)]).await;
    let dearer = exchange(&app, &first, "TEE-BLK-XL").await;
    assert_eq!(dearer["exchange"]["price_difference"], 500);
    assert_eq!(dearer["exchange"]["to_pay"], 500);
    let ex_id = dearer["exchange"]["order_id"].as_str().unwrap().to_owned();
    let ex = app.get(&format!("/orders/{ex_id}")).await.expect(200);
    assert_eq!(ex["status"], "pending_payment");
    assert_eq!(ex["total_amount"], 500, "{ex}");
    assert_eq!(
        stock(&app, "TEE-BLK-XL").await,
        (5, 1, 4),
        "reserved while unpaid"
    );
    let paid = app
        .post(
            &format!("/orders/{ex_id}/payments"),
            &json!({"method": "card", "provider": "simulator", "token": "tok_visa"}),
        )
        .await;
    assert!(matches!(paid.status, 200 | 201), "{:?}", paid.json());
    let ex = app.get(&format!("/orders/{ex_id}")).await.expect(200);
    assert_eq!(ex["payment_state"], "captured", "{ex}");
    assert_eq!(ex["status"], "on_hold", "paid, still waiting for the goods");

    // Cheaper: 5.00 back to the card once the goods are in.
    let second = delivered(&app, &[("TEE-BLK-M", 1, 2000)]).await;
    let cheaper = exchange(&app, &second, "TEE-BLK-XS").await;
    assert_eq!(cheaper["exchange"]["price_difference"], -500);
    assert_eq!(cheaper["exchange"]["to_pay"], 0);
    assert_eq!(cheaper["exchange"]["credit"], 1500);
    let done = receive_and_restock(&app, cheaper["id"].as_str().unwrap(), "TEE-BLK-M").await;
    assert_eq!(done["state"], "completed", "{done}");
    assert_eq!(done["money"]["resolution"]["amount"], 500);
    assert_eq!(done["money"]["resolution"]["refund_status"], "succeeded");
    let second = app
        .get(&format!("/orders/{}", second["id"].as_str().unwrap()))
        .await
        .expect(200);
    assert_eq!(second["refunds"][0]["amount"], 500);
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_exchange_gives_its_reservation_back() {
    let app = shop(spawn_app().await).await;
    let order = delivered(&app, &[("TEE-BLK-M", 1, 2000)]).await;
    let asked = exchange(&app, &order, "TEE-BLK-L").await;
    assert_eq!(stock(&app, "TEE-BLK-L").await, (20, 1, 19));
    app.fire_timers_at(jiff::SignedDuration::from_hours(31 * 24))
        .await;
    let expired = app
        .get(&format!("/returns/{}", asked["id"].as_str().unwrap()))
        .await
        .expect(200);
    assert_eq!(expired["state"], "expired");
    let ex_id = asked["exchange"]["order_id"].as_str().unwrap();
    let ex = app.get(&format!("/orders/{ex_id}")).await.expect(200);
    assert_eq!(ex["status"], "cancelled", "{ex}");
    assert_eq!(stock(&app, "TEE-BLK-L").await, (20, 0, 20));
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unpaid_dearer_exchange_waits_while_its_goods_move_and_ships_once_paid() {
    let app = shop(spawn_app().await).await;
    app.seed_product("TEE-BLK-XL", 2500).await;
    app.receive("TEE-BLK-XL", "wh-east", 5).await;
    let order = delivered(&app, &[("TEE-BLK-M", 1, 2000)]).await;
    let asked = exchange(&app, &order, "TEE-BLK-XL").await;
    assert_eq!(asked["exchange"]["to_pay"], 500, "{asked}");
    let ex_id = asked["exchange"]["order_id"].as_str().unwrap().to_owned();
    let ex_path = format!("/orders/{ex_id}");
    let exchange_order = || app.get(&ex_path);
    let ex = exchange_order().await.expect(200);
    assert_eq!(ex["status"], "pending_payment", "{ex}");
    assert_eq!(
        ex["release_blocked_by"],
        json!(["hold:awaiting_return_items", "awaiting_payment"])
    );

    // The goods are on their way: their hold goes, the unpaid 5.00 still holds it back.
    let rma = asked["rma"].as_str().unwrap().to_owned();
    scan(&app, &rma, "in_transit").await;
    let ex = exchange_order().await.expect(200);
    assert_eq!(ex["holds"], json!([]), "{ex}");
    assert_eq!(ex["release_blocked_by"], json!(["awaiting_payment"]));
    assert_eq!(ex["status"], "pending_payment");
    let unreleased = ex["fulfillment_orders"].clone();
    assert_eq!(unreleased[0]["state"], "pending", "{ex}");
    assert_eq!(stock(&app, "TEE-BLK-XL").await, (5, 1, 4), "still reserved");

    // Received and restocked: the return is done, the exchange still waits for its money.
    let id = asked["id"].as_str().unwrap();
    let done = receive_and_restock(&app, id, "TEE-BLK-M").await;
    assert_eq!(done["state"], "completed", "{done}");
    assert_eq!(done["money"]["resolution"]["amount"], 0);
    assert_eq!(app.simulator_calls("refund"), 0);
    let ex = exchange_order().await.expect(200);
    assert_eq!(
        ex["release_blocked_by"],
        json!(["awaiting_payment"]),
        "{ex}"
    );
    assert_eq!(ex["fulfillment_orders"], unreleased);
    assert_eq!(ex["payment_state"], "unpaid");
    assert_eq!(stock(&app, "TEE-BLK-XL").await, (5, 1, 4));
    app.assert_invariants().await;

    // Paid: released to the warehouse, and it ships.
    let paid = app
        .post(
            &format!("/orders/{ex_id}/payments"),
            &json!({"method": "card", "provider": "simulator", "token": "tok_visa"}),
        )
        .await;
    assert!(matches!(paid.status, 200 | 201), "{:?}", paid.json());
    let ex = exchange_order().await.expect(200);
    assert_eq!(ex["payment_state"], "captured", "{ex}");
    assert_eq!(ex["payments"][0]["captured"], 500);
    assert_eq!(ex["release_blocked_by"], json!([]));
    assert_eq!(ex["fulfillment_orders"][0]["state"], "released");
    ship_replacement(&app, &ex, "TEE-BLK-XL").await;
    assert_eq!(stock(&app, "TEE-BLK-XL").await, (4, 0, 4));
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exchange_and_a_new_order_racing_for_the_last_unit_never_both_get_it() {
    let app = shop(spawn_app().await).await;
    app.seed_product("TEE-BLK-S", 2000).await;
    let mut other = order_body("web", &[("TEE-BLK-S", 1, 2000)]);
    other["customer"]["email"] = json!("bo@example.com");
    let (mut to_exchanges, mut to_orders) = (0, 0);
    for round in 1..=4i64 {
        // Each round in a risk velocity window of its own (five orders an email).
        app.clock.advance(jiff::SignedDuration::from_mins(11));
        let order = delivered(&app, &[("TEE-BLK-M", 1, 2000)]).await;
        // One more unit, and only that one, is free for whoever comes first.
        app.receive("TEE-BLK-S", "wh-east", 1).await;
        assert_eq!(stock(&app, "TEE-BLK-S").await, (round, round - 1, 1));
        let asked = exchange_ask(&order, "TEE-BLK-S");
        let (x, o) = tokio::join!(
            send(app.req(Method::POST, "/returns").json(&asked)),
            send(app.req(Method::POST, "/orders").json(&other)),
        );
        match (x.status, o.status) {
            (201, 422) => {
                o.expect_problem(422, "out_of_stock");
                let x = x.json();
                assert_eq!(x["state"], "authorized", "{x}");
                let ex_id = x["exchange"]["order_id"].as_str().unwrap();
                let ex = app.get(&format!("/orders/{ex_id}")).await.expect(200);
                assert_eq!(reservations(&ex, 0), [("wh-east".to_owned(), 1)]);
                to_exchanges += 1;
            }
            (422, 201) => {
                x.expect_problem(422, "out_of_stock");
                assert_eq!(reservations(&o.json(), 0), [("wh-east".to_owned(), 1)]);
                // The refused exchange left no return behind.
                let after = app
                    .get(&format!("/orders/{}", order["id"].as_str().unwrap()))
                    .await
                    .expect(200);
                assert_eq!(return_buckets(&after, 0), (0, 0, 0), "{after}");
                assert_eq!(after["return_state"], "none");
                to_orders += 1;
            }
            statuses => panic!(
                "round {round}: exactly one must get the unit, got {statuses:?}: {} / {}",
                String::from_utf8_lossy(&x.bytes),
                String::from_utf8_lossy(&o.bytes)
            ),
        }
        // Every unit received is reserved once, never twice, never below zero.
        assert_eq!(
            stock(&app, "TEE-BLK-S").await,
            (round, round, 0),
            "round {round}"
        );
        app.assert_invariants().await;
    }
    assert_eq!(to_exchanges + to_orders, 4);
    let returns = app.get("/returns").await.expect(200);
    assert_eq!(returns["data"].as_array().unwrap().len(), to_exchanges);
}
