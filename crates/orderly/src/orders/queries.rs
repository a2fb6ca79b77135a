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
    pub events: Vec<EventRow>,
    /// The customer messages about the order, oldest first.
    pub messages: Vec<orderly_store::MessageRow>,
    /// Key id to key name, for every key among the events' actors.
    pub key_names: HashMap<String, String>,
}

impl App {
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
                    .filter_map(|e| match &e.actor {
                        Actor::ApiKey { id, .. } => Some(id.clone()),
                        Actor::System { .. } => None,
                    })
                    .collect();
                keys.sort_unstable();
                keys.dedup();
                let key_names = r.api_key_names(&keys)?.into_iter().collect();
                let messages = r.messages(o.id.as_str())?;
                Ok(Some(OrderHistory {
                    events,
                    messages,
                    key_names,
                }))
            })
            .await?
            .ok_or(AppError::Order(OrderError::NotFound))
    }
}
