//! The policy as data: its shapes, the inheritance of the reason tree, the precedence of
//! windows, approval limits, and validation naming each key; the book of versions.

use super::policy::{Limit, PolicyBook, ReturnPolicy};
use super::reasons::{LeafReason, ReasonLookup, RestockingFee, ShippingRule, leaf_codes};
use super::test_policy::{from, policy, policy_json, policy_with};
use crate::Timestamp;
use crate::actor::Role;
use crate::order::FieldIssue;
use serde_json::json;

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// (field, code) of every issue, for exact comparison.
fn keys(issues: &[FieldIssue]) -> Vec<(String, &'static str)> {
    issues.iter().map(|i| (i.field.clone(), i.code)).collect()
}

fn issues_of(json: serde_json::Value) -> Vec<(String, &'static str)> {
    keys(&from(json).validate())
}

#[test]
fn the_example_policy_is_valid() {
    assert_eq!(policy().validate(), vec![]);
}

#[test]
fn a_leaf_inherits_fee_and_shipping_unless_it_sets_its_own() {
    let p = policy();
    let leaf = |code: &str| p.leaf_reason(code).unwrap();
    assert_eq!(
        leaf("size_too_small"),
        LeafReason {
            code: "size_too_small".into(),
            label: "Too small".into(),
            restocking_fee: Some(RestockingFee::FixedMinor(250)),
            return_shipping: ShippingRule::CustomerLabel,
        }
    );
    let looks = leaf("looks_different");
    assert_eq!(looks.restocking_fee, Some(RestockingFee::FixedMinor(250)));
    assert_eq!(looks.return_shipping, ShippingRule::Free);
    let colour = leaf("wrong_colour");
    assert_eq!(colour.restocking_fee, Some(RestockingFee::Percent(0)));
    assert_eq!(colour.return_shipping, ShippingRule::CustomerLabel);
    let damaged = leaf("arrived_damaged");
    assert_eq!(
        (damaged.restocking_fee, damaged.return_shipping),
        (None, ShippingRule::Free)
    );
    assert_eq!(
        leaf("changed_mind").return_shipping,
        ShippingRule::FlatFeeMinor(695)
    );
}

#[test]
fn only_leaves_may_be_chosen() {
    let p = policy();
    assert_eq!(p.reason("defective"), ReasonLookup::NotALeaf);
    assert_eq!(p.reason("not_as_described"), ReasonLookup::NotALeaf);
    assert_eq!(p.reason("bored"), ReasonLookup::Unknown);
    assert_eq!(p.leaf_reason("defective"), None);
    assert_eq!(
        leaf_codes(&p.reasons),
        vec![
            "changed_mind",
            "arrived_damaged",
            "stopped_working",
            "size_too_small",
            "looks_different",
            "wrong_colour"
        ]
    );
}

#[test]
fn a_restocking_fee_rounds_down_and_never_exceeds_the_value() {
    assert_eq!(RestockingFee::Percent(10).fee_on(3998), 399);
    assert_eq!(RestockingFee::Percent(100).fee_on(3998), 3998);
    assert_eq!(RestockingFee::FixedMinor(250).fee_on(3998), 250);
    assert_eq!(RestockingFee::FixedMinor(250).fee_on(100), 100);
    assert_eq!(RestockingFee::Percent(10).fee_on(-5), 0);
}

#[test]
fn the_window_is_the_categorys_then_the_channels_then_the_default() {
    let p = policy();
    assert_eq!(p.window_days_for("web", Some("kitchen")), 60);
    assert_eq!(p.window_days_for("web", Some("apparel")), 14);
    assert_eq!(p.window_days_for("web", None), 14);
    assert_eq!(p.window_days_for("marketplace", Some("apparel")), 30);
    assert_eq!(p.window_days_for("marketplace", Some("kitchen")), 60);
}

#[test]
fn approval_limits_are_per_role_and_a_role_not_listed_may_not_approve() {
    let p = policy();
    assert_eq!(
        p.approval_limit(Role::Support),
        Some(Limit::UpToMinor(10000))
    );
    assert_eq!(p.approval_limit(Role::Finance), Some(Limit::Unlimited));
    assert_eq!(p.approval_limit(Role::Admin), None);
    assert!(p.may_approve(Role::Support, 10000));
    assert!(!p.may_approve(Role::Support, 10001));
    assert!(p.may_approve(Role::Supervisor, 100000));
    assert!(!p.may_approve(Role::Supervisor, 100001));
    assert!(p.may_approve(Role::Finance, i64::MAX));
    assert!(!p.may_approve(Role::Admin, 1));
    assert!(!p.may_approve(Role::Warehouse, 0));
}

#[test]
fn a_limit_is_a_number_or_the_word_unlimited() {
    let p = policy_with(
        "approval_limits",
        json!({ "admin": "unlimited", "support": 0 }),
    );
    assert_eq!(p.approval_limit(Role::Admin), Some(Limit::Unlimited));
    assert_eq!(p.approval_limit(Role::Support), Some(Limit::UpToMinor(0)));
    let mut bad = policy_json();
    bad["approval_limits"] = json!({ "admin": "lots" });
    let err = serde_json::from_value::<ReturnPolicy>(bad).unwrap_err();
    assert!(err.to_string().contains("unlimited"), "{err}");
}

#[test]
fn defaults_apply_when_keys_are_left_out() {
    let mut json = policy_json();
    let obj = json.as_object_mut().unwrap();
    for key in [
        "refund_method",
        "refund_method_rules",
        "exchanges",
        "approval_limits",
        "serial_returner",
        "auto_approve_up_to_minor",
    ] {
        obj.remove(key);
    }
    let p = from(json);
    assert_eq!(p.refund_timing, super::RefundTiming::AfterInspection);
    assert_eq!(p.refund_method, super::RefundMethodDefault::OriginalPayment);
    assert_eq!(p.late_requests, super::LateRequests::Reject);
    assert_eq!(p.exchanges.allowed, super::ExchangeAllowed::Never);
    assert_eq!(p.exchanges.price_difference, super::PriceDifference::Settle);
    assert_eq!(
        (p.serial_returner, p.auto_approve_up_to_minor),
        (None, None)
    );
    assert!(!p.may_approve(Role::Admin, 0));
    assert_eq!(p.validate(), vec![]);
}

#[test]
fn an_unknown_key_is_refused() {
    let mut json = policy_json();
    json["window"] = json!(30);
    assert!(serde_json::from_value::<ReturnPolicy>(json).is_err());
    let mut json = policy_json();
    json["reasons"][0]["restocking_fee"] = json!({ "percentage": 10 });
    assert!(serde_json::from_value::<ReturnPolicy>(json).is_err());
}

#[test]
fn duplicate_reason_codes_are_named_wherever_they_are_in_the_tree() {
    let mut json = policy_json();
    json["reasons"][2]["children"][1]["code"] = json!("arrived_damaged");
    assert_eq!(
        issues_of(json),
        vec![("reasons[2].children[1].code".into(), "duplicate")]
    );
    let mut json = policy_json();
    json["reasons"][1]["children"][0]["code"] = json!("defective");
    assert_eq!(
        issues_of(json),
        vec![("reasons[1].children[0].code".into(), "duplicate")]
    );
}

#[test]
fn fees_out_of_range_are_named_by_their_key() {
    let mut json = policy_json();
    json["reasons"][2]["children"][2]["restocking_fee"] = json!({ "percent": 101 });
    json["reasons"][2]["restocking_fee"] = json!({ "fixed_minor": -1 });
    json["reasons"][0]["return_shipping"] = json!({ "flat_fee_minor": -695 });
    json["reasons"][1]["return_shipping"] = json!({ "customer_label_reimbursed_up_to_minor": -1 });
    assert_eq!(
        issues_of(json),
        vec![
            (
                "reasons[0].return_shipping.flat_fee_minor".into(),
                "must_not_be_negative"
            ),
            (
                "reasons[1].return_shipping.customer_label_reimbursed_up_to_minor".into(),
                "must_not_be_negative"
            ),
            (
                "reasons[2].restocking_fee.fixed_minor".into(),
                "must_not_be_negative"
            ),
            (
                "reasons[2].children[2].restocking_fee.percent".into(),
                "out_of_range"
            ),
        ]
    );
}

#[test]
fn the_required_condition_must_be_one_of_the_grades() {
    let p = policy_with("required_condition", json!("pristine"));
    let issues = p.validate();
    assert_eq!(
        keys(&issues),
        vec![("required_condition".into(), "unknown_condition")]
    );
    assert_eq!(
        issues[0].message,
        "'pristine' is not one of condition_grades (new, like_new, used, damaged)"
    );
    assert_eq!(
        issues_of({
            let mut j = policy_json();
            j["condition_grades"] = json!(["new", "like_new", "new"]);
            j
        }),
        vec![("condition_grades[2]".into(), "duplicate")]
    );
}

#[test]
fn the_other_keys_are_checked_and_named() {
    let mut json = policy_json();
    json["version"] = json!("");
    json["window_days"] = json!(0);
    json["window_days_by_channel"] = json!({ "web": 4000 });
    json["final_sale_skus"] = json!(["SOCK CREW"]);
    json["refund_method_rules"] = json!([{ "method": "store_credit" }]);
    json["auto_approve_up_to_minor"] = json!(-1);
    json["serial_returner"] =
        json!({ "max_returns": 5, "max_returned_percent": 160, "within_days": 0 });
    json["approval_limits"] = json!({ "superviser": 10, "support": -5 });
    json["ship_within_days"] = json!(0);
    json["reasons"] = json!([]);
    assert_eq!(
        issues_of(json),
        vec![
            ("version".into(), "invalid"),
            ("window_days".into(), "out_of_range"),
            ("window_days_by_channel.web".into(), "out_of_range"),
            ("ship_within_days".into(), "out_of_range"),
            ("final_sale_skus[0]".into(), "invalid_sku"),
            ("refund_method_rules[0]".into(), "no_condition"),
            ("auto_approve_up_to_minor".into(), "must_not_be_negative"),
            ("serial_returner.within_days".into(), "out_of_range"),
            (
                "serial_returner.max_returned_percent".into(),
                "out_of_range"
            ),
            ("approval_limits.superviser".into(), "unknown_role"),
            ("approval_limits.support".into(), "must_not_be_negative"),
            ("reasons".into(), "no_reasons"),
        ]
    );
}

fn version(name: &str, from_: &str) -> ReturnPolicy {
    let mut json = policy_json();
    json["version"] = json!(name);
    json["effective_from"] = json!(from_);
    from(json)
}

#[test]
fn the_version_in_force_is_the_latest_effective_at_placement() {
    let book = PolicyBook::new(vec![
        version("2026-11", "2026-11-15T00:00:00Z"),
        version("2025-06", "2025-06-01T00:00:00Z"),
    ])
    .unwrap();
    let names: Vec<&str> = book.versions().iter().map(|p| p.version.as_str()).collect();
    assert_eq!(names, vec!["2025-06", "2026-11"], "oldest first");
    let in_force = |at: &str| book.in_force_at(ts(at)).map(|p| p.version.as_str());
    assert_eq!(in_force("2025-05-31T23:59:59Z"), None);
    assert_eq!(in_force("2025-06-01T00:00:00Z"), Some("2025-06"));
    assert_eq!(in_force("2026-11-14T23:59:59.999Z"), Some("2025-06"));
    assert_eq!(in_force("2026-11-15T00:00:00Z"), Some("2026-11"));
    assert_eq!(in_force("2030-01-01T00:00:00Z"), Some("2026-11"));
    assert_eq!(book.version("2025-06").map(|p| p.window_days), Some(30));
    assert!(book.version("2024-01").is_none());
}

#[test]
fn a_book_needs_a_version_unique_names_and_distinct_start_times() {
    assert_eq!(
        keys(&PolicyBook::new(vec![]).unwrap_err()),
        vec![("policies".into(), "no_policies")]
    );
    let err = PolicyBook::new(vec![
        version("2026-11", "2026-11-15T00:00:00Z"),
        version("2026-11", "2027-01-01T00:00:00Z"),
        version("2027-02", "2026-11-15T00:00:00Z"),
    ])
    .unwrap_err();
    assert_eq!(
        keys(&err),
        vec![
            ("policies[1].version".into(), "duplicate"),
            ("policies[2].effective_from".into(), "duplicate"),
        ]
    );
}

#[test]
fn an_invalid_version_is_named_by_its_place_in_the_book() {
    let mut bad = policy_json();
    bad["version"] = json!("2027-01");
    bad["effective_from"] = json!("2027-01-01T00:00:00Z");
    bad["reasons"][0]["restocking_fee"] = json!({ "percent": 150 });
    let err = PolicyBook::new(vec![policy(), from(bad)]).unwrap_err();
    assert_eq!(
        keys(&err),
        vec![(
            "policies[1].reasons[0].restocking_fee.percent".into(),
            "out_of_range"
        )]
    );
}
