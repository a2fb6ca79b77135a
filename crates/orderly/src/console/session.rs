//! The console's hold on who is asking: the session cookie, the form token every POST
//! must carry, and the one-shot notice a redirect leaves for the next page.
//!
//! - `Viewer` (a request-parts extractor) is the signed-in person. Without a live
//!   session a page redirects to the sign-in form, remembering where it was going.
//! - `Posted<T>` is a form post: it reads the session *and* checks the form's `csrf`
//!   field against the session's token before `T` is parsed, so no action handler can
//!   forget the check. Its `form_key` (a nonce in each form) becomes the command's
//!   idempotency key, so a double click refunds once.
//!
//! Cookies are `HttpOnly; SameSite=Lax; Path=/console`, and `Secure` when the request
//! came over TLS (a proxy says so with `X-Forwarded-Proto: https`; a client that lies
//! about it only gets a cookie it cannot send back over plain HTTP) or when
//! `console.secure_cookies` is set.

use crate::app::{AppState, Idempotency};
use crate::console::error::ConsoleError;
use crate::console::wire::{NOTICE_COOKIE, SESSION_COOKIE, cookie, same_token, secure, set_cookie};
use crate::users::commands::SessionUser;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use sha2::{Digest, Sha256};

/// The most a console form may send; the largest (an inspection) is a few kilobytes.
pub const MAX_FORM_BYTES: usize = 64 * 1024;

/// A notice left by the last action, shown once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice(pub String);

/// The signed-in person and what the page needs of the session.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub user: SessionUser,
    /// The session cookie's secret (to sign out).
    pub token: String,
    pub notice: Option<Notice>,
    /// Whether cookies set in the answer should be `Secure`.
    pub secure: bool,
}

impl Viewer {
    pub fn actor(&self) -> orderly_domain::actor::Actor {
        self.user.actor()
    }
}

/// Where an unsigned request goes: the sign-in form, then back.
fn sign_in_first(here: &str) -> Response {
    let next: String = form_urlencoded::byte_serialize(here.as_bytes()).collect();
    Redirect::to(&format!("/console/sign-in?next={next}")).into_response()
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, Response> {
        let here = parts
            .uri
            .path_and_query()
            .map_or("/console", |p| p.as_str())
            .to_owned();
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(sign_in_first(&here));
        };
        let user = match app.session_user(token).await {
            Ok(Some(user)) => user,
            Ok(None) => return Err(sign_in_first(&here)),
            Err(e) => return Err(ConsoleError::from(e).into_response()),
        };
        let notice = cookie(&parts.headers, NOTICE_COOKIE)
            .and_then(|v| {
                form_urlencoded::parse(format!("n={v}").as_bytes())
                    .next()
                    .map(|(_, n)| n.into_owned())
            })
            .filter(|n| !n.is_empty())
            .map(|n| Notice(n.chars().take(300).collect()));
        Ok(Viewer {
            user,
            token: token.to_owned(),
            notice,
            secure: secure(app, &parts.headers),
        })
    }
}

/// A form with nothing to say but its token (sign out, resend).
#[derive(Debug, serde::Deserialize)]
pub struct NoFields {}

/// A form post from a signed-in person whose form token matched.
#[derive(Debug)]
pub struct Posted<T> {
    pub viewer: Viewer,
    pub form: T,
    /// The command's idempotency key, from the form's `form_key`, if it has one.
    pub idem: Option<Idempotency>,
    /// The request's correlation id, recorded on the events it causes.
    pub correlation_id: String,
}

impl<T> Posted<T> {
    /// The person, as notes and edits name their author: `support user 'Ana Diaz'`.
    pub fn author(&self) -> String {
        self.viewer
            .actor()
            .describe(Some(&self.viewer.user.display_name))
    }

    /// Who acted and under which request, for the command.
    pub fn origin(&self) -> crate::app::Origin {
        crate::app::Origin {
            actor: self.viewer.actor(),
            correlation_id: self.correlation_id.clone(),
        }
    }
}

impl<T: serde::de::DeserializeOwned + Send> FromRequest<AppState> for Posted<T> {
    type Rejection = Response;

    async fn from_request(req: Request, app: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let viewer = Viewer::from_request_parts(&mut parts, app).await?;
        let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
            .await
            .map_err(|_| ConsoleError::TooLarge.into_response())?;
        let pairs: Vec<(String, String)> = form_urlencoded::parse(&bytes).into_owned().collect();
        let sent = pairs
            .iter()
            .find(|(k, _)| k == "csrf")
            .map_or("", |(_, v)| v.as_str());
        if !same_token(sent, &viewer.user.csrf_token) {
            return Err(ConsoleError::StaleForm.into_response());
        }
        let idem = pairs
            .iter()
            .find(|(k, _)| k == "form_key")
            .map(|(_, key)| key.as_str())
            .filter(|k| !k.is_empty() && k.len() <= 100 && k.bytes().all(|b| b.is_ascii_graphic()))
            .map(|key| {
                let mut hash = Sha256::new();
                hash.update(parts.uri.path().as_bytes());
                hash.update(b"\n");
                hash.update(&bytes);
                Idempotency {
                    principal: viewer.user.id.clone(),
                    key: key.to_owned(),
                    request_hash: hex::encode(hash.finalize()),
                }
            });
        let form = serde_urlencoded::from_bytes::<T>(&bytes)
            .map_err(|e| ConsoleError::BadForm(e.to_string()).into_response())?;
        let correlation_id = crate::http::extract::correlation_id(&parts.headers);
        Ok(Posted {
            viewer,
            form,
            idem,
            correlation_id,
        })
    }
}

/// After an action: back to `to` with a notice for the next page.
pub fn done(viewer: &Viewer, to: &str, notice: &str) -> Response {
    let value: String = form_urlencoded::byte_serialize(notice.as_bytes()).collect();
    let mut response = Redirect::to(to).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(NOTICE_COOKIE, &value, 60, viewer.secure),
    );
    response
}

/// Where a form asked to go back to (`back`), when it is a console page; else `default`.
/// Only a path of this console is followed, so a form cannot send anyone elsewhere.
pub fn back_to(back: Option<&str>, default: String) -> String {
    match back {
        Some(b)
            if b.starts_with("/console/")
                && !b.contains("//")
                && !b.contains('\\')
                && b.len() <= 500
                && b.bytes().all(|c| c.is_ascii_graphic()) =>
        {
            b.to_owned()
        }
        _ => default,
    }
}
