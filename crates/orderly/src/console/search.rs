//! The one search box: whatever a customer or a colleague reads out (an order number or
//! id, the storefront's id, an email, a name, a phone number, a tracking number, an RMA
//! or a case number) is tried against every kind of thing it could be, among those the
//! role may read; a single hit opens it, several are listed. Each attempt is an indexed
//! lookup, so a search costs a handful of index reads whatever the database's size.

use crate::app::AppState;
use crate::app::error::AppError;
use crate::console::error::ConsoleError;
use crate::console::page::{Layout, render};
use crate::console::session::Viewer;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use orderly_domain::customer;
use orderly_store::{CustomerFilter, CustomerSearch, OrderFilter};
use serde::Deserialize;

/// How many hits of each kind a search lists.
const PER_KIND: u32 = 10;

#[derive(Debug, Clone)]
pub struct Hit {
    pub kind: &'static str,
    pub label: String,
    pub detail: String,
    pub href: String,
}

#[derive(Template)]
#[template(path = "console/search.html")]
struct SearchPage {
    layout: Layout,
    query: String,
    hits: Vec<Hit>,
}

#[derive(Debug, Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
}

/// A refusal for lack of permission is no hit; anything else is an error.
fn found<T>(r: Result<T, AppError>) -> Result<Option<T>, AppError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(AppError::Forbidden { .. } | AppError::NotFound(_)) => Ok(None),
        Err(AppError::Order(orderly_domain::order::OrderError::NotFound)) => Ok(None),
        Err(e) => Err(e),
    }
}

fn order_hit(o: &orderly_domain::order::Order, why: &str) -> Hit {
    Hit {
        kind: "order",
        label: o.number.clone(),
        detail: format!(
            "{} · {} · {}",
            o.customer.email.as_str(),
            o.customer_status().as_str(),
            why
        ),
        href: format!("/console/orders/{}", o.id),
    }
}

/// Every hit for `q`, most specific first.
pub async fn hits(app: &AppState, viewer: &Viewer, q: &str) -> Result<Vec<Hit>, AppError> {
    let actor = viewer.actor();
    let mut hits: Vec<Hit> = Vec::new();
    let upper = q.to_uppercase();
    // An order by id or number.
    let mut order = found(app.order(&actor, q.to_owned()).await)?;
    if order.is_none() && upper != q {
        order = found(app.order(&actor, upper.clone()).await)?;
    }
    if let Some(o) = order {
        hits.push(order_hit(&o, "order"));
    }
    if upper.starts_with("RMA-") || q.starts_with("rma_") {
        let key = if q.starts_with("rma_") {
            q.to_owned()
        } else {
            upper.clone()
        };
        if let Some((order, id)) = found(app.return_with_order(&actor, key).await)? {
            let rma = order
                .return_by_id(id.as_str())
                .map_or_else(|| id.to_string(), |r| r.rma.clone());
            hits.push(Hit {
                kind: "return",
                label: rma,
                detail: format!("return on {}", order.number),
                href: format!("/console/returns/{id}"),
            });
        }
    }
    if upper.starts_with("CASE-") || q.starts_with("cas_") {
        let key = if q.starts_with("cas_") {
            q.to_owned()
        } else {
            upper.clone()
        };
        if let Some(c) = found(app.case(&actor, key).await)? {
            hits.push(Hit {
                kind: "case",
                label: c.case.number.clone(),
                detail: format!("{} · {}", c.case.subject, c.case.status.as_str()),
                href: format!("/console/cases/{}", c.case.id),
            });
        }
    }
    // A shipment's tracking number, and the storefront's own id for an order.
    for filter in [
        OrderFilter {
            tracking_number: Some(q.to_owned()),
            limit: PER_KIND,
            ..OrderFilter::default()
        },
        OrderFilter {
            external_id: Some(q.to_owned()),
            limit: PER_KIND,
            ..OrderFilter::default()
        },
    ] {
        let why = if filter.tracking_number.is_some() {
            "tracking number"
        } else {
            "external id"
        };
        for o in found(app.orders(&actor, filter).await)?.unwrap_or_default() {
            if !hits.iter().any(|h| h.href.ends_with(o.id.as_str())) {
                hits.push(order_hit(&o, why));
            }
        }
    }
    // Customers by email, phone or name.
    let search = if q.contains('@') {
        Some(CustomerSearch::Email(q.to_lowercase()))
    } else if q.chars().filter(char::is_ascii_digit).count() >= 4
        && q.chars()
            .all(|c| c.is_ascii_digit() || " +-().".contains(c))
    {
        customer::phone_key(q).map(CustomerSearch::Phone)
    } else if q.chars().any(char::is_alphabetic) && !q.contains('_') {
        Some(CustomerSearch::Name(customer::name_key(q)))
    } else {
        None
    };
    if q.starts_with("cus_")
        && let Some(d) = found(app.customer(&actor, q.to_owned()).await)?
    {
        hits.push(customer_hit(&d.record));
    }
    if let Some(search) = search {
        let filter = CustomerFilter {
            search,
            channels: None,
            after: None,
            limit: PER_KIND,
        };
        for c in found(app.customers(&actor, filter).await)?.unwrap_or_default() {
            hits.push(customer_hit(&c));
        }
    }
    Ok(hits)
}

fn customer_hit(c: &orderly_store::CustomerRecord) -> Hit {
    Hit {
        kind: "customer",
        label: c.name.clone().unwrap_or_else(|| c.email.clone()),
        detail: format!("{} · {}", c.email, c.phone.as_deref().unwrap_or("no phone")),
        href: format!("/console/customers/{}", c.id),
    }
}

pub async fn search(
    State(app): State<AppState>,
    viewer: Viewer,
    Query(query): Query<SearchQuery>,
) -> Response {
    let q: String = query.q.trim().chars().take(200).collect();
    let hits = if q.is_empty() {
        Vec::new()
    } else {
        match hits(&app, &viewer, &q).await {
            Ok(h) => h,
            Err(e) => return ConsoleError::from(e).into_response(),
        }
    };
    if let [only] = hits.as_slice() {
        return Redirect::to(&only.href).into_response();
    }
    let mut layout = Layout::new(&viewer, format!("Search: {q}"), "");
    layout.query.clone_from(&q);
    let page = SearchPage {
        layout,
        query: q,
        hits,
    };
    render(Some(&viewer), StatusCode::OK, &page)
}
