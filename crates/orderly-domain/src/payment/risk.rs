//! Risk rules that put an order on review before it can reach the warehouse. The rules
//! are data (thresholds from configuration); the facts (how many recent orders the same
//! customer placed) are read by the caller, so the rule itself stays a pure function.

use crate::order::HoldReason;
use crate::values::CountryCode;
use serde::{Deserialize, Serialize};

/// Risk rules that put new orders on review; `[risk]` in the configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RiskPolicy {
    /// Orders whose total (minor units) exceeds this go to `high_value_review`.
    pub high_value_threshold_minor: Option<i64>,
    /// A billing country other than the shipping country means `fraud_review`.
    pub review_country_mismatch: bool,
    /// More than this many orders from one email within the window means `fraud_review`.
    pub velocity_max_orders: u32,
    pub velocity_window_minutes: u32,
}

impl Default for RiskPolicy {
    fn default() -> Self {
        RiskPolicy {
            high_value_threshold_minor: None,
            review_country_mismatch: true,
            velocity_max_orders: 5,
            velocity_window_minutes: 10,
        }
    }
}

/// The facts the rules look at for one new order.
#[derive(Debug, Clone)]
pub struct RiskFacts<'a> {
    pub total_minor: i64,
    pub billing_country: &'a CountryCode,
    pub shipping_country: &'a CountryCode,
    /// Orders the same email placed within the velocity window, not counting this one.
    pub recent_orders_same_email: u32,
    /// Orders paid with the same card within the window, not counting this one (0 when
    /// the card's fingerprint is unknown).
    pub recent_orders_same_card: u32,
}

/// The review holds the rules place, each with a note a reviewer can read.
pub fn risk_holds(policy: &RiskPolicy, facts: &RiskFacts<'_>) -> Vec<(HoldReason, String)> {
    let mut holds = Vec::new();
    if let Some(limit) = policy.high_value_threshold_minor
        && facts.total_minor > limit
    {
        holds.push((
            HoldReason::HighValueReview,
            format!(
                "total {} exceeds the review threshold {limit}",
                facts.total_minor
            ),
        ));
    }
    let mut fraud = Vec::new();
    if policy.review_country_mismatch && facts.billing_country != facts.shipping_country {
        fraud.push(format!(
            "billing country {} differs from shipping country {}",
            facts.billing_country, facts.shipping_country
        ));
    }
    // This order is one more on top of the recent ones.
    if facts.recent_orders_same_email + 1 > policy.velocity_max_orders {
        fraud.push(format!(
            "{} orders from this email within {} minutes (limit {})",
            facts.recent_orders_same_email + 1,
            policy.velocity_window_minutes,
            policy.velocity_max_orders
        ));
    }
    if facts.recent_orders_same_card + 1 > policy.velocity_max_orders {
        fraud.push(format!(
            "{} orders with this card within {} minutes (limit {})",
            facts.recent_orders_same_card + 1,
            policy.velocity_window_minutes,
            policy.velocity_max_orders
        ));
    }
    if !fraud.is_empty() {
        holds.push((HoldReason::FraudReview, fraud.join("; ")));
    }
    holds
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::CountryCode;

    fn cc(s: &str) -> CountryCode {
        CountryCode::parse(s).expect("valid country")
    }

    #[test]
    fn each_rule_places_its_hold_and_quiet_orders_pass() {
        let policy = RiskPolicy {
            high_value_threshold_minor: Some(100_000),
            ..RiskPolicy::default()
        };
        let (us, ca) = (cc("US"), cc("CA"));
        let facts = |total, billing, recent| RiskFacts {
            total_minor: total,
            billing_country: billing,
            shipping_country: &us,
            recent_orders_same_email: recent,
            recent_orders_same_card: 0,
        };
        assert!(risk_holds(&policy, &facts(100_000, &us, 4)).is_empty());
        let high = risk_holds(&policy, &facts(100_001, &us, 0));
        assert_eq!(high.len(), 1);
        assert_eq!(high[0].0, HoldReason::HighValueReview);
        let mismatch = risk_holds(&policy, &facts(10, &ca, 0));
        assert_eq!(mismatch[0].0, HoldReason::FraudReview);
        assert!(mismatch[0].1.contains("CA"), "{}", mismatch[0].1);
        let velocity = risk_holds(&policy, &facts(10, &us, 5));
        assert_eq!(velocity[0].0, HoldReason::FraudReview);
        assert!(velocity[0].1.contains("6 orders"), "{}", velocity[0].1);
        // Two fraud signals make one hold that names both.
        let both = risk_holds(&policy, &facts(10, &ca, 9));
        assert_eq!(both.len(), 1);
        assert!(both[0].1.contains("; "), "{}", both[0].1);
    }
}
