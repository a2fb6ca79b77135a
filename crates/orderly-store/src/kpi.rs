//! KPI counters as rows. Every append asks the domain what its events add to the figures
//! (`orderly_domain::kpi`), resolves the effects that need the store's memory (marks),
//! sums them per row and adds them: on SQLite in the same transaction as the events, on
//! PostgreSQL just after it commits (`pg/kpi.rs` says why). `recompute` derives every row again from
//! the event log, which `orderly kpis rebuild` writes in place of the kept ones and the
//! tests compare with them.
//!
//! `KpiTx` is the write side (part of `WriteTx`), `KpiReads` the read side (part of
//! `Reader`); both backends implement both in their `kpi` module.

use crate::cases::{CaseFilter, CaseQueue};
use crate::error::StoreError;
use crate::read::Reader;
use crate::rows::HistoryRow;
use jiff::Timestamp;
use jiff::civil::Date;
use orderly_domain::case::{Case, CaseEvent, evolve as case_evolve};
use orderly_domain::kpi::{
    Dim, Effect, KpiRules, Mark, Point, case_effects, exception_effects, order_effects,
};
use orderly_domain::order::{Order, evolve};
use std::collections::{BTreeMap, HashMap};

/// What names one counter row.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KpiKey {
    pub dim: Dim,
    pub day: Date,
    /// The stored metric name (`Metric::stored_name`).
    pub metric: String,
    pub key: String,
    pub bucket: i64,
}

/// A counter row's values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KpiSums {
    pub count: i64,
    pub sum: i64,
}

/// Counter rows, summed per key (the form writes and reads take).
pub type KpiRows = BTreeMap<KpiKey, KpiSums>;

/// A subject's mark (see `Effect::Tally`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarkRow {
    pub tally: u32,
    pub first_at: Timestamp,
}

pub type KpiMarks = BTreeMap<(String, Mark), MarkRow>;

/// The KPI side of a write transaction.
pub trait KpiTx {
    /// What the figures need from configuration.
    fn kpi_rules(&self) -> &KpiRules;
    /// Adds `rows` to the stored counters (each key once).
    fn add_kpi_rows(&mut self, rows: &KpiRows) -> Result<(), StoreError>;
    /// Counts one more of `subject`'s `mark` made at `at` and answers the new tally.
    fn tally_mark(&mut self, subject: &str, mark: Mark, at: Timestamp) -> Result<u32, StoreError>;
    /// When `subject`'s `mark` was first made, if ever.
    fn mark_first_at(&mut self, subject: &str, mark: Mark)
    -> Result<Option<Timestamp>, StoreError>;
    /// Replaces every counter and mark with these (a rebuild), after checking that the
    /// event log is still the one they were derived from: `events` is its (count, last
    /// seq) then; a different one is a `Conflict`.
    fn replace_kpis(
        &mut self,
        rows: &KpiRows,
        marks: &KpiMarks,
        events: (i64, i64),
    ) -> Result<(), StoreError>;
}

/// The KPI side of a read.
pub trait KpiReads {
    /// The counter rows of `dim` for the days from `from` to `to`, both included.
    fn kpi_rows(&mut self, dim: Dim, from: Date, to: Date) -> Result<KpiRows, StoreError>;
    /// Every mark, for comparing a rebuild with what was kept.
    fn kpi_marks(&mut self) -> Result<KpiMarks, StoreError>;
    /// How many events there are and the last one's seq (0, 0 when none).
    fn event_log_position(&mut self) -> Result<(i64, i64), StoreError>;
}

/// Where effects find and keep their marks: the transaction, or a rebuild's memory.
pub(crate) trait MarkBook {
    fn tally(&mut self, subject: &str, mark: Mark, at: Timestamp) -> Result<u32, StoreError>;
    fn first_at(&mut self, subject: &str, mark: Mark) -> Result<Option<Timestamp>, StoreError>;
}

struct InTx<'a, T: KpiTx + ?Sized>(&'a mut T);

impl<T: KpiTx + ?Sized> MarkBook for InTx<'_, T> {
    fn tally(&mut self, subject: &str, mark: Mark, at: Timestamp) -> Result<u32, StoreError> {
        self.0.tally_mark(subject, mark, at)
    }
    fn first_at(&mut self, subject: &str, mark: Mark) -> Result<Option<Timestamp>, StoreError> {
        self.0.mark_first_at(subject, mark)
    }
}

impl MarkBook for KpiMarks {
    fn tally(&mut self, subject: &str, mark: Mark, at: Timestamp) -> Result<u32, StoreError> {
        let row = self.entry((subject.to_owned(), mark)).or_insert(MarkRow {
            tally: 0,
            first_at: at,
        });
        row.tally += 1;
        row.first_at = row.first_at.min(at);
        Ok(row.tally)
    }
    fn first_at(&mut self, subject: &str, mark: Mark) -> Result<Option<Timestamp>, StoreError> {
        Ok(self.get(&(subject.to_owned(), mark)).map(|m| m.first_at))
    }
}

fn add_point(rows: &mut KpiRows, p: &Point) {
    let metric = p.metric.stored_name(p.currency.as_ref());
    for (dim, key) in p.keys() {
        let sums = rows
            .entry(KpiKey {
                dim,
                day: p.day,
                metric: metric.clone(),
                key: key.to_owned(),
                bucket: p.bucket,
            })
            .or_default();
        sums.count += p.count;
        sums.sum += p.sum;
    }
}

/// Adds what `effects` count to `rows`, asking `marks` where they need memory.
pub(crate) fn resolve(
    marks: &mut dyn MarkBook,
    effects: Vec<Effect>,
    rows: &mut KpiRows,
) -> Result<(), StoreError> {
    for effect in effects {
        match effect {
            Effect::Add(p) => add_point(rows, &p),
            Effect::Tally {
                subject,
                mark,
                at,
                reach,
            } => {
                let tally = marks.tally(&subject, mark, at)?;
                for p in Effect::reached(&reach, tally) {
                    add_point(rows, &p);
                }
            }
            Effect::AfterMark {
                subject,
                mark,
                at,
                point,
                timed,
            } => {
                let first = marks.first_at(&subject, mark)?;
                if let Some(p) = Effect::after(&point, timed, at, first) {
                    add_point(rows, &p);
                }
            }
        }
    }
    Ok(())
}

/// Resolves and stores `effects` in the write transaction.
pub(crate) fn record<T: KpiTx + ?Sized>(
    tx: &mut T,
    effects: Vec<Effect>,
) -> Result<(), StoreError> {
    if effects.is_empty() {
        return Ok(());
    }
    let mut rows = KpiRows::new();
    resolve(&mut InTx(tx), effects, &mut rows)?;
    if rows.is_empty() {
        return Ok(());
    }
    tx.add_kpi_rows(&rows)
}

/// Every counter and mark derived again from the event log, with the log's position.
#[derive(Debug, Default)]
pub struct Recomputed {
    pub rows: KpiRows,
    pub marks: KpiMarks,
    pub events: (i64, i64),
    pub orders: usize,
    pub cases: usize,
}

const PAGE: u32 = 500;

/// Replays every order stream (in the order orders were placed, so that a customer's
/// earlier deliveries are known at a later placement, as they were) and then every case
/// event in the order it was written (contacts count per order across cases), and
/// computes what the figures would be. Run inside one consistent read snapshot.
pub fn recompute(r: &mut dyn Reader, rules: &KpiRules) -> Result<Recomputed, StoreError> {
    let mut out = Recomputed {
        events: r.event_log_position()?,
        ..Recomputed::default()
    };
    let mut after: Option<String> = None;
    loop {
        let page = r.order_rows(after.as_deref(), PAGE)?;
        for row in &page {
            out.orders += 1;
            let events = r.events(&row.id)?;
            let mut state: Option<Order> = None;
            for run in appends(&events, |e| (e.correlation_id.clone(), e.at)) {
                let mut next = state.clone();
                let mut effects = Vec::new();
                for e in run {
                    let version = next.as_ref().map_or(0, |o| o.version) + 1;
                    let after = evolve(next, &e.event, e.at, version)
                        .map_err(|err| StoreError::Corrupt(format!("order {}: {err}", row.id)))?;
                    effects.extend(exception_effects(&e.event, &after, e.at, rules));
                    next = Some(after);
                }
                let (Some(next), Some(first)) = (next, run.first()) else {
                    continue;
                };
                let kinds: Vec<_> = run.iter().map(|e| e.event.clone()).collect();
                effects.extend(order_effects(
                    state.as_ref(),
                    &next,
                    &kinds,
                    first.at,
                    rules,
                ));
                resolve(&mut out.marks, effects, &mut out.rows)?;
                state = Some(next);
            }
        }
        match page.last() {
            Some(last) if page.len() == PAGE as usize => after = Some(last.id.clone()),
            _ => break,
        }
    }
    // Each case's appends, replayed in the order they were written.
    let mut runs: Vec<(i64, String, Vec<HistoryRow>)> = Vec::new();
    let mut after = None;
    loop {
        let page = r.cases(&CaseFilter {
            queue: CaseQueue::All,
            status: None,
            opened_before: None,
            channels: None,
            after: after.clone(),
            limit: PAGE,
        })?;
        for listed in &page {
            out.cases += 1;
            let id = listed.case.id.as_str().to_owned();
            let history = r.history(&id)?;
            for run in appends(&history, |h| (h.correlation_id.clone(), h.at)) {
                if let Some(first) = run.first() {
                    runs.push((first.seq, id.clone(), run.to_vec()));
                }
            }
        }
        match page.last() {
            Some(last) if page.len() == PAGE as usize => {
                after = Some((last.case.opened_at, last.case.id.to_string()));
            }
            _ => break,
        }
    }
    runs.sort_by_key(|(seq, ..)| *seq);
    let mut cases: HashMap<String, Case> = HashMap::new();
    for (_, id, run) in runs {
        let before = cases.remove(&id);
        let mut next = before.clone();
        let mut events = Vec::with_capacity(run.len());
        for row in &run {
            let event: CaseEvent = serde_json::from_value(row.data.clone())?;
            next = Some(
                case_evolve(next, &event, row.at, row.version)
                    .map_err(|err| StoreError::Corrupt(format!("case {id}: {err:?}")))?,
            );
            events.push(event);
        }
        let (Some(next), Some(first)) = (next, run.first()) else {
            continue;
        };
        let effects = case_effects(before.as_ref(), &next, &events, first.at, rules);
        resolve(&mut out.marks, effects, &mut out.rows)?;
        cases.insert(id, next);
    }
    Ok(out)
}

/// A stream's events cut into the appends that wrote them: runs of the same correlation
/// id and time.
fn appends<T, K: PartialEq>(events: &[T], key: impl Fn(&T) -> K) -> impl Iterator<Item = &[T]> {
    events.chunk_by(move |a, b| key(a) == key(b))
}
