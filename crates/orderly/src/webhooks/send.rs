//! One HTTP attempt at a delivery: the body exactly as stored (plus the consumer's
//! sequence number), signed the Standard Webhooks way with every active secret, under a
//! timeout, to an address the destination policy allows, with the start of the answer
//! kept for the delivery log. Whether the attempt counts as delivered is decided here
//! (a 2xx); what happens next (retry, dead letter) is the worker's.

use super::destination::Destinations;
use crate::config::WebhooksConfig;
use crate::providers::signature::{Secret, sign};
use anyhow::Context;
use orderly_store::ClaimedDelivery;
use reqwest::redirect::Policy;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What one attempt found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub delivered: bool,
    pub status: Option<u16>,
    pub latency_ms: i64,
    pub error: Option<String>,
    /// The start of the response body.
    pub body: Option<String>,
}

/// The HTTP side of deliveries, shared by every worker task.
#[derive(Clone)]
pub struct Sender {
    client: reqwest::Client,
    destinations: Destinations,
    body_limit: usize,
}

impl Sender {
    pub fn new(config: &WebhooksConfig, destinations: Destinations) -> anyhow::Result<Sender> {
        let redirects = if config.follow_redirects {
            let policy = destinations.clone();
            Policy::custom(move |attempt| {
                if attempt.previous().len() >= 5 {
                    attempt.error("more than 5 redirects")
                } else if let Some(ip) = policy.refused_literal(attempt.url()) {
                    attempt.error(format!("redirect to {ip}, which is not allowed"))
                } else {
                    // A named host is checked by the resolver when it is connected to.
                    attempt.follow()
                }
            })
        } else {
            Policy::none()
        };
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(config.timeout_ms))
            .connect_timeout(Duration::from_millis(config.timeout_ms))
            .redirect(redirects)
            .dns_resolver(Arc::new(destinations.clone()))
            .pool_max_idle_per_host(config.max_in_flight_per_endpoint)
            .user_agent(concat!("Orderly-Webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("cannot build the webhook HTTP client")?;
        Ok(Sender {
            client,
            destinations,
            body_limit: config.response_body_limit_bytes,
        })
    }

    /// The bytes a delivery sends: the stored event with the consumer's sequence number.
    pub fn body(d: &ClaimedDelivery) -> String {
        let rest = d.payload.strip_prefix('{').unwrap_or(&d.payload);
        format!("{{\"sequence\":{},{rest}", d.sequence)
    }

    /// Sends `d` once, signed at `timestamp` (unix seconds).
    pub async fn attempt(&self, d: &ClaimedDelivery, timestamp: i64) -> Attempt {
        let started = Instant::now();
        let failed = |error: String, started: Instant| Attempt {
            delivered: false,
            status: None,
            latency_ms: elapsed_ms(started),
            error: Some(error),
            body: None,
        };
        let url = match reqwest::Url::parse(&d.url) {
            Ok(url) => url,
            Err(e) => return failed(format!("the URL is not valid: {e}"), started),
        };
        if let Some(ip) = self.destinations.refused_literal(&url) {
            return failed(format!("{ip} is not an allowed destination"), started);
        }
        let body = Self::body(d);
        // The `webhook-id`: the event's id, the same on every retry and redelivery.
        let id = &d.event_id;
        let signatures: Vec<String> = d
            .secrets
            .iter()
            .filter_map(|s| Secret::parse(s).ok())
            .map(|s| sign(&s, id, timestamp, body.as_bytes()))
            .collect();
        let sent = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signatures.join(" "))
            .body(body)
            .send()
            .await;
        let mut response = match sent {
            Ok(r) => r,
            Err(e) => return failed(describe(&e), started),
        };
        let status = response.status();
        let location = response
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .map(str::to_owned);
        let mut kept: Vec<u8> = Vec::new();
        let mut read_error = None;
        while kept.len() < self.body_limit {
            match response.chunk().await {
                Ok(Some(chunk)) => kept.extend_from_slice(&chunk),
                Ok(None) => break,
                Err(e) => {
                    read_error = Some(describe(&e));
                    break;
                }
            }
        }
        kept.truncate(self.body_limit);
        let delivered = status.is_success();
        let error = if delivered {
            None
        } else if status.is_redirection() {
            Some(format!(
                "answered {} with a redirect to {}, which is not followed",
                status.as_u16(),
                location.as_deref().unwrap_or("(no location)")
            ))
        } else {
            Some(read_error.unwrap_or_else(|| format!("answered {}", status.as_u16())))
        };
        Attempt {
            delivered,
            status: Some(status.as_u16()),
            latency_ms: elapsed_ms(started),
            error,
            body: (!kept.is_empty()).then(|| String::from_utf8_lossy(&kept).into_owned()),
        }
    }

    /// The address policy deliveries are checked against (a subscription's URL is
    /// checked against the same one when it is saved).
    pub fn destinations(&self) -> &Destinations {
        &self.destinations
    }
}

fn elapsed_ms(started: Instant) -> i64 {
    i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX)
}

/// A transport error with its causes (the resolver's refusal is one), on one line.
fn describe(e: &reqwest::Error) -> String {
    let mut text = if e.is_timeout() {
        "timed out".to_owned()
    } else {
        e.to_string()
    };
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
