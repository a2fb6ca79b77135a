//! The message worker. Each pass claims a batch of due messages (leased, so another
//! process skips them) and handles it in a task of its own, one batch at a time per
//! process: a message is rendered on its first attempt (and kept, so a retry sends the
//! same words), a follow-up the customer does not want is suppressed with the reason,
//! and the rest go through the transport. A failure is retried on the notification
//! schedule; after the last step the message is dead-lettered into the `deliveries`
//! exception queue, where a person sees it and can resend.

use super::context::context;
use super::render::Attach;
use super::transport::File;
use crate::app::error::AppError;
use crate::app::{App, AppState};
use crate::config::notifications::NotificationsConfig;
use crate::workers::backoff::retry_at;
use jiff::{SignedDuration, Timestamp};
use orderly_domain::order::exceptions::{kind, queue};
use orderly_domain::order::{Order, label_due};
use orderly_store::{MessageContent, MessageOutcome, MessageRow, NewException, Next};
use std::sync::atomic::Ordering;
use tokio::task::JoinHandle;

/// What became of one message on this attempt.
struct Handled {
    message: MessageRow,
    content: Option<MessageContent>,
    /// Err: why it was not sent; `suppressed` tells a deliberate hold from a failure.
    result: Result<(), String>,
    suppressed: bool,
    /// A template that does not render will not on a retry either.
    permanent: bool,
}

/// Claims due messages and starts sending them in a task (none while this process's
/// previous batch is still out).
pub async fn start(app: &AppState, now: Timestamp) -> Result<Vec<JoinHandle<()>>, AppError> {
    if app.messages_busy.swap(true, Ordering::SeqCst) {
        return Ok(Vec::new());
    }
    let now = Timestamp::from_millisecond(now.as_millisecond()).unwrap_or(now);
    let worker = app.worker_id.clone();
    let limit = app.config.notifications.batch_size;
    let lease = i64::try_from(app.config.notifications.lease_seconds).unwrap_or(120);
    let lease_until = now
        .saturating_add(SignedDuration::from_secs(lease))
        .unwrap_or(now);
    let claimed = app
        .store
        .write_background(move |tx| {
            tx.claim_messages(&worker, now, lease_until, limit)
                .map_err(AppError::from)
        })
        .await;
    let claimed = match claimed {
        Ok(c) if !c.is_empty() => c,
        other => {
            app.messages_busy.store(false, Ordering::SeqCst);
            return other.map(|_| Vec::new());
        }
    };
    let app = app.clone();
    Ok(vec![tokio::spawn(async move {
        if let Err(e) = send_batch(&app, claimed, now).await {
            tracing::warn!(error = %e, "message batch not recorded; its leases run out");
        }
        app.messages_busy.store(false, Ordering::SeqCst);
    })])
}

/// Sends every message due at `now` and waits; returns how many were handled (tests
/// step a manual clock with this).
pub async fn send_due(app: &AppState, now: Timestamp) -> Result<usize, AppError> {
    let mut handled = 0;
    loop {
        app.fan_out_all(now).await?;
        let batch = start(app, now).await?;
        if batch.is_empty() {
            return Ok(handled);
        }
        for h in batch {
            h.await
                .map_err(|e| AppError::Internal(format!("message task: {e}")))?;
        }
        handled += 1;
    }
}

async fn send_batch(
    app: &AppState,
    claimed: Vec<MessageRow>,
    now: Timestamp,
) -> Result<(), AppError> {
    let mut handled = Vec::with_capacity(claimed.len());
    for m in claimed {
        handled.push(handle(app, m).await?);
    }
    for h in &handled {
        let outcome = match (&h.result, h.suppressed) {
            (_, true) => "suppressed",
            (Ok(()), false) => "sent",
            (Err(_), false) => "failed",
        };
        app.metrics
            .count("orderly_message_attempts_total", &[("outcome", outcome)], 1);
    }
    let config = app.config.notifications.clone();
    let worker = app.worker_id.clone();
    app.store
        .write_background(move |tx| {
            for h in &handled {
                let next = match &h.result {
                    Ok(()) => Next::Done(now),
                    Err(_) if h.suppressed || h.permanent => Next::Dead(now),
                    Err(_) => retry_at(
                        &config.retry_schedule_seconds,
                        20,
                        h.message.attempts,
                        &h.message.id,
                        now,
                    )
                    .map_or(Next::Dead(now), Next::RetryAt),
                };
                let outcome = MessageOutcome {
                    id: h.message.id.clone(),
                    worker: worker.clone(),
                    content: h.content.clone(),
                    next,
                    suppressed: h.suppressed,
                    error: h.result.clone().err(),
                };
                if !tx.finish_message(&outcome)? {
                    continue;
                }
                if let (Next::Dead(at), false) = (next, h.suppressed) {
                    let m = &h.message;
                    tx.open_exception(&NewException {
                        queue: queue::DELIVERIES,
                        kind: kind::NOTIFICATION_FAILED,
                        order_id: &m.order_id,
                        subject_id: &format!("{}:{}", m.id, at.as_millisecond()),
                        detail: &format!(
                            "{} to {} not sent after {} attempts: {}",
                            m.template,
                            m.recipient,
                            m.attempts,
                            h.result.clone().err().unwrap_or_default()
                        ),
                        at,
                    })?;
                }
            }
            Ok::<_, AppError>(())
        })
        .await
}

/// Renders (on the first attempt), checks the customer's wishes, makes the files the
/// template sends along (on every attempt: they are not kept), and sends one message.
async fn handle(app: &App, m: MessageRow) -> Result<Handled, AppError> {
    let mut h = Handled {
        content: None,
        result: Ok(()),
        suppressed: false,
        permanent: false,
        message: m,
    };
    let attach = app.notifier.renderer.attachments(&h.message.template);
    let stored = h.message.content.clone();
    let mut files = Vec::new();
    if stored.is_none() || !attach.is_empty() {
        let (order, event) = facts(app, &h.message).await?;
        let Some(order) = order else {
            h.result = Err(format!("order {} not found", h.message.order_id));
            h.permanent = true;
            return Ok(h);
        };
        if stored.is_none()
            && let Some(why) = unwanted(app, &h.message, &order).await?
        {
            h.result = Err(why);
            h.suppressed = true;
            return Ok(h);
        }
        // Before rendering: words that mention a label must go out with it.
        match attachments(app, attach, &order, &event).await? {
            Ok(made) => files = made,
            Err(why) => {
                h.result = Err(why);
                return Ok(h);
            }
        }
        if stored.is_none() {
            match render(
                &app.config.notifications,
                app,
                &h.message.template,
                &order,
                &event,
            ) {
                Ok(c) => h.content = Some(c),
                Err(e) => {
                    h.result = Err(e);
                    h.permanent = true;
                    return Ok(h);
                }
            }
        }
    }
    let Some(content) = h.content.as_ref().or(stored.as_ref()) else {
        return Err(AppError::Internal(format!(
            "message {} has no content",
            h.message.id
        )));
    };
    h.result = app
        .notifier
        .mailer
        .send(&h.message.id, &h.message.recipient, content, &files)
        .await;
    Ok(h)
}

/// The files `attach` names for a message about `event` on `order`. The inner Err says
/// why the message must wait (it is retried): a return label that is due and not booked
/// yet. A return whose policy has the customer ship it has no label to send.
async fn attachments(
    app: &App,
    attach: &[Attach],
    order: &Order,
    event: &serde_json::Value,
) -> Result<Result<Vec<File>, String>, AppError> {
    let mut files = Vec::new();
    for a in attach {
        match a {
            Attach::ReturnLabel => {
                let Some(ret) = event["data"]["return_id"]
                    .as_str()
                    .and_then(|id| order.return_by_id(id))
                else {
                    continue;
                };
                if label_due(ret) {
                    return Ok(Err(format!("waiting for the label of return {}", ret.rma)));
                }
                if ret.label.is_some() {
                    files.push(File {
                        name: format!("return-label-{}.pdf", ret.rma),
                        content_type: "application/pdf",
                        body: app.print_return_label(order, ret).await?,
                    });
                }
            }
        }
    }
    Ok(Ok(files))
}

/// The order and the event (its feed payload) a message is about.
async fn facts(app: &App, m: &MessageRow) -> Result<(Option<Order>, serde_json::Value), AppError> {
    let (order_id, position) = (m.order_id.clone(), m.position);
    let (order, entry) = app
        .store
        .read(move |r| {
            let order = r.order(&order_id)?;
            let entry = match position {
                Some(p) => r.feed_entry(p)?,
                None => None,
            };
            Ok((order, entry))
        })
        .await?;
    let event = entry
        .and_then(|e| serde_json::from_str(&e.payload).ok())
        .unwrap_or_default();
    Ok((order, event))
}

/// Why a follow-up must not go out now, if it must not: the customer said no to
/// follow-ups, or a return of the order is open.
async fn unwanted(app: &App, m: &MessageRow, order: &Order) -> Result<Option<String>, AppError> {
    if m.category != "follow_up" {
        return Ok(None);
    }
    if order.returns.iter().any(|r| !r.state.is_terminal()) {
        return Ok(Some("held back: a return of the order is open".into()));
    }
    let email = m.recipient.clone();
    let wanted = app.store.read(move |r| r.follow_ups_wanted(&email)).await?;
    Ok((wanted == Some(false)).then(|| "held back: the customer opted out of follow-ups".into()))
}

/// Renders `template` for `order` and `event` in the order channel's language.
pub fn render(
    config: &NotificationsConfig,
    app: &App,
    template: &str,
    order: &Order,
    event: &serde_json::Value,
) -> Result<MessageContent, String> {
    let ctx = context(order, event, config);
    let channel = order.channel.as_str();
    app.notifier.renderer.render(
        template,
        channel,
        config.language_of(channel),
        &config.default_language,
        &ctx,
    )
}
