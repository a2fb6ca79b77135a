//! A scripted month of return requests, judged under the current policy to get what was
//! recorded, then backtested under a draft that shortens the window, raises the fee for
//! `changed_mind`, lowers the auto-approval limit, drops `wrong_colour`, ends the
//! final-sale list and relaxes the serial-returner rule: exactly these flips and this
//! money.

use super::backtest::*;
use super::judgement::*;
use super::policy::ReturnPolicy;
use super::test_policy::{from, policy, policy_json};
use crate::Timestamp;
use crate::actor::Role;
use crate::payment::PaymentMethod;
use crate::values::{Id, Sku};
use serde_json::json;

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// The draft: 20 days instead of 30, `changed_mind` at 15 % instead of 10 %, auto-approval
/// up to 50.00 instead of 150.00, no `wrong_colour`, no final-sale SKUs, and a serial
/// returner from 11 returns instead of 6.
fn draft() -> ReturnPolicy {
    let mut d = policy_json();
    d["version"] = json!("2027-01");
    d["effective_from"] = json!("2027-01-01T00:00:00Z");
    d["window_days"] = json!(20);
    d["final_sale_skus"] = json!([]);
    d["auto_approve_up_to_minor"] = json!(5000);
    d["serial_returner"]["max_returns"] = json!(10);
    d["reasons"][0]["restocking_fee"] = json!({ "percent": 15 });
    d["reasons"][2]["children"]
        .as_array_mut()
        .unwrap()
        .retain(|c| c["code"] != "wrong_colour");
    let draft = from(d);
    assert!(draft.validate().is_empty(), "{:?}", draft.validate());
    draft
}

fn line(line_no: u32, sku: &str, category: &str, paid_minor: i64, ordered: u32) -> LineFacts {
    LineFacts {
        line_no,
        sku: Sku::parse(sku).unwrap(),
        product: sku.split('-').next().map(str::to_owned),
        category: Some(category.into()),
        returnable: true,
        paid_minor,
        ordered,
        delivered: ordered,
        delivered_at: Some(ts("2026-12-05T00:00:00Z")),
        in_returns: 0,
    }
}

/// An order on the marketplace (30 days now, 20 under the draft; kitchen 60 in both),
/// placed 2026-12-01 and delivered 2026-12-05, with `returns` past returns.
fn facts(returns: u32) -> ReturnFacts {
    ReturnFacts {
        channel: Id::new("marketplace".to_owned()),
        placed_at: ts("2026-12-01T00:00:00Z"),
        paid_with: vec![PaymentMethod::Card],
        lines: vec![
            line(1, "TEE-BLK-M", "apparel", 3998, 2),
            line(2, "MUG-CLASSIC", "kitchen", 1299, 1),
            line(5, "SOCK-CREW-S", "apparel", 899, 1),
            line(6, "HOOD-GRY-L", "apparel", 54990, 10),
        ],
        history: ReturnHistory {
            returns,
            ..ReturnHistory::default()
        },
        replacement: None,
    }
}

const TEE: u32 = 1;
const MUG: u32 = 2;
const SOCK: u32 = 5;
const HOOD: u32 = 6;

/// Request `n`: `quantity` of `line_no` for `reason`, asked `day` days after delivery
/// (at noon), recorded with the current policy's judgement.
fn request(
    n: u32,
    day: i64,
    (line_no, quantity): (u32, u32),
    reason: &str,
    extension: bool,
    past_returns: u32,
) -> RecordedRequest {
    let at = ts("2026-12-05T12:00:00Z")
        .checked_add(jiff::SignedDuration::from_hours(24 * day))
        .unwrap();
    let ask = ReturnAsk {
        items: vec![AskedItem { line_no, quantity }],
        reason: reason.into(),
        wanted: Wanted::Refund,
        final_sale_exception: false,
        window_extension: extension,
        shipping_cost_minor: None,
    };
    let facts = facts(past_returns);
    let judgement = super::judge(&facts, &ask, &policy(), at).unwrap();
    RecordedRequest {
        return_id: format!("rma_{n}"),
        rma: format!("RMA-MKT-{}", 1000 + n),
        order_number: format!("MKT-{}", 2000 + n),
        at,
        ask,
        facts,
        judgement,
    }
}

/// The month, with what the current policy answered each request.
fn month() -> Vec<RecordedRequest> {
    vec![
        request(1, 3, (TEE, 1), "changed_mind", false, 0), // A 1105 -> A 1005
        request(2, 10, (MUG, 1), "arrived_damaged", false, 0), // A -> A, unchanged
        request(3, 22, (TEE, 2), "size_too_small", false, 0), // A -> rejected (window)
        request(4, 22, (MUG, 1), "arrived_damaged", false, 0), // kitchen's 60 days: kept
        request(5, 5, (HOOD, 2), "stopped_working", false, 0), // A -> review (10998 > 5000)
        request(6, 5, (HOOD, 4), "stopped_working", false, 0), // review -> review
        request(7, 6, (TEE, 1), "wrong_colour", false, 0), // not a reason of the draft
        request(8, 8, (SOCK, 1), "changed_mind", false, 0), // final sale -> A
        request(9, 25, (TEE, 1), "changed_mind", true, 0), // A -> review (extension)
        request(10, 35, (TEE, 1), "size_too_small", false, 0), // rejected both
        request(11, 35, (TEE, 1), "looks_different", true, 0), // review both, unchanged
        request(12, 2, (HOOD, 3), "changed_mind", false, 0), // review both, fee 15 %
        request(13, 4, (MUG, 1), "arrived_damaged", false, 7), // serial -> A
        request(14, 22, (HOOD, 4), "stopped_working", false, 0), // review -> rejected
    ]
}

fn decision(r: &RecordedRequest) -> Decision {
    Decision::of(&r.judgement.outcome)
}

fn t(from: Decision, to: Decision) -> Transition {
    Transition { from, to }
}

use Decision::{Authorized as A, NeedsReview as NR, Rejected as R};

fn delta(old_minor: i64, new_minor: i64) -> Delta {
    Delta {
        old_minor,
        new_minor,
    }
}

fn totals(requests: u32, refundable: Delta, fees: Delta, shipping: Delta) -> MoneyTotals {
    MoneyTotals {
        requests,
        refundable,
        restocking_fees: fees,
        shipping_fees: shipping,
    }
}

#[test]
fn the_month_was_recorded_as_the_current_policy_answered() {
    let recorded: Vec<Decision> = month().iter().map(decision).collect();
    assert_eq!(
        recorded,
        [A, A, A, A, A, NR, A, R, A, R, NR, NR, NR, NR],
        "the script's premise"
    );
}

#[test]
fn the_draft_flips_exactly_these_decisions() {
    let report = backtest(&month(), &draft());
    assert_eq!(report.draft_version, "2027-01");
    assert_eq!((report.replayed, report.invalid), (14, 1));
    assert_eq!(report.decisions_kept, 7);
    let flipped: Vec<(String, u32)> = report.flipped.iter().map(|(t, n)| (t.name(), *n)).collect();
    assert_eq!(
        flipped,
        [
            ("authorized→needs_review".to_owned(), 2),
            ("authorized→rejected".to_owned(), 1),
            ("needs_review→authorized".to_owned(), 1),
            ("needs_review→rejected".to_owned(), 1),
            ("rejected→authorized".to_owned(), 1),
        ]
    );
    assert_eq!(report.flips(), 6);
    let changes: Vec<(&str, Option<Transition>)> = report
        .changes
        .iter()
        .map(|c| (c.return_id.as_str(), c.flip))
        .collect();
    assert_eq!(
        changes,
        [
            ("rma_1", None),
            ("rma_3", Some(t(A, R))),
            ("rma_5", Some(t(A, NR))),
            ("rma_8", Some(t(R, A))),
            ("rma_9", Some(t(A, NR))),
            ("rma_12", None),
            ("rma_13", Some(t(NR, A))),
            ("rma_14", Some(t(NR, R))),
        ]
    );
    assert_eq!(report.changed, 8);
}

#[test]
fn each_change_names_its_rules_and_money_before_and_after() {
    let report = backtest(&month(), &draft());
    let change = |id: &str| report.changes.iter().find(|c| c.return_id == id).unwrap();
    let money = |refundable_minor, restocking_fee_minor, shipping_fee_minor| Money {
        refundable_minor,
        restocking_fee_minor,
        shipping_fee_minor,
    };
    let first = change("rma_1");
    assert_eq!(
        (first.old.money, first.new.money),
        (money(1105, 199, 695), money(1005, 299, 695))
    );
    assert_eq!(
        (first.old.version.as_str(), first.new.version.as_str()),
        ("2026-11", "2027-01")
    );
    assert_eq!(
        (first.rma.as_str(), first.order_number.as_str()),
        ("RMA-MKT-1001", "MKT-2001")
    );
    let late = change("rma_3");
    assert_eq!(late.new.rules, [Rule::OutsideWindow]);
    assert_eq!(
        (late.old.money, late.new.money),
        (money(3748, 250, 0), Money::default())
    );
    assert_eq!(change("rma_5").new.rules, [Rule::OverAutoApprovalLimit]);
    let sock = change("rma_8");
    assert_eq!(sock.old.rules, [Rule::FinalSale]);
    assert_eq!(
        (sock.old.money, sock.new.money),
        (Money::default(), money(70, 134, 695))
    );
    assert_eq!(change("rma_9").new.rules, [Rule::WindowExtensionAsked]);
    assert_eq!(change("rma_12").new.money, money(13328, 2474, 695));
    let serial = change("rma_13");
    assert_eq!(
        (serial.old.rules.as_slice(), serial.new.rules.as_slice()),
        ([Rule::SerialReturner].as_slice(), [].as_slice())
    );
    assert_eq!(change("rma_14").new.rules, [Rule::OutsideWindow]);
}

#[test]
fn refunds_and_fees_add_up_in_total_and_per_reason() {
    let report = backtest(&month(), &draft());
    assert_eq!(
        report.money,
        totals(
            13,
            delta(80747, 54048),
            delta(2547, 3456),
            delta(2085, 2780)
        )
    );
    assert_eq!(report.money.refundable.difference_minor(), -26699);
    assert_eq!(report.money.restocking_fees.difference_minor(), 909);
    let by_reason: Vec<(&str, MoneyTotals)> = report
        .money_by_reason
        .iter()
        .map(|(r, m)| (r.as_str(), *m))
        .collect();
    assert_eq!(
        by_reason,
        [
            (
                "arrived_damaged",
                totals(3, delta(3897, 3897), delta(0, 0), delta(0, 0))
            ),
            (
                "changed_mind",
                totals(4, delta(16363, 15408), delta(2047, 3206), delta(2085, 2780))
            ),
            (
                "looks_different",
                totals(1, delta(1749, 1749), delta(250, 250), delta(0, 0))
            ),
            (
                "size_too_small",
                totals(2, delta(3748, 0), delta(250, 0), delta(0, 0))
            ),
            (
                "stopped_working",
                totals(3, delta(54990, 32994), delta(0, 0), delta(0, 0))
            ),
        ]
    );
}

#[test]
fn reviews_under_the_draft_name_their_value_and_the_lowest_role_that_may_approve() {
    let report = backtest(&month(), &draft());
    assert_eq!((report.reviews_old, report.reviews_new), (5, 5));
    let approvals: Vec<(&str, i64, Option<Role>, bool)> = report
        .approvals
        .iter()
        .map(|a| {
            (
                a.return_id.as_str(),
                a.value_minor,
                a.lowest_role,
                a.was_in_review,
            )
        })
        .collect();
    assert_eq!(
        approvals,
        [
            ("rma_5", 10998, Some(Role::Supervisor), false),
            ("rma_6", 21996, Some(Role::Supervisor), true),
            ("rma_9", 1999, Some(Role::Support), false),
            ("rma_11", 1999, Some(Role::Support), true),
            ("rma_12", 16497, Some(Role::Supervisor), true),
        ]
    );
    assert_eq!(
        report.reviews_by_lowest_role,
        [
            (Some(Role::Support), 2),
            (Some(Role::Supervisor), 3),
            (Some(Role::Finance), 0),
            (Some(Role::Admin), 0),
            (None, 0),
        ]
    );
}

#[test]
fn a_request_the_draft_cannot_take_is_listed_with_its_issue_not_counted_in_money() {
    let report = backtest(&month(), &draft());
    assert_eq!(report.invalid_under_draft.len(), 1);
    let invalid = &report.invalid_under_draft[0];
    assert_eq!(
        (invalid.return_id.as_str(), invalid.reason.as_str()),
        ("rma_7", "wrong_colour")
    );
    assert_eq!(invalid.issues, ["reason: unknown_reason"]);
    assert_eq!(invalid.old.decision, A);
    assert_eq!(invalid.old.money.refundable_minor, 1999);
}

#[test]
fn the_current_policy_as_its_own_draft_changes_nothing() {
    let report = backtest(&month(), &policy());
    assert_eq!(
        (report.replayed, report.decisions_kept, report.invalid),
        (14, 14, 0)
    );
    assert!(report.flipped.is_empty() && report.changes.is_empty());
    let m = report.money;
    assert_eq!(m.refundable.old_minor, m.refundable.new_minor);
    assert_eq!(
        m.refundable.old_minor,
        80747 + 1999,
        "rma_7 counts when valid"
    );
}

#[test]
fn a_review_no_role_may_approve_is_counted_as_such() {
    let mut d = policy_json();
    d["approval_limits"] = json!({ "support": 1000 });
    let report = backtest(&month(), &from(d));
    assert_eq!(report.reviews_new, 5);
    assert_eq!(report.reviews_by_lowest_role[4], (None, 5));
    assert!(report.approvals.iter().all(|a| a.lowest_role.is_none()));
}

#[test]
fn lists_are_bounded_and_totals_are_not() {
    let one = request(1, 22, (TEE, 2), "size_too_small", false, 0);
    let many = vec![one; MAX_LISTED + 5];
    let report = backtest(&many, &draft());
    assert_eq!(report.changes.len(), MAX_LISTED);
    assert_eq!(report.changed as usize, MAX_LISTED + 5);
    assert_eq!(
        report.flipped.values().sum::<u32>() as usize,
        MAX_LISTED + 5
    );
}

#[test]
fn an_empty_period_is_an_empty_report() {
    let report = backtest(&[], &draft());
    assert_eq!((report.replayed, report.flips(), report.changed), (0, 0, 0));
    assert_eq!(report.money, MoneyTotals::default());
}
