//! `orderly report weekly`: the weekly operations review. For one week (Monday to
//! Sunday in the business calendar's zone) it shows every KPI with last week's value
//! beside it and its benchmark, as CSV for a spreadsheet or as a standalone HTML page
//! with an eight-week trend chart per KPI. It reads the same report as the API.

use super::report::{KpiFigure, Period};
use super::{KpiQuery, chart};
use crate::app::App;
use askama::Template;
use jiff::civil::Date;
use orderly_domain::actor::Actor;

/// Weeks of trend the HTML review charts.
const TREND_WEEKS: i64 = 8;

/// One KPI's line of the review.
pub struct ReviewLine {
    pub name: String,
    pub title: String,
    pub unit: String,
    pub this_week: String,
    pub last_week: String,
    pub count: i64,
    pub denominator: Option<i64>,
    pub p90: String,
    pub mean: String,
    pub benchmark: String,
    pub met: String,
    pub svg: Option<String>,
}

#[derive(Template)]
#[template(path = "report_weekly.html")]
struct WeeklyPage<'a> {
    from: String,
    to: String,
    zone: &'a str,
    lines: &'a [ReviewLine],
}

/// The Monday of the week `day` is in.
pub fn monday_of(day: Date) -> Date {
    Period::Week.start(day)
}

/// A value as the review writes it: counts whole, the rest to two decimals.
fn number(value: Option<f64>, unit: &str) -> String {
    match (value, unit) {
        (None, _) => String::new(),
        (Some(v), "count") => format!("{v:.0}"),
        (Some(v), _) => format!("{v:.2}"),
    }
}

fn line(week: &KpiFigure, trend: &KpiFigure) -> ReviewLine {
    let t = &week.total;
    let money = |f: &KpiFigure| {
        f.total
            .amounts
            .iter()
            .map(
                |a| match orderly_domain::values::Currency::parse(&a.currency) {
                    Ok(c) => orderly_domain::order::money(a.minor, &c),
                    Err(_) => format!("{} {}", a.currency, a.minor),
                },
            )
            .collect::<Vec<_>>()
            .join("; ")
    };
    let last = trend.series.iter().rev().nth(1);
    let (this_week, last_week) = if week.unit == "money" {
        // The trend's steps carry no amounts: last week's money is left to its own report.
        (money(week), String::new())
    } else {
        (
            number(t.value, &week.unit),
            number(last.and_then(|p| p.value), &week.unit),
        )
    };
    ReviewLine {
        name: week.name.clone(),
        title: week.title.clone(),
        unit: week.unit.clone(),
        this_week,
        last_week,
        count: t.count,
        denominator: t.denominator,
        p90: number(t.p90, &week.unit),
        mean: number(t.mean, &week.unit),
        benchmark: week
            .benchmark
            .as_ref()
            .map(|b| {
                let side = if b.higher_is_better { "≥" } else { "≤" };
                format!("{side} {}", b.target)
            })
            .unwrap_or_default(),
        met: match week.benchmark.as_ref().and_then(|b| b.met) {
            Some(true) => "met".into(),
            Some(false) => "not met".into(),
            None => String::new(),
        },
        svg: chart::trend_svg(trend, 420.0, 180.0),
    }
}

/// The review of the week starting `monday`, one line per KPI.
pub async fn review(app: &App, monday: Date) -> anyhow::Result<Vec<ReviewLine>> {
    let sunday = monday.checked_add(jiff::Span::new().days(6))?;
    let first = monday.checked_sub(jiff::Span::new().weeks(TREND_WEEKS - 1))?;
    let actor = Actor::system("report");
    let ask = |from, period| KpiQuery {
        from,
        to: sunday,
        group_by: None,
        period,
        only: None,
    };
    let week = app.kpi_report(&actor, ask(monday, Period::Day)).await?;
    let trend = app.kpi_report(&actor, ask(first, Period::Week)).await?;
    Ok(week.iter().zip(&trend).map(|(w, t)| line(w, t)).collect())
}

/// The review as CSV, one row per KPI.
pub fn csv(lines: &[ReviewLine]) -> anyhow::Result<String> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record([
        "kpi",
        "title",
        "unit",
        "this_week",
        "last_week",
        "count",
        "denominator",
        "p90",
        "mean",
        "benchmark",
        "benchmark_met",
    ])?;
    for l in lines {
        out.write_record([
            l.name.as_str(),
            &l.title,
            &l.unit,
            &l.this_week,
            &l.last_week,
            &l.count.to_string(),
            &l.denominator.map(|d| d.to_string()).unwrap_or_default(),
            &l.p90,
            &l.mean,
            &l.benchmark,
            &l.met,
        ])?;
    }
    Ok(String::from_utf8(out.into_inner()?)?)
}

/// The review as a standalone HTML page with its charts.
pub fn html(lines: &[ReviewLine], monday: Date, zone: &str) -> anyhow::Result<String> {
    let sunday = monday.checked_add(jiff::Span::new().days(6))?;
    Ok(WeeklyPage {
        from: monday.to_string(),
        to: sunday.to_string(),
        zone,
        lines,
    }
    .render()?)
}
