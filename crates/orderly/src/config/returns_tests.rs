//! The `[returns]` section: the demo's two versions load and judge differently, and each
//! invalid policy stops start-up with its key named in full.

use super::*;
use orderly_domain::actor::Role;
use orderly_domain::payment::{PaymentMethod, RefundMethod};
use orderly_domain::returns::{
    AskedItem, Limit, LineFacts, Outcome, RestockingFee, ReturnAsk, ReturnFacts, ReturnHistory,
    ReturnShipping, Rule, Wanted, judge,
};
use orderly_domain::values::Sku;

fn load_with(extra: &str) -> anyhow::Result<Config> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("orderly.toml");
    std::fs::write(&path, extra)?;
    Config::load(Some(&path), Some(crate::DEMO_CONFIG))
}

fn ts(s: &str) -> jiff::Timestamp {
    s.parse().unwrap()
}

/// One version (replacing the demo's), with `extra` keys added to it.
fn one_policy(extra: &str) -> String {
    format!(
        "[[returns.policies]]\nversion = \"v1\"\neffective_from = \"2025-01-01T00:00:00Z\"\n\
         window_days = 30\nrequired_condition = \"new\"\ncondition_grades = [\"new\", \"used\"]\n\
         ship_within_days = 30\n{extra}\n"
    )
}

const REASONS: &str = "reasons = [{ code = \"changed_mind\", label = \"Changed my mind\" }]";

fn error_of(toml: &str) -> String {
    format!("{:#}", load_with(toml).unwrap_err())
}

#[test]
fn the_demo_has_two_versions_and_judges_by_the_one_in_force_at_placement() {
    let c = load_with("").unwrap();
    let book = c.return_policies().unwrap();
    let names: Vec<&str> = book.versions().iter().map(|p| p.version.as_str()).collect();
    assert_eq!(names, vec!["2025-06", "2026-11"]);
    assert!(book.in_force_at(ts("2025-05-31T00:00:00Z")).is_none());
    let new = book.version("2026-11").unwrap();
    assert_eq!(new.window_days_for("web", Some("apparel")), 14);
    assert_eq!(new.window_days_for("marketplace", Some("apparel")), 30);
    assert_eq!(
        new.leaf_reason("changed_mind").unwrap().restocking_fee,
        Some(RestockingFee::Percent(10))
    );
    assert_eq!(
        new.approval_limit(Role::Support),
        Some(Limit::UpToMinor(10000))
    );
    assert_eq!(new.approval_limit(Role::Admin), Some(Limit::Unlimited));
    assert_eq!(new.refund_method_rules.len(), 2);

    // The same request, twenty days after delivery on the web store, on orders placed
    // before and after the change.
    let facts = |placed: &str| ReturnFacts {
        channel: orderly_domain::values::Id::new("web".to_owned()),
        placed_at: ts(placed),
        paid_with: vec![PaymentMethod::Card],
        lines: vec![LineFacts {
            line_no: 1,
            sku: Sku::parse("TEE-BLK-M").unwrap(),
            product: Some("TEE".into()),
            category: Some("apparel".into()),
            returnable: true,
            paid_minor: 1999,
            ordered: 1,
            delivered: 1,
            delivered_at: Some(ts("2026-12-05T00:00:00Z")),
            in_returns: 0,
        }],
        history: ReturnHistory::default(),
        replacement: None,
    };
    let ask = ReturnAsk {
        items: vec![AskedItem {
            line_no: 1,
            quantity: 1,
        }],
        reason: "changed_mind".into(),
        wanted: Wanted::Refund,
        final_sale_exception: false,
        window_extension: false,
        shipping_cost_minor: None,
    };
    let now = ts("2026-12-25T00:00:00Z");
    let judged = |placed: &str| {
        let f = facts(placed);
        let policy = book.in_force_at(f.placed_at).unwrap();
        judge(&f, &ask, policy, now).unwrap()
    };
    let before = judged("2026-11-14T12:00:00Z");
    assert_eq!(
        (before.version.as_str(), &before.outcome),
        ("2025-06", &Outcome::Authorized)
    );
    assert_eq!(
        (before.refundable_minor, before.return_shipping),
        (1999, ReturnShipping::Free)
    );
    let after = judged("2026-11-15T00:00:00Z");
    assert_eq!(
        (after.version.as_str(), &after.outcome),
        (
            "2026-11",
            &Outcome::Rejected {
                rule: Rule::OutsideWindow
            }
        )
    );
    assert_eq!(
        (after.restocking_fee_minor, after.refundable_minor),
        (199, 1999 - 199 - 695)
    );
    assert_eq!(before.refund_method, RefundMethod::OriginalPayment);
    assert_eq!(
        after.refund_method,
        RefundMethod::StoreCredit,
        "asked 40 days after placement"
    );
}

#[test]
fn a_file_of_its_own_replaces_the_demos_versions() {
    let c = load_with(&one_policy(REASONS)).unwrap();
    let names: Vec<&str> = c
        .return_policies()
        .unwrap()
        .versions()
        .iter()
        .map(|p| p.version.as_str())
        .collect();
    assert_eq!(names, vec!["v1"]);
}

#[test]
fn without_a_returns_section_returns_are_off() {
    let demo_from_locations: String = crate::DEMO_CONFIG
        .split("\n[[locations]]")
        .skip(1)
        .fold(String::new(), |acc, part| acc + "\n[[locations]]" + part);
    let without_returns = demo_from_locations
        .split("\n[[returns.policies]]")
        .next()
        .unwrap()
        .to_owned();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orderly.toml");
    std::fs::write(&path, without_returns).unwrap();
    let c = Config::load(Some(&path), None).unwrap();
    assert!(c.returns.policies.is_empty());
    assert!(c.return_policies().is_none());
}

#[test]
fn an_invalid_reason_tree_is_named_by_its_key() {
    let err = error_of(&one_policy(
        "reasons = [\n\
           { code = \"defective\", label = \"Defective\", children = [\n\
               { code = \"defective\", label = \"Again\" },\n\
               { code = \"arrived_damaged\", label = \"Damaged\", restocking_fee = { percent = 150 } },\n\
               { code = \"stopped\", label = \"Stopped\", restocking_fee = { fixed_minor = -5 } } ] } ]",
    ));
    for key in [
        "returns.policies[0].reasons[0].children[0].code",
        "returns.policies[0].reasons[0].children[1].restocking_fee.percent",
        "returns.policies[0].reasons[0].children[2].restocking_fee.fixed_minor",
    ] {
        assert!(err.contains(key), "{key} missing from: {err}");
    }
}

#[test]
fn an_unknown_condition_role_or_channel_stops_startup() {
    let err = error_of(&one_policy(&format!(
        "{REASONS}\nwindow_days_by_channel = {{ shop = 10 }}\n\
         [returns.policies.approval_limits]\nsuperviser = 100"
    )));
    for key in [
        "returns.policies[0].window_days_by_channel.shop: not a configured channel",
        "returns.policies[0].approval_limits.superviser",
    ] {
        assert!(err.contains(key), "{key} missing from: {err}");
    }
    let err = error_of(&one_policy(REASONS).replace(
        "required_condition = \"new\"",
        "required_condition = \"mint\"",
    ));
    assert!(
        err.contains("returns.policies[0].required_condition: 'mint' is not one of condition_grades (new, used)"),
        "{err}"
    );
}

#[test]
fn versions_must_be_unique_and_the_book_is_named_by_place() {
    let second = one_policy(REASONS).replace("2025-01-01", "2026-01-01");
    let err = error_of(&format!("{}{second}", one_policy(REASONS)));
    assert!(
        err.contains("returns.policies[1].version: the version 'v1' is named twice"),
        "{err}"
    );
}

#[test]
fn a_wrong_shape_is_named_by_the_loader() {
    let err = error_of(&one_policy(&format!(
        "{REASONS}\n[returns.policies.approval_limits]\nadmin = \"lots\""
    )));
    assert!(
        err.contains("`returns.policies.0.approval_limits.admin`: expected a number of minor units or \"unlimited\""),
        "{err}"
    );
    let err = error_of(&one_policy(&format!("{REASONS}\nwindow = 30")));
    assert!(
        err.contains("`returns.policies.0.window`: unknown field"),
        "{err}"
    );
    let err =
        error_of(&one_policy(REASONS).replace("\"2025-01-01T00:00:00Z\"", "\"first of January\""));
    assert!(err.contains("effective_from"), "{err}");
}

#[test]
fn the_example_in_the_deployment_guide_loads() {
    let guide = include_str!("../../../../docs/deployment.md");
    let example = guide
        .split("```toml\n")
        .find(|block| block.starts_with("[[returns.policies]]"))
        .and_then(|block| block.split("```").next())
        .unwrap();
    let c = load_with(example).unwrap();
    let book = c.return_policies().unwrap();
    assert_eq!(book.versions().len(), 1);
    assert_eq!(book.versions()[0].validate(), vec![]);
}
