//! The business calendar: weekends, holidays, lunch breaks and starts outside hours; the
//! daylight-saving dates of 2026 in New York and Berlin with their exact instants; and
//! properties tying `add` to `between` and `add_business_days` to
//! `business_days_between`.

use super::*;
use Weekday::{Friday, Monday, Saturday, Sunday, Thursday, Tuesday, Wednesday};
use proptest::prelude::*;

const WEEK: [Weekday; 7] = [
    Monday, Tuesday, Wednesday, Thursday, Friday, Saturday, Sunday,
];

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn hours(h: i64) -> SignedDuration {
    SignedDuration::from_hours(h)
}

fn minutes(m: i64) -> SignedDuration {
    SignedDuration::from_mins(m)
}

fn wall(s: &str) -> WallTime {
    let (h, m) = s.split_once(':').unwrap();
    WallTime::new(h.parse().unwrap(), m.parse().unwrap()).unwrap()
}

fn iv(start: &str, end: &str) -> Interval {
    Interval {
        start: wall(start),
        end: wall(end),
    }
}

fn dates(list: &[&str]) -> Vec<Date> {
    list.iter().map(|d| d.parse().unwrap()).collect()
}

/// `days` each open `intervals` in `zone`.
fn calendar(
    zone: &str,
    days: &[Weekday],
    intervals: &[(&str, &str)],
    holidays: &[&str],
) -> BusinessCalendar {
    let day: Vec<Interval> = intervals.iter().map(|&(s, e)| iv(s, e)).collect();
    BusinessCalendar::new(
        TimeZone::get(zone).unwrap(),
        days.iter().map(|&d| (d, day.clone())),
        dates(holidays),
    )
    .unwrap()
}

/// Monday to Friday, 09:00–17:00 in New York.
fn office(holidays: &[&str]) -> BusinessCalendar {
    calendar(
        "America/New_York",
        &WEEK[..5],
        &[("09:00", "17:00")],
        holidays,
    )
}

#[test]
fn friday_afternoon_plus_two_hours_is_monday_morning() {
    let cal = office(&[]);
    assert_eq!(
        cal.add(ts("2026-06-05T16:00:00-04:00"), hours(2)),
        ts("2026-06-08T10:00:00-04:00")
    );
}

#[test]
fn a_holiday_is_skipped() {
    let cal = office(&["2026-06-08"]);
    assert_eq!(
        cal.add(ts("2026-06-05T16:00:00-04:00"), hours(2)),
        ts("2026-06-09T10:00:00-04:00")
    );
    assert!(!cal.is_open(ts("2026-06-08T12:00:00-04:00")));
}

#[test]
fn the_lunch_break_does_not_count() {
    let cal = calendar(
        "America/New_York",
        &WEEK[..5],
        &[("09:00", "12:00"), ("13:00", "17:00")],
        &[],
    );
    let eleven = ts("2026-06-02T11:00:00-04:00");
    assert_eq!(cal.add(eleven, hours(2)), ts("2026-06-02T14:00:00-04:00"));
    assert_eq!(cal.add(eleven, hours(1)), ts("2026-06-02T12:00:00-04:00"));
    assert_eq!(
        cal.between(eleven, ts("2026-06-02T14:00:00-04:00")),
        hours(2)
    );
    assert!(cal.is_open(ts("2026-06-02T11:59:59-04:00")));
    assert!(!cal.is_open(ts("2026-06-02T12:00:00-04:00")));
    assert!(!cal.is_open(ts("2026-06-02T12:30:00-04:00")));
    assert!(cal.is_open(ts("2026-06-02T13:00:00-04:00")));
}

#[test]
fn a_start_outside_hours_counts_from_the_next_opening() {
    let cal = office(&[]);
    assert_eq!(
        cal.add(ts("2026-06-02T07:00:00-04:00"), hours(1)),
        ts("2026-06-02T10:00:00-04:00")
    );
    assert_eq!(
        cal.add(ts("2026-06-02T18:00:00-04:00"), hours(1)),
        ts("2026-06-03T10:00:00-04:00")
    );
    // At 17:00 the office has just closed: the end of an interval is not open.
    assert!(!cal.is_open(ts("2026-06-05T17:00:00-04:00")));
    assert_eq!(
        cal.add(ts("2026-06-05T17:00:00-04:00"), minutes(30)),
        ts("2026-06-08T09:30:00-04:00")
    );
}

#[test]
fn zero_is_start_when_open_and_the_next_opening_when_closed() {
    let cal = office(&[]);
    let open = ts("2026-06-02T10:15:00-04:00");
    assert_eq!(cal.add(open, SignedDuration::ZERO), open);
    assert_eq!(
        cal.add(ts("2026-06-06T12:00:00-04:00"), SignedDuration::ZERO),
        ts("2026-06-08T09:00:00-04:00")
    );
    assert_eq!(cal.add(open, hours(-3)), open, "negative counts as zero");
}

#[test]
fn using_up_an_interval_exactly_ends_at_its_close() {
    let cal = office(&[]);
    assert_eq!(
        cal.add(ts("2026-06-05T16:00:00-04:00"), hours(1)),
        ts("2026-06-05T17:00:00-04:00")
    );
}

#[test]
fn between_skips_the_weekend_and_is_zero_backwards() {
    let cal = office(&[]);
    let friday = ts("2026-06-05T15:00:00-04:00");
    let monday = ts("2026-06-08T11:00:00-04:00");
    assert_eq!(cal.between(friday, monday), hours(4));
    assert_eq!(cal.between(monday, friday), SignedDuration::ZERO);
    assert_eq!(cal.between(friday, friday), SignedDuration::ZERO);
    assert_eq!(
        cal.between(
            ts("2026-06-06T08:00:00-04:00"),
            ts("2026-06-07T20:00:00-04:00")
        ),
        SignedDuration::ZERO
    );
}

#[test]
fn an_interval_may_run_until_midnight() {
    let cal = calendar("America/New_York", &[Monday], &[("22:00", "24:00")], &[]);
    assert!(cal.is_open(ts("2026-06-01T23:59:00-04:00")));
    assert!(!cal.is_open(ts("2026-06-02T00:00:00-04:00")));
    assert_eq!(
        cal.add(ts("2026-06-01T23:00:00-04:00"), hours(1)),
        ts("2026-06-02T00:00:00-04:00")
    );
    assert_eq!(
        cal.add(ts("2026-06-01T23:00:00-04:00"), hours(2)),
        ts("2026-06-08T23:00:00-04:00")
    );
}

/// Working time on one local date, from its midnight to the next.
fn day_length(cal: &BusinessCalendar, from: &str, to: &str) -> SignedDuration {
    cal.between(ts(from), ts(to))
}

#[test]
fn new_york_has_23_and_25_hour_days() {
    let cal = calendar("America/New_York", &WEEK, &[("00:00", "24:00")], &[]);
    assert_eq!(
        day_length(
            &cal,
            "2026-03-08T00:00:00-05:00",
            "2026-03-09T00:00:00-04:00"
        ),
        hours(23)
    );
    assert_eq!(
        day_length(
            &cal,
            "2026-11-01T00:00:00-04:00",
            "2026-11-02T00:00:00-05:00"
        ),
        hours(25)
    );
    // Round the clock, working time is real time: a day's work after midnight ends
    // at 01:00 the next day, after the lost hour.
    assert_eq!(
        cal.add(ts("2026-03-08T00:00:00-05:00"), hours(24)),
        ts("2026-03-09T01:00:00-04:00")
    );
}

#[test]
fn new_york_early_hours_across_the_changes() {
    let cal = calendar("America/New_York", &WEEK, &[("01:00", "05:00")], &[]);
    // 01:00 EST to 05:00 EDT: three hours.
    let spring = ts("2026-03-08T01:00:00-05:00");
    assert_eq!(
        cal.between(spring, ts("2026-03-08T05:00:00-04:00")),
        hours(3)
    );
    assert_eq!(cal.add(spring, hours(3)), ts("2026-03-08T05:00:00-04:00"));
    assert_eq!(cal.add(spring, hours(4)), ts("2026-03-09T02:00:00-04:00"));
    assert!(!cal.is_open(ts("2026-03-08T05:30:00-04:00")));
    // 01:00 EDT (the first of two) to 05:00 EST: five hours.
    let fall = ts("2026-11-01T01:00:00-04:00");
    assert_eq!(cal.between(fall, ts("2026-11-01T05:00:00-05:00")), hours(5));
    assert_eq!(cal.add(fall, hours(4)), ts("2026-11-01T04:00:00-05:00"));
    assert_eq!(cal.add(fall, hours(5)), ts("2026-11-01T05:00:00-05:00"));
    assert!(
        cal.is_open(ts("2026-11-01T01:30:00-05:00")),
        "the repeated hour"
    );
}

#[test]
fn berlin_has_23_and_25_hour_days() {
    let cal = calendar("Europe/Berlin", &WEEK, &[("00:00", "24:00")], &[]);
    assert_eq!(
        day_length(
            &cal,
            "2026-03-29T00:00:00+01:00",
            "2026-03-30T00:00:00+02:00"
        ),
        hours(23)
    );
    assert_eq!(
        day_length(
            &cal,
            "2026-10-25T00:00:00+02:00",
            "2026-10-26T00:00:00+01:00"
        ),
        hours(25)
    );
}

#[test]
fn berlin_early_hours_across_the_changes() {
    let cal = calendar("Europe/Berlin", &WEEK, &[("01:00", "05:00")], &[]);
    let spring = ts("2026-03-29T01:00:00+01:00");
    assert_eq!(
        cal.between(spring, ts("2026-03-29T05:00:00+02:00")),
        hours(3)
    );
    assert_eq!(cal.add(spring, hours(3)), ts("2026-03-29T03:00:00Z"));
    let fall = ts("2026-10-25T01:00:00+02:00");
    assert_eq!(cal.between(fall, ts("2026-10-25T05:00:00+01:00")), hours(5));
    assert_eq!(cal.add(fall, hours(5)), ts("2026-10-25T04:00:00Z"));
}

#[test]
fn an_interval_starting_in_a_gap_or_fold_starts_as_jiff_resolves_it() {
    let cal = calendar("Europe/Berlin", &WEEK, &[("02:30", "05:00")], &[]);
    // 02:30 does not exist on 29 March: it is 03:30 CEST, leaving an hour and a half.
    let spring = ts("2026-03-29T00:00:00+01:00");
    assert_eq!(
        cal.add(spring, SignedDuration::ZERO),
        ts("2026-03-29T03:30:00+02:00")
    );
    assert_eq!(
        cal.between(spring, ts("2026-03-30T00:00:00+02:00")),
        minutes(90)
    );
    // 02:30 happens twice on 25 October: the first (CEST), leaving three and a half.
    let fall = ts("2026-10-25T00:00:00+02:00");
    assert_eq!(
        cal.add(fall, SignedDuration::ZERO),
        ts("2026-10-25T02:30:00+02:00")
    );
    assert_eq!(
        cal.between(fall, ts("2026-10-26T00:00:00+01:00")),
        minutes(210)
    );
}

#[test]
fn business_days_skip_the_weekend_and_holidays() {
    let cal = office(&["2026-06-08"]);
    let friday = ts("2026-06-05T15:30:00-04:00");
    assert_eq!(cal.add_business_days(friday, 0), friday);
    assert_eq!(
        cal.add_business_days(friday, 1),
        ts("2026-06-09T15:30:00-04:00")
    );
    assert_eq!(
        cal.add_business_days(friday, 3),
        ts("2026-06-11T15:30:00-04:00")
    );
    // A start on a closed day counts from that day: Saturday plus one is the next
    // business day, at the same time of day.
    assert_eq!(
        cal.add_business_days(ts("2026-06-06T10:00:00-04:00"), 1),
        ts("2026-06-09T10:00:00-04:00")
    );
}

#[test]
fn business_days_keep_the_wall_clock_across_daylight_saving() {
    let cal = office(&[]);
    assert_eq!(
        cal.add_business_days(ts("2026-03-06T10:00:00-05:00"), 1),
        ts("2026-03-09T10:00:00-04:00")
    );
    let daily = calendar("America/New_York", &WEEK, &[("09:00", "17:00")], &[]);
    // 02:30 does not exist on 8 March: it is 03:30 EDT.
    assert_eq!(
        daily.add_business_days(ts("2026-03-07T02:30:00-05:00"), 1),
        ts("2026-03-08T03:30:00-04:00")
    );
    // 01:30 exists twice on 1 November: the first, in daylight time.
    assert_eq!(
        daily.add_business_days(ts("2026-10-31T01:30:00-04:00"), 1),
        ts("2026-11-01T01:30:00-04:00")
    );
    assert_eq!(
        daily.add_business_days(ts("2026-11-01T01:30:00-05:00"), 1),
        ts("2026-11-02T01:30:00-05:00")
    );
    let berlin = calendar("Europe/Berlin", &WEEK, &[("09:00", "17:00")], &[]);
    assert_eq!(
        berlin.add_business_days(ts("2026-03-28T02:30:00+01:00"), 1),
        ts("2026-03-29T03:30:00+02:00")
    );
}

#[test]
fn business_days_between_counts_local_dates_after_the_first() {
    let cal = office(&[]);
    let friday = ts("2026-06-05T17:00:00-04:00");
    assert_eq!(
        cal.business_days_between(friday, ts("2026-06-08T09:00:00-04:00")),
        1
    );
    assert_eq!(
        cal.business_days_between(friday, ts("2026-06-05T23:00:00-04:00")),
        0
    );
    assert_eq!(
        cal.business_days_between(friday, ts("2026-06-01T09:00:00-04:00")),
        0
    );
    assert_eq!(
        cal.business_days_between(
            ts("2026-06-03T12:00:00-04:00"),
            ts("2026-06-10T08:00:00-04:00")
        ),
        5
    );
    // 02:00 UTC on Saturday is still Friday evening in New York.
    assert_eq!(
        cal.business_days_between(ts("2026-06-04T12:00:00-04:00"), ts("2026-06-06T02:00:00Z")),
        1
    );
    let with_holiday = office(&["2026-06-08"]);
    assert_eq!(
        with_holiday.business_days_between(friday, ts("2026-06-09T09:00:00-04:00")),
        1
    );
}

#[test]
fn the_constructor_refuses_broken_hours() {
    let tz = || TimeZone::get("America/New_York").unwrap();
    let refuse = |day: Vec<Interval>| BusinessCalendar::new(tz(), [(Monday, day)], []).unwrap_err();
    assert_eq!(
        refuse(vec![iv("17:00", "09:00")]),
        CalendarError::EmptyInterval {
            weekday: Monday,
            index: 0
        }
    );
    assert_eq!(
        refuse(vec![iv("09:00", "12:00"), iv("10:00", "10:00")]),
        CalendarError::EmptyInterval {
            weekday: Monday,
            index: 1
        }
    );
    assert_eq!(
        refuse(vec![iv("13:00", "17:00"), iv("09:00", "12:00")]),
        CalendarError::OutOfOrder {
            weekday: Monday,
            index: 1
        }
    );
    assert_eq!(
        refuse(vec![iv("09:00", "12:00"), iv("11:00", "17:00")]),
        CalendarError::Overlap {
            weekday: Monday,
            index: 1
        }
    );
    assert_eq!(
        BusinessCalendar::new(tz(), [(Sunday, vec![])], dates(&["2026-12-25"])).unwrap_err(),
        CalendarError::NoWorkingHours
    );
    assert_eq!(
        BusinessCalendar::new(
            tz(),
            [
                (Monday, vec![iv("09:00", "12:00")]),
                (Monday, vec![iv("13:00", "17:00")])
            ],
            []
        )
        .unwrap_err(),
        CalendarError::DuplicateWeekday { weekday: Monday }
    );
    // Touching intervals are fine.
    assert!(
        BusinessCalendar::new(
            tz(),
            [(Monday, vec![iv("09:00", "12:00"), iv("12:00", "13:00")])],
            []
        )
        .is_ok()
    );
}

#[test]
fn wall_times_run_from_midnight_to_the_end_of_the_day() {
    assert_eq!(WallTime::new(0, 0), Ok(WallTime::MIDNIGHT));
    assert_eq!(WallTime::new(24, 0), Ok(WallTime::END_OF_DAY));
    assert_eq!(
        WallTime::new(9, 5).map(|t| t.to_string()),
        Ok("09:05".into())
    );
    for (hour, minute) in [(24, 1), (25, 0), (9, 60)] {
        assert_eq!(
            WallTime::new(hour, minute),
            Err(CalendarError::InvalidTime { hour, minute })
        );
    }
    assert_eq!(
        CalendarError::InvalidTime {
            hour: 25,
            minute: 0
        }
        .to_string(),
        "25:00 is not a time of day from 00:00 to 24:00"
    );
}

#[test]
fn a_calendar_closed_by_holidays_for_a_century_gives_up() {
    let every_monday: Vec<Date> = std::iter::successors(Some(jiff::civil::date(2026, 6, 1)), |d| {
        d.checked_add(jiff::Span::new().weeks(1)).ok()
    })
    .take(101 * 53)
    .collect();
    let cal = BusinessCalendar::new(
        TimeZone::get("America/New_York").unwrap(),
        [(Monday, vec![iv("09:00", "17:00")])],
        every_monday,
    )
    .unwrap();
    let start = ts("2026-06-01T08:00:00-04:00");
    assert_eq!(cal.add(start, hours(1)), Timestamp::MAX);
    assert_eq!(cal.add_business_days(start, 1), Timestamp::MAX);
    assert_eq!(cal.between(start, Timestamp::MAX), SignedDuration::ZERO);
    assert_eq!(cal.business_days_between(start, Timestamp::MAX), 0);
    assert!(!cal.is_open(ts("2026-06-01T10:00:00-04:00")));
}

/// New York with a lunch break on Monday, a short Saturday, early Sunday hours through
/// both changes of 2026, and two holidays.
fn varied() -> BusinessCalendar {
    BusinessCalendar::new(
        TimeZone::get("America/New_York").unwrap(),
        [
            (Monday, vec![iv("09:00", "12:00"), iv("13:00", "17:00")]),
            (Tuesday, vec![iv("09:00", "17:00")]),
            (Wednesday, vec![iv("09:00", "17:00")]),
            (Thursday, vec![iv("09:00", "17:00")]),
            (Friday, vec![iv("09:00", "17:00")]),
            (Saturday, vec![iv("10:00", "14:00")]),
            (Sunday, vec![iv("01:00", "04:00"), iv("22:00", "24:00")]),
        ],
        dates(&["2026-12-25", "2027-01-01"]),
    )
    .unwrap()
}

/// 2025-06-01 to 2027-06-01, to the second.
fn any_start() -> impl Strategy<Value = Timestamp> {
    (1_748_736_000i64..1_811_808_000).prop_map(|s| Timestamp::from_second(s).unwrap())
}

/// Up to 300 hours, to the second.
fn any_duration() -> impl Strategy<Value = SignedDuration> {
    (0i64..=300 * 3600).prop_map(SignedDuration::from_secs)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn between_undoes_add(start in any_start(), d in any_duration()) {
        let cal = varied();
        let open = cal.add(start, SignedDuration::ZERO);
        prop_assert!(cal.is_open(open));
        prop_assert_eq!(cal.between(open, cal.add(open, d)), d);
        prop_assert_eq!(cal.between(start, cal.add(start, d)), d);
    }

    #[test]
    fn add_is_monotonic_in_the_duration(
        start in any_start(),
        a in any_duration(),
        b in any_duration(),
    ) {
        let cal = varied();
        let (shorter, longer) = if a <= b { (a, b) } else { (b, a) };
        prop_assert!(cal.add(start, shorter) <= cal.add(start, longer));
    }

    #[test]
    fn business_days_between_undoes_add_business_days(start in any_start(), n in 0u32..40) {
        let cal = varied();
        prop_assert_eq!(cal.business_days_between(start, cal.add_business_days(start, n)), n);
    }
}
