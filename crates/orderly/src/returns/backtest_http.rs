//! `POST /returns/backtest`: the policy backtest through the API, for an admin. The draft
//! is sent as TOML in a string (the same text as a draft file for the CLI, one policy
//! version as a top-level table), so what a person tries on the command line and what a
//! tool sends are the same document; the answer is the report as JSON.

use crate::app::AppState;
use crate::app::auth::Principal;
use crate::app::error::AppError;
use crate::http::extract::{ApiJson, required_text, to_json};
use crate::http::problem::{ApiError, Problem};
use crate::http::schema::required_text as text_schema;
use crate::returns::backtest::{MAX_DRAFT_CHARS, parse_draft};
use crate::returns::backtest_view::{BacktestView, backtest_view};
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use orderly_domain::order::FieldIssue;
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BacktestIn {
    /// The draft policy version as TOML: the keys of one `[[returns.policies]]` entry
    /// as a top-level table; at most 100000 characters.
    #[schema(schema_with = text_schema::<100000>)]
    pub policy: String,
    /// RFC 3339: the requests recorded at or after this time are replayed.
    #[schema(format = DateTime)]
    pub since: String,
}

/// Replays every return request recorded since a time under a draft policy version,
/// without writing anything: the decisions that would flip, refunds and fees before and
/// after in total and per reason, the reviews it would need with the lowest role that
/// may approve each, and the requests the draft cannot take.
#[utoipa::path(post, path = "/api/v1/returns/backtest", tag = "returns",
    request_body = BacktestIn,
    responses((status = 200, body = BacktestView),
        (status = 403, description = "forbidden: admin only", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "validation_failed: the draft does not parse (invalid_policy) or breaks a rule of a policy version, each named by its key (policy.…)", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn backtest(
    State(app): State<AppState>,
    principal: Principal,
    body: ApiJson<BacktestIn>,
) -> Result<Response, ApiError> {
    let req = body.value;
    let actor = principal.actor();
    // Authority first, so a key that may not backtest learns nothing about its draft.
    crate::app::auth::authorize(&actor, crate::app::auth::Permission::BacktestPolicies)?;
    let mut issues: Vec<FieldIssue> = required_text("policy", &req.policy, MAX_DRAFT_CHARS)
        .into_iter()
        .collect();
    let since = req.since.parse::<jiff::Timestamp>().ok();
    if since.is_none() {
        issues.push(FieldIssue::new(
            "since",
            "invalid_time",
            "an RFC 3339 time such as 2026-12-01T00:00:00Z",
        ));
    }
    let draft = if issues.is_empty() {
        match parse_draft(&req.policy) {
            Ok(draft) => Some(draft),
            Err(found) => {
                issues.extend(found);
                None
            }
        }
    } else {
        None
    };
    let (Some(draft), Some(since)) = (draft, since) else {
        return Err(AppError::Validation(issues).into());
    };
    let report = app.backtest_returns(&actor, draft, since).await?;
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        to_json(&backtest_view(&report, since)),
    )
        .into_response())
}
