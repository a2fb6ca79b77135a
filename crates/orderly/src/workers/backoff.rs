//! The retry schedule of deliveries and messages: configured steps, each moved by a
//! jitter so endpoints that failed together are not all retried together.

use jiff::{SignedDuration, Timestamp};

/// When to try again after failed attempt number `attempt` (1 is the first), or None
/// when the schedule is used up. The wait is the schedule's step, moved by up to
/// `jitter_percent` either way, by an amount taken from the id and attempt (so it is
/// spread across deliveries yet the same whichever process computes it).
pub fn retry_at(
    schedule: &[u64],
    jitter_percent: u8,
    attempt: i64,
    id: &str,
    now: Timestamp,
) -> Option<Timestamp> {
    let step = usize::try_from(attempt - 1).ok()?;
    let base = *schedule.get(step)?;
    let base_ms = i64::try_from(base.saturating_mul(1000)).unwrap_or(i64::MAX);
    let spread = base_ms.saturating_mul(i64::from(jitter_percent)) / 100;
    let offset = match u64::try_from(spread) {
        Ok(s) if s > 0 => {
            let h = fnv1a(format!("{id}:{attempt}").as_bytes());
            i64::try_from(h % (2 * s + 1)).unwrap_or(0) - spread
        }
        _ => 0,
    };
    now.saturating_add(SignedDuration::from_millis(base_ms + offset))
        .ok()
}

/// FNV-1a, a small stable hash (the standard library's is seeded per process).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::WebhooksConfig;
    use std::collections::HashSet;

    #[test]
    fn retries_follow_the_schedule_within_the_jitter_then_stop() {
        let config = WebhooksConfig::default();
        let schedule = &config.retry_schedule_seconds;
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        let mut total = 0;
        for (i, step) in schedule.iter().enumerate() {
            let attempt = i as i64 + 1;
            let at = retry_at(schedule, 20, attempt, "whd_1", now).unwrap();
            let wait = at.duration_since(now).as_millis() as i64;
            let (low, high) = (*step as i64 * 800, *step as i64 * 1200);
            assert!((low..=high).contains(&wait), "attempt {attempt}: {wait} ms");
            assert_eq!(
                Some(at),
                retry_at(schedule, 20, attempt, "whd_1", now),
                "stable"
            );
            total += step;
        }
        assert!(total >= 24 * 3600, "the default schedule spans a day");
        let last = schedule.len() as i64 + 1;
        assert_eq!(retry_at(schedule, 20, last, "whd_1", now), None);
        let spread: HashSet<_> = (0..20)
            .map(|i| retry_at(schedule, 20, 2, &format!("whd_{i}"), now))
            .collect();
        assert!(spread.len() > 10, "jitter spreads deliveries: {spread:?}");
        let exact = retry_at(schedule, 0, 1, "whd_1", now).unwrap();
        assert_eq!(
            exact.duration_since(now).as_secs(),
            5,
            "no jitter, the step itself"
        );
    }
}
