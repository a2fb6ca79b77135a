//! Exchanges span two orders: the return lives in the order it came from, the
//! replacement ships in an exchange order of its own, placed when the return is
//! authorized so its stock is reserved at once. What one order's return calls for in the
//! other is decided here from the return's state, after every command, in the same
//! transaction: place the exchange order (held `awaiting_return_items`, its price less
//! the returned goods' value), release that hold once the goods are on their way, and
//! cancel it (its reservation released) if the return expires or is cancelled first.
//! Each step is an ordinary order command, and each is due only once, so running this
//! again finds nothing to do.

use crate::app::clock::IdSource;
use crate::app::error::AppError;
use crate::app::runner::{capture_mode, react, run};
use crate::config::Config;
use crate::orders::placing::{PlaceEnv, PlaceInput, Placed, Terms, place_in_tx};
use orderly_domain::order::{
    CancelOrder, CancelReason, EXCHANGE_PREFIX, ExchangeOrder, HoldChange, HoldReason, Order,
    OrderCommand, OrderError, OrderState, Return, exchange_due,
};
use orderly_domain::returns::ReturnState;
use orderly_domain::values::Id;
use orderly_store::{EventMeta, WriteTx};

/// What `order`'s returns call for in their exchange orders; returns `order` as it
/// stands after (an exchange order placed is recorded on it).
pub(crate) fn follow(
    tx: &mut dyn WriteTx,
    mut order: Order,
    meta: &EventMeta,
    config: &Config,
    ids: &dyn IdSource,
) -> Result<Order, AppError> {
    let due: Vec<Return> = order
        .returns
        .iter()
        .filter(|r| exchange_due(r) || r.exchange.is_some())
        .cloned()
        .collect();
    for ret in due {
        match &ret.exchange {
            None => {
                let exchange = place_exchange(tx, &order, &ret, meta, config, ids)?;
                let cmd = OrderCommand::RecordExchange {
                    return_id: ret.id.clone(),
                    exchange,
                };
                order = run(tx, order, cmd, meta, config, ids)?;
            }
            Some(x) => settle_exchange(tx, &ret, x, meta, config, ids)?,
        }
    }
    Ok(order)
}

/// Places (or finds, when this runs again) the exchange order of `ret`: the replacement
/// for every returned unit, the returned value as its discount, reserved now, held
/// until the goods come back, due by the return's shipping date.
fn place_exchange(
    tx: &mut dyn WriteTx,
    order: &Order,
    ret: &Return,
    meta: &EventMeta,
    config: &Config,
    ids: &dyn IdSource,
) -> Result<ExchangeOrder, AppError> {
    let terms = ret.judgement.exchange.as_ref().ok_or_else(|| {
        AppError::Internal(format!("return {} is an exchange without terms", ret.rma))
    })?;
    let units = u32::try_from(ret.items.len()).unwrap_or(u32::MAX);
    let price = terms.unit_price_minor.saturating_mul(i64::from(units));
    let credit = ret.judgement.value_minor.min(price).max(0);
    let channel = config
        .channel(order.channel.as_str())
        .ok_or_else(|| AppError::Internal(format!("channel {} is gone", order.channel)))?;
    let input = PlaceInput {
        channel: channel.id.clone(),
        external_id: Some(format!("{EXCHANGE_PREFIX}{}", ret.rma)),
        currency: order.currency.clone(),
        customer: order.customer.clone(),
        shipping_address: order.shipping_address.clone(),
        billing_address: order.billing_address.clone(),
        lines: vec![(terms.sku.clone(), units, terms.unit_price_minor)],
        shipping_amount: 0,
        tax_amount: 0,
        discount_amount: credit,
        declared_total: None,
        payment: None,
        delivery: None,
    };
    let locations = config.location_facts();
    let env = PlaceEnv {
        channel,
        locations: &locations,
        config,
        ship_to: config.geocode(
            order.shipping_address.country.as_str(),
            order.shipping_address.region.as_deref(),
        ),
        ids,
    };
    let placing = Terms {
        reserve_now: true,
        free_allowed: true,
        payment_due_at: Some(ret.ship_by),
    };
    let placed = match place_in_tx(tx, &input, &env, meta, placing)? {
        Placed::Existing(o) => o,
        Placed::New(o) => {
            // Held before anything follows, so it is not released to the warehouse
            // before the returned goods are on their way.
            let hold = OrderCommand::PlaceHold(HoldChange {
                reason: HoldReason::AwaitingReturnItems,
                note: Some(format!("exchange for return {}", ret.rma)),
            });
            let events = orderly_domain::order::decide(Some(&o), hold, None)?;
            let o = tx.append(Some(o), &events, meta)?;
            react(tx, o, meta, config, ids)?
        }
    };
    if placed
        .lines
        .iter()
        .any(|l| l.buckets.allocated < l.buckets.ordered)
    {
        // The replacement must be reserved now: without stock there is no exchange.
        return Err(AppError::Order(OrderError::OutOfStock {
            skus: vec![terms.sku.clone()],
            lines: vec![1],
        }));
    }
    Ok(ExchangeOrder {
        order_id: placed.id.clone(),
        order_number: placed.number.clone(),
        sku: terms.sku.clone(),
        units,
        credit_minor: credit,
        to_pay_minor: price - credit,
    })
}

/// Releases the exchange order once the returned goods are on their way, or cancels it
/// (releasing its reservation) when the return ended without them.
fn settle_exchange(
    tx: &mut dyn WriteTx,
    ret: &Return,
    x: &ExchangeOrder,
    meta: &EventMeta,
    config: &Config,
    ids: &dyn IdSource,
) -> Result<(), AppError> {
    let Some(exchange) = tx.load_order(x.order_id.as_str())? else {
        return Err(AppError::Internal(format!(
            "exchange order {} of {} is gone",
            x.order_id, ret.rma
        )));
    };
    let held = exchange.hold(HoldReason::AwaitingReturnItems).is_some();
    let cmd = match ret.state {
        ReturnState::InTransit
        | ReturnState::Received
        | ReturnState::Inspected
        | ReturnState::Completed
            if held =>
        {
            OrderCommand::ReleaseHold {
                hold: HoldChange {
                    reason: HoldReason::AwaitingReturnItems,
                    note: Some(format!("return {} is on its way", ret.rma)),
                },
                capture: capture_mode(config, &exchange),
            }
        }
        ReturnState::Cancelled | ReturnState::Expired
            if exchange.state != OrderState::Cancelled
                && exchange.lines.iter().all(|l| l.buckets.shipped == 0) =>
        {
            OrderCommand::Cancel(CancelOrder {
                reason: CancelReason::Other,
                note: Some(format!("return {} is {}", ret.rma, ret.state.as_str())),
                refund_id: Id::new(ids.new_id("ref")),
            })
        }
        _ => return Ok(()),
    };
    run(tx, exchange, cmd, meta, config, ids)?;
    Ok(())
}
