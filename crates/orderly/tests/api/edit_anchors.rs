//! The open-source anchors' edit bugs, made impossible and tested by name, and the
//! authority and concurrency rules around an edit.

use crate::edits::{id, newark_order};
use crate::helpers::{join_all, send, spawn_app};
use orderly_domain::actor::Role;
use reqwest::Method;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn medusa_16406_an_edit_abandoned_after_partial_fulfillment_leaves_stock_exactly_as_before() {
    let app = spawn_app().await;
    let order = newark_order(&app).await;
    let oid = id(&order);
    // The mug ships from wh-east; the tees stay to be shipped.
    let ful = crate::helpers::first_fulfillment(&order);
    let pkg = app.pick_and_pack(&ful, &[(1, 2), (2, 1)], &["MUG-1"]).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post(&format!("/packages/{pkg}/ship"), &json!({}))
        .await
        .expect(200);
    let stock = |sku: &'static str| {
        let app = &app;
        async move {
            (
                app.stock(sku, "wh-east").await,
                app.stock(sku, "wh-west").await,
            )
        }
    };
    let before = (stock("TEE-BLK-M").await, stock("MUG-1").await);
    let begun = app
        .post(&format!("/orders/{oid}/edits"), &json!({}))
        .await
        .expect(201);
    let edit = id(&begun);
    // The shipped mug cannot be edited away; the tee, packed in part, neither.
    app.post(
        &format!("/orders/{oid}/edits/{edit}/changes"),
        &json!({"changes": [{"type": "remove_line", "line_no": 2}]}),
    )
    .await
    .expect_problem(409, "edit_not_allowed");
    app.post(
        &format!("/orders/{oid}/edits/{edit}/abandon"),
        &json!({"reason": "too late"}),
    )
    .await
    .expect(200);
    assert_eq!((stock("TEE-BLK-M").await, stock("MUG-1").await), before);
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn medusa_11645_and_11591_the_money_difference_survives_and_a_new_payment_counts_what_was_paid()
 {
    let app = spawn_app().await;
    let order = newark_order(&app).await;
    let oid = id(&order);
    // Two increases without payment, then a decrease: what is owed is recomputed from
    // what the order holds each time, never lost and never counted twice.
    for quantity in [3, 4] {
        app.change(
            &oid,
            json!([{"type": "set_quantity", "line_no": 1, "quantity": quantity}]),
        )
        .await
        .expect(201);
    }
    let owed = app.get(&format!("/orders/{oid}")).await.expect(200);
    assert_eq!(owed["balance_due"], 4000);
    let lower = app
        .change(
            &oid,
            json!([{"type": "set_quantity", "line_no": 1, "quantity": 3}]),
        )
        .await
        .expect(201);
    assert_eq!(
        lower["money"]["difference"], 2000,
        "still 20.00 owed, nothing refunded"
    );
    assert_eq!(lower["money"]["refunded_amount"], 0);
    // The new payment is asked only what is missing, beside the 57.00 already captured.
    let paid = app
        .post(
            &format!("/orders/{oid}/payments"),
            &json!({"method": "card", "token": "tok_visa"}),
        )
        .await
        .expect(200);
    assert_eq!(paid["payments"][1]["amount"], 2000);
    assert_eq!(
        (paid["balance_due"].as_i64(), paid["total_amount"].as_i64()),
        (Some(0), Some(7700))
    );
    let holds: Vec<&str> = paid["holds"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|h| h["reason"].as_str())
        .collect();
    assert!(holds.is_empty(), "{holds:?}");
    // And nothing more may be asked: the order is paid.
    app.post(
        &format!("/orders/{oid}/payments"),
        &json!({"method": "card", "token": "tok_visa"}),
    )
    .await
    .expect_problem(409, "payment_not_needed");
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setting_a_price_needs_the_authority_and_support_may_edit_at_the_order_s_prices() {
    let app = spawn_app().await;
    let order = newark_order(&app).await;
    let oid = id(&order);
    let (_, support) = app.key(Role::Support).await;
    let (_, supervisor) = app.key(Role::Supervisor).await;
    let priced = json!({"changes": [{"type": "add_line", "sku": "TEE-BLK-L", "quantity": 1, "unit_price": 1}]});
    let before = app.fingerprint().await;
    send(
        app.req_as(&support, Method::POST, &format!("/orders/{oid}/changes"))
            .json(&priced),
    )
    .await
    .expect_problem(403, "forbidden");
    assert_eq!(app.fingerprint().await, before);
    let at_catalog = json!({"changes": [{"type": "add_line", "sku": "TEE-BLK-L", "quantity": 1}]});
    let done = send(
        app.req_as(&support, Method::POST, &format!("/orders/{oid}/changes"))
            .json(&at_catalog),
    )
    .await
    .expect(201);
    assert_eq!(done["lines"][2]["unit_price"], 2000, "the catalog's price");
    assert!(done["author"].as_str().unwrap().starts_with("support key"));
    let set = send(
        app.req_as(&supervisor, Method::POST, &format!("/orders/{oid}/changes"))
            .json(&priced),
    )
    .await
    .expect(201);
    assert_eq!(set["changes"][0]["price_override"], true);
    let (_, warehouse) = app.key(Role::Warehouse).await;
    send(
        app.req_as(&warehouse, Method::POST, &format!("/orders/{oid}/edits"))
            .json(&json!({})),
    )
    .await
    .expect_problem(403, "forbidden");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_edits_of_the_same_version_race_and_exactly_one_is_applied() {
    let app = spawn_app().await;
    let order = newark_order(&app).await;
    let oid = id(&order);
    let version = app.get(&format!("/orders/{oid}")).await.json()["version"]
        .as_u64()
        .unwrap();
    let edits = [3, 1].map(|quantity| {
        send(
            app.req(Method::POST, &format!("/orders/{oid}/changes"))
                .header("If-Match", format!("\"{version}\""))
                .json(&json!({"changes": [{"type": "set_quantity", "line_no": 1, "quantity": quantity}],
                    "payment": {"method": "card", "token": "tok_visa"}})),
        )
    });
    let answers = join_all(edits).await;
    let won: Vec<_> = answers.iter().filter(|r| r.status == 201).collect();
    assert_eq!(won.len(), 1, "exactly one edit wins");
    for r in answers.iter().filter(|r| r.status != 201) {
        r.expect_problem(412, "precondition_failed");
    }
    let after = app.get(&format!("/orders/{oid}")).await.expect(200);
    assert_eq!(after["changes_count"], 1);
    assert_eq!(
        after["lines"][0]["buckets"]["ordered"],
        won[0].json()["lines"][0]["quantity_after"]
    );
    assert_eq!(after["balance_due"], 0);
    app.assert_invariants().await;
}
