//! The order page's forms. Each runs the command the API runs for the same action,
//! through the same application call, so the role's permission, the refund limit and
//! every domain rule are checked in one place; a refusal becomes the error page with
//! the API's code, and nothing changes. Success goes back to the order with a notice.

use crate::app::error::AppError;
use crate::app::{AppState, Outcome};
use crate::console::error::ConsoleError;
use crate::console::page::parse_money;
use crate::console::session::{Posted, done};
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use orderly_domain::order::{
    CancelReason, FieldIssue, HoldChange, HoldReason, OrderCommand, RequestRefund,
};
use orderly_domain::payment::{RefundMethod, RefundReason};
use orderly_domain::values::Id;
use serde::Deserialize;

/// The longest note or reason text a form may send (the API's bound).
const NOTE_MAX: usize = 1000;

fn invalid(field: &str, code: &'static str, message: &str) -> ConsoleError {
    ConsoleError::App(AppError::Validation(vec![FieldIssue::new(
        field, code, message,
    )]))
}

/// An optional note: empty is none, longer than the API allows is refused.
fn note(text: Option<String>) -> Result<Option<String>, ConsoleError> {
    match text.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()) {
        Some(t) if t.chars().count() > NOTE_MAX => Err(invalid(
            "note",
            "too_long",
            "a note is at most 1000 characters",
        )),
        other => Ok(other),
    }
}

fn back(id: &str) -> String {
    format!("/console/orders/{id}")
}

/// The order's page with `notice`, or the refusal.
fn answer(
    result: Result<Outcome, AppError>,
    posted_viewer: &crate::console::session::Viewer,
    id: &str,
    notice: &str,
) -> Response {
    match result {
        Ok(_) => done(posted_viewer, &back(id), notice),
        Err(e) => ConsoleError::from(e).into_response(),
    }
}

#[derive(Debug, Deserialize)]
pub struct NoteForm {
    #[serde(default)]
    text: String,
}

pub async fn add_note(
    State(app): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<NoteForm>,
) -> Response {
    let text = posted.form.text.trim().to_owned();
    if text.is_empty() || text.chars().count() > 2000 {
        return invalid("text", "invalid_length", "a note is 1-2000 characters").into_response();
    }
    let author = posted
        .viewer
        .actor()
        .describe(Some(&posted.viewer.user.display_name));
    let result = app
        .order_command(
            id.clone(),
            posted.idem.clone(),
            posted.origin(),
            None,
            move |order| {
                Ok(OrderCommand::AddNote {
                    id: Id::child(&order.id, "not", order.notes.len() + 1),
                    text: text.clone(),
                    author: author.clone(),
                })
            },
        )
        .await;
    answer(result, &posted.viewer, &id, "Note added.")
}

#[derive(Debug, Deserialize)]
pub struct HoldForm {
    #[serde(default)]
    reason: String,
    note: Option<String>,
}

pub async fn place_hold(
    State(app): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<HoldForm>,
) -> Response {
    let Some(reason) = HoldReason::parse(&posted.form.reason) else {
        return invalid("reason", "unknown_reason", "not a hold reason").into_response();
    };
    let change = match note(posted.form.note.clone()) {
        Ok(note) => HoldChange { reason, note },
        Err(e) => return e.into_response(),
    };
    let result = app
        .order_command(
            id.clone(),
            posted.idem.clone(),
            posted.origin(),
            None,
            move |_| Ok(OrderCommand::PlaceHold(change.clone())),
        )
        .await;
    answer(
        result,
        &posted.viewer,
        &id,
        &format!("Hold {} placed.", reason.as_str()),
    )
}

#[derive(Debug, Deserialize)]
pub struct ReleaseForm {
    note: Option<String>,
}

pub async fn release_hold(
    State(app): State<AppState>,
    Path((id, reason)): Path<(String, String)>,
    posted: Posted<ReleaseForm>,
) -> Response {
    let Some(reason) = HoldReason::parse(&reason) else {
        return invalid("reason", "unknown_reason", "not a hold reason").into_response();
    };
    let change = match note(posted.form.note.clone()) {
        Ok(note) => HoldChange { reason, note },
        Err(e) => return e.into_response(),
    };
    let config = app.config.clone();
    let result = app
        .order_command(
            id.clone(),
            posted.idem.clone(),
            posted.origin(),
            None,
            move |order| {
                Ok(OrderCommand::ReleaseHold {
                    hold: change.clone(),
                    capture: crate::app::runner::capture_mode(&config, order),
                })
            },
        )
        .await;
    answer(
        result,
        &posted.viewer,
        &id,
        &format!("Hold {} released.", reason.as_str()),
    )
}

#[derive(Debug, Deserialize)]
pub struct RefundForm {
    #[serde(default)]
    amount: String,
    #[serde(default)]
    reason: String,
    method: Option<String>,
    note: Option<String>,
}

pub async fn refund(
    State(app): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<RefundForm>,
) -> Response {
    let form = &posted.form;
    let Some(reason) = RefundReason::parse(&form.reason) else {
        return invalid("reason", "unknown_reason", "not a refund reason").into_response();
    };
    let method = match form.method.as_deref() {
        None | Some("") => RefundMethod::OriginalPayment,
        Some(m) => match RefundMethod::parse(m) {
            Some(m) => m,
            None => {
                return invalid(
                    "method",
                    "unknown_refund_method",
                    "original payment or store credit",
                )
                .into_response();
            }
        },
    };
    let note = match note(form.note.clone()) {
        Ok(n) => n,
        Err(e) => return e.into_response(),
    };
    // The amount is read in the order's currency, which the page was showing.
    let order = match app.order(&posted.viewer.actor(), id.clone()).await {
        Ok(o) => o,
        Err(e) => return ConsoleError::from(e).into_response(),
    };
    let Some(amount) = parse_money(&form.amount, order.currency.as_str()).filter(|a| *a > 0) else {
        return invalid(
            "amount",
            "invalid_amount",
            "an amount such as 12.50, more than zero, in the order's currency",
        )
        .into_response();
    };
    let cmd = RequestRefund {
        id: Id::new(app.new_id("ref")),
        amount_minor: Some(amount),
        reason,
        method,
        lines: Vec::new(),
        note,
    };
    let result = app
        .order_command(
            id.clone(),
            posted.idem.clone(),
            posted.origin(),
            None,
            move |_| Ok(OrderCommand::Refund(cmd.clone())),
        )
        .await;
    let notice = format!(
        "Refund of {} requested.",
        crate::console::page::money(amount, order.currency.as_str())
    );
    answer(result, &posted.viewer, &id, &notice)
}

#[derive(Debug, Deserialize)]
pub struct CancelForm {
    #[serde(default)]
    reason: String,
    note: Option<String>,
}

pub async fn cancel(
    State(app): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<CancelForm>,
) -> Response {
    let Some(reason) = CancelReason::parse(&posted.form.reason) else {
        return invalid("reason", "unknown_reason", "not a cancellation reason").into_response();
    };
    let note = match note(posted.form.note.clone()) {
        Ok(n) => n,
        Err(e) => return e.into_response(),
    };
    let action = crate::edits::commands::EditAction::Cancel {
        lines: None,
        reason,
        note,
    };
    let author = posted
        .viewer
        .actor()
        .describe(Some(&posted.viewer.user.display_name));
    let result = app
        .edit_order(
            id.clone(),
            action,
            author,
            None,
            posted.idem.clone(),
            posted.origin(),
        )
        .await;
    let notice = match &result {
        Ok(Outcome::Order(crate::app::Answer::Accepted, _)) => {
            "Cancellation asked of the warehouse; the order is cancelled when it accepts."
        }
        _ => "Order cancelled.",
    };
    answer(result, &posted.viewer, &id, notice)
}

#[derive(Debug, Deserialize)]
pub struct Empty {}

pub async fn resend(
    State(app): State<AppState>,
    Path((id, message_id)): Path<(String, String)>,
    posted: Posted<Empty>,
) -> Response {
    match app
        .resend_message(&posted.viewer.actor(), id.clone(), message_id)
        .await
    {
        Ok(m) => done(
            &posted.viewer,
            &back(&id),
            &format!("Message {} queued again.", m.template),
        ),
        Err(e) => ConsoleError::from(e).into_response(),
    }
}
