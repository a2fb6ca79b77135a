//! Cases on SQLite: the case counter (one writer, so a draw cannot race), the read model
//! with its queue columns, the contacts per order, and the queue pages the read pool
//! answers from the same rows.

use super::read::SqliteReader;
use super::write::SqliteTx;
use crate::cases::{
    CAUSE_SLOT_MS, CaseFilter, CaseListed, CaseQueue, CaseReads, CaseRow, CasesTx, CauseCount,
    CauseDimension, CauseFacts, ContactCounts, cause_rows,
};
use crate::error::StoreError;
use crate::{from_ms, to_ms};
use orderly_domain::case::{Case, Direction};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};

impl CasesTx for SqliteTx<'_> {
    fn next_case_number(&mut self) -> Result<String, StoreError> {
        let n: i64 = self
            .conn()
            .prepare_cached(
                "INSERT INTO case_counter (id, last_number) VALUES (1, 1001)
                 ON CONFLICT (id) DO UPDATE SET last_number = last_number + 1
                 RETURNING last_number",
            )?
            .query_row([], |r| r.get(0))?;
        Ok(format!("CASE-{n}"))
    }

    fn load_case(&mut self, id: &str) -> Result<Option<Case>, StoreError> {
        let snapshot: Option<String> = self
            .conn()
            .prepare_cached("SELECT snapshot FROM cases WHERE id = ?1")?
            .query_row([id], |r| r.get(0))
            .optional()?;
        snapshot
            .map(|s| serde_json::from_str(&s).map_err(StoreError::from))
            .transpose()
    }

    fn save_case(&mut self, row: &CaseRow<'_>) -> Result<(), StoreError> {
        let c = row.case;
        self.conn()
            .prepare_cached(
                "INSERT INTO cases (id, number, status, active, priority, owner, grp, order_id,
                   order_channel, customer_email, contact_channel, root_cause, opened_at,
                   due_at, updated_at, version, snapshot)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)
                 ON CONFLICT (id) DO UPDATE SET status = excluded.status,
                   active = excluded.active, priority = excluded.priority,
                   owner = excluded.owner, grp = excluded.grp, order_id = excluded.order_id,
                   order_channel = excluded.order_channel,
                   customer_email = excluded.customer_email, root_cause = excluded.root_cause,
                   due_at = excluded.due_at, updated_at = excluded.updated_at,
                   version = excluded.version, snapshot = excluded.snapshot",
            )?
            .execute(params![
                c.id.as_str(),
                c.number,
                c.status.as_str(),
                c.status.is_active(),
                c.priority.as_str(),
                c.owner,
                c.group,
                c.order_id.as_ref().map(|o| o.as_str()),
                row.order_channel,
                c.customer_email,
                c.channel.as_str(),
                c.root_cause,
                to_ms(c.opened_at),
                row.due_at.map(to_ms),
                to_ms(c.updated_at),
                i64::try_from(c.version).map_err(|_| StoreError::Corrupt("version".into()))?,
                serde_json::to_string(c)?,
            ])?;
        Ok(())
    }

    fn insert_case_contacts(&mut self, case: &Case, from: usize) -> Result<(), StoreError> {
        let mut stmt = self.conn().prepare_cached(
            "INSERT INTO case_contacts (case_id, n, order_id, channel, direction, order_status, at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        for (n, c) in case.contacts.iter().enumerate().skip(from) {
            stmt.execute(params![
                case.id.as_str(),
                n as i64,
                case.order_id.as_ref().map(|o| o.as_str()),
                c.channel.as_str(),
                c.direction.as_str(),
                c.order_status,
                to_ms(c.at),
            ])?;
        }
        Ok(())
    }

    fn save_case_causes(
        &mut self,
        case_id: &str,
        facts: Option<&CauseFacts>,
    ) -> Result<(), StoreError> {
        self.conn()
            .prepare_cached("DELETE FROM case_causes WHERE case_id = ?1")?
            .execute([case_id])?;
        let Some(f) = facts else {
            return Ok(());
        };
        let mut stmt = self.conn().prepare_cached(
            "INSERT INTO case_causes (case_id, dimension, value, root_cause, resolved_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for (dimension, value) in cause_rows(f) {
            stmt.execute(params![
                case_id,
                dimension,
                value,
                f.root_cause,
                to_ms(f.resolved_at)
            ])?;
        }
        Ok(())
    }
}

fn listed(r: &rusqlite::Row<'_>) -> rusqlite::Result<(String, Option<i64>)> {
    Ok((r.get(0)?, r.get(1)?))
}

fn decode(rows: Vec<(String, Option<i64>)>) -> Result<Vec<CaseListed>, StoreError> {
    rows.into_iter()
        .map(|(snapshot, due)| {
            Ok(CaseListed {
                case: serde_json::from_str(&snapshot)?,
                due_at: due.map(from_ms).transpose()?,
            })
        })
        .collect()
}

/// `CaseReads::cases`: the queue's condition on its partial index, then the filters.
fn cases(conn: &Connection, f: &CaseFilter) -> Result<Vec<CaseListed>, StoreError> {
    let mut sql = String::from("SELECT snapshot, due_at FROM cases WHERE ");
    let mut args: Vec<Value> = Vec::new();
    match &f.queue {
        CaseQueue::All => sql.push_str("1 = 1"),
        CaseQueue::Mine(owner) => {
            sql.push_str("active = 1 AND owner = ?");
            args.push(owner.clone().into());
        }
        CaseQueue::Unassigned => sql.push_str("active = 1 AND owner IS NULL"),
        CaseQueue::Group(group) => {
            sql.push_str("active = 1 AND grp = ?");
            args.push(group.clone().into());
        }
        CaseQueue::Breached(now) => {
            sql.push_str("active = 1 AND due_at IS NOT NULL AND due_at <= ?");
            args.push(to_ms(*now).into());
        }
    }
    if let Some(status) = f.status {
        sql.push_str(" AND status = ?");
        args.push(status.as_str().to_owned().into());
    }
    if let Some(before) = f.opened_before {
        sql.push_str(" AND opened_at <= ?");
        args.push(to_ms(before).into());
    }
    if let Some(channels) = &f.channels {
        sql.push_str(" AND order_channel IN (SELECT value FROM json_each(?))");
        args.push(serde_json::to_string(channels)?.into());
    }
    if let Some((at, id)) = &f.after {
        sql.push_str(" AND (opened_at, id) > (?, ?)");
        args.push(to_ms(*at).into());
        args.push(id.clone().into());
    }
    sql.push_str(" ORDER BY opened_at, id LIMIT ?");
    args.push(i64::from(f.limit).into());
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt
        .query_map(params_from_iter(args), listed)?
        .collect::<Result<Vec<_>, _>>()?;
    decode(rows)
}

/// The condition a channel-bound report adds (`?1` holds the channels as JSON).
const IN_CHANNELS: &str = " AND (?1 IS NULL OR case_id IN (SELECT case_id FROM case_causes c
     WHERE c.dimension = 'channel' AND c.value IN (SELECT value FROM json_each(?1))))";

impl CaseReads for SqliteReader<'_> {
    fn cause_counts(
        &mut self,
        dimension: CauseDimension,
        (from, to): (jiff::Timestamp, jiff::Timestamp),
        channels: Option<&[String]>,
    ) -> Result<Vec<CauseCount>, StoreError> {
        let sql = format!(
            "SELECT value, root_cause, COUNT(*) FROM case_causes
             WHERE dimension = ?2 AND resolved_at >= ?3 AND resolved_at < ?4{IN_CHANNELS}
             GROUP BY value, root_cause ORDER BY value, root_cause"
        );
        let rows = self
            .conn()
            .prepare_cached(&sql)?
            .query_map(
                params![
                    crate::rows::channels_to_column(channels),
                    dimension.as_str(),
                    to_ms(from),
                    to_ms(to)
                ],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?,
                    ))
                },
            )?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows
            .into_iter()
            .map(|(value, root_cause, n)| CauseCount {
                value,
                root_cause,
                cases: u64::try_from(n).unwrap_or_default(),
            })
            .collect())
    }

    fn cause_slots(
        &mut self,
        (from, to): (jiff::Timestamp, jiff::Timestamp),
        channels: Option<&[String]>,
    ) -> Result<Vec<(jiff::Timestamp, String, u64)>, StoreError> {
        let sql = format!(
            "SELECT resolved_at / ?2 * ?2, root_cause, COUNT(*) FROM case_causes
             WHERE dimension = 'channel' AND resolved_at >= ?3 AND resolved_at < ?4{IN_CHANNELS}
             GROUP BY 1, 2 ORDER BY 1, 2"
        );
        let rows = self
            .conn()
            .prepare_cached(&sql)?
            .query_map(
                params![
                    crate::rows::channels_to_column(channels),
                    CAUSE_SLOT_MS,
                    to_ms(from),
                    to_ms(to)
                ],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?,
                    ))
                },
            )?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter()
            .map(|(slot, cause, n)| {
                Ok((from_ms(slot)?, cause, u64::try_from(n).unwrap_or_default()))
            })
            .collect()
    }

    fn case(&mut self, id_or_number: &str) -> Result<Option<CaseListed>, StoreError> {
        let row = self
            .conn()
            .prepare_cached("SELECT snapshot, due_at FROM cases WHERE id = ?1 OR number = ?1")?
            .query_row([id_or_number], listed)
            .optional()?;
        Ok(decode(row.into_iter().collect())?.pop())
    }

    fn cases(&mut self, f: &CaseFilter) -> Result<Vec<CaseListed>, StoreError> {
        cases(self.conn(), f)
    }

    fn cases_of_order(&mut self, order_id: &str) -> Result<Vec<CaseListed>, StoreError> {
        let rows = self
            .conn()
            .prepare_cached(
                "SELECT snapshot, due_at FROM cases WHERE order_id = ?1 ORDER BY opened_at, id",
            )?
            .query_map([order_id], listed)?
            .collect::<Result<Vec<_>, _>>()?;
        decode(rows)
    }

    fn cases_of_customer(
        &mut self,
        emails: &[String],
        limit: u32,
    ) -> Result<Vec<CaseListed>, StoreError> {
        let rows = self
            .conn()
            .prepare_cached(
                "SELECT snapshot, due_at FROM cases
                 WHERE customer_email IN (SELECT value FROM json_each(?1))
                 ORDER BY opened_at DESC, id DESC LIMIT ?2",
            )?
            .query_map(params![serde_json::to_string(emails)?, limit], listed)?
            .collect::<Result<Vec<_>, _>>()?;
        decode(rows)
    }

    fn order_contacts(&mut self, order_id: &str) -> Result<ContactCounts, StoreError> {
        let (contacts, inbound, order_status, cases): (i64, i64, i64, i64) = self
            .conn()
            .prepare_cached(
                "SELECT COUNT(*), COALESCE(SUM(direction = ?2), 0), COALESCE(SUM(order_status), 0),
                        (SELECT COUNT(*) FROM cases WHERE order_id = ?1)
                 FROM case_contacts WHERE order_id = ?1",
            )?
            .query_row(params![order_id, Direction::Inbound.as_str()], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?;
        let count = |n: i64| u32::try_from(n).unwrap_or(u32::MAX);
        Ok(ContactCounts {
            contacts: count(contacts),
            inbound: count(inbound),
            order_status: count(order_status),
            cases: count(cases),
        })
    }
}
