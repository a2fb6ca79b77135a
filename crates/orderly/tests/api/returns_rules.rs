//! The return policy's rules through the API, each on its own: setting a rule aside at
//! resolution (a waived fee, money without the goods) needs the approval authority for
//! the return's value and is a counted exception; a final-sale item taken back by staff
//! goes to review; only leaf reasons may be given; a reason whose shipping is the
//! customer's own label issues none; store credit never reaches the card provider; photo
//! links are kept and only http(s) ones accepted; and under `on_receipt` the refund goes
//! out when the receipt closes, before inspection.

use crate::helpers::*;
use crate::returns::{delivered, return_buckets, shop};
use crate::returns_policy::coat_shop;
use crate::returns_support::*;
use orderly::config::Config;
use orderly_domain::actor::Role;
use reqwest::Method;
use serde_json::{Value, json};

/// The app on the demo configuration with its return policies as `edit` rewrites the
/// demo's TOML (each edit must change it). Only the `[returns]` section is taken from
/// the rewritten text; the test's own settings (database, port) stay.
pub async fn app_with_policy(edits: &[(&str, &str)]) -> TestApp {
    let mut toml = orderly::DEMO_CONFIG.to_owned();
    for (from, to) in edits {
        assert_eq!(
            toml.matches(from).count(),
            1,
            "the demo configuration has changed: {from:?} is not there exactly once"
        );
        toml = toml.replace(from, to);
    }
    let loaded = Config::load(None, Some(&toml)).expect("the edited policy loads");
    assert!(loaded.return_policies().is_some());
    spawn_app_with(move |c| c.returns = loaded.returns).await
}

/// The 2026-11 version's settings line that the edits below anchor on.
pub const HOLIDAY_TIMING: &str = "refund_timing = \"after_inspection\"\nrefund_method = \"customer_choice\"\nauto_approve_up_to_minor";
const HOLIDAY_WRONG_ITEM: &str =
    "{ code = \"wrong_item\", label = \"Wrong item sent\", return_shipping = \"free\" },";

/// A coat (120.00) and a T-shirt (20.00) delivered and asked back by staff for a change
/// of mind: 140.00 is authorized at once (within the 150.00 auto-approval) but beyond
/// support's 100.00, with the 10 % restocking fee and the 6.95 label. Only the coat has
/// come back and been accepted, so the policy's refund (after inspection of a closed
/// receipt) has not gone out and a person may resolve it by hand. The order and return.
async fn coat_inspected_tee_awaited(app: &TestApp) -> (Value, Value) {
    let order = delivered(app, &[("COAT-BLK-M", 1, 12000), ("TEE-BLK-M", 1, 2000)]).await;
    let asked = admin_return(app, &order, ask(&[(1, 1), (2, 1)], "changed_mind"))
        .await
        .expect(201);
    assert_eq!(asked["state"], "authorized", "{asked}");
    assert_eq!(asked["money"]["value"], 14000);
    assert_eq!(asked["money"]["restocking_fee"], 1400);
    assert_eq!(asked["money"]["return_shipping_fee"], 695);
    assert_eq!(asked["money"]["refundable"], 11905);
    let id = text(&asked, "id");
    let received = receive_at_newark(app, &id, &["COAT-BLK-M"], false)
        .await
        .expect(200);
    assert_eq!(received["state"], "received");
    let inspected = inspect_accepted(app, &id, &[(1, "restock")])
        .await
        .expect(200);
    assert_eq!(inspected["state"], "inspected", "{inspected}");
    assert_eq!(inspected["money"]["resolution"], Value::Null);
    assert_eq!(app.simulator_calls("refund"), 0);
    (order, inspected)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn support_cannot_waive_the_fee_beyond_its_approval_limit_and_nothing_changes() {
    let app = coat_shop().await;
    let (order, ret) = coat_inspected_tee_awaited(&app).await;
    let id = text(&ret, "id");
    let (_, support) = app.key(Role::Support).await;
    let before = app.fingerprint().await;

    let refused = send(
        app.req_as(&support, Method::POST, &format!("/returns/{id}/resolve"))
            .json(&json!({"waive_fee": true})),
    )
    .await
    .expect_problem(403, "forbidden");
    let detail = text(&refused, "detail");
    assert!(detail.contains("approval limit"), "{detail}");

    assert_eq!(app.fingerprint().await, before);
    let still = app.get(&format!("/returns/{id}")).await.expect(200);
    assert_eq!(still["state"], "inspected");
    assert_eq!(still["money"]["resolution"], Value::Null);
    assert_eq!(still["policy_exceptions"], json!([]));
    let after = app
        .get(&format!("/orders/{}", text(&order, "id")))
        .await
        .expect(200);
    assert_eq!(after["refunds"], json!([]));
    assert_eq!(after["refund_state"], "none");
    assert_eq!(app.simulator_calls("refund"), 0);
    assert_eq!(queue_entries(&app, "returns").await, []);
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisor_waives_the_fee_and_the_waiver_is_a_counted_policy_exception() {
    let app = coat_shop().await;
    let (order, ret) = coat_inspected_tee_awaited(&app).await;
    let id = text(&ret, "id");
    let (_, supervisor) = app.key(Role::Supervisor).await;

    let resolved = send(
        app.req_as(&supervisor, Method::POST, &format!("/returns/{id}/resolve"))
            .json(&json!({"waive_fee": true})),
    )
    .await
    .expect(200);
    // The accepted coat's full value: no restocking fee, no label charged.
    let res = &resolved["money"]["resolution"];
    assert_eq!(res["value"], 12000, "{resolved}");
    assert_eq!(res["restocking_fee"], 0);
    assert_eq!(res["return_shipping_fee"], 0);
    assert_eq!(res["amount"], 12000);
    assert_eq!(res["method"], "original_payment");
    assert_eq!(res["refund_status"], "succeeded");
    assert_eq!(resolved["policy_exceptions"], json!(["fee_waived"]));
    // The T-shirt is still awaited: the return is not over.
    assert_eq!(resolved["state"], "inspected");

    assert_eq!(app.simulator_calls("refund"), 1);
    let after = app
        .get(&format!("/orders/{}", text(&order, "id")))
        .await
        .expect(200);
    let refunds = after["refunds"].as_array().unwrap();
    assert_eq!(refunds.len(), 1, "{refunds:?}");
    assert_eq!(refunds[0]["amount"], 12000);
    assert_eq!(refunds[0]["status"], "succeeded");
    assert_eq!(refunds[0]["reason"], "return");

    // Counted: an open entry of the returns queue for a supervisor to look at.
    assert_eq!(
        queue_entries(&app, "returns").await,
        [("policy_exception".to_owned(), id.clone(), "open".to_owned())]
    );
    let page = app
        .get("/exceptions/returns?kind=policy_exception")
        .await
        .expect(200);
    let detail = text(&page["data"][0], "detail");
    assert!(
        detail.contains("fee_waived") && detail.contains(&text(&ret, "rma")),
        "{detail}"
    );
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn support_cannot_refund_without_the_goods_beyond_its_approval_limit_and_nothing_changes() {
    let app = coat_shop().await;
    let order = delivered(&app, &[("COAT-BLK-M", 1, 12000), ("TEE-BLK-M", 1, 2000)]).await;
    let asked = admin_return(&app, &order, ask(&[(1, 1), (2, 1)], "size_too_small"))
        .await
        .expect(201);
    assert_eq!(asked["state"], "authorized", "{asked}");
    let id = text(&asked, "id");
    let (_, support) = app.key(Role::Support).await;
    let before = app.fingerprint().await;

    send(
        app.req_as(&support, Method::POST, &format!("/returns/{id}/resolve"))
            .json(&json!({"without_return": true})),
    )
    .await
    .expect_problem(403, "forbidden");

    assert_eq!(app.fingerprint().await, before);
    let still = app.get(&format!("/returns/{id}")).await.expect(200);
    assert_eq!(still["state"], "authorized");
    assert_eq!(still["money"]["resolution"], Value::Null);
    assert_eq!(still["policy_exceptions"], json!([]));
    let after = app
        .get(&format!("/orders/{}", text(&order, "id")))
        .await
        .expect(200);
    assert_eq!(after["refunds"], json!([]));
    assert_eq!(return_buckets(&after, 0), (1, 0, 0));
    assert_eq!(return_buckets(&after, 1), (1, 0, 0));
    assert_eq!(app.simulator_calls("refund"), 0);
    assert_eq!(queue_entries(&app, "returns").await, []);
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_taking_back_a_final_sale_item_send_it_to_review_and_the_approval_is_an_exception() {
    let app = shop(spawn_app().await).await;
    app.seed_product("SOCK-CREW-S", 900).await;
    app.receive("SOCK-CREW-S", "wh-east", 5).await;
    let order = delivered(&app, &[("SOCK-CREW-S", 1, 900)]).await;
    let mut body = ask(&[(1, 1)], "size_too_small");
    body["final_sale_exception"] = json!(true);
    let asked = admin_return(&app, &order, body).await.expect(201);
    assert_eq!(asked["state"], "needs_review", "{asked}");
    assert_eq!(asked["decision"]["outcome"], "needs_review");
    assert_eq!(
        asked["decision"]["rules"],
        json!(["final_sale_exception_asked"])
    );
    assert_eq!(asked["label"], Value::Null, "no label before the approval");
    let after = app
        .get(&format!("/orders/{}", text(&order, "id")))
        .await
        .expect(200);
    assert_eq!(
        return_buckets(&after, 0),
        (1, 0, 0),
        "a review holds its unit"
    );
    let id = text(&asked, "id");

    let approved = app
        .post(
            &format!("/returns/{id}/authorize"),
            &json!({"decision": "approve", "note": "seam came apart"}),
        )
        .await
        .expect(200);
    assert_eq!(approved["state"], "authorized", "{approved}");
    assert_eq!(
        approved["policy_exceptions"],
        json!(["final_sale_accepted"])
    );
    assert_eq!(
        approved["reviews"][0]["rules"],
        json!(["final_sale_exception_asked"])
    );
    assert_eq!(approved["label"]["tracking_number"], approved["rma"]);
    let entries = queue_entries(&app, "returns").await;
    assert!(
        entries.contains(&("policy_exception".to_owned(), id.clone(), "open".to_owned())),
        "{entries:?}"
    );
    assert!(
        entries.contains(&("return_review".to_owned(), id, "resolved".to_owned())),
        "{entries:?}"
    );
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reason_that_groups_others_is_refused_and_nothing_is_created() {
    let app = shop(spawn_app().await).await;
    let order = delivered(&app, &[("TEE-BLK-M", 1, 2000)]).await;
    let before = app.fingerprint().await;
    // `defective` is the parent of `arrived_damaged` and `stopped_working`.
    let problem = admin_return(&app, &order, ask(&[(1, 1)], "defective"))
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(
        field_errors(&problem),
        [("reason".to_owned(), "not_a_leaf_reason".to_owned())]
    );
    let message = text(&problem["errors"][0], "message");
    assert!(
        message.contains("arrived_damaged") && message.contains("stopped_working"),
        "{message}"
    );
    assert_eq!(app.fingerprint().await, before);
    assert_eq!(app.get("/returns").await.expect(200)["data"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reason_shipped_on_the_customers_own_label_issues_no_label() {
    let own_label = format!(
        "{HOLIDAY_WRONG_ITEM}\n  {{ code = \"too_big_to_post\", label = \"I ship it myself\", \
         return_shipping = \"customer_label\" }},"
    );
    let app = shop(app_with_policy(&[(HOLIDAY_WRONG_ITEM, &own_label)]).await).await;
    let order = delivered(&app, &[("TEE-BLK-M", 1, 2000)]).await;
    let asked = admin_return(&app, &order, ask(&[(1, 1)], "too_big_to_post"))
        .await
        .expect(201);
    assert_eq!(asked["state"], "authorized", "{asked}");
    assert_eq!(asked["decision"]["policy_version"], "2026-11");
    assert_eq!(asked["money"]["return_shipping"], "customer_label");
    assert_eq!(asked["money"]["return_shipping_fee"], 0);
    assert_eq!(asked["money"]["refundable"], 2000);
    assert_eq!(asked["label"], Value::Null);
    let id = text(&asked, "id");

    let problem = app
        .get(&format!("/returns/{id}/label.pdf"))
        .await
        .expect_problem(409, "label_not_issued");
    let detail = text(&problem, "detail");
    assert!(detail.contains("carrier of their own"), "{detail}");
    let shown = app.get(&format!("/returns/{id}")).await.expect(200);
    assert_eq!(shown["label"], Value::Null);
    assert_eq!(
        return_events(&app, &text(&order, "id")).await,
        ["return_requested"]
    );
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_credit_asked_for_is_paid_as_store_credit_and_never_reaches_the_card_provider() {
    let app = shop(spawn_app().await).await;
    let order = delivered(&app, &[("TEE-BLK-M", 1, 2000)]).await;
    let mut body = ask(&[(1, 1)], "size_too_small");
    body["wanted"] = json!({"kind": "store_credit"});
    let asked = admin_return(&app, &order, body).await.expect(201);
    assert_eq!(asked["state"], "authorized", "{asked}");
    assert_eq!(asked["wanted"], "store_credit");
    assert_eq!(asked["money"]["refund_method"], "store_credit");
    assert_eq!(asked["money"]["refundable"], 2000);
    let id = text(&asked, "id");

    receive_at_newark(&app, &id, &["TEE-BLK-M"], true)
        .await
        .expect(200);
    let done = inspect_accepted(&app, &id, &[(1, "restock")])
        .await
        .expect(200);
    assert_eq!(done["state"], "completed", "{done}");
    let res = &done["money"]["resolution"];
    assert_eq!(res["method"], "store_credit");
    assert_eq!(res["amount"], 2000);
    assert_eq!(res["refund_status"], "succeeded");

    assert_eq!(app.simulator_calls("refund"), 0, "no card refund");
    let after = app
        .get(&format!("/orders/{}", text(&order, "id")))
        .await
        .expect(200);
    let refunds = after["refunds"].as_array().unwrap();
    assert_eq!(refunds.len(), 1, "{refunds:?}");
    assert_eq!(refunds[0]["method"], "store_credit");
    assert_eq!(refunds[0]["amount"], 2000);
    assert_eq!(refunds[0]["status"], "succeeded");
    let credit = app
        .get("/customers/ana@example.com/store-credit")
        .await
        .expect(200);
    assert_eq!(credit["balances"]["USD"], 2000, "{credit}");
    assert_eq!(credit["entries"][0]["reason"], "refund");
    assert_eq!(credit["entries"][0]["delta"], 2000);
    assert_eq!(credit["entries"][0]["order_id"], order["id"]);
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn photo_links_are_kept_and_shown_on_the_return() {
    let app = shop(spawn_app().await).await;
    let order = delivered(&app, &[("TEE-BLK-M", 1, 2000)]).await;
    let photos = json!([
        "https://img.example.com/returns/tear-1.jpg",
        "http://img.example.com/returns/tear-2.png?size=large"
    ]);
    let mut body = ask(&[(1, 1)], "arrived_damaged");
    body["photos"] = photos.clone();
    let asked = admin_return(&app, &order, body).await.expect(201);
    assert_eq!(asked["photos"], photos);
    let shown = app
        .get(&format!("/returns/{}", text(&asked, "id")))
        .await
        .expect(200);
    assert_eq!(shown["photos"], photos);
    // The customer's own request keeps them too.
    let order = delivered(&app, &[("MUG", 1, 1000)]).await;
    let mut body = ask(&[(1, 1)], "arrived_damaged");
    body["photos"] = json!(["https://img.example.com/mug-chip.jpg"]);
    let mine = self_service(&app, &text(&order, "number"), "ana@example.com", body)
        .await
        .expect(201);
    let shown = app
        .get(&format!("/returns/{}", text(&mine, "id")))
        .await
        .expect(200);
    assert_eq!(
        shown["photos"],
        json!(["https://img.example.com/mug-chip.jpg"])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_photo_link_that_is_not_an_http_url_is_refused_and_nothing_is_created() {
    let app = shop(spawn_app().await).await;
    let order = delivered(&app, &[("TEE-BLK-M", 1, 2000)]).await;
    let before = app.fingerprint().await;
    let mut body = ask(&[(1, 1)], "arrived_damaged");
    body["photos"] = json!([
        "https://img.example.com/ok.jpg",
        "ftp://img.example.com/tear.jpg",
        "https://img.example.com/a tear.jpg",
        "javascript:alert(1)"
    ]);
    let problem = admin_return(&app, &order, body)
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(
        field_errors(&problem),
        [
            ("photos[1]".to_owned(), "invalid_url".to_owned()),
            ("photos[2]".to_owned(), "invalid_url".to_owned()),
            ("photos[3]".to_owned(), "invalid_url".to_owned()),
        ]
    );
    assert_eq!(app.fingerprint().await, before);
    assert_eq!(app.get("/returns").await.expect(200)["data"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_on_receipt_timing_the_refund_goes_out_when_the_receipt_closes_before_inspection() {
    let on_receipt = HOLIDAY_TIMING.replace("after_inspection", "on_receipt");
    let app = shop(app_with_policy(&[(HOLIDAY_TIMING, &on_receipt)]).await).await;
    let order = delivered(&app, &[("TEE-BLK-M", 2, 2000)]).await;
    let oid = text(&order, "id");
    let asked = admin_return(&app, &order, ask(&[(1, 2)], "size_too_small"))
        .await
        .expect(201);
    assert_eq!(asked["state"], "authorized", "{asked}");
    assert_eq!(asked["money"]["refund_timing"], "on_receipt");
    assert_eq!(asked["money"]["refundable"], 4000);
    let id = text(&asked, "id");

    // One unit in, the receipt still open: nothing paid yet.
    let partial = receive_at_newark(&app, &id, &["TEE-BLK-M"], false)
        .await
        .expect(200);
    assert_eq!(partial["state"], "received");
    assert_eq!(partial["money"]["resolution"], Value::Null);
    assert_eq!(app.simulator_calls("refund"), 0);

    // The second unit in and the receipt closed: the refund goes out, uninspected.
    let closed = receive_at_newark(&app, &id, &["TEE-BLK-M"], true)
        .await
        .expect(200);
    assert_eq!(closed["state"], "received", "{closed}");
    let acceptance: Vec<&str> = closed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["acceptance"].as_str().unwrap())
        .collect();
    assert_eq!(acceptance, ["pending", "pending"], "not inspected yet");
    let res = &closed["money"]["resolution"];
    assert_eq!(res["amount"], 4000);
    assert_eq!(res["method"], "original_payment");
    assert_eq!(res["refund_status"], "succeeded");
    assert_eq!(app.simulator_calls("refund"), 1);
    let paid = app.get(&format!("/orders/{oid}")).await.expect(200);
    let refunds = paid["refunds"].as_array().unwrap();
    assert_eq!(refunds.len(), 1, "{refunds:?}");
    assert_eq!(refunds[0]["amount"], 4000);
    assert_eq!(refunds[0]["reason"], "return");
    assert_eq!(paid["refund_state"], "partially_refunded");

    // Inspection then completes the return and pays nothing more.
    let done = inspect_accepted(&app, &id, &[(1, "restock"), (2, "restock")])
        .await
        .expect(200);
    assert_eq!(done["state"], "completed", "{done}");
    assert_eq!(app.simulator_calls("refund"), 1);
    let after = app.get(&format!("/orders/{oid}")).await.expect(200);
    assert_eq!(after["refunds"].as_array().unwrap().len(), 1);
    app.assert_invariants().await;
}
