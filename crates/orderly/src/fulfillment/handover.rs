//! How a packed package leaves: the ship request, and the handover it comes to — to a
//! carrier with a tracking number, or onto the pickup counter under a collection code.
//! Shared by shipping and click and collect, so neither imports the other.

use crate::app::error::AppError;
use crate::http::schema::optional_line;
use orderly_domain::order::FieldIssue;
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShipRequest {
    /// With `service`, ships exactly so; without, the cheapest configured service that
    /// arrives by the order's promised date (or the one the order asked for).
    #[schema(schema_with = optional_line::<64>)]
    pub carrier: Option<String>,
    #[schema(schema_with = optional_line::<64>)]
    pub service: Option<String>,
    /// The carrier's tracking number; the built-in carrier makes one when omitted.
    #[schema(schema_with = optional_line::<64>)]
    pub tracking_number: Option<String>,
    /// The delivery date the carrier promised (RFC 3339); passing it undelivered flags
    /// a delay.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub promised_by: Option<jiff::Timestamp>,
}

/// How a package leaves: with a carrier's tracking number, or onto the pickup counter
/// under a collection code.
pub struct Handover {
    pub carrier: String,
    pub service: String,
    pub tracking_number: String,
    pub promised_by: Option<jiff::Timestamp>,
    pub ready_for_pickup_at: Option<jiff::Timestamp>,
}

/// The carrier name of a package handed over at a pickup counter.
pub const PICKUP_CARRIER: &str = "pickup";

/// The handover of a pickup order's package: onto the shelf now, under a fresh
/// collection code. A carrier, service or tracking number in the request is refused: no
/// carrier moves this package.
pub fn to_counter(req: &ShipRequest, now: jiff::Timestamp) -> Result<Handover, AppError> {
    if req.carrier.is_some()
        || req.service.is_some()
        || req.tracking_number.is_some()
        || req.promised_by.is_some()
    {
        return Err(AppError::Validation(vec![FieldIssue::new(
            "carrier",
            "pickup_order",
            "a click-and-collect order goes onto the pickup counter, not to a carrier: send {}",
        )]));
    }
    // `PU` and 8 random hex digits: short enough to read out at a counter.
    let random = uuid::Uuid::now_v7().simple().to_string();
    Ok(Handover {
        carrier: PICKUP_CARRIER.into(),
        service: "counter".into(),
        tracking_number: format!("PU{}", &random[24..]).to_uppercase(),
        promised_by: None,
        ready_for_pickup_at: Some(now),
    })
}
