//! What group commit did, counted per store: a test (or an operator) can see that commands
//! were committed together and that a failing one made its group fall back to one by one,
//! not only that the rows came out right.

use std::sync::atomic::{AtomicU64, Ordering};

/// Counts since the store was opened (see `Store::group_stats`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GroupStats {
    /// Groups of two or more commands committed together in one go: one transaction on
    /// SQLite, one joined statement and commit on PostgreSQL.
    pub groups_joined: u64,
    /// The commands in those groups.
    pub commands_in_joined_groups: u64,
    /// Groups whose run together failed and whose commands then ran one by one: on
    /// SQLite again, each in a savepoint of its own (a group of one too); on PostgreSQL
    /// each command's own statement, after the server refused the joined one.
    pub fallbacks_one_by_one: u64,
}

/// The live counters behind `GroupStats`, shared by a store and its writer or committer.
#[derive(Debug, Default)]
pub(crate) struct GroupCounters {
    groups_joined: AtomicU64,
    commands_in_joined_groups: AtomicU64,
    fallbacks_one_by_one: AtomicU64,
    /// Microseconds the SQLite writer spent running and committing groups, and how
    /// many of them went to background groups.
    writer_busy_micros: AtomicU64,
    background_busy_micros: AtomicU64,
}

/// How long the single writer has been busy since the store was opened: in all, and
/// with background work (see `Store::write_background`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriterBusy {
    pub all: std::time::Duration,
    pub background: std::time::Duration,
}

impl GroupCounters {
    /// Counts a group of `commands` that committed together, if it was a group at all.
    pub(crate) fn joined(&self, commands: usize) {
        if commands >= 2 {
            self.groups_joined.fetch_add(1, Ordering::Relaxed);
            self.commands_in_joined_groups
                .fetch_add(commands as u64, Ordering::Relaxed);
        }
    }

    /// Counts a group's time on the single writer (SQLite; PostgreSQL has none).
    pub(crate) fn busy(&self, took: std::time::Duration, background: bool) {
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.writer_busy_micros.fetch_add(micros, Ordering::Relaxed);
        if background {
            self.background_busy_micros
                .fetch_add(micros, Ordering::Relaxed);
        }
    }

    pub(crate) fn writer_busy(&self) -> WriterBusy {
        let load = |c: &AtomicU64| std::time::Duration::from_micros(c.load(Ordering::Relaxed));
        WriterBusy {
            all: load(&self.writer_busy_micros),
            background: load(&self.background_busy_micros),
        }
    }

    pub(crate) fn fell_back(&self) {
        self.fallbacks_one_by_one.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> GroupStats {
        GroupStats {
            groups_joined: self.groups_joined.load(Ordering::Relaxed),
            commands_in_joined_groups: self.commands_in_joined_groups.load(Ordering::Relaxed),
            fallbacks_one_by_one: self.fallbacks_one_by_one.load(Ordering::Relaxed),
        }
    }
}
