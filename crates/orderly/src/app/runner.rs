//! The one way a command changes an order: decide, append, schedule the retries its
//! refusals earned, then run the follow-ups the domain's `reactions` call for, each as
//! an ordinary decision in the same transaction, until none is due. The rules of what
//! follows live in the domain (`order/reactions.rs`); this module only supplies what they
//! need from the store (a balance, the stock, a timer) and executes them, so every
//! interface and worker gets the same follow-ups.

use crate::app::clock::IdSource;
use crate::app::error::AppError;
use crate::config::Config;
use jiff::SignedDuration;
use orderly_domain::order::watch;
use orderly_domain::order::{
    Order, OrderCommand, Reaction, ReactionPolicy, ResolveReturn, SourcingContext, decide,
    reactions, source_waiting, store_credit_redemption, store_credit_settled,
};
use orderly_domain::payment::CaptureMode;
use orderly_domain::values::{Id, Sku};
use orderly_store::{EventMeta, NewTimer, WriteTx, timer_kind};

/// Rounds of reactions one command may set off. A round executes every reaction due and
/// the rules are asked again; a placement paid by store credit takes four (authorize,
/// capture, source, release). Running out is a bug in the rules, not a place to stop.
const MAX_ROUNDS: usize = 16;

/// Decides `cmd` against `order` and appends its events, schedules the retries of the
/// operations it saw refused, then runs what follows (`react`). A command that changes
/// nothing returns the order as it was, and nothing follows it.
pub(crate) fn run(
    tx: &mut dyn WriteTx,
    order: Order,
    cmd: OrderCommand,
    meta: &EventMeta,
    config: &Config,
    ids: &dyn IdSource,
) -> Result<Order, AppError> {
    let events = decide(Some(&order), cmd, None)?;
    if events.is_empty() {
        return Ok(order);
    }
    let order = tx.append(Some(order), &events, meta)?;
    crate::payments::retries::schedule_retries(tx, &order, &events, meta, config)?;
    react(tx, order, meta, config, ids)
}

/// Executes the reactions `order` calls for at `meta.at`, round after round, until none
/// is due or a round changes nothing (the rules read only the order, so they would ask
/// the same again), then keeps its watches (`watch`). Used after every decision, and by
/// the release timer on its own.
pub(crate) fn react(
    tx: &mut dyn WriteTx,
    order: Order,
    meta: &EventMeta,
    config: &Config,
    ids: &dyn IdSource,
) -> Result<Order, AppError> {
    let order = react_rounds(tx, order, meta, config, ids)?;
    watch(tx, order, meta, config)
}

/// Schedules the timers of the watches whose clocks started with this command, and
/// takes those whose condition ended out of their queues (`order::watch`).
fn watch(
    tx: &mut dyn WriteTx,
    order: Order,
    meta: &EventMeta,
    config: &Config,
) -> Result<Order, AppError> {
    let started = watch::started(&order, meta.at);
    if !started.is_empty() {
        let calendar = config
            .calendar
            .calendar()
            .map_err(|e| AppError::Internal(format!("the business calendar: {e:#}")))?;
        let keys = watch::timers(&started, &config.exceptions.thresholds(), calendar);
        let timers: Vec<NewTimer<'_>> = keys
            .iter()
            .map(|(key, due_at)| NewTimer {
                order_id: order.id.as_str(),
                kind: timer_kind::WATCH,
                ref_id: key,
                due_at: *due_at,
            })
            .collect();
        tx.schedule_timers(&timers)?;
    }
    if watch::ended(&order).is_empty() {
        return Ok(order);
    }
    let events = decide(Some(&order), OrderCommand::ClearWatches, None)?;
    Ok(tx.append(Some(order), &events, meta)?)
}

fn react_rounds(
    tx: &mut dyn WriteTx,
    mut order: Order,
    meta: &EventMeta,
    config: &Config,
    ids: &dyn IdSource,
) -> Result<Order, AppError> {
    let policy = ReactionPolicy {
        release_delay: SignedDuration::from_mins(i64::from(
            config.fulfillment.release_delay_minutes,
        )),
    };
    for _ in 0..MAX_ROUNDS {
        let due = reactions(&order, &policy, meta.at);
        if due.is_empty() {
            return Ok(order);
        }
        let version = order.version;
        for reaction in due {
            order = execute(tx, order, reaction, meta, config, ids)?;
        }
        if order.version == version {
            return Ok(order);
        }
    }
    if reactions(&order, &policy, meta.at).is_empty() {
        return Ok(order);
    }
    Err(AppError::Internal(format!(
        "order {}: reactions still due after {MAX_ROUNDS} rounds",
        order.id
    )))
}

/// Executes one reaction: reads what it needs, decides, and appends what was decided.
fn execute(
    tx: &mut dyn WriteTx,
    order: Order,
    reaction: Reaction,
    meta: &EventMeta,
    config: &Config,
    ids: &dyn IdSource,
) -> Result<Order, AppError> {
    let events = match reaction {
        Reaction::SettleStoreCredit {
            op_id,
            redeem_minor,
        } => {
            let outcome = match redeem_minor {
                Some(amount_minor) => {
                    let balance = tx.store_credit_balance(
                        order.customer.email.as_str(),
                        order.currency.as_str(),
                    )?;
                    store_credit_redemption(amount_minor, balance)
                }
                None => store_credit_settled(),
            };
            let cmd = OrderCommand::RecordOutcome {
                op_id,
                outcome,
                capture: capture_mode(config, &order),
            };
            decide(Some(&order), cmd, None)?
        }
        Reaction::SourceWaiting { skus } => source(tx, &order, &skus, config, ids)?,
        Reaction::Release => decide(
            Some(&order),
            OrderCommand::Release {
                fulfillment_id: None,
            },
            None,
        )?,
        Reaction::ResolveReturn { return_id } => decide(
            Some(&order),
            OrderCommand::ResolveReturn {
                resolve: ResolveReturn {
                    return_id,
                    refund_id: Id::new(ids.new_id("ref")),
                    waive_fee: false,
                    without_return: false,
                },
                now: meta.at,
            },
            None,
        )?,
        Reaction::CompleteReturn { return_id } => decide(
            Some(&order),
            OrderCommand::CompleteReturn { return_id },
            None,
        )?,
        Reaction::ScheduleRelease { due } => {
            tx.schedule_timers(&[NewTimer {
                order_id: order.id.as_str(),
                kind: timer_kind::RELEASE,
                ref_id: order.id.as_str(),
                due_at: due,
            }])?;
            Vec::new()
        }
    };
    if events.is_empty() {
        return Ok(order);
    }
    Ok(tx.append(Some(order), &events, meta)?)
}

/// Sources the order's waiting units of `skus` against the stock read inside this
/// transaction.
fn source(
    tx: &mut dyn WriteTx,
    order: &Order,
    skus: &[Sku],
    config: &Config,
    ids: &dyn IdSource,
) -> Result<Vec<orderly_domain::order::OrderEvent>, AppError> {
    let stock = tx.stock_view(skus)?;
    // Only when something waits (rare): the location facts are built here, not kept.
    let locations = config.location_facts();
    let ctx = SourcingContext {
        locations: &locations,
        stock: &stock,
        ship_to: config.geocode(
            order.shipping_address.country.as_str(),
            order.shipping_address.region.as_deref(),
        ),
        allow_backorders: config
            .channel(order.channel.as_str())
            .is_some_and(|c| c.allow_backorders),
        policy: config.sourcing,
    };
    Ok(source_waiting(order, &ctx, Id::new(ids.new_id("ref")))?)
}

/// The channel's capture policy for an order (authorization when the channel is gone).
pub(crate) fn capture_mode(config: &Config, order: &Order) -> CaptureMode {
    config
        .channel(order.channel.as_str())
        .map_or(CaptureMode::OnAuthorization, |c| c.capture)
}
