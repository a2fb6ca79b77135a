//! `orderly check`: the invariants the system promises, verified against stored data.
//! Runs in one read transaction so it sees a consistent picture even while the server
//! keeps writing.

use crate::error::StoreError;
use crate::from_ms;
use orderly_domain::order::{Order, OrderEvent, replay};
use rusqlite::{Connection, OpenFlags};
use std::collections::HashMap;
use std::path::Path;

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
    pub violations: Vec<Violation>,
}

fn v(subject: impl Into<String>, problem: impl Into<String>) -> Violation {
    Violation {
        subject: subject.into(),
        problem: problem.into(),
    }
}

/// Verifies: reserved = sum of open reservations and available ≥ 0 for every inventory
/// record; every order's replayed events equal its snapshot; buckets add up; the read
/// model's derived columns match the snapshot; open reservations match the snapshot's.
pub fn check_invariants(path: &Path) -> Result<CheckReport, StoreError> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| StoreError::Unavailable(format!("cannot open {}: {e}", path.display())))?;
    conn.execute_batch("PRAGMA busy_timeout = 5000; BEGIN")?;
    let mut report = CheckReport::default();
    check_inventory(&conn, &mut report)?;
    check_orders(&conn, &mut report)?;
    conn.execute_batch("COMMIT")?;
    Ok(report)
}

fn check_inventory(conn: &Connection, report: &mut CheckReport) -> Result<(), StoreError> {
    let mut open: HashMap<(String, String), i64> = HashMap::new();
    let mut stmt = conn.prepare(
        "SELECT sku, location_id, SUM(quantity) FROM reservations WHERE status = 'open' GROUP BY sku, location_id",
    )?;
    for row in stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))? {
        let (sku, loc, n): (String, String, i64) = row?;
        open.insert((sku, loc), n);
    }
    let mut stmt = conn.prepare("SELECT sku, location_id, on_hand, reserved FROM inventory")?;
    for row in stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))? {
        let (sku, loc, on_hand, reserved): (String, String, i64, i64) = row?;
        report.inventory_records += 1;
        let subject = format!("inventory {sku}@{loc}");
        let held = open.remove(&(sku, loc)).unwrap_or(0);
        if held != reserved {
            report.violations.push(v(
                &subject,
                format!("reserved {reserved} but open reservations sum to {held}"),
            ));
        }
        if on_hand - reserved < 0 {
            report.violations.push(v(
                &subject,
                format!(
                    "available is {} (on hand {on_hand}, reserved {reserved})",
                    on_hand - reserved
                ),
            ));
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

fn check_orders(conn: &Connection, report: &mut CheckReport) -> Result<(), StoreError> {
    let mut open: HashMap<String, Vec<(u32, String, String, u32)>> = HashMap::new();
    let mut stmt = conn.prepare("SELECT order_id, line_no, sku, location_id, quantity FROM reservations WHERE status = 'open'")?;
    for row in stmt.query_map([], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
    })? {
        let (order, line, sku, loc, q): (String, u32, String, String, u32) = row?;
        open.entry(order).or_default().push((line, sku, loc, q));
    }
    let mut events_stmt =
        conn.prepare("SELECT data, at FROM events WHERE stream_id = ?1 ORDER BY version")?;
    let mut stmt = conn.prepare(
        "SELECT id, status, order_state, payment_state, fulfillment_state, return_state, total_minor, version, snapshot FROM orders",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            [
                r.get::<_, String>(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ],
            r.get::<_, i64>(6)?,
            r.get::<_, i64>(7)?,
            r.get::<_, String>(8)?,
        ))
    })?;
    for row in rows {
        let (id, columns, total, version, snapshot) = row?;
        report.orders += 1;
        let subject = format!("order {id}");
        let snapshot: Order = match serde_json::from_str(&snapshot) {
            Ok(o) => o,
            Err(e) => {
                report
                    .violations
                    .push(v(&subject, format!("snapshot does not parse: {e}")));
                continue;
            }
        };
        let mut events: Vec<(OrderEvent, jiff::Timestamp)> = Vec::new();
        for e in
            events_stmt.query_map([&id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?
        {
            let (data, at) = e?;
            events.push((serde_json::from_str(&data)?, from_ms(at)?));
        }
        report.events += events.len();
        match replay(events.iter().map(|(e, at)| (e, *at))) {
            Ok(Some(replayed)) if replayed == snapshot => {}
            Ok(Some(_)) => report.violations.push(v(
                &subject,
                "replaying its events does not reproduce the snapshot",
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
        ];
        if columns.iter().map(String::as_str).ne(derived)
            || total != snapshot.total()
            || version != snapshot.version as i64
        {
            report.violations.push(v(
                &subject,
                format!("read model {columns:?} disagrees with snapshot {derived:?}"),
            ));
        }
        let mut stored = open.remove(&id).unwrap_or_default();
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
            report.violations.push(v(
                &subject,
                format!("open reservations {stored:?} differ from the order's {expected:?}"),
            ));
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
