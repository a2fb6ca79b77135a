//! Maintenance shared by the command line and the benchmark: opening a database that must
//! already exist, and `orderly check`'s report. Kept apart from both so neither imports
//! the other.

use crate::config::{DatabaseConfig, DatabaseTarget};
use crate::startup::open_store;
use orderly_domain::kpi::KpiRules;
use std::process::ExitCode;
use std::sync::Arc;

/// Opens the store for a maintenance command, refusing to create a missing SQLite file.
/// `kpi` matters only to a command that writes events (see `open_store`).
pub async fn open_existing(
    db: &DatabaseConfig,
    create: bool,
    kpi: Arc<KpiRules>,
) -> anyhow::Result<orderly_store::Store> {
    if let DatabaseTarget::Sqlite(path) = DatabaseTarget::parse(&db.url)?
        && !create
        && !path.exists()
    {
        anyhow::bail!("database {} does not exist", path.display());
    }
    open_store(db, kpi).await
}

/// Runs `orderly check` against a database and prints the report.
pub async fn check_and_report(db: &DatabaseConfig) -> anyhow::Result<ExitCode> {
    // It only reads.
    let store = open_existing(db, false, Arc::default()).await?;
    let report = store.check().await;
    store.shutdown();
    let report = report?;
    println!(
        "checked {} orders ({} events), {} inventory records, {} cases and {} customers in {}",
        report.orders,
        report.events,
        report.inventory_records,
        report.cases,
        report.customers,
        db.url
    );
    if report.violations.is_empty() {
        println!("ok: no invariant violations");
        Ok(ExitCode::SUCCESS)
    } else {
        for v in &report.violations {
            println!("VIOLATION {v}");
        }
        println!("{} violation(s)", report.violations.len());
        Ok(ExitCode::FAILURE)
    }
}
