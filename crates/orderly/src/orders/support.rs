//! `GET /orders/{id}/support`: "what should the customer hear next?" in one answer: per
//! parcel where it is and when it is expected, per waiting line why it waits and what
//! releases it, each refund with when the money arrives, what holds the order back, and
//! the order's open exceptions, active cases and contact counts. All of it is derived
//! from state (`orderly_domain::order::advice_for`), never typed by hand.

use crate::app::AppState;
use crate::app::auth::Principal;
use crate::cases::view::{CaseView, case_view};
use crate::http::problem::{ApiError, Problem};
use axum::Json;
use axum::extract::{Path, State};
use orderly_domain::time::rfc3339;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct AdviceOut {
    /// `order`, `payment`, `hold`, `shipment`, `line`, `refund` or `return`.
    pub topic: String,
    /// The shipment, line number, refund, hold reason or RMA it is about.
    pub subject: Option<String>,
    pub text: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ExceptionOut {
    pub id: i64,
    pub queue: String,
    pub kind: String,
    pub subject_id: String,
    pub detail: String,
    pub opened_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SupportView {
    pub order_id: String,
    pub number: String,
    /// The customer-facing status.
    pub status: String,
    /// Most pressing first.
    pub advice: Vec<AdviceOut>,
    /// Open exception entries of the order (for roles that read the queues).
    pub open_exceptions: Vec<ExceptionOut>,
    /// Active cases about the order (for roles that read cases).
    pub open_cases: Vec<CaseView>,
    /// Contacts on the order's cases; `repeat_contact` when the customer got in touch
    /// more than once.
    pub contacts: u32,
    pub repeat_contact: bool,
}

/// What support can tell the customer about the order now, with what is open on it.
#[utoipa::path(get, path = "/api/v1/orders/{id}/support", tag = "orders",
    params(("id" = String, Path, description = "Order id or number")),
    responses((status = 200, body = SupportView),
        (status = 404, body = Problem, content_type = "application/problem+json")),
    security(("bearer" = [])))]
pub async fn support(
    State(app): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<SupportView>, ApiError> {
    let s = app.support_summary(&principal.actor(), id).await?;
    Ok(Json(SupportView {
        order_id: s.order.id.to_string(),
        number: s.order.number.clone(),
        status: s.order.customer_status().as_str().to_owned(),
        advice: s
            .advice
            .into_iter()
            .map(|a| AdviceOut {
                topic: a.topic.as_str().to_owned(),
                subject: a.subject,
                text: a.text,
            })
            .collect(),
        open_exceptions: s
            .exceptions
            .into_iter()
            .map(|e| ExceptionOut {
                id: e.id,
                queue: e.queue,
                kind: e.kind,
                subject_id: e.subject_id,
                detail: e.detail,
                opened_at: rfc3339(e.opened_at),
            })
            .collect(),
        open_cases: s
            .cases
            .iter()
            .map(|c| case_view(&c.case, c.due_at))
            .collect(),
        contacts: s.contacts.contacts,
        repeat_contact: s.contacts.repeat(),
    }))
}
