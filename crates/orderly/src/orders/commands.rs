//! Placing orders (cancellations and edits are `edits::commands`).

use crate::app::error::AppError;
use crate::app::{Answer, App, Idempotency, Origin, Outcome};
pub use crate::orders::placing::{PaymentChoice, PlaceInput};
use crate::orders::placing::{PlaceEnv, Placed, Terms, catalog_issues, place_in_tx};
use crate::payments::commands::{external_pending, keep_token};
use orderly_domain::order::FieldIssue;
use orderly_domain::values::Sku;
use std::sync::{Arc, Mutex};

impl App {
    /// Creates an order (201), or returns the one already captured for the same channel and
    /// external id (200).
    pub async fn place_order(
        &self,
        input: PlaceInput,
        idem: Option<Idempotency>,
        origin: Origin,
    ) -> Result<Outcome, AppError> {
        crate::app::auth::authorize(&origin.actor, crate::app::auth::Permission::CreateOrders)?;
        // A channel-bound key knows no other channel: naming one is naming none.
        let channel = self
            .config
            .channel(&input.channel)
            .filter(|c| crate::app::auth::sees_channel(&origin.actor, &c.id))
            .ok_or_else(|| {
                AppError::Validation(vec![FieldIssue::new(
                    "channel",
                    "unknown_channel",
                    "no such channel",
                )])
            })?
            .clone();
        let channel_id = channel.id.clone();
        let locations = self.locations.clone();
        let config = self.config.clone();
        let new_ops = Arc::new(Mutex::new((Vec::new(), None)));
        let seen = new_ops.clone();
        let settle_origin = origin.clone();
        let settle_idem = idem.clone();
        let (clock, ids) = (self.clock.clone(), self.ids.clone());
        let ship_to = self.config.geocode(
            input.shipping_address.country.as_str(),
            input.shipping_address.region.as_deref(),
        );
        // Held until the provider answered, so a retry never sees the unsettled order.
        let _guard = idem.as_ref().map(|i| self.claim(i)).transpose()?;
        let outcome = self
            .write_under_key(idem, move |tx| {
                let meta = origin.meta(clock.now());
                let at = meta.at;
                let env = PlaceEnv {
                    channel: &channel,
                    locations: &locations,
                    config: &config,
                    ship_to,
                    ids: ids.as_ref(),
                };
                let order = match place_in_tx(tx, &input, &env, &meta, Terms::ordinary())? {
                    Placed::Existing(order) => {
                        if let Ok(mut s) = seen.lock() {
                            *s = (Vec::new(), None);
                        }
                        return Ok(Outcome::Order(Answer::Done, Box::new(order)));
                    }
                    Placed::New(order) => order,
                };
                let token = input.payment.as_ref().and_then(|p| p.token.clone());
                let kept = keep_token(tx, &[], &order, token.as_deref(), at)?;
                let order = crate::app::runner::react(tx, order, &meta, &config, ids.as_ref())?;
                if let Ok(mut s) = seen.lock() {
                    *s = (external_pending(&order), kept);
                }
                Ok(Outcome::Order(Answer::Created, Box::new(order)))
            })
            .await?;
        if matches!(outcome, Outcome::Order(Answer::Created, _)) {
            self.metrics.count(
                "orderly_orders_captured_total",
                &[("channel", &channel_id)],
                1,
            );
        }
        let (ops, fresh) = new_ops.lock().map(|v| v.clone()).unwrap_or_default();
        let requested = crate::payments::commands::Requested {
            ops,
            fresh,
            report: false,
        };
        self.settle_outcome(outcome, requested, settle_idem, &settle_origin, None)
            .await
    }
}

impl App {
    /// `unknown_sku` / `inactive_sku` for the lines whose SKU the catalog refuses, given
    /// as (index in the request, SKU). An order over the line limit is refused for that
    /// alone: its lines are not looked up.
    pub async fn catalog_issues(
        &self,
        lines: &[(usize, Sku)],
    ) -> Result<Vec<FieldIssue>, AppError> {
        if lines.is_empty() || lines.len() > self.config.limits.max_lines_per_order as usize {
            return Ok(Vec::new());
        }
        let mut skus: Vec<String> = lines.iter().map(|(_, s)| s.to_string()).collect();
        skus.sort();
        skus.dedup();
        let products = self
            .store
            .read(move |r| {
                let skus: Vec<&str> = skus.iter().map(String::as_str).collect();
                r.products_by_sku(&skus)
            })
            .await?;
        Ok(catalog_issues(
            &products,
            lines.iter().map(|(i, s)| (*i, s)),
        ))
    }
}
