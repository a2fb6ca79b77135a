//! Given an order's facts and a policy, when a return is asked at some time, then this
//! judgement: the rules that send a return to review (late requests, value, serial
//! returners), the refund method and the exchange terms. The fixtures are
//! `eligibility_tests`'s.

use super::eligibility_tests::*;
use super::judgement::*;
use super::policy::ReturnPolicy;
use super::test_policy::{policy, policy_with};
use crate::payment::{PaymentMethod, RefundMethod};
use serde_json::json;

#[test]
fn a_late_request_goes_to_review_with_an_extension_or_under_a_reviewing_policy() {
    let late = "2027-01-20T00:00:00Z";
    let mut extended = ask(&[(1, 1)], "arrived_damaged");
    extended.window_extension = true;
    assert_eq!(
        outcome(&facts(), &extended, late),
        review(&[Rule::WindowExtensionAsked])
    );
    let reviewing = policy_with("late_requests", json!("review"));
    let plain = ask(&[(1, 1)], "arrived_damaged");
    assert_eq!(
        judged(&facts(), &plain, &reviewing, late).outcome,
        review(&[Rule::OutsideWindow])
    );
    assert_eq!(
        judged(&facts(), &extended, &reviewing, late).outcome,
        review(&[Rule::WindowExtensionAsked])
    );
    assert_eq!(
        outcome(&facts(), &extended, SOON),
        Outcome::Authorized,
        "not late: nothing to extend"
    );
}

// ---------------------------------------------------------------------------------------
// Reviews
// ---------------------------------------------------------------------------------------

#[test]
fn a_return_above_the_auto_approval_limit_goes_to_review() {
    let f = facts();
    let j = judged(&f, &ask(&[(6, 3)], "arrived_damaged"), &policy(), SOON);
    assert_eq!(
        (j.value_minor, j.outcome),
        (16497, review(&[Rule::OverAutoApprovalLimit]))
    );
    let mut f = facts();
    f.lines[5].paid_minor = 50000;
    let j = judged(&f, &ask(&[(6, 3)], "arrived_damaged"), &policy(), SOON);
    assert_eq!(
        (j.value_minor, j.outcome),
        (15000, Outcome::Authorized),
        "the limit itself is allowed"
    );
}

#[test]
fn more_returns_than_allowed_flag_a_serial_returner() {
    let mut f = facts();
    f.history.returns = 5;
    assert_eq!(
        judged(&f, &ask(&[(1, 1)], "arrived_damaged"), &policy(), SOON).serial_returner,
        None
    );
    f.history.returns = 6;
    let j = judged(&f, &ask(&[(1, 1)], "arrived_damaged"), &policy(), SOON);
    assert_eq!(j.outcome, review(&[Rule::SerialReturner]));
    assert_eq!(
        j.serial_returner.as_deref(),
        Some("6 returns in the last 90 days, more than 5")
    );
}

#[test]
fn returning_more_than_the_percent_of_purchases_flags_a_serial_returner() {
    let mut f = facts();
    f.history = ReturnHistory {
        returns: 2,
        returned_value_minor: 6000,
        purchased_value_minor: 10000,
    };
    assert_eq!(
        outcome(&f, &ask(&[(1, 1)], "arrived_damaged"), SOON),
        Outcome::Authorized,
        "60% is not above 60%"
    );
    f.history.returned_value_minor = 6001;
    let j = judged(&f, &ask(&[(1, 1)], "arrived_damaged"), &policy(), SOON);
    assert_eq!(j.outcome, review(&[Rule::SerialReturner]));
    assert_eq!(
        j.serial_returner.as_deref(),
        Some("returned 6001 of 10000 purchased in the last 90 days (60%), above 60%")
    );
}

#[test]
fn every_review_rule_that_applies_is_named_in_order() {
    let mut f = facts();
    f.history.returns = 9;
    let mut a = ask(&[(5, 1), (6, 10)], "arrived_damaged");
    a.final_sale_exception = true;
    a.window_extension = true;
    let j = judged(&f, &a, &policy(), "2027-01-20T00:00:00Z");
    assert_eq!(
        j.outcome,
        review(&[
            Rule::FinalSaleExceptionAsked,
            Rule::WindowExtensionAsked,
            Rule::OverAutoApprovalLimit,
            Rule::SerialReturner,
        ])
    );
}

// ---------------------------------------------------------------------------------------
// Refund method
// ---------------------------------------------------------------------------------------

fn method(f: &ReturnFacts, wanted: Wanted, p: &ReturnPolicy, now: &str) -> RefundMethod {
    let mut a = ask(&[(1, 1)], "arrived_damaged");
    a.wanted = wanted;
    judged(f, &a, p, now).refund_method
}

#[test]
fn cash_on_delivery_is_refunded_as_store_credit_whatever_was_asked() {
    let mut f = facts();
    f.paid_with = vec![PaymentMethod::CashOnDelivery];
    assert_eq!(
        method(&f, Wanted::Refund, &policy(), SOON),
        RefundMethod::StoreCredit
    );
}

#[test]
fn a_request_more_than_thirty_days_after_placement_gets_store_credit() {
    let f = facts();
    assert_eq!(
        method(&f, Wanted::Refund, &policy(), "2026-12-31T00:00:00Z"),
        RefundMethod::OriginalPayment,
        "30 days"
    );
    assert_eq!(
        method(&f, Wanted::Refund, &policy(), "2027-01-01T00:00:00Z"),
        RefundMethod::StoreCredit,
        "31 days"
    );
}

#[test]
fn the_customer_chooses_under_customer_choice_and_not_otherwise() {
    let f = facts();
    assert_eq!(
        method(&f, Wanted::StoreCredit, &policy(), SOON),
        RefundMethod::StoreCredit
    );
    assert_eq!(
        method(&f, Wanted::Refund, &policy(), SOON),
        RefundMethod::OriginalPayment
    );
    let original = policy_with("refund_method", json!("original_payment"));
    assert_eq!(
        method(&f, Wanted::StoreCredit, &original, SOON),
        RefundMethod::OriginalPayment
    );
    let credit = policy_with("refund_method", json!("store_credit"));
    assert_eq!(
        method(&f, Wanted::Refund, &credit, SOON),
        RefundMethod::StoreCredit
    );
}

#[test]
fn a_rule_forcing_store_credit_wins_over_one_giving_the_original_payment() {
    let p = policy_with(
        "refund_method_rules",
        json!([
            { "paid_with": "card", "method": "original_payment" },
            { "requested_after_days": 7, "method": "store_credit" }
        ]),
    );
    let f = facts();
    assert_eq!(
        method(&f, Wanted::StoreCredit, &p, "2026-12-08T00:00:00Z"),
        RefundMethod::OriginalPayment,
        "7 days: only the card rule applies, and it beats the customer's choice"
    );
    assert_eq!(
        method(&f, Wanted::Refund, &p, "2026-12-09T00:00:00Z"),
        RefundMethod::StoreCredit
    );
}

// ---------------------------------------------------------------------------------------
// Exchanges
// ---------------------------------------------------------------------------------------

fn exchange(f: &ReturnFacts, wanted: Wanted, p: &ReturnPolicy) -> Judgement {
    let mut a = ask(&[(1, 2)], "size_too_small");
    a.wanted = wanted;
    judged(f, &a, p, SOON)
}

#[test]
fn a_dearer_replacement_is_paid_for_and_nothing_is_refunded() {
    let (f, wanted) = exchange_for("TEE-BLK-L", "TEE", 2499);
    let j = exchange(&f, wanted, &policy());
    assert_eq!(j.outcome, Outcome::Authorized);
    assert_eq!(
        j.exchange,
        Some(ExchangeTerms {
            sku: sku("TEE-BLK-L"),
            unit_price_minor: 2499,
            price_difference_minor: 1000
        })
    );
    assert_eq!((j.value_minor, j.refundable_minor), (3998, 0));
}

#[test]
fn a_cheaper_replacement_refunds_the_difference() {
    let (f, wanted) = exchange_for("TEE-BLK-L", "TEE", 1500);
    let j = exchange(&f, wanted, &policy());
    assert_eq!(
        j.exchange.as_ref().map(|e| e.price_difference_minor),
        Some(-998)
    );
    assert_eq!(j.refundable_minor, 998);
}

#[test]
fn an_exchange_outside_the_rules_is_rejected() {
    let (f, wanted) = exchange_for("HOOD-GRY-L", "HOOD", 1999);
    assert_eq!(
        exchange(&f, wanted.clone(), &policy()).outcome,
        rejected(Rule::ExchangeNotAllowed)
    );
    let any = policy_with("exchanges", json!({ "allowed": "any" }));
    assert_eq!(
        exchange(&f, wanted.clone(), &any).outcome,
        Outcome::Authorized
    );
    let none = policy_with("exchanges", json!({ "allowed": "none" }));
    let (same, same_wanted) = exchange_for("TEE-BLK-L", "TEE", 1999);
    assert_eq!(
        exchange(&same, same_wanted, &none).outcome,
        rejected(Rule::ExchangeNotAllowed)
    );
}

#[test]
fn same_price_only_refuses_a_difference_either_way() {
    let p = policy_with(
        "exchanges",
        json!({ "allowed": "same_product", "price_difference": "same_price_only" }),
    );
    for price in [2000, 1998] {
        let (f, wanted) = exchange_for("TEE-BLK-L", "TEE", price);
        assert_eq!(
            exchange(&f, wanted, &p).outcome,
            rejected(Rule::ExchangePriceDiffers),
            "{price}"
        );
    }
    let (f, wanted) = exchange_for("TEE-BLK-L", "TEE", 1999);
    let j = exchange(&f, wanted, &p);
    assert_eq!((j.outcome, j.refundable_minor), (Outcome::Authorized, 0));
}

// ---------------------------------------------------------------------------------------
// Purity
// ---------------------------------------------------------------------------------------

#[test]
fn the_same_request_is_judged_the_same_way_every_time() {
    let f = facts();
    let a = ask(&[(1, 2), (6, 4)], "changed_mind");
    let first = judged(&f, &a, &policy(), SOON);
    assert_eq!(judged(&f, &a, &policy(), SOON), first);
    let older = policy_with("version", json!("2025-06"));
    assert_eq!(judged(&f, &a, &older, SOON).version, "2025-06");
}
