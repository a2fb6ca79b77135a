//! Placing an order inside a write transaction, for every caller that places one: the
//! API's capture, and the exchange order a return places when it is authorized. The
//! catalog and the stock are read in the same transaction as the decision, and the
//! number is drawn only once the decision stands. What follows the placement (the card
//! token, the reactions) is the caller's, so this file depends on no runner.

use crate::app::clock::IdSource;
use crate::app::error::AppError;
use crate::config::{ChannelConfig, Config, ReserveStock};
use jiff::{SignedDuration, Timestamp};
use orderly_domain::geo::LatLon;
use orderly_domain::order::{
    Address, CatalogPrice, Customer, Delivery, FieldIssue, NewLine, NewPayment, Order,
    OrderCommand, PlaceContext, PlaceOrder, PriceRules, SourcingContext, assign_number, decide,
};
use orderly_domain::payment::PaymentMethod;
use orderly_domain::sourcing::LocationFacts;
use orderly_domain::values::{Currency, Id, Sku};
use orderly_store::{EventMeta, Velocity, WriteTx};
use std::collections::{BTreeMap, HashMap};

/// A parsed, well-formed order request; catalog and stock facts are checked later, inside
/// the write transaction.
#[derive(Debug, Clone)]
pub struct PlaceInput {
    pub channel: String,
    pub external_id: Option<String>,
    pub currency: Currency,
    pub customer: Customer,
    pub shipping_address: Address,
    pub billing_address: Address,
    pub lines: Vec<(Sku, u32, i64)>,
    pub shipping_amount: i64,
    pub tax_amount: i64,
    pub discount_amount: i64,
    pub declared_total: Option<i64>,
    pub payment: Option<PaymentChoice>,
    pub delivery: Option<Delivery>,
}

/// How the customer pays, as parsed from the request.
#[derive(Debug, Clone)]
pub struct PaymentChoice {
    pub method: PaymentMethod,
    pub provider: String,
    /// The provider's token: kept beside the order, never in it (see `FreshToken`).
    pub token: Option<String>,
    pub fingerprint: Option<String>,
    pub last4: Option<String>,
}

/// The id of an order's `n`th payment: `pay_<order id suffix>_<n>`. Deriving it from the
/// order id lets an inbound provider event find its order without another index.
pub(crate) fn payment_id(order_id: &Id, n: usize) -> Id {
    Id::child(order_id, "pay", n)
}

/// What a placement reads besides the request.
pub(crate) struct PlaceEnv<'a> {
    pub channel: &'a ChannelConfig,
    pub locations: &'a [LocationFacts],
    pub config: &'a Config,
    pub ship_to: Option<LatLon>,
    pub ids: &'a dyn IdSource,
}

/// How a placement departs from the channel's rules: an exchange order reserves its
/// stock at once (the replacement must not be sold meanwhile), may total nothing (the
/// returned goods pay for it), and is due when the return must be shipped.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Terms {
    pub reserve_now: bool,
    pub free_allowed: bool,
    pub payment_due_at: Option<Option<Timestamp>>,
}

impl Terms {
    pub fn ordinary() -> Terms {
        Terms {
            reserve_now: false,
            free_allowed: false,
            payment_due_at: None,
        }
    }
}

pub(crate) enum Placed {
    New(Order),
    /// The order already captured under the same channel and external id.
    Existing(Order),
}

/// Decides and appends the placement of `input` (reactions not run).
pub(crate) fn place_in_tx(
    tx: &mut dyn WriteTx,
    input: &PlaceInput,
    env: &PlaceEnv<'_>,
    meta: &EventMeta,
    terms: Terms,
) -> Result<Placed, AppError> {
    let (channel, config) = (env.channel, env.config);
    let skus: Vec<Sku> = {
        let mut s: Vec<Sku> = input.lines.iter().map(|(sku, _, _)| sku.clone()).collect();
        s.sort();
        s.dedup();
        s
    };
    // One time for the whole decision: the deadline counts from `created_at`.
    let at = meta.at;
    let risk = &config.risk;
    let window = SignedDuration::from_mins(i64::from(risk.velocity_window_minutes));
    let velocity = Velocity {
        email: input.customer.email.as_str(),
        fingerprint: input
            .payment
            .as_ref()
            .and_then(|p| p.fingerprint.as_deref()),
        since: at.saturating_sub(window).unwrap_or(at),
    };
    let facts = tx.new_order_facts(&channel.id, input.external_id.as_deref(), &skus, velocity)?;
    if let Some(order) = facts.existing {
        return Ok(Placed::Existing(order));
    }
    let (products, stock) = (facts.products, facts.stock);
    let names = catalog_names(&products, &skus, &input.lines)?;
    let catalog = catalog_prices(&products);
    // A command may run again after losing a race, so it works on its own copy.
    let input = input.clone();
    let id = Id::new(env.ids.new_id("ord"));
    let payment = input.payment.map(|p| NewPayment {
        id: payment_id(&id, 1),
        method: p.method,
        provider: p.provider,
        fingerprint: p.fingerprint,
        last4: p.last4,
    });
    let cmd = PlaceOrder {
        id,
        number: String::new(),
        channel: Id::new(channel.id.clone()),
        external_id: input.external_id,
        currency: input.currency,
        customer: input.customer,
        shipping_address: input.shipping_address,
        billing_address: input.billing_address,
        lines: input
            .lines
            .into_iter()
            .map(|(sku, quantity, unit_price)| {
                let name = names.get(&sku).cloned().unwrap_or_default();
                NewLine {
                    sku,
                    name,
                    quantity,
                    unit_price,
                }
            })
            .collect(),
        shipping_amount: input.shipping_amount,
        tax_amount: input.tax_amount,
        discount_amount: input.discount_amount,
        declared_total: input.declared_total,
        delivery: input.delivery.clone(),
        payment,
    };
    let ctx = PlaceContext {
        sourcing: SourcingContext {
            locations: env.locations,
            stock: &stock,
            ship_to: env.ship_to,
            allow_backorders: channel.allow_backorders && !terms.reserve_now,
            policy: config.sourcing,
        },
        limits: config.limits(),
        risk,
        recent_orders_same_email: facts.recent_orders_same_email,
        recent_orders_same_card: facts.recent_orders_same_card,
        payment_due_at: terms
            .payment_due_at
            .unwrap_or_else(|| payment_due_at(config, cmd.payment.as_ref(), at)),
        reserve_at_payment: channel.reserve_stock == ReserveStock::AtPayment && !terms.reserve_now,
        prices: PriceRules {
            trust: channel.prices,
            tolerance_percent: channel.price_tolerance_percent,
            allow_free_orders: channel.allow_free_orders || terms.free_allowed,
            catalog: &catalog,
        },
    };
    let mut events = decide(None, OrderCommand::Place(Box::new(cmd)), Some(&ctx))?;
    // Numbered only once the decision stands, so a refusal never uses a number up.
    assign_number(
        &mut events,
        tx.next_order_number(&channel.id, &channel.number_prefix)?,
    );
    Ok(Placed::New(tx.append(None, &events, meta)?))
}

/// What the catalog says against ordered lines, given as (index in the request, SKU):
/// `unknown_sku` or `inactive_sku` on `lines[i].sku`.
pub(crate) fn catalog_issues<'a>(
    products: &[orderly_store::ProductRow],
    lines: impl IntoIterator<Item = (usize, &'a Sku)>,
) -> Vec<FieldIssue> {
    let by_sku: HashMap<&str, &orderly_store::ProductRow> =
        products.iter().map(|p| (p.sku.as_str(), p)).collect();
    let mut issues = Vec::new();
    for (i, sku) in lines {
        match by_sku.get(sku.as_str()) {
            None => issues.push(FieldIssue::new(
                format!("lines[{i}].sku"),
                "unknown_sku",
                format!("no product {sku}"),
            )),
            Some(p) if !p.active => issues.push(FieldIssue::new(
                format!("lines[{i}].sku"),
                "inactive_sku",
                format!("{sku} is not for sale"),
            )),
            Some(_) => {}
        }
    }
    issues
}

/// Catalog names of the ordered SKUs; unknown or inactive SKUs are field errors.
pub(crate) fn catalog_names(
    products: &[orderly_store::ProductRow],
    skus: &[Sku],
    lines: &[(Sku, u32, i64)],
) -> Result<HashMap<Sku, String>, AppError> {
    let issues = catalog_issues(
        products,
        lines.iter().enumerate().map(|(i, (sku, _, _))| (i, sku)),
    );
    if !issues.is_empty() {
        return Err(AppError::Validation(issues));
    }
    let by_sku: HashMap<&str, &orderly_store::ProductRow> =
        products.iter().map(|p| (p.sku.as_str(), p)).collect();
    Ok(skus
        .iter()
        .filter_map(|s| by_sku.get(s.as_str()).map(|p| (s.clone(), p.name.clone())))
        .collect())
}

/// The catalog's price of each product that has a currency we know.
pub(crate) fn catalog_prices(
    products: &[orderly_store::ProductRow],
) -> BTreeMap<Sku, CatalogPrice> {
    products
        .iter()
        .filter_map(|p| {
            let sku = Sku::parse(&p.sku).ok()?;
            let currency = Currency::parse(&p.currency).ok()?;
            let price = CatalogPrice {
                price_minor: p.price_minor,
                currency,
            };
            Some((sku, price))
        })
        .collect()
}

/// When an order placed now is cancelled if still unpaid: never for cash on delivery,
/// days for a bank transfer, minutes for anything paid through a provider (or unpaid).
pub(crate) fn payment_due_at(
    config: &Config,
    payment: Option<&NewPayment>,
    at: Timestamp,
) -> Option<Timestamp> {
    let minutes = match payment.map(|p| p.method) {
        Some(PaymentMethod::CashOnDelivery) => return None,
        Some(PaymentMethod::BankTransfer) => config.payments.bank_transfer_ttl_minutes,
        _ => config.payments.card_ttl_minutes,
    };
    at.saturating_add(SignedDuration::from_mins(i64::from(minutes)))
        .ok()
}
