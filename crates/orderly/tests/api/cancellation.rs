//! Cancelling an order: under `If-Match` with the ETag the client read (a stale one is
//! 412 and changes nothing), with the reason codes support uses, and refused once
//! anything shipped, pointing to returns.

use crate::helpers::*;
use crate::returns::{delivered, shop};
use reqwest::Method;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancellation_under_a_stale_etag_is_412_and_changes_nothing() {
    let app = shop(spawn_app().await).await;
    let order = app
        .create_order(&order_body("web", &[("MUG", 1, 1000)]))
        .await;
    let path = format!("/orders/{}", order["id"].as_str().unwrap());
    let read = app.get(&path).await;
    let etag = read.headers["etag"].to_str().unwrap().to_owned();
    assert_eq!(etag, format!("\"{}\"", read.json()["version"]));

    // Something changes the order after the client read it: a hold.
    app.post(&format!("{path}/holds"), &json!({"reason": "manual"}))
        .await
        .expect(200);
    let before = app.fingerprint().await;
    let cancel = |tag: String| {
        send(
            app.req(Method::POST, &format!("{path}/cancellation"))
                .header("if-match", tag)
                .json(&json!({"reason": "address_problem", "note": "no such street"})),
        )
    };
    let stale = cancel(etag)
        .await
        .expect_problem(412, "precondition_failed");
    let now = app.get(&path).await;
    assert!(
        stale["detail"]
            .as_str()
            .unwrap()
            .contains(&format!("version {}", now.json()["version"])),
        "{stale}"
    );
    assert_eq!(
        app.fingerprint().await,
        before,
        "a stale cancellation changes nothing"
    );

    // Released to the warehouse: the cancellation is asked of it, and done once it accepts.
    let fresh = now.headers["etag"].to_str().unwrap().to_owned();
    let asked = cancel(fresh).await;
    assert_eq!(asked.status, 202, "{}", asked.json());
    assert_eq!(asked.json()["cancellation_request"]["state"], "pending");
    assert_eq!(
        asked.headers["etag"].to_str().unwrap(),
        format!("\"{}\"", asked.json()["version"])
    );
    let ful = crate::helpers::asked_of(&asked.json());
    let done = app.accept_cancellation(&ful).await.expect(200);
    assert_eq!(done["status"], "cancelled");
    assert_eq!(done["cancel_reason"], "address_problem");
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shipped_order_is_not_cancelled_but_pointed_to_returns() {
    let app = shop(spawn_app().await).await;
    let order = delivered(&app, &[("MUG", 1, 1000)]).await;
    let refused = app
        .post(
            &format!("/orders/{}/cancellation", order["id"].as_str().unwrap()),
            &json!({"reason": "customer_request"}),
        )
        .await
        .expect_problem(409, "already_shipped");
    assert!(
        refused["detail"]
            .as_str()
            .unwrap()
            .contains("/api/v1/returns"),
        "{refused}"
    );
}
