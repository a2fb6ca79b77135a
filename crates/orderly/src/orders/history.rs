//! One order's story for every interface: its events, the customer messages they sent
//! and, for the console, the events of its support cases, each with a sentence a person
//! can read, who acted (by name), and the strand it belongs to so a reader can filter
//! (payment, fulfilment, return, edit, case, note, notification). The JSON timeline and
//! the console's order page are both made from this list.

use crate::app::App;
use crate::app::auth::{Permission, authorize};
use crate::app::error::AppError;
use crate::orders::queries::OrderHistory;
use jiff::Timestamp;
use orderly_domain::actor::Actor;
use orderly_domain::case::{Case, CaseEvent};
use orderly_domain::order::{Order, OrderEvent, evolve};
use orderly_store::{HistoryRow, MessageRow};

/// What part of an order's life an entry is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Strand {
    Order,
    Payment,
    Fulfillment,
    Return,
    Edit,
    Case,
    Note,
    Notification,
}

impl Strand {
    pub const ALL: [Strand; 8] = [
        Strand::Order,
        Strand::Payment,
        Strand::Fulfillment,
        Strand::Return,
        Strand::Edit,
        Strand::Case,
        Strand::Note,
        Strand::Notification,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Strand::Order => "order",
            Strand::Payment => "payment",
            Strand::Fulfillment => "fulfillment",
            Strand::Return => "return",
            Strand::Edit => "edit",
            Strand::Case => "case",
            Strand::Note => "note",
            Strand::Notification => "notification",
        }
    }

    pub fn parse(s: &str) -> Option<Strand> {
        Strand::ALL.into_iter().find(|k| k.as_str() == s)
    }

    fn of(event: &OrderEvent) -> Strand {
        use OrderEvent::*;
        match event {
            PaymentDeadlineSet { .. }
            | PaymentDeadlineCleared { .. }
            | PaymentAdded(_)
            | PaymentOpRequested(_)
            | PaymentOpSucceeded(_)
            | PaymentOpFailed(_)
            | AuthorizationExpired { .. }
            | RefundRequested(_) => Strand::Payment,
            FulfillmentReleased(_)
            | PickConfirmed(_)
            | PackageCreated(_)
            | PackageShipped(_)
            | TrackingRecorded(_)
            | ShipmentDelayed(_)
            | BackorderFilled(_)
            | FulfillmentRejected(_) => Strand::Fulfillment,
            ReturnRequested(_)
            | ReturnReviewed(_)
            | ReturnLabelIssued(_)
            | ReturnExchangePlaced(_)
            | ReturnTracked(_)
            | ReturnReceived(_)
            | ReturnInspected(_)
            | ReturnResolved(_)
            | ReturnCompleted { .. }
            | ReturnCancelled(_)
            | ReturnExpired(_) => Strand::Return,
            EditBegun(_)
            | EditStaged(_)
            | EditAbandoned(_)
            | OrderEdited(_)
            | CancellationRequested(_)
            | CancellationAnswered(_) => Strand::Edit,
            NoteAdded(_) | TagsChanged(_) => Strand::Note,
            _ => Strand::Order,
        }
    }
}

/// One line of the story.
#[derive(Debug, Clone)]
pub struct Entry {
    pub at: Timestamp,
    pub strand: Strand,
    /// The event's stored name (`refund_requested`, `case_resolved`, `message`).
    pub kind: String,
    /// The order version it follows (a case's event: the order's version at its time).
    pub version: u64,
    /// Stable id of the actor, e.g. `api_key:key_…`, `user:usr_…`, `system:timers`.
    pub actor: String,
    /// Who it was, for a person: `support user 'Ana Diaz'`.
    pub actor_name: String,
    pub summary: String,
    pub correlation_id: String,
    pub data: serde_json::Value,
}

impl App {
    /// The order's story, oldest first: its events, each message after the event that
    /// sent it, and (`with_cases`, for a role that reads cases) its cases' events by time.
    pub async fn order_story(
        &self,
        actor: &Actor,
        id_or_number: String,
        with_cases: bool,
    ) -> Result<Vec<Entry>, AppError> {
        let with_cases = with_cases && authorize(actor, Permission::ReadCases).is_ok();
        let history = self.order_history(actor, id_or_number).await?;
        let cases = if with_cases {
            let id = history.order_id.clone();
            self.store
                .read(move |r| {
                    let mut out = Vec::new();
                    for c in r.cases_of_order(&id)? {
                        let events = r.history(c.case.id.as_str())?;
                        out.push((c.case, events));
                    }
                    Ok(out)
                })
                .await?
        } else {
            Vec::new()
        };
        Ok(story(history, cases))
    }
}

fn story(history: OrderHistory, cases: Vec<(Case, Vec<HistoryRow>)>) -> Vec<Entry> {
    let OrderHistory {
        events,
        messages,
        key_names,
        ..
    } = history;
    let name_of = |a: &Actor| {
        a.describe(
            a.named_id()
                .and_then(|id| key_names.get(id))
                .map(String::as_str),
        )
    };
    // Summaries that need the order as it stood before their event (which SKU a line
    // is, the currency, what a re-source was for) get it by folding the stream here.
    let mut state: Option<Order> = None;
    let mut out = Vec::with_capacity(events.len() + messages.len());
    let mut versions: Vec<(Timestamp, u64)> = Vec::with_capacity(events.len());
    for e in events {
        versions.push((e.at, e.version));
        out.push(Entry {
            at: e.at,
            strand: Strand::of(&e.event),
            kind: e.event.kind().to_owned(),
            version: e.version,
            actor: e.actor.label(),
            actor_name: name_of(&e.actor),
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
        out.push(message_entry(m, version));
    }
    for (case, rows) in cases {
        for row in rows {
            // The order's events are in time order: the last one at or before the row.
            let before = versions.partition_point(|(at, _)| *at <= row.at);
            let version = before.checked_sub(1).map_or(0, |i| versions[i].1);
            out.push(case_entry(&case, row, version, &name_of));
        }
    }
    out.sort_by_key(|e| (e.version, e.at));
    out
}

/// The order version a public event id (`evt_<order>_<version>[_<n>]`) names.
fn event_version(event_id: &str) -> Option<u64> {
    event_id.split('_').nth(2)?.parse().ok()
}

fn case_entry(
    case: &Case,
    row: HistoryRow,
    version: u64,
    name_of: &dyn Fn(&Actor) -> String,
) -> Entry {
    let mut data = row.data;
    if let Some(obj) = data.as_object_mut() {
        obj.entry("type")
            .or_insert_with(|| serde_json::Value::String(row.kind.clone()));
    }
    let summary = serde_json::from_value::<CaseEvent>(data.clone()).map_or_else(
        |_| format!("Case {}: {}", case.number, row.kind.replace('_', " ")),
        |e| e.summary(case),
    );
    Entry {
        at: row.at,
        strand: Strand::Case,
        kind: row.kind,
        version,
        actor: row.actor.label(),
        actor_name: name_of(&row.actor),
        summary,
        correlation_id: row.correlation_id,
        data,
    }
}

fn message_entry(m: MessageRow, version: u64) -> Entry {
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
    Entry {
        at: m.sent_at.unwrap_or(m.created_at),
        strand: Strand::Notification,
        kind: "message".into(),
        version,
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
