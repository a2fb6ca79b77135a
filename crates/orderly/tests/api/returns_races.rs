//! Returns raced: two requests for the same delivered units, two receipts of the same
//! unit and two resolutions of one return, each sent at once; exactly one of each wins
//! and the loser is told why, with the units, the stock and the money counted once.

use crate::helpers::*;
use crate::returns::{delivered, return_buckets, shop};
use crate::returns_support::*;
use serde_json::{Value, json};

/// Runs `n` copies of the POST of `body` to `path` at once, with the admin key.
async fn at_once(app: &TestApp, path: &str, body: Value, n: usize) -> Vec<Res> {
    let requests = (0..n).map(|_| send(app.req(reqwest::Method::POST, path).json(&body)));
    join_all(requests).await
}

/// The one answer of `answers` with `status`, after asserting the statuses (sorted).
fn one_with(answers: &[Res], statuses: &[u16], status: u16) -> Value {
    let mut seen: Vec<u16> = answers.iter().map(|r| r.status).collect();
    seen.sort_unstable();
    assert_eq!(seen, statuses, "{answers:?}");
    answers.iter().find(|r| r.status == status).unwrap().json()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_requests_for_the_same_units_cannot_both_succeed() {
    let app = shop(spawn_app().await).await;
    let order = delivered(&app, &[("TEE-BLK-M", 1, 2000)]).await;
    let mut body = ask(&[(1, 1)], "size_too_small");
    body["order"] = json!(text(&order, "number"));
    let answers = at_once(&app, "/returns", body, 2).await;
    let won = one_with(&answers, &[201, 422], 201);
    assert_eq!(won["state"], "authorized");
    let lost = answers.iter().find(|r| r.status == 422).unwrap();
    let problem = lost.expect_problem(422, "validation_failed");
    assert_eq!(
        field_errors(&problem),
        [(
            "items[0].quantity".to_owned(),
            "quantity_beyond_returnable".to_owned()
        )]
    );
    let after = app
        .get(&format!("/orders/{}", text(&order, "id")))
        .await
        .expect(200);
    assert_eq!(return_buckets(&after, 0), (1, 0, 0));
    let list = app.get("/returns").await.expect(200);
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_receipts_of_the_same_unit_receive_it_once() {
    let app = shop(spawn_app().await).await;
    let order = delivered(&app, &[("TEE-BLK-M", 1, 2000)]).await;
    let asked = admin_return(&app, &order, ask(&[(1, 1)], "size_too_small"))
        .await
        .expect(201);
    let id = text(&asked, "id");
    let body = json!({"location_id": "wh-east", "scans": ["TEE-BLK-M"]});
    let answers = at_once(&app, &format!("/returns/{id}/receive"), body, 2).await;
    let won = one_with(&answers, &[200, 409], 200);
    assert_eq!(won["state"], "received");
    answers
        .iter()
        .find(|r| r.status == 409)
        .unwrap()
        .expect_problem(409, "already_received");

    let ret = app.get(&format!("/returns/{id}")).await.expect(200);
    assert_eq!(ret["items"].as_array().unwrap().len(), 1);
    assert_eq!(ret["items"][0]["reception"], "received");
    assert_eq!(ret["unexpected_items"], json!([]));
    let after = app
        .get(&format!("/orders/{}", text(&order, "id")))
        .await
        .expect(200);
    assert_eq!(return_buckets(&after, 0), (1, 1, 0));
    let received = return_events(&app, &text(&order, "id"))
        .await
        .into_iter()
        .filter(|k| k == "return_received")
        .count();
    assert_eq!(received, 1);
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_resolutions_of_one_return_refund_once() {
    let app = shop(spawn_app().await).await;
    let order = delivered(&app, &[("TEE-BLK-M", 1, 2000)]).await;
    let oid = text(&order, "id");
    let asked = admin_return(&app, &order, ask(&[(1, 1)], "size_too_small"))
        .await
        .expect(201);
    let id = text(&asked, "id");
    // Keep it: the admin refunds without the goods coming back, twice at once.
    let body = json!({"without_return": true});
    let answers = at_once(&app, &format!("/returns/{id}/resolve"), body, 2).await;
    let won = one_with(&answers, &[200, 409], 200);
    answers
        .iter()
        .find(|r| r.status == 409)
        .unwrap()
        .expect_problem(409, "return_already_resolved");
    assert_eq!(won["state"], "completed", "{won}");
    assert_eq!(won["policy_exceptions"], json!(["refund_without_return"]));
    assert_eq!(won["money"]["resolution"]["amount"], 2000);
    assert_eq!(won["money"]["resolution"]["refund_status"], "succeeded");

    assert_eq!(app.simulator_calls("refund"), 1);
    let after = app.get(&format!("/orders/{oid}")).await.expect(200);
    let refunds = after["refunds"].as_array().unwrap();
    assert_eq!(refunds.len(), 1, "{refunds:?}");
    assert_eq!(refunds[0]["amount"], 2000);
    assert_eq!(refunds[0]["status"], "succeeded");
    assert_eq!(after["payments"][0]["refunded"], 2000);
    app.assert_invariants().await;
}
