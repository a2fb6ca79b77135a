//! A return policy as pure data, and the book of its versions. Policy lives in
//! configuration, not in code, and changes over time; a return is judged by the version
//! in force when its order was placed (what the customer was promised at checkout), so
//! the book keeps every version and answers which one applies to an order.
//!
//! Everything here is checked once, by [`ReturnPolicy::validate`] and [`PolicyBook::new`],
//! with each issue naming its key (`policies[1].reasons[0].restocking_fee.percent`), so a
//! wrong policy stops start-up instead of answering a customer wrongly.

use super::judgement::RefundTiming;
use super::reasons::{self, LeafReason, ReasonLookup, ReasonNode};
use crate::Timestamp;
use crate::actor::Role;
use crate::order::FieldIssue;
use crate::payment::{PaymentMethod, RefundMethod};
use crate::values::Sku;
use serde::{Deserialize, Deserializer};
use std::collections::{BTreeMap, HashSet};

/// Longest window, shipping deadline and look-back a policy may name: ten years.
pub const MAX_DAYS: u32 = 3650;
/// Most versions a book holds.
pub const MAX_VERSIONS: usize = 100;

/// One version of the return policy.
///
/// The window of a line is, in order of precedence: its category's entry in
/// `window_days_by_category`, else its channel's in `window_days_by_channel`, else
/// `window_days`. The most specific fact about the goods wins.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReturnPolicy {
    /// The version's name, recorded on every judgement (e.g. `2026-11`).
    pub version: String,
    /// Orders placed at or after this (RFC 3339, a quoted string in TOML) are judged by
    /// this version, until the next one takes effect.
    #[serde(with = "crate::time::wire")]
    pub effective_from: Timestamp,
    /// Days from delivery (of the line's last unit) during which a return may be asked.
    pub window_days: u32,
    #[serde(default)]
    pub window_days_by_channel: BTreeMap<String, u32>,
    #[serde(default)]
    pub window_days_by_category: BTreeMap<String, u32>,
    /// What happens to a request after the window without an extension asked by staff.
    #[serde(default)]
    pub late_requests: LateRequests,
    #[serde(default)]
    pub final_sale_skus: Vec<String>,
    #[serde(default)]
    pub non_returnable_categories: Vec<String>,
    pub reasons: Vec<ReasonNode>,
    /// The grade items must come back in; one of `condition_grades`.
    pub required_condition: String,
    /// The grades inspection may give, best first (e.g. new, like_new, used, damaged).
    pub condition_grades: Vec<String>,
    #[serde(default = "after_inspection")]
    pub refund_timing: RefundTiming,
    /// Where refunds go when no rule of `refund_method_rules` applies.
    #[serde(default)]
    pub refund_method: RefundMethodDefault,
    #[serde(default)]
    pub refund_method_rules: Vec<RefundMethodRule>,
    /// Returns worth more than this need review; none: no limit.
    #[serde(default)]
    pub auto_approve_up_to_minor: Option<i64>,
    #[serde(default)]
    pub serial_returner: Option<SerialReturnerRule>,
    /// The largest return value each role may approve on review: a number of minor units
    /// or `"unlimited"`. A role not listed may not approve at all.
    #[serde(default)]
    pub approval_limits: BTreeMap<String, Limit>,
    #[serde(default)]
    pub exchanges: ExchangeRules,
    /// An authorized return must be shipped within this many days or it expires.
    pub ship_within_days: u32,
    /// What becomes of a unit that inspection (or a person's decision) rejects.
    #[serde(default)]
    pub rejected_items: RejectedItems,
}

fn after_inspection() -> RefundTiming {
    RefundTiming::AfterInspection
}

snake_enum!(
    /// A request after the window, when staff did not ask for an extension.
    #[derive(Default)]
    LateRequests {
        #[default]
        Reject => "reject",
        Review => "review",
    }
);

snake_enum!(
    /// What becomes of a rejected unit: the customer's goods are theirs, so a policy that
    /// does not leave it to the inspector either sends them back or holds them.
    #[derive(Default)]
    RejectedItems {
        /// The inspector (or the decider) chooses: back to the customer, quarantine or
        /// scrap.
        #[default]
        InspectorChooses => "inspector_chooses",
        /// Sent back to the customer, in a parcel booked through a carrier.
        ReturnToCustomer => "return_to_customer",
        /// Held in quarantine, never sellable, until the customer collects it or a person
        /// releases or scraps it.
        Hold => "hold",
    }
);

snake_enum!(
    /// The refund method when no rule applies.
    #[derive(Default)]
    RefundMethodDefault {
        /// Back where it was paid, whatever the customer asked.
        #[default]
        OriginalPayment => "original_payment",
        StoreCredit => "store_credit",
        /// As asked: store credit for `Wanted::StoreCredit`, else the original payment.
        CustomerChoice => "customer_choice",
    }
);

/// A rule that sets the refund method when all its conditions hold; a rule needs at least
/// one. Among the rules that apply, one giving store credit wins over the others and over
/// the customer's choice (the rule exists to keep the money in the shop).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefundMethodRule {
    /// Applies when the order was paid (in part) with this method.
    #[serde(default)]
    pub paid_with: Option<PaymentMethod>,
    /// Applies when the request comes more than this many whole days after placement.
    #[serde(default)]
    pub requested_after_days: Option<u32>,
    pub method: RefundMethod,
}

impl RefundMethodRule {
    pub fn applies(&self, paid_with: &[PaymentMethod], age_days: i64) -> bool {
        let paid = self.paid_with.is_none_or(|m| paid_with.contains(&m));
        let late = self
            .requested_after_days
            .is_none_or(|d| age_days > i64::from(d));
        paid && late
    }
}

/// More than `max_returns` returns, or returned value above `max_returned_percent` of the
/// value purchased, within the last `within_days` days, flags the customer and sends new
/// returns to review. The caller counts the history over `within_days`, this request not
/// included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SerialReturnerRule {
    pub max_returns: u32,
    pub max_returned_percent: u32,
    pub within_days: u32,
}

/// How far a role may approve: up to an amount, or without limit. Configuration spells it
/// as a number of minor units or the word `"unlimited"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    UpToMinor(i64),
    Unlimited,
}

impl Limit {
    pub fn allows(self, value_minor: i64) -> bool {
        match self {
            Limit::UpToMinor(max) => value_minor <= max,
            Limit::Unlimited => true,
        }
    }
}

impl<'de> Deserialize<'de> for Limit {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Limit, D::Error> {
        struct LimitVisitor;
        impl serde::de::Visitor<'_> for LimitVisitor {
            type Value = Limit;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a number of minor units or \"unlimited\"")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Limit, E> {
                Ok(Limit::UpToMinor(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Limit, E> {
                i64::try_from(v)
                    .map(Limit::UpToMinor)
                    .map_err(|_| E::custom("the limit is too large"))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Limit, E> {
                match v {
                    "unlimited" => Ok(Limit::Unlimited),
                    _ => Err(E::custom(
                        "expected a number of minor units or \"unlimited\"",
                    )),
                }
            }
        }
        d.deserialize_any(LimitVisitor)
    }
}

/// Which replacements an exchange may ask for, and how a price difference is handled.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExchangeRules {
    pub allowed: ExchangeAllowed,
    pub price_difference: PriceDifference,
}

snake_enum!(
    #[derive(Default)]
    ExchangeAllowed {
        /// No exchanges (the default: a policy says so to allow them).
        #[default]
        #[serde(rename = "none")]
        Never => "none",
        /// Another variant of the returned line's product (another size or colour).
        SameProduct => "same_product",
        Any => "any",
    }
);

snake_enum!(
    #[derive(Default)]
    PriceDifference {
        /// Collected when the replacement costs more, refunded when it costs less.
        #[default]
        Settle => "settle",
        /// Only replacements worth exactly the returned units.
        SamePriceOnly => "same_price_only",
    }
);

impl ReturnPolicy {
    /// The window in days for a line of `category` sold on `channel` (see the type's
    /// docs for the precedence).
    pub fn window_days_for(&self, channel: &str, category: Option<&str>) -> u32 {
        category
            .and_then(|c| self.window_days_by_category.get(c))
            .or_else(|| self.window_days_by_channel.get(channel))
            .copied()
            .unwrap_or(self.window_days)
    }

    pub fn reason(&self, code: &str) -> ReasonLookup {
        reasons::lookup(&self.reasons, code)
    }

    /// The leaf reason `code`, with its inherited fee and shipping.
    pub fn leaf_reason(&self, code: &str) -> Option<LeafReason> {
        match self.reason(code) {
            ReasonLookup::Leaf(leaf) => Some(leaf),
            ReasonLookup::NotALeaf | ReasonLookup::Unknown => None,
        }
    }

    pub fn is_final_sale(&self, sku: &Sku) -> bool {
        self.final_sale_skus.iter().any(|s| s == sku.as_str())
    }

    pub fn is_non_returnable_category(&self, category: Option<&str>) -> bool {
        category.is_some_and(|c| self.non_returnable_categories.iter().any(|n| n == c))
    }

    /// The largest return value `role` may approve on review; None: it may not approve.
    pub fn approval_limit(&self, role: Role) -> Option<Limit> {
        self.approval_limits.get(role.as_str()).copied()
    }

    pub fn may_approve(&self, role: Role, value_minor: i64) -> bool {
        self.approval_limit(role)
            .is_some_and(|limit| limit.allows(value_minor))
    }

    /// Every issue with this version, each naming its key relative to the policy
    /// (`reasons[0].code`); empty when it is valid.
    pub fn validate(&self) -> Vec<FieldIssue> {
        let mut issues = Vec::new();
        let mut issue = |field: String, code: &'static str, message: String| {
            issues.push(FieldIssue::new(field, code, message));
        };
        let version_ok = (1..=40).contains(&self.version.len())
            && self
                .version
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !version_ok {
            issue(
                "version".into(),
                "invalid",
                "a version is 1-40 characters of letters, digits, '-', '_' or '.'".into(),
            );
        }
        let days =
            |field: String, value: u32, issue: &mut dyn FnMut(String, &'static str, String)| {
                if !(1..=MAX_DAYS).contains(&value) {
                    issue(
                        field,
                        "out_of_range",
                        format!("must be between 1 and {MAX_DAYS} days"),
                    );
                }
            };
        days("window_days".into(), self.window_days, &mut issue);
        for (channel, d) in &self.window_days_by_channel {
            days(format!("window_days_by_channel.{channel}"), *d, &mut issue);
        }
        for (category, d) in &self.window_days_by_category {
            days(
                format!("window_days_by_category.{category}"),
                *d,
                &mut issue,
            );
        }
        days("ship_within_days".into(), self.ship_within_days, &mut issue);
        for (i, sku) in self.final_sale_skus.iter().enumerate() {
            if Sku::parse(sku).is_err() {
                issue(
                    format!("final_sale_skus[{i}]"),
                    "invalid_sku",
                    "a SKU is 1-64 characters of letters, digits, '-', '_' or '.'".into(),
                );
            }
        }
        for (i, c) in self.non_returnable_categories.iter().enumerate() {
            if c.trim().is_empty() {
                issue(
                    format!("non_returnable_categories[{i}]"),
                    "invalid",
                    "a category is not empty".into(),
                );
            }
        }
        let mut grades = HashSet::new();
        if self.condition_grades.is_empty() {
            issue(
                "condition_grades".into(),
                "no_grades",
                "at least one condition grade is required".into(),
            );
        }
        for (i, g) in self.condition_grades.iter().enumerate() {
            if g.trim().is_empty() || !grades.insert(g.as_str()) {
                issue(
                    format!("condition_grades[{i}]"),
                    "duplicate",
                    "grades are non-empty and unique".into(),
                );
            }
        }
        if !self.condition_grades.contains(&self.required_condition) {
            issue(
                "required_condition".into(),
                "unknown_condition",
                format!(
                    "'{}' is not one of condition_grades ({})",
                    self.required_condition,
                    self.condition_grades.join(", ")
                ),
            );
        }
        for (i, rule) in self.refund_method_rules.iter().enumerate() {
            if rule.paid_with.is_none() && rule.requested_after_days.is_none() {
                issue(
                    format!("refund_method_rules[{i}]"),
                    "no_condition",
                    "a rule needs paid_with, requested_after_days or both".into(),
                );
            }
            if rule.requested_after_days.is_some_and(|d| d > MAX_DAYS) {
                issue(
                    format!("refund_method_rules[{i}].requested_after_days"),
                    "out_of_range",
                    format!("must be at most {MAX_DAYS} days"),
                );
            }
        }
        if self.auto_approve_up_to_minor.is_some_and(|v| v < 0) {
            issue(
                "auto_approve_up_to_minor".into(),
                "must_not_be_negative",
                "an auto-approval limit is zero or more minor units".into(),
            );
        }
        if let Some(rule) = self.serial_returner {
            days(
                "serial_returner.within_days".into(),
                rule.within_days,
                &mut issue,
            );
            if rule.max_returned_percent > 100 {
                issue(
                    "serial_returner.max_returned_percent".into(),
                    "out_of_range",
                    "a whole percent from 0 to 100".into(),
                );
            }
        }
        for (role, limit) in &self.approval_limits {
            let field = format!("approval_limits.{role}");
            if Role::parse(role).is_none() {
                let roles: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
                issue(
                    field,
                    "unknown_role",
                    format!("'{role}' is not a role ({})", roles.join(", ")),
                );
            } else if matches!(limit, Limit::UpToMinor(v) if *v < 0) {
                issue(
                    field,
                    "must_not_be_negative",
                    "a limit is zero or more minor units, or \"unlimited\"".into(),
                );
            }
        }
        reasons::validate(&self.reasons, &mut issues);
        issues
    }
}

/// Every version of the return policy, valid and ordered by `effective_from`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyBook {
    /// Sorted by `effective_from`, strictly increasing.
    policies: Vec<ReturnPolicy>,
}

impl PolicyBook {
    /// Validates every version (issues are named `policies[i].…`, `i` as given), and that
    /// there is at least one, that versions are unique and that no two take effect at the
    /// same instant.
    pub fn new(mut policies: Vec<ReturnPolicy>) -> Result<PolicyBook, Vec<FieldIssue>> {
        let mut issues = Vec::new();
        if policies.is_empty() {
            issues.push(FieldIssue::new(
                "policies",
                "no_policies",
                "at least one return policy version is required",
            ));
        }
        if policies.len() > MAX_VERSIONS {
            issues.push(FieldIssue::new(
                "policies",
                "too_many",
                format!("at most {MAX_VERSIONS} versions"),
            ));
        }
        let mut versions = HashSet::new();
        let mut starts = HashSet::new();
        for (i, policy) in policies.iter().enumerate() {
            for mut issue in policy.validate() {
                issue.field = format!("policies[{i}].{}", issue.field);
                issues.push(issue);
            }
            if !versions.insert(policy.version.as_str()) {
                issues.push(FieldIssue::new(
                    format!("policies[{i}].version"),
                    "duplicate",
                    format!("the version '{}' is named twice", policy.version),
                ));
            }
            if !starts.insert(policy.effective_from) {
                issues.push(FieldIssue::new(
                    format!("policies[{i}].effective_from"),
                    "duplicate",
                    "two versions take effect at the same instant; which applies would be unclear",
                ));
            }
        }
        if !issues.is_empty() {
            return Err(issues);
        }
        policies.sort_by_key(|p| p.effective_from);
        Ok(PolicyBook { policies })
    }

    /// The version in force for an order placed at `placed_at`: the latest whose
    /// `effective_from` is not after it. None for an order placed before every version:
    /// the caller refuses the return with a code of its own (`no_policy_in_force`) rather
    /// than judge it by a policy the customer was never promised.
    pub fn in_force_at(&self, placed_at: Timestamp) -> Option<&ReturnPolicy> {
        self.policies
            .iter()
            .rev()
            .find(|p| p.effective_from <= placed_at)
    }

    pub fn version(&self, name: &str) -> Option<&ReturnPolicy> {
        self.policies.iter().find(|p| p.version == name)
    }

    /// Every version, oldest first.
    pub fn versions(&self) -> &[ReturnPolicy] {
        &self.policies
    }
}
