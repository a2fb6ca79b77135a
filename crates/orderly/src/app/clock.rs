//! Time and ids are injected, not read from the process: every command asks its `App`
//! for the current instant and for new ids. Production runs on the system clock and
//! uuid v7; the tests run on a `ManualClock` they move by hand, so a deadline test fires
//! at an exact millisecond instead of sleeping and hoping.

use jiff::{SignedDuration, Timestamp};
use std::sync::atomic::{AtomicI64, Ordering};

/// Where a process reads the current time.
pub trait Clock: Send + Sync {
    /// The current time, truncated to the millisecond precision that storage keeps, so a
    /// snapshot and the replay of its events carry identical timestamps.
    fn now(&self) -> Timestamp;
}

/// The operating system's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        to_millisecond(Timestamp::now())
    }
}

/// A clock that stands still until told to move: tests set or advance it, and every
/// reader (the request handlers and the timer worker alike) sees the same instant.
#[derive(Debug)]
pub struct ManualClock {
    millis: AtomicI64,
}

impl ManualClock {
    /// A clock stopped at `start` (truncated to the millisecond).
    pub fn new(start: Timestamp) -> ManualClock {
        ManualClock {
            millis: AtomicI64::new(start.as_millisecond()),
        }
    }

    /// The instant the clock stands at (also what `Clock::now` answers).
    pub fn now(&self) -> Timestamp {
        from_millis(self.millis.load(Ordering::SeqCst))
    }

    /// Moves the clock to `at` (truncated to the millisecond), backwards or forwards.
    pub fn set(&self, at: Timestamp) {
        self.millis.store(at.as_millisecond(), Ordering::SeqCst);
    }

    /// Moves the clock by `by` (negative moves it back); returns the new time.
    pub fn advance(&self, by: SignedDuration) -> Timestamp {
        let step = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        let before = self
            .millis
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |m| {
                Some(m.saturating_add(step))
            })
            .unwrap_or_else(|m| m);
        from_millis(before.saturating_add(step))
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        ManualClock::now(self)
    }
}

fn to_millisecond(t: Timestamp) -> Timestamp {
    from_millis(t.as_millisecond())
}

fn from_millis(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// Where a process gets new opaque ids.
pub trait IdSource: Send + Sync {
    /// A new id such as `ord_0193c0d2…`: the prefix, an underscore, and the rest.
    fn new_id(&self, prefix: &str) -> String;
}

/// Time-sortable ids: `prefix_<uuid v7, simple form>`.
#[derive(Debug, Default, Clone, Copy)]
pub struct UuidV7Ids;

impl IdSource for UuidV7Ids {
    fn new_id(&self, prefix: &str) -> String {
        format!("{prefix}_{}", uuid::Uuid::now_v7().simple())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_stands_still_until_moved() {
        let start = Timestamp::from_millisecond(1_700_000_000_123).unwrap();
        let clock = ManualClock::new(start);
        assert_eq!(clock.now(), start);
        assert_eq!(clock.now(), start);
        let later = clock.advance(SignedDuration::from_millis(1));
        assert_eq!(later.as_millisecond(), 1_700_000_000_124);
        assert_eq!(clock.now(), later);
        clock.set(start);
        assert_eq!(clock.now(), start);
    }

    #[test]
    fn the_system_clock_keeps_milliseconds_only() {
        let t = SystemClock.now();
        assert_eq!(t.subsec_nanosecond() % 1_000_000, 0);
    }

    #[test]
    fn ids_keep_their_format() {
        let id = UuidV7Ids.new_id("ord");
        assert!(id.starts_with("ord_"));
        assert_eq!(id.len(), 4 + 32);
        assert!(id[4..].bytes().all(|b| b.is_ascii_hexdigit()));
    }
}
