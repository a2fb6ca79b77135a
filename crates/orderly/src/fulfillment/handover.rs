//! How a packed package leaves: the ship request, and the handover it comes to — to a
//! carrier with a tracking number, or onto the pickup counter under a collection code.
//! Shared by shipping and click and collect, so neither imports the other; collecting at
//! the counter, the pickup handover's end, is here too.

use crate::app::auth::{Permission, authorize};
use crate::app::error::AppError;
use crate::app::{App, Idempotency, Origin, Outcome};
use crate::http::schema::optional_line;
use orderly_domain::fulfillment::TrackingStatus;
use orderly_domain::order::{FieldIssue, Order, OrderCommand, OrderError, TrackingRecorded};
use orderly_domain::values::Id;
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
    /// The rate table's price of the service, when Orderly rates it.
    pub price_minor: Option<i64>,
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
        price_minor: None,
        carrier: PICKUP_CARRIER.into(),
        service: "counter".into(),
        tracking_number: format!("PU{}", &random[24..]).to_uppercase(),
        promised_by: None,
        ready_for_pickup_at: Some(now),
    })
}

impl App {
    /// The customer collected pickup shipment `shipment_id` of order `order_id`, showing
    /// `code`: recorded as its delivery. Who may do it is checked before the shipment is
    /// looked at, so a role that may not learns nothing of its state.
    pub async fn collect(
        &self,
        origin: Origin,
        idem: Option<Idempotency>,
        order_id: String,
        shipment_id: Id,
        code: String,
    ) -> Result<Outcome, AppError> {
        authorize(&origin.actor, Permission::Fulfill)?;
        let at = self.now();
        self.order_command(order_id, idem, origin, None, move |order| {
            collect_command(order, &shipment_id, &code, at)
        })
        .await
    }
}

/// The delivery of a package waiting at the counter, if `code` is its collection code.
fn collect_command(
    order: &Order,
    shipment_id: &Id,
    code: &str,
    at: jiff::Timestamp,
) -> Result<OrderCommand, AppError> {
    let (location, shipment) = order
        .fulfillment_orders
        .iter()
        .find_map(|f| {
            f.shipments
                .iter()
                .find(|s| s.id == *shipment_id)
                .map(|s| (&f.location_id, s))
        })
        .ok_or_else(|| AppError::Order(OrderError::UnknownShipment(shipment_id.to_string())))?;
    if shipment.carrier != PICKUP_CARRIER || shipment.status() != TrackingStatus::ReadyForPickup {
        return Err(AppError::Conflict {
            code: "not_ready_for_pickup",
            detail: format!(
                "{} is {} with {}, not waiting at a pickup counter",
                shipment.id,
                shipment.status().as_str(),
                shipment.carrier
            ),
        });
    }
    if shipment.tracking_number != code {
        return Err(AppError::Validation(vec![FieldIssue::new(
            "pickup_code",
            "wrong_pickup_code",
            "the code does not match this package",
        )]));
    }
    Ok(OrderCommand::RecordTracking(TrackingRecorded {
        shipment_id: shipment_id.clone(),
        status: TrackingStatus::Delivered,
        occurred_at: at,
        location: Some(location.to_string()),
    }))
}
