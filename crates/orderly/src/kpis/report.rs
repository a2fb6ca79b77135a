//! KPI values from counter rows: pure arithmetic over what the store kept, so the same
//! rows give the same report in the API, the weekly review and the console.

use super::catalog::{Formula, KPIS, KpiDef};
use jiff::civil::Date;
use orderly_domain::kpi::{Dim, Metric, Unit, bucket_floor, percentile};
use orderly_store::{KpiKey, KpiRows};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use utoipa::ToSchema;

/// The length of a trend's steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Day,
    Week,
    Month,
}

impl Period {
    pub fn parse(s: &str) -> Option<Period> {
        match s {
            "day" => Some(Period::Day),
            "week" => Some(Period::Week),
            "month" => Some(Period::Month),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Period::Day => "day",
            Period::Week => "week",
            Period::Month => "month",
        }
    }

    /// The first day of the step `day` is in (weeks start on Monday).
    pub fn start(self, day: Date) -> Date {
        match self {
            Period::Day => day,
            Period::Week => monday_of(day),
            Period::Month => day.first_of_month(),
        }
    }
}

fn monday_of(day: Date) -> Date {
    let back = i64::from(day.weekday().to_monday_zero_offset());
    day.checked_sub(jiff::Span::new().days(back)).unwrap_or(day)
}

/// What one metric's rows add up to.
#[derive(Debug, Clone, Default)]
struct Sums {
    count: i64,
    sum: i64,
    buckets: BTreeMap<i64, i64>,
}

type Tally = BTreeMap<String, Sums>;

fn tally<'a>(rows: impl Iterator<Item = (&'a KpiKey, &'a orderly_store::KpiSums)>) -> Tally {
    let mut t = Tally::new();
    for (k, v) in rows {
        let s = t.entry(k.metric.clone()).or_default();
        s.count += v.count;
        s.sum += v.sum;
        *s.buckets.entry(k.bucket).or_default() += v.count;
    }
    t
}

/// One KPI's value over some rows.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct KpiValue {
    /// The headline figure: a percentage for rates, the median for durations (hours,
    /// or business days for the returns cycle), the count for counts; none without data.
    pub value: Option<f64>,
    /// Observations: the rate's numerator, the durations measured, the count.
    pub count: i64,
    /// A rate's denominator.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub denominator: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p90: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean: Option<f64>,
    /// Money, per currency, in minor units.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub amounts: Vec<KpiAmount>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct KpiAmount {
    pub currency: String,
    pub minor: i64,
    pub refunds: i64,
}

fn sums(t: &Tally, m: Metric) -> Option<&Sums> {
    t.get(m.as_str())
}

/// A duration in the unit the report shows it in.
fn shown(m: Metric, raw: i64) -> f64 {
    match m.unit() {
        Unit::Seconds => bucket_floor(raw) as f64 / 3_600.0,
        _ => raw as f64,
    }
}

fn rate(num: i64, den: i64) -> Option<f64> {
    (den > 0).then(|| num as f64 * 100.0 / den as f64)
}

/// The KPI over `t`; a rate whose denominator the grouping does not keep at all
/// (cancellation reasons over all orders placed) takes it from `base`, the ungrouped
/// total (for a grouping that keeps it, `base` is None: a group without any is 0).
fn value(def: &KpiDef, t: &Tally, base: Option<&Tally>) -> KpiValue {
    let den_of = |m: Metric| {
        sums(t, m)
            .or_else(|| base.and_then(|b| sums(b, m)))
            .map_or(0, |s| s.count)
    };
    match def.formula {
        Formula::Rate { num, den } => {
            let (n, d) = (sums(t, num).map_or(0, |s| s.count), den_of(den));
            KpiValue {
                value: rate(n, d),
                count: n,
                denominator: Some(d),
                ..KpiValue::default()
            }
        }
        Formula::Without { num, den } => {
            let (n, d) = (sums(t, num).map_or(0, |s| s.count), den_of(den));
            KpiValue {
                value: rate(d - n, d),
                count: n,
                denominator: Some(d),
                ..KpiValue::default()
            }
        }
        Formula::Duration(m) => {
            let Some(s) = sums(t, m) else {
                return KpiValue::default();
            };
            let buckets: Vec<(i64, i64)> = s.buckets.iter().map(|(b, n)| (*b, *n)).collect();
            let scale = if m.unit() == Unit::Seconds {
                3_600.0
            } else {
                1.0
            };
            KpiValue {
                value: percentile(&buckets, 50).map(|b| shown(m, b)),
                count: s.count,
                p90: percentile(&buckets, 90).map(|b| shown(m, b)),
                mean: (s.count > 0).then(|| s.sum as f64 / s.count as f64 / scale),
                ..KpiValue::default()
            }
        }
        Formula::Count(m) => {
            let n = sums(t, m).map_or(0, |s| s.count);
            KpiValue {
                value: Some(n as f64),
                count: n,
                ..KpiValue::default()
            }
        }
        Formula::Money(m) => {
            let amounts: Vec<KpiAmount> = t
                .iter()
                .filter_map(|(name, s)| match Metric::parse_stored(name) {
                    Some((metric, Some(c))) if metric == m => Some(KpiAmount {
                        currency: c.as_str().to_owned(),
                        minor: s.sum,
                        refunds: s.count,
                    }),
                    _ => None,
                })
                .collect();
            KpiValue {
                value: None,
                count: amounts.iter().map(|a| a.refunds).sum(),
                amounts,
                ..KpiValue::default()
            }
        }
    }
}

/// A rate's denominator.
fn denominator(def: &KpiDef) -> Option<Metric> {
    match def.formula {
        Formula::Rate { den, .. } | Formula::Without { den, .. } => Some(den),
        _ => None,
    }
}

fn uses(def: &KpiDef, stored: &str) -> bool {
    Metric::parse_stored(stored).is_some_and(|(m, _)| def.formula.metrics().contains(&m))
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BenchmarkView {
    pub target: f64,
    pub higher_is_better: bool,
    pub source: String,
    /// Whether the period's value meets it (none without data).
    pub met: Option<bool>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SeriesPoint {
    /// The first day of the step.
    pub period: String,
    pub value: Option<f64>,
    pub count: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GroupValue {
    pub key: String,
    #[serde(flatten)]
    pub value: KpiValue,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KpiFigure {
    pub name: String,
    pub title: String,
    /// `percent`, `hours`, `business_days`, `count` or `money`.
    pub unit: String,
    pub benchmark: Option<BenchmarkView>,
    pub total: KpiValue,
    /// The total per step of the period, oldest first, every step listed.
    pub series: Vec<SeriesPoint>,
    /// Whether the KPI is kept by the channel or location the report is narrowed to;
    /// when not, it has no value, trend or groups.
    pub applies: bool,
    /// Whether the KPI is kept by the grouping asked for; when not, `groups` is empty.
    pub grouped: bool,
    pub groups: Vec<GroupValue>,
}

fn unit_of(def: &KpiDef) -> &'static str {
    match def.formula {
        Formula::Rate { .. } | Formula::Without { .. } => "percent",
        Formula::Duration(m) if m.unit() == Unit::BusinessDays => "business_days",
        Formula::Duration(_) => "hours",
        Formula::Count(_) => "count",
        Formula::Money(_) => "money",
    }
}

/// Every step of `period` from `from` to `to`.
fn steps(from: Date, to: Date, period: Period) -> Vec<Date> {
    let mut out = BTreeSet::new();
    let mut day = from;
    while day <= to {
        out.insert(period.start(day));
        match day.tomorrow() {
            Ok(next) => day = next,
            Err(_) => break,
        }
    }
    out.into_iter().collect()
}

/// The report from the base rows (those of `Dim::All`, or of one channel or location
/// when `only` names that dimension) and, when grouped, the grouping's rows (keyed as
/// they should be shown: a category's rows already summed from its SKUs').
pub fn figures(
    all: &KpiRows,
    only: Option<Dim>,
    grouped: Option<(Dim, &KpiRows)>,
    (from, to, period): (Date, Date, Period),
) -> Vec<KpiFigure> {
    let whole = tally(all.iter());
    let steps = steps(from, to, period);
    KPIS.iter()
        .map(|def| {
            let applies = only.is_none_or(|d| def.dims.contains(&d));
            if !applies {
                return KpiFigure {
                    name: def.name.to_owned(),
                    title: def.title.to_owned(),
                    unit: unit_of(def).to_owned(),
                    benchmark: None,
                    total: KpiValue::default(),
                    series: Vec::new(),
                    applies,
                    grouped: false,
                    groups: Vec::new(),
                };
            }
            let total = value(def, &whole, None);
            let series = steps
                .iter()
                .map(|start| {
                    let t = tally(all.iter().filter(|(k, _)| period.start(k.day) == *start));
                    let v = value(def, &t, None);
                    SeriesPoint {
                        period: start.to_string(),
                        value: v.value,
                        count: v.count,
                    }
                })
                .collect();
            let is_grouped = grouped.is_some_and(|(d, _)| def.dims.contains(&d));
            let groups = match grouped {
                Some((_, rows)) if is_grouped => {
                    let kept = tally(rows.iter());
                    let base = denominator(def).filter(|d| sums(&kept, *d).is_none());
                    let keys: BTreeSet<&str> = rows
                        .keys()
                        .filter(|k| uses(def, &k.metric))
                        .map(|k| k.key.as_str())
                        .collect();
                    keys.into_iter()
                        .map(|key| GroupValue {
                            key: key.to_owned(),
                            value: value(
                                def,
                                &tally(rows.iter().filter(|(k, _)| k.key == key)),
                                base.map(|_| &whole),
                            ),
                        })
                        .collect()
                }
                _ => Vec::new(),
            };
            KpiFigure {
                name: def.name.to_owned(),
                title: def.title.to_owned(),
                unit: unit_of(def).to_owned(),
                benchmark: def.benchmark.map(|b| BenchmarkView {
                    target: b.target,
                    higher_is_better: b.higher_is_better,
                    source: b.source.to_owned(),
                    met: total.value.map(|v| {
                        if b.higher_is_better {
                            v >= b.target
                        } else {
                            v <= b.target
                        }
                    }),
                }),
                total,
                series,
                applies,
                grouped: is_grouped,
                groups,
            }
        })
        .collect()
}
