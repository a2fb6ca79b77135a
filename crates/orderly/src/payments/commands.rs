//! Money commands and the provider round trips around them. A command records intents
//! (operations) inside the write transaction and commits; only then is the provider
//! called, outside any transaction, and its answer recorded by a second command. Store
//! credit needs no provider, so its operations are settled inside the first transaction,
//! as reactions the runner executes (`runner.rs`).

use crate::app::Origin;
use crate::app::error::AppError;
use crate::app::exchanges::follow;
use crate::app::runner::run;
use crate::app::{Answer, App, Idempotency, Outcome};
use crate::config::Config;
use crate::providers::{OpRequest, ProviderAnswer, ProviderResult};
use jiff::Timestamp;
use orderly_domain::actor::Actor;
use orderly_domain::order::{Order, OrderCommand, OrderError, is_internal};
use orderly_domain::payment::{EntryKind, OpKind, OpOutcome, OpStatus, PaymentOp};
use orderly_domain::values::Id;
use orderly_store::WriteTx;
use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};

/// At most this many provider calls follow one command (authorize, then capture, …).
const MAX_CALLS_PER_COMMAND: usize = 16;

pub(crate) use crate::orders::placing::payment_id;

/// The order a payment or operation id belongs to (see `payment_id`).
pub(crate) fn order_of(payment_or_op_id: &str) -> Option<String> {
    Id::order_of_child(payment_or_op_id, "pay").map(|id| id.to_string())
}

/// Ids of pending operations a provider must answer.
pub(crate) fn external_pending(order: &Order) -> Vec<Id> {
    order
        .payment_ops
        .iter()
        .filter(|o| o.status == OpStatus::Pending && !is_internal(order, &o.id))
        .map(|o| o.id.clone())
        .collect()
}

/// What a command left for the providers: the operations it requested, the token of the
/// payment it added, and whether its answer is the operations' outcome.
#[derive(Debug, Default)]
pub(crate) struct Requested {
    pub ops: Vec<Id>,
    pub fresh: Option<FreshToken>,
    pub report: bool,
}

/// How a client's stored response follows the provider's answers to its command.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub idem: Idempotency,
    /// How the command answered before any provider was called.
    pub answer: Answer,
    /// For captures and refunds: the operations whose outcome is the answer.
    pub reported_ops: Option<Vec<Id>>,
}

impl Reply {
    fn answer_for(&self, order: &Order) -> Answer {
        match &self.reported_ops {
            Some(ops) => operations_answer(order, ops),
            None => self.answer,
        }
    }
}

/// Refused when the provider refused one of `ops`, accepted while one waits for an
/// answer (the timer worker asks again), done when all went through.
pub(crate) fn operations_answer(order: &Order, ops: &[Id]) -> Answer {
    let status = |id: &Id| order.op(id).map(|o| o.status);
    if ops.iter().any(|id| status(id) == Some(OpStatus::Failed)) {
        Answer::PaymentRefused
    } else if ops.iter().any(|id| status(id) == Some(OpStatus::Pending)) {
        Answer::Accepted
    } else {
        Answer::Done
    }
}

/// A provider token handed in with the command that added its payment. It never enters
/// the order (events and snapshots are readable by every role): it is kept in the store
/// beside the order, in the same transaction, and the first authorization uses it from
/// here without reading it back; a re-drive reads it from the store.
#[derive(Debug, Clone)]
pub(crate) struct FreshToken {
    pub(crate) payment_id: Id,
    pub(crate) token: String,
}

/// Keeps `token` for the payments `order` has and `before` had not (the one a command
/// just added), and says which it is kept for. A payment not added (the command was a
/// replay, or nothing was left to pay) keeps nothing.
pub(crate) fn keep_token(
    tx: &mut dyn WriteTx,
    before: &[Id],
    order: &Order,
    token: Option<&str>,
    at: Timestamp,
) -> Result<Option<FreshToken>, AppError> {
    let Some(token) = token else {
        return Ok(None);
    };
    let Some(added) = order.payments.iter().find(|p| !before.contains(&p.id)) else {
        return Ok(None);
    };
    tx.save_payment_token(added.id.as_str(), order.id.as_str(), token, at)?;
    Ok(Some(FreshToken {
        payment_id: added.id.clone(),
        token: token.to_owned(),
    }))
}

impl From<ProviderAnswer> for OpOutcome {
    fn from(a: ProviderAnswer) -> OpOutcome {
        match a {
            ProviderAnswer::Approved {
                reference,
                authorization_expires_at,
            } => OpOutcome::Succeeded {
                provider_reference: Some(reference),
                authorization_expires_at,
            },
            ProviderAnswer::Declined { code, message } => OpOutcome::Failed { code, message },
        }
    }
}

impl App {
    /// Another way to pay for order `id`, e.g. a new card after a decline; a successful
    /// authorization releases the `payment_failed` hold and resolves its entry.
    pub async fn add_payment(
        &self,
        id: String,
        idem: Option<Idempotency>,
        origin: Origin,
        choice: crate::orders::placing::PaymentChoice,
    ) -> Result<Outcome, AppError> {
        let token = choice.token.clone();
        self.command_with_token(id, idem, origin, None, token, move |_, order| {
            Ok(OrderCommand::AddPayment(
                orderly_domain::order::NewPayment {
                    id: payment_id(&order.id, order.payments.len() + 1),
                    method: choice.method,
                    provider: choice.provider.clone(),
                    fingerprint: choice.fingerprint.clone(),
                    last4: choice.last4.clone(),
                },
            ))
        })
        .await
    }

    /// Runs a command on an existing order (by id or number) under an optional
    /// idempotency key, then drives the provider operations it requested and returns
    /// the order as it stands after their answers.
    pub(crate) async fn order_command<F>(
        &self,
        id_or_number: String,
        idem: Option<Idempotency>,
        origin: Origin,
        at: Option<Timestamp>,
        make: F,
    ) -> Result<Outcome, AppError>
    where
        F: Fn(&Order) -> Result<OrderCommand, AppError> + Send + 'static,
    {
        self.command_with_token(id_or_number, idem, origin, at, None, move |_, order| {
            make(order)
        })
        .await
    }

    /// `order_command` for a command that may add a payment paid with `token`, which is
    /// kept beside the order (see `FreshToken`), or whose making reads more facts from
    /// the transaction than the order (`make` gets it: a return's catalog rows, a number).
    pub(crate) async fn command_with_token<F>(
        &self,
        id_or_number: String,
        idem: Option<Idempotency>,
        origin: Origin,
        at: Option<Timestamp>,
        token: Option<String>,
        make: F,
    ) -> Result<Outcome, AppError>
    where
        F: Fn(&mut dyn WriteTx, &Order) -> Result<OrderCommand, AppError> + Send + 'static,
    {
        let config = self.config.clone();
        let new_ops = Arc::new(Mutex::new((Vec::new(), false, None)));
        let seen = new_ops.clone();
        let meta_origin = origin.clone();
        let (clock, ids) = (self.clock.clone(), self.ids.clone());
        // Held until the provider answered, so a retry never sees the unsettled order.
        let _guard = idem.as_ref().map(|i| self.claim(i)).transpose()?;
        let outcome = self
            .write_under_key(idem.clone(), move |tx| {
                let order = tx
                    .load_order(&id_or_number)?
                    .ok_or(AppError::Order(OrderError::NotFound))?;
                crate::app::auth::in_scope(&meta_origin.actor, &order)?;
                let before: HashSet<Id> = order.payment_ops.iter().map(|o| o.id.clone()).collect();
                let payments: Vec<Id> = order.payments.iter().map(|p| p.id.clone()).collect();
                let refunds: HashSet<Id> = order.refunds.iter().map(|r| r.id.clone()).collect();
                let cmd = make(tx, &order)?;
                crate::app::auth::authorize_order(&meta_origin.actor, &cmd)?;
                // Moving money answers with how the provider answered.
                let report = matches!(
                    cmd,
                    OrderCommand::Capture { .. }
                        | OrderCommand::Refund(_)
                        | OrderCommand::RetryRefund { .. }
                );
                let meta = meta_origin.meta(at.unwrap_or_else(|| clock.now()));
                let order = run(tx, order, cmd, &meta, &config, ids.as_ref())?;
                within_refund_limit(&meta_origin.actor, &config, &order, &refunds)?;
                let order = follow(tx, order, &meta, &config, ids.as_ref())?;
                let kept = keep_token(tx, &payments, &order, token.as_deref(), meta.at)?;
                let fresh: Vec<Id> = external_pending(&order)
                    .into_iter()
                    .filter(|id| !before.contains(id))
                    .collect();
                if let Ok(mut s) = seen.lock() {
                    *s = (fresh, report, kept);
                }
                Ok(Outcome::Order(Answer::Done, Box::new(order)))
            })
            .await?;
        let (ops, report, fresh) = new_ops.lock().map(|v| v.clone()).unwrap_or_default();
        let requested = Requested { ops, fresh, report };
        self.settle_outcome(outcome, requested, idem, &origin, at)
            .await
    }

    /// Drives the operations a command requested of the outcome's order and, when the
    /// client's key stored the response, points it at the settled version so a replay
    /// shows the same. With `report` (captures and refunds) the answer is the
    /// operations' outcome (see `operations_answer`).
    pub(crate) async fn settle_outcome(
        &self,
        outcome: Outcome,
        requested: Requested,
        idem: Option<Idempotency>,
        origin: &Origin,
        at: Option<Timestamp>,
    ) -> Result<Outcome, AppError> {
        let Requested { ops, fresh, report } = requested;
        let fresh = fresh.as_ref();
        let Outcome::Order(answer, order) = outcome else {
            return Ok(outcome);
        };
        if ops.is_empty() {
            return Ok(Outcome::Order(answer, order));
        }
        let reply = idem.map(|idem| Reply {
            idem,
            answer,
            reported_ops: report.then(|| ops.clone()),
        });
        let settled = self
            .settle(*order, ops.clone(), fresh, reply.as_ref(), origin, at)
            .await?;
        let answer = if report {
            operations_answer(&settled, &ops)
        } else {
            answer
        };
        Ok(Outcome::Order(answer, Box::new(settled)))
    }

    /// Calls the provider for each operation and records its answer; answers that lead
    /// to further operations (a capture after an authorization) are driven too. An
    /// operation without a definite answer stays pending for the timer worker. With the
    /// client's key, each recording also points the stored response at the new version.
    /// An authorization uses `fresh` when it is its payment's token, else the kept one.
    pub(crate) async fn settle(
        &self,
        mut order: Order,
        ops: Vec<Id>,
        fresh: Option<&FreshToken>,
        reply: Option<&Reply>,
        origin: &Origin,
        at: Option<Timestamp>,
    ) -> Result<Order, AppError> {
        let mut queue: VecDeque<Id> = ops.into();
        let mut calls = 0;
        while let Some(op_id) = queue.pop_front() {
            if calls == MAX_CALLS_PER_COMMAND {
                break;
            }
            calls += 1;
            let Some(op) = order
                .op(&op_id)
                .filter(|o| o.status == OpStatus::Pending)
                .cloned()
            else {
                continue;
            };
            match self
                .call_provider(&order, &op, fresh, at.unwrap_or_else(|| self.now()))
                .await
            {
                Ok(answer) => {
                    let (next, more) = self
                        .record_outcome(&order.id, &op_id, answer.into(), reply, origin, at)
                        .await?;
                    order = next;
                    queue.extend(more);
                }
                Err(e) => {
                    tracing::warn!(op = %op_id, error = %e, "payment operation left pending; the timer worker re-drives it")
                }
            }
        }
        Ok(order)
    }

    /// Records a provider's answer; returns the order and the operations it led to.
    pub(crate) async fn record_outcome(
        &self,
        order_id: &Id,
        op_id: &Id,
        outcome: OpOutcome,
        reply: Option<&Reply>,
        origin: &Origin,
        at: Option<Timestamp>,
    ) -> Result<(Order, Vec<Id>), AppError> {
        let config = self.config.clone();
        let reply = reply.cloned();
        let (order_id, op_id, origin) = (order_id.to_string(), op_id.clone(), origin.clone());
        let (clock, ids) = (self.clock.clone(), self.ids.clone());
        self.store
            .write(move |tx| {
                let order = tx
                    .load_order(&order_id)?
                    .ok_or(AppError::Order(OrderError::NotFound))?;
                let before: HashSet<Id> = order.payment_ops.iter().map(|o| o.id.clone()).collect();
                let cmd = OrderCommand::RecordOutcome {
                    op_id: op_id.clone(),
                    outcome: outcome.clone(),
                    capture: crate::app::runner::capture_mode(&config, &order),
                };
                let meta = origin.meta(at.unwrap_or_else(|| clock.now()));
                let order = run(tx, order, cmd, &meta, &config, ids.as_ref())?;
                if let Some(r) = &reply {
                    tx.repoint_idempotency(
                        &r.idem.principal,
                        &r.idem.key,
                        order.id.as_str(),
                        order.version,
                        r.answer_for(&order).stored(),
                    )?;
                }
                let more = external_pending(&order)
                    .into_iter()
                    .filter(|id| !before.contains(id))
                    .collect();
                Ok((order, more))
            })
            .await
    }

    /// One call to the payment's provider for `op`. Only an authorization is given the
    /// customer's token (`fresh` when it is this payment's, else the one kept in the
    /// store); the other operations name the provider's authorization reference.
    pub(crate) async fn call_provider(
        &self,
        order: &Order,
        op: &PaymentOp,
        fresh: Option<&FreshToken>,
        now: Timestamp,
    ) -> ProviderResult {
        let payment = order.payment(&op.payment_id).ok_or_else(|| {
            crate::providers::ProviderError::Unavailable(format!("no payment {}", op.payment_id))
        })?;
        let provider = self.provider(&payment.provider).ok_or_else(|| {
            crate::providers::ProviderError::Unavailable(format!(
                "no provider {}",
                payment.provider
            ))
        })?;
        let authorization = order
            .ledger
            .iter()
            .find(|e| e.payment_id == op.payment_id && e.kind == EntryKind::Authorize)
            .and_then(|e| e.provider_reference.clone());
        let token = match fresh.filter(|f| f.payment_id == op.payment_id) {
            _ if op.kind != OpKind::Authorize => None,
            Some(f) => Some(f.token.clone()),
            None => {
                let payment_id = op.payment_id.to_string();
                self.store
                    .read(move |r| r.payment_token(&payment_id))
                    .await
                    .map_err(|e| {
                        crate::providers::ProviderError::Unavailable(format!(
                            "the payment's token could not be read: {e}"
                        ))
                    })?
            }
        };
        let req = OpRequest {
            idempotency_key: op.id.as_str(),
            payment_id: op.payment_id.as_str(),
            token: token.as_deref(),
            authorization_reference: authorization.as_deref(),
            amount_minor: op.amount_minor,
            currency: order.currency.as_str(),
            now,
        };
        match op.kind {
            OpKind::Authorize => provider.authorize(req).await,
            OpKind::Capture => provider.capture(req).await,
            OpKind::Void => provider.void(req).await,
            OpKind::Refund => provider.refund(req).await,
            OpKind::Reduce => provider.reduce(req).await,
        }
    }
}

/// A refund may not exceed the refunding role's limit (`payments.refund_limits`): the
/// amount is the one the decision arrived at, so a refund by lines is judged by its
/// money as surely as one by amount.
fn within_refund_limit(
    actor: &Actor,
    config: &Config,
    order: &Order,
    before: &HashSet<Id>,
) -> Result<(), AppError> {
    let Some(role) = actor.role() else {
        return Ok(());
    };
    let asked: i64 = order
        .refunds
        .iter()
        .filter(|r| !before.contains(&r.id))
        .map(|r| r.amount_minor)
        .sum();
    if asked == 0 || config.payments.may_refund(role, asked) {
        Ok(())
    } else {
        Err(AppError::Forbidden {
            role: role.as_str(),
            action: "refund this much (beyond the role's refund limit)",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payment_ids_lead_back_to_their_order() {
        let order = Id::new("ord_0193abc");
        let pay = payment_id(&order, 2);
        assert_eq!(pay.as_str(), "pay_0193abc_2");
        assert_eq!(order_of(pay.as_str()).as_deref(), Some("ord_0193abc"));
        assert_eq!(
            order_of("pay_0193abc_2.auth1").as_deref(),
            Some("ord_0193abc")
        );
        assert_eq!(order_of("evt_1"), None);
    }
}
