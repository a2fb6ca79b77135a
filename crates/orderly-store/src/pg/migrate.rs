//! Migrations on PostgreSQL, run under an advisory lock so that processes starting at
//! the same moment migrate one after the other.

use super::pg_error;
use crate::error::StoreError;
use tokio_postgres::NoTls;

mod embedded {
    refinery::embed_migrations!("migrations/postgres");
}

/// Rewrites every order's derived state columns from its snapshot, in one transaction:
/// run once, by the migration that changed how they are derived.
async fn recompute_states(client: &mut tokio_postgres::Client) -> Result<(), StoreError> {
    let tx = client.transaction().await.map_err(pg_error)?;
    let rows = tx
        .query("SELECT id, snapshot FROM orders", &[])
        .await
        .map_err(pg_error)?;
    let update = tx
        .prepare("UPDATE orders SET status = $2, refund_state = $3, on_hold = $4 WHERE id = $1")
        .await
        .map_err(pg_error)?;
    for row in rows {
        let id: String = row.try_get(0).map_err(pg_error)?;
        let snapshot: String = row.try_get(1).map_err(pg_error)?;
        let order: orderly_domain::order::Order = serde_json::from_str(&snapshot)?;
        tx.execute(
            &update,
            &[
                &id,
                &order.customer_status().as_str(),
                &order.refund_state().as_str(),
                &i64::from(order.on_hold()),
            ],
        )
        .await
        .map_err(pg_error)?;
    }
    tx.commit().await.map_err(pg_error)
}

/// Applies pending migrations on a dedicated connection, holding an advisory lock so
/// that processes starting at the same moment migrate one after the other.
pub(super) async fn migrate(config: &tokio_postgres::Config) -> Result<(), StoreError> {
    let (mut client, connection) = config.connect(NoTls).await.map_err(pg_error)?;
    let task = tokio::spawn(connection);
    const LOCK: &str = "SELECT pg_advisory_lock(7212642017)";
    client.batch_execute(LOCK).await.map_err(pg_error)?;
    let result = match embedded::migrations::runner().run_async(&mut client).await {
        Ok(report)
            if report
                .applied_migrations()
                .iter()
                .any(|m| m.version() == crate::RECOMPUTE_STATES_AT) =>
        {
            recompute_states(&mut client).await
        }
        Ok(_) => Ok(()),
        Err(e) => Err(StoreError::Database(format!("migration failed: {e}"))),
    };
    let _ = client
        .batch_execute("SELECT pg_advisory_unlock(7212642017)")
        .await;
    drop(client);
    let _ = task.await;
    result
}
