//! `orderly check`: the invariants the system promises, verified against stored data
//! through the `Reader` contract, so both backends are checked by the same code. The
//! caller runs it inside one consistent read snapshot.

use crate::error::StoreError;
use crate::read::{Reader, ReturnFilter};
use orderly_domain::order::{Order, replay};
use std::collections::HashMap;

/// One broken promise, named precisely enough to investigate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub subject: String,
    pub problem: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.subject, self.problem)
    }
}

/// Summary figures of a check, printed beside any violations.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckReport {
    pub orders: usize,
    pub events: usize,
    pub inventory_records: usize,
    pub returns: usize,
    pub cases: usize,
    pub customers: usize,
    pub violations: Vec<Violation>,
}

pub(crate) fn v(subject: impl Into<String>, problem: impl Into<String>) -> Violation {
    Violation {
        subject: subject.into(),
        problem: problem.into(),
    }
}

const PAGE: u32 = 500;

/// Verifies: reserved = sum of open reservations and available ≥ 0 for every inventory
/// record; every order's replayed events equal its snapshot; buckets add up; the read
/// model's derived columns match the snapshot; open reservations match the snapshot's;
/// every payment ledger keeps its rules (`Order::payment_violations`); store credit
/// balances equal the sum of their entries; every return's row names an order that
/// exists, with its number and channel, and refunds at most its value; and every case's
/// and customer's events replay to their stored state (`check_streams.rs`).
pub fn run(r: &mut dyn Reader) -> Result<CheckReport, StoreError> {
    let mut report = CheckReport::default();
    let mut by_stock: HashMap<(String, String), i64> = HashMap::new();
    let mut by_order: HashMap<String, Vec<(u32, String, String, u32)>> = HashMap::new();
    for (order, line, sku, loc, q) in r.open_reservations()? {
        *by_stock.entry((sku.clone(), loc.clone())).or_default() += i64::from(q);
        by_order.entry(order).or_default().push((line, sku, loc, q));
    }
    check_inventory(r, by_stock, &mut report)?;
    check_orders(r, by_order, &mut report)?;
    check_returns(r, &mut report)?;
    crate::check_streams::check_cases(r, &mut report)?;
    crate::check_streams::check_customers(r, &mut report)?;
    for (email, currency, balance, sum) in r.store_credit_mismatches()? {
        report.violations.push(v(
            format!("store credit of {email} in {currency}"),
            format!("balance {balance} != sum of its entries {sum}"),
        ));
    }
    Ok(report)
}

fn check_inventory(
    r: &mut dyn Reader,
    mut open: HashMap<(String, String), i64>,
    report: &mut CheckReport,
) -> Result<(), StoreError> {
    let mut after: Option<(String, String)> = None;
    loop {
        let page = r.inventory(
            None,
            None,
            after.as_ref().map(|(s, l)| (s.as_str(), l.as_str())),
            PAGE,
        )?;
        for row in &page {
            report.inventory_records += 1;
            let subject = format!("inventory {}@{}", row.sku, row.location_id);
            let held = open
                .remove(&(row.sku.clone(), row.location_id.clone()))
                .unwrap_or(0);
            if held != row.reserved {
                report.violations.push(v(
                    &subject,
                    format!(
                        "reserved {} but open reservations sum to {held}",
                        row.reserved
                    ),
                ));
            }
            if row.on_hand - row.reserved < 0 {
                let available = row.on_hand - row.reserved;
                let detail = format!(
                    "available is {available} (on hand {}, reserved {})",
                    row.on_hand, row.reserved
                );
                report.violations.push(v(&subject, detail));
            }
        }
        match page.last() {
            Some(last) if page.len() == PAGE as usize => {
                after = Some((last.sku.clone(), last.location_id.clone()))
            }
            _ => break,
        }
    }
    for ((sku, loc), n) in open {
        report.violations.push(v(
            format!("inventory {sku}@{loc}"),
            format!("{n} units reserved at a location with no inventory record"),
        ));
    }
    Ok(())
}

/// The returns read model against the orders it belongs to. (Quarantine is never below
/// zero: the table's CHECK holds it.)
fn check_returns(r: &mut dyn Reader, report: &mut CheckReport) -> Result<(), StoreError> {
    for (id, order_id, order) in r.return_order_mismatches()? {
        let problem = match order {
            None => format!("its order {order_id} does not exist"),
            Some((number, channel)) => format!(
                "its row disagrees with order {order_id} (number {number}, channel {channel})"
            ),
        };
        report.violations.push(v(format!("return {id}"), problem));
    }
    let mut filter = ReturnFilter {
        limit: PAGE,
        ..ReturnFilter::default()
    };
    loop {
        let page = r.returns(&filter)?;
        for row in &page {
            report.returns += 1;
            // The policy refunds the value less fees, never more.
            if row.refundable_minor > row.value_minor {
                report.violations.push(v(
                    format!("return {}", row.id),
                    format!(
                        "refundable {} is above its value {}",
                        row.refundable_minor, row.value_minor
                    ),
                ));
            }
        }
        match page.last() {
            Some(last) if page.len() == PAGE as usize => filter.before = Some(last.key()),
            _ => break,
        }
    }
    Ok(())
}

/// The top-level fields in which two states differ, to point a person at the problem.
fn differing_fields(a: &Order, b: &Order) -> Vec<String> {
    let (Ok(serde_json::Value::Object(a)), Ok(serde_json::Value::Object(b))) =
        (serde_json::to_value(a), serde_json::to_value(b))
    else {
        return vec!["(unreadable)".to_owned()];
    };
    a.iter()
        .filter(|(k, v)| b.get(*k) != Some(*v))
        .map(|(k, _)| k.clone())
        .collect()
}

fn check_orders(
    r: &mut dyn Reader,
    mut open: HashMap<String, Vec<(u32, String, String, u32)>>,
    report: &mut CheckReport,
) -> Result<(), StoreError> {
    let mut after: Option<String> = None;
    loop {
        let page = r.order_rows(after.as_deref(), PAGE)?;
        for row in &page {
            report.orders += 1;
            let subject = format!("order {}", row.id);
            let snapshot: Order = match serde_json::from_str(&row.snapshot) {
                Ok(o) => o,
                Err(e) => {
                    report
                        .violations
                        .push(v(&subject, format!("snapshot does not parse: {e}")));
                    continue;
                }
            };
            let events = r.events(&row.id)?;
            report.events += events.len();
            match replay(events.iter().map(|e| (&e.event, e.at))) {
                Ok(Some(replayed)) if replayed == snapshot => {}
                Ok(Some(replayed)) => report.violations.push(v(
                    &subject,
                    format!(
                        "replaying its events does not reproduce the snapshot (differs in: {})",
                        differing_fields(&replayed, &snapshot).join(", ")
                    ),
                )),
                Ok(None) => report
                    .violations
                    .push(v(&subject, "has a snapshot but no events")),
                Err(e) => report
                    .violations
                    .push(v(&subject, format!("events do not replay: {e}"))),
            }
            for problem in snapshot.violations() {
                report.violations.push(v(&subject, problem));
            }
            let derived = [
                snapshot.customer_status().as_str(),
                snapshot.state.as_str(),
                snapshot.payment_state().as_str(),
                snapshot.fulfillment_summary().as_str(),
                snapshot.return_summary().as_str(),
                snapshot.refund_state().as_str(),
            ];
            let columns_match = row.states.iter().map(String::as_str).eq(derived)
                && row.on_hold == snapshot.on_hold()
                && row.total_minor == snapshot.total()
                && row.version == snapshot.version as i64;
            if !columns_match {
                let detail = format!(
                    "read model {:?} disagrees with snapshot {derived:?}",
                    row.states
                );
                report.violations.push(v(&subject, detail));
            }
            let mut stored = open.remove(&row.id).unwrap_or_default();
            let mut expected: Vec<(u32, String, String, u32)> = snapshot
                .reservations
                .iter()
                .map(|r| {
                    (
                        r.line_no,
                        r.sku.to_string(),
                        r.location_id.to_string(),
                        r.quantity,
                    )
                })
                .collect();
            stored.sort();
            expected.sort();
            if stored != expected {
                let detail =
                    format!("open reservations {stored:?} differ from the order's {expected:?}");
                report.violations.push(v(&subject, detail));
            }
        }
        match page.last() {
            Some(last) if page.len() == PAGE as usize => after = Some(last.id.clone()),
            _ => break,
        }
    }
    for (order, _) in open {
        report.violations.push(v(
            format!("order {order}"),
            "open reservations for an order that does not exist",
        ));
    }
    Ok(())
}
