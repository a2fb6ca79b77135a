//! The policy the returns tests judge by, written as configuration would write it (JSON
//! here, the same serde shape as TOML), so the tests read the shapes a deployment uses.

use super::policy::ReturnPolicy;
use serde_json::{Value, json};

/// A policy like the demo's "2026-11": 30 days by default, 14 on `web`, 60 for `kitchen`;
/// socks S final sale; `decor` never returnable; a reason tree with inherited fees.
pub fn policy_json() -> Value {
    json!({
        "version": "2026-11",
        "effective_from": "2026-11-15T00:00:00Z",
        "window_days": 30,
        "window_days_by_channel": { "web": 14 },
        "window_days_by_category": { "kitchen": 60 },
        "final_sale_skus": ["SOCK-CREW-S"],
        "non_returnable_categories": ["decor"],
        "reasons": [
            { "code": "changed_mind", "label": "Changed my mind",
              "restocking_fee": { "percent": 10 },
              "return_shipping": { "flat_fee_minor": 695 } },
            { "code": "defective", "label": "Defective", "return_shipping": "free", "children": [
                { "code": "arrived_damaged", "label": "Arrived damaged" },
                { "code": "stopped_working", "label": "Stopped working" } ] },
            { "code": "not_as_described", "label": "Not as described",
              "restocking_fee": { "fixed_minor": 250 },
              "return_shipping": "customer_label", "children": [
                { "code": "size_too_small", "label": "Too small" },
                { "code": "looks_different", "label": "Looks different",
                  "return_shipping": "free" },
                { "code": "wrong_colour", "label": "Wrong colour",
                  "restocking_fee": { "percent": 0 } } ] }
        ],
        "required_condition": "like_new",
        "condition_grades": ["new", "like_new", "used", "damaged"],
        "refund_method": "customer_choice",
        "refund_method_rules": [
            { "paid_with": "cash_on_delivery", "method": "store_credit" },
            { "requested_after_days": 30, "method": "store_credit" }
        ],
        "auto_approve_up_to_minor": 15000,
        "serial_returner": { "max_returns": 5, "max_returned_percent": 60, "within_days": 90 },
        "approval_limits": { "support": 10000, "supervisor": 100000, "finance": "unlimited" },
        "exchanges": { "allowed": "same_product", "price_difference": "settle" },
        "ship_within_days": 30
    })
}

pub fn policy() -> ReturnPolicy {
    from(policy_json())
}

/// The policy with `key` set to `value` at the top level.
pub fn policy_with(key: &str, value: Value) -> ReturnPolicy {
    let mut json = policy_json();
    json[key] = value;
    from(json)
}

pub fn from(json: Value) -> ReturnPolicy {
    serde_json::from_value(json).expect("the test policy deserializes")
}
