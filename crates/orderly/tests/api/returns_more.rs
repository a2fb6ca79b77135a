//! More of the returns workflow through the API, what a return leaves behind: the
//! dispositions that do not restock (refurbish, scrap, back to the customer) with the
//! stock each moves, `orderly check` naming an order whose return buckets were broken
//! behind its events' back, and the serial-returner rule counting returns and flagging
//! the customer's profile. Its money is in `returns_more_money.rs`.

use crate::helpers::*;
use crate::returns::{delivered, return_buckets, shop, stock_with_quarantine};
use crate::returns_rules::app_with_policy;
use crate::returns_support::*;
use serde_json::{Value, json};

/// A field of each of a JSON array's elements, as text.
pub fn each(list: &Value, key: &str) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("not an array: {list}"))
        .iter()
        .map(|e| text(e, key))
        .collect()
}

/// The amounts of an order's refunds, oldest first.
pub fn refund_amounts(order: &Value) -> Vec<i64> {
    order["refunds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["amount"].as_i64().unwrap())
        .collect()
}

/// The newest stock movement of `sku`: (reason, on hand change, quarantine change, note).
async fn last_movement(app: &TestApp, sku: &str) -> (String, i64, i64, String) {
    let page = app
        .get(&format!("/inventory/{sku}/movements"))
        .await
        .expect(200);
    let m = &page["data"][0];
    (
        text(m, "reason"),
        m["delta_on_hand"].as_i64().unwrap(),
        m["delta_quarantine"].as_i64().unwrap(),
        text(m, "note"),
    )
}

/// Asks back `quantity` units of line 1 of `order` (a T-shirt line; the size is wrong,
/// so no fee), receives them at Newark and restocks them; the completed return.
pub async fn take_back_tees(app: &TestApp, order: &Value, quantity: u32) -> Value {
    let asked = admin_return(app, order, ask(&[(1, quantity)], "size_too_small"))
        .await
        .expect(201);
    let id = text(&asked, "id");
    let scans = vec!["TEE-BLK-M"; quantity as usize];
    receive_at_newark(app, &id, &scans, true).await.expect(200);
    let items: Vec<(u32, &str)> = (1..=quantity).map(|n| (n, "restock")).collect();
    let done = inspect_accepted(app, &id, &items).await.expect(200);
    assert_eq!(done["state"], "completed", "{done}");
    done
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refurbish_scrap_and_return_to_customer_each_move_stock_as_they_say() {
    let app = shop(spawn_app().await).await;
    let order = delivered(
        &app,
        &[
            ("TEE-BLK-M", 1, 2000),
            ("TEE-BLK-L", 1, 2000),
            ("MUG", 1, 1000),
        ],
    )
    .await;
    let oid = text(&order, "id");
    // A damaged delivery: free shipping back and no restocking fee.
    let asked = admin_return(
        &app,
        &order,
        ask(&[(1, 1), (2, 1), (3, 1)], "arrived_damaged"),
    )
    .await
    .expect(201);
    assert_eq!(asked["money"]["refundable"], 5000, "{asked}");
    let id = text(&asked, "id");
    let rma = text(&asked, "rma");
    receive_at_newark(&app, &id, &["TEE-BLK-M", "TEE-BLK-L", "MUG"], true)
        .await
        .expect(200);
    // Each unit's SKU, how it is inspected, and the quarantine change it makes.
    let units = [
        (
            "TEE-BLK-M",
            "used",
            "accepted",
            "refurbish",
            "return_quarantine",
            1,
        ),
        (
            "TEE-BLK-L",
            "damaged",
            "accepted",
            "scrap",
            "return_scrap",
            0,
        ),
        (
            "MUG",
            "damaged",
            "rejected",
            "return_to_customer",
            "return_to_customer",
            0,
        ),
    ];
    let mut before = Vec::new();
    let mut items = Vec::new();
    for (n, (sku, condition, acceptance, disposition, ..)) in (1..).zip(units) {
        before.push(stock_with_quarantine(&app, sku, "wh-east").await);
        items.push(
            json!({"item_no": n, "condition": condition, "acceptance": acceptance,
            "disposition": disposition}),
        );
    }
    let inspected = app
        .post(
            &format!("/returns/{id}/inspect"),
            &json!({ "items": items }),
        )
        .await
        .expect(200);
    assert_eq!(
        each(&inspected["items"], "disposition"),
        ["refurbish", "scrap", "return_to_customer"]
    );
    assert_eq!(
        each(&inspected["stock_movements"], "reason"),
        ["return_quarantine", "return_scrap", "return_to_customer"]
    );
    // Refurbishing waits in quarantine (on hand and available unchanged); a scrapped
    // unit and one sent back are recorded, with no level changing.
    for (n, (sku, _, _, disposition, reason, quarantined)) in (1..).zip(units) {
        let (on_hand, available, quarantine) = before[n - 1];
        assert_eq!(
            stock_with_quarantine(&app, sku, "wh-east").await,
            (on_hand, available, quarantine + quarantined),
            "{sku}"
        );
        assert_eq!(
            last_movement(&app, sku).await,
            (
                reason.to_owned(),
                0,
                quarantined,
                format!("{rma} item {n} ({disposition})")
            )
        );
    }

    // Only the two accepted units are paid for, and none of the three is restocked.
    assert_eq!(inspected["state"], "completed", "{inspected}");
    assert_eq!(inspected["money"]["resolution"]["amount"], 4000);
    let after = app.get(&format!("/orders/{oid}")).await.expect(200);
    assert_eq!(refund_amounts(&after), [4000]);
    for line in 0..3 {
        assert_eq!(return_buckets(&after, line), (1, 1, 0), "line {line}");
    }
    app.assert_invariants().await;
}

/// Runs `orderly check` (the binary) on the test's database: (exit code, stdout).
fn orderly_check(app: &TestApp) -> (Option<i32>, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_orderly"))
        .args(["check", "--database"])
        .arg(&app.db.url)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orderly_check_names_the_order_whose_return_bucket_was_broken() {
    let app = shop(spawn_app().await).await;
    let order = delivered(&app, &[("TEE-BLK-M", 2, 2000)]).await;
    let oid = text(&order, "id");
    take_back_tees(&app, &order, 1).await;
    let done = app.get(&format!("/orders/{oid}")).await.expect(200);
    assert_eq!(return_buckets(&done, 0), (1, 1, 1));
    let (code, out) = orderly_check(&app);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("ok: no invariant violations"), "{out}");

    // Behind the events' back, the order forgets that its returned unit was restocked.
    app.db
        .execute(&format!(
            "UPDATE orders SET snapshot = replace(snapshot, \
             '\"returned\":1,\"restocked\":1', '\"returned\":1,\"restocked\":0') \
             WHERE id = '{oid}'"
        ))
        .await;
    let tampered = app
        .db
        .count(&format!(
            "SELECT COUNT(*) FROM orders WHERE id = '{oid}' \
             AND snapshot LIKE '%\"returned\":1,\"restocked\":0%'"
        ))
        .await;
    assert_eq!(tampered, 1, "the tampering took");

    let (code, out) = orderly_check(&app);
    assert_eq!(code, Some(1), "{out}");
    let violations: Vec<&str> = out.lines().filter(|l| l.starts_with("VIOLATION")).collect();
    assert_eq!(
        violations,
        [
            format!(
                "VIOLATION order {oid}: replaying its events does not reproduce the snapshot \
                 (differs in: lines)"
            ),
            format!("VIOLATION order {oid}: line 1: restocked 0 but the returns hold 1"),
        ],
        "{out}"
    );
    assert!(out.contains("2 violation(s)"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_returns_than_the_rule_allows_send_the_next_to_review_and_flag_the_customer() {
    let demo = "serial_returner = { max_returns = 5, max_returned_percent = 60, within_days = 90 }";
    // Counted by returns only: no share of the value returned can be above 100 %.
    let strict =
        "serial_returner = { max_returns = 2, max_returned_percent = 100, within_days = 90 }";
    let app = shop(app_with_policy(&[(demo, strict)]).await).await;
    let order = delivered(&app, &[("TEE-BLK-M", 3, 2000), ("MUG", 1, 1000)]).await;
    // Two returns before it is not more than two: each of the three goes through.
    for n in 1..=3 {
        let asked = admin_return(&app, &order, ask(&[(1, 1)], "size_too_small"))
            .await
            .expect(201);
        assert_eq!(asked["state"], "authorized", "return {n}: {asked}");
        assert_eq!(asked["decision"]["serial_returner"], Value::Null);
    }
    let profile = app.get("/customers/ana@example.com").await.expect(200);
    assert_eq!(profile["flags"], json!([]), "{profile}");

    let fourth = admin_return(&app, &order, ask(&[(2, 1)], "arrived_damaged"))
        .await
        .expect(201);
    assert_eq!(fourth["state"], "needs_review", "{fourth}");
    assert_eq!(fourth["decision"]["rules"], json!(["serial_returner"]));
    let why = "3 returns in the last 90 days, more than 2";
    assert_eq!(fourth["decision"]["serial_returner"], why);
    assert_eq!(fourth["label"], Value::Null, "no label before a review");
    let after = app
        .get(&format!("/orders/{}", text(&order, "id")))
        .await
        .expect(200);
    assert_eq!(
        return_buckets(&after, 1),
        (1, 0, 0),
        "a review holds its unit"
    );
    assert!(queue_entries(&app, "returns").await.contains(&(
        "return_review".to_owned(),
        text(&fourth, "id"),
        "open".to_owned()
    )));

    // The customer's profile shows the flag the policy raised, with its reason.
    let profile = app.get("/customers/ana@example.com").await.expect(200);
    let flags = profile["flags"].as_array().unwrap();
    assert_eq!(flags.len(), 1, "{profile}");
    assert_eq!(flags[0]["flag"], "serial_returner");
    assert_eq!(
        flags[0]["reason"],
        format!(
            "{why} (return {} of {})",
            text(&fourth, "rma"),
            text(&order, "number")
        )
    );
    assert_eq!(flags[0]["by"], "return policy 2026-11");
    assert_eq!(profile["returns_count"], 4);
    app.assert_invariants().await;
}
