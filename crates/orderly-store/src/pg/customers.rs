//! Customers on PostgreSQL, the twin of `sqlite/customers.rs`. A new order's upsert of
//! its customer row is deferred and joins other commands' (it is on the capture path);
//! the rare decisions about a customer are sent as they are.

use super::conn::{Owned, owned};
use super::params::Column;
use super::read::PgReader;
use super::statement::{StatementId, StatementSpec, Table, Target};
use super::write::PgTx;
use super::{Conn, col};
use crate::customers::{
    CustomerFilter, CustomerReads, CustomerRecord, CustomerSearch, CustomersTx,
};
use crate::error::StoreError;
use crate::{from_ms, to_ms};
use orderly_domain::customer::{self, CustomerFacts};
use orderly_domain::order::Order;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

/// Every column of a customer row, in `record`'s order.
const COLUMNS: &str = "id, email, name, phone, first_order_at, last_order_at, facts";

fn record(r: &Row) -> Result<CustomerRecord, StoreError> {
    Ok(CustomerRecord {
        id: col(r, 0)?,
        email: col(r, 1)?,
        name: col(r, 2)?,
        phone: col(r, 3)?,
        first_order_at: from_ms(col(r, 4)?)?,
        last_order_at: from_ms(col(r, 5)?)?,
        facts: match col::<Option<String>>(r, 6)? {
            Some(json) => serde_json::from_str(&json)?,
            None => CustomerFacts::default(),
        },
    })
}

fn one(c: &Conn<'_>, filter: &str, arg: &str) -> Result<Option<CustomerRecord>, StoreError> {
    c.query_opt(
        &format!("SELECT {COLUMNS} FROM customers WHERE {filter} = $1"),
        &[&arg],
    )?
    .as_ref()
    .map(record)
    .transpose()
}

/// A new order's customer row, or the existing one brought up to date. Keyed by email,
/// the first column; an upsert, so the same email twice goes in a statement of its own.
/// Rows go in email order, so two processes upserting the same customers lock them in
/// one order.
pub(super) const UPSERT_CUSTOMER: StatementSpec = StatementSpec::write(
    StatementId::UpsertCustomer,
    Target::keyed(Table::Customers, 1, false),
    "INSERT INTO customers (email, id, name, name_key, phone, phone_key, first_order_at, last_order_at)
             SELECT u.email, u.id, u.name, u.name_key, u.phone, u.phone_key, u.at, u.at
             FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[])
               AS u(email, id, name, name_key, phone, phone_key, at)
             ORDER BY u.email
             ON CONFLICT (email) DO UPDATE SET
               name = coalesce(EXCLUDED.name, customers.name),
               name_key = CASE WHEN EXCLUDED.name IS NULL THEN customers.name_key ELSE EXCLUDED.name_key END,
               phone = coalesce(EXCLUDED.phone, customers.phone),
               phone_key = coalesce(EXCLUDED.phone_key, customers.phone_key),
               last_order_at = GREATEST(customers.last_order_at, EXCLUDED.last_order_at)",
);

impl CustomersTx for PgTx<'_> {
    fn note_customer(&mut self, order: &Order) -> Result<(), StoreError> {
        let c = &order.customer;
        let text = |t: String| Column::Text(vec![t]);
        let opt = |t: Option<String>| Column::OptText(vec![t]);
        self.conn().defer_columns(
            &UPSERT_CUSTOMER,
            vec![
                text(c.email.as_str().to_owned()),
                text(customer::id_for_first_order(&order.id).to_string()),
                opt(c.name.clone()),
                text(customer::name_key(c.name.as_deref().unwrap_or_default())),
                opt(c.phone.clone()),
                opt(c.phone.as_deref().and_then(customer::phone_key)),
                Column::Int(vec![to_ms(order.created_at)]),
            ],
        );
        Ok(())
    }

    fn load_customer(&mut self, id: &str) -> Result<Option<CustomerRecord>, StoreError> {
        one(self.conn(), "id", id)
    }

    fn save_customer_facts(&mut self, id: &str, facts: &CustomerFacts) -> Result<(), StoreError> {
        let version =
            i64::try_from(facts.version).map_err(|_| StoreError::Corrupt("version".into()))?;
        let changed = self.conn().execute(
            "UPDATE customers SET facts = $2, version = $3, merged_into = $4 WHERE id = $1",
            &[
                &id,
                &serde_json::to_string(facts)?,
                &version,
                &facts.merged_into.as_ref().map(|i| i.as_str()),
            ],
        )?;
        if changed == 1 {
            Ok(())
        } else {
            Err(StoreError::Corrupt(format!("no customer row {id}")))
        }
    }
}

/// Appends `value` to `args` and names its placeholder, with its type.
fn arg(args: &mut Vec<Owned>, value: Owned, ty: &str) -> String {
    args.push(value);
    format!("${}::{ty}", args.len())
}

impl CustomerReads for PgReader<'_> {
    fn customer(&mut self, id: &str) -> Result<Option<CustomerRecord>, StoreError> {
        one(self.conn(), "id", id)
    }

    fn customer_by_email(&mut self, email: &str) -> Result<Option<CustomerRecord>, StoreError> {
        one(self.conn(), "email", email)
    }

    /// Each search's condition is written out, so a generic plan still proves the
    /// partial index's `merged_into IS NULL` and walks (key, id) from the cursor.
    fn customers(&mut self, f: &CustomerFilter) -> Result<Vec<CustomerRecord>, StoreError> {
        let mut args: Vec<Owned> = Vec::new();
        let prefix = |args: &mut Vec<Owned>, column: &str, p: &str| {
            let lo = arg(args, owned(p.to_owned()), "text");
            let hi = arg(args, owned(format!("{p}{}", char::MAX)), "text");
            format!("{column} >= {lo} AND {column} < {hi}")
        };
        let (mut sql, key) = match &f.search {
            CustomerSearch::All => ("merged_into IS NULL".to_owned(), "id"),
            CustomerSearch::Email(p) => (prefix(&mut args, "email", p), "email"),
            CustomerSearch::Name(p) => (
                format!(
                    "merged_into IS NULL AND {}",
                    prefix(&mut args, "name_key", p)
                ),
                "name_key",
            ),
            CustomerSearch::Phone(p) => (
                format!(
                    "merged_into IS NULL AND phone_key IS NOT NULL AND {}",
                    prefix(&mut args, "phone_key", p)
                ),
                "phone_key",
            ),
        };
        sql = format!("SELECT {COLUMNS} FROM customers WHERE {sql}");
        if let Some(channels) = &f.channels {
            let p = arg(&mut args, owned(channels.clone()), "text[]");
            sql.push_str(&format!(
                " AND EXISTS (SELECT 1 FROM orders o WHERE o.customer_email = customers.email
                   AND o.channel = ANY({p}))"
            ));
        }
        if let Some((after_key, after_id)) = &f.after {
            let k = arg(&mut args, owned(after_key.clone()), "text");
            let id = arg(&mut args, owned(after_id.clone()), "text");
            sql.push_str(&format!(" AND ({key}, id) > ({k}, {id})"));
        }
        let limit = arg(&mut args, owned(i64::from(f.limit)), "bigint");
        sql.push_str(&format!(" ORDER BY {key}, id LIMIT {limit}"));
        let params: Vec<&(dyn ToSql + Sync)> = args
            .iter()
            .map(|a| a.as_ref() as &(dyn ToSql + Sync))
            .collect();
        self.conn()
            .query(&sql, &params)?
            .iter()
            .map(record)
            .collect()
    }

    fn absorbed_emails(&mut self, id: &str) -> Result<Vec<String>, StoreError> {
        self.conn()
            .query(
                "SELECT email FROM customers WHERE merged_into = $1 ORDER BY email",
                &[&id],
            )?
            .iter()
            .map(|r| col(r, 0))
            .collect()
    }
}
