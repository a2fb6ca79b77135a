//! Given an order's facts and a policy, when a return is asked at some time, then this
//! judgement (or these input errors): every rule, their precedence, and the money.

use super::eligibility::judge;
use super::judgement::*;
use super::policy::{RejectedItems, ReturnPolicy};
use super::test_policy::policy;
use crate::Timestamp;
use crate::order::FieldIssue;
use crate::payment::{PaymentMethod, RefundMethod};
use crate::values::{Id, Sku};

// ---------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------

pub(super) fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

pub(super) fn sku(s: &str) -> Sku {
    Sku::parse(s).unwrap()
}

pub(super) const PLACED: &str = "2026-12-01T00:00:00Z";
pub(super) const DELIVERED: &str = "2026-12-05T00:00:00Z";
/// Five days after delivery: inside every window of the test policy.
pub(super) const SOON: &str = "2026-12-10T00:00:00Z";

pub(super) fn line(
    line_no: u32,
    s: &str,
    category: &str,
    paid_minor: i64,
    ordered: u32,
) -> LineFacts {
    LineFacts {
        line_no,
        sku: sku(s),
        product: s.split('-').next().map(str::to_owned),
        category: Some(category.into()),
        returnable: true,
        paid_minor,
        ordered,
        delivered: ordered,
        delivered_at: Some(ts(DELIVERED)),
        in_returns: 0,
    }
}

/// An order on the marketplace (the default 30-day window), paid by card.
pub(super) fn facts() -> ReturnFacts {
    let mut gift_card = line(3, "GIFT-50", "gifts", 5000, 1);
    gift_card.returnable = false;
    ReturnFacts {
        channel: Id::new("marketplace".to_owned()),
        placed_at: ts(PLACED),
        paid_with: vec![PaymentMethod::Card],
        lines: vec![
            line(1, "TEE-BLK-M", "apparel", 3998, 2),
            line(2, "MUG-CLASSIC", "kitchen", 1299, 1),
            gift_card,
            line(4, "POSTER-01", "decor", 1600, 1),
            line(5, "SOCK-CREW-S", "apparel", 899, 1),
            line(6, "HOOD-GRY-L", "apparel", 54990, 10),
        ],
        history: ReturnHistory::default(),
        replacement: None,
    }
}

pub(super) fn ask(items: &[(u32, u32)], reason: &str) -> ReturnAsk {
    ReturnAsk {
        items: items
            .iter()
            .map(|&(line_no, quantity)| AskedItem { line_no, quantity })
            .collect(),
        reason: reason.into(),
        wanted: Wanted::Refund,
        final_sale_exception: false,
        window_extension: false,
        shipping_cost_minor: None,
    }
}

pub(super) fn judged(
    facts: &ReturnFacts,
    ask: &ReturnAsk,
    policy: &ReturnPolicy,
    now: &str,
) -> Judgement {
    judge(facts, ask, policy, ts(now)).unwrap()
}

pub(super) fn outcome(facts: &ReturnFacts, ask: &ReturnAsk, now: &str) -> Outcome {
    judged(facts, ask, &policy(), now).outcome
}

pub(super) fn review(rules: &[Rule]) -> Outcome {
    Outcome::NeedsReview {
        rules: rules.to_vec(),
    }
}

pub(super) fn rejected(rule: Rule) -> Outcome {
    Outcome::Rejected { rule }
}

pub(super) fn errors(facts: &ReturnFacts, ask: &ReturnAsk) -> Vec<(String, &'static str)> {
    judge(facts, ask, &policy(), ts(SOON))
        .unwrap_err()
        .iter()
        .map(|i: &FieldIssue| (i.field.clone(), i.code))
        .collect()
}

pub(super) fn exchange_for(s: &str, product: &str, unit_price_minor: i64) -> (ReturnFacts, Wanted) {
    let mut f = facts();
    f.replacement = Some(Replacement {
        sku: sku(s),
        product: Some(product.into()),
        unit_price_minor,
    });
    (f, Wanted::Exchange { sku: sku(s) })
}

// ---------------------------------------------------------------------------------------
// Input errors
// ---------------------------------------------------------------------------------------

#[test]
fn a_request_without_items_is_an_input_error() {
    assert_eq!(
        errors(&facts(), &ask(&[], "arrived_damaged")),
        vec![("items".into(), "no_items")]
    );
}

#[test]
fn every_wrong_item_is_named_by_its_place() {
    let mut f = facts();
    f.lines[1].delivered = 0;
    f.lines[1].delivered_at = None;
    f.lines[0].in_returns = 1;
    let a = ask(&[(9, 1), (1, 2), (1, 1), (6, 0), (2, 1)], "arrived_damaged");
    assert_eq!(
        errors(&f, &a),
        vec![
            ("items[0].line_no".into(), "unknown_line"),
            ("items[1].quantity".into(), "quantity_beyond_returnable"),
            ("items[2].line_no".into(), "repeated_line"),
            ("items[3].quantity".into(), "must_be_positive"),
            ("items[4].line_no".into(), "not_delivered"),
        ]
    );
}

#[test]
fn a_quantity_beyond_what_remains_says_how_many_may_still_be_returned() {
    let mut f = facts();
    f.lines[5].delivered = 4;
    f.lines[5].in_returns = 1;
    let issues = judge(&f, &ask(&[(6, 4)], "arrived_damaged"), &policy(), ts(SOON)).unwrap_err();
    assert_eq!(
        issues[0].message,
        "line 6 may still return 3 unit(s): 4 delivered, 1 already in returns"
    );
    assert!(judge(&f, &ask(&[(6, 3)], "arrived_damaged"), &policy(), ts(SOON)).is_ok());
}

#[test]
fn the_reason_must_be_a_known_leaf() {
    assert_eq!(
        errors(&facts(), &ask(&[(1, 1)], "bored")),
        vec![("reason".into(), "unknown_reason")]
    );
    let issues = judge(&facts(), &ask(&[(1, 1)], "defective"), &policy(), ts(SOON)).unwrap_err();
    assert_eq!(
        (issues[0].field.as_str(), issues[0].code),
        ("reason", "not_a_leaf_reason")
    );
    assert!(
        issues[0]
            .message
            .contains("arrived_damaged, stopped_working"),
        "{}",
        issues[0].message
    );
}

#[test]
fn an_exchange_for_a_variant_the_facts_do_not_know_is_an_input_error() {
    let mut a = ask(&[(1, 1)], "size_too_small");
    a.wanted = Wanted::Exchange {
        sku: sku("TEE-BLK-L"),
    };
    assert_eq!(
        errors(&facts(), &a),
        vec![("wanted.sku".into(), "unknown_variant")]
    );
    let (f, _) = exchange_for("TEE-BLK-XL", "TEE", 1999);
    assert_eq!(
        errors(&f, &a),
        vec![("wanted.sku".into(), "unknown_variant")]
    );
}

// ---------------------------------------------------------------------------------------
// Authorized, and the money
// ---------------------------------------------------------------------------------------

#[test]
fn a_damaged_item_in_the_window_is_authorized_with_everything_free() {
    let j = judged(
        &facts(),
        &ask(&[(1, 1)], "arrived_damaged"),
        &policy(),
        SOON,
    );
    assert_eq!(
        j,
        Judgement {
            version: "2026-11".into(),
            outcome: Outcome::Authorized,
            reason: "arrived_damaged".into(),
            value_minor: 1999,
            restocking_fee_minor: 0,
            return_shipping: ReturnShipping::Free,
            shipping_reimbursed_minor: 0,
            refundable_minor: 1999,
            refund_method: RefundMethod::OriginalPayment,
            refund_timing: RefundTiming::AfterInspection,
            required_condition: "like_new".into(),
            exchange: None,
            serial_returner: None,
            ship_by: ts("2027-01-09T00:00:00Z"),
            rejected_items: RejectedItems::InspectorChooses,
        }
    );
}

#[test]
fn a_change_of_mind_pays_the_restocking_fee_and_the_return_label() {
    let j = judged(
        &facts(),
        &ask(&[(1, 2), (2, 1)], "changed_mind"),
        &policy(),
        SOON,
    );
    assert_eq!(j.value_minor, 3998 + 1299);
    assert_eq!(j.restocking_fee_minor, 529, "10% of 5297, rounded down");
    assert_eq!(
        j.return_shipping,
        ReturnShipping::FlatFee { fee_minor: 695 }
    );
    assert_eq!(j.refundable_minor, 5297 - 529 - 695);
}

#[test]
fn the_customers_own_postage_is_paid_back_up_to_the_reasons_cap() {
    let mut json = super::test_policy::policy_json();
    // Too small: the customer ships it, and up to 8.00 of postage is paid back.
    json["reasons"][2]["children"][0]["return_shipping"] =
        serde_json::json!({ "customer_label_reimbursed_up_to_minor": 800 });
    let reimbursing = super::test_policy::from(json);
    let with_cost = |cost| ReturnAsk {
        shipping_cost_minor: Some(cost),
        ..ask(&[(1, 1)], "size_too_small")
    };
    let j = judged(&facts(), &with_cost(650), &reimbursing, SOON);
    assert_eq!(
        j.return_shipping,
        ReturnShipping::CustomerLabel {
            reimburse_up_to_minor: 800
        }
    );
    assert_eq!(j.shipping_reimbursed_minor, 650);
    assert_eq!(
        j.refundable_minor,
        1999 - 250,
        "the goods: value less the fee"
    );
    let j = judged(&facts(), &with_cost(1200), &reimbursing, SOON);
    assert_eq!(j.shipping_reimbursed_minor, 800, "never beyond the cap");
    assert_eq!(j.refundable_minor, 1999 - 250);
    // No cost stated: nothing to pay back.
    let j = judged(
        &facts(),
        &ask(&[(1, 1)], "size_too_small"),
        &reimbursing,
        SOON,
    );
    assert_eq!(j.shipping_reimbursed_minor, 0);
    // A reason that does not reimburse postage refuses a stated cost.
    for policy in [policy(), reimbursing] {
        let asked = ReturnAsk {
            shipping_cost_minor: Some(650),
            ..ask(&[(1, 1)], "looks_different")
        };
        let issues = judge(&facts(), &asked, &policy, ts(SOON)).unwrap_err();
        assert_eq!(issues.len(), 1);
        assert_eq!(
            (issues[0].field.as_str(), issues[0].code),
            ("shipping_cost", "not_reimbursed")
        );
    }
}

#[test]
fn an_inherited_fixed_fee_and_the_customers_own_label() {
    let j = judged(&facts(), &ask(&[(1, 1)], "size_too_small"), &policy(), SOON);
    assert_eq!(
        (
            j.restocking_fee_minor,
            j.return_shipping,
            j.refundable_minor
        ),
        (
            250,
            ReturnShipping::CustomerLabel {
                reimburse_up_to_minor: 0,
            },
            1749,
        )
    );
    let j = judged(
        &facts(),
        &ask(&[(1, 1)], "looks_different"),
        &policy(),
        SOON,
    );
    assert_eq!(
        (j.restocking_fee_minor, j.return_shipping),
        (250, ReturnShipping::Free)
    );
}

#[test]
fn the_refundable_amount_never_goes_below_zero() {
    let mut f = facts();
    f.lines[4].paid_minor = 500;
    let mut a = ask(&[(5, 1)], "changed_mind");
    a.final_sale_exception = true;
    let j = judged(&f, &a, &policy(), SOON);
    assert_eq!(
        (j.value_minor, j.restocking_fee_minor, j.refundable_minor),
        (500, 50, 0)
    );
}

// ---------------------------------------------------------------------------------------
// Rejections and their order
// ---------------------------------------------------------------------------------------

#[test]
fn what_the_catalog_or_the_policy_excludes_is_rejected_with_its_rule() {
    let f = facts();
    assert_eq!(
        outcome(&f, &ask(&[(3, 1)], "arrived_damaged"), SOON),
        rejected(Rule::NotReturnable)
    );
    assert_eq!(
        outcome(&f, &ask(&[(4, 1)], "arrived_damaged"), SOON),
        rejected(Rule::NonReturnableCategory)
    );
    assert_eq!(
        outcome(&f, &ask(&[(5, 1)], "arrived_damaged"), SOON),
        rejected(Rule::FinalSale)
    );
}

#[test]
fn a_final_sale_exception_asked_by_staff_goes_to_review() {
    let mut a = ask(&[(5, 1)], "arrived_damaged");
    a.final_sale_exception = true;
    assert_eq!(
        outcome(&facts(), &a, SOON),
        review(&[Rule::FinalSaleExceptionAsked])
    );
    let mut a = ask(&[(1, 1)], "arrived_damaged");
    a.final_sale_exception = true;
    assert_eq!(
        outcome(&facts(), &a, SOON),
        Outcome::Authorized,
        "nothing was final sale"
    );
}

#[test]
fn the_first_rejecting_rule_in_order_is_named() {
    let f = facts();
    let late = "2027-02-01T00:00:00Z";
    let all = ask(&[(5, 1), (4, 1), (3, 1)], "arrived_damaged");
    assert_eq!(outcome(&f, &all, late), rejected(Rule::NotReturnable));
    assert_eq!(
        outcome(&f, &ask(&[(5, 1), (4, 1)], "arrived_damaged"), late),
        rejected(Rule::NonReturnableCategory)
    );
    assert_eq!(
        outcome(&f, &ask(&[(5, 1), (1, 1)], "arrived_damaged"), late),
        rejected(Rule::FinalSale)
    );
    let mut excepted = ask(&[(5, 1)], "arrived_damaged");
    excepted.final_sale_exception = true;
    assert_eq!(outcome(&f, &excepted, late), rejected(Rule::OutsideWindow));
}

#[test]
fn a_rejection_wins_over_every_review_and_the_flag_is_still_given() {
    let mut f = facts();
    f.history.returns = 6;
    let j = judged(
        &f,
        &ask(&[(5, 1), (6, 10)], "arrived_damaged"),
        &policy(),
        SOON,
    );
    assert_eq!(j.outcome, rejected(Rule::FinalSale));
    assert!(j.serial_returner.is_some());
}

// ---------------------------------------------------------------------------------------
// The window
// ---------------------------------------------------------------------------------------

#[test]
fn the_window_ends_exactly_its_days_after_delivery() {
    let f = facts();
    let a = ask(&[(1, 1)], "arrived_damaged");
    assert_eq!(outcome(&f, &a, "2027-01-04T00:00:00Z"), Outcome::Authorized);
    assert_eq!(
        outcome(&f, &a, "2027-01-04T00:00:00.001Z"),
        rejected(Rule::OutsideWindow)
    );
}

#[test]
fn the_web_channel_has_fourteen_days_but_kitchenware_keeps_sixty() {
    let mut f = facts();
    f.channel = Id::new("web".to_owned());
    let tee = ask(&[(1, 1)], "arrived_damaged");
    assert_eq!(
        outcome(&f, &tee, "2026-12-19T00:00:00Z"),
        Outcome::Authorized
    );
    assert_eq!(
        outcome(&f, &tee, "2026-12-19T00:00:01Z"),
        rejected(Rule::OutsideWindow)
    );
    let mug = ask(&[(2, 1)], "arrived_damaged");
    assert_eq!(
        outcome(&f, &mug, "2027-02-03T00:00:00Z"),
        Outcome::Authorized
    );
    assert_eq!(
        outcome(&f, &mug, "2027-02-03T00:00:01Z"),
        rejected(Rule::OutsideWindow)
    );
}
