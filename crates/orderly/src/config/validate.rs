//! Checks a loaded configuration as a whole, so that start-up stops with every offending
//! key named at once rather than at the first one.

use super::Config;
use anyhow::bail;
use orderly_domain::values::{CountryCode, Currency};
use std::collections::HashSet;

impl Config {
    pub(super) fn validate(&self) -> anyhow::Result<()> {
        let mut problems: Vec<String> = Vec::new();
        let mut p = |key: String, msg: &str| problems.push(format!("{key}: {msg}"));
        if self.locations.is_empty() {
            p("locations".into(), "at least one location is required");
        }
        let mut seen = HashSet::new();
        for (i, l) in self.locations.iter().enumerate() {
            if l.id.trim().is_empty() || !seen.insert(l.id.as_str()) {
                p(format!("locations[{i}].id"), "must be non-empty and unique");
            }
            if !(-90.0..=90.0).contains(&l.latitude) {
                p(
                    format!("locations[{i}].latitude"),
                    "must be between -90 and 90",
                );
            }
            if !(-180.0..=180.0).contains(&l.longitude) {
                p(
                    format!("locations[{i}].longitude"),
                    "must be between -180 and 180",
                );
            }
            if CountryCode::parse(&l.address.country).is_err() {
                p(
                    format!("locations[{i}].address.country"),
                    "must be an ISO 3166-1 alpha-2 code",
                );
            }
        }
        if self.channels.is_empty() {
            p("channels".into(), "at least one channel is required");
        }
        let mut seen = HashSet::new();
        let mut prefixes = HashSet::new();
        for (i, c) in self.channels.iter().enumerate() {
            if c.id.trim().is_empty() || !seen.insert(c.id.as_str()) {
                p(format!("channels[{i}].id"), "must be non-empty and unique");
            }
            let prefix_ok = (1..=10).contains(&c.number_prefix.len())
                && c.number_prefix
                    .chars()
                    .all(|ch| ch.is_ascii_uppercase() || ch.is_ascii_digit());
            if !prefix_ok || !prefixes.insert(c.number_prefix.as_str()) {
                p(
                    format!("channels[{i}].number_prefix"),
                    "must be 1-10 upper-case letters or digits, unique",
                );
            }
            if Currency::parse(&c.currency).is_err() {
                p(
                    format!("channels[{i}].currency"),
                    "must be an ISO 4217 code such as USD",
                );
            }
            if c.price_tolerance_percent > 50 {
                p(
                    format!("channels[{i}].price_tolerance_percent"),
                    "must be a whole percent from 0 to 50",
                );
            }
        }
        for (provider, secrets) in &self.payments.event_secrets {
            let key = format!("payments.event_secrets.{provider}");
            if !(1..=2).contains(&secrets.len()) {
                p(key.clone(), "one secret, or two during a rotation");
            }
            if secrets
                .iter()
                .any(|s| crate::providers::signature::Secret::parse(s).is_err())
            {
                p(key, "each secret must be whsec_<base64> or a plain string");
            }
        }
        let mut carrier_ids = HashSet::new();
        for (i, c) in self.carriers.iter().enumerate() {
            if c.id.is_empty() || c.id.contains('/') || !carrier_ids.insert(c.id.as_str()) {
                p(
                    format!("carriers[{i}].id"),
                    "must be non-empty, unique, without '/'",
                );
            }
            for (j, s) in c.services.iter().enumerate() {
                let broken = s.id.is_empty()
                    || s.id.contains('/')
                    || s.zones.is_empty()
                    || s.zones
                        .iter()
                        .any(|z| z.destinations.is_empty() || z.rates.is_empty());
                if broken {
                    p(
                        format!("carriers[{i}].services[{j}]"),
                        "needs an id without '/' and zones, each with destinations and rates",
                    );
                }
            }
        }
        let tracking = &self.fulfillment.tracking_event_secrets;
        if tracking.len() > 2
            || tracking
                .iter()
                .any(|s| crate::providers::signature::Secret::parse(s).is_err())
        {
            p(
                "fulfillment.tracking_event_secrets".into(),
                "at most two secrets, each whsec_<base64> or a plain string",
            );
        }
        if self.fulfillment.tracking_silence_hours == 0 {
            p(
                "fulfillment.tracking_silence_hours".into(),
                "must be at least 1",
            );
        }
        for (key, schedule) in [
            (
                "capture_retry_minutes",
                &self.payments.capture_retry_minutes,
            ),
            ("refund_retry_minutes", &self.payments.refund_retry_minutes),
        ] {
            if schedule.len() > 20 || schedule.contains(&0) {
                p(
                    format!("payments.{key}"),
                    "at most 20 waits, each at least one minute",
                );
            }
        }
        for (key, skew) in [
            (
                "payments.max_event_clock_skew_seconds",
                self.payments.max_event_clock_skew_seconds,
            ),
            (
                "fulfillment.max_event_clock_skew_seconds",
                self.fulfillment.max_event_clock_skew_seconds,
            ),
        ] {
            if !(1..=86_400).contains(&skew) {
                p(key.into(), "must be between 1 and 86400");
            }
        }
        if self.payments.card_ttl_minutes == 0 || self.payments.bank_transfer_ttl_minutes == 0 {
            p("payments".into(), "ttl minutes must be positive");
        }
        if self.risk.high_value_threshold_minor.is_some_and(|t| t < 0) {
            p(
                "risk.high_value_threshold_minor".into(),
                "must not be negative",
            );
        }
        for (i, g) in self.geocodes.iter().enumerate() {
            if CountryCode::parse(&g.country).is_err() {
                p(
                    format!("geocodes[{i}].country"),
                    "must be an ISO 3166-1 alpha-2 code",
                );
            }
            if !(-90.0..=90.0).contains(&g.latitude) || !(-180.0..=180.0).contains(&g.longitude) {
                p(format!("geocodes[{i}]"), "latitude/longitude out of range");
            }
        }
        if !(1..=1000).contains(&self.limits.max_lines_per_order) {
            p(
                "limits.max_lines_per_order".into(),
                "must be between 1 and 1000",
            );
        }
        if !(1..=1_000_000).contains(&self.limits.max_quantity_per_line) {
            p(
                "limits.max_quantity_per_line".into(),
                "must be between 1 and 1000000",
            );
        }
        if self.idempotency.retention_hours < 24 {
            p("idempotency.retention_hours".into(), "must be at least 24");
        }
        if !matches!(self.database.synchronous.as_str(), "full" | "normal") {
            p("database.synchronous".into(), "must be `full` or `normal`");
        }
        if !(1..=1000).contains(&self.database.pool_size) {
            p("database.pool_size".into(), "must be between 1 and 1000");
        }
        if !(100..=600_000).contains(&self.database.statement_timeout_ms) {
            p(
                "database.statement_timeout_ms".into(),
                "must be between 100 and 600000",
            );
        }
        if !(100..=60_000).contains(&self.database.connect_timeout_ms) {
            p(
                "database.connect_timeout_ms".into(),
                "must be between 100 and 60000",
            );
        }
        if !matches!(
            self.database.synchronous_commit.as_str(),
            "on" | "remote_apply" | "remote_write" | "local" | "off"
        ) {
            p(
                "database.synchronous_commit".into(),
                "must be on, remote_apply, remote_write, local or off",
            );
        }
        if !(1..=64).contains(&self.database.read_connections) {
            p(
                "database.read_connections".into(),
                "must be between 1 and 64",
            );
        }
        for (key, seconds) in [
            (
                "server.header_read_timeout_seconds",
                self.server.header_read_timeout_seconds,
            ),
            (
                "server.idle_timeout_seconds",
                self.server.idle_timeout_seconds,
            ),
            (
                "server.request_timeout_seconds",
                self.server.request_timeout_seconds,
            ),
            (
                "server.auth_failure_window_seconds",
                self.server.auth_failure_window_seconds,
            ),
            (
                "server.self_service_window_seconds",
                self.server.self_service_window_seconds,
            ),
        ] {
            if !(1..=86_400).contains(&seconds) {
                p(key.into(), "must be between 1 and 86400");
            }
        }
        if !(1..=1_000_000).contains(&self.server.max_connections) {
            p(
                "server.max_connections".into(),
                "must be between 1 and 1000000",
            );
        }
        if self.server.auth_failure_limit == 0 {
            p("server.auth_failure_limit".into(), "must be at least 1");
        }
        if self.server.self_service_failure_limit == 0 {
            p(
                "server.self_service_failure_limit".into(),
                "must be at least 1",
            );
        }
        if self.server.body_limit_bytes < 1024 {
            p("server.body_limit_bytes".into(), "must be at least 1024");
        }
        if self.database.done_work_retention_hours == 0 {
            p(
                "database.done_work_retention_hours".into(),
                "must be at least 1",
            );
        }
        if let Err(e) = self.database_target() {
            p("database.url".into(), &e.to_string());
        }
        let channels: Vec<&str> = self.channels.iter().map(|c| c.id.as_str()).collect();
        problems.extend(self.returns.problems(&channels));
        problems.extend(self.webhooks.problems());
        problems.extend(self.notifications.problems(&channels));
        problems.extend(self.calendar.problems());
        problems.extend(self.cases.problems());
        problems.extend(self.exceptions.problems());
        problems.extend(self.console.problems());
        problems.extend(self.metrics.problems());
        let locations: Vec<String> = self.locations.iter().map(|l| l.id.clone()).collect();
        problems.extend(self.kpis.problems(&locations));
        problems.extend(self.payments.refund_limit_problems());
        if problems.is_empty() {
            Ok(())
        } else {
            bail!("invalid configuration:\n  {}", problems.join("\n  "))
        }
    }
}
