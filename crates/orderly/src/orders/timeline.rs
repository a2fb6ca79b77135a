//! `GET /orders/{id}/timeline`: every event of an order, oldest first, each with a
//! sentence a person can read (folded against the order as it stood before the event)
//! and the actor by role and name beside its stable id.

use crate::app::AppState;
use crate::app::auth::Principal;
use crate::http::problem::{ApiError, Problem};
use crate::orders::queries::OrderHistory;
use axum::Json;
use axum::extract::{Path, State};
use orderly_domain::actor::Actor;
use orderly_domain::order::{Order, evolve};
use orderly_domain::time::rfc3339;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct TimelineEntry {
    pub version: u64,
    #[serde(rename = "type")]
    pub type_: String,
    pub at: String,
    /// The actor's stable id for machines, e.g. `api_key:key_…` or `system:demo`.
    pub actor: String,
    /// Who it was, for a person: the key's role and name (`integration key
    /// 'storefront'`) or the part of the system (`system (timers)`).
    #[schema(example = "integration key 'storefront'")]
    pub actor_name: String,
    /// What happened and why, in one sentence, with money as money (`USD 15.00`).
    pub summary: String,
    pub correlation_id: String,
    /// The event's full payload.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Timeline {
    pub data: Vec<TimelineEntry>,
}

/// Every event of an order, oldest first, each with a one-line summary.
#[utoipa::path(get, path = "/api/v1/orders/{id}/timeline", tag = "orders",
    params(("id" = String, Path, description = "Order id or number")),
    responses((status = 200, body = Timeline), (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn timeline(
    State(app): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<Timeline>, ApiError> {
    let OrderHistory {
        events,
        messages,
        key_names,
    } = app.order_history(&principal.actor(), id).await?;
    // Summaries that need the order as it stood before their event (which SKU a line
    // is, the currency, what a re-source was for) get it by folding the stream here.
    let mut state: Option<Order> = None;
    let mut data = Vec::with_capacity(events.len());
    for e in events {
        let key_name = match &e.actor {
            Actor::ApiKey { id, .. } => key_names.get(id).map(String::as_str),
            Actor::System { .. } => None,
        };
        data.push(TimelineEntry {
            version: e.version,
            type_: e.event.kind().to_owned(),
            at: rfc3339(e.at),
            actor: e.actor.label(),
            actor_name: e.actor.describe(key_name),
            summary: e.event.summary(state.as_ref()),
            correlation_id: e.correlation_id.clone(),
            data: serde_json::to_value(&e.event)
                .ok()
                .and_then(|v| v.get("data").cloned())
                .unwrap_or_default(),
        });
        state = evolve(state, &e.event, e.at, e.version).ok();
    }
    // Each customer message follows the event that sent it (a resend by hand follows
    // the same event), with its delivery status.
    for m in messages {
        let version = m.event_id.as_deref().and_then(event_version).unwrap_or(0);
        data.push(message_entry(m, version));
    }
    data.sort_by_key(|e| e.version);
    Ok(Json(Timeline { data }))
}

/// The order version a public event id (`evt_<order>_<version>[_<n>]`) names.
fn event_version(event_id: &str) -> Option<u64> {
    event_id.split('_').nth(2)?.parse().ok()
}

fn message_entry(m: orderly_store::MessageRow, version: u64) -> TimelineEntry {
    let status = match (m.status.as_str(), &m.last_error) {
        ("sent", _) => format!("sent by {}", m.transport),
        ("pending", None) => "waiting to be sent".to_owned(),
        ("pending", Some(e)) => format!("not sent yet ({e}); retried"),
        ("suppressed", e) => e.clone().unwrap_or_else(|| "held back".into()),
        (other, e) => format!("{other}: {}", e.as_deref().unwrap_or("gave up")),
    };
    let what = match &m.resend_of {
        Some(original) => format!("{} (resending {original})", m.template),
        None => m.template.clone(),
    };
    TimelineEntry {
        version,
        type_: "message".into(),
        at: rfc3339(m.sent_at.unwrap_or(m.created_at)),
        actor: m.created_by.clone(),
        actor_name: m.created_by.clone(),
        summary: format!("Message {what} to {}: {status}.", m.recipient),
        correlation_id: m.event_id.clone().unwrap_or_default(),
        data: serde_json::json!({
            "message_id": m.id, "template": m.template, "status": m.status,
            "transport": m.transport, "recipient": m.recipient,
            "subject": m.content.as_ref().map(|c| c.subject.clone()),
        }),
    }
}
