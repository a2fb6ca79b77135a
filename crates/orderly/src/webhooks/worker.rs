//! The webhook delivery worker. Each pass claims, per subscription not already being
//! sent to, up to `max_in_flight_per_endpoint` due deliveries (leased, so another process
//! skips them) and sends each subscription's batch in a task of its own: a slow or dead
//! endpoint holds only its own batch, never the others'. The outcomes are written in one
//! transaction per batch: delivered; failed and due again after the next step of the
//! retry schedule (with jitter); or, after the last step, dead-lettered with an entry in
//! the `deliveries` exception queue. A subscription failing without a success for
//! `disable_after_seconds` is disabled and flagged there too.

use super::send::Attempt;
use crate::app::error::AppError;
use crate::app::{App, AppState};
use crate::config::WebhooksConfig;
use crate::workers::backoff::retry_at;
use jiff::{SignedDuration, Timestamp};
use orderly_domain::order::exceptions::{kind, queue};
use orderly_store::{
    AttemptRow, ClaimedDelivery, DeliveryOutcome, NewException, Next, SubscriptionRow, WriteTx,
};
use std::collections::HashSet;
use tokio::task::JoinHandle;

/// The subscriptions this process is sending to now.
fn busy(app: &App) -> HashSet<String> {
    app.webhook_busy
        .lock()
        .map(|b| b.clone())
        .unwrap_or_default()
}

fn set_busy(app: &App, id: &str, busy: bool) {
    if let Ok(mut b) = app.webhook_busy.lock() {
        if busy {
            b.insert(id.to_owned());
        } else {
            b.remove(id);
        }
    }
}

/// Claims due deliveries and starts sending them, one task per subscription; the
/// handles finish when each batch's outcomes are recorded.
pub async fn start(app: &AppState, now: Timestamp) -> Result<Vec<JoinHandle<()>>, AppError> {
    let now = Timestamp::from_millisecond(now.as_millisecond()).unwrap_or(now);
    let config = &app.config.webhooks;
    let lease = SignedDuration::from_secs(i64::try_from(config.lease_seconds).unwrap_or(60));
    let lease_until = now.saturating_add(lease).unwrap_or(now);
    let per_endpoint = config.batch_per_endpoint;
    let busy = busy(app);
    let worker = app.worker_id.clone();
    let batches = app
        .store
        .write_background(move |tx| {
            let mut batches = Vec::new();
            for sub in tx.active_subscriptions()? {
                if busy.contains(&sub.id) {
                    continue;
                }
                let claimed =
                    tx.claim_deliveries(&sub.id, &worker, now, lease_until, per_endpoint)?;
                if !claimed.is_empty() {
                    batches.push((sub, claimed));
                }
            }
            Ok::<_, AppError>(batches)
        })
        .await?;
    let mut handles = Vec::with_capacity(batches.len());
    for (sub, claimed) in batches {
        set_busy(app, &sub.id, true);
        let app = app.clone();
        handles.push(tokio::spawn(async move {
            let id = sub.id.clone();
            if let Err(e) = send_batch(&app, sub, claimed, now).await {
                // The leases run out and a later pass sends them again.
                tracing::warn!(subscription = %id, error = %e, "webhook batch not recorded");
            }
            set_busy(&app, &id, false);
        }));
    }
    Ok(handles)
}

/// Sends everything due now and waits for the outcomes; returns how many deliveries it
/// attempted (tests step a manual clock through the schedule with this).
pub async fn deliver_due(app: &AppState, now: Timestamp) -> Result<usize, AppError> {
    let mut attempted = 0;
    loop {
        app.fan_out_all(now).await?;
        let handles = start(app, now).await?;
        if handles.is_empty() {
            return Ok(attempted);
        }
        attempted += handles.len();
        for h in handles {
            h.await
                .map_err(|e| AppError::Internal(format!("webhook task: {e}")))?;
        }
    }
}

async fn send_batch(
    app: &AppState,
    sub: SubscriptionRow,
    claimed: Vec<ClaimedDelivery>,
    now: Timestamp,
) -> Result<(), AppError> {
    let sender = &app.webhook_sender;
    let timestamp = app.now().as_second();
    // In claim order, `max_in_flight_per_endpoint` at a time.
    let limit = app.config.webhooks.max_in_flight_per_endpoint.max(1);
    let mut attempts = Vec::with_capacity(claimed.len());
    for chunk in claimed.chunks(limit) {
        let sent = chunk.iter().map(|d| sender.attempt(d, timestamp));
        attempts.extend(futures_util::future::join_all(sent).await);
    }
    for a in &attempts {
        let outcome = if a.delivered { "delivered" } else { "failed" };
        app.metrics
            .count("orderly_webhook_attempts_total", &[("outcome", outcome)], 1);
    }
    let config = app.config.webhooks.clone();
    let worker = app.worker_id.clone();
    let ids = app.ids.clone();
    app.store
        .write_background(move |tx| {
            // Whether the subscription's run of failures goes on, attempt by attempt.
            let mut failing = sub.failing_since.is_some();
            for (d, a) in claimed.iter().zip(&attempts) {
                record(
                    tx,
                    &config,
                    &worker,
                    &sub,
                    d,
                    a,
                    now,
                    ids.as_ref(),
                    &mut failing,
                )?;
            }
            Ok::<_, AppError>(())
        })
        .await
}

/// Records one attempt and what follows from it.
#[allow(clippy::too_many_arguments)]
fn record(
    tx: &mut dyn WriteTx,
    config: &WebhooksConfig,
    worker: &str,
    sub: &SubscriptionRow,
    d: &ClaimedDelivery,
    a: &Attempt,
    now: Timestamp,
    ids: &dyn crate::app::clock::IdSource,
    failing: &mut bool,
) -> Result<(), AppError> {
    let next = if a.delivered {
        Next::Done(now)
    } else {
        match retry_at(
            &config.retry_schedule_seconds,
            config.jitter_percent,
            d.attempts,
            &d.id,
            now,
        ) {
            Some(at) => Next::RetryAt(at),
            None => Next::Dead(now),
        }
    };
    let outcome = DeliveryOutcome {
        worker: worker.to_owned(),
        attempt: AttemptRow {
            delivery_id: d.id.clone(),
            subscription_id: d.subscription_id.clone(),
            attempt: d.attempts,
            at: now,
            outcome: if a.delivered { "delivered" } else { "failed" }.into(),
            status_code: a.status.map(i64::from),
            latency_ms: a.latency_ms,
            error: a.error.clone(),
            response_body: a.body.clone(),
        },
        next,
    };
    if !tx.finish_delivery(&outcome)? {
        // The lease ran out and another worker took the delivery: its outcome counts.
        return Ok(());
    }
    let order_id = &d.order_id;
    if let Next::Dead(at) = next {
        let detail = format!(
            "webhook {} to {} failed {} times; last: {}",
            d.id,
            sub.url,
            d.attempts,
            a.error.as_deref().unwrap_or("no answer")
        );
        tx.open_exception(&NewException {
            queue: queue::DELIVERIES,
            kind: kind::WEBHOOK_DEAD_LETTER,
            order_id,
            subject_id: &format!("{}:{}", d.id, at.as_millisecond()),
            detail: &detail,
            at,
        })?;
    }
    // A success of a subscription that was not failing changes nothing: no write.
    if a.delivered && !*failing {
        return Ok(());
    }
    *failing = !a.delivered;
    let failed_at = (!a.delivered).then_some(now);
    let since = tx.note_subscription_health(&sub.id, failed_at)?;
    let limit =
        SignedDuration::from_secs(i64::try_from(config.disable_after_seconds).unwrap_or(i64::MAX));
    if let Some(since) = since
        && now.duration_since(since) >= limit
        && let Some(mut current) = tx.subscription_in_tx(&sub.id)?
        && current.active
    {
        let reason = format!(
            "failing since {}; last: {}",
            orderly_domain::time::rfc3339(since),
            a.error.as_deref().unwrap_or("no answer")
        );
        current.active = false;
        current.disabled_reason = Some(reason.clone());
        current.updated_at = now;
        tx.save_subscription(&current)?;
        tx.open_exception(&NewException {
            queue: queue::DELIVERIES,
            kind: kind::WEBHOOK_ENDPOINT_DISABLED,
            order_id,
            subject_id: &format!("{}:{}", sub.id, ids.new_id("dis")),
            detail: &format!("subscription {} to {} disabled: {reason}", sub.id, sub.url),
            at: now,
        })?;
    }
    Ok(())
}
