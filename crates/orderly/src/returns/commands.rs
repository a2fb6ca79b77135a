//! The return commands every interface runs: request (staff, or the customer with the
//! order's number and email), review within the role's approval limit, the prepaid
//! label, receipt by scan, inspection, resolution, cancellation and carrier news. Each
//! is an ordinary order command: the policy's judgement and the scans are read inside
//! the write transaction, and the money a resolution moves goes through the same
//! two-phase refund path as any refund, driven after the commit.

use crate::app::auth::{Permission, authorize};
use crate::app::error::AppError;
use crate::app::{App, Idempotency, Origin, Outcome};
use crate::providers::carriers::all_quotes;
use orderly_domain::actor::Actor;
use orderly_domain::order::{
    FieldIssue, ItemDecision, ItemInspection, Order, OrderCommand, OrderError, ReceiveReturn,
    RequestReturn, ResolveReturn, Return, ReturnLabel, ReturnScan, ReturnSource, ReviewReturn,
    label_due,
};
use orderly_domain::returns::{Acceptance, AskedItem, ReturnAsk, ReturnPolicy, Wanted, judge};
use orderly_domain::values::{Email, Gtin, Id, Sku};
use orderly_store::WriteTx;

/// A return as asked for, before the policy judges it.
#[derive(Debug, Clone)]
pub struct ReturnInput {
    pub items: Vec<AskedItem>,
    pub reason: String,
    pub wanted: Wanted,
    pub note: Option<String>,
    pub photos: Vec<String>,
    /// Staff only: take a final-sale item back anyway (sends it to review).
    pub final_sale_exception: bool,
    /// Staff only: look past the window (sends a late request to review).
    pub window_extension: bool,
    /// The customer's stated postage for a parcel they ship themselves.
    pub shipping_cost_minor: Option<i64>,
}

/// The request of `input` on `order`, judged at `now` by the policy version in force
/// when the order was placed, with its RMA number drawn.
pub(crate) fn request_command(
    tx: &mut dyn WriteTx,
    config: &crate::config::Config,
    order: &Order,
    input: &ReturnInput,
    source: ReturnSource,
    now: jiff::Timestamp,
) -> Result<OrderCommand, AppError> {
    let policy = policy_for(config, order)?;
    let facts = crate::returns::facts::gather(tx, order, &input.wanted, policy, now)?;
    let ask = ReturnAsk {
        items: input.items.clone(),
        reason: input.reason.clone(),
        wanted: input.wanted.clone(),
        final_sale_exception: input.final_sale_exception,
        window_extension: input.window_extension,
        shipping_cost_minor: input.shipping_cost_minor,
    };
    let judgement = judge(&facts, &ask, policy, now).map_err(AppError::Validation)?;
    let prefix = config
        .channel(order.channel.as_str())
        .map_or(order.channel.as_str(), |c| c.number_prefix.as_str());
    let rma = tx.next_rma_number(order.channel.as_str(), prefix)?;
    Ok(OrderCommand::RequestReturn(Box::new(RequestReturn {
        return_id: Id::child(&order.id, "rma", order.returns.len() + 1),
        rma,
        source,
        ask,
        note: input.note.clone(),
        photos: input.photos.clone(),
        facts,
        judgement,
    })))
}

/// Who asks: staff through a key, or the customer proving the order with its email.
#[derive(Debug, Clone)]
pub enum Requester {
    Staff,
    Customer { email: Email },
}

fn issue(field: &str, code: &'static str, message: impl Into<String>) -> AppError {
    AppError::Validation(vec![FieldIssue::new(field, code, message)])
}

/// The policy version that judges returns of `order`: the one in force when it was placed.
fn policy_for<'a>(
    app_config: &'a crate::config::Config,
    order: &Order,
) -> Result<&'a ReturnPolicy, AppError> {
    let book = app_config.return_policies().ok_or_else(|| {
        issue(
            "order",
            "returns_not_configured",
            "this deployment configures no return policy",
        )
    })?;
    book.in_force_at(order.created_at).ok_or_else(|| {
        issue(
            "order",
            "no_return_policy",
            "no return policy was in force when the order was placed",
        )
    })
}

/// The version a return was judged by, which also judges what follows (its limits).
fn policy_of<'a>(
    config: &'a crate::config::Config,
    ret: &Return,
) -> Result<&'a ReturnPolicy, AppError> {
    config
        .return_policies()
        .and_then(|b| b.version(&ret.judgement.version))
        .ok_or_else(|| {
            AppError::Internal(format!(
                "return {} names policy version {}, which is not configured",
                ret.rma, ret.judgement.version
            ))
        })
}

/// Whether `actor` may approve (or set a rule aside on) a return worth `value_minor`.
fn within_limit(actor: &Actor, policy: &ReturnPolicy, value_minor: i64) -> Result<(), AppError> {
    match actor.role() {
        // Only the system itself has no role (the demo, a worker's follow-up): it acts on
        // decisions a person with a role already made; no interface reaches here as it.
        None => Ok(()),
        Some(role) if policy.may_approve(role, value_minor) => Ok(()),
        Some(role) => Err(AppError::Forbidden {
            role: role.as_str(),
            action: "approve a return of this value (beyond the role's approval limit)",
        }),
    }
}

fn find<'a>(order: &'a Order, id: &str) -> Result<&'a Return, AppError> {
    order
        .return_by_id(id)
        .ok_or_else(|| AppError::Order(OrderError::UnknownReturn(id.to_owned())))
}

/// The name a decision records for its maker.
fn actor_name(actor: &Actor) -> (String, String) {
    match actor {
        Actor::ApiKey { id, role, .. } | Actor::User { id, role } => {
            (id.clone(), role.as_str().to_owned())
        }
        Actor::System { name } => (name.clone(), "system".to_owned()),
    }
}

impl App {
    /// The policy version return `ret` is judged by (its grades, limits and rules).
    pub fn return_policy(&self, ret: &Return) -> Result<&ReturnPolicy, AppError> {
        policy_of(&self.config, ret)
    }

    /// The leaf reasons a return of `order` may give: those of the policy version in
    /// force when it was placed.
    pub fn return_reasons(&self, order: &Order) -> Vec<String> {
        self.config
            .return_policies()
            .and_then(|b| b.in_force_at(order.created_at))
            .map(|p| {
                orderly_domain::returns::reasons::leaf_codes(&p.reasons)
                    .into_iter()
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Whether `actor` may approve `ret` (or set a rule aside for it): its value within
    /// the role's approval limit.
    pub fn may_approve_return(&self, actor: &Actor, ret: &Return) -> bool {
        self.return_policy(ret)
            .is_ok_and(|p| within_limit(actor, p, ret.judgement.value_minor).is_ok())
    }

    /// Records a return request judged by the policy in force when the order was placed.
    /// A customer must name the order's email: any other pair is not found, exactly like
    /// an order that does not exist.
    pub async fn request_return(
        &self,
        order_ref: String,
        input: ReturnInput,
        requester: Requester,
        origin: Origin,
        idem: Option<Idempotency>,
    ) -> Result<(Order, Id), AppError> {
        authorize(&origin.actor, Permission::RequestReturns)?;
        let config = self.config.clone();
        let clock = self.clock.clone();
        let source = match requester {
            Requester::Staff => ReturnSource::Staff,
            Requester::Customer { .. } => ReturnSource::SelfService,
        };
        let outcome = self
            .command_with_token(
                order_ref,
                idem,
                origin.clone(),
                None,
                None,
                move |tx, order| {
                    if let Requester::Customer { email } = &requester
                        && email != &order.customer.email
                    {
                        return Err(AppError::Order(OrderError::NotFound));
                    }
                    request_command(tx, &config, order, &input, source, clock.now())
                },
            )
            .await?;
        let order = outcome_order(outcome)?;
        // The request made the newest return; a replay renders the order as it left it.
        let id = order
            .returns
            .last()
            .map(|r| r.id.clone())
            .ok_or_else(|| AppError::Internal("a return request left no return".into()))?;
        let order = self.label_if_due(order, &id, &origin).await?;
        Ok((order, id))
    }

    /// Approves or denies a return in review. An approval needs the reviewer's role to
    /// have the authority for the return's value under its policy version (403 beyond
    /// it, and nothing changes).
    pub async fn review_return(
        &self,
        return_ref: String,
        approve: bool,
        note: Option<String>,
        origin: Origin,
        idem: Option<Idempotency>,
    ) -> Result<(Order, Id), AppError> {
        let order_ref = self.order_of_return(&origin.actor, &return_ref).await?;
        let (config, clock, actor) = (
            self.config.clone(),
            self.clock.clone(),
            origin.actor.clone(),
        );
        let at = return_ref.clone();
        let outcome = self
            .order_command(order_ref, idem, origin.clone(), None, move |order| {
                let ret = find(order, &at)?;
                if approve {
                    within_limit(&actor, policy_of(&config, ret)?, ret.judgement.value_minor)?;
                }
                let (by, role) = actor_name(&actor);
                Ok(OrderCommand::ReviewReturn {
                    review: ReviewReturn {
                        return_id: ret.id.clone(),
                        approve,
                        by,
                        role,
                        note: note.clone(),
                    },
                    now: clock.now(),
                })
            })
            .await?;
        let order = outcome_order(outcome)?;
        let id = find(&order, &return_ref)?.id.clone();
        let order = self.label_if_due(order, &id, &origin).await?;
        Ok((order, id))
    }

    /// Books the prepaid label an authorized return is promised, after the decision
    /// committed (a carrier is never called inside a write), and records it. A booking
    /// that fails leaves the return authorized without a label, which `POST …/label`
    /// asks again. The label is the system's follow-on to a decision already made (and
    /// authorized), so it is recorded as the system's: a reviewer whose role may approve
    /// but not create returns (finance) must not see 403 after the approval committed.
    pub async fn label_if_due(
        &self,
        order: Order,
        return_id: &Id,
        origin: &Origin,
    ) -> Result<Order, AppError> {
        let origin = &Origin {
            actor: Actor::system("returns:label"),
            correlation_id: origin.correlation_id.clone(),
        };
        let Some(ret) = order.returns.iter().find(|r| &r.id == return_id) else {
            return Ok(order);
        };
        if !label_due(ret) {
            return Ok(order);
        }
        let label = self.book_return_label(&order, ret).await?;
        let cmd = OrderCommand::IssueReturnLabel {
            return_id: return_id.clone(),
            label,
        };
        self.record_booking(&order, origin, cmd).await
    }

    /// Records what a carrier booked after a decision committed (a label, a parcel back),
    /// as `origin`'s command on `order`: the system's follow-on, never idempotency-keyed.
    pub(crate) async fn record_booking(
        &self,
        order: &Order,
        origin: &Origin,
        cmd: OrderCommand,
    ) -> Result<Order, AppError> {
        let outcome = self
            .order_command(
                order.id.to_string(),
                None,
                origin.clone(),
                None,
                move |_| Ok(cmd.clone()),
            )
            .await?;
        outcome_order(outcome)
    }

    /// The carrier and service that take the parcel back to the location that shipped
    /// the first returned unit, the cheapest quoting for it; the built-in carrier tracks
    /// a return by its RMA, so the label's barcode is the RMA itself.
    async fn book_return_label(
        &self,
        order: &Order,
        ret: &Return,
    ) -> Result<ReturnLabel, AppError> {
        let first_line = ret.items.first().map(|i| i.line_no);
        let location_id = order
            .fulfillment_orders
            .iter()
            .find(|f| {
                f.lines
                    .iter()
                    .any(|l| Some(l.line_no) == first_line && l.shipped > 0)
            })
            .map(|f| f.location_id.clone())
            .ok_or_else(|| {
                AppError::Internal(format!("return {} has no shipping location", ret.rma))
            })?;
        let location = self
            .config
            .locations
            .iter()
            .find(|l| l.id == location_id.as_str())
            .ok_or_else(|| {
                AppError::Internal(format!("location {location_id} is not configured"))
            })?;
        let weight = self.return_weight(ret).await?;
        let quotes = all_quotes(
            &self.carriers,
            location.address.country.as_str(),
            location.address.region.as_deref(),
            weight,
            self.now(),
        );
        let quote = quotes.first().ok_or_else(|| AppError::Conflict {
            code: "no_return_carrier",
            detail: format!("no carrier takes a parcel back to {location_id}"),
        })?;
        let carrier = self
            .carrier(&quote.carrier)
            .ok_or_else(|| AppError::Internal(format!("carrier {} is gone", quote.carrier)))?;
        let tracking_number = carrier
            .book_return(&ret.rma)
            .map_err(|e| AppError::Unavailable(format!("booking the return label: {e:#}")))?;
        Ok(ReturnLabel {
            carrier: quote.carrier.clone(),
            service: quote.service.clone(),
            tracking_number,
            location_id,
        })
    }

    /// Records what arrived at `location_id`: each scan is a GTIN or a SKU; a SKU not on
    /// the return is kept as an unexpected item, never taken for one that is.
    pub async fn receive_return(
        &self,
        return_ref: String,
        location_id: String,
        scans: Vec<String>,
        close: bool,
        origin: Origin,
        idem: Option<Idempotency>,
    ) -> Result<(Order, Id), AppError> {
        if !self.config.locations.iter().any(|l| l.id == location_id) {
            return Err(issue(
                "location_id",
                "unknown_location",
                "not a configured location",
            ));
        }
        let order_ref = self.order_of_return(&origin.actor, &return_ref).await?;
        let at = return_ref.clone();
        let outcome = self
            .command_with_token(order_ref, idem, origin, None, None, move |tx, order| {
                let ret = find(order, &at)?;
                let mut resolved = Vec::with_capacity(scans.len());
                for scan in &scans {
                    resolved.push(ReturnScan {
                        scan: scan.clone(),
                        sku: sku_of_scan(tx, scan)?,
                    });
                }
                Ok(OrderCommand::ReceiveReturn(ReceiveReturn {
                    return_id: ret.id.clone(),
                    location_id: Id::new(location_id.clone()),
                    scans: resolved,
                    close,
                }))
            })
            .await?;
        let order = outcome_order(outcome)?;
        let id = find(&order, &return_ref)?.id.clone();
        Ok((order, id))
    }

    /// Records the inspection of received units; conditions are the policy's grades.
    pub async fn inspect_return(
        &self,
        return_ref: String,
        items: Vec<ItemInspection>,
        origin: Origin,
        idem: Option<Idempotency>,
    ) -> Result<(Order, Id), AppError> {
        let order_ref = self.order_of_return(&origin.actor, &return_ref).await?;
        let (config, at) = (self.config.clone(), return_ref.clone());
        let outcome = self
            .order_command(order_ref, idem, origin.clone(), None, move |order| {
                let ret = find(order, &at)?;
                let policy = policy_of(&config, ret)?;
                let unknown: Vec<FieldIssue> = items
                    .iter()
                    .enumerate()
                    .filter(|(_, i)| !policy.condition_grades.contains(&i.condition))
                    .map(|(n, _)| {
                        FieldIssue::new(
                            format!("items[{n}].condition"),
                            "unknown_condition",
                            format!(
                                "a condition is one of {}",
                                policy.condition_grades.join(", ")
                            ),
                        )
                    })
                    .collect();
                if !unknown.is_empty() {
                    return Err(AppError::Validation(unknown));
                }
                Ok(OrderCommand::InspectReturn {
                    return_id: ret.id.clone(),
                    items: items.clone(),
                })
            })
            .await?;
        let order = outcome_order(outcome)?;
        let id = find(&order, &return_ref)?.id.clone();
        let order = self.send_back_if_due(order, &id, &origin).await;
        Ok((order, id))
    }

    /// A person's decision on the units an inspection left `needs_manual_decision`:
    /// accepting one lets money go out, so it needs the approval authority for the
    /// return's value; the decided units then leave quarantine as their disposition says.
    pub async fn decide_return_items(
        &self,
        return_ref: String,
        items: Vec<ItemDecision>,
        note: Option<String>,
        origin: Origin,
        idem: Option<Idempotency>,
    ) -> Result<(Order, Id), AppError> {
        let order_ref = self.order_of_return(&origin.actor, &return_ref).await?;
        let (config, actor) = (self.config.clone(), origin.actor.clone());
        let at = return_ref.clone();
        let outcome = self
            .order_command(order_ref, idem, origin.clone(), None, move |order| {
                let ret = find(order, &at)?;
                if items.iter().any(|d| d.acceptance == Acceptance::Accepted) {
                    within_limit(&actor, policy_of(&config, ret)?, ret.judgement.value_minor)?;
                }
                Ok(OrderCommand::DecideReturnItems {
                    return_id: ret.id.clone(),
                    items: items.clone(),
                    note: note.clone(),
                })
            })
            .await?;
        let order = outcome_order(outcome)?;
        let id = find(&order, &return_ref)?.id.clone();
        let order = self.send_back_if_due(order, &id, &origin).await;
        Ok((order, id))
    }

    /// Settles a return's money by hand, when its policy's timing has not done it: with
    /// `waive_fee` or `without_return` a rule is set aside, which needs the approval
    /// authority for the return's value and is counted as a policy exception.
    pub async fn resolve_return(
        &self,
        return_ref: String,
        waive_fee: bool,
        without_return: bool,
        origin: Origin,
        idem: Option<Idempotency>,
    ) -> Result<(Outcome, Id), AppError> {
        let order_ref = self.order_of_return(&origin.actor, &return_ref).await?;
        let (config, clock, actor) = (
            self.config.clone(),
            self.clock.clone(),
            origin.actor.clone(),
        );
        let ids = self.ids.clone();
        let at = return_ref.clone();
        let outcome = self
            .order_command(order_ref, idem, origin, None, move |order| {
                let ret = find(order, &at)?;
                if waive_fee || without_return {
                    within_limit(&actor, policy_of(&config, ret)?, ret.judgement.value_minor)?;
                }
                Ok(OrderCommand::ResolveReturn {
                    resolve: ResolveReturn {
                        return_id: ret.id.clone(),
                        refund_id: Id::new(ids.new_id("ref")),
                        waive_fee,
                        without_return,
                    },
                    now: clock.now(),
                })
            })
            .await?;
        let id = match &outcome {
            Outcome::Order(_, order) => find(order, &return_ref)?.id.clone(),
            Outcome::Body(..) => Id::new(return_ref.clone()),
        };
        Ok((outcome, id))
    }

    pub async fn cancel_return(
        &self,
        return_ref: String,
        reason: String,
        origin: Origin,
        idem: Option<Idempotency>,
    ) -> Result<(Order, Id), AppError> {
        let order_ref = self.order_of_return(&origin.actor, &return_ref).await?;
        let at = return_ref.clone();
        let outcome = self
            .order_command(order_ref, idem, origin, None, move |order| {
                Ok(OrderCommand::CancelReturn {
                    return_id: find(order, &at)?.id.clone(),
                    reason: reason.clone(),
                })
            })
            .await?;
        let order = outcome_order(outcome)?;
        let id = find(&order, &return_ref)?.id.clone();
        Ok((order, id))
    }
}

/// The SKU a receiving scan names: a GTIN through the catalog (in any of its UPC-A,
/// EAN-13 or GTIN-14 forms, as the catalog keeps GTIN-14 and packing matches them all),
/// else the text as a SKU.
fn sku_of_scan(tx: &mut dyn WriteTx, scan: &str) -> Result<Option<Sku>, AppError> {
    if let Ok(gtin) = Gtin::parse(scan)
        && let Some(sku) = tx.sku_by_gtin(gtin.as_str())?
    {
        return Ok(Sku::parse(&sku).ok());
    }
    Ok(Sku::parse(scan).ok())
}

pub(crate) fn outcome_order(outcome: Outcome) -> Result<Order, AppError> {
    match outcome {
        Outcome::Order(_, order) => Ok(*order),
        Outcome::Body(..) => Err(AppError::Internal(
            "a return command answered without its order".into(),
        )),
    }
}
