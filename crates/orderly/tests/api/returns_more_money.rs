//! More of the returns workflow through the API, its money: the refund paid when the
//! carrier takes the parcel (`on_carrier_acceptance`), one line returned in two parts
//! with a discount that does not split evenly (medusa#13433), and a refund whose answer
//! was lost showing `refund_pending` until the timer worker re-drives it.

use crate::helpers::*;
use crate::returns::{deliver, delivered, return_buckets, shop};
use crate::returns_exchange::scan;
use crate::returns_more::{each, refund_amounts, take_back_tees};
use crate::returns_rules::{HOLIDAY_TIMING, app_with_policy};
use crate::returns_support::*;
use jiff::SignedDuration;
use serde_json::{Value, json};

// Found a bug once: a carrier's scan never sent the refund its command asked for (it
// waited for the timer worker's re-drive); `tracking_event` now settles what it requested.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_on_carrier_acceptance_timing_the_refund_goes_out_when_the_carrier_takes_the_parcel()
{
    let timing = HOLIDAY_TIMING.replace("after_inspection", "on_carrier_acceptance");
    let app = shop(app_with_policy(&[(HOLIDAY_TIMING, &timing)]).await).await;
    let order = delivered(&app, &[("TEE-BLK-M", 2, 2000)]).await;
    let oid = text(&order, "id");
    let asked = admin_return(&app, &order, ask(&[(1, 2)], "changed_mind"))
        .await
        .expect(201);
    assert_eq!(asked["state"], "authorized", "{asked}");
    assert_eq!(asked["money"]["refund_timing"], "on_carrier_acceptance");
    // 40.00 less the 10 % restocking fee and the 6.95 label.
    assert_eq!(asked["money"]["refundable"], 2905);
    // Authorized and labelled is not yet accepted by the carrier: nothing paid.
    assert_eq!(asked["money"]["resolution"], Value::Null);
    assert_eq!(app.simulator_calls("refund"), 0);
    let id = text(&asked, "id");

    // The carrier scans the parcel: the refund goes out before anything arrived.
    scan(&app, &text(&asked, "rma"), "in_transit").await;
    let moving = app.get(&format!("/returns/{id}")).await.expect(200);
    assert_eq!(moving["state"], "in_transit", "{moving}");
    assert_eq!(
        each(&moving["items"], "reception"),
        ["awaiting", "awaiting"]
    );
    let res = &moving["money"]["resolution"];
    assert_eq!(res["value"], 4000, "{moving}");
    assert_eq!(res["restocking_fee"], 400);
    assert_eq!(res["return_shipping_fee"], 695);
    assert_eq!(res["amount"], 2905);
    assert_eq!(res["method"], "original_payment");
    assert_eq!(res["refund_status"], "succeeded");
    assert_eq!(app.simulator_calls("refund"), 1);
    let paid = app.get(&format!("/orders/{oid}")).await.expect(200);
    assert_eq!(refund_amounts(&paid), [2905]);
    assert_eq!(paid["refunds"][0]["reason"], "return");
    assert_eq!(paid["refunds"][0]["status"], "succeeded");
    assert_eq!(paid["refunds"][0]["id"], res["refund_id"]);
    assert_eq!(paid["payments"][0]["refunded"], 2905);
    assert_eq!(paid["refund_state"], "partially_refunded");
    assert_eq!(return_buckets(&paid, 0), (2, 0, 0), "nothing received yet");
    app.assert_invariants().await;

    // Receipt and inspection finish the goods' side and pay nothing more.
    let received = receive_at_newark(&app, &id, &["TEE-BLK-M", "TEE-BLK-M"], true)
        .await
        .expect(200);
    assert_eq!(received["state"], "received", "{received}");
    let done = inspect_accepted(&app, &id, &[(1, "restock"), (2, "restock")])
        .await
        .expect(200);
    assert_eq!(done["state"], "completed", "{done}");
    assert_eq!(done["money"]["resolution"]["amount"], 2905);
    assert_eq!(app.simulator_calls("refund"), 1);
    let after = app.get(&format!("/orders/{oid}")).await.expect(200);
    assert_eq!(refund_amounts(&after), [2905]);
    assert_eq!(after["payments"][0]["refunded"], 2905);
    assert_eq!(return_buckets(&after, 0), (2, 2, 2));
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn medusa_13433_a_line_returned_in_two_parts_refunds_exactly_what_it_was_paid() {
    let app = shop(spawn_app().await).await;
    // Three T-shirts at 20.00 with 1.00 off: 59.00 paid for the line, not a multiple of 3.
    let mut body = order_body("web", &[("TEE-BLK-M", 3, 2000)]);
    body["discount_amount"] = json!(100);
    let order = deliver(&app, &body).await;
    let oid = text(&order, "id");
    assert_eq!(order["lines"][0]["paid_amount"], 5900);
    assert_eq!(order["total_amount"], 6400);
    let line_refunds = |o: &Value| {
        let l = &o["lines"][0];
        (l["refunded_quantity"].clone(), l["refunded_amount"].clone())
    };

    // One unit: a third of 59.00, rounded down.
    let first = take_back_tees(&app, &order, 1).await;
    assert_eq!(first["money"]["refundable"], 1966);
    assert_eq!(first["money"]["resolution"]["amount"], 1966);
    let now = app.get(&format!("/orders/{oid}")).await.expect(200);
    assert_eq!(return_buckets(&now, 0), (1, 1, 1));
    assert_eq!(line_refunds(&now), (json!(1), json!(1966)));
    assert_eq!(refund_amounts(&now), [1966]);
    assert_eq!(now["payments"][0]["refunded"], 1966);
    assert_eq!(now["status"], "partially_returned");
    assert_eq!(now["refund_state"], "partially_refunded");
    app.assert_invariants().await;

    // The other two: the request judged two thirds (39.33), the refund counts on from
    // the unit refunded already (39.34), so the two parts are the line's 59.00 exactly.
    let second = take_back_tees(&app, &order, 2).await;
    assert_eq!(second["money"]["refundable"], 3933);
    assert_eq!(second["money"]["resolution"]["amount"], 3934);
    let now = app.get(&format!("/orders/{oid}")).await.expect(200);
    assert_eq!(return_buckets(&now, 0), (3, 3, 3));
    assert_eq!(line_refunds(&now), (json!(3), json!(5900)));
    assert_eq!(refund_amounts(&now), [1966, 3934]);
    assert_eq!(now["payments"][0]["refunded"], 5900);
    assert_eq!(now["status"], "returned");
    // The 5.00 shipping was not returned.
    assert_eq!(now["refund_state"], "partially_refunded");
    assert_eq!(now["payments"][0]["refundable"], 500);
    assert_eq!(app.stock("TEE-BLK-M", "wh-east").await, (20, 0, 20));
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_whose_answer_was_lost_reads_refund_pending_until_the_re_drive_completes_it() {
    let app = shop(spawn_app().await).await;
    // The inspection makes the refund due; the provider makes it but the answer is lost.
    let (order, id, inspected) = tee_inspected_paid_with(&app, "tok_refund_timeout_once").await;
    let oid = text(&order, "id");
    let inspected = inspected.expect(200);
    assert_eq!(inspected["state"], "refund_pending", "{inspected}");
    let pending = app.get(&format!("/returns/{id}")).await.expect(200);
    assert_eq!(pending["state"], "refund_pending", "{pending}");
    let res = &pending["money"]["resolution"];
    assert_eq!(res["refund_status"], "pending");
    assert_eq!(res["amount"], 2000);
    let refund_id = text(res, "refund_id");
    let waiting = app.get(&format!("/orders/{oid}")).await.expect(200);
    assert_eq!(waiting["refunds"][0]["status"], "pending");
    assert_eq!(waiting["refund_state"], "pending");
    assert_eq!(waiting["payments"][0]["refunded"], 0);
    assert_eq!(
        app.get("/returns?state=refund_pending").await.expect(200)["data"][0]["id"],
        id.as_str()
    );
    assert!(
        !return_events(&app, &oid)
            .await
            .contains(&"return_completed".to_owned()),
        "never completed while its refund is pending"
    );
    assert_eq!(app.simulator_calls("refund"), 1);
    app.assert_invariants().await;

    // The timer worker asks again with the same key: the provider's answer, at last.
    let ids = (id.as_str(), oid.as_str(), refund_id.as_str());
    let paid = refund_goes_through_after(&app, ids, SignedDuration::from_secs(31), 2000).await;
    assert_eq!(paid["refund_state"], "partially_refunded");
    assert_eq!(
        app.simulator_calls("refund"),
        2,
        "the same key, asked twice"
    );
    assert!(
        return_events(&app, &oid)
            .await
            .contains(&"return_completed".to_owned())
    );
    app.assert_invariants().await;
}
