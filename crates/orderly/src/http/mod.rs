//! The JSON API under `/api/v1`, shared by every capability and knowing none of them
//! beyond this route table: extractors for bodies, queries, credentials and idempotency
//! keys, keyset cursors, and problem+json for everything that goes wrong, including
//! unknown routes, wrong methods and oversized bodies. The handlers live with their
//! capability (`orders::http`, `payments::http`, …); the OpenAPI document
//! (`document.rs`) is generated from their annotations.

pub mod credentials;
pub mod document;
pub mod extract;
pub mod hygiene;
pub mod metered;
pub mod problem;
pub mod schema;
pub mod serve;
pub mod throttle;

use crate::cases::actions as case_actions;
use crate::cases::http as cases;
use crate::catalog::http as catalog;
use crate::catalog::inventory;
use crate::catalog::quarantine;
use crate::customers::http as customers;
use crate::edits::http as edits;
use crate::exceptions::http as exceptions;
use crate::fulfillment::http as fulfillment;
use crate::fulfillment::{packages, pickup, waves};
use crate::notifications::http as notifications;
use crate::orders::http as orders;
use crate::orders::{list as order_list, notes as order_notes, timeline as order_timeline};
use crate::payments::http as payments;
use crate::returns::http as returns;
use crate::returns::list as returns_list;
use crate::system::http as system;
use crate::system::keys;
use crate::webhooks::http as webhooks;

use crate::app::AppState;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::{Extension, Router};
use document::openapi;
use problem::ApiError;
use std::sync::Arc;

/// Builds the route table once into both the router under `/api/v1` and [`ROUTES`], the
/// list of what it answers, so that a test can compare the router with the OpenAPI
/// document both ways. Each entry is `"path" => method(handler) .method(handler)…,`.
macro_rules! route_table {
    ($($path:literal => $first:ident($first_handler:path) $(.$method:ident($handler:path))*,)*) => {
        /// Every `(method, path)` the router answers under `/api/v1`, from the same table.
        pub const ROUTES: &[(&str, &str)] = &[
            $((stringify!($first), $path), $((stringify!($method), $path),)*)*
        ];

        fn api_routes() -> Router<AppState> {
            Router::new()$(.route($path, $first($first_handler)$(.$method($handler))*))*
        }
    };
}

route_table! {
    "/health" => get(system::health),
    "/openapi.json" => get(openapi),
    "/locations" => get(system::locations),
    "/channels" => get(system::channels),
    "/api-keys" => get(keys::list_api_keys).post(keys::create_api_key),
    "/api-keys/{id}/revoke" => post(keys::revoke_api_key),
    "/api-keys/{id}/rotate" => post(keys::rotate_api_key),
    "/products" => get(catalog::list_products).post(catalog::create_product),
    "/products/{sku}" => get(catalog::get_product).patch(catalog::update_product),
    "/inventory" => get(inventory::list_inventory),
    "/inventory/adjustments" => post(inventory::adjust),
    "/inventory/quarantine" => post(quarantine::quarantine),
    "/inventory/{sku}/movements" => get(inventory::movements),
    "/orders" => get(order_list::list_orders).post(orders::create_order),
    "/orders/{id}" => get(orders::get_order),
    "/orders/{id}/timeline" => get(order_timeline::timeline),
    "/orders/{id}/notes" => get(order_notes::list_notes).post(order_notes::add_note),
    "/orders/{id}/tags" => post(order_notes::change_tags),
    "/orders/{id}/contacts" => get(cases::order_contacts),
    "/orders/{id}/support" => get(crate::orders::support::support),
    "/cases" => get(cases::list_cases).post(cases::open_case),
    "/cases/root-causes" => get(crate::cases::reports_http::root_causes),
    "/cases/{id}" => get(cases::get_case),
    "/cases/{id}/contacts" => post(case_actions::log_contact),
    "/cases/{id}/assignment" => post(case_actions::assign),
    "/cases/{id}/status" => post(case_actions::change_status),
    "/cases/{id}/priority" => post(case_actions::change_priority),
    "/cases/{id}/links" => post(case_actions::add_link),
    "/cases/{id}/resolve" => post(case_actions::resolve),
    "/cases/{id}/reopen" => post(case_actions::reopen),
    "/cases/{id}/close" => post(case_actions::close),
    "/customers" => get(customers::list_customers),
    "/customers/{id}" => get(customers::get_customer),
    "/customers/{id}/history" => get(customers::customer_history),
    "/customers/{id}/flags" => post(customers::raise_flag),
    "/customers/{id}/flags/{flag}/clear" => post(customers::clear_flag),
    "/customers/{id}/notes" => post(customers::add_note),
    "/customers/{id}/merge" => post(customers::merge),
    "/orders/{id}/cancellation" => post(orders::cancel_order),
    "/orders/{id}/edits" => post(edits::begin_edit),
    "/orders/{id}/edits/{edit_id}" => get(edits::get_edit),
    "/orders/{id}/edits/{edit_id}/changes" => post(edits::stage_changes),
    "/orders/{id}/edits/{edit_id}/commit" => post(edits::commit_edit),
    "/orders/{id}/edits/{edit_id}/abandon" => post(edits::abandon_edit),
    "/orders/{id}/changes" => get(edits::list_changes).post(edits::change_order),
    "/orders/{id}/captures" => post(payments::capture),
    "/orders/{id}/refunds" => post(payments::refund),
    "/orders/{id}/refunds/{refund_id}/retry" => post(payments::retry_refund),
    "/orders/{id}/payments" => post(payments::add_payment),
    "/orders/{id}/payments/{payment_id}/mark-paid" => post(payments::mark_paid),
    "/orders/{id}/holds" => post(payments::place_hold),
    "/orders/{id}/holds/{reason}/release" => post(payments::release_hold),
    "/payment-events/{provider}" => post(payments::payment_event),
    "/fulfillment-orders/{id}" => get(fulfillment::get_fulfillment_order),
    "/fulfillment-orders/{id}/release" => post(fulfillment::release),
    "/fulfillment-orders/{id}/pick" => post(fulfillment::pick),
    "/fulfillment-orders/{id}/reject" => post(fulfillment::reject),
    "/fulfillment-orders/{id}/cancel-request/accept" => post(crate::edits::answers::accept_cancellation),
    "/fulfillment-orders/{id}/cancel-request/reject" => post(crate::edits::answers::reject_cancellation),
    "/fulfillment-orders/{id}/packages" => post(fulfillment::pack),
    "/packages/{id}" => get(packages::get_package),
    "/packages/{id}/ship" => post(fulfillment::ship),
    "/tracking-events" => post(fulfillment::tracking_event),
    "/shipments/{id}" => get(packages::get_shipment),
    "/shipments/{id}/label.pdf" => get(fulfillment::label),
    "/shipments/{id}/collect" => post(pickup::collect),
    "/metrics/kpis" => get(crate::kpis::http::kpis),
    "/metrics/insight" => get(crate::kpis::http::insight),
    "/exceptions" => get(exceptions::list_all),
    "/exceptions/{queue}" => get(exceptions::list_queue),
    "/exceptions/{queue}/{id}/resolve" => post(exceptions::resolve),
    "/waves" => get(waves::list_waves).post(waves::create_wave),
    "/waves/{id}" => get(waves::get_wave),
    "/waves/{id}/pick-list" => get(waves::get_pick_list),
    "/waves/{id}/pick-list.html" => get(waves::get_pick_list_html),
    "/waves/{id}/pick-list.pdf" => get(waves::get_pick_list_pdf),
    "/customers/{id}/store-credit" =>
        get(payments::get_store_credit).post(payments::issue_store_credit),
    "/returns" => get(returns_list::list_returns).post(returns::create_return),
    "/returns/backtest" => post(crate::returns::backtest_http::backtest),
    "/returns/{id}" => get(returns::get_return),
    "/returns/{id}/authorize" => post(returns::authorize_return),
    "/returns/{id}/label" => post(returns::issue_label),
    "/returns/{id}/label.pdf" => get(returns::label_pdf),
    "/returns/{id}/receive" => post(returns::receive_return),
    "/returns/{id}/inspect" => post(returns::inspect_return),
    "/returns/{id}/decide" => post(returns::decide_return),
    "/returns/{id}/resolve" => post(returns::resolve_return),
    "/returns/{id}/send-back" => post(returns::send_back),
    "/returns/{id}/send-backs/{n}/label.pdf" => get(returns::send_back_label_pdf),
    "/returns/{id}/cancel" => post(returns::cancel_return),
    "/self-service/returns" => post(returns::self_service_return),
    "/customers/{id}/returns" => get(returns_list::customer_returns),
    "/webhook-subscriptions" => get(webhooks::list_subscriptions).post(webhooks::create_subscription),
    "/webhook-subscriptions/{id}" => get(webhooks::get_subscription).patch(webhooks::update_subscription),
    "/webhook-subscriptions/{id}/rotate-secret" => post(webhooks::rotate_secret),
    "/webhook-subscriptions/{id}/deliveries" => get(webhooks::list_deliveries),
    "/webhook-subscriptions/{id}/redeliver" => post(webhooks::redeliver),
    "/events" => get(webhooks::feed),
    "/orders/{id}/messages" => get(notifications::list_messages),
    "/orders/{id}/messages/{message_id}/resend" => post(notifications::resend),
    "/orders/{id}/notifications/{template}/preview" => get(notifications::preview),
    "/customers/{id}/notification-preferences" =>
        get(notifications::get_preferences).post(notifications::set_preferences),
}

/// The whole HTTP application: the route table under `/api/v1`, its body limit, the
/// failed-authentication throttle, and the layers every answer goes through
/// (`hygiene.rs`).
pub fn router(app: AppState) -> Router {
    let server = &app.config.server;
    let throttle = Arc::new(throttle::AuthThrottle::new(
        server.auth_failure_limit,
        server.auth_failure_window_seconds,
    ));
    let self_service = Arc::new(returns::SelfServiceThrottle(throttle::AuthThrottle::new(
        server.self_service_failure_limit,
        server.self_service_window_seconds,
    )));
    let body_limit = DefaultBodyLimit::max(server.body_limit_bytes);
    let request_timeout = std::time::Duration::from_secs(server.request_timeout_seconds);
    let api = api_routes()
        .route_layer(axum::middleware::from_fn(extract::bound_path_params))
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed });
    let mut routes = Router::new()
        .nest("/api/v1", api)
        .merge(crate::console::routes());
    if app.config.metrics.listen.is_none() {
        routes = routes.route(
            "/metrics",
            axum::routing::get(crate::system::http::metrics_with_key),
        );
    }
    let routes = routes
        .route_layer(axum::middleware::from_fn_with_state(
            app.clone(),
            metered::metered,
        ))
        .fallback(|| async { ApiError::NoRoute })
        .layer(body_limit)
        .layer(Extension(throttle))
        .layer(Extension(self_service))
        .with_state(app);
    hygiene::layers(routes, request_timeout)
}
