//! The console's answers on the wire: cookies (read, set, compared), and a rendered
//! template as an HTML answer under the console's content policy. It knows no page and
//! no session, so every other console file may use it.

use crate::app::AppState;
use askama::Template;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

pub const SESSION_COOKIE: &str = "orderly_session";
/// The sign-in form's own token (there is no session yet to hold one).
pub const SIGN_IN_COOKIE: &str = "orderly_signin";
pub const NOTICE_COOKIE: &str = "orderly_notice";

/// Scripts and styles come from the console itself, nothing else is loaded, forms post
/// only to the console, and no page may be framed.
pub const CONSOLE_POLICY: &str = "default-src 'none'; style-src 'self'; script-src 'self'; \
     img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The value of cookie `name` in the request, if sent.
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Whether the cookie should be `Secure` for this request.
pub fn secure(app: &AppState, headers: &HeaderMap) -> bool {
    app.config.console.secure_cookies
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"))
}

/// A `Set-Cookie` value for the console; `max_age_seconds` 0 deletes it.
pub fn set_cookie(name: &str, value: &str, max_age_seconds: i64, secure: bool) -> HeaderValue {
    let flags = if secure { "; Secure" } else { "" };
    let max_age = if max_age_seconds > 0 {
        format!("; Max-Age={max_age_seconds}")
    } else {
        "; Max-Age=0".to_owned()
    };
    let text = format!("{name}={value}; Path=/console; HttpOnly; SameSite=Lax{max_age}{flags}");
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("invalid=1"))
}

/// Two tokens compared in time that does not depend on where they differ.
pub fn same_token(a: &str, b: &str) -> bool {
    let (x, y) = (Sha256::digest(a.as_bytes()), Sha256::digest(b.as_bytes()));
    x.iter()
        .zip(y.iter())
        .fold(0u8, |acc, (p, q)| acc | (p ^ q))
        == 0
        && !a.is_empty()
}

/// `page` rendered as an HTML answer with the console's policy; `clear_notice` (with
/// whether the cookie is `Secure`) deletes the notice the page has just shown.
pub fn respond(status: StatusCode, page: &impl Template, clear_notice: Option<bool>) -> Response {
    let html = match page.render() {
        Ok(html) => html,
        Err(e) => {
            tracing::error!(cause = %e, "rendering a console page");
            return (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response();
        }
    };
    let mut response = (status, html).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONSOLE_POLICY),
    );
    if let Some(secure) = clear_notice {
        headers.append(header::SET_COOKIE, set_cookie(NOTICE_COOKIE, "", 0, secure));
    }
    response
}
