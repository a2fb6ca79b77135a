//! The backtest report as the API and `orderly returns backtest --format json` show it,
//! and as the CLI prints it for a person. Built from the domain's report, so the wire
//! shape can be documented (and fuzzed) without the domain knowing about it.

use orderly_domain::actor::Role;
use orderly_domain::returns::Rule;
use orderly_domain::returns::backtest::{
    Answer, BacktestReport, Delta, MAX_LISTED, MoneyTotals, Transition,
};
use orderly_domain::time::rfc3339;
use serde::Serialize;
use std::fmt::Write;
use utoipa::ToSchema;

/// Money before and after, in minor units.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeltaView {
    pub old_minor: i64,
    pub new_minor: i64,
    /// New less old.
    pub difference_minor: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MoneyTotalsView {
    /// Requests counted (those both versions could judge).
    pub requests: u32,
    /// What would be refunded (nothing for a rejection).
    pub refundable: DeltaView,
    pub restocking_fees: DeltaView,
    pub shipping_fees: DeltaView,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReasonMoneyView {
    /// The request's leaf reason code.
    pub reason: String,
    #[serde(flatten)]
    pub money: MoneyTotalsView,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FlipView {
    /// `from→to`, e.g. `authorized→needs_review`.
    pub transition: String,
    /// `authorized`, `needs_review` or `rejected`.
    pub from: String,
    pub to: String,
    pub count: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RoleCountView {
    /// The lowest role whose approval limit reaches the value; null: no role's does.
    pub role: Option<String>,
    pub count: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewsView {
    /// Requests in review as recorded.
    pub old: u32,
    /// Requests the draft sends to review.
    pub new: u32,
    /// The draft's reviews per lowest role that may approve them: support, supervisor,
    /// finance, admin, then null.
    pub by_lowest_role: Vec<RoleCountView>,
}

/// One decision: its kind, its rules and its money.
#[derive(Debug, Serialize, ToSchema)]
pub struct AnswerView {
    /// `authorized`, `needs_review` or `rejected`.
    pub decision: String,
    pub rules: Vec<String>,
    pub policy_version: String,
    pub refundable_minor: i64,
    pub restocking_fee_minor: i64,
    pub shipping_fee_minor: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChangeView {
    pub return_id: String,
    pub rma: String,
    pub order_number: String,
    pub requested_at: String,
    pub reason: String,
    pub old: AnswerView,
    pub new: AnswerView,
    /// The transition when the decision changed kind.
    pub flip: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApprovalView {
    pub return_id: String,
    pub rma: String,
    pub order_number: String,
    pub value_minor: i64,
    pub rules: Vec<String>,
    /// The lowest role whose approval limit under the draft reaches the value (support,
    /// supervisor, finance, admin); null when none does.
    pub lowest_role: Option<String>,
    pub was_in_review: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InvalidView {
    pub return_id: String,
    pub rma: String,
    pub order_number: String,
    pub reason: String,
    pub old: AnswerView,
    /// The draft's refusals as `field: code`, e.g. `reason: unknown_reason`.
    pub issues: Vec<String>,
}

/// What a draft policy version would change over the return requests of a period.
#[derive(Debug, Serialize, ToSchema)]
pub struct BacktestView {
    pub draft_version: String,
    pub since: String,
    /// Every request replayed, those the draft refuses as input included.
    pub replayed: u32,
    /// Requests whose decision kept its kind.
    pub decisions_kept: u32,
    pub decisions_flipped: u32,
    /// Per transition that happened, in a fixed order.
    pub flipped: Vec<FlipView>,
    /// Over the requests both versions could judge.
    pub money: MoneyTotalsView,
    pub money_by_reason: Vec<ReasonMoneyView>,
    pub reviews: ReviewsView,
    /// The requests the draft sends to review (at most 1000 listed).
    pub approvals: Vec<ApprovalView>,
    /// Requests whose decision, rules or money change (at most 1000 listed).
    pub changes: Vec<ChangeView>,
    /// Every request whose answer changes, listed or not.
    pub changed: u32,
    /// Requests the draft refuses as input (at most 1000 listed).
    pub invalid_under_draft: Vec<InvalidView>,
    pub invalid: u32,
}

fn delta(d: Delta) -> DeltaView {
    DeltaView {
        old_minor: d.old_minor,
        new_minor: d.new_minor,
        difference_minor: d.difference_minor(),
    }
}

fn totals(m: &MoneyTotals) -> MoneyTotalsView {
    MoneyTotalsView {
        requests: m.requests,
        refundable: delta(m.refundable),
        restocking_fees: delta(m.restocking_fees),
        shipping_fees: delta(m.shipping_fees),
    }
}

fn rules(rules: &[Rule]) -> Vec<String> {
    rules.iter().map(|r| r.as_str().to_owned()).collect()
}

fn answer(a: &Answer) -> AnswerView {
    AnswerView {
        decision: a.decision.as_str().into(),
        rules: rules(&a.rules),
        policy_version: a.version.clone(),
        refundable_minor: a.money.refundable_minor,
        restocking_fee_minor: a.money.restocking_fee_minor,
        shipping_fee_minor: a.money.shipping_fee_minor,
    }
}

fn role(r: Option<Role>) -> Option<String> {
    r.map(|r| r.as_str().to_owned())
}

pub fn backtest_view(r: &BacktestReport, since: jiff::Timestamp) -> BacktestView {
    BacktestView {
        draft_version: r.draft_version.clone(),
        since: rfc3339(since),
        replayed: r.replayed,
        decisions_kept: r.decisions_kept,
        decisions_flipped: r.flips(),
        flipped: r
            .flipped
            .iter()
            .map(|(t, n): (&Transition, &u32)| FlipView {
                transition: t.name(),
                from: t.from.as_str().into(),
                to: t.to.as_str().into(),
                count: *n,
            })
            .collect(),
        money: totals(&r.money),
        money_by_reason: r
            .money_by_reason
            .iter()
            .map(|(reason, m)| ReasonMoneyView {
                reason: reason.clone(),
                money: totals(m),
            })
            .collect(),
        reviews: ReviewsView {
            old: r.reviews_old,
            new: r.reviews_new,
            by_lowest_role: r
                .reviews_by_lowest_role
                .iter()
                .map(|(r, n)| RoleCountView {
                    role: role(*r),
                    count: *n,
                })
                .collect(),
        },
        approvals: r
            .approvals
            .iter()
            .map(|a| ApprovalView {
                return_id: a.return_id.clone(),
                rma: a.rma.clone(),
                order_number: a.order_number.clone(),
                value_minor: a.value_minor,
                rules: rules(&a.rules),
                lowest_role: role(a.lowest_role),
                was_in_review: a.was_in_review,
            })
            .collect(),
        changes: r
            .changes
            .iter()
            .map(|c| ChangeView {
                return_id: c.return_id.clone(),
                rma: c.rma.clone(),
                order_number: c.order_number.clone(),
                requested_at: rfc3339(c.at),
                reason: c.reason.clone(),
                old: answer(&c.old),
                new: answer(&c.new),
                flip: c.flip.map(Transition::name),
            })
            .collect(),
        changed: r.changed,
        invalid_under_draft: r
            .invalid_under_draft
            .iter()
            .map(|i| InvalidView {
                return_id: i.return_id.clone(),
                rma: i.rma.clone(),
                order_number: i.order_number.clone(),
                reason: i.reason.clone(),
                old: answer(&i.old),
                issues: i.issues.clone(),
            })
            .collect(),
        invalid: r.invalid,
    }
}

fn money_line(out: &mut String, label: &str, d: &DeltaView) {
    let _ = writeln!(
        out,
        "  {label:<16} {:>12} -> {:>12}  ({:+})",
        d.old_minor, d.new_minor, d.difference_minor
    );
}

/// The report for a person: decisions flipped, money old -> new with the difference
/// (minor units), per reason, the reviews with the lowest role that may approve each,
/// and the requests the draft cannot take.
pub fn render_text(v: &BacktestView) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "backtest of draft {} over {} return request(s) since {}",
        v.draft_version, v.replayed, v.since
    );
    let _ = writeln!(
        out,
        "decisions: {} kept, {} flipped",
        v.decisions_kept, v.decisions_flipped
    );
    for f in &v.flipped {
        let _ = writeln!(out, "  {:<28} {}", f.transition, f.count);
    }
    let _ = writeln!(
        out,
        "money over {} request(s), minor units, old -> new (difference):",
        v.money.requests
    );
    money_line(&mut out, "refundable", &v.money.refundable);
    money_line(&mut out, "restocking fees", &v.money.restocking_fees);
    money_line(&mut out, "shipping fees", &v.money.shipping_fees);
    for r in &v.money_by_reason {
        let _ = writeln!(
            out,
            "reason {} ({} request(s)):",
            r.reason, r.money.requests
        );
        money_line(&mut out, "refundable", &r.money.refundable);
        money_line(&mut out, "restocking fees", &r.money.restocking_fees);
        money_line(&mut out, "shipping fees", &r.money.shipping_fees);
    }
    let _ = writeln!(
        out,
        "reviews: {} as recorded, {} under the draft",
        v.reviews.old, v.reviews.new
    );
    for a in &v.approvals {
        let _ = writeln!(
            out,
            "  {} ({}) value {}: {} [{}]{}",
            a.rma,
            a.order_number,
            a.value_minor,
            a.lowest_role.as_deref().map_or_else(
                || "no role may approve".to_owned(),
                |r| format!("{r} may approve")
            ),
            a.rules.join(", "),
            if a.was_in_review { "" } else { " (new)" }
        );
    }
    let _ = writeln!(out, "changed answers: {}", v.changed);
    for c in &v.changes {
        let _ = writeln!(
            out,
            "  {} ({}, {}): {} [{}] {} -> {} [{}] {}",
            c.rma,
            c.order_number,
            c.reason,
            c.old.decision,
            c.old.rules.join(", "),
            c.old.refundable_minor,
            c.new.decision,
            c.new.rules.join(", "),
            c.new.refundable_minor
        );
    }
    let _ = writeln!(out, "invalid under the draft: {}", v.invalid);
    for i in &v.invalid_under_draft {
        let _ = writeln!(
            out,
            "  {} ({}, {}): {}",
            i.rma,
            i.order_number,
            i.reason,
            i.issues.join("; ")
        );
    }
    let listed = v
        .changes
        .len()
        .max(v.approvals.len())
        .max(v.invalid_under_draft.len());
    if listed >= MAX_LISTED {
        let _ = writeln!(out, "(lists show at most {MAX_LISTED} requests each)");
    }
    out
}
