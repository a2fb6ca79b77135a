//! `orderly check` for the streams beside orders: every case's events, folded again with
//! `case::evolve`, must give the case row's snapshot, and every customer's events,
//! folded with `customer::evolve`, the record's facts (flags, notes, merges, version).
//! Records merged into another are left out: the customer list does not page over them.

use crate::cases::{CaseFilter, CaseQueue};
use crate::check::{CheckReport, v};
use crate::customers::{CustomerFilter, CustomerSearch, search_key};
use crate::error::StoreError;
use crate::read::Reader;
use orderly_domain::case::{Case, CaseEvent};
use orderly_domain::customer::{CustomerEvent, CustomerFacts};

const PAGE: u32 = 500;

pub(crate) fn check_cases(r: &mut dyn Reader, report: &mut CheckReport) -> Result<(), StoreError> {
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
            report.cases += 1;
            let stored = &listed.case;
            let subject = format!("case {}", stored.number);
            let mut state: Option<Case> = None;
            let mut problem = None;
            for row in r.history(stored.id.as_str())? {
                let event: CaseEvent = match serde_json::from_value(row.data.clone()) {
                    Ok(e) => e,
                    Err(e) => {
                        problem = Some(format!("event {} does not parse: {e}", row.version));
                        break;
                    }
                };
                match orderly_domain::case::evolve(state.take(), &event, row.at, row.version) {
                    Ok(next) => state = Some(next),
                    Err(e) => {
                        problem = Some(format!("event {} does not replay: {e:?}", row.version));
                        break;
                    }
                }
            }
            match (problem, state) {
                (Some(p), _) => report.violations.push(v(&subject, p)),
                (None, Some(replayed)) if &replayed == stored => {}
                (None, Some(_)) => report.violations.push(v(
                    &subject,
                    "replaying its events does not reproduce the case's snapshot",
                )),
                (None, None) => report
                    .violations
                    .push(v(&subject, "has a row but no events")),
            }
        }
        match page.last() {
            Some(last) if page.len() == PAGE as usize => {
                after = Some((last.case.opened_at, last.case.id.to_string()));
            }
            _ => return Ok(()),
        }
    }
}

pub(crate) fn check_customers(
    r: &mut dyn Reader,
    report: &mut CheckReport,
) -> Result<(), StoreError> {
    let mut after = None;
    loop {
        let filter = CustomerFilter {
            search: CustomerSearch::All,
            channels: None,
            after: after.clone(),
            limit: PAGE,
        };
        let page = r.customers(&filter)?;
        for c in &page {
            report.customers += 1;
            let subject = format!("customer {}", c.id);
            let mut facts = CustomerFacts::default();
            let mut problem = None;
            for row in r.history(&c.id)? {
                match serde_json::from_value::<CustomerEvent>(row.data.clone()) {
                    Ok(event) => {
                        facts = orderly_domain::customer::evolve(
                            facts,
                            &event,
                            &row.actor.label(),
                            row.at,
                        );
                    }
                    Err(e) => {
                        problem = Some(format!("event {} does not parse: {e}", row.version));
                        break;
                    }
                }
            }
            match problem {
                Some(p) => report.violations.push(v(&subject, p)),
                None if facts == c.facts => {}
                None => report.violations.push(v(
                    &subject,
                    "replaying its events does not reproduce its flags, notes and merges",
                )),
            }
        }
        match page.last() {
            Some(last) if page.len() == PAGE as usize => {
                after = Some((search_key(&filter.search, last), last.id.clone()));
            }
            _ => return Ok(()),
        }
    }
}
