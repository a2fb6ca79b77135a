//! Operations figures, kept as events commit. An event adds to counters per business day
//! and dimension (`Point`s), so a figure over any period is a sum of a few stored rows,
//! never a pass over history. What an event adds is a pure function of its stream's
//! state before and after it (`order_effects`, `case_effects`), so rebuilding every
//! figure from the event log gives exactly what was kept as it happened.
//!
//! A few figures need a memory that no stream's state keeps: an order's first exception,
//! a customer's first delivery, how often an order's customer got in touch across cases.
//! Those are `Effect::Tally` and `Effect::AfterMark`, answered by the store from a table
//! of marks; the decision what to count stays here (`Effect::reached`, `Effect::after`).

mod cases;
mod histogram;
mod orders;
#[cfg(test)]
mod tests;

pub use cases::case_effects;
pub use histogram::{bucket_floor, bucket_of, percentile};
pub use orders::{exception_effects, order_effects};

use crate::Timestamp;
use crate::calendar::BusinessCalendar;
use crate::values::Currency;
use jiff::civil::Date;

snake_enum!(
    /// A counter kept per business day and dimension. What each counts, and on which
    /// day, is written in `docs/kpis.md`.
    Metric {
        OrdersPlaced => "orders_placed",
        /// Orders placed by a customer one of whose earlier orders had been delivered.
        RepeatAfterDelivery => "repeat_after_delivery",
        /// Placed to first shipment, per order, on the day of that shipment.
        OrderToShip => "order_to_ship",
        /// Placed to delivered (every unit), per order, on the day of delivery.
        CycleTime => "cycle_time",
        Shipments => "shipments",
        /// Shipments with a short pick, or later a return for a wrong or damaged item,
        /// counted on the day they shipped.
        ShipmentsInaccurate => "shipments_inaccurate",
        /// Shipments delivered that had a promised date.
        DeliveriesPromised => "deliveries_promised",
        DeliveriesOnTime => "deliveries_on_time",
        /// Orders entering an exception queue for the first time.
        OrdersWithException => "orders_with_exception",
        ExceptionsOpened => "exceptions_opened",
        OrdersCancelled => "orders_cancelled",
        /// The cancellation's request to its completion.
        CancellationTime => "cancellation_time",
        /// Orders whose first refund succeeded.
        OrdersRefunded => "orders_refunded",
        /// Refunds that succeeded, with their amount (one figure per currency).
        RefundAmount => "refund_amount",
        DeliveredUnits => "delivered_units",
        ReturnsRequested => "returns_requested",
        ReturnsAuthorized => "returns_authorized",
        /// Units of authorized returns.
        ReturnUnits => "return_units",
        /// Return requested to its authorization or rejection.
        ReturnAuthTurnaround => "return_auth_turnaround",
        /// Return authorized to its refund, in business days.
        ReturnsCycle => "returns_cycle",
        /// Return requested to the replacement's delivery.
        ExchangeTime => "exchange_time",
        /// Returns given a policy exception (window extended, fee waived, …).
        ReturnsWithException => "returns_with_exception",
        CasesOpened => "cases_opened",
        /// Orders with a first inbound contact.
        OrdersContacted => "orders_contacted",
        /// Orders with a second inbound contact.
        OrdersRepeatContact => "orders_repeat_contact",
        /// Orders whose customer asked where the order is.
        OrdersStatusContact => "orders_status_contact",
        CasesResolved => "cases_resolved",
        /// Units shipped, per SKU and location: the demand days of cover divide by.
        ShippedUnits => "shipped_units",
        /// What shipments cost by the rate tables (one figure per currency).
        ShippingCost => "shipping_cost",
        /// Shipments sent from a location farther than the nearest that serves the
        /// destination; the sum is the extra kilometres.
        FartherShipments => "farther_shipments",
        /// Units in those shipments, per SKU.
        FartherUnits => "farther_units",
        /// Orders with a shipment from a farther location.
        OrdersFromFarther => "orders_from_farther",
        /// The extra handling cost of the farther location (one figure per currency).
        FartherCost => "farther_cost",
    }
);

snake_enum!(
    /// What a counter's `sum` and buckets hold.
    Unit {
        Count => "count",
        Seconds => "seconds",
        BusinessDays => "business_days",
        /// Minor units of the point's currency.
        Money => "money",
    }
);

impl Metric {
    pub fn unit(self) -> Unit {
        use Metric::*;
        match self {
            OrderToShip | CycleTime | CancellationTime | ReturnAuthTurnaround | ExchangeTime => {
                Unit::Seconds
            }
            ReturnsCycle => Unit::BusinessDays,
            RefundAmount | ShippingCost | FartherCost => Unit::Money,
            _ => Unit::Count,
        }
    }

    /// The name it is stored under: a money figure's carries its currency, since sums in
    /// different currencies are different figures (`refund_amount.USD`).
    pub fn stored_name(self, currency: Option<&Currency>) -> String {
        match currency {
            Some(c) => format!("{}.{}", self.as_str(), c.as_str()),
            None => self.as_str().to_owned(),
        }
    }

    /// The metric and currency of a stored name (see `stored_name`).
    pub fn parse_stored(name: &str) -> Option<(Metric, Option<Currency>)> {
        match name.split_once('.') {
            Some((m, c)) => Some((Metric::parse(m)?, Some(Currency::parse(c).ok()?))),
            None => Some((Metric::parse(name)?, None)),
        }
    }
}

snake_enum!(
    /// What a figure may be grouped by. Every point counts under `All` as well.
    #[derive(PartialOrd, Ord)]
    Dim {
        All => "all",
        Channel => "channel",
        Location => "location",
        Carrier => "carrier",
        Sku => "sku",
        Reason => "reason",
        Queue => "queue",
        RootCause => "root_cause",
        /// A SKU at a location, keyed `SKU@location`.
        Stock => "stock",
        /// A carrier to a destination zone, keyed `carrier US-TX` (the country alone
        /// when the address has no region).
        Lane => "lane",
    }
);

snake_enum!(
    /// A subject's memory kept by the store for `Effect::Tally` and `Effect::AfterMark`.
    #[derive(PartialOrd, Ord)]
    Mark {
        /// An order entered an exception queue.
        Exception => "exception",
        /// One of a customer's orders was delivered (subject: the normalised email).
        Delivered => "delivered",
        /// An inbound contact about an order (subject: the order id).
        Contact => "contact",
        /// An inbound "where is my order" contact about an order.
        StatusContact => "status_contact",
        /// An exchange was asked for, whose replacement is this order (subject: its id).
        ExchangeAsked => "exchange_asked",
    }
);

/// What one event adds to one counter, on one business day, under `Dim::All` and each of
/// its dimensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Point {
    pub metric: Metric,
    /// A money figure's currency.
    pub currency: Option<Currency>,
    pub day: Date,
    pub dims: Vec<(Dim, String)>,
    /// The duration bucket (`bucket_of`), or 0.
    pub bucket: i64,
    pub count: i64,
    /// Seconds, business days or minor units, as `metric.unit()` says; 0 for counts.
    pub sum: i64,
}

impl Point {
    /// One more of `metric`.
    pub fn count(metric: Metric, day: Date, dims: Vec<(Dim, String)>) -> Point {
        Point::counted(metric, day, dims, 1)
    }

    /// `n` more of `metric` (units, say).
    pub fn counted(metric: Metric, day: Date, dims: Vec<(Dim, String)>, n: i64) -> Point {
        Point {
            metric,
            currency: None,
            day,
            dims,
            bucket: 0,
            count: n,
            sum: 0,
        }
    }

    /// One more observation of a duration or business-day figure.
    pub fn measured(metric: Metric, day: Date, dims: Vec<(Dim, String)>, value: i64) -> Point {
        let value = value.max(0);
        let bucket = match metric.unit() {
            Unit::Seconds => bucket_of(value),
            _ => value,
        };
        Point {
            bucket,
            sum: value,
            ..Point::count(metric, day, dims)
        }
    }

    /// One more of a money figure.
    pub fn money(
        metric: Metric,
        day: Date,
        dims: Vec<(Dim, String)>,
        currency: Currency,
        minor: i64,
    ) -> Point {
        Point {
            currency: Some(currency),
            sum: minor,
            ..Point::count(metric, day, dims)
        }
    }

    /// The stored rows this point adds to: `(dimension, key)` for `All` (key "") and
    /// each of its dimensions.
    pub fn keys(&self) -> impl Iterator<Item = (Dim, &str)> {
        std::iter::once((Dim::All, "")).chain(self.dims.iter().map(|(d, k)| (*d, k.as_str())))
    }
}

/// What one event does to the figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    Add(Point),
    /// Counts one more of `subject`'s `mark`, remembering the earliest `at` it was made,
    /// and adds each point whose number the new tally equals: `(1, p)` counts a subject
    /// the first time only, `(2, p)` the second time.
    Tally {
        subject: String,
        mark: Mark,
        at: Timestamp,
        reach: Vec<(u32, Point)>,
    },
    /// Adds `point` when `subject`'s `mark` was first made at or before `at`; with
    /// `timed`, as the duration since then (a `Unit::Seconds` metric).
    AfterMark {
        subject: String,
        mark: Mark,
        at: Timestamp,
        point: Point,
        timed: bool,
    },
}

impl Effect {
    /// The points a `Tally` adds once the subject's tally is `tally`.
    pub fn reached(reach: &[(u32, Point)], tally: u32) -> Vec<Point> {
        reach
            .iter()
            .filter(|(n, _)| *n == tally)
            .map(|(_, p)| p.clone())
            .collect()
    }

    /// The point an `AfterMark` adds, given when the mark was first made (if ever).
    pub fn after(
        point: &Point,
        timed: bool,
        at: Timestamp,
        first: Option<Timestamp>,
    ) -> Option<Point> {
        let first = first.filter(|f| *f <= at)?;
        if !timed {
            return Some(point.clone());
        }
        let seconds = at.duration_since(first).as_secs();
        Some(Point::measured(
            point.metric,
            point.day,
            point.dims.clone(),
            seconds,
        ))
    }
}

/// What the figures need from configuration.
#[derive(Debug, Clone)]
pub struct KpiRules {
    /// Days are the calendar's local dates; business days are its working days.
    pub calendar: BusinessCalendar,
    /// Return reasons that say the shipment was wrong (a wrong or damaged item).
    pub inaccuracy_reasons: Vec<String>,
}

impl Default for KpiRules {
    fn default() -> Self {
        KpiRules {
            calendar: BusinessCalendar::office_hours_utc(),
            inaccuracy_reasons: vec!["wrong_item".into(), "arrived_damaged".into()],
        }
    }
}

impl KpiRules {
    /// The business day `at` falls on.
    pub fn day(&self, at: Timestamp) -> Date {
        self.calendar.time_zone().to_datetime(at).date()
    }
}
