//! Support cases as rows. A case is an event stream of its own (`stream_type = 'case'`
//! in `events`); `cases` is its read model (the snapshot with the columns the queues
//! filter on: status, owner, group, the SLA clock's next due time), and
//! `case_contacts` counts every contact with the order it was about, so repeat
//! contacts per order come from one indexed count, never from replaying cases.
//!
//! `CasesTx` is the write side (part of `WriteTx`, whose `append_case` appends the
//! events and writes these rows in the command's transaction), `CaseReads` the read
//! side (part of `Reader`); both backends implement both in their `cases` module.

use crate::error::StoreError;
use jiff::Timestamp;
use orderly_domain::case::{Case, CaseStatus};

/// A case's row: the case and what the queues need beside it.
#[derive(Debug, Clone, Copy)]
pub struct CaseRow<'a> {
    pub case: &'a Case,
    /// The sales channel of the case's order, for channel-scoped keys (None: the case is
    /// about no order, and only keys of every channel see it).
    pub order_channel: Option<&'a str>,
    /// When the case's SLA clock is next due (first response, then resolution); None
    /// once resolved or without a target.
    pub due_at: Option<Timestamp>,
}

/// Which cases a list shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseQueue {
    /// Every case (with `CaseFilter::status`, any status).
    All,
    /// Active cases owned by this owner.
    Mine(String),
    /// Active cases without an owner.
    Unassigned,
    /// Active cases of this group.
    Group(String),
    /// Active cases whose SLA clock was due at or before this time.
    Breached(Timestamp),
}

#[derive(Debug, Clone)]
pub struct CaseFilter {
    pub queue: CaseQueue,
    /// Only cases in this status (the queues other than `All` hold active cases only).
    pub status: Option<CaseStatus>,
    /// Only cases opened at or before this time (the "older than" queues).
    pub opened_before: Option<Timestamp>,
    /// Only cases of orders in these channels (a channel-scoped key).
    pub channels: Option<Vec<String>>,
    /// The last row of the previous page: (opened at, id). Oldest first.
    pub after: Option<(Timestamp, String)>,
    pub limit: u32,
}

/// A case as listed, with its SLA clock's next due time.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseListed {
    pub case: Case,
    pub due_at: Option<Timestamp>,
}

/// How often customers got in touch about one order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ContactCounts {
    /// Every contact logged on any case of the order, either direction.
    pub contacts: u32,
    /// Contacts from the customer.
    pub inbound: u32,
    /// Contacts asking where the order is.
    pub order_status: u32,
    /// Cases about the order.
    pub cases: u32,
}

impl ContactCounts {
    /// The customer got in touch more than once about the order.
    pub fn repeat(&self) -> bool {
        self.inbound > 1
    }
}

/// A resolved case's cause with what its order went through, as reports group it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CauseFacts {
    pub root_cause: String,
    pub resolved_at: Timestamp,
    /// The order's sales channel (`none` for a case about no order).
    pub channel: String,
    pub locations: Vec<String>,
    pub carriers: Vec<String>,
    pub skus: Vec<String>,
}

/// What a root-cause report is grouped by, beside the cause.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CauseDimension {
    Channel,
    Location,
    Carrier,
    Sku,
}

impl CauseDimension {
    pub fn as_str(self) -> &'static str {
        match self {
            CauseDimension::Channel => "channel",
            CauseDimension::Location => "location",
            CauseDimension::Carrier => "carrier",
            CauseDimension::Sku => "sku",
        }
    }
}

/// One group of a report: cases resolved with `root_cause` whose order had `value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CauseCount {
    pub value: String,
    pub root_cause: String,
    pub cases: u64,
}

/// The rows a case's cause facts are stored as: (dimension, value), each once.
pub(crate) fn cause_rows(f: &CauseFacts) -> Vec<(&'static str, &str)> {
    let mut rows: Vec<(&'static str, &str)> = vec![("channel", f.channel.as_str())];
    for (dimension, values) in [
        ("location", &f.locations),
        ("carrier", &f.carriers),
        ("sku", &f.skus),
    ] {
        for v in values {
            if !rows.contains(&(dimension, v.as_str())) {
                rows.push((dimension, v.as_str()));
            }
        }
    }
    rows
}

/// The width of the time slots a period report is counted in (15 minutes: every time
/// zone's day starts on one), which the interface sums into local days, weeks, months.
pub const CAUSE_SLOT_MS: i64 = 15 * 60 * 1000;

/// The write side of cases.
pub trait CasesTx {
    /// The next case number, `CASE-1001` onwards, drawn in the command's transaction.
    fn next_case_number(&mut self) -> Result<String, StoreError>;
    /// The case's snapshot, for a decision.
    fn load_case(&mut self, id: &str) -> Result<Option<Case>, StoreError>;
    /// Inserts or replaces the case's row.
    fn save_case(&mut self, row: &CaseRow<'_>) -> Result<(), StoreError>;
    /// Records `case.contacts[from..]`, numbered from `from`.
    fn insert_case_contacts(&mut self, case: &Case, from: usize) -> Result<(), StoreError>;
    /// Replaces the case's cause facts (None: it is not resolved, and has none).
    fn save_case_causes(
        &mut self,
        case_id: &str,
        facts: Option<&CauseFacts>,
    ) -> Result<(), StoreError>;
}

/// The read side of cases.
pub trait CaseReads {
    /// A case by id or number.
    fn case(&mut self, id_or_number: &str) -> Result<Option<CaseListed>, StoreError>;
    /// A page of a queue, oldest first.
    fn cases(&mut self, f: &CaseFilter) -> Result<Vec<CaseListed>, StoreError>;
    /// Every case about an order, oldest first.
    fn cases_of_order(&mut self, order_id: &str) -> Result<Vec<CaseListed>, StoreError>;
    /// The latest `limit` cases of a customer (by any of their emails), newest first.
    fn cases_of_customer(
        &mut self,
        emails: &[String],
        limit: u32,
    ) -> Result<Vec<CaseListed>, StoreError>;
    /// Cases resolved in `range` ([from, to)) counted per (value of `dimension`, root cause);
    /// only cases of orders in `channels` when given.
    fn cause_counts(
        &mut self,
        dimension: CauseDimension,
        range: (Timestamp, Timestamp),
        channels: Option<&[String]>,
    ) -> Result<Vec<CauseCount>, StoreError>;
    /// Cases resolved in `range` counted per (slot, root cause): the slot's start
    /// (`CAUSE_SLOT_MS` wide) as `value`.
    fn cause_slots(
        &mut self,
        range: (Timestamp, Timestamp),
        channels: Option<&[String]>,
    ) -> Result<Vec<(Timestamp, String, u64)>, StoreError>;
    /// The contacts about an order, counted.
    fn order_contacts(&mut self, order_id: &str) -> Result<ContactCounts, StoreError>;
}
