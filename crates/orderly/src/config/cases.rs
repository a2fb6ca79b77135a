//! `[cases]`: the root-cause taxonomy a case is resolved with, which signal of the linked
//! order suggests which cause, the support groups, and the SLA targets in business hours
//! (counted on `[calendar]`) per priority. The taxonomy is the team's, so it is
//! configuration; the defaults are the causes an online store's support meets most.

use orderly_domain::case::Priority;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CasesConfig {
    /// Root causes, snake_case codes; a case is resolved with one of them.
    pub root_causes: Vec<String>,
    /// Signal of the linked order (`shipment_delayed`, `short_pick`,
    /// `return_reason:<code>`, …; see `orderly_domain::case::signals`) → root cause.
    pub suggestions: BTreeMap<String, String>,
    /// The groups cases may be assigned to.
    pub groups: Vec<String>,
    /// Where a group is told of a case escalated to it (group → email address).
    pub group_emails: BTreeMap<String, String>,
    /// Business hours from opening to support's first answer, per priority.
    pub first_response_hours: PriorityHours,
    /// Business hours from opening to resolution, per priority.
    pub resolution_hours: PriorityHours,
    /// Escalation levels, in rising order of `after_hours`: a case passes a level when
    /// its SLA clock (first response, then resolution) is that many business hours
    /// overdue; each level is passed once.
    pub escalation: Vec<EscalationRule>,
}

/// One escalation level: what happens when a case is `after_hours` business hours past
/// its SLA clock.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct EscalationRule {
    pub after_hours: u32,
    /// Raised to this priority (never lowered).
    pub priority: Option<String>,
    /// Handed to this group (one of `groups`).
    pub group: Option<String>,
}

impl EscalationRule {
    pub fn priority(&self) -> Option<Priority> {
        self.priority.as_deref().and_then(Priority::parse)
    }

    /// The rule as the case's history tells it.
    pub fn describe(&self) -> String {
        if self.after_hours == 0 {
            "SLA due time passed".to_owned()
        } else {
            format!("{} business hours past the SLA due time", self.after_hours)
        }
    }
}

/// Business hours per priority.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PriorityHours {
    pub low: u32,
    pub normal: u32,
    pub high: u32,
    pub urgent: u32,
}

impl PriorityHours {
    pub fn of(&self, p: Priority) -> u32 {
        match p {
            Priority::Low => self.low,
            Priority::Normal => self.normal,
            Priority::High => self.high,
            Priority::Urgent => self.urgent,
        }
    }
}

const ROOT_CAUSES: [&str; 10] = [
    "carrier_delay",
    "inventory_accuracy",
    "wrong_item",
    "damaged_in_transit",
    "payment_issue",
    "address_error",
    "customer_changed_mind",
    "policy_confusion",
    "website_issue",
    "product_quality",
];

const SUGGESTIONS: [(&str, &str); 16] = [
    ("shipment_delayed", "carrier_delay"),
    ("shipment_lost", "carrier_delay"),
    ("delivery_failed", "carrier_delay"),
    ("returned_to_sender", "address_error"),
    ("address_hold", "address_error"),
    ("short_pick", "inventory_accuracy"),
    ("backordered", "inventory_accuracy"),
    ("payment_failed", "payment_issue"),
    ("return_reason:wrong_item", "wrong_item"),
    ("return_reason:arrived_damaged", "damaged_in_transit"),
    ("return_reason:changed_mind", "customer_changed_mind"),
    ("return_reason:stopped_working", "product_quality"),
    ("return_reason:not_as_described", "website_issue"),
    ("return_reason:looks_different", "website_issue"),
    ("return_reason:size_too_small", "website_issue"),
    ("return_reason:size_too_large", "website_issue"),
];

impl Default for CasesConfig {
    fn default() -> Self {
        CasesConfig {
            root_causes: ROOT_CAUSES.map(String::from).to_vec(),
            suggestions: SUGGESTIONS
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            groups: ["tier1", "tier2", "returns", "warehouse"]
                .map(String::from)
                .to_vec(),
            group_emails: BTreeMap::new(),
            first_response_hours: PriorityHours {
                low: 24,
                normal: 8,
                high: 4,
                urgent: 1,
            },
            resolution_hours: PriorityHours {
                low: 80,
                normal: 40,
                high: 16,
                urgent: 4,
            },
            escalation: vec![
                EscalationRule {
                    after_hours: 0,
                    priority: Some("high".into()),
                    group: None,
                },
                EscalationRule {
                    after_hours: 8,
                    priority: Some("urgent".into()),
                    group: Some("tier2".into()),
                },
            ],
        }
    }
}

fn is_code(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

impl CasesConfig {
    /// Every problem with the section as `key: message`.
    pub(super) fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.root_causes.is_empty() {
            problems.push("cases.root_causes: at least one root cause is required".into());
        }
        for (i, c) in self.root_causes.iter().enumerate() {
            if !is_code(c) {
                problems.push(format!(
                    "cases.root_causes[{i}]: {c:?} is not a snake_case code"
                ));
            } else if self.root_causes[..i].contains(c) {
                problems.push(format!("cases.root_causes[{i}]: {c:?} is listed twice"));
            }
        }
        for (signal, cause) in &self.suggestions {
            if !self.root_causes.contains(cause) {
                problems.push(format!(
                    "cases.suggestions.{signal}: {cause:?} is not one of cases.root_causes"
                ));
            }
        }
        for (i, g) in self.groups.iter().enumerate() {
            if !is_code(g) {
                problems.push(format!("cases.groups[{i}]: {g:?} is not a snake_case code"));
            }
        }
        for (group, email) in &self.group_emails {
            if !self.groups.contains(group) {
                problems.push(format!(
                    "cases.group_emails.{group}: {group:?} is not one of cases.groups"
                ));
            }
            if orderly_domain::values::Email::parse(email).is_err() {
                problems.push(format!(
                    "cases.group_emails.{group}: {email:?} is not an email address"
                ));
            }
        }
        for (key, hours) in [
            ("first_response_hours", self.first_response_hours),
            ("resolution_hours", self.resolution_hours),
        ] {
            for p in Priority::ALL {
                if hours.of(*p) == 0 || hours.of(*p) > 10_000 {
                    problems.push(format!(
                        "cases.{key}.{}: must be between 1 and 10000",
                        p.as_str()
                    ));
                }
            }
        }
        for (i, r) in self.escalation.iter().enumerate() {
            if i > 0 && r.after_hours <= self.escalation[i - 1].after_hours {
                problems.push(format!(
                    "cases.escalation[{i}].after_hours: must be above the level before"
                ));
            }
            if r.priority.is_some() && r.priority().is_none() {
                problems.push(format!(
                    "cases.escalation[{i}].priority: low, normal, high or urgent"
                ));
            }
            if let Some(g) = &r.group
                && !self.groups.contains(g)
            {
                problems.push(format!(
                    "cases.escalation[{i}].group: {g:?} is not one of cases.groups"
                ));
            }
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use figment::Figment;
    use figment::providers::{Format, Toml};

    fn section(toml: &str) -> CasesConfig {
        Figment::from(Toml::string(toml))
            .extract_inner("cases")
            .unwrap()
    }

    #[test]
    fn the_defaults_are_sound_and_every_suggestion_names_a_root_cause() {
        assert_eq!(CasesConfig::default().problems(), Vec::<String>::new());
    }

    #[test]
    fn the_example_in_the_deployment_guide_loads() {
        let guide = include_str!("../../../../docs/deployment.md");
        let example = guide
            .split("```toml\n")
            .find(|block| block.starts_with("[cases]"))
            .and_then(|block| block.split("```").next())
            .unwrap();
        let cases = section(example);
        assert_eq!(cases.problems(), Vec::<String>::new());
        assert_eq!(
            cases.suggestions.len(),
            3,
            "the section replaces the defaults"
        );
        assert_eq!(cases.first_response_hours.of(Priority::High), 4);
    }

    #[test]
    fn every_problem_is_named_with_its_key() {
        let cases = section(
            r#"[cases]
root_causes = ["carrier_delay", "Bad Cause", "carrier_delay"]
groups = ["tier 1"]
first_response_hours = { low = 0, normal = 8, high = 4, urgent = 1 }
[[cases.escalation]]
after_hours = 4
priority = "sky-high"
[[cases.escalation]]
after_hours = 4
group = "nobody"
[cases.suggestions]
short_pick = "stock"
"#,
        );
        assert_eq!(
            cases.problems(),
            [
                "cases.root_causes[1]: \"Bad Cause\" is not a snake_case code",
                "cases.root_causes[2]: \"carrier_delay\" is listed twice",
                "cases.suggestions.short_pick: \"stock\" is not one of cases.root_causes",
                "cases.groups[0]: \"tier 1\" is not a snake_case code",
                "cases.first_response_hours.low: must be between 1 and 10000",
                "cases.escalation[0].priority: low, normal, high or urgent",
                "cases.escalation[1].after_hours: must be above the level before",
                "cases.escalation[1].group: \"nobody\" is not one of cases.groups",
            ]
        );
    }
}
