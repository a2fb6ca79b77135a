//! The decisions of a return's goods: the request (the policy's judgement comes in with
//! it, a pure function of the order, the request and the policy, computed by the caller
//! from facts read in the same transaction), the review, the label, the parcel, the
//! receipt and the inspection, cancellation and expiry. What is decided here is what the
//! order itself can vouch for: units still returnable, the item a scan names, the stage
//! a step needs. The money is `rma_money.rs`.

use super::error::OrderError;
use super::event::OrderEvent;
use super::rma::{
    ExchangeOrder, ItemDecision, ItemInspection, PolicyException, Return, ReturnClosed,
    ReturnDecision, ReturnExchangePlaced, ReturnInspected, ReturnItemsDecided, ReturnItemsSentBack,
    ReturnLabel, ReturnLabelIssued, ReturnParcelStatus, ReturnReceived, ReturnRequested,
    ReturnReviewed, ReturnSource, ReturnTracked, SendBack, UnexpectedItem,
};
use super::state::Order;
use crate::Timestamp;
use crate::returns::{
    Acceptance, Disposition, Judgement, Reception, RejectedItems, ReturnAsk, ReturnState, Rule,
    Wanted,
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

pub(super) fn find<'a>(order: &'a Order, id: &Id) -> Result<&'a Return, OrderError> {
    order
        .returns
        .iter()
        .find(|r| &r.id == id)
        .ok_or_else(|| OrderError::UnknownReturn(id.as_str().to_owned()))
}

pub(super) fn refuse(ret: &Return, doing: &'static str) -> OrderError {
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
            shipping_cost_minor: r.ask.shipping_cost_minor,
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
                in_place_of: None,
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
    let missing: Vec<u32> = if r.close {
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
    // What came back instead of a missing unit is its wrong item: each stray (earlier
    // ones first) stands in for one missing unit, the rest are short.
    let strays = ret.unpaired_strays() + unexpected.len();
    let (wrong_item, short) = missing.split_at(strays.min(missing.len()));
    let (wrong_item, short) = (wrong_item.to_vec(), short.to_vec());
    if taken.is_empty() && unexpected.is_empty() && missing.is_empty() {
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
        if !missing.is_empty() && unexpected.is_empty() && ret.unexpected.is_empty() {
            return Err(refuse(ret, "be closed before anything arrived"));
        }
    }
    Ok(vec![OrderEvent::ReturnReceived(ReturnReceived {
        return_id: r.return_id,
        location_id: r.location_id,
        items: taken,
        unexpected,
        short,
        wrong_item,
    })])
}

/// Why `disposition` cannot go with `acceptance` on `ret`, if it cannot: a unit not
/// accepted is never sold again, and a rejected one goes where the policy says.
fn disposition_refusal(
    ret: &Return,
    acceptance: Acceptance,
    disposition: Disposition,
) -> Option<&'static str> {
    if acceptance != Acceptance::Accepted
        && matches!(disposition, Disposition::Restock | Disposition::Refurbish)
    {
        return Some("a unit not accepted goes back to the customer, into quarantine or to scrap");
    }
    if acceptance != Acceptance::Rejected {
        return None;
    }
    match (ret.judgement.rejected_items, disposition) {
        (RejectedItems::ReturnToCustomer, d) if d != Disposition::ReturnToCustomer => Some(
            "the return's policy sends rejected units back to the customer (return_to_customer)",
        ),
        (RejectedItems::Hold, d) if d != Disposition::Quarantine => {
            Some("the return's policy holds rejected units in quarantine")
        }
        _ => None,
    }
}

/// Records the parcel that takes rejected units back to the customer: every unit named
/// must wait for it, at the location it leaves from.
pub(super) fn send_back(
    order: &Order,
    return_id: &Id,
    send_back: SendBack,
) -> Result<Vec<OrderEvent>, OrderError> {
    let ret = find(order, return_id)?;
    let due = ret.send_back_due();
    if send_back.item_nos.is_empty() {
        return Err(refuse(ret, "send back no unit"));
    }
    for (n, no) in send_back.item_nos.iter().enumerate() {
        let waits_here = due
            .iter()
            .any(|(d, at)| d == no && *at == Some(&send_back.location_id));
        if !waits_here || send_back.item_nos[..n].contains(no) {
            return Err(OrderError::InspectionRefused {
                rma: ret.rma.clone(),
                item_no: *no,
                why: "it does not wait at that location to go back to the customer",
            });
        }
    }
    Ok(vec![OrderEvent::ReturnItemsSentBack(ReturnItemsSentBack {
        return_id: return_id.clone(),
        send_back,
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
        if let Some(why) = disposition_refusal(ret, i.acceptance, i.disposition) {
            return Err(refused(why));
        }
        // Held where nothing can sell or lose it until a person decides.
        if i.acceptance == Acceptance::NeedsManualDecision
            && i.disposition != Disposition::Quarantine
        {
            return Err(refused(
                "a unit that needs a manual decision waits in quarantine",
            ));
        }
    }
    Ok(vec![OrderEvent::ReturnInspected(ReturnInspected {
        return_id: return_id.clone(),
        items,
    })])
}

/// A person's decision on units an inspection left `needs_manual_decision` (they wait in
/// quarantine): accepted or rejected, and where each goes from there. Until every such
/// unit is decided, the return neither pays after inspection nor completes.
pub(super) fn decide_items(
    order: &Order,
    return_id: &Id,
    items: Vec<ItemDecision>,
    note: Option<String>,
) -> Result<Vec<OrderEvent>, OrderError> {
    let ret = find(order, return_id)?;
    if !matches!(ret.state, ReturnState::Received | ReturnState::Inspected) {
        return Err(refuse(ret, "have its units decided"));
    }
    if items.is_empty() {
        return Err(refuse(ret, "take a decision on no item"));
    }
    for (n, d) in items.iter().enumerate() {
        let refused = |why| OrderError::InspectionRefused {
            rma: ret.rma.clone(),
            item_no: d.item_no,
            why,
        };
        let item = ret.item(d.item_no).ok_or(OrderError::UnknownReturnItem {
            rma: ret.rma.clone(),
            item_no: d.item_no,
        })?;
        if items[..n].iter().any(|x| x.item_no == d.item_no) {
            return Err(refused("it is named twice"));
        }
        if item.acceptance != Acceptance::NeedsManualDecision {
            return Err(refused("it does not wait for a manual decision"));
        }
        if !matches!(d.acceptance, Acceptance::Accepted | Acceptance::Rejected) {
            return Err(refused("a decision accepts or rejects the unit"));
        }
        if let Some(why) = disposition_refusal(ret, d.acceptance, d.disposition) {
            return Err(refused(why));
        }
    }
    Ok(vec![OrderEvent::ReturnItemsDecided(ReturnItemsDecided {
        return_id: return_id.clone(),
        items,
        note,
    })])
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
