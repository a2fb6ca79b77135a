//! `orderly returns backtest --policy draft.toml --since 30d`: the draft read from a
//! file, the period from a span back from now or an RFC 3339 time, and the report
//! printed for a person or as JSON. The work is the application's
//! (`App::backtest_returns`), the same the API runs.

use crate::app::App;
use crate::returns::backtest::parse_draft;
use crate::returns::backtest_view::{backtest_view, render_text};
use anyhow::Context;
use jiff::{SignedDuration, Timestamp};
use orderly_domain::actor::Actor;
use std::path::Path;

/// The longest span `--since` may name: ten years, like a policy's longest window.
const MAX_SINCE_DAYS: i64 = 3650;

/// `--since`: `7d`, `24h` (back from `now`), or an RFC 3339 time.
pub fn parse_since(s: &str, now: Timestamp) -> anyhow::Result<Timestamp> {
    let spelled =
        || format!("--since {s:?}: expected a span such as 7d, 24h or 30d, or an RFC 3339 time");
    if let Ok(at) = s.parse::<Timestamp>() {
        return Ok(at);
    }
    let (number, hours_per_unit) = if let Some(n) = s.strip_suffix('d') {
        (n, 24)
    } else if let Some(n) = s.strip_suffix('h') {
        (n, 1)
    } else {
        anyhow::bail!(spelled());
    };
    let n: i64 = number
        .parse()
        .ok()
        .filter(|n| *n >= 0)
        .with_context(spelled)?;
    if n * hours_per_unit > MAX_SINCE_DAYS * 24 {
        anyhow::bail!("--since {s:?}: at most {MAX_SINCE_DAYS} days back");
    }
    now.checked_sub(SignedDuration::from_hours(n * hours_per_unit))
        .with_context(spelled)
}

/// Runs the backtest and prints the report to stdout (`text` or `json`).
pub async fn run(app: &App, policy: &Path, since: &str, format: &str) -> anyhow::Result<()> {
    let since = parse_since(since, app.now())?;
    let toml = std::fs::read_to_string(policy)
        .with_context(|| format!("cannot read the draft policy {}", policy.display()))?;
    let draft = parse_draft(&toml).map_err(|issues| {
        let named: Vec<String> = issues
            .iter()
            .map(|i| format!("{}: {}", i.field, i.message))
            .collect();
        anyhow::anyhow!(
            "invalid draft policy {}: {}",
            policy.display(),
            named.join("; ")
        )
    })?;
    let report = app
        .backtest_returns(&Actor::system("cli"), draft, since)
        .await
        .map_err(|e| {
            e.explain()
                .context(format!("draft policy {}", policy.display()))
        })?;
    let view = backtest_view(&report, since);
    if format == "json" {
        println!("{}", serde_json::to_string_pretty(&view)?);
    } else {
        print!("{}", render_text(&view));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_is_a_span_back_from_now_or_a_time() {
        let now: Timestamp = "2026-12-31T12:00:00Z".parse().unwrap();
        let at = |s: &str| parse_since(s, now).map(|t| t.to_string());
        assert_eq!(at("30d").unwrap(), "2026-12-01T12:00:00Z");
        assert_eq!(at("24h").unwrap(), "2026-12-30T12:00:00Z");
        assert_eq!(at("2026-11-01T00:00:00Z").unwrap(), "2026-11-01T00:00:00Z");
        for wrong in ["", "d", "-3d", "30", "3w", "99999d"] {
            assert!(at(wrong).is_err(), "{wrong}");
        }
    }
}
