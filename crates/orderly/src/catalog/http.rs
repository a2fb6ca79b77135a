//! `/products` and `/inventory`: the catalog, stock levels per location, adjustments and
//! the movement history that explains every number.

use crate::app::AppState;
use crate::app::auth::Principal;
use crate::app::error::AppError;
use crate::catalog::commands::AdjustInput;
use crate::catalog::queries;
use crate::http::extract::{
    ApiJson, ApiQuery, decode_cursor, idempotency, outcome_reply, page_cursor, page_limit, to_json,
};
use crate::http::problem::{ApiError, Problem};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use orderly_domain::inventory::Adjustment;
use orderly_domain::order::{FieldIssue, MAX_AMOUNT_MINOR};
use orderly_domain::time::rfc3339;
use orderly_domain::values::{Currency, Gtin, Sku};
use orderly_store::{InventoryRow, MovementRow, NewProduct, ProductPatch, ProductRow};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct ProductView {
    pub sku: String,
    pub name: String,
    /// Price per unit in minor units of `currency`.
    pub price: i64,
    pub currency: String,
    pub weight_grams: i64,
    pub category: Option<String>,
    pub returnable: bool,
    pub active: bool,
    /// The barcode number in its 14-digit form.
    pub gtin: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub version: i64,
}

fn product_view(p: &ProductRow) -> ProductView {
    ProductView {
        sku: p.sku.clone(),
        name: p.name.clone(),
        price: p.price_minor,
        currency: p.currency.clone(),
        weight_grams: p.weight_grams,
        category: p.category.clone(),
        returnable: p.returnable,
        active: p.active,
        gtin: p.gtin.clone(),
        created_at: rfc3339(p.created_at),
        updated_at: rfc3339(p.updated_at),
        version: p.version,
    }
}

fn render_product(p: &ProductRow) -> Vec<u8> {
    to_json(&product_view(p))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProductRequest {
    pub sku: String,
    pub name: String,
    pub price: i64,
    pub currency: String,
    #[serde(default)]
    pub weight_grams: i64,
    pub category: Option<String>,
    #[serde(default = "yes")]
    pub returnable: bool,
    #[serde(default = "yes")]
    pub active: bool,
    /// The barcode number (GTIN-8, -12, -13 or -14); packers may scan it instead of the SKU.
    pub gtin: Option<String>,
}

fn yes() -> bool {
    true
}

/// Absent stays `None`; `null` becomes `Some(None)` (clear the field).
fn double_option<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// A GTIN as sent, in its 14-digit form, or a field issue.
fn parse_gtin(raw: Option<&str>, issues: &mut Vec<FieldIssue>) -> Option<String> {
    match Gtin::parse(raw?) {
        Ok(g) => Some(g.as_str().to_owned()),
        Err(e) => {
            issues.push(FieldIssue::new("gtin", e.code, e.message));
            None
        }
    }
}

/// Checks the fields products share between create and update.
fn check_product_fields(
    name: Option<&str>,
    price: Option<i64>,
    currency: Option<&str>,
    weight: Option<i64>,
    issues: &mut Vec<FieldIssue>,
) {
    if let Some(n) = name
        && (n.trim().is_empty() || n.len() > 200)
    {
        issues.push(FieldIssue::new(
            "name",
            "invalid_length",
            "name is 1-200 characters",
        ));
    }
    if let Some(p) = price
        && !(0..=MAX_AMOUNT_MINOR).contains(&p)
    {
        issues.push(FieldIssue::new(
            "price",
            "amount_out_of_range",
            "price must be between 0 and 10^13",
        ));
    }
    if let Some(c) = currency
        && let Err(e) = Currency::parse(c)
    {
        issues.push(FieldIssue::new("currency", e.code, e.message));
    }
    if let Some(w) = weight
        && !(0..=10_000_000).contains(&w)
    {
        issues.push(FieldIssue::new(
            "weight_grams",
            "out_of_range",
            "weight_grams must be between 0 and 10,000,000",
        ));
    }
}

/// Create a product.
#[utoipa::path(post, path = "/api/v1/products", tag = "catalog", request_body = CreateProductRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first response")),
    responses((status = 201, body = ProductView),
        (status = 409, description = "SKU exists", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn create_product(
    State(app): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    body: ApiJson<CreateProductRequest>,
) -> Result<Response, ApiError> {
    let idem = idempotency(&headers, &principal, "POST", "/api/v1/products", &body.raw)?;
    let r = body.value;
    let mut issues = Vec::new();
    if let Err(e) = Sku::parse(&r.sku) {
        issues.push(FieldIssue::new("sku", e.code, e.message));
    }
    check_product_fields(
        Some(&r.name),
        Some(r.price),
        Some(&r.currency),
        Some(r.weight_grams),
        &mut issues,
    );
    let gtin = parse_gtin(r.gtin.as_deref(), &mut issues);
    if !issues.is_empty() {
        return Err(AppError::Validation(issues).into());
    }
    let p = NewProduct {
        sku: r.sku,
        name: r.name.trim().to_owned(),
        price_minor: r.price,
        currency: r.currency,
        weight_grams: r.weight_grams,
        category: r.category,
        returnable: r.returnable,
        active: r.active,
        gtin,
    };
    Ok(outcome_reply(
        app.create_product(&principal.actor(), p, idem, render_product)
            .await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateProductRequest {
    pub name: Option<String>,
    pub price: Option<i64>,
    pub currency: Option<String>,
    pub weight_grams: Option<i64>,
    pub category: Option<String>,
    pub returnable: Option<bool>,
    pub active: Option<bool>,
    /// A new GTIN, or `null` to remove it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub gtin: Option<Option<String>>,
}

fn etag(p: &ProductRow) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{}\"", p.version))
        .unwrap_or(HeaderValue::from_static("\"0\""))
}

fn product_response(p: &ProductRow) -> Response {
    let mut res = Json(product_view(p)).into_response();
    res.headers_mut().insert(header::ETAG, etag(p));
    res
}

/// Update a product. Send `If-Match` with the ETag you read to refuse a lost update.
#[utoipa::path(patch, path = "/api/v1/products/{sku}", tag = "catalog", request_body = UpdateProductRequest,
    params(("sku" = String, Path), ("If-Match" = Option<String>, Header, description = "ETag of the version you read")),
    responses((status = 200, body = ProductView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn update_product(
    State(app): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    Path(sku): Path<String>,
    body: ApiJson<UpdateProductRequest>,
) -> Result<Response, ApiError> {
    let r = body.value;
    let mut issues = Vec::new();
    check_product_fields(
        r.name.as_deref(),
        r.price,
        r.currency.as_deref(),
        r.weight_grams,
        &mut issues,
    );
    let gtin = r
        .gtin
        .map(|g| g.and_then(|g| parse_gtin(Some(&g), &mut issues)));
    if !issues.is_empty() {
        return Err(AppError::Validation(issues).into());
    }
    // `If-Match: *` matches any current version (RFC 9110 §13.1.1).
    let expected = match headers.get(header::IF_MATCH) {
        None => None,
        Some(v) if v.as_bytes().trim_ascii() == b"*" => None,
        Some(v) => Some(
            v.to_str()
                .ok()
                .map(|s| s.trim().trim_start_matches("W/").trim_matches('"'))
                .and_then(|s| s.parse::<i64>().ok())
                .ok_or_else(|| {
                    AppError::PreconditionFailed("If-Match is not an ETag this API issued".into())
                })?,
        ),
    };
    let patch = ProductPatch {
        name: r.name.map(|n| n.trim().to_owned()),
        price_minor: r.price,
        currency: r.currency,
        weight_grams: r.weight_grams,
        category: r.category.map(Some),
        returnable: r.returnable,
        active: r.active,
        gtin,
    };
    let row = app
        .update_product(&principal.actor(), sku, patch, expected)
        .await?;
    Ok(product_response(&row))
}

/// A product by SKU, with its version as ETag.
#[utoipa::path(get, path = "/api/v1/products/{sku}", tag = "catalog", params(("sku" = String, Path)),
    responses((status = 200, body = ProductView), (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn get_product(
    State(app): State<AppState>,
    principal: Principal,
    Path(sku): Path<String>,
) -> Result<Response, ApiError> {
    let row = app.product(&principal.actor(), sku).await?;
    Ok(product_response(&row))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProductPage {
    pub data: Vec<ProductView>,
    pub next_cursor: Option<String>,
}

/// Products by SKU.
#[utoipa::path(get, path = "/api/v1/products", tag = "catalog", params(PageQuery),
    responses((status = 200, body = ProductPage), (status = 400, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn list_products(
    State(app): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<ProductPage>, ApiError> {
    let limit = page_limit(q.limit)?;
    let after = q.cursor.as_deref().map(decode_cursor).transpose()?;
    let mut rows = app.products(&principal.actor(), after, limit + 1).await?;
    let next_cursor = page_cursor(&mut rows, limit, |p| p.sku.clone());
    Ok(Json(ProductPage {
        data: rows.iter().map(product_view).collect(),
        next_cursor,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InventoryView {
    pub sku: String,
    pub location_id: String,
    pub on_hand: i64,
    pub reserved: i64,
    pub available: i64,
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
        bin: i.bin.clone(),
        updated_at: rfc3339(i.updated_at),
    }
}

fn render_inventory(i: &InventoryRow) -> Vec<u8> {
    to_json(&inventory_view(i))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct InventoryQuery {
    pub sku: Option<String>,
    pub location_id: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InventoryPage {
    pub data: Vec<InventoryView>,
    pub next_cursor: Option<String>,
}

/// Stock per (SKU, location): on hand, reserved, available.
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
                .ok_or_else(|| {
                    ApiError::InvalidQuery("cursor is not one this API issued".into())
                })?,
        ),
        None => None,
    };
    let query = queries::InventoryQuery {
        sku: q.sku,
        location_id: q.location_id,
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
    pub sku: String,
    pub location_id: String,
    /// `receipt` (+quantity), `damage` (-quantity), `correction` (signed delta) or
    /// `cycle_count` (absolute `counted`, refused unless `expected_on_hand` is current).
    pub kind: String,
    pub quantity: Option<i64>,
    pub delta: Option<i64>,
    pub counted: Option<i64>,
    pub expected_on_hand: Option<i64>,
    pub bin: Option<String>,
    pub note: Option<String>,
}

fn required(field: &str, v: Option<i64>) -> Result<i64, AppError> {
    v.ok_or_else(|| {
        AppError::Validation(vec![FieldIssue::new(
            field,
            "required",
            format!("{field} is required"),
        )])
    })
}

fn parse_adjustment(r: &AdjustmentRequest) -> Result<Adjustment, ApiError> {
    Ok(match r.kind.as_str() {
        "receipt" => Adjustment::Receipt {
            quantity: required("quantity", r.quantity)?,
        },
        "damage" => Adjustment::Damage {
            quantity: required("quantity", r.quantity)?,
        },
        "correction" => Adjustment::Correction {
            delta: required("delta", r.delta)?,
        },
        "cycle_count" => Adjustment::CycleCount {
            counted: required("counted", r.counted)?,
            expected_on_hand: required("expected_on_hand", r.expected_on_hand)?,
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
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first response")),
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
    if r.note.as_ref().is_some_and(|n| n.len() > 1000)
        || r.bin.as_ref().is_some_and(|b| b.len() > 64)
    {
        return Err(AppError::Validation(vec![FieldIssue::new(
            "note",
            "too_long",
            "note ≤ 1000, bin ≤ 64 characters",
        )])
        .into());
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
    /// receipt, cycle_count, damage, correction, reservation or release.
    pub reason: String,
    pub delta_on_hand: i64,
    pub delta_reserved: i64,
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

fn movement_view(m: &MovementRow) -> MovementView {
    MovementView {
        id: m.id,
        sku: m.sku.clone(),
        location_id: m.location_id.clone(),
        reason: m.reason.clone(),
        delta_on_hand: m.delta_on_hand,
        delta_reserved: m.delta_reserved,
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
        Some(c) => Some(
            c.parse::<i64>()
                .map_err(|_| ApiError::InvalidQuery("cursor is not one this API issued".into()))?,
        ),
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
