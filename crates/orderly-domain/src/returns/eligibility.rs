//! The judgement of a return request: a pure function of the request, the order's facts,
//! the policy version and the time of asking. No IO and no clock, so the same request is
//! answered the same way every time, and a draft policy can be replayed over a month of
//! past requests (the backtest) without writing anything.
//!
//! A request the order cannot answer (an unknown line, more units than remain, a reason
//! that is not a leaf) is an input error (`Err`, each issue naming its field). Everything
//! else is the policy's answer (`Ok`), as an [`Outcome`] with the rule behind it.
//!
//! Rejections are checked in this order, each over every asked line, and the first that
//! applies is named: `not_returnable` (the catalog's flag), `non_returnable_category`,
//! `final_sale` (unless staff asked for an exception), `outside_window` (unless staff asked
//! for an extension, or the policy sends late requests to review), `exchange_not_allowed`,
//! `exchange_price_differs`. A rejection wins over any review. Without one, every review
//! rule that applies is named, in this order: `final_sale_exception_asked`,
//! `window_extension_asked` or `outside_window`, `over_auto_approval_limit`,
//! `serial_returner`. Without any, the return is authorized.

use super::judgement::{
    ExchangeTerms, Judgement, LineFacts, Outcome, ReturnAsk, ReturnFacts, ReturnHistory, Rule,
    Wanted,
};
use super::policy::{
    ExchangeAllowed, LateRequests, PriceDifference, RefundMethodDefault, ReturnPolicy,
    SerialReturnerRule,
};
use super::reasons::{self, ReasonLookup};
use crate::Timestamp;
use crate::order::FieldIssue;
use crate::payment::RefundMethod;
use jiff::SignedDuration;
use std::collections::HashSet;

const SECONDS_PER_DAY: i64 = 86_400;

/// Judges `ask` on the order described by `facts` under `policy`, asked at `now`.
///
/// Money: the value is the paid value of the asked units (`LineFacts::value_of`); the
/// restocking fee is the leaf reason's (a percent of the value rounded down, or a fixed
/// amount, never above the value); the return shipping fee is the reason's flat fee; the
/// refundable amount is the value less both, never below zero; the customer's own postage
/// is paid back beside it where the reason reimburses it (their stated cost, up to its
/// cap), by a refund of its own. An exchange swaps each
/// returned unit for one unit of the replacement: its price difference is the
/// replacement's unit price times the units less the value, and only a negative
/// difference is refunded (the fees are shown, the difference settles the exchange).
pub fn judge(
    facts: &ReturnFacts,
    ask: &ReturnAsk,
    policy: &ReturnPolicy,
    now: Timestamp,
) -> Result<Judgement, Vec<FieldIssue>> {
    let mut issues = Vec::new();
    let asked = asked_lines(facts, ask, &mut issues);
    let leaf = match policy.reason(&ask.reason) {
        ReasonLookup::Leaf(leaf) => Some(leaf),
        ReasonLookup::NotALeaf => {
            issues.push(FieldIssue::new(
                "reason",
                "not_a_leaf_reason",
                format!(
                    "'{}' groups other reasons; choose one of: {}",
                    ask.reason,
                    reasons::leaf_codes(&policy.reasons).join(", ")
                ),
            ));
            None
        }
        ReasonLookup::Unknown => {
            issues.push(FieldIssue::new(
                "reason",
                "unknown_reason",
                format!(
                    "'{}' is not a reason of policy {}; choose one of: {}",
                    ask.reason,
                    policy.version,
                    reasons::leaf_codes(&policy.reasons).join(", ")
                ),
            ));
            None
        }
    };
    let replacement = match &ask.wanted {
        Wanted::Exchange { sku } => match &facts.replacement {
            Some(r) if r.sku == *sku => Some(r),
            _ => {
                issues.push(FieldIssue::new(
                    "wanted.sku",
                    "unknown_variant",
                    format!("no variant '{sku}' is known to exchange for"),
                ));
                None
            }
        },
        Wanted::Refund | Wanted::StoreCredit => None,
    };
    let Some(leaf) = leaf.filter(|_| issues.is_empty()) else {
        return Err(issues);
    };

    let value_minor = asked
        .iter()
        .fold(0i64, |sum, (line, q)| sum.saturating_add(line.value_of(*q)));
    let units: u32 = asked.iter().map(|(_, q)| *q).sum();
    let restocking_fee_minor = leaf.restocking_fee.map_or(0, |f| f.fee_on(value_minor));
    let return_shipping = leaf.return_shipping.to_return_shipping();
    let shipping_reimbursed_minor = match ask.shipping_cost_minor {
        Some(_) if return_shipping.reimbursed_of(i64::MAX) == 0 => {
            return Err(vec![FieldIssue::new(
                "shipping_cost",
                "not_reimbursed",
                format!(
                    "the reason '{}' does not pay back the customer's own postage",
                    leaf.code
                ),
            )]);
        }
        Some(cost) => return_shipping.reimbursed_of(cost),
        None => 0,
    };
    let exchange = replacement.map(|r| {
        let replacement_minor = i128::from(r.unit_price_minor) * i128::from(units);
        let difference = replacement_minor - i128::from(value_minor);
        ExchangeTerms {
            sku: r.sku.clone(),
            unit_price_minor: r.unit_price_minor,
            price_difference_minor: clamp(difference),
        }
    });
    let refundable_minor = match &exchange {
        Some(terms) => terms.price_difference_minor.saturating_neg().max(0),
        None => value_minor
            .saturating_sub(restocking_fee_minor)
            .saturating_sub(return_shipping.fee_minor())
            .max(0),
    };

    let serial_returner = policy
        .serial_returner
        .and_then(|rule| serial_returner(rule, facts.history));
    let outcome = match rejection(facts, ask, policy, &asked, replacement, value_minor, now) {
        Some(rule) => Outcome::Rejected { rule },
        None => {
            let rules = reviews(
                facts,
                ask,
                policy,
                &asked,
                value_minor,
                serial_returner.is_some(),
                now,
            );
            if rules.is_empty() {
                Outcome::Authorized
            } else {
                Outcome::NeedsReview { rules }
            }
        }
    };
    let age_days = now.duration_since(facts.placed_at).as_secs() / SECONDS_PER_DAY;
    Ok(Judgement {
        version: policy.version.clone(),
        outcome,
        reason: leaf.code,
        value_minor,
        restocking_fee_minor,
        return_shipping,
        shipping_reimbursed_minor,
        refundable_minor,
        refund_method: refund_method(policy, facts, &ask.wanted, age_days.max(0)),
        refund_timing: policy.refund_timing,
        required_condition: policy.required_condition.clone(),
        exchange,
        serial_returner,
        ship_by: after_days(now, policy.ship_within_days),
        rejected_items: policy.rejected_items,
    })
}

/// The asked lines with their quantities, or the issues with them.
fn asked_lines<'a>(
    facts: &'a ReturnFacts,
    ask: &ReturnAsk,
    issues: &mut Vec<FieldIssue>,
) -> Vec<(&'a LineFacts, u32)> {
    if ask.items.is_empty() {
        issues.push(FieldIssue::new(
            "items",
            "no_items",
            "a return names at least one line",
        ));
    }
    let mut seen = HashSet::new();
    let mut asked = Vec::new();
    for (i, item) in ask.items.iter().enumerate() {
        let Some(line) = facts.lines.iter().find(|l| l.line_no == item.line_no) else {
            issues.push(FieldIssue::new(
                format!("items[{i}].line_no"),
                "unknown_line",
                format!("the order has no line {}", item.line_no),
            ));
            continue;
        };
        if !seen.insert(item.line_no) {
            issues.push(FieldIssue::new(
                format!("items[{i}].line_no"),
                "repeated_line",
                format!(
                    "line {} is named twice; name it once with the total",
                    item.line_no
                ),
            ));
            continue;
        }
        if item.quantity == 0 {
            issues.push(FieldIssue::new(
                format!("items[{i}].quantity"),
                "must_be_positive",
                "a quantity is at least 1",
            ));
            continue;
        }
        if line.delivered == 0 || line.delivered_at.is_none() {
            issues.push(FieldIssue::new(
                format!("items[{i}].line_no"),
                "not_delivered",
                format!("line {} has no delivered units to return", item.line_no),
            ));
            continue;
        }
        let returnable = line.delivered.saturating_sub(line.in_returns);
        if item.quantity > returnable {
            issues.push(FieldIssue::new(
                format!("items[{i}].quantity"),
                "quantity_beyond_returnable",
                format!(
                    "line {} may still return {returnable} unit(s): {} delivered, {} already in returns",
                    item.line_no, line.delivered, line.in_returns
                ),
            ));
            continue;
        }
        asked.push((line, item.quantity));
    }
    asked
}

/// The first rejecting rule, in the module's documented order.
fn rejection(
    facts: &ReturnFacts,
    ask: &ReturnAsk,
    policy: &ReturnPolicy,
    asked: &[(&LineFacts, u32)],
    replacement: Option<&super::judgement::Replacement>,
    value_minor: i64,
    now: Timestamp,
) -> Option<Rule> {
    let any = |f: &dyn Fn(&LineFacts) -> bool| asked.iter().any(|(line, _)| f(line));
    if any(&|l| !l.returnable) {
        return Some(Rule::NotReturnable);
    }
    if any(&|l| policy.is_non_returnable_category(l.category.as_deref())) {
        return Some(Rule::NonReturnableCategory);
    }
    if !ask.final_sale_exception && any(&|l| policy.is_final_sale(&l.sku)) {
        return Some(Rule::FinalSale);
    }
    let late_rejected = !ask.window_extension && policy.late_requests == LateRequests::Reject;
    if late_rejected && any(&|l| outside_window(facts, policy, l, now)) {
        return Some(Rule::OutsideWindow);
    }
    if let Some(r) = replacement {
        let allowed = match policy.exchanges.allowed {
            ExchangeAllowed::Never => false,
            ExchangeAllowed::Any => true,
            ExchangeAllowed::SameProduct => {
                r.product.is_some() && asked.iter().all(|(l, _)| l.product == r.product)
            }
        };
        if !allowed {
            return Some(Rule::ExchangeNotAllowed);
        }
        let units: u32 = asked.iter().map(|(_, q)| *q).sum();
        let replacement_minor = i128::from(r.unit_price_minor) * i128::from(units);
        if policy.exchanges.price_difference == PriceDifference::SamePriceOnly
            && replacement_minor != i128::from(value_minor)
        {
            return Some(Rule::ExchangePriceDiffers);
        }
    }
    None
}

/// Every review rule that applies, in the module's documented order (only asked when
/// nothing rejects).
fn reviews(
    facts: &ReturnFacts,
    ask: &ReturnAsk,
    policy: &ReturnPolicy,
    asked: &[(&LineFacts, u32)],
    value_minor: i64,
    serial_returner: bool,
    now: Timestamp,
) -> Vec<Rule> {
    let mut rules = Vec::new();
    if ask.final_sale_exception && asked.iter().any(|(l, _)| policy.is_final_sale(&l.sku)) {
        rules.push(Rule::FinalSaleExceptionAsked);
    }
    if asked
        .iter()
        .any(|(l, _)| outside_window(facts, policy, l, now))
    {
        rules.push(if ask.window_extension {
            Rule::WindowExtensionAsked
        } else {
            Rule::OutsideWindow
        });
    }
    if policy
        .auto_approve_up_to_minor
        .is_some_and(|limit| value_minor > limit)
    {
        rules.push(Rule::OverAutoApprovalLimit);
    }
    if serial_returner {
        rules.push(Rule::SerialReturner);
    }
    rules
}

/// Whether `now` is past the line's window (counted from its last delivery).
fn outside_window(
    facts: &ReturnFacts,
    policy: &ReturnPolicy,
    line: &LineFacts,
    now: Timestamp,
) -> bool {
    let days = policy.window_days_for(facts.channel.as_str(), line.category.as_deref());
    line.delivered_at
        .is_some_and(|delivered| now > after_days(delivered, days))
}

/// Why the history makes the customer a serial returner under `rule`, if it does.
fn serial_returner(rule: SerialReturnerRule, history: ReturnHistory) -> Option<String> {
    let mut why = Vec::new();
    if history.returns > rule.max_returns {
        why.push(format!(
            "{} returns in the last {} days, more than {}",
            history.returns, rule.within_days, rule.max_returns
        ));
    }
    let returned = i128::from(history.returned_value_minor.max(0));
    let purchased = i128::from(history.purchased_value_minor);
    if purchased > 0 && returned * 100 > i128::from(rule.max_returned_percent) * purchased {
        why.push(format!(
            "returned {} of {} purchased in the last {} days ({}%), above {}%",
            history.returned_value_minor,
            history.purchased_value_minor,
            rule.within_days,
            returned * 100 / purchased,
            rule.max_returned_percent
        ));
    }
    (!why.is_empty()).then(|| why.join("; "))
}

/// Where the refund goes: a rule that applies and gives store credit wins; else another
/// rule that applies; else the policy's default, the customer's ask deciding only under
/// `customer_choice`.
fn refund_method(
    policy: &ReturnPolicy,
    facts: &ReturnFacts,
    wanted: &Wanted,
    age_days: i64,
) -> RefundMethod {
    let applying: Vec<RefundMethod> = policy
        .refund_method_rules
        .iter()
        .filter(|r| r.applies(&facts.paid_with, age_days))
        .map(|r| r.method)
        .collect();
    if applying.contains(&RefundMethod::StoreCredit) {
        return RefundMethod::StoreCredit;
    }
    if let Some(method) = applying.first() {
        return *method;
    }
    match policy.refund_method {
        RefundMethodDefault::OriginalPayment => RefundMethod::OriginalPayment,
        RefundMethodDefault::StoreCredit => RefundMethod::StoreCredit,
        RefundMethodDefault::CustomerChoice => match wanted {
            Wanted::StoreCredit => RefundMethod::StoreCredit,
            Wanted::Refund | Wanted::Exchange { .. } => RefundMethod::OriginalPayment,
        },
    }
}

fn after_days(at: Timestamp, days: u32) -> Timestamp {
    let span = SignedDuration::from_secs(i64::from(days) * SECONDS_PER_DAY);
    at.saturating_add(span).unwrap_or(at)
}

fn clamp(v: i128) -> i64 {
    i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX })
}
