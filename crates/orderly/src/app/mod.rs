//! The application core every interface shares (the JSON API, the CLI, the workers, and
//! the console to come): the `App` with its store, configuration, clock and ids; who is
//! asking (`Origin`); the application's errors and answers; authorization; and the
//! idempotent write every command runs in. Each command runs as one closure inside the
//! store's write transaction: read the facts, decide with the pure domain, append, and
//! record the idempotent response, all at once. The commands themselves live with their
//! capability (`orders::commands`, `payments::commands`, …) and never import `http`.

pub mod auth;
pub mod clock;
pub mod error;
pub mod exchanges;
pub mod metrics;
pub mod runner;

use crate::app::error::AppError;
use crate::config::Config;
use crate::providers::PaymentProvider;
use crate::providers::carriers::{Carrier, RateTableCarrier};
use crate::providers::signature::Secret;
use crate::providers::simulator::Simulator;
use clock::{Clock, IdSource, SystemClock, UuidV7Ids};
use jiff::Timestamp;
use orderly_domain::actor::Actor;
use orderly_domain::order::Order;
use orderly_domain::sourcing::LocationFacts;
use orderly_store::{EventMeta, IdempotencyRecord, Store, StoredBody, WriteTx};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

/// Everything a request handler needs; shared behind an `Arc`.
pub struct App {
    pub store: Store,
    pub config: Arc<Config>,
    /// Shared by every request's sourcing decision (read-only).
    pub locations: Arc<Vec<LocationFacts>>,
    /// The built-in payment provider; tests read its call counts.
    pub simulator: Arc<Simulator>,
    /// This process's name when it claims background work.
    pub worker_id: String,
    /// The carriers packages can ship with.
    pub carriers: Vec<Arc<dyn Carrier>>,
    /// Keys that sign inbound payment events, per provider (decoded once, at start-up).
    pub payment_event_secrets: HashMap<String, Vec<Secret>>,
    /// Keys that sign inbound tracking events.
    pub tracking_event_secrets: Vec<Secret>,
    /// Where every command reads the time (the system clock, or a test's manual clock).
    pub clock: Arc<dyn Clock>,
    /// Where every command gets new ids.
    pub ids: Arc<dyn IdSource>,
    /// Outbound webhooks' HTTP side (client, destination policy, signing).
    pub webhook_sender: crate::webhooks::send::Sender,
    /// The subscriptions this process is sending a batch to now (one batch each).
    pub webhook_busy: Mutex<HashSet<String>>,
    /// Customer messages: templates, triggers, transport.
    pub notifier: crate::notifications::notifier::Notifier,
    /// Whether this process has a batch of messages out now.
    pub messages_busy: std::sync::atomic::AtomicBool,
    /// This app's Prometheus figures (`system/metrics.rs`).
    pub metrics: metrics::Metrics,
    in_flight: Mutex<HashSet<(String, String)>>,
}

pub type AppState = Arc<App>;

impl App {
    /// An app on the system clock and uuid v7 ids.
    pub fn new(store: Store, config: Config) -> anyhow::Result<App> {
        App::with_time(store, config, Arc::new(SystemClock), Arc::new(UuidV7Ids))
    }

    /// An app reading time from `clock` and ids from `ids`.
    pub fn with_time(
        store: Store,
        config: Config,
        clock: Arc<dyn Clock>,
        ids: Arc<dyn IdSource>,
    ) -> anyhow::Result<App> {
        let simulator = Simulator::new(config.payments.simulator.clone());
        let carriers = config
            .carriers
            .iter()
            .map(|c| Arc::new(RateTableCarrier::new(c.clone())) as Arc<dyn Carrier>)
            .collect();
        // `Config::validate` refused any secret that does not decode.
        let decode = |keys: &[String]| -> Vec<Secret> {
            keys.iter().filter_map(|k| Secret::parse(k).ok()).collect()
        };
        let payment_event_secrets = config
            .payments
            .event_secrets
            .iter()
            .map(|(provider, keys)| (provider.clone(), decode(keys)))
            .collect();
        let tracking_event_secrets = decode(&config.fulfillment.tracking_event_secrets);
        // TLS (webhooks, SMTP) runs on ring: aws-lc-rs, the provider rustls prefers for
        // its post-quantum key exchange, needs a C toolchain step we keep out of the
        // build. Installing twice (tests build many apps) keeps the first, the same one.
        #[allow(deprecated)]
        let _ = rustls::crypto::ring::default_provider().install_default();
        let destinations =
            crate::webhooks::destination::Destinations::new(config.webhooks.allowed());
        let sender = crate::webhooks::send::Sender::new(&config.webhooks, destinations)?;
        let notifier = crate::notifications::notifier::Notifier::new(&config.notifications)?;
        Ok(App {
            store,
            locations: Arc::new(config.location_facts()),
            payment_event_secrets,
            tracking_event_secrets,
            config: Arc::new(config),
            simulator: Arc::new(simulator),
            worker_id: ids.new_id("worker"),
            carriers,
            clock,
            ids,
            webhook_sender: sender,
            webhook_busy: Mutex::new(HashSet::new()),
            notifier,
            messages_busy: std::sync::atomic::AtomicBool::new(false),
            metrics: metrics::Metrics::new()?,
            in_flight: Mutex::new(HashSet::new()),
        })
    }

    /// The current time on this app's clock (millisecond precision).
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// A new opaque, time-sortable id such as `ord_0193c0d2…`.
    pub fn new_id(&self, prefix: &str) -> String {
        self.ids.new_id(prefix)
    }

    /// The carrier with this id, if configured.
    pub fn carrier(&self, id: &str) -> Option<&dyn Carrier> {
        self.carriers
            .iter()
            .find(|c| c.id() == id)
            .map(|c| c.as_ref())
    }

    /// The provider a payment names, if this process knows it.
    pub fn provider(&self, name: &str) -> Option<&dyn PaymentProvider> {
        let simulator: &dyn PaymentProvider = self.simulator.as_ref();
        [simulator].into_iter().find(|p| p.name() == name)
    }
}

/// Who asked, and under which request id.
#[derive(Debug, Clone)]
pub struct Origin {
    pub actor: Actor,
    pub correlation_id: String,
}

impl Origin {
    /// The metadata of events this origin causes at `at` (the caller's clock).
    pub(crate) fn meta(&self, at: Timestamp) -> EventMeta {
        EventMeta {
            actor: self.actor.clone(),
            correlation_id: self.correlation_id.clone(),
            at,
        }
    }
}

/// Refuses a time from outside (a carrier's scan, a provider's event) dated more than
/// `skew_seconds` after `now`: a sender whose clock is wrong must not move ours (a scan
/// from 2099 would silence the delay watch for good). Times in the past are fine: they
/// are recorded, and never move an order's clocks backwards.
pub(crate) fn refuse_future(
    field: &str,
    at: Timestamp,
    now: Timestamp,
    skew_seconds: u32,
) -> Result<(), AppError> {
    let latest = now
        .saturating_add(jiff::SignedDuration::from_secs(i64::from(skew_seconds)))
        .unwrap_or(now);
    if at <= latest {
        return Ok(());
    }
    Err(AppError::Validation(vec![
        orderly_domain::order::FieldIssue::new(
            field,
            "in_the_future",
            format!(
                "{} is more than {skew_seconds} s after our clock ({})",
                orderly_domain::time::Rfc3339(at),
                orderly_domain::time::Rfc3339(now)
            ),
        ),
    ]))
}

/// An `Idempotency-Key` as scoped to one principal, with the hash of its request.
#[derive(Debug, Clone)]
pub struct Idempotency {
    pub principal: String,
    pub key: String,
    pub request_hash: String,
}

/// How a command went, apart from what it answers with: every interface says it its
/// own way (an HTTP status, a console flash, a CLI exit code).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Done as asked.
    Done,
    /// Something new exists (an order, a product, a wave).
    Created,
    /// Accepted, but a provider has not answered yet; the timer worker asks again.
    Accepted,
    /// A provider refused the capture or refund; the order shows the failure.
    PaymentRefused,
}

impl Answer {
    /// The number an idempotency record stores for this answer. They are the HTTP
    /// statuses the API first stored, so records written before the application named
    /// its answers replay unchanged.
    pub(crate) fn stored(self) -> u16 {
        match self {
            Answer::Done => 200,
            Answer::Created => 201,
            Answer::Accepted => 202,
            Answer::PaymentRefused => 402,
        }
    }

    pub(crate) fn from_stored(code: u16) -> Result<Answer, AppError> {
        [
            Answer::Done,
            Answer::Created,
            Answer::Accepted,
            Answer::PaymentRefused,
        ]
        .into_iter()
        .find(|a| a.stored() == code)
        .ok_or_else(|| AppError::Internal(format!("idempotency record with answer {code}")))
    }
}

/// What a command answers, in a form that can be stored for idempotent replay.
#[derive(Debug)]
pub enum Outcome {
    /// Literal JSON bytes (stored as they are).
    Body(Answer, Vec<u8>),
    /// An order. The idempotency record stores only a reference to the order's stream
    /// version (replay folds the events up to it), and the JSON is rendered by the
    /// interface, off the writer thread: both keep the hot path lean.
    Order(Answer, Box<Order>),
}

/// Removes an in-flight idempotency key when the request finishes, however it finishes.
pub(crate) struct InFlightGuard<'a> {
    app: &'a App,
    entry: (String, String),
}

impl Drop for InFlightGuard<'_> {
    fn drop(&mut self) {
        if let Ok(mut set) = self.app.in_flight.lock() {
            set.remove(&self.entry);
        }
    }
}

impl App {
    /// Marks a key in flight in this process until the guard drops.
    pub(crate) fn claim(&self, idem: &Idempotency) -> Result<InFlightGuard<'_>, AppError> {
        let entry = (idem.principal.clone(), idem.key.clone());
        let mut set = self
            .in_flight
            .lock()
            .map_err(|_| AppError::Internal("in-flight set poisoned".into()))?;
        if !set.insert(entry.clone()) {
            return Err(AppError::IdempotencyKeyInFlight);
        }
        Ok(InFlightGuard { app: self, entry })
    }

    /// Runs `command` in the write transaction under an optional idempotency key: a
    /// completed key replays its first response (or refuses a different request), a key
    /// in flight is refused, and a new key stores the response in the same transaction as
    /// the command's effects. Failed commands store nothing, so they may be retried.
    pub async fn idempotent_write<F>(
        &self,
        idem: Option<Idempotency>,
        command: F,
    ) -> Result<Outcome, AppError>
    where
        F: FnMut(&mut dyn WriteTx) -> Result<Outcome, AppError> + Send + 'static,
    {
        let _guard = idem.as_ref().map(|i| self.claim(i)).transpose()?;
        self.write_under_key(idem, command).await
    }

    /// `idempotent_write` for a caller that holds the in-flight claim itself (because
    /// the request goes on after the write, e.g. to call a payment provider).
    pub(crate) async fn write_under_key<F>(
        &self,
        idem: Option<Idempotency>,
        mut command: F,
    ) -> Result<Outcome, AppError>
    where
        F: FnMut(&mut dyn WriteTx) -> Result<Outcome, AppError> + Send + 'static,
    {
        let keep_ms = i64::from(self.config.idempotency.retention_hours) * 3_600_000;
        let clock = self.clock.clone();
        self.store
            .write(move |tx| {
                let now = clock.now();
                if let Some(i) = &idem
                    && let Some(record) = tx.find_idempotency(&i.principal, &i.key, now)?
                {
                    if record.request_hash != i.request_hash {
                        return Err(AppError::IdempotencyKeyReused);
                    }
                    return replay(tx, record);
                }
                let outcome = command(tx)?;
                if let Some(i) = &idem {
                    let body = match &outcome {
                        Outcome::Body(_, bytes) => StoredBody::Bytes(bytes.clone()),
                        Outcome::Order(_, order) => StoredBody::OrderAt {
                            order_id: order.id.to_string(),
                            version: order.version,
                        },
                    };
                    let status_code = match &outcome {
                        Outcome::Body(a, _) | Outcome::Order(a, _) => a.stored(),
                    };
                    let record = IdempotencyRecord {
                        request_hash: i.request_hash.clone(),
                        status_code,
                        body,
                    };
                    tx.save_idempotency(&i.principal, &i.key, &record, now, keep_ms)?;
                }
                Ok(outcome)
            })
            .await
    }
}

/// Rebuilds the first response from its stored record.
fn replay(tx: &mut dyn WriteTx, record: IdempotencyRecord) -> Result<Outcome, AppError> {
    let answer = Answer::from_stored(record.status_code)?;
    match record.body {
        StoredBody::Bytes(bytes) => Ok(Outcome::Body(answer, bytes)),
        StoredBody::OrderAt { order_id, version } => {
            let order = tx.order_at(&order_id, version)?.ok_or_else(|| {
                AppError::Internal(format!("idempotent replay: order {order_id} has no events"))
            })?;
            Ok(Outcome::Order(answer, Box::new(order)))
        }
    }
}
