//! Operations KPIs: the figures that say whether operations protect the customer (cycle
//! times, on-time and accuracy rates, exceptions, cancellations, refunds, returns,
//! contacts), read from counters the store keeps as events commit, so a month's report
//! is a read of a few thousand rows whatever the history's size. `catalog` names the
//! KPIs and their benchmarks, `report` computes them, `http` serves them.

pub mod catalog;
pub mod http;
pub mod report;

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
#[derive(Debug, Clone, Copy)]
pub struct KpiQuery {
    pub from: Date,
    pub to: Date,
    pub group_by: Option<GroupBy>,
    pub period: Period,
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
    /// The KPIs from `from` to `to` (business days, both included), grouped as asked.
    /// Figures span every channel, so a key bound to some channels may not read them.
    pub async fn kpi_report(&self, actor: &Actor, q: KpiQuery) -> Result<Vec<KpiFigure>, AppError> {
        authorize(actor, Permission::ReadKpis)?;
        if let (Some(_), Some(role)) = (channel_scope(actor), actor.role()) {
            return Err(AppError::Forbidden {
                role: role.as_str(),
                action: "read the KPIs of every channel",
            });
        }
        let (from, to) = (q.from, q.to);
        let (all, grouped) = self
            .store
            .read(move |r| {
                let all = r.kpi_rows(Dim::All, from, to)?;
                let grouped = match q.group_by {
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
        Ok(report::figures(&all, grouped, (from, to, q.period)))
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
