//! Given / when / then tests for `reactions`: given the events of an order, when the
//! rules are asked at some time, then these follow-ups (and no others) are due.

use super::*;
use crate::Timestamp;
use crate::payment::{CaptureMode, OpOutcome, PaymentMethod, STORE_CREDIT_PROVIDER};
use crate::sourcing::StockView;
use crate::values::{CountryCode, Currency, Email, Id, Sku};
use jiff::SignedDuration;

/// One unit of A at 1.00 (and one of B when asked), no shipping.
const PRICE: i64 = 100;

fn at(n: i64) -> Timestamp {
    Timestamp::from_second(1_700_000_000 + n).unwrap()
}

fn sku(s: &str) -> Sku {
    Sku::parse(s).unwrap()
}

fn address() -> Address {
    Address {
        name: "Ana Lima".into(),
        line1: "1 Main St".into(),
        line2: None,
        city: "Boston".into(),
        region: None,
        postal_code: "02108".into(),
        country: CountryCode::parse("US").unwrap(),
    }
}

fn payment(method: PaymentMethod, provider: &str) -> NewPayment {
    NewPayment {
        id: Id::new("pay_1"),
        method,
        provider: provider.into(),
        fingerprint: None,
        last4: None,
    }
}

fn card() -> NewPayment {
    payment(PaymentMethod::Card, "simulator")
}

fn store_credit() -> NewPayment {
    payment(PaymentMethod::StoreCredit, STORE_CREDIT_PROVIDER)
}

/// An order stream built by deciding commands one after the other, each recorded one
/// second after the last.
struct Story {
    events: Vec<OrderEvent>,
}

impl Story {
    /// `ord_1` with a line per SKU, paid with `payment`; stock is reserved at placement
    /// unless the channel reserves at payment.
    fn placed(skus: &[&str], payment: NewPayment, reserve_at_payment: bool) -> Story {
        let mut stock = StockView::default();
        for s in skus {
            stock.set(sku(s), Id::new("east"), 10);
        }
        // The one warehouse the shared story ships from.
        let locations = super::test_story::Facts::new().locations;
        let risk = crate::payment::RiskPolicy::default();
        let ctx = PlaceContext {
            sourcing: SourcingContext {
                locations: &locations,
                stock: &stock,
                ship_to: None,
                allow_backorders: false,
                policy: Default::default(),
            },
            limits: Limits {
                max_lines_per_order: 5,
                max_quantity_per_line: 100,
            },
            risk: &risk,
            recent_orders_same_email: 0,
            recent_orders_same_card: 0,
            payment_due_at: None,
            reserve_at_payment,
            prices: crate::order::PriceRules::trusting(),
        };
        let cmd = PlaceOrder {
            id: Id::new("ord_1"),
            number: "WEB-1".into(),
            channel: Id::new("web"),
            external_id: None,
            currency: Currency::parse("USD").unwrap(),
            customer: Customer {
                email: Email::parse("ana@example.com").unwrap(),
                name: None,
                phone: None,
            },
            shipping_address: address(),
            billing_address: address(),
            lines: skus
                .iter()
                .map(|s| NewLine {
                    sku: sku(s),
                    name: format!("Product {s}"),
                    quantity: 1,
                    unit_price: PRICE,
                })
                .collect(),
            shipping_amount: 0,
            tax_amount: 0,
            discount_amount: 0,
            declared_total: None,
            payment: Some(payment),
            delivery: None,
        };
        let events =
            decide(None, OrderCommand::Place(Box::new(cmd)), Some(&ctx)).expect("placing succeeds");
        Story { events }
    }

    /// A card order with stock reserved at placement, authorized (capture on shipment),
    /// so confirmed with its fulfillment order pending.
    fn confirmed() -> Story {
        Story::placed(&["A"], card(), false).and(answered("pay_1.auth1", CaptureMode::OnShipment))
    }

    fn order(&self) -> Order {
        replay(self.events.iter().zip(1..).map(|(e, n)| (e, at(n))))
            .expect("the events fold")
            .expect("a stream with events has a state")
    }

    fn and(mut self, command: OrderCommand) -> Story {
        let events = decide(Some(&self.order()), command.clone(), None)
            .unwrap_or_else(|e| panic!("{command:?} was refused: {e:?}"));
        self.events.extend(events);
        self
    }

    /// When the rules are asked at `now`, with an edit window of `delay_minutes`.
    fn reactions_at(&self, now: Timestamp, delay_minutes: i64) -> Vec<Reaction> {
        let policy = ReactionPolicy {
            release_delay: SignedDuration::from_mins(delay_minutes),
        };
        reactions(&self.order(), &policy, now)
    }

    /// When the order was confirmed.
    fn confirmed_at(&self) -> Timestamp {
        self.order().confirmed_at.expect("the order is confirmed")
    }
}

fn answered(op: &str, capture: CaptureMode) -> OrderCommand {
    OrderCommand::RecordOutcome {
        op_id: Id::new(op),
        outcome: OpOutcome::Succeeded {
            provider_reference: Some("prov_ok".into()),
            authorization_expires_at: None,
        },
        capture,
    }
}

fn minutes(t: Timestamp, n: i64) -> Timestamp {
    t.saturating_add(SignedDuration::from_mins(n)).unwrap()
}

fn settle(op: &str, redeem_minor: Option<i64>) -> Reaction {
    Reaction::SettleStoreCredit {
        op_id: Id::new(op),
        redeem_minor,
    }
}

// Release and its window -------------------------------------------------------------------

#[test]
fn a_confirmed_order_is_released_once_its_edit_window_has_passed() {
    let story = Story::confirmed();
    let confirmed = story.confirmed_at();
    assert_eq!(
        story.reactions_at(minutes(confirmed, 30), 30),
        [Reaction::Release]
    );
    assert_eq!(
        story.reactions_at(minutes(confirmed, 90), 30),
        [Reaction::Release]
    );
}

#[test]
fn without_an_edit_window_the_order_is_released_at_confirmation() {
    let story = Story::confirmed();
    assert_eq!(
        story.reactions_at(story.confirmed_at(), 0),
        [Reaction::Release]
    );
}

#[test]
fn the_release_timer_is_scheduled_only_at_confirmation_time() {
    let story = Story::confirmed();
    let confirmed = story.confirmed_at();
    assert_eq!(
        story.reactions_at(confirmed, 30),
        [Reaction::ScheduleRelease {
            due: minutes(confirmed, 30)
        }]
    );
    // Any later command inside the window leaves the timer it already has.
    let later = confirmed
        .saturating_add(SignedDuration::from_secs(1))
        .unwrap();
    assert_eq!(story.reactions_at(later, 30), []);
    assert_eq!(story.reactions_at(minutes(confirmed, 29), 30), []);
}

#[test]
fn a_hold_blocks_release_but_not_the_timer_scheduled_at_confirmation() {
    let story = Story::confirmed().and(OrderCommand::PlaceHold(HoldChange {
        reason: HoldReason::Manual,
        note: None,
    }));
    let confirmed = story.confirmed_at();
    assert_eq!(story.reactions_at(minutes(confirmed, 30), 30), []);
    // The hold may be lifted inside the window: the timer is there to release then.
    assert_eq!(
        story.reactions_at(confirmed, 30),
        [Reaction::ScheduleRelease {
            due: minutes(confirmed, 30)
        }]
    );
    let lifted = story.and(OrderCommand::ReleaseHold {
        hold: HoldChange {
            reason: HoldReason::Manual,
            note: None,
        },
        capture: CaptureMode::OnShipment,
    });
    assert_eq!(
        lifted.reactions_at(minutes(confirmed, 30), 30),
        [Reaction::Release]
    );
}

#[test]
fn a_capture_in_flight_blocks_release() {
    let story = Story::confirmed().and(OrderCommand::Capture { amount_minor: None });
    let confirmed = story.confirmed_at();
    assert_eq!(story.reactions_at(minutes(confirmed, 30), 30), []);
    let captured = story.and(answered("pay_1.cap2", CaptureMode::OnShipment));
    assert_eq!(
        captured.reactions_at(minutes(confirmed, 30), 30),
        [Reaction::Release]
    );
}

#[test]
fn an_unpaid_order_is_neither_sourced_nor_released() {
    let reserved = Story::placed(&["A"], card(), false);
    assert_eq!(reserved.reactions_at(at(3600), 0), []);
    let waiting = Story::placed(&["A"], card(), true);
    assert_eq!(waiting.reactions_at(at(3600), 0), []);
}

#[test]
fn a_released_order_needs_nothing_more() {
    let story = Story::confirmed().and(OrderCommand::Release {
        fulfillment_id: None,
    });
    assert!(!story.order().pending_fulfillment());
    assert_eq!(story.reactions_at(story.confirmed_at(), 0), []);
}

// Sourcing ---------------------------------------------------------------------------------

#[test]
fn a_confirmed_order_with_units_waiting_is_sourced_before_any_release() {
    let story = Story::placed(&["B", "A", "B"], card(), true)
        .and(answered("pay_1.auth1", CaptureMode::OnShipment));
    let confirmed = story.confirmed_at();
    let source = [Reaction::SourceWaiting {
        skus: vec![sku("A"), sku("B")],
    }];
    assert_eq!(story.reactions_at(confirmed, 30), source);
    assert_eq!(story.reactions_at(minutes(confirmed, 60), 30), source);
}

// Store credit -----------------------------------------------------------------------------

#[test]
fn a_store_credit_authorization_redeems_the_balance_before_anything_else() {
    let story = Story::placed(&["A"], store_credit(), false);
    assert_eq!(
        story.reactions_at(at(60), 0),
        [settle("pay_1.auth1", Some(PRICE))]
    );
    // Authorized with capture on authorization: the order is confirmed and could be
    // released, but the capture it asked for is answered first.
    let authorized = story.and(answered("pay_1.auth1", CaptureMode::OnAuthorization));
    let confirmed = authorized.confirmed_at();
    assert_eq!(
        authorized.reactions_at(confirmed, 0),
        [settle("pay_1.cap2", None)]
    );
    let captured = authorized.and(answered("pay_1.cap2", CaptureMode::OnAuthorization));
    assert_eq!(captured.reactions_at(confirmed, 0), [Reaction::Release]);
}

#[test]
fn an_operation_a_provider_answers_is_not_settled_here() {
    let story = Story::placed(&["A"], card(), false);
    assert!(story.order().authorization_pending());
    assert_eq!(story.reactions_at(at(60), 0), []);
}

#[test]
fn a_redemption_goes_through_only_when_the_balance_covers_it() {
    assert_eq!(store_credit_redemption(100, 100), store_credit_settled());
    assert_eq!(store_credit_redemption(100, 250), store_credit_settled());
    assert_eq!(
        store_credit_redemption(100, 99),
        OpOutcome::Failed {
            code: "insufficient_store_credit".into(),
            message: "store credit balance 99 is less than 100".into(),
        }
    );
}

// Cancelled orders -------------------------------------------------------------------------

fn cancel() -> OrderCommand {
    OrderCommand::Cancel(CancelOrder {
        reason: CancelReason::CustomerRequest,
        note: None,
        refund_id: Id::new("ref_cancel"),
    })
}

#[test]
fn nothing_is_sourced_or_released_for_a_cancelled_order() {
    let story = Story::confirmed().and(cancel());
    let confirmed = story.confirmed_at();
    // The void of the card's authorization is the provider's to answer.
    assert_eq!(story.reactions_at(confirmed, 0), []);
    assert_eq!(story.reactions_at(minutes(confirmed, 60), 30), []);
    let waiting = Story::placed(&["A"], card(), true)
        .and(answered("pay_1.auth1", CaptureMode::OnShipment))
        .and(cancel());
    assert_eq!(waiting.reactions_at(minutes(confirmed, 60), 0), []);
}

#[test]
fn a_cancelled_order_still_has_its_store_credit_given_back() {
    let story = Story::placed(&["A"], store_credit(), false)
        .and(answered("pay_1.auth1", CaptureMode::OnShipment))
        .and(cancel());
    assert_eq!(story.order().state, OrderState::Cancelled);
    assert_eq!(story.reactions_at(at(60), 0), [settle("pay_1.void2", None)]);
}
