//! The case forms: opening a case from an order and every action on a case, each the
//! case command the API's `/cases/{id}/<action>` runs, through the same application
//! call, so permissions, the root-cause taxonomy and the case's state machine are
//! checked in one place. Success goes back to the case with a notice.

use crate::app::error::AppError;
use crate::app::{AppState, Outcome};
use crate::cases::commands::OpenInput;
use crate::console::error::ConsoleError;
use crate::console::session::{NoFields, Posted, done};
use axum::extract::{Path, State};
use axum::response::Response;
use orderly_domain::case::{
    CaseCommand, CaseStatus, ContactChannel, Direction, NewContact, Priority, SUBJECT_MAX_CHARS,
    SUMMARY_MAX_CHARS,
};
use serde::Deserialize;

type Answered = Result<Response, ConsoleError>;

/// A text the form must fill, of at most `max` characters.
fn required(field: &str, text: &str, max: usize) -> Result<String, ConsoleError> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > max {
        return Err(ConsoleError::invalid(
            field,
            "invalid_length",
            &format!("{field} is 1-{max} characters"),
        ));
    }
    Ok(text.to_owned())
}

fn pick<T>(field: &str, value: &str, parse: fn(&str) -> Option<T>) -> Result<T, ConsoleError> {
    parse(value).ok_or_else(|| {
        ConsoleError::invalid(field, "unknown_value", "not one of the allowed values")
    })
}

/// Runs `command` on case `id` as the poster and goes back to it with `notice`.
async fn run<T>(
    app: &AppState,
    posted: &Posted<T>,
    id: String,
    command: CaseCommand,
    notice: &str,
) -> Answered {
    app.case_command(posted.origin(), posted.idem.clone(), id.clone(), command)
        .await?;
    Ok(done(
        &posted.viewer,
        &format!("/console/cases/{id}"),
        notice,
    ))
}

#[derive(Debug, Deserialize)]
pub struct ContactForm {
    #[serde(default)]
    channel: String,
    #[serde(default)]
    direction: String,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    order_status: Option<String>,
}

fn contact(form: &ContactForm) -> Result<NewContact, ConsoleError> {
    Ok(NewContact {
        channel: pick("channel", &form.channel, ContactChannel::parse)?,
        direction: pick("direction", &form.direction, Direction::parse)?,
        summary: required("summary", &form.summary, SUMMARY_MAX_CHARS)?,
        order_status: form.order_status.is_some(),
    })
}

pub async fn log_contact(
    State(app): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<ContactForm>,
) -> Answered {
    let command = CaseCommand::LogContact(contact(&posted.form)?);
    run(&app, &posted, id, command, "Contact logged.").await
}

#[derive(Debug, Deserialize)]
pub struct AssignForm {
    #[serde(default)]
    owner: String,
    #[serde(default)]
    group: String,
}

pub async fn assign(
    State(app): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<AssignForm>,
) -> Answered {
    let form = &posted.form;
    let group = Some(form.group.trim().to_owned()).filter(|g| !g.is_empty());
    let command = match form.owner.trim() {
        "none" if group.is_none() => CaseCommand::Unassign,
        "none" => {
            return Err(ConsoleError::invalid(
                "owner",
                "unassign_with_owner",
                "unassigning names no group",
            ));
        }
        "" if group.is_none() => {
            return Err(ConsoleError::invalid(
                "owner",
                "required",
                "choose an owner or a group",
            ));
        }
        "" => CaseCommand::Assign { owner: None, group },
        "me" => CaseCommand::Assign {
            owner: Some(posted.viewer.actor().label()),
            group,
        },
        other => CaseCommand::Assign {
            owner: Some(required("owner", other, 128)?),
            group,
        },
    };
    run(&app, &posted, id, command, "Assignment changed.").await
}

#[derive(Debug, Deserialize)]
pub struct StatusForm {
    #[serde(default)]
    status: String,
}

pub async fn change_status(
    State(app): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<StatusForm>,
) -> Answered {
    let status = pick("status", &posted.form.status, CaseStatus::parse)?;
    if !status.is_active() {
        return Err(ConsoleError::invalid(
            "status",
            "unknown_value",
            "open, pending customer or pending internal",
        ));
    }
    let notice = format!("Status set to {}.", status.as_str());
    run(
        &app,
        &posted,
        id,
        CaseCommand::ChangeStatus(status),
        &notice,
    )
    .await
}

#[derive(Debug, Deserialize)]
pub struct PriorityForm {
    #[serde(default)]
    priority: String,
}

pub async fn change_priority(
    State(app): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<PriorityForm>,
) -> Answered {
    let p = pick("priority", &posted.form.priority, Priority::parse)?;
    let notice = format!("Priority set to {}.", p.as_str());
    run(&app, &posted, id, CaseCommand::ChangePriority(p), &notice).await
}

#[derive(Debug, Deserialize)]
pub struct ResolveForm {
    #[serde(default)]
    root_cause: String,
    note: Option<String>,
}

pub async fn resolve(
    State(app): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<ResolveForm>,
) -> Answered {
    let form = &posted.form;
    let note = match form.note.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(n) => Some(required("note", n, SUMMARY_MAX_CHARS)?),
    };
    let command = CaseCommand::Resolve {
        root_cause: required("root_cause", &form.root_cause, 64)?,
        taxonomy: app.config.cases.root_causes.clone(),
        note,
    };
    let notice = format!("Resolved: {}.", form.root_cause.trim());
    run(&app, &posted, id, command, &notice).await
}

#[derive(Debug, Deserialize)]
pub struct ReopenForm {
    #[serde(default)]
    reason: String,
}

pub async fn reopen(
    State(app): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<ReopenForm>,
) -> Answered {
    let reason = required("reason", &posted.form.reason, 200)?;
    run(
        &app,
        &posted,
        id,
        CaseCommand::Reopen { reason },
        "Reopened.",
    )
    .await
}

pub async fn close(
    State(app): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<NoFields>,
) -> Answered {
    run(&app, &posted, id, CaseCommand::Close, "Closed.").await
}

#[derive(Debug, Deserialize)]
pub struct OpenForm {
    #[serde(default)]
    subject: String,
    #[serde(default)]
    channel: String,
    #[serde(default)]
    priority: String,
    #[serde(default)]
    group: String,
    /// What the customer said, if they got in touch (empty: support noticed first).
    #[serde(default)]
    summary: String,
    #[serde(default)]
    order_status: Option<String>,
    /// `me` to take the case at once.
    #[serde(default)]
    owner: String,
}

/// Opens a case about order `id` and goes to it.
pub async fn open_case(
    State(app): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<OpenForm>,
) -> Answered {
    let form = &posted.form;
    let channel = pick("channel", &form.channel, ContactChannel::parse)?;
    let first = Some(form.summary.trim())
        .filter(|s| !s.is_empty())
        .map(|s| {
            Ok::<_, ConsoleError>(NewContact {
                channel,
                direction: Direction::Inbound,
                summary: required("summary", s, SUMMARY_MAX_CHARS)?,
                order_status: form.order_status.is_some(),
            })
        })
        .transpose()?;
    let input = OpenInput {
        subject: required("subject", &form.subject, SUBJECT_MAX_CHARS)?,
        channel,
        priority: pick("priority", &form.priority, Priority::parse)?,
        group: Some(form.group.trim().to_owned()).filter(|g| !g.is_empty()),
        owner: (form.owner == "me").then(|| posted.viewer.actor().label()),
        order: Some(id),
        customer_email: None,
        links: Vec::new(),
        contact: first,
    };
    let outcome = app
        .open_case(posted.origin(), posted.idem.clone(), input)
        .await?;
    let number = match &outcome {
        Outcome::Body(_, body) => serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v.get("number").and_then(|n| n.as_str()).map(str::to_owned)),
        Outcome::Order(..) => None,
    }
    .ok_or_else(|| AppError::Internal("an opened case answered without its number".into()))?;
    Ok(done(
        &posted.viewer,
        &format!("/console/cases/{number}"),
        &format!("Case {number} opened."),
    ))
}
