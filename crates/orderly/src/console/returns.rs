//! The returns desk: the returns waiting for a review, those on their way back, those
//! received and not yet inspected, each list paged; a scan field that opens a return by
//! its RMA barcode; and one return's page with its decision (the policy version and the
//! rules that sent it where it is), items with their two facts (reception and
//! acceptance), money, and the forms the role may use: approve or deny within the
//! role's approval limit, receive by scanning, inspect item by item. The forms post to
//! `return_actions`.

use crate::app::AppState;
use crate::app::auth::{Permission, allows};
use crate::console::error::ConsoleError;
use crate::console::page::{Layout, Pager, cursor, money, render, when, when_text, zone_of};
use crate::console::session::Viewer;
use crate::http::extract::{page_cursor, time_cursor_key};
use crate::returns::view::return_view;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use orderly_domain::returns::{Acceptance, Disposition, Reception};
use orderly_store::ReturnFilter;
use serde::Deserialize;

/// Returns per page of the desk.
const PER_PAGE: u32 = 50;

type Answered = Result<Response, ConsoleError>;

/// The desk's lists: (name, label, states).
const LISTS: [(&str, &str, &[&str]); 4] = [
    ("review", "Waiting for review", &["needs_review"]),
    (
        "expected",
        "On their way back",
        &["authorized", "in_transit", "lost"],
    ),
    ("received", "Received, to inspect", &["received"]),
    ("all", "All", &[]),
];

pub struct Tab {
    pub label: &'static str,
    pub href: String,
    pub current: bool,
}

pub struct DeskRow {
    pub rma: String,
    pub href: String,
    pub order_number: String,
    pub order_href: String,
    pub state: String,
    pub reason: String,
    pub wanted: String,
    pub units: u32,
    pub value: String,
    pub requested: String,
}

#[derive(Template)]
#[template(path = "console/returns.html")]
pub struct DeskPage {
    pub layout: Layout,
    pub heading: &'static str,
    /// The customer the lists are narrowed to, if any.
    pub customer: String,
    pub tabs: Vec<Tab>,
    pub rows: Vec<DeskRow>,
    pub pager: Pager,
    pub receive: bool,
}

#[derive(Debug, Deserialize)]
pub struct DeskQuery {
    list: Option<String>,
    /// Only this customer's returns (their email).
    customer: Option<String>,
    cursor: Option<String>,
}

/// The list a role starts on: the warehouse receives, the others review.
fn default_list(viewer: &Viewer) -> &'static str {
    if allows(viewer.user.role, Permission::ReviewReturns) {
        "review"
    } else {
        "expected"
    }
}

pub async fn desk(
    State(app): State<AppState>,
    viewer: Viewer,
    Query(q): Query<DeskQuery>,
) -> Answered {
    let wanted = q.list.as_deref().unwrap_or(default_list(&viewer));
    let &(name, heading, states) = LISTS
        .iter()
        .find(|(n, ..)| *n == wanted)
        .unwrap_or(&LISTS[0]);
    let customer = q
        .customer
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty() && c.len() <= 254)
        .map(str::to_lowercase);
    let filter = ReturnFilter {
        states: states.iter().map(|s| (*s).to_owned()).collect(),
        customer_email: customer.clone(),
        before: cursor(q.cursor.as_deref())?,
        limit: PER_PAGE + 1,
        ..ReturnFilter::default()
    };
    let mut rows = app.returns(&viewer.actor(), filter).await?;
    let next = page_cursor(&mut rows, PER_PAGE, |r| {
        let (at, id) = r.key();
        time_cursor_key(at, &id)
    });
    let zone = zone_of(&app, &viewer);
    let of_customer = customer
        .as_deref()
        .map(|c| {
            let c: String = form_urlencoded::byte_serialize(c.as_bytes()).collect();
            format!("&customer={c}")
        })
        .unwrap_or_default();
    let here = format!("/console/returns?list={name}{of_customer}");
    let page = DeskPage {
        layout: Layout::new(&viewer, "Returns", "/console/returns"),
        heading,
        customer: customer.clone().unwrap_or_default(),
        tabs: LISTS
            .iter()
            .map(|(n, label, _)| Tab {
                label,
                href: format!("/console/returns?list={n}{of_customer}"),
                current: *n == name,
            })
            .collect(),
        rows: rows
            .iter()
            .map(|r| {
                let rma = r.rma.clone().unwrap_or_else(|| r.id.clone());
                DeskRow {
                    href: format!("/console/returns/{rma}"),
                    rma,
                    order_number: r.order_number.clone(),
                    order_href: format!("/console/orders/{}", r.order_id),
                    state: r.state.replace('_', " "),
                    reason: r.reason.clone(),
                    wanted: r.wanted.replace('_', " "),
                    units: r.units,
                    value: money(r.value_minor, &r.currency),
                    requested: when(r.requested_at, &zone),
                }
            })
            .collect(),
        pager: Pager::new(&here, q.cursor.is_some(), next),
        receive: allows(viewer.user.role, Permission::ReceiveReturns),
    };
    Ok(render(Some(&viewer), StatusCode::OK, &page))
}

#[derive(Debug, Deserialize)]
pub struct ScanQuery {
    #[serde(default)]
    rma: String,
}

/// The RMA barcode scanned at the desk: its return's page.
pub async fn scan(_signed_in: Viewer, Query(q): Query<ScanQuery>) -> Answered {
    let rma = q.rma.trim();
    if rma.is_empty() || rma.len() > 64 || !rma.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ConsoleError::BadForm("scan an RMA number".into()));
    }
    let path: String = form_urlencoded::byte_serialize(rma.as_bytes()).collect();
    Ok(Redirect::to(&format!("/console/returns/{path}")).into_response())
}

pub struct ItemRow {
    pub item_no: u32,
    pub sku: String,
    pub reception: String,
    pub acceptance: String,
    pub condition: String,
    pub disposition: String,
    /// Received and not yet inspected: the inspection form shows it.
    pub to_inspect: bool,
    /// Waits in quarantine for a person's decision: the decision form shows it.
    pub to_decide: bool,
}

pub struct Choice {
    pub value: String,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "console/return.html")]
pub struct ReturnPage {
    pub layout: Layout,
    pub form_key: String,
    pub id: String,
    pub rma: String,
    pub order_number: String,
    pub order_href: String,
    pub state: String,
    pub facts: Vec<(&'static str, String)>,
    pub rules: Vec<String>,
    pub reviews: Vec<String>,
    pub items: Vec<ItemRow>,
    pub unexpected: Vec<String>,
    pub money: Vec<(&'static str, String)>,
    /// Waiting for a review the role may make.
    pub review: bool,
    /// The role may approve this one (its value within the role's limit).
    pub may_approve: bool,
    pub receive: bool,
    pub inspect: bool,
    /// Units wait for a decision the role may make.
    pub decide: bool,
    /// Rejected units wait for a parcel back the role may book.
    pub send_back: bool,
    /// The parcels that took rejected units back, one line each.
    pub send_backs: Vec<String>,
    pub locations: Vec<Choice>,
    pub conditions: Vec<Choice>,
    pub acceptances: Vec<&'static str>,
    pub dispositions: Vec<&'static str>,
}

pub async fn return_page(
    State(app): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Answered {
    let actor = viewer.actor();
    let (order, rid) = app.return_with_order(&actor, id).await?;
    let ret = order
        .return_by_id(rid.as_str())
        .ok_or_else(|| crate::app::error::AppError::NotFound("return".into()))?;
    let v = return_view(&order, ret);
    let zone = zone_of(&app, &viewer);
    let role = viewer.user.role;
    let policy = app.return_policy(ret)?;
    let m = &v.money;
    let cur = m.currency.as_str();
    let received_at = ret.label.as_ref().map(|l| l.location_id.to_string());
    let page = ReturnPage {
        layout: Layout::new(&viewer, format!("Return {}", v.rma), "/console/returns"),
        form_key: app.new_id("frm"),
        id: v.id.clone(),
        rma: v.rma.clone(),
        order_number: v.order_number.clone(),
        order_href: format!("/console/orders/{}", v.order_id),
        state: v.state.replace('_', " "),
        facts: vec![
            ("Reason", v.reason.clone()),
            ("Customer wants", v.wanted.replace('_', " ")),
            ("Required condition", v.required_condition.clone()),
            ("Policy version", v.decision.policy_version.clone()),
            ("Decision", v.decision.outcome.replace('_', " ")),
            ("Requested", when_text(&v.requested_at, &zone)),
            (
                "Ship by",
                v.ship_by
                    .as_deref()
                    .map(|s| when_text(s, &zone))
                    .unwrap_or_default(),
            ),
            (
                "Serial returner",
                v.decision.serial_returner.clone().unwrap_or_default(),
            ),
            ("Customer note", v.note.clone().unwrap_or_default()),
            ("Rejected units", v.rejected_items.replace('_', " ")),
        ]
        .into_iter()
        .filter(|(_, value)| !value.is_empty())
        .collect(),
        rules: v.decision.rules.clone(),
        reviews: v
            .reviews
            .iter()
            .map(|r| {
                format!(
                    "{} by {} ({}) at {}{}",
                    if r.approved { "Approved" } else { "Denied" },
                    r.by,
                    r.role,
                    when_text(&r.at, &zone),
                    r.note
                        .as_deref()
                        .map(|n| format!(": {n}"))
                        .unwrap_or_default()
                )
            })
            .collect(),
        items: v
            .items
            .iter()
            .map(|i| ItemRow {
                item_no: i.item_no,
                sku: i.sku.clone(),
                reception: i.reception.replace('_', " "),
                acceptance: i.acceptance.replace('_', " "),
                condition: i.condition.clone().unwrap_or_default(),
                disposition: i.disposition.clone().unwrap_or_default().replace('_', " "),
                to_inspect: i.reception == Reception::Received.as_str()
                    && i.acceptance == Acceptance::Pending.as_str(),
                to_decide: i.acceptance == Acceptance::NeedsManualDecision.as_str(),
            })
            .collect(),
        unexpected: v
            .unexpected_items
            .iter()
            .map(|u| {
                format!(
                    "{}{} at {}",
                    u.scan,
                    u.sku
                        .as_deref()
                        .map(|s| format!(" ({s})"))
                        .unwrap_or_default(),
                    u.location_id
                )
            })
            .collect(),
        money: vec![
            ("Value", money(m.value, cur)),
            ("Restocking fee", money(m.restocking_fee, cur)),
            (
                "Return shipping",
                format!(
                    "{} ({})",
                    money(m.return_shipping_fee, cur),
                    m.return_shipping.replace('_', " ")
                ),
            ),
            ("Refundable", money(m.refundable, cur)),
            ("Refund to", m.refund_method.replace('_', " ")),
            ("Refund when", m.refund_timing.replace('_', " ")),
        ]
        .into_iter()
        .chain(
            (m.shipping_reimbursed > 0)
                .then(|| ("Postage paid back", money(m.shipping_reimbursed, cur))),
        )
        .collect(),
        review: v.state == "needs_review" && allows(role, Permission::ReviewReturns),
        may_approve: app.may_approve_return(&actor, ret),
        receive: allows(role, Permission::ReceiveReturns)
            && matches!(
                v.state.as_str(),
                "authorized" | "in_transit" | "lost" | "received" | "inspected"
            ),
        inspect: allows(role, Permission::ReceiveReturns)
            && v.items.iter().any(|i| {
                i.reception == Reception::Received.as_str()
                    && i.acceptance == Acceptance::Pending.as_str()
            }),
        decide: allows(role, Permission::ReviewReturns)
            && v.items
                .iter()
                .any(|i| i.acceptance == Acceptance::NeedsManualDecision.as_str()),
        send_back: allows(role, Permission::ReceiveReturns) && !v.awaiting_send_back.is_empty(),
        send_backs: v
            .send_backs
            .iter()
            .map(|s| {
                let items: Vec<String> = s.item_nos.iter().map(u32::to_string).collect();
                format!(
                    "Items {} with {} {} (tracking {}) from {}",
                    items.join(", "),
                    s.carrier,
                    s.service,
                    s.tracking_number,
                    s.location_id
                )
            })
            .collect(),
        locations: app
            .config
            .locations
            .iter()
            .map(|l| Choice {
                value: l.id.clone(),
                selected: received_at.as_deref() == Some(l.id.as_str()),
            })
            .collect(),
        conditions: policy
            .condition_grades
            .iter()
            .map(|g| Choice {
                value: g.clone(),
                selected: *g == policy.required_condition,
            })
            .collect(),
        acceptances: [
            Acceptance::Accepted,
            Acceptance::Rejected,
            Acceptance::NeedsManualDecision,
        ]
        .map(Acceptance::as_str)
        .to_vec(),
        dispositions: [
            Disposition::Restock,
            Disposition::Quarantine,
            Disposition::Refurbish,
            Disposition::Scrap,
            Disposition::ReturnToCustomer,
        ]
        .map(Disposition::as_str)
        .to_vec(),
    };
    Ok(render(Some(&viewer), StatusCode::OK, &page))
}
