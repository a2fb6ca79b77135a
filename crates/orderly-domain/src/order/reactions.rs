//! What follows a decision. Some facts ask for more work in the same transaction: a
//! store-credit operation has no provider to answer it, a confirmed order with units still
//! unallocated must be sourced, a confirmed order past its edit window goes to the
//! warehouses. These rules live here, as one pure function of the order, so that every
//! interface and worker gets the same follow-ups from the application's runner, and each
//! rule is tested without a store. The runner supplies what the rules cannot know (a
//! balance, the stock) and executes each reaction as an ordinary decision.

use super::payments::is_internal;
use super::state::{Order, OrderState};
use crate::Timestamp;
use crate::payment::{OpKind, OpOutcome, OpStatus};
use crate::values::{Id, Sku};
use jiff::SignedDuration;

/// The settings the rules follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReactionPolicy {
    /// How long after confirmation an order may still be edited before it is released
    /// to the warehouses (`fulfillment.release_delay_minutes`).
    pub release_delay: SignedDuration,
}

/// One follow-up the runner executes inside the transaction that made it due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reaction {
    /// Answer the store-credit operation `op_id` (no provider takes part). With
    /// `redeem_minor` it is an authorization redeeming that much of the customer's
    /// balance, which the runner reads (`store_credit_redemption`); any other operation
    /// cannot fail (`store_credit_settled`).
    SettleStoreCredit {
        op_id: Id,
        redeem_minor: Option<i64>,
    },
    /// Source the units still unallocated on a confirmed order: the runner reads the
    /// stock of `skus` (sorted, without duplicates) and decides with `source_waiting`.
    SourceWaiting { skus: Vec<Sku> },
    /// Release every pending fulfillment order (`OrderCommand::Release`).
    Release,
    /// The order was confirmed just now and its edit window is open: release it at
    /// `due` (a timer, which runs these rules again then).
    ScheduleRelease { due: Timestamp },
    /// The policy's refund timing came for a return: settle its money
    /// (`OrderCommand::ResolveReturn`, with a new refund id).
    ResolveReturn { return_id: Id },
    /// A return's goods are in and its money went through (`OrderCommand::CompleteReturn`).
    CompleteReturn { return_id: Id },
}

/// The reactions `order` calls for at `now`, in the order they are to run; empty when
/// nothing follows. Money comes first: while a store-credit operation is pending only
/// those are answered (an answer may confirm the order, which the next rules read).
/// Then returns whose refund timing came are resolved, and those settled completed
/// (whatever the order's state: a completed order still takes returns). Then a
/// confirmed order's waiting units are sourced; then it is released, or its
/// release scheduled. A cancelled (or still pending, or completed) order is neither
/// sourced nor released, though its store-credit refunds are still settled.
///
/// The rules read only the order's state, so a runner that executes them and asks
/// again stops once a round changes nothing.
pub fn reactions(order: &Order, policy: &ReactionPolicy, now: Timestamp) -> Vec<Reaction> {
    let settle: Vec<Reaction> = order
        .payment_ops
        .iter()
        .filter(|o| o.status == OpStatus::Pending && is_internal(order, &o.id))
        .map(|o| Reaction::SettleStoreCredit {
            op_id: o.id.clone(),
            redeem_minor: (o.kind == OpKind::Authorize).then_some(o.amount_minor),
        })
        .collect();
    if !settle.is_empty() {
        return settle;
    }
    let returns: Vec<Reaction> = order
        .returns
        .iter()
        .filter_map(|r| {
            if super::rma_money::refund_due(r) && super::rma_money::can_resolve(order, r) {
                Some(Reaction::ResolveReturn {
                    return_id: r.id.clone(),
                })
            } else if !r.state.is_terminal() && super::rma_money::complete_due(order, r) {
                Some(Reaction::CompleteReturn {
                    return_id: r.id.clone(),
                })
            } else {
                None
            }
        })
        .collect();
    if !returns.is_empty() {
        return returns;
    }
    if order.state != OrderState::Confirmed {
        return Vec::new();
    }
    let mut skus: Vec<Sku> = order
        .lines
        .iter()
        .filter(|l| l.buckets.unallocated > 0)
        .map(|l| l.sku.clone())
        .collect();
    if !skus.is_empty() {
        skus.sort();
        skus.dedup();
        return vec![Reaction::SourceWaiting { skus }];
    }
    release(order, policy, now).into_iter().collect()
}

/// Releases a confirmed order once its edit window has passed and nothing blocks it (a
/// hold, a capture in flight). While the window is open, the release is scheduled at
/// confirmation, whatever blocks it then: a hold lifted or a capture answered inside the
/// window still leaves the timer to release, and one lifted later runs these rules again.
fn release(order: &Order, policy: &ReactionPolicy, now: Timestamp) -> Option<Reaction> {
    let confirmed_at = order.confirmed_at?;
    if !order.pending_fulfillment() {
        return None;
    }
    let due = confirmed_at
        .saturating_add(policy.release_delay)
        .unwrap_or(confirmed_at);
    if due > now {
        return (confirmed_at == now).then_some(Reaction::ScheduleRelease { due });
    }
    order
        .release_blockers()
        .is_empty()
        .then_some(Reaction::Release)
}

/// The answer to redeeming `amount_minor` of a customer's store credit whose balance is
/// `balance_minor`: it goes through when the balance covers it.
pub fn store_credit_redemption(amount_minor: i64, balance_minor: i64) -> OpOutcome {
    if balance_minor >= amount_minor {
        return store_credit_settled();
    }
    OpOutcome::Failed {
        code: "insufficient_store_credit".to_owned(),
        message: format!("store credit balance {balance_minor} is less than {amount_minor}"),
    }
}

/// The answer to a store-credit operation that cannot fail (a capture, void or refund).
pub fn store_credit_settled() -> OpOutcome {
    OpOutcome::Succeeded {
        provider_reference: Some("store_credit".to_owned()),
        authorization_expires_at: None,
    }
}
