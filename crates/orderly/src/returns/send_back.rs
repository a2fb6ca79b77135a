//! Rejected goods going back to the customer. The customer's goods are theirs: a unit
//! inspection (or a person's decision) rejects and disposes `return_to_customer` leaves in
//! a parcel booked through a carrier from the location it waits at to the order's
//! shipping address, recorded on the return with its tracking number, and the return does
//! not end before every such unit has gone. The booking is a follow-on of the inspection,
//! made after it committed (a carrier is never called inside a write): one that fails
//! leaves the units waiting, shown on the return and in the returns queue
//! (`return_send_back`), and `POST /returns/{id}/send-back` books it again.

use crate::app::auth::{Permission, authorize};
use crate::app::error::AppError;
use crate::app::{App, Origin};
use crate::fulfillment::queries::{customer_address, location_address};
use crate::providers::carriers::all_quotes;
use crate::providers::labels::Label;
use orderly_domain::actor::Actor;
use orderly_domain::order::{Order, OrderCommand, OrderError, Return, SendBack};
use orderly_domain::values::Id;

impl App {
    /// Books the parcels the rejected units of `return_id` wait for, one per location, as
    /// the system's follow-on to the inspection that rejected them. A booking that fails
    /// is logged and leaves the units waiting (the returns queue shows them): the
    /// inspection itself stands, so its caller is not told it failed.
    pub(crate) async fn send_back_if_due(
        &self,
        order: Order,
        return_id: &Id,
        origin: &Origin,
    ) -> Order {
        let origin = Origin {
            actor: Actor::system("returns:send_back"),
            correlation_id: origin.correlation_id.clone(),
        };
        match self
            .book_send_backs(order.clone(), return_id, &origin)
            .await
        {
            Ok(order) => order,
            Err(e) => {
                tracing::warn!(
                    order = %order.number,
                    return_id = %return_id,
                    error = %e,
                    "rejected units wait for their parcel back to the customer"
                );
                order
            }
        }
    }

    /// `POST /returns/{id}/send-back`: books again the parcels rejected units wait for.
    pub async fn send_back_return_items(
        &self,
        return_ref: String,
        origin: Origin,
    ) -> Result<(Order, Id), AppError> {
        authorize(&origin.actor, Permission::ReceiveReturns)?;
        let (order, id) = self.return_with_order(&origin.actor, return_ref).await?;
        let ret = order
            .return_by_id(id.as_str())
            .ok_or_else(|| AppError::Order(OrderError::UnknownReturn(id.to_string())))?;
        if ret.send_back_due().is_empty() {
            return Err(AppError::Order(OrderError::ReturnState {
                rma: ret.rma.clone(),
                state: ret.state,
                doing: "send back units: none waits to go back to the customer",
            }));
        }
        let order = self.book_send_backs(order, &id, &origin).await?;
        Ok((order, id))
    }

    async fn book_send_backs(
        &self,
        mut order: Order,
        return_id: &Id,
        origin: &Origin,
    ) -> Result<Order, AppError> {
        loop {
            let Some(ret) = order.returns.iter().find(|r| &r.id == return_id) else {
                return Ok(order);
            };
            let due = ret.send_back_due();
            let Some(location_id) = due.iter().find_map(|(_, at)| *at).cloned() else {
                return Ok(order);
            };
            let item_nos: Vec<u32> = due
                .iter()
                .filter(|(_, at)| *at == Some(&location_id))
                .map(|(no, _)| *no)
                .collect();
            let send_back = self
                .book_send_back(&order, ret, item_nos, location_id)
                .await?;
            let cmd = OrderCommand::SendBackReturnItems {
                return_id: return_id.clone(),
                send_back,
            };
            order = self.record_booking(&order, origin, cmd).await?;
        }
    }

    /// The cheapest service that takes `item_nos` to the order's shipping address, booked.
    async fn book_send_back(
        &self,
        order: &Order,
        ret: &Return,
        item_nos: Vec<u32>,
        location_id: Id,
    ) -> Result<SendBack, AppError> {
        let weight = self.units_weight(skus_of(ret, &item_nos)).await?;
        let to = &order.shipping_address;
        let quotes = all_quotes(
            &self.carriers,
            to.country.as_str(),
            to.region.as_deref(),
            weight,
            self.now(),
        );
        let quote = quotes.first().ok_or_else(|| AppError::Conflict {
            code: "no_send_back_carrier",
            detail: format!(
                "no carrier takes a parcel from {location_id} to the customer in {}",
                to.country.as_str()
            ),
        })?;
        let carrier = self
            .carrier(&quote.carrier)
            .ok_or_else(|| AppError::Internal(format!("carrier {} is gone", quote.carrier)))?;
        let tracking_number = carrier.book().map_err(|e| {
            AppError::Unavailable(format!("booking the parcel back to the customer: {e:#}"))
        })?;
        Ok(SendBack {
            item_nos,
            carrier: quote.carrier.clone(),
            service: quote.service.clone(),
            tracking_number,
            location_id,
        })
    }

    /// The label of the `n`th (1-based) parcel that took rejected units back to the
    /// customer, as a 4x6 inch PDF: from the location to the order's shipping address.
    pub async fn send_back_label(
        &self,
        actor: &Actor,
        return_ref: String,
        n: usize,
    ) -> Result<Vec<u8>, AppError> {
        let (order, id) = self.return_with_order(actor, return_ref).await?;
        let ret = order
            .return_by_id(id.as_str())
            .ok_or_else(|| AppError::Order(OrderError::UnknownReturn(id.to_string())))?;
        let parcel = n
            .checked_sub(1)
            .and_then(|i| ret.send_backs.get(i))
            .ok_or_else(|| AppError::Conflict {
                code: "label_not_issued",
                detail: format!(
                    "return {} has {} parcels back to the customer, not a parcel {n}",
                    ret.rma,
                    ret.send_backs.len()
                ),
            })?;
        let location = self
            .config
            .locations
            .iter()
            .find(|l| l.id == parcel.location_id.as_str())
            .ok_or_else(|| AppError::Internal(format!("no location {}", parcel.location_id)))?;
        let printed = Label {
            tracking_number: parcel.tracking_number.clone(),
            carrier: parcel.carrier.clone(),
            service: parcel.service.clone(),
            weight_grams: self.units_weight(skus_of(ret, &parcel.item_nos)).await?,
            ship_from: location_address(location),
            ship_to: customer_address(&order.shipping_address),
            order_number: order.number.clone(),
            package_id: format!("{}-B{n}", ret.rma),
        };
        self.print_label(&printed)
    }
}

fn skus_of(ret: &Return, item_nos: &[u32]) -> Vec<orderly_domain::values::Sku> {
    ret.items
        .iter()
        .filter(|i| item_nos.contains(&i.item_no))
        .map(|i| i.sku.clone())
        .collect()
}
