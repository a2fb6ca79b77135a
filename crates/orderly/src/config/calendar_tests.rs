//! The `[calendar]` section: its default, the demo's calendar, a weekday left out being
//! closed, and each invalid entry stopping start-up with its key named in full.

use super::*;
use crate::config::Config;
use figment::Figment;
use figment::providers::{Format, Toml};
use jiff::{SignedDuration, Timestamp};

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// The `[calendar]` section of `toml` alone, without the demo's beneath it.
fn section(toml: &str) -> CalendarConfig {
    Figment::from(Toml::string(toml))
        .extract_inner("calendar")
        .unwrap()
}

fn load_with(extra: &str) -> anyhow::Result<Config> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("orderly.toml");
    std::fs::write(&path, extra)?;
    Config::load(Some(&path), Some(crate::DEMO_CONFIG))
}

#[test]
fn without_the_section_the_calendar_is_weekdays_nine_to_five_in_utc() {
    // The demo from its locations on: everything a configuration needs, no calendar.
    let demo_from_locations: String = crate::DEMO_CONFIG
        .split("\n[[locations]]")
        .skip(1)
        .fold(String::new(), |acc, part| acc + "\n[[locations]]" + part);
    assert!(!demo_from_locations.contains("[calendar"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orderly.toml");
    std::fs::write(&path, demo_from_locations).unwrap();
    let config = Config::load(Some(&path), None).unwrap();
    assert_eq!(config.calendar.time_zone, "UTC");
    assert!(config.calendar.holidays.is_empty());
    let cal = config.calendar.calendar().unwrap();
    assert_eq!(cal.time_zone().iana_name(), Some("UTC"));
    assert_eq!(
        cal.add(ts("2026-06-05T16:00:00Z"), SignedDuration::from_hours(2)),
        ts("2026-06-08T10:00:00Z")
    );
    assert!(!cal.is_open(ts("2026-06-06T12:00:00Z")), "Saturday");
    assert!(!cal.is_open(ts("2026-06-02T17:00:00Z")));
    assert!(cal.is_open(ts("2026-06-02T09:00:00Z")));
}

#[test]
fn the_demo_calendar_is_new_york_with_saturday_mornings_and_us_holidays() {
    let config = load_with("").unwrap();
    assert_eq!(config.calendar.time_zone, "America/New_York");
    assert_eq!(config.calendar.hours.sat, vec!["10:00-14:00".to_owned()]);
    assert!(config.calendar.hours.sun.is_empty());
    let cal = config.calendar.calendar().unwrap();
    // Christmas Eve 17:30: half an hour on Thursday, Christmas closed, then Saturday.
    assert_eq!(
        cal.add(
            ts("2026-12-24T17:30:00-05:00"),
            SignedDuration::from_hours(1)
        ),
        ts("2026-12-26T10:30:00-05:00")
    );
    assert_eq!(
        cal.business_days_between(
            ts("2026-12-24T12:00:00-05:00"),
            ts("2026-12-28T12:00:00-05:00")
        ),
        2,
        "Saturday and Monday"
    );
}

#[test]
fn a_weekday_left_out_of_the_hours_is_closed() {
    let config = section(
        "[calendar]\ntime_zone = \"Europe/Berlin\"\nholidays = [\"2026-06-09\"]\n\
         [calendar.hours]\ntue = [\"09:00-12:00\", \"13:00-17:00\"]\nwed = [\"20:00-24:00\"]\n",
    );
    assert!(config.hours.mon.is_empty());
    assert!(config.hours.thu.is_empty());
    let cal = config.calendar().unwrap();
    // Monday 1 June: closed; Tuesday 2 June: open after lunch.
    assert!(!cal.is_open(ts("2026-06-01T10:00:00+02:00")));
    assert!(cal.is_open(ts("2026-06-02T13:30:00+02:00")));
    assert!(!cal.is_open(ts("2026-06-02T12:30:00+02:00")));
    // Wednesday until midnight; Tuesday 9 June is a holiday.
    assert_eq!(
        cal.add(
            ts("2026-06-03T23:00:00+02:00"),
            SignedDuration::from_hours(2)
        ),
        ts("2026-06-10T21:00:00+02:00")
    );
}

#[test]
fn every_invalid_entry_is_named_with_its_key() {
    let config = section(
        "[calendar]\ntime_zone = \"Mars/Base\"\nholidays = [\"2026-12-25\", \"2026-13-01\"]\n\
         [calendar.hours]\n\
         mon = [\"09:00-12:00\", \"11:00-17:00\"]\n\
         tue = [\"09:00-12:00\", \"13-17\"]\n\
         wed = [\"13:00-17:00\", \"09:00-12:00\"]\n\
         thu = [\"17:00-09:00\"]\n\
         fri = [\"09:00-24:01\"]\n\
         sat = [\"10:00-24:00\"]\n",
    );
    assert_eq!(
        config.problems(),
        vec![
            "calendar.time_zone: \"Mars/Base\" is not a known time zone",
            "calendar.hours.mon: intervals overlap",
            "calendar.hours.tue[1]: \"13-17\" is not HH:MM-HH:MM",
            "calendar.hours.wed: intervals are not in time order",
            "calendar.hours.thu[0]: \"17:00-09:00\" does not end after it starts",
            "calendar.hours.fri[0]: \"09:00-24:01\": 24:01 is not a time of day from 00:00 to 24:00",
            "calendar.holidays[1]: \"2026-13-01\" is not a date (YYYY-MM-DD)",
        ]
    );
    let err = config.calendar().unwrap_err().to_string();
    assert!(
        err.starts_with("invalid calendar:\n  calendar.time_zone"),
        "{err}"
    );
}

#[test]
fn a_week_without_working_hours_is_refused() {
    let config = section("[calendar]\ntime_zone = \"UTC\"\n[calendar.hours]\n");
    assert_eq!(
        config.problems(),
        vec!["calendar: no working hours in the week"]
    );
    let err = load_with(
        "[calendar.hours]\nmon = []\ntue = []\nwed = []\nthu = []\nfri = []\nsat = []\nsun = []\n",
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        err,
        "invalid configuration:\n  calendar: no working hours in the week"
    );
}

#[test]
fn an_invalid_calendar_stops_start_up_with_the_other_problems() {
    let err = load_with(
        "[limits]\nmax_quantity_per_line = 0\n\
         [calendar]\ntime_zone = \"Mars/Base\"\n[calendar.hours]\nmon = [\"9-5\"]\n",
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        err,
        "invalid configuration:\n  \
         limits.max_quantity_per_line: must be between 1 and 1000000\n  \
         calendar.time_zone: \"Mars/Base\" is not a known time zone\n  \
         calendar.hours.mon[0]: \"9-5\" is not HH:MM-HH:MM"
    );
}

#[test]
fn an_unknown_weekday_key_is_named() {
    let err = load_with("[calendar.hours]\nmonday = [\"09:00-17:00\"]\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("calendar.hours"), "{err}");
    assert!(err.contains("monday"), "{err}");
}

#[test]
fn the_example_in_the_deployment_guide_loads() {
    let guide = include_str!("../../../../docs/deployment.md");
    let example = guide
        .split("```toml\n")
        .find(|block| block.starts_with("[calendar]"))
        .and_then(|block| block.split("```").next())
        .unwrap();
    let config = section(example);
    let cal = config.calendar().unwrap();
    // Tuesday 11:30 plus an hour: the lunch break does not count.
    assert_eq!(
        cal.add(
            ts("2026-06-02T11:30:00-04:00"),
            SignedDuration::from_hours(1)
        ),
        ts("2026-06-02T13:30:00-04:00")
    );
    assert!(!cal.is_open(ts("2026-12-25T10:00:00-05:00")), "a holiday");
}
