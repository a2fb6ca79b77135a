//! The decisions of a return's workflow. The policy's judgement comes in with the request
//! (it is a pure function of the order, the request and the policy, computed by the
//! caller from facts read in the same transaction); what is decided here is what the
//! order itself can vouch for: units still returnable, the item a scan names, the stage
//! a step needs, and the money a resolution may give back, bounded per line by the
//! refund path it goes through.

use super::command::RequestRefund;
use super::error::OrderError;
use super::event::OrderEvent;
use super::rma::{
    ExchangeOrder, ItemInspection, PolicyException, Return, ReturnClosed, ReturnDecision,
    ReturnExchangePlaced, ReturnInspected, ReturnLabel, ReturnLabelIssued, ReturnParcelStatus,
    ReturnReceived, ReturnRequested, ReturnResolution, ReturnResolved, ReturnReviewed,
    ReturnSource, ReturnTracked, UnexpectedItem,
};
use super::state::Order;
use crate::Timestamp;
use crate::payment::{RefundReason, RefundStatus};
use crate::returns::{
    Acceptance, AskedItem, Disposition, Judgement, Reception, RefundTiming, ReturnAsk, ReturnState,
    Rule, Wanted,
};
use crate::values::{Id, Sku};

/// A return asked for, with the policy's judgement of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestReturn {
    pub return_id: Id,
    pub rma: String,
    pub source: ReturnSource,
    pub ask: ReturnAsk,
    pub note: Option<String>,
    pub photos: Vec<String>,
    /// What the judgement read (recorded with the request).
    pub facts: crate::returns::ReturnFacts,
    pub judgement: Judgement,
}

/// A reviewer's answer; the caller has checked the reviewer's authority for the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewReturn {
    pub return_id: Id,
    pub approve: bool,
    pub by: String,
    pub role: String,
    pub note: Option<String>,
}

/// One scan at the receiving desk: what was scanned and the SKU it names, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnScan {
    pub scan: String,
    pub sku: Option<Sku>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiveReturn {
    pub return_id: Id,
    pub location_id: Id,
    pub scans: Vec<ReturnScan>,
    /// Nothing more is coming: awaited units not received are short.
    pub close: bool,
}

/// Settles the return's money. `waive_fee` and `without_return` set a policy rule aside
/// (the caller has checked the authority); without either, the policy's timing decides
/// which units count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolveReturn {
    pub return_id: Id,
    pub refund_id: Id,
    pub waive_fee: bool,
    pub without_return: bool,
}

fn find<'a>(order: &'a Order, id: &Id) -> Result<&'a Return, OrderError> {
    order
        .returns
        .iter()
        .find(|r| &r.id == id)
        .ok_or_else(|| OrderError::UnknownReturn(id.as_str().to_owned()))
}

fn refuse(ret: &Return, doing: &'static str) -> OrderError {
    OrderError::ReturnState {
        rma: ret.rma.clone(),
        state: ret.state,
        doing,
    }
}

pub(super) fn request(order: &Order, r: RequestReturn) -> Result<Vec<OrderEvent>, OrderError> {
    if order.returns.iter().any(|x| x.id == r.return_id) {
        return Err(OrderError::AlreadyExists);
    }
    for asked in &r.ask.items {
        let returnable = order.returnable_units(asked.line_no);
        if asked.quantity == 0 || asked.quantity > returnable {
            return Err(OrderError::ReturnQuantity {
                line_no: asked.line_no,
                requested: asked.quantity,
                returnable,
            });
        }
    }
    Ok(vec![OrderEvent::ReturnRequested(Box::new(
        ReturnRequested {
            return_id: r.return_id,
            rma: r.rma,
            source: r.source,
            items: r.ask.items,
            reason: r.ask.reason,
            note: r.note,
            photos: r.photos,
            wanted: r.ask.wanted,
            final_sale_exception: r.ask.final_sale_exception,
            window_extension: r.ask.window_extension,
            facts: r.facts,
            judgement: r.judgement,
        },
    ))])
}

/// The rules an approval sets aside, counted as policy exceptions. Sending a large or a
/// frequent return to a person is the policy working, not an exception to it.
pub fn exceptions_of(rules: &[Rule]) -> Vec<PolicyException> {
    let mut out: Vec<PolicyException> = Vec::new();
    for rule in rules {
        let exception = match rule {
            Rule::OutsideWindow | Rule::WindowExtensionAsked => PolicyException::WindowExtended,
            Rule::FinalSaleExceptionAsked | Rule::FinalSale => PolicyException::FinalSaleAccepted,
            _ => continue,
        };
        // Two rules may set the same one aside, not next to each other: counted once.
        if !out.contains(&exception) {
            out.push(exception);
        }
    }
    out
}

pub(super) fn review(
    order: &Order,
    r: ReviewReturn,
    now: Timestamp,
) -> Result<Vec<OrderEvent>, OrderError> {
    let ret = find(order, &r.return_id)?;
    if ret.state != ReturnState::NeedsReview {
        return Err(refuse(ret, "be reviewed"));
    }
    let rules = match &ret.judgement.outcome {
        crate::returns::Outcome::NeedsReview { rules } => rules.clone(),
        _ => Vec::new(),
    };
    let exceptions = if r.approve {
        exceptions_of(&rules)
    } else {
        Vec::new()
    };
    Ok(vec![OrderEvent::ReturnReviewed(ReturnReviewed {
        return_id: r.return_id,
        decision: ReturnDecision {
            approved: r.approve,
            by: r.by,
            role: r.role,
            note: r.note,
            rules,
            at: now,
        },
        exceptions,
    })])
}

/// A carrier's scan of the return parcel; news that changes nothing is no event.
pub(super) fn track(
    order: &Order,
    return_id: &Id,
    status: ReturnParcelStatus,
    occurred_at: Timestamp,
) -> Result<Vec<OrderEvent>, OrderError> {
    let ret = find(order, return_id)?;
    let due = match (status, ret.state) {
        (ReturnParcelStatus::InTransit, ReturnState::Authorized) => true,
        (ReturnParcelStatus::Lost, ReturnState::InTransit) => true,
        (ReturnParcelStatus::InTransit, ReturnState::InTransit | ReturnState::Lost)
        | (_, ReturnState::Received | ReturnState::Inspected | ReturnState::Completed) => false,
        (ReturnParcelStatus::Lost, ReturnState::Lost) => false,
        _ => return Err(refuse(ret, "be tracked")),
    };
    Ok(if due {
        vec![OrderEvent::ReturnTracked(ReturnTracked {
            return_id: return_id.clone(),
            status,
            occurred_at,
        })]
    } else {
        Vec::new()
    })
}

pub(super) fn receive(order: &Order, r: ReceiveReturn) -> Result<Vec<OrderEvent>, OrderError> {
    let ret = find(order, &r.return_id)?;
    if !matches!(
        ret.state,
        ReturnState::Authorized
            | ReturnState::InTransit
            | ReturnState::Lost
            | ReturnState::Received
            | ReturnState::Inspected
    ) {
        return Err(refuse(ret, "be received"));
    }
    let mut taken: Vec<u32> = Vec::new();
    let mut unexpected = Vec::new();
    for scan in &r.scans {
        let on_rma = scan
            .sku
            .as_ref()
            .is_some_and(|sku| ret.items.iter().any(|i| &i.sku == sku));
        if !on_rma {
            unexpected.push(UnexpectedItem {
                scan: scan.scan.clone(),
                sku: scan.sku.clone(),
                location_id: r.location_id.clone(),
            });
            continue;
        }
        let awaited = ret.items.iter().find(|i| {
            Some(&i.sku) == scan.sku.as_ref()
                && matches!(i.reception, Reception::Awaiting | Reception::LostInTransit)
                && !taken.contains(&i.item_no)
        });
        match awaited {
            Some(item) => taken.push(item.item_no),
            None => {
                return Err(OrderError::AlreadyReceived {
                    rma: ret.rma.clone(),
                    sku: scan.scan.clone(),
                });
            }
        }
    }
    let short: Vec<u32> = if r.close {
        ret.items
            .iter()
            .filter(|i| {
                matches!(i.reception, Reception::Awaiting | Reception::LostInTransit)
                    && !taken.contains(&i.item_no)
            })
            .map(|i| i.item_no)
            .collect()
    } else {
        Vec::new()
    };
    if taken.is_empty() && unexpected.is_empty() && short.is_empty() {
        return Err(refuse(ret, "take a receipt with nothing in it"));
    }
    if taken.is_empty()
        && !matches!(
            ret.state,
            ReturnState::Received | ReturnState::Inspected | ReturnState::Lost
        )
    {
        // Closing or noting strays is for a return something arrived for, or whose
        // parcel was lost (a person gives up on it).
        if !short.is_empty() {
            return Err(refuse(ret, "be closed before anything arrived"));
        }
    }
    Ok(vec![OrderEvent::ReturnReceived(ReturnReceived {
        return_id: r.return_id,
        location_id: r.location_id,
        items: taken,
        unexpected,
        short,
    })])
}

pub(super) fn inspect(
    order: &Order,
    return_id: &Id,
    items: Vec<ItemInspection>,
) -> Result<Vec<OrderEvent>, OrderError> {
    let ret = find(order, return_id)?;
    if !matches!(ret.state, ReturnState::Received | ReturnState::Inspected) {
        return Err(refuse(ret, "be inspected"));
    }
    if items.is_empty() {
        return Err(refuse(ret, "take an inspection of no item"));
    }
    for (n, i) in items.iter().enumerate() {
        let refused = |why| OrderError::InspectionRefused {
            rma: ret.rma.clone(),
            item_no: i.item_no,
            why,
        };
        let item = ret.item(i.item_no).ok_or(OrderError::UnknownReturnItem {
            rma: ret.rma.clone(),
            item_no: i.item_no,
        })?;
        if items[..n].iter().any(|x| x.item_no == i.item_no) {
            return Err(refused("it is named twice"));
        }
        if item.reception != Reception::Received {
            return Err(refused("it has not been received"));
        }
        if item.disposition.is_some() {
            return Err(refused("it has already been inspected"));
        }
        if i.acceptance == Acceptance::Pending {
            return Err(refused(
                "an inspection must accept, reject or ask for a decision",
            ));
        }
        if i.acceptance != Acceptance::Accepted
            && matches!(i.disposition, Disposition::Restock | Disposition::Refurbish)
        {
            return Err(refused(
                "a unit not accepted goes back to the customer, into quarantine or to scrap",
            ));
        }
    }
    Ok(vec![OrderEvent::ReturnInspected(ReturnInspected {
        return_id: return_id.clone(),
        items,
    })])
}

/// The units a resolution pays for now, per line.
fn units_to_pay(ret: &Return, without_return: bool) -> Vec<AskedItem> {
    let counted = |pick: &dyn Fn(&super::rma::ReturnItem) -> bool| {
        let mut out: Vec<AskedItem> = Vec::new();
        for item in ret.items.iter().filter(|i| pick(i)) {
            match out.iter_mut().find(|a| a.line_no == item.line_no) {
                Some(a) => a.quantity += 1,
                None => out.push(AskedItem {
                    line_no: item.line_no,
                    quantity: 1,
                }),
            }
        }
        out
    };
    if without_return {
        return counted(&|_| true);
    }
    match ret.judgement.refund_timing {
        RefundTiming::OnCarrierAcceptance => counted(&|i| {
            !matches!(i.reception, Reception::Short | Reception::WrongItem)
                && i.acceptance != Acceptance::Rejected
        }),
        RefundTiming::OnReceipt => {
            counted(&|i| i.reception == Reception::Received && i.acceptance != Acceptance::Rejected)
        }
        RefundTiming::AfterInspection => counted(&|i| i.acceptance == Acceptance::Accepted),
    }
}

/// Whether the policy's refund timing has come for `ret`.
pub fn refund_due(ret: &Return) -> bool {
    if ret.resolution.is_some() || ret.state.is_terminal() {
        return false;
    }
    // An exchange settles its price difference once its exchange order stands.
    if matches!(ret.wanted, Wanted::Exchange { .. }) && ret.exchange.is_none() {
        return false;
    }
    match ret.judgement.refund_timing {
        RefundTiming::OnCarrierAcceptance => matches!(
            ret.state,
            ReturnState::InTransit | ReturnState::Received | ReturnState::Inspected
        ),
        RefundTiming::OnReceipt => {
            matches!(ret.state, ReturnState::Received | ReturnState::Inspected)
                && ret.receipt_closed()
        }
        RefundTiming::AfterInspection => {
            ret.state == ReturnState::Inspected && ret.receipt_closed()
        }
    }
}

/// Whether `ret` has nothing left to wait for: its goods are in (or were let go) and its
/// money, if any, went through.
pub fn complete_due(order: &Order, ret: &Return) -> bool {
    let Some(res) = &ret.resolution else {
        return false;
    };
    let paid = res
        .refund_id
        .as_ref()
        .is_none_or(|id| order.refund_status_of(id) == Some(RefundStatus::Succeeded));
    let goods_done = match ret.state {
        ReturnState::Inspected => ret.receipt_closed(),
        ReturnState::Authorized => ret
            .exceptions
            .contains(&PolicyException::RefundWithoutReturn),
        // A lost parcel ends once a person closed its receipt (its units short), or its
        // money went back without it.
        ReturnState::Lost => {
            ret.receipt_closed()
                || ret
                    .exceptions
                    .contains(&PolicyException::RefundWithoutReturn)
        }
        _ => false,
    };
    paid && goods_done
}

/// Whether the policy's resolution of `ret` can go through as it stands (money captured
/// to refund, lines not refunded already). One that cannot waits for a person instead of
/// failing the step (a receipt, an inspection) that made it due.
pub(super) fn can_resolve(order: &Order, ret: &Return) -> bool {
    let probe = ResolveReturn {
        return_id: ret.id.clone(),
        refund_id: Id::new("ref_probe"),
        waive_fee: false,
        without_return: false,
    };
    resolve(order, probe, order.updated_at).is_ok()
}

pub(super) fn resolve(
    order: &Order,
    r: ResolveReturn,
    now: Timestamp,
) -> Result<Vec<OrderEvent>, OrderError> {
    let ret = find(order, &r.return_id)?;
    if ret.resolution.is_some() {
        return Err(OrderError::ReturnAlreadyResolved(ret.rma.clone()));
    }
    if ret.state.is_terminal() || matches!(ret.state, ReturnState::NeedsReview) {
        return Err(refuse(ret, "be resolved"));
    }
    if r.without_return && !matches!(ret.state, ReturnState::Authorized | ReturnState::Lost) {
        return Err(refuse(ret, "be refunded without its goods"));
    }
    let lines = units_to_pay(ret, r.without_return);
    if lines.is_empty() {
        return Err(OrderError::NothingToResolve(ret.rma.clone()));
    }
    let money = order.line_money();
    // Counted on from the units refunded already, as the refund path bounds them, so
    // that a line returned one unit at a time gives back exactly what it was paid.
    let value: i64 = lines
        .iter()
        .map(|a| {
            money
                .iter()
                .find(|m| m.line_no == a.line_no)
                .map_or(0, |m| m.next_units_value(a.quantity))
        })
        .sum();
    let j = &ret.judgement;
    // An exchange puts the returned units' value toward the replacement: what is paid
    // back is what the accepted units are worth beyond that credit, with no fee.
    let credit = match (&ret.wanted, &ret.exchange) {
        (Wanted::Exchange { .. }, Some(x)) => Some(x.credit_minor),
        (Wanted::Exchange { .. }, None) => {
            return Err(refuse(
                ret,
                "be resolved before its exchange order is placed",
            ));
        }
        _ => None,
    };
    let (fee, shipping) = if r.waive_fee || credit.is_some() {
        (0, 0)
    } else {
        // The restocking fee follows the share of the judged value being paid now.
        // Never more than the fee itself (a later unit may be worth a minor unit more
        // than the judgement's rounding of it).
        let fee = if j.value_minor > 0 {
            i64::try_from(
                i128::from(j.restocking_fee_minor) * i128::from(value) / i128::from(j.value_minor),
            )
            .unwrap_or(i64::MAX)
            .min(j.restocking_fee_minor)
        } else {
            0
        };
        (fee, j.return_shipping.fee_minor())
    };
    let amount = (value - credit.unwrap_or(0) - fee - shipping).max(0);
    let mut exceptions = Vec::new();
    if r.waive_fee && (j.restocking_fee_minor > 0 || j.return_shipping.fee_minor() > 0) {
        exceptions.push(PolicyException::FeeWaived);
    }
    if r.without_return {
        exceptions.push(PolicyException::RefundWithoutReturn);
    }
    let refund_id = (amount > 0).then(|| r.refund_id.clone());
    let mut events = vec![OrderEvent::ReturnResolved(ReturnResolved {
        return_id: r.return_id.clone(),
        resolution: ReturnResolution {
            refund_id: refund_id.clone(),
            value_minor: value,
            restocking_fee_minor: fee,
            shipping_fee_minor: shipping,
            amount_minor: amount,
            method: j.refund_method,
            lines: lines.clone(),
            at: now,
        },
        exceptions,
    })];
    if let Some(id) = refund_id {
        events.extend(super::refunds::refund(
            order,
            RequestRefund {
                id,
                amount_minor: Some(amount),
                reason: RefundReason::Return,
                method: j.refund_method,
                lines: lines
                    .iter()
                    .map(|a| crate::payment::RefundLine {
                        line_no: a.line_no,
                        quantity: a.quantity,
                        amount_minor: 0,
                    })
                    .collect(),
                note: Some(format!("return {}", ret.rma)),
            },
        )?);
    }
    Ok(events)
}

/// Whether `ret` is an authorized exchange whose exchange order is still to be placed.
pub fn exchange_due(ret: &Return) -> bool {
    matches!(ret.wanted, Wanted::Exchange { .. })
        && ret.exchange.is_none()
        && ret.judgement.exchange.is_some()
        && matches!(
            ret.state,
            ReturnState::Authorized
                | ReturnState::InTransit
                | ReturnState::Received
                | ReturnState::Inspected
        )
}

pub(super) fn record_exchange(
    order: &Order,
    return_id: &Id,
    exchange: ExchangeOrder,
) -> Result<Vec<OrderEvent>, OrderError> {
    let ret = find(order, return_id)?;
    if !exchange_due(ret) {
        return Err(refuse(ret, "take an exchange order"));
    }
    Ok(vec![OrderEvent::ReturnExchangePlaced(
        ReturnExchangePlaced {
            return_id: return_id.clone(),
            exchange,
        },
    )])
}

/// Whether `ret` waits for the prepaid label its policy promises.
pub fn label_due(ret: &Return) -> bool {
    ret.state == ReturnState::Authorized
        && ret.label.is_none()
        && ret.judgement.return_shipping.issues_label()
}

pub(super) fn issue_label(
    order: &Order,
    return_id: &Id,
    label: ReturnLabel,
) -> Result<Vec<OrderEvent>, OrderError> {
    let ret = find(order, return_id)?;
    if !label_due(ret) {
        return Err(refuse(ret, "take a new label"));
    }
    Ok(vec![OrderEvent::ReturnLabelIssued(ReturnLabelIssued {
        return_id: return_id.clone(),
        label,
    })])
}

pub(super) fn complete(order: &Order, return_id: &Id) -> Result<Vec<OrderEvent>, OrderError> {
    let ret = find(order, return_id)?;
    if !complete_due(order, ret) {
        return Err(refuse(ret, "be completed yet"));
    }
    Ok(vec![OrderEvent::ReturnCompleted {
        return_id: return_id.clone(),
    }])
}

pub(super) fn cancel(
    order: &Order,
    return_id: &Id,
    reason: String,
) -> Result<Vec<OrderEvent>, OrderError> {
    let ret = find(order, return_id)?;
    if ret.resolution.is_some() || !ret.state.can_transition_to(ReturnState::Cancelled) {
        return Err(refuse(ret, "be cancelled"));
    }
    Ok(vec![OrderEvent::ReturnCancelled(ReturnClosed {
        return_id: return_id.clone(),
        reason,
    })])
}

/// The expiry timer: an authorized return not shipped by its date expires; one that
/// moved on meanwhile is left alone.
pub(super) fn expire(
    order: &Order,
    return_id: &Id,
    now: Timestamp,
) -> Result<Vec<OrderEvent>, OrderError> {
    let ret = find(order, return_id)?;
    let due = ret.state == ReturnState::Authorized
        && ret.resolution.is_none()
        && ret.ship_by.is_some_and(|by| by <= now);
    Ok(if due {
        vec![OrderEvent::ReturnExpired(ReturnClosed {
            return_id: return_id.clone(),
            reason: "not shipped within the policy's time".to_owned(),
        })]
    } else {
        Vec::new()
    })
}
