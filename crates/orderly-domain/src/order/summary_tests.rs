//! Given these events, then this timeline sentence: each summary that needs the order as
//! it stood before its event (short picks, re-sourcing, money) read as a person would
//! write it.

use super::*;
use crate::Timestamp;
use crate::sourcing::{Rationale, Shortfall, Strategy};
use crate::values::{Currency, Email, Id, Sku};

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
        country: crate::values::CountryCode::parse("US").unwrap(),
    }
}

/// `WEB-1042` in `currency`: 3 units of TEE-BLK-M at 15.00 (line 1), 1 MUG (line 2).
fn placed(currency: &str) -> OrderEvent {
    let line = |line_no, sku: &str, quantity| PlacedLine {
        line_no,
        sku: Sku::parse(sku).unwrap(),
        name: sku.into(),
        quantity,
        unit_price: 1500,
    };
    OrderEvent::OrderPlaced(Box::new(OrderPlaced {
        id: Id::new("ord_1"),
        number: "WEB-1042".into(),
        channel: Id::new("web"),
        external_id: None,
        currency: Currency::parse(currency).unwrap(),
        customer: Customer {
            email: Email::parse("ana@example.com").unwrap(),
            name: None,
            phone: None,
        },
        shipping_address: address(),
        billing_address: address(),
        lines: vec![line(1, "TEE-BLK-M", 3), line(2, "MUG", 1)],
        shipping_amount: 0,
        tax_amount: 0,
        discount_amount: 0,
        delivery: None,
    }))
}

fn reserve(line_no: u32, sku: &str, location: &str, quantity: u32) -> Reservation {
    Reservation {
        line_no,
        sku: Sku::parse(sku).unwrap(),
        location_id: Id::new(location),
        quantity,
    }
}

fn sourced(reservations: Vec<Reservation>, backorders: Vec<Shortfall>) -> OrderEvent {
    let strategy = if reservations.is_empty() {
        Strategy::NoStock
    } else {
        Strategy::SingleLocation
    };
    OrderEvent::OrderSourced(OrderSourced {
        reservations,
        backorders,
        rationale: Rationale {
            strategy,
            candidates: Vec::new(),
            policy: None,
        },
    })
}

/// Placed, sourced at wh-east (`ful_1_1`), confirmed and released.
fn released() -> Vec<OrderEvent> {
    vec![
        placed("USD"),
        sourced(
            vec![
                reserve(1, "TEE-BLK-M", "wh-east", 3),
                reserve(2, "MUG", "wh-east", 1),
            ],
            Vec::new(),
        ),
        OrderEvent::OrderConfirmed {
            reason: "paid".into(),
        },
        OrderEvent::FulfillmentReleased(super::event::FulfillmentReleased {
            fulfillment_id: Id::new("ful_1_1"),
        }),
    ]
}

/// Given `past`, the summary of `event`.
fn then_summary(past: &[OrderEvent], event: &OrderEvent) -> String {
    let before = replay(past.iter().zip(1..).map(|(e, n)| (e, at(n)))).expect("the past folds");
    event.summary(before.as_ref())
}

fn picked(picks: &[(u32, u32, u32)]) -> OrderEvent {
    OrderEvent::PickConfirmed(super::event::PickConfirmed {
        fulfillment_id: Id::new("ful_1_1"),
        lines: picks
            .iter()
            .map(|&(line_no, picked, short)| super::event::PickedLine {
                line_no,
                picked,
                short,
            })
            .collect(),
    })
}

fn rejected() -> OrderEvent {
    OrderEvent::FulfillmentRejected(super::event::FulfillmentRejected {
        fulfillment_id: Id::new("ful_1_1"),
        reason: "short staffed".into(),
    })
}

#[test]
fn a_full_pick_says_how_many_units_were_picked() {
    let event = picked(&[(1, 3, 0), (2, 1, 0)]);
    assert_eq!(
        then_summary(&released(), &event),
        "Picked 4 units for fulfillment order ful_1_1"
    );
}

#[test]
fn a_short_pick_says_what_was_expected_and_which_units_are_missing() {
    let event = picked(&[(1, 2, 1), (2, 1, 0)]);
    assert_eq!(
        then_summary(&released(), &event),
        "Picked 3 of 4 units for fulfillment order ful_1_1; 1 unit of TEE-BLK-M missing"
    );
    let both = picked(&[(1, 1, 2), (2, 0, 1)]);
    assert_eq!(
        then_summary(&released(), &both),
        "Picked 1 of 4 units for fulfillment order ful_1_1; 2 units of TEE-BLK-M and 1 unit \
         of MUG missing"
    );
}

#[test]
fn a_re_source_after_a_short_pick_says_what_it_re_sourced_and_why() {
    let mut past = released();
    past.push(picked(&[(1, 2, 1), (2, 1, 0)]));
    let elsewhere = sourced(vec![reserve(1, "TEE-BLK-M", "wh-west", 1)], Vec::new());
    let text = then_summary(&past, &elsewhere);
    assert_eq!(
        text,
        "Re-sourced 1 unit of TEE-BLK-M missing from a short pick at wh-east: reserved 1 \
         unit at wh-west"
    );
    assert!(!text.contains("whole order"), "{text}");
    // Nobody else had it: the short-picking location was asked again.
    let again = sourced(vec![reserve(1, "TEE-BLK-M", "wh-east", 1)], Vec::new());
    assert_eq!(
        then_summary(&past, &again),
        "Re-sourced 1 unit of TEE-BLK-M missing from a short pick at wh-east: reserved 1 \
         unit at wh-east; wh-east was asked again, as no other location had stock"
    );
}

#[test]
fn a_re_source_after_a_rejection_says_the_rejecting_location_was_excluded() {
    let mut past = released();
    past.push(rejected());
    let nowhere = sourced(
        Vec::new(),
        vec![
            Shortfall {
                line_no: 1,
                sku: Sku::parse("TEE-BLK-M").unwrap(),
                quantity: 3,
            },
            Shortfall {
                line_no: 2,
                sku: Sku::parse("MUG").unwrap(),
                quantity: 1,
            },
        ],
    );
    let text = then_summary(&past, &nowhere);
    assert_eq!(
        text,
        "Re-sourced 3 units of TEE-BLK-M and 1 unit of MUG after wh-east rejected them \
         (short staffed): nothing reserved; wh-east rejected it and was excluded; \
         backordered 3 units of TEE-BLK-M and 1 unit of MUG (no other location had stock)"
    );
    let west = sourced(
        vec![
            reserve(1, "TEE-BLK-M", "wh-west", 3),
            reserve(2, "MUG", "wh-west", 1),
        ],
        Vec::new(),
    );
    assert_eq!(
        then_summary(&past, &west),
        "Re-sourced 3 units of TEE-BLK-M and 1 unit of MUG after wh-east rejected them \
         (short staffed): reserved 4 units at wh-west; wh-east rejected it and was excluded"
    );
}

#[test]
fn a_first_sourcing_still_says_how_the_order_was_served() {
    let first = sourced(vec![reserve(1, "TEE-BLK-M", "wh-east", 3)], Vec::new());
    assert_eq!(
        then_summary(&[placed("USD")], &first),
        "Reserved 3 units at wh-east (one location serves the whole order)"
    );
}

#[test]
fn amounts_read_as_money_in_the_order_currency() {
    let added = OrderEvent::PaymentAdded(PaymentAdded {
        id: Id::new("pay_1"),
        method: crate::payment::PaymentMethod::Card,
        provider: "simulator".into(),
        amount_minor: 1500,
        fingerprint: None,
        last4: Some("4242".into()),
    });
    assert_eq!(
        then_summary(&[placed("USD")], &added),
        "Payment pay_1 added: card (card ending 4242) via simulator for USD 15.00"
    );
    // The yen has no minor unit: 1500 is JPY 1500; the dinar has three digits.
    assert_eq!(
        then_summary(&[placed("JPY")], &added),
        "Payment pay_1 added: card (card ending 4242) via simulator for JPY 1500"
    );
    assert!(then_summary(&[placed("KWD")], &added).ends_with("for KWD 1.500"));
    let refund = OrderEvent::RefundRequested(RefundRequested {
        id: Id::new("ref_1"),
        amount_minor: 505,
        reason: crate::payment::RefundReason::Damaged,
        method: crate::payment::RefundMethod::OriginalPayment,
        lines: Vec::new(),
        note: None,
    });
    assert_eq!(
        then_summary(&[placed("EUR")], &refund),
        "Refund ref_1 of EUR 5.05 requested (damaged, to original_payment)"
    );
    let op = OrderEvent::PaymentOpRequested(PaymentOpRequested {
        id: Id::new("pay_1.cap2"),
        payment_id: Id::new("pay_1"),
        kind: crate::payment::OpKind::Capture,
        amount_minor: 6000,
        refund_id: None,
        to_store_credit: false,
    });
    assert_eq!(
        then_summary(&[placed("USD")], &op),
        "Requested capture of USD 60.00 on payment pay_1 (pay_1.cap2)"
    );
    assert_eq!(
        then_summary(&[placed("JPY")], &placed("JPY")),
        "Order WEB-1042 placed on web by ana@example.com: 4 units in 2 lines, total JPY 6000"
    );
}
