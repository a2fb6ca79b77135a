//! The story builder the order tests share: a card order for one unit of A placed,
//! paid, released, picked, packed, shipped and tracked by deciding commands one after
//! the other, with the fixtures and commands those steps take.

use super::*;
use crate::Timestamp;
use crate::geo::LatLon;
use crate::payment::{CaptureMode, OpOutcome, PaymentMethod, RiskPolicy};
use crate::sourcing::{LocationFacts, StockView};
use crate::values::{CountryCode, Currency, Email, Id, Sku};

// ---------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------

/// The total of the order every test places: one unit of A at 1.00, no shipping.
pub(super) const TOTAL: i64 = 100;

pub(super) fn at(n: i64) -> Timestamp {
    Timestamp::from_second(1_700_000_000 + n).unwrap()
}

pub(super) fn sku(s: &str) -> Sku {
    Sku::parse(s).unwrap()
}

pub(super) fn address() -> Address {
    Address {
        name: "Ana Lima".into(),
        line1: "1 Main St".into(),
        line2: None,
        city: "Boston".into(),
        region: Some("MA".into()),
        postal_code: "02108".into(),
        country: CountryCode::parse("US").unwrap(),
    }
}

/// The facts a placement is decided against; `ctx()` borrows them as a `PlaceContext`.
pub(super) struct Facts {
    pub(super) locations: Vec<LocationFacts>,
    pub(super) stock: StockView,
    pub(super) risk: RiskPolicy,
    pub(super) payment_due_at: Option<Timestamp>,
    pub(super) reserve_at_payment: bool,
}

impl Facts {
    pub(super) fn new() -> Facts {
        let mut stock = StockView::default();
        stock.set(sku("A"), Id::new("east"), 10);
        Facts {
            locations: vec![LocationFacts {
                id: Id::new("east"),
                coords: LatLon {
                    latitude: 40.7,
                    longitude: -74.0,
                },
                can_ship: true,
                can_pickup: false,
                priority: 1,
                handling_cost_minor: 0,
                ships_to: Vec::new(),
            }],
            stock,
            risk: RiskPolicy::default(),
            payment_due_at: None,
            reserve_at_payment: false,
        }
    }

    pub(super) fn reserving_at_payment(mut self) -> Facts {
        self.reserve_at_payment = true;
        self
    }

    pub(super) fn due(mut self, due_at: Timestamp) -> Facts {
        self.payment_due_at = Some(due_at);
        self
    }

    pub(super) fn ctx(&self) -> PlaceContext<'_> {
        PlaceContext {
            sourcing: SourcingContext {
                locations: &self.locations,
                stock: &self.stock,
                ship_to: None,
                allow_backorders: false,
                policy: Default::default(),
            },
            limits: Limits {
                max_lines_per_order: 5,
                max_quantity_per_line: 100,
            },
            risk: &self.risk,
            recent_orders_same_email: 0,
            recent_orders_same_card: 0,
            payment_due_at: self.payment_due_at,
            reserve_at_payment: self.reserve_at_payment,
            prices: crate::order::PriceRules::trusting(),
        }
    }
}

/// `ord_1`: one unit of A at 1.00 with no shipping, so the total is `TOTAL`.
pub(super) fn place_order(payment: Option<NewPayment>) -> PlaceOrder {
    PlaceOrder {
        id: Id::new("ord_1"),
        number: "WEB-1042".into(),
        channel: Id::new("web"),
        external_id: None,
        currency: Currency::parse("USD").unwrap(),
        customer: Customer {
            email: Email::parse("ana@example.com").unwrap(),
            name: Some("Ana Lima".into()),
            phone: None,
        },
        shipping_address: address(),
        billing_address: address(),
        lines: vec![NewLine {
            sku: sku("A"),
            name: "Product A".into(),
            quantity: 1,
            unit_price: TOTAL,
        }],
        shipping_amount: 0,
        tax_amount: 0,
        discount_amount: 0,
        declared_total: None,
        payment,
        delivery: None,
    }
}

pub(super) fn card(id: &str) -> NewPayment {
    NewPayment {
        id: Id::new(id),
        method: PaymentMethod::Card,
        provider: "simulator".into(),
        fingerprint: None,
        last4: None,
    }
}

// Commands -------------------------------------------------------------------------------

pub(super) fn succeeded() -> OpOutcome {
    OpOutcome::Succeeded {
        provider_reference: Some("prov_ok".into()),
        authorization_expires_at: None,
    }
}

pub(super) fn declined() -> OpOutcome {
    OpOutcome::Failed {
        code: "card_declined".into(),
        message: "Your card was declined".into(),
    }
}

/// The provider said yes to `op` (capture on shipment).
pub(super) fn ok(op: &str) -> OrderCommand {
    ok_with(op, CaptureMode::OnShipment)
}

pub(super) fn ok_with(op: &str, capture: CaptureMode) -> OrderCommand {
    OrderCommand::RecordOutcome {
        op_id: Id::new(op),
        outcome: succeeded(),
        capture,
    }
}

/// The provider said no to `op`.
pub(super) fn fail(op: &str) -> OrderCommand {
    OrderCommand::RecordOutcome {
        op_id: Id::new(op),
        outcome: declined(),
        capture: CaptureMode::OnShipment,
    }
}

pub(super) fn capture(amount_minor: Option<i64>) -> OrderCommand {
    OrderCommand::Capture { amount_minor }
}

pub(super) fn retry(refund_id: &str) -> OrderCommand {
    OrderCommand::RetryRefund {
        refund_id: Id::new(refund_id),
    }
}

// Expected events ------------------------------------------------------------------------

// Given / when ---------------------------------------------------------------------------

/// Given these past events (recorded one second apart), the state they fold into.
pub(super) fn given(events: &[OrderEvent]) -> Order {
    replay(events.iter().zip(1..).map(|(e, n)| (e, at(n))))
        .expect("the given events fold")
        .expect("a stream with events has a state")
}

/// When this command is decided against that state.
pub(super) fn when(order: &Order, command: OrderCommand) -> Result<Vec<OrderEvent>, OrderError> {
    decide(Some(order), command, None)
}

/// A stream built by deciding commands one after the other, each of which must succeed.
#[derive(Clone)]
pub(super) struct Story {
    pub(super) events: Vec<OrderEvent>,
}

impl Story {
    pub(super) fn placed(payment: Option<NewPayment>, facts: &Facts) -> Story {
        Story::placing(place_order(payment), facts)
    }

    /// Placed as `place` says, against `facts`.
    pub(super) fn placing(place: PlaceOrder, facts: &Facts) -> Story {
        let events = decide(
            None,
            OrderCommand::Place(Box::new(place)),
            Some(&facts.ctx()),
        )
        .expect("placing succeeds");
        Story { events }
    }

    /// Placed with card `pay_1`, whose authorization `pay_1.auth1` is pending.
    pub(super) fn card() -> Story {
        Story::placed(Some(card("pay_1")), &Facts::new())
    }

    /// `pay_1` authorized for the total, nothing captured.
    pub(super) fn authorized() -> Story {
        Story::card().and(ok("pay_1.auth1"))
    }

    /// `pay_1` authorized and captured in full (`pay_1.cap2`).
    pub(super) fn captured() -> Story {
        Story::authorized().and(capture(None)).and(ok("pay_1.cap2"))
    }

    pub(super) fn order(&self) -> Order {
        given(&self.events)
    }

    pub(super) fn when(&self, command: OrderCommand) -> Result<Vec<OrderEvent>, OrderError> {
        when(&self.order(), command)
    }

    /// `when` for a command that needs stock facts.
    /// Sources the units still waiting, with `ctx`'s stock (refund id `ref_x`).
    pub(super) fn source_waiting(
        &self,
        ctx: &PlaceContext<'_>,
    ) -> Result<Vec<OrderEvent>, OrderError> {
        super::source_waiting(&self.order(), &ctx.sourcing, Id::new("ref_x"))
    }

    /// Decides `command` (which must succeed) and appends its events.
    pub(super) fn and(mut self, command: OrderCommand) -> Story {
        let events = self
            .when(command.clone())
            .unwrap_or_else(|e| panic!("{command:?} was refused: {e:?}"));
        self.events.extend(events);
        self
    }

    /// The state after the story followed by `new`.
    pub(super) fn then(&self, new: &[OrderEvent]) -> Order {
        let all: Vec<OrderEvent> = self.events.iter().chain(new).cloned().collect();
        given(&all)
    }
}

pub(super) fn release_all() -> OrderCommand {
    OrderCommand::Release {
        fulfillment_id: None,
    }
}

pub(super) const FUL: &str = "ful_1_1";

pub(super) fn pick(picked: u32) -> OrderCommand {
    pick_lines(&[(1, picked)])
}

/// The picker's count per line: (line_no, picked).
pub(super) fn pick_lines(picked: &[(u32, u32)]) -> OrderCommand {
    OrderCommand::Pick {
        fulfillment_id: Id::new(FUL),
        picked: picked.to_vec(),
    }
}

pub(super) fn pack(scans: &[&str]) -> OrderCommand {
    OrderCommand::Pack {
        fulfillment_id: Id::new(FUL),
        package_id: Id::new("pkg_1_1"),
        scans: scans.iter().map(|s| sku(s)).collect(),
        weight_grams: 500,
        dimensions_mm: [100, 100, 100],
    }
}

pub(super) fn ship(capture: CaptureMode) -> OrderCommand {
    OrderCommand::Ship {
        ship: ShipPackage {
            fulfillment_id: Id::new(FUL),
            package_id: Id::new("pkg_1_1"),
            shipment_id: Id::new("shp_1_1"),
            carrier: "local".into(),
            service: "ground".into(),
            tracking_number: "LC1".into(),
            promised_by: Some(at(86_400)),
            price_minor: Some(695),
            ready_for_pickup_at: None,
        },
        capture,
    }
}

pub(super) fn scan(status: crate::fulfillment::TrackingStatus, t: i64) -> OrderCommand {
    OrderCommand::RecordTracking(TrackingRecorded {
        shipment_id: Id::new("shp_1_1"),
        status,
        occurred_at: at(t),
        location: None,
    })
}

/// Authorized (capture on shipment), released and picked in full.
pub(super) fn picked() -> Story {
    Story::authorized().and(release_all()).and(pick(1))
}

impl Story {
    /// The state after the story and one more command (which must succeed).
    pub(super) fn clone_with(&self, command: OrderCommand) -> Order {
        let events = self.when(command).expect("accepted");
        self.then(&events)
    }
}
