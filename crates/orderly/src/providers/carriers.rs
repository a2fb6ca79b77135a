//! The boundary to carriers. A carrier quotes its services for a package, books a
//! shipment (its tracking number) and prints its label. The built-in rate-table carrier
//! implements it from configuration; an external carrier (a parcel service's API) would
//! implement the same trait, so fulfillment code never depends on which one ships.

use crate::providers::labels::{Label, label_pdf};
use jiff::Timestamp;
use orderly_domain::carrier::{Carrier as CarrierConfig, Quote, quotes};

pub trait Carrier: Send + Sync {
    fn id(&self) -> &str;
    /// The carrier's services that take a package of `weight_grams` to the destination,
    /// each with its price and arrival if shipped at `now`.
    fn quote(
        &self,
        country: &str,
        region: Option<&str>,
        weight_grams: u32,
        now: Timestamp,
    ) -> Vec<Quote>;
    /// Books a shipment and answers its tracking number.
    fn book(&self) -> anyhow::Result<String>;
    /// Books the prepaid return parcel of RMA `rma` and answers its tracking number.
    fn book_return(&self, rma: &str) -> anyhow::Result<String>;
    /// The shipment's label as a PDF.
    fn label(&self, label: &Label) -> anyhow::Result<Vec<u8>>;
}

/// A carrier whose rates and services come from `orderly.toml`, with labels printed here
/// and tracking numbers made here (`LC…`, short enough for a scannable barcode).
#[derive(Debug, Clone)]
pub struct RateTableCarrier {
    config: CarrierConfig,
}

impl RateTableCarrier {
    pub fn new(config: CarrierConfig) -> RateTableCarrier {
        RateTableCarrier { config }
    }
}

impl Carrier for RateTableCarrier {
    fn id(&self) -> &str {
        &self.config.id
    }

    fn quote(
        &self,
        country: &str,
        region: Option<&str>,
        weight_grams: u32,
        now: Timestamp,
    ) -> Vec<Quote> {
        quotes(
            std::slice::from_ref(&self.config),
            country,
            region,
            weight_grams,
            now,
        )
    }

    fn book(&self) -> anyhow::Result<String> {
        // `LC` and 12 random hex digits: short enough for a Code128 barcode that scans on
        // a 4x6 label.
        let id = uuid::Uuid::now_v7().simple().to_string();
        Ok(format!("LC{}", &id[20..]).to_uppercase())
    }

    /// The built-in carrier tracks a return parcel by its RMA: the label's barcode is
    /// the RMA, which the receiving desk scans and the carrier's scans name.
    fn book_return(&self, rma: &str) -> anyhow::Result<String> {
        Ok(rma.to_owned())
    }

    fn label(&self, label: &Label) -> anyhow::Result<Vec<u8>> {
        label_pdf(label)
    }
}

/// Every quote of `carriers`, cheapest first (then fastest), as `choose` expects.
pub fn all_quotes(
    carriers: &[std::sync::Arc<dyn Carrier>],
    country: &str,
    region: Option<&str>,
    weight_grams: u32,
    now: Timestamp,
) -> Vec<Quote> {
    let mut out: Vec<Quote> = carriers
        .iter()
        .flat_map(|c| c.quote(country, region, weight_grams, now))
        .collect();
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
