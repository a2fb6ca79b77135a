//! The policy backtest for every interface (`orderly returns backtest`, `POST
//! /returns/backtest`): a draft policy version, read from TOML and checked like a
//! configured one, replayed over the return requests recorded since a time. It only
//! reads: the requests are paged from the store ([`PAGE`] at a time, so a busy month is
//! never loaded at once) and folded into the domain's report (`returns::backtest`),
//! which judges each again with the facts it recorded. Admin only: a draft may reveal
//! a month of decisions and money across every channel.

use crate::app::App;
use crate::app::auth::{Permission, authorize};
use crate::app::error::AppError;
use figment::Figment;
use figment::providers::{Format, Toml};
use jiff::Timestamp;
use orderly_domain::actor::Actor;
use orderly_domain::order::FieldIssue;
use orderly_domain::returns::ReturnPolicy;
use orderly_domain::returns::backtest::{Backtest, BacktestReport, RecordedRequest};
use orderly_store::ReturnRequestRow;

/// Requests read from the store per page.
pub const PAGE: u32 = 500;
/// The longest draft accepted, in characters (a policy with the most reasons it may
/// have fits well within it).
pub const MAX_DRAFT_CHARS: usize = 100_000;

/// A draft policy version from TOML: one version as a top-level table, the keys of one
/// `[[returns.policies]]` entry. A problem of syntax or shape is named by its key
/// (`policy.reasons[0].restocking_fee`) with the code `invalid_policy`; the rules of a
/// version are checked by [`App::backtest_returns`].
pub fn parse_draft(toml: &str) -> Result<ReturnPolicy, Vec<FieldIssue>> {
    if toml.chars().count() > MAX_DRAFT_CHARS {
        return Err(vec![FieldIssue::new(
            "policy",
            "too_long",
            format!("at most {MAX_DRAFT_CHARS} characters"),
        )]);
    }
    Figment::from(Toml::string(toml))
        .extract::<ReturnPolicy>()
        .map_err(|errors| {
            errors
                .into_iter()
                .map(|e| {
                    FieldIssue::new(
                        policy_key(&e.path),
                        "invalid_policy",
                        short(&e.kind.to_string()),
                    )
                })
                .collect()
        })
}

/// A parser's message cut to 200 characters: it may quote the draft's values, and an
/// error never echoes a whole input.
fn short(message: &str) -> String {
    if message.chars().count() <= 200 {
        return message.to_owned();
    }
    let mut cut: String = message.chars().take(200).collect();
    cut.push('…');
    cut
}

/// `policy.reasons[0].code` from figment's path `["reasons", "0", "code"]`.
fn policy_key(path: &[String]) -> String {
    let mut key = String::from("policy");
    for part in path {
        if part.bytes().all(|b| b.is_ascii_digit()) && !part.is_empty() {
            key.push_str(&format!("[{part}]"));
        } else {
            key.push('.');
            key.push_str(part);
        }
    }
    key
}

fn recorded(row: ReturnRequestRow) -> RecordedRequest {
    let r = row.request;
    RecordedRequest {
        return_id: r.return_id.to_string(),
        rma: r.rma,
        order_number: row.order_number,
        at: row.at,
        ask: orderly_domain::returns::ReturnAsk {
            items: r.items,
            reason: r.reason,
            wanted: r.wanted,
            final_sale_exception: r.final_sale_exception,
            window_extension: r.window_extension,
            shipping_cost_minor: r.shipping_cost_minor,
        },
        facts: r.facts,
        judgement: r.judgement,
    }
}

impl App {
    /// What `draft` would have answered to every return request recorded from `since`
    /// until now, beside what was answered. Writes nothing.
    pub async fn backtest_returns(
        &self,
        actor: &Actor,
        draft: ReturnPolicy,
        since: Timestamp,
    ) -> Result<BacktestReport, AppError> {
        authorize(actor, Permission::BacktestPolicies)?;
        let mut issues: Vec<FieldIssue> = draft
            .validate()
            .into_iter()
            .map(|mut i| {
                i.field = format!("policy.{}", i.field);
                i
            })
            .collect();
        for channel in draft.window_days_by_channel.keys() {
            if self.config.channel(channel).is_none() {
                issues.push(FieldIssue::new(
                    format!("policy.window_days_by_channel.{channel}"),
                    "unknown_channel",
                    format!("'{channel}' is not a configured channel"),
                ));
            }
        }
        if !issues.is_empty() {
            return Err(AppError::Validation(issues));
        }
        // Requests recorded while the backtest runs are left out, so it ends.
        let until = self.now();
        let mut run = Backtest::new(&draft);
        let mut after = None;
        loop {
            let rows = self
                .store
                .read(move |r| r.return_requests(since, after, PAGE))
                .await?;
            let full = rows.len() == PAGE as usize;
            after = rows.last().map(ReturnRequestRow::key);
            for row in rows.into_iter().take_while(|r| r.at <= until) {
                run.add(&recorded(row));
            }
            if !full || after.is_none_or(|(at, _)| at > until) {
                break;
            }
        }
        Ok(run.finish())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_draft_that_does_not_parse_names_its_key() {
        let issues = parse_draft("version = \"x\"\nwindow_days = \"thirty\"\n").unwrap_err();
        assert_eq!(issues.len(), 1, "{issues:?}");
        assert_eq!(issues[0].code, "invalid_policy");
        assert_eq!(issues[0].field, "policy.window_days");
        let nested = parse_draft(
            "version = \"x\"\neffective_from = \"2026-01-01T00:00:00Z\"\nwindow_days = 30\n\
             required_condition = \"new\"\ncondition_grades = [\"new\"]\nship_within_days = 30\n\
             [[reasons]]\ncode = \"a\"\nlabel = \"A\"\nrestocking_fee = { percent = \"ten\" }\n",
        )
        .unwrap_err();
        assert!(
            nested[0]
                .field
                .starts_with("policy.reasons[0].restocking_fee"),
            "{nested:?}"
        );
        assert_eq!(parse_draft("= nonsense").unwrap_err()[0].field, "policy");
    }

    #[test]
    fn a_draft_longer_than_the_bound_is_refused_before_parsing() {
        let long = "#".repeat(MAX_DRAFT_CHARS + 1);
        assert_eq!(parse_draft(&long).unwrap_err()[0].code, "too_long");
    }
}
