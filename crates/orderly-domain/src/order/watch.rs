//! Conditions that need a person only once they have lasted too long: an order unpaid
//! for half an hour, confirmed and not released, paid and not shipped, half shipped for
//! a day; a return waiting for its decision, its parcel or its inspection; an edit left
//! open. Each is a *watch*: its clock starts with an event (`started`), a timer fires
//! when the configured threshold has passed (`WatchThresholds::due`, in business time
//! where the threshold is), and if the condition still holds then the order records
//! `WatchRaised`, which opens the queue entry. When the condition ends (a payment went
//! through, the parcel arrived) the runner asks `ended` and records `WatchCleared`, which
//! resolves the entry, so the item leaves its queue by itself and the timeline says why.
//!
//! The raised watches are part of the order (`Order::watches`, by key), so deciding
//! whether one is raised, and replaying the stream, needs nothing but the order.
//!
//! Every order is confirmed, so its two confirmation watches (release, ship) share one
//! timer (`CONFIRMED`): due at the earlier threshold, it raises what is due and comes
//! back for the later one (`confirmed_due`). The capture path thus writes one timer row
//! per order; a card order does not watch for being unpaid while its authorization is
//! on its way (a refusal is queued at once, and its deadline cancels it).

use super::state::{Order, OrderState};
use crate::Timestamp;
use crate::calendar::BusinessCalendar;
use crate::fulfillment::FulfillmentState;
use crate::returns::ReturnState;
use crate::values::Id;
use jiff::SignedDuration;

/// One watched condition of an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Watch {
    /// Placed and not paid (an exchange order: waiting for the customer's difference).
    Unpaid,
    /// Confirmed, and a fulfillment order still not released to its warehouse.
    ReleaseOverdue,
    /// Confirmed, and units still not shipped.
    ShipOverdue,
    /// Some units shipped, others not.
    PartiallyShipped,
    /// A return waiting for its review.
    ReturnDecision(Id),
    /// An authorized return whose goods have not arrived.
    ReturnReceipt(Id),
    /// A received return not inspected.
    ReturnInspection(Id),
    /// An edit begun and neither committed nor abandoned.
    EditOpen(Id),
}

/// The timer key of the confirmation watches' shared clock.
pub const CONFIRMED: &str = "confirmed";

/// The exception kinds watches open (`exceptions::kind` lists them with the others).
pub mod watch_kind {
    pub const UNPAID: &str = "unpaid";
    pub const EXCHANGE_AWAITING_PAYMENT: &str = "exchange_awaiting_payment";
    pub const RELEASE_OVERDUE: &str = "release_overdue";
    pub const SHIP_OVERDUE: &str = "ship_overdue";
    pub const PARTIALLY_SHIPPED: &str = "partially_shipped";
    pub const RETURN_DECISION_OVERDUE: &str = "return_decision_overdue";
    pub const RETURN_RECEIPT_OVERDUE: &str = "return_receipt_overdue";
    pub const INSPECTION_OVERDUE: &str = "inspection_overdue";
    pub const EDIT_OPEN: &str = "edit_open";
}

/// How long each condition may last before it is queued; the first four and the edit
/// in wall-clock time, the others in business time on the configured calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WatchThresholds {
    pub unpaid: SignedDuration,
    /// Business hours from confirmation to release.
    pub release: SignedDuration,
    /// Business hours from confirmation to the last shipment.
    pub ship: SignedDuration,
    pub partially_shipped: SignedDuration,
    /// Business days a return may wait for its review.
    pub return_decision_days: u32,
    /// Days from authorization for the goods to arrive.
    pub return_receipt_days: u32,
    /// Business hours from receipt to inspection.
    pub inspection: SignedDuration,
    pub edit_open: SignedDuration,
}

impl WatchThresholds {
    /// When `watch`, whose clock started at `start`, is due.
    pub fn due(&self, watch: &Watch, start: Timestamp, calendar: &BusinessCalendar) -> Timestamp {
        let wall = |d: SignedDuration| start.saturating_add(d).unwrap_or(start);
        match watch {
            Watch::Unpaid => wall(self.unpaid),
            Watch::ReleaseOverdue => calendar.add(start, self.release),
            Watch::ShipOverdue => calendar.add(start, self.ship),
            Watch::PartiallyShipped => wall(self.partially_shipped),
            Watch::ReturnDecision(_) => {
                calendar.add_business_days(start, self.return_decision_days)
            }
            Watch::ReturnReceipt(_) => wall(SignedDuration::from_hours(
                24 * i64::from(self.return_receipt_days),
            )),
            Watch::ReturnInspection(_) => calendar.add(start, self.inspection),
            Watch::EditOpen(_) => wall(self.edit_open),
        }
    }
}

impl Watch {
    /// The watch's key: its name, and for a return's or an edit's the object's id.
    pub fn key(&self) -> String {
        match self {
            Watch::Unpaid => "unpaid".into(),
            Watch::ReleaseOverdue => "release_overdue".into(),
            Watch::ShipOverdue => "ship_overdue".into(),
            Watch::PartiallyShipped => "partially_shipped".into(),
            Watch::ReturnDecision(id) => format!("return_decision:{id}"),
            Watch::ReturnReceipt(id) => format!("return_receipt:{id}"),
            Watch::ReturnInspection(id) => format!("return_inspection:{id}"),
            Watch::EditOpen(id) => format!("edit_open:{id}"),
        }
    }

    pub fn parse(key: &str) -> Option<Watch> {
        let (name, id) = match key.split_once(':') {
            Some((name, id)) if !id.is_empty() => (name, Some(Id::new(id))),
            Some(_) => return None,
            None => (key, None),
        };
        Some(match (name, id) {
            ("unpaid", None) => Watch::Unpaid,
            ("release_overdue", None) => Watch::ReleaseOverdue,
            ("ship_overdue", None) => Watch::ShipOverdue,
            ("partially_shipped", None) => Watch::PartiallyShipped,
            ("return_decision", Some(id)) => Watch::ReturnDecision(id),
            ("return_receipt", Some(id)) => Watch::ReturnReceipt(id),
            ("return_inspection", Some(id)) => Watch::ReturnInspection(id),
            ("edit_open", Some(id)) => Watch::EditOpen(id),
            _ => return None,
        })
    }

    /// The exception kind its entry has on `order`.
    pub fn kind(&self, order: &Order) -> &'static str {
        use watch_kind::*;
        match self {
            Watch::Unpaid if super::is_exchange(order) => EXCHANGE_AWAITING_PAYMENT,
            Watch::Unpaid => UNPAID,
            Watch::ReleaseOverdue => RELEASE_OVERDUE,
            Watch::ShipOverdue => SHIP_OVERDUE,
            Watch::PartiallyShipped => PARTIALLY_SHIPPED,
            Watch::ReturnDecision(_) => RETURN_DECISION_OVERDUE,
            Watch::ReturnReceipt(_) => RETURN_RECEIPT_OVERDUE,
            Watch::ReturnInspection(_) => INSPECTION_OVERDUE,
            Watch::EditOpen(_) => EDIT_OPEN,
        }
    }

    /// The queue its entry goes to.
    pub fn queue(&self) -> &'static str {
        use super::exceptions::queue;
        match self {
            Watch::Unpaid => queue::PAYMENTS,
            // An open edit holds the order back from its warehouse, as a cancellation
            // waiting on one does (`cancellation_requested`, the same queue).
            Watch::ReleaseOverdue
            | Watch::ShipOverdue
            | Watch::PartiallyShipped
            | Watch::EditOpen(_) => queue::FULFILLMENT,
            Watch::ReturnDecision(_) | Watch::ReturnReceipt(_) | Watch::ReturnInspection(_) => {
                queue::RETURNS
            }
        }
    }

    /// What its entry is about: the order, or its return or edit.
    pub fn subject(&self, order: &Order) -> Id {
        match self {
            Watch::ReturnDecision(id)
            | Watch::ReturnReceipt(id)
            | Watch::ReturnInspection(id)
            | Watch::EditOpen(id) => id.clone(),
            _ => order.id.clone(),
        }
    }

    /// Whether the condition holds on `order`, said as the entry's detail.
    pub fn holds(&self, order: &Order) -> Option<String> {
        let live = order.state != OrderState::Cancelled;
        let ret_in = |id: &Id, states: &[ReturnState]| {
            order
                .returns
                .iter()
                .find(|r| &r.id == id)
                .filter(|r| states.contains(&r.state))
        };
        match self {
            Watch::Unpaid => (order.state == OrderState::Pending).then(|| {
                if super::is_exchange(order) {
                    "the exchange order waits for the customer's payment".to_owned()
                } else {
                    "placed and not paid".to_owned()
                }
            }),
            Watch::ReleaseOverdue => {
                let pending: Vec<&str> = order
                    .fulfillment_orders
                    .iter()
                    .filter(|f| f.state == FulfillmentState::Pending)
                    .map(|f| f.location_id.as_str())
                    .collect();
                (live && !pending.is_empty()).then(|| {
                    let blockers = order.release_blockers();
                    let why = if blockers.is_empty() {
                        String::new()
                    } else {
                        format!(" (blocked by {})", blockers.join(", "))
                    };
                    format!("confirmed and not released to {}{why}", pending.join(", "))
                })
            }
            Watch::ShipOverdue => {
                let waiting = unshipped(order);
                (live && order.confirmed_at.is_some() && waiting > 0)
                    .then(|| format!("{waiting} unit(s) confirmed and not shipped"))
            }
            Watch::PartiallyShipped => {
                let (shipped, waiting) = (shipped(order), unshipped(order));
                (live && shipped > 0 && waiting > 0)
                    .then(|| format!("{shipped} unit(s) shipped, {waiting} still waiting"))
            }
            Watch::ReturnDecision(id) => {
                ret_in(id, &[ReturnState::Requested, ReturnState::NeedsReview])
                    .map(|r| format!("{}: waiting for a review decision", r.rma))
            }
            Watch::ReturnReceipt(id) => {
                ret_in(id, &[ReturnState::Authorized, ReturnState::InTransit])
                    .map(|r| format!("{}: authorized and not received", r.rma))
            }
            Watch::ReturnInspection(id) => ret_in(id, &[ReturnState::Received])
                .map(|r| format!("{}: received and not inspected", r.rma)),
            Watch::EditOpen(id) => order
                .open_edit
                .as_ref()
                .filter(|e| &e.id == id)
                .map(|e| format!("edit {} by {} is still open", e.id, e.author)),
        }
    }
}

fn shipped(order: &Order) -> u32 {
    order.lines.iter().map(|l| l.buckets.shipped).sum()
}

/// Units ordered, not cancelled and not shipped.
fn unshipped(order: &Order) -> u32 {
    order
        .lines
        .iter()
        .map(|l| {
            l.buckets
                .ordered
                .saturating_sub(l.buckets.cancelled + l.buckets.shipped)
        })
        .sum()
}

/// The watches whose clock starts at `now` with the event just folded into `order`:
/// each with its start, for the runner to schedule. A clock that starts again (a second
/// partial shipment) schedules again; the later timer finds the watch raised or its
/// condition over, and does nothing.
pub fn started(order: &Order, now: Timestamp) -> Vec<(Watch, Timestamp)> {
    let mut out = Vec::new();
    let mut at = |w: Watch, start: Timestamp| {
        if start == now && w.holds(order).is_some() && !order.watches.contains(&w.key()) {
            out.push((w, start));
        }
    };
    if !order.authorization_pending() {
        at(Watch::Unpaid, order.created_at);
    }
    if let Some(confirmed) = order.confirmed_at {
        at(Watch::ReleaseOverdue, confirmed);
        at(Watch::ShipOverdue, confirmed);
    }
    if let Some(latest) = order
        .fulfillment_orders
        .iter()
        .flat_map(|f| &f.shipments)
        .map(|s| s.shipped_at)
        .max()
    {
        at(Watch::PartiallyShipped, latest);
    }
    for r in &order.returns {
        match r.state {
            ReturnState::Requested | ReturnState::NeedsReview => {
                at(Watch::ReturnDecision(r.id.clone()), r.requested_at);
            }
            ReturnState::Authorized => at(Watch::ReturnReceipt(r.id.clone()), r.updated_at),
            ReturnState::Received => at(Watch::ReturnInspection(r.id.clone()), r.updated_at),
            _ => {}
        }
    }
    if let Some(edit) = &order.open_edit {
        at(Watch::EditOpen(edit.id.clone()), edit.began_at);
    }
    out
}

/// The timers `started` calls for: (key, due). The confirmation watches share one, due
/// at the earlier of their thresholds.
pub fn timers(
    started: &[(Watch, Timestamp)],
    thresholds: &WatchThresholds,
    calendar: &BusinessCalendar,
) -> Vec<(String, Timestamp)> {
    let mut out: Vec<(String, Timestamp)> = Vec::new();
    for (w, start) in started {
        let due = thresholds.due(w, *start, calendar);
        let key = match w {
            Watch::ReleaseOverdue | Watch::ShipOverdue => CONFIRMED.to_owned(),
            other => other.key(),
        };
        match out.iter_mut().find(|(k, _)| *k == key) {
            Some((_, d)) => *d = (*d).min(due),
            None => out.push((key, due)),
        }
    }
    out
}

/// What the confirmation clock's timer does at `now`: the watches due to be raised, and
/// when to come back for the one not due yet (None: nothing more to watch).
pub fn confirmed_due(
    order: &Order,
    now: Timestamp,
    thresholds: &WatchThresholds,
    calendar: &BusinessCalendar,
) -> (Vec<Watch>, Option<Timestamp>) {
    let Some(confirmed) = order.confirmed_at else {
        return (Vec::new(), None);
    };
    let mut raise = Vec::new();
    let mut again: Option<Timestamp> = None;
    for w in [Watch::ReleaseOverdue, Watch::ShipOverdue] {
        if w.holds(order).is_none() {
            continue;
        }
        let due = thresholds.due(&w, confirmed, calendar);
        if due <= now {
            raise.push(w);
        } else {
            again = Some(again.map_or(due, |a| a.min(due)));
        }
    }
    (raise, again)
}

/// The raised watches of `order` whose condition is over, with what ended it.
pub fn ended(order: &Order) -> Vec<(Watch, &'static str)> {
    order
        .watches
        .iter()
        .filter_map(|key| Watch::parse(key))
        .filter(|w| w.holds(order).is_none())
        .map(|w| {
            let why = if order.state == OrderState::Cancelled {
                "order cancelled"
            } else {
                match &w {
                    Watch::Unpaid => "paid",
                    Watch::ReleaseOverdue => "released",
                    Watch::ShipOverdue | Watch::PartiallyShipped => "shipped",
                    Watch::ReturnDecision(_) => "decided",
                    Watch::ReturnReceipt(_) => "received or closed",
                    Watch::ReturnInspection(_) => "inspected or closed",
                    Watch::EditOpen(_) => "edit closed",
                }
            };
            (w, why)
        })
        .collect()
}

/// A watched condition lasted past its threshold: its entry is queued.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WatchRaised {
    /// The watch's key (`Watch::key`).
    pub watch: String,
    pub detail: String,
}

/// A raised condition ended: its entry leaves the queue.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WatchCleared {
    pub watch: String,
    pub reason: String,
}

/// `OrderCommand::RaiseWatches`: their timer fired. Each is raised when its condition
/// holds and it is not raised yet; a key that names no watch is passed over.
pub(super) fn raise(order: &Order, keys: &[String]) -> Vec<super::OrderEvent> {
    keys.iter()
        .filter_map(|key| Watch::parse(key))
        .filter(|w| !order.watches.contains(&w.key()))
        .filter_map(|w| {
            w.holds(order).map(|detail| {
                super::OrderEvent::WatchRaised(WatchRaised {
                    watch: w.key(),
                    detail,
                })
            })
        })
        .collect()
}

/// `OrderCommand::ClearWatches`: every raised watch whose condition ended.
pub(super) fn clear(order: &Order) -> Vec<super::OrderEvent> {
    ended(order)
        .into_iter()
        .map(|(w, reason)| {
            super::OrderEvent::WatchCleared(WatchCleared {
                watch: w.key(),
                reason: reason.to_owned(),
            })
        })
        .collect()
}

/// The timeline's sentences.
pub(super) fn raised_summary(r: &WatchRaised) -> String {
    format!("Queued as overdue ({}): {}", name(&r.watch), r.detail)
}

pub(super) fn cleared_summary(c: &WatchCleared) -> String {
    format!("Left the overdue queue ({}): {}", name(&c.watch), c.reason)
}

fn name(key: &str) -> &str {
    key.split_once(':').map_or(key, |(n, _)| n)
}

/// The exception changes of a watch event (`exceptions::exception_changes`).
pub(super) fn exception_changes(
    event: &super::OrderEvent,
    order: &Order,
) -> Vec<super::exceptions::ExceptionChange> {
    use super::exceptions::{ExceptionChange, RaisedException};
    match event {
        super::OrderEvent::WatchRaised(r) => Watch::parse(&r.watch)
            .map(|w| {
                ExceptionChange::Open(RaisedException {
                    queue: w.queue(),
                    kind: w.kind(order),
                    subject_id: w.subject(order),
                    detail: r.detail.clone(),
                })
            })
            .into_iter()
            .collect(),
        super::OrderEvent::WatchCleared(c) => Watch::parse(&c.watch)
            .map(|w| ExceptionChange::Resolve {
                subject_id: w.subject(order),
                kinds: kinds_of(w.kind(order)),
                resolution: resolution(&c.reason),
            })
            .into_iter()
            .collect(),
        _ => Vec::new(),
    }
}

/// `kind` as the one-kind list a resolve names (every kind is listed in
/// `exceptions::kind::ALL`, which the watches' are part of).
fn kinds_of(kind: &'static str) -> &'static [&'static str] {
    use super::exceptions::kind::ALL;
    ALL.iter()
        .position(|k| *k == kind)
        .map_or(&[], |i| std::slice::from_ref(&ALL[i]))
}

/// The reason as the static text an entry's resolution is.
fn resolution(reason: &str) -> &'static str {
    [
        "paid",
        "released",
        "shipped",
        "decided",
        "received or closed",
        "inspected or closed",
        "edit closed",
        "order cancelled",
    ]
    .into_iter()
    .find(|r| *r == reason)
    .unwrap_or("condition ended")
}
