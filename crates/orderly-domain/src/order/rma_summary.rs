//! Timeline sentences for return events: each names the RMA, the policy version that
//! judged it and the money or units involved, so support reads what happened and why
//! without opening the return.

use super::event::OrderEvent;
use super::rma::{Return, ReturnParcelStatus};
use super::state::Order;
use super::summary::{amount, units};
use crate::returns::{Outcome, Wanted};
use crate::values::Id;

fn rma<'a>(before: Option<&'a Order>, id: &'a Id) -> &'a str {
    before
        .and_then(|o| o.returns.iter().find(|r| &r.id == id))
        .map_or(id.as_str(), |r: &Return| r.rma.as_str())
}

/// The RMA with the policy version that judged it, for the sentences of the decisions
/// made under that version (review, receipt, inspection, decision, resolution).
fn judged(before: Option<&Order>, id: &Id) -> String {
    match before.and_then(|o| o.returns.iter().find(|r| &r.id == id)) {
        Some(r) => format!("{} (policy {})", r.rma, r.judgement.version),
        None => id.to_string(),
    }
}

fn rules<T: Copy>(list: &[T], name: fn(T) -> &'static str) -> String {
    list.iter().map(|r| name(*r)).collect::<Vec<_>>().join(", ")
}

pub(super) fn summary(event: &OrderEvent, before: Option<&Order>) -> String {
    match event {
        OrderEvent::ReturnRequested(r) => {
            let count: u32 = r.items.iter().map(|i| i.quantity).sum();
            let wanted = match &r.wanted {
                Wanted::Refund => "a refund".to_owned(),
                Wanted::StoreCredit => "store credit".to_owned(),
                Wanted::Exchange { sku } => format!("an exchange for {sku}"),
            };
            let outcome = match &r.judgement.outcome {
                Outcome::Authorized => "authorized automatically".to_owned(),
                Outcome::NeedsReview { rules: list } => {
                    format!("sent to review ({})", rules(list, |r| r.as_str()))
                }
                Outcome::Rejected { rule } => format!("rejected ({})", rule.as_str()),
            };
            format!(
                "Return {} requested ({}) for {} ({}), wanting {wanted}: {outcome} by policy {}; refundable {}",
                r.rma,
                r.source.as_str(),
                units(count),
                r.reason,
                r.judgement.version,
                amount(r.judgement.refundable_minor, before)
            )
        }
        OrderEvent::ReturnReviewed(r) => {
            let verdict = if r.decision.approved {
                "approved"
            } else {
                "denied"
            };
            let mut text = format!(
                "Return {} {verdict} by {} ({})",
                judged(before, &r.return_id),
                r.decision.by,
                r.decision.role
            );
            if !r.exceptions.is_empty() {
                text.push_str(&format!(
                    "; policy exception: {}",
                    rules(&r.exceptions, |e| e.as_str())
                ));
            }
            if let Some(note) = &r.decision.note {
                text.push_str(&format!(": {note}"));
            }
            text
        }
        OrderEvent::ReturnLabelIssued(l) => format!(
            "Return {}: label issued with {} {} (tracking {}) back to {}",
            rma(before, &l.return_id),
            l.label.carrier,
            l.label.service,
            l.label.tracking_number,
            l.label.location_id
        ),
        OrderEvent::ReturnExchangePlaced(e) => format!(
            "Return {}: exchange order {} sends {} of {} (credit {}, to pay {}), held until the goods are on their way",
            rma(before, &e.return_id),
            e.exchange.order_number,
            units(e.exchange.units),
            e.exchange.sku,
            amount(e.exchange.credit_minor, before),
            amount(e.exchange.to_pay_minor, before)
        ),
        OrderEvent::ReturnTracked(t) => match t.status {
            ReturnParcelStatus::InTransit => {
                format!("Return {} is on its way back", rma(before, &t.return_id))
            }
            ReturnParcelStatus::Lost => format!(
                "Return {}: the carrier lost the parcel",
                rma(before, &t.return_id)
            ),
        },
        OrderEvent::ReturnReceived(r) => {
            let mut text = format!(
                "Return {}: received {} at {}",
                judged(before, &r.return_id),
                units(u32::try_from(r.items.len()).unwrap_or(u32::MAX)),
                r.location_id
            );
            if !r.unexpected.is_empty() {
                let scans: Vec<&str> = r.unexpected.iter().map(|u| u.scan.as_str()).collect();
                text.push_str(&format!("; unexpected: {}", scans.join(", ")));
            }
            if !r.wrong_item.is_empty() {
                text.push_str(&format!(
                    "; receipt closed, {} came back as something else",
                    units(u32::try_from(r.wrong_item.len()).unwrap_or(u32::MAX))
                ));
            }
            if !r.short.is_empty() {
                text.push_str(&format!(
                    "; receipt closed, {} short",
                    units(u32::try_from(r.short.len()).unwrap_or(u32::MAX))
                ));
            }
            text
        }
        OrderEvent::ReturnInspected(r) => {
            let parts: Vec<String> = r
                .items
                .iter()
                .map(|i| {
                    format!(
                        "item {} {} ({}) → {}",
                        i.item_no,
                        i.acceptance.as_str(),
                        i.condition,
                        i.disposition.as_str()
                    )
                })
                .collect();
            format!(
                "Return {} inspected: {}",
                judged(before, &r.return_id),
                parts.join("; ")
            )
        }
        OrderEvent::ReturnItemsDecided(r) => {
            let parts: Vec<String> = r
                .items
                .iter()
                .map(|d| {
                    format!(
                        "item {} {} → {}",
                        d.item_no,
                        d.acceptance.as_str(),
                        d.disposition.as_str()
                    )
                })
                .collect();
            let mut text = format!(
                "Return {} decided: {}",
                judged(before, &r.return_id),
                parts.join("; ")
            );
            if let Some(note) = &r.note {
                text.push_str(&format!(" ({note})"));
            }
            text
        }
        OrderEvent::ReturnItemsSentBack(r) => {
            let items: Vec<String> = r.send_back.item_nos.iter().map(|n| n.to_string()).collect();
            format!(
                "Return {}: items {} sent back to the customer with {} {} (tracking {}) from {}",
                rma(before, &r.return_id),
                items.join(", "),
                r.send_back.carrier,
                r.send_back.service,
                r.send_back.tracking_number,
                r.send_back.location_id
            )
        }
        OrderEvent::ReturnResolved(r) => {
            let res = &r.resolution;
            let mut text = format!(
                "Return {} resolved: {} to {} (value {}, restocking fee {}, return shipping {})",
                judged(before, &r.return_id),
                amount(res.amount_minor, before),
                res.method.as_str(),
                amount(res.value_minor, before),
                amount(res.restocking_fee_minor, before),
                amount(res.shipping_fee_minor, before)
            );
            if res.shipping_reimbursed_minor > 0 {
                text.push_str(&format!(
                    "; the customer's postage {} paid back",
                    amount(res.shipping_reimbursed_minor, before)
                ));
            }
            if !r.exceptions.is_empty() {
                text.push_str(&format!(
                    "; policy exception: {}",
                    rules(&r.exceptions, |e| e.as_str())
                ));
            }
            text
        }
        OrderEvent::ReturnCompleted { return_id } => {
            let settled = before
                .and_then(|o| o.returns.iter().find(|r| &r.id == return_id))
                .is_some_and(|r| r.resolution.is_none());
            if settled {
                format!(
                    "Return {} completed with nothing to refund",
                    rma(before, return_id)
                )
            } else {
                format!("Return {} completed", rma(before, return_id))
            }
        }
        OrderEvent::ReturnCancelled(c) => {
            format!(
                "Return {} cancelled: {}",
                rma(before, &c.return_id),
                c.reason
            )
        }
        OrderEvent::ReturnExpired(c) => {
            format!("Return {} expired: {}", rma(before, &c.return_id), c.reason)
        }
        _ => String::new(),
    }
}
