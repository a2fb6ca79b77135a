//! Customers as rows. `customers` holds one row per normalised email, written in the
//! transaction of the order that first used it (and touched by every later order), so
//! a person has an id and is found by email, name or phone through an index. What
//! people decide about a customer is the customer's event stream (`stream_type =
//! 'customer'` in `events`) with `facts` as its snapshot. The profile itself (money,
//! returns, addresses) is not stored: it is derived from the orders on each read.
//!
//! `CustomersTx` is the write side (part of `WriteTx`), `CustomerReads` the read side
//! (part of `Reader`); both backends implement both in their `customers` module.

use crate::error::StoreError;
use jiff::Timestamp;
use orderly_domain::customer::CustomerFacts;
use orderly_domain::order::Order;

/// A customer as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerRecord {
    pub id: String,
    /// Normalised (lower case).
    pub email: String,
    /// As on the latest order that gave one.
    pub name: Option<String>,
    pub phone: Option<String>,
    pub first_order_at: Timestamp,
    pub last_order_at: Timestamp,
    pub facts: CustomerFacts,
}

/// What a customer list matches; each is a prefix served by an index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CustomerSearch {
    /// Every customer not merged into another, by id.
    All,
    /// Emails starting with this (normalised) text; merged records included, as an
    /// email still names its person.
    Email(String),
    /// Names (see `customer::name_key`) starting with this.
    Name(String),
    /// Phones ending with these digits (see `customer::phone_key`: given reversed).
    Phone(String),
}

#[derive(Debug, Clone)]
pub struct CustomerFilter {
    pub search: CustomerSearch,
    /// Only customers with an order in one of these channels (a channel-bound key).
    pub channels: Option<Vec<String>>,
    /// The last row of the previous page: (the search key, id).
    pub after: Option<(String, String)>,
    pub limit: u32,
}

/// The key a listed customer sorts by under `search` (the cursor's first half).
pub fn search_key(search: &CustomerSearch, c: &CustomerRecord) -> String {
    match search {
        CustomerSearch::All => c.id.clone(),
        CustomerSearch::Email(_) => c.email.clone(),
        CustomerSearch::Name(_) => {
            orderly_domain::customer::name_key(c.name.as_deref().unwrap_or_default())
        }
        CustomerSearch::Phone(_) => c
            .phone
            .as_deref()
            .and_then(orderly_domain::customer::phone_key)
            .unwrap_or_default(),
    }
}

/// The write side of customers.
pub trait CustomersTx {
    /// Creates the row of the order's email (its id from the order's), or brings its
    /// name, phone and last order time up to date. Called for every new order.
    fn note_customer(&mut self, order: &Order) -> Result<(), StoreError>;
    /// The customer's row, for a decision.
    fn load_customer(&mut self, id: &str) -> Result<Option<CustomerRecord>, StoreError>;
    /// Stores the stream's snapshot (and `merged_into` from it).
    fn save_customer_facts(&mut self, id: &str, facts: &CustomerFacts) -> Result<(), StoreError>;
}

/// The read side of customers.
pub trait CustomerReads {
    fn customer(&mut self, id: &str) -> Result<Option<CustomerRecord>, StoreError>;
    fn customer_by_email(&mut self, email: &str) -> Result<Option<CustomerRecord>, StoreError>;
    /// A page, ordered by the search key and then id.
    fn customers(&mut self, f: &CustomerFilter) -> Result<Vec<CustomerRecord>, StoreError>;
    /// The emails of the records merged into `id`.
    fn absorbed_emails(&mut self, id: &str) -> Result<Vec<String>, StoreError>;
}
