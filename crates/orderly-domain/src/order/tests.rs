//! Given / when / then tests for the order aggregate, and property tests over random
//! command sequences.

use super::*;
use crate::Timestamp;
use crate::geo::LatLon;
use crate::payment::PaymentState;
use crate::sourcing::{LocationFacts, Shortfall, StockView, Strategy};
use crate::values::{CountryCode, Currency, Email, Id, Sku};

// ---------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------

const LIMITS: Limits = Limits {
    max_lines_per_order: 5,
    max_quantity_per_line: 100,
};

const BOSTON: LatLon = LatLon {
    latitude: 42.36,
    longitude: -71.06,
};

fn sku(s: &str) -> Sku {
    Sku::parse(s).unwrap()
}

fn at(n: i64) -> Timestamp {
    Timestamp::from_second(1_700_000_000 + n).unwrap()
}

fn address() -> Address {
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

fn customer() -> Customer {
    Customer {
        email: Email::parse("ana@example.com").unwrap(),
        name: Some("Ana Lima".into()),
        phone: None,
    }
}

fn line(s: &str, quantity: u32, unit_price: i64) -> NewLine {
    NewLine {
        sku: sku(s),
        name: format!("Product {s}"),
        quantity,
        unit_price,
    }
}

/// `ord_1` / `WEB-1042` in USD with 5.00 shipping and the given lines.
fn place_order(lines: Vec<NewLine>) -> PlaceOrder {
    PlaceOrder {
        id: Id::new("ord_1"),
        number: "WEB-1042".into(),
        channel: Id::new("web"),
        external_id: None,
        currency: Currency::parse("USD").unwrap(),
        customer: customer(),
        shipping_address: address(),
        billing_address: address(),
        lines,
        shipping_amount: 500,
        tax_amount: 0,
        discount_amount: 0,
        declared_total: None,
        payment: None,
        delivery: None,
    }
}

fn place(lines: Vec<NewLine>) -> OrderCommand {
    OrderCommand::Place(Box::new(place_order(lines)))
}

fn cancel(reason: CancelReason, note: Option<&str>) -> OrderCommand {
    OrderCommand::Cancel(CancelOrder {
        reason,
        note: note.map(str::to_owned),
        refund_id: Id::new("ref_cancel"),
    })
}

fn location(id: &str, latitude: f64, longitude: f64, priority: u32) -> LocationFacts {
    LocationFacts {
        id: Id::new(id),
        coords: LatLon {
            latitude,
            longitude,
        },
        can_ship: true,
        can_pickup: false,
        priority,
        handling_cost_minor: 0,
        ships_to: Vec::new(),
    }
}

/// New York: nearest to Boston.
fn east() -> LocationFacts {
    location("east", 40.7, -74.0, 2)
}

/// Los Angeles: far from Boston, but the preferred priority.
fn west() -> LocationFacts {
    location("west", 34.0, -118.2, 1)
}

fn stock(entries: &[(&str, &str, u32)]) -> StockView {
    let mut view = StockView::default();
    for &(s, l, n) in entries {
        view.set(sku(s), Id::new(l), n);
    }
    view
}

/// The facts a placement is decided against; `ctx()` borrows them as a `PlaceContext`.
struct Facts {
    locations: Vec<LocationFacts>,
    stock: StockView,
    allow_backorders: bool,
    risk: crate::payment::RiskPolicy,
}

impl Facts {
    fn new(entries: &[(&str, &str, u32)]) -> Facts {
        Facts {
            locations: vec![east(), west()],
            stock: stock(entries),
            allow_backorders: false,
            risk: crate::payment::RiskPolicy::default(),
        }
    }

    fn with_backorders(mut self) -> Facts {
        self.allow_backorders = true;
        self
    }

    fn ctx(&self) -> PlaceContext<'_> {
        PlaceContext {
            sourcing: SourcingContext {
                locations: &self.locations,
                stock: &self.stock,
                ship_to: Some(BOSTON),
                allow_backorders: self.allow_backorders,
                policy: Default::default(),
            },
            limits: LIMITS,
            risk: &self.risk,
            recent_orders_same_email: 0,
            recent_orders_same_card: 0,
            payment_due_at: None,
            reserve_at_payment: false,
            prices: crate::order::PriceRules::trusting(),
        }
    }
}

fn reservation(line_no: u32, s: &str, location_id: &str, quantity: u32) -> Reservation {
    Reservation {
        line_no,
        sku: sku(s),
        location_id: Id::new(location_id),
        quantity,
    }
}

fn shortfall(line_no: u32, s: &str, quantity: u32) -> Shortfall {
    Shortfall {
        line_no,
        sku: sku(s),
        quantity,
    }
}

// ---------------------------------------------------------------------------------------
// Given / when / then
// ---------------------------------------------------------------------------------------

/// Given these past events (recorded one second apart), the state they fold into.
fn given(events: &[OrderEvent]) -> Option<Order> {
    replay(events.iter().zip(1..).map(|(e, n)| (e, at(n)))).expect("the given events fold")
}

/// When this command is decided against that state.
fn when(
    state: Option<&Order>,
    command: OrderCommand,
    ctx: Option<&PlaceContext<'_>>,
) -> Result<Vec<OrderEvent>, OrderError> {
    decide(state, command, ctx)
}

/// The events of a successful placement, to use as the "given" of later tests.
fn placed(lines: Vec<NewLine>, facts: &Facts) -> Vec<OrderEvent> {
    when(None, place(lines), Some(&facts.ctx())).expect("placing succeeds")
}

/// The state after the given events followed by the new ones.
fn then_state(past: &[OrderEvent], new: &[OrderEvent]) -> Order {
    let all: Vec<OrderEvent> = past.iter().chain(new).cloned().collect();
    given(&all).expect("a stream with events has a state")
}

fn sourced(events: &[OrderEvent]) -> &OrderSourced {
    events
        .iter()
        .find_map(|e| match e {
            OrderEvent::OrderSourced(s) => Some(s),
            _ => None,
        })
        .expect("an order_sourced event")
}

/// The (field, code) pairs of an `Invalid` refusal; panics on any other outcome.
fn issues(result: Result<Vec<OrderEvent>, OrderError>) -> Vec<(String, &'static str)> {
    match result {
        Err(OrderError::Invalid(issues)) => issues.into_iter().map(|i| (i.field, i.code)).collect(),
        other => panic!("expected Invalid, got {other:?}"),
    }
}

fn buckets_of(order: &Order) -> Vec<Buckets> {
    order.lines.iter().map(|l| l.buckets).collect()
}

#[test]
fn placing_reserves_every_line_at_the_one_location_that_can_serve_all() {
    let facts = Facts::new(&[
        ("A", "east", 5),
        ("B", "east", 5),
        ("A", "west", 5),
        ("B", "west", 5),
    ]);
    let events = when(
        None,
        place(vec![line("A", 2, 1500), line("B", 1, 1000)]),
        Some(&facts.ctx()),
    )
    .unwrap();

    assert_eq!(events.len(), 2, "{events:?}");
    let OrderEvent::OrderPlaced(p) = &events[0] else {
        panic!("first event is {:?}", events[0]);
    };
    let expected = OrderPlaced {
        id: Id::new("ord_1"),
        number: "WEB-1042".into(),
        channel: Id::new("web"),
        external_id: None,
        currency: Currency::parse("USD").unwrap(),
        customer: customer(),
        shipping_address: address(),
        billing_address: address(),
        lines: vec![
            PlacedLine {
                line_no: 1,
                sku: sku("A"),
                name: "Product A".into(),
                quantity: 2,
                unit_price: 1500,
            },
            PlacedLine {
                line_no: 2,
                sku: sku("B"),
                name: "Product B".into(),
                quantity: 1,
                unit_price: 1000,
            },
        ],
        shipping_amount: 500,
        tax_amount: 0,
        discount_amount: 0,
        delivery: None,
    };
    assert_eq!(**p, expected);

    let s = sourced(&events);
    assert_eq!(s.rationale.strategy, Strategy::SingleLocation);
    // East (New York) is nearest to Boston, so it wins although west has the better priority.
    assert_eq!(
        s.reservations,
        vec![
            reservation(1, "A", "east", 2),
            reservation(2, "B", "east", 1)
        ]
    );
    assert!(s.backorders.is_empty());
    assert_eq!(s.rationale.candidates.len(), 2);
    assert!(s.rationale.candidates.iter().all(|c| c.can_serve_all));

    let order = then_state(&[], &events);
    assert_eq!(order.state, OrderState::Pending);
    assert_eq!(order.version, 2);
    assert_eq!(order.total(), 2 * 1500 + 1000 + 500);
    assert_eq!(order.reservations, s.reservations);
    assert_eq!(order.sourcing.as_ref(), Some(&s.rationale));
    assert_eq!(
        buckets_of(&order),
        vec![
            Buckets {
                ordered: 2,
                allocated: 2,
                ..Buckets::default()
            },
            Buckets {
                ordered: 1,
                allocated: 1,
                ..Buckets::default()
            },
        ]
    );
    assert_eq!(order.violations(), Vec::<String>::new());
}

#[test]
fn placing_splits_across_two_locations_when_none_has_everything() {
    let facts = Facts::new(&[("A", "east", 5), ("B", "west", 5)]);
    let events = when(
        None,
        place(vec![line("A", 2, 1500), line("B", 3, 1000)]),
        Some(&facts.ctx()),
    )
    .unwrap();

    let s = sourced(&events);
    assert_eq!(s.rationale.strategy, Strategy::Split);
    assert_eq!(
        s.reservations,
        vec![
            reservation(1, "A", "east", 2),
            reservation(2, "B", "west", 3)
        ]
    );
    assert!(s.backorders.is_empty());
    assert!(s.rationale.candidates.iter().all(|c| !c.can_serve_all));

    let order = then_state(&[], &events);
    assert_eq!(order.reservations.len(), 2);
    assert_eq!(
        order
            .lines
            .iter()
            .map(|l| l.buckets.allocated)
            .collect::<Vec<_>>(),
        vec![2, 3]
    );
    assert_eq!(order.violations(), Vec::<String>::new());
}

#[test]
fn a_shortfall_becomes_a_backorder_when_backorders_are_allowed() {
    let facts = Facts::new(&[("A", "east", 3)]).with_backorders();
    let events = when(None, place(vec![line("A", 5, 1000)]), Some(&facts.ctx())).unwrap();

    let s = sourced(&events);
    assert_eq!(s.reservations, vec![reservation(1, "A", "east", 3)]);
    assert_eq!(s.backorders, vec![shortfall(1, "A", 2)]);

    let order = then_state(&[], &events);
    assert_eq!(
        buckets_of(&order),
        vec![Buckets {
            ordered: 5,
            allocated: 3,
            backordered: 2,
            ..Buckets::default()
        }]
    );
    assert_eq!(order.violations(), Vec::<String>::new());
}

#[test]
fn with_no_stock_anywhere_the_whole_order_is_backordered() {
    let facts = Facts::new(&[]).with_backorders();
    let events = when(None, place(vec![line("A", 4, 1000)]), Some(&facts.ctx())).unwrap();

    let s = sourced(&events);
    assert_eq!(s.rationale.strategy, Strategy::NoStock);
    assert!(s.reservations.is_empty());
    assert_eq!(s.backorders, vec![shortfall(1, "A", 4)]);
    let order = then_state(&[], &events);
    assert_eq!(order.lines[0].buckets.backordered, 4);
    assert_eq!(order.lines[0].buckets.allocated, 0);
    assert_eq!(order.violations(), Vec::<String>::new());
}

#[test]
fn a_shortfall_without_backorders_is_out_of_stock_naming_the_skus_and_lines() {
    let facts = Facts::new(&[("A", "east", 3), ("B", "east", 1)]);
    let result = when(
        None,
        place(vec![
            line("A", 5, 1000),
            line("B", 1, 1000),
            line("C", 2, 1000),
        ]),
        Some(&facts.ctx()),
    );
    // An error carries no events: nothing is reserved for a refused order.
    assert_eq!(
        result,
        Err(OrderError::OutOfStock {
            skus: vec![sku("A"), sku("C")],
            lines: vec![1, 3],
        })
    );
    let err = result.unwrap_err();
    assert_eq!(err.code(), "out_of_stock");
    assert_eq!(err.to_string(), "not enough stock for A, C");
}

#[test]
fn a_zero_quantity_is_invalid_on_that_line() {
    let facts = Facts::new(&[("A", "east", 5)]);
    let result = when(
        None,
        place(vec![line("A", 1, 1000), line("A", 0, 1000)]),
        Some(&facts.ctx()),
    );
    assert_eq!(
        issues(result),
        vec![("lines[1].quantity".to_owned(), "must_be_positive")]
    );
}

#[test]
fn a_quantity_above_the_limit_is_invalid() {
    let facts = Facts::new(&[("A", "east", 500)]);
    let result = when(None, place(vec![line("A", 101, 1000)]), Some(&facts.ctx()));
    assert_eq!(
        issues(result),
        vec![("lines[0].quantity".to_owned(), "quantity_above_maximum")]
    );
}

#[test]
fn an_order_without_lines_is_invalid() {
    let facts = Facts::new(&[]);
    let result = when(None, place(vec![]), Some(&facts.ctx()));
    assert_eq!(issues(result), vec![("lines".to_owned(), "required")]);
}

#[test]
fn too_many_lines_is_invalid() {
    let facts = Facts::new(&[("A", "east", 100)]);
    let lines = (0..6).map(|_| line("A", 1, 1000)).collect();
    let result = when(None, place(lines), Some(&facts.ctx()));
    assert_eq!(issues(result), vec![("lines".to_owned(), "too_many_lines")]);
}

#[test]
fn a_discount_larger_than_the_order_is_invalid() {
    let facts = Facts::new(&[("A", "east", 5)]);
    let mut cmd = place_order(vec![line("A", 1, 1000)]);
    cmd.discount_amount = 1501; // subtotal 10.00 + shipping 5.00
    let result = when(None, OrderCommand::Place(Box::new(cmd)), Some(&facts.ctx()));
    assert_eq!(
        issues(result),
        vec![("discount_amount".to_owned(), "discount_exceeds_total")]
    );
}

#[test]
fn a_discount_equal_to_the_order_is_accepted() {
    let facts = Facts::new(&[("A", "east", 5)]);
    let mut cmd = place_order(vec![line("A", 1, 1000)]);
    cmd.discount_amount = 1500;
    let events = when(None, OrderCommand::Place(Box::new(cmd)), Some(&facts.ctx())).unwrap();
    assert_eq!(then_state(&[], &events).total(), 0);
}

fn catalog_of(entries: &[(&str, i64)]) -> std::collections::BTreeMap<Sku, CatalogPrice> {
    entries
        .iter()
        .map(|(s, price_minor)| {
            let price = CatalogPrice {
                price_minor: *price_minor,
                currency: Currency::parse("USD").unwrap(),
            };
            (sku(s), price)
        })
        .collect()
}

fn card_order(lines: Vec<NewLine>) -> PlaceOrder {
    PlaceOrder {
        payment: Some(NewPayment {
            id: Id::new("pay_1"),
            method: crate::payment::PaymentMethod::Card,
            provider: "simulator".into(),
            fingerprint: None,
            last4: None,
        }),
        ..place_order(lines)
    }
}

#[test]
fn a_checked_channel_refuses_a_line_priced_off_the_catalog_and_places_nothing() {
    let facts = Facts::new(&[("A", "east", 5), ("B", "east", 5)]);
    let catalog = catalog_of(&[("A", 1000), ("B", 2000)]);
    let ctx = PlaceContext {
        prices: PriceRules {
            trust: PriceTrust::Checked,
            tolerance_percent: 0,
            allow_free_orders: false,
            catalog: &catalog,
        },
        ..facts.ctx()
    };
    let cmd = card_order(vec![line("A", 1, 1000), line("B", 1, 0)]);
    let result = when(None, OrderCommand::Place(Box::new(cmd)), Some(&ctx));
    assert_eq!(
        issues(result),
        vec![("lines[1].unit_price".to_owned(), "price_mismatch")]
    );
}

#[test]
fn a_catalog_channel_authorizes_the_catalog_total_whatever_price_was_sent() {
    let facts = Facts::new(&[("A", "east", 5)]);
    let catalog = catalog_of(&[("A", 1000)]);
    let ctx = PlaceContext {
        prices: PriceRules {
            trust: PriceTrust::Catalog,
            tolerance_percent: 0,
            allow_free_orders: false,
            catalog: &catalog,
        },
        ..facts.ctx()
    };
    let cmd = card_order(vec![line("A", 2, 0)]);
    let events = when(None, OrderCommand::Place(Box::new(cmd)), Some(&ctx)).unwrap();
    let asked: Vec<i64> = events
        .iter()
        .filter_map(|e| match e {
            OrderEvent::PaymentOpRequested(r) => Some(r.amount_minor),
            _ => None,
        })
        .collect();
    // Two at the catalog's 10.00 plus 5.00 shipping: the card owes the whole order.
    assert_eq!(asked, vec![2500]);
    let order = then_state(&[], &events);
    assert_eq!(order.lines[0].unit_price, 1000);
    assert_eq!(order.total(), 2500);
}

#[test]
fn an_order_totalling_nothing_is_refused_unless_the_channel_takes_free_orders() {
    let facts = Facts::new(&[("A", "east", 5)]);
    let mut cmd = card_order(vec![line("A", 1, 1000)]);
    cmd.discount_amount = 1500;
    let strict = PlaceContext {
        prices: PriceRules {
            allow_free_orders: false,
            ..PriceRules::trusting()
        },
        ..facts.ctx()
    };
    let refused = when(
        None,
        OrderCommand::Place(Box::new(cmd.clone())),
        Some(&strict),
    );
    assert_eq!(refused, Err(OrderError::FreeOrderNotAllowed));
    // Allowed, a free order is confirmed at once, with or without a payment attached.
    for cmd in [
        cmd.clone(),
        PlaceOrder {
            payment: None,
            ..cmd
        },
    ] {
        let events = when(None, OrderCommand::Place(Box::new(cmd)), Some(&facts.ctx())).unwrap();
        let order = then_state(&[], &events);
        assert_eq!(order.state, OrderState::Confirmed, "{events:?}");
        assert!(
            !events
                .iter()
                .any(|e| matches!(e, OrderEvent::PaymentOpRequested(_))),
            "nothing is asked of a provider: {events:?}"
        );
    }
}

#[test]
fn a_declared_total_must_match_ours() {
    let facts = Facts::new(&[("A", "east", 5)]);
    let mut cmd = place_order(vec![line("A", 2, 1000)]);
    cmd.declared_total = Some(2499);
    let result = when(
        None,
        OrderCommand::Place(Box::new(cmd.clone())),
        Some(&facts.ctx()),
    );
    assert_eq!(
        issues(result),
        vec![("total_amount".to_owned(), "totals_mismatch")]
    );

    cmd.declared_total = Some(2500);
    let events = when(None, OrderCommand::Place(Box::new(cmd)), Some(&facts.ctx())).unwrap();
    assert_eq!(then_state(&[], &events).total(), 2500);
}

#[test]
fn every_problem_is_reported_at_once() {
    let facts = Facts::new(&[("A", "east", 5)]);
    let mut cmd = place_order(vec![line("A", 0, -1), line("A", 1, 1000)]);
    cmd.tax_amount = -5;
    let result = when(None, OrderCommand::Place(Box::new(cmd)), Some(&facts.ctx()));
    assert_eq!(
        issues(result),
        vec![
            ("lines[0].quantity".to_owned(), "must_be_positive"),
            ("lines[0].unit_price".to_owned(), "amount_out_of_range"),
            ("tax_amount".to_owned(), "amount_out_of_range"),
        ]
    );
}

#[test]
fn placing_without_sourcing_facts_is_refused() {
    let result = when(None, place(vec![line("A", 1, 1000)]), None);
    assert_eq!(
        issues(result),
        vec![("lines".to_owned(), "no_sourcing_facts")]
    );
}

#[test]
fn placing_an_order_twice_is_already_exists() {
    let facts = Facts::new(&[("A", "east", 5)]);
    let past = placed(vec![line("A", 1, 1000)], &facts);
    let state = given(&past);
    let result = when(
        state.as_ref(),
        place(vec![line("A", 1, 1000)]),
        Some(&facts.ctx()),
    );
    assert_eq!(result, Err(OrderError::AlreadyExists));
    assert_eq!(OrderError::AlreadyExists.code(), "order_exists");
}

#[test]
fn cancelling_a_pending_order_releases_every_reservation_and_backorder() {
    // Line 1 is split over both locations, line 2 has no stock at all.
    let facts = Facts::new(&[("A", "east", 3), ("A", "west", 1)]).with_backorders();
    let past = placed(vec![line("A", 4, 1000), line("B", 2, 500)], &facts);
    let reserved = vec![
        reservation(1, "A", "east", 3),
        reservation(1, "A", "west", 1),
    ];
    assert_eq!(sourced(&past).reservations, reserved);

    let state = given(&past);
    let events = when(
        state.as_ref(),
        cancel(CancelReason::CustomerRequest, Some("changed my mind")),
        None,
    )
    .unwrap();
    assert_eq!(
        events,
        vec![OrderEvent::OrderCancelled(OrderCancelled {
            reason: CancelReason::CustomerRequest,
            note: Some("changed my mind".into()),
            released: reserved,
            backorders_cancelled: vec![shortfall(2, "B", 2)],
        })]
    );

    let order = then_state(&past, &events);
    assert_eq!(order.state, OrderState::Cancelled);
    assert_eq!(order.cancel_reason, Some(CancelReason::CustomerRequest));
    assert!(order.reservations.is_empty());
    assert_eq!(order.version, 3);
    assert_eq!(order.updated_at, at(3));
    assert_eq!(order.created_at, at(1));
    for l in &order.lines {
        assert_eq!(l.buckets.cancelled, l.buckets.ordered, "line {}", l.line_no);
        assert_eq!(l.buckets.allocated, 0, "line {}", l.line_no);
        assert_eq!(l.buckets.backordered, 0, "line {}", l.line_no);
    }
    assert_eq!(order.violations(), Vec::<String>::new());
}

#[test]
fn a_confirmed_order_can_still_be_cancelled() {
    let facts = Facts::new(&[("A", "east", 5)]);
    let mut state = given(&placed(vec![line("A", 2, 1000)], &facts)).unwrap();
    state.state = OrderState::Confirmed;
    let events = when(Some(&state), cancel(CancelReason::Fraud, None), None).unwrap();
    let [OrderEvent::OrderCancelled(c)] = events.as_slice() else {
        panic!("expected one order_cancelled, got {events:?}");
    };
    assert_eq!(c.released, vec![reservation(1, "A", "east", 2)]);
    assert!(c.backorders_cancelled.is_empty());
}

#[test]
fn cancelling_a_cancelled_order_is_an_illegal_transition() {
    let facts = Facts::new(&[("A", "east", 5)]);
    let mut past = placed(vec![line("A", 1, 1000)], &facts);
    past.extend(
        when(
            given(&past).as_ref(),
            cancel(CancelReason::Duplicate, None),
            None,
        )
        .unwrap(),
    );
    let result = when(
        given(&past).as_ref(),
        cancel(CancelReason::Other, None),
        None,
    );
    assert_eq!(
        result,
        Err(OrderError::IllegalTransition {
            from: OrderState::Cancelled,
            to: OrderState::Cancelled,
        })
    );
    assert_eq!(
        result.unwrap_err().to_string(),
        "an order that is cancelled cannot become cancelled"
    );
}

#[test]
fn cancelling_a_completed_order_is_an_illegal_transition() {
    let facts = Facts::new(&[("A", "east", 5)]);
    let mut state = given(&placed(vec![line("A", 1, 1000)], &facts)).unwrap();
    state.state = OrderState::Completed;
    assert_eq!(
        when(Some(&state), cancel(CancelReason::Other, None), None),
        Err(OrderError::IllegalTransition {
            from: OrderState::Completed,
            to: OrderState::Cancelled,
        })
    );
}

#[test]
fn an_order_with_shipped_units_cannot_be_cancelled_as_a_whole() {
    let facts = Facts::new(&[("A", "east", 5)]);
    let mut state = given(&placed(vec![line("A", 2, 1000)], &facts)).unwrap();
    // What a later shipment event would leave behind: one unit moved to shipped.
    state.lines[0].buckets.allocated = 1;
    state.lines[0].buckets.shipped = 1;
    state.reservations[0].quantity = 1;
    assert_eq!(state.violations(), Vec::<String>::new());
    assert_eq!(
        when(
            Some(&state),
            cancel(CancelReason::CustomerRequest, None),
            None
        ),
        Err(OrderError::AlreadyShipped)
    );
}

#[test]
fn cancelling_an_order_that_does_not_exist_is_not_found() {
    let result = when(None, cancel(CancelReason::CustomerRequest, None), None);
    assert_eq!(result, Err(OrderError::NotFound));
    assert_eq!(OrderError::NotFound.code(), "order_not_found");
}

#[test]
fn evolve_refuses_streams_decide_cannot_produce() {
    let facts = Facts::new(&[("A", "east", 5)]);
    let past = placed(vec![line("A", 1, 1000)], &facts);

    let headless = [past[1].clone()];
    assert_eq!(
        replay(headless.iter().map(|e| (e, at(1)))),
        Err(EvolveError {
            event: "order_sourced",
            version: 1,
            reason: "the stream does not start with order_placed",
        })
    );
    let twice = [past[0].clone(), past[0].clone()];
    assert_eq!(
        replay(twice.iter().map(|e| (e, at(1)))),
        Err(EvolveError {
            event: "order_placed",
            version: 2,
            reason: "the order already exists",
        })
    );
    assert_eq!(replay(std::iter::empty()), Ok(None));
}

#[test]
fn a_line_keeps_its_ordered_count_once_and_old_snapshots_with_a_quantity_still_read() {
    let facts = Facts::new(&[("A", "east", 5)]);
    let order = then_state(&[], &placed(vec![line("A", 3, 1500)], &facts));
    assert_eq!(order.lines[0].buckets.ordered, 3);
    assert_eq!(order.subtotal(), 3 * 1500);
    let mut snapshot = serde_json::to_value(&order).unwrap();
    assert!(snapshot["lines"][0].get("quantity").is_none(), "{snapshot}");
    // Written before the count had one home: the copy beside the buckets is ignored.
    snapshot["lines"][0]["quantity"] = 3.into();
    let old: Order = serde_json::from_value(snapshot).unwrap();
    assert_eq!(old, order);
}

#[test]
fn event_summaries_read_as_one_sentence_each() {
    let facts = Facts::new(&[("A", "east", 5), ("B", "east", 5)]);
    let past = placed(vec![line("A", 2, 1500), line("B", 1, 1000)], &facts);
    assert_eq!(past[0].kind(), "order_placed");
    assert_eq!(
        past[0].summary(None),
        "Order WEB-1042 placed on web by ana@example.com: 3 units in 2 lines, total USD 45.00"
    );
    assert_eq!(past[1].kind(), "order_sourced");
    assert_eq!(
        past[1].summary(given(&past[..1]).as_ref()),
        "Reserved 3 units at east (one location serves the whole order)"
    );

    let cancelled = when(
        given(&past).as_ref(),
        cancel(CancelReason::CustomerRequest, Some("changed my mind")),
        None,
    )
    .unwrap();
    assert_eq!(cancelled[0].kind(), "order_cancelled");
    assert_eq!(
        cancelled[0].summary(given(&past).as_ref()),
        "Order cancelled (customer_request); released 3 units to stock: changed my mind"
    );
}

#[test]
fn event_summaries_of_one_unit_splits_backorders_and_empty_releases() {
    let facts = Facts::new(&[("A", "east", 1), ("B", "west", 1)]).with_backorders();
    let mut cmd = place_order(vec![line("A", 1, 999), line("B", 3, 1)]);
    cmd.shipping_amount = 0;
    let past = when(None, OrderCommand::Place(Box::new(cmd)), Some(&facts.ctx())).unwrap();
    assert_eq!(
        past[0].summary(None),
        "Order WEB-1042 placed on web by ana@example.com: 4 units in 2 lines, total USD 10.02"
    );
    assert_eq!(
        past[1].summary(given(&past[..1]).as_ref()),
        "Reserved 2 units at east, west (no single location had everything); \
         backordered 2 units of B"
    );

    let single = place(vec![line("A", 1, 5)]);
    let one = when(None, single, Some(&Facts::new(&[]).with_backorders().ctx())).unwrap();
    assert_eq!(
        one[0].summary(None),
        "Order WEB-1042 placed on web by ana@example.com: 1 unit in 1 line, total USD 5.05"
    );
    assert_eq!(
        one[1].summary(given(&one[..1]).as_ref()),
        "Nothing reserved (no location had stock); backordered 1 unit of A"
    );
    let cancelled = when(
        given(&one).as_ref(),
        cancel(CancelReason::OutOfStock, None),
        None,
    )
    .unwrap();
    assert_eq!(
        cancelled[0].summary(given(&one).as_ref()),
        "Order cancelled (out_of_stock)"
    );
}

#[test]
fn a_fresh_order_awaits_payment_and_is_unfulfilled() {
    let facts = Facts::new(&[("A", "east", 5)]);
    let order = given(&placed(vec![line("A", 2, 1000)], &facts)).unwrap();
    assert_eq!(order.customer_status(), CustomerStatus::PendingPayment);
    assert_eq!(order.fulfillment_summary(), FulfillmentSummary::Unfulfilled);
    assert_eq!(order.return_summary(), ReturnSummary::None);
    assert_eq!(order.payment_state(), PaymentState::Unpaid);
    assert_eq!(order.customer_status().as_str(), "pending_payment");
}

#[test]
fn a_cancelled_order_reads_cancelled() {
    let facts = Facts::new(&[("A", "east", 5)]).with_backorders();
    let mut past = placed(vec![line("A", 7, 1000)], &facts);
    past.extend(
        when(
            given(&past).as_ref(),
            cancel(CancelReason::PaymentTimeout, None),
            None,
        )
        .unwrap(),
    );
    let order = given(&past).unwrap();
    assert_eq!(order.customer_status(), CustomerStatus::Cancelled);
    assert_eq!(order.fulfillment_summary(), FulfillmentSummary::Cancelled);
    assert_eq!(order.return_summary(), ReturnSummary::None);
    assert_eq!(order.payment_state(), PaymentState::Unpaid);
}

#[test]
fn derived_status_names_parse_back() {
    for s in CustomerStatus::ALL {
        assert_eq!(CustomerStatus::parse(s.as_str()), Some(*s));
    }
    for s in FulfillmentSummary::ALL {
        assert_eq!(FulfillmentSummary::parse(s.as_str()), Some(*s));
    }
    for s in ReturnSummary::ALL {
        assert_eq!(ReturnSummary::parse(s.as_str()), Some(*s));
    }
    assert_eq!(CustomerStatus::parse("nonsense"), None);
}

#[test]
fn the_order_machine_allows_only_the_documented_moves() {
    use OrderState::*;
    let all = [Pending, Confirmed, Completed, Cancelled];
    let allowed = [
        (Pending, Confirmed),
        (Confirmed, Completed),
        (Pending, Cancelled),
        (Confirmed, Cancelled),
    ];
    for from in all {
        for to in all {
            assert_eq!(
                from.can_transition_to(to),
                allowed.contains(&(from, to)),
                "{} -> {}",
                from.as_str(),
                to.as_str()
            );
        }
    }
    for terminal in [Completed, Cancelled] {
        assert!(
            all.iter().all(|&to| !terminal.can_transition_to(to)),
            "{} is terminal",
            terminal.as_str()
        );
    }
}

// ---------------------------------------------------------------------------------------
// Property tests
// ---------------------------------------------------------------------------------------

mod properties {
    use super::*;
    use proptest::collection::vec;
    use proptest::prelude::*;
    use proptest::strategy::Strategy;
    use std::collections::{BTreeMap, BTreeSet};

    const SKUS: [&str; 3] = ["A", "B", "C"];
    /// (id, latitude, longitude, priority)
    const LOCATIONS: [(&str, f64, f64, u32); 3] = [
        ("east", 40.7, -74.0, 2),
        ("west", 34.0, -118.2, 1),
        ("store", 30.27, -97.74, 0),
    ];
    const SHIP_TO: [LatLon; 2] = [
        BOSTON,
        LatLon {
            latitude: 30.27,
            longitude: -97.74,
        },
    ];
    const LIMITS: Limits = Limits {
        max_lines_per_order: 4,
        max_quantity_per_line: 5,
    };

    #[derive(Debug, Clone)]
    enum Step {
        Place {
            /// (sku index, quantity); may break the limits on purpose.
            lines: Vec<(usize, u32)>,
            /// Available units per (sku, location), row-major over SKUS × LOCATIONS.
            stock: Vec<u32>,
            can_ship: Vec<bool>,
            ship_to: Option<usize>,
            allow_backorders: bool,
        },
        Cancel {
            reason: CancelReason,
            note: Option<String>,
            with_facts: bool,
        },
    }

    fn reason() -> impl Strategy<Value = CancelReason> {
        prop::sample::select(vec![
            CancelReason::CustomerRequest,
            CancelReason::OutOfStock,
            CancelReason::Fraud,
            CancelReason::PaymentTimeout,
            CancelReason::Duplicate,
            CancelReason::Other,
        ])
    }

    fn step() -> impl Strategy<Value = Step> {
        let quantity = prop_oneof![10 => 1u32..=5, 1 => Just(0u32), 1 => Just(6u32)];
        let lines = prop_oneof![
            10 => vec((0..SKUS.len(), quantity.clone()), 1..=4),
            1 => vec((0..SKUS.len(), quantity), 0..=6),
        ];
        let place = (
            lines,
            vec(0u32..=8, SKUS.len() * LOCATIONS.len()),
            vec(prop::bool::weighted(0.8), LOCATIONS.len()),
            prop::option::of(0..SHIP_TO.len()),
            any::<bool>(),
        )
            .prop_map(
                |(lines, stock, can_ship, ship_to, allow_backorders)| Step::Place {
                    lines,
                    stock,
                    can_ship,
                    ship_to,
                    allow_backorders,
                },
            );
        let cancel = (reason(), prop::option::of("[a-z ]{0,12}"), any::<bool>()).prop_map(
            |(reason, note, with_facts)| Step::Cancel {
                reason,
                note,
                with_facts,
            },
        );
        prop_oneof![3 => place, 2 => cancel]
    }

    /// The facts a step is decided against (a cancel gets empty facts when it has any).
    struct StepFacts {
        locations: Vec<LocationFacts>,
        stock: StockView,
        /// The same stock as a map, to check reservations against.
        units: BTreeMap<(Sku, Id), u32>,
        ship_to: Option<LatLon>,
        allow_backorders: bool,
        risk: crate::payment::RiskPolicy,
    }

    impl StepFacts {
        fn of(step: &Step) -> StepFacts {
            let (stock_units, can_ship, ship_to, allow_backorders) = match step {
                Step::Place {
                    stock,
                    can_ship,
                    ship_to,
                    allow_backorders,
                    ..
                } => (stock.clone(), can_ship.clone(), *ship_to, *allow_backorders),
                Step::Cancel { .. } => (vec![0; 9], vec![true; 3], None, false),
            };
            let locations: Vec<LocationFacts> = LOCATIONS
                .iter()
                .zip(&can_ship)
                .map(|(&(id, lat, lon, priority), &can)| LocationFacts {
                    can_ship: can,
                    can_pickup: false,
                    ..location(id, lat, lon, priority)
                })
                .collect();
            let mut stock = StockView::default();
            let mut units = BTreeMap::new();
            for (i, s) in SKUS.iter().enumerate() {
                for (j, (l, ..)) in LOCATIONS.iter().enumerate() {
                    let n = stock_units[i * LOCATIONS.len() + j];
                    stock.set(sku(s), Id::new(*l), n);
                    units.insert((sku(s), Id::new(*l)), n);
                }
            }
            StepFacts {
                locations,
                stock,
                units,
                ship_to: ship_to.map(|i| SHIP_TO[i]),
                allow_backorders,
                risk: crate::payment::RiskPolicy::default(),
            }
        }

        fn ctx(&self) -> PlaceContext<'_> {
            PlaceContext {
                sourcing: SourcingContext {
                    locations: &self.locations,
                    stock: &self.stock,
                    ship_to: self.ship_to,
                    allow_backorders: self.allow_backorders,
                    policy: Default::default(),
                },
                limits: LIMITS,
                risk: &self.risk,
                recent_orders_same_email: 0,
                recent_orders_same_card: 0,
                payment_due_at: None,
                reserve_at_payment: false,
                prices: crate::order::PriceRules::trusting(),
            }
        }

        /// Units of `s` that locations able to ship hold, in total.
        fn supply(&self, s: &Sku) -> u32 {
            self.locations
                .iter()
                .filter(|l| l.can_ship)
                .map(|l| self.units[&(s.clone(), l.id.clone())])
                .sum()
        }
    }

    fn command(step: &Step) -> OrderCommand {
        match step {
            Step::Place { lines, .. } => place(
                lines
                    .iter()
                    .map(|&(i, q)| line(SKUS[i], q, 100 * (i as i64 + 1)))
                    .collect(),
            ),
            Step::Cancel { reason, note, .. } => OrderCommand::Cancel(CancelOrder {
                reason: *reason,
                note: note.clone(),
                refund_id: Id::new("ref_cancel"),
            }),
        }
    }

    fn demand_per_sku(lines: &[(usize, u32)]) -> BTreeMap<Sku, u32> {
        let mut out = BTreeMap::new();
        for &(i, q) in lines {
            *out.entry(sku(SKUS[i])).or_default() += q;
        }
        out
    }

    /// What a run left behind: the incrementally built state and the whole stream.
    struct Run {
        state: Option<Order>,
        stream: Vec<(OrderEvent, Timestamp)>,
    }

    /// Decides and folds every step in turn, checking after each one that the outcome is
    /// the right one for the state it met and that the order stays internally sound.
    fn run(steps: &[Step]) -> Result<Run, TestCaseError> {
        let mut state: Option<Order> = None;
        let mut stream: Vec<(OrderEvent, Timestamp)> = Vec::new();
        for (n, step) in (1i64..).zip(steps) {
            let facts = StepFacts::of(step);
            let ctx = facts.ctx();
            let pass_ctx = match step {
                Step::Place { .. } => true,
                Step::Cancel { with_facts, .. } => *with_facts,
            };
            let result = decide(state.as_ref(), command(step), pass_ctx.then_some(&ctx));
            let before = state.clone();

            match (&before, step, &result) {
                (Some(_), Step::Place { .. }, r) => {
                    prop_assert_eq!(r, &Err(OrderError::AlreadyExists));
                }
                (None, Step::Cancel { .. }, r) => {
                    prop_assert_eq!(r, &Err(OrderError::NotFound));
                }
                (Some(o), Step::Cancel { .. }, r) if o.state == OrderState::Cancelled => {
                    prop_assert_eq!(
                        r,
                        &Err(OrderError::IllegalTransition {
                            from: OrderState::Cancelled,
                            to: OrderState::Cancelled,
                        })
                    );
                }
                (Some(o), Step::Cancel { reason, .. }, r) => {
                    let events = r.as_ref().map_err(|e| {
                        TestCaseError::fail(format!("cancelling a pending order failed: {e:?}"))
                    })?;
                    let [OrderEvent::OrderCancelled(c)] = events.as_slice() else {
                        return Err(TestCaseError::fail(format!("cancel gave {events:?}")));
                    };
                    prop_assert_eq!(c.reason, *reason);
                    prop_assert_eq!(&c.released, &o.reservations);
                    let awaited: u32 = o.lines.iter().map(|l| l.buckets.backordered).sum();
                    let dropped: u32 = c.backorders_cancelled.iter().map(|b| b.quantity).sum();
                    prop_assert_eq!(dropped, awaited);
                }
                (
                    None,
                    Step::Place {
                        lines,
                        allow_backorders,
                        ..
                    },
                    r,
                ) => {
                    let valid = (1..=4).contains(&lines.len())
                        && lines.iter().all(|&(_, q)| (1..=5).contains(&q));
                    let demand = demand_per_sku(lines);
                    let short: Vec<Sku> = demand
                        .iter()
                        .filter(|&(s, &d)| d > facts.supply(s))
                        .map(|(s, _)| s.clone())
                        .collect();
                    match r {
                        Err(OrderError::Invalid(issues)) => {
                            prop_assert!(!valid, "valid command refused: {issues:?}");
                            prop_assert!(!issues.is_empty());
                        }
                        Err(OrderError::OutOfStock { skus, lines: bad }) => {
                            prop_assert!(valid);
                            prop_assert!(!allow_backorders, "out of stock with backorders on");
                            prop_assert_eq!(skus, &short);
                            prop_assert!(!bad.is_empty());
                        }
                        Err(e) => {
                            return Err(TestCaseError::fail(format!("placing gave {e:?}")));
                        }
                        Ok(events) => {
                            prop_assert!(valid, "invalid command accepted");
                            prop_assert!(*allow_backorders || short.is_empty());
                            let s = sourced(events);
                            // Greedy sourcing backorders exactly what the shipping locations lack.
                            let mut backordered: BTreeMap<Sku, u32> = BTreeMap::new();
                            for b in &s.backorders {
                                *backordered.entry(b.sku.clone()).or_default() += b.quantity;
                            }
                            let expected: BTreeMap<Sku, u32> = demand
                                .iter()
                                .filter(|&(s, &d)| d > facts.supply(s))
                                .map(|(s, &d)| (s.clone(), d - facts.supply(s)))
                                .collect();
                            prop_assert_eq!(backordered, expected);
                            // One location is used whenever one can serve everything.
                            let one_can = facts.locations.iter().any(|l| {
                                l.can_ship
                                    && demand
                                        .iter()
                                        .all(|(s, &d)| facts.units[&(s.clone(), l.id.clone())] >= d)
                            });
                            prop_assert_eq!(
                                s.rationale.strategy == crate::sourcing::Strategy::SingleLocation,
                                one_can
                            );
                            let at_locations: BTreeSet<&Id> =
                                s.reservations.iter().map(|r| &r.location_id).collect();
                            if one_can {
                                prop_assert_eq!(at_locations.len(), 1);
                            }
                        }
                    }
                }
            }

            if let Ok(events) = result {
                prop_assert!(!events.is_empty());
                let at = at(n);
                for event in events {
                    let version = stream.len() as u64 + 1;
                    let next = evolve(state.take(), &event, at, version).map_err(|e| {
                        TestCaseError::fail(format!("decide produced an unfoldable event: {e}"))
                    })?;
                    state = Some(next);
                    stream.push((event, at));
                }
            }
            prop_assert_eq!(state.as_ref().map_or(0, |o| o.version), stream.len() as u64);
            if let Some(order) = &state {
                prop_assert_eq!(order.violations(), Vec::<String>::new());
                // Reservations never exceed what the deciding facts said was available,
                // and only locations that ship hold them.
                if matches!(step, Step::Place { .. }) && before.is_none() {
                    let mut reserved: BTreeMap<(Sku, Id), u32> = BTreeMap::new();
                    for r in &order.reservations {
                        prop_assert!(r.quantity > 0, "empty reservation {r:?}");
                        *reserved
                            .entry((r.sku.clone(), r.location_id.clone()))
                            .or_default() += r.quantity;
                        let ships = facts
                            .locations
                            .iter()
                            .any(|l| l.id == r.location_id && l.can_ship);
                        prop_assert!(ships, "reserved at a location that cannot ship: {r:?}");
                    }
                    for (key, n) in reserved {
                        let have = facts.units.get(&key).copied().unwrap_or(0);
                        prop_assert!(n <= have, "{key:?}: reserved {n} of {have}");
                    }
                    if !facts.allow_backorders {
                        prop_assert!(order.lines.iter().all(|l| l.buckets.backordered == 0));
                    }
                }
                match order.state {
                    OrderState::Cancelled => {
                        prop_assert!(order.reservations.is_empty());
                        prop_assert_eq!(order.customer_status(), CustomerStatus::Cancelled);
                        prop_assert!(
                            order
                                .lines
                                .iter()
                                .all(|l| l.buckets.cancelled == l.buckets.ordered)
                        );
                    }
                    _ => {
                        prop_assert_eq!(order.customer_status(), CustomerStatus::PendingPayment);
                        prop_assert!(order.lines.iter().all(|l| l.buckets.cancelled == 0));
                    }
                }
            }
        }
        Ok(Run { state, stream })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn random_command_sequences_keep_every_invariant(steps in vec(step(), 1..=6)) {
            run(&steps)?;
        }

        #[test]
        fn replay_and_serde_reproduce_the_incremental_state(steps in vec(step(), 1..=6)) {
            let Run { state, stream } = run(&steps)?;

            let replayed = replay(stream.iter().map(|(e, at)| (e, *at)));
            prop_assert_eq!(&replayed, &Ok(state.clone()));

            let mut decoded = Vec::with_capacity(stream.len());
            for (event, at) in &stream {
                let json = serde_json::to_string(event)
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                let back: OrderEvent = serde_json::from_str(&json)
                    .map_err(|e| TestCaseError::fail(format!("{e}: {json}")))?;
                prop_assert_eq!(&back, event);
                prop_assert_eq!(back.kind(), event.kind());
                decoded.push((back, *at));
            }
            let from_json = replay(decoded.iter().map(|(e, at)| (e, *at)));
            prop_assert_eq!(&from_json, &Ok(state.clone()));

            // The snapshot itself survives the trip too.
            if let Some(order) = &state {
                let json = serde_json::to_string(order)
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                let back: Order = serde_json::from_str(&json)
                    .map_err(|e| TestCaseError::fail(format!("{e}: {json}")))?;
                prop_assert_eq!(&back, order);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Click and collect
// ---------------------------------------------------------------------------------------

/// A placement for pickup at `at`, with `west` taking collections (and shipping nowhere
/// by carrier: its counter hands the parcel over).
fn pickup_at(
    at: &str,
    lines: Vec<NewLine>,
    facts: &mut Facts,
) -> Result<Vec<OrderEvent>, OrderError> {
    for l in &mut facts.locations {
        if l.id.as_str() == "west" {
            l.can_pickup = true;
            l.can_ship = false;
        }
    }
    let mut cmd = place_order(lines);
    cmd.delivery = Some(super::Delivery {
        service: None,
        deliver_by: None,
        pickup_location: Some(Id::new(at)),
    });
    when(None, OrderCommand::Place(Box::new(cmd)), Some(&facts.ctx()))
}

#[test]
fn a_pickup_order_is_sourced_at_its_counter_only() {
    let mut facts = Facts::new(&[("A", "east", 10), ("A", "west", 2)]).with_backorders();
    let events = pickup_at("west", vec![line("A", 3, 1000)], &mut facts).unwrap();
    let s = sourced(&events);
    assert_eq!(s.reservations, vec![reservation(1, "A", "west", 2)]);
    assert_eq!(
        s.backorders,
        vec![shortfall(1, "A", 1)],
        "east's stock is not used"
    );
    let candidates: Vec<&str> = s
        .rationale
        .candidates
        .iter()
        .map(|c| c.location_id.as_str())
        .collect();
    assert_eq!(candidates, ["west"]);

    // Stock arriving elsewhere does not fill its backorder; stock at the counter does.
    let order = then_state(&[], &events);
    let fill = |location: &LocationFacts| OrderCommand::FillBackorder {
        sku: sku("A"),
        location: location.clone(),
        available: 5,
    };
    assert_eq!(when(Some(&order), fill(&east()), None).unwrap(), vec![]);
    let filled = when(Some(&order), fill(&facts.locations[1]), None).unwrap();
    assert_eq!(filled.len(), 1);
    let after = then_state(&events, &filled);
    assert_eq!(after.lines[0].buckets.backordered, 0);
    assert_eq!(after.violations(), Vec::<String>::new());
}

#[test]
fn received_stock_fills_a_backorder_only_where_it_can_ship_to_the_customer() {
    let facts = Facts::new(&[]).with_backorders();
    let events = placed(vec![line("A", 2, 1000)], &facts);
    let order = then_state(&[], &events);
    assert_eq!(order.lines[0].buckets.backordered, 2);
    let fill = |location: LocationFacts| OrderCommand::FillBackorder {
        sku: sku("A"),
        location,
        available: 5,
    };
    let mut canada_only = east();
    canada_only.ships_to = vec!["CA".into()];
    let mut no_shipping = east();
    no_shipping.can_ship = false;
    for elsewhere in [canada_only, no_shipping] {
        assert_eq!(when(Some(&order), fill(elsewhere), None).unwrap(), vec![]);
    }
    let filled = when(Some(&order), fill(west()), None).unwrap();
    assert_eq!(then_state(&events, &filled).lines[0].buckets.backordered, 0);
}

#[test]
fn pickup_is_refused_where_no_counter_takes_collections() {
    let mut facts = Facts::new(&[("A", "east", 10)]);
    assert_eq!(
        issues(pickup_at("east", vec![line("A", 1, 1000)], &mut facts)),
        vec![("delivery.pickup_location".to_owned(), "pickup_not_offered")]
    );
    assert_eq!(
        issues(pickup_at("mars", vec![line("A", 1, 1000)], &mut facts)),
        vec![("delivery.pickup_location".to_owned(), "pickup_not_offered")]
    );
}
