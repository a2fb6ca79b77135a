//! Returns inside the order: the RMA record, its events and how they fold. A return lives
//! in its order's stream because it moves the order's units (the `return_requested`,
//! `returned` and `restocked` buckets) and its money (a refund drawn on the order's
//! payments), and both must change in the one transaction that decides. Each returned
//! unit is an item of its own with two separate facts, reception and acceptance, so a
//! received unit is never taken for an accepted one, and a refund for a received one.

use super::state::Order;
use crate::Timestamp;
use crate::returns::{
    Acceptance, AskedItem, Disposition, Judgement, Reception, ReturnState, Wanted,
};
use crate::values::{Id, Sku};
use serde::{Deserialize, Serialize};

snake_enum!(
    /// Who asked for the return.
    ReturnSource {
        Staff => "staff",
        SelfService => "self_service",
    }
);

snake_enum!(
    /// A rule of the policy set aside by a person with the authority; counted.
    PolicyException {
        WindowExtended => "window_extended",
        FinalSaleAccepted => "final_sale_accepted",
        FeeWaived => "fee_waived",
        /// Money back without the goods (keep it).
        RefundWithoutReturn => "refund_without_return",
    }
);

/// One returned unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnItem {
    /// 1-based within the return.
    pub item_no: u32,
    pub line_no: u32,
    pub sku: Sku,
    pub reception: Reception,
    pub acceptance: Acceptance,
    /// A grade of the policy's (`new`, `like_new`, …), set at inspection.
    pub condition: Option<String>,
    pub disposition: Option<Disposition>,
    /// Where it arrived.
    pub location_id: Option<Id>,
    #[serde(default, with = "crate::time::wire_opt")]
    pub received_at: Option<Timestamp>,
    /// It waited in quarantine for a person's decision, which then disposed of it.
    #[serde(default)]
    pub decided: bool,
}

/// Something scanned at receipt that is not an awaited unit of this return.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnexpectedItem {
    /// What was scanned (a GTIN or a SKU).
    pub scan: String,
    /// The SKU it names, when the catalog knows it.
    pub sku: Option<Sku>,
    pub location_id: Id,
    /// The awaited unit it came back in place of: a closed receipt pairs each stray with
    /// a unit that did not arrive, which then reads `wrong_item` instead of `short`.
    #[serde(default)]
    pub in_place_of: Option<u32>,
}

/// A person's decision on a return in review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnDecision {
    pub approved: bool,
    /// Who decided (the actor's name).
    pub by: String,
    pub role: String,
    pub note: Option<String>,
    /// The rules the decision answered.
    pub rules: Vec<crate::returns::Rule>,
    #[serde(with = "crate::time::wire")]
    pub at: Timestamp,
}

/// The prepaid label the customer ships the return with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnLabel {
    pub carrier: String,
    pub service: String,
    pub tracking_number: String,
    /// Where the parcel goes back to.
    pub location_id: Id,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnLabelIssued {
    pub return_id: Id,
    pub label: ReturnLabel,
}

/// The order that sends the replacement of an exchange: placed when the return is
/// authorized (so its stock is reserved at once), held until the returned goods are on
/// their way, shipped through ordinary fulfillment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExchangeOrder {
    pub order_id: Id,
    pub order_number: String,
    pub sku: Sku,
    pub units: u32,
    /// The returned units' value put toward the replacement (its discount).
    pub credit_minor: i64,
    /// What the customer pays on the exchange order (replacement price less the credit).
    pub to_pay_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnExchangePlaced {
    pub return_id: Id,
    pub exchange: ExchangeOrder,
}

/// The parcel that takes rejected units back to the customer, booked through a carrier
/// from the location they wait at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendBack {
    pub item_nos: Vec<u32>,
    pub carrier: String,
    pub service: String,
    pub tracking_number: String,
    /// Where the parcel leaves from.
    pub location_id: Id,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnItemsSentBack {
    pub return_id: Id,
    pub send_back: SendBack,
}

/// How a return's money was settled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnResolution {
    /// The refund that pays it (None when nothing was owed).
    pub refund_id: Option<Id>,
    pub value_minor: i64,
    pub restocking_fee_minor: i64,
    pub shipping_fee_minor: i64,
    /// The paid value less the fees: what `refund_id` pays back for the goods.
    pub amount_minor: i64,
    /// The customer's own postage paid back, by a refund of its own (`postage_refund_id`):
    /// it belongs to no line, so it is bounded by the order, not by the goods' lines.
    #[serde(default)]
    pub shipping_reimbursed_minor: i64,
    #[serde(default)]
    pub postage_refund_id: Option<Id>,
    pub method: crate::payment::RefundMethod,
    /// Units the money is for, per line.
    pub lines: Vec<AskedItem>,
    #[serde(with = "crate::time::wire")]
    pub at: Timestamp,
}

impl ReturnResolution {
    /// The refunds that pay it: the goods', and the postage's when it reimburses any.
    pub fn refund_ids(&self) -> impl Iterator<Item = &Id> {
        self.refund_id.iter().chain(self.postage_refund_id.iter())
    }
}

/// A return (RMA).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Return {
    pub id: Id,
    /// The human number, e.g. `RMA-WEB-1001`.
    pub rma: String,
    /// The goods' stage; `status` derives what is shown.
    pub state: ReturnState,
    pub source: ReturnSource,
    pub reason: String,
    pub note: Option<String>,
    pub photos: Vec<String>,
    pub wanted: Wanted,
    /// The policy's answer at request time, with the version that gave it.
    pub judgement: Judgement,
    pub decisions: Vec<ReturnDecision>,
    pub items: Vec<ReturnItem>,
    pub unexpected: Vec<UnexpectedItem>,
    pub exceptions: Vec<PolicyException>,
    pub resolution: Option<ReturnResolution>,
    #[serde(default)]
    pub label: Option<ReturnLabel>,
    #[serde(default)]
    pub exchange: Option<ExchangeOrder>,
    /// Parcels that took rejected units back to the customer.
    #[serde(default)]
    pub send_backs: Vec<SendBack>,
    /// Authorized and not shipped by then, the return expires.
    #[serde(default, with = "crate::time::wire_opt")]
    pub ship_by: Option<Timestamp>,
    #[serde(with = "crate::time::wire")]
    pub requested_at: Timestamp,
    #[serde(with = "crate::time::wire")]
    pub updated_at: Timestamp,
}

impl Return {
    /// Units per line, in line order.
    pub fn units_per_line(&self) -> Vec<AskedItem> {
        let mut out: Vec<AskedItem> = Vec::new();
        for item in &self.items {
            match out.iter_mut().find(|a| a.line_no == item.line_no) {
                Some(a) => a.quantity += 1,
                None => out.push(AskedItem {
                    line_no: item.line_no,
                    quantity: 1,
                }),
            }
        }
        out
    }

    pub fn item(&self, item_no: u32) -> Option<&ReturnItem> {
        self.items.iter().find(|i| i.item_no == item_no)
    }

    /// Every unit has an answer to "did it come back?". Lost in transit is no answer
    /// yet: the unit may still turn up, or a person closes the receipt without it.
    pub fn receipt_closed(&self) -> bool {
        self.items
            .iter()
            .all(|i| !matches!(i.reception, Reception::Awaiting | Reception::LostInTransit))
    }

    /// Units disposed `return_to_customer` that no parcel has taken back yet, with the
    /// location each waits at.
    pub fn send_back_due(&self) -> Vec<(u32, Option<&Id>)> {
        self.items
            .iter()
            .filter(|i| i.disposition == Some(Disposition::ReturnToCustomer))
            .filter(|i| {
                !self
                    .send_backs
                    .iter()
                    .any(|s| s.item_nos.contains(&i.item_no))
            })
            .map(|i| (i.item_no, i.location_id.as_ref()))
            .collect()
    }

    /// Strays not yet paired with a unit they came back in place of.
    pub fn unpaired_strays(&self) -> usize {
        self.unexpected
            .iter()
            .filter(|u| u.in_place_of.is_none())
            .count()
    }

    /// Some inspected unit still waits for a person's decision.
    pub fn undecided(&self) -> bool {
        self.items
            .iter()
            .any(|i| i.acceptance == Acceptance::NeedsManualDecision)
    }

    /// Every received unit has its acceptance and disposition.
    pub fn inspected(&self) -> bool {
        self.items
            .iter()
            .filter(|i| i.reception == Reception::Received)
            .all(|i| i.acceptance != Acceptance::Pending && i.disposition.is_some())
    }

    /// What is shown: the goods' stage, unless money is what the return waits for.
    pub fn status(&self, order: &Order) -> ReturnState {
        use crate::payment::RefundStatus;
        if self.state.is_terminal() {
            return self.state;
        }
        let refunds: Vec<RefundStatus> = self
            .resolution
            .iter()
            .flat_map(ReturnResolution::refund_ids)
            .filter_map(|id| order.refund_status_of(id))
            .collect();
        if refunds.contains(&RefundStatus::RefundFailed) {
            ReturnState::RefundFailed
        } else if refunds.contains(&RefundStatus::Pending) {
            ReturnState::RefundPending
        } else {
            self.state
        }
    }
}

/// A return asked for and judged; its state follows the judgement's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnRequested {
    pub return_id: Id,
    pub rma: String,
    pub source: ReturnSource,
    pub items: Vec<AskedItem>,
    pub reason: String,
    pub note: Option<String>,
    pub photos: Vec<String>,
    pub wanted: Wanted,
    /// Staff asked for a final-sale item to be taken back anyway.
    #[serde(default)]
    pub final_sale_exception: bool,
    /// Staff asked to look past the window.
    #[serde(default)]
    pub window_extension: bool,
    /// The customer's stated postage for a parcel they ship themselves.
    #[serde(default)]
    pub shipping_cost_minor: Option<i64>,
    /// What the judgement read, kept so the request can be judged again exactly as it
    /// was (the policy backtest replays it under a draft version).
    pub facts: crate::returns::ReturnFacts,
    pub judgement: Judgement,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnReviewed {
    pub return_id: Id,
    pub decision: ReturnDecision,
    /// The rules set aside by an approval, counted as policy exceptions.
    pub exceptions: Vec<PolicyException>,
}

snake_enum!(
    /// A carrier's news of a return parcel.
    ReturnParcelStatus {
        InTransit => "in_transit",
        Lost => "lost",
    }
);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnTracked {
    pub return_id: Id,
    pub status: ReturnParcelStatus,
    #[serde(with = "crate::time::wire")]
    pub occurred_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnReceived {
    pub return_id: Id,
    pub location_id: Id,
    /// Awaited units now received.
    pub items: Vec<u32>,
    pub unexpected: Vec<UnexpectedItem>,
    /// Units the closed receipt did not find, with nothing in their place.
    pub short: Vec<u32>,
    /// Units the closed receipt did not find, each with a stray that came back in its
    /// place (paired in order with the return's unpaired unexpected items).
    #[serde(default)]
    pub wrong_item: Vec<u32>,
}

/// The inspection of one received unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemInspection {
    pub item_no: u32,
    pub condition: String,
    pub acceptance: Acceptance,
    pub disposition: Disposition,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnInspected {
    pub return_id: Id,
    pub items: Vec<ItemInspection>,
}

/// A person's decision on a unit the inspection left `needs_manual_decision`. The unit
/// waited in quarantine, so its new disposition moves it out of there (or leaves it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemDecision {
    pub item_no: u32,
    pub acceptance: Acceptance,
    pub disposition: Disposition,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnItemsDecided {
    pub return_id: Id,
    pub items: Vec<ItemDecision>,
    /// The decider's note, shown on the timeline.
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnResolved {
    pub return_id: Id,
    pub resolution: ReturnResolution,
    pub exceptions: Vec<PolicyException>,
}

/// How a return ended without completing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnClosed {
    pub return_id: Id,
    pub reason: String,
}

impl super::event::OrderEvent {
    /// The return a return event is about; None for every other event.
    pub fn return_id(&self) -> Option<&Id> {
        use super::event::OrderEvent::*;
        match self {
            ReturnRequested(r) => Some(&r.return_id),
            ReturnReviewed(r) => Some(&r.return_id),
            ReturnLabelIssued(l) => Some(&l.return_id),
            ReturnExchangePlaced(e) => Some(&e.return_id),
            ReturnTracked(t) => Some(&t.return_id),
            ReturnReceived(r) => Some(&r.return_id),
            ReturnInspected(r) => Some(&r.return_id),
            ReturnItemsDecided(r) => Some(&r.return_id),
            ReturnItemsSentBack(r) => Some(&r.return_id),
            ReturnResolved(r) => Some(&r.return_id),
            ReturnCompleted { return_id } => Some(return_id),
            ReturnCancelled(c) | ReturnExpired(c) => Some(&c.return_id),
            _ => None,
        }
    }
}

impl Order {
    /// The status of the refund `id`, if the order has one.
    pub fn refund_status_of(&self, id: &Id) -> Option<crate::payment::RefundStatus> {
        self.refunds
            .iter()
            .find(|r| &r.id == id)
            .map(|r| self.refund_status(r))
    }

    pub fn return_by_id(&self, id_or_rma: &str) -> Option<&Return> {
        self.returns
            .iter()
            .find(|r| r.id.as_str() == id_or_rma || r.rma == id_or_rma)
    }

    /// Units of `line_no` that may still be asked back: delivered and in no open or
    /// completed return.
    pub fn returnable_units(&self, line_no: u32) -> u32 {
        self.lines
            .iter()
            .find(|l| l.line_no == line_no)
            .map_or(0, |l| {
                l.buckets
                    .delivered
                    .saturating_sub(l.buckets.return_requested)
            })
    }

    /// Where the order's returns stand, for the return buckets' check: per line, the
    /// units the open and completed returns hold, those received and those restocked.
    pub fn return_violations(&self) -> Vec<String> {
        let mut out = Vec::new();
        for line in &self.lines {
            let items = || {
                self.returns
                    .iter()
                    .filter(|r| r.state.holds_units())
                    .flat_map(|r| &r.items)
                    .filter(|i| i.line_no == line.line_no)
            };
            let requested = u32::try_from(items().count()).unwrap_or(u32::MAX);
            let received = u32::try_from(
                items()
                    .filter(|i| i.reception == Reception::Received)
                    .count(),
            )
            .unwrap_or(u32::MAX);
            let restocked = u32::try_from(
                items()
                    .filter(|i| i.disposition == Some(Disposition::Restock))
                    .count(),
            )
            .unwrap_or(u32::MAX);
            let b = &line.buckets;
            for (name, bucket, counted) in [
                ("return_requested", b.return_requested, requested),
                ("returned", b.returned, received),
                ("restocked", b.restocked, restocked),
            ] {
                if bucket != counted {
                    out.push(format!(
                        "line {}: {name} {bucket} but the returns hold {counted}",
                        line.line_no
                    ));
                }
            }
        }
        out
    }
}
