//! The exception board and queues. The board shows every queue with its open count, the
//! age of its oldest entry and how many have waited past `exceptions.escalate_after_hours`
//! (those stand out); a queue is a sortable, paged list in which each entry carries the
//! action that settles it: a new payment for a refused checkout payment, a capture or
//! refund tried again, or a resolution note for the rest. The money actions are the
//! API's order commands; when they succeed, the entry leaves by itself (the event that
//! moved the money resolves it), as it does for an API client.

use crate::app::AppState;
use crate::app::auth::{Permission, allows};
use crate::console::error::ConsoleError;
use crate::console::page::{Layout, Pager, render, when, zone_of};
use crate::console::session::{Posted, Viewer, back_to, done};
use crate::http::extract::{decode_cursor, encode_cursor};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use jiff::Timestamp;
use orderly_domain::order::OrderCommand;
use orderly_domain::order::exceptions::{kind, queue};
use orderly_domain::values::Id;
use orderly_store::{ExceptionFilter, ExceptionRow};
use serde::Deserialize;

/// Entries per page of a queue.
const PER_PAGE: u32 = 50;

type Answered = Result<Response, ConsoleError>;

/// How long something has waited, as a person says it: `2 d 4 h`, `3 h 5 min`, `12 min`.
pub fn age(since: Timestamp, now: Timestamp) -> String {
    let minutes = (now.as_millisecond() - since.as_millisecond()).max(0) / 60_000;
    let (d, h, m) = (minutes / 1440, minutes / 60 % 24, minutes % 60);
    match (d, h) {
        (0, 0) => format!("{m} min"),
        (0, _) => format!("{h} h {m} min"),
        _ => format!("{d} d {h} h"),
    }
}

pub struct KindLine {
    pub kind: String,
    pub href: String,
    pub open: u64,
    pub escalated: u64,
    pub oldest: String,
}

pub struct QueueCard {
    pub queue: &'static str,
    pub href: String,
    pub open: u64,
    pub escalated: u64,
    pub oldest: String,
    pub kinds: Vec<KindLine>,
}

#[derive(Template)]
#[template(path = "console/exceptions.html")]
pub struct BoardPage {
    pub layout: Layout,
    pub escalate_after_hours: u32,
    pub cards: Vec<QueueCard>,
}

pub async fn board(State(app): State<AppState>, viewer: Viewer) -> Answered {
    let counts = app.exception_counts(&viewer.actor()).await?;
    let now = app.now();
    let cards = queue::ALL
        .iter()
        .map(|&q| {
            let of: Vec<_> = counts.iter().filter(|c| c.queue == q).collect();
            QueueCard {
                queue: q,
                href: format!("/console/exceptions/{q}"),
                open: of.iter().map(|c| c.open).sum(),
                escalated: of.iter().map(|c| c.escalated).sum(),
                oldest: of
                    .iter()
                    .map(|c| c.oldest_opened_at)
                    .min()
                    .map(|o| age(o, now))
                    .unwrap_or_default(),
                kinds: of
                    .iter()
                    .map(|c| KindLine {
                        kind: c.kind.clone(),
                        href: format!("/console/exceptions/{q}?kind={}", c.kind),
                        open: c.open,
                        escalated: c.escalated,
                        oldest: age(c.oldest_opened_at, now),
                    })
                    .collect(),
            }
        })
        .collect();
    let page = BoardPage {
        layout: Layout::new(&viewer, "Exceptions", "/console/exceptions"),
        escalate_after_hours: app.config.exceptions.escalate_after_hours,
        cards,
    };
    Ok(render(Some(&viewer), StatusCode::OK, &page))
}

/// The action that settles one entry, as the queue shows it.
pub enum Settle {
    /// A new payment (the customer's new card) for a refused checkout payment.
    Pay,
    /// Capture again.
    Capture,
    /// Try this refund again.
    RetryRefund(String),
    /// Only a note of what was done.
    Note,
}

pub struct EntryRow {
    pub id: String,
    pub kind: String,
    pub order_id: String,
    pub subject: String,
    pub detail: String,
    pub opened: String,
    pub age: String,
    pub escalated: bool,
    pub settle: Settle,
}

pub struct SortLink {
    pub label: String,
    pub href: String,
    pub current: bool,
}

#[derive(Template)]
#[template(path = "console/exception_queue.html")]
pub struct QueuePage {
    pub layout: Layout,
    pub form_key: String,
    pub queue: String,
    pub kind: String,
    pub here: String,
    pub kinds: Vec<SortLink>,
    pub sorts: Vec<SortLink>,
    pub rows: Vec<EntryRow>,
    pub pager: Pager,
    pub resolve: bool,
    pub add_payment: bool,
    pub capture: bool,
    pub refund: bool,
}

#[derive(Debug, Deserialize)]
pub struct QueueQuery {
    kind: Option<String>,
    sort: Option<String>,
    cursor: Option<String>,
}

pub async fn queue_page(
    State(app): State<AppState>,
    viewer: Viewer,
    Path(name): Path<String>,
    Query(q): Query<QueueQuery>,
) -> Answered {
    let actor = viewer.actor();
    let kind = q
        .kind
        .filter(|k| kind::ALL.contains(&k.as_str()))
        .unwrap_or_default();
    let newest_first = q.sort.as_deref() == Some("newest");
    let after_id = match q.cursor.as_deref().filter(|c| !c.is_empty()) {
        None => None,
        Some(c) => Some(
            decode_cursor(c)
                .ok()
                .and_then(|c| c.parse::<i64>().ok())
                .ok_or_else(|| {
                    ConsoleError::BadForm("the page link is not one this console made".into())
                })?,
        ),
    };
    let filter = ExceptionFilter {
        queue: Some(name.clone()),
        kind: Some(kind.clone()).filter(|k| !k.is_empty()),
        open: Some(true),
        newest_first,
        after_id,
        limit: PER_PAGE + 1,
        ..Default::default()
    };
    let mut rows = app.exceptions(&actor, filter).await?;
    let next = (rows.len() > PER_PAGE as usize).then(|| {
        rows.truncate(PER_PAGE as usize);
        rows.last().map(|r| encode_cursor(&r.id.to_string()))
    });
    let counts = app.exception_counts(&actor).await?;
    let (now, zone, cutoff) = (app.now(), zone_of(&app, &viewer), app.escalation_cutoff());
    let link = |kind: &str, sort: &str| {
        let mut href = format!("/console/exceptions/{name}?sort={sort}");
        if !kind.is_empty() {
            href.push_str(&format!("&kind={kind}"));
        }
        href
    };
    let sort = if newest_first { "newest" } else { "oldest" };
    let kinds = std::iter::once(("", "every kind".to_owned()))
        .chain(
            counts
                .iter()
                .filter(|c| c.queue == name)
                .map(|c| (c.kind.as_str(), format!("{} ({})", c.kind, c.open))),
        )
        .map(|(k, label)| SortLink {
            label,
            href: link(k, sort),
            current: k == kind,
        })
        .collect();
    let here = link(&kind, sort);
    let role = viewer.user.role;
    let page = QueuePage {
        layout: Layout::new(&viewer, format!("Queue {name}"), "/console/exceptions"),
        form_key: app.new_id("frm"),
        kind: kind.clone(),
        kinds,
        sorts: [("oldest", "Oldest first"), ("newest", "Newest first")]
            .into_iter()
            .map(|(s, label)| SortLink {
                label: label.to_owned(),
                href: link(&kind, s),
                current: s == sort,
            })
            .collect(),
        rows: rows
            .iter()
            .map(|r| entry_row(r, now, cutoff, &zone))
            .collect(),
        pager: Pager::new(&here, after_id.is_some(), next.flatten()),
        here,
        queue: name,
        resolve: allows(role, Permission::ResolveExceptions),
        add_payment: allows(role, Permission::AddPayments),
        capture: allows(role, Permission::CapturePayments),
        refund: allows(role, Permission::RefundPayments),
    };
    Ok(render(Some(&viewer), StatusCode::OK, &page))
}

fn entry_row(
    r: &ExceptionRow,
    now: Timestamp,
    cutoff: Timestamp,
    zone: &jiff::tz::TimeZone,
) -> EntryRow {
    EntryRow {
        id: format!("exc_{}", r.id),
        kind: r.kind.clone(),
        order_id: r.order_id.clone(),
        subject: r.subject_id.clone(),
        detail: r.detail.clone(),
        opened: when(r.opened_at, zone),
        age: age(r.opened_at, now),
        escalated: r.opened_at <= cutoff,
        settle: match r.kind.as_str() {
            kind::PAYMENT_FAILED => Settle::Pay,
            kind::CAPTURE_FAILED => Settle::Capture,
            kind::REFUND_FAILED => Settle::RetryRefund(r.subject_id.clone()),
            _ => Settle::Note,
        },
    }
}

#[derive(Debug, Deserialize)]
pub struct ResolveForm {
    #[serde(default)]
    resolution: String,
    back: Option<String>,
}

pub async fn resolve(
    State(app): State<AppState>,
    Path((queue, id)): Path<(String, String)>,
    posted: Posted<ResolveForm>,
) -> Answered {
    let row = app
        .resolve_exception(&posted.origin(), queue.clone(), id, &posted.form.resolution)
        .await?;
    let back = back_to(
        posted.form.back.as_deref(),
        format!("/console/exceptions/{queue}"),
    );
    Ok(done(
        &posted.viewer,
        &back,
        &format!("exc_{} ({}) resolved.", row.id, row.kind),
    ))
}

#[derive(Debug, Deserialize)]
pub struct PaymentForm {
    #[serde(default)]
    method: String,
    token: Option<String>,
    back: Option<String>,
}

/// A new payment for order `id` (a new card after a decline), as `POST /orders/{id}/payments`.
pub async fn add_payment(
    State(app): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<PaymentForm>,
) -> Answered {
    let form = &posted.form;
    let input = crate::orders::capture::PaymentIn {
        method: form.method.trim().to_owned(),
        provider: None,
        token: form.token.clone().filter(|t| !t.trim().is_empty()),
        fingerprint: None,
        last4: None,
    };
    let mut issues = Vec::new();
    let choice = crate::orders::capture::parse_payment(&input, &app, &mut issues);
    let Some(choice) = choice.filter(|_| issues.is_empty()) else {
        return Err(crate::app::error::AppError::Validation(issues).into());
    };
    app.add_payment(id.clone(), posted.idem.clone(), posted.origin(), choice)
        .await?;
    let order = app.order(&posted.viewer.actor(), id.clone()).await?;
    let notice = format!(
        "New payment for {}: the order is now {}.",
        order.number,
        order.payment_state().as_str()
    );
    let back = back_to(form.back.as_deref(), format!("/console/orders/{id}"));
    Ok(done(&posted.viewer, &back, &notice))
}

#[derive(Debug, Deserialize)]
pub struct BackForm {
    back: Option<String>,
}

/// Captures what is authorized and not yet captured, as `POST /orders/{id}/captures`.
pub async fn capture(
    State(app): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<BackForm>,
) -> Answered {
    app.order_command(
        id.clone(),
        posted.idem.clone(),
        posted.origin(),
        None,
        |_| Ok(OrderCommand::Capture { amount_minor: None }),
    )
    .await?;
    let back = back_to(posted.form.back.as_deref(), format!("/console/orders/{id}"));
    Ok(done(&posted.viewer, &back, "Capture tried again."))
}

/// Tries a failed refund again, as `POST /orders/{id}/refunds/{refund_id}/retry`.
pub async fn retry_refund(
    State(app): State<AppState>,
    Path((id, refund_id)): Path<(String, String)>,
    posted: Posted<BackForm>,
) -> Answered {
    let refund = Id::new(refund_id);
    app.order_command(
        id.clone(),
        posted.idem.clone(),
        posted.origin(),
        None,
        move |_| {
            Ok(OrderCommand::RetryRefund {
                refund_id: refund.clone(),
            })
        },
    )
    .await?;
    let back = back_to(posted.form.back.as_deref(), format!("/console/orders/{id}"));
    Ok(done(&posted.viewer, &back, "Refund tried again."))
}
