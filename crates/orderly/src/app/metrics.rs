//! The app's Prometheus recorder: counters and histograms recorded where things happen,
//! gauges set when `/metrics` is scraped (`system/metrics.rs` reads the database's
//! figures), rendered in Prometheus' text format. Each `App` keeps one of its own
//! (`metrics-exporter-prometheus` without its HTTP listener, never installed as the
//! process's global recorder), so several apps in one process (the tests) do not mix
//! their figures.

use crate::app::error::AppError;
use metrics::{Key, Label, Level, Metadata, Recorder};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusRecorder};

/// Latency buckets in seconds: a fast read is 1 ms, a capture under load 10-50 ms.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

const META: Metadata<'static> = Metadata::new(module_path!(), Level::INFO, Some(module_path!()));

pub struct Metrics {
    recorder: PrometheusRecorder,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

fn key(name: &'static str, labels: &[(&'static str, &str)]) -> Key {
    let labels: Vec<Label> = labels
        .iter()
        .map(|(k, v)| Label::new(*k, (*v).to_owned()))
        .collect();
    Key::from_parts(name, labels)
}

/// What each metric is, for the `# HELP` lines.
const HELP: [(&str, &str); 16] = [
    (
        "orderly_http_requests_total",
        "Requests answered, per route pattern, method and status.",
    ),
    (
        "orderly_http_request_duration_seconds",
        "Time to answer a request, per route pattern and method.",
    ),
    (
        "orderly_orders_captured_total",
        "Orders created (not replays of one already captured), per channel.",
    ),
    (
        "orderly_webhook_attempts_total",
        "Webhook delivery attempts, delivered or failed.",
    ),
    (
        "orderly_message_attempts_total",
        "Customer message attempts: sent, failed or suppressed.",
    ),
    (
        "orderly_exception_queue_depth",
        "Open entries per exception queue.",
    ),
    (
        "orderly_exception_queue_oldest_age_seconds",
        "Age of each exception queue's oldest open entry (0 when empty).",
    ),
    (
        "orderly_backlog",
        "Work waiting for the background workers: outbox rows, webhook deliveries, customer messages.",
    ),
    (
        "orderly_backlog_oldest_age_seconds",
        "Age of the oldest waiting item of each backlog (0 when empty).",
    ),
    ("orderly_timers_due", "Timers due and not fired yet."),
    (
        "orderly_timer_lag_seconds",
        "How far the oldest due timer is behind its time (0 when none is due).",
    ),
    (
        "orderly_commit_groups_joined_total",
        "Groups of two or more commands committed together.",
    ),
    (
        "orderly_commit_group_commands_total",
        "Commands in those groups (divided by the groups: the mean group size).",
    ),
    (
        "orderly_commit_group_fallbacks_total",
        "Groups that failed together and ran one by one.",
    ),
    ("orderly_build_info", "The running version."),
    (
        "orderly_metrics_scrape_seconds",
        "Time the last scrape took to read the database's figures.",
    ),
];

impl Metrics {
    pub fn new() -> Result<Metrics, AppError> {
        let recorder = PrometheusBuilder::new()
            .set_buckets(&BUCKETS)
            .map_err(|e| AppError::Internal(format!("metrics buckets: {e}")))?
            .build_recorder();
        for (name, help) in HELP {
            let name = metrics::KeyName::from(name);
            if name.as_str().ends_with("_total") {
                recorder.describe_counter(name, None, help.into());
            } else if name.as_str().ends_with("_seconds") && name.as_str().contains("duration") {
                recorder.describe_histogram(name, None, help.into());
            } else {
                recorder.describe_gauge(name, None, help.into());
            }
        }
        let m = Metrics { recorder };
        m.set(
            "orderly_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))],
            1.0,
        );
        Ok(m)
    }

    pub fn count(&self, name: &'static str, labels: &[(&'static str, &str)], n: u64) {
        self.recorder
            .register_counter(&key(name, labels), &META)
            .increment(n);
    }

    /// Sets a counter to a total kept elsewhere (the store's commit counters).
    pub fn total(&self, name: &'static str, labels: &[(&'static str, &str)], n: u64) {
        self.recorder
            .register_counter(&key(name, labels), &META)
            .absolute(n);
    }

    pub fn observe(&self, name: &'static str, labels: &[(&'static str, &str)], value: f64) {
        self.recorder
            .register_histogram(&key(name, labels), &META)
            .record(value);
    }

    pub fn set(&self, name: &'static str, labels: &[(&'static str, &str)], value: f64) {
        self.recorder
            .register_gauge(&key(name, labels), &META)
            .set(value);
    }

    pub fn render(&self) -> String {
        self.recorder.handle().render()
    }
}
