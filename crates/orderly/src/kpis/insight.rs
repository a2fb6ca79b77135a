//! Inventory insight: the questions operations asks of order data. Days of cover and
//! sell-through per SKU and location from recent demand (units shipped), reorder points
//! from configuration or derived from demand and lead time (stock below one is low),
//! placement (orders and units shipped from farther than the nearest location serving
//! the destination, the distance and cost that added, and the SKUs whose placement
//! caused most of it), and carriers by cost and on-time rate per destination zone. All
//! of it is read from the KPI counters and the stock rows, never from order history.

use crate::app::App;
use crate::app::auth::{Permission, authorize, channel_scope};
use crate::app::error::AppError;
use jiff::civil::Date;
use orderly_domain::actor::Actor;
use orderly_domain::kpi::{Dim, Metric};
use orderly_store::{InventoryRow, KpiRows, StoreError};
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// SKUs listed as causing the most farther shipping.
const TOP_SKUS: usize = 10;
/// Stock rows read per page.
const PAGE: u32 = 500;

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct StockInsight {
    pub sku: String,
    pub location_id: String,
    pub on_hand: i64,
    pub available: i64,
    /// Units shipped from here in the demand window.
    pub shipped_units: i64,
    pub daily_demand: f64,
    /// Available stock over daily demand; none without demand.
    pub days_of_cover: Option<f64>,
    /// Shipped of shipped plus on hand, in percent; none when both are zero.
    pub sell_through_percent: Option<f64>,
    pub reorder_point: u32,
    /// `configured` or `derived`.
    pub reorder_point_source: String,
    /// Available below the reorder point.
    pub low: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct MoneySum {
    pub currency: String,
    pub minor: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SkuPlacement {
    pub sku: String,
    /// Units of it shipped from farther than the nearest location.
    pub farther_units: i64,
    /// Its share of all units shipped from farther, in percent.
    pub share_percent: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Placement {
    pub orders_shipped: i64,
    pub orders_from_farther: i64,
    pub orders_percent: Option<f64>,
    pub units_shipped: i64,
    pub units_from_farther: i64,
    pub units_percent: Option<f64>,
    pub farther_shipments: i64,
    pub extra_km: i64,
    /// The farther locations' extra handling cost (the rate tables price by
    /// destination, so where a parcel leaves from changes its cost through handling).
    pub extra_cost: Vec<MoneySum>,
    /// The SKUs whose stock, placed nearer, would remove most of it.
    pub skus: Vec<SkuPlacement>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct LaneInsight {
    pub carrier: String,
    /// The destination zone: `US-TX`, or the country alone.
    pub zone: String,
    pub shipments: i64,
    /// Average rate-table price per priced shipment, per currency.
    pub average_cost: Vec<MoneySum>,
    pub delivered_with_promise: i64,
    pub on_time_percent: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Insight {
    pub from: String,
    pub to: String,
    pub demand_days: u32,
    pub stock: Vec<StockInsight>,
    pub placement: Placement,
    pub carriers: Vec<LaneInsight>,
}

fn percent(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| part as f64 * 100.0 / whole as f64)
}

/// Counts (and sums) of one metric per key of `rows`.
fn per_key(rows: &KpiRows, metric: Metric) -> BTreeMap<String, (i64, i64)> {
    let mut out: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for (k, v) in rows {
        if k.metric == metric.as_str() {
            let e = out.entry(k.key.clone()).or_default();
            e.0 += v.count;
            e.1 += v.sum;
        }
    }
    out
}

/// Money of one metric per key and currency.
fn money_per_key(rows: &KpiRows, metric: Metric) -> BTreeMap<String, BTreeMap<String, (i64, i64)>> {
    let mut out: BTreeMap<String, BTreeMap<String, (i64, i64)>> = BTreeMap::new();
    for (k, v) in rows {
        if let Some((m, Some(c))) = Metric::parse_stored(&k.metric)
            && m == metric
        {
            let e = out
                .entry(k.key.clone())
                .or_default()
                .entry(c.as_str().to_owned())
                .or_default();
            e.0 += v.count;
            e.1 += v.sum;
        }
    }
    out
}

fn total(rows: &KpiRows, metric: Metric) -> (i64, i64) {
    per_key(rows, metric)
        .values()
        .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
}

impl App {
    /// The insight over the demand window ending `to` (`kpis.demand_days` long).
    pub async fn inventory_insight(&self, actor: &Actor, to: Date) -> Result<Insight, AppError> {
        authorize(actor, Permission::ReadKpis)?;
        if let (Some(_), Some(role)) = (channel_scope(actor), actor.role()) {
            return Err(AppError::Forbidden {
                role: role.as_str(),
                action: "read the stock and placement of every channel",
            });
        }
        let cfg = self.config.kpis.clone();
        let days = i64::from(cfg.demand_days.max(1));
        let from = to
            .checked_sub(jiff::Span::new().days(days - 1))
            .map_err(|e| AppError::Internal(e.to_string()))?;
        let (stock_rows, all, skus, lanes, inventory) = self
            .store
            .read(move |r| {
                let mut inventory: Vec<InventoryRow> = Vec::new();
                let mut after: Option<(String, String)> = None;
                loop {
                    let page = r.inventory(
                        None,
                        None,
                        after.as_ref().map(|(s, l)| (s.as_str(), l.as_str())),
                        PAGE,
                    )?;
                    let full = page.len() == PAGE as usize;
                    after = page.last().map(|i| (i.sku.clone(), i.location_id.clone()));
                    inventory.extend(page);
                    if !full {
                        break;
                    }
                }
                Ok::<_, StoreError>((
                    r.kpi_rows(Dim::Stock, from, to)?,
                    r.kpi_rows(Dim::All, from, to)?,
                    r.kpi_rows(Dim::Sku, from, to)?,
                    r.kpi_rows(Dim::Lane, from, to)?,
                    inventory,
                ))
            })
            .await?;
        let shipped = per_key(&stock_rows, Metric::ShippedUnits);
        let stock = inventory
            .iter()
            .map(|row| {
                let key = format!("{}@{}", row.sku, row.location_id);
                let units = shipped.get(&key).map_or(0, |(n, _)| *n);
                let daily = units as f64 / days as f64;
                let available = row.on_hand - row.reserved;
                let configured = cfg
                    .reorder_points
                    .iter()
                    .find(|p| p.sku == row.sku && p.location == row.location_id);
                let (reorder_point, source) = match configured {
                    Some(p) => (p.units, "configured"),
                    None => {
                        let cover = f64::from(cfg.lead_time_days + cfg.safety_days);
                        // At most u32::MAX units: a float cast saturates.
                        ((daily * cover).ceil() as u32, "derived")
                    }
                };
                StockInsight {
                    sku: row.sku.clone(),
                    location_id: row.location_id.clone(),
                    on_hand: row.on_hand,
                    available,
                    shipped_units: units,
                    daily_demand: daily,
                    days_of_cover: (units > 0).then(|| available as f64 / daily),
                    sell_through_percent: percent(units, units + row.on_hand),
                    reorder_point,
                    reorder_point_source: source.into(),
                    low: reorder_point > 0 && available < i64::from(reorder_point),
                }
            })
            .collect();
        let farther_units = per_key(&skus, Metric::FartherUnits);
        let (units_from_farther, _) = total(&all, Metric::FartherUnits);
        let mut top: Vec<SkuPlacement> = farther_units
            .iter()
            .map(|(sku, (n, _))| SkuPlacement {
                sku: sku.clone(),
                farther_units: *n,
                share_percent: percent(*n, units_from_farther).unwrap_or(0.0),
            })
            .collect();
        top.sort_by(|a, b| {
            b.farther_units
                .cmp(&a.farther_units)
                .then(a.sku.cmp(&b.sku))
        });
        top.truncate(TOP_SKUS);
        let (orders_shipped, _) = total(&all, Metric::OrderToShip);
        let (orders_from_farther, _) = total(&all, Metric::OrdersFromFarther);
        let (units_shipped, _) = total(&all, Metric::ShippedUnits);
        let (farther_shipments, extra_km) = total(&all, Metric::FartherShipments);
        let extra_cost = money_per_key(&all, Metric::FartherCost)
            .remove("")
            .unwrap_or_default()
            .into_iter()
            .map(|(currency, (_, minor))| MoneySum { currency, minor })
            .collect();
        let placement = Placement {
            orders_shipped,
            orders_from_farther,
            orders_percent: percent(orders_from_farther, orders_shipped),
            units_shipped,
            units_from_farther,
            units_percent: percent(units_from_farther, units_shipped),
            farther_shipments,
            extra_km,
            extra_cost,
            skus: top,
        };
        let shipments = per_key(&lanes, Metric::Shipments);
        let promised = per_key(&lanes, Metric::DeliveriesPromised);
        let on_time = per_key(&lanes, Metric::DeliveriesOnTime);
        let costs = money_per_key(&lanes, Metric::ShippingCost);
        let carriers = shipments
            .iter()
            .map(|(lane, (n, _))| {
                let (carrier, zone) = lane.split_once(' ').unwrap_or((lane.as_str(), ""));
                let p = promised.get(lane).map_or(0, |v| v.0);
                LaneInsight {
                    carrier: carrier.to_owned(),
                    zone: zone.to_owned(),
                    shipments: *n,
                    average_cost: costs
                        .get(lane)
                        .map(|by| {
                            by.iter()
                                .filter(|(_, (count, _))| *count > 0)
                                .map(|(currency, (count, sum))| MoneySum {
                                    currency: currency.clone(),
                                    minor: sum / count,
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                    delivered_with_promise: p,
                    on_time_percent: percent(on_time.get(lane).map_or(0, |v| v.0), p),
                }
            })
            .collect();
        Ok(Insight {
            from: from.to_string(),
            to: to.to_string(),
            demand_days: cfg.demand_days,
            stock,
            placement,
            carriers,
        })
    }
}

impl App {
    /// Opens a `low_stock` entry in the inventory queue for every SKU and location whose
    /// available stock is below its reorder point, and resolves the entries of those
    /// that are no longer; answers how many it opened and resolved. Run hourly by the
    /// housekeeping, so a queue is at most an hour behind the stock.
    pub async fn check_low_stock(&self) -> Result<(usize, usize), AppError> {
        use orderly_domain::order::exceptions::{kind, queue};
        let system = Actor::system("low-stock check");
        let today = self
            .config
            .kpi_rules()
            .map_err(|e| AppError::Internal(e.to_string()))?
            .day(self.now());
        let insight = self.inventory_insight(&system, today).await?;
        let now = self.now();
        let open = self.low_stock_open().await?;
        let counts = self
            .store
            .write_background(move |tx| {
                let (mut opened, mut resolved) = (0, 0);
                for s in &insight.stock {
                    let subject = format!("{}@{}", s.sku, s.location_id);
                    let was = open.contains(&subject);
                    if s.low && !was {
                        let cover = s.days_of_cover.map_or_else(
                            || "no recent demand".into(),
                            |d| format!("{d:.1} days of cover"),
                        );
                        tx.open_exception(&orderly_store::NewException {
                            queue: queue::INVENTORY,
                            kind: kind::LOW_STOCK,
                            order_id: "",
                            subject_id: &subject,
                            detail: &format!(
                                "{} at {}: {} available, below the {} reorder point {} ({cover})",
                                s.sku,
                                s.location_id,
                                s.available,
                                s.reorder_point_source,
                                s.reorder_point
                            ),
                            at: now,
                        })?;
                        opened += 1;
                    } else if !s.low && was {
                        tx.resolve_exceptions(
                            &subject,
                            &[kind::LOW_STOCK],
                            "low-stock check",
                            "stock is back above its reorder point",
                            now,
                        )?;
                        resolved += 1;
                    }
                }
                Ok::<_, AppError>((opened, resolved))
            })
            .await?;
        Ok(counts)
    }

    /// The subjects (`SKU@location`) of the open low-stock entries.
    async fn low_stock_open(&self) -> Result<std::collections::BTreeSet<String>, AppError> {
        use orderly_domain::order::exceptions::{kind, queue};
        let mut out = std::collections::BTreeSet::new();
        let mut filter = orderly_store::ExceptionFilter {
            queue: Some(queue::INVENTORY.to_owned()),
            kind: Some(kind::LOW_STOCK.to_owned()),
            open: Some(true),
            limit: PAGE,
            ..orderly_store::ExceptionFilter::default()
        };
        loop {
            let f = filter.clone();
            let page = self.store.read(move |r| r.exceptions(&f)).await?;
            let full = page.len() == PAGE as usize;
            let last = page.last().map(|e| e.id);
            out.extend(page.into_iter().map(|e| e.subject_id));
            match last {
                Some(after) if full => filter.after_id = Some(after),
                _ => return Ok(out),
            }
        }
    }
}
