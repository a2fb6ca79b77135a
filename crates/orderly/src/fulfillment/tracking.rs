//! Carrier tracking in: signed, normalized scans found by tracking number, each recorded
//! once per event id; and the watch for shipments that went quiet or missed their promise.

use crate::app::Origin;
use crate::app::error::AppError;
use crate::app::exchanges::follow;
use crate::app::runner::run;
use crate::app::{App, refuse_future};
use crate::payments::commands::external_pending;
use crate::payments::provider_events::Disposition;
use jiff::{SignedDuration, Timestamp};
use orderly_domain::actor::Actor;
use orderly_domain::fulfillment::TrackingStatus;
use orderly_domain::order::{
    FieldIssue, OrderCommand, OrderError, ReturnParcelStatus, TrackingRecorded,
};
use orderly_domain::values::Id;
use serde::Deserialize;
use std::collections::HashSet;

/// A tracking event as a carrier integration sends it (the OpenAPI document's request
/// schema of `POST /tracking-events` is derived from this type).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrackingEvent {
    /// The event's id, also its `webhook-id`; each counts once.
    #[schema(min_length = 1, max_length = 200)]
    pub id: String,
    #[schema(min_length = 1, max_length = 64)]
    pub carrier: String,
    #[schema(min_length = 1, max_length = 64)]
    pub tracking_number: String,
    /// label_created, picked_up, in_transit, out_for_delivery, attempted_delivery, delayed,
    /// exception, delivered, returned_to_sender or lost.
    #[schema(max_length = 64)]
    pub status: String,
    #[schema(value_type = String, format = DateTime)]
    pub occurred_at: Timestamp,
    #[schema(max_length = 200)]
    pub location: Option<String>,
}

/// What a scan of a return parcel says: on its way (the warehouse's receipt, not the
/// carrier's delivery, is what counts it in), or lost; anything else changes nothing.
fn return_parcel(status: TrackingStatus) -> Option<ReturnParcelStatus> {
    use TrackingStatus::*;
    match status {
        PickedUp | InTransit | OutForDelivery | Delivered => Some(ReturnParcelStatus::InTransit),
        Lost => Some(ReturnParcelStatus::Lost),
        LabelCreated | ReadyForPickup | AttemptedDelivery | Delayed | Exception
        | ReturnedToSender => None,
    }
}

/// Delay checks per pass of the timer worker.
const WATCH_BATCH: u32 = 100;

impl App {
    /// Records a verified tracking event; `raw` is kept as received.
    pub async fn tracking_event(
        &self,
        event: TrackingEvent,
        raw: String,
    ) -> Result<Disposition, AppError> {
        refuse_future(
            "occurred_at",
            event.occurred_at,
            self.now(),
            self.config.fulfillment.max_event_clock_skew_seconds,
        )?;
        let status = TrackingStatus::parse(&event.status).ok_or_else(|| {
            let known: Vec<&str> = TrackingStatus::ALL.iter().map(|s| s.as_str()).collect();
            AppError::Validation(vec![FieldIssue::new(
                "status",
                "unknown_status",
                format!("a tracking status is one of {}", known.join(", ")),
            )])
        })?;
        let config = self.config.clone();
        let origin = Origin {
            actor: Actor::system(&format!("carrier:{}", event.carrier)),
            correlation_id: event.id.clone(),
        };
        let (clock, ids) = (self.clock.clone(), self.ids.clone());
        let meta_origin = origin.clone();
        let (disposition, order, fresh) = self
            .store
            .write(move |tx| {
                let now = clock.now();
                let source = format!("tracking:{}", event.carrier);
                let shipment = tx.shipment_by_tracking(&event.carrier, &event.tracking_number)?;
                // The built-in carrier tracks a return parcel by its RMA.
                let parcel = match &shipment {
                    Some(_) => None,
                    None => tx.return_by_rma(&event.tracking_number)?,
                };
                let (order_id, target) = match (shipment, parcel) {
                    (Some((order_id, shipment_id)), _) => (order_id, Err(shipment_id)),
                    (None, Some((order_id, return_id))) => (order_id, Ok(return_id)),
                    (None, None) => {
                        return Err(AppError::Order(OrderError::UnknownShipment(format!(
                            "{} {}",
                            event.carrier, event.tracking_number
                        ))));
                    }
                };
                if !tx.record_provider_event(
                    &source,
                    &event.id,
                    Some(&order_id),
                    "applied",
                    &raw,
                    now,
                )? {
                    return Err(AppError::Conflict {
                        code: "duplicate_event",
                        detail: format!("event {} was already received", event.id),
                    });
                }
                let order = tx
                    .load_order(&order_id)?
                    .ok_or(AppError::Order(OrderError::NotFound))?;
                let version = order.version;
                let occurred_at = orderly_domain::time::to_millis(event.occurred_at);
                let cmd = match target {
                    Err(shipment_id) => OrderCommand::RecordTracking(TrackingRecorded {
                        shipment_id: Id::new(shipment_id),
                        status,
                        occurred_at,
                        location: event.location.clone(),
                    }),
                    Ok(return_id) => match return_parcel(status) {
                        Some(status) => OrderCommand::TrackReturn {
                            return_id: Id::new(return_id),
                            status,
                            occurred_at,
                        },
                        None => {
                            tx.set_provider_event_status(&source, &event.id, "ignored")?;
                            return Ok((Disposition::Ignored, None, Vec::new()));
                        }
                    },
                };
                let before: HashSet<Id> = external_pending(&order).into_iter().collect();
                let order = match run(tx, order, cmd, &origin.meta(now), &config, ids.as_ref()) {
                    // News of a return parcel that is no longer travelling (cancelled,
                    // expired, still in review) is history, not a carrier's error.
                    Err(AppError::Order(OrderError::ReturnState { .. })) => {
                        tx.set_provider_event_status(&source, &event.id, "ignored")?;
                        return Ok((Disposition::Ignored, None, Vec::new()));
                    }
                    other => other?,
                };
                let order = follow(tx, order, &origin.meta(now), &config, ids.as_ref())?;
                if order.version == version {
                    tx.set_provider_event_status(&source, &event.id, "ignored")?;
                    return Ok((Disposition::Ignored, None, Vec::new()));
                }
                // What the scan made due (a return's refund on carrier acceptance).
                let fresh: Vec<Id> = external_pending(&order)
                    .into_iter()
                    .filter(|id| !before.contains(id))
                    .collect();
                Ok((Disposition::Applied, Some(order), fresh))
            })
            .await?;
        // Sent to the provider now, as any command's operations are after its commit. The
        // scan itself is recorded: a failure here is not the carrier's to hear (its retry
        // would be a duplicate), and leaves the operation pending for the re-drive.
        if let Some(order) = order.filter(|_| !fresh.is_empty())
            && let Err(e) = self
                .settle(order, fresh, None, None, &meta_origin, None)
                .await
        {
            tracing::warn!(error = %e, "a payment a scan made due waits for its re-drive");
        }
        Ok(disposition)
    }

    /// Flags shipments silent for the configured hours, or past their promised date, as
    /// delayed (a timeline entry and the shipment's `delayed` flag). Returns how many
    /// shipments it checked.
    pub(crate) async fn watch_shipments(&self, now: Timestamp) -> Result<usize, AppError> {
        let hours = self.config.fulfillment.tracking_silence_hours;
        let since = now
            .saturating_sub(SignedDuration::from_hours(i64::from(hours)))
            .unwrap_or(now);
        // A read: the watch runs every pass, and must not queue behind the writer.
        let quiet = self
            .store
            .read(move |r| r.quiet_shipments(since, now, WATCH_BATCH))
            .await?;
        let mut checked = 0;
        for (order_id, shipment_id) in quiet {
            let origin = Origin {
                actor: Actor::system("shipment-watch"),
                correlation_id: format!("watch-{shipment_id}"),
            };
            let outcome = self
                .order_command(order_id, None, origin, Some(now), move |_| {
                    Ok(OrderCommand::CheckDelay {
                        shipment_id: Id::new(shipment_id.clone()),
                        now,
                        silence_hours: hours,
                    })
                })
                .await;
            match outcome {
                Ok(_) => checked += 1,
                Err(e) => tracing::warn!(error = %e, "delay check failed"),
            }
        }
        Ok(checked)
    }
}
