//! Cases on PostgreSQL, the twin of `sqlite/cases.rs`: the case counter, the read model
//! with its queue columns, the contacts per order, and the queue pages the read side
//! answers from the same rows (kept here, beside what writes them).
//!
//! Case numbers come from the one-row `case_counter`, drawn by an upsert that runs at once
//! (its number is read) and keeps the row locked until the transaction ends, as RMA
//! numbers are (see `returns`): a concurrent draw waits, then counts on from what this
//! one committed, and a run that rolls back drew nothing. Cases are few beside orders,
//! so one locked row costs nothing that sequence blocks (`numbers`) would save.
//!
//! The case writes are sent as they are (`Conn::execute`, pipelined after the deferred
//! events), never joined with other commands' writes: joining needs a statement declared
//! in `statement` (a `StatementId` and its tables), and opening a case draws its number
//! in an open transaction, which no joined commit could carry anyway.
//!
//! A queue page is built per queue: each queue's condition is written out (`active AND
//! owner = $1`, not `$1 IS NULL OR …`), so that a generic plan still proves the partial
//! index's `WHERE active` and walks `(opened_at, id)` in order from the cursor.

use super::conn::{Owned, owned};
use super::read::PgReader;
use super::write::PgTx;
use super::{Conn, col};
use crate::cases::{
    CAUSE_SLOT_MS, CaseFilter, CaseListed, CaseQueue, CaseReads, CaseRow, CasesTx, CauseCount,
    CauseDimension, CauseFacts, ContactCounts, cause_rows,
};
use crate::error::StoreError;
use crate::{from_ms, to_ms};
use orderly_domain::case::{Case, Direction};
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

impl CasesTx for PgTx<'_> {
    fn save_case_causes(
        &mut self,
        case_id: &str,
        facts: Option<&CauseFacts>,
    ) -> Result<(), StoreError> {
        self.conn()
            .execute("DELETE FROM case_causes WHERE case_id = $1", &[&case_id])?;
        let Some(f) = facts else {
            return Ok(());
        };
        let rows = cause_rows(f);
        let dimensions: Vec<&str> = rows.iter().map(|(d, _)| *d).collect();
        let values: Vec<&str> = rows.iter().map(|(_, v)| *v).collect();
        self.conn().execute(
            "INSERT INTO case_causes (case_id, dimension, value, root_cause, resolved_at)
             SELECT $1::text, u.dimension, u.value, $4::text, $5::bigint
             FROM UNNEST($2::text[], $3::text[]) AS u(dimension, value)",
            &[
                &case_id,
                &dimensions,
                &values,
                &f.root_cause,
                &to_ms(f.resolved_at),
            ],
        )?;
        Ok(())
    }

    fn next_case_number(&mut self) -> Result<String, StoreError> {
        let row = self
            .conn()
            .query_opt(
                "INSERT INTO case_counter (id, last_number) VALUES (1, 1001)
                 ON CONFLICT (id) DO UPDATE SET last_number = case_counter.last_number + 1
                 RETURNING last_number",
                &[],
            )?
            .ok_or_else(|| {
                StoreError::Corrupt("the case counter upsert returned nothing".into())
            })?;
        let n: i64 = col(&row, 0)?;
        Ok(format!("CASE-{n}"))
    }

    fn load_case(&mut self, id: &str) -> Result<Option<Case>, StoreError> {
        let row = self
            .conn()
            .query_opt("SELECT snapshot FROM cases WHERE id = $1", &[&id])?;
        row.map(|r| Ok(serde_json::from_str(&col::<String>(&r, 0)?)?))
            .transpose()
    }

    fn save_case(&mut self, row: &CaseRow<'_>) -> Result<(), StoreError> {
        let c = row.case;
        let version =
            i64::try_from(c.version).map_err(|_| StoreError::Corrupt("version".into()))?;
        // The number, the opening channel and time never change: an update leaves them.
        self.conn().execute(
            "INSERT INTO cases (id, number, status, active, priority, owner, grp, order_id,
               order_channel, customer_email, contact_channel, root_cause, opened_at,
               due_at, updated_at, version, snapshot)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
             ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status,
               active = EXCLUDED.active, priority = EXCLUDED.priority,
               owner = EXCLUDED.owner, grp = EXCLUDED.grp, order_id = EXCLUDED.order_id,
               order_channel = EXCLUDED.order_channel,
               customer_email = EXCLUDED.customer_email, root_cause = EXCLUDED.root_cause,
               due_at = EXCLUDED.due_at, updated_at = EXCLUDED.updated_at,
               version = EXCLUDED.version, snapshot = EXCLUDED.snapshot",
            &[
                &c.id.as_str(),
                &c.number,
                &c.status.as_str(),
                &c.status.is_active(),
                &c.priority.as_str(),
                &c.owner,
                &c.group,
                &c.order_id.as_ref().map(|o| o.as_str()),
                &row.order_channel,
                &c.customer_email,
                &c.channel.as_str(),
                &c.root_cause,
                &to_ms(c.opened_at),
                &row.due_at.map(to_ms),
                &to_ms(c.updated_at),
                &version,
                &serde_json::to_string(c)?,
            ],
        )?;
        Ok(())
    }

    fn insert_case_contacts(&mut self, case: &Case, from: usize) -> Result<(), StoreError> {
        let new = || case.contacts.iter().enumerate().skip(from);
        if new().next().is_none() {
            return Ok(());
        }
        let n: Vec<i64> = new()
            .map(|(n, _)| i64::try_from(n).unwrap_or(i64::MAX))
            .collect();
        let channel: Vec<&str> = new().map(|(_, c)| c.channel.as_str()).collect();
        let direction: Vec<&str> = new().map(|(_, c)| c.direction.as_str()).collect();
        let order_status: Vec<bool> = new().map(|(_, c)| c.order_status).collect();
        let at: Vec<i64> = new().map(|(_, c)| to_ms(c.at)).collect();
        // Every new contact in one statement: one round trip however many a command logs.
        self.conn().execute(
            "INSERT INTO case_contacts (case_id, n, order_id, channel, direction, order_status, at)
             SELECT $1::text, u.n, $2::text, u.channel, u.direction, u.order_status, u.at
             FROM UNNEST($3::bigint[], $4::text[], $5::text[], $6::boolean[], $7::bigint[])
               AS u(n, channel, direction, order_status, at)",
            &[
                &case.id.as_str(),
                &case.order_id.as_ref().map(|o| o.as_str()),
                &n,
                &channel,
                &direction,
                &order_status,
                &at,
            ],
        )?;
        Ok(())
    }
}

/// A case from a `SELECT snapshot, due_at` row.
fn listed(r: &Row) -> Result<CaseListed, StoreError> {
    Ok(CaseListed {
        case: serde_json::from_str(&col::<String>(r, 0)?)?,
        due_at: col::<Option<i64>>(r, 1)?.map(from_ms).transpose()?,
    })
}

/// Appends `value` to `args` and names its placeholder, with its type.
fn arg(args: &mut Vec<Owned>, value: Owned, ty: &str) -> String {
    args.push(value);
    format!("${}::{ty}", args.len())
}

/// `CaseReads::cases`: the queue's condition on its partial index, then the filters.
/// The text depends only on which filters are set (five queues by four optional
/// filters: at most 80 texts, each prepared once per connection).
fn cases(c: &Conn<'_>, f: &CaseFilter) -> Result<Vec<CaseListed>, StoreError> {
    let mut sql = String::from("SELECT snapshot, due_at FROM cases WHERE ");
    let mut args: Vec<Owned> = Vec::new();
    match &f.queue {
        CaseQueue::All => sql.push_str("TRUE"),
        CaseQueue::Mine(owner) => {
            let p = arg(&mut args, owned(owner.clone()), "text");
            sql.push_str(&format!("active AND owner = {p}"));
        }
        CaseQueue::Unassigned => sql.push_str("active AND owner IS NULL"),
        CaseQueue::Group(group) => {
            let p = arg(&mut args, owned(group.clone()), "text");
            sql.push_str(&format!("active AND grp = {p}"));
        }
        CaseQueue::Breached(now) => {
            let p = arg(&mut args, owned(to_ms(*now)), "bigint");
            sql.push_str(&format!("active AND due_at IS NOT NULL AND due_at <= {p}"));
        }
    }
    if let Some(status) = f.status {
        let p = arg(&mut args, owned(status.as_str().to_owned()), "text");
        sql.push_str(&format!(" AND status = {p}"));
    }
    if let Some(before) = f.opened_before {
        let p = arg(&mut args, owned(to_ms(before)), "bigint");
        sql.push_str(&format!(" AND opened_at <= {p}"));
    }
    if let Some(channels) = &f.channels {
        let p = arg(&mut args, owned(channels.clone()), "text[]");
        sql.push_str(&format!(" AND order_channel = ANY({p})"));
    }
    if let Some((at, id)) = &f.after {
        let at = arg(&mut args, owned(to_ms(*at)), "bigint");
        let id = arg(&mut args, owned(id.clone()), "text");
        sql.push_str(&format!(" AND (opened_at, id) > ({at}, {id})"));
    }
    let limit = arg(&mut args, owned(i64::from(f.limit)), "bigint");
    sql.push_str(&format!(" ORDER BY opened_at, id LIMIT {limit}"));
    let params: Vec<&(dyn ToSql + Sync)> = args
        .iter()
        .map(|a| a.as_ref() as &(dyn ToSql + Sync))
        .collect();
    c.query(&sql, &params)?.iter().map(listed).collect()
}

/// The condition a channel-bound report adds (`$1` holds the channels).
const IN_CHANNELS: &str =
    " AND ($1::text[] IS NULL OR case_id IN (SELECT case_id FROM case_causes c
     WHERE c.dimension = 'channel' AND c.value = ANY($1)))";

impl CaseReads for PgReader<'_> {
    fn cause_counts(
        &mut self,
        dimension: CauseDimension,
        (from, to): (jiff::Timestamp, jiff::Timestamp),
        channels: Option<&[String]>,
    ) -> Result<Vec<CauseCount>, StoreError> {
        let channels: Option<Vec<String>> = channels.map(<[String]>::to_vec);
        let sql = format!(
            "SELECT value, root_cause, COUNT(*) FROM case_causes
             WHERE dimension = $2 AND resolved_at >= $3 AND resolved_at < $4{IN_CHANNELS}
             GROUP BY value, root_cause ORDER BY value, root_cause"
        );
        self.conn()
            .query(
                &sql,
                &[&channels, &dimension.as_str(), &to_ms(from), &to_ms(to)],
            )?
            .iter()
            .map(|r| {
                Ok(CauseCount {
                    value: col(r, 0)?,
                    root_cause: col(r, 1)?,
                    cases: u64::try_from(col::<i64>(r, 2)?).unwrap_or_default(),
                })
            })
            .collect()
    }

    fn cause_slots(
        &mut self,
        (from, to): (jiff::Timestamp, jiff::Timestamp),
        channels: Option<&[String]>,
    ) -> Result<Vec<(jiff::Timestamp, String, u64)>, StoreError> {
        let channels: Option<Vec<String>> = channels.map(<[String]>::to_vec);
        let sql = format!(
            "SELECT resolved_at / $2 * $2, root_cause, COUNT(*) FROM case_causes
             WHERE dimension = 'channel' AND resolved_at >= $3 AND resolved_at < $4{IN_CHANNELS}
             GROUP BY 1, 2 ORDER BY 1, 2"
        );
        self.conn()
            .query(&sql, &[&channels, &CAUSE_SLOT_MS, &to_ms(from), &to_ms(to)])?
            .iter()
            .map(|r| {
                Ok((
                    from_ms(col(r, 0)?)?,
                    col(r, 1)?,
                    u64::try_from(col::<i64>(r, 2)?).unwrap_or_default(),
                ))
            })
            .collect()
    }

    fn case(&mut self, id_or_number: &str) -> Result<Option<CaseListed>, StoreError> {
        self.conn()
            .query_opt(
                "SELECT snapshot, due_at FROM cases WHERE id = $1 OR number = $1",
                &[&id_or_number],
            )?
            .map(|r| listed(&r))
            .transpose()
    }

    fn cases(&mut self, f: &CaseFilter) -> Result<Vec<CaseListed>, StoreError> {
        cases(self.conn(), f)
    }

    fn cases_of_order(&mut self, order_id: &str) -> Result<Vec<CaseListed>, StoreError> {
        self.conn()
            .query(
                "SELECT snapshot, due_at FROM cases WHERE order_id = $1 ORDER BY opened_at, id",
                &[&order_id],
            )?
            .iter()
            .map(listed)
            .collect()
    }

    fn cases_of_customer(
        &mut self,
        emails: &[String],
        limit: u32,
    ) -> Result<Vec<CaseListed>, StoreError> {
        self.conn()
            .query(
                "SELECT snapshot, due_at FROM cases WHERE customer_email = ANY($1::text[])
                 ORDER BY opened_at DESC, id DESC LIMIT $2::bigint",
                &[&emails, &i64::from(limit)],
            )?
            .iter()
            .map(listed)
            .collect()
    }

    fn order_contacts(&mut self, order_id: &str) -> Result<ContactCounts, StoreError> {
        let row = self
            .conn()
            .query_opt(
                "SELECT count(*), count(*) FILTER (WHERE direction = $2),
                        count(*) FILTER (WHERE order_status),
                        (SELECT count(*) FROM cases WHERE order_id = $1)
                 FROM case_contacts WHERE order_id = $1",
                &[&order_id, &Direction::Inbound.as_str()],
            )?
            .ok_or_else(|| StoreError::Corrupt("count returned no row".into()))?;
        let count = |i: usize| -> Result<u32, StoreError> {
            Ok(u32::try_from(col::<i64>(&row, i)?).unwrap_or(u32::MAX))
        };
        Ok(ContactCounts {
            contacts: count(0)?,
            inbound: count(1)?,
            order_status: count(2)?,
            cases: count(3)?,
        })
    }
}
