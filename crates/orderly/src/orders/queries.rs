//! Reading orders, for every interface. Each read is authorized here, once, as commands
//! are in the runner, so the API, the console and the CLI show the same orders to the
//! same roles; the handlers only turn the answer into their own view.

use crate::app::App;
use crate::app::auth::{Permission, authorize, channel_scope, in_scope, sees_channel};
use crate::app::error::AppError;
use orderly_domain::actor::Actor;
use orderly_domain::order::{Order, OrderError};
use orderly_store::{EventRow, OrderFilter};
use std::collections::HashMap;

/// An order's events, oldest first, with the names of the keys that acted on it.
pub struct OrderHistory {
    pub order_id: String,
    pub events: Vec<EventRow>,
    /// The customer messages about the order, oldest first.
    pub messages: Vec<orderly_store::MessageRow>,
    /// Key or user id to its name, for every key and user among the events' actors.
    pub key_names: HashMap<String, String>,
}

/// What support can tell the customer about an order, with what is open on it.
pub struct SupportSummary {
    pub order: Order,
    pub advice: Vec<orderly_domain::order::Advice>,
    /// Open exception entries of the order, oldest first (empty for a role that may not
    /// read the queues).
    pub exceptions: Vec<orderly_store::ExceptionRow>,
    /// The order's active cases, oldest first (empty for a role that may not read them).
    pub cases: Vec<orderly_store::CaseListed>,
    pub contacts: orderly_store::ContactCounts,
}

impl App {
    /// "What should the customer hear next?": the order's derived advice (a refund's
    /// sentence ends with when the money arrives, from `notifications.refund_timing`),
    /// its open exceptions and active cases, and how often the customer got in touch.
    pub async fn support_summary(
        &self,
        actor: &Actor,
        id_or_number: String,
    ) -> Result<SupportSummary, AppError> {
        let order = self.order(actor, id_or_number).await?;
        let mut advice = orderly_domain::order::advice_for(&order);
        for a in advice
            .iter_mut()
            .filter(|a| a.topic == orderly_domain::order::Topic::Refund)
        {
            let Some(refund) = order
                .refunds
                .iter()
                .find(|r| Some(r.id.as_str()) == a.subject.as_deref())
            else {
                continue;
            };
            let failed =
                order.refund_status(refund) == orderly_domain::payment::RefundStatus::RefundFailed;
            if let Some(timing) = self
                .config
                .notifications
                .refund_timing
                .get(refund.method.as_str())
                && !failed
            {
                a.text = format!("{}; it arrives {timing}", a.text);
            }
        }
        let id = order.id.to_string();
        let exceptions = if authorize(actor, Permission::ReadExceptions).is_ok() {
            let filter = orderly_store::ExceptionFilter {
                order_id: Some(id.clone()),
                open: Some(true),
                limit: 200,
                ..Default::default()
            };
            self.exceptions(actor, filter).await?
        } else {
            Vec::new()
        };
        let (contacts, cases) = if authorize(actor, Permission::ReadCases).is_ok() {
            let (contacts, cases) = self
                .store
                .read(move |r| Ok((r.order_contacts(&id)?, r.cases_of_order(&id)?)))
                .await?;
            let active = cases
                .into_iter()
                .filter(|c| c.case.status.is_active())
                .collect();
            (contacts, active)
        } else {
            (orderly_store::ContactCounts::default(), Vec::new())
        };
        Ok(SupportSummary {
            order,
            advice,
            exceptions,
            cases,
            contacts,
        })
    }

    /// One order by id or human number.
    pub async fn order(&self, actor: &Actor, id_or_number: String) -> Result<Order, AppError> {
        authorize(actor, Permission::ReadOrders)?;
        let order = self
            .store
            .read(move |r| r.order(&id_or_number))
            .await?
            .ok_or(AppError::Order(OrderError::NotFound))?;
        in_scope(actor, &order)?;
        Ok(order)
    }

    /// The orders `filter` matches, newest first, among the channels `actor` may see.
    pub async fn orders(
        &self,
        actor: &Actor,
        mut filter: OrderFilter,
    ) -> Result<Vec<Order>, AppError> {
        authorize(actor, Permission::ReadOrders)?;
        if filter
            .channel
            .as_deref()
            .is_some_and(|c| !sees_channel(actor, c))
        {
            return Ok(Vec::new());
        }
        filter.channels = channel_scope(actor);
        Ok(self.store.read(move |r| r.orders(&filter)).await?)
    }

    /// Every event of one order, with who acted by name.
    pub async fn order_history(
        &self,
        actor: &Actor,
        id_or_number: String,
    ) -> Result<OrderHistory, AppError> {
        authorize(actor, Permission::ReadOrders)?;
        let scope = actor.clone();
        self.store
            .read(move |r| {
                let Some(o) = r.order(&id_or_number)? else {
                    return Ok(None);
                };
                if !sees_channel(&scope, o.channel.as_str()) {
                    return Ok(None);
                }
                let events = r.events(o.id.as_str())?;
                let mut keys: Vec<String> = events
                    .iter()
                    .filter_map(|e| e.actor.named_id().map(str::to_owned))
                    .collect();
                keys.sort_unstable();
                keys.dedup();
                let mut key_names: HashMap<String, String> =
                    r.api_key_names(&keys)?.into_iter().collect();
                key_names.extend(r.user_names(&keys)?);
                let messages = r.messages(o.id.as_str())?;
                Ok(Some(OrderHistory {
                    order_id: o.id.to_string(),
                    events,
                    messages,
                    key_names,
                }))
            })
            .await?
            .ok_or(AppError::Order(OrderError::NotFound))
    }
}
