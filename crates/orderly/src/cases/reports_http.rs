//! `GET /cases/root-causes`: resolved cases counted per root cause, grouped by period,
//! channel, location, carrier or SKU over a range of at most a year.

use crate::app::AppState;
use crate::app::auth::Principal;
use crate::cases::reports::{Grouping, MAX_DAYS, Period};
use crate::http::extract::{ApiQuery, parse_time};
use crate::http::problem::{ApiError, Problem};
use axum::Json;
use axum::extract::State;
use jiff::SignedDuration;
use orderly_domain::order::FieldIssue;
use orderly_domain::time::rfc3339;
use orderly_store::CauseDimension;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RootCauseQuery {
    /// `period` (the default), `channel`, `location`, `carrier` or `sku`. A case counts
    /// once per location, carrier and SKU its order had.
    #[param(pattern = "^(period|channel|location|carrier|sku)$")]
    pub by: Option<String>,
    /// With `by=period`: `day` (the default), `week` (from Monday) or `month`, in the
    /// business calendar's time zone.
    #[param(pattern = "^(day|week|month)$")]
    pub period: Option<String>,
    /// RFC 3339; cases resolved at or after (default: 30 days before `to`).
    #[param(format = DateTime)]
    pub from: Option<String>,
    /// RFC 3339; cases resolved before (default: up to now). At most 366 days after
    /// `from`.
    #[param(format = DateTime)]
    pub to: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CauseOut {
    pub root_cause: String,
    pub cases: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CauseGroupOut {
    /// The period (`2026-12-07`, a week's Monday, `2026-12`), channel, location,
    /// carrier or SKU.
    pub key: String,
    pub cases: u64,
    /// Most frequent first.
    pub causes: Vec<CauseOut>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RootCauseReport {
    pub by: String,
    pub from: String,
    pub to: String,
    /// In key order.
    pub data: Vec<CauseGroupOut>,
}

fn refuse(field: &str, code: &'static str, message: &str) -> ApiError {
    ApiError::InvalidQueryParam(FieldIssue::new(field, code, message))
}

/// Resolved cases per root cause, grouped as asked.
#[utoipa::path(get, path = "/api/v1/cases/root-causes", tag = "cases", params(RootCauseQuery),
    responses((status = 200, body = RootCauseReport),
        (status = 400, description = "invalid_query_parameter (invalid_time, empty_range, range_too_long)", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn root_causes(
    State(app): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<RootCauseQuery>,
) -> Result<Json<RootCauseReport>, ApiError> {
    let by = q.by.as_deref().unwrap_or("period");
    let grouping = match by {
        "period" => Grouping::Period(match q.period.as_deref().unwrap_or("day") {
            "day" => Period::Day,
            "week" => Period::Week,
            "month" => Period::Month,
            _ => return Err(refuse("period", "unknown_value", "day, week or month")),
        }),
        "channel" => Grouping::Dimension(CauseDimension::Channel),
        "location" => Grouping::Dimension(CauseDimension::Location),
        "carrier" => Grouping::Dimension(CauseDimension::Carrier),
        "sku" => Grouping::Dimension(CauseDimension::Sku),
        _ => {
            return Err(refuse(
                "by",
                "unknown_value",
                "period, channel, location, carrier or sku",
            ));
        }
    };
    // By default up to this moment, inclusive (the range's end is exclusive).
    let to = match parse_time("to", q.to)? {
        Some(to) => to,
        None => app.now() + SignedDuration::from_millis(1),
    };
    let from = match parse_time("from", q.from)? {
        Some(f) => f,
        None => to
            .checked_sub(SignedDuration::from_hours(24 * 30))
            .map_err(|_| refuse("to", "invalid_time", "too early for a 30-day range"))?,
    };
    if from >= to {
        return Err(refuse("from", "empty_range", "from must be before to"));
    }
    if to.duration_since(from) > SignedDuration::from_hours(24 * MAX_DAYS) {
        return Err(refuse(
            "to",
            "range_too_long",
            "at most 366 days after from",
        ));
    }
    let groups = app
        .root_cause_report(&principal.actor(), grouping, (from, to))
        .await?;
    Ok(Json(RootCauseReport {
        by: by.to_owned(),
        from: rfc3339(from),
        to: rfc3339(to),
        data: groups
            .into_iter()
            .map(|g| CauseGroupOut {
                key: g.key,
                cases: g.total,
                causes: g
                    .causes
                    .into_iter()
                    .map(|(root_cause, cases)| CauseOut { root_cause, cases })
                    .collect(),
            })
            .collect(),
    }))
}
