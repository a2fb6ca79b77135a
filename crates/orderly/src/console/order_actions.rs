//! The order page's forms. Each runs the command the API runs for the same action,
//! through the same application call, so the role's permission, the refund limit and
//! every domain rule are checked in one place; a refusal becomes the error page with
//! the API's code, and nothing changes. Success goes back to the order with a notice.

use crate::app::AppState;
use crate::app::error::AppError;
use crate::console::error::ConsoleError;
use crate::console::order_edits::{cancelled, edit};
use crate::console::page::{money, parse_money};
use crate::console::session::{NoFields, Posted, done};
use axum::extract::{Path, State};
use axum::response::Response;
use orderly_domain::order::{
    CancelReason, HoldChange, HoldReason, NOTE_MAX_CHARS, Order, OrderCommand, RequestRefund,
};
use orderly_domain::payment::{RefundMethod, RefundReason};
use orderly_domain::values::Id;
use serde::Deserialize;

/// The longest note on a hold, refund or cancellation (the API's bound).
const REASON_NOTE_MAX: usize = 1000;

type Answered = Result<Response, ConsoleError>;

/// An optional note: empty is none, longer than the API allows is refused.
fn note(text: &Option<String>) -> Result<Option<String>, ConsoleError> {
    match text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        Some(t) if t.chars().count() > REASON_NOTE_MAX => Err(ConsoleError::invalid(
            "note",
            "too_long",
            "a note is at most 1000 characters",
        )),
        other => Ok(other.map(str::to_owned)),
    }
}

/// Runs `make`'s command on order `id` as the poster, under the form's key, and goes
/// back to the order with `notice`.
async fn run<T, F>(
    app: &AppState,
    posted: &Posted<T>,
    id: String,
    notice: &str,
    make: F,
) -> Answered
where
    F: Fn(&Order) -> Result<OrderCommand, AppError> + Send + 'static,
{
    app.order_command(id.clone(), posted.idem.clone(), posted.origin(), None, make)
        .await?;
    Ok(done(
        &posted.viewer,
        &format!("/console/orders/{id}"),
        notice,
    ))
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
) -> Answered {
    let text = posted.form.text.trim().to_owned();
    if text.is_empty() || text.chars().count() > NOTE_MAX_CHARS {
        return Err(ConsoleError::invalid(
            "text",
            "invalid_length",
            &format!("a note is 1-{NOTE_MAX_CHARS} characters"),
        ));
    }
    let author = posted.author();
    run(&app, &posted, id, "Note added.", move |order| {
        Ok(OrderCommand::AddNote {
            id: Id::child(&order.id, "not", order.notes.len() + 1),
            text: text.clone(),
            author: author.clone(),
        })
    })
    .await
}

/// A hold of the reason a form or path names, with the form's note.
fn hold_change(reason: &str, text: &Option<String>) -> Result<HoldChange, ConsoleError> {
    let reason = HoldReason::parse(reason)
        .ok_or_else(|| ConsoleError::invalid("reason", "unknown_reason", "not a hold reason"))?;
    Ok(HoldChange {
        reason,
        note: note(text)?,
    })
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
) -> Answered {
    let change = hold_change(&posted.form.reason, &posted.form.note)?;
    let notice = format!("Hold {} placed.", change.reason.as_str());
    run(&app, &posted, id, &notice, move |_| {
        Ok(OrderCommand::PlaceHold(change.clone()))
    })
    .await
}

#[derive(Debug, Deserialize)]
pub struct ReleaseForm {
    note: Option<String>,
}

pub async fn release_hold(
    State(app): State<AppState>,
    Path((id, reason)): Path<(String, String)>,
    posted: Posted<ReleaseForm>,
) -> Answered {
    let change = hold_change(&reason, &posted.form.note)?;
    let notice = format!("Hold {} released.", change.reason.as_str());
    let config = app.config.clone();
    run(&app, &posted, id, &notice, move |order| {
        Ok(OrderCommand::ReleaseHold {
            hold: change.clone(),
            capture: crate::app::runner::capture_mode(&config, order),
        })
    })
    .await
}

#[derive(Debug, Deserialize)]
pub struct RefundForm {
    #[serde(default)]
    amount: String,
    /// The "refund everything" button's amount, sent instead of the typed one.
    full_amount: Option<String>,
    #[serde(default)]
    reason: String,
    method: Option<String>,
    note: Option<String>,
}

pub async fn refund(
    State(app): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<RefundForm>,
) -> Answered {
    let form = &posted.form;
    let reason = RefundReason::parse(&form.reason)
        .ok_or_else(|| ConsoleError::invalid("reason", "unknown_reason", "not a refund reason"))?;
    let method = match form.method.as_deref() {
        None | Some("") => RefundMethod::OriginalPayment,
        Some(m) => RefundMethod::parse(m).ok_or_else(|| {
            ConsoleError::invalid(
                "method",
                "unknown_refund_method",
                "original payment or store credit",
            )
        })?,
    };
    let note = note(&form.note)?;
    // The amount is read in the order's currency, which the page was showing.
    let order = app.order(&posted.viewer.actor(), id.clone()).await?;
    let currency = order.currency.as_str();
    let typed = form.full_amount.as_deref().unwrap_or(&form.amount);
    let amount = parse_money(typed, currency)
        .filter(|a| *a > 0)
        .ok_or_else(|| {
            ConsoleError::invalid(
                "amount",
                "invalid_amount",
                "an amount such as 12.50, more than zero, in the order's currency",
            )
        })?;
    let cmd = RequestRefund {
        id: Id::new(app.new_id("ref")),
        amount_minor: Some(amount),
        reason,
        method,
        lines: Vec::new(),
        note,
    };
    let notice = format!("Refund of {} requested.", money(amount, currency));
    run(&app, &posted, id, &notice, move |_| {
        Ok(OrderCommand::Refund(cmd.clone()))
    })
    .await
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
) -> Answered {
    let reason = CancelReason::parse(&posted.form.reason).ok_or_else(|| {
        ConsoleError::invalid("reason", "unknown_reason", "not a cancellation reason")
    })?;
    let action = crate::edits::commands::EditAction::Cancel {
        lines: None,
        reason,
        note: note(&posted.form.note)?,
    };
    let outcome = edit(&app, &posted, &id, action).await?;
    Ok(done(
        &posted.viewer,
        &format!("/console/orders/{id}"),
        &cancelled(&outcome, "the order"),
    ))
}

pub async fn resend(
    State(app): State<AppState>,
    Path((id, message_id)): Path<(String, String)>,
    posted: Posted<NoFields>,
) -> Answered {
    let m = app
        .resend_message(&posted.viewer.actor(), id.clone(), message_id)
        .await?;
    let notice = format!("Message {} queued again.", m.template);
    Ok(done(
        &posted.viewer,
        &format!("/console/orders/{id}"),
        &notice,
    ))
}
