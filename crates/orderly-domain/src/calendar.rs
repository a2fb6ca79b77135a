//! Business time for SLA clocks: "answer within 8 working hours", "refund within 5
//! business days". A promise made to a customer or a carrier counts the hours the
//! business is open, not the hours on the wall, so a clock that starts on Friday
//! afternoon keeps running on Monday morning.
//!
//! Working hours are local wall-clock times ("09:00–17:00 in New York"), so the calendar
//! walks local dates one by one and asks jiff for the instant of each interval's start
//! and end on that date. Daylight-saving changes are jiff's business: a day open
//! 00:00–24:00 has 23 hours of work on the spring-forward date and 25 on the fall-back
//! one, and nothing here adds hours to instants. A wall-clock time that does not exist or
//! exists twice is resolved with jiff's *compatible* disambiguation (a time in a gap is
//! pushed forward by the gap's length; a time in a fold takes its first occurrence).
//!
//! Pure like the rest of the crate: the current time is always an argument. Every walk
//! is bounded by [`HORIZON_DAYS`]; the constructor refuses a week without working hours,
//! but holidays can still close every day for years, and a deadline computation must
//! never hang a request.

use crate::Timestamp;
use jiff::SignedDuration;
use jiff::civil::{Date, DateTime, Weekday};
use jiff::tz::TimeZone;
use std::collections::BTreeSet;
use std::fmt;

/// How many local days a computation walks at most (100 years). Past it, [`add`] and
/// [`add_business_days`] give `Timestamp::MAX` ("never"), and [`between`] and
/// [`business_days_between`] stop counting.
///
/// [`add`]: BusinessCalendar::add
/// [`add_business_days`]: BusinessCalendar::add_business_days
/// [`between`]: BusinessCalendar::between
/// [`business_days_between`]: BusinessCalendar::business_days_between
pub const HORIZON_DAYS: usize = 36_525;

const MINUTES_PER_DAY: u16 = 24 * 60;

/// Why a calendar (or one of its parts) was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("{hour:02}:{minute:02} is not a time of day from 00:00 to 24:00")]
    InvalidTime { hour: u8, minute: u8 },
    /// `index` counts from 0 in the weekday's list.
    #[error("{weekday:?} interval {index} does not end after it starts")]
    EmptyInterval { weekday: Weekday, index: usize },
    #[error("{weekday:?} interval {index} starts before the one before it")]
    OutOfOrder { weekday: Weekday, index: usize },
    #[error("{weekday:?} interval {index} overlaps the one before it")]
    Overlap { weekday: Weekday, index: usize },
    #[error("{weekday:?} is given more than once")]
    DuplicateWeekday { weekday: Weekday },
    #[error("no working hours in the week")]
    NoWorkingHours,
}

/// A local wall-clock time of day in whole minutes, from 00:00 to 24:00 inclusive;
/// 24:00 is the end of the day (the next day's midnight), so an interval can run until
/// midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WallTime {
    minutes: u16,
}

impl WallTime {
    pub const MIDNIGHT: WallTime = WallTime { minutes: 0 };
    pub const END_OF_DAY: WallTime = WallTime {
        minutes: MINUTES_PER_DAY,
    };

    /// `hour:minute`, where 24:00 is the only time with hour 24.
    pub fn new(hour: u8, minute: u8) -> Result<WallTime, CalendarError> {
        let minutes = u16::from(hour) * 60 + u16::from(minute);
        if minute >= 60 || minutes > MINUTES_PER_DAY {
            return Err(CalendarError::InvalidTime { hour, minute });
        }
        Ok(WallTime { minutes })
    }

    /// The instant this time has on `date` in `tz` (compatible disambiguation), or None
    /// at the edge of jiff's range.
    fn on(self, date: Date, tz: &TimeZone) -> Option<Timestamp> {
        let local: DateTime = if self == WallTime::END_OF_DAY {
            date.tomorrow().ok()?.at(0, 0, 0, 0)
        } else {
            // Both fit an i8: the hour is below 24, the minute below 60.
            date.at((self.minutes / 60) as i8, (self.minutes % 60) as i8, 0, 0)
        };
        tz.to_timestamp(local).ok()
    }
}

impl fmt::Display for WallTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.minutes / 60, self.minutes % 60)
    }
}

/// Working time on one weekday, from `start` (open) until `end` (closed again).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interval {
    pub start: WallTime,
    pub end: WallTime,
}

/// When the business works: a time zone, intervals of local time per weekday, and
/// holidays (local dates closed all day).
#[derive(Debug, Clone)]
pub struct BusinessCalendar {
    time_zone: TimeZone,
    /// Indexed by `Weekday::to_monday_zero_offset`; each list is sorted and disjoint.
    hours: [Vec<Interval>; 7],
    holidays: BTreeSet<Date>,
}

impl BusinessCalendar {
    /// A calendar from its parts. A weekday left out is closed. Each weekday's intervals
    /// must be in time order, each ending after it starts and none overlapping the next
    /// (one may end where the next starts); at least one weekday must have some.
    pub fn new(
        time_zone: TimeZone,
        hours: impl IntoIterator<Item = (Weekday, Vec<Interval>)>,
        holidays: impl IntoIterator<Item = Date>,
    ) -> Result<BusinessCalendar, CalendarError> {
        let mut week: [Option<Vec<Interval>>; 7] = Default::default();
        for (weekday, intervals) in hours {
            BusinessCalendar::check_day(weekday, &intervals)?;
            let slot = &mut week[day_index(weekday)];
            if slot.is_some() {
                return Err(CalendarError::DuplicateWeekday { weekday });
            }
            *slot = Some(intervals);
        }
        let hours = week.map(Option::unwrap_or_default);
        if hours.iter().all(Vec::is_empty) {
            return Err(CalendarError::NoWorkingHours);
        }
        Ok(BusinessCalendar {
            time_zone,
            hours,
            holidays: holidays.into_iter().collect(),
        })
    }

    /// Monday to Friday, 09:00–17:00 UTC, no holidays: the calendar of a business that
    /// configured none.
    pub fn office_hours_utc() -> BusinessCalendar {
        let day = vec![Interval {
            start: WallTime { minutes: 9 * 60 },
            end: WallTime { minutes: 17 * 60 },
        }];
        let closed = Vec::new;
        BusinessCalendar {
            time_zone: TimeZone::UTC,
            hours: [
                day.clone(),
                day.clone(),
                day.clone(),
                day.clone(),
                day,
                closed(),
                closed(),
            ],
            holidays: BTreeSet::new(),
        }
    }

    /// The checks `new` makes of one weekday's intervals, for a caller that reports the
    /// problems of every weekday rather than the first.
    pub fn check_day(weekday: Weekday, intervals: &[Interval]) -> Result<(), CalendarError> {
        for (index, interval) in intervals.iter().enumerate() {
            if interval.start >= interval.end {
                return Err(CalendarError::EmptyInterval { weekday, index });
            }
            let Some(before) = index.checked_sub(1).and_then(|i| intervals.get(i)) else {
                continue;
            };
            if interval.start < before.start {
                return Err(CalendarError::OutOfOrder { weekday, index });
            }
            if interval.start < before.end {
                return Err(CalendarError::Overlap { weekday, index });
            }
        }
        Ok(())
    }

    pub fn time_zone(&self) -> &TimeZone {
        &self.time_zone
    }

    /// Whether `at` is working time: inside an interval (its start included, its end
    /// not) of a local date that is not a holiday.
    pub fn is_open(&self, at: Timestamp) -> bool {
        let date = self.local_date(at);
        // The day before and after too: in a zone whose clocks change at midnight (a
        // fold repeating the last hour of a date), an instant of one date's hours can
        // read as a neighbouring date on the clock.
        [date.yesterday().ok(), Some(date), date.tomorrow().ok()]
            .into_iter()
            .flatten()
            .flat_map(|d| self.day_intervals(d))
            .any(|(start, end)| start <= at && at < end)
    }

    /// The earliest instant by which `business` of working time has passed since
    /// `start`. A start outside working hours begins counting at the next opening, so
    /// Friday 16:00 plus 2 hours on a 09:00–17:00 week is Monday 10:00, and a result
    /// that uses up an interval exactly is that interval's end (Friday 16:00 plus 1 hour
    /// is Friday 17:00, not Monday 09:00).
    ///
    /// A zero duration gives `start` when it is open and the next opening when it is
    /// not: the clock is then about to start, and the result is where any positive
    /// duration would begin counting. A negative duration counts as zero. Past
    /// [`HORIZON_DAYS`] without enough working time the result is `Timestamp::MAX`.
    pub fn add(&self, start: Timestamp, business: SignedDuration) -> Timestamp {
        let mut remaining = business.max(SignedDuration::ZERO);
        for (from, end) in self.openings(start) {
            let available = end.duration_since(from);
            if remaining <= available {
                return from.checked_add(remaining).unwrap_or(Timestamp::MAX);
            }
            remaining -= available;
        }
        Timestamp::MAX
    }

    /// The working time in `[from, to)`; zero when `to` is not after `from`. Only the
    /// first [`HORIZON_DAYS`] from `from` are counted.
    pub fn between(&self, from: Timestamp, to: Timestamp) -> SignedDuration {
        if to <= from {
            return SignedDuration::ZERO;
        }
        self.openings(from)
            .take_while(|&(start, _)| start < to)
            .map(|(start, end)| end.min(to).duration_since(start))
            .sum()
    }

    /// The same local wall-clock time as `start` on the `n`-th business day after
    /// `start`'s local date (a business day is a date that is not a holiday and whose
    /// weekday has working hours; `start` itself need not be on one, nor within hours).
    /// Saturday 10:00 plus one business day is Monday 10:00. The local time is made an
    /// instant again with jiff's compatible disambiguation: 02:30 on a spring-forward
    /// date (a time that does not exist) is 03:30 there, and 01:30 on a fall-back date
    /// in New York (a time that exists twice) is its first occurrence, in daylight time.
    /// `n == 0` returns `start` unchanged. Past [`HORIZON_DAYS`] the result is
    /// `Timestamp::MAX`.
    pub fn add_business_days(&self, start: Timestamp, n: u32) -> Timestamp {
        if n == 0 {
            return start;
        }
        let local = self.time_zone.to_datetime(start);
        let nth = days_after(local.date())
            .filter(|&d| self.is_business_day(d))
            .nth(n as usize - 1);
        nth.and_then(|date| {
            self.time_zone
                .to_timestamp(date.to_datetime(local.time()))
                .ok()
        })
        .unwrap_or(Timestamp::MAX)
    }

    /// How many business days lie after `from`'s local date, up to and including `to`'s
    /// local date: the "business days it took" of a KPI. An RMA opened on Friday and
    /// refunded on the next Monday took 1 on a Monday–Friday week, whatever the times of
    /// day; refunded on the same date, 0. Zero when `to`'s local date is not after
    /// `from`'s; days past [`HORIZON_DAYS`] are not counted.
    pub fn business_days_between(&self, from: Timestamp, to: Timestamp) -> u32 {
        let last = self.local_date(to);
        let count = days_after(self.local_date(from))
            .take_while(|&d| d <= last)
            .filter(|&d| self.is_business_day(d))
            .count();
        // At most HORIZON_DAYS, which fits.
        u32::try_from(count).unwrap_or(u32::MAX)
    }

    fn local_date(&self, at: Timestamp) -> Date {
        self.time_zone.to_datetime(at).date()
    }

    fn is_business_day(&self, date: Date) -> bool {
        !self.holidays.contains(&date) && !self.hours[day_index(date.weekday())].is_empty()
    }

    /// The instants of `date`'s working intervals, in order; none on a holiday. An
    /// interval that a time-zone transition makes empty is left out.
    fn day_intervals(&self, date: Date) -> Vec<(Timestamp, Timestamp)> {
        if self.holidays.contains(&date) {
            return Vec::new();
        }
        let tz = &self.time_zone;
        self.hours[day_index(date.weekday())]
            .iter()
            .filter_map(|i| Some((i.start.on(date, tz)?, i.end.on(date, tz)?)))
            .filter(|(start, end)| start < end)
            .collect()
    }

    /// The working intervals from `from` on, in order: the first one cut to start at
    /// `from` when `from` is inside it, those that ended by `from` left out. The walk
    /// starts a day early (see `is_open`) and is bounded by [`HORIZON_DAYS`].
    fn openings(&self, from: Timestamp) -> impl Iterator<Item = (Timestamp, Timestamp)> + '_ {
        let date = self.local_date(from);
        let first = date.yesterday().unwrap_or(date);
        std::iter::successors(Some(first), |d| d.tomorrow().ok())
            .take(HORIZON_DAYS)
            .flat_map(|d| self.day_intervals(d))
            .filter(move |&(_, end)| end > from)
            .map(move |(start, end)| (start.max(from), end))
    }
}

/// The dates after `date`, at most [`HORIZON_DAYS`] of them.
fn days_after(date: Date) -> impl Iterator<Item = Date> {
    std::iter::successors(date.tomorrow().ok(), |d| d.tomorrow().ok()).take(HORIZON_DAYS)
}

fn day_index(weekday: Weekday) -> usize {
    // 0 to 6.
    weekday.to_monday_zero_offset() as usize
}

#[cfg(test)]
#[path = "calendar_tests.rs"]
mod tests;
