//! The returns desk's forms, each the call the API's `/returns/{id}/…` makes: a review
//! (approval is refused beyond the role's approval limit, as for an API key), a receipt
//! from the scans typed or read by a scanner (one per line; anything not on the RMA is
//! recorded as an unexpected item, not accepted), an inspection with a condition,
//! acceptance and disposition per received item, a person's decision on the units the
//! inspection left for one, and booking again a parcel back to the customer.

use crate::app::AppState;
use crate::app::error::AppError;
use crate::console::error::ConsoleError;
use crate::console::session::{Posted, done};
use crate::returns::requests::{
    DecideIn, DecisionIn, InspectIn, InspectionIn, parse_decisions, parse_inspection,
};
use axum::extract::{Path, State};
use axum::response::Response;
use orderly_domain::order::FieldIssue;
use serde::Deserialize;
use std::collections::BTreeMap;

type Answered = Result<Response, ConsoleError>;

/// The most scans one receipt takes (the API's bound).
const MAX_SCANS: usize = 1000;

fn back(posted_rma: &str) -> String {
    format!("/console/returns/{posted_rma}")
}

#[derive(Debug, Deserialize)]
pub struct ReviewForm {
    #[serde(default)]
    decision: String,
    note: Option<String>,
}

pub async fn review(
    State(app): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<ReviewForm>,
) -> Answered {
    let approve = match posted.form.decision.as_str() {
        "approve" => true,
        "deny" => false,
        _ => {
            return Err(AppError::Validation(vec![FieldIssue::new(
                "decision",
                "unknown_value",
                "approve or deny",
            )])
            .into());
        }
    };
    let note = posted
        .form
        .note
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(|n| n.chars().take(1000).collect::<String>());
    let (order, rid) = app
        .review_return(
            id.clone(),
            approve,
            note,
            posted.origin(),
            posted.idem.clone(),
        )
        .await?;
    let state = shown_state(&order, &rid);
    let notice = if approve {
        format!("Approved: the return is {state}.")
    } else {
        format!("Denied: the return is {state}.")
    };
    Ok(done(&posted.viewer, &back(&id), &notice))
}

#[derive(Debug, Deserialize)]
pub struct ReceiveForm {
    #[serde(default)]
    location_id: String,
    #[serde(default)]
    scans: String,
    close: Option<String>,
}

pub async fn receive(
    State(app): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<ReceiveForm>,
) -> Answered {
    let form = &posted.form;
    let scans: Vec<String> = form.scans.split_whitespace().map(str::to_owned).collect();
    if scans.len() > MAX_SCANS || scans.iter().any(|s| s.len() > 64) {
        return Err(AppError::Validation(vec![FieldIssue::new(
            "scans",
            "too_many_scans",
            "at most 1000 scans of at most 64 characters",
        )])
        .into());
    }
    let n = scans.len();
    let (order, rid) = app
        .receive_return(
            id.clone(),
            form.location_id.trim().to_owned(),
            scans,
            form.close.is_some(),
            posted.origin(),
            posted.idem.clone(),
        )
        .await?;
    let unexpected = order
        .return_by_id(rid.as_str())
        .map_or(0, |r| r.unexpected.len());
    let notice = match unexpected {
        0 => format!("{n} scans received."),
        u => format!("{n} scans received; {u} not on this RMA, recorded as unexpected."),
    };
    Ok(done(&posted.viewer, &back(&id), &notice))
}

/// The units a per-unit form names: each `acceptance_<item>` not left empty (at most
/// 1000), made by `make` from the item's number and its fields (`field("condition")`
/// reads `condition_<item>`).
fn per_item<T>(
    form: &BTreeMap<String, String>,
    make: impl Fn(u32, &dyn Fn(&str) -> String) -> T,
) -> Vec<T> {
    form.iter()
        .filter_map(|(k, v)| k.strip_prefix("acceptance_").filter(|_| !v.is_empty()))
        .take(1000)
        .map(|item| {
            let field = |name: &str| {
                form.get(&format!("{name}_{item}"))
                    .cloned()
                    .unwrap_or_default()
            };
            make(item.parse().unwrap_or(0), &field)
        })
        .collect()
}

/// What the return reads now, in words (`refund pending`).
fn shown_state(order: &orderly_domain::order::Order, rid: &orderly_domain::values::Id) -> String {
    order
        .return_by_id(rid.as_str())
        .map(|r| r.status(order).as_str().replace('_', " "))
        .unwrap_or_default()
}

fn form_error(e: crate::http::problem::ApiError) -> ConsoleError {
    match e {
        crate::http::problem::ApiError::App(app) => ConsoleError::App(app),
        other => ConsoleError::BadForm(other.to_string()),
    }
}

/// The inspection form: `condition_<item>`, `acceptance_<item>`, `disposition_<item>`
/// for each item inspected (an item whose acceptance is left empty is not).
pub async fn inspect(
    State(app): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<BTreeMap<String, String>>,
) -> Answered {
    let items = per_item(&posted.form, |item_no, field| InspectionIn {
        item_no,
        condition: field("condition"),
        acceptance: field("acceptance"),
        disposition: field("disposition"),
    });
    let items = parse_inspection(&InspectIn { items }).map_err(form_error)?;
    let n = items.len();
    app.inspect_return(id.clone(), items, posted.origin(), posted.idem.clone())
        .await?;
    Ok(done(
        &posted.viewer,
        &back(&id),
        &format!("{n} items inspected."),
    ))
}

/// The decision form: `acceptance_<item>` and `disposition_<item>` for each unit decided
/// (one whose acceptance is left empty is not), and a `note`.
pub async fn decide(
    State(app): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<BTreeMap<String, String>>,
) -> Answered {
    let items = per_item(&posted.form, |item_no, field| DecisionIn {
        item_no,
        acceptance: field("acceptance"),
        disposition: field("disposition"),
    });
    let note = posted
        .form
        .get("note")
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty());
    let (items, note) = parse_decisions(&DecideIn { items, note }).map_err(form_error)?;
    let n = items.len();
    let (order, rid) = app
        .decide_return_items(
            id.clone(),
            items,
            note,
            posted.origin(),
            posted.idem.clone(),
        )
        .await?;
    let state = shown_state(&order, &rid);
    Ok(done(
        &posted.viewer,
        &back(&id),
        &format!("{n} items decided: the return is {state}."),
    ))
}

/// Books again the parcel that takes rejected units back to the customer.
pub async fn send_back(
    State(app): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<BTreeMap<String, String>>,
) -> Answered {
    let (order, rid) = app
        .send_back_return_items(id.clone(), posted.origin())
        .await?;
    let parcels = order
        .return_by_id(rid.as_str())
        .map_or(0, |r| r.send_backs.len());
    Ok(done(
        &posted.viewer,
        &back(&id),
        &format!("Booked: {parcels} parcels back to the customer."),
    ))
}
