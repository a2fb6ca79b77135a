//! What the store's integration tests share: a fresh store on the backend the suite runs
//! against (SQLite always; PostgreSQL when `ORDERLY_TEST_DATABASE_URL` names a server, as
//! CI sets it), and the rows of every table, read straight from the database.

// Test code: a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use orderly_store::{PgOptions, SqliteOptions, Store};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// A store on a database of its own, and where that database is.
pub struct TestStore {
    pub store: Store,
    /// Holds the SQLite file (and is empty on PostgreSQL).
    _dir: tempfile::TempDir,
    place: Place,
}

enum Place {
    Sqlite(PathBuf),
    /// The server's URL without a database, and the database's name.
    Postgres {
        server: String,
        name: String,
    },
}

/// The server the suite runs PostgreSQL tests on, if it names one.
fn postgres_base() -> Option<String> {
    std::env::var("ORDERLY_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

/// A fresh store, committing groups of commands together or, with `group_commit` off,
/// every command alone (as `database.group_commit = false` configures the server).
pub async fn open(group_commit: bool) -> TestStore {
    let dir = tempfile::tempdir().unwrap();
    let Some(base) = postgres_base() else {
        let path = dir.path().join("t.db");
        let mut options = SqliteOptions::new(&path);
        if !group_commit {
            options.max_batch = 1;
        }
        let store = Store::open_sqlite(&options).unwrap();
        return TestStore {
            store,
            _dir: dir,
            place: Place::Sqlite(path),
        };
    };
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let name = format!("orderly_store_t_{}_{nanos}_{n}", std::process::id());
    admin(&base)
        .await
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    let (server, _) = base.rsplit_once('/').expect("a URL ending in /database");
    let mut options = PgOptions::new(format!("{server}/{name}"));
    options.group_commit = group_commit;
    let store = Store::open_postgres(&options).await.unwrap();
    store.prepare_channels(&["web".to_owned()]).await.unwrap();
    TestStore {
        store,
        _dir: dir,
        place: Place::Postgres {
            server: server.to_owned(),
            name,
        },
    }
}

async fn admin(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connect to ORDERLY_TEST_DATABASE_URL");
    tokio::spawn(connection);
    client
}

impl TestStore {
    /// The rows of every table the migrations made (their history aside), each row as
    /// text, sorted: the content, whatever order it was written in. Surrogate keys
    /// (`events.seq` and the other serial ids) are left out, because they number rows in
    /// the order they were committed, which concurrent commands do not fix.
    pub async fn rows(&self) -> BTreeMap<String, Vec<String>> {
        match &self.place {
            Place::Sqlite(path) => sqlite_rows(path),
            Place::Postgres { server, name } => postgres_rows(&format!("{server}/{name}")).await,
        }
    }

    /// Closes the store (its connections with it) and keeps only where its database is,
    /// to be removed with `remove` (on PostgreSQL, dropping a database waits for a
    /// checkpoint: several dropped together wait for one).
    pub fn close(self) -> Closed {
        Closed {
            _dir: self._dir,
            place: self.place,
        }
    }
}

/// The database of a store that was closed.
pub struct Closed {
    _dir: tempfile::TempDir,
    place: Place,
}

/// Drops the PostgreSQL databases of closed stores (SQLite files go with their
/// directories).
pub async fn remove(closed: Vec<Closed>) {
    let Some(base) = postgres_base() else {
        return;
    };
    let drops = closed.iter().filter_map(|c| match &c.place {
        Place::Postgres { name, .. } => Some(name),
        Place::Sqlite(_) => None,
    });
    let drops = drops.map(|name| {
        let base = base.clone();
        async move {
            admin(&base)
                .await
                .batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)"))
                .await
                .unwrap();
        }
    });
    futures_util::future::join_all(drops).await;
}

fn sqlite_rows(path: &std::path::Path) -> BTreeMap<String, Vec<String>> {
    let conn =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let tables: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table'
             AND name NOT LIKE 'sqlite_%' AND name <> 'refinery_schema_history' ORDER BY name",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut out = BTreeMap::new();
    for table in tables {
        // (name, declared type, part of the primary key): an INTEGER PRIMARY KEY alone is
        // the rowid, SQLite's serial id.
        let columns: Vec<(String, String, i64)> = conn
            .prepare(&format!(
                "SELECT name, type, pk FROM pragma_table_info('{table}')"
            ))
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let keys = columns.iter().filter(|c| c.2 > 0).count();
        let kept: Vec<String> = columns
            .iter()
            .filter(|(_, ty, pk)| !(*pk == 1 && keys == 1 && ty.eq_ignore_ascii_case("INTEGER")))
            .map(|(name, _, _)| format!("'{name}=' || quote(\"{name}\")"))
            .collect();
        // `quote` writes any value as its SQL literal (blobs too), so types stay apart.
        let sql = format!("SELECT {} FROM \"{table}\"", kept.join(" || ' ' || "));
        let mut rows: Vec<String> = conn
            .prepare(&sql)
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        rows.sort();
        out.insert(table, rows);
    }
    out
}

async fn postgres_rows(url: &str) -> BTreeMap<String, Vec<String>> {
    let client = admin(url).await;
    let tables = client
        .query(
            "SELECT table_name::text FROM information_schema.tables
             WHERE table_schema = 'public' AND table_type = 'BASE TABLE'
               AND table_name <> 'refinery_schema_history' ORDER BY 1",
            &[],
        )
        .await
        .unwrap();
    let mut out = BTreeMap::new();
    for table in tables {
        let table: String = table.get(0);
        let serial: Vec<String> = client
            .query(
                "SELECT column_name::text FROM information_schema.columns
                 WHERE table_schema = 'public' AND table_name = $1
                   AND column_default LIKE 'nextval(%'",
                &[&table],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        let without: String = serial.iter().map(|c| format!(" - '{c}'")).collect();
        let sql = format!("SELECT (to_jsonb(t){without})::text FROM \"{table}\" t");
        let mut rows: Vec<String> = client
            .query(&sql, &[])
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        rows.sort();
        out.insert(table, rows);
    }
    out
}
