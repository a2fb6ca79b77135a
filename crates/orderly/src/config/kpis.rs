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
    /// Days from ordering stock to its arrival, for derived reorder points.
    pub lead_time_days: u32,
    /// Days of demand kept beyond the lead time as safety stock.
    pub safety_days: u32,
    /// Days of recent demand that days of cover and derived reorder points read.
    pub demand_days: u32,
    /// Reorder points set by hand; any other SKU and location gets one derived from its
    /// demand: daily demand × (lead time + safety days), rounded up.
    pub reorder_points: Vec<ReorderPoint>,
}

/// A reorder point set by hand.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ReorderPoint {
    pub sku: String,
    pub location: String,
    /// Available units below which the stock is low.
    pub units: u32,
}

impl Default for KpisConfig {
    fn default() -> Self {
        KpisConfig {
            inaccuracy_reasons: KpiRules::default().inaccuracy_reasons,
            lead_time_days: 7,
            safety_days: 3,
            demand_days: 28,
            reorder_points: Vec::new(),
        }
    }
}

impl KpisConfig {
    pub(super) fn problems(&self, locations: &[String]) -> Vec<String> {
        let mut out: Vec<String> = self
            .inaccuracy_reasons
            .iter()
            .enumerate()
            .filter(|(_, r)| r.trim().is_empty() || r.len() > 64)
            .map(|(i, r)| {
                format!("kpis.inaccuracy_reasons[{i}]: {r:?} is not a return reason code")
            })
            .collect();
        if !(1..=365).contains(&self.demand_days) {
            out.push(format!(
                "kpis.demand_days: {} is not 1 to 365",
                self.demand_days
            ));
        }
        if self.lead_time_days > 365 || self.safety_days > 365 {
            out.push("kpis.lead_time_days and kpis.safety_days: at most 365".into());
        }
        for (i, p) in self.reorder_points.iter().enumerate() {
            if !locations.contains(&p.location) {
                out.push(format!(
                    "kpis.reorder_points[{i}].location: {:?} is not a configured location",
                    p.location
                ));
            }
            if p.sku.trim().is_empty() {
                out.push(format!("kpis.reorder_points[{i}].sku: empty"));
            }
        }
        out
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
