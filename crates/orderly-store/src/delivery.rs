//! What leaves Orderly, as rows: the public event feed, webhook subscriptions with their
//! deliveries and attempts, customer messages and notification preferences. The
//! dispatcher's fan-out writes them in one transaction with the outbox message it
//! completes; the delivery workers claim them under leases (`SKIP LOCKED` on
//! PostgreSQL), so several processes share the work and a crash loses nothing.
//!
//! `DeliveryTx` is the write side (part of `WriteTx`), `DeliveryReads` the read side
//! (part of `Reader`); both backends implement both in their `delivery` module.

use crate::error::StoreError;
use jiff::Timestamp;

/// A public event for the feed, at the position the fan-out drew for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedEntry {
    pub position: i64,
    pub event_id: String,
    pub event_type: String,
    pub order_id: String,
    pub channel: String,
    pub version: u64,
    pub at: Timestamp,
    /// The event as sent, JSON.
    pub payload: String,
}

/// A webhook subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionRow {
    pub id: String,
    pub url: String,
    pub description: Option<String>,
    /// Public event types, or `*` for every one.
    pub event_types: Vec<String>,
    /// None for every channel.
    pub channels: Option<Vec<String>>,
    /// The signing secrets (`whsec_…`), newest first; two during a rotation.
    pub secrets: Vec<String>,
    pub active: bool,
    /// Why it was switched off, when the failing endpoint was disabled.
    pub disabled_reason: Option<String>,
    /// When its current run of failures began (None while it answers).
    pub failing_since: Option<Timestamp>,
    pub created_by: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl SubscriptionRow {
    /// Whether events of this type on this channel go to it.
    pub fn wants(&self, event_type: &str, channel: &str) -> bool {
        self.event_types.iter().any(|t| t == "*" || t == event_type)
            && self
                .channels
                .as_ref()
                .is_none_or(|c| c.iter().any(|x| x == channel))
    }
}

/// A delivery the fan-out creates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDelivery {
    pub id: String,
    pub subscription_id: String,
    pub position: i64,
    pub order_id: String,
    pub sequence: i64,
    pub at: Timestamp,
}

/// A delivery as the log shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRecord {
    pub id: String,
    pub subscription_id: String,
    pub position: i64,
    pub event_id: String,
    pub event_type: String,
    pub order_id: String,
    pub sequence: i64,
    /// `pending`, `delivered` or `dead`.
    pub status: String,
    pub attempts: i64,
    pub next_at: Timestamp,
    pub created_at: Timestamp,
    pub finished_at: Option<Timestamp>,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
}

/// A delivery claimed for sending, with what sending needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedDelivery {
    pub id: String,
    pub subscription_id: String,
    /// The event's id (the `webhook-id`) and its order, read with the claim so sending
    /// need not parse the payload for them.
    pub event_id: String,
    pub order_id: String,
    pub url: String,
    pub secrets: Vec<String>,
    pub sequence: i64,
    /// Claims so far, this one included.
    pub attempts: i64,
    pub payload: String,
}

/// One attempt at a delivery, for its log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRow {
    pub delivery_id: String,
    pub subscription_id: String,
    pub attempt: i64,
    pub at: Timestamp,
    /// `delivered` or `failed`.
    pub outcome: String,
    pub status_code: Option<i64>,
    pub latency_ms: i64,
    pub error: Option<String>,
    /// The start of the response body (truncated).
    pub response_body: Option<String>,
}

/// Where a delivery or message goes after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Done: delivered (or sent) at this time.
    Done(Timestamp),
    /// Failed; try again at this time.
    RetryAt(Timestamp),
    /// Failed for the last time (dead-lettered) at this time.
    Dead(Timestamp),
}

/// The outcome of one delivery attempt by the worker holding its lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryOutcome {
    pub worker: String,
    pub attempt: AttemptRow,
    pub next: Next,
}

/// A customer message the fan-out (or a person's resend) creates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    pub id: String,
    pub order_id: String,
    pub template: String,
    /// `transactional` or `follow_up`.
    pub category: String,
    pub recipient: String,
    pub event_id: Option<String>,
    pub event_type: Option<String>,
    pub position: Option<i64>,
    pub transport: String,
    /// Not before this time (a trigger's delay).
    pub send_at: Timestamp,
    /// A resend carries what was sent before: (language, subject, text, html).
    pub content: Option<MessageContent>,
    pub resend_of: Option<String>,
    pub created_by: String,
    pub at: Timestamp,
}

/// A rendered message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageContent {
    pub language: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// A customer message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRow {
    pub id: String,
    pub order_id: String,
    pub template: String,
    pub category: String,
    pub recipient: String,
    pub event_id: Option<String>,
    pub event_type: Option<String>,
    pub position: Option<i64>,
    pub transport: String,
    /// `pending`, `sent`, `dead` or `suppressed`.
    pub status: String,
    pub attempts: i64,
    pub next_at: Timestamp,
    /// Rendered on the first attempt (or carried by a resend).
    pub content: Option<MessageContent>,
    pub last_error: Option<String>,
    pub resend_of: Option<String>,
    pub created_by: String,
    pub created_at: Timestamp,
    pub sent_at: Option<Timestamp>,
}

/// The outcome of one attempt at a message, by the worker holding its lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageOutcome {
    pub id: String,
    pub worker: String,
    /// What was rendered (kept so a retry sends the same message).
    pub content: Option<MessageContent>,
    /// `Done` is sent; a suppression is `Dead` with `suppressed` set.
    pub next: Next,
    pub suppressed: bool,
    pub error: Option<String>,
}

/// Writes of the delivery side, inside a write transaction.
pub trait DeliveryTx {
    /// Draws `n` feed positions; returns the first. Positions are drawn in commit order
    /// (the head row stays locked until the transaction ends).
    fn draw_feed_positions(&mut self, n: i64) -> Result<i64, StoreError>;
    fn insert_feed(&mut self, entries: &[FeedEntry]) -> Result<(), StoreError>;
    /// Subscriptions that take new events (active ones).
    fn active_subscriptions(&mut self) -> Result<Vec<SubscriptionRow>, StoreError>;
    /// Draws `n` sequence numbers of a subscription for an order; returns the first.
    fn draw_sequences(
        &mut self,
        subscription_id: &str,
        order_id: &str,
        n: i64,
    ) -> Result<i64, StoreError>;
    fn insert_deliveries(&mut self, deliveries: &[NewDelivery]) -> Result<(), StoreError>;
    /// Claims up to `limit` due deliveries of a subscription (if active) that are not
    /// leased and wait for no earlier pending delivery of the same order (so the
    /// consumer gets each order's events in sequence).
    fn claim_deliveries(
        &mut self,
        subscription_id: &str,
        worker: &str,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<ClaimedDelivery>, StoreError>;
    /// Records an attempt and moves the delivery on, if `worker` still holds it;
    /// returns whether it did.
    fn finish_delivery(&mut self, outcome: &DeliveryOutcome) -> Result<bool, StoreError>;
    /// Notes a subscription's answer: `Some(at)` a failure (the run of failures starts
    /// then unless it already runs), `None` a success (the run ends). Returns when the
    /// current run of failures began.
    fn note_subscription_health(
        &mut self,
        id: &str,
        failed_at: Option<Timestamp>,
    ) -> Result<Option<Timestamp>, StoreError>;
    /// Inserts or replaces a subscription.
    fn save_subscription(&mut self, s: &SubscriptionRow) -> Result<(), StoreError>;
    fn subscription_in_tx(&mut self, id: &str) -> Result<Option<SubscriptionRow>, StoreError>;
    /// Sends these deliveries of a subscription again from now (delivered or dead ones
    /// included); `ids` None means every delivery created in `[from, to)`. Returns how
    /// many.
    fn redeliver(
        &mut self,
        subscription_id: &str,
        ids: Option<&[String]>,
        range: (Timestamp, Timestamp),
        now: Timestamp,
    ) -> Result<usize, StoreError>;
    fn insert_messages(&mut self, messages: &[NewMessage]) -> Result<(), StoreError>;
    /// Claims up to `limit` due messages not leased by another worker.
    fn claim_messages(
        &mut self,
        worker: &str,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<MessageRow>, StoreError>;
    fn finish_message(&mut self, outcome: &MessageOutcome) -> Result<bool, StoreError>;
    fn set_notification_preferences(
        &mut self,
        email: &str,
        follow_ups: bool,
        at: Timestamp,
    ) -> Result<(), StoreError>;
}

/// Reads of the delivery side.
pub trait DeliveryReads {
    /// Subscriptions ordered by id, after `after_id`.
    fn subscriptions(
        &mut self,
        after_id: Option<&str>,
        limit: u32,
    ) -> Result<Vec<SubscriptionRow>, StoreError>;
    fn subscription(&mut self, id: &str) -> Result<Option<SubscriptionRow>, StoreError>;
    /// A subscription's deliveries, newest first, before `before_id`; only of `status`
    /// when given.
    fn deliveries(
        &mut self,
        subscription_id: &str,
        status: Option<&str>,
        before_id: Option<&str>,
        limit: u32,
    ) -> Result<Vec<DeliveryRecord>, StoreError>;
    fn delivery(&mut self, id: &str) -> Result<Option<DeliveryRecord>, StoreError>;
    /// The attempts of these deliveries, oldest first.
    fn attempts(&mut self, delivery_ids: &[String]) -> Result<Vec<AttemptRow>, StoreError>;
    /// Feed entries after `position`, in position order; only of these channels when
    /// given.
    fn feed(
        &mut self,
        after: i64,
        channels: Option<&[String]>,
        limit: u32,
    ) -> Result<Vec<FeedEntry>, StoreError>;
    fn feed_entry(&mut self, position: i64) -> Result<Option<FeedEntry>, StoreError>;
    /// An order's messages, oldest first.
    fn messages(&mut self, order_id: &str) -> Result<Vec<MessageRow>, StoreError>;
    fn message(&mut self, id: &str) -> Result<Option<MessageRow>, StoreError>;
    /// Whether this customer takes follow-up messages (None: never said).
    fn follow_ups_wanted(&mut self, email: &str) -> Result<Option<bool>, StoreError>;
}

/// The columns an attempt's outcome sets: (status, next_at, finished_at).
pub(crate) fn next_columns(next: Next, suppressed: bool) -> (&'static str, i64, Option<i64>) {
    use crate::to_ms;
    match next {
        Next::Done(at) => ("delivered", to_ms(at), Some(to_ms(at))),
        Next::RetryAt(at) => ("pending", to_ms(at), None),
        Next::Dead(at) if suppressed => ("suppressed", to_ms(at), Some(to_ms(at))),
        Next::Dead(at) => ("dead", to_ms(at), Some(to_ms(at))),
    }
}

/// JSON list columns.
pub(crate) fn list_to_column(list: &[String]) -> String {
    serde_json::Value::from(list.to_vec()).to_string()
}

pub(crate) fn list_from_column(raw: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(raw).map_err(|e| StoreError::Corrupt(format!("list column {raw:?}: {e}")))
}
