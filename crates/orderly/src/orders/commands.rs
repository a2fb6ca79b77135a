//! Placing and cancelling orders.

use crate::app::error::AppError;
use crate::app::{Answer, App, Idempotency, Origin, Outcome};
use crate::config::{Config, ReserveStock};
use crate::payments::commands::{external_pending, keep_token, payment_id};
use jiff::{SignedDuration, Timestamp};
use orderly_domain::order::{
    Address, CancelOrder, CatalogPrice, Customer, Delivery, FieldIssue, NewLine, NewPayment,
    OrderCommand, PlaceContext, PlaceOrder, PriceRules, SourcingContext, assign_number, decide,
};
use orderly_domain::payment::PaymentMethod;
use orderly_domain::values::{Currency, Id, Sku};
use orderly_store::Velocity;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

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

impl App {
    /// Creates an order (201), or returns the one already captured for the same channel and
    /// external id (200).
    pub async fn place_order(
        &self,
        input: PlaceInput,
        idem: Option<Idempotency>,
        origin: Origin,
    ) -> Result<Outcome, AppError> {
        crate::app::auth::authorize(&origin.actor, crate::app::auth::Permission::CreateOrders)?;
        // A channel-bound key knows no other channel: naming one is naming none.
        let channel = self
            .config
            .channel(&input.channel)
            .filter(|c| crate::app::auth::sees_channel(&origin.actor, &c.id))
            .ok_or_else(|| {
                AppError::Validation(vec![FieldIssue::new(
                    "channel",
                    "unknown_channel",
                    "no such channel",
                )])
            })?
            .clone();
        let locations = self.locations.clone();
        let limits = self.config.limits();
        let config = self.config.clone();
        let risk = config.risk.clone();
        let new_ops = Arc::new(Mutex::new((Vec::new(), None)));
        let seen = new_ops.clone();
        let settle_origin = origin.clone();
        let settle_idem = idem.clone();
        let (clock, ids) = (self.clock.clone(), self.ids.clone());
        let ship_to = self.config.geocode(
            input.shipping_address.country.as_str(),
            input.shipping_address.region.as_deref(),
        );
        // Held until the provider answered, so a retry never sees the unsettled order.
        let _guard = idem.as_ref().map(|i| self.claim(i)).transpose()?;
        let outcome = self
            .write_under_key(idem, move |tx| {
                let skus: Vec<Sku> = {
                    let mut s: Vec<Sku> =
                        input.lines.iter().map(|(sku, _, _)| sku.clone()).collect();
                    s.sort();
                    s.dedup();
                    s
                };
                // One time for the whole decision: the deadline counts from `created_at`.
                let meta = origin.meta(clock.now());
                let at = meta.at;
                let window = SignedDuration::from_mins(i64::from(risk.velocity_window_minutes));
                let velocity = Velocity {
                    email: input.customer.email.as_str(),
                    fingerprint: input
                        .payment
                        .as_ref()
                        .and_then(|p| p.fingerprint.as_deref()),
                    since: at.saturating_sub(window).unwrap_or(at),
                };
                let facts =
                    tx.new_order_facts(&channel.id, input.external_id.as_deref(), &skus, velocity)?;
                if let Some(order) = facts.existing {
                    if let Ok(mut s) = seen.lock() {
                        *s = (Vec::new(), None);
                    }
                    return Ok(Outcome::Order(Answer::Done, Box::new(order)));
                }
                let (products, stock) = (facts.products, facts.stock);
                let names = catalog_names(&products, &skus, &input.lines)?;
                let catalog = catalog_prices(&products);
                // A command may run again after losing a race, so it works on its own copy.
                let input = input.clone();
                let token = input.payment.as_ref().and_then(|p| p.token.clone());
                let cmd = PlaceOrder {
                    id: Id::new(ids.new_id("ord")),
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
                    payment: None,
                };
                let cmd = PlaceOrder {
                    payment: input.payment.map(|p| NewPayment {
                        id: payment_id(&cmd.id, 1),
                        method: p.method,
                        provider: p.provider,
                        fingerprint: p.fingerprint,
                        last4: p.last4,
                    }),
                    ..cmd
                };
                let ctx = PlaceContext {
                    sourcing: SourcingContext {
                        locations: &locations,
                        stock: &stock,
                        ship_to,
                        allow_backorders: channel.allow_backorders,
                        policy: config.sourcing,
                    },
                    limits,
                    risk: &risk,
                    recent_orders_same_email: facts.recent_orders_same_email,
                    recent_orders_same_card: facts.recent_orders_same_card,
                    payment_due_at: payment_due_at(&config, cmd.payment.as_ref(), at),
                    reserve_at_payment: channel.reserve_stock == ReserveStock::AtPayment,
                    prices: PriceRules {
                        trust: channel.prices,
                        tolerance_percent: channel.price_tolerance_percent,
                        allow_free_orders: channel.allow_free_orders,
                        catalog: &catalog,
                    },
                };
                let mut events = decide(None, OrderCommand::Place(Box::new(cmd)), Some(&ctx))?;
                // Numbered only once the decision stands, so a refusal never uses a number up.
                assign_number(
                    &mut events,
                    tx.next_order_number(&channel.id, &channel.number_prefix)?,
                );
                let order = tx.append(None, &events, &meta)?;
                let kept = keep_token(tx, &[], &order, token.as_deref(), at)?;
                let order = crate::app::runner::react(tx, order, &meta, &config, ids.as_ref())?;
                if let Ok(mut s) = seen.lock() {
                    *s = (external_pending(&order), kept);
                }
                Ok(Outcome::Order(Answer::Created, Box::new(order)))
            })
            .await?;
        let (ops, fresh) = new_ops.lock().map(|v| v.clone()).unwrap_or_default();
        let requested = crate::payments::commands::Requested {
            ops,
            fresh,
            report: false,
        };
        self.settle_outcome(outcome, requested, settle_idem, &settle_origin, None)
            .await
    }

    /// Cancels a whole order that has not shipped, releasing its reservations.
    pub async fn cancel_order(
        &self,
        id_or_number: String,
        cmd: CancelOrder,
        idem: Option<Idempotency>,
        origin: Origin,
    ) -> Result<Outcome, AppError> {
        self.order_command(id_or_number, idem, origin, None, move |_| {
            Ok(OrderCommand::Cancel(cmd.clone()))
        })
        .await
    }
}

impl App {
    /// `unknown_sku` / `inactive_sku` for the lines whose SKU the catalog refuses, given
    /// as (index in the request, SKU). An order over the line limit is refused for that
    /// alone: its lines are not looked up.
    pub async fn catalog_issues(
        &self,
        lines: &[(usize, Sku)],
    ) -> Result<Vec<FieldIssue>, AppError> {
        if lines.is_empty() || lines.len() > self.config.limits.max_lines_per_order as usize {
            return Ok(Vec::new());
        }
        let mut skus: Vec<String> = lines.iter().map(|(_, s)| s.to_string()).collect();
        skus.sort();
        skus.dedup();
        let products = self
            .store
            .read(move |r| {
                let skus: Vec<&str> = skus.iter().map(String::as_str).collect();
                r.products_by_sku(&skus)
            })
            .await?;
        Ok(catalog_issues(
            &products,
            lines.iter().map(|(i, s)| (*i, s)),
        ))
    }
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
fn catalog_names(
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
fn catalog_prices(products: &[orderly_store::ProductRow]) -> BTreeMap<Sku, CatalogPrice> {
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
fn payment_due_at(
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
