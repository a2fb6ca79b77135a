//! The order page: everything an agent needs on one screen. The header carries the
//! derived status, the four underlying states, holds, open cases and exceptions, and
//! what the customer should hear next; below are the lines with their buckets and why
//! units wait, the shipments, the payment ledger, the returns, and one timeline of
//! every strand (order, payment, fulfilment, return, edit, case, note, message),
//! newest first, filterable and paged. The actions offered are those the role may
//! take, each a form posting to `order_actions`; what the role may not do is not shown.

use crate::app::AppState;
use crate::app::auth::{Permission, allows};
use crate::console::error::ConsoleError;
use crate::console::page::{Layout, local_times, money, render, when, when_text, zone_of};
use crate::console::session::Viewer;
use crate::orders::history::Strand;
use crate::orders::view::order_view;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use orderly_domain::order::HoldReason;
use serde::Deserialize;

/// Timeline entries per page.
const PER_PAGE: usize = 50;

pub struct Row {
    pub cells: Vec<String>,
}

pub struct TimelineRow {
    pub at: String,
    pub strand: &'static str,
    pub summary: String,
    pub actor: String,
}

pub struct Filter {
    pub label: &'static str,
    pub href: String,
    pub current: bool,
}

pub struct LineRow {
    pub line_no: u32,
    pub sku: String,
    pub name: String,
    pub quantity: u32,
    pub unit_price: String,
    pub total: String,
    pub buckets: String,
    pub waiting: Vec<String>,
    /// Units still meant to reach the customer (what an edit or a cancellation changes).
    pub active: u32,
    /// Delivered units not already asked back.
    pub returnable: u32,
    /// Units not shipped yet, which a cancellation can still take off.
    pub cancellable: u32,
}

pub struct ShipmentRow {
    pub carrier: String,
    pub service: String,
    pub tracking: String,
    pub tracking_url: Option<String>,
    pub status: String,
    pub flags: String,
    pub latest_scan: String,
    pub items: String,
    pub label_href: String,
}

pub struct ReturnRow {
    pub id: String,
    pub rma: String,
    pub state: String,
    pub reason: String,
    pub decision: String,
    pub items: String,
    pub refund: String,
}

pub struct CaseRow {
    pub number: String,
    pub href: String,
    pub subject: String,
    pub status: String,
    pub due: String,
}

pub struct HoldRow {
    pub reason: String,
    pub note: String,
    pub placed: String,
    /// The role may release it.
    pub releasable: bool,
}

pub struct MessageRow {
    pub id: String,
    pub template: String,
    pub status: String,
}

/// What the role may do here.
pub struct Actions {
    pub cancel: bool,
    pub hold: bool,
    pub refund: bool,
    /// `USD 200.00` when the role's refunds are limited.
    pub refund_limit: Option<String>,
    pub refundable: String,
    /// The whole refundable amount as a form types it (`12.50`), offered as one button
    /// only when it is within the role's limit.
    pub refund_all: Option<String>,
    pub note: bool,
    pub case: bool,
    pub case_channels: Vec<&'static str>,
    /// May tag the order.
    pub tag: bool,
    /// May ask for a return, and the leaf reasons of the order's return policy.
    pub request_return: bool,
    pub return_reasons: Vec<String>,
    pub case_groups: Vec<String>,
    pub edit: bool,
    pub resend: bool,
    pub hold_reasons: Vec<&'static str>,
    pub refund_reasons: Vec<&'static str>,
    pub cancel_reasons: Vec<&'static str>,
}

#[derive(Template)]
#[template(path = "console/order.html")]
pub struct OrderPage {
    pub layout: Layout,
    pub form_key: String,
    pub id: String,
    pub number: String,
    pub channel: String,
    pub external_id: String,
    pub placed: String,
    pub customer_name: String,
    pub customer_email: String,
    pub customer_phone: String,
    pub customer_href: Option<String>,
    pub status: String,
    pub states: Vec<(&'static str, String)>,
    pub tags: String,
    pub holds: Vec<HoldRow>,
    pub blocked_by: String,
    pub advice: Vec<(String, String)>,
    pub exceptions: Vec<Row>,
    pub cases: Vec<CaseRow>,
    pub contacts: String,
    pub lines: Vec<LineRow>,
    pub totals: Vec<(&'static str, String)>,
    pub shipping_address: Vec<String>,
    pub address: crate::orders::view::AddressDto,
    pub shipments: Vec<ShipmentRow>,
    pub ledger: Vec<Row>,
    pub refunds: Vec<Row>,
    pub returns: Vec<ReturnRow>,
    pub messages: Vec<MessageRow>,
    pub timeline: Vec<TimelineRow>,
    pub filters: Vec<Filter>,
    pub older: Option<String>,
    pub newer: Option<String>,
    pub actions: Actions,
}

#[derive(Debug, Deserialize)]
pub struct OrderQuery {
    strand: Option<String>,
    page: Option<usize>,
}

pub async fn order_page(
    State(app): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Query(q): Query<OrderQuery>,
) -> Response {
    match build(&app, &viewer, id, q).await {
        Ok(page) => render(Some(&viewer), StatusCode::OK, &page),
        Err(e) => e.into_response(),
    }
}

fn join(parts: impl IntoIterator<Item = String>) -> String {
    parts.into_iter().collect::<Vec<_>>().join(", ")
}

async fn build(
    app: &AppState,
    viewer: &Viewer,
    id: String,
    q: OrderQuery,
) -> Result<OrderPage, ConsoleError> {
    let actor = viewer.actor();
    let role = viewer.user.role;
    let zone = zone_of(app, viewer);
    let summary = app.support_summary(&actor, id).await?;
    let order = &summary.order;
    let story = app.order_story(&actor, order.id.to_string(), true).await?;
    let messages = story
        .iter()
        .filter(|e| e.strand == Strand::Notification)
        .filter_map(|e| {
            Some(MessageRow {
                id: e.data.get("message_id")?.as_str()?.to_owned(),
                template: e.data.get("template")?.as_str()?.to_owned(),
                status: e.data.get("status")?.as_str()?.to_owned(),
            })
        })
        .collect();
    let v = order_view(order);
    let cur = v.currency.clone();
    let m = |minor: i64| money(minor, &cur);
    let strand = q.strand.as_deref().and_then(Strand::parse);
    let page_no = q.page.unwrap_or(1).clamp(1, 10_000);
    let base = format!("/console/orders/{}", order.id);
    let mut entries: Vec<_> = story
        .into_iter()
        .filter(|e| strand.is_none_or(|s| e.strand == s))
        .collect();
    entries.reverse();
    let total = entries.len();
    let timeline = entries
        .into_iter()
        .skip((page_no - 1) * PER_PAGE)
        .take(PER_PAGE)
        .map(|e| TimelineRow {
            at: when(e.at, &zone),
            strand: e.strand.as_str(),
            summary: local_times(&e.summary, &zone),
            actor: e.actor_name,
        })
        .collect();
    let strand_q = strand.map_or(String::new(), |s| format!("strand={}&", s.as_str()));
    let older = (page_no * PER_PAGE < total)
        .then(|| format!("{base}?{strand_q}page={}#timeline", page_no + 1));
    let newer = (page_no > 1).then(|| format!("{base}?{strand_q}page={}#timeline", page_no - 1));
    let mut filters = vec![Filter {
        label: "all",
        href: format!("{base}#timeline"),
        current: strand.is_none(),
    }];
    filters.extend(Strand::ALL.iter().map(|s| Filter {
        label: s.as_str(),
        href: format!("{base}?strand={}#timeline", s.as_str()),
        current: strand == Some(*s),
    }));
    let lines: Vec<LineRow> = v
        .lines
        .iter()
        .map(|l| {
            let b = &l.buckets;
            let buckets = [
                ("ordered", b.ordered),
                ("cancelled", b.cancelled),
                ("unallocated", b.unallocated),
                ("allocated", b.allocated),
                ("backordered", b.backordered),
                ("released", b.released),
                ("shipped", b.shipped),
                ("delivered", b.delivered),
                ("return requested", b.return_requested),
                ("returned", b.returned),
                ("restocked", b.restocked),
            ]
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(k, n)| format!("{n} {k}"))
            .collect::<Vec<_>>()
            .join(" · ");
            LineRow {
                line_no: l.line_no,
                sku: l.sku.clone(),
                name: l.name.clone(),
                quantity: l.quantity,
                unit_price: m(l.unit_price),
                total: m(l.line_total),
                buckets,
                waiting: l
                    .waiting
                    .iter()
                    .map(|w| format!("{} waiting: {}", w.quantity, wait_reason(&w.reason)))
                    .collect(),
                active: b.ordered.saturating_sub(b.cancelled),
                returnable: b.delivered.saturating_sub(b.return_requested),
                cancellable: b
                    .ordered
                    .saturating_sub(b.cancelled)
                    .saturating_sub(b.shipped),
            }
        })
        .collect();
    let tracking_urls = &app.config.notifications.tracking_urls;
    let shipments = v
        .fulfillment_orders
        .iter()
        .flat_map(|f| {
            f.shipments.iter().map(move |s| {
                let package = f.packages.iter().find(|p| p.id == s.package_id);
                let items = package.map_or_else(String::new, |p| {
                    join(
                        p.items
                            .iter()
                            .map(|i| format!("{} × {}", i.quantity, i.sku)),
                    )
                });
                (f.location_id.clone(), s, items)
            })
        })
        .map(|(location, s, items)| ShipmentRow {
            carrier: s.carrier.clone(),
            service: format!("{} from {location}", s.service),
            tracking: s.tracking_number.clone(),
            tracking_url: tracking_urls
                .get(&s.carrier)
                .map(|u| u.replace("{tracking_number}", &s.tracking_number)),
            status: s.status.replace('_', " "),
            flags: s.flags.join(", "),
            latest_scan: s.scans.last().map_or_else(
                || "no scan yet".to_owned(),
                |scan| {
                    format!(
                        "{} at {}{}",
                        scan.status.replace('_', " "),
                        when_text(&scan.occurred_at, &zone),
                        scan.location
                            .as_deref()
                            .map_or(String::new(), |l| format!(", {l}"))
                    )
                },
            ),
            items,
            label_href: format!("/console/shipments/{}/label.pdf", s.id),
        })
        .collect();
    let ledger = v
        .payments
        .iter()
        .flat_map(|p| {
            let card = p
                .last4
                .as_deref()
                .map_or(String::new(), |l| format!(" •••• {l}"));
            p.operations
                .iter()
                .map(move |op| (format!("{}{card}", p.method), op))
        })
        .map(|(payment, op)| Row {
            cells: vec![
                payment,
                op.kind.clone(),
                op.status.clone(),
                op.failure_message.clone().unwrap_or_default(),
                when_text(&op.requested_at, &zone),
                m(op.amount),
            ],
        })
        .collect();
    let refundable: i64 = v.payments.iter().map(|p| p.refundable).sum();
    let refunds = v
        .refunds
        .iter()
        .map(|r| Row {
            cells: vec![
                m(r.amount),
                r.status.replace('_', " "),
                r.reason.replace('_', " "),
                r.method.replace('_', " "),
                when_text(&r.requested_at, &zone),
            ],
        })
        .collect();
    let returns = order
        .returns
        .iter()
        .map(|ret| {
            let rv = crate::returns::view::return_view(order, ret);
            ReturnRow {
                id: rv.id.clone(),
                rma: rv.rma.clone(),
                state: rv.state.replace('_', " "),
                reason: rv.reason.clone(),
                decision: format!(
                    "{}{}",
                    rv.decision.outcome.replace('_', " "),
                    if rv.decision.rules.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", rv.decision.rules.join(", "))
                    }
                ),
                items: join(rv.items.iter().map(|i| {
                    format!(
                        "#{} {} {}/{}",
                        i.item_no,
                        i.sku,
                        i.reception.replace('_', " "),
                        i.acceptance.replace('_', " ")
                    )
                })),
                refund: format!(
                    "{} to {}",
                    money(rv.money.refundable, &rv.money.currency),
                    rv.money.refund_method.replace('_', " ")
                ),
            }
        })
        .collect();
    let holds = v
        .holds
        .iter()
        .map(|h| {
            let releasable =
                HoldReason::parse(&h.reason).is_some_and(|r| allows(role, hold_permission(r)));
            HoldRow {
                reason: h.reason.clone(),
                note: h.note.clone().unwrap_or_default(),
                placed: when_text(&h.placed_at, &zone),
                releasable,
            }
        })
        .collect();
    let a = &v.shipping_address;
    let shipping_address = [
        Some(a.name.clone()),
        Some(a.line1.clone()),
        a.line2.clone(),
        Some(format!(
            "{} {} {}",
            a.city,
            a.region.clone().unwrap_or_default(),
            a.postal_code
        )),
        Some(a.country.clone()),
    ]
    .into_iter()
    .flatten()
    .filter(|s| !s.trim().is_empty())
    .collect();
    let customer_href = allows(role, Permission::ReadCustomers).then(|| {
        let email: String = form_urlencoded::byte_serialize(v.customer.email.as_bytes()).collect();
        format!("/console/customers/{email}")
    });
    let actions = Actions {
        cancel: allows(role, Permission::CancelOrders),
        hold: allows(role, Permission::ManageHolds),
        refund: allows(role, Permission::RefundPayments) && refundable > 0,
        refund_limit: app.config.payments.refund_limit(role).map(m),
        refundable: m(refundable),
        refund_all: app
            .config
            .payments
            .may_refund(role, refundable)
            .then(|| crate::console::page::typed_money(refundable, order.currency.as_str())),
        note: allows(role, Permission::AnnotateOrders),
        case: allows(role, Permission::ManageCases),
        case_channels: crate::console::cases::CONTACT_CHANNELS
            .map(|c| c.as_str())
            .to_vec(),
        case_groups: app.config.cases.groups.clone(),
        tag: allows(role, Permission::AnnotateOrders),
        request_return: allows(role, Permission::RequestReturns)
            && lines.iter().any(|l| l.returnable > 0),
        return_reasons: app.return_reasons(order),
        edit: allows(role, Permission::EditOrders),
        resend: allows(role, Permission::SendMessages),
        hold_reasons: HoldReason::ALL
            .iter()
            .filter(|r| allows(role, hold_permission(**r)))
            .map(|r| r.as_str())
            .collect(),
        refund_reasons: orderly_domain::payment::RefundReason::ALL
            .iter()
            .map(|r| r.as_str())
            .collect(),
        cancel_reasons: orderly_domain::order::CancelReason::ALL
            .iter()
            .filter(|r| **r != orderly_domain::order::CancelReason::PaymentTimeout)
            .map(|r| r.as_str())
            .collect(),
    };
    let mut layout = Layout::new(viewer, format!("Order {}", v.number), "");
    layout.query.clone_from(&v.number);
    Ok(OrderPage {
        layout,
        form_key: app.new_id("frm"),
        id: v.id.clone(),
        number: v.number.clone(),
        channel: v.channel.clone(),
        external_id: v.external_id.clone().unwrap_or_default(),
        placed: when(order.created_at, &zone),
        customer_name: v.customer.name.clone().unwrap_or_default(),
        customer_email: v.customer.email.clone(),
        customer_phone: v.customer.phone.clone().unwrap_or_default(),
        customer_href,
        status: v.status.replace('_', " "),
        states: vec![
            ("Order", v.order_state.replace('_', " ")),
            ("Payment", v.payment_state.replace('_', " ")),
            ("Fulfilment", v.fulfillment_state.replace('_', " ")),
            ("Return", v.return_state.replace('_', " ")),
            ("Refunds", v.refund_state.replace('_', " ")),
        ],
        tags: v.tags.join(", "),
        holds,
        blocked_by: v.release_blocked_by.join(", "),
        advice: summary
            .advice
            .iter()
            .map(|a| (a.topic.as_str().to_owned(), local_times(&a.text, &zone)))
            .collect(),
        exceptions: summary
            .exceptions
            .iter()
            .map(|e| Row {
                cells: vec![
                    e.queue.clone(),
                    e.kind.replace('_', " "),
                    e.detail.clone(),
                    when(e.opened_at, &zone),
                ],
            })
            .collect(),
        cases: summary
            .cases
            .iter()
            .map(|c| CaseRow {
                number: c.case.number.clone(),
                href: format!("/console/cases/{}", c.case.id),
                subject: c.case.subject.clone(),
                status: c.case.status.as_str().replace('_', " "),
                due: c
                    .due_at
                    .map_or_else(|| "no SLA".to_owned(), |d| when(d, &zone)),
            })
            .collect(),
        contacts: format!(
            "{} contact{}{}",
            summary.contacts.contacts,
            if summary.contacts.contacts == 1 {
                ""
            } else {
                "s"
            },
            if summary.contacts.repeat() {
                " (repeat contact)"
            } else {
                ""
            }
        ),
        lines,
        totals: vec![
            ("Subtotal", m(v.subtotal_amount)),
            ("Shipping", m(v.shipping_amount)),
            ("Tax", m(v.tax_amount)),
            ("Discount", m(-v.discount_amount)),
            ("Total", m(v.total_amount)),
        ],
        shipping_address,
        address: v.shipping_address.clone(),
        shipments,
        ledger,
        refunds,
        returns,
        messages,
        timeline,
        filters,
        older,
        newer,
        actions,
    })
}

/// Who may place or release a hold of `reason` (the runner's rule, `order_permission`).
fn hold_permission(reason: HoldReason) -> Permission {
    if reason.needs_finance() {
        Permission::ReleaseReviewHolds
    } else {
        Permission::ManageHolds
    }
}

/// Why units wait, in words.
fn wait_reason(code: &str) -> String {
    match code {
        "short_pick" => "the warehouse could not find them (short pick)".into(),
        "backorder" => "backordered until stock arrives".into(),
        "awaiting_payment" => "waiting for payment".into(),
        "sourcing" => "waiting to be assigned a warehouse".into(),
        "edit_window" => "held while the order may still be edited".into(),
        other => match other.strip_prefix("hold:") {
            Some(h) => format!("on hold ({})", h.replace('_', " ")),
            None => other.replace('_', " "),
        },
    }
}
