//! Operations KPIs: the figures that say whether operations protect the customer (cycle
//! times, on-time and accuracy rates, exceptions, cancellations, refunds, returns,
//! contacts), read from counters the store keeps as events commit, so a month's report
//! is a read of a few thousand rows whatever the history's size. `catalog` names the
//! KPIs and their benchmarks, `report` computes them, `http` serves them.

pub mod catalog;
pub mod chart;
pub mod http;
pub mod insight;
pub mod report;
pub mod weekly;

use crate::app::App;
use crate::app::auth::{Permission, authorize, channel_scope};
use crate::app::error::AppError;
use jiff::civil::Date;
use orderly_domain::actor::Actor;
use orderly_domain::kpi::Dim;
use orderly_store::{KpiKey, KpiRows, Recomputed};
use report::{KpiFigure, Period};

/// The longest period one report covers, in days.
pub const MAX_DAYS: i64 = 366;

/// What a KPI report is asked for.
#[derive(Debug, Clone)]
pub struct KpiQuery {
    pub from: Date,
    pub to: Date,
    pub group_by: Option<GroupBy>,
    pub period: Period,
    /// Narrowed to one channel or location (`Dim::Channel` or `Dim::Location`, its key).
    pub only: Option<(Dim, String)>,
}

/// What a report may be grouped by: a stored dimension, or the catalog category of the
/// SKU dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    Dim(Dim),
    Category,
}

impl GroupBy {
    pub fn parse(s: &str) -> Option<GroupBy> {
        match s {
            "category" => Some(GroupBy::Category),
            "all" => None,
            // SKU at a location keeps only shipped units, which the insight reads.
            "stock" => None,
            other => Dim::parse(other).map(GroupBy::Dim),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            GroupBy::Dim(d) => d.as_str(),
            GroupBy::Category => "category",
        }
    }

    fn stored(self) -> Dim {
        match self {
            GroupBy::Dim(d) => d,
            GroupBy::Category => Dim::Sku,
        }
    }
}

impl App {
    /// The KPIs from `from` to `to` (business days, both included), grouped or narrowed
    /// to a channel or location as asked.
    /// Figures span every channel, so a key bound to some channels may not read them.
    pub async fn kpi_report(&self, actor: &Actor, q: KpiQuery) -> Result<Vec<KpiFigure>, AppError> {
        authorize(actor, Permission::ReadKpis)?;
        if let (Some(_), Some(role)) = (channel_scope(actor), actor.role()) {
            return Err(AppError::Forbidden {
                role: role.as_str(),
                action: "read the KPIs of every channel",
            });
        }
        if let Some((dim, key)) = &q.only
            && !self.knows(*dim, key)
        {
            return Err(AppError::NotFound(format!("{} {key}", dim.as_str())));
        }
        let (from, to, group_by) = (q.from, q.to, q.group_by);
        let only = q.only.clone();
        let (all, grouped) = self
            .store
            .read(move |r| {
                let all = match &only {
                    None => r.kpi_rows(Dim::All, from, to)?,
                    Some((dim, key)) => narrowed(r.kpi_rows(*dim, from, to)?, key),
                };
                let grouped = match group_by {
                    Some(g) => {
                        let rows = r.kpi_rows(g.stored(), from, to)?;
                        Some(match g {
                            GroupBy::Category => by_category(r, rows)?,
                            GroupBy::Dim(_) => rows,
                        })
                    }
                    None => None,
                };
                Ok((all, grouped))
            })
            .await?;
        let grouped = q
            .group_by
            .zip(grouped.as_ref())
            .map(|(g, rows)| (g.stored(), rows));
        let only = q.only.as_ref().map(|(d, _)| *d);
        Ok(report::figures(&all, only, grouped, (from, to, q.period)))
    }

    /// Whether `key` is a configured channel or location (what a report may be narrowed
    /// to).
    fn knows(&self, dim: Dim, key: &str) -> bool {
        match dim {
            Dim::Channel => self.config.channels.iter().any(|c| c.id == key),
            Dim::Location => self.config.locations.iter().any(|l| l.id == key),
            _ => false,
        }
    }

    /// Recomputes every KPI counter from the event log and replaces the kept ones,
    /// retrying (a bounded number of times) when events are written meanwhile.
    pub async fn rebuild_kpis(&self) -> Result<Recomputed, AppError> {
        let rules = self
            .config
            .kpi_rules()
            .map_err(|e| AppError::Internal(e.to_string()))?;
        let mut tries = 0;
        loop {
            tries += 1;
            let rules = rules.clone();
            let done = self
                .store
                .read(move |r| orderly_store::recompute(r, &rules))
                .await?;
            let (rows, marks, events) = (done.rows.clone(), done.marks.clone(), done.events);
            let written = self
                .store
                .write(move |tx| tx.replace_kpis(&rows, &marks, events))
                .await;
            match written {
                Ok(()) => return Ok(done),
                Err(orderly_store::StoreError::Conflict(_)) if tries < 5 => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
}

/// The rows of one dimension value, as if they were the whole.
fn narrowed(rows: KpiRows, key: &str) -> KpiRows {
    rows.into_iter().filter(|(k, _)| k.key == key).collect()
}

/// SKU rows summed per catalog category (`uncategorised` for a SKU without one, or no
/// longer in the catalog).
fn by_category(
    r: &mut dyn orderly_store::Reader,
    rows: KpiRows,
) -> Result<KpiRows, orderly_store::StoreError> {
    let skus: Vec<&str> = {
        let mut s: Vec<&str> = rows.keys().map(|k| k.key.as_str()).collect();
        s.sort_unstable();
        s.dedup();
        s
    };
    let products = r.products_by_sku(&skus)?;
    let category = |sku: &str| {
        products
            .iter()
            .find(|p| p.sku == sku)
            .and_then(|p| p.category.clone())
            .unwrap_or_else(|| "uncategorised".to_owned())
    };
    let mut out = KpiRows::new();
    for (k, v) in &rows {
        let sums = out
            .entry(KpiKey {
                key: category(&k.key),
                ..k.clone()
            })
            .or_default();
        sums.count += v.count;
        sums.sum += v.sum;
    }
    Ok(out)
}
