//! The error page every refusal becomes: the application's refusal rendered for a
//! person, with the status and code the API would answer (`http::problem` maps both),
//! each field's problem, and the way back; and the console's own refusals (a form
//! without its token, too large, unreadable).

use crate::app::error::AppError;
use crate::console::wire::respond;
use crate::http::problem::ApiError;
use askama::Template;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// A refusal or failure as a page: what went wrong in words, each field's problem, and
/// the way back.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    #[error(transparent)]
    App(#[from] AppError),
    /// The form's token did not match the session's (forged, or from an old session).
    #[error("this form does not belong to your session")]
    StaleForm,
    #[error("the form is too large")]
    TooLarge,
    #[error("the form could not be read: {0}")]
    BadForm(String),
    #[error("no such page")]
    NoPage,
}

impl ConsoleError {
    /// A form field's problem, as the API's validation error for that field.
    pub fn invalid(field: &str, code: &'static str, message: &str) -> ConsoleError {
        ConsoleError::App(AppError::Validation(vec![
            orderly_domain::order::FieldIssue::new(field, code, message),
        ]))
    }
}

#[derive(Template)]
#[template(path = "console/error.html")]
struct ErrorPage {
    status: u16,
    title: String,
    detail: String,
    code: String,
    fields: Vec<(String, String)>,
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        let (status, page) = match self {
            ConsoleError::App(e) => {
                match &e {
                    AppError::Internal(cause) => tracing::error!(%cause, "internal error"),
                    AppError::Unavailable(cause) => tracing::warn!(%cause, "store unavailable"),
                    _ => {}
                }
                let problem = ApiError::App(e).problem();
                let status = StatusCode::from_u16(problem.status)
                    .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                (
                    status,
                    ErrorPage {
                        status: problem.status,
                        title: problem.title,
                        detail: problem.detail,
                        code: problem.code,
                        fields: problem
                            .errors
                            .into_iter()
                            .map(|f| (f.field, f.message))
                            .collect(),
                    },
                )
            }
            ConsoleError::StaleForm => (
                StatusCode::FORBIDDEN,
                ErrorPage {
                    status: 403,
                    title: "Form refused".into(),
                    detail: "This form was not sent from your current session (its security \
                             token is missing or out of date). Nothing was changed. Go back, \
                             reload the page and try again."
                        .into(),
                    code: "csrf_token_invalid".into(),
                    fields: Vec::new(),
                },
            ),
            ConsoleError::TooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorPage {
                    status: 413,
                    title: "Form too large".into(),
                    detail: "The form sent more than the console accepts. Nothing was changed."
                        .into(),
                    code: "payload_too_large".into(),
                    fields: Vec::new(),
                },
            ),
            ConsoleError::NoPage => (
                StatusCode::NOT_FOUND,
                ErrorPage {
                    status: 404,
                    title: "No such page".into(),
                    detail: "The console has no page at this address.".into(),
                    code: "no_route".into(),
                    fields: Vec::new(),
                },
            ),
            ConsoleError::BadForm(why) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorPage {
                    status: 422,
                    title: "Form not understood".into(),
                    detail: format!(
                        "The form could not be read ({}). Nothing was changed.",
                        crate::http::problem::bounded(&why, 200)
                    ),
                    code: "invalid_form".into(),
                    fields: Vec::new(),
                },
            ),
        };
        respond(status, &page, None)
    }
}
