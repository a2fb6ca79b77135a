//! `/products`: the catalog, each product with an ETag so a change is made against the
//! version the caller saw. Stock is in `inventory.rs`.

use crate::app::AppState;
use crate::app::auth::Principal;
use crate::app::error::AppError;
use crate::http::extract::{
    ApiJson, ApiQuery, decode_cursor, idempotency, outcome_reply, page_cursor, page_limit,
    required_line, to_json, too_long,
};
use crate::http::problem::{ApiError, Problem};
use crate::http::schema::{optional_line, optional_one_of, required_line as line_schema};
use crate::orders::capture::{currency_schema, sku_schema};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use orderly_domain::order::{FieldIssue, MAX_AMOUNT_MINOR};
use orderly_domain::time::rfc3339;
use orderly_domain::values::{Currency, Gtin, Sku};
use orderly_store::{NewProduct, ProductPatch, ProductRow};
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
    #[schema(schema_with = sku_schema)]
    pub sku: String,
    #[schema(schema_with = line_schema::<200>)]
    pub name: String,
    /// Minor units of `currency`, 0 to 10^13.
    #[schema(minimum = 0, maximum = 10_000_000_000_000_i64)]
    pub price: i64,
    #[schema(schema_with = currency_schema)]
    pub currency: String,
    #[serde(default)]
    #[schema(minimum = 0, maximum = 10_000_000)]
    pub weight_grams: i64,
    #[schema(max_length = 100)]
    pub category: Option<String>,
    #[serde(default = "yes")]
    pub returnable: bool,
    #[serde(default = "yes")]
    pub active: bool,
    /// The barcode number (GTIN-8, -12, -13 or -14, with its check digit); packers may
    /// scan it instead of the SKU.
    #[schema(pattern = "^([0-9]{8}|[0-9]{12,14})$")]
    pub gtin: Option<String>,
}

fn optional_currency_schema() -> utoipa::openapi::schema::ObjectBuilder {
    optional_one_of(Currency::all().collect())
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
    category: Option<&str>,
    issues: &mut Vec<FieldIssue>,
) {
    issues.extend(too_long("category", category, 100));
    if let Some(issue) = name.and_then(|n| required_line("name", n, 200)) {
        issues.push(issue);
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
    params(("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "Replays the first response for the same key and request")),
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
        r.category.as_deref(),
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
    #[schema(schema_with = optional_line::<200>)]
    pub name: Option<String>,
    #[schema(minimum = 0, maximum = 10_000_000_000_000_i64)]
    pub price: Option<i64>,
    #[schema(schema_with = optional_currency_schema)]
    pub currency: Option<String>,
    #[schema(minimum = 0, maximum = 10_000_000)]
    pub weight_grams: Option<i64>,
    #[schema(max_length = 100)]
    pub category: Option<String>,
    pub returnable: Option<bool>,
    pub active: Option<bool>,
    /// A new GTIN (with its check digit), or `null` to remove it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, pattern = "^([0-9]{8}|[0-9]{12,14})$")]
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
    params(("sku" = String, Path, max_length = 64, pattern = "^[A-Za-z0-9._-]+$"), ("If-Match" = Option<String>, Header, pattern = "^(\\*|(W/)?\"[0-9]{1,18}\")$", description = "ETag of the version you read, or `*`")),
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
        r.category.as_deref(),
        &mut issues,
    );
    let gtin = r
        .gtin
        .map(|g| g.and_then(|g| parse_gtin(Some(&g), &mut issues)));
    if !issues.is_empty() {
        return Err(AppError::Validation(issues).into());
    }
    let expected = crate::http::extract::if_match(&headers)?;
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
#[utoipa::path(get, path = "/api/v1/products/{sku}", tag = "catalog", params(("sku" = String, Path, max_length = 64, pattern = "^[A-Za-z0-9._-]+$")),
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
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// Page size, 1-200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the page before.
    #[param(max_length = 256)]
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
