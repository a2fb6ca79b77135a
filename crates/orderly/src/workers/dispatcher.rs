//! The outbox dispatcher. Every decision's transaction wrote one outbox message naming
//! its events; the dispatcher turns each into what leaves Orderly, in one transaction
//! with marking the message done: the public events on the feed (`GET /events`), one
//! webhook delivery per subscription that wants an event (numbered per subscription and
//! order), and one customer message per notification trigger. So the fan-out happens
//! exactly once however often a process dies; what it produced is then delivered at
//! least once by the delivery workers (`webhooks::worker`, `notifications::worker`).
//!
//! An order's outbox messages are taken one after another (the store's claim skips a
//! message while an earlier one of its order is undelivered), so feed positions and
//! sequence numbers follow each order's own history even with several processes.

use crate::app::error::AppError;
use crate::app::{App, AppState};
use crate::notifications::triggers::plan_messages;
use crate::orders::view::order_view;
use crate::workers::share::{Pacer, Reading};
use jiff::{SignedDuration, Timestamp};
use orderly_domain::order::{Order, evolve, outward_types};
use orderly_domain::time::rfc3339;
use orderly_store::{
    EventRow, FeedEntry, NewDelivery, ORDER_TOPIC, OutboxRow, Reader, StoreError, WriteTx,
};
use serde::Deserialize;
use std::collections::BTreeMap;

/// Outbox messages fanned out per transaction.
const FANOUT_BATCH: u32 = 200;
/// A claimed outbox message is another process's to take after this.
const FANOUT_LEASE: SignedDuration = SignedDuration::from_secs(60);

/// What an append's outbox message lists.
#[derive(Deserialize)]
struct Listed {
    events: Vec<ListedEvent>,
}

#[derive(Deserialize)]
struct ListedEvent {
    version: u64,
}

impl App {
    /// Fans out up to one batch of outbox messages; returns how many it handled.
    ///
    /// In three steps, so the writer (which every API request waits for on SQLite) does
    /// only the writing: claim the messages (a lease), read their events and build the
    /// public events with the orders as they stood on the read side, then write the
    /// feed, the deliveries and the messages in one transaction with completing the
    /// claimed messages. A message whose lease ran out meanwhile was another process's
    /// to take: then this transaction writes nothing and that process's fan-out counts.
    pub async fn fan_out(&self, now: Timestamp) -> Result<usize, AppError> {
        let now = Timestamp::from_millisecond(now.as_millisecond()).unwrap_or(now);
        let worker = self.worker_id.clone();
        let lease_until = now.saturating_add(FANOUT_LEASE).unwrap_or(now);
        let rows = self
            .store
            .write_background(move |tx| {
                tx.claim_outbox(&worker, now, lease_until, FANOUT_BATCH)
                    .map_err(AppError::from)
            })
            .await?;
        if rows.is_empty() {
            return Ok(0);
        }
        let done: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let (entries, orders) = self.store.read(move |r| public_events(r, &rows)).await?;
        let worker = self.worker_id.clone();
        let ids = self.ids.clone();
        let config = self.config.clone();
        let triggers = self.notifier.triggers.clone();
        self.store
            .write_background(move |tx| {
                if tx.complete_outbox(&worker, &done, now)? != done.len() {
                    return Err(AppError::Contention(format!(
                        "outbox messages {}..={} were taken by another process",
                        done[0],
                        done[done.len() - 1]
                    )));
                }
                if entries.is_empty() {
                    return Ok(done.len());
                }
                let mut entries = entries.clone();
                let first = tx.draw_feed_positions(entries.len() as i64)?;
                for (i, e) in entries.iter_mut().enumerate() {
                    e.position = first + i as i64;
                }
                tx.insert_feed(&entries)?;
                let deliveries = plan_deliveries(tx, &entries, now, ids.as_ref())?;
                tx.insert_deliveries(&deliveries)?;
                let messages = plan_messages(
                    &triggers,
                    &config.notifications,
                    &entries,
                    &orders,
                    ids.as_ref(),
                );
                tx.insert_messages(&messages)?;
                Ok(done.len())
            })
            .await
    }

    /// Fans out until the outbox is empty (an order's messages are taken one per
    /// batch, so a burst of one order's appends takes several).
    pub async fn fan_out_all(&self, now: Timestamp) -> Result<(), AppError> {
        while self.fan_out(now).await? > 0 {}
        Ok(())
    }

    /// One dispatcher pass: fan out, then start the due deliveries and messages.
    /// Returns whether it found work (the loop sleeps when it did not).
    pub async fn dispatch(app: &AppState, now: Timestamp) -> Result<bool, AppError> {
        let fanned = app.fan_out(now).await?;
        let webhooks = crate::webhooks::worker::start(app, now).await?;
        let messages = crate::notifications::worker::start(app, now).await?;
        Ok(fanned > 0 || !webhooks.is_empty() || !messages.is_empty())
    }
}

/// The public events of the claimed outbox messages in claim order, and each order as
/// it stood after the last of them.
fn public_events(
    reader: &mut dyn Reader,
    rows: &[OutboxRow],
) -> Result<(Vec<FeedEntry>, BTreeMap<String, Order>), StoreError> {
    let mut entries = Vec::new();
    let mut orders = BTreeMap::new();
    for row in rows {
        if row.topic != ORDER_TOPIC {
            tracing::warn!(topic = %row.topic, id = row.id, "outbox message of an unknown topic dropped");
            continue;
        }
        let listed: Listed = serde_json::from_str(&row.payload)
            .map_err(|e| StoreError::Corrupt(format!("outbox message {}: {e}", row.id)))?;
        let events = reader.events(&row.stream_id)?;
        if let Some(order) = appended(&row.stream_id, &listed, events, &mut entries)? {
            orders.insert(order.id.to_string(), order);
        }
    }
    Ok((entries, orders))
}

/// The public events of the appended `listed` versions of `order_id`'s stream, each with
/// the order as it stood right after it; returns the order after the last of them.
fn appended(
    order_id: &str,
    listed: &Listed,
    events: Vec<EventRow>,
    out: &mut Vec<FeedEntry>,
) -> Result<Option<Order>, StoreError> {
    let Some(from) = listed.events.iter().map(|e| e.version).min() else {
        return Ok(None);
    };
    let to = listed
        .events
        .iter()
        .map(|e| e.version)
        .max()
        .unwrap_or(from);
    let mut state: Option<Order> = None;
    for row in events.into_iter().take_while(|e| e.version <= to) {
        let (event, at, version) = (row.event, row.at, row.version);
        let next = evolve(state, &event, at, version)
            .map_err(|e| StoreError::Corrupt(format!("order {order_id} v{version}: {e}")))?;
        if version >= from {
            let data = serde_json::to_value(&event)
                .ok()
                .and_then(|v| v.get("data").cloned())
                .unwrap_or_default();
            for (k, kind) in outward_types(&event, &next).into_iter().enumerate() {
                let short = order_id.trim_start_matches("ord_");
                let event_id = match k {
                    0 => format!("evt_{short}_{version}"),
                    k => format!("evt_{short}_{version}_{}", k + 1),
                };
                let payload = serde_json::json!({
                    "id": event_id,
                    "type": kind,
                    "timestamp": rfc3339(at),
                    "order_id": next.id,
                    "order_number": next.number,
                    "channel": next.channel,
                    "version": version,
                    "data": data,
                    "order": order_view(&next),
                });
                out.push(FeedEntry {
                    position: 0,
                    event_id,
                    event_type: kind.to_owned(),
                    order_id: next.id.to_string(),
                    channel: next.channel.to_string(),
                    version,
                    at,
                    payload: payload.to_string(),
                });
            }
        }
        state = Some(next);
    }
    Ok(state)
}

/// One delivery per active subscription that wants an entry, numbered per subscription
/// and order in feed order.
fn plan_deliveries(
    tx: &mut dyn WriteTx,
    entries: &[FeedEntry],
    now: Timestamp,
    ids: &dyn crate::app::clock::IdSource,
) -> Result<Vec<NewDelivery>, AppError> {
    let mut out = Vec::new();
    for sub in tx.active_subscriptions()? {
        let mut per_order: BTreeMap<&str, Vec<&FeedEntry>> = BTreeMap::new();
        for e in entries
            .iter()
            .filter(|e| sub.wants(&e.event_type, &e.channel))
        {
            per_order.entry(e.order_id.as_str()).or_default().push(e);
        }
        for (order_id, wanted) in per_order {
            let first = tx.draw_sequences(&sub.id, order_id, wanted.len() as i64)?;
            for (i, e) in wanted.into_iter().enumerate() {
                out.push(NewDelivery {
                    id: ids.new_id("whd"),
                    subscription_id: sub.id.clone(),
                    position: e.position,
                    order_id: order_id.to_owned(),
                    sequence: first + i as i64,
                    at: now,
                });
            }
        }
    }
    Ok(out)
}

/// Runs dispatcher passes until the process stops, sleeping `idle` when a pass found
/// nothing to do. After a busy pass it pauses as long as `workers::share` says: on
/// SQLite, delivery takes what writer time the API requests leave (and at least
/// `webhooks.writer_share_percent`), and catches up when they stop.
pub async fn run(app: AppState, idle: std::time::Duration) {
    let began = std::time::Instant::now();
    let reading = |app: &App| {
        app.store.writer_busy().map(|busy| Reading {
            wall: began.elapsed(),
            writer_busy: busy.all,
            own: busy.background,
        })
    };
    let mut pacer = reading(&app).map(|r| Pacer::new(r, app.config.webhooks.writer_share_percent));
    loop {
        match App::dispatch(&app, app.now()).await {
            Ok(true) => {
                let pause = match (pacer.as_mut(), reading(&app)) {
                    (Some(pacer), Some(now)) => pacer.pause(now),
                    _ => std::time::Duration::ZERO,
                };
                if pause.is_zero() {
                    tokio::task::yield_now().await;
                } else {
                    tokio::time::sleep(pause).await;
                }
            }
            Ok(false) => tokio::time::sleep(idle).await,
            Err(e) => {
                tracing::warn!(error = %e, "dispatcher pass failed");
                tokio::time::sleep(idle).await;
            }
        }
    }
}
