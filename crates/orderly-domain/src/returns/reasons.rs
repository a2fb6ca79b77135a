//! The reason taxonomy of a return policy: a tree of reasons, of which only the leaves
//! may be chosen, so a report groups returns by a precise cause ("arrived damaged") while
//! fees and shipping can be set once on a broad one ("defective") and inherited below it.

use super::judgement::ReturnShipping;
use crate::order::FieldIssue;
use serde::Deserialize;
use std::collections::HashSet;

/// Deeper trees than this are refused: a taxonomy for people to choose from is shallow.
pub const MAX_REASON_DEPTH: usize = 4;
/// More reasons than this are refused (a bound on the configuration, like every input).
pub const MAX_REASONS: usize = 200;

/// What the merchant keeps of the returned value for taking the goods back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum RestockingFee {
    /// `{ percent = 10 }`: a whole percent (0-100) of the returned value, rounded down.
    Percent(u32),
    /// `{ fixed_minor = 500 }`: a fixed amount per return, at most the returned value.
    FixedMinor(i64),
}

impl RestockingFee {
    /// The fee on `value_minor`, never more than the value and never below zero.
    pub fn fee_on(self, value_minor: i64) -> i64 {
        let value = value_minor.max(0);
        let fee = match self {
            RestockingFee::Percent(p) => {
                let fee = i128::from(value) * i128::from(p.min(100)) / 100;
                i64::try_from(fee).unwrap_or(i64::MAX)
            }
            RestockingFee::FixedMinor(f) => f.max(0),
        };
        fee.min(value)
    }
}

/// Who pays the parcel back, as configuration spells it: `"free"`, `"customer_label"`,
/// `{ flat_fee_minor = 695 }`, or `{ customer_label_reimbursed_up_to_minor = 800 }` (the
/// customer ships it and the postage they state is paid back with the refund, up to that).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ShippingRule {
    Free,
    CustomerLabel,
    FlatFeeMinor(i64),
    CustomerLabelReimbursedUpToMinor(i64),
}

impl ShippingRule {
    /// The judgement's form of the rule.
    pub fn to_return_shipping(self) -> ReturnShipping {
        match self {
            ShippingRule::Free => ReturnShipping::Free,
            ShippingRule::CustomerLabel => ReturnShipping::CustomerLabel {
                reimburse_up_to_minor: 0,
            },
            ShippingRule::CustomerLabelReimbursedUpToMinor(cap) => ReturnShipping::CustomerLabel {
                reimburse_up_to_minor: cap,
            },
            ShippingRule::FlatFeeMinor(fee_minor) => ReturnShipping::FlatFee { fee_minor },
        }
    }
}

/// One node of the taxonomy. A node without children is a leaf, the only kind a request
/// may name; a child without its own fee or shipping takes its parent's.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReasonNode {
    /// Unique across the whole tree: `[a-z0-9_]`, 1-64 characters.
    pub code: String,
    pub label: String,
    #[serde(default)]
    pub restocking_fee: Option<RestockingFee>,
    #[serde(default)]
    pub return_shipping: Option<ShippingRule>,
    #[serde(default)]
    pub children: Vec<ReasonNode>,
}

/// A leaf reason with what it inherited resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafReason {
    pub code: String,
    pub label: String,
    /// None: no restocking fee.
    pub restocking_fee: Option<RestockingFee>,
    /// Free where neither the leaf nor any parent says otherwise.
    pub return_shipping: ShippingRule,
}

/// What a code names in a taxonomy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReasonLookup {
    Leaf(LeafReason),
    /// A grouping reason with children: a request must choose one of its leaves.
    NotALeaf,
    Unknown,
}

/// Finds `code` in `roots`, resolving the fee and shipping it inherits.
pub fn lookup(roots: &[ReasonNode], code: &str) -> ReasonLookup {
    fn walk(
        nodes: &[ReasonNode],
        code: &str,
        fee: Option<RestockingFee>,
        shipping: ShippingRule,
    ) -> Option<ReasonLookup> {
        for node in nodes {
            let fee = node.restocking_fee.or(fee);
            let shipping = node.return_shipping.unwrap_or(shipping);
            if node.code == code {
                return Some(if node.children.is_empty() {
                    ReasonLookup::Leaf(LeafReason {
                        code: node.code.clone(),
                        label: node.label.clone(),
                        restocking_fee: fee,
                        return_shipping: shipping,
                    })
                } else {
                    ReasonLookup::NotALeaf
                });
            }
            if let Some(found) = walk(&node.children, code, fee, shipping) {
                return Some(found);
            }
        }
        None
    }
    walk(roots, code, None, ShippingRule::Free).unwrap_or(ReasonLookup::Unknown)
}

/// The codes of every leaf, in the tree's order (for a form or an error message).
pub fn leaf_codes(roots: &[ReasonNode]) -> Vec<&str> {
    let mut out = Vec::new();
    let mut stack: Vec<&ReasonNode> = roots.iter().rev().collect();
    while let Some(node) = stack.pop() {
        if node.children.is_empty() {
            out.push(node.code.as_str());
        } else {
            stack.extend(node.children.iter().rev());
        }
    }
    out
}

/// Checks a taxonomy: at least one reason, codes well formed and unique across the tree,
/// labels present, fees and shipping fees in range, depth and size bounded. Each issue
/// names its node's path (`reasons[0].children[2].restocking_fee.percent`).
pub fn validate(roots: &[ReasonNode], issues: &mut Vec<FieldIssue>) {
    if roots.is_empty() {
        issues.push(FieldIssue::new(
            "reasons",
            "no_reasons",
            "at least one reason is required",
        ));
        return;
    }
    let mut seen = HashSet::new();
    let mut count = 0usize;
    validate_level(roots, "reasons", 1, &mut seen, &mut count, issues);
    if count > MAX_REASONS {
        issues.push(FieldIssue::new(
            "reasons",
            "too_many",
            format!("at most {MAX_REASONS} reasons in the whole tree"),
        ));
    }
}

fn validate_level<'a>(
    nodes: &'a [ReasonNode],
    path: &str,
    depth: usize,
    seen: &mut HashSet<&'a str>,
    count: &mut usize,
    issues: &mut Vec<FieldIssue>,
) {
    for (i, node) in nodes.iter().enumerate() {
        *count += 1;
        let at = format!("{path}[{i}]");
        let well_formed = (1..=64).contains(&node.code.len())
            && node
                .code
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !well_formed {
            issues.push(FieldIssue::new(
                format!("{at}.code"),
                "invalid",
                "a reason code is 1-64 characters of a-z, 0-9 and '_'",
            ));
        } else if !seen.insert(node.code.as_str()) {
            issues.push(FieldIssue::new(
                format!("{at}.code"),
                "duplicate",
                format!(
                    "the code '{}' is used twice; codes are unique across the whole tree",
                    node.code
                ),
            ));
        }
        if node.label.trim().is_empty() || node.label.len() > 200 {
            issues.push(FieldIssue::new(
                format!("{at}.label"),
                "invalid",
                "a label is 1-200 characters",
            ));
        }
        match node.restocking_fee {
            Some(RestockingFee::Percent(p)) if p > 100 => issues.push(FieldIssue::new(
                format!("{at}.restocking_fee.percent"),
                "out_of_range",
                "a restocking fee is a whole percent from 0 to 100",
            )),
            Some(RestockingFee::FixedMinor(f)) if f < 0 => issues.push(FieldIssue::new(
                format!("{at}.restocking_fee.fixed_minor"),
                "must_not_be_negative",
                "a fixed restocking fee is zero or more minor units",
            )),
            _ => {}
        }
        let amount = match node.return_shipping {
            Some(ShippingRule::FlatFeeMinor(f)) => Some(("flat_fee_minor", f)),
            Some(ShippingRule::CustomerLabelReimbursedUpToMinor(c)) => {
                Some(("customer_label_reimbursed_up_to_minor", c))
            }
            _ => None,
        };
        if let Some((key, v)) = amount
            && v < 0
        {
            issues.push(FieldIssue::new(
                format!("{at}.return_shipping.{key}"),
                "must_not_be_negative",
                "a return shipping amount is zero or more minor units",
            ));
        }
        if !node.children.is_empty() {
            if depth >= MAX_REASON_DEPTH {
                issues.push(FieldIssue::new(
                    format!("{at}.children"),
                    "too_deep",
                    format!("reasons nest at most {MAX_REASON_DEPTH} levels deep"),
                ));
            } else {
                let child_path = format!("{at}.children");
                validate_level(&node.children, &child_path, depth + 1, seen, count, issues);
            }
        }
    }
}
