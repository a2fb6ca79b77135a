//! Signing in and out. The sign-in form has no session yet, so its token lives in a
//! cookie of its own (`orderly_signin`) and the form must echo it: a page elsewhere
//! cannot sign a browser in as someone else. A refusal says why in words: a wrong
//! password (never whether the username exists), a lockout with its end, a disabled
//! account (only to someone who knew its password). Wrong sign-ins are also counted per
//! peer address in the API's failed-authentication throttle (`server.auth_failure_limit`
//! per `server.auth_failure_window_seconds`): past it, that address is refused for the
//! rest of the window before any password is checked, whichever accounts it tries.

use crate::app::AppState;
use crate::console::error::ConsoleError;
use crate::console::page::{render, when};
use crate::console::session::{NoFields, Posted};
use crate::console::wire::{
    SESSION_COOKIE, SIGN_IN_COOKIE, cookie, same_token, secure, set_cookie,
};
use crate::users::commands::Refusal;
use askama::Template;
use axum::extract::{ConnectInfo, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use rand::RngCore;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "console/signin.html")]
struct SignInPage {
    csrf: String,
    next: String,
    username: String,
    message: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

/// Where to go after signing in: a console page, never another site.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with("/console") && !n.starts_with("//") && !n.contains('\\') => {
            n.chars().take(500).collect()
        }
        _ => "/console".to_owned(),
    }
}

fn new_token() -> String {
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

fn form_page(
    app: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    next: String,
    username: String,
    message: Option<String>,
) -> Response {
    let token = cookie(headers, SIGN_IN_COOKIE)
        .filter(|t| t.len() == 48 && t.bytes().all(|b| b.is_ascii_hexdigit()))
        .map_or_else(new_token, str::to_owned);
    let page = SignInPage {
        csrf: token.clone(),
        next,
        username,
        message,
    };
    let mut response = render(None, status, &page);
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(SIGN_IN_COOKIE, &token, 3600, secure(app, headers)),
    );
    response
}

pub async fn sign_in_form(
    State(app): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<NextQuery>,
) -> Response {
    let next = safe_next(q.next.as_deref());
    form_page(&app, &headers, StatusCode::OK, next, String::new(), None)
}

#[derive(Debug, Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    next: Option<String>,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

/// The most a sign-in form may send.
const MAX_SIGN_IN_BYTES: usize = 4096;

pub async fn sign_in(State(app): State<AppState>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let headers = parts.headers;
    let peer = parts
        .extensions
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    let throttle = parts
        .extensions
        .get::<std::sync::Arc<crate::http::throttle::AuthThrottle>>()
        .cloned();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_SIGN_IN_BYTES).await else {
        return ConsoleError::TooLarge.into_response();
    };
    let form: SignInForm = match serde_urlencoded::from_bytes(&bytes) {
        Ok(form) => form,
        Err(e) => return ConsoleError::BadForm(e.to_string()).into_response(),
    };
    let next = safe_next(form.next.as_deref());
    if let (Some(throttle), Some(peer)) = (&throttle, peer)
        && let Err(seconds) = throttle.check(peer, app.now())
    {
        let message =
            format!("Too many wrong sign-ins from your address. Try again in {seconds} seconds.");
        let username: String = form.username.chars().take(64).collect();
        return form_page(
            &app,
            &headers,
            StatusCode::TOO_MANY_REQUESTS,
            next,
            username,
            Some(message),
        );
    }
    let username: String = form.username.chars().take(64).collect();
    let expected = cookie(&headers, SIGN_IN_COOKIE).unwrap_or_default();
    if !same_token(&form.csrf, expected) {
        return ConsoleError::StaleForm.into_response();
    }
    let refusal = match app.sign_in(&username, &form.password).await {
        Err(e) => return ConsoleError::from(e).into_response(),
        Ok(Ok(started)) => {
            let secure = secure(&app, &headers);
            let max_age = i64::from(app.config.console.session_absolute_hours) * 3600;
            let mut response = Redirect::to(&next).into_response();
            let h = response.headers_mut();
            h.append(
                header::SET_COOKIE,
                set_cookie(SESSION_COOKIE, &started.token, max_age, secure),
            );
            h.append(
                header::SET_COOKIE,
                set_cookie(SIGN_IN_COOKIE, "", 0, secure),
            );
            return response;
        }
        Ok(Err(refusal)) => refusal,
    };
    if let (Refusal::WrongCredentials { .. }, Some(throttle), Some(peer)) =
        (&refusal, &throttle, peer)
    {
        let failures = throttle.record_failure(peer, app.now());
        tracing::warn!(%peer, failures, "console sign-in refused");
    }
    let console = &app.config.console;
    let (status, message) = match refusal {
        Refusal::WrongCredentials { .. } => (
            StatusCode::UNAUTHORIZED,
            format!(
                "Wrong username or password. After {} wrong passwords in a row the account \
                 is locked for {} minutes.",
                console.lockout_failures, console.lockout_minutes
            ),
        ),
        Refusal::Locked { until } => {
            let zone = jiff::tz::TimeZone::get(&app.config.calendar.time_zone)
                .unwrap_or(jiff::tz::TimeZone::UTC);
            (
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "This account is locked after too many wrong passwords, until {}. An \
                     admin can unlock it now by resetting the password.",
                    when(until, &zone)
                ),
            )
        }
        Refusal::Disabled => (
            StatusCode::FORBIDDEN,
            "This account is disabled. Ask an admin to enable it.".to_owned(),
        ),
    };
    form_page(&app, &headers, status, next, username, Some(message))
}

pub async fn sign_out(State(app): State<AppState>, posted: Posted<NoFields>) -> Response {
    if let Err(e) = app.sign_out(&posted.viewer.token).await {
        return ConsoleError::from(e).into_response();
    }
    let mut response = Redirect::to("/console/sign-in").into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, "", 0, posted.viewer.secure),
    );
    response
}
