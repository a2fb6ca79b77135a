//! One sourcing decision for an order of 10 lines over 50 locations (issue 5's target:
//! under 50 µs). Run: `cargo bench -p orderly-domain --bench sourcing`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use orderly_domain::geo::LatLon;
use orderly_domain::sourcing::{
    Demand, Destination, LocationFacts, SourcingPolicy, StockView, plan_with,
};
use orderly_domain::values::{Id, Sku};
use std::hint::black_box;

const LOCATIONS: usize = 50;
const LINES: usize = 10;

/// 50 locations spread over the continental US; each holds some of the 10 SKUs (none
/// holds all, so the decision has to weigh single-location candidates and splits).
fn facts() -> (Vec<LocationFacts>, StockView, Vec<Demand>) {
    let locations: Vec<LocationFacts> = (0..LOCATIONS)
        .map(|i| LocationFacts {
            id: Id::new(format!("loc-{i:02}")),
            coords: LatLon {
                latitude: 25.0 + (i as f64 * 7.3) % 23.0,
                longitude: -124.0 + (i as f64 * 13.7) % 55.0,
            },
            can_ship: i % 11 != 0,
            can_pickup: false,
            priority: (i % 5) as u32,
            handling_cost_minor: 0,
            ships_to: Vec::new(),
        })
        .collect();
    let mut stock = StockView::default();
    for (i, location) in locations.iter().enumerate() {
        for line in 0..LINES {
            if (i + line) % 3 != 0 {
                let units = ((i * 7 + line * 3) % 9) as u32;
                stock.set(
                    Sku::parse(&format!("SKU-{line}")).unwrap(),
                    location.id.clone(),
                    units,
                );
            }
        }
    }
    let demands = (0..LINES)
        .map(|line| Demand {
            line_no: line as u32 + 1,
            sku: Sku::parse(&format!("SKU-{line}")).unwrap(),
            quantity: 1 + (line % 4) as u32,
        })
        .collect();
    (locations, stock, demands)
}

fn sourcing(c: &mut Criterion) {
    let (locations, stock, demands) = facts();
    let ship_to = Some(LatLon {
        latitude: 30.27,
        longitude: -97.74,
    });
    // As an order is placed: shipped to a country, under the configured policy.
    let to = Destination::Ship {
        country: Some("US"),
    };
    let policy = SourcingPolicy::default();
    let plan_once = plan_with(&demands, &locations, &stock, ship_to, to, policy);
    assert!(
        !plan_once.allocations.is_empty(),
        "the fixture must source something"
    );
    c.bench_function("plan: 10 lines over 50 locations", |b| {
        b.iter(|| {
            plan_with(
                black_box(&demands),
                black_box(&locations),
                black_box(&stock),
                black_box(ship_to),
                black_box(to),
                policy,
            )
        })
    });
}

criterion_group!(benches, sourcing);
criterion_main!(benches);
