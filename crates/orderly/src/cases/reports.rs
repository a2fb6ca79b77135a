//! Root causes reported: resolved cases counted per cause, by period (local days, weeks
//! or months on the business calendar's time zone), channel, location, carrier or SKU,
//! so the team sees which seam to fix. Counted from the cause facts recorded when each
//! case was resolved (`orderly-store`'s `case_causes`), never by reading cases or
//! orders, so a report over a year costs one indexed GROUP BY.

use crate::app::App;
use crate::app::auth::{Permission, authorize, channel_scope};
use crate::app::error::AppError;
use jiff::Timestamp;
use jiff::civil::Date;
use orderly_domain::actor::Actor;
use orderly_store::{CauseCount, CauseDimension};
use std::collections::BTreeMap;

/// The longest range one report covers.
pub const MAX_DAYS: i64 = 366;

/// A calendar period cases are counted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Day,
    /// Weeks start on Monday; the key is that Monday's date.
    Week,
    /// The key is `YYYY-MM`.
    Month,
}

/// What a report groups by beside the cause.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grouping {
    Period(Period),
    Dimension(CauseDimension),
}

/// One group: its key (a period, a channel, a location, a carrier or a SKU) and its
/// cases per cause, most frequent first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CauseGroup {
    pub key: String,
    pub total: u64,
    pub causes: Vec<(String, u64)>,
}

fn period_key(date: Date, period: Period) -> String {
    match period {
        Period::Day => date.to_string(),
        Period::Week => {
            let back = i64::from(date.weekday().to_monday_zero_offset());
            date.checked_sub(jiff::Span::new().days(back))
                .unwrap_or(date)
                .to_string()
        }
        Period::Month => format!("{:04}-{:02}", date.year(), date.month()),
    }
}

/// Groups in key order, each with its causes most frequent first.
fn groups(counts: impl IntoIterator<Item = (String, String, u64)>) -> Vec<CauseGroup> {
    let mut by_key: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for (key, cause, n) in counts {
        *by_key.entry(key).or_default().entry(cause).or_default() += n;
    }
    by_key
        .into_iter()
        .map(|(key, causes)| {
            let mut causes: Vec<(String, u64)> = causes.into_iter().collect();
            causes.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            CauseGroup {
                key,
                total: causes.iter().map(|(_, n)| n).sum(),
                causes,
            }
        })
        .collect()
}

impl App {
    /// Cases resolved in [from, to), counted per cause and `grouping`, in the actor's
    /// channels.
    pub async fn root_cause_report(
        &self,
        actor: &Actor,
        grouping: Grouping,
        (from, to): (Timestamp, Timestamp),
    ) -> Result<Vec<CauseGroup>, AppError> {
        authorize(actor, Permission::ReadCases)?;
        let channels = channel_scope(actor);
        match grouping {
            Grouping::Dimension(dimension) => {
                let counts: Vec<CauseCount> = self
                    .store
                    .read(move |r| r.cause_counts(dimension, (from, to), channels.as_deref()))
                    .await?;
                Ok(groups(
                    counts.into_iter().map(|c| (c.value, c.root_cause, c.cases)),
                ))
            }
            Grouping::Period(period) => {
                let zone = self
                    .config
                    .calendar
                    .calendar()
                    .map_err(|e| AppError::Internal(format!("the business calendar: {e:#}")))?
                    .time_zone()
                    .clone();
                let slots = self
                    .store
                    .read(move |r| r.cause_slots((from, to), channels.as_deref()))
                    .await?;
                Ok(groups(slots.into_iter().map(|(slot, cause, n)| {
                    (
                        period_key(slot.to_zoned(zone.clone()).date(), period),
                        cause,
                        n,
                    )
                })))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn periods_are_keyed_by_their_local_day_monday_or_month() {
        let thursday = date(2026, 12, 3);
        assert_eq!(period_key(thursday, Period::Day), "2026-12-03");
        assert_eq!(period_key(thursday, Period::Week), "2026-11-30");
        assert_eq!(period_key(date(2026, 11, 30), Period::Week), "2026-11-30");
        assert_eq!(period_key(thursday, Period::Month), "2026-12");
    }

    #[test]
    fn groups_sum_their_slots_and_list_the_most_frequent_cause_first() {
        let g = groups([
            ("b".to_owned(), "wrong_item".to_owned(), 1),
            ("a".to_owned(), "carrier_delay".to_owned(), 2),
            ("a".to_owned(), "wrong_item".to_owned(), 3),
            ("a".to_owned(), "carrier_delay".to_owned(), 2),
        ]);
        assert_eq!(
            g,
            [
                CauseGroup {
                    key: "a".into(),
                    total: 7,
                    causes: vec![("carrier_delay".into(), 4), ("wrong_item".into(), 3)],
                },
                CauseGroup {
                    key: "b".into(),
                    total: 1,
                    causes: vec![("wrong_item".into(), 1)],
                },
            ]
        );
    }
}
