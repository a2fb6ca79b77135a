//! Failed authentications, counted per peer address so that guessing keys from one
//! address is slowed to `server.auth_failure_limit` tries per
//! `server.auth_failure_window_seconds`: once a peer has failed that often in its
//! window, every request from it that needs a key answers 429 with `Retry-After` until
//! the window, counted from its first failure, is over. A key is 256 random bits, so this
//! is about noise and cost, not about keeping a key from being found.
//!
//! Time comes from the application's clock, so a test shows the block and its end by
//! moving the clock instead of sleeping. At most [`MAX_PEERS`] addresses are remembered:
//! when full, windows that are over are forgotten first, then the oldest.

use jiff::{SignedDuration, Timestamp};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};

/// The most peer addresses remembered at once (about a megabyte).
pub const MAX_PEERS: usize = 10_000;

/// A peer's failures in its current window.
#[derive(Debug, Clone, Copy)]
struct Failures {
    first_at: Timestamp,
    count: u32,
}

#[derive(Debug)]
pub struct AuthThrottle {
    limit: u32,
    window: SignedDuration,
    peers: Mutex<HashMap<IpAddr, Failures>>,
}

impl AuthThrottle {
    pub fn new(limit: u32, window_seconds: u64) -> AuthThrottle {
        AuthThrottle {
            limit,
            window: SignedDuration::from_secs(i64::try_from(window_seconds).unwrap_or(i64::MAX)),
            peers: Mutex::new(HashMap::new()),
        }
    }

    /// `Err(seconds)` while `peer` is blocked: the whole seconds until it may try again.
    pub fn check(&self, peer: IpAddr, now: Timestamp) -> Result<(), u64> {
        let peers = self.peers.lock().unwrap_or_else(PoisonError::into_inner);
        match peers.get(&peer) {
            Some(f) if f.count >= self.limit && now < self.window_end(f) => {
                let left =
                    u128::try_from(self.window_end(f).duration_since(now).as_millis()).unwrap_or(0);
                Err(u64::try_from(left.div_ceil(1000))
                    .unwrap_or(u64::MAX)
                    .max(1))
            }
            _ => Ok(()),
        }
    }

    /// Counts a failure of `peer`; returns its failures in the current window.
    pub fn record_failure(&self, peer: IpAddr, now: Timestamp) -> u32 {
        let mut peers = self.peers.lock().unwrap_or_else(PoisonError::into_inner);
        if !peers.contains_key(&peer) && peers.len() >= MAX_PEERS {
            peers.retain(|_, f| now < self.window_end(f));
            if peers.len() >= MAX_PEERS
                && let Some(oldest) = peers
                    .iter()
                    .min_by_key(|(_, f)| f.first_at)
                    .map(|(p, _)| *p)
            {
                peers.remove(&oldest);
            }
        }
        let failures = peers.entry(peer).or_insert(Failures {
            first_at: now,
            count: 0,
        });
        if now >= self.window_end(failures) {
            *failures = Failures {
                first_at: now,
                count: 0,
            };
        }
        failures.count = failures.count.saturating_add(1);
        failures.count
    }

    fn window_end(&self, f: &Failures) -> Timestamp {
        f.first_at.saturating_add(self.window).unwrap_or(f.first_at)
    }

    #[cfg(test)]
    fn remembered(&self) -> usize {
        self.peers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

/// What a log line may say about a presented credential: its first eight characters
/// (`oly_5c1e`), enough to tell keys apart, never the secret.
pub fn key_prefix(token: &str) -> String {
    token
        .chars()
        .take(8)
        .map(|c| if c.is_ascii_graphic() { c } else { '?' })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(second: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + second).unwrap()
    }

    #[test]
    fn a_peer_is_blocked_after_the_limit_until_its_window_ends() {
        let throttle = AuthThrottle::new(3, 60);
        let peer: IpAddr = "192.0.2.1".parse().unwrap();
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        for i in 0..3 {
            assert_eq!(throttle.check(peer, at(i)), Ok(()));
            throttle.record_failure(peer, at(i));
        }
        assert_eq!(throttle.check(peer, at(10)), Err(50));
        assert_eq!(throttle.check(other, at(10)), Ok(()));
        assert_eq!(throttle.check(peer, at(59)), Err(1));
        assert_eq!(throttle.check(peer, at(60)), Ok(()));
        assert_eq!(throttle.record_failure(peer, at(60)), 1, "a new window");
    }

    #[test]
    fn memory_stays_bounded_and_the_newest_peer_is_counted() {
        let throttle = AuthThrottle::new(1, 60);
        for i in 0..=MAX_PEERS as u32 {
            throttle.record_failure(IpAddr::from(i.to_be_bytes()), at(0));
        }
        assert_eq!(throttle.remembered(), MAX_PEERS);
        let newest = IpAddr::from((MAX_PEERS as u32).to_be_bytes());
        assert_eq!(throttle.check(newest, at(1)), Err(59));
    }

    #[test]
    fn a_key_prefix_never_carries_the_secret() {
        let key = "oly_5c1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f";
        assert_eq!(key_prefix(key), "oly_5c1e");
        assert_eq!(key_prefix("ab\u{7}"), "ab?");
    }
}
