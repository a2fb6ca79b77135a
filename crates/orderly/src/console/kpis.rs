//! The operations dashboard: every KPI over a period with its trend chart (SVG drawn on
//! the server), its benchmark line, and a link to the orders behind the number, narrowed
//! to a channel or a location if asked. It reads the same report as
//! `GET /metrics/kpis` (`App::kpi_report`), so the page and the API never disagree.

use crate::app::AppState;
use crate::console::error::ConsoleError;
use crate::console::page::{Layout, Pager, render, when, zone_of};
use crate::console::session::Viewer;
use crate::kpis::report::{KpiFigure, Period};
use crate::kpis::{KpiQuery, MAX_DAYS, chart};
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use jiff::civil::Date;
use orderly_domain::kpi::Dim;
use orderly_store::OrderFilter;
use serde::Deserialize;

type Answered = Result<Response, ConsoleError>;

/// Orders per page of a KPI's orders.
const PER_PAGE: u32 = 50;

#[derive(Debug, Default, Deserialize)]
pub struct DashboardQuery {
    from: Option<String>,
    to: Option<String>,
    period: Option<String>,
    channel: Option<String>,
    location: Option<String>,
    kpi: Option<String>,
    cursor: Option<String>,
}

pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

pub struct Card {
    pub name: String,
    pub title: String,
    pub headline: String,
    /// p90 and mean for durations, the fraction for rates.
    pub detail: String,
    /// The line, and whether the period met it (none without data).
    pub benchmark: Option<(String, Option<bool>)>,
    pub svg: Option<String>,
    pub orders_href: String,
}

#[derive(Template)]
#[template(path = "console/kpis.html")]
pub struct DashboardPage {
    pub layout: Layout,
    pub from: String,
    pub to: String,
    pub periods: Vec<Choice>,
    pub channels: Vec<Choice>,
    pub locations: Vec<Choice>,
    pub cards: Vec<Card>,
    pub not_kept: Vec<String>,
    /// `channel` or `location`, when the page is narrowed to one.
    pub narrowed_by: &'static str,
    pub zone: String,
}

/// The filters of a dashboard request, checked: dates, step, and one channel or
/// location at most.
struct Asked {
    from: Date,
    to: Date,
    period: Period,
    only: Option<(Dim, String)>,
}

fn bad(message: &str) -> ConsoleError {
    ConsoleError::BadForm(message.into())
}

fn date(raw: Option<&str>) -> Result<Option<Date>, ConsoleError> {
    raw.filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<Date>()
                .map_err(|_| bad("a date is written YYYY-MM-DD"))
        })
        .transpose()
}

fn asked(app: &AppState, q: &DashboardQuery) -> Result<Asked, ConsoleError> {
    let rules = app
        .config
        .kpi_rules()
        .map_err(|e| ConsoleError::App(crate::app::error::AppError::Internal(e.to_string())))?;
    let to = date(q.to.as_deref())?.unwrap_or_else(|| rules.day(app.now()));
    let from = match date(q.from.as_deref())? {
        Some(f) => f,
        None => to
            .checked_sub(jiff::Span::new().days(29))
            .map_err(|_| bad("too early a date"))?,
    };
    if from > to || i64::from((to - from).get_days()) + 1 > MAX_DAYS {
        return Err(bad("the period runs forward, for at most 366 days"));
    }
    let period = match q.period.as_deref().filter(|p| !p.is_empty()) {
        None => Period::Day,
        Some(p) => Period::parse(p).ok_or_else(|| bad("a step is a day, a week or a month"))?,
    };
    let channel = q.channel.clone().filter(|c| !c.is_empty());
    let location = q.location.clone().filter(|l| !l.is_empty());
    let only = match (channel, location) {
        (Some(c), None) => Some((Dim::Channel, c)),
        (None, Some(l)) => Some((Dim::Location, l)),
        (None, None) => None,
        (Some(_), Some(_)) => return Err(bad("narrow to a channel or a location, not both")),
    };
    Ok(Asked {
        from,
        to,
        period,
        only,
    })
}

/// A value as the card shows it.
fn shown(value: Option<f64>, unit: &str) -> String {
    match (value, unit) {
        (None, _) => "—".into(),
        (Some(v), "percent") => format!("{v:.1} %"),
        (Some(v), "hours") => format!("{v:.1} h"),
        (Some(v), "business_days") => format!("{v:.1} business days"),
        (Some(v), _) => format!("{v:.0}"),
    }
}

fn card(f: &KpiFigure, orders_href: String) -> Card {
    let t = &f.total;
    let headline = if f.unit == "money" {
        if t.amounts.is_empty() {
            "—".into()
        } else {
            t.amounts
                .iter()
                .map(|a| crate::console::page::money(a.minor, &a.currency))
                .collect::<Vec<_>>()
                .join(" · ")
        }
    } else {
        shown(t.value, &f.unit)
    };
    let detail = match (f.unit.as_str(), t.denominator) {
        // The share the headline counts (for accuracy, the shipments without a problem).
        ("percent", Some(d)) => {
            let part = t.value.map_or(0.0, |v| (v * d as f64 / 100.0).round());
            format!("{part:.0} of {d}")
        }
        ("hours" | "business_days", _) => format!(
            "p90 {} · mean {} · {} measured",
            shown(t.p90, &f.unit),
            shown(t.mean, &f.unit),
            t.count
        ),
        _ => format!("{} counted", t.count),
    };
    let benchmark = f.benchmark.as_ref().map(|b| {
        let side = if b.higher_is_better { "above" } else { "under" };
        (
            format!("Best in class: {side} {}", shown(Some(b.target), &f.unit)),
            b.met,
        )
    });
    Card {
        name: f.name.clone(),
        title: f.title.clone(),
        headline,
        detail,
        benchmark,
        svg: chart::trend_svg(f, 360.0, 170.0),
        orders_href,
    }
}

/// Where the orders behind a KPI are listed: its orders page, or the queue its number
/// comes from.
fn orders_href(name: &str, base: &str) -> String {
    match name {
        "exception_rate" | "exceptions_opened" => "/console/exceptions".into(),
        "return_rate"
        | "returns_by_reason"
        | "returns_cycle"
        | "return_authorization_turnaround"
        | "policy_exception_rate"
        | "exchange_completion" => "/console/returns?list=all".into(),
        "repeat_contact_rate" | "order_status_contact_rate" | "root_causes" => {
            "/console/cases?queue=all".into()
        }
        _ => format!("/console/kpis/orders?kpi={name}&{base}"),
    }
}

fn choices(all: &[(String, String)], current: Option<&str>, none: &str) -> Vec<Choice> {
    std::iter::once(Choice {
        value: String::new(),
        label: none.into(),
        selected: current.is_none(),
    })
    .chain(all.iter().map(|(id, name)| Choice {
        value: id.clone(),
        label: name.clone(),
        selected: current == Some(id.as_str()),
    }))
    .collect()
}

/// The query string that asks for the same period and narrowing.
fn base_query(a: &Asked) -> String {
    let mut q = format!("from={}&to={}&period={}", a.from, a.to, a.period.as_str());
    if let Some((dim, key)) = &a.only {
        q.push_str(&format!(
            "&{}={}",
            dim.as_str(),
            form_urlencoded::byte_serialize(key.as_bytes()).collect::<String>()
        ));
    }
    q
}

pub async fn dashboard(
    State(app): State<AppState>,
    viewer: Viewer,
    Query(q): Query<DashboardQuery>,
) -> Answered {
    let a = asked(&app, &q)?;
    let figures = app
        .kpi_report(
            &viewer.actor(),
            KpiQuery {
                from: a.from,
                to: a.to,
                group_by: None,
                period: a.period,
                only: a.only.clone(),
            },
        )
        .await?;
    let base = base_query(&a);
    let cards = figures
        .iter()
        .filter(|f| f.applies)
        .map(|f| card(f, orders_href(&f.name, &base)))
        .collect();
    let not_kept = figures
        .iter()
        .filter(|f| !f.applies)
        .map(|f| f.title.clone())
        .collect();
    let channel = a.only.as_ref().filter(|(d, _)| *d == Dim::Channel);
    let location = a.only.as_ref().filter(|(d, _)| *d == Dim::Location);
    let channels: Vec<(String, String)> = app
        .config
        .channels
        .iter()
        .map(|c| (c.id.clone(), c.name.clone()))
        .collect();
    let locations: Vec<(String, String)> = app
        .config
        .locations
        .iter()
        .map(|l| (l.id.clone(), l.name.clone()))
        .collect();
    let periods = [
        ("day", "per day"),
        ("week", "per week"),
        ("month", "per month"),
    ]
    .iter()
    .map(|(v, l)| Choice {
        value: (*v).into(),
        label: (*l).into(),
        selected: a.period.as_str() == *v,
    })
    .collect();
    let page = DashboardPage {
        layout: Layout::new(&viewer, "KPIs", "/console/kpis"),
        from: a.from.to_string(),
        to: a.to.to_string(),
        periods,
        channels: choices(&channels, channel.map(|(_, k)| k.as_str()), "every channel"),
        locations: choices(
            &locations,
            location.map(|(_, k)| k.as_str()),
            "every location",
        ),
        cards,
        not_kept,
        narrowed_by: a.only.as_ref().map_or("", |(d, _)| d.as_str()),
        zone: app.config.calendar.time_zone.clone(),
    };
    Ok(render(Some(&viewer), StatusCode::OK, &page))
}

pub struct OrderLine {
    pub number: String,
    pub href: String,
    pub placed: String,
    pub status: String,
    pub channel: String,
}

#[derive(Template)]
#[template(path = "console/kpi_orders.html")]
pub struct OrdersPage {
    pub layout: Layout,
    pub heading: String,
    pub back: String,
    pub rows: Vec<OrderLine>,
    pub pager: Pager,
}

/// The orders placed in the period (in the channel, if narrowed to one) that a KPI
/// counts, newest first: cancelled ones for the cancellation KPIs, refunded ones for the
/// refund KPIs, delivered ones for the delivery KPIs, all of them otherwise.
pub async fn orders(
    State(app): State<AppState>,
    viewer: Viewer,
    Query(q): Query<DashboardQuery>,
) -> Answered {
    let a = asked(&app, &q)?;
    let kpi = q.kpi.clone().unwrap_or_default();
    let Some(def) = crate::kpis::catalog::KPIS.iter().find(|k| k.name == kpi) else {
        return Err(ConsoleError::NoPage);
    };
    let rules = app
        .config
        .kpi_rules()
        .map_err(|e| ConsoleError::App(crate::app::error::AppError::Internal(e.to_string())))?;
    let tz = rules.calendar.time_zone().clone();
    let start = |d: Date| d.to_zoned(tz.clone()).map(|z| z.timestamp());
    let created_from = start(a.from).map_err(|_| bad("a date outside the calendar"))?;
    let next_day =
        a.to.tomorrow()
            .map_err(|_| bad("a date outside the calendar"))?;
    let created_to = start(next_day).map_err(|_| bad("a date outside the calendar"))?;
    let mut filter = OrderFilter {
        channel: a
            .only
            .as_ref()
            .filter(|(d, _)| *d == Dim::Channel)
            .map(|(_, k)| k.clone()),
        created_from: Some(created_from),
        created_to: Some(created_to),
        before_id: q.cursor.clone().filter(|c| !c.is_empty()),
        limit: PER_PAGE + 1,
        ..OrderFilter::default()
    };
    let what = match def.name {
        "cancellation_rate" | "cancellation_time" => {
            filter.order_state = Some("cancelled".into());
            "cancelled"
        }
        "refund_rate" | "refund_amount" => {
            filter.refund_state = Some("refunded".into());
            "refunded in full"
        }
        "cycle_time" | "on_time_delivery" => {
            filter.fulfillment_state = Some("delivered".into());
            "delivered"
        }
        _ => "placed",
    };
    let mut found = app.orders(&viewer.actor(), filter).await?;
    let more = found.len() > PER_PAGE as usize;
    found.truncate(PER_PAGE as usize);
    let zone = zone_of(&app, &viewer);
    let base = base_query(&a);
    let list = format!("/console/kpis/orders?kpi={}&{base}", def.name);
    let pager = Pager::new(
        &list,
        q.cursor.as_deref().is_some_and(|c| !c.is_empty()),
        more.then(|| found.last().map(|o| o.id.to_string()))
            .flatten(),
    );
    let rows = found
        .iter()
        .map(|o| OrderLine {
            number: o.number.clone(),
            href: format!("/console/orders/{}", o.id),
            placed: when(o.created_at, &zone),
            status: o.customer_status().as_str().to_owned(),
            channel: o.channel.to_string(),
        })
        .collect();
    let page = OrdersPage {
        layout: Layout::new(&viewer, def.title, "/console/kpis"),
        heading: format!(
            "{}: orders placed {} to {} and {what}",
            def.title, a.from, a.to
        ),
        back: format!("/console/kpis?{base}"),
        rows,
        pager,
    };
    Ok(render(Some(&viewer), StatusCode::OK, &page))
}
