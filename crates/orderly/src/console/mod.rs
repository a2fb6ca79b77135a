//! The support and operations console at `/console`: pages rendered on the server from
//! compiled templates (`templates/console/`), one form per action, no page needing
//! JavaScript (`assets/console.js` only adds shortcuts), and every action the same
//! application call the API makes, with a console user's role as the actor. The
//! console knows no storage: it reads and writes through `App` like every interface.
//!
//! - `session`: cookies, the signed-in `Viewer`, CSRF-checked `Posted` forms, notices;
//! - `signin`: the sign-in form, lockout messages, sign-out;
//! - `page`: the layout, rendering, times and money for people;
//! - `error`: the error page every refusal becomes; `wire`: cookies and HTML answers;
//! - `search`, `order_page`, `order_actions`, `order_edits`: finding things, the order
//!   page and its forms (edits with their preview, unit cancellations, tags, returns);
//! - `cases`, `case_actions`: the case queues, one case, and the forms that work it;
//! - `customers`: one customer's profile, orders, returns and cases;
//! - `returns`, `return_actions`: the returns desk, one return, review, receipt, inspection;
//! - `exceptions`: the board of exception queues and each queue with its inline actions;
//! - `floor`, `pack`: the warehouse floor (waves, pick lists, today's shipments) and the
//!   pack station.

pub mod case_actions;
pub mod cases;
pub mod customers;
pub mod error;
pub mod exceptions;
pub mod floor;
pub mod kpis;
pub mod order_actions;
pub mod order_edits;
pub mod order_page;
pub mod pack;
pub mod page;
pub mod return_actions;
pub mod returns;
pub mod search;
pub mod session;
pub mod signin;
pub mod wire;

use crate::app::AppState;
use crate::app::auth::{Permission, authorize};
use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{any, get, post};
use page::{Layout, render, when, zone_of};
use session::Viewer;

/// Every console route, under `/console`, and `/` sending people there.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/console") }))
        .route("/console", get(home))
        .route("/console/", get(|| async { Redirect::to("/console") }))
        .route(
            "/console/sign-in",
            get(signin::sign_in_form).post(signin::sign_in),
        )
        .route("/console/sign-out", post(signin::sign_out))
        .route("/console/assets/{file}", get(asset))
        .route("/console/search", get(search::search))
        .route("/console/orders/{id}", get(order_page::order_page))
        .route("/console/orders/{id}/notes", post(order_actions::add_note))
        .route(
            "/console/orders/{id}/holds",
            post(order_actions::place_hold),
        )
        .route(
            "/console/orders/{id}/holds/{reason}/release",
            post(order_actions::release_hold),
        )
        .route("/console/orders/{id}/refunds", post(order_actions::refund))
        .route(
            "/console/orders/{id}/cancellation",
            post(order_actions::cancel),
        )
        .route(
            "/console/orders/{id}/messages/{message_id}/resend",
            post(order_actions::resend),
        )
        .route("/console/orders/{id}/cases", post(case_actions::open_case))
        .route("/console/orders/{id}/edits", post(order_edits::begin))
        .route(
            "/console/orders/{id}/edits/{edit_id}",
            get(order_edits::edit_page).post(order_edits::decide),
        )
        .route(
            "/console/orders/{id}/lines/{line_no}/cancellation",
            post(order_edits::cancel_line),
        )
        .route("/console/orders/{id}/tags", post(order_edits::tags))
        .route(
            "/console/orders/{id}/returns",
            post(order_edits::create_return),
        )
        .route("/console/cases", get(cases::queue))
        .route("/console/cases/{id}", get(cases::case_page))
        .route(
            "/console/cases/{id}/contacts",
            post(case_actions::log_contact),
        )
        .route("/console/cases/{id}/assignment", post(case_actions::assign))
        .route(
            "/console/cases/{id}/status",
            post(case_actions::change_status),
        )
        .route(
            "/console/cases/{id}/priority",
            post(case_actions::change_priority),
        )
        .route("/console/cases/{id}/resolve", post(case_actions::resolve))
        .route("/console/cases/{id}/reopen", post(case_actions::reopen))
        .route("/console/cases/{id}/close", post(case_actions::close))
        .route("/console/customers/{id}", get(customers::customer_page))
        .route("/console/returns", get(returns::desk))
        .route("/console/returns/scan", get(returns::scan))
        .route("/console/returns/{id}", get(returns::return_page))
        .route("/console/returns/{id}/review", post(return_actions::review))
        .route(
            "/console/returns/{id}/receive",
            post(return_actions::receive),
        )
        .route(
            "/console/returns/{id}/inspect",
            post(return_actions::inspect),
        )
        .route("/console/returns/{id}/decide", post(return_actions::decide))
        .route(
            "/console/returns/{id}/send-back",
            post(return_actions::send_back),
        )
        .route("/console/kpis", get(kpis::dashboard))
        .route("/console/kpis/orders", get(kpis::orders))
        .route("/console/floor", get(floor::floor))
        .route("/console/waves", post(floor::create_wave))
        .route("/console/waves/{id}", get(floor::wave_page))
        .route("/console/fulfillment-orders/{id}/pick", post(floor::pick))
        .route("/console/pack", get(pack::station))
        .route(
            "/console/fulfillment-orders/{id}/packages",
            post(pack::pack),
        )
        .route("/console/packages/{id}/ship", post(pack::ship))
        .route("/console/exceptions", get(exceptions::board))
        .route("/console/exceptions/{queue}", get(exceptions::queue_page))
        .route(
            "/console/exceptions/{queue}/{id}/resolve",
            post(exceptions::resolve),
        )
        .route(
            "/console/orders/{id}/payments",
            post(exceptions::add_payment),
        )
        .route("/console/orders/{id}/captures", post(exceptions::capture))
        .route(
            "/console/orders/{id}/refunds/{refund_id}/retry",
            post(exceptions::retry_refund),
        )
        .route("/console/shipments/{id}/label.pdf", get(shipment_label))
        // Any other console path is a page that does not exist, said as a page.
        .route(
            "/console/{*rest}",
            any(|| async { error::ConsoleError::NoPage }),
        )
}

/// A shipment's label, for the signed-in person (the same read as the API's).
async fn shipment_label(
    State(app): State<AppState>,
    viewer: Viewer,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Response {
    match app.shipment_label(&viewer.actor(), id).await {
        Ok(pdf) => ([(header::CONTENT_TYPE, "application/pdf")], pdf).into_response(),
        Err(e) => error::ConsoleError::from(e).into_response(),
    }
}

#[derive(Template)]
#[template(path = "console/home.html")]
struct HomePage {
    layout: Layout,
    /// (queue, open, oldest since) for roles that read the queues.
    queues: Vec<(String, u64, String)>,
}

async fn home(State(app): State<AppState>, viewer: Viewer) -> Response {
    let actor = viewer.actor();
    let zone = zone_of(&app, &viewer);
    // Per queue: its open entries over every kind, and the oldest of them.
    let mut open: Vec<(String, u64, jiff::Timestamp)> = Vec::new();
    if authorize(&actor, Permission::ReadExceptions).is_ok() {
        let counts = match app.exception_counts(&actor).await {
            Ok(counts) => counts,
            Err(e) => return error::ConsoleError::from(e).into_response(),
        };
        for c in counts {
            match open.iter_mut().find(|q| q.0 == c.queue) {
                Some(q) => {
                    q.1 += c.open;
                    q.2 = q.2.min(c.oldest_opened_at);
                }
                None => open.push((c.queue, c.open, c.oldest_opened_at)),
            }
        }
    }
    let queues = open
        .into_iter()
        .map(|(queue, n, oldest)| (queue, n, when(oldest, &zone)))
        .collect();
    let page = HomePage {
        layout: Layout::new(&viewer, "Home", "/console"),
        queues,
    };
    render(Some(&viewer), StatusCode::OK, &page)
}

/// The console's own script and style, compiled into the binary (nothing is fetched
/// from elsewhere), cached for an hour.
async fn asset(axum::extract::Path(file): axum::extract::Path<String>) -> Response {
    let (body, kind): (&'static [u8], &'static str) = match file.as_str() {
        "console.css" => (
            include_bytes!("../../assets/console.css"),
            "text/css; charset=utf-8",
        ),
        "console.js" => (
            include_bytes!("../../assets/console.js"),
            "text/javascript; charset=utf-8",
        ),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    let mut response = body.into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    response
}
