//! The `[notifications]` section: which public events send which customer message and
//! after what delay (`triggers`), the templates per channel and language (subject, text
//! and HTML, rendered with minijinja from the order's data), and the transport (the
//! database, the embedded default, or SMTP). Built-in English templates and triggers
//! ship in the binary (`notifications/defaults.toml`); configured templates replace the
//! built-in one of the same name, channel and language, and configured triggers replace
//! the built-in list.

pub use crate::notifications::render::Template;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotificationsConfig {
    /// Off: no customer message is made (webhooks still go out).
    pub enabled: bool,
    /// `database` (messages are stored, readable per order) or `smtp`.
    pub transport: Transport,
    /// The sender, e.g. `Orderly Store <orders@example.com>`.
    pub from: String,
    /// Where replies go, if not to `from`.
    pub reply_to: Option<String>,
    /// The shop's name and support address, for the templates.
    pub store_name: String,
    pub support_email: String,
    pub smtp: SmtpConfig,
    /// Seconds before each retry of a message that could not be sent; after the last it
    /// is dead-lettered into the `deliveries` exception queue.
    pub retry_schedule_seconds: Vec<u64>,
    /// The language of channels not named in `channel_languages`.
    pub default_language: String,
    /// Language per channel id, e.g. `{ marketplace = "de" }`.
    pub channel_languages: BTreeMap<String, String>,
    /// Tracking page per carrier id; `{tracking_number}` is replaced.
    pub tracking_urls: BTreeMap<String, String>,
    /// What a customer is told about when refunded money arrives, per method
    /// (`original_payment`, `store_credit`).
    pub refund_timing: BTreeMap<String, String>,
    /// None: the built-in triggers.
    pub triggers: Option<Vec<Trigger>>,
    /// Added to (and replacing by name, channel and language) the built-in templates.
    pub templates: Vec<Template>,
    /// Messages claimed per pass.
    pub batch_size: u32,
    /// How long a claimed message is this process's before another may take it; longer
    /// than a batch takes to send.
    pub lease_seconds: u64,
}

impl Default for NotificationsConfig {
    fn default() -> Self {
        NotificationsConfig {
            enabled: true,
            transport: Transport::Database,
            from: "Orderly Demo Store <orders@example.com>".into(),
            reply_to: None,
            store_name: "Orderly Demo Store".into(),
            support_email: "support@example.com".into(),
            smtp: SmtpConfig::default(),
            retry_schedule_seconds: vec![30, 300, 1800, 7200, 18000, 36000, 36000],
            default_language: "en".into(),
            channel_languages: BTreeMap::new(),
            tracking_urls: BTreeMap::from([(
                "local".to_owned(),
                "https://track.example.com/{tracking_number}".to_owned(),
            )]),
            refund_timing: BTreeMap::from([
                (
                    "original_payment".to_owned(),
                    "within 5-10 business days, depending on your bank".to_owned(),
                ),
                ("store_credit".to_owned(), "at once".to_owned()),
            ]),
            triggers: None,
            templates: Vec::new(),
            batch_size: 50,
            lease_seconds: 120,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transport {
    #[default]
    Database,
    Smtp,
}

impl Transport {
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Database => "database",
            Transport::Smtp => "smtp",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    /// `starttls` (the default: upgrade on the submission port), `tls` (implicit TLS,
    /// port 465) or `none` (a local relay only).
    pub security: SmtpSecurity,
    pub username: Option<String>,
    pub password: Option<String>,
    pub timeout_ms: u64,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        SmtpConfig {
            host: "127.0.0.1".into(),
            port: 587,
            security: SmtpSecurity::Starttls,
            username: None,
            password: None,
            timeout_ms: 10_000,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpSecurity {
    #[default]
    Starttls,
    Tls,
    None,
}

/// A public event that sends a message.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Trigger {
    /// A public event type, e.g. `shipment.shipped`.
    pub event: String,
    /// The template's name.
    pub template: String,
    /// Sent this long after the event (a follow-up days after delivery).
    #[serde(default)]
    pub delay_seconds: u64,
    /// `transactional` (about the order: always sent) or `follow_up` (marketing-like:
    /// not sent to customers who opted out, nor while a return of the order is open).
    #[serde(default)]
    pub category: Category,
    /// Only orders of these channels; absent: every channel.
    #[serde(default)]
    pub channels: Option<Vec<String>>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    #[default]
    Transactional,
    FollowUp,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Transactional => "transactional",
            Category::FollowUp => "follow_up",
        }
    }
}

/// The built-in templates and triggers.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Defaults {
    triggers: Vec<Trigger>,
    templates: Vec<Template>,
}

fn defaults() -> anyhow::Result<Defaults> {
    use figment::providers::{Format, Toml};
    figment::Figment::from(Toml::string(include_str!("../notifications/defaults.toml")))
        .extract()
        .map_err(|e| anyhow::anyhow!("the built-in notification templates do not load: {e}"))
}

impl NotificationsConfig {
    /// The triggers in force.
    pub fn triggers(&self) -> anyhow::Result<Vec<Trigger>> {
        Ok(match &self.triggers {
            Some(t) => t.clone(),
            None => defaults()?.triggers,
        })
    }

    /// Every template in force: the built-in ones, replaced or added to by the
    /// configured ones (matched by name, channel and language).
    pub fn templates(&self) -> anyhow::Result<Vec<Template>> {
        let mut all = defaults()?.templates;
        for t in &self.templates {
            all.retain(|d| {
                (&d.name, &d.channel, &d.language) != (&t.name, &t.channel, &t.language)
            });
            all.push(t.clone());
        }
        Ok(all)
    }

    /// The language of a channel's messages.
    pub fn language_of(&self, channel: &str) -> &str {
        self.channel_languages
            .get(channel)
            .map_or(self.default_language.as_str(), String::as_str)
    }

    /// Every problem with the section as `key: message`.
    pub(super) fn problems(&self, channels: &[&str]) -> Vec<String> {
        let mut problems = Vec::new();
        let templates = match self.templates() {
            Ok(t) => t,
            Err(e) => return vec![format!("notifications.templates: {e}")],
        };
        let triggers = match self.triggers() {
            Ok(t) => t,
            Err(e) => return vec![format!("notifications.triggers: {e}")],
        };
        let mut seen = std::collections::HashSet::new();
        for (i, t) in triggers.iter().enumerate() {
            if !orderly_domain::order::OUTWARD_TYPES.contains(&t.event.as_str()) {
                problems.push(format!(
                    "notifications.triggers[{i}].event: {:?} is not an event type",
                    t.event
                ));
            }
            if !templates.iter().any(|x| x.name == t.template) {
                problems.push(format!(
                    "notifications.triggers[{i}].template: no template is named {:?}",
                    t.template
                ));
            }
            if !seen.insert((t.event.as_str(), t.template.as_str())) {
                problems.push(format!(
                    "notifications.triggers[{i}]: {} already sends {}",
                    t.event, t.template
                ));
            }
            for c in t.channels.iter().flatten() {
                if !channels.contains(&c.as_str()) {
                    problems.push(format!(
                        "notifications.triggers[{i}].channels: no channel {c:?} is configured"
                    ));
                }
            }
        }
        if let Err(e) = crate::notifications::render::Renderer::new(&templates) {
            problems.push(format!("notifications.templates: {e}"));
        }
        for (i, t) in templates.iter().enumerate() {
            if let Some(c) = &t.channel
                && !channels.contains(&c.as_str())
            {
                problems.push(format!(
                    "notifications.templates[{i}].channel: no channel {c:?} is configured"
                ));
            }
        }
        for channel in self.channel_languages.keys() {
            if !channels.contains(&channel.as_str()) {
                problems.push(format!(
                    "notifications.channel_languages.{channel}: no such channel is configured"
                ));
            }
        }
        if self.from.parse::<lettre::message::Mailbox>().is_err() {
            problems.push(format!(
                "notifications.from: {:?} is not a mailbox such as Shop <orders@example.com>",
                self.from
            ));
        }
        if self.batch_size == 0 {
            problems.push("notifications.batch_size: must be positive".into());
        }
        problems
    }
}
