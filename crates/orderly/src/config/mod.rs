//! Configuration: `orderly.toml` plus `ORDERLY_*` environment overrides (nested keys with
//! `__`, e.g. `ORDERLY_SERVER__LISTEN`). Policy lives here, not in code. An invalid file
//! stops startup with a message naming the offending key.

mod calendar;
pub mod cases;
pub mod console;
pub mod exceptions;
pub mod kpis;
pub mod metrics;
pub mod notifications;
mod refund_limits;
mod returns;
mod validate;
mod webhooks;

pub use calendar::{CalendarConfig, HoursConfig};
pub use returns::ReturnsConfig;
pub use webhooks::WebhooksConfig;

use crate::providers::simulator::SimulatorConfig;
use anyhow::bail;
use figment::Figment;
use figment::providers::{Env, Format, Toml};
use orderly_domain::geo::LatLon;
use orderly_domain::order::{Limits, PriceTrust};
use orderly_domain::payment::{CaptureMode, RiskPolicy};
use orderly_domain::sourcing::LocationFacts;
use orderly_domain::values::Id;
use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub server: ServerConfig,
    #[serde(default)]
    pub database: DatabaseConfig,
    #[serde(default)]
    pub log: LogConfig,
    #[serde(default)]
    pub limits: LimitsConfig,
    #[serde(default)]
    pub idempotency: IdempotencyConfig,
    #[serde(default)]
    pub payments: PaymentsConfig,
    #[serde(default)]
    /// Risk rules that put new orders on review.
    pub risk: RiskPolicy,
    #[serde(default)]
    pub fulfillment: FulfillmentConfig,
    /// `strategy` (`minimize_splits`, `nearest`, `priority` or `cheapest`) and
    /// `max_locations` per order.
    #[serde(default)]
    pub sourcing: orderly_domain::sourcing::SourcingPolicy,
    /// Carriers with their services and rate tables (the built-in `local` carrier prints
    /// the labels); a package ships with the cheapest service arriving in time. Without
    /// any, one `local` carrier with a free five-day `ground` service ships anywhere.
    #[serde(default = "default_carriers")]
    pub carriers: Vec<orderly_domain::carrier::Carrier>,
    pub locations: Vec<LocationConfig>,
    pub channels: Vec<ChannelConfig>,
    /// Approximate positions of regions (or whole countries when `region` is omitted), used
    /// to find the warehouse nearest a ship-to address without calling a geocoder.
    #[serde(default)]
    pub geocodes: Vec<GeocodeConfig>,
    /// The return policy's versions (`[[returns.policies]]`); none: returns are off.
    #[serde(default)]
    pub returns: ReturnsConfig,
    /// Outbound webhooks: retries, limits, where deliveries may go.
    #[serde(default)]
    pub webhooks: WebhooksConfig,
    /// Support cases: root causes, their suggestions, groups and SLA targets.
    #[serde(default)]
    pub cases: cases::CasesConfig,
    /// Customer messages: triggers, templates, transport.
    #[serde(default)]
    pub notifications: notifications::NotificationsConfig,
    /// Working hours and holidays, for clocks that count business time.
    #[serde(default)]
    pub calendar: CalendarConfig,
    /// How long watched conditions may last before they are queued.
    #[serde(default)]
    pub exceptions: exceptions::ExceptionsConfig,
    /// Console sign-ins: session lifetimes and password lockout.
    #[serde(default)]
    pub console: console::ConsoleConfig,
    /// Where Prometheus scrapes `/metrics`.
    #[serde(default)]
    pub metrics: metrics::MetricsConfig,
    /// What the operations figures count as an inaccurate shipment.
    #[serde(default)]
    pub kpis: kpis::KpisConfig,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    pub listen: String,
    pub body_limit_bytes: usize,
    pub shutdown_grace_seconds: u64,
    /// Longest a client may take to send a request's head, from its first byte: a slow
    /// sender (slow loris) is disconnected after this.
    pub header_read_timeout_seconds: u64,
    /// Longest a connection may stay open with no request in progress, before its first
    /// request and between requests; keep it above a load balancer's own idle timeout.
    pub idle_timeout_seconds: u64,
    /// Longest one request may take, body upload included; after it the request answers
    /// 503 `request_timeout`.
    pub request_timeout_seconds: u64,
    /// Connections served at once; further ones wait in the listen backlog until one
    /// closes.
    pub max_connections: usize,
    /// Failed authentications one peer address may make per window; further requests
    /// from it answer 429 until the window is over.
    pub auth_failure_limit: u32,
    /// The window that `auth_failure_limit` counts in.
    pub auth_failure_window_seconds: u64,
    /// Self-service return requests whose order number and email match no order that one
    /// peer address may make per window; further requests from it answer 429 until the
    /// window is over (guessing pairs is what this stops).
    pub self_service_failure_limit: u32,
    /// The window that `self_service_failure_limit` counts in.
    pub self_service_window_seconds: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: "127.0.0.1:8080".into(),
            body_limit_bytes: 1024 * 1024,
            shutdown_grace_seconds: 20,
            header_read_timeout_seconds: 10,
            idle_timeout_seconds: 75,
            request_timeout_seconds: 30,
            max_connections: 4096,
            auth_failure_limit: 20,
            auth_failure_window_seconds: 60,
            self_service_failure_limit: 5,
            self_service_window_seconds: 900,
        }
    }
}

/// How log lines are written (the filter stays the `ORDERLY_LOG` environment variable,
/// e.g. `warn,orderly_store=debug`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    pub format: LogFormat,
}

/// `text` for people (coloured only on a terminal), `json` for log shippers: one object
/// per line, carrying the request's span (and its `correlation_id`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// `sqlite://PATH` (or a plain path), or `postgres://USER@HOST:PORT/DB`.
    pub url: String,
    /// SQLite: `full` (durable across power loss, the default) or `normal`.
    pub synchronous: String,
    /// SQLite: read-only connections beside the writer.
    pub read_connections: usize,
    /// PostgreSQL: connections per process for requests (the committer keeps one more).
    pub pool_size: usize,
    /// PostgreSQL: longest a statement may run before it is cancelled.
    pub statement_timeout_ms: u64,
    /// PostgreSQL: `on` (the default: durable at commit), `remote_apply`, `local` or `off`.
    pub synchronous_commit: String,
    /// PostgreSQL: longest a request waits for a connection before answering 503.
    pub connect_timeout_ms: u64,
    /// Commit the writes of concurrent commands together (one commit and fsync for a
    /// group: ADR 002 on SQLite, ADR 004 on PostgreSQL). Off, every command commits alone,
    /// which is slower and rules group commit out when a problem is looked for.
    pub group_commit: bool,
    /// How long delivered outbox messages and fired timers are kept before the hourly
    /// housekeeping deletes them (the events stay the record of what happened).
    pub done_work_retention_hours: u32,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            url: "sqlite://data/orderly.db".into(),
            synchronous: "full".into(),
            read_connections: 4,
            pool_size: 16,
            statement_timeout_ms: 5_000,
            synchronous_commit: "on".into(),
            connect_timeout_ms: 2_000,
            group_commit: true,
            done_work_retention_hours: 168,
        }
    }
}

/// Where the data lives, as named by `database.url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseTarget {
    Sqlite(PathBuf),
    Postgres(String),
}

impl DatabaseTarget {
    /// Parses `sqlite://PATH`, `sqlite:PATH`, a bare path, or a `postgres://` /
    /// `postgresql://` URL.
    pub fn parse(url: &str) -> anyhow::Result<DatabaseTarget> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DatabaseTarget::Postgres(url.to_owned()));
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        if path.is_empty() {
            bail!("the database URL names no file");
        }
        Ok(DatabaseTarget::Sqlite(PathBuf::from(path)))
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    pub max_lines_per_order: u32,
    pub max_quantity_per_line: u32,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_lines_per_order: 100,
            max_quantity_per_line: 1000,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IdempotencyConfig {
    /// How long a key's first response is kept for replay; at least 24 hours.
    pub retention_hours: u32,
}

impl Default for IdempotencyConfig {
    fn default() -> Self {
        IdempotencyConfig {
            retention_hours: 48,
        }
    }
}

/// Five minutes: the tolerance of the signatures' `webhook-timestamp` too.
const DEFAULT_EVENT_CLOCK_SKEW_SECONDS: u32 = 300;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PaymentsConfig {
    /// An order paid by card (or any provider method) is cancelled if still unpaid after this.
    pub card_ttl_minutes: u32,
    /// The same for bank transfers, which take days to arrive.
    pub bank_transfer_ttl_minutes: u32,
    /// How often the timer worker looks for due deadlines and operations to re-drive.
    pub worker_interval_ms: u64,
    pub simulator: SimulatorConfig,
    /// Active secrets (`whsec_…`, at most two during a rotation) per provider whose
    /// signed events `POST /api/v1/payment-events/{provider}` accepts.
    pub event_secrets: std::collections::BTreeMap<String, Vec<String>>,
    /// Minutes to wait before asking again for a capture the provider refused, one entry
    /// per retry; once they are used up the order stays on its `capture_failed` hold,
    /// in the payments exception queue, for finance.
    pub capture_retry_minutes: Vec<u32>,
    /// The same for refunds the provider refused (the refund stays `refund_failed`).
    pub refund_retry_minutes: Vec<u32>,
    /// How far ahead of our clock a provider event's `occurred_at` may be (its clock
    /// runs a little fast); later than that is refused, 1 to 86400.
    pub max_event_clock_skew_seconds: u32,
    /// The largest refund each role may ask for at once, in minor units of the order's
    /// currency or `"unlimited"`. A role not listed is limited only by its permission to
    /// refund; a larger refund goes to a role with the authority (finance).
    pub refund_limits: std::collections::BTreeMap<String, orderly_domain::returns::Limit>,
}

/// Retries after 15 minutes, 1, 4 and 12 hours, then a day: about 41 hours in all.
const RETRY_MINUTES: [u32; 5] = [15, 60, 240, 720, 1440];

impl Default for PaymentsConfig {
    fn default() -> Self {
        PaymentsConfig {
            card_ttl_minutes: 30,
            bank_transfer_ttl_minutes: 3 * 24 * 60,
            worker_interval_ms: 1000,
            simulator: SimulatorConfig::default(),
            event_secrets: std::collections::BTreeMap::new(),
            capture_retry_minutes: RETRY_MINUTES.to_vec(),
            refund_retry_minutes: RETRY_MINUTES.to_vec(),
            max_event_clock_skew_seconds: DEFAULT_EVENT_CLOCK_SKEW_SECONDS,
            refund_limits: std::collections::BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FulfillmentConfig {
    /// Minutes after confirmation before an order is released to the warehouse (an edit
    /// window for the customer); 0 releases at once.
    pub release_delay_minutes: u32,
    /// A shipment with no carrier scan for this long is flagged delayed.
    pub tracking_silence_hours: u32,
    /// How long an order may be edited: `until_picking` (the default: while no affected
    /// fulfillment order has started picking) or `until_release`.
    pub edit_window: orderly_domain::order::EditWindow,
    /// Active secrets (`whsec_…`, one or two during a rotation) that signed tracking
    /// events (`POST /api/v1/tracking-events`) must carry.
    pub tracking_event_secrets: Vec<String>,
    /// How far ahead of our clock a carrier scan's `occurred_at` may be; a scan dated
    /// later is refused, so a wrong clock cannot silence the delay watch. 1 to 86400.
    pub max_event_clock_skew_seconds: u32,
}

impl Default for FulfillmentConfig {
    fn default() -> Self {
        FulfillmentConfig {
            release_delay_minutes: 0,
            tracking_silence_hours: 48,
            edit_window: orderly_domain::order::EditWindow::UntilPicking,
            tracking_event_secrets: Vec::new(),
            max_event_clock_skew_seconds: DEFAULT_EVENT_CLOCK_SKEW_SECONDS,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddressConfig {
    pub line1: String,
    pub city: String,
    pub region: Option<String>,
    pub postal_code: String,
    pub country: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocationConfig {
    pub id: String,
    pub name: String,
    pub address: AddressConfig,
    pub latitude: f64,
    pub longitude: f64,
    #[serde(default = "yes")]
    pub can_ship: bool,
    /// Customers may collect orders here (click and collect).
    #[serde(default)]
    pub can_pickup: bool,
    /// Lower is preferred when distance does not decide.
    #[serde(default)]
    pub priority: u32,
    /// What handling a shipment costs here, for the `cheapest` sourcing strategy.
    #[serde(default)]
    pub handling_cost_minor: i64,
    /// Countries it ships to (ISO codes); empty: anywhere.
    #[serde(default)]
    pub ships_to: Vec<String>,
}

fn default_carriers() -> Vec<orderly_domain::carrier::Carrier> {
    use orderly_domain::carrier::{Carrier, Rate, Service, Zone};
    vec![Carrier {
        id: "local".into(),
        name: "Local".into(),
        services: vec![Service {
            id: "ground".into(),
            name: "Ground".into(),
            zones: vec![Zone {
                destinations: vec!["*".into()],
                transit_days: 5,
                rates: vec![Rate {
                    max_weight_grams: u32::MAX,
                    price_minor: 0,
                }],
            }],
        }],
    }]
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelConfig {
    pub id: String,
    pub name: String,
    /// Prefix of the channel's human order numbers, e.g. `WEB` for `WEB-1001`.
    pub number_prefix: String,
    pub currency: String,
    #[serde(default)]
    pub allow_backorders: bool,
    /// `on_authorization` (the default) or `on_shipment` (each shipment captures its share).
    #[serde(default = "capture_default")]
    pub capture: CaptureMode,
    /// `at_placement` (the default: stock is reserved when the order is captured) or
    /// `at_payment` (only once it is paid; an unpaid order holds no stock).
    #[serde(default)]
    pub reserve_stock: ReserveStock,
    /// How far the channel's line prices are trusted: `checked` (the default) against the
    /// catalog within `price_tolerance_percent`, `catalog` (the catalog's price replaces
    /// what was sent) or `as_sent` (a marketplace that sets its own prices).
    #[serde(default)]
    pub prices: PriceTrust,
    /// How far a checked price may differ from the catalog's, in whole percent (0-50).
    #[serde(default)]
    pub price_tolerance_percent: u8,
    /// Whether an order that totals nothing is accepted (off: refused with
    /// `free_order_not_allowed`).
    #[serde(default)]
    pub allow_free_orders: bool,
    /// Whether an edit that raises the total and is not paid at once holds the order
    /// (`balance_due`) until it is (on by default); off, the order ships and the balance
    /// stays owed and visible.
    #[serde(default = "yes")]
    pub balance_due_blocks_release: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReserveStock {
    #[default]
    AtPlacement,
    AtPayment,
}

fn capture_default() -> CaptureMode {
    CaptureMode::OnAuthorization
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeocodeConfig {
    pub country: String,
    pub region: Option<String>,
    pub latitude: f64,
    pub longitude: f64,
}

/// Top-level sections that environment variables may override.
const ENV_SECTIONS: [&str; 17] = [
    "sourcing",
    "carriers",
    "fulfillment",
    "server",
    "database",
    "limits",
    "idempotency",
    "payments",
    "risk",
    "calendar",
    "webhooks",
    "notifications",
    "cases",
    "exceptions",
    "console",
    "metrics",
    "kpis",
];

/// The `ORDERLY_*` variables that override configuration keys. `log` is matched only
/// with a nested key (`ORDERLY_LOG__FORMAT`), because `ORDERLY_LOG` is the log filter.
fn env_overrides() -> Env {
    Env::prefixed("ORDERLY_").split("__").filter(|key| {
        // The filter sees the key as the environment spells it (`SERVER.LISTEN`); figment
        // lowercases it only afterwards.
        let key = key.as_str().to_ascii_lowercase();
        ENV_SECTIONS.iter().any(|s| key.starts_with(s)) || key.starts_with("log.")
    })
}

/// The `log` section alone, read before anything else so that the first lines are already
/// in the chosen format: from the file (or the demo configuration) and the environment.
/// A file that does not load gives the defaults here; `Config::load` then reports why.
pub fn log_config(path: Option<&Path>, demo_toml: Option<&str>) -> LogConfig {
    let mut figment = Figment::new();
    if let Some(toml) = demo_toml {
        figment = figment.merge(Toml::string(toml));
    }
    if let Some(path) = path {
        figment = figment.merge(Toml::file(path));
    }
    figment
        .merge(env_overrides())
        .extract_inner::<LogConfig>("log")
        .unwrap_or_default()
}

impl Config {
    /// Loads `path` (or the built-in demo configuration when `demo_toml` is given) with
    /// `ORDERLY_*` overrides, then validates it.
    pub fn load(path: Option<&Path>, demo_toml: Option<&str>) -> anyhow::Result<Config> {
        let mut figment = Figment::new();
        if let Some(toml) = demo_toml {
            figment = figment.merge(Toml::string(toml));
        }
        if let Some(path) = path {
            if !path.exists() {
                bail!("configuration file {} does not exist", path.display());
            }
            figment = figment.merge(Toml::file(path));
        }
        let mut config: Config = figment.merge(env_overrides()).extract().map_err(|e| {
            let key = if e.path.is_empty() {
                String::from("(top level)")
            } else {
                e.path.join(".")
            };
            anyhow::anyhow!("invalid configuration at key `{key}`: {}", e.kind)
        })?;
        config.validate()?;
        config.returns.build();
        Ok(config)
    }

    /// The database named by `database.url`.
    pub fn database_target(&self) -> anyhow::Result<DatabaseTarget> {
        DatabaseTarget::parse(&self.database.url)
    }

    pub fn limits(&self) -> Limits {
        Limits {
            max_lines_per_order: self.limits.max_lines_per_order,
            max_quantity_per_line: self.limits.max_quantity_per_line,
        }
    }

    /// Whether `carrier/service` names a configured service.
    pub fn has_service(&self, name: &str) -> bool {
        name.split_once('/').is_some_and(|(carrier, service)| {
            self.carriers
                .iter()
                .any(|c| c.id == carrier && c.services.iter().any(|s| s.id == service))
        })
    }

    /// The return policy's versions, valid and ordered; None when none is configured
    /// (return requests are then refused with `returns_not_configured`).
    pub fn return_policies(&self) -> Option<&orderly_domain::returns::PolicyBook> {
        self.returns.book()
    }

    pub fn channel(&self, id: &str) -> Option<&ChannelConfig> {
        self.channels.iter().find(|c| c.id == id)
    }

    pub fn location_facts(&self) -> Vec<LocationFacts> {
        self.locations
            .iter()
            .map(|l| LocationFacts {
                id: Id::new(l.id.clone()),
                coords: LatLon {
                    latitude: l.latitude,
                    longitude: l.longitude,
                },
                can_ship: l.can_ship,
                can_pickup: l.can_pickup,
                priority: l.priority,
                handling_cost_minor: l.handling_cost_minor,
                ships_to: l.ships_to.clone(),
            })
            .collect()
    }

    /// Position of a ship-to address: its region if configured, else its country.
    pub fn geocode(&self, country: &str, region: Option<&str>) -> Option<LatLon> {
        let matches_region = |g: &&GeocodeConfig| {
            g.country.eq_ignore_ascii_case(country)
                && matches!((g.region.as_deref(), region), (Some(a), Some(b)) if a.eq_ignore_ascii_case(b))
        };
        let country_only =
            |g: &&GeocodeConfig| g.country.eq_ignore_ascii_case(country) && g.region.is_none();
        self.geocodes
            .iter()
            .find(matches_region)
            .or_else(|| self.geocodes.iter().find(country_only))
            .map(|g| LatLon {
                latitude: g.latitude,
                longitude: g.longitude,
            })
    }
}

#[cfg(test)]
mod returns_tests;
#[cfg(test)]
mod tests;
