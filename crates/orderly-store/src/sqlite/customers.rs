//! Customers on SQLite: the row each new order upserts, the stream's snapshot, and the
//! prefix searches the read pool answers from the same rows' indexes.

use super::read::SqliteReader;
use super::write::SqliteTx;
use crate::customers::{
    CustomerFilter, CustomerReads, CustomerRecord, CustomerSearch, CustomersTx,
};
use crate::error::StoreError;
use crate::{from_ms, to_ms};
use orderly_domain::customer::{self, CustomerFacts};
use orderly_domain::order::Order;
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};

/// Every column of a customer row, in `record`'s order.
const COLUMNS: &str =
    "id, email, name, phone, first_order_at, last_order_at, merged_into, version, facts";

fn record(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawRecord> {
    Ok(RawRecord {
        id: r.get(0)?,
        email: r.get(1)?,
        name: r.get(2)?,
        phone: r.get(3)?,
        first: r.get(4)?,
        last: r.get(5)?,
        facts: r.get(8)?,
    })
}

/// A row as read, before its times and facts are decoded.
pub(crate) struct RawRecord {
    pub(crate) id: String,
    pub(crate) email: String,
    pub(crate) name: Option<String>,
    pub(crate) phone: Option<String>,
    pub(crate) first: i64,
    pub(crate) last: i64,
    pub(crate) facts: Option<String>,
}

impl RawRecord {
    pub(crate) fn decode(self) -> Result<CustomerRecord, StoreError> {
        Ok(CustomerRecord {
            id: self.id,
            email: self.email,
            name: self.name,
            phone: self.phone,
            first_order_at: from_ms(self.first)?,
            last_order_at: from_ms(self.last)?,
            facts: match self.facts {
                Some(json) => serde_json::from_str(&json)?,
                None => CustomerFacts::default(),
            },
        })
    }
}

fn one(conn: &Connection, filter: &str, arg: &str) -> Result<Option<CustomerRecord>, StoreError> {
    conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM customers WHERE {filter} = ?1"
    ))?
    .query_row([arg], record)
    .optional()?
    .map(RawRecord::decode)
    .transpose()
}

impl CustomersTx for SqliteTx<'_> {
    fn note_customer(&mut self, order: &Order) -> Result<(), StoreError> {
        let c = &order.customer;
        let at = to_ms(order.created_at);
        self.conn()
            .prepare_cached(
                "INSERT INTO customers (id, email, name, name_key, phone, phone_key,
                   first_order_at, last_order_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)
                 ON CONFLICT (email) DO UPDATE SET
                   name = coalesce(excluded.name, name),
                   name_key = CASE WHEN excluded.name IS NULL THEN name_key ELSE excluded.name_key END,
                   phone = coalesce(excluded.phone, phone),
                   phone_key = coalesce(excluded.phone_key, phone_key),
                   last_order_at = max(last_order_at, excluded.last_order_at)",
            )?
            .execute(params![
                customer::id_for_first_order(&order.id).as_str(),
                c.email.as_str(),
                c.name,
                customer::name_key(c.name.as_deref().unwrap_or_default()),
                c.phone,
                c.phone.as_deref().and_then(customer::phone_key),
                at,
            ])?;
        Ok(())
    }

    fn load_customer(&mut self, id: &str) -> Result<Option<CustomerRecord>, StoreError> {
        one(self.conn(), "id", id)
    }

    fn save_customer_facts(&mut self, id: &str, facts: &CustomerFacts) -> Result<(), StoreError> {
        let changed = self
            .conn()
            .prepare_cached(
                "UPDATE customers SET facts = ?2, version = ?3, merged_into = ?4 WHERE id = ?1",
            )?
            .execute(params![
                id,
                serde_json::to_string(facts)?,
                i64::try_from(facts.version).map_err(|_| StoreError::Corrupt("version".into()))?,
                facts.merged_into.as_ref().map(|i| i.as_str()),
            ])?;
        if changed == 1 {
            Ok(())
        } else {
            Err(StoreError::Corrupt(format!("no customer row {id}")))
        }
    }
}

/// The condition and argument of a search, and its sort key column.
fn search(s: &CustomerSearch) -> (&'static str, Option<&str>, &'static str) {
    match s {
        CustomerSearch::All => ("merged_into IS NULL", None, "id"),
        CustomerSearch::Email(p) => (
            "email >= ?1 AND email < ?1 || char(1114111)",
            Some(p),
            "email",
        ),
        CustomerSearch::Name(p) => (
            "merged_into IS NULL AND name_key >= ?1 AND name_key < ?1 || char(1114111)",
            Some(p),
            "name_key",
        ),
        CustomerSearch::Phone(p) => (
            "merged_into IS NULL AND phone_key >= ?1 AND phone_key < ?1 || char(1114111)",
            Some(p),
            "phone_key",
        ),
    }
}

impl CustomerReads for SqliteReader<'_> {
    fn customer(&mut self, id: &str) -> Result<Option<CustomerRecord>, StoreError> {
        one(self.conn(), "id", id)
    }

    fn customer_by_email(&mut self, email: &str) -> Result<Option<CustomerRecord>, StoreError> {
        one(self.conn(), "email", email)
    }

    fn customers(&mut self, f: &CustomerFilter) -> Result<Vec<CustomerRecord>, StoreError> {
        let (condition, arg, key) = search(&f.search);
        // Numbered arguments: ?1 is the search text (bound even when unused), the rest follow.
        let mut args: Vec<Value> = vec![arg.unwrap_or_default().to_owned().into()];
        let mut sql = format!("SELECT {COLUMNS} FROM customers WHERE {condition}");
        if let Some(channels) = &f.channels {
            args.push(serde_json::to_string(channels)?.into());
            sql.push_str(&format!(
                " AND EXISTS (SELECT 1 FROM orders o WHERE o.customer_email = customers.email
                   AND o.channel IN (SELECT value FROM json_each(?{})))",
                args.len()
            ));
        }
        if let Some((after_key, after_id)) = &f.after {
            args.push(after_key.clone().into());
            args.push(after_id.clone().into());
            sql.push_str(&format!(
                " AND ({key}, id) > (?{}, ?{})",
                args.len() - 1,
                args.len()
            ));
        }
        args.push(i64::from(f.limit).into());
        sql.push_str(&format!(" ORDER BY {key}, id LIMIT ?{}", args.len()));
        let rows = self
            .conn()
            .prepare_cached(&sql)?
            .query_map(params_from_iter(args), record)?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter().map(RawRecord::decode).collect()
    }

    fn absorbed_emails(&mut self, id: &str) -> Result<Vec<String>, StoreError> {
        Ok(self
            .conn()
            .prepare_cached("SELECT email FROM customers WHERE merged_into = ?1 ORDER BY email")?
            .query_map([id], |r| r.get(0))?
            .collect::<Result<Vec<_>, _>>()?)
    }
}
