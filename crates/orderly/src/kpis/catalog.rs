//! The KPIs the report shows, each a formula over the stored counters, with the
//! best-in-class benchmark from the product's research where there is one. What each
//! counter counts is the domain's (`orderly_domain::kpi::Metric`); `docs/kpis.md`
//! writes both down.

use orderly_domain::kpi::{Dim, Metric};

/// How a KPI is computed from counters.
#[derive(Debug, Clone, Copy)]
pub enum Formula {
    /// `num / den` as a percentage.
    Rate {
        num: Metric,
        den: Metric,
    },
    /// `1 - num / den` as a percentage (the share without the counted problem).
    Without {
        num: Metric,
        den: Metric,
    },
    /// The median of a duration, with p90 and the mean beside it.
    Duration(Metric),
    Count(Metric),
    /// A sum of money per currency.
    Money(Metric),
}

impl Formula {
    pub fn metrics(self) -> Vec<Metric> {
        match self {
            Formula::Rate { num, den } | Formula::Without { num, den } => vec![num, den],
            Formula::Duration(m) | Formula::Count(m) | Formula::Money(m) => vec![m],
        }
    }
}

/// Which way is better, and the best-in-class line.
#[derive(Debug, Clone, Copy)]
pub struct Benchmark {
    pub target: f64,
    pub higher_is_better: bool,
    pub source: &'static str,
}

#[derive(Debug, Clone, Copy)]
pub struct KpiDef {
    pub name: &'static str,
    pub title: &'static str,
    pub formula: Formula,
    /// The dimensions the KPI can be grouped by (category follows SKU).
    pub dims: &'static [Dim],
    pub benchmark: Option<Benchmark>,
}

const SHIPPING: &[Dim] = &[Dim::Channel, Dim::Location, Dim::Carrier, Dim::Lane];
const CHANNEL: &[Dim] = &[Dim::Channel];
const REASONED: &[Dim] = &[Dim::Channel, Dim::Reason];
const RESEARCH: &str = "best-in-class operations benchmark";

pub const KPIS: &[KpiDef] = &[
    KpiDef {
        name: "orders_placed",
        title: "Orders placed",
        formula: Formula::Count(Metric::OrdersPlaced),
        dims: CHANNEL,
        benchmark: None,
    },
    KpiDef {
        name: "order_to_ship",
        title: "Order to first shipment",
        formula: Formula::Duration(Metric::OrderToShip),
        dims: SHIPPING,
        benchmark: Some(Benchmark {
            target: 24.0,
            higher_is_better: false,
            source: RESEARCH,
        }),
    },
    KpiDef {
        name: "cycle_time",
        title: "Order cycle time (placed to delivered)",
        formula: Formula::Duration(Metric::CycleTime),
        dims: SHIPPING,
        benchmark: None,
    },
    KpiDef {
        name: "on_time_delivery",
        title: "Delivered by the promised date",
        formula: Formula::Rate {
            num: Metric::DeliveriesOnTime,
            den: Metric::DeliveriesPromised,
        },
        dims: SHIPPING,
        benchmark: Some(Benchmark {
            target: 96.0,
            higher_is_better: true,
            source: RESEARCH,
        }),
    },
    KpiDef {
        name: "order_accuracy",
        title: "Shipments without short pick, wrong item or damage",
        formula: Formula::Without {
            num: Metric::ShipmentsInaccurate,
            den: Metric::Shipments,
        },
        dims: SHIPPING,
        benchmark: Some(Benchmark {
            target: 99.5,
            higher_is_better: true,
            source: RESEARCH,
        }),
    },
    KpiDef {
        name: "exception_rate",
        title: "Orders that entered an exception queue",
        formula: Formula::Rate {
            num: Metric::OrdersWithException,
            den: Metric::OrdersPlaced,
        },
        dims: CHANNEL,
        benchmark: None,
    },
    KpiDef {
        name: "exceptions_opened",
        title: "Exception entries opened",
        formula: Formula::Count(Metric::ExceptionsOpened),
        dims: &[Dim::Channel, Dim::Queue],
        benchmark: None,
    },
    KpiDef {
        name: "cancellation_rate",
        title: "Orders cancelled",
        formula: Formula::Rate {
            num: Metric::OrdersCancelled,
            den: Metric::OrdersPlaced,
        },
        dims: REASONED,
        benchmark: None,
    },
    KpiDef {
        name: "cancellation_time",
        title: "Cancellation request to completion",
        formula: Formula::Duration(Metric::CancellationTime),
        dims: REASONED,
        benchmark: None,
    },
    KpiDef {
        name: "refund_rate",
        title: "Orders refunded",
        formula: Formula::Rate {
            num: Metric::OrdersRefunded,
            den: Metric::OrdersPlaced,
        },
        dims: CHANNEL,
        benchmark: None,
    },
    KpiDef {
        name: "refund_amount",
        title: "Money refunded",
        formula: Formula::Money(Metric::RefundAmount),
        dims: REASONED,
        benchmark: None,
    },
    KpiDef {
        name: "return_rate",
        title: "Units returned of units delivered",
        formula: Formula::Rate {
            num: Metric::ReturnUnits,
            den: Metric::DeliveredUnits,
        },
        dims: &[Dim::Channel, Dim::Sku],
        benchmark: None,
    },
    KpiDef {
        name: "returns_by_reason",
        title: "Returns authorized",
        formula: Formula::Count(Metric::ReturnsAuthorized),
        dims: REASONED,
        benchmark: None,
    },
    KpiDef {
        name: "returns_cycle",
        title: "Return authorized to refund",
        formula: Formula::Duration(Metric::ReturnsCycle),
        dims: REASONED,
        benchmark: Some(Benchmark {
            target: 5.0,
            higher_is_better: false,
            source: RESEARCH,
        }),
    },
    KpiDef {
        name: "return_authorization_turnaround",
        title: "Return requested to authorized or rejected",
        formula: Formula::Duration(Metric::ReturnAuthTurnaround),
        dims: REASONED,
        benchmark: None,
    },
    KpiDef {
        name: "exchange_completion",
        title: "Exchange asked to replacement delivered",
        formula: Formula::Duration(Metric::ExchangeTime),
        dims: CHANNEL,
        benchmark: None,
    },
    KpiDef {
        name: "policy_exception_rate",
        title: "Returns given a policy exception",
        formula: Formula::Rate {
            num: Metric::ReturnsWithException,
            den: Metric::ReturnsRequested,
        },
        dims: REASONED,
        benchmark: None,
    },
    KpiDef {
        name: "repeat_contact_rate",
        title: "Contacted orders with a second contact",
        formula: Formula::Rate {
            num: Metric::OrdersRepeatContact,
            den: Metric::OrdersContacted,
        },
        dims: CHANNEL,
        benchmark: None,
    },
    KpiDef {
        name: "order_status_contact_rate",
        title: "Orders whose customer asked where the order is",
        formula: Formula::Rate {
            num: Metric::OrdersStatusContact,
            den: Metric::OrdersPlaced,
        },
        dims: CHANNEL,
        benchmark: None,
    },
    KpiDef {
        name: "root_causes",
        title: "Cases resolved",
        formula: Formula::Count(Metric::CasesResolved),
        dims: &[Dim::Channel, Dim::RootCause],
        benchmark: None,
    },
    KpiDef {
        name: "repeat_purchase_rate",
        title: "Orders from customers with an earlier delivery",
        formula: Formula::Rate {
            num: Metric::RepeatAfterDelivery,
            den: Metric::OrdersPlaced,
        },
        dims: CHANNEL,
        benchmark: None,
    },
];
