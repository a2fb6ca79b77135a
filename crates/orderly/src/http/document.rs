//! The OpenAPI document, generated from the handlers' `#[utoipa::path]` annotations and
//! the request types the server parses, so it cannot drift from them. Three things are
//! added here rather than written on every handler, because they follow from how a
//! request is taken in, not from what the handler does: the statuses every extractor can
//! answer (`declare_common_statuses`), the bound on every path parameter
//! (`extract::MAX_PATH_PARAM_CHARS`), and the limits this server was configured with
//! (`apply_limits`: lines per order and units per line).

use crate::app::AppState;
use crate::app::auth::{Permission, Principal};
use crate::cases::actions as case_actions;
use crate::cases::http as cases;
use crate::catalog::http as catalog;
use crate::catalog::inventory;
use crate::catalog::quarantine;
use crate::config::Config;
use crate::customers::http as customers;
use crate::edits::http as edits;
use crate::exceptions::http as exceptions;
use crate::fulfillment::http as fulfillment;
use crate::fulfillment::{packages, pickup, waves};
use crate::http::extract::{MAX_PATH_PARAM_CHARS, json_reply, to_json};
use crate::http::problem::{self, ApiError};
use crate::notifications::http as notifications;
use crate::orders::http as orders;
use crate::orders::{list as order_list, notes as order_notes, timeline as order_timeline};
use crate::payments::http as payments;
use crate::returns::http as returns;
use crate::returns::list as returns_list;
use crate::system::http as system;
use crate::system::keys;
use crate::webhooks::http as webhooks;
use axum::extract::State;
use axum::response::Response;
use orderly_domain::order::Limits;
use serde_json::{Value, json};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "Orderly", description = "Order management: capture, inventory, payments, holds, timeline."),
    paths(
        system::health, openapi, system::locations, system::channels,
        keys::create_api_key, keys::list_api_keys, keys::revoke_api_key, keys::rotate_api_key,
        catalog::create_product, catalog::list_products, catalog::get_product, catalog::update_product,
        inventory::list_inventory, inventory::adjust, inventory::movements, quarantine::quarantine,
        orders::create_order, order_list::list_orders, orders::get_order, order_timeline::timeline, orders::cancel_order,
        order_notes::add_note, order_notes::list_notes, order_notes::change_tags,
        cases::open_case, cases::list_cases, cases::get_case, case_actions::log_contact, case_actions::assign,
        case_actions::change_status, case_actions::change_priority, case_actions::add_link, case_actions::resolve, case_actions::reopen,
        case_actions::close, cases::order_contacts, crate::cases::reports_http::root_causes, crate::kpis::http::kpis, crate::kpis::http::insight,
        customers::list_customers, customers::get_customer, customers::customer_history,
        customers::raise_flag, customers::clear_flag, customers::add_note, customers::merge,
        crate::orders::support::support,
        payments::capture, payments::refund, payments::retry_refund, payments::add_payment, payments::mark_paid,
        payments::place_hold, payments::release_hold, payments::payment_event,
        payments::get_store_credit, payments::issue_store_credit,
        fulfillment::get_fulfillment_order, fulfillment::release, fulfillment::pick,
        fulfillment::pack, fulfillment::ship, fulfillment::tracking_event, fulfillment::label,
        fulfillment::reject, packages::get_package, packages::get_shipment, pickup::collect, exceptions::list_all, exceptions::list_queue, exceptions::resolve,
        waves::create_wave, waves::list_waves, waves::get_wave, waves::get_pick_list, waves::get_pick_list_html, waves::get_pick_list_pdf,
        returns::create_return, returns::self_service_return, returns::get_return, returns_list::list_returns,
        returns::authorize_return, returns::issue_label, returns::label_pdf, returns::receive_return,
        returns::inspect_return, returns::decide_return, returns::resolve_return, returns::cancel_return,
        returns::send_back, returns::send_back_label_pdf,
        returns_list::customer_returns,
        crate::returns::backtest_http::backtest,
        edits::begin_edit, edits::get_edit, edits::stage_changes, edits::commit_edit,
        edits::abandon_edit, edits::change_order, edits::list_changes,
        crate::edits::answers::accept_cancellation, crate::edits::answers::reject_cancellation,
        webhooks::create_subscription, webhooks::list_subscriptions, webhooks::get_subscription,
        webhooks::update_subscription, webhooks::rotate_secret, webhooks::list_deliveries,
        webhooks::redeliver, webhooks::feed,
        notifications::list_messages, notifications::resend, notifications::preview,
        notifications::get_preferences, notifications::set_preferences,
    ),
    components(schemas(problem::Problem, problem::FieldError)),
    modifiers(&BearerAuth),
    tags((name = "orders"), (name = "payments"), (name = "fulfillment"), (name = "exceptions"), (name = "returns"), (name = "cases"), (name = "customers"), (name = "catalog"), (name = "inventory"), (name = "webhooks"), (name = "notifications"), (name = "kpis"), (name = "system"))
)]
pub struct ApiDoc;

/// This API's OpenAPI 3.1 description, with the limits of this server's configuration.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "system",
    responses((status = 200, description = "OpenAPI document", content_type = "application/json")),
    security(("bearer" = [])))]
pub async fn openapi(
    State(app): State<AppState>,
    principal: Principal,
) -> Result<Response, ApiError> {
    principal.require(Permission::ReadCatalog)?;
    Ok(json_reply((200, to_json(&document(&app.config)))))
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("API key")
                    .build(),
            ),
        );
    }
}

/// The document as served: the annotations, the statuses every operation shares, the
/// path parameters' bound, and this configuration's limits and names.
pub fn document(config: &Config) -> Value {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for item in paths.values_mut().filter_map(Value::as_object_mut) {
            for (method, op) in item.iter_mut() {
                let Some(op) = op.as_object_mut() else {
                    continue;
                };
                declare_common_statuses(op, method != "get");
                bound_path_parameters(op);
            }
        }
    }
    apply_limits(&mut doc, &config.limits());
    apply_names(&mut doc, config);
    close_tagged_variants(&mut doc, &["ChangeIn"]);
    doc
}

/// Request bodies taken as internally tagged enums (`{"type": …, …}`) refuse unknown
/// fields like every other body, but the annotations leave their variants open: say so.
fn close_tagged_variants(doc: &mut Value, schemas: &[&str]) {
    for name in schemas {
        let variants = doc
            .pointer_mut(&format!("/components/schemas/{name}/oneOf"))
            .and_then(Value::as_array_mut);
        for variant in variants.into_iter().flatten() {
            if let Some(v) = variant.as_object_mut() {
                v.insert("additionalProperties".into(), Value::Bool(false));
            }
        }
    }
}

/// A problem+json response with `description`.
fn problem_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    })
}

/// Adds the statuses an operation answers because of how its request is taken in, each
/// unless the handler's annotation already describes it: 401 and 403 for a bearer key
/// (`Principal`), 400/413/415/422 for a JSON body (`ApiJson`; 413 and 400 also for a
/// signed webhook's raw body), 400/409/422 for an `Idempotency-Key`, 400 for query or
/// path parameters (`ApiQuery`, `extract::bound_path_params`), 404 for a path naming an
/// object, 409 for any write (a concurrent change that kept winning) and 503 for all
/// (the store unavailable; the key itself is looked up there).
fn declare_common_statuses(op: &mut serde_json::Map<String, Value>, write: bool) {
    let authenticated = op
        .get("security")
        .and_then(Value::as_array)
        .is_some_and(|s| !s.is_empty());
    let json_body = op
        .get("requestBody")
        .and_then(|b| b.get("content"))
        .and_then(Value::as_object)
        .is_some_and(|c| c.contains_key("application/json"));
    let params: Vec<(String, String)> = op
        .get("parameters")
        .and_then(Value::as_array)
        .map(|ps| {
            ps.iter()
                .map(|p| {
                    let field = |k: &str| p.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
                    (field("in"), field("name").to_ascii_lowercase())
                })
                .collect()
        })
        .unwrap_or_default();
    let has = |place: &str| params.iter().any(|(p, _)| p == place);
    let idempotent = params.iter().any(|(_, n)| n == "idempotency-key");
    let mut add: Vec<(&str, &str)> = Vec::new();
    if authenticated {
        add.push((
            "401",
            "unauthorized: the API key is missing, unknown or malformed",
        ));
        add.push(("403", "forbidden: the key's role may not do this"));
        add.push((
            "429",
            "authentication_throttled: too many failed keys from this address lately; see Retry-After",
        ));
    }
    add.push((
        "503",
        "request_timeout: the request took longer than the server allows; retry with the same Idempotency-Key",
    ));
    if json_body {
        add.push(("400", "malformed_json, or a malformed parameter or header"));
        add.push((
            "413",
            "payload_too_large: the body exceeds the configured limit",
        ));
        add.push((
            "422",
            "invalid_body or validation_failed, naming each field at fault",
        ));
        if authenticated {
            add.push((
                "415",
                "unsupported_media_type: send the body as application/json",
            ));
        }
    }
    if idempotent {
        add.push(("400", "invalid_idempotency_key"));
        add.push((
            "409",
            "idempotency_key_in_flight: the same key is still being processed",
        ));
        add.push((
            "422",
            "idempotency_key_reused: the key was used with another request",
        ));
    }
    if has("query") {
        add.push(("400", "invalid_query, naming the parameter at fault"));
    }
    if has("path") {
        add.push((
            "400",
            "invalid_path_parameter: a path parameter is too long",
        ));
        add.push(("404", "not_found: nothing has this id"));
    }
    if write {
        add.push((
            "409",
            "concurrent_update: a concurrent change kept winning; retry",
        ));
    }
    add.push(("503", "unavailable: the store cannot be reached; retry"));
    let responses = op
        .entry("responses")
        .or_insert_with(|| json!({}))
        .as_object_mut();
    if let Some(responses) = responses {
        for (status, description) in add {
            responses
                .entry(status)
                .or_insert_with(|| problem_response(description));
        }
    }
}

/// Every path parameter is at most [`MAX_PATH_PARAM_CHARS`] characters, as
/// `extract::bound_path_params` enforces; a tighter bound an annotation declares stands.
fn bound_path_parameters(op: &mut serde_json::Map<String, Value>) {
    let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) else {
        return;
    };
    for p in params
        .iter_mut()
        .filter(|p| p.get("in").and_then(Value::as_str) == Some("path"))
    {
        if let Some(schema) = p.get_mut("schema").and_then(Value::as_object_mut) {
            schema
                .entry("maxLength")
                .or_insert_with(|| json!(MAX_PATH_PARAM_CHARS));
        }
    }
}

/// The limits this server enforces on an order, as configured.
fn apply_limits(doc: &mut Value, limits: &Limits) {
    let schemas = "/components/schemas";
    if let Some(lines) = doc.pointer_mut(&format!("{schemas}/CreateOrderRequest/properties/lines"))
    {
        lines["maxItems"] = json!(limits.max_lines_per_order);
    }
    if let Some(quantity) = doc.pointer_mut(&format!("{schemas}/LineIn/properties/quantity")) {
        quantity["maximum"] = json!(limits.max_quantity_per_line);
    }
}

/// The channels and locations this server knows, as the enums of the request fields that
/// must name one (a request naming another is refused with `unknown_channel`,
/// `unknown_location` or `pickup_not_offered`).
fn apply_names(doc: &mut Value, config: &Config) {
    let channels: Vec<&str> = config.channels.iter().map(|c| c.id.as_str()).collect();
    let locations: Vec<&str> = config.locations.iter().map(|l| l.id.as_str()).collect();
    let pickups: Vec<Value> = config
        .locations
        .iter()
        .filter(|l| l.can_pickup)
        .map(|l| json!(l.id))
        .chain([Value::Null])
        .collect();
    let schemas = "/components/schemas";
    for (pointer, values) in [
        ("CreateOrderRequest/properties/channel", json!(channels)),
        (
            "CreateKeyRequest/properties/channels/items",
            json!(channels),
        ),
        ("AdjustmentRequest/properties/location_id", json!(locations)),
        ("CreateWaveRequest/properties/location_id", json!(locations)),
        ("DeliveryIn/properties/pickup_location", json!(pickups)),
    ] {
        if let Some(field) = doc.pointer_mut(&format!("{schemas}/{pointer}")) {
            field["enum"] = values;
        }
    }
}
