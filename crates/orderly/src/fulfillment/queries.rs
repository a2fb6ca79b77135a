//! Reading fulfillment, for every interface: a fulfillment order, package or shipment
//! with the order it belongs to, a shipment's label, and waves with their pick lists.
//! Each read is authorized here, once, as commands are, so the API, the console and the
//! CLI show the same warehouse work to the same roles; the handlers only build views.

use crate::app::App;
use crate::app::auth::{Permission, authorize, channel_scope, sees_channel};
use crate::app::error::AppError;
use crate::providers::labels::{Label, LabelAddress};
use orderly_domain::actor::Actor;
use orderly_domain::fulfillment::FulfillmentState;
use orderly_domain::order::{FulfillmentOrder, Order, OrderError};
use orderly_domain::values::Id;
use orderly_store::{Reader, StoreError, WaveFilter, WaveRow, WaveSummary};
use std::collections::HashMap;

/// A wave with the orders its members belong to, read together.
pub struct WaveMembers {
    pub wave: WaveRow,
    /// Order id to order, each read once however many of its fulfillment orders joined.
    pub orders: HashMap<String, Order>,
}

impl WaveMembers {
    /// The members still to pick (released), with their orders, in the wave's order. A
    /// member picked, packed or cancelled since the wave was made is done.
    pub fn to_pick(&self) -> impl Iterator<Item = (&Order, &FulfillmentOrder)> {
        self.wave
            .members
            .iter()
            .filter_map(|(fulfillment_id, order_id)| {
                let order = self.orders.get(order_id)?;
                let fo = order
                    .fulfillment_orders
                    .iter()
                    .find(|f| f.id.as_str() == fulfillment_id)?;
                (fo.state == FulfillmentState::Released).then_some((order, fo))
            })
    }
}

/// A wave's pick list: its members, and the bin each SKU still to pick is kept in at the
/// wave's location (`None`: no bin recorded).
pub struct PickList {
    pub members: WaveMembers,
    pub bins: HashMap<String, Option<String>>,
}

/// The order a fulfillment order id (`ful_<order suffix>_<n>`) belongs to, read from
/// the id itself: no lookup.
pub fn order_of_fulfillment(id: &str) -> Result<String, AppError> {
    Id::order_of_child(id, "ful")
        .map(|o| o.to_string())
        .ok_or_else(|| AppError::Order(OrderError::UnknownFulfillmentOrder(id.to_owned())))
}

/// A location's address as a label prints it.
pub(crate) fn location_address(location: &crate::config::LocationConfig) -> LabelAddress {
    LabelAddress {
        name: location.name.clone(),
        line1: location.address.line1.clone(),
        line2: None,
        city: location.address.city.clone(),
        region: location.address.region.clone(),
        postal_code: location.address.postal_code.clone(),
        country: location.address.country.clone(),
    }
}

/// A customer's address as a label prints it.
pub(crate) fn customer_address(to: &orderly_domain::order::Address) -> LabelAddress {
    LabelAddress {
        name: to.name.clone(),
        line1: to.line1.clone(),
        line2: to.line2.clone(),
        city: to.city.clone(),
        region: to.region.clone(),
        postal_code: to.postal_code.clone(),
        country: to.country.to_string(),
    }
}

impl App {
    /// The order that holds fulfillment order `id` (`ful_…`).
    pub async fn order_of_fulfillment(&self, actor: &Actor, id: String) -> Result<Order, AppError> {
        authorize(actor, Permission::ReadOrders)?;
        let not_found = || AppError::Order(OrderError::UnknownFulfillmentOrder(id.clone()));
        let order = self
            .order_of_child(actor, &id, "ful")
            .await?
            .ok_or_else(not_found)?;
        if order.fulfillment_orders.iter().any(|f| f.id.as_str() == id) {
            Ok(order)
        } else {
            Err(not_found())
        }
    }

    /// The order that holds package `id` (`pkg_…`).
    pub async fn order_of_package(&self, actor: &Actor, id: String) -> Result<Order, AppError> {
        authorize(actor, Permission::ReadOrders)?;
        let package_id = Id::new(id.clone());
        self.order_of_child(actor, &id, "pkg")
            .await?
            .filter(|o| o.package(&package_id).is_some())
            .ok_or(AppError::Order(OrderError::UnknownPackage(id)))
    }

    /// The order that holds shipment `id` (`shp_…`).
    pub async fn order_of_shipment(&self, actor: &Actor, id: String) -> Result<Order, AppError> {
        authorize(actor, Permission::ReadOrders)?;
        let shipment_id = Id::new(id.clone());
        self.order_of_child(actor, &id, "shp")
            .await?
            .filter(|o| o.shipment(&shipment_id).is_some())
            .ok_or(AppError::Order(OrderError::UnknownShipment(id)))
    }

    /// The order a child id (`ful_…`, `pkg_…`, `shp_…`) names, read once; none when the id
    /// names no order, the order does not exist or `actor` may not see its channel.
    pub(crate) async fn order_of_child(
        &self,
        actor: &Actor,
        id: &str,
        prefix: &str,
    ) -> Result<Option<Order>, AppError> {
        let Some(order_id) = Id::order_of_child(id, prefix) else {
            return Ok(None);
        };
        let order_id = order_id.to_string();
        let order = self.store.read(move |r| r.order(&order_id)).await?;
        Ok(order.filter(|o| sees_channel(actor, o.channel.as_str())))
    }

    /// The shipping label of shipment `id` as a PDF, made from the order's facts on every
    /// request so it always matches them. The shipment's carrier prints it; a carrier
    /// Orderly does not book prints its own (`label_unavailable`).
    pub async fn shipment_label(&self, actor: &Actor, id: String) -> Result<Vec<u8>, AppError> {
        let order = self.order_of_shipment(actor, id.clone()).await?;
        let not_found = || AppError::Order(OrderError::UnknownShipment(id.clone()));
        let (fo, shipment) = order.shipment(&Id::new(id.clone())).ok_or_else(not_found)?;
        let package = fo
            .packages
            .iter()
            .find(|p| p.id == shipment.package_id)
            .ok_or_else(not_found)?;
        let location = self
            .config
            .locations
            .iter()
            .find(|l| l.id == fo.location_id.as_str())
            .ok_or_else(|| AppError::Internal(format!("no location {}", fo.location_id)))?;
        let to = &order.shipping_address;
        let label = Label {
            tracking_number: shipment.tracking_number.clone(),
            carrier: shipment.carrier.clone(),
            service: shipment.service.clone(),
            weight_grams: package.weight_grams,
            ship_from: location_address(location),
            ship_to: customer_address(to),
            order_number: order.number.clone(),
            package_id: package.id.to_string(),
        };
        let carrier = self
            .carrier(&shipment.carrier)
            .ok_or_else(|| AppError::Conflict {
                code: "label_unavailable",
                detail: format!("{} prints its own labels", shipment.carrier),
            })?;
        carrier.label(&label).map_err(|e| AppError::Conflict {
            code: "label_unavailable",
            detail: format!("no label can be printed for this shipment: {e}"),
        })
    }

    /// A wave with its members' orders.
    pub async fn wave(&self, actor: &Actor, id: String) -> Result<WaveMembers, AppError> {
        authorize_waves(actor)?;
        self.store
            .read(move |r| match r.wave(&id)? {
                Some(wave) => members(r, wave).map(Some),
                None => Ok(None),
            })
            .await?
            .ok_or_else(|| AppError::NotFound("wave".into()))
    }

    /// A wave with its members' orders and the bins of what is still to pick, in one
    /// read.
    pub async fn pick_list(&self, actor: &Actor, id: String) -> Result<PickList, AppError> {
        authorize_waves(actor)?;
        self.store
            .read(move |r| {
                let Some(wave) = r.wave(&id)? else {
                    return Ok(None);
                };
                let members = members(r, wave)?;
                let mut skus: Vec<&str> = members
                    .to_pick()
                    .flat_map(|(_, fo)| fo.lines.iter().filter(|l| l.quantity > 0))
                    .map(|l| l.sku.as_str())
                    .collect();
                skus.sort_unstable();
                skus.dedup();
                let bins = r
                    .bins(&members.wave.location_id, &skus)?
                    .into_iter()
                    .collect();
                Ok(Some(PickList { members, bins }))
            })
            .await?
            .ok_or_else(|| AppError::NotFound("wave".into()))
    }

    /// Shipments that left `location_id` in [`from`, `to`), oldest first, paged after
    /// the (shipped at, id) of the last one shown. Like waves, a location's work spans
    /// every channel, so a channel-bound key sees none.
    pub async fn shipped_from(
        &self,
        actor: &Actor,
        location_id: String,
        (from, to): (jiff::Timestamp, jiff::Timestamp),
        after: Option<(jiff::Timestamp, String)>,
        limit: u32,
    ) -> Result<Vec<orderly_store::ShippedRow>, AppError> {
        authorize(actor, Permission::ReadOrders)?;
        if channel_scope(actor).is_some() {
            return Ok(Vec::new());
        }
        Ok(self
            .store
            .read(move |r| r.shipped_from(&location_id, from, to, after, limit))
            .await?)
    }

    /// The waves `filter` matches, newest first.
    pub async fn waves(
        &self,
        actor: &Actor,
        filter: WaveFilter,
    ) -> Result<Vec<WaveSummary>, AppError> {
        authorize(actor, Permission::ReadOrders)?;
        if channel_scope(actor).is_some() {
            return Ok(Vec::new());
        }
        Ok(self.store.read(move |r| r.waves(&filter)).await?)
    }
}

/// Every member's order in one read (an order with several members is read once).
/// A wave gathers a location's work across every channel, so a channel-bound key sees
/// none: to it, as to a key of another channel's order, a wave is not found.
fn authorize_waves(actor: &Actor) -> Result<(), AppError> {
    authorize(actor, Permission::ReadOrders)?;
    match channel_scope(actor) {
        Some(_) => Err(AppError::NotFound("wave".into())),
        None => Ok(()),
    }
}

fn members(r: &mut dyn Reader, wave: WaveRow) -> Result<WaveMembers, StoreError> {
    let mut ids: Vec<&str> = wave.members.iter().map(|(_, o)| o.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    let orders = r
        .orders_by_id(&ids)?
        .into_iter()
        .map(|o| (o.id.to_string(), o))
        .collect();
    Ok(WaveMembers { wave, orders })
}
