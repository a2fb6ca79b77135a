//! The commands the group commit property runs: what a case is generated as (`Step`),
//! the plan made of it (the setup the payment steps need, and the batch with the ending
//! each command must have), and each command as a write closure, built on the domain's
//! `decide` and the store's `append` as the application builds them.

use jiff::Timestamp;
use orderly_domain::actor::Actor;
use orderly_domain::geo::LatLon;
use orderly_domain::inventory::MovementReason;
use orderly_domain::order::{
    Address, Customer, Limits, NewLine, NewPayment, OrderCommand, PlaceContext, PlaceOrder,
    SourcingContext, decide,
};
use orderly_domain::payment::{CaptureMode, OpOutcome, PaymentMethod, RiskPolicy};
use orderly_domain::sourcing::{LocationFacts, StockView};
use orderly_domain::values::{CountryCode, Currency, Email, Id, Sku};
use orderly_store::{
    EventMeta, IdempotencyRecord, Retryable, Store, StoreError, StoredBody, WriteTx,
};
use proptest::prelude::*;

/// Units of each SKU received before the commands run.
pub const STOCK: i64 = 5;
pub const LOCATION: &str = "wh";

/// One step of a case, as generated.
#[derive(Debug, Clone)]
pub enum Step {
    /// Places an order for `quantity` units of a SKU of its own, paid by card or not
    /// yet, under an idempotency key or not.
    Place {
        quantity: u32,
        card: bool,
        keyed: bool,
    },
    /// The provider's answer to an order's pending card authorization.
    Answer { approved: bool },
    /// Captures an authorized order.
    Capture,
    /// Captures an order whose authorization is still pending: the domain refuses
    /// before anything is written.
    Refused,
    /// A placement decided against stock that is not there: its events are written,
    /// then its reservation fails (at once on SQLite, at commit on PostgreSQL, where it
    /// brings down the joined statement of its group).
    Oversell,
    /// A placement under the id of an order placed before: the unique (stream, version)
    /// refuses its first event (as it is inserted on SQLite, at commit on PostgreSQL).
    Duplicate,
    /// A placement that writes everything, then fails.
    FailAfterWriting,
}

pub fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (1u32..=3, any::<bool>(), any::<bool>())
            .prop_map(|(quantity, card, keyed)| Step::Place { quantity, card, keyed }),
        2 => any::<bool>().prop_map(|approved| Step::Answer { approved }),
        2 => Just(Step::Capture),
        1 => Just(Step::Refused),
        1 => Just(Step::Oversell),
        1 => Just(Step::Duplicate),
        1 => Just(Step::FailAfterWriting),
    ]
}

/// A new order: its id, number, SKU and how it is paid.
#[derive(Debug, Clone)]
pub struct Placement {
    pub id: String,
    pub sku: String,
    pub quantity: u32,
    pub card: bool,
    pub key: Option<String>,
}

/// A command with the ids it works on.
#[derive(Debug, Clone)]
pub enum Command {
    Place(Placement),
    Answer { order: String, approved: bool },
    Capture { order: String },
    Oversell(Placement),
    FailAfterWriting(Placement),
}

/// How a command ended, as both runs must agree on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    Committed,
    Refused,
    Conflict,
}

/// The commands of a case: `setup` (the stock and the orders the payment steps work
/// on, run one by one on both stores) and `batch`, with the ending each must have, in
/// `waves`: the commands of a wave are submitted together, a wave after the one before.
pub struct Plan {
    pub skus: Vec<String>,
    pub setup: Vec<Command>,
    pub batch: Vec<(Command, Ending)>,
    /// How many of `batch`'s commands each wave has, in order.
    pub waves: Vec<usize>,
}

pub fn plan(waves: &[Vec<Step>]) -> Plan {
    let mut plan = Plan {
        skus: Vec::new(),
        setup: Vec::new(),
        batch: Vec::new(),
        waves: waves.iter().map(Vec::len).collect(),
    };
    let steps: Vec<&Step> = waves.iter().flatten().collect();
    // Every order has a SKU of its own.
    fn new_order(plan: &mut Plan, quantity: u32, card: bool, key: Option<String>) -> Placement {
        let n = plan.skus.len();
        let sku = format!("S{n}");
        plan.skus.push(sku.clone());
        Placement {
            id: format!("ord_{n}"),
            sku,
            quantity,
            card,
            key,
        }
    }
    for (i, step) in steps.iter().enumerate() {
        let command = match step {
            Step::Place {
                quantity,
                card,
                keyed,
            } => {
                let key = keyed.then(|| format!("key_{i}"));
                let p = new_order(&mut plan, *quantity, *card, key);
                (Command::Place(p), Ending::Committed)
            }
            Step::Answer { approved } => {
                let order = new_order(&mut plan, 1, true, None);
                let id = order.id.clone();
                plan.setup.push(Command::Place(order));
                let approved = *approved;
                (
                    Command::Answer {
                        order: id,
                        approved,
                    },
                    Ending::Committed,
                )
            }
            Step::Capture => {
                let order = new_order(&mut plan, 1, true, None);
                let id = order.id.clone();
                plan.setup.push(Command::Place(order));
                plan.setup.push(Command::Answer {
                    order: id.clone(),
                    approved: true,
                });
                (Command::Capture { order: id }, Ending::Committed)
            }
            Step::Refused => {
                let order = new_order(&mut plan, 1, true, None);
                let id = order.id.clone();
                plan.setup.push(Command::Place(order));
                (Command::Capture { order: id }, Ending::Refused)
            }
            Step::Oversell => {
                let p = new_order(&mut plan, 1000, false, None);
                (Command::Oversell(p), Ending::Conflict)
            }
            Step::Duplicate => {
                let first = new_order(&mut plan, 1, false, None);
                let again = Placement {
                    sku: new_order(&mut plan, 1, false, None).sku,
                    ..first.clone()
                };
                plan.setup.push(Command::Place(first));
                (Command::Place(again), Ending::Conflict)
            }
            Step::FailAfterWriting => {
                let p = new_order(&mut plan, 1, true, None);
                (Command::FailAfterWriting(p), Ending::Refused)
            }
        };
        plan.batch.push(command);
    }
    plan
}

/// What a command in these tests fails with.
#[derive(Debug)]
pub enum Failed {
    Store(StoreError),
    Refused(String),
}

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failed::Store(e) => write!(f, "{e}"),
            Failed::Refused(why) => write!(f, "refused: {why}"),
        }
    }
}

/// A result as a failure report shows it.
pub fn shown(result: &Result<(), Failed>) -> String {
    match result {
        Ok(()) => "committed".into(),
        Err(e) => e.to_string(),
    }
}

impl From<StoreError> for Failed {
    fn from(e: StoreError) -> Self {
        Failed::Store(e)
    }
}

// The commands touch disjoint rows, so no race is lost; a run again would only hide a
// difference between the two ways of committing.
impl Retryable for Failed {
    fn is_retryable(&self) -> bool {
        false
    }
}

pub fn ending(result: &Result<(), Failed>) -> Result<Ending, String> {
    match result {
        Ok(()) => Ok(Ending::Committed),
        Err(Failed::Refused(_)) => Ok(Ending::Refused),
        Err(Failed::Store(StoreError::Conflict(_))) => Ok(Ending::Conflict),
        Err(Failed::Store(e)) => Err(format!("unexpected store error: {e}")),
    }
}

pub fn at(second: i64) -> Timestamp {
    Timestamp::from_second(1_700_000_000 + second).unwrap()
}

pub fn locations() -> Vec<LocationFacts> {
    vec![LocationFacts {
        id: Id::new(LOCATION),
        coords: LatLon {
            latitude: 30.0,
            longitude: -97.0,
        },
        can_ship: true,
        can_pickup: false,
        priority: 0,
        handling_cost_minor: 0,
        ships_to: Vec::new(),
    }]
}

pub fn place_order(p: &Placement) -> PlaceOrder {
    let address = Address {
        name: "Ana".into(),
        line1: "1 Main St".into(),
        line2: None,
        city: "Austin".into(),
        region: Some("TX".into()),
        postal_code: "78701".into(),
        country: CountryCode::parse("US").unwrap(),
    };
    PlaceOrder {
        id: Id::new(&p.id),
        number: format!("T-{}", p.id),
        channel: Id::new("web"),
        external_id: None,
        currency: Currency::parse("USD").unwrap(),
        customer: Customer {
            email: Email::parse("ana@example.com").unwrap(),
            name: None,
            phone: None,
        },
        shipping_address: address.clone(),
        billing_address: address,
        lines: vec![NewLine {
            sku: Sku::parse(&p.sku).unwrap(),
            name: p.sku.clone(),
            quantity: p.quantity,
            unit_price: 100,
        }],
        shipping_amount: 0,
        tax_amount: 0,
        discount_amount: 0,
        declared_total: None,
        payment: p.card.then(|| NewPayment {
            id: Id::new(payment_id(&p.id)),
            method: PaymentMethod::Card,
            provider: "simulator".into(),
            fingerprint: None,
            last4: None,
        }),
        delivery: None,
    }
}

pub fn payment_id(order: &str) -> String {
    format!("pay_{order}")
}

pub fn meta(second: i64) -> EventMeta {
    EventMeta {
        actor: Actor::system("test"),
        correlation_id: format!("c{second}"),
        at: at(second),
    }
}

/// Decides a placement against `stock` and appends it, keeping its card token and
/// its idempotency answer as the application does.
pub fn place(
    tx: &mut dyn WriteTx,
    p: &Placement,
    stock: &StockView,
    second: i64,
) -> Result<(), Failed> {
    let locations = locations();
    let risk = RiskPolicy::default();
    let ctx = PlaceContext {
        sourcing: SourcingContext {
            locations: &locations,
            stock,
            ship_to: None,
            allow_backorders: false,
            policy: Default::default(),
        },
        limits: Limits {
            max_lines_per_order: 10,
            max_quantity_per_line: 1000,
        },
        risk: &risk,
        recent_orders_same_email: 0,
        recent_orders_same_card: 0,
        payment_due_at: None,
        reserve_at_payment: false,
        prices: orderly_domain::order::PriceRules::trusting(),
    };
    let command = OrderCommand::Place(Box::new(place_order(p)));
    let events = decide(None, command, Some(&ctx)).map_err(|e| Failed::Refused(e.to_string()))?;
    let order = tx.append(None, &events, &meta(second))?;
    if p.card {
        tx.save_payment_token(&payment_id(&p.id), &p.id, "tok_visa", at(second))?;
    }
    if let Some(key) = &p.key {
        let record = IdempotencyRecord {
            request_hash: format!("hash_{key}"),
            status_code: 201,
            body: StoredBody::OrderAt {
                order_id: p.id.clone(),
                version: order.version,
            },
        };
        tx.save_idempotency("tester", key, &record, at(second), 86_400_000)?;
    }
    Ok(())
}

/// Decides `command` on the stored order and appends what it decided.
pub fn apply(
    tx: &mut dyn WriteTx,
    order: &str,
    command: OrderCommand,
    second: i64,
) -> Result<(), Failed> {
    let before = tx
        .load_order(order)?
        .ok_or_else(|| Failed::Refused(format!("no order {order}")))?;
    let events =
        decide(Some(&before), command, None).map_err(|e| Failed::Refused(e.to_string()))?;
    tx.append(Some(before), &events, &meta(second))?;
    Ok(())
}

/// Runs one command as its own write; `second` dates it.
pub async fn run(store: Store, command: Command, second: i64) -> Result<(), Failed> {
    store
        .write(move |tx| match &command {
            Command::Place(p) => {
                let stock = tx.stock_view(&[Sku::parse(&p.sku).unwrap()])?;
                place(tx, p, &stock, second)
            }
            Command::Answer { order, approved } => {
                let outcome = if *approved {
                    OpOutcome::Succeeded {
                        provider_reference: Some(format!("ref_{order}")),
                        authorization_expires_at: Some(at(second + 7 * 86_400)),
                    }
                } else {
                    OpOutcome::Failed {
                        code: "card_declined".into(),
                        message: "declined".into(),
                    }
                };
                let answer = OrderCommand::RecordOutcome {
                    op_id: Id::new(format!("{}.auth1", payment_id(order))),
                    outcome,
                    capture: CaptureMode::OnShipment,
                };
                apply(tx, order, answer, second)
            }
            Command::Capture { order } => {
                let capture = OrderCommand::Capture { amount_minor: None };
                apply(tx, order, capture, second)
            }
            Command::Oversell(p) => {
                // It reads the stock as any placement does (so it is no quicker to reach
                // the committer than the commands it may group with), then decides as a
                // stale decision would: on units that are not there.
                let sku = Sku::parse(&p.sku).unwrap();
                let mut stock = tx.stock_view(std::slice::from_ref(&sku))?;
                stock.set(sku, Id::new(LOCATION), p.quantity);
                place(tx, p, &stock, second)
            }
            Command::FailAfterWriting(p) => {
                let stock = tx.stock_view(&[Sku::parse(&p.sku).unwrap()])?;
                place(tx, p, &stock, second)?;
                Err(Failed::Refused("changed its mind after writing".into()))
            }
        })
        .await
}

/// Receives the stock and runs the setup, one command at a time.
pub async fn set_up(store: &Store, plan: &Plan) {
    let skus = plan.skus.clone();
    store
        .write(move |tx| {
            for sku in &skus {
                let actor = Actor::system("test");
                let receipt = MovementReason::Receipt;
                tx.adjust_on_hand(sku, LOCATION, STOCK, receipt, None, None, &actor, at(0))?;
            }
            Ok::<_, Failed>(())
        })
        .await
        .unwrap();
    for (i, command) in plan.setup.iter().enumerate() {
        run(store.clone(), command.clone(), 1 + i as i64)
            .await
            .unwrap_or_else(|e| panic!("setup step {i} ({command:?}) failed: {e}"));
    }
}

/// The seconds the batch's commands are dated at, after the setup's.
pub fn batch_second(plan: &Plan, i: usize) -> i64 {
    1_000 + (plan.setup.len() + i) as i64
}
