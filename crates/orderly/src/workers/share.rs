//! How much of the SQLite writer delivery may use while API requests are served. On
//! SQLite every write, capture's and delivery's, runs on the one writer thread, so
//! delivery work done while capture keeps the writer busy is capture lost: fanning out
//! and recording eight webhooks costs the writer about as much as capturing the order
//! did. The dispatcher therefore paces itself on what it measures: the writer's time
//! in all and its own (background writes commit in groups of their own, so their time,
//! commit included, is theirs: `Store::write_background`, `Store::writer_busy`). The
//! busier the requests keep the writer in the time the dispatcher leaves them, the
//! less it takes, down to `webhooks.writer_share_percent` when they keep it busy all
//! the time (so it never starves); when no request is served it runs flat out and
//! catches up.

use std::time::Duration;

/// The most of the writer the dispatcher takes, with no request served: the rest stays
/// free, so a burst of requests finds the writer ready instead of queueing behind a
/// fan-out.
const USABLE: f64 = 0.9;
/// The demand at which the requests count as wanting the whole writer: requests from
/// clients that wait for each answer cannot keep it busy all the time, however many.
const SATURATED: f64 = 0.7;
/// The longest pause after one pass; the next measures again.
const MAX_PAUSE: Duration = Duration::from_secs(2);

/// The writer's and the dispatcher's busy time as counted at one moment, with the wall
/// time since some fixed start.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Reading {
    pub wall: Duration,
    pub writer_busy: Duration,
    pub own: Duration,
}

/// Paces the dispatcher from one reading to the next.
#[derive(Debug, Clone)]
pub struct Pacer {
    last: Reading,
    min_share: f64,
    /// Writer seconds the dispatcher used beyond its share, not yet paid off by pausing.
    debt: f64,
}

impl Pacer {
    /// A pacer that leaves the dispatcher at least `min_share_percent` of the writer.
    pub fn new(start: Reading, min_share_percent: u8) -> Pacer {
        Pacer {
            last: start,
            min_share: f64::from(min_share_percent.clamp(1, 100)) / 100.0,
            debt: 0.0,
        }
    }

    /// How long to pause after a pass that ended at `now`, so that the dispatcher uses
    /// no more of the writer than it may over the passes and pauses together.
    pub fn pause(&mut self, now: Reading) -> Duration {
        let interval = now.wall.saturating_sub(self.last.wall).as_secs_f64();
        let own = now.own.saturating_sub(self.last.own).as_secs_f64();
        let busy = now
            .writer_busy
            .saturating_sub(self.last.writer_busy)
            .as_secs_f64();
        self.last = now;
        if interval <= 0.0 {
            return Duration::ZERO;
        }
        // How much of the time the dispatcher left them the requests kept the writer
        // busy: their demand. (Not their share of the whole interval: requests cannot
        // use the writer while it runs a fan-out, so that share shrinks by itself the
        // more the dispatcher takes, and would let it take ever more.)
        let left = interval - own;
        let demand = if left > 0.0 {
            ((busy - own) / left).clamp(0.0, 1.0)
        } else {
            1.0
        };
        let allowed = (USABLE * (1.0 - demand / SATURATED)).max(self.min_share);
        // The interval earned `allowed` of itself; what the dispatcher used beyond that
        // is paid off by pausing at the same rate. The pause is part of the next
        // interval, where it counts as earned: it pays once. (Stretching each interval
        // to `own / allowed` instead counts every pause twice, once as the stretch and
        // again inside the next interval: twice the share, measured at 17 % for 10 %.)
        self.debt = (self.debt + own - allowed * interval).max(0.0);
        // Whole milliseconds: finer than the runtime's timers anyway.
        let ms = (self.debt / allowed * 1000.0).round();
        Duration::from_millis(ms as u64).min(MAX_PAUSE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(wall_ms: u64, busy_ms: u64, own_ms: u64) -> Reading {
        Reading {
            wall: Duration::from_millis(wall_ms),
            writer_busy: Duration::from_millis(busy_ms),
            own: Duration::from_millis(own_ms),
        }
    }

    #[test]
    fn requests_that_keep_the_writer_busy_leave_the_dispatcher_its_minimum_share() {
        let mut p = Pacer::new(at(0, 0, 0), 10);
        // 100 ms: the writer was busy all of it, 20 ms of it for the dispatcher.
        let pause = p.pause(at(100, 100, 20));
        // 20 ms at 10 % wants a 200 ms interval: 100 ms more.
        assert_eq!(pause, Duration::from_millis(100));
        // The next interval (the pause and a pass like the first) earned 20 ms, of
        // which the pause paid off the first pass's 10 ms over; the second pass is
        // 10 ms over again: 40 ms in 400 ms.
        let pause = p.pause(at(300, 300, 40));
        assert_eq!(pause, Duration::from_millis(100));
    }

    #[test]
    fn over_many_passes_the_dispatcher_keeps_to_its_share() {
        let mut p = Pacer::new(at(0, 0, 0), 10);
        let (mut wall, mut own) = (0, 0);
        for _ in 0..200 {
            // A 10 ms pass with 5 ms of writer time, the writer busy all the time.
            wall += 10;
            own += 5;
            wall += p.pause(at(wall, wall, own)).as_millis() as u64;
        }
        let share = own as f64 / wall as f64;
        assert!((0.099..=0.101).contains(&share), "share {share}");
    }

    #[test]
    fn a_dispatcher_that_crowds_the_requests_out_is_held_back() {
        let mut p = Pacer::new(at(0, 0, 0), 10);
        // The dispatcher took 60 ms of 100; the requests kept the writer busy in all
        // of the 40 ms left to them: they want it all, so 60 ms is the 10 % of 600 ms.
        assert_eq!(p.pause(at(100, 100, 60)), Duration::from_millis(500));
    }

    #[test]
    fn an_idle_writer_does_not_hold_the_dispatcher_back() {
        let mut p = Pacer::new(at(0, 0, 0), 10);
        // Only the dispatcher used the writer: 80 ms of 100 ms is within 90 %.
        assert_eq!(p.pause(at(100, 80, 80)), Duration::ZERO);
    }

    #[test]
    fn the_dispatcher_takes_more_the_less_the_requests_want() {
        let mut p = Pacer::new(at(0, 0, 0), 10);
        // The requests kept the writer busy a quarter of the 80 ms left to them: the
        // dispatcher may use 58 %, so its 20 ms want 35 ms: within the 100 ms.
        assert_eq!(p.pause(at(100, 40, 20)), Duration::ZERO);
        // Next half of the 80 ms left: 26 % allowed, and 20 ms want 78 ms.
        assert_eq!(p.pause(at(200, 100, 40)), Duration::ZERO);
        // Then 75 % of the 60 ms left, past saturation: 10 %, and 40 ms want 400 ms.
        assert_eq!(p.pause(at(300, 185, 80)), Duration::from_millis(300));
    }

    #[test]
    fn a_pass_that_wrote_nothing_needs_no_pause_and_a_long_one_is_capped() {
        let mut p = Pacer::new(at(0, 0, 0), 1);
        assert_eq!(p.pause(at(100, 100, 0)), Duration::ZERO);
        // 500 ms of own writer time at 1 % would want 50 s.
        assert_eq!(p.pause(at(600, 600, 500)), MAX_PAUSE);
    }
}
