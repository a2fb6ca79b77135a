//! Prometheus metrics: what an operator graphs and alerts on. Counters and histograms
//! are recorded as things happen (requests per route with their latency, orders
//! captured, webhook and message attempts); what the database knows (exception queue
//! depth and oldest age, outbox and delivery backlogs, timer lag, commit groups) is read
//! when `/metrics` is scraped, so it is never stale and costs nothing between scrapes.
//!
//! The recorder is the app's (`app/metrics.rs`); the route that renders it is ours,
//! with our authentication or on a listen address of its own.

use crate::app::App;
use crate::app::error::AppError;

/// Seconds from `at` to `now`, never below zero.
fn age(at: Option<jiff::Timestamp>, now: jiff::Timestamp) -> f64 {
    at.map_or(0.0, |at| {
        ((now.as_millisecond() - at.as_millisecond()).max(0) as f64) / 1000.0
    })
}

impl App {
    /// The metrics in Prometheus' text format, with the database's figures read now.
    pub async fn metrics_text(&self) -> Result<String, AppError> {
        let began = std::time::Instant::now();
        let now = self.now();
        let counts = self
            .store
            .read(move |r| r.exception_counts(None, now))
            .await?;
        for q in orderly_domain::order::exceptions::queue::ALL {
            let of: Vec<_> = counts.iter().filter(|c| c.queue == q).collect();
            let open: u64 = of.iter().map(|c| c.open).sum();
            let oldest = of.iter().map(|c| c.oldest_opened_at).min();
            self.metrics.set(
                "orderly_exception_queue_depth",
                &[("queue", q)],
                open as f64,
            );
            self.metrics.set(
                "orderly_exception_queue_oldest_age_seconds",
                &[("queue", q)],
                age(oldest, now),
            );
        }
        let backlog = self.store.read(move |r| r.backlog(now)).await?;
        for (what, pending, oldest) in [
            ("outbox", backlog.outbox_pending, backlog.outbox_oldest),
            (
                "webhooks",
                backlog.webhooks_pending,
                backlog.webhooks_oldest,
            ),
            (
                "messages",
                backlog.messages_pending,
                backlog.messages_oldest,
            ),
        ] {
            self.metrics
                .set("orderly_backlog", &[("of", what)], pending as f64);
            self.metrics.set(
                "orderly_backlog_oldest_age_seconds",
                &[("of", what)],
                age(oldest, now),
            );
        }
        self.metrics
            .set("orderly_timers_due", &[], backlog.timers_due as f64);
        self.metrics.set(
            "orderly_timer_lag_seconds",
            &[],
            age(backlog.oldest_due_timer, now),
        );
        let groups = self.store.group_stats();
        self.metrics.total(
            "orderly_commit_groups_joined_total",
            &[],
            groups.groups_joined,
        );
        self.metrics.total(
            "orderly_commit_group_commands_total",
            &[],
            groups.commands_in_joined_groups,
        );
        self.metrics.total(
            "orderly_commit_group_fallbacks_total",
            &[],
            groups.fallbacks_one_by_one,
        );
        self.metrics.set(
            "orderly_metrics_scrape_seconds",
            &[],
            began.elapsed().as_secs_f64(),
        );
        Ok(self.metrics.render())
    }
}
