//! A case on the wire: its state, owner, SLA clock, links, root cause (and the one the
//! order's history suggested) and contact log.

use jiff::Timestamp;
use orderly_domain::case::Case;
use orderly_domain::time::rfc3339;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct CaseView {
    pub id: String,
    pub number: String,
    pub subject: String,
    /// `email`, `chat`, `phone` or `marketplace`.
    pub channel: String,
    /// `open`, `pending_customer`, `pending_internal`, `resolved` or `closed`.
    pub status: String,
    /// `low`, `normal`, `high` or `urgent`.
    pub priority: String,
    pub owner: Option<String>,
    pub group: Option<String>,
    pub order_id: Option<String>,
    pub customer_email: Option<String>,
    pub links: Vec<LinkOut>,
    pub root_cause: Option<String>,
    /// What the linked order went through suggests (`cases.suggestions`).
    pub suggested_root_cause: Option<String>,
    pub escalation_level: u32,
    /// When the SLA clock is next due: the first response, then the resolution (in
    /// business hours on the configured calendar); null once resolved.
    pub due_at: Option<String>,
    pub opened_at: String,
    pub first_response_at: Option<String>,
    pub resolved_at: Option<String>,
    pub closed_at: Option<String>,
    pub contacts: Vec<ContactOut>,
    pub version: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LinkOut {
    /// `order`, `return`, `shipment` or `customer`.
    pub kind: String,
    pub id: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ContactOut {
    pub channel: String,
    /// `inbound` (the customer) or `outbound` (support).
    pub direction: String,
    pub summary: String,
    /// The customer asked where their order is.
    pub order_status: bool,
    pub at: String,
}

pub fn case_view(c: &Case, due_at: Option<Timestamp>) -> CaseView {
    CaseView {
        id: c.id.to_string(),
        number: c.number.clone(),
        subject: c.subject.clone(),
        channel: c.channel.as_str().to_owned(),
        status: c.status.as_str().to_owned(),
        priority: c.priority.as_str().to_owned(),
        owner: c.owner.clone(),
        group: c.group.clone(),
        order_id: c.order_id.as_ref().map(|o| o.to_string()),
        customer_email: c.customer_email.clone(),
        links: c
            .links
            .iter()
            .map(|l| LinkOut {
                kind: l.kind.as_str().to_owned(),
                id: l.id.clone(),
            })
            .collect(),
        root_cause: c.root_cause.clone(),
        suggested_root_cause: c.suggested_root_cause.clone(),
        escalation_level: c.escalation_level,
        due_at: due_at.map(rfc3339),
        opened_at: rfc3339(c.opened_at),
        first_response_at: c.first_response_at.map(rfc3339),
        resolved_at: c.resolved_at.map(rfc3339),
        closed_at: c.closed_at.map(rfc3339),
        contacts: c
            .contacts
            .iter()
            .map(|k| ContactOut {
                channel: k.channel.as_str().to_owned(),
                direction: k.direction.as_str().to_owned(),
                summary: k.summary.clone(),
                order_status: k.order_status,
                at: rfc3339(k.at),
            })
            .collect(),
        version: c.version,
    }
}

/// The case view as JSON bytes (what a command answers, and its idempotent replay).
pub fn case_json(c: &Case, due_at: Option<Timestamp>) -> Vec<u8> {
    serde_json::to_vec(&case_view(c, due_at)).unwrap_or_default()
}
