//! `/inventory`: stock levels per location, adjustments and the movement history that
//! explains every number.

use crate::app::AppState;
use crate::app::auth::Principal;
use crate::app::error::AppError;
use crate::catalog::commands::AdjustInput;
use crate::catalog::http::PageQuery;
use crate::catalog::queries;
use crate::http::extract::{
    ApiJson, ApiQuery, bounded_param, decode_cursor, foreign_cursor, idempotency, outcome_reply,
    page_cursor, page_limit, to_json, too_long,
};
use crate::http::problem::{ApiError, Problem};
use crate::http::schema::one_of;
use crate::orders::capture::sku_schema;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use orderly_domain::inventory::{Adjustment, MAX_ON_HAND, MovementReason};
use orderly_domain::order::FieldIssue;
use orderly_domain::time::rfc3339;
use orderly_store::{InventoryRow, MovementRow};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, OneOfBuilder, SchemaFormat, Type};

#[derive(Debug, Serialize, ToSchema)]
pub struct InventoryView {
    pub sku: String,
    pub location_id: String,
    pub on_hand: i64,
    pub reserved: i64,
    /// What is sellable: on hand less reserved (quarantined units are not on hand).
    pub available: i64,
    /// Returned units held apart until released into on hand or scrapped; never
    /// sellable.
    pub quarantine: i64,
    pub bin: Option<String>,
    pub updated_at: String,
}

fn inventory_view(i: &InventoryRow) -> InventoryView {
    InventoryView {
        sku: i.sku.clone(),
        location_id: i.location_id.clone(),
        on_hand: i.on_hand,
        reserved: i.reserved,
        available: i.on_hand - i.reserved,
        quarantine: i.quarantine,
        bin: i.bin.clone(),
        updated_at: rfc3339(i.updated_at),
    }
}

pub(crate) fn render_inventory(i: &InventoryRow) -> Vec<u8> {
    to_json(&inventory_view(i))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct InventoryQuery {
    #[param(max_length = 64)]
    pub sku: Option<String>,
    #[param(max_length = 64)]
    pub location_id: Option<String>,
    /// Page size, 1-200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the page before.
    #[param(max_length = 256)]
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InventoryPage {
    pub data: Vec<InventoryView>,
    pub next_cursor: Option<String>,
}

/// Stock per (SKU, location): on hand, reserved, available and quarantined.
#[utoipa::path(get, path = "/api/v1/inventory", tag = "inventory", params(InventoryQuery),
    responses((status = 200, body = InventoryPage), (status = 400, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn list_inventory(
    State(app): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<InventoryQuery>,
) -> Result<Json<InventoryPage>, ApiError> {
    let limit = page_limit(q.limit)?;
    let after = match q.cursor.as_deref().map(decode_cursor).transpose()? {
        Some(c) => Some(
            c.split_once('\n')
                .map(|(s, l)| (s.to_owned(), l.to_owned()))
                .ok_or_else(foreign_cursor)?,
        ),
        None => None,
    };
    let query = queries::InventoryQuery {
        sku: bounded_param("sku", q.sku, 64)?,
        location_id: bounded_param("location_id", q.location_id, 64)?,
        after,
        limit: limit + 1,
    };
    let mut rows = app.inventory(&principal.actor(), query).await?;
    let next_cursor = page_cursor(&mut rows, limit, |i| {
        format!("{}\n{}", i.sku, i.location_id)
    });
    Ok(Json(InventoryPage {
        data: rows.iter().map(inventory_view).collect(),
        next_cursor,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdjustmentRequest {
    #[schema(schema_with = sku_schema)]
    pub sku: String,
    #[schema(max_length = 64)]
    pub location_id: String,
    /// `receipt` (+quantity), `damage` (-quantity), `correction` (signed delta) or
    /// `cycle_count` (absolute `counted`, refused unless `expected_on_hand` is current).
    #[schema(schema_with = kind_schema)]
    pub kind: String,
    /// For a receipt or damage: 1 to 10^9 units.
    #[schema(minimum = 1, maximum = 1_000_000_000)]
    pub quantity: Option<i64>,
    /// For a correction: -10^9 to 10^9 units, not 0.
    #[schema(schema_with = delta_schema)]
    pub delta: Option<i64>,
    /// For a cycle count: 0 to 10^9 units.
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    pub counted: Option<i64>,
    /// For a cycle count: 0 to 10^9 units.
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    pub expected_on_hand: Option<i64>,
    #[schema(max_length = 64)]
    pub bin: Option<String>,
    #[schema(max_length = 1000)]
    pub note: Option<String>,
}

/// The kinds of adjustment `parse_adjustment` takes.
const KINDS: [&str; 4] = ["receipt", "damage", "correction", "cycle_count"];

fn kind_schema() -> ObjectBuilder {
    one_of(KINDS.to_vec())
}

/// A correction's delta: non-zero, within [`MAX_ON_HAND`] either way, or null.
fn delta_schema() -> OneOfBuilder {
    let side = |min: i64, max: i64| {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
            .minimum(Some(min))
            .maximum(Some(max))
    };
    OneOfBuilder::new()
        .item(side(-MAX_ON_HAND, -1))
        .item(side(1, MAX_ON_HAND))
        // Null is taken as absent, as for every optional field.
        .item(ObjectBuilder::new().schema_type(Type::Null))
}

/// A required count of `field` within `range`, as a field-level refusal.
fn count(
    field: &str,
    v: Option<i64>,
    range: std::ops::RangeInclusive<i64>,
) -> Result<i64, AppError> {
    let issue = |code: &'static str, message: String| {
        AppError::Validation(vec![FieldIssue::new(field, code, message)])
    };
    match v {
        None => Err(issue("required", format!("{field} is required"))),
        Some(n) if !range.contains(&n) => Err(issue(
            "out_of_range",
            format!("{field} is {} to {}", range.start(), range.end()),
        )),
        Some(n) => Ok(n),
    }
}

fn zero_delta() -> AppError {
    AppError::Validation(vec![FieldIssue::new(
        "delta",
        "must_not_be_zero",
        "a correction must change the count",
    )])
}

/// The request's adjustment, every number within its bound and named by its own field.
fn parse_adjustment(r: &AdjustmentRequest) -> Result<Adjustment, ApiError> {
    let units = 1..=MAX_ON_HAND;
    let level = 0..=MAX_ON_HAND;
    // A number sent is held to its documented bound whatever the kind, even where the
    // kind does not use it: the document bounds the field, not the field for a kind.
    for (field, value, range) in [
        ("quantity", r.quantity, units.clone()),
        ("delta", r.delta, -MAX_ON_HAND..=MAX_ON_HAND),
        ("counted", r.counted, level.clone()),
        ("expected_on_hand", r.expected_on_hand, level.clone()),
    ] {
        if value.is_some() {
            count(field, value, range)?;
        }
    }
    if r.delta == Some(0) {
        return Err(zero_delta().into());
    }
    Ok(match r.kind.as_str() {
        "receipt" => Adjustment::Receipt {
            quantity: count("quantity", r.quantity, units)?,
        },
        "damage" => Adjustment::Damage {
            quantity: count("quantity", r.quantity, units)?,
        },
        "correction" => {
            let delta = count("delta", r.delta, -MAX_ON_HAND..=MAX_ON_HAND)?;
            Adjustment::Correction { delta }
        }
        "cycle_count" => Adjustment::CycleCount {
            counted: count("counted", r.counted, level.clone())?,
            expected_on_hand: count("expected_on_hand", r.expected_on_hand, level)?,
        },
        _ => {
            return Err(AppError::Validation(vec![FieldIssue::new(
                "kind",
                "unknown_kind",
                "kind is receipt, damage, correction or cycle_count",
            )])
            .into());
        }
    })
}

/// Adjust stock at a location; every adjustment is a movement with reason and actor.
#[utoipa::path(post, path = "/api/v1/inventory/adjustments", tag = "inventory", request_body = AdjustmentRequest,
    params(("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Replays the first response for the same key and request")),
    responses((status = 201, body = InventoryView),
        (status = 409, description = "Stale cycle count, or below reserved", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn adjust(
    State(app): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    body: ApiJson<AdjustmentRequest>,
) -> Result<Response, ApiError> {
    let idem = idempotency(
        &headers,
        &principal,
        "POST",
        "/api/v1/inventory/adjustments",
        &body.raw,
    )?;
    let r = body.value;
    let adjustment = parse_adjustment(&r)?;
    let issues: Vec<FieldIssue> = [
        too_long("sku", Some(&r.sku), 64),
        too_long("location_id", Some(&r.location_id), 64),
        too_long("bin", r.bin.as_deref(), 64),
        too_long("note", r.note.as_deref(), 1000),
    ]
    .into_iter()
    .flatten()
    .collect();
    if !issues.is_empty() {
        return Err(AppError::Validation(issues).into());
    }
    let input = AdjustInput {
        sku: r.sku,
        location_id: r.location_id,
        adjustment,
        bin: r.bin,
        note: r.note,
    };
    let origin = crate::http::extract::origin(&principal, &headers);
    Ok(outcome_reply(
        app.adjust_stock(input, idem, origin, render_inventory)
            .await?,
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MovementView {
    pub id: i64,
    pub sku: String,
    pub location_id: String,
    /// Why the stock moved: a manual adjustment's kind, an order's reservation, release,
    /// short pick or shipment, or a returned unit's disposition.
    #[schema(schema_with = reason_schema)]
    pub reason: String,
    pub delta_on_hand: i64,
    pub delta_reserved: i64,
    /// Change of quarantined units (returns only).
    pub delta_quarantine: i64,
    pub on_hand_after: i64,
    pub reserved_after: i64,
    pub order_id: Option<String>,
    pub note: Option<String>,
    pub actor: String,
    pub at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MovementPage {
    pub data: Vec<MovementView>,
    pub next_cursor: Option<String>,
}

/// Every movement reason the store records.
fn reason_schema() -> ObjectBuilder {
    one_of(MovementReason::ALL.map(MovementReason::as_str).to_vec())
}

fn movement_view(m: &MovementRow) -> MovementView {
    MovementView {
        id: m.id,
        sku: m.sku.clone(),
        location_id: m.location_id.clone(),
        reason: m.reason.clone(),
        delta_on_hand: m.delta_on_hand,
        delta_reserved: m.delta_reserved,
        delta_quarantine: m.delta_quarantine,
        on_hand_after: m.on_hand_after,
        reserved_after: m.reserved_after,
        order_id: m.order_id.clone(),
        note: m.note.clone(),
        actor: m.actor.clone(),
        at: rfc3339(m.at),
    }
}

/// Stock movements of a SKU, newest first.
#[utoipa::path(get, path = "/api/v1/inventory/{sku}/movements", tag = "inventory",
    params(("sku" = String, Path), PageQuery),
    responses((status = 200, body = MovementPage), (status = 400, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn movements(
    State(app): State<AppState>,
    principal: Principal,
    Path(sku): Path<String>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<MovementPage>, ApiError> {
    let limit = page_limit(q.limit)?;
    let before = match q.cursor.as_deref().map(decode_cursor).transpose()? {
        Some(c) => Some(c.parse::<i64>().map_err(|_| foreign_cursor())?),
        None => None,
    };
    let mut rows = app
        .movements(&principal.actor(), sku, before, limit + 1)
        .await?;
    let next_cursor = page_cursor(&mut rows, limit, |m| m.id.to_string());
    Ok(Json(MovementPage {
        data: rows.iter().map(movement_view).collect(),
        next_cursor,
    }))
}
