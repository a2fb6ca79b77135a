//! Shipments: a package handed to a carrier (or put on the pickup counter) and what the
//! carrier has said about it since. Every scan is kept as reported; the shipment's status,
//! its last scan time and the exceptions it raised are read from the scans, so each fact
//! has one home and a late or repeated scan cannot leave a copy out of step.

use super::error::OrderError;
use super::event::{OrderEvent, PackageShipped, ShipmentDelayed, TrackingRecorded};
use super::fulfillment::FulfillmentOrder;
use super::state::Order;
use crate::Timestamp;
use crate::fulfillment::{ExceptionFlag, FulfillmentState, TrackingStatus};
use crate::payment::CaptureMode;
use crate::values::Id;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "StoredShipment")]
pub struct Shipment {
    pub id: Id,
    pub package_id: Id,
    pub carrier: String,
    pub service: String,
    pub tracking_number: String,
    pub shipped_at: Timestamp,
    pub promised_by: Option<Timestamp>,
    /// What the carrier's rate table charged for it (in the order's currency), when the
    /// service was one Orderly rates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_minor: Option<i64>,
    /// Every carrier scan, in the order they arrived.
    pub scans: Vec<Scan>,
    /// The one exception no scan carries: the watch found the shipment silent or past
    /// its promised date (`ShipmentDelayed`). The number is how many flags the scans had
    /// raised by then, which is the delay's place in `flags()`; it cannot be derived,
    /// because the watch's decision left no scan behind.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delayed_by_watch: Option<usize>,
}

/// One carrier scan as reported, kept even when it changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scan {
    pub status: TrackingStatus,
    pub occurred_at: Timestamp,
    pub location: Option<String>,
}

impl Shipment {
    /// The furthest status the carrier reported: a scan moves it only further along the
    /// way (`TrackingStatus::progress`), so a late scan never moves it back, and an
    /// exception scan (no progress) leaves it. `label_created` until a scan says more.
    pub fn status(&self) -> TrackingStatus {
        self.scans
            .iter()
            .fold(TrackingStatus::LabelCreated, |status, scan| {
                match (scan.status.progress(), status.progress()) {
                    (Some(new), Some(old)) if new > old => scan.status,
                    _ => status,
                }
            })
    }

    /// The time of the newest scan, or the shipping time when none is newer (a scan
    /// that arrives late, dated earlier, never moves it back).
    pub fn last_scan_at(&self) -> Timestamp {
        self.scans
            .iter()
            .map(|s| s.occurred_at)
            .fold(self.shipped_at, Timestamp::max)
    }

    /// The exceptions raised so far, each once, in the order they were first raised:
    /// those of the scans, and the watch's delay at its place among them.
    pub fn flags(&self) -> Vec<ExceptionFlag> {
        let mut flags = self.scan_flags();
        if let Some(place) = self.delayed_by_watch {
            let place = place.min(flags.len());
            // The watch raised the delay first; a scan saying so later adds nothing.
            flags.retain(|f| *f != ExceptionFlag::Delayed);
            flags.insert(place, ExceptionFlag::Delayed);
        }
        flags
    }

    /// The exceptions the scans raised, each once, in the order they were first raised.
    fn scan_flags(&self) -> Vec<ExceptionFlag> {
        let mut flags = Vec::new();
        for flag in self.scans.iter().filter_map(|s| s.status.flag()) {
            if !flags.contains(&flag) {
                flags.push(flag);
            }
        }
        flags
    }

    /// Whether a silence or a missed promise could still make it late: not once it is
    /// delivered, on a pickup shelf (the wait is the customer's), or already flagged
    /// delayed, lost or returned.
    pub fn watched(&self) -> bool {
        let done = matches!(
            self.status(),
            TrackingStatus::Delivered | TrackingStatus::ReadyForPickup
        );
        let flagged = self.flags().iter().any(|f| {
            matches!(
                f,
                ExceptionFlag::Delayed | ExceptionFlag::Lost | ExceptionFlag::ReturnedToSender
            )
        });
        !done && !flagged
    }

    /// Marks the watch's delay (a silence or a missed promise) where it falls among the
    /// flags raised so far; a shipment already delayed stays as it is.
    pub(super) fn flag_delayed(&mut self) {
        if !self.flags().contains(&ExceptionFlag::Delayed) {
            self.delayed_by_watch = Some(self.scan_flags().len());
        }
    }

    /// Keeps a scan. When it raises the delay exactly where the watch had put it, the
    /// watch's mark says nothing more and is dropped, so that one list of flags has one
    /// form (an old snapshot's list reads back into that same form, see `StoredShipment`).
    pub(super) fn record(&mut self, scan: Scan) {
        let raised = self.scan_flags();
        if scan.status.flag() == Some(ExceptionFlag::Delayed)
            && !raised.contains(&ExceptionFlag::Delayed)
            && self.delayed_by_watch == Some(raised.len())
        {
            self.delayed_by_watch = None;
        }
        self.scans.push(scan);
    }
}

/// A shipment as snapshots store it. Snapshots written before the status, last scan time
/// and flags were derived also hold `status`, `last_scan_at` (ignored: the scans say the
/// same) and `flags`, from which the watch's delay, the one flag no scan raised, is kept.
#[derive(Deserialize)]
struct StoredShipment {
    id: Id,
    package_id: Id,
    carrier: String,
    service: String,
    tracking_number: String,
    shipped_at: Timestamp,
    #[serde(default)]
    promised_by: Option<Timestamp>,
    #[serde(default)]
    price_minor: Option<i64>,
    #[serde(default)]
    scans: Vec<Scan>,
    #[serde(default)]
    delayed_by_watch: Option<usize>,
    #[serde(default)]
    flags: Option<Vec<ExceptionFlag>>,
}

impl From<StoredShipment> for Shipment {
    fn from(s: StoredShipment) -> Shipment {
        let mut shipment = Shipment {
            id: s.id,
            package_id: s.package_id,
            carrier: s.carrier,
            service: s.service,
            tracking_number: s.tracking_number,
            shipped_at: s.shipped_at,
            promised_by: s.promised_by,
            price_minor: s.price_minor,
            scans: s.scans,
            delayed_by_watch: s.delayed_by_watch,
        };
        if let Some(flags) = s.flags {
            shipment.delayed_by_watch = watch_delay_in(&flags, &shipment.scan_flags());
        }
        shipment
    }
}

/// Where the watch's delay sits in an old snapshot's `flags`: a delay listed before any
/// scan raised one was the watch's; one where the scans put it needs no mark (the form
/// `Shipment::record` keeps).
fn watch_delay_in(flags: &[ExceptionFlag], raised: &[ExceptionFlag]) -> Option<usize> {
    let at = |list: &[ExceptionFlag]| list.iter().position(|f| *f == ExceptionFlag::Delayed);
    let listed = at(flags)?;
    match at(raised) {
        Some(scanned) if scanned <= listed => None,
        _ => Some(listed),
    }
}

/// What shipping one package means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShipPackage {
    pub fulfillment_id: Id,
    pub package_id: Id,
    pub shipment_id: Id,
    pub carrier: String,
    pub service: String,
    pub tracking_number: String,
    pub promised_by: Option<Timestamp>,
    /// The rate table's price of the service, when Orderly rates it.
    pub price_minor: Option<i64>,
    /// Click and collect: the package is on the pickup counter from this time (no
    /// carrier takes it; the customer collecting it is its delivery).
    pub ready_for_pickup_at: Option<Timestamp>,
}

/// Ships a packed package. Under capture-on-shipment the shipment captures its share:
/// the value of its items, or everything still authorized once nothing is left to ship.
pub(super) fn ship(
    order: &Order,
    cmd: ShipPackage,
    capture: CaptureMode,
) -> Result<Vec<OrderEvent>, OrderError> {
    let fo = super::fulfillment::find(order, &cmd.fulfillment_id)?;
    let package = fo
        .packages
        .iter()
        .find(|p| p.id == cmd.package_id)
        .ok_or_else(|| OrderError::UnknownPackage(cmd.package_id.to_string()))?;
    if fo.shipment_of(&package.id).is_some() {
        return Err(OrderError::PackageAlreadyShipped(
            cmd.package_id.to_string(),
        ));
    }
    super::cancel_request::awaits_no_cancellation(order, &cmd.fulfillment_id)?;
    if !matches!(
        fo.state,
        FulfillmentState::Picking | FulfillmentState::Packed
    ) {
        return Err(super::fulfillment::wrong_state(fo, "ship"));
    }
    let value: i64 = package
        .items
        .iter()
        .map(|i| {
            let price = order
                .lines
                .iter()
                .find(|l| l.line_no == i.line_no)
                .map_or(0, |l| l.unit_price);
            price * i64::from(i.quantity)
        })
        .sum();
    let shipping: u32 = package.items.iter().map(|i| i.quantity).sum();
    let counter = cmd.ready_for_pickup_at.map(|at| {
        OrderEvent::TrackingRecorded(TrackingRecorded {
            shipment_id: cmd.shipment_id.clone(),
            status: TrackingStatus::ReadyForPickup,
            occurred_at: at,
            location: Some(fo.location_id.to_string()),
        })
    });
    let mut events = vec![OrderEvent::PackageShipped(PackageShipped {
        fulfillment_id: cmd.fulfillment_id,
        package_id: cmd.package_id,
        shipment_id: cmd.shipment_id,
        carrier: cmd.carrier,
        service: cmd.service,
        tracking_number: cmd.tracking_number,
        promised_by: cmd.promised_by,
        price_minor: cmd.price_minor,
    })];
    events.extend(counter);
    if capture == CaptureMode::OnShipment {
        let capturable: i64 = order.payments.iter().map(|p| order.capturable(&p.id)).sum();
        let to_ship: u32 = order
            .lines
            .iter()
            .map(|l| l.buckets.active() - l.buckets.shipped)
            .sum();
        let last = shipping >= to_ship;
        // Never more than the order still owes: an edit that lowered the total and
        // whose reduction the provider refused leaves more authorized than is due.
        let amount = if last {
            capturable
        } else {
            value.min(capturable)
        }
        .min(order.uncaptured_minor());
        if amount > 0
            && let Ok(ops) = super::payments::capture(order, Some(amount))
        {
            events.extend(ops);
        }
    }
    Ok(events)
}

pub(super) fn apply_ship(
    order: &mut Order,
    s: &PackageShipped,
    at: Timestamp,
) -> Result<(), &'static str> {
    let fo_index = order
        .fulfillment_orders
        .iter()
        .position(|f| f.id == s.fulfillment_id)
        .ok_or("no such fulfillment order")?;
    let location = order.fulfillment_orders[fo_index].location_id.clone();
    let fo = &mut order.fulfillment_orders[fo_index];
    if fo.shipment_of(&s.package_id).is_some() {
        return Err("the package has already shipped");
    }
    let package = fo
        .packages
        .iter()
        .find(|p| p.id == s.package_id)
        .ok_or("no unshipped package with that id")?;
    let items = package.items.clone();
    for item in &items {
        let line = fo
            .lines
            .iter_mut()
            .find(|l| l.line_no == item.line_no)
            .ok_or("unknown fulfillment line")?;
        line.shipped += item.quantity;
    }
    fo.shipments.push(Shipment {
        id: s.shipment_id.clone(),
        package_id: s.package_id.clone(),
        carrier: s.carrier.clone(),
        service: s.service.clone(),
        tracking_number: s.tracking_number.clone(),
        shipped_at: at,
        promised_by: s.promised_by,
        price_minor: s.price_minor,
        scans: Vec::new(),
        delayed_by_watch: None,
    });
    let all_out = fo.lines.iter().all(|l| l.shipped == l.quantity);
    if all_out {
        fo.state = FulfillmentState::Shipped;
    }
    for item in &items {
        super::fulfillment::unreserve(order, item.line_no, &location, item.quantity, true)?
            .shipped += item.quantity;
    }
    Ok(())
}

fn find_shipment<'a>(order: &'a Order, id: &Id) -> Result<&'a Shipment, OrderError> {
    order
        .fulfillment_orders
        .iter()
        .flat_map(|f| &f.shipments)
        .find(|s| &s.id == id)
        .ok_or_else(|| OrderError::UnknownShipment(id.to_string()))
}

/// Records a carrier scan. Every scan is kept; only newer progress moves the shipment.
pub(super) fn record_tracking(
    order: &Order,
    t: TrackingRecorded,
) -> Result<Vec<OrderEvent>, OrderError> {
    let shipment = find_shipment(order, &t.shipment_id)?;
    let seen = shipment
        .scans
        .iter()
        .any(|s| s.status == t.status && s.occurred_at == t.occurred_at);
    if seen {
        return Ok(Vec::new());
    }
    Ok(vec![OrderEvent::TrackingRecorded(t)])
}

/// Flags a shipment delayed when its promised date passed, or no scan came for
/// `silence_hours`, before delivery.
pub(super) fn check_delay(
    order: &Order,
    id: &Id,
    now: Timestamp,
    silence_hours: u32,
) -> Result<Vec<OrderEvent>, OrderError> {
    let s = find_shipment(order, id)?;
    if !s.watched() {
        return Ok(Vec::new());
    }
    let reason = if s.promised_by.is_some_and(|p| p <= now) {
        Some(format!(
            "promised by {} and not delivered",
            s.promised_by.map(crate::time::rfc3339).unwrap_or_default()
        ))
    } else {
        let last = s.last_scan_at();
        let silence = jiff::SignedDuration::from_hours(i64::from(silence_hours));
        (last.saturating_add(silence).unwrap_or(last) <= now).then(|| {
            format!(
                "no scan for {silence_hours} hours (last at {})",
                crate::time::Rfc3339(last)
            )
        })
    };
    Ok(reason
        .map(|reason| {
            OrderEvent::ShipmentDelayed(ShipmentDelayed {
                shipment_id: id.clone(),
                reason,
            })
        })
        .into_iter()
        .collect())
}

fn shipment_mut<'a>(
    order: &'a mut Order,
    id: &Id,
) -> Result<(usize, &'a mut Shipment), &'static str> {
    order
        .fulfillment_orders
        .iter_mut()
        .enumerate()
        .find_map(|(i, f)| f.shipments.iter_mut().find(|s| &s.id == id).map(|s| (i, s)))
        .ok_or("no such shipment")
}

pub(super) fn apply_tracking(order: &mut Order, t: &TrackingRecorded) -> Result<(), &'static str> {
    let (fo_index, shipment) = shipment_mut(order, &t.shipment_id)?;
    let was_delivered = shipment.status() == TrackingStatus::Delivered;
    shipment.record(Scan {
        status: t.status,
        occurred_at: t.occurred_at,
        location: t.location.clone(),
    });
    let newly_delivered = !was_delivered && shipment.status() == TrackingStatus::Delivered;
    let package_id = shipment.package_id.clone();
    if newly_delivered {
        let items = order.fulfillment_orders[fo_index]
            .packages
            .iter()
            .find(|p| p.id == package_id)
            .map(|p| p.items.clone())
            .ok_or("the shipment's package is missing")?;
        for item in items {
            let line = order
                .lines
                .iter_mut()
                .find(|l| l.line_no == item.line_no)
                .ok_or("unknown line")?;
            line.buckets.delivered += item.quantity;
        }
    }
    advance(&mut order.fulfillment_orders[fo_index]);
    Ok(())
}

/// Moves a shipped fulfillment order as far as its least advanced shipment.
fn advance(fo: &mut FulfillmentOrder) {
    if fo.state < FulfillmentState::Shipped || fo.state == FulfillmentState::Cancelled {
        return;
    }
    let least = fo
        .shipments
        .iter()
        .map(|s| s.status().progress().unwrap_or(0))
        .min()
        .unwrap_or(0);
    let state = match least {
        2 => FulfillmentState::InTransit,
        3 => FulfillmentState::OutForDelivery,
        4 => FulfillmentState::Delivered,
        _ => FulfillmentState::Shipped,
    };
    if fo.state.can_transition_to(state) {
        fo.state = state;
    }
}

pub(super) fn apply_delay(order: &mut Order, d: &ShipmentDelayed) -> Result<(), &'static str> {
    shipment_mut(order, &d.shipment_id)?.1.flag_delayed();
    Ok(())
}
