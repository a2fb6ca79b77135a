//! Return shipping in both directions: a reason whose policy has the customer ship the
//! parcel with a carrier of their own pays back the postage they state, up to its cap,
//! by a refund of its own beside the goods' refund (tied to no line, so the goods' lines
//! stay bounded by what they were paid); a reason that does not refuses a stated cost.

use crate::helpers::*;
use crate::returns::{delivered, shop};
use crate::returns_support::text;
use serde_json::{Value, json};

fn ask(order: &Value, reason: &str, shipping_cost: i64) -> Value {
    json!({"order": text(order, "number"), "items": [{"line_no": 1, "quantity": 1}],
           "reason": reason, "wanted": {"kind": "refund"}, "shipping_cost": shipping_cost})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_customers_own_postage_is_paid_back_beside_the_goods() {
    let app = shop(spawn_app().await).await;
    let order = delivered(&app, &[("TEE-BLK-M", 2, 2000)]).await;
    let oid = text(&order, "id");
    // A reason that has a prepaid label does not pay back postage: refused, nothing kept.
    let before = app.fingerprint().await;
    let refused = app
        .post("/returns", &ask(&order, "arrived_damaged", 650))
        .await
        .expect(422);
    assert_eq!(refused["errors"][0]["field"], "shipping_cost", "{refused}");
    assert_eq!(refused["errors"][0]["code"], "not_reimbursed");
    assert_eq!(app.fingerprint().await, before);

    // The demo's `stopped_working` pays back up to 15.00; 18.50 stated, 15.00 paid.
    let asked = app
        .post("/returns", &ask(&order, "stopped_working", 1850))
        .await
        .expect(201);
    assert_eq!(asked["state"], "authorized", "{asked}");
    assert_eq!(asked["label"], Value::Null, "the customer ships it");
    assert_eq!(asked["money"]["return_shipping"], "customer_label");
    assert_eq!(asked["money"]["shipping_reimbursed"], 1500);
    assert_eq!(
        asked["money"]["refundable"], 2000,
        "the goods; the postage beside them"
    );
    let id = text(&asked, "id");
    app.post(
        &format!("/returns/{id}/receive"),
        &json!({"location_id": "wh-east", "scans": ["TEE-BLK-M"], "close": true}),
    )
    .await
    .expect(200);
    let done = app
        .post(
            &format!("/returns/{id}/inspect"),
            &json!({"items": [{"item_no": 1, "condition": "like_new",
                               "acceptance": "accepted", "disposition": "restock"}]}),
        )
        .await
        .expect(200);
    assert_eq!(done["state"], "completed", "{done}");
    let res = &done["money"]["resolution"];
    assert_eq!(
        (&res["amount"], &res["shipping_reimbursed"]),
        (&json!(2000), &json!(1500))
    );
    assert_eq!(res["refund_status"], "succeeded");
    assert_eq!(res["postage_refund_status"], "succeeded");
    assert_eq!(app.simulator_calls("refund"), 2);
    let paid = app.get(&format!("/orders/{oid}")).await.expect(200);
    let refunds: Vec<(i64, usize)> = paid["refunds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["amount"].as_i64().unwrap(),
                r["lines"].as_array().map_or(0, Vec::len),
            )
        })
        .collect();
    assert_eq!(refunds, [(2000, 1), (1500, 0)], "{paid}");
    let timeline = app
        .get(&format!("/orders/{oid}/timeline"))
        .await
        .expect(200);
    let resolved = timeline["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "return_resolved")
        .map(|e| text(e, "summary"))
        .unwrap();
    assert!(
        resolved.contains("the customer's postage USD 15.00 paid back"),
        "{resolved}"
    );
    app.assert_invariants().await;
}
