//! The commands on webhook subscriptions and their deliveries, for every interface: create
//! (the URL checked against the destination policy, a signing secret generated), change,
//! re-enable after the worker disabled a failing endpoint, rotate the secret (the old
//! one still signs until the next rotation, so a consumer can switch without a gap),
//! read the delivery log, redeliver, and read the public event feed.
//!
//! Subscriptions are scoped like orders: a key bound to channels creates subscriptions
//! for its channels only and sees no others.

use crate::app::App;
use crate::app::auth::{Permission, authorize};
use crate::app::error::AppError;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use jiff::Timestamp;
use orderly_domain::actor::Actor;
use orderly_domain::order::{FieldIssue, OUTWARD_TYPES};
use orderly_store::{AttemptRow, DeliveryRecord, FeedEntry, SubscriptionRow};
use rand::RngCore;

/// What a new subscription asks for.
#[derive(Debug, Clone)]
pub struct SubscriptionSpec {
    pub url: String,
    pub event_types: Vec<String>,
    pub description: Option<String>,
    pub channels: Option<Vec<String>>,
}

/// A change to a subscription; absent fields stay.
#[derive(Debug, Clone, Default)]
pub struct SubscriptionPatch {
    pub url: Option<String>,
    pub event_types: Option<Vec<String>>,
    pub description: Option<String>,
    /// `true` re-enables (clearing why it was disabled), `false` pauses.
    pub active: Option<bool>,
}

/// A subscription with the secret that was just made for it (shown once).
#[derive(Debug, Clone)]
pub struct WithSecret {
    pub subscription: SubscriptionRow,
    pub secret: String,
}

/// A delivery with its attempts, oldest first.
#[derive(Debug, Clone)]
pub struct DeliveryLog {
    pub delivery: DeliveryRecord,
    pub attempts: Vec<AttemptRow>,
}

/// A new signing secret: `whsec_` and 32 random bytes in base64.
fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("whsec_{}", STANDARD.encode(bytes))
}

fn key_channels(actor: &Actor) -> Option<&[String]> {
    match actor {
        Actor::ApiKey { channels, .. } => channels.as_deref(),
        Actor::User { .. } | Actor::System { .. } => None,
    }
}

/// Whether `actor` may see `s`: an unbound key sees every subscription, a bound one
/// those for its channels only.
fn visible(actor: &Actor, s: &SubscriptionRow) -> bool {
    match (key_channels(actor), &s.channels) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(own), Some(theirs)) => theirs.iter().all(|c| own.contains(c)),
    }
}

fn check_event_types(types: &[String]) -> Result<(), AppError> {
    let mut issues = Vec::new();
    if types.is_empty() {
        issues.push(FieldIssue::new(
            "event_types",
            "required",
            "name at least one event type, or \"*\" for all",
        ));
    }
    for (i, t) in types.iter().enumerate() {
        if t != "*" && !OUTWARD_TYPES.contains(&t.as_str()) {
            issues.push(FieldIssue::new(
                format!("event_types[{i}]"),
                "unknown_event_type",
                format!("{t:?} is not an event type (see GET /events for the types sent)"),
            ));
        }
    }
    if issues.is_empty() {
        Ok(())
    } else {
        Err(AppError::Validation(issues))
    }
}

impl App {
    /// Checks `url` against the destination policy, with a bound on the DNS lookup.
    async fn check_destination(&self, url: &str) -> Result<String, AppError> {
        let destinations = self.webhook_sender.destinations();
        let lookup =
            tokio::time::timeout(std::time::Duration::from_secs(3), destinations.check(url)).await;
        let refused = |code: &'static str, message: String| {
            AppError::Validation(vec![FieldIssue::new("url", code, message)])
        };
        match lookup {
            Err(_) => Err(refused(
                "destination_unresolved",
                "the host did not resolve within 3 seconds".into(),
            )),
            Ok(Ok(parsed)) => Ok(parsed.to_string()),
            Ok(Err(e)) => {
                use crate::webhooks::destination::DestinationError as D;
                let code = match e {
                    D::NotPublic { .. } => "destination_not_allowed",
                    D::Unresolved { .. } => "destination_unresolved",
                    D::Invalid(_) | D::Scheme | D::Credentials => "invalid_url",
                };
                Err(refused(code, e.to_string()))
            }
        }
    }

    pub async fn create_subscription(
        &self,
        actor: &Actor,
        spec: SubscriptionSpec,
    ) -> Result<WithSecret, AppError> {
        authorize(actor, Permission::ManageWebhooks)?;
        check_event_types(&spec.event_types)?;
        let channels = match (key_channels(actor), spec.channels) {
            (None, asked) => asked,
            (Some(own), None) => Some(own.to_vec()),
            (Some(own), Some(asked)) => {
                if let Some(other) = asked.iter().find(|c| !own.contains(c)) {
                    return Err(AppError::Validation(vec![FieldIssue::new(
                        "channels",
                        "channel_not_allowed",
                        format!("this key is not bound to channel {other:?}"),
                    )]));
                }
                Some(asked)
            }
        };
        if let Some(unknown) = channels
            .iter()
            .flatten()
            .find(|c| !self.config.channels.iter().any(|x| &&x.id == c))
        {
            return Err(AppError::Validation(vec![FieldIssue::new(
                "channels",
                "unknown_channel",
                format!("no channel {unknown:?} is configured"),
            )]));
        }
        let url = self.check_destination(&spec.url).await?;
        let now = self.now();
        let secret = new_secret();
        let row = SubscriptionRow {
            id: self.new_id("whs"),
            url,
            description: spec.description,
            event_types: spec.event_types,
            channels,
            secrets: vec![secret.clone()],
            active: true,
            disabled_reason: None,
            failing_since: None,
            created_by: actor.label(),
            created_at: now,
            updated_at: now,
        };
        let saved = row.clone();
        self.store
            .write(move |tx| tx.save_subscription(&saved).map_err(AppError::from))
            .await?;
        Ok(WithSecret {
            subscription: row,
            secret,
        })
    }

    pub async fn subscription(
        &self,
        actor: &Actor,
        id: String,
    ) -> Result<SubscriptionRow, AppError> {
        authorize(actor, Permission::ManageWebhooks)?;
        let label = id.clone();
        self.store
            .read(move |r| r.subscription(&id))
            .await?
            .filter(|s| visible(actor, s))
            .ok_or_else(|| AppError::NotFound(format!("webhook subscription {label}")))
    }

    pub async fn subscriptions(
        &self,
        actor: &Actor,
        after: Option<String>,
        limit: u32,
    ) -> Result<Vec<SubscriptionRow>, AppError> {
        authorize(actor, Permission::ManageWebhooks)?;
        // Bound keys filter after reading, so read until a page is full or all is read.
        let mut out = Vec::new();
        let mut cursor = after;
        loop {
            let from = cursor.clone();
            let rows = self
                .store
                .read(move |r| r.subscriptions(from.as_deref(), limit))
                .await?;
            let done = rows.len() < limit as usize;
            cursor = rows.last().map(|s| s.id.clone());
            out.extend(rows.into_iter().filter(|s| visible(actor, s)));
            if done || out.len() >= limit as usize {
                out.truncate(limit as usize + 1);
                return Ok(out);
            }
        }
    }

    /// Applies `patch` under the subscription's row lock.
    async fn change_subscription(
        &self,
        actor: &Actor,
        id: String,
        change: impl Fn(&mut SubscriptionRow) + Send + 'static,
    ) -> Result<SubscriptionRow, AppError> {
        self.subscription(actor, id.clone()).await?;
        let now = self.now();
        self.store
            .write(move |tx| {
                let mut s = tx
                    .subscription_in_tx(&id)?
                    .ok_or_else(|| AppError::NotFound(format!("webhook subscription {id}")))?;
                change(&mut s);
                s.updated_at = now;
                tx.save_subscription(&s)?;
                Ok(s)
            })
            .await
    }

    pub async fn update_subscription(
        &self,
        actor: &Actor,
        id: String,
        patch: SubscriptionPatch,
    ) -> Result<SubscriptionRow, AppError> {
        authorize(actor, Permission::ManageWebhooks)?;
        if let Some(types) = &patch.event_types {
            check_event_types(types)?;
        }
        let url = match &patch.url {
            Some(u) => Some(self.check_destination(u).await?),
            None => None,
        };
        self.change_subscription(actor, id, move |s| {
            if let Some(url) = &url {
                s.url = url.clone();
            }
            if let Some(types) = &patch.event_types {
                s.event_types = types.clone();
            }
            if patch.description.is_some() {
                s.description = patch.description.clone();
            }
            match patch.active {
                Some(true) => {
                    s.active = true;
                    s.disabled_reason = None;
                    s.failing_since = None;
                }
                Some(false) => s.active = false,
                None => {}
            }
        })
        .await
    }

    /// A new signing secret, put first; the newest previous one keeps signing beside it
    /// when `keep_previous` (two secrets at most), so consumers switch without a gap.
    pub async fn rotate_subscription_secret(
        &self,
        actor: &Actor,
        id: String,
        keep_previous: bool,
    ) -> Result<WithSecret, AppError> {
        authorize(actor, Permission::ManageWebhooks)?;
        let secret = new_secret();
        let fresh = secret.clone();
        let s = self
            .change_subscription(actor, id, move |s| {
                let previous = s.secrets.first().cloned();
                s.secrets = std::iter::once(fresh.clone())
                    .chain(previous.filter(|_| keep_previous))
                    .collect();
            })
            .await?;
        Ok(WithSecret {
            subscription: s,
            secret,
        })
    }

    /// A subscription's deliveries, newest first, each with its attempts.
    pub async fn delivery_log(
        &self,
        actor: &Actor,
        subscription_id: String,
        status: Option<String>,
        before: Option<String>,
        limit: u32,
    ) -> Result<Vec<DeliveryLog>, AppError> {
        self.subscription(actor, subscription_id.clone()).await?;
        Ok(self
            .store
            .read(move |r| {
                let deliveries = r.deliveries(
                    &subscription_id,
                    status.as_deref(),
                    before.as_deref(),
                    limit,
                )?;
                let ids: Vec<String> = deliveries.iter().map(|d| d.id.clone()).collect();
                let mut attempts = r.attempts(&ids)?;
                Ok(deliveries
                    .into_iter()
                    .map(|d| {
                        let mine = attempts.extract_if(.., |a| a.delivery_id == d.id).collect();
                        DeliveryLog {
                            delivery: d,
                            attempts: mine,
                        }
                    })
                    .collect())
            })
            .await?)
    }

    /// Sends deliveries of a subscription again from now: one (`ids`) or every one
    /// created in `range`. Returns how many.
    pub async fn redeliver(
        &self,
        actor: &Actor,
        subscription_id: String,
        ids: Option<Vec<String>>,
        range: (Timestamp, Timestamp),
    ) -> Result<usize, AppError> {
        self.subscription(actor, subscription_id.clone()).await?;
        let now = self.now();
        let n = self
            .store
            .write(move |tx| {
                tx.redeliver(&subscription_id, ids.as_deref(), range, now)
                    .map_err(AppError::from)
            })
            .await?;
        Ok(n)
    }

    /// Public events after feed position `after`, oldest first, of the channels the
    /// actor sees.
    pub async fn event_feed(
        &self,
        actor: &Actor,
        after: i64,
        limit: u32,
    ) -> Result<Vec<FeedEntry>, AppError> {
        authorize(actor, Permission::ReadEvents)?;
        let channels = key_channels(actor).map(<[String]>::to_vec);
        Ok(self
            .store
            .read(move |r| r.feed(after, channels.as_deref(), limit))
            .await?)
    }
}
