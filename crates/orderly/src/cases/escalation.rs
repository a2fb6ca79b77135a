//! Escalation: the timer worker's sweep over cases whose SLA clock ran out. A case
//! passes level *k* of `cases.escalation` when it is that level's business hours past
//! its clock (first response, then resolution, at its current priority); passing it
//! raises the priority, may hand the case to a group, and is an event on the case. Each
//! level is passed once (the domain refuses a level already passed), so a sweep that
//! runs twice, or two processes sweeping together, escalate nothing twice.

use crate::app::error::AppError;
use crate::app::{App, Origin};
use jiff::{SignedDuration, Timestamp};
use orderly_domain::actor::Actor;
use orderly_domain::case::CaseCommand;
use orderly_store::{CaseFilter, CaseQueue};

/// Cases looked at per page of the sweep.
const PAGE: u32 = 200;

impl App {
    /// Escalates every active case past its clock at `now`; returns how many moved.
    pub async fn escalate_cases(&self, now: Timestamp) -> Result<usize, AppError> {
        let rules = &self.config.cases.escalation;
        if rules.is_empty() {
            return Ok(0);
        }
        let calendar = self
            .config
            .calendar
            .calendar()
            .map_err(|e| AppError::Internal(format!("the business calendar: {e:#}")))?;
        let system = Actor::system("escalation");
        let mut after = None;
        let mut moved = 0;
        loop {
            let filter = CaseFilter {
                queue: CaseQueue::Breached(now),
                status: None,
                opened_before: None,
                channels: None,
                after: after.clone(),
                limit: PAGE,
            };
            let page = self.cases(&system, filter).await?;
            for listed in &page {
                let Some(due) = listed.due_at else { continue };
                // The highest level whose threshold `now` reached. The due time itself
                // is the first threshold even when it is a closing time (adding no
                // business time to a closed moment would wait for the next opening).
                let reached = rules.iter().enumerate().rev().find(|(_, r)| {
                    let threshold = match r.after_hours {
                        0 => due,
                        h => calendar.add(due, SignedDuration::from_hours(i64::from(h))),
                    };
                    threshold <= now
                });
                let Some((i, rule)) = reached else { continue };
                let level = u32::try_from(i + 1).unwrap_or(u32::MAX);
                if level <= listed.case.escalation_level {
                    continue;
                }
                let origin = Origin {
                    actor: system.clone(),
                    correlation_id: format!("escalation-{}-{level}", listed.case.id),
                };
                let command = CaseCommand::Escalate {
                    level,
                    rule: rule.describe(),
                    priority: rule.priority(),
                    group: rule.group.clone(),
                };
                self.case_command(origin, None, listed.case.id.to_string(), command)
                    .await?;
                moved += 1;
            }
            match page.last() {
                Some(last) if page.len() == PAGE as usize => {
                    after = Some((last.case.opened_at, last.case.id.to_string()));
                }
                _ => return Ok(moved),
            }
        }
    }
}
