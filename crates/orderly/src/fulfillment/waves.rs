//! `/waves`: released fulfillment orders of one location grouped for picking, found again
//! by id or in a filtered list, and their pick list (JSON and a printable page) with
//! lines grouped by SKU and sorted by bin, so a picker walks the aisles once.

use crate::app::AppState;
use crate::app::auth::Principal;
use crate::app::error::AppError;
use crate::fulfillment::commands::NewWave;
use crate::fulfillment::queries::{PickList, WaveMembers};
use crate::http::extract::parse_time;
use crate::http::extract::{
    ApiJson, ApiQuery, bounded_param, decode_cursor, idempotency, json_reply, page_cursor,
    page_limit, to_json, too_long,
};
use crate::http::problem::{ApiError, Problem};
use crate::providers::labels::{PickRow, pick_list_pdf};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use orderly_domain::fulfillment::FulfillmentState;
use orderly_domain::order::FieldIssue;
use orderly_domain::time::rfc3339;
use orderly_store::{WaveFilter, WaveSummary};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// The most fulfillment orders one wave takes.

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWaveRequest {
    #[schema(max_length = 64)]
    pub location_id: String,
    /// Only fulfillment orders released at or before this time (a cutoff), RFC 3339.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub released_before: Option<jiff::Timestamp>,
    /// At most this many fulfillment orders (default 50, at most 500).
    #[schema(minimum = 1, maximum = 500)]
    pub max_orders: Option<u32>,
    /// At most this many lines over all its fulfillment orders.
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub max_lines: Option<u32>,
    /// Only orders that asked for this `carrier/service` (e.g. an express wave).
    #[schema(max_length = 128)]
    pub service: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PickOut {
    pub fulfillment_order_id: String,
    pub order_number: String,
    pub line_no: u32,
    pub quantity: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PickLineOut {
    pub sku: String,
    pub name: String,
    /// Where the SKU is kept at the location (none recorded: last).
    pub bin: Option<String>,
    pub quantity: u32,
    pub picks: Vec<PickOut>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PickListOut {
    pub wave_id: String,
    pub location_id: String,
    pub created_at: String,
    pub created_by: String,
    pub fulfillment_order_ids: Vec<String>,
    /// Grouped by SKU, in bin order.
    pub lines: Vec<PickLineOut>,
}

/// The pick list's view: each SKU still to pick with the orders to put it in, sorted by
/// bin (SKUs without one last) so a picker walks the aisles once.
fn pick_list_out(list: PickList) -> PickListOut {
    let mut by_sku: BTreeMap<String, PickLineOut> = BTreeMap::new();
    for (order, fo) in list.members.to_pick() {
        for l in fo.lines.iter().filter(|l| l.quantity > 0) {
            let name = order
                .lines
                .iter()
                .find(|ol| ol.line_no == l.line_no)
                .map(|ol| ol.name.clone())
                .unwrap_or_default();
            let entry = by_sku
                .entry(l.sku.to_string())
                .or_insert_with(|| PickLineOut {
                    sku: l.sku.to_string(),
                    name,
                    bin: None,
                    quantity: 0,
                    picks: Vec::new(),
                });
            entry.quantity += l.quantity;
            entry.picks.push(PickOut {
                fulfillment_order_id: fo.id.to_string(),
                order_number: order.number.clone(),
                line_no: l.line_no,
                quantity: l.quantity,
            });
        }
    }
    let mut lines: Vec<PickLineOut> = by_sku.into_values().collect();
    for line in &mut lines {
        line.bin = list.bins.get(&line.sku).cloned().flatten();
    }
    lines.sort_by(|a, b| (a.bin.is_none(), &a.bin, &a.sku).cmp(&(b.bin.is_none(), &b.bin, &b.sku)));
    let wave = list.members.wave;
    PickListOut {
        wave_id: wave.id,
        location_id: wave.location_id,
        created_at: rfc3339(wave.created_at),
        created_by: wave.created_by,
        fulfillment_order_ids: wave.members.into_iter().map(|(f, _)| f).collect(),
        lines,
    }
}

async fn load(app: &AppState, principal: &Principal, id: String) -> Result<PickListOut, AppError> {
    Ok(pick_list_out(app.pick_list(&principal.actor(), id).await?))
}

/// Groups released fulfillment orders of a location (oldest release first, up to the
/// limits) into a wave and answers with its pick list. Each fulfillment order joins at
/// most one wave, even when two are made at once.
#[utoipa::path(post, path = "/api/v1/waves", tag = "fulfillment",
    params(("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Replays the first response for the same key and request")),
    request_body = CreateWaveRequest,
    responses((status = 201, body = PickListOut),
        (status = 409, description = "nothing_to_wave", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "unknown_location", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn create_wave(
    State(app): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    body: ApiJson<CreateWaveRequest>,
) -> Result<Response, ApiError> {
    let idem = idempotency(&headers, &principal, "POST", "/api/v1/waves", &body.raw)?;
    let req = body.value;
    let mut issues: Vec<FieldIssue> = [
        too_long("location_id", Some(&req.location_id), 64),
        too_long("service", req.service.as_deref(), 128),
    ]
    .into_iter()
    .flatten()
    .collect();
    if req.max_lines.is_some_and(|m| !(1..=1_000_000).contains(&m)) {
        issues.push(FieldIssue::new(
            "max_lines",
            "out_of_range",
            "max_lines is 1-1,000,000",
        ));
    }
    if !issues.is_empty() {
        return Err(AppError::Validation(issues).into());
    }
    let wave = NewWave {
        location_id: req.location_id,
        released_before: req.released_before,
        max_orders: req.max_orders,
        max_lines: req.max_lines,
        service: req.service,
    };
    let origin = crate::http::extract::origin(&principal, &headers);
    let id = app.create_wave(&origin, idem, wave).await?;
    let list = load(&app, &principal, id).await?;
    Ok(json_reply((201, to_json(&list))))
}

/// A wave's pick list: what is still to pick, grouped by SKU and sorted by bin.
#[utoipa::path(get, path = "/api/v1/waves/{id}/pick-list", tag = "fulfillment",
    responses((status = 200, body = PickListOut),
        (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn get_pick_list(
    State(app): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let list = load(&app, &principal, id).await?;
    Ok(json_reply((200, to_json(&list))))
}

/// `open` while a member waits to be picked, `completed` once none does.
fn wave_status(to_pick: u32) -> &'static str {
    if to_pick > 0 { "open" } else { "completed" }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WaveOut {
    pub id: String,
    pub location_id: String,
    pub created_at: String,
    pub created_by: String,
    /// `open` while a member waits to be picked, `completed` once every member is
    /// picked (or cancelled).
    #[schema(example = "open")]
    pub status: String,
    /// Fulfillment orders in the wave.
    pub members: u32,
    /// Members not picked yet.
    pub to_pick: u32,
    /// `/api/v1/waves/{id}/pick-list` (also `.html` and `.pdf`).
    pub pick_list: String,
}

fn wave_out(w: WaveSummary) -> WaveOut {
    WaveOut {
        pick_list: format!("/api/v1/waves/{}/pick-list", w.id),
        status: wave_status(w.to_pick).to_owned(),
        id: w.id,
        location_id: w.location_id,
        created_at: rfc3339(w.created_at),
        created_by: w.created_by,
        members: w.members,
        to_pick: w.to_pick,
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WaveMemberOut {
    pub fulfillment_order_id: String,
    pub order_id: String,
    pub order_number: String,
    /// The fulfillment order's state: `released` (to pick), `picking`, `packed`, …
    pub state: String,
}

/// A wave with each of its fulfillment orders and the order it belongs to.
#[derive(Debug, Serialize, ToSchema)]
pub struct WaveView {
    #[serde(flatten)]
    pub wave: WaveOut,
    pub fulfillment_orders: Vec<WaveMemberOut>,
}

fn wave_view(found: WaveMembers) -> WaveView {
    let WaveMembers { wave, orders } = found;
    let members: Vec<WaveMemberOut> = wave
        .members
        .iter()
        .map(|(fulfillment_id, order_id)| {
            let order = orders.get(order_id);
            let state = order
                .and_then(|o| {
                    o.fulfillment_orders
                        .iter()
                        .find(|f| f.id.as_str() == fulfillment_id)
                })
                .map(|f| f.state.as_str().to_owned())
                .unwrap_or_default();
            WaveMemberOut {
                fulfillment_order_id: fulfillment_id.clone(),
                order_id: order_id.clone(),
                order_number: order.map(|o| o.number.clone()).unwrap_or_default(),
                state,
            }
        })
        .collect();
    let to_pick = members
        .iter()
        .filter(|m| m.state == FulfillmentState::Released.as_str())
        .count();
    WaveView {
        wave: wave_out(WaveSummary {
            id: wave.id,
            location_id: wave.location_id,
            created_at: wave.created_at,
            created_by: wave.created_by,
            members: u32::try_from(members.len()).unwrap_or(u32::MAX),
            to_pick: u32::try_from(to_pick).unwrap_or(u32::MAX),
        }),
        fulfillment_orders: members,
    }
}

/// A wave: its status and each fulfillment order in it, with its order.
#[utoipa::path(get, path = "/api/v1/waves/{id}", tag = "fulfillment",
    params(("id" = String, Path, description = "Wave id (wav_…)")),
    responses((status = 200, body = WaveView),
        (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn get_wave(
    State(app): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let view = wave_view(app.wave(&principal.actor(), id).await?);
    Ok(json_reply((200, to_json(&view))))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct WaveListQuery {
    /// `open` or `completed`.
    #[param(schema_with = wave_status_schema)]
    pub status: Option<String>,
    #[param(max_length = 64)]
    pub location_id: Option<String>,
    /// RFC 3339; waves made at or after.
    #[param(format = DateTime)]
    pub created_from: Option<String>,
    /// RFC 3339; waves made before.
    #[param(format = DateTime)]
    pub created_to: Option<String>,
    /// Page size, 1-200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the page before.
    #[param(max_length = 256)]
    pub cursor: Option<String>,
}

fn wave_status_schema() -> utoipa::openapi::schema::ObjectBuilder {
    crate::http::schema::one_of(vec!["open", "completed"])
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WavePage {
    pub data: Vec<WaveOut>,
    pub next_cursor: Option<String>,
}

/// Waves, newest first.
#[utoipa::path(get, path = "/api/v1/waves", tag = "fulfillment", params(WaveListQuery),
    responses((status = 200, body = WavePage),
        (status = 400, description = "invalid_query", body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn list_waves(
    State(app): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<WaveListQuery>,
) -> Result<Response, ApiError> {
    let open = match q.status.as_deref() {
        None => None,
        Some("open") => Some(true),
        Some("completed") => Some(false),
        Some(_) => {
            return Err(ApiError::InvalidQueryParam(FieldIssue::new(
                "status",
                "unknown_value",
                "status is open or completed",
            )));
        }
    };
    let limit = page_limit(q.limit)?;
    let filter = WaveFilter {
        location_id: bounded_param("location_id", q.location_id, 64)?,
        open,
        created_from: parse_time("created_from", q.created_from)?,
        created_to: parse_time("created_to", q.created_to)?,
        before_id: q.cursor.as_deref().map(decode_cursor).transpose()?,
        limit: limit + 1,
    };
    let mut waves = app.waves(&principal.actor(), filter).await?;
    let next_cursor = page_cursor(&mut waves, limit, |w| w.id.clone());
    let page = WavePage {
        data: waves.into_iter().map(wave_out).collect(),
        next_cursor,
    };
    Ok(json_reply((200, to_json(&page))))
}

/// The printable pick list; askama escapes every value for HTML.
#[derive(askama::Template)]
#[template(path = "pick_list.html")]
struct PickListPage<'a> {
    list: &'a PickListOut,
}

/// The pick list as a page to print: one row per SKU in bin order, with the orders and
/// quantities to put it in.
#[utoipa::path(get, path = "/api/v1/waves/{id}/pick-list.html", tag = "fulfillment",
    responses((status = 200, description = "A printable page", content_type = "text/html"),
        (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn get_pick_list_html(
    State(app): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let list = load(&app, &principal, id).await?;
    let page = askama::Template::render(&PickListPage { list: &list })
        .map_err(|e| AppError::Internal(format!("pick list page: {e}")))?;
    Ok(([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response())
}

/// The pick list as a PDF (A4) for a printer or a clipboard.
#[utoipa::path(get, path = "/api/v1/waves/{id}/pick-list.pdf", tag = "fulfillment",
    responses((status = 200, description = "The pick list", content_type = "application/pdf"),
        (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn get_pick_list_pdf(
    State(app): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let list = load(&app, &principal, id).await?;
    let rows: Vec<PickRow> = list
        .lines
        .iter()
        .map(|l| PickRow {
            bin: l.bin.clone().unwrap_or_else(|| "-".to_owned()),
            sku: l.sku.clone(),
            name: l.name.clone(),
            quantity: l.quantity,
            destinations: l
                .picks
                .iter()
                .map(|p| format!("{} x{}", p.order_number, p.quantity))
                .collect::<Vec<_>>()
                .join(", "),
        })
        .collect();
    let subtitle = format!(
        "{} - {} fulfillment orders - {}",
        list.location_id,
        list.fulfillment_order_ids.len(),
        list.created_at
    );
    let pdf = pick_list_pdf(&format!("Pick list {}", list.wave_id), &subtitle, &rows)
        .map_err(|e| AppError::Internal(format!("pick list PDF: {e:#}")))?;
    Ok(([(header::CONTENT_TYPE, "application/pdf")], pdf).into_response())
}
