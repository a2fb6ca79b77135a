//! The `[calendar]` section: when the business works, for clocks that count working time
//! (SLA deadlines, "refunded within 5 business days"). Times are written as text
//! (`"09:00-17:00"`, `"2026-12-25"`) rather than as TOML times so that a mistake is
//! reported with its key in full, like every other problem, instead of as a parse error
//! of the whole file; the calendar itself and its rules are the domain's
//! (`orderly_domain::calendar`). Without the section: UTC, Monday to Friday 09:00–17:00.

use anyhow::anyhow;
use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use orderly_domain::calendar::{BusinessCalendar, CalendarError, Interval, WallTime};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CalendarConfig {
    /// The IANA name of the zone the working hours are in, e.g. `America/New_York`.
    pub time_zone: String,
    /// Local dates closed all day, `YYYY-MM-DD`.
    pub holidays: Vec<String>,
    /// Working hours per weekday; without the table, Monday to Friday 09:00–17:00.
    pub hours: HoursConfig,
    /// The calendar once built: commands ask for it on every order (the watches' due
    /// times), so it is built once, not per command.
    #[serde(skip)]
    built: std::sync::OnceLock<BusinessCalendar>,
}

/// `HH:MM-HH:MM` intervals of local time per weekday, in time order; `24:00` may end
/// one. A weekday left out (or given `[]`) is closed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HoursConfig {
    pub mon: Vec<String>,
    pub tue: Vec<String>,
    pub wed: Vec<String>,
    pub thu: Vec<String>,
    pub fri: Vec<String>,
    pub sat: Vec<String>,
    pub sun: Vec<String>,
}

impl Default for CalendarConfig {
    fn default() -> Self {
        let office = || vec!["09:00-17:00".to_owned()];
        CalendarConfig {
            time_zone: "UTC".into(),
            holidays: Vec::new(),
            hours: HoursConfig {
                mon: office(),
                tue: office(),
                wed: office(),
                thu: office(),
                fri: office(),
                sat: Vec::new(),
                sun: Vec::new(),
            },
            built: std::sync::OnceLock::new(),
        }
    }
}

impl HoursConfig {
    /// Each weekday with its key and entries, Monday first.
    fn days(&self) -> [(&'static str, Weekday, &[String]); 7] {
        [
            ("mon", Weekday::Monday, &self.mon),
            ("tue", Weekday::Tuesday, &self.tue),
            ("wed", Weekday::Wednesday, &self.wed),
            ("thu", Weekday::Thursday, &self.thu),
            ("fri", Weekday::Friday, &self.fri),
            ("sat", Weekday::Saturday, &self.sat),
            ("sun", Weekday::Sunday, &self.sun),
        ]
    }
}

impl CalendarConfig {
    /// The business calendar the section describes.
    pub fn calendar(&self) -> anyhow::Result<&BusinessCalendar> {
        if let Some(built) = self.built.get() {
            return Ok(built);
        }
        let calendar = self
            .build()
            .map_err(|problems| anyhow!("invalid calendar:\n  {}", problems.join("\n  ")))?;
        Ok(self.built.get_or_init(|| calendar))
    }

    /// Every problem with the section as `key: message`.
    pub(super) fn problems(&self) -> Vec<String> {
        self.build().err().unwrap_or_default()
    }

    fn build(&self) -> Result<BusinessCalendar, Vec<String>> {
        let mut problems = Vec::new();
        let time_zone = match TimeZone::get(&self.time_zone) {
            Ok(tz) => Some(tz),
            Err(_) => {
                problems.push(format!(
                    "calendar.time_zone: {:?} is not a known time zone",
                    self.time_zone
                ));
                None
            }
        };
        let mut week = Vec::new();
        for (key, weekday, entries) in self.hours.days() {
            let mut intervals = Vec::new();
            for (i, entry) in entries.iter().enumerate() {
                match parse_interval(entry) {
                    Ok(interval) => intervals.push(interval),
                    Err(message) => problems.push(format!("calendar.hours.{key}[{i}]: {message}")),
                }
            }
            // Order and overlap only mean something once every entry has parsed.
            if intervals.len() == entries.len()
                && let Err(e) = BusinessCalendar::check_day(weekday, &intervals)
            {
                problems.push(day_problem(key, entries, &e));
            }
            week.push((weekday, intervals));
        }
        let mut holidays = Vec::new();
        for (i, text) in self.holidays.iter().enumerate() {
            match text.parse::<Date>() {
                Ok(date) => holidays.push(date),
                Err(_) => problems.push(format!(
                    "calendar.holidays[{i}]: {text:?} is not a date (YYYY-MM-DD)"
                )),
            }
        }
        if self
            .hours
            .days()
            .iter()
            .all(|(_, _, entries)| entries.is_empty())
        {
            problems.push("calendar: no working hours in the week".into());
        }
        match time_zone {
            Some(tz) if problems.is_empty() => BusinessCalendar::new(tz, week, holidays)
                .map_err(|e| vec![format!("calendar: {e}")]),
            _ => Err(problems),
        }
    }
}

/// `HH:MM-HH:MM`, spaces around the dash allowed. The message says what is wrong, for
/// the caller to put after the key.
fn parse_interval(text: &str) -> Result<Interval, String> {
    let shape = || format!("{text:?} is not HH:MM-HH:MM");
    let time = |part: &str| -> Result<WallTime, String> {
        let (hour, minute) = part
            .trim()
            .split_once(':')
            .filter(|(h, m)| two_digits(h) && two_digits(m))
            .ok_or_else(shape)?;
        let number = |digits: &str| digits.parse::<u8>().map_err(|_| shape());
        WallTime::new(number(hour)?, number(minute)?).map_err(|e| format!("{text:?}: {e}"))
    };
    let (start, end) = text.split_once('-').ok_or_else(shape)?;
    Ok(Interval {
        start: time(start)?,
        end: time(end)?,
    })
}

fn two_digits(s: &str) -> bool {
    s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit())
}

/// A weekday's problem, keyed by the entry when one entry is at fault, else by the day.
fn day_problem(key: &str, entries: &[String], e: &CalendarError) -> String {
    match e {
        CalendarError::EmptyInterval { index, .. } => format!(
            "calendar.hours.{key}[{index}]: {:?} does not end after it starts",
            entries.get(*index).map_or("", String::as_str)
        ),
        CalendarError::Overlap { .. } => format!("calendar.hours.{key}: intervals overlap"),
        CalendarError::OutOfOrder { .. } => {
            format!("calendar.hours.{key}: intervals are not in time order")
        }
        other => format!("calendar.hours.{key}: {other}"),
    }
}

#[cfg(test)]
#[path = "calendar_tests.rs"]
mod tests;
