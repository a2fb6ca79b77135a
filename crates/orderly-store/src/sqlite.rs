//! Opening a SQLite database: pragmas, migrations, the writer thread and the read pool.

use crate::error::StoreError;
use crate::read::Reader;
use crate::reader::ReadPool;
use crate::write::WriteTx;
use crate::writer::Writer;
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};

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
}

impl SqliteOptions {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        SqliteOptions {
            path: path.into(),
            synchronous: Synchronous::Full,
            read_connections: 4,
            max_batch: 64,
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
    Ok(report.applied_migrations().len())
}

/// The store handle shared by every request: cheap to clone.
#[derive(Clone)]
pub struct Store {
    writer: Writer,
    reads: ReadPool,
    path: PathBuf,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Migrates the database and starts the writer thread and read pool.
    pub fn open(options: &SqliteOptions) -> Result<Store, StoreError> {
        migrate(&options.path)?;
        let rw = OpenFlags::SQLITE_OPEN_READ_WRITE;
        let write_conn = open_connection(&options.path, rw, options.synchronous)?;
        write_conn.set_prepared_statement_cache_capacity(64);
        let writer = Writer::start(write_conn, options.max_batch)?;
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
        Ok(Store {
            writer,
            reads: ReadPool::new(readers),
            path: options.path.clone(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` inside the next write transaction, in its own savepoint. Its effects commit
    /// only if it returns `Ok` and the group's COMMIT succeeds; the answer arrives after
    /// the commit is durable.
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut WriteTx<'_>) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        self.writer.submit(f).await
    }

    /// Runs read-only queries on a pooled connection, off the async threads.
    pub async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(&Reader<'_>) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        self.reads.run(move |conn| f(&Reader::new(conn))).await
    }

    /// Stops accepting writes and waits for the writer to finish what it has.
    pub fn shutdown(&self) {
        self.writer.shutdown();
    }
}
