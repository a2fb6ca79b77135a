//! Escalation: the timer worker's sweep over cases whose SLA clock ran out. A case
//! passes level *k* of `cases.escalation` when it is that level's business hours past
//! its clock (first response, then resolution, at its current priority); passing it
//! raises the priority, may hand the case to a group, and is an event on the case. Each
//! level is passed once (the domain refuses a level already passed), so a sweep that
//! runs twice, or two processes sweeping together, escalate nothing twice. The group the
//! case is with after the escalation is told by email when `cases.group_emails` names
//! its address: the message is queued in the escalation's own transaction, so neither
//! happens without the other, and a message that cannot be sent is dead-lettered into
//! the deliveries queue like every other.

use crate::app::error::AppError;
use crate::app::{App, Origin};
use jiff::{SignedDuration, Timestamp};
use orderly_domain::actor::Actor;
use orderly_domain::case::Case;
use orderly_domain::case::CaseCommand;
use orderly_store::{CaseFilter, CaseQueue, EventMeta, MessageContent, NewMessage, WriteTx};

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
                let notify = self.group_notice(rule.describe(), level);
                self.case_command_then(origin, None, listed.case.id.to_string(), command, notify)
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

impl App {
    /// What queues the email to the case's group after an escalation to `level`.
    fn group_notice(
        &self,
        rule: String,
        level: u32,
    ) -> impl Fn(&mut dyn WriteTx, &Case, &EventMeta) -> Result<(), AppError> + Send + Sync + 'static
    {
        let emails = self.config.cases.group_emails.clone();
        let transport = self.notifier.mailer.name().to_owned();
        let ids = self.ids.clone();
        move |tx, case, meta| {
            let Some(to) = case.group.as_ref().and_then(|g| emails.get(g)) else {
                return Ok(());
            };
            let subject = format!(
                "{} escalated to level {level} ({}): {}",
                case.number,
                case.priority.as_str(),
                case.subject
            );
            let about = case
                .order_id
                .as_ref()
                .map(|o| format!("Order: {o}\n"))
                .unwrap_or_default();
            let text = format!(
                "Case {} ({}) is {} and was escalated to level {level}: {rule}.\n\
                 Group: {}\nPriority: {}\n{about}Owner: {}\n",
                case.number,
                case.subject,
                case.status.as_str(),
                case.group.as_deref().unwrap_or("none"),
                case.priority.as_str(),
                case.owner.as_deref().unwrap_or("nobody"),
            );
            let html = format!("<p>{}</p>", html_escape(&text).replace('\n', "<br>"));
            tx.insert_messages(&[NewMessage {
                id: ids.new_id("msg"),
                // A message lives with an order (its timeline, its messages); a case about
                // no order keeps it under the case's id.
                order_id: case
                    .order_id
                    .as_ref()
                    .map_or_else(|| case.id.to_string(), |o| o.to_string()),
                template: "case_escalated".into(),
                category: "transactional".into(),
                recipient: to.clone(),
                event_id: None,
                event_type: Some("case_escalated".into()),
                position: None,
                transport: transport.clone(),
                send_at: meta.at,
                content: Some(MessageContent {
                    language: "en".into(),
                    subject,
                    text,
                    html,
                }),
                resend_of: None,
                created_by: meta.actor.label(),
                at: meta.at,
            }])?;
            Ok(())
        }
    }
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
