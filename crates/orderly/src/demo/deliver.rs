//! Takes a demo order to the customer's door the way a warehouse and a carrier do: each
//! released fulfillment order is picked in full, packed by scanning every unit, shipped
//! with the service rate shopping chooses, and reported delivered by a carrier scan.
//! Nothing is written by hand, so a delivered demo order has exactly the history (and
//! the stock, money and timeline) a real one would, and returns can start from it.

use super::explain;
use crate::app::{App, Origin, Outcome};
use crate::fulfillment::commands::NewPackage;
use crate::fulfillment::handover::ShipRequest;
use crate::fulfillment::tracking::TrackingEvent;
use anyhow::Context;
use orderly_domain::order::{Order, OrderCommand};

/// What a demo package weighs and measures: inside the local carrier's lightest bracket
/// but one, which every demo parcel fits.
const PACKAGE_GRAMS: u32 = 1500;
const PACKAGE_MM: [u32; 3] = [300, 200, 100];

/// Picks, packs, ships and delivers every fulfillment order of `order`, the carrier's
/// scan dated at the app's clock. Answers with the order as it then stands.
pub async fn deliver(app: &App, origin: &Origin, order: Order) -> anyhow::Result<Order> {
    let order_id = order.id.to_string();
    let mut order = order;
    for fo in order.fulfillment_orders.clone() {
        let picked: Vec<(u32, u32)> = fo.lines.iter().map(|l| (l.line_no, l.quantity)).collect();
        let fulfillment_id = fo.id.clone();
        let pick_fo = fulfillment_id.clone();
        command(app, origin, &order_id, move |_| {
            Ok(OrderCommand::Pick {
                fulfillment_id: pick_fo.clone(),
                picked: picked.clone(),
            })
        })
        .await
        .with_context(|| format!("picking {fulfillment_id} of {}", order.number))?;
        let scans = fo
            .lines
            .iter()
            .flat_map(|l| std::iter::repeat_n(l.sku.to_string(), l.quantity as usize))
            .collect();
        let package = NewPackage {
            scans,
            weight_grams: PACKAGE_GRAMS,
            dimensions_mm: PACKAGE_MM,
        };
        let packed = app
            .pack(
                origin.clone(),
                None,
                order_id.clone(),
                fulfillment_id.clone(),
                package,
            )
            .await
            .map_err(explain)?;
        let package_id = packed
            .fulfillment_orders
            .iter()
            .find(|f| f.id == fulfillment_id)
            .and_then(|f| f.packages.last())
            .map(|p| p.id.clone())
            .context("packing made no package")?;
        let shipped = app
            .ship(
                origin.clone(),
                None,
                order_id.clone(),
                package_id.clone(),
                ShipRequest::default(),
            )
            .await
            .map_err(explain)?;
        let shipped = order_of(shipped)?;
        let shipment = shipped
            .fulfillment_orders
            .iter()
            .find_map(|f| f.shipment_of(&package_id))
            .context("shipping made no shipment")?;
        scan(
            app,
            &shipment.carrier,
            &shipment.tracking_number,
            "delivered",
            &order.shipping_address.city,
        )
        .await?;
        order = shipped;
    }
    app.order(&origin.actor, order_id).await.map_err(explain)
}

/// A carrier's scan of `tracking_number` (a shipment's, or a return parcel's RMA), as
/// `POST /tracking-events` records it once its signature is verified.
pub async fn scan(
    app: &App,
    carrier: &str,
    tracking_number: &str,
    status: &str,
    location: &str,
) -> anyhow::Result<()> {
    let occurred_at = app.now();
    let event = TrackingEvent {
        id: format!("demo-{tracking_number}-{status}"),
        carrier: carrier.to_owned(),
        tracking_number: tracking_number.to_owned(),
        status: status.to_owned(),
        occurred_at,
        location: Some(location.to_owned()),
    };
    let raw = serde_json::json!({
        "id": event.id, "carrier": event.carrier, "tracking_number": event.tracking_number,
        "status": event.status, "occurred_at": occurred_at.to_string(), "location": location,
    })
    .to_string();
    app.tracking_event(event, raw).await.map_err(explain)?;
    Ok(())
}

async fn command<F>(app: &App, origin: &Origin, order_id: &str, make: F) -> anyhow::Result<Order>
where
    F: Fn(&Order) -> Result<OrderCommand, crate::app::error::AppError> + Send + 'static,
{
    let outcome = app
        .order_command(order_id.to_owned(), None, origin.clone(), None, make)
        .await
        .map_err(explain)?;
    order_of(outcome)
}

fn order_of(outcome: Outcome) -> anyhow::Result<Order> {
    match outcome {
        Outcome::Order(_, order) => Ok(*order),
        Outcome::Body(..) => anyhow::bail!("an order command answered without its order"),
    }
}
