//! Whose word a line's price is. A storefront and a marketplace are separate parties: a
//! marketplace sets its own prices, our own storefront shows the catalog's, and a client
//! with a bug (or a forged request) may send any number at all. Each channel therefore
//! says how far its prices are trusted, and the decision applies that rule before the
//! order's total, its payment and its risk review are worked out from them, so an order
//! priced at nothing can never slip past the money it owes.

use super::command::NewLine;
use super::error::FieldIssue;
use crate::values::{Currency, Sku};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How a channel's line prices are taken.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PriceTrust {
    /// As sent: the channel sets its own prices (a marketplace).
    AsSent,
    /// Compared with the catalog, and refused beyond the channel's tolerance.
    #[default]
    Checked,
    /// Replaced by the catalog's price, whatever was sent.
    Catalog,
}

impl PriceTrust {
    pub fn as_str(self) -> &'static str {
        match self {
            PriceTrust::AsSent => "as_sent",
            PriceTrust::Checked => "checked",
            PriceTrust::Catalog => "catalog",
        }
    }
}

/// A SKU's price in the catalog, read inside the write transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogPrice {
    pub price_minor: i64,
    pub currency: Currency,
}

/// The channel's price rules and the catalog prices of the ordered SKUs.
#[derive(Debug, Clone)]
pub struct PriceRules<'a> {
    pub trust: PriceTrust,
    /// How far a checked price may differ from the catalog's, in whole percent of it.
    pub tolerance_percent: u8,
    /// Whether an order may total nothing (a giveaway channel, a full discount).
    pub allow_free_orders: bool,
    pub catalog: &'a BTreeMap<Sku, CatalogPrice>,
}

/// No catalog prices, for rules that never look one up.
static NO_CATALOG: BTreeMap<Sku, CatalogPrice> = BTreeMap::new();

impl PriceRules<'static> {
    /// Prices as sent and free orders allowed: the rules of a channel that trusts its
    /// client entirely, which decision tests about other things start from.
    pub fn trusting() -> PriceRules<'static> {
        PriceRules {
            trust: PriceTrust::AsSent,
            tolerance_percent: 0,
            allow_free_orders: true,
            catalog: &NO_CATALOG,
        }
    }
}

impl PriceRules<'_> {
    /// Applies the rule to `lines` in place (a catalog channel's prices are replaced),
    /// returning a field issue for every line the rule refuses.
    pub(super) fn settle(&self, lines: &mut [NewLine], currency: &Currency) -> Vec<FieldIssue> {
        if self.trust == PriceTrust::AsSent {
            return Vec::new();
        }
        let mut issues = Vec::new();
        for (i, line) in lines.iter_mut().enumerate() {
            let field = format!("lines[{i}].unit_price");
            // An unknown SKU is refused on its own field before prices are looked at.
            let Some(catalog) = self.catalog.get(&line.sku) else {
                continue;
            };
            if catalog.currency != *currency {
                issues.push(FieldIssue::new(
                    field,
                    "price_currency_mismatch",
                    format!(
                        "{} is priced in {}, not {}",
                        line.sku,
                        catalog.currency.as_str(),
                        currency.as_str()
                    ),
                ));
                continue;
            }
            match self.trust {
                PriceTrust::Catalog => line.unit_price = catalog.price_minor,
                PriceTrust::Checked if !self.within_tolerance(line.unit_price, catalog) => {
                    issues.push(FieldIssue::new(
                        field,
                        "price_mismatch",
                        format!(
                            "the catalog price of {} is {}; {} was sent (tolerance {} %)",
                            line.sku, catalog.price_minor, line.unit_price, self.tolerance_percent
                        ),
                    ));
                }
                PriceTrust::Checked | PriceTrust::AsSent => {}
            }
        }
        issues
    }

    fn within_tolerance(&self, sent: i64, catalog: &CatalogPrice) -> bool {
        let difference = (i128::from(sent) - i128::from(catalog.price_minor)).abs();
        difference * 100 <= i128::from(catalog.price_minor) * i128::from(self.tolerance_percent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd() -> Currency {
        Currency::parse("USD").unwrap()
    }

    fn catalog(price_minor: i64, currency: &str) -> BTreeMap<Sku, CatalogPrice> {
        BTreeMap::from([(
            Sku::parse("TEE").unwrap(),
            CatalogPrice {
                price_minor,
                currency: Currency::parse(currency).unwrap(),
            },
        )])
    }

    fn line(unit_price: i64) -> NewLine {
        NewLine {
            sku: Sku::parse("TEE").unwrap(),
            name: "Tee".into(),
            quantity: 1,
            unit_price,
        }
    }

    fn rules(
        trust: PriceTrust,
        tolerance_percent: u8,
        c: &BTreeMap<Sku, CatalogPrice>,
    ) -> PriceRules<'_> {
        PriceRules {
            trust,
            tolerance_percent,
            allow_free_orders: false,
            catalog: c,
        }
    }

    fn codes(issues: &[FieldIssue]) -> Vec<(&str, &str)> {
        issues.iter().map(|i| (i.field.as_str(), i.code)).collect()
    }

    #[test]
    fn a_checked_price_within_the_tolerance_stands_and_one_beyond_it_is_refused() {
        let c = catalog(2000, "USD");
        let r = rules(PriceTrust::Checked, 5, &c);
        for ok in [1900, 2000, 2100] {
            let mut lines = vec![line(ok)];
            assert!(r.settle(&mut lines, &usd()).is_empty(), "{ok}");
            assert_eq!(lines[0].unit_price, ok, "a checked price is kept as sent");
        }
        for refused in [0, 1899, 2101] {
            let mut lines = vec![line(refused)];
            let issues = r.settle(&mut lines, &usd());
            assert_eq!(
                codes(&issues),
                vec![("lines[0].unit_price", "price_mismatch")]
            );
        }
    }

    #[test]
    fn a_catalog_channel_replaces_whatever_was_sent() {
        let c = catalog(2000, "USD");
        let mut lines = vec![line(0)];
        assert!(
            rules(PriceTrust::Catalog, 0, &c)
                .settle(&mut lines, &usd())
                .is_empty()
        );
        assert_eq!(lines[0].unit_price, 2000);
    }

    #[test]
    fn a_price_as_sent_is_never_compared() {
        let c = catalog(2000, "EUR");
        let mut lines = vec![line(1)];
        assert!(
            rules(PriceTrust::AsSent, 0, &c)
                .settle(&mut lines, &usd())
                .is_empty()
        );
        assert_eq!(lines[0].unit_price, 1);
    }

    #[test]
    fn a_catalog_price_in_another_currency_cannot_check_or_replace() {
        let c = catalog(2000, "EUR");
        for trust in [PriceTrust::Checked, PriceTrust::Catalog] {
            let mut lines = vec![line(2000)];
            let issues = rules(trust, 0, &c).settle(&mut lines, &usd());
            assert_eq!(
                codes(&issues),
                vec![("lines[0].unit_price", "price_currency_mismatch")]
            );
        }
    }
}
