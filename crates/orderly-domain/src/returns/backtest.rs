//! The policy backtest: past return requests judged again under a draft policy version,
//! to see what the draft would change before it takes effect. Eligibility is a pure
//! function of the request, the order's facts (recorded on each request), the policy and
//! the time of asking, so replaying a request is one call of [`judge`] and nothing is
//! written; the caller only reads the recorded requests and folds them in here.
//!
//! The fold is incremental ([`Backtest::add`]) so a caller can page through a month of
//! requests without holding them all; the report keeps every total exact and lists at
//! most [`MAX_LISTED`] requests per list (the rest are counted), so a busy month cannot
//! make an unbounded report.
//!
//! Money is integer minor units throughout and counts what the outcome would move: a
//! rejected request refunds nothing and charges no fee (its figures are zero), while an
//! authorized one and one in review count in full (a review may approve it). Money is
//! compared over the requests both versions could judge; a request the draft refuses as
//! input (a reason its taxonomy lacks) is listed under `invalid_under_draft` with the
//! issue codes instead, never a panic.

use super::eligibility::judge;
use super::judgement::{Judgement, Outcome, ReturnAsk, ReturnFacts, Rule};
use super::policy::ReturnPolicy;
use crate::Timestamp;
use crate::actor::Role;
use std::collections::BTreeMap;

/// At most this many requests are listed in each of the report's lists; the totals
/// count every request.
pub const MAX_LISTED: usize = 1000;

/// The roles that may approve a return on review, lowest authority first.
pub const APPROVING_ROLES: [Role; 4] =
    [Role::Support, Role::Supervisor, Role::Finance, Role::Admin];

/// One past request as it was recorded: what was asked, what the judgement read, and
/// what it answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    pub return_id: String,
    pub rma: String,
    pub order_number: String,
    /// When it was asked (and judged): the draft judges it as of this time too.
    pub at: Timestamp,
    pub ask: ReturnAsk,
    pub facts: ReturnFacts,
    pub judgement: Judgement,
}

snake_enum!(
    /// The kind of an outcome, without its rules; ordered authorized, needs review,
    /// rejected.
    #[derive(PartialOrd, Ord)]
    Decision {
        Authorized => "authorized",
        NeedsReview => "needs_review",
        Rejected => "rejected",
    }
);

impl Decision {
    pub fn of(outcome: &Outcome) -> Decision {
        match outcome {
            Outcome::Authorized => Decision::Authorized,
            Outcome::NeedsReview { .. } => Decision::NeedsReview,
            Outcome::Rejected { .. } => Decision::Rejected,
        }
    }
}

/// A decision that changed kind, e.g. `authorized→needs_review`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Transition {
    pub from: Decision,
    pub to: Decision,
}

impl Transition {
    /// `from→to`, e.g. `authorized→needs_review`.
    pub fn name(self) -> String {
        format!("{}→{}", self.from.as_str(), self.to.as_str())
    }
}

/// What a decision would move, in minor units; all zero for a rejection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Money {
    pub refundable_minor: i64,
    pub restocking_fee_minor: i64,
    pub shipping_fee_minor: i64,
}

impl Money {
    pub fn of(j: &Judgement) -> Money {
        if matches!(j.outcome, Outcome::Rejected { .. }) {
            return Money::default();
        }
        Money {
            refundable_minor: j.refundable_minor,
            restocking_fee_minor: j.restocking_fee_minor,
            shipping_fee_minor: j.return_shipping.fee_minor(),
        }
    }
}

/// One decision as the report shows it: its kind, the rules behind it and its money.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub decision: Decision,
    /// The rules that sent it to review, or the one that rejected it; empty when
    /// authorized.
    pub rules: Vec<Rule>,
    pub money: Money,
    pub version: String,
}

impl Answer {
    pub fn of(j: &Judgement) -> Answer {
        let rules = match &j.outcome {
            Outcome::Authorized => Vec::new(),
            Outcome::NeedsReview { rules } => rules.clone(),
            Outcome::Rejected { rule } => vec![*rule],
        };
        Answer {
            decision: Decision::of(&j.outcome),
            rules,
            money: Money::of(j),
            version: j.version.clone(),
        }
    }
}

/// A request whose answer the draft changes (its decision, its rules or its money).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub return_id: String,
    pub rma: String,
    pub order_number: String,
    pub at: Timestamp,
    pub reason: String,
    pub old: Answer,
    pub new: Answer,
    /// Set when the decision changed kind.
    pub flip: Option<Transition>,
}

/// A request the draft would send to review: its value and the lowest role the draft
/// lets approve it (None: no role's limit reaches it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    pub return_id: String,
    pub rma: String,
    pub order_number: String,
    pub value_minor: i64,
    pub rules: Vec<Rule>,
    pub lowest_role: Option<Role>,
    /// It was in review under the recorded answer too.
    pub was_in_review: bool,
}

/// A request the draft refuses as input, with the issues as `field: code`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub return_id: String,
    pub rma: String,
    pub order_number: String,
    pub reason: String,
    pub old: Answer,
    pub issues: Vec<String>,
}

/// Money before and after, in minor units.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Delta {
    pub old_minor: i64,
    pub new_minor: i64,
}

impl Delta {
    pub fn difference_minor(self) -> i64 {
        self.new_minor.saturating_sub(self.old_minor)
    }

    fn add(&mut self, old: i64, new: i64) {
        self.old_minor = self.old_minor.saturating_add(old);
        self.new_minor = self.new_minor.saturating_add(new);
    }
}

/// The money of a set of requests under both versions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MoneyTotals {
    /// Requests counted here.
    pub requests: u32,
    pub refundable: Delta,
    pub restocking_fees: Delta,
    pub shipping_fees: Delta,
}

impl MoneyTotals {
    fn add(&mut self, old: Money, new: Money) {
        self.requests = self.requests.saturating_add(1);
        self.refundable
            .add(old.refundable_minor, new.refundable_minor);
        self.restocking_fees
            .add(old.restocking_fee_minor, new.restocking_fee_minor);
        self.shipping_fees
            .add(old.shipping_fee_minor, new.shipping_fee_minor);
    }
}

/// What the draft would change over the replayed requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BacktestReport {
    /// The draft's version name.
    pub draft_version: String,
    /// Every request replayed, the invalid ones included.
    pub replayed: u32,
    /// Requests whose decision kept its kind (its rules or money may still differ).
    pub decisions_kept: u32,
    /// Decisions that changed kind, counted per transition.
    pub flipped: BTreeMap<Transition, u32>,
    /// Over the requests both versions judged.
    pub money: MoneyTotals,
    /// The same, per leaf reason code of the request.
    pub money_by_reason: BTreeMap<String, MoneyTotals>,
    /// Requests in review under the recorded answers and under the draft.
    pub reviews_old: u32,
    pub reviews_new: u32,
    /// The draft's reviews per lowest role that could approve them, one entry per role
    /// of [`APPROVING_ROLES`] in its order, then `None` (no role's limit reaches them).
    pub reviews_by_lowest_role: Vec<(Option<Role>, u32)>,
    /// Requests whose answer changes, at most [`MAX_LISTED`].
    pub changes: Vec<Change>,
    /// Every request whose answer changes, listed or not.
    pub changed: u32,
    /// The draft's reviews, at most [`MAX_LISTED`].
    pub approvals: Vec<Approval>,
    pub invalid_under_draft: Vec<Invalid>,
    /// Every request the draft refuses as input, listed or not.
    pub invalid: u32,
}

impl BacktestReport {
    /// Decisions that changed kind, in every direction.
    pub fn flips(&self) -> u32 {
        self.flipped.values().sum()
    }
}

/// The fold of recorded requests into a [`BacktestReport`] under one draft.
#[derive(Debug)]
pub struct Backtest<'p> {
    draft: &'p ReturnPolicy,
    report: BacktestReport,
}

impl<'p> Backtest<'p> {
    /// A backtest of `draft`, which the caller has validated (`ReturnPolicy::validate`).
    pub fn new(draft: &'p ReturnPolicy) -> Backtest<'p> {
        Backtest {
            draft,
            report: BacktestReport {
                draft_version: draft.version.clone(),
                replayed: 0,
                decisions_kept: 0,
                flipped: BTreeMap::new(),
                money: MoneyTotals::default(),
                money_by_reason: BTreeMap::new(),
                reviews_old: 0,
                reviews_new: 0,
                reviews_by_lowest_role: APPROVING_ROLES
                    .into_iter()
                    .map(Some)
                    .chain([None])
                    .map(|role| (role, 0))
                    .collect(),
                changes: Vec::new(),
                changed: 0,
                approvals: Vec::new(),
                invalid_under_draft: Vec::new(),
                invalid: 0,
            },
        }
    }

    /// Replays one request under the draft and folds it in.
    pub fn add(&mut self, r: &RecordedRequest) {
        let report = &mut self.report;
        report.replayed = report.replayed.saturating_add(1);
        let old = Answer::of(&r.judgement);
        if old.decision == Decision::NeedsReview {
            report.reviews_old = report.reviews_old.saturating_add(1);
        }
        let judged = match judge(&r.facts, &r.ask, self.draft, r.at) {
            Ok(j) => j,
            Err(issues) => {
                report.invalid = report.invalid.saturating_add(1);
                if report.invalid_under_draft.len() < MAX_LISTED {
                    report.invalid_under_draft.push(Invalid {
                        return_id: r.return_id.clone(),
                        rma: r.rma.clone(),
                        order_number: r.order_number.clone(),
                        reason: r.ask.reason.clone(),
                        old,
                        issues: issues
                            .iter()
                            .map(|i| format!("{}: {}", i.field, i.code))
                            .collect(),
                    });
                }
                return;
            }
        };
        let new = Answer::of(&judged);
        report.money.add(old.money, new.money);
        report
            .money_by_reason
            .entry(r.ask.reason.clone())
            .or_default()
            .add(old.money, new.money);
        let flip = (old.decision != new.decision).then_some(Transition {
            from: old.decision,
            to: new.decision,
        });
        match flip {
            Some(t) => *report.flipped.entry(t).or_default() += 1,
            None => report.decisions_kept = report.decisions_kept.saturating_add(1),
        }
        if new.decision == Decision::NeedsReview {
            report.reviews_new = report.reviews_new.saturating_add(1);
            let lowest_role = lowest_role(self.draft, judged.value_minor);
            if let Some((_, n)) = report
                .reviews_by_lowest_role
                .iter_mut()
                .find(|(role, _)| *role == lowest_role)
            {
                *n = n.saturating_add(1);
            }
            if report.approvals.len() < MAX_LISTED {
                report.approvals.push(Approval {
                    return_id: r.return_id.clone(),
                    rma: r.rma.clone(),
                    order_number: r.order_number.clone(),
                    value_minor: judged.value_minor,
                    rules: new.rules.clone(),
                    lowest_role,
                    was_in_review: old.decision == Decision::NeedsReview,
                });
            }
        }
        let changed = flip.is_some() || old.rules != new.rules || old.money != new.money;
        if changed {
            report.changed = report.changed.saturating_add(1);
            if report.changes.len() < MAX_LISTED {
                report.changes.push(Change {
                    return_id: r.return_id.clone(),
                    rma: r.rma.clone(),
                    order_number: r.order_number.clone(),
                    at: r.at,
                    reason: r.ask.reason.clone(),
                    old,
                    new,
                    flip,
                });
            }
        }
    }

    pub fn finish(self) -> BacktestReport {
        self.report
    }
}

/// The lowest role of [`APPROVING_ROLES`] that `draft` lets approve `value_minor`.
pub fn lowest_role(draft: &ReturnPolicy, value_minor: i64) -> Option<Role> {
    APPROVING_ROLES
        .into_iter()
        .find(|role| draft.may_approve(*role, value_minor))
}

/// Replays `requests` under `draft` (validated by the caller) in one call.
pub fn backtest<'a>(
    requests: impl IntoIterator<Item = &'a RecordedRequest>,
    draft: &ReturnPolicy,
) -> BacktestReport {
    let mut run = Backtest::new(draft);
    for r in requests {
        run.add(r);
    }
    run.finish()
}
