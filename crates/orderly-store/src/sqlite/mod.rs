//! The SQLite backend: pragmas, migrations, the single writer thread with group commit,
//! the read pool, and online backups.

mod cases;
mod catalog;
mod console;
mod customers;
mod delivery;
mod fulfillment;
mod inventory;
mod kpi;
mod pool;
mod queries;
mod read;
mod returns;
mod work;
mod write;
mod writer;

use crate::check::{self, CheckReport};
use crate::error::StoreError;
use crate::group::{GroupCounters, GroupStats};
use crate::read::Reader;
use crate::tx::WriteTx;
use orderly_domain::customer;
use orderly_domain::kpi::KpiRules;
use pool::ReadPool;
use read::SqliteReader;
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use writer::Writer;

mod embedded {
    refinery::embed_migrations!("migrations/sqlite");
}

/// How hard SQLite works to make a commit survive power loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Synchronous {
    /// fsync at every commit: an acknowledged order survives power loss (the default).
    Full,
    /// fsync at checkpoints only: survives a process crash, may lose the last commits on
    /// power loss. Only for throwaway environments.
    Normal,
}

#[derive(Debug, Clone)]
pub struct SqliteOptions {
    pub path: PathBuf,
    pub synchronous: Synchronous,
    pub read_connections: usize,
    /// Most commands committed together in one transaction (one fsync).
    pub max_batch: usize,
    /// What the KPI counters kept by every append need from configuration.
    pub kpi: Arc<KpiRules>,
}

impl SqliteOptions {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        SqliteOptions {
            path: path.into(),
            synchronous: Synchronous::Full,
            read_connections: 4,
            max_batch: 64,
            kpi: Arc::default(),
        }
    }
}

fn open_connection(
    path: &Path,
    flags: OpenFlags,
    synchronous: Synchronous,
) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(path, flags)
        .map_err(|e| StoreError::Unavailable(format!("cannot open {}: {e}", path.display())))?;
    let sync = match synchronous {
        Synchronous::Full => "FULL",
        Synchronous::Normal => "NORMAL",
    };
    conn.execute_batch(&format!(
        // temp_store = MEMORY keeps the savepoint sub-journals (one per command in a
        // group) off the file system; a 16 MiB page cache holds the hot index pages.
        "PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON; PRAGMA synchronous = {sync};
         PRAGMA temp_store = MEMORY; PRAGMA cache_size = -16384;"
    ))?;
    Ok(conn)
}

/// Applies pending migrations. Safe to call at every start.
pub fn migrate(path: &Path) -> Result<usize, StoreError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| {
            StoreError::Unavailable(format!("cannot create {}: {e}", dir.display()))
        })?;
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE;
    let mut conn = open_connection(path, flags, Synchronous::Full)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    let report = embedded::migrations::runner()
        .run(&mut conn)
        .map_err(|e| StoreError::Database(format!("migration failed: {e}")))?;
    if report
        .applied_migrations()
        .iter()
        .any(|m| m.version() == crate::RECOMPUTE_STATES_AT)
    {
        recompute_states(&mut conn)?;
    }
    if report
        .applied_migrations()
        .iter()
        .any(|m| m.version() == crate::CUSTOMER_KEYS_AT)
    {
        customer_keys(&mut conn)?;
    }
    Ok(report.applied_migrations().len())
}

/// Folds the search keys of the customers the migration created in Rust (SQLite's
/// `lower()` folds ASCII only, and it has no `reverse()` for the phone key), so rows
/// from before match like rows written since.
fn customer_keys(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn.transaction()?;
    let rows: Vec<(String, Option<String>, Option<String>)> = {
        let mut stmt = tx.prepare("SELECT id, name, phone FROM customers")?;
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?
    };
    {
        let mut update =
            tx.prepare("UPDATE customers SET name_key = ?2, phone_key = ?3 WHERE id = ?1")?;
        for (id, name, phone) in rows {
            update.execute(rusqlite::params![
                id,
                customer::name_key(name.as_deref().unwrap_or_default()),
                phone.as_deref().and_then(customer::phone_key),
            ])?;
        }
    }
    tx.commit()?;
    Ok(())
}

/// Rewrites every order's derived state columns from its snapshot, in one transaction:
/// run once, by the migration that changed how they are derived.
fn recompute_states(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn.transaction()?;
    let rows: Vec<(String, String)> = {
        let mut stmt = tx.prepare("SELECT id, snapshot FROM orders")?;
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?
    };
    {
        let mut update = tx.prepare(
            "UPDATE orders SET status = ?2, refund_state = ?3, on_hold = ?4 WHERE id = ?1",
        )?;
        for (id, snapshot) in rows {
            let order: orderly_domain::order::Order = serde_json::from_str(&snapshot)?;
            update.execute(rusqlite::params![
                id,
                order.customer_status().as_str(),
                order.refund_state().as_str(),
                order.on_hold()
            ])?;
        }
    }
    tx.commit()?;
    Ok(())
}

/// Writes a consistent copy of the database at `path` to `to` (which must not exist)
/// while other processes keep using it: `VACUUM INTO` reads one snapshot and writes a
/// compact file. A failed backup leaves no partial file behind.
pub fn backup(path: &Path, to: &Path) -> Result<(), StoreError> {
    let conn = open_connection(path, OpenFlags::SQLITE_OPEN_READ_WRITE, Synchronous::Full)?;
    let target = to
        .to_str()
        .ok_or_else(|| StoreError::Database("backup path is not UTF-8".into()))?;
    conn.execute("VACUUM INTO ?1", [target])
        .map(|_| ())
        .map_err(|e| {
            let _ = std::fs::remove_file(to);
            StoreError::from(e)
        })
}

/// The SQLite store: cheap to clone, shared by every request.
#[derive(Clone)]
pub struct SqliteStore {
    writer: Writer,
    reads: ReadPool,
    path: PathBuf,
    groups: Arc<GroupCounters>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Migrates the database and starts the writer thread and read pool.
    pub fn open(options: &SqliteOptions) -> Result<SqliteStore, StoreError> {
        migrate(&options.path)?;
        let rw = OpenFlags::SQLITE_OPEN_READ_WRITE;
        let write_conn = open_connection(&options.path, rw, options.synchronous)?;
        write_conn.set_prepared_statement_cache_capacity(64);
        let groups = Arc::new(GroupCounters::default());
        let writer = Writer::start(
            writer::WriterConn::new(write_conn, options.kpi.clone()),
            options.max_batch,
            groups.clone(),
        )?;
        let mut readers = Vec::with_capacity(options.read_connections.max(1));
        for _ in 0..options.read_connections.max(1) {
            let conn = open_connection(
                &options.path,
                OpenFlags::SQLITE_OPEN_READ_ONLY,
                options.synchronous,
            )?;
            conn.pragma_update(None, "query_only", "ON")?;
            readers.push(conn);
        }
        Ok(SqliteStore {
            writer,
            reads: ReadPool::new(readers),
            path: options.path.clone(),
            groups,
        })
    }

    /// Queues `f` for the writer; background work commits in a group of its own (see
    /// `writer`).
    pub(crate) async fn write<T, E, F>(&self, f: F, background: bool) -> Result<T, E>
    where
        F: FnMut(&mut dyn WriteTx) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        self.writer.submit(f, background).await
    }

    pub(crate) async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(&mut dyn Reader) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        self.reads
            .run(move |conn| f(&mut SqliteReader::new(conn)))
            .await
    }

    /// Runs `orderly check` inside one read transaction: a consistent picture even while
    /// the server keeps writing.
    pub(crate) async fn check(&self) -> Result<CheckReport, StoreError> {
        self.reads
            .run(|conn| {
                conn.execute_batch("BEGIN")?;
                let report = check::run(&mut SqliteReader::new(conn));
                conn.execute_batch("COMMIT")?;
                report
            })
            .await
    }

    pub(crate) fn group_stats(&self) -> GroupStats {
        self.groups.snapshot()
    }

    pub(crate) fn writer_busy(&self) -> crate::group::WriterBusy {
        self.groups.writer_busy()
    }

    pub(crate) fn shutdown(&self) {
        self.writer.shutdown();
    }
}
