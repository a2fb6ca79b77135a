//! What an order's event adds to the figures, read off the order before and after it:
//! each figure counts a fact becoming true (the first shipment, every unit delivered, a
//! refund succeeding), so an event that changes nothing of it adds nothing, and the
//! same events replayed add the same again.

use super::{Dim, Effect, KpiRules, Mark, Metric, Point};
use crate::Timestamp;
use crate::fulfillment::TrackingStatus;
use crate::order::exceptions::{ExceptionChange, exception_changes};
use crate::order::{
    FulfillmentOrder, FulfillmentSummary, Order, OrderEvent, OrderState, Return, Shipment,
};
use crate::payment::RefundStatus;
use crate::returns::Outcome;
use std::collections::BTreeMap;

/// The figures one append of `events` moves, given the order before it (None for a new
/// order) and after it; `at` is when it was committed. (An append is what one command
/// wrote: its events share their time and correlation id.) What exception entries add
/// is counted per event, by `exception_effects`.
pub fn order_effects(
    before: Option<&Order>,
    after: &Order,
    events: &[OrderEvent],
    at: Timestamp,
    rules: &KpiRules,
) -> Vec<Effect> {
    let mut out = Vec::new();
    if before.is_none() {
        placed(after, at, rules, &mut out);
    }
    shipping(before, after, rules, &mut out);
    delivery(before, after, events, at, rules, &mut out);
    cancellation(before, after, at, rules, &mut out);
    refunds(before, after, at, rules, &mut out);
    returns(before, after, rules, &mut out);
    out
}

/// The figures one event's exception entries move, given the order just after it:
/// counted per event (not per append), so a replay of the events one by one counts the
/// same whatever appends they were written in.
pub fn exception_effects(
    event: &OrderEvent,
    after: &Order,
    at: Timestamp,
    rules: &KpiRules,
) -> Vec<Effect> {
    let channel = || (Dim::Channel, after.channel.as_str().to_owned());
    let day = rules.day(at);
    let mut out = Vec::new();
    for change in exception_changes(event, after) {
        if let ExceptionChange::Open(raised) = change {
            out.push(Effect::Add(Point::count(
                Metric::ExceptionsOpened,
                day,
                vec![channel(), (Dim::Queue, raised.queue.to_owned())],
            )));
            out.push(Effect::Tally {
                subject: after.id.as_str().to_owned(),
                mark: Mark::Exception,
                at,
                reach: vec![(
                    1,
                    Point::count(Metric::OrdersWithException, day, vec![channel()]),
                )],
            });
        }
    }
    out
}

fn placed(order: &Order, at: Timestamp, rules: &KpiRules, out: &mut Vec<Effect>) {
    let day = rules.day(at);
    let dims = vec![(Dim::Channel, order.channel.as_str().to_owned())];
    out.push(Effect::Add(Point::count(
        Metric::OrdersPlaced,
        day,
        dims.clone(),
    )));
    out.push(Effect::AfterMark {
        subject: order.customer.email.as_str().to_owned(),
        mark: Mark::Delivered,
        at,
        point: Point::count(Metric::RepeatAfterDelivery, day, dims),
        timed: false,
    });
}

/// Every shipment of the order with the fulfillment order that sent it.
fn shipments(order: &Order) -> impl Iterator<Item = (&FulfillmentOrder, &Shipment)> {
    order
        .fulfillment_orders
        .iter()
        .flat_map(|f| f.shipments.iter().map(move |s| (f, s)))
}

fn find_shipment<'a>(order: Option<&'a Order>, id: &str) -> Option<&'a Shipment> {
    shipments(order?)
        .map(|(_, s)| s)
        .find(|s| s.id.as_str() == id)
}

/// Channel, location, carrier and lane (carrier to destination zone) of a shipment.
fn shipment_dims(order: &Order, f: &FulfillmentOrder, s: &Shipment) -> Vec<(Dim, String)> {
    let to = &order.shipping_address;
    let zone = match &to.region {
        Some(r) => format!("{}-{r}", to.country.as_str()),
        None => to.country.as_str().to_owned(),
    };
    vec![
        (Dim::Channel, order.channel.as_str().to_owned()),
        (Dim::Location, f.location_id.as_str().to_owned()),
        (Dim::Carrier, s.carrier.clone()),
        (Dim::Lane, format!("{} {zone}", s.carrier)),
    ]
}

/// How much farther than the nearest location serving the destination a shipment
/// left from, in kilometres, with the handling cost it added: None when it left from
/// the nearest, or the sourcing decision knew no distances (an address not geocoded).
fn farther(order: &Order, f: &FulfillmentOrder) -> Option<(u32, i64)> {
    let candidates = &order.sourcing.as_ref()?.candidates;
    let nearest = candidates
        .iter()
        .filter(|c| c.distance_km.is_some())
        .min_by_key(|c| (c.distance_km, c.location_id.as_str()))?;
    let from = candidates.iter().find(|c| c.location_id == f.location_id)?;
    let extra = from.distance_km?.checked_sub(nearest.distance_km?)?;
    (from.location_id != nearest.location_id && extra > 0).then(|| {
        let cost = (from.handling_cost_minor - nearest.handling_cost_minor).max(0);
        (extra, cost)
    })
}

/// What a new shipment adds: its units per SKU at its location, its price, and, when
/// it left from farther than the nearest location, the distance, cost and units that
/// placement caused.
fn shipped(order: &Order, f: &FulfillmentOrder, s: &Shipment, rules: &KpiRules) -> Vec<Effect> {
    let day = rules.day(s.shipped_at);
    let dims = shipment_dims(order, f, s);
    let location = f.location_id.as_str();
    let mut out = Vec::new();
    let items = f
        .packages
        .iter()
        .filter(|p| p.id == s.package_id)
        .flat_map(|p| p.items.iter());
    let mut units: BTreeMap<&str, i64> = BTreeMap::new();
    for item in items {
        *units.entry(item.sku.as_str()).or_default() += i64::from(item.quantity);
    }
    let far = farther(order, f);
    for (sku, n) in &units {
        let per_sku = vec![
            (Dim::Channel, order.channel.as_str().to_owned()),
            (Dim::Sku, (*sku).to_owned()),
            (Dim::Location, location.to_owned()),
            (Dim::Stock, format!("{sku}@{location}")),
        ];
        if far.is_some() {
            out.push(Effect::Add(Point::counted(
                Metric::FartherUnits,
                day,
                per_sku.clone(),
                *n,
            )));
        }
        out.push(Effect::Add(Point::counted(
            Metric::ShippedUnits,
            day,
            per_sku,
            *n,
        )));
    }
    if let Some(price) = s.price_minor {
        out.push(Effect::Add(Point::money(
            Metric::ShippingCost,
            day,
            dims.clone(),
            order.currency.clone(),
            price,
        )));
    }
    if let Some((km, cost)) = far {
        out.push(Effect::Add(Point {
            sum: i64::from(km),
            ..Point::count(Metric::FartherShipments, day, dims.clone())
        }));
        out.push(Effect::Add(Point::money(
            Metric::FartherCost,
            day,
            dims,
            order.currency.clone(),
            cost,
        )));
    }
    out
}

fn shipping(before: Option<&Order>, after: &Order, rules: &KpiRules, out: &mut Vec<Effect>) {
    let shipped_before = before.is_some_and(|b| shipments(b).next().is_some());
    let far_before = before.is_some_and(|b| shipments(b).any(|(f, _)| farther(b, f).is_some()));
    if !far_before
        && let Some((f, s)) = shipments(after)
            .filter(|(f, _)| farther(after, f).is_some())
            .min_by_key(|(_, s)| s.shipped_at)
    {
        out.push(Effect::Add(Point::count(
            Metric::OrdersFromFarther,
            rules.day(s.shipped_at),
            shipment_dims(after, f, s),
        )));
    }
    if !shipped_before && let Some((f, s)) = shipments(after).min_by_key(|(_, s)| s.shipped_at) {
        out.push(Effect::Add(Point::measured(
            Metric::OrderToShip,
            rules.day(s.shipped_at),
            shipment_dims(after, f, s),
            s.shipped_at.duration_since(after.created_at).as_secs(),
        )));
    }
    for (f, s) in shipments(after) {
        let old = find_shipment(before, s.id.as_str());
        let dims = || shipment_dims(after, f, s);
        if old.is_none() {
            out.push(Effect::Add(Point::count(
                Metric::Shipments,
                rules.day(s.shipped_at),
                dims(),
            )));
            out.extend(shipped(after, f, s, rules));
        }
        let was = old.is_some() && before.is_some_and(|b| inaccurate(b, s, rules));
        if !was && inaccurate(after, s, rules) {
            out.push(Effect::Add(Point::count(
                Metric::ShipmentsInaccurate,
                rules.day(s.shipped_at),
                dims(),
            )));
        }
    }
}

/// A shipment is inaccurate when its fulfillment order was short picked, or a return of
/// a line it carried was asked for a reason that says the item was wrong or damaged.
fn inaccurate(order: &Order, shipment: &Shipment, rules: &KpiRules) -> bool {
    let Some((f, _)) = shipments(order).find(|(_, s)| s.id == shipment.id) else {
        return false;
    };
    if f.lines.iter().any(|l| l.short > 0) {
        return true;
    }
    let carried: Vec<u32> = f
        .packages
        .iter()
        .filter(|p| p.id == shipment.package_id)
        .flat_map(|p| p.items.iter().map(|i| i.line_no))
        .collect();
    order.returns.iter().any(|r| {
        rules.inaccuracy_reasons.contains(&r.reason)
            && r.items.iter().any(|i| carried.contains(&i.line_no))
    })
}

/// When the carrier said the shipment was delivered.
fn delivered_at(s: &Shipment) -> Option<Timestamp> {
    if s.status() != TrackingStatus::Delivered {
        return None;
    }
    s.scans
        .iter()
        .filter(|scan| scan.status == TrackingStatus::Delivered)
        .map(|scan| scan.occurred_at)
        .min()
}

fn delivery(
    before: Option<&Order>,
    after: &Order,
    events: &[OrderEvent],
    at: Timestamp,
    rules: &KpiRules,
    out: &mut Vec<Effect>,
) {
    // A carrier's scan carries the time it happened; anything else happened when it was
    // committed.
    let when = events
        .iter()
        .filter_map(|e| match e {
            OrderEvent::TrackingRecorded(t) => Some(t.occurred_at),
            _ => None,
        })
        .max()
        .unwrap_or(at);
    let channel = (Dim::Channel, after.channel.as_str().to_owned());
    let mut last: Option<(Timestamp, Vec<(Dim, String)>)> = None;
    for (f, s) in shipments(after) {
        let Some(done) = delivered_at(s) else {
            continue;
        };
        let dims = shipment_dims(after, f, s);
        if last.as_ref().is_none_or(|(t, _)| done >= *t) {
            last = Some((done, dims.clone()));
        }
        if find_shipment(before, s.id.as_str())
            .and_then(delivered_at)
            .is_some()
        {
            continue;
        }
        let promise = s
            .promised_by
            .or_else(|| after.delivery.as_ref().and_then(|d| d.deliver_by));
        if let Some(promise) = promise {
            let day = rules.day(done);
            out.push(Effect::Add(Point::count(
                Metric::DeliveriesPromised,
                day,
                dims.clone(),
            )));
            if done <= promise {
                out.push(Effect::Add(Point::count(
                    Metric::DeliveriesOnTime,
                    day,
                    dims,
                )));
            }
        }
    }
    for line in &after.lines {
        let was = before
            .and_then(|b| b.lines.iter().find(|l| l.line_no == line.line_no))
            .map_or(0, |l| l.buckets.delivered);
        if line.buckets.delivered > was {
            out.push(Effect::Add(Point::counted(
                Metric::DeliveredUnits,
                rules.day(when),
                vec![channel.clone(), (Dim::Sku, line.sku.as_str().to_owned())],
                i64::from(line.buckets.delivered - was),
            )));
        }
    }
    let delivered = |o: &Order| o.fulfillment_summary() == FulfillmentSummary::Delivered;
    if before.is_some_and(delivered) || !delivered(after) {
        return;
    }
    let (done, dims) = last.unwrap_or((when, vec![channel.clone()]));
    let day = rules.day(done);
    out.push(Effect::Add(Point::measured(
        Metric::CycleTime,
        day,
        dims,
        done.duration_since(after.created_at).as_secs(),
    )));
    // Marked when it was recorded, not when the scan says it happened: a later order
    // counts as a repeat purchase only if the delivery was known when it was placed,
    // which a rebuild, replaying orders in the order they were placed, sees alike.
    out.push(Effect::Tally {
        subject: after.customer.email.as_str().to_owned(),
        mark: Mark::Delivered,
        at,
        reach: Vec::new(),
    });
    out.push(Effect::AfterMark {
        subject: after.id.as_str().to_owned(),
        mark: Mark::ExchangeAsked,
        at: done,
        point: Point::count(Metric::ExchangeTime, day, vec![channel]),
        timed: true,
    });
}

fn cancellation(
    before: Option<&Order>,
    after: &Order,
    at: Timestamp,
    rules: &KpiRules,
    out: &mut Vec<Effect>,
) {
    let cancelled = |o: &Order| o.state == OrderState::Cancelled;
    if before.is_some_and(cancelled) || !cancelled(after) {
        return;
    }
    let reason = after.cancel_reason.map_or("other", |r| r.as_str());
    let dims = vec![
        (Dim::Channel, after.channel.as_str().to_owned()),
        (Dim::Reason, reason.to_owned()),
    ];
    // Asked of warehouses, a cancellation completes when the last one answers; decided
    // at once, it took no time.
    let asked = before
        .and_then(|b| b.cancel_request.as_ref())
        .or(after.cancel_request.as_ref())
        .map_or(at, |r| r.requested_at);
    let day = rules.day(at);
    out.push(Effect::Add(Point::count(
        Metric::OrdersCancelled,
        day,
        dims.clone(),
    )));
    out.push(Effect::Add(Point::measured(
        Metric::CancellationTime,
        day,
        dims,
        at.duration_since(asked).as_secs(),
    )));
}

fn succeeded(order: &Order, id: &crate::values::Id) -> bool {
    order.refund_status_of(id) == Some(RefundStatus::Succeeded)
}

fn refunds(
    before: Option<&Order>,
    after: &Order,
    at: Timestamp,
    rules: &KpiRules,
    out: &mut Vec<Effect>,
) {
    let day = rules.day(at);
    let channel = (Dim::Channel, after.channel.as_str().to_owned());
    let mut first = before.is_none_or(|b| !b.refunds.iter().any(|r| succeeded(b, &r.id)));
    for refund in &after.refunds {
        if before.is_some_and(|b| succeeded(b, &refund.id)) || !succeeded(after, &refund.id) {
            continue;
        }
        out.push(Effect::Add(Point::money(
            Metric::RefundAmount,
            day,
            vec![
                channel.clone(),
                (Dim::Reason, refund.reason.as_str().to_owned()),
            ],
            after.currency.clone(),
            refund.amount_minor,
        )));
        if first {
            out.push(Effect::Add(Point::count(
                Metric::OrdersRefunded,
                day,
                vec![channel.clone()],
            )));
            first = false;
        }
        let paid_return = after.returns.iter().find(|r| {
            r.resolution.as_ref().and_then(|res| res.refund_id.as_ref()) == Some(&refund.id)
        });
        if let Some(r) = paid_return
            && let Some(authorized) = authorized_at(r)
        {
            out.push(Effect::Add(Point::measured(
                Metric::ReturnsCycle,
                day,
                return_dims(after, r),
                i64::from(rules.calendar.business_days_between(authorized, at)),
            )));
        }
    }
}

fn return_dims(order: &Order, r: &Return) -> Vec<(Dim, String)> {
    vec![
        (Dim::Channel, order.channel.as_str().to_owned()),
        (Dim::Reason, r.reason.clone()),
    ]
}

/// When the return was authorized: at once by the policy, or by the first approval.
fn authorized_at(r: &Return) -> Option<Timestamp> {
    match r.judgement.outcome {
        Outcome::Authorized => Some(r.requested_at),
        _ => r.decisions.iter().find(|d| d.approved).map(|d| d.at),
    }
}

/// When the return was authorized or rejected, by the policy or by a person.
fn decided_at(r: &Return) -> Option<Timestamp> {
    match r.judgement.outcome {
        Outcome::NeedsReview { .. } => r.decisions.first().map(|d| d.at),
        _ => Some(r.requested_at),
    }
}

fn returns(before: Option<&Order>, after: &Order, rules: &KpiRules, out: &mut Vec<Effect>) {
    for r in &after.returns {
        let old = before.and_then(|b| b.returns.iter().find(|o| o.id == r.id));
        let dims = || return_dims(after, r);
        if old.is_none() {
            out.push(Effect::Add(Point::count(
                Metric::ReturnsRequested,
                rules.day(r.requested_at),
                dims(),
            )));
        }
        if old.and_then(decided_at).is_none()
            && let Some(decided) = decided_at(r)
        {
            out.push(Effect::Add(Point::measured(
                Metric::ReturnAuthTurnaround,
                rules.day(decided),
                dims(),
                decided.duration_since(r.requested_at).as_secs(),
            )));
        }
        if old.and_then(authorized_at).is_none()
            && let Some(authorized) = authorized_at(r)
        {
            let day = rules.day(authorized);
            out.push(Effect::Add(Point::count(
                Metric::ReturnsAuthorized,
                day,
                dims(),
            )));
            let mut units: BTreeMap<&str, i64> = BTreeMap::new();
            for item in &r.items {
                *units.entry(item.sku.as_str()).or_default() += 1;
            }
            for (sku, n) in units {
                let mut d = dims();
                d.push((Dim::Sku, sku.to_owned()));
                out.push(Effect::Add(Point::counted(Metric::ReturnUnits, day, d, n)));
            }
        }
        if old.is_none_or(|o| o.exceptions.is_empty()) && !r.exceptions.is_empty() {
            out.push(Effect::Add(Point::count(
                Metric::ReturnsWithException,
                rules.day(r.updated_at),
                dims(),
            )));
        }
        if old.is_none_or(|o| o.exchange.is_none())
            && let Some(x) = &r.exchange
        {
            out.push(Effect::Tally {
                subject: x.order_id.as_str().to_owned(),
                mark: Mark::ExchangeAsked,
                at: r.requested_at,
                reach: Vec::new(),
            });
        }
    }
}
