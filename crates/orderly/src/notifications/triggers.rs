//! Which messages a fan-out makes: one per configured trigger whose event type (and
//! channel, if it names some) matches a public event, to the order's customer, due after
//! the trigger's delay. When one order event stands for several public types (a parcel
//! of an exchange is `shipment.shipped` and `exchange.shipped`), only the most specific
//! type with triggers sends, so the customer gets one message about one fact.

use crate::app::clock::IdSource;
use crate::config::notifications::{NotificationsConfig, Trigger};
use jiff::{SignedDuration, Timestamp};
use orderly_domain::order::Order;
use orderly_store::{FeedEntry, NewMessage};
use std::collections::BTreeMap;

pub fn plan_messages(
    triggers: &[Trigger],
    config: &NotificationsConfig,
    entries: &[FeedEntry],
    orders: &BTreeMap<String, Order>,
    ids: &dyn IdSource,
) -> Vec<NewMessage> {
    if !config.enabled {
        return Vec::new();
    }
    let matching = |e: &FeedEntry| -> Vec<&Trigger> {
        triggers
            .iter()
            .filter(|t| {
                t.event == e.event_type
                    && t.channels
                        .as_ref()
                        .is_none_or(|c| c.iter().any(|x| x == &e.channel))
            })
            .collect()
    };
    // Per order event (order, version), the last public type that has triggers.
    let mut chosen: BTreeMap<(&str, u64), &FeedEntry> = BTreeMap::new();
    for e in entries.iter().filter(|e| !matching(e).is_empty()) {
        chosen.insert((e.order_id.as_str(), e.version), e);
    }
    let mut out = Vec::new();
    for e in chosen.into_values() {
        let Some(order) = orders.get(&e.order_id) else {
            continue;
        };
        for t in matching(e) {
            let delay =
                SignedDuration::from_secs(i64::try_from(t.delay_seconds).unwrap_or(i64::MAX));
            out.push(NewMessage {
                id: ids.new_id("msg"),
                order_id: e.order_id.clone(),
                template: t.template.clone(),
                category: t.category.as_str().into(),
                recipient: order.customer.email.to_string(),
                event_id: Some(e.event_id.clone()),
                event_type: Some(e.event_type.clone()),
                position: Some(e.position),
                transport: config.transport.as_str().into(),
                send_at: e.at.saturating_add(delay).unwrap_or(Timestamp::MAX),
                content: None,
                resend_of: None,
                created_by: "system:notifications".into(),
                at: e.at,
            });
        }
    }
    out
}
