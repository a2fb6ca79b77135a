//! `GET /metrics/kpis`: every KPI over a range of business days, its trend per day, week
//! or month, its benchmark, and grouped by channel, location, carrier, SKU, category,
//! reason, queue or root cause where the KPI is kept that way.

use super::report::{KpiFigure, Period};
use super::{GroupBy, KpiQuery, MAX_DAYS};
use crate::app::AppState;
use crate::app::auth::Principal;
use crate::http::extract::ApiQuery;
use crate::http::problem::{ApiError, Problem};
use axum::Json;
use axum::extract::State;
use jiff::civil::Date;
use orderly_domain::kpi::Dim;
use orderly_domain::order::FieldIssue;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct KpiParams {
    /// The first business day (`YYYY-MM-DD`, in the business calendar's time zone);
    /// default: six days before `to`.
    #[param(format = Date, max_length = 10)]
    pub from: Option<String>,
    /// The last business day, included; default: today. At most 366 days from `from`,
    /// both included.
    #[param(format = Date, max_length = 10)]
    pub to: Option<String>,
    /// `channel`, `location`, `carrier`, `sku`, `category`, `reason`, `queue`,
    /// `root_cause` or `lane` (carrier and destination zone); none: totals only.
    #[param(
        pattern = "^(all|channel|location|carrier|sku|category|reason|queue|root_cause|lane)$"
    )]
    pub group_by: Option<String>,
    /// The trend's step: `day` (the default), `week` (from Monday) or `month`.
    #[param(pattern = "^(day|week|month)$")]
    pub period: Option<String>,
    /// Only this channel's figures (KPIs not kept per channel have none); not with
    /// `group_by` or `location`.
    #[param(max_length = 64)]
    pub channel: Option<String>,
    /// Only this location's figures (the shipping KPIs); not with `group_by` or
    /// `channel`.
    #[param(max_length = 64)]
    pub location: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KpiReportView {
    pub from: String,
    pub to: String,
    /// The time zone whose dates the days are.
    pub time_zone: String,
    pub group_by: Option<String>,
    pub period: String,
    pub kpis: Vec<KpiFigure>,
}

fn refuse(field: &str, code: &'static str, message: &str) -> ApiError {
    ApiError::InvalidQueryParam(FieldIssue::new(field, code, message))
}

fn date(field: &str, raw: Option<String>) -> Result<Option<Date>, ApiError> {
    raw.map(|s| {
        s.parse::<Date>()
            .map_err(|_| refuse(field, "invalid_date", "a date as YYYY-MM-DD"))
    })
    .transpose()
}

/// The KPIs of a range of days.
#[utoipa::path(get, path = "/api/v1/metrics/kpis", tag = "kpis", params(KpiParams),
    responses((status = 200, body = KpiReportView),
        (status = 400, description = "invalid_query_parameter (invalid_query: invalid_date, empty_range, range_too_long, unknown_value, one_filter)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "forbidden", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "not_found (no such channel or location)", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn kpis(
    State(app): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<KpiParams>,
) -> Result<Json<KpiReportView>, ApiError> {
    let rules = app
        .config
        .kpi_rules()
        .map_err(|e| ApiError::from(crate::app::error::AppError::Internal(e.to_string())))?;
    let today = rules.day(app.now());
    let to = date("to", q.to)?.unwrap_or(today);
    let from = match date("from", q.from)? {
        Some(f) => f,
        None => to
            .checked_sub(jiff::Span::new().days(6))
            .map_err(|_| refuse("to", "invalid_date", "too early for a week"))?,
    };
    if from > to {
        return Err(refuse("from", "empty_range", "from must not be after to"));
    }
    // Both ends count: from 2026-01-01 to 2026-12-31 is 365 days.
    let days = i64::from((to - from).get_days()) + 1;
    if days > MAX_DAYS {
        return Err(refuse(
            "to",
            "range_too_long",
            "at most 366 days, both ends included",
        ));
    }
    let group_by = match q.group_by.as_deref() {
        None => None,
        Some(g) => match (g, GroupBy::parse(g)) {
            ("all", _) => None,
            (_, Some(by)) => Some(by),
            _ => {
                return Err(refuse(
                    "group_by",
                    "unknown_value",
                    "a dimension the KPIs keep",
                ));
            }
        },
    };
    let period = match q.period.as_deref() {
        None => Period::Day,
        Some(p) => Period::parse(p)
            .ok_or_else(|| refuse("period", "unknown_value", "day, week or month"))?,
    };
    let only = match (q.channel, q.location) {
        (Some(c), None) => Some((Dim::Channel, c)),
        (None, Some(l)) => Some((Dim::Location, l)),
        (None, None) => None,
        (Some(_), Some(_)) => {
            return Err(refuse(
                "location",
                "one_filter",
                "channel or location, not both",
            ));
        }
    };
    if only.is_some() && group_by.is_some() {
        return Err(refuse(
            "group_by",
            "one_filter",
            "a narrowed report is not grouped",
        ));
    }
    let kpis = app
        .kpi_report(
            &principal.actor(),
            KpiQuery {
                from,
                to,
                group_by,
                period,
                only,
            },
        )
        .await?;
    Ok(Json(KpiReportView {
        from: from.to_string(),
        to: to.to_string(),
        time_zone: rules
            .calendar
            .time_zone()
            .iana_name()
            .unwrap_or("UTC")
            .to_owned(),
        group_by: group_by.map(|g| g.as_str().to_owned()),
        period: period.as_str().to_owned(),
        kpis,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct InsightParams {
    /// The last business day of the demand window (`kpis.demand_days` long); default:
    /// today.
    #[param(format = Date, max_length = 10)]
    pub to: Option<String>,
}

/// Days of cover, reorder points, placement and carriers over the recent demand.
#[utoipa::path(get, path = "/api/v1/metrics/insight", tag = "kpis", params(InsightParams),
    responses((status = 200, body = super::insight::Insight),
        (status = 400, description = "invalid_query (invalid_date)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "forbidden", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn insight(
    State(app): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<InsightParams>,
) -> Result<Json<super::insight::Insight>, ApiError> {
    let today = app
        .config
        .kpi_rules()
        .map_err(|e| ApiError::from(crate::app::error::AppError::Internal(e.to_string())))?
        .day(app.now());
    let to = date("to", q.to)?.unwrap_or(today);
    Ok(Json(app.inventory_insight(&principal.actor(), to).await?))
}
