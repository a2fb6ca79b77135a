//! The `[returns]` section: the versions of the return policy (`[[returns.policies]]`).
//! The policy's shape and its checks are the domain's (`orderly_domain::returns::policy`),
//! so the backtest can read a draft version the same way; here it is only loaded, checked
//! against the rest of the configuration (the channels it names) and built once into the
//! `PolicyBook` the application judges returns by.

use orderly_domain::returns::{PolicyBook, ReturnPolicy};
use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReturnsConfig {
    /// Every version, in any order; each applies to the orders placed from its
    /// `effective_from` until the next one's.
    #[serde(default)]
    pub policies: Vec<ReturnPolicy>,
    /// Built by `Config::load` once the section is valid; None when no version is
    /// configured.
    #[serde(skip)]
    book: Option<PolicyBook>,
}

impl ReturnsConfig {
    /// The book of versions; None when the deployment configures no return policy, in
    /// which case return requests are refused (`returns_not_configured`).
    pub fn book(&self) -> Option<&PolicyBook> {
        self.book.as_ref()
    }

    /// Every problem with the section as `key: message`, keys in full
    /// (`returns.policies[1].reasons[0].code`). `channels` are the configured channel
    /// ids, which a per-channel window must name. No versions at all is not a problem:
    /// returns are then off.
    pub(super) fn problems(&self, channels: &[&str]) -> Vec<String> {
        if self.policies.is_empty() {
            return Vec::new();
        }
        let mut problems: Vec<String> = match PolicyBook::new(self.policies.clone()) {
            Ok(_) => Vec::new(),
            Err(issues) => issues
                .into_iter()
                .map(|i| format!("returns.{}: {}", i.field, i.message))
                .collect(),
        };
        for (i, policy) in self.policies.iter().enumerate() {
            for channel in policy.window_days_by_channel.keys() {
                if !channels.contains(&channel.as_str()) {
                    problems.push(format!(
                        "returns.policies[{i}].window_days_by_channel.{channel}: not a configured channel ({})",
                        channels.join(", ")
                    ));
                }
            }
        }
        problems
    }

    /// Builds the book; called by `Config::load` after validation has passed.
    pub(super) fn build(&mut self) {
        self.book = if self.policies.is_empty() {
            None
        } else {
            PolicyBook::new(self.policies.clone()).ok()
        };
    }
}
