//! Fulfillment commands, here rather than in the handlers so the console and the CLI
//! pack, ship and wave with the same checks: a wave gathers released fulfillment orders
//! of one location into one pick run; packing reads each scan as a SKU; shipping settles
//! the carrier, service and tracking number (rate shopping and booking are calls out,
//! made before the write, never inside its transaction) and names the new shipment.

use crate::app::auth::{Permission, authorize, sees_channel};
use crate::app::error::AppError;
use crate::app::runner::capture_mode;
use crate::app::{Answer, App, Idempotency, Origin, Outcome};
use crate::fulfillment::handover::{Handover, ShipRequest, to_counter};
use crate::providers::carriers::all_quotes;
use jiff::Timestamp;
use orderly_domain::actor::Actor;
use orderly_domain::carrier::{Quote, choose};
use orderly_domain::order::{Delivery, FieldIssue, Order, OrderCommand, OrderError, ShipPackage};
use orderly_domain::payment::CaptureMode;
use orderly_domain::values::{Gtin, Id, Sku};
use std::collections::HashMap;

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
        if let Actor::ApiKey {
            channels: Some(_),
            role,
            ..
        } = &origin.actor
        {
            // A wave takes work of every channel at its location.
            return Err(AppError::Forbidden {
                role: role.as_str(),
                action: "create waves while bound to channels",
            });
        }
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

/// At most this many scans in one package.
const MAX_SCANS: usize = 10_000;

/// What a package takes: one entry per scanned unit (a barcode number or a SKU), and
/// what the parcel weighs and measures.
#[derive(Debug, Clone)]
pub struct NewPackage {
    pub scans: Vec<String>,
    pub weight_grams: u32,
    /// Length, width and height.
    pub dimensions_mm: [u32; 3],
}

impl App {
    /// Packs scanned units of fulfillment order `fulfillment_id` (of order `order_id`)
    /// into the order's next package, and returns the order as it then stands (its
    /// fulfillment order's newest package is the new one, also on a replay).
    pub async fn pack(
        &self,
        origin: Origin,
        idem: Option<Idempotency>,
        order_id: String,
        fulfillment_id: Id,
        package: NewPackage,
    ) -> Result<Order, AppError> {
        // Checked before the catalog is read; the runner checks the command again.
        authorize(&origin.actor, Permission::Fulfill)?;
        if package.scans.len() > MAX_SCANS {
            return Err(AppError::Validation(vec![FieldIssue::new(
                "scans",
                "too_many",
                "at most 10000 scans per package",
            )]));
        }
        let scans = self.resolve_scans(&package.scans).await?;
        let outcome = self
            .order_command(order_id, idem, origin, None, move |order| {
                Ok(OrderCommand::Pack {
                    fulfillment_id: fulfillment_id.clone(),
                    package_id: order.next_package_id(),
                    scans: scans.clone(),
                    weight_grams: package.weight_grams,
                    dimensions_mm: package.dimensions_mm,
                })
            })
            .await?;
        match outcome {
            Outcome::Order(_, order) => Ok(*order),
            Outcome::Body(..) => Err(AppError::Internal(
                "an order command answered without its order".into(),
            )),
        }
    }

    /// Each scan as a SKU, the barcode numbers looked up in the catalog in one read
    /// (see `skus_of`).
    pub async fn resolve_scans(&self, raw: &[String]) -> Result<Vec<Sku>, AppError> {
        let gtins = gtins_of(raw);
        let known: HashMap<String, String> = if gtins.is_empty() {
            HashMap::new()
        } else {
            self.store
                .read(move |r| r.skus_by_gtin(&gtins))
                .await?
                .into_iter()
                .collect()
        };
        skus_of(raw, &known)
    }

    /// Ships packed package `package_id` of order `order_id`: a pickup order's package
    /// goes onto the counter; any other leaves with the carrier and service the request
    /// names, or else the one rate shopping chooses, under the request's tracking number
    /// or one booked with the carrier. Answers with the order.
    pub async fn ship(
        &self,
        origin: Origin,
        idem: Option<Idempotency>,
        order_id: String,
        package_id: Id,
        mut req: ShipRequest,
    ) -> Result<Outcome, AppError> {
        // Checked before a carrier is asked to book; the runner checks the command again.
        authorize(&origin.actor, Permission::Fulfill)?;
        req.promised_by = req.promised_by.map(orderly_domain::time::to_millis);
        check_ship_request(&req)?;
        // The service and the tracking number are settled before the write: booking with
        // a carrier is a call out, never made inside a transaction.
        let order = {
            let order_id = order_id.clone();
            self.store.read(move |r| r.order(&order_id)).await?
        }
        // Another channel's package is unknown here: no carrier books for it.
        .filter(|o| sees_channel(&origin.actor, o.channel.as_str()))
        .ok_or_else(|| unknown_package(&package_id))?;
        let handover = if Delivery::pickup(order.delivery.as_ref()).is_some() {
            to_counter(&req, self.now())?
        } else {
            let (carrier, service, promised_by) =
                service_for(&req, || self.rate_shop(&order, &package_id))?;
            let tracking_number = self.tracking_number(req.tracking_number, &carrier)?;
            let price_minor = self.service_price(&order, &package_id, &carrier, &service);
            Handover {
                carrier,
                service,
                tracking_number,
                promised_by,
                price_minor,
                ready_for_pickup_at: None,
            }
        };
        let config = self.config.clone();
        self.order_command(order_id, idem, origin, None, move |order| {
            ship_command(order, &package_id, &handover, capture_mode(&config, order))
        })
        .await
    }

    /// The quote `package_id` ships with when the request names no service: every
    /// configured carrier is asked, then `shop` chooses.
    fn rate_shop(&self, order: &Order, package_id: &Id) -> Result<Quote, AppError> {
        let (_, package) = order
            .package(package_id)
            .ok_or_else(|| unknown_package(package_id))?;
        let to = &order.shipping_address;
        let offers = all_quotes(
            &self.carriers,
            to.country.as_str(),
            to.region.as_deref(),
            package.weight_grams,
            self.now(),
        );
        shop(
            &offers,
            order.delivery.as_ref(),
            to.country.as_str(),
            package.weight_grams,
        )
    }

    /// What the rate tables charge for the package with `carrier`'s `service`, if
    /// Orderly rates that service for its destination and weight.
    fn service_price(
        &self,
        order: &Order,
        package_id: &Id,
        carrier: &str,
        service: &str,
    ) -> Option<i64> {
        let (_, package) = order.package(package_id)?;
        let to = &order.shipping_address;
        all_quotes(
            &self.carriers,
            to.country.as_str(),
            to.region.as_deref(),
            package.weight_grams,
            self.now(),
        )
        .into_iter()
        .find(|q| q.carrier == carrier && q.service == service)
        .map(|q| q.price_minor)
    }

    /// The tracking number a shipment with `carrier` leaves under: the one given, else
    /// one booked with the carrier; a carrier Orderly does not book needs the caller's.
    fn tracking_number(&self, given: Option<String>, carrier: &str) -> Result<String, AppError> {
        match (given, self.carrier(carrier)) {
            (Some(t), _) => Ok(t),
            (None, Some(c)) => c.book().map_err(|e| AppError::Conflict {
                code: "carrier_unavailable",
                detail: format!("{carrier} could not book the shipment: {e:#}"),
            }),
            (None, None) => Err(AppError::Validation(vec![FieldIssue::new(
                "tracking_number",
                "required",
                format!("{carrier} is not a carrier Orderly books: send its tracking number"),
            )])),
        }
    }
}

fn unknown_package(id: &Id) -> AppError {
    AppError::Order(OrderError::UnknownPackage(id.to_string()))
}

/// The barcode numbers (valid GTINs) among `raw`, padded to 14 digits, once each.
fn gtins_of(raw: &[String]) -> Vec<String> {
    let mut gtins: Vec<String> = raw
        .iter()
        .filter_map(|s| Gtin::parse(s).ok())
        .map(|g| g.as_str().to_owned())
        .collect();
    gtins.sort();
    gtins.dedup();
    gtins
}

/// Each scan as a SKU: a barcode number (a valid GTIN) names the catalog product that
/// has it (`known`, GTIN to SKU); anything else is read as a SKU. A GTIN no product has
/// is kept as its digits, so the fulfillment order refuses it as not in the order.
fn skus_of(raw: &[String], known: &HashMap<String, String>) -> Result<Vec<Sku>, AppError> {
    raw.iter()
        .enumerate()
        .map(|(i, scan)| {
            let by_gtin = Gtin::parse(scan)
                .ok()
                .and_then(|g| known.get(g.as_str()))
                .and_then(|sku| Sku::parse(sku).ok());
            match by_gtin {
                Some(sku) => Ok(sku),
                None => Sku::parse(scan.trim()).map_err(|e| {
                    AppError::Validation(vec![FieldIssue::new(
                        format!("scans[{i}]"),
                        e.code,
                        e.message,
                    )])
                }),
            }
        })
        .collect()
}

/// Refuses a carrier, service or tracking number that is blank, holds a control
/// character or is over 64 characters.
fn check_ship_request(req: &ShipRequest) -> Result<(), AppError> {
    for (field, value) in [
        ("carrier", &req.carrier),
        ("service", &req.service),
        ("tracking_number", &req.tracking_number),
    ] {
        // As the document declares them: not blank, no control characters.
        if value.as_ref().is_some_and(|v| {
            v.trim().is_empty() || v.chars().any(char::is_control) || v.chars().count() > 64
        }) {
            return Err(AppError::Validation(vec![FieldIssue::new(
                field,
                "invalid_length",
                "1-64 characters",
            )]));
        }
    }
    Ok(())
}

/// The carrier, service and promised date a package ships with: the request's when it
/// names both a carrier and a service; else rate shopping's (`shop` is asked only then),
/// whose arrival is the promise unless the request made its own.
fn service_for(
    req: &ShipRequest,
    shop: impl FnOnce() -> Result<Quote, AppError>,
) -> Result<(String, String, Option<Timestamp>), AppError> {
    match (&req.carrier, &req.service) {
        (Some(c), Some(s)) => Ok((c.clone(), s.clone(), req.promised_by)),
        _ => {
            let quote = shop()?;
            Ok((
                quote.carrier,
                quote.service,
                req.promised_by.or(Some(quote.arrives_by)),
            ))
        }
    }
}

/// Rate shopping: among `offers` for a package of `weight_grams` to `destination`, the
/// service the order asked for, else the cheapest that arrives by the order's promised
/// date, else the fastest (see `orderly_domain::carrier::choose`). None that fits is
/// `no_carrier_service`.
fn shop(
    offers: &[Quote],
    delivery: Option<&Delivery>,
    destination: &str,
    weight_grams: u32,
) -> Result<Quote, AppError> {
    choose(
        offers,
        delivery.and_then(|d| d.service.as_deref()),
        delivery.and_then(|d| d.deliver_by),
        destination,
        weight_grams,
    )
    .map_err(|e| AppError::Conflict {
        code: "no_carrier_service",
        detail: e.to_string(),
    })
}

/// The command that ships `package_id` as `handover` says, as the order's next shipment
/// from the fulfillment order that packed it.
fn ship_command(
    order: &Order,
    package_id: &Id,
    handover: &Handover,
    capture: CaptureMode,
) -> Result<OrderCommand, AppError> {
    let (fo, _) = order
        .package(package_id)
        .ok_or_else(|| unknown_package(package_id))?;
    Ok(OrderCommand::Ship {
        ship: ShipPackage {
            fulfillment_id: fo.id.clone(),
            package_id: package_id.clone(),
            shipment_id: order.next_shipment_id(),
            carrier: handover.carrier.clone(),
            service: handover.service.clone(),
            tracking_number: handover.tracking_number.clone(),
            promised_by: handover.promised_by,
            price_minor: handover.price_minor,
            ready_for_pickup_at: handover.ready_for_pickup_at,
        },
        capture,
    })
}

#[cfg(test)]
#[path = "commands_tests.rs"]
mod tests;
