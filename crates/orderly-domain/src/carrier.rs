//! Carriers, their services and rate tables, and the choice of service for a package:
//! the cheapest that arrives by the promised date, or the one the order asked for. Rates
//! are data from configuration; the choice is a pure function so it can be tested and
//! explained.

use crate::Timestamp;
use serde::Deserialize;

/// A price for packages up to a weight.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rate {
    pub max_weight_grams: u32,
    pub price_minor: i64,
}

/// Where a service delivers at one speed and price table. Destinations are countries
/// (`US`), regions (`US-TX`) or `*` for anywhere.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Zone {
    pub destinations: Vec<String>,
    pub transit_days: u32,
    /// Weight brackets, any order; the lightest that fits applies.
    pub rates: Vec<Rate>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    pub id: String,
    pub name: String,
    pub zones: Vec<Zone>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Carrier {
    pub id: String,
    pub name: String,
    pub services: Vec<Service>,
}

/// A service that can take a package, with its price and promised arrival.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quote {
    pub carrier: String,
    pub service: String,
    pub price_minor: i64,
    pub transit_days: u32,
    pub arrives_by: Timestamp,
}

/// Why no service was chosen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RateError {
    #[error("no service delivers a {weight_grams} g package to {destination}")]
    NoService {
        destination: String,
        weight_grams: u32,
    },
    #[error("the requested service {0} does not take this package")]
    RequestedUnavailable(String),
}

fn zone_matches(zone: &Zone, country: &str, region: Option<&str>) -> bool {
    zone.destinations.iter().any(|d| {
        d == "*" || d == country || region.is_some_and(|r| d.split_once('-') == Some((country, r)))
    })
}

/// Every service that takes a package of `weight_grams` to (`country`, `region`), cheapest
/// first (then fastest, then by name), each with its arrival if shipped at `now`.
pub fn quotes(
    carriers: &[Carrier],
    country: &str,
    region: Option<&str>,
    weight_grams: u32,
    now: Timestamp,
) -> Vec<Quote> {
    let mut out = Vec::new();
    for carrier in carriers {
        for service in &carrier.services {
            // The first zone that matches is the service's offer for this destination.
            let Some(zone) = service
                .zones
                .iter()
                .find(|z| zone_matches(z, country, region))
            else {
                continue;
            };
            let Some(rate) = zone
                .rates
                .iter()
                .filter(|r| r.max_weight_grams >= weight_grams)
                .min_by_key(|r| r.max_weight_grams)
            else {
                continue;
            };
            let days = jiff::SignedDuration::from_hours(24 * i64::from(zone.transit_days));
            out.push(Quote {
                carrier: carrier.id.clone(),
                service: service.id.clone(),
                price_minor: rate.price_minor,
                transit_days: zone.transit_days,
                arrives_by: now.saturating_add(days).unwrap_or(now),
            });
        }
    }
    out.sort_by(|a, b| {
        (a.price_minor, a.transit_days, &a.carrier, &a.service).cmp(&(
            b.price_minor,
            b.transit_days,
            &b.carrier,
            &b.service,
        ))
    });
    out
}

/// The service for a package: the one asked for (`carrier/service`) if it takes the
/// package, else the cheapest arriving by `deliver_by`, else (nothing is fast enough)
/// the fastest.
pub fn choose(
    quotes: &[Quote],
    requested: Option<&str>,
    deliver_by: Option<Timestamp>,
    destination: &str,
    weight_grams: u32,
) -> Result<Quote, RateError> {
    if let Some(wanted) = requested {
        return quotes
            .iter()
            .find(|q| format!("{}/{}", q.carrier, q.service) == wanted)
            .cloned()
            .ok_or_else(|| RateError::RequestedUnavailable(wanted.to_owned()));
    }
    let in_time = quotes
        .iter()
        .find(|q| deliver_by.is_none_or(|by| q.arrives_by <= by));
    let fastest = quotes
        .iter()
        .min_by_key(|q| (q.transit_days, q.price_minor));
    in_time.or(fastest).cloned().ok_or(RateError::NoService {
        destination: destination.to_owned(),
        weight_grams,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rates() -> Vec<Carrier> {
        let zone = |dest: &[&str], days: u32, light: i64, heavy: i64| Zone {
            destinations: dest.iter().map(|d| d.to_string()).collect(),
            transit_days: days,
            rates: vec![
                Rate {
                    max_weight_grams: 1_000,
                    price_minor: light,
                },
                Rate {
                    max_weight_grams: 10_000,
                    price_minor: heavy,
                },
            ],
        };
        vec![Carrier {
            id: "local".into(),
            name: "Local".into(),
            services: vec![
                Service {
                    id: "ground".into(),
                    name: "Ground".into(),
                    zones: vec![zone(&["US-TX"], 2, 500, 900), zone(&["US"], 5, 700, 1200)],
                },
                Service {
                    id: "express".into(),
                    name: "Express".into(),
                    zones: vec![zone(&["*"], 1, 1500, 2500)],
                },
            ],
        }]
    }

    fn t(days: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + days * 86_400).unwrap()
    }

    #[test]
    fn the_cheapest_service_that_arrives_in_time_wins() {
        let q = quotes(&rates(), "US", Some("NY"), 800, t(0));
        assert_eq!(q.len(), 2);
        assert_eq!((q[0].service.as_str(), q[0].price_minor), ("ground", 700));
        // A region has its own zone: Texas is nearer and cheaper.
        let tx = quotes(&rates(), "US", Some("TX"), 800, t(0));
        assert_eq!((tx[0].price_minor, tx[0].transit_days), (500, 2));
        // Heavier packages take the next bracket; too heavy for every service: none.
        assert_eq!(
            quotes(&rates(), "US", None, 5_000, t(0))[0].price_minor,
            1200
        );
        assert!(quotes(&rates(), "US", None, 20_000, t(0)).is_empty());

        let by_day_3 = choose(&q, None, Some(t(3)), "US", 800).unwrap();
        assert_eq!(by_day_3.service, "express", "ground takes five days");
        let by_day_9 = choose(&q, None, Some(t(9)), "US", 800).unwrap();
        assert_eq!(by_day_9.service, "ground");
        assert_eq!(by_day_9.arrives_by, t(5));
        // Too late for all: the fastest.
        let hopeless = choose(&q, None, Some(t(0)), "US", 800).unwrap();
        assert_eq!(hopeless.service, "express");
    }

    #[test]
    fn a_requested_service_is_used_when_it_takes_the_package() {
        let q = quotes(&rates(), "FR", None, 800, t(0));
        assert_eq!(q.len(), 1, "only express goes abroad");
        assert_eq!(
            choose(&q, Some("local/express"), None, "FR", 800)
                .unwrap()
                .price_minor,
            1500
        );
        assert_eq!(
            choose(&q, Some("local/ground"), None, "FR", 800),
            Err(RateError::RequestedUnavailable("local/ground".into()))
        );
        assert_eq!(
            choose(&[], None, None, "FR", 800),
            Err(RateError::NoService {
                destination: "FR".into(),
                weight_grams: 800
            })
        );
    }
}
