//! Reading returns, for every interface: one return with its order (by id or RMA
//! number), its label, and the list with its filters. Each read is authorized here, and
//! a return of a channel the actor may not see is not found, like its order.

use crate::app::App;
use crate::app::auth::{Permission, authorize, channel_scope, sees_channel};
use crate::app::error::AppError;
use crate::fulfillment::queries::{customer_address, location_address};
use crate::providers::labels::Label;
use orderly_domain::actor::Actor;
use orderly_domain::order::{Order, OrderError, Return};
use orderly_domain::values::{Id, Sku};
use orderly_store::{ReturnFilter, ReturnRecord};

/// How many of a customer's newest returns `customer_returns` shows.
pub const CUSTOMER_RETURNS: u32 = 50;

/// Why the policy treats a customer as a serial returner, as its latest judgement said.
pub struct SerialFlag {
    pub reason: String,
    pub rma: String,
    pub at: jiff::Timestamp,
}

/// A customer's newest returns, with the serial-returner flag their judgements raised.
pub struct CustomerReturns {
    pub returns: Vec<ReturnRecord>,
    pub serial_returner: Option<SerialFlag>,
}

fn not_found(id: &str) -> AppError {
    AppError::Order(OrderError::UnknownReturn(id.to_owned()))
}

impl App {
    /// The id of the order holding return `id_or_rma`: a return id (`rma_<order>_<n>`)
    /// names it; an RMA number is looked up.
    pub(crate) async fn order_of_return(
        &self,
        actor: &Actor,
        id_or_rma: &str,
    ) -> Result<String, AppError> {
        if let Some(order) = Id::order_of_child(id_or_rma, "rma") {
            return Ok(order.to_string());
        }
        let key = id_or_rma.to_owned();
        let row = self.store.read(move |r| r.return_row(&key)).await?;
        match row {
            Some(row) if sees_channel(actor, &row.channel) => Ok(row.order_id),
            _ => Err(not_found(id_or_rma)),
        }
    }

    /// A return (by id or RMA number) with its order.
    pub async fn return_with_order(
        &self,
        actor: &Actor,
        id_or_rma: String,
    ) -> Result<(Order, Id), AppError> {
        authorize(actor, Permission::ReadOrders)?;
        let order_id = self.order_of_return(actor, &id_or_rma).await?;
        let order = self
            .store
            .read(move |r| r.order(&order_id))
            .await?
            .filter(|o| sees_channel(actor, o.channel.as_str()))
            .ok_or_else(|| not_found(&id_or_rma))?;
        let id = order
            .return_by_id(&id_or_rma)
            .map(|r| r.id.clone())
            .ok_or_else(|| not_found(&id_or_rma))?;
        Ok((order, id))
    }

    /// The prepaid label of a return as a 4x6 inch PDF, its barcode the tracking number
    /// (the RMA, with the built-in carrier): from the customer back to the location.
    pub async fn return_label(
        &self,
        actor: &Actor,
        id_or_rma: String,
    ) -> Result<Vec<u8>, AppError> {
        let (order, id) = self.return_with_order(actor, id_or_rma).await?;
        let ret = order
            .return_by_id(id.as_str())
            .ok_or_else(|| not_found(id.as_str()))?;
        self.print_return_label(&order, ret).await
    }

    /// The PDF of `ret`'s prepaid label (no authorization: the caller has it, or is the
    /// worker mailing it to the customer).
    pub(crate) async fn print_return_label(
        &self,
        order: &Order,
        ret: &Return,
    ) -> Result<Vec<u8>, AppError> {
        let label = ret.label.as_ref().ok_or_else(|| AppError::Conflict {
            code: "label_not_issued",
            detail: format!(
                "return {} has no label: {}",
                ret.rma,
                if ret.judgement.return_shipping.issues_label() {
                    "it is not authorized, or its booking failed (POST …/label asks again)"
                } else {
                    "its policy has the customer ship it with a carrier of their own"
                }
            ),
        })?;
        let location = self
            .config
            .locations
            .iter()
            .find(|l| l.id == label.location_id.as_str())
            .ok_or_else(|| AppError::Internal(format!("no location {}", label.location_id)))?;
        let printed = Label {
            tracking_number: label.tracking_number.clone(),
            carrier: label.carrier.clone(),
            service: label.service.clone(),
            weight_grams: self.return_weight(ret).await?,
            ship_from: customer_address(&order.shipping_address),
            ship_to: location_address(location),
            order_number: order.number.clone(),
            package_id: ret.rma.clone(),
        };
        self.print_label(&printed)
    }

    /// `printed` as its carrier prints it (a PDF), or `label_unavailable` when that
    /// carrier prints its own labels.
    pub(crate) fn print_label(&self, printed: &Label) -> Result<Vec<u8>, AppError> {
        let carrier = self
            .carrier(&printed.carrier)
            .ok_or_else(|| AppError::Conflict {
                code: "label_unavailable",
                detail: format!("{} prints its own labels", printed.carrier),
            })?;
        carrier.label(printed).map_err(|e| AppError::Conflict {
            code: "label_unavailable",
            detail: format!("no label can be printed for this parcel: {e}"),
        })
    }

    /// What the return's units weigh by the catalog (at least a gram, for the carrier).
    pub(crate) async fn return_weight(&self, ret: &Return) -> Result<u32, AppError> {
        self.units_weight(ret.items.iter().map(|i| i.sku.clone()).collect())
            .await
    }

    /// What one unit of each of `skus` weighs together by the catalog (at least a gram).
    pub(crate) async fn units_weight(&self, skus: Vec<Sku>) -> Result<u32, AppError> {
        let wanted = skus.clone();
        let rows = self
            .store
            .read(move |r| {
                let skus: Vec<&str> = wanted.iter().map(|s| s.as_str()).collect();
                r.products_by_sku(&skus)
            })
            .await?;
        let weight: i64 = skus
            .iter()
            .map(|sku| {
                rows.iter()
                    .find(|p| p.sku == sku.as_str())
                    .map_or(0, |p| p.weight_grams)
            })
            .sum();
        Ok(u32::try_from(weight.max(1)).unwrap_or(u32::MAX))
    }

    /// The customer's newest returns in the channels `actor` sees, and the serial-returner
    /// flag: the reason the newest return whose judgement flagged the customer gave.
    pub async fn customer_returns(
        &self,
        actor: &Actor,
        email: orderly_domain::values::Email,
    ) -> Result<CustomerReturns, AppError> {
        authorize(actor, Permission::ReadOrders)?;
        let filter = ReturnFilter {
            customer_email: Some(email.as_str().to_owned()),
            channels: channel_scope(actor),
            limit: CUSTOMER_RETURNS,
            ..ReturnFilter::default()
        };
        Ok(self
            .store
            .read(move |r| {
                let returns = r.returns(&filter)?;
                let mut serial_returner = None;
                for row in &returns {
                    let Some(order) = r.order(&row.order_id)? else {
                        continue;
                    };
                    let flag = order.return_by_id(&row.id).and_then(|ret| {
                        Some(SerialFlag {
                            reason: ret.judgement.serial_returner.clone()?,
                            rma: ret.rma.clone(),
                            at: ret.requested_at,
                        })
                    });
                    if flag.is_some() {
                        serial_returner = flag;
                        break;
                    }
                }
                Ok(CustomerReturns {
                    returns,
                    serial_returner,
                })
            })
            .await?)
    }

    /// Returns matching `filter`, newest first, narrowed to the channels `actor` sees.
    pub async fn returns(
        &self,
        actor: &Actor,
        mut filter: ReturnFilter,
    ) -> Result<Vec<ReturnRecord>, AppError> {
        authorize(actor, Permission::ReadOrders)?;
        if let Some(scope) = channel_scope(actor) {
            filter.channels = Some(match filter.channels.take() {
                Some(asked) => asked.into_iter().filter(|c| scope.contains(c)).collect(),
                None => scope,
            });
        }
        Ok(self.store.read(move |r| r.returns(&filter)).await?)
    }
}
