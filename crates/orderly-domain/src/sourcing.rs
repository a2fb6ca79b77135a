//! Where each order line ships from. A single shipment is cheaper and kinder to the
//! customer than several, so a location that can serve the whole order wins; among those
//! the nearest to the ship-to address, then the configured priority. Only when no single
//! location can serve do we split, still whole lines first, and split a line itself last.
//! The plan records every candidate's score so a person can see why.
//!
//! The planning code ends at line ~390; the rest is its tests (each strategy's cases and
//! the property that a plan never reserves more than there is), kept beside what they
//! pin down rather than split from it.

use crate::geo::LatLon;
use crate::values::{Id, Sku};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// What sourcing knows about one location.
#[derive(Debug, Clone, PartialEq)]
pub struct LocationFacts {
    pub id: Id,
    pub coords: LatLon,
    pub can_ship: bool,
    /// Customers may collect orders here (click and collect).
    pub can_pickup: bool,
    /// Lower numbers are preferred.
    pub priority: u32,
    /// What handling a shipment costs here (minor units), for the `cheapest` strategy.
    pub handling_cost_minor: i64,
    /// Countries it ships to (ISO codes); empty: anywhere.
    pub ships_to: Vec<String>,
}

/// Where an order goes: shipped to a country (when known), or collected at a location's
/// counter (click and collect).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination<'a> {
    Ship { country: Option<&'a str> },
    Pickup(&'a Id),
}

impl LocationFacts {
    /// Whether this location can serve an order going to `to`: it ships there, or it is
    /// the counter the customer collects at.
    pub fn serves(&self, to: Destination<'_>) -> bool {
        match to {
            Destination::Ship { country } => {
                self.can_ship
                    && (self.ships_to.is_empty()
                        || country.is_none_or(|c| self.ships_to.iter().any(|s| s == c)))
            }
            Destination::Pickup(counter) => self.can_pickup && &self.id == counter,
        }
    }
}

/// How locations are ranked for an order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourcingStrategy {
    /// As few locations as possible: one that serves everything, else the fewest that do
    /// (nearest, then priority, breaks ties).
    #[default]
    MinimizeSplits,
    /// Each line from the nearest location that has it.
    Nearest,
    /// Each line from the preferred location (lowest priority number) that has it.
    Priority,
    /// The fewest shipments, then the lowest handling cost: each line from a location
    /// already shipping part of the order when one has it, else the cheapest to handle.
    Cheapest,
}

/// The configured way of sourcing, and its limits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SourcingPolicy {
    pub strategy: SourcingStrategy,
    /// At most this many locations per order (what they cannot serve is short).
    pub max_locations: Option<u32>,
}

/// Units available per (SKU, location), read inside the deciding transaction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StockView {
    /// SKU → location → units; nested so a lookup borrows its keys instead of cloning.
    available: HashMap<Sku, HashMap<Id, u32>>,
}

impl StockView {
    pub fn set(&mut self, sku: Sku, location: Id, available: u32) {
        self.available
            .entry(sku)
            .or_default()
            .insert(location, available);
    }

    pub fn available(&self, sku: &Sku, location: &Id) -> u32 {
        self.available
            .get(sku)
            .and_then(|at| at.get(location))
            .copied()
            .unwrap_or(0)
    }
}

/// One order line's demand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Demand {
    pub line_no: u32,
    pub sku: Sku,
    pub quantity: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Allocation {
    pub line_no: u32,
    pub sku: Sku,
    pub location_id: Id,
    pub quantity: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shortfall {
    pub line_no: u32,
    pub sku: Sku,
    pub quantity: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// One location serves every line.
    SingleLocation,
    /// Several locations, whole lines kept together where possible.
    Split,
    /// No location had any of the stock.
    NoStock,
}

/// How one candidate location scored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CandidateScore {
    pub location_id: Id,
    /// Rounded kilometres to the ship-to address, when both are geocoded.
    pub distance_km: Option<u32>,
    pub priority: u32,
    #[serde(default)]
    pub handling_cost_minor: i64,
    pub can_serve_all: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rationale {
    pub strategy: Strategy,
    pub candidates: Vec<CandidateScore>,
    /// The policy the decision followed (absent in decisions made before policies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<SourcingPolicy>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub allocations: Vec<Allocation>,
    pub shortfalls: Vec<Shortfall>,
    pub rationale: Rationale,
}

/// Decides where every unit of `demands` comes from with the default policy (minimize
/// splits, no limit, shipped anywhere). Deterministic for equal inputs.
#[cfg(test)]
pub fn plan(
    demands: &[Demand],
    locations: &[LocationFacts],
    stock: &StockView,
    ship_to: Option<LatLon>,
) -> Plan {
    plan_with(
        demands,
        locations,
        stock,
        ship_to,
        Destination::Ship { country: None },
        SourcingPolicy::default(),
    )
}

/// Decides where every unit of `demands` comes from under `policy`, among the locations
/// that serve `to`. Deterministic for equal inputs.
pub fn plan_with(
    demands: &[Demand],
    locations: &[LocationFacts],
    stock: &StockView,
    ship_to: Option<LatLon>,
    to: Destination<'_>,
    policy: SourcingPolicy,
) -> Plan {
    let mut candidates: Vec<(&LocationFacts, Option<u32>)> = locations
        .iter()
        .filter(|l| l.serves(to))
        .map(|l| (l, ship_to.map(|to| to.distance_km(l.coords).round() as u32)))
        .collect();
    // By the strategy's measure; unknown distances last; the id makes it deterministic.
    candidates.sort_by(|(a, da), (b, db)| {
        let (da, db) = (da.unwrap_or(u32::MAX), db.unwrap_or(u32::MAX));
        match policy.strategy {
            SourcingStrategy::MinimizeSplits | SourcingStrategy::Nearest => {
                (da, a.priority, &a.id).cmp(&(db, b.priority, &b.id))
            }
            SourcingStrategy::Priority => (a.priority, da, &a.id).cmp(&(b.priority, db, &b.id)),
            SourcingStrategy::Cheapest => (a.handling_cost_minor, da, a.priority, &a.id).cmp(&(
                b.handling_cost_minor,
                db,
                b.priority,
                &b.id,
            )),
        }
    });
    let limit = policy.max_locations.map(|m| m.max(1) as usize);

    // Stock as a dense table: one row per distinct SKU, one column per candidate, read
    // from the view once. Demands point at their SKU's row (two lines of one SKU share it).
    let mut skus: Vec<&Sku> = Vec::new();
    let sku_of: Vec<usize> = demands
        .iter()
        .map(|d| match skus.iter().position(|s| *s == &d.sku) {
            Some(i) => i,
            None => {
                skus.push(&d.sku);
                skus.len() - 1
            }
        })
        .collect();
    let width = candidates.len();
    let mut avail: Vec<u32> = Vec::with_capacity(skus.len() * width);
    for sku in &skus {
        for (l, _) in &candidates {
            avail.push(stock.available(sku, &l.id));
        }
    }
    let mut need = vec![0u32; skus.len()];
    for (d, &k) in demands.iter().zip(&sku_of) {
        need[k] += d.quantity;
    }

    let scores: Vec<CandidateScore> = candidates
        .iter()
        .enumerate()
        .map(|(c, (l, dist))| CandidateScore {
            location_id: l.id.clone(),
            distance_km: *dist,
            priority: l.priority,
            handling_cost_minor: l.handling_cost_minor,
            can_serve_all: need
                .iter()
                .enumerate()
                .all(|(k, &n)| avail[k * width + c] >= n),
        })
        .collect();

    let single = policy.strategy == SourcingStrategy::MinimizeSplits || limit == Some(1);
    if let Some(best) = scores.iter().find(|s| s.can_serve_all).filter(|_| single) {
        let allocations = demands
            .iter()
            .map(|d| Allocation {
                line_no: d.line_no,
                sku: d.sku.clone(),
                location_id: best.location_id.clone(),
                quantity: d.quantity,
            })
            .collect();
        return Plan {
            allocations,
            shortfalls: Vec::new(),
            rationale: Rationale {
                strategy: Strategy::SingleLocation,
                candidates: scores,
                policy: Some(policy),
            },
        };
    }
    // Locations used so far; once the limit is reached, only they may serve more.
    let mut used: Vec<usize> = Vec::new();
    let allowed =
        |c: usize, used: &Vec<usize>| used.contains(&c) || limit.is_none_or(|m| used.len() < m);

    let mut left: Vec<u32> = demands.iter().map(|d| d.quantity).collect();
    let mut allocations: Vec<Allocation> = Vec::new();
    let mut take = |i: usize, c: usize, n: u32, avail: &mut Vec<u32>| {
        avail[sku_of[i] * width + c] -= n;
        let d = &demands[i];
        allocations.push(Allocation {
            line_no: d.line_no,
            sku: d.sku.clone(),
            location_id: candidates[c].0.id.clone(),
            quantity: n,
        });
    };
    // Minimize splits, phase 1: whole lines, each round giving the location that can
    // serve the most of the remaining lines completely (ties keep the candidate order).
    // The other strategies give each line, whole, to the first candidate that has it.
    if single {
        loop {
            let mut best: Option<(usize, usize)> = None;
            for c in (0..width).filter(|c| allowed(*c, &used)) {
                let whole = left
                    .iter()
                    .enumerate()
                    .filter(|&(i, &n)| n > 0 && avail[sku_of[i] * width + c] >= n)
                    .count();
                if whole > 0 && best.is_none_or(|(_, b)| whole > b) {
                    best = Some((c, whole));
                }
            }
            let Some((c, _)) = best else { break };
            if !used.contains(&c) {
                used.push(c);
            }
            for i in 0..left.len() {
                let n = left[i];
                if n > 0 && avail[sku_of[i] * width + c] >= n {
                    take(i, c, n, &mut avail);
                    left[i] = 0;
                }
            }
        }
    }
    if !single {
        for i in 0..left.len() {
            let n = left[i];
            let fits = |c: &usize| allowed(*c, &used) && avail[sku_of[i] * width + c] >= n;
            // Cheapest: a location already shipping part of the order adds no shipment
            // (rates depend on the destination, so each extra location costs one more
            // shipment's rate plus its handling); otherwise the lowest handling cost.
            let reuse = (policy.strategy == SourcingStrategy::Cheapest)
                .then(|| used.iter().copied().find(|c| fits(c)))
                .flatten();
            let whole = reuse.or_else(|| (0..width).find(|c| fits(c)));
            if let Some(c) = whole.filter(|_| n > 0) {
                if !used.contains(&c) {
                    used.push(c);
                }
                take(i, c, n, &mut avail);
                left[i] = 0;
            }
        }
    }
    // Then lines no single location can serve are split, in candidate order.
    for i in 0..left.len() {
        for c in 0..width {
            if left[i] == 0 {
                break;
            }
            if !allowed(c, &used) {
                continue;
            }
            let part = avail[sku_of[i] * width + c].min(left[i]);
            if part > 0 {
                if !used.contains(&c) {
                    used.push(c);
                }
                take(i, c, part, &mut avail);
                left[i] -= part;
            }
        }
    }
    allocations.sort_by(|a, b| (a.line_no, &a.location_id).cmp(&(b.line_no, &b.location_id)));
    let shortfalls = left
        .iter()
        .enumerate()
        .filter(|(_, n)| **n > 0)
        .map(|(i, &n)| Shortfall {
            line_no: demands[i].line_no,
            sku: demands[i].sku.clone(),
            quantity: n,
        })
        .collect();
    let strategy = if allocations.is_empty() {
        Strategy::NoStock
    } else {
        Strategy::Split
    };
    Plan {
        allocations,
        shortfalls,
        rationale: Rationale {
            strategy,
            candidates: scores,
            policy: Some(policy),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANYWHERE: Destination<'static> = Destination::Ship { country: None };

    fn loc(id: &str, lat: f64, lon: f64, priority: u32) -> LocationFacts {
        LocationFacts {
            id: Id::new(id),
            coords: LatLon {
                latitude: lat,
                longitude: lon,
            },
            can_ship: true,
            can_pickup: false,
            priority,
            handling_cost_minor: 0,
            ships_to: Vec::new(),
        }
    }

    fn sku(s: &str) -> Sku {
        Sku::parse(s).unwrap()
    }

    fn demand(line_no: u32, s: &str, quantity: u32) -> Demand {
        Demand {
            line_no,
            sku: sku(s),
            quantity,
        }
    }

    fn stock(entries: &[(&str, &str, u32)]) -> StockView {
        let mut v = StockView::default();
        for (s, l, n) in entries {
            v.set(sku(s), Id::new(*l), *n);
        }
        v
    }

    fn east() -> LocationFacts {
        loc("east", 40.7, -74.0, 2)
    }
    fn west() -> LocationFacts {
        loc("west", 34.0, -118.2, 1)
    }
    const AUSTIN: LatLon = LatLon {
        latitude: 30.27,
        longitude: -97.74,
    };
    const BOSTON: LatLon = LatLon {
        latitude: 42.36,
        longitude: -71.06,
    };

    #[test]
    fn nearest_single_location_wins_when_both_can_serve() {
        let s = stock(&[("A", "east", 5), ("A", "west", 5)]);
        let p = plan(&[demand(1, "A", 2)], &[east(), west()], &s, Some(BOSTON));
        assert_eq!(p.rationale.strategy, Strategy::SingleLocation);
        assert_eq!(p.allocations[0].location_id.as_str(), "east");
    }

    #[test]
    fn priority_breaks_the_tie_without_an_address_position() {
        let s = stock(&[("A", "east", 5), ("A", "west", 5)]);
        let p = plan(&[demand(1, "A", 2)], &[east(), west()], &s, None);
        assert_eq!(p.allocations[0].location_id.as_str(), "west");
    }

    #[test]
    fn a_location_serving_everything_beats_a_nearer_one_that_cannot() {
        let s = stock(&[("A", "east", 5), ("B", "west", 5), ("A", "west", 5)]);
        let p = plan(
            &[demand(1, "A", 1), demand(2, "B", 1)],
            &[east(), west()],
            &s,
            Some(BOSTON),
        );
        assert_eq!(p.rationale.strategy, Strategy::SingleLocation);
        assert!(
            p.allocations
                .iter()
                .all(|a| a.location_id.as_str() == "west")
        );
    }

    #[test]
    fn split_keeps_whole_lines_and_splits_a_line_only_when_needed() {
        let s = stock(&[
            ("A", "east", 5),
            ("B", "west", 5),
            ("C", "east", 1),
            ("C", "west", 2),
        ]);
        let p = plan(
            &[demand(1, "A", 2), demand(2, "B", 2), demand(3, "C", 3)],
            &[east(), west()],
            &s,
            Some(AUSTIN),
        );
        assert_eq!(p.rationale.strategy, Strategy::Split);
        assert!(p.shortfalls.is_empty());
        let at = |line: u32| -> Vec<(String, u32)> {
            p.allocations
                .iter()
                .filter(|a| a.line_no == line)
                .map(|a| (a.location_id.to_string(), a.quantity))
                .collect()
        };
        assert_eq!(at(1), vec![("east".into(), 2)]);
        assert_eq!(at(2), vec![("west".into(), 2)]);
        assert_eq!(at(3), vec![("east".into(), 1), ("west".into(), 2)]);
    }

    #[test]
    fn shortfall_is_reported_and_non_shipping_locations_are_ignored() {
        let mut store = loc("store", 30.27, -97.74, 0);
        store.can_ship = false;
        let s = stock(&[("A", "store", 50), ("A", "east", 1)]);
        let p = plan(&[demand(1, "A", 3)], &[store, east()], &s, Some(AUSTIN));
        assert_eq!(p.allocations.len(), 1);
        assert_eq!(p.allocations[0].quantity, 1);
        assert_eq!(
            p.shortfalls,
            vec![Shortfall {
                line_no: 1,
                sku: sku("A"),
                quantity: 2
            }]
        );
        assert_eq!(p.rationale.candidates.len(), 1);
    }

    #[test]
    fn two_lines_of_one_sku_share_the_stock() {
        let s = stock(&[("A", "east", 3)]);
        let p = plan(&[demand(1, "A", 2), demand(2, "A", 2)], &[east()], &s, None);
        let total: u32 = p.allocations.iter().map(|a| a.quantity).sum();
        assert_eq!(total, 3);
        assert_eq!(p.shortfalls.iter().map(|s| s.quantity).sum::<u32>(), 1);
    }

    fn policy(strategy: SourcingStrategy, max_locations: Option<u32>) -> SourcingPolicy {
        SourcingPolicy {
            strategy,
            max_locations,
        }
    }

    /// A and B: east has both, west (nearer to Austin) only A.
    fn split_facts() -> (Vec<LocationFacts>, StockView, Vec<Demand>) {
        let s = stock(&[("A", "east", 5), ("B", "east", 5), ("A", "west", 5)]);
        (
            vec![east(), west()],
            s,
            vec![demand(1, "A", 1), demand(2, "B", 1)],
        )
    }

    #[test]
    fn minimize_splits_keeps_the_order_together_where_nearest_takes_each_line_near() {
        let (locs, s, d) = split_facts();
        let together = plan_with(
            &d,
            &locs,
            &s,
            Some(AUSTIN),
            ANYWHERE,
            SourcingPolicy::default(),
        );
        assert_eq!(together.rationale.strategy, Strategy::SingleLocation);
        assert!(
            together
                .allocations
                .iter()
                .all(|a| a.location_id.as_str() == "east")
        );
        let near = plan_with(
            &d,
            &locs,
            &s,
            Some(AUSTIN),
            ANYWHERE,
            policy(SourcingStrategy::Nearest, None),
        );
        let at: Vec<&str> = near
            .allocations
            .iter()
            .map(|a| a.location_id.as_str())
            .collect();
        assert_eq!(
            at,
            ["west", "east"],
            "A from the nearer west, B only at east"
        );
        assert_eq!(
            near.rationale.policy.map(|p| p.strategy),
            Some(SourcingStrategy::Nearest)
        );
    }

    #[test]
    fn priority_and_cheapest_rank_by_their_own_measure() {
        let s = stock(&[("A", "east", 5), ("A", "west", 5)]);
        let d = [demand(1, "A", 1)];
        let mut locs = vec![east(), west()];
        locs[0].handling_cost_minor = 100;
        locs[1].handling_cost_minor = 300;
        let by_priority = plan_with(
            &d,
            &locs,
            &s,
            Some(BOSTON),
            ANYWHERE,
            policy(SourcingStrategy::Priority, None),
        );
        assert_eq!(by_priority.allocations[0].location_id.as_str(), "west");
        let cheapest = plan_with(
            &d,
            &locs,
            &s,
            Some(AUSTIN),
            ANYWHERE,
            policy(SourcingStrategy::Cheapest, None),
        );
        assert_eq!(cheapest.allocations[0].location_id.as_str(), "east");
        assert_eq!(cheapest.rationale.candidates[0].handling_cost_minor, 100);
    }

    #[test]
    fn a_location_limit_leaves_the_rest_short_and_countries_filter_locations() {
        let (locs, s, d) = split_facts();
        let one = plan_with(
            &d,
            &locs,
            &s,
            Some(AUSTIN),
            ANYWHERE,
            policy(SourcingStrategy::Nearest, Some(1)),
        );
        // Limited to one location, the order stays together at the one that has it all.
        assert!(
            one.allocations
                .iter()
                .all(|a| a.location_id.as_str() == "east")
        );
        assert!(one.shortfalls.is_empty());
        let s2 = stock(&[("A", "east", 1), ("A", "west", 1)]);
        let short = plan_with(
            &[demand(1, "A", 2)],
            &locs,
            &s2,
            Some(AUSTIN),
            ANYWHERE,
            policy(SourcingStrategy::Nearest, Some(1)),
        );
        assert_eq!(short.allocations.len(), 1);
        assert_eq!(short.shortfalls[0].quantity, 1);
        let mut only_us = locs.clone();
        only_us[1].ships_to = vec!["US".into()];
        let abroad = plan_with(
            &d,
            &only_us,
            &s,
            None,
            Destination::Ship {
                country: Some("CA"),
            },
            SourcingPolicy::default(),
        );
        assert!(
            abroad
                .rationale
                .candidates
                .iter()
                .all(|c| c.location_id.as_str() != "west")
        );
    }

    #[test]
    fn cheapest_adds_no_shipment_when_a_used_location_has_the_line() {
        // East is dearer to handle but has both lines; west is cheap but has only A.
        let s = stock(&[("A", "west", 5), ("B", "east", 5), ("A", "east", 5)]);
        let mut locs = vec![east(), west()];
        locs[0].handling_cost_minor = 300;
        locs[1].handling_cost_minor = 100;
        let d = [demand(1, "B", 1), demand(2, "A", 1)];
        let p = plan_with(
            &d,
            &locs,
            &s,
            None,
            ANYWHERE,
            policy(SourcingStrategy::Cheapest, None),
        );
        // B can only come from east; A then rides along instead of a second shipment.
        assert!(
            p.allocations
                .iter()
                .all(|a| a.location_id.as_str() == "east"),
            "{p:?}"
        );
        let alone = plan_with(
            &[demand(1, "A", 1)],
            &locs,
            &s,
            None,
            ANYWHERE,
            policy(SourcingStrategy::Cheapest, None),
        );
        assert_eq!(alone.allocations[0].location_id.as_str(), "west");
    }
}
