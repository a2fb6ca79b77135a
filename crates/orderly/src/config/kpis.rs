//! `[kpis]`: what the operations figures need beyond the business calendar (whose time
//! zone decides the day an event counts on, and whose working days count the returns
//! cycle). Without the section: the wrong-item and damaged reasons of the demo's return
//! policy make a shipment inaccurate.

use super::Config;
use orderly_domain::kpi::KpiRules;
use serde::Deserialize;
use std::sync::Arc;

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct KpisConfig {
    /// Return reasons (leaf codes of the return policy) that say the shipment was wrong:
    /// a wrong item, or one that arrived damaged. A return asked for one of them makes
    /// the shipments that carried its line count against order accuracy.
    pub inaccuracy_reasons: Vec<String>,
}

impl Default for KpisConfig {
    fn default() -> Self {
        KpisConfig {
            inaccuracy_reasons: KpiRules::default().inaccuracy_reasons,
        }
    }
}

impl KpisConfig {
    pub(super) fn problems(&self) -> Vec<String> {
        self.inaccuracy_reasons
            .iter()
            .enumerate()
            .filter(|(_, r)| r.trim().is_empty() || r.len() > 64)
            .map(|(i, r)| {
                format!("kpis.inaccuracy_reasons[{i}]: {r:?} is not a return reason code")
            })
            .collect()
    }
}

impl Config {
    /// The rules the store's KPI counters are kept by.
    pub fn kpi_rules(&self) -> anyhow::Result<Arc<KpiRules>> {
        Ok(Arc::new(KpiRules {
            calendar: self.calendar.calendar()?.clone(),
            inaccuracy_reasons: self.kpis.inaccuracy_reasons.clone(),
        }))
    }
}
