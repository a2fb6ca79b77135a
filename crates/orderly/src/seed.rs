//! `orderly seed`: fills a database with a realistic year of history for benchmarks and
//! demos at scale: orders from many customers across the web and the marketplace, paid,
//! refused, unpaid, cancelled, held for review, shipped, delayed, lost, delivered,
//! returned, and asked about in cases. Every order goes through the same decisions and
//! storage effects the API's commands use (`place_in_tx`, the runner and its reactions,
//! the return policy's judgement, the case machine), in batches of orders per
//! transaction, so the database is one `orderly check` accepts; only the payment
//! provider's and the carrier's answers are the seed's own, given at once.
//!
//! History is not re-announced: at the end the outbox and the timers that came due in
//! the past are marked done (`settle_history`), as if the workers had kept up; the seed
//! queues what the timer worker would have (unpaid bank transfers past their threshold)
//! with the same command the timer issues.

use crate::app::error::AppError;
use crate::app::{App, AppState, Origin};
use crate::cases::commands::append as append_case;
use crate::config::Config;
use crate::orders::placing::{PaymentChoice, PlaceEnv, PlaceInput, Placed, Terms, place_in_tx};
use crate::returns::commands::{ReturnInput, request_command};
use anyhow::{Context, bail};
use jiff::{SignedDuration, Timestamp};
use orderly_domain::actor::Actor;
use orderly_domain::calendar::BusinessCalendar;
use orderly_domain::case::{
    CaseCommand, ContactChannel, Direction, NewContact, OpenCase, Priority, decide, suggest,
};
use orderly_domain::fulfillment::TrackingStatus;
use orderly_domain::order::{
    Address, CancelOrder, CancelReason, Customer, HoldChange, HoldReason, Order, OrderCommand,
    OrderState, ReturnSource, ShipPackage, TrackingRecorded, is_internal,
};
use orderly_domain::payment::{OpOutcome, OpStatus, PaymentMethod};
use orderly_domain::returns::{AskedItem, Wanted};
use orderly_domain::values::{CountryCode, Currency, Email, Id, Sku};
use orderly_store::{EventMeta, WriteTx};
use std::time::Instant;

#[derive(Debug, Clone, clap::Args)]
pub struct SeedArgs {
    /// Orders to create, spread over the last year.
    #[arg(long, default_value_t = 100_000)]
    pub orders: usize,
    /// Distinct customers placing them.
    #[arg(long, default_value_t = 10_000)]
    pub customers: usize,
    /// Orders per transaction.
    #[arg(long, default_value_t = 200)]
    pub batch: usize,
}

const NAMES: [&str; 12] = [
    "Ana Diaz",
    "Ben Okafor",
    "Chloe Park",
    "Dev Patel",
    "Eve Martin",
    "Fay Nguyen",
    "Gus Lee",
    "Hana Kim",
    "Ida Berg",
    "Jon Cruz",
    "Kai Rivera",
    "Lea Novak",
];
const CITIES: [(&str, &str, &str); 6] = [
    ("Austin", "TX", "78701"),
    ("New York", "NY", "10001"),
    ("San Francisco", "CA", "94105"),
    ("Chicago", "IL", "60611"),
    ("Atlanta", "GA", "30303"),
    ("Seattle", "WA", "98101"),
];
const CAUSES: [&str; 5] = [
    "carrier_delay",
    "customer_changed_mind",
    "policy_confusion",
    "wrong_item",
    "address_error",
];

/// What every order's story reads.
struct Env {
    config: std::sync::Arc<Config>,
    locations: std::sync::Arc<Vec<orderly_domain::sourcing::LocationFacts>>,
    ids: std::sync::Arc<dyn crate::app::clock::IdSource>,
    calendar: BusinessCalendar,
    skus: Vec<(String, i64)>,
    customers: usize,
    /// The first order's time and the gap between two orders.
    start: Timestamp,
    step: SignedDuration,
    now: Timestamp,
}

/// A spread of `i` over 0..1000, so neighbouring orders get different stories.
fn spread(i: usize) -> usize {
    i.wrapping_mul(2_654_435_761) % 1000
}

/// One order in five comes from the marketplace.
fn channel_of(h: usize) -> &'static str {
    if h.is_multiple_of(5) {
        "marketplace"
    } else {
        "web"
    }
}

fn meta(i: usize, at: Timestamp) -> EventMeta {
    EventMeta {
        actor: Actor::system("seed"),
        correlation_id: format!("seed-{i}"),
        at,
    }
}

fn input(env: &Env, i: usize, h: usize) -> anyhow::Result<PlaceInput> {
    let c = i % env.customers;
    let name = NAMES[c % NAMES.len()];
    let (city, region, postal) = CITIES[c % CITIES.len()];
    let address = Address {
        name: name.into(),
        line1: format!("{} Main St", c % 900 + 1),
        line2: None,
        city: city.into(),
        region: Some(region.into()),
        postal_code: postal.into(),
        country: CountryCode::parse("US")?,
    };
    let lines = (0..1 + h % 3)
        .map(|l| {
            let (sku, price) = &env.skus[(i * 7 + l * 13) % env.skus.len()];
            Ok((Sku::parse(sku)?, 1 + ((i + l) % 2) as u32, *price))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let method = if h < 10 {
        PaymentMethod::BankTransfer
    } else {
        PaymentMethod::Card
    };
    Ok(PlaceInput {
        channel: channel_of(h).into(),
        external_id: None,
        currency: Currency::parse("USD")?,
        customer: Customer {
            email: Email::parse(&format!("customer{c}@example.com"))?,
            name: Some(format!("{name} {c}")),
            phone: Some(format!("+1 555 {c:07}")),
        },
        shipping_address: address.clone(),
        billing_address: address,
        lines,
        shipping_amount: 500,
        tax_amount: 0,
        discount_amount: 0,
        declared_total: None,
        payment: Some(PaymentChoice {
            method,
            provider: if method == PaymentMethod::Card {
                "simulator"
            } else {
                "manual"
            }
            .into(),
            token: None,
            fingerprint: None,
            last4: None,
        }),
        delivery: None,
    })
}

/// Answers every provider operation the order waits for: approved, or (for an order
/// whose card is refused) declined.
fn answer(
    tx: &mut dyn WriteTx,
    mut order: Order,
    env: &Env,
    meta: &EventMeta,
    decline: bool,
) -> Result<Order, AppError> {
    for _ in 0..8 {
        let Some(op) = order
            .payment_ops
            .iter()
            .find(|o| o.status == OpStatus::Pending && !is_internal(&order, &o.id))
            .map(|o| o.id.clone())
        else {
            return Ok(order);
        };
        let outcome = if decline {
            OpOutcome::Failed {
                code: "card_declined".into(),
                message: "Your card was declined".into(),
            }
        } else {
            OpOutcome::Succeeded {
                provider_reference: Some(format!("seed_{op}")),
                authorization_expires_at: None,
            }
        };
        let capture = crate::app::runner::capture_mode(&env.config, &order);
        let cmd = OrderCommand::RecordOutcome {
            op_id: op,
            outcome,
            capture,
        };
        order = run(tx, order, cmd, env, meta)?;
    }
    Ok(order)
}

fn run(
    tx: &mut dyn WriteTx,
    order: Order,
    cmd: OrderCommand,
    env: &Env,
    meta: &EventMeta,
) -> Result<Order, AppError> {
    crate::app::runner::run(tx, order, cmd, meta, &env.config, env.ids.as_ref())
}

/// Picks, packs and ships every released fulfillment order at `at`, then scans each
/// parcel as the spread says (delivered, late, lost).
fn ship_all(
    tx: &mut dyn WriteTx,
    mut order: Order,
    env: &Env,
    (i, h): (usize, usize),
    at: Timestamp,
) -> Result<Order, AppError> {
    let m = meta(i, at);
    let fos: Vec<_> = order.fulfillment_orders.clone();
    for (k, f) in fos.iter().enumerate() {
        let picked: Vec<(u32, u32)> = f.lines.iter().map(|l| (l.line_no, l.quantity)).collect();
        let scans: Vec<Sku> = f
            .lines
            .iter()
            .flat_map(|l| {
                let sku = order
                    .lines
                    .iter()
                    .find(|o| o.line_no == l.line_no)
                    .map(|o| o.sku.clone());
                std::iter::repeat_n(sku, l.quantity as usize).flatten()
            })
            .collect();
        order = run(
            tx,
            order,
            OrderCommand::Pick {
                fulfillment_id: f.id.clone(),
                picked,
            },
            env,
            &m,
        )?;
        let package_id = Id::child(&f.id, "pkg", 1);
        order = run(
            tx,
            order,
            OrderCommand::Pack {
                fulfillment_id: f.id.clone(),
                package_id: package_id.clone(),
                scans,
                weight_grams: 900,
                dimensions_mm: [300, 200, 100],
            },
            env,
            &m,
        )?;
        let shipment_id = Id::child(&f.id, "shp", 1);
        let capture = crate::app::runner::capture_mode(&env.config, &order);
        order = run(
            tx,
            order,
            OrderCommand::Ship {
                ship: ShipPackage {
                    fulfillment_id: f.id.clone(),
                    package_id,
                    shipment_id: shipment_id.clone(),
                    carrier: "local".into(),
                    service: "ground".into(),
                    tracking_number: format!("SEED{i:08}{k}"),
                    promised_by: Some(at + SignedDuration::from_hours(72)),
                    price_minor: None,
                    ready_for_pickup_at: None,
                },
                capture,
            },
            env,
            &m,
        )?;
        order = answer(tx, order, env, &m, false)?;
        let scans: &[(TrackingStatus, i64)] = match h {
            50..80 => &[
                (TrackingStatus::InTransit, 2),
                (TrackingStatus::Delayed, 30),
            ],
            80..85 => &[(TrackingStatus::InTransit, 2), (TrackingStatus::Lost, 90)],
            _ => &[
                (TrackingStatus::InTransit, 2),
                (TrackingStatus::Delivered, 50),
            ],
        };
        for (status, hours) in scans {
            let when = at + SignedDuration::from_hours(*hours);
            if when > env.now {
                break;
            }
            order = run(
                tx,
                order,
                OrderCommand::RecordTracking(TrackingRecorded {
                    shipment_id: shipment_id.clone(),
                    status: *status,
                    occurred_at: when,
                    location: None,
                }),
                env,
                &meta(i, when),
            )?;
        }
    }
    Ok(order)
}

/// A case about the order, from the customer asking where it is; most are resolved.
fn open_case(
    tx: &mut dyn WriteTx,
    order: &Order,
    env: &Env,
    (i, h): (usize, usize),
    at: Timestamp,
) -> Result<(), AppError> {
    let contact = NewContact {
        channel: ContactChannel::Email,
        direction: Direction::Inbound,
        summary: "Where is my order?".into(),
        order_status: true,
    };
    let open = OpenCase {
        id: Id::new(env.ids.new_id("cas")),
        number: tx.next_case_number()?,
        subject: format!("Question about {}", order.number),
        channel: ContactChannel::Email,
        priority: Priority::Normal,
        group: Some("tier1".into()),
        owner: None,
        order_id: Some(order.id.clone()),
        order_channel: Some(order.channel.to_string()),
        customer_email: Some(order.customer.email.to_string()),
        links: Vec::new(),
        first_contact: Some(contact),
        suggested_root_cause: suggest(order, &env.config.cases.suggestions),
    };
    let m = meta(i, at);
    let events = decide(None, CaseCommand::Open(Box::new(open)))?;
    let case = append_case(tx, &env.config, &env.calendar, None, &events, &m)?;
    let resolved_at = at + SignedDuration::from_hours(20);
    if h % 10 < 7 && resolved_at <= env.now {
        let cause = case
            .suggested_root_cause
            .clone()
            .unwrap_or_else(|| CAUSES[h % CAUSES.len()].to_owned());
        let events = decide(
            Some(&case),
            CaseCommand::Resolve {
                root_cause: cause,
                taxonomy: env.config.cases.root_causes.clone(),
                note: None,
            },
        )?;
        append_case(
            tx,
            &env.config,
            &env.calendar,
            Some(case),
            &events,
            &meta(i, resolved_at),
        )?;
    }
    Ok(())
}

/// Order `i`'s whole story, as far as it got by `env.now`.
fn story(tx: &mut dyn WriteTx, env: &Env, i: usize) -> Result<(), AppError> {
    let h = spread(i);
    let t0 = env.start + env.step * i32::try_from(i).unwrap_or(i32::MAX);
    let hours = |n: i64| t0 + SignedDuration::from_hours(n);
    let m0 = meta(i, t0);
    let channel = env
        .config
        .channel(channel_of(h))
        .ok_or_else(|| AppError::Internal("the seed's channels are not configured".into()))?
        .clone();
    let place = input(env, i, h).map_err(|e| AppError::Internal(format!("{e:#}")))?;
    let placed = place_in_tx(
        tx,
        &place,
        &PlaceEnv {
            channel: &channel,
            locations: &env.locations,
            config: &env.config,
            ship_to: None,
            ids: env.ids.as_ref(),
        },
        &m0,
        Terms::ordinary(),
    )?;
    let Placed::New(order) = placed else {
        return Ok(());
    };
    let order = crate::app::runner::react(tx, order, &m0, &env.config, env.ids.as_ref())?;
    if h < 10 {
        // A bank transfer not paid yet: the timer worker queued it after its threshold.
        let due = hours(1);
        if due <= env.now {
            run(
                tx,
                order,
                OrderCommand::RaiseWatches {
                    watches: vec!["unpaid".into()],
                },
                env,
                &meta(i, due),
            )?;
        }
        return Ok(());
    }
    let mut order = answer(tx, order, env, &m0, h < 20)?;
    if h < 20 || order.state != OrderState::Confirmed {
        return Ok(());
    }
    if h < 40 {
        let cancel = OrderCommand::Cancel(CancelOrder {
            reason: CancelReason::CustomerRequest,
            note: Some("ordered twice".into()),
            refund_id: Id::child(&order.id, "ref", 1),
        });
        let m = meta(i, hours(1));
        let cancelled = run(tx, order, cancel, env, &m)?;
        answer(tx, cancelled, env, &m, false)?;
        return Ok(());
    }
    if h < 50 {
        let hold = OrderCommand::PlaceHold(HoldChange {
            reason: HoldReason::FraudReview,
            note: Some("card used on several emails".into()),
        });
        run(tx, order, hold, env, &m0)?;
        return Ok(());
    }
    if hours(20) > env.now {
        return Ok(());
    }
    order = ship_all(tx, order, env, (i, h), hours(20))?;
    let delivered = order
        .fulfillment_orders
        .iter()
        .flat_map(|f| &f.shipments)
        .all(|s| s.status() == TrackingStatus::Delivered);
    if delivered && h % 20 == 3 && hours(120) <= env.now {
        let line = &order.lines[0];
        let ask = ReturnInput {
            items: vec![AskedItem {
                line_no: line.line_no,
                quantity: 1,
            }],
            reason: if h.is_multiple_of(2) {
                "changed_mind"
            } else {
                "wrong_item"
            }
            .into(),
            wanted: Wanted::Refund,
            note: None,
            photos: Vec::new(),
            final_sale_exception: false,
            window_extension: false,
            shipping_cost_minor: None,
        };
        // A return the policy refuses (a final-sale item, say) is simply not asked for.
        if let Ok(cmd) = request_command(
            tx,
            &env.config,
            &order,
            &ask,
            ReturnSource::SelfService,
            hours(120),
        ) {
            order = run(tx, order, cmd, env, &meta(i, hours(120)))?;
        }
    }
    if h % 20 == 11 && hours(100) <= env.now {
        open_case(tx, &order, env, (i, h), hours(100))?;
    }
    Ok(())
}

impl App {
    /// Seeds `args.orders` orders over the year before now (see the module doc).
    pub async fn seed(self: &AppState, args: &SeedArgs) -> anyhow::Result<()> {
        if args.orders == 0 || args.customers == 0 || args.batch == 0 {
            bail!("--orders, --customers and --batch must be at least 1");
        }
        let origin = Origin {
            actor: Actor::system("seed"),
            correlation_id: "seed".into(),
        };
        let began = Instant::now();
        let skus = crate::demo::create_catalog(self, &origin, |_, _| 10_000_000)
            .await
            .context("creating the catalog")?;
        let now = self.now();
        let span = SignedDuration::from_hours(24 * 365);
        let env = std::sync::Arc::new(Env {
            config: self.config.clone(),
            locations: self.locations.clone(),
            ids: self.ids.clone(),
            calendar: self
                .config
                .calendar
                .calendar()
                .map_err(|e| anyhow::anyhow!("{e:#}"))?
                .clone(),
            skus,
            customers: args.customers,
            start: now - span,
            step: span / i32::try_from(args.orders).unwrap_or(i32::MAX),
            now,
        });
        let mut done = 0;
        while done < args.orders {
            let (from, to) = (done, (done + args.batch).min(args.orders));
            let env = env.clone();
            self.store
                .write(move |tx| {
                    for i in from..to {
                        story(tx, &env, i)?;
                    }
                    Ok::<_, AppError>(())
                })
                .await
                .map_err(|e| anyhow::anyhow!("orders {from}..{to}: {e}: {e:?}"))?;
            done = to;
            if done % (args.batch * 50) == 0 || done == args.orders {
                let secs = began.elapsed().as_secs_f64();
                eprintln!(
                    "{done} orders in {secs:.0} s ({:.0} orders/s)",
                    done as f64 / secs
                );
            }
        }
        let (mut timers, mut messages) = (0, 0);
        loop {
            let (t, m) = self
                .store
                .write(move |tx| tx.settle_history(now, 50_000).map_err(AppError::from))
                .await?;
            (timers, messages) = (timers + t, messages + m);
            if t == 0 && m == 0 {
                break;
            }
        }
        let secs = began.elapsed().as_secs_f64();
        println!(
            "seeded {} orders of {} customers in {secs:.1} s ({:.0} orders/s); \
             history settled: {timers} timers, {messages} outbox messages",
            args.orders,
            args.customers,
            args.orders as f64 / secs
        );
        Ok(())
    }
}
