//! Reading customers, for every interface, authorized here once. A customer is read
//! with everything support needs in one look: the record (followed to its survivor if
//! it was merged), every email folded into it, its orders in the actor's channels,
//! its cases, and the profile derived from those orders.

use crate::app::App;
use crate::app::auth::{Permission, authorize, channel_scope, sees_channel};
use crate::app::error::AppError;
use orderly_domain::actor::Actor;
use orderly_domain::customer::{Profile, profile};
use orderly_domain::order::Order;
use orderly_store::{
    CaseListed, CustomerFilter, CustomerRecord, HistoryRow, OrderFilter, Reader, StoreError,
};

/// The most orders a profile reads (newest first); a customer with more says so.
pub const MAX_PROFILE_ORDERS: u32 = 1000;
/// The most cases a customer view lists.
const MAX_CASES: u32 = 100;
/// How many merges deep a record is followed, and how many records one gathers.
const MAX_MERGE_HOPS: usize = 8;
const MAX_RECORDS: usize = 64;

/// A customer as support reads it.
#[derive(Debug, Clone)]
pub struct CustomerDetail {
    pub record: CustomerRecord,
    /// The record's email first, then those of the records merged into it.
    pub emails: Vec<String>,
    /// Newest first, at most `MAX_PROFILE_ORDERS`.
    pub orders: Vec<Order>,
    /// More orders exist than were read.
    pub orders_truncated: bool,
    /// Newest first.
    pub cases: Vec<CaseListed>,
    pub profile: Profile,
}

/// The record `id_or_email` names, followed through merges to the one that stands.
fn standing(r: &mut dyn Reader, id_or_email: &str) -> Result<Option<CustomerRecord>, StoreError> {
    let mut found = if id_or_email.contains('@') {
        r.customer_by_email(&id_or_email.trim().to_lowercase())?
    } else {
        r.customer(id_or_email)?
    };
    for _ in 0..MAX_MERGE_HOPS {
        match found.as_ref().and_then(|c| c.facts.merged_into.clone()) {
            Some(into) => found = r.customer(into.as_str())?,
            None => break,
        }
    }
    Ok(found)
}

/// Every email of `record` and of the records merged into it, however deep.
fn emails_of(r: &mut dyn Reader, record: &CustomerRecord) -> Result<Vec<String>, StoreError> {
    let mut emails = vec![record.email.clone()];
    let mut ids = vec![record.id.clone()];
    let mut i = 0;
    while i < ids.len() && ids.len() < MAX_RECORDS {
        for email in r.absorbed_emails(&ids[i].clone())? {
            if let Some(c) = r.customer_by_email(&email)?
                && !ids.contains(&c.id)
            {
                ids.push(c.id);
                emails.push(email);
            }
        }
        i += 1;
    }
    Ok(emails)
}

impl App {
    /// The customer `id_or_email` names (a `cus_…` id or an email), with their orders,
    /// cases and profile. A key bound to channels sees a customer only through an order
    /// in them, and only those orders count.
    pub async fn customer(
        &self,
        actor: &Actor,
        id_or_email: String,
    ) -> Result<CustomerDetail, AppError> {
        authorize(actor, Permission::ReadCustomers)?;
        let channels = channel_scope(actor);
        let detail = self
            .store
            .read(move |r| {
                let Some(record) = standing(r, &id_or_email)? else {
                    return Ok(None);
                };
                let emails = emails_of(r, &record)?;
                let mut orders: Vec<Order> = Vec::new();
                for email in &emails {
                    orders.extend(r.orders(&OrderFilter {
                        email: Some(email.clone()),
                        channels: channels.clone(),
                        limit: MAX_PROFILE_ORDERS + 1,
                        ..OrderFilter::default()
                    })?);
                }
                orders.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
                let orders_truncated = orders.len() > MAX_PROFILE_ORDERS as usize;
                orders.truncate(MAX_PROFILE_ORDERS as usize);
                let cases = r.cases_of_customer(&emails, MAX_CASES)?;
                Ok(Some((record, emails, orders, orders_truncated, cases)))
            })
            .await?;
        let Some((record, emails, orders, orders_truncated, cases)) = detail else {
            return Err(AppError::NotFound("customer".into()));
        };
        if channel_scope(actor).is_some() && orders.is_empty() {
            return Err(AppError::NotFound("customer".into()));
        }
        let cases = if authorize(actor, Permission::ReadCases).is_ok() {
            cases
                .into_iter()
                .filter(|c| match (&c.case.order_channel, channel_scope(actor)) {
                    (_, None) => true,
                    (Some(ch), Some(_)) => sees_channel(actor, ch),
                    (None, Some(_)) => false,
                })
                .collect()
        } else {
            Vec::new()
        };
        let profile = profile(&orders, &record.facts);
        Ok(CustomerDetail {
            record,
            emails,
            orders,
            orders_truncated,
            cases,
            profile,
        })
    }

    /// A page of customers `filter` matches, in the actor's channels.
    pub async fn customers(
        &self,
        actor: &Actor,
        mut filter: CustomerFilter,
    ) -> Result<Vec<CustomerRecord>, AppError> {
        authorize(actor, Permission::ReadCustomers)?;
        filter.channels = channel_scope(actor);
        Ok(self.store.read(move |r| r.customers(&filter)).await?)
    }

    /// What people decided about the customer, oldest first, with who decided it.
    pub async fn customer_history(
        &self,
        actor: &Actor,
        id_or_email: String,
    ) -> Result<Vec<HistoryRow>, AppError> {
        let detail = self.customer(actor, id_or_email).await?;
        let id = detail.record.id;
        Ok(self.store.read(move |r| r.history(&id)).await?)
    }
}
