//! A customer on the wire: the record and what people decided about it (what a command
//! answers), and the full view support reads: profile, money per currency, return
//! rate, flags with their reasons, and the latest orders, returns and cases.

use crate::customers::queries::CustomerDetail;
use crate::orders::view::{AddressDto, address_out};
use orderly_domain::customer::{CustomerFacts, FlagMark};
use orderly_domain::time::rfc3339;
use orderly_store::CustomerRecord;
use serde::Serialize;
use utoipa::ToSchema;

/// How many orders, returns and cases the view lists (the profile counts them all).
const LISTED: usize = 20;

#[derive(Debug, Serialize, ToSchema)]
pub struct FlagOut {
    /// `vip`, `fraud_review` or `serial_returner`.
    pub flag: String,
    pub reason: String,
    /// Who set it: an actor, or what raised it (`return policy …`, `order hold`).
    pub by: String,
    pub at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerNoteOut {
    pub text: String,
    pub author: String,
    pub at: String,
}

/// A customer's record and decided facts: what a command on a customer answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerRecordView {
    /// `cus_…`.
    pub id: String,
    pub email: String,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub first_order_at: String,
    pub last_order_at: String,
    /// Flags set by people (the full view adds those the history raises).
    pub flags: Vec<FlagOut>,
    pub notes: Vec<CustomerNoteOut>,
    /// Records merged into this one.
    pub merged_from: Vec<String>,
    /// The record this one was merged into (reads of this id answer with that one).
    pub merged_into: Option<String>,
    /// Decisions on the customer's stream.
    pub version: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SpendOut {
    pub currency: String,
    /// Totals of orders not cancelled, minor units.
    pub ordered: i64,
    pub captured: i64,
    pub refunded: i64,
    /// Captured minus refunded.
    pub lifetime_value: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerOrderOut {
    pub id: String,
    pub number: String,
    pub channel: String,
    pub status: String,
    pub currency: String,
    pub total: i64,
    pub created_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerReturnOut {
    pub id: String,
    pub rma: String,
    pub order_id: String,
    pub order_number: String,
    pub status: String,
    pub reason: String,
    pub requested_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerCaseOut {
    pub id: String,
    pub number: String,
    pub subject: String,
    pub status: String,
    pub priority: String,
    pub root_cause: Option<String>,
    pub opened_at: String,
}

/// A customer as support reads it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerView {
    #[serde(flatten)]
    pub record: CustomerRecordView,
    /// The record's email, then those of records merged into it.
    pub emails: Vec<String>,
    pub orders_count: u32,
    /// More orders exist than the profile read (it counts the newest 1,000).
    pub orders_truncated: bool,
    /// Per currency (sums across currencies mean nothing).
    pub spend: Vec<SpendOut>,
    pub cancelled_orders: u32,
    /// Refunds that went through.
    pub refunds: u32,
    pub returns_count: u32,
    pub shipped_units: u32,
    /// Units asked back or returned.
    pub returned_units: u32,
    /// Returned units per hundred shipped, one decimal; null before anything shipped.
    pub return_rate_percent: Option<f64>,
    /// Distinct addresses, most recently used first.
    pub addresses: Vec<AddressDto>,
    /// The latest orders, newest first.
    pub orders: Vec<CustomerOrderOut>,
    pub returns: Vec<CustomerReturnOut>,
    pub cases: Vec<CustomerCaseOut>,
}

fn flag_out(f: &FlagMark) -> FlagOut {
    FlagOut {
        flag: f.flag.as_str().to_owned(),
        reason: f.reason.clone(),
        by: f.by.clone(),
        at: rfc3339(f.at),
    }
}

pub fn record_view(c: &CustomerRecord, facts: &CustomerFacts) -> CustomerRecordView {
    CustomerRecordView {
        id: c.id.clone(),
        email: c.email.clone(),
        name: c.name.clone(),
        phone: c.phone.clone(),
        first_order_at: rfc3339(c.first_order_at),
        last_order_at: rfc3339(c.last_order_at),
        flags: facts.flags.iter().map(flag_out).collect(),
        notes: facts
            .notes
            .iter()
            .map(|n| CustomerNoteOut {
                text: n.text.clone(),
                author: n.author.clone(),
                at: rfc3339(n.at),
            })
            .collect(),
        merged_from: facts.absorbed.iter().map(|i| i.to_string()).collect(),
        merged_into: facts.merged_into.as_ref().map(|i| i.to_string()),
        version: facts.version,
    }
}

/// The record view as JSON bytes (what a command answers, and its idempotent replay).
pub fn record_json(c: &CustomerRecord, facts: &CustomerFacts) -> Vec<u8> {
    serde_json::to_vec(&record_view(c, facts)).unwrap_or_default()
}

pub fn customer_view(d: &CustomerDetail) -> CustomerView {
    let p = &d.profile;
    let mut record = record_view(&d.record, &d.record.facts);
    record.flags = p.flags.iter().map(flag_out).collect();
    let mut returns: Vec<CustomerReturnOut> = d
        .orders
        .iter()
        .flat_map(|o| {
            o.returns.iter().map(move |r| CustomerReturnOut {
                id: r.id.to_string(),
                rma: r.rma.clone(),
                order_id: o.id.to_string(),
                order_number: o.number.clone(),
                status: r.status(o).as_str().to_owned(),
                reason: r.reason.clone(),
                requested_at: rfc3339(r.requested_at),
            })
        })
        .collect();
    returns.sort_by(|a, b| b.requested_at.cmp(&a.requested_at));
    returns.truncate(LISTED);
    CustomerView {
        record,
        emails: d.emails.clone(),
        orders_count: p.orders,
        orders_truncated: d.orders_truncated,
        spend: p
            .spend
            .iter()
            .map(|s| SpendOut {
                currency: s.currency.clone(),
                ordered: s.ordered_minor,
                captured: s.captured_minor,
                refunded: s.refunded_minor,
                lifetime_value: s.lifetime_value_minor(),
            })
            .collect(),
        cancelled_orders: p.cancelled_orders,
        refunds: p.refunds,
        returns_count: p.returns,
        shipped_units: p.shipped_units,
        returned_units: p.returned_units,
        return_rate_percent: p.return_rate_per_mille().map(|m| f64::from(m) / 10.0),
        addresses: p.addresses.iter().map(address_out).collect(),
        orders: d
            .orders
            .iter()
            .take(LISTED)
            .map(|o| CustomerOrderOut {
                id: o.id.to_string(),
                number: o.number.clone(),
                channel: o.channel.to_string(),
                status: o.customer_status().as_str().to_owned(),
                currency: o.currency.to_string(),
                total: o.total(),
                created_at: rfc3339(o.created_at),
            })
            .collect(),
        returns,
        cases: d
            .cases
            .iter()
            .take(LISTED)
            .map(|c| CustomerCaseOut {
                id: c.case.id.to_string(),
                number: c.case.number.clone(),
                subject: c.case.subject.clone(),
                status: c.case.status.as_str().to_owned(),
                priority: c.case.priority.as_str().to_owned(),
                root_cause: c.case.root_cause.clone(),
                opened_at: rfc3339(c.case.opened_at),
            })
            .collect(),
    }
}
