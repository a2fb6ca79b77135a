//! What a case's event adds to the figures: contacts count per order across all of the
//! order's cases (a customer who writes twice about one order is a repeat contact even
//! when the second message opened a new case), and resolutions count by root cause.

use super::{Dim, Effect, KpiRules, Mark, Metric, Point};
use crate::Timestamp;
use crate::case::{Case, CaseEvent, Direction};

/// The figures one append of `events` moves, given the case before it (None for a new
/// case) and after.
pub fn case_effects(
    before: Option<&Case>,
    after: &Case,
    events: &[CaseEvent],
    at: Timestamp,
    rules: &KpiRules,
) -> Vec<Effect> {
    let mut out = Vec::new();
    let mut dims = Vec::new();
    if let Some(channel) = &after.order_channel {
        dims.push((Dim::Channel, channel.clone()));
    }
    if before.is_none() {
        out.push(Effect::Add(Point::count(
            Metric::CasesOpened,
            rules.day(at),
            dims.clone(),
        )));
    }
    if let Some(order) = &after.order_id {
        let known = before.map_or(0, |b| b.contacts.len());
        for contact in after.contacts.iter().skip(known) {
            if contact.direction != Direction::Inbound {
                continue;
            }
            let day = rules.day(contact.at);
            let point = |metric| Point::count(metric, day, dims.clone());
            out.push(Effect::Tally {
                subject: order.as_str().to_owned(),
                mark: Mark::Contact,
                at: contact.at,
                reach: vec![
                    (1, point(Metric::OrdersContacted)),
                    (2, point(Metric::OrdersRepeatContact)),
                ],
            });
            if contact.order_status {
                out.push(Effect::Tally {
                    subject: order.as_str().to_owned(),
                    mark: Mark::StatusContact,
                    at: contact.at,
                    reach: vec![(1, point(Metric::OrdersStatusContact))],
                });
            }
        }
    }
    for event in events {
        if let CaseEvent::Resolved { root_cause, .. } = event {
            let mut d = dims.clone();
            d.push((Dim::RootCause, root_cause.clone()));
            out.push(Effect::Add(Point::count(
                Metric::CasesResolved,
                rules.day(at),
                d,
            )));
        }
    }
    out
}
