//! The customer page: who they are (every email merged into the record, phone,
//! addresses), what they are worth (lifetime value per currency: captured less
//! refunded), how they behave (orders, cancellations, refunds, return rate) and what
//! support decided about them (flags with their reasons, notes), then their orders
//! (paged), returns and cases. It is read from `App::customer`, as `GET /customers/{id}`.

use crate::app::AppState;
use crate::console::error::ConsoleError;
use crate::console::page::{Layout, Pager, money, render, when_text, zone_of};
use crate::console::session::Viewer;
use crate::customers::view::customer_view;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

/// Orders per page of the customer's list.
const PER_PAGE: usize = 25;

pub struct OrderRow {
    pub number: String,
    pub href: String,
    pub channel: String,
    pub status: String,
    pub total: String,
    pub placed: String,
}

pub struct Row {
    pub cells: Vec<String>,
    pub href: String,
}

#[derive(Template)]
#[template(path = "console/customer.html")]
pub struct CustomerPage {
    pub layout: Layout,
    pub name: String,
    pub id: String,
    pub emails: Vec<String>,
    pub phone: String,
    pub merged_into: String,
    pub facts: Vec<(&'static str, String)>,
    pub flags: Vec<Row>,
    pub notes: Vec<Row>,
    pub addresses: Vec<String>,
    pub orders: Vec<OrderRow>,
    pub pager: Pager,
    pub returns: Vec<Row>,
    /// The returns desk narrowed to this customer (every return, paged).
    pub returns_href: String,
    pub cases: Vec<Row>,
}

#[derive(Debug, Deserialize)]
pub struct PageQuery {
    page: Option<usize>,
}

pub async fn customer_page(
    State(app): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Query(q): Query<PageQuery>,
) -> Result<Response, ConsoleError> {
    let detail = app.customer(&viewer.actor(), id).await?;
    let zone = zone_of(&app, &viewer);
    let v = customer_view(&detail);
    let r = &v.record;
    let t = |at: &str| when_text(at, &zone);
    let spend = v
        .spend
        .iter()
        .map(|s| {
            format!(
                "{} (ordered {}, refunded {})",
                money(s.lifetime_value, &s.currency),
                money(s.ordered, &s.currency),
                money(s.refunded, &s.currency)
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    let facts = vec![
        (
            "Orders",
            format!(
                "{}{}",
                v.orders_count,
                if v.orders_truncated {
                    " (the newest 1,000 counted)"
                } else {
                    ""
                }
            ),
        ),
        ("Lifetime value", spend),
        ("Cancelled orders", v.cancelled_orders.to_string()),
        ("Refunds", v.refunds.to_string()),
        ("Returns", v.returns_count.to_string()),
        (
            "Return rate",
            v.return_rate_percent.map_or_else(
                || "nothing shipped yet".to_owned(),
                |p| {
                    format!(
                        "{p:.1} % ({} of {} units shipped)",
                        v.returned_units, v.shipped_units
                    )
                },
            ),
        ),
        ("First order", t(&r.first_order_at)),
        ("Latest order", t(&r.last_order_at)),
    ];
    let page_no = q.page.unwrap_or(0).min(detail.orders.len() / PER_PAGE + 1);
    let orders = detail
        .orders
        .iter()
        .skip(page_no * PER_PAGE)
        .take(PER_PAGE)
        .map(|o| OrderRow {
            number: o.number.clone(),
            href: format!("/console/orders/{}", o.id),
            channel: o.channel.to_string(),
            status: o.customer_status().as_str().replace('_', " "),
            total: money(o.total(), o.currency.as_str()),
            placed: crate::console::page::when(o.created_at, &zone),
        })
        .collect();
    let base = format!("/console/customers/{}", r.id);
    let more = detail.orders.len() > (page_no + 1) * PER_PAGE;
    let pager = Pager {
        first: (page_no > 0).then(|| base.clone()),
        next: more.then(|| format!("{base}?page={}", page_no + 1)),
    };
    let page = CustomerPage {
        layout: Layout::new(&viewer, format!("Customer {}", r.email), "/console"),
        name: r.name.clone().unwrap_or_else(|| r.email.clone()),
        id: r.id.clone(),
        emails: v.emails.clone(),
        phone: r.phone.clone().unwrap_or_default(),
        merged_into: r.merged_into.clone().unwrap_or_default(),
        facts,
        flags: r
            .flags
            .iter()
            .map(|f| Row {
                cells: vec![f.flag.clone(), f.reason.clone(), f.by.clone(), t(&f.at)],
                href: String::new(),
            })
            .collect(),
        notes: r
            .notes
            .iter()
            .map(|n| Row {
                cells: vec![n.text.clone(), n.author.clone(), t(&n.at)],
                href: String::new(),
            })
            .collect(),
        addresses: v
            .addresses
            .iter()
            .map(|a| {
                [
                    Some(a.line1.clone()),
                    a.line2.clone(),
                    Some(format!("{} {} {}", a.postal_code, a.city, a.country)),
                ]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(", ")
            })
            .collect(),
        orders,
        pager,
        returns_href: format!(
            "/console/returns?list=all&customer={}",
            form_urlencoded::byte_serialize(r.email.as_bytes()).collect::<String>()
        ),
        returns: v
            .returns
            .iter()
            .map(|x| Row {
                cells: vec![
                    x.rma.clone(),
                    x.order_number.clone(),
                    x.status.replace('_', " "),
                    x.reason.clone(),
                    t(&x.requested_at),
                ],
                href: format!("/console/orders/{}", x.order_id),
            })
            .collect(),
        cases: v
            .cases
            .iter()
            .map(|c| Row {
                cells: vec![
                    c.number.clone(),
                    c.subject.clone(),
                    c.status.replace('_', " "),
                    c.root_cause.clone().unwrap_or_default(),
                    t(&c.opened_at),
                ],
                href: format!("/console/cases/{}", c.number),
            })
            .collect(),
    };
    Ok(render(Some(&viewer), StatusCode::OK, &page))
}
