//! The `[webhooks]` section: how outbound deliveries are retried, limited and where they
//! may go. The defaults follow the Standard Webhooks retry schedule (about 27 hours of
//! retries) and refuse private networks, so a fresh deployment cannot be turned into a
//! probe of its own network (SSRF) by whoever may create subscriptions.

use ipnet::IpNet;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhooksConfig {
    /// Whether this process runs the outbox dispatcher and the delivery workers (off:
    /// it only serves, and another process delivers; tests drive deliveries themselves).
    pub dispatcher: bool,
    /// Seconds before each retry after a failed attempt (the first attempt is at once);
    /// after the last retry fails the delivery is dead-lettered.
    pub retry_schedule_seconds: Vec<u64>,
    /// Each wait is stretched or shortened by up to this share, in whole percent, so
    /// endpoints that failed together are not retried together.
    pub jitter_percent: u8,
    /// Longest one delivery may take, connection included.
    pub timeout_ms: u64,
    /// Deliveries in flight at once to one subscription.
    pub max_in_flight_per_endpoint: usize,
    /// How much of a response body the delivery log keeps.
    pub response_body_limit_bytes: usize,
    /// A subscription whose endpoint has failed without a success for this long is
    /// disabled (and flagged in the `webhooks` exception queue) until re-enabled by hand.
    pub disable_after_seconds: u64,
    /// Networks (CIDR) deliveries may reach although they are loopback, private,
    /// link-local or otherwise not public; empty: public addresses only.
    pub allowed_networks: Vec<String>,
    /// Redirects are not followed by default (the answer counts as a failure); when on,
    /// each hop is checked like the first address.
    pub follow_redirects: bool,
    /// How long the dispatcher sleeps when it found nothing to do.
    pub poll_interval_ms: u64,
    /// The share of the SQLite writer's time the dispatcher keeps to itself while API
    /// requests keep the writer busy (1–100). It takes more when the requests leave more:
    /// all of it when none are served. Capture is what the writer is for; delivery
    /// catches up when the requests stop. (PostgreSQL writes side by side: no limit.)
    /// Default 5: a tenth cost capture a quarter of its throughput on two cores, since
    /// delivery's processor time comes with it (docs/benchmarks.md, issue 17).
    pub writer_share_percent: u8,
    /// Deliveries claimed per subscription and pass (sent `max_in_flight_per_endpoint` at
    /// a time); with `timeout_ms`, bounds how long a batch can take, which must stay
    /// under `lease_seconds`.
    pub batch_per_endpoint: u32,
    /// How long a claimed delivery is this process's before another may take it.
    pub lease_seconds: u64,
}

impl Default for WebhooksConfig {
    fn default() -> Self {
        WebhooksConfig {
            dispatcher: true,
            retry_schedule_seconds: vec![5, 300, 1800, 7200, 18000, 36000, 36000],
            jitter_percent: 20,
            timeout_ms: 10_000,
            max_in_flight_per_endpoint: 8,
            response_body_limit_bytes: 1024,
            disable_after_seconds: 5 * 24 * 3600,
            allowed_networks: Vec::new(),
            follow_redirects: false,
            poll_interval_ms: 50,
            writer_share_percent: 5,
            batch_per_endpoint: 32,
            lease_seconds: 60,
        }
    }
}

impl WebhooksConfig {
    /// `allowed_networks`, parsed (those that parse: `problems` names the others).
    pub fn allowed(&self) -> Vec<IpNet> {
        self.allowed_networks
            .iter()
            .filter_map(|n| n.parse().ok())
            .collect()
    }

    /// Every problem with the section as `key: message`.
    pub(super) fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for (i, n) in self.allowed_networks.iter().enumerate() {
            match n.parse::<IpNet>() {
                Ok(_) => {}
                Err(_) => problems.push(format!(
                    "webhooks.allowed_networks[{i}]: {n:?} is not a network such as 10.0.0.0/8"
                )),
            }
        }
        if !(1..=100).contains(&self.writer_share_percent) {
            problems.push("webhooks.writer_share_percent: must be between 1 and 100".into());
        }
        if self.jitter_percent > 50 {
            problems.push("webhooks.jitter_percent: must be at most 50".into());
        }
        let positive = [
            ("timeout_ms", self.timeout_ms),
            (
                "max_in_flight_per_endpoint",
                self.max_in_flight_per_endpoint as u64,
            ),
            ("poll_interval_ms", self.poll_interval_ms),
            ("lease_seconds", self.lease_seconds),
        ];
        for (key, v) in positive {
            if v == 0 {
                problems.push(format!("webhooks.{key}: must be positive"));
            }
        }
        let rounds = u64::from(self.batch_per_endpoint)
            .div_ceil(self.max_in_flight_per_endpoint.max(1) as u64)
            .max(1);
        if self.lease_seconds.saturating_mul(1000) <= self.timeout_ms.saturating_mul(rounds) {
            problems.push(format!(
                "webhooks.lease_seconds: must be longer than a batch can take ({rounds} rounds of \
                 webhooks.timeout_ms), or another process takes deliveries still being sent"
            ));
        }
        problems
    }
}
