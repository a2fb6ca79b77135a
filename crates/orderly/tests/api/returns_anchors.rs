//! The open-source anchors' return bugs, each as a test named after its issue: Saleor's
//! returns never restocked, Solidus counted a refused refund as reimbursed, Medusa could
//! not receive without refunding, corrupted the order summary with two returns of one
//! line, and had no return window at all.

use crate::helpers::*;
use crate::returns::{delivered, return_buckets, shop};
use crate::returns_support::*;
use jiff::SignedDuration;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saleor_16667_a_restocked_return_is_sellable_again() {
    let app = spawn_app().await;
    app.seed_product("LAMP-WHT", 4500).await;
    app.receive("LAMP-WHT", "wh-east", 1).await;
    let order = delivered(&app, &[("LAMP-WHT", 1, 4500)]).await;
    assert_eq!(app.stock("LAMP-WHT", "wh-east").await, (0, 0, 0));
    // The last lamp is out: another order for it is refused.
    let mut body = order_body("web", &[("LAMP-WHT", 1, 4500)]);
    body["customer"]["email"] = json!("ben@example.com");
    app.post("/orders", &body)
        .await
        .expect_problem(422, "out_of_stock");

    let asked = admin_return(&app, &order, ask(&[(1, 1)], "size_too_small"))
        .await
        .expect(201);
    let id = text(&asked, "id");
    receive_at_newark(&app, &id, &["LAMP-WHT"], true)
        .await
        .expect(200);
    // Received is not yet sellable: the inspection decides.
    assert_eq!(app.stock("LAMP-WHT", "wh-east").await, (0, 0, 0));
    let inspected = inspect_accepted(&app, &id, &[(1, "restock")])
        .await
        .expect(200);
    assert_eq!(inspected["stock_movements"][0]["reason"], "return_restock");
    assert_eq!(app.stock("LAMP-WHT", "wh-east").await, (1, 0, 1));

    // The returned lamp is the one the next customer gets.
    let next = app.create_order(&body).await;
    assert_eq!(buckets(&next, 0), (1, 1, 0));
    assert_eq!(reservations(&next, 0), [("wh-east".to_owned(), 1)]);
    assert_eq!(app.stock("LAMP-WHT", "wh-east").await, (1, 1, 0));
    let done = app
        .get(&format!("/orders/{}", text(&order, "id")))
        .await
        .expect(200);
    assert_eq!(return_buckets(&done, 0), (1, 1, 1));
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn solidus_1093_a_refused_refund_leaves_the_return_refund_failed_never_completed() {
    let app = shop(spawn_app().await).await;
    // The inspection makes the refund due; the provider refuses it.
    let (order, id, inspected) = tee_inspected_paid_with(&app, "tok_refund_fails_once").await;
    let oid = text(&order, "id");
    assert_eq!(inspected.status, 200, "{}", inspected.json());
    let failed = app.get(&format!("/returns/{id}")).await.expect(200);
    assert_eq!(failed["state"], "refund_failed", "{failed}");
    let res = &failed["money"]["resolution"];
    assert_eq!(res["refund_status"], "refund_failed");
    assert_eq!(res["amount"], 2000);
    let refund_id = text(res, "refund_id");
    let after = app.get(&format!("/orders/{oid}")).await.expect(200);
    assert_eq!(after["refunds"][0]["status"], "refund_failed");
    assert_eq!(after["payments"][0]["refunded"], 0);
    assert_eq!(after["refund_state"], "refund_failed");
    assert!(
        !return_events(&app, &oid)
            .await
            .contains(&"return_completed".to_owned())
    );
    assert_eq!(
        queue_entries(&app, "payments").await,
        [(
            "refund_failed".to_owned(),
            refund_id.clone(),
            "open".to_owned()
        )]
    );
    assert_eq!(
        app.get("/returns?state=refund_failed").await.expect(200)["data"][0]["id"],
        id.as_str()
    );
    app.assert_invariants().await;

    // The retry timer asks again after payments.refund_retry_minutes[0] (15).
    let ids = (id.as_str(), oid.as_str(), refund_id.as_str());
    refund_goes_through_after(&app, ids, SignedDuration::from_mins(15), 2000).await;
    assert_eq!(app.simulator_calls("refund"), 2);
    assert_eq!(
        queue_entries(&app, "payments").await,
        [("refund_failed".to_owned(), refund_id, "resolved".to_owned())]
    );
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn medusa_4052_a_return_is_received_without_being_refunded() {
    let app = shop(spawn_app().await).await;
    let order = delivered(&app, &[("TEE-BLK-M", 1, 2000)]).await;
    let oid = text(&order, "id");
    let asked = admin_return(&app, &order, ask(&[(1, 1)], "wrong_item"))
        .await
        .expect(201);
    let id = text(&asked, "id");
    let received = receive_at_newark(&app, &id, &["TEE-BLK-M"], true)
        .await
        .expect(200);
    assert_eq!(received["state"], "received");
    assert_eq!(received["items"][0]["reception"], "received");
    assert_eq!(received["items"][0]["acceptance"], "pending");
    assert_eq!(received["money"]["resolution"], json!(null));
    let after = app.get(&format!("/orders/{oid}")).await.expect(200);
    assert_eq!(after["refund_state"], "none");
    assert_eq!(after["refunds"], json!([]));
    assert_eq!(return_buckets(&after, 0), (1, 1, 0));
    assert_eq!(app.simulator_calls("refund"), 0);
    assert_eq!(
        app.get(&format!("/returns/{id}")).await.expect(200)["state"],
        "received"
    );
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn medusa_14936_two_returns_of_one_line_keep_the_order_summary_right() {
    let app = spawn_app().await;
    app.seed_product("TEE-GRY-M", 1999).await;
    app.receive("TEE-GRY-M", "wh-east", 5).await;
    let order = delivered(&app, &[("TEE-GRY-M", 2, 1999)]).await;
    let oid = text(&order, "id");
    assert_eq!(order["lines"][0]["paid_amount"], 3998);

    let mut amounts = Vec::new();
    for n in 1..=2u64 {
        let asked = admin_return(&app, &order, ask(&[(1, 1)], "changed_mind"))
            .await
            .expect(201);
        let id = text(&asked, "id");
        // 10 % of 19.99 rounds down to 1.99; the label is 6.95.
        assert_eq!(asked["money"]["restocking_fee"], 199);
        assert_eq!(asked["money"]["return_shipping_fee"], 695);
        receive_at_newark(&app, &id, &["TEE-GRY-M"], true)
            .await
            .expect(200);
        let done = inspect_accepted(&app, &id, &[(1, "restock")])
            .await
            .expect(200);
        assert_eq!(done["state"], "completed", "{done}");
        amounts.push(done["money"]["resolution"]["amount"].as_i64().unwrap());
        let now = app.get(&format!("/orders/{oid}")).await.expect(200);
        assert_eq!(return_buckets(&now, 0), (n, n, n));
        app.assert_invariants().await;
    }
    assert_eq!(amounts, [1105, 1105]);

    let after = app.get(&format!("/orders/{oid}")).await.expect(200);
    let refunded: Vec<i64> = after["refunds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["amount"].as_i64().unwrap())
        .collect();
    assert_eq!(refunded, [1105, 1105]);
    // The line's 39.98 less two fees of 1.99 and two labels of 6.95.
    assert_eq!(refunded.iter().sum::<i64>(), 3998 - 2 * 199 - 2 * 695);
    assert_eq!(after["payments"][0]["refunded"], 2210);
    assert_eq!(after["status"], "returned");
    assert_eq!(after["refund_state"], "partially_refunded");
    assert_eq!(app.stock("TEE-GRY-M", "wh-east").await, (5, 0, 5));

    // Nothing is left to return.
    let problem = admin_return(&app, &order, ask(&[(1, 1)], "changed_mind"))
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(
        field_errors(&problem),
        [(
            "items[0].quantity".to_owned(),
            "quantity_beyond_returnable".to_owned()
        )]
    );
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn medusa_no_window_a_request_after_the_window_is_rejected() {
    let app = shop(spawn_app().await).await;
    let order = delivered(&app, &[("TEE-BLK-M", 1, 2000)]).await;
    let oid = text(&order, "id");
    // The web store's window is 14 days from delivery.
    app.clock.advance(SignedDuration::from_hours(15 * 24));
    let late = self_service(
        &app,
        &text(&order, "number"),
        "ana@example.com",
        ask(&[(1, 1)], "size_too_small"),
    )
    .await
    .expect(201);
    assert_eq!(late["state"], "rejected");
    assert_eq!(late["decision"]["rules"], json!(["outside_window"]));
    let after = app.get(&format!("/orders/{oid}")).await.expect(200);
    assert_eq!(return_buckets(&after, 0), (0, 0, 0));

    // Staff may ask past the window; a person then decides.
    let mut body = ask(&[(1, 1)], "size_too_small");
    body["window_extension"] = json!(true);
    let extended = admin_return(&app, &order, body).await.expect(201);
    assert_eq!(extended["state"], "needs_review");
    assert_eq!(
        extended["decision"]["rules"],
        json!(["window_extension_asked"])
    );
    assert_eq!(extended["label"], json!(null));
    app.assert_invariants().await;
}
