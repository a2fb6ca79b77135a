//! Fulfillment commands that are not a single order's: a wave gathers released
//! fulfillment orders of one location into one pick run. Here rather than in the handler
//! so the console and the CLI create waves with the same checks.

use crate::app::auth::{Permission, authorize};
use crate::app::error::AppError;
use crate::app::{Answer, App, Idempotency, Origin, Outcome};
use orderly_domain::order::FieldIssue;

/// At most this many fulfillment orders in one wave.
pub const MAX_WAVE_ORDERS: u32 = 500;

/// What a wave takes: released fulfillment orders at a location, oldest first, optionally
/// only those released before a cutoff or asking for one carrier service, up to a number
/// of orders (default 50) and of lines.
#[derive(Debug, Clone)]
pub struct NewWave {
    pub location_id: String,
    pub released_before: Option<jiff::Timestamp>,
    pub max_orders: Option<u32>,
    pub max_lines: Option<u32>,
    pub service: Option<String>,
}

impl App {
    /// Creates a wave and returns its id. Under an idempotency key, a replay returns the
    /// same id (the caller shows the wave as it stands then).
    pub async fn create_wave(
        &self,
        origin: &Origin,
        idem: Option<Idempotency>,
        req: NewWave,
    ) -> Result<String, AppError> {
        authorize(&origin.actor, Permission::Fulfill)?;
        if !self
            .config
            .locations
            .iter()
            .any(|l| l.id == req.location_id)
        {
            return Err(AppError::Validation(vec![FieldIssue::new(
                "location_id",
                "unknown_location",
                format!("no location {}", req.location_id),
            )]));
        }
        if let Some(s) = &req.service
            && !self.config.has_service(s)
        {
            return Err(AppError::Validation(vec![FieldIssue::new(
                "service",
                "unknown_service",
                format!("{s} is not a configured carrier/service"),
            )]));
        }
        let max_orders = req.max_orders.unwrap_or(50);
        if !(1..=MAX_WAVE_ORDERS).contains(&max_orders) || req.max_lines == Some(0) {
            return Err(AppError::Validation(vec![FieldIssue::new(
                "max_orders",
                "out_of_range",
                format!("1 to {MAX_WAVE_ORDERS} orders, and at least one line"),
            )]));
        }
        let actor = origin.actor.label();
        let (clock, ids) = (self.clock.clone(), self.ids.clone());
        let outcome = self
            .idempotent_write(idem, move |tx| {
                let candidates = tx.wave_candidates(
                    &req.location_id,
                    req.released_before,
                    req.service.as_deref(),
                    max_orders,
                )?;
                let mut members = Vec::new();
                let mut lines = 0i64;
                for (id, _, count) in candidates {
                    if req
                        .max_lines
                        .is_some_and(|max| lines + count > i64::from(max))
                    {
                        break;
                    }
                    lines += count;
                    members.push(id);
                }
                if members.is_empty() {
                    return Err(AppError::Conflict {
                        code: "nothing_to_wave",
                        detail: format!(
                            "no released fulfillment order waits at {}",
                            req.location_id
                        ),
                    });
                }
                let id = ids.new_id("wav");
                tx.create_wave(&id, &req.location_id, &members, &actor, clock.now())?;
                // The key stores the wave's id; a replay answers with the wave's pick list as
                // it stands then (what is still to pick), not a copy of the first answer.
                Ok(Outcome::Body(Answer::Created, id.into_bytes()))
            })
            .await?;
        let Outcome::Body(_, id) = outcome else {
            return Err(AppError::Internal("a wave answers with its id".into()));
        };
        String::from_utf8(id).map_err(|e| AppError::Internal(e.to_string()))
    }
}
