//! A unit the inspector could not decide on waits in quarantine for a person: the
//! return neither pays nor completes meanwhile, a person with the authority decides it,
//! and the decision moves the unit out of quarantine and lets the money go out.

use crate::helpers::*;
use crate::returns::{delivered, return_buckets, shop, stock_with_quarantine};
use crate::returns_support::{queue_entries, text};
use orderly_domain::actor::Role;
use reqwest::Method;
use serde_json::{Value, json};

/// A delivered tee and mug, both asked back, received at Newark; returns the return.
pub async fn received_pair(app: &TestApp) -> (String, Value) {
    let order = delivered(app, &[("TEE-BLK-M", 1, 2000), ("MUG", 1, 1000)]).await;
    let asked = app
        .post(
            "/returns",
            &json!({"order": text(&order, "number"),
                "items": [{"line_no": 1, "quantity": 1}, {"line_no": 2, "quantity": 1}],
                "reason": "changed_mind", "wanted": {"kind": "refund"}}),
        )
        .await
        .expect(201);
    let id = text(&asked, "id");
    app.post(
        &format!("/returns/{id}/receive"),
        &json!({"location_id": "wh-east", "scans": ["TEE-BLK-M", "MUG"], "close": true}),
    )
    .await
    .expect(200);
    (id, order)
}

/// Inspects `received_pair`'s return: the tee accepted and restocked, the mug (graded
/// `mug_condition`) left for a person's decision in quarantine; the inspected return.
pub async fn tee_restocked_mug_undecided(app: &TestApp, id: &str, mug_condition: &str) -> Value {
    app.post(
        &format!("/returns/{id}/inspect"),
        &json!({"items": [
            {"item_no": 1, "condition": "like_new", "acceptance": "accepted", "disposition": "restock"},
            {"item_no": 2, "condition": mug_condition, "acceptance": "needs_manual_decision",
             "disposition": "quarantine"}
        ]}),
    )
    .await
    .expect(200)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undecided_unit_holds_the_refund_until_a_person_decides_it() {
    let app = shop(spawn_app().await).await;
    let (id, order) = received_pair(&app).await;
    let oid = text(&order, "id");
    let mug_before = stock_with_quarantine(&app, "MUG", "wh-east").await;

    let inspected = tee_restocked_mug_undecided(&app, &id, "used").await;
    // Inspected, but the policy pays after inspection and one unit is still open.
    assert_eq!(inspected["state"], "inspected", "{inspected}");
    assert_eq!(inspected["money"]["resolution"], Value::Null);
    let held = app.get(&format!("/orders/{oid}")).await.expect(200);
    assert_eq!(held["refund_state"], "none");
    let (on_hand, _, quarantine) = stock_with_quarantine(&app, "MUG", "wh-east").await;
    assert_eq!((on_hand, quarantine), (mug_before.0, mug_before.2 + 1));
    assert!(queue_entries(&app, "returns").await.contains(&(
        "return_needs_decision".to_owned(),
        id.clone(),
        "open".to_owned()
    )));

    // The warehouse inspects but does not decide: 403, nothing changes.
    let (_, warehouse) = app.key(Role::Warehouse).await;
    let before = app.fingerprint().await;
    let body = json!({"items": [{"item_no": 2, "acceptance": "accepted", "disposition": "restock"}],
        "note": "only a scuff"});
    send(
        app.req_as(&warehouse, Method::POST, &format!("/returns/{id}/decide"))
            .json(&body),
    )
    .await
    .expect_problem(403, "forbidden");
    assert_eq!(app.fingerprint().await, before);

    // A unit that was decided already cannot be decided again.
    app.post(
        &format!("/returns/{id}/decide"),
        &json!({"items": [{"item_no": 1, "acceptance": "rejected", "disposition": "scrap"}]}),
    )
    .await
    .expect_problem(422, "inspection_refused");

    // The decision: accepted, back on the shelf; the refund goes out and it completes.
    let decided = app
        .post(&format!("/returns/{id}/decide"), &body)
        .await
        .expect(200);
    assert_eq!(decided["state"], "completed", "{decided}");
    assert_eq!(decided["items"][1]["acceptance"], "accepted");
    assert_eq!(decided["items"][1]["disposition"], "restock");
    // 30.00 less the 10 % fee and the 6.95 label, for both units.
    assert_eq!(decided["money"]["resolution"]["amount"], 2005);
    assert_eq!(decided["money"]["resolution"]["refund_status"], "succeeded");
    let (on_hand, _, quarantine) = stock_with_quarantine(&app, "MUG", "wh-east").await;
    assert_eq!((on_hand, quarantine), (mug_before.0 + 1, mug_before.2));
    let reasons: Vec<&str> = decided["stock_movements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["reason"].as_str().unwrap())
        .collect();
    assert_eq!(
        reasons,
        ["return_restock", "return_quarantine", "quarantine_release"]
    );
    let after = app.get(&format!("/orders/{oid}")).await.expect(200);
    assert_eq!(return_buckets(&after, 1), (1, 1, 1));
    assert!(queue_entries(&app, "returns").await.contains(&(
        "return_needs_decision".to_owned(),
        id.clone(),
        "resolved".to_owned()
    )));
    let timeline = app
        .get(&format!("/orders/{oid}/timeline"))
        .await
        .expect(200);
    let summary = timeline["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "return_items_decided")
        .map(|e| text(e, "summary"))
        .unwrap();
    assert!(
        summary.contains("item 2 accepted → restock (only a scuff)"),
        "{summary}"
    );
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_undecided_unit_goes_back_to_the_customer_out_of_quarantine() {
    let app = shop(spawn_app().await).await;
    let (id, _) = received_pair(&app).await;
    // An undecided unit waits in quarantine, nowhere else.
    app.post(
        &format!("/returns/{id}/inspect"),
        &json!({"items": [
            {"item_no": 2, "condition": "damaged", "acceptance": "needs_manual_decision", "disposition": "restock"}
        ]}),
    )
    .await
    .expect_problem(422, "inspection_refused");
    tee_restocked_mug_undecided(&app, &id, "damaged").await;
    let quarantined = stock_with_quarantine(&app, "MUG", "wh-east").await;
    // A decision accepts or rejects; a rejected unit is not restocked.
    app.post(
        &format!("/returns/{id}/decide"),
        &json!({"items": [{"item_no": 2, "acceptance": "rejected", "disposition": "restock"}]}),
    )
    .await
    .expect_problem(422, "inspection_refused");
    let decided = app
        .post(
            &format!("/returns/{id}/decide"),
            &json!({"items": [{"item_no": 2, "acceptance": "rejected", "disposition": "return_to_customer"}]}),
        )
        .await
        .expect(200);
    // Only the tee is paid for: 20.00 less its 2.00 fee and the 6.95 label.
    assert_eq!(decided["state"], "completed", "{decided}");
    assert_eq!(decided["money"]["resolution"]["amount"], 1105);
    let (on_hand, _, quarantine) = stock_with_quarantine(&app, "MUG", "wh-east").await;
    assert_eq!((on_hand, quarantine), (quarantined.0, quarantined.2 - 1));
    assert_eq!(
        decided["stock_movements"][2]["reason"],
        "quarantine_to_customer"
    );
    // The demo policy sends rejected units back: a parcel was booked to the customer
    // before the return completed, and its label goes from Newark to the customer.
    assert_eq!(decided["rejected_items"], "return_to_customer");
    assert_eq!(decided["awaiting_send_back"], json!([]));
    let parcel = &decided["send_backs"][0];
    assert_eq!(parcel["item_nos"], json!([2]), "{decided}");
    assert_eq!(parcel["location_id"], "wh-east");
    let tracking = text(parcel, "tracking_number");
    assert!(tracking.starts_with("LC"), "{tracking}");
    let pdf = app.get(&text(parcel, "url").replace("/api/v1", "")).await;
    assert_eq!(pdf.status, 200);
    assert_eq!(decode_barcode(&pdf.bytes), tracking);
    let dir = tempfile::tempdir().unwrap();
    let (label, _) = pdf_text(&pdf.bytes, dir.path());
    assert!(label.contains("Austin"), "shipped to the customer: {label}");
    app.get(&format!("/returns/{id}/send-backs/2/label.pdf"))
        .await
        .expect_problem(409, "label_not_issued");
    // Nothing is left to send back, and the queue entry that waited for it is closed.
    app.post(&format!("/returns/{id}/send-back"), &json!({}))
        .await
        .expect_problem(409, "illegal_return_transition");
    assert!(queue_entries(&app, "returns").await.contains(&(
        "return_send_back".to_owned(),
        id.clone(),
        "resolved".to_owned()
    )));
    app.assert_invariants().await;
}
