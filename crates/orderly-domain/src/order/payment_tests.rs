//! Given / when / then tests for the money side of the order aggregate (payments, their
//! provider operations, refunds, holds and the payment deadline), and a property test over
//! random payment command sequences.

use super::test_story::*;
use super::*;
use crate::Timestamp;
use crate::payment::{
    CaptureMode, EntryKind, MANUAL_PROVIDER, OpKind, OpOutcome, OpStatus, PaymentMethod, PaymentOp,
    PaymentState, RefundMethod, RefundReason, RefundStatus, derive_state,
};
use crate::sourcing::StockView;
use crate::values::Id;

// ---------------------------------------------------------------------------------------
// Fixtures (the shared story is in test_story)
// ---------------------------------------------------------------------------------------

fn manual(id: &str, method: PaymentMethod) -> NewPayment {
    NewPayment {
        id: Id::new(id),
        method,
        provider: MANUAL_PROVIDER.into(),
        fingerprint: None,
        last4: None,
    }
}

fn expire(payment_id: &str) -> OrderCommand {
    OrderCommand::ExpireAuthorization {
        payment_id: Id::new(payment_id),
    }
}

fn mark_paid(payment_id: &str) -> OrderCommand {
    OrderCommand::MarkPaid {
        payment_id: Id::new(payment_id),
        reference: Some("wire_77".into()),
    }
}

/// Releases a hold on a channel that captures on shipment.
fn release(reason: HoldReason) -> OrderCommand {
    OrderCommand::ReleaseHold {
        hold: hold(reason),
        capture: CaptureMode::OnShipment,
    }
}

fn hold(reason: HoldReason) -> HoldChange {
    HoldChange { reason, note: None }
}

fn deadline(now: Timestamp) -> OrderCommand {
    OrderCommand::PaymentDeadline {
        now,
        refund_id: Id::new("ref_timeout"),
    }
}

fn cancel() -> OrderCommand {
    OrderCommand::Cancel(CancelOrder {
        reason: CancelReason::CustomerRequest,
        note: None,
        refund_id: Id::new("ref_cancel"),
    })
}

fn refund(id: &str, amount_minor: i64) -> OrderCommand {
    OrderCommand::Refund(RequestRefund {
        id: Id::new(id),
        amount_minor: Some(amount_minor),
        reason: RefundReason::CustomerRequest,
        method: RefundMethod::OriginalPayment,
        lines: Vec::new(),
        note: None,
    })
}

fn requested(id: &str, payment_id: &str, kind: OpKind, amount_minor: i64) -> OrderEvent {
    OrderEvent::PaymentOpRequested(PaymentOpRequested {
        id: Id::new(id),
        payment_id: Id::new(payment_id),
        kind,
        amount_minor,
        refund_id: None,
        to_store_credit: false,
    })
}

fn refund_part(id: &str, payment_id: &str, amount_minor: i64, refund_id: &str) -> OrderEvent {
    OrderEvent::PaymentOpRequested(PaymentOpRequested {
        id: Id::new(id),
        payment_id: Id::new(payment_id),
        kind: OpKind::Refund,
        amount_minor,
        refund_id: Some(Id::new(refund_id)),
        to_store_credit: false,
    })
}

fn op_succeeded(op: &str, reference: &str) -> OrderEvent {
    OrderEvent::PaymentOpSucceeded(PaymentOpSucceeded {
        op_id: Id::new(op),
        provider_reference: Some(reference.into()),
        authorization_expires_at: None,
    })
}

fn refund_requested(id: &str, amount_minor: i64, reason: RefundReason) -> OrderEvent {
    OrderEvent::RefundRequested(RefundRequested {
        id: Id::new(id),
        amount_minor,
        reason,
        method: RefundMethod::OriginalPayment,
        lines: Vec::new(),
        note: None,
    })
}

fn payment_failed_hold(note: &str) -> OrderEvent {
    OrderEvent::HoldPlaced(HoldChange {
        reason: HoldReason::PaymentFailed,
        note: Some(note.into()),
    })
}

// ---------------------------------------------------------------------------------------
// Placing with a payment
// ---------------------------------------------------------------------------------------

#[test]
fn placing_with_a_card_adds_the_payment_and_requests_an_authorization_of_the_total() {
    let facts = Facts::new().due(at(3600));
    let events = Story::placed(Some(card("pay_1")), &facts).events;
    assert_eq!(
        events[2..],
        [
            OrderEvent::PaymentDeadlineSet { due_at: at(3600) },
            OrderEvent::PaymentAdded(PaymentAdded {
                id: Id::new("pay_1"),
                method: PaymentMethod::Card,
                provider: "simulator".into(),
                amount_minor: TOTAL,
                fingerprint: None,
                last4: None,
            }),
            requested("pay_1.auth1", "pay_1", OpKind::Authorize, TOTAL),
        ]
    );
    let order = given(&events);
    assert_eq!(order.state, OrderState::Pending);
    assert_eq!(order.payment_due_at, Some(at(3600)));
    assert!(order.authorization_pending());
    assert_eq!(order.payment_state(), PaymentState::Unpaid);
}

#[test]
fn the_card_token_stays_out_of_the_order_and_old_records_with_one_still_read() {
    let mut with_digits = card("pay_1");
    with_digits.fingerprint = Some("fp_1".into());
    with_digits.last4 = Some("4242".into());
    let story = Story::placed(Some(with_digits), &Facts::new());
    let order = story.order();
    let payment = order.payment(&Id::new("pay_1")).expect("the payment");
    assert_eq!(payment.last4.as_deref(), Some("4242"));
    let written = serde_json::to_string(&(&story.events, &order)).unwrap();
    assert!(!written.contains("token"), "{written}");
    // An event and a snapshot written before the token moved out still deserialize; the
    // token they carry is dropped.
    let old_event = r#"{"type":"payment_added","data":{"id":"pay_1","method":"card",
        "provider":"simulator","token":"tok_visa","amount_minor":100}}"#;
    let event: OrderEvent = serde_json::from_str(old_event).unwrap();
    assert!(!serde_json::to_string(&event).unwrap().contains("tok_visa"));
    let mut snapshot = serde_json::to_value(&order).unwrap();
    snapshot["payments"][0]["token"] = "tok_visa".into();
    let old: Order = serde_json::from_value(snapshot).unwrap();
    assert_eq!(old, order);
}

#[test]
fn placing_with_a_card_and_no_due_date_sets_no_deadline() {
    let events = Story::card().events;
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, OrderEvent::PaymentDeadlineSet { .. })),
        "{events:?}"
    );
    assert_eq!(given(&events).payment_due_at, None);
}

#[test]
fn placing_with_cash_on_delivery_confirms_at_once_and_sets_no_deadline() {
    let facts = Facts::new().due(at(3600));
    let events = Story::placed(Some(manual("pay_1", PaymentMethod::CashOnDelivery)), &facts).events;
    assert_eq!(
        events[2..],
        [
            OrderEvent::PaymentAdded(PaymentAdded {
                id: Id::new("pay_1"),
                method: PaymentMethod::CashOnDelivery,
                provider: MANUAL_PROVIDER.into(),
                amount_minor: TOTAL,
                fingerprint: None,
                last4: None,
            }),
            OrderEvent::OrderConfirmed {
                reason: "cash_on_delivery accepted".into()
            },
        ]
    );
    let order = given(&events);
    assert_eq!(order.state, OrderState::Confirmed);
    assert_eq!(order.payment_due_at, None);
    assert!(order.payment_ops.is_empty());
}

#[test]
fn placing_with_a_bank_transfer_requests_no_authorization() {
    let facts = Facts::new().due(at(3600));
    let events = Story::placed(Some(manual("pay_1", PaymentMethod::BankTransfer)), &facts).events;
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, OrderEvent::PaymentOpRequested(_))),
        "{events:?}"
    );
    assert!(events.contains(&OrderEvent::PaymentDeadlineSet { due_at: at(3600) }));
    let order = given(&events);
    assert_eq!(order.state, OrderState::Pending);
    assert_eq!(order.payments.len(), 1);
    assert!(order.payment_ops.is_empty());
    assert!(!order.authorization_pending());
}

#[test]
fn a_high_value_order_is_held_for_review_on_placement() {
    let mut facts = Facts::new();
    facts.risk.high_value_threshold_minor = Some(TOTAL - 1);
    let story = Story::placed(Some(card("pay_1")), &facts);
    assert!(
        story.events.contains(&OrderEvent::HoldPlaced(HoldChange {
            reason: HoldReason::HighValueReview,
            note: Some(format!(
                "total {TOTAL} exceeds the review threshold {}",
                TOTAL - 1
            )),
        })),
        "{:?}",
        story.events
    );
    assert_eq!(
        story.order().release_blockers(),
        vec!["hold:high_value_review", "awaiting_payment"]
    );
    // Payment does not lift a review hold; only releasing it does.
    let story = story.and(ok("pay_1.auth1"));
    assert_eq!(
        story.order().release_blockers(),
        vec!["hold:high_value_review"]
    );
    let story = story.and(release(HoldReason::HighValueReview));
    assert_eq!(story.order().release_blockers(), Vec::<String>::new());
}

#[test]
fn an_order_at_the_high_value_threshold_is_not_held() {
    let mut facts = Facts::new();
    facts.risk.high_value_threshold_minor = Some(TOTAL);
    let order = Story::placed(Some(card("pay_1")), &facts).order();
    assert!(order.holds.is_empty(), "{:?}", order.holds);
    assert_eq!(order.release_blockers(), vec!["awaiting_payment"]);
}

// ---------------------------------------------------------------------------------------
// Authorization outcomes
// ---------------------------------------------------------------------------------------

#[test]
fn a_successful_authorization_confirms_the_order_without_capturing_on_shipment_mode() {
    let story = Story::card();
    let events = story.when(ok("pay_1.auth1")).unwrap();
    assert_eq!(
        events,
        vec![
            op_succeeded("pay_1.auth1", "prov_ok"),
            OrderEvent::OrderConfirmed {
                reason: "payment pay_1 authorized".into()
            },
        ]
    );
    let order = story.then(&events);
    assert_eq!(order.state, OrderState::Confirmed);
    assert_eq!(order.payment_state(), PaymentState::Authorized);
    assert_eq!(order.capturable(&Id::new("pay_1")), TOTAL);
    assert_eq!(
        order.op(&Id::new("pay_1.auth1")).unwrap().status,
        OpStatus::Succeeded
    );
}

#[test]
fn capture_on_authorization_also_requests_a_capture_of_the_full_amount() {
    let story = Story::card();
    let events = story
        .when(ok_with("pay_1.auth1", CaptureMode::OnAuthorization))
        .unwrap();
    assert_eq!(
        events,
        vec![
            op_succeeded("pay_1.auth1", "prov_ok"),
            OrderEvent::OrderConfirmed {
                reason: "payment pay_1 authorized".into()
            },
            requested("pay_1.cap2", "pay_1", OpKind::Capture, TOTAL),
        ]
    );
    let order = story.then(&events);
    assert_eq!(order.capturable(&Id::new("pay_1")), 0);
}

#[test]
fn a_failed_authorization_places_a_payment_failed_hold() {
    let story = Story::card();
    let events = story.when(fail("pay_1.auth1")).unwrap();
    assert_eq!(
        events,
        vec![
            OrderEvent::PaymentOpFailed(PaymentOpFailed {
                op_id: Id::new("pay_1.auth1"),
                code: "card_declined".into(),
                message: "Your card was declined".into(),
            }),
            payment_failed_hold("Your card was declined"),
        ]
    );
    let order = story.then(&events);
    assert_eq!(order.state, OrderState::Pending);
    assert_eq!(order.payment_state(), PaymentState::Failed);
    assert!(order.hold(HoldReason::PaymentFailed).is_some());
}

#[test]
fn a_second_failed_authorization_does_not_place_the_hold_twice() {
    let story = Story::card()
        .and(fail("pay_1.auth1"))
        .and(OrderCommand::AddPayment(card("pay_2")));
    let events = story.when(fail("pay_2.auth1")).unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(
        matches!(&events[0], OrderEvent::PaymentOpFailed(f) if f.op_id.as_str() == "pay_2.auth1")
    );
    assert_eq!(story.then(&events).holds.len(), 1);
}

#[test]
fn a_new_payment_added_after_a_decline_asks_for_the_whole_total() {
    let story = Story::card().and(fail("pay_1.auth1"));
    let events = story.when(OrderCommand::AddPayment(card("pay_2"))).unwrap();
    assert_eq!(
        events,
        vec![
            OrderEvent::PaymentAdded(PaymentAdded {
                id: Id::new("pay_2"),
                method: PaymentMethod::Card,
                provider: "simulator".into(),
                amount_minor: TOTAL,
                fingerprint: None,
                last4: None,
            }),
            requested("pay_2.auth1", "pay_2", OpKind::Authorize, TOTAL),
        ]
    );
}

#[test]
fn a_later_successful_authorization_of_a_new_payment_releases_the_payment_failed_hold() {
    let story = Story::card()
        .and(fail("pay_1.auth1"))
        .and(OrderCommand::AddPayment(card("pay_2")));
    let events = story.when(ok("pay_2.auth1")).unwrap();
    assert_eq!(
        events,
        vec![
            op_succeeded("pay_2.auth1", "prov_ok"),
            OrderEvent::HoldReleased(HoldChange {
                reason: HoldReason::PaymentFailed,
                note: Some("payment pay_2 authorized".into()),
            }),
            OrderEvent::OrderConfirmed {
                reason: "payment pay_2 authorized".into()
            },
        ]
    );
    let order = story.then(&events);
    assert!(order.holds.is_empty());
    assert_eq!(order.state, OrderState::Confirmed);
    assert_eq!(order.payment_state(), PaymentState::Authorized);
}

#[test]
fn adding_a_payment_while_an_authorization_is_pending_or_the_total_is_secured_is_refused() {
    let pending = Story::card();
    assert_eq!(
        pending.when(OrderCommand::AddPayment(card("pay_2"))),
        Err(OrderError::PaymentNotNeeded)
    );
    assert_eq!(
        Story::authorized().when(OrderCommand::AddPayment(card("pay_2"))),
        Err(OrderError::PaymentNotNeeded)
    );
}

#[test]
fn a_duplicate_outcome_for_an_already_resolved_operation_returns_no_events() {
    let story = Story::authorized();
    assert_eq!(story.when(ok("pay_1.auth1")), Ok(vec![]));
    // A contradicting late answer does not undo the first one either.
    assert_eq!(story.when(fail("pay_1.auth1")), Ok(vec![]));
    let declined = Story::card().and(fail("pay_1.auth1"));
    assert_eq!(declined.when(ok("pay_1.auth1")), Ok(vec![]));
}

#[test]
fn an_outcome_for_an_unknown_operation_is_refused() {
    let result = Story::card().when(ok("pay_1.auth9"));
    assert_eq!(
        result,
        Err(OrderError::UnknownPaymentOp("pay_1.auth9".into()))
    );
    assert_eq!(result.unwrap_err().code(), "payment_operation_not_found");
}

#[test]
fn an_authorization_that_succeeds_after_the_order_was_cancelled_is_voided() {
    let story = Story::card().and(cancel());
    let events = story.when(ok("pay_1.auth1")).unwrap();
    assert_eq!(
        events,
        vec![
            op_succeeded("pay_1.auth1", "prov_ok"),
            requested("pay_1.void2", "pay_1", OpKind::Void, TOTAL),
        ]
    );
    let order = story.then(&events);
    assert_eq!(order.state, OrderState::Cancelled);
    assert_eq!(order.capturable(&Id::new("pay_1")), 0);
}

// ---------------------------------------------------------------------------------------
// Capture
// ---------------------------------------------------------------------------------------

#[test]
fn a_capture_while_a_full_capture_is_pending_has_nothing_to_capture() {
    let story = Story::authorized();
    let first = story.when(capture(None)).unwrap();
    assert_eq!(
        first,
        vec![requested("pay_1.cap2", "pay_1", OpKind::Capture, TOTAL)]
    );
    let story = story.and(capture(None));
    assert_eq!(story.when(capture(None)), Err(OrderError::NothingToCapture));
    assert_eq!(
        story.when(capture(Some(1))),
        Err(OrderError::NothingToCapture)
    );
}

#[test]
fn a_capture_while_a_partial_capture_is_pending_cannot_exceed_the_rest() {
    let story = Story::authorized().and(capture(Some(60)));
    assert_eq!(
        story.when(capture(Some(60))),
        Err(OrderError::CaptureExceedsAuthorized {
            requested: 60,
            remaining: 40
        })
    );
    assert_eq!(
        story.when(capture(None)),
        Ok(vec![requested("pay_1.cap3", "pay_1", OpKind::Capture, 40)])
    );
}

#[test]
fn a_partial_capture_then_a_capture_of_the_rest() {
    let story = Story::authorized()
        .and(capture(Some(40)))
        .and(ok("pay_1.cap2"));
    let order = story.order();
    assert_eq!(order.payment_state(), PaymentState::PartiallyCaptured);
    assert_eq!(order.capturable(&Id::new("pay_1")), 60);

    let events = story.when(capture(None)).unwrap();
    assert_eq!(
        events,
        vec![requested("pay_1.cap3", "pay_1", OpKind::Capture, 60)]
    );
    let story = story.and(capture(None)).and(ok("pay_1.cap3"));
    let order = story.order();
    assert_eq!(order.payment_state(), PaymentState::Captured);
    assert_eq!(order.payment_totals(&Id::new("pay_1")).captured, TOTAL);
    assert_eq!(story.when(capture(None)), Err(OrderError::NothingToCapture));
}

#[test]
fn a_failed_capture_frees_its_amount_for_another_capture() {
    let story = Story::authorized()
        .and(capture(None))
        .and(fail("pay_1.cap2"));
    assert_eq!(
        story.when(capture(None)),
        Ok(vec![requested(
            "pay_1.cap3",
            "pay_1",
            OpKind::Capture,
            TOTAL
        )])
    );
}

#[test]
fn a_capture_of_zero_or_less_is_an_invalid_amount() {
    let story = Story::authorized();
    assert_eq!(story.when(capture(Some(0))), Err(OrderError::InvalidAmount));
    assert_eq!(
        story.when(capture(Some(-5))),
        Err(OrderError::InvalidAmount)
    );
}

#[test]
fn a_capture_before_any_authorization_has_nothing_to_capture() {
    assert_eq!(
        Story::card().when(capture(None)),
        Err(OrderError::NothingToCapture)
    );
}

// ---------------------------------------------------------------------------------------
// Refunds
// ---------------------------------------------------------------------------------------

#[test]
fn a_refund_within_what_was_captured_requests_a_refund_operation() {
    let story = Story::captured();
    let events = story.when(refund("ref_1", 60)).unwrap();
    assert_eq!(
        events,
        vec![
            refund_requested("ref_1", 60, RefundReason::CustomerRequest),
            refund_part("pay_1.ref3", "pay_1", 60, "ref_1"),
        ]
    );
    let order = story.then(&events);
    assert_eq!(order.refunds.len(), 1);
    assert_eq!(
        order.refund_status(&order.refunds[0]),
        RefundStatus::Pending
    );
    assert_eq!(order.refundable(&Id::new("pay_1")), 40);

    let done = story.and(refund("ref_1", 60)).and(ok("pay_1.ref3")).order();
    assert_eq!(
        done.refund_status(&done.refunds[0]),
        RefundStatus::Succeeded
    );
    assert_eq!(done.payment_state(), PaymentState::PartiallyRefunded);
}

#[test]
fn a_second_refund_while_the_first_is_pending_cannot_exceed_what_is_left() {
    let story = Story::captured().and(refund("ref_1", 60));
    assert_eq!(
        story.when(refund("ref_2", 60)),
        Err(OrderError::RefundExceedsCaptured {
            requested: 60,
            remaining: 40
        })
    );
    assert!(story.when(refund("ref_2", 40)).is_ok());
}

#[test]
fn a_refund_of_more_than_was_captured_or_of_nothing_is_refused() {
    let story = Story::authorized();
    assert_eq!(
        story.when(refund("ref_1", 1)),
        Err(OrderError::RefundExceedsCaptured {
            requested: 1,
            remaining: 0
        })
    );
    assert_eq!(
        Story::captured().when(refund("ref_1", 0)),
        Err(OrderError::InvalidAmount)
    );
}

#[test]
fn a_failed_refund_is_refund_failed_and_a_retry_asks_for_the_outstanding_amount_again() {
    let story = Story::captured()
        .and(refund("ref_1", 60))
        .and(fail("pay_1.ref3"));
    let order = story.order();
    assert_eq!(
        order.refund_status(&order.refunds[0]),
        RefundStatus::RefundFailed
    );
    assert_eq!(order.refundable(&Id::new("pay_1")), TOTAL);

    let events = story.when(retry("ref_1")).unwrap();
    assert_eq!(
        events,
        vec![refund_part("pay_1.ref4", "pay_1", 60, "ref_1")]
    );
    let order = story.then(&events);
    assert_eq!(
        order.refund_status(&order.refunds[0]),
        RefundStatus::Pending
    );
    // While the retry is in flight there is nothing more to retry.
    let story = story.and(retry("ref_1"));
    assert_eq!(
        story.when(retry("ref_1")),
        Err(OrderError::NothingToRetry("ref_1".into()))
    );
    let order = story.and(ok("pay_1.ref4")).order();
    assert_eq!(
        order.refund_status(&order.refunds[0]),
        RefundStatus::Succeeded
    );
    assert_eq!(order.payment_totals(&Id::new("pay_1")).refunded, 60);
}

#[test]
fn retrying_a_succeeded_refund_is_nothing_to_retry() {
    let story = Story::captured()
        .and(refund("ref_1", 60))
        .and(ok("pay_1.ref3"));
    assert_eq!(
        story.when(retry("ref_1")),
        Err(OrderError::NothingToRetry("ref_1".into()))
    );
    assert_eq!(
        story.when(retry("ref_9")),
        Err(OrderError::UnknownRefund("ref_9".into()))
    );
}

/// `pay_1` captured 40 of 100 and then lapsed; `pay_2` covers the other 60 and captured 30.
fn two_partially_captured_payments() -> Story {
    Story::authorized()
        .and(capture(Some(40)))
        .and(ok("pay_1.cap2"))
        .and(expire("pay_1"))
        .and(OrderCommand::AddPayment(card("pay_2")))
        .and(ok("pay_2.auth1"))
        .and(capture(Some(30)))
        .and(ok("pay_2.cap2"))
}

#[test]
fn a_new_payment_after_a_lapsed_partial_capture_asks_only_for_the_rest() {
    let order = two_partially_captured_payments().order();
    assert_eq!(order.payments.len(), 2);
    assert_eq!(order.payments[1].amount_minor, TOTAL - 40);
    assert_eq!(order.payment_totals(&Id::new("pay_2")).authorized, 60);
    assert_eq!(order.secured_minor(), TOTAL);
    assert_eq!(order.payment_state(), PaymentState::PartiallyCaptured);
}

#[test]
fn a_refund_split_across_two_payments_draws_on_the_oldest_first() {
    let story = two_partially_captured_payments();
    let events = story.when(refund("ref_1", 50)).unwrap();
    assert_eq!(
        events,
        vec![
            refund_requested("ref_1", 50, RefundReason::CustomerRequest),
            refund_part("pay_1.ref3", "pay_1", 40, "ref_1"),
            refund_part("pay_2.ref3", "pay_2", 10, "ref_1"),
        ]
    );
    let order = story
        .and(refund("ref_1", 50))
        .and(ok("pay_1.ref3"))
        .and(ok("pay_2.ref3"))
        .order();
    assert_eq!(order.payment_totals(&Id::new("pay_1")).refunded, 40);
    assert_eq!(order.payment_totals(&Id::new("pay_2")).refunded, 10);
    assert_eq!(
        order.refund_status(&order.refunds[0]),
        RefundStatus::Succeeded
    );
    assert_eq!(order.payment_state(), PaymentState::PartiallyRefunded);
}

// ---------------------------------------------------------------------------------------
// Expiry
// ---------------------------------------------------------------------------------------

#[test]
fn expiring_an_open_authorization_releases_it() {
    let story = Story::authorized();
    let events = story.when(expire("pay_1")).unwrap();
    assert_eq!(
        events,
        vec![OrderEvent::AuthorizationExpired {
            payment_id: Id::new("pay_1")
        }]
    );
    let order = story.then(&events);
    assert_eq!(order.payment_state(), PaymentState::Expired);
    assert_eq!(order.capturable(&Id::new("pay_1")), 0);
    assert_eq!(order.secured_minor(), 0);
    // It lapses only once.
    assert_eq!(story.and(expire("pay_1")).when(expire("pay_1")), Ok(vec![]));
}

#[test]
fn expiring_a_fully_captured_authorization_emits_nothing() {
    assert_eq!(Story::captured().when(expire("pay_1")), Ok(vec![]));
}

#[test]
fn expiring_while_a_capture_is_in_flight_emits_nothing() {
    let story = Story::authorized().and(capture(Some(40)));
    assert_eq!(story.when(expire("pay_1")), Ok(vec![]));
}

#[test]
fn expiring_an_unknown_payment_is_refused() {
    assert_eq!(
        Story::authorized().when(expire("pay_9")),
        Err(OrderError::UnknownPayment("pay_9".into()))
    );
}

// ---------------------------------------------------------------------------------------
// Manual payments
// ---------------------------------------------------------------------------------------

fn bank_transfer() -> Story {
    Story::placed(
        Some(manual("pay_1", PaymentMethod::BankTransfer)),
        &Facts::new(),
    )
}

#[test]
fn marking_a_bank_transfer_paid_confirms_the_order_and_captures_it() {
    let story = bank_transfer();
    let events = story.when(mark_paid("pay_1")).unwrap();
    assert_eq!(
        events,
        vec![
            requested("pay_1.auth1", "pay_1", OpKind::Authorize, TOTAL),
            op_succeeded("pay_1.auth1", "wire_77"),
            requested("pay_1.cap2", "pay_1", OpKind::Capture, TOTAL),
            op_succeeded("pay_1.cap2", "wire_77"),
            OrderEvent::OrderConfirmed {
                reason: "payment pay_1 received".into()
            },
        ]
    );
    let order = story.then(&events);
    assert_eq!(order.state, OrderState::Confirmed);
    assert_eq!(order.payment_state(), PaymentState::Captured);
    assert_eq!(order.refundable(&Id::new("pay_1")), TOTAL);
}

#[test]
fn marking_a_card_payment_paid_is_refused() {
    assert_eq!(
        Story::card().when(mark_paid("pay_1")),
        Err(OrderError::NotManualPayment("pay_1".into()))
    );
}

#[test]
fn marking_a_payment_paid_twice_is_already_paid() {
    let story = bank_transfer().and(mark_paid("pay_1"));
    assert_eq!(
        story.when(mark_paid("pay_1")),
        Err(OrderError::AlreadyPaid("pay_1".into()))
    );
    assert_eq!(
        story.when(mark_paid("pay_9")),
        Err(OrderError::UnknownPayment("pay_9".into()))
    );
}

// ---------------------------------------------------------------------------------------
// Holds
// ---------------------------------------------------------------------------------------

#[test]
fn placing_the_same_hold_twice_is_refused() {
    let story = Story::card();
    let events = story
        .when(OrderCommand::PlaceHold(hold(HoldReason::Manual)))
        .unwrap();
    assert_eq!(
        events,
        vec![OrderEvent::HoldPlaced(hold(HoldReason::Manual))]
    );
    let story = story.and(OrderCommand::PlaceHold(hold(HoldReason::Manual)));
    assert_eq!(
        story.when(OrderCommand::PlaceHold(hold(HoldReason::Manual))),
        Err(OrderError::HoldAlreadyActive("manual"))
    );
    assert_eq!(
        story.order().release_blockers(),
        vec!["hold:manual", "awaiting_payment"]
    );
}

#[test]
fn releasing_a_hold_that_is_not_active_is_refused() {
    let story = Story::card();
    assert_eq!(
        story.when(release(HoldReason::AddressVerification)),
        Err(OrderError::HoldNotActive("address_verification"))
    );
    let story = story
        .and(OrderCommand::PlaceHold(hold(HoldReason::Manual)))
        .and(release(HoldReason::Manual));
    assert!(story.order().holds.is_empty());
    assert_eq!(
        story.when(release(HoldReason::Manual)),
        Err(OrderError::HoldNotActive("manual"))
    );
}

// ---------------------------------------------------------------------------------------
// The payment deadline
// ---------------------------------------------------------------------------------------

fn due_story(payment: NewPayment) -> Story {
    Story::placed(Some(payment), &Facts::new().due(at(3600)))
}

#[test]
fn the_deadline_before_it_is_due_does_nothing() {
    let story = due_story(manual("pay_1", PaymentMethod::BankTransfer));
    assert_eq!(story.when(deadline(at(3599))), Ok(vec![]));
}

#[test]
fn an_unpaid_order_at_its_deadline_is_cancelled_for_payment_timeout() {
    let story = due_story(manual("pay_1", PaymentMethod::BankTransfer));
    let reservations = story.order().reservations;
    assert!(!reservations.is_empty());
    let events = story.when(deadline(at(3600))).unwrap();
    assert_eq!(
        events,
        vec![
            OrderEvent::OrderCancelled(OrderCancelled {
                reason: CancelReason::PaymentTimeout,
                note: Some("not paid by the deadline".into()),
                released: reservations,
                backorders_cancelled: Vec::new(),
            }),
            OrderEvent::PaymentDeadlineCleared {
                reason: "reached, the order was cancelled unpaid".into()
            }
        ]
    );
    let order = story.then(&events);
    assert_eq!(order.state, OrderState::Cancelled);
    assert_eq!(order.cancel_reason, Some(CancelReason::PaymentTimeout));
    assert_eq!(order.payment_due_at, None);
}

#[test]
fn a_declined_order_past_its_deadline_is_cancelled_for_payment_timeout() {
    let story = due_story(card("pay_1")).and(fail("pay_1.auth1"));
    let events = story.when(deadline(at(7200))).unwrap();
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(
        matches!(&events[0], OrderEvent::OrderCancelled(c) if c.reason == CancelReason::PaymentTimeout),
        "{events:?}"
    );
}

#[test]
fn the_deadline_waits_while_an_authorization_is_pending() {
    let story = due_story(card("pay_1"));
    assert_eq!(story.when(deadline(at(7200))), Ok(vec![]));
}

#[test]
fn the_deadline_after_authorization_does_nothing() {
    let story = due_story(card("pay_1")).and(ok("pay_1.auth1"));
    assert_eq!(story.when(deadline(at(7200))), Ok(vec![]));
}

#[test]
fn the_deadline_without_a_due_date_does_nothing() {
    let story = Story::placed(
        Some(manual("pay_1", PaymentMethod::BankTransfer)),
        &Facts::new(),
    );
    assert_eq!(story.when(deadline(at(1_000_000))), Ok(vec![]));
}

// ---------------------------------------------------------------------------------------
// Cancelling an order with money on it
// ---------------------------------------------------------------------------------------

fn cancelled_event(order: &Order) -> OrderEvent {
    OrderEvent::OrderCancelled(OrderCancelled {
        reason: CancelReason::CustomerRequest,
        note: None,
        released: order.reservations.clone(),
        backorders_cancelled: Vec::new(),
    })
}

#[test]
fn cancelling_an_authorized_order_voids_the_open_authorization() {
    let story = Story::authorized();
    let order = story.order();
    let events = story.when(cancel()).unwrap();
    assert_eq!(
        events,
        vec![
            cancelled_event(&order),
            requested("pay_1.void2", "pay_1", OpKind::Void, TOTAL),
        ]
    );
    let order = story.and(cancel()).and(ok("pay_1.void2")).order();
    assert_eq!(order.state, OrderState::Cancelled);
    assert_eq!(order.payment_state(), PaymentState::Voided);
}

#[test]
fn cancelling_a_captured_order_refunds_what_was_captured() {
    let story = Story::captured();
    let order = story.order();
    let events = story.when(cancel()).unwrap();
    assert_eq!(
        events,
        vec![
            cancelled_event(&order),
            refund_requested("ref_cancel", TOTAL, RefundReason::OrderCancelled),
            refund_part("pay_1.ref3", "pay_1", TOTAL, "ref_cancel"),
        ]
    );
    let order = story.and(cancel()).and(ok("pay_1.ref3")).order();
    assert_eq!(order.payment_state(), PaymentState::Refunded);
    assert_eq!(
        order.refund_status(&order.refunds[0]),
        RefundStatus::Succeeded
    );
}

#[test]
fn cancelling_a_partially_captured_order_voids_the_rest_and_refunds_the_part() {
    let story = Story::authorized()
        .and(capture(Some(40)))
        .and(ok("pay_1.cap2"));
    let order = story.order();
    let events = story.when(cancel()).unwrap();
    assert_eq!(
        events,
        vec![
            cancelled_event(&order),
            requested("pay_1.void3", "pay_1", OpKind::Void, 60),
            refund_requested("ref_cancel", 40, RefundReason::OrderCancelled),
            refund_part("pay_1.ref4", "pay_1", 40, "ref_cancel"),
        ]
    );
    let order = story
        .and(cancel())
        .and(ok("pay_1.void3"))
        .and(ok("pay_1.ref4"))
        .order();
    assert_eq!(order.payment_state(), PaymentState::Refunded);
}

#[test]
fn cancelling_an_order_with_no_money_on_it_only_cancels() {
    let story = Story::card().and(fail("pay_1.auth1"));
    let events = story.when(cancel()).unwrap();
    assert_eq!(events, vec![cancelled_event(&story.order())]);
}

// ---------------------------------------------------------------------------------------
// Cancellation races, zero totals and reused ids. Each asserts a contract (every decided
// event folds; a cancelled order keeps no money), not the mechanism that achieves it.
// ---------------------------------------------------------------------------------------

/// Whether `events` decided against `story` fold onto it.
fn folds(story: &Story, events: &[OrderEvent]) -> Result<Order, EvolveError> {
    let all: Vec<OrderEvent> = story.events.iter().chain(events).cloned().collect();
    replay(all.iter().zip(1..).map(|(e, n)| (e, at(n)))).map(|o| o.expect("a state"))
}

/// Answers every pending operation (voids first, then the oldest) until none is left,
/// checking that each answer's events fold.
fn settle(mut story: Story, succeeds: impl Fn(&PaymentOp) -> bool) -> Story {
    for _ in 0..20 {
        let order = story.order();
        let pending: Vec<&PaymentOp> = order
            .payment_ops
            .iter()
            .filter(|o| o.status == OpStatus::Pending)
            .collect();
        let Some(op) = pending
            .iter()
            .find(|o| o.kind == OpKind::Void)
            .or(pending.first())
        else {
            return story;
        };
        let answer = if succeeds(op) {
            ok(op.id.as_str())
        } else {
            fail(op.id.as_str())
        };
        let events = story
            .when(answer)
            .expect("an answer to a pending operation is accepted");
        let folded = folds(&story, &events);
        assert!(
            folded.is_ok(),
            "answering {} gave {events:?}, evolve said {folded:?}",
            op.id
        );
        story.events.extend(events);
    }
    panic!(
        "the operations never settled: {:?}",
        story.order().payment_ops
    );
}

/// Everything captured went back, and no authorization is left open.
fn assert_no_money_kept(order: &Order) {
    assert_eq!(order.state, OrderState::Cancelled);
    for p in &order.payments {
        let t = order.payment_totals(&p.id);
        assert_eq!(t.refunded, t.captured, "{}: {t:?}", p.id);
        assert!(
            t.authorized == t.captured || t.closed.is_some(),
            "{}: authorization left open {t:?}",
            p.id
        );
    }
}

#[test]
fn a_partial_capture_in_flight_at_cancellation_is_refunded_and_the_rest_voided() {
    let story = Story::authorized().and(capture(Some(40))).and(cancel());
    let order = settle(story, |_| true).order();
    assert_no_money_kept(&order);
    assert_eq!(order.payment_totals(&Id::new("pay_1")).captured, 40);
}

#[test]
fn a_full_capture_in_flight_at_cancellation_is_refunded() {
    let story = Story::authorized().and(capture(None)).and(cancel());
    let order = settle(story, |_| true).order();
    assert_no_money_kept(&order);
    assert_eq!(order.payment_totals(&Id::new("pay_1")).refunded, TOTAL);
}

#[test]
fn a_capture_in_flight_at_cancellation_that_fails_leaves_the_authorization_voided() {
    let story = Story::authorized().and(capture(Some(40))).and(cancel());
    let order = settle(story, |op| op.kind != OpKind::Capture).order();
    assert_no_money_kept(&order);
    assert_eq!(order.payment_totals(&Id::new("pay_1")).captured, 0);
    assert_eq!(order.payment_state(), PaymentState::Voided);
}

#[test]
fn a_zero_total_card_order_asks_no_provider_for_nothing() {
    let mut cmd = place_order(Some(card("pay_1")));
    cmd.discount_amount = TOTAL;
    let placed = decide(
        None,
        OrderCommand::Place(Box::new(cmd)),
        Some(&Facts::new().ctx()),
    )
    .expect("a zero-total order is accepted");
    let requested: Vec<&PaymentOpRequested> = placed
        .iter()
        .filter_map(|e| match e {
            OrderEvent::PaymentOpRequested(r) => Some(r),
            _ => None,
        })
        .collect();
    assert!(
        requested.iter().all(|r| r.amount_minor > 0),
        "{requested:?}"
    );
    let order = settle(Story { events: placed }, |_| true).order();
    assert!(
        order.ledger.iter().all(|e| e.amount_minor > 0),
        "{:?}",
        order.ledger
    );
}

#[test]
fn adding_a_payment_under_an_id_the_order_already_has_never_breaks_the_stream() {
    let story = Story::authorized()
        .and(capture(Some(40)))
        .and(ok("pay_1.cap2"))
        .and(expire("pay_1"));
    match story.when(OrderCommand::AddPayment(card("pay_1"))) {
        // Refusing the reused id is the simple answer.
        Err(e) => assert_ne!(e, OrderError::PaymentNotNeeded),
        Ok(added) => {
            let folded = folds(&story, &added);
            assert!(folded.is_ok(), "{added:?}: {folded:?}");
            let story = Story {
                events: story.events.iter().chain(&added).cloned().collect(),
            };
            settle(story, |_| true);
        }
    }
}

/// A bank transfer that arrives after the order was cancelled for not being paid in time.
#[test]
fn a_bank_transfer_received_after_a_payment_timeout_is_not_kept() {
    let story = due_story(manual("pay_1", PaymentMethod::BankTransfer)).and(deadline(at(3600)));
    assert_eq!(story.order().state, OrderState::Cancelled);
    match story.when(mark_paid("pay_1")) {
        // Refusing to record it on a cancelled order is one answer …
        Err(e) => assert!(matches!(e, OrderError::IllegalTransition { .. }), "{e:?}"),
        // … recording it and giving it back is the other.
        Ok(events) => {
            let folded = folds(&story, &events);
            assert!(folded.is_ok(), "{events:?}: {folded:?}");
            let story = Story {
                events: story.events.iter().chain(&events).cloned().collect(),
            };
            assert_no_money_kept(&settle(story, |_| true).order());
        }
    }
}

// ---------------------------------------------------------------------------------------
// Release to the warehouse
// ---------------------------------------------------------------------------------------

#[test]
fn sourcing_opens_a_pending_fulfillment_order_per_location() {
    let order = Story::placed(Some(card("pay_1")), &Facts::new()).order();
    assert_eq!(order.fulfillment_orders.len(), 1);
    let fo = &order.fulfillment_orders[0];
    assert_eq!(fo.id.as_str(), "ful_1_1");
    assert_eq!(fo.location_id.as_str(), "east");
    assert_eq!(fo.state, crate::fulfillment::FulfillmentState::Pending);
    assert_eq!(fo.lines[0].quantity, 1);
}

#[test]
fn an_unpaid_or_held_order_is_not_released() {
    let unpaid = Story::placed(Some(card("pay_1")), &Facts::new());
    assert_eq!(
        unpaid.when(release_all()),
        Err(OrderError::ReleaseBlocked(vec!["awaiting_payment".into()]))
    );
    let held = Story::authorized().and(OrderCommand::PlaceHold(HoldChange {
        reason: HoldReason::Manual,
        note: None,
    }));
    assert_eq!(
        held.when(release_all()),
        Err(OrderError::ReleaseBlocked(vec!["hold:manual".into()]))
    );
}

#[test]
fn a_confirmed_order_releases_its_units_once() {
    let released = Story::authorized().and(release_all());
    let order = released.order();
    let fo = &order.fulfillment_orders[0];
    assert_eq!(fo.state, crate::fulfillment::FulfillmentState::Released);
    assert!(fo.released_at.is_some());
    assert_eq!(order.lines[0].buckets.released, 1);
    assert_eq!(released.when(release_all()), Ok(Vec::new()));
    assert_eq!(
        released.when(OrderCommand::Release {
            fulfillment_id: Some(Id::new("ful_1_1"))
        }),
        Err(OrderError::FulfillmentNotPending("ful_1_1".into()))
    );
    // Cancelling the order cancels its fulfillment and empties the released bucket.
    let cancelled = released.and(cancel()).order();
    assert_eq!(
        cancelled.fulfillment_orders[0].state,
        crate::fulfillment::FulfillmentState::Cancelled
    );
    assert_eq!(cancelled.lines[0].buckets.released, 0);
}

// ---------------------------------------------------------------------------------------
// Pick, pack, ship, track
// ---------------------------------------------------------------------------------------

#[test]
fn a_pick_counts_every_line_of_a_released_fulfillment_order() {
    let unreleased = Story::authorized();
    assert!(matches!(
        unreleased.when(pick(1)),
        Err(OrderError::FulfillmentState { .. })
    ));
    let released = Story::authorized().and(release_all());
    assert_eq!(released.when(pick(2)), Err(OrderError::InvalidPick(1)));
    assert_eq!(
        released.when(OrderCommand::Pick {
            fulfillment_id: Id::new(FUL),
            picked: vec![],
        }),
        Err(OrderError::InvalidPick(1))
    );
    let order = released.and(pick(1)).order();
    assert_eq!(
        order.fulfillment_orders[0].state,
        crate::fulfillment::FulfillmentState::Picking
    );
    assert_eq!(order.fulfillment_orders[0].lines[0].picked, 1);
}

#[test]
fn a_short_pick_gives_the_units_back_to_sourcing() {
    let short = Story::authorized().and(release_all()).and(pick(0));
    let order = short.order();
    assert_eq!(
        order.fulfillment_orders[0].state,
        crate::fulfillment::FulfillmentState::Cancelled
    );
    let b = order.lines[0].buckets;
    assert_eq!((b.allocated, b.released, b.unallocated), (0, 0, 1));
    assert!(order.reservations.is_empty());
    // Sourced again: a second fulfillment order takes the unit.
    let events = short
        .source_waiting(&Facts::new().ctx())
        .expect("re-sourced");
    let order = short.then(&events);
    assert_eq!(order.fulfillment_orders.len(), 2);
    assert_eq!(order.lines[0].buckets.allocated, 1);
    // With no stock anywhere, the paid unit waits as a backorder instead of cancelling.
    let empty = Facts {
        stock: StockView::default(),
        ..Facts::new()
    };
    let events = short.source_waiting(&empty.ctx()).expect("backordered");
    assert_eq!(short.then(&events).lines[0].buckets.backordered, 1);
}

#[test]
fn a_short_picked_unit_goes_elsewhere_first_and_back_only_as_a_last_resort() {
    let short = Story::authorized().and(release_all()).and(pick(0));
    let resource = |facts: &Facts| {
        let events = short.source_waiting(&facts.ctx()).expect("re-sourced");
        short.then(&events).fulfillment_orders[1]
            .location_id
            .clone()
    };
    // East still claims 10 units, but its picker found none: west has one, west it is.
    let mut both = Facts::new();
    let mut west = both.locations[0].clone();
    west.id = Id::new("west");
    west.priority = 9;
    both.locations.push(west);
    both.stock.set(sku("A"), Id::new("west"), 1);
    assert_eq!(resource(&both), Id::new("west"));
    // Nobody else has it: east is asked again rather than the paid unit waiting.
    assert_eq!(resource(&Facts::new()), Id::new("east"));
}

#[test]
fn packing_refuses_a_wrong_item_and_one_too_many() {
    let story = picked();
    assert_eq!(
        story.when(pack(&["B"])),
        Err(OrderError::ScanNotInOrder("B".into()))
    );
    assert_eq!(
        story.when(pack(&["A", "A"])),
        Err(OrderError::ScanExceedsPicked("A".into()))
    );
    assert_eq!(story.when(pack(&[])), Err(OrderError::EmptyPackage));
    let order = story.and(pack(&["A"])).order();
    let fo = &order.fulfillment_orders[0];
    assert_eq!(fo.state, crate::fulfillment::FulfillmentState::Packed);
    assert_eq!(fo.packages[0].items[0].quantity, 1);
}

#[test]
fn shipping_moves_the_units_and_captures_on_shipment() {
    let packed = picked().and(pack(&["A"]));
    let on_shipment = packed.when(ship(CaptureMode::OnShipment)).expect("ships");
    assert!(
        on_shipment.iter().any(|e| matches!(e,
        OrderEvent::PaymentOpRequested(r) if r.kind == OpKind::Capture && r.amount_minor == TOTAL))
    );
    let on_authorization = packed
        .when(ship(CaptureMode::OnAuthorization))
        .expect("ships");
    assert_eq!(on_authorization.len(), 1, "nothing to capture then");
    let shipped = packed.and(ship(CaptureMode::OnShipment));
    let order = shipped.order();
    let b = order.lines[0].buckets;
    assert_eq!((b.allocated, b.released, b.shipped), (0, 0, 1));
    assert!(order.reservations.is_empty());
    assert_eq!(
        order.fulfillment_orders[0].state,
        crate::fulfillment::FulfillmentState::Shipped
    );
    assert_eq!(
        shipped.when(ship(CaptureMode::OnShipment)),
        Err(OrderError::PackageAlreadyShipped("pkg_1_1".into()))
    );
}

#[test]
fn tracking_never_moves_a_shipment_back_and_delivery_fills_the_bucket() {
    use crate::fulfillment::{FulfillmentState, TrackingStatus};
    let shipped = picked()
        .and(pack(&["A"]))
        .and(ship(CaptureMode::OnAuthorization))
        .and(scan(TrackingStatus::InTransit, 100));
    assert_eq!(
        shipped.order().fulfillment_orders[0].state,
        FulfillmentState::InTransit
    );
    // The same scan twice changes nothing; a late earlier scan is kept but moves nothing.
    assert_eq!(
        shipped.when(scan(TrackingStatus::InTransit, 100)),
        Ok(Vec::new())
    );
    let late = shipped.clone_with(scan(TrackingStatus::LabelCreated, 50));
    let s = &late.fulfillment_orders[0].shipments[0];
    assert_eq!(s.status(), TrackingStatus::InTransit);
    assert_eq!(s.scans.len(), 2);
    let delivered = shipped.and(scan(TrackingStatus::Delivered, 200)).order();
    assert_eq!(delivered.lines[0].buckets.delivered, 1);
    assert_eq!(
        delivered.fulfillment_orders[0].state,
        FulfillmentState::Delivered
    );
}

#[test]
fn a_missed_promise_or_a_long_silence_flags_the_shipment_delayed() {
    use crate::fulfillment::{ExceptionFlag, TrackingStatus};
    let shipped = picked()
        .and(pack(&["A"]))
        .and(ship(CaptureMode::OnAuthorization));
    let check = |now: i64, hours: u32| OrderCommand::CheckDelay {
        shipment_id: Id::new("shp_1_1"),
        now: at(now),
        silence_hours: hours,
    };
    // Shipped at second 11 or so; promised by second 86,400; silence of 48 hours.
    assert_eq!(shipped.when(check(3_600, 48)), Ok(Vec::new()));
    let late = shipped.when(check(86_400, 48)).expect("checked");
    assert!(matches!(&late[..], [OrderEvent::ShipmentDelayed(d)] if d.reason.contains("promised")));
    let quiet = shipped.when(check(50_000, 1)).expect("checked");
    assert!(matches!(&quiet[..], [OrderEvent::ShipmentDelayed(d)] if d.reason.contains("no scan")));
    let delivered = Story {
        events: shipped.events.clone(),
    }
    .and(scan(TrackingStatus::Delivered, 500));
    let flagged = shipped.and(check(86_400, 48));
    assert_eq!(
        flagged.order().fulfillment_orders[0].shipments[0].flags(),
        vec![ExceptionFlag::Delayed]
    );
    assert_eq!(
        flagged.when(check(90_000, 48)),
        Ok(Vec::new()),
        "flagged once"
    );
    assert_eq!(delivered.when(check(90_000, 48)), Ok(Vec::new()));
}

// ---------------------------------------------------------------------------------------
// Reserving stock at payment
// ---------------------------------------------------------------------------------------

fn place_reserving_at_payment(facts: &Facts) -> Vec<OrderEvent> {
    decide(
        None,
        OrderCommand::Place(Box::new(place_order(Some(card("pay_1"))))),
        Some(&facts.reserving_at_payment_ctx()),
    )
    .expect("placed")
}

impl Facts {
    fn reserving_at_payment_ctx(&self) -> PlaceContext<'_> {
        PlaceContext {
            reserve_at_payment: true,
            ..self.ctx()
        }
    }
}

#[test]
fn a_channel_reserving_at_payment_sources_only_once_the_order_is_paid() {
    let facts = Facts::new().reserving_at_payment();
    let placed = place_reserving_at_payment(&facts);
    assert!(
        !placed
            .iter()
            .any(|e| matches!(e, OrderEvent::OrderSourced(_))),
        "{placed:?}"
    );
    let story = Story { events: placed };
    let waiting = story.order();
    assert_eq!(waiting.lines[0].buckets.unallocated, 1);
    assert!(waiting.reservations.is_empty());
    // Unpaid: nothing to source yet.
    let early = story.source_waiting(&facts.reserving_at_payment_ctx());
    assert_eq!(early, Ok(Vec::new()));

    let paid = story.and(ok("pay_1.auth1"));
    let events = paid
        .source_waiting(&facts.reserving_at_payment_ctx())
        .expect("sourced");
    let [OrderEvent::OrderSourced(s)] = events.as_slice() else {
        panic!("{events:?}")
    };
    assert_eq!(s.reservations.len(), 1);
    assert_eq!(s.reservations[0].quantity, 1);
}

#[test]
fn stock_gone_by_payment_time_cancels_the_order_and_returns_the_money() {
    let facts = Facts::new().reserving_at_payment();
    let story = Story {
        events: place_reserving_at_payment(&facts),
    }
    .and(ok("pay_1.auth1"));
    let empty = Facts {
        stock: StockView::default(),
        ..Facts::new()
    };
    let events = story
        .source_waiting(&empty.reserving_at_payment_ctx())
        .expect("decided");
    let OrderEvent::OrderCancelled(c) = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(c.reason, CancelReason::OutOfStock);
    // Captured at authorization (the fixture's channel captures on shipment: voided).
    assert!(
        events.iter().any(|e| matches!(e,
            OrderEvent::PaymentOpRequested(r) if matches!(r.kind, OpKind::Void | OpKind::Refund))),
        "{events:?}"
    );
}

// ---------------------------------------------------------------------------------------
// Property test
// ---------------------------------------------------------------------------------------

mod properties {
    use super::*;
    use proptest::collection::vec;
    use proptest::prelude::*;
    use proptest::sample::Index;
    use std::collections::BTreeSet;

    #[derive(Debug, Clone)]
    enum Step {
        /// An answer for one of the order's operations, resolved or not, in any order.
        Outcome {
            op: Index,
            /// Answers one of the pending operations (when there is one) rather than any.
            pending_only: bool,
            success: bool,
            on_authorization: bool,
        },
        Capture(Option<i64>),
        Refund(i64),
        RetryRefund(Index),
        Expire(Index),
        Cancel,
        AddPayment {
            bank_transfer: bool,
        },
        MarkPaid(Index),
        /// The deadline timer fires this many seconds after placement.
        Deadline(i64),
    }

    fn step() -> impl Strategy<Value = Step> {
        // Mostly partial amounts, so that money is left over for the next command.
        let amount = prop_oneof![12 => 1i64..=TOTAL, 2 => TOTAL + 1..=TOTAL + 20, 1 => -2i64..=0];
        prop_oneof![
            12 => (
                any::<Index>(),
                prop::bool::weighted(0.75),
                prop::bool::weighted(0.8),
                prop::bool::weighted(0.3),
            )
                .prop_map(|(op, pending_only, success, on_authorization)| Step::Outcome {
                    op,
                    pending_only,
                    success,
                    on_authorization,
                }),
            4 => prop::option::weighted(0.7, amount.clone()).prop_map(Step::Capture),
            3 => amount.prop_map(Step::Refund),
            2 => any::<Index>().prop_map(Step::RetryRefund),
            2 => any::<Index>().prop_map(Step::Expire),
            2 => Just(Step::Cancel),
            2 => prop::bool::weighted(0.4).prop_map(|bank_transfer| Step::AddPayment { bank_transfer }),
            2 => any::<Index>().prop_map(Step::MarkPaid),
            1 => (0i64..=40).prop_map(Step::Deadline),
        ]
    }

    fn fail_msg(msg: String) -> TestCaseError {
        TestCaseError::fail(msg)
    }

    /// The money an order's events requested: (kind, amount) of each operation.
    fn ops_of(events: &[OrderEvent]) -> Vec<(OpKind, i64)> {
        events
            .iter()
            .filter_map(|e| match e {
                OrderEvent::PaymentOpRequested(r) => Some((r.kind, r.amount_minor)),
                _ => None,
            })
            .collect()
    }

    fn pending(order: &Order, payment_id: &Id, kind: OpKind) -> i64 {
        order
            .payment_ops
            .iter()
            .filter(|o| &o.payment_id == payment_id && o.kind == kind)
            .filter(|o| o.status == OpStatus::Pending)
            .map(|o| o.amount_minor)
            .sum()
    }

    /// Every invariant of the money side, after every step.
    fn check(order: &Order, stream: &[(OrderEvent, Timestamp)]) -> Result<(), TestCaseError> {
        let (mut captured, mut refunded_or_pending) = (0, 0);
        for p in &order.payments {
            let t = order.payment_totals(&p.id);
            prop_assert!(0 <= t.refunded, "{}: {t:?}", p.id);
            prop_assert!(
                t.refunded <= t.captured,
                "{}: refunded > captured {t:?}",
                p.id
            );
            prop_assert!(
                t.captured <= t.authorized,
                "{}: captured > authorized {t:?}",
                p.id
            );
            let open = t.authorized > 0 && t.closed.is_none();
            let capturing = pending(order, &p.id, OpKind::Capture);
            if open {
                prop_assert!(
                    capturing <= t.authorized - t.captured,
                    "{}: {capturing} pending capture but {t:?}",
                    p.id
                );
            }
            let refunding = pending(order, &p.id, OpKind::Refund);
            prop_assert!(
                t.refunded + refunding <= t.captured,
                "{}: {refunding} pending refund but {t:?}",
                p.id
            );
            let count = |k: EntryKind| {
                order
                    .ledger
                    .iter()
                    .filter(|e| e.payment_id == p.id && e.kind == k)
                    .count()
            };
            prop_assert!(
                count(EntryKind::Authorize) <= 1,
                "{} authorized twice",
                p.id
            );
            prop_assert!(
                count(EntryKind::Void) + count(EntryKind::Expiry) <= 1,
                "{} ended twice",
                p.id
            );
            captured += t.captured;
            refunded_or_pending += t.refunded + refunding;
        }
        prop_assert!(
            refunded_or_pending <= captured,
            "refunded and refunding {refunded_or_pending} > captured {captured}"
        );
        // A cancelled order keeps no money: once no capture is in flight, whatever was
        // captured and is neither refunded nor being refunded is owed by a failed refund.
        let capturing = order
            .payment_ops
            .iter()
            .any(|o| o.kind == OpKind::Capture && o.status == OpStatus::Pending);
        if order.state == OrderState::Cancelled && !capturing {
            let owed: i64 = order
                .refunds
                .iter()
                .map(|r| {
                    let (done, in_flight) = order.refund_progress(&r.id);
                    (r.amount_minor - done - in_flight).max(0)
                })
                .sum();
            prop_assert!(
                captured - refunded_or_pending <= owed,
                "cancelled but keeps {} (owed by failed refunds: {owed})",
                captured - refunded_or_pending
            );
        }
        for e in &order.ledger {
            if matches!(e.kind, EntryKind::Void | EntryKind::Expiry) {
                prop_assert_eq!(e.amount_minor, 0, "{:?}", e);
            } else {
                prop_assert!(e.amount_minor > 0, "{e:?}");
            }
        }
        let keys: BTreeSet<&str> = order
            .ledger
            .iter()
            .map(|e| e.idempotency_key.as_str())
            .collect();
        prop_assert_eq!(keys.len(), order.ledger.len(), "a ledger key is reused");
        let ids: BTreeSet<&Id> = order.payment_ops.iter().map(|o| &o.id).collect();
        prop_assert_eq!(
            ids.len(),
            order.payment_ops.len(),
            "an operation id is reused"
        );
        let payments: BTreeSet<&Id> = order.payments.iter().map(|p| &p.id).collect();
        prop_assert_eq!(
            payments.len(),
            order.payments.len(),
            "a payment id is reused"
        );

        prop_assert_eq!(order.payment_state(), derive_state(&order.ledger));
        prop_assert_eq!(order.version, stream.len() as u64);
        let replayed = replay(stream.iter().map(|(e, at)| (e, *at)));
        prop_assert_eq!(replayed, Ok(Some(order.clone())));
        Ok(())
    }

    /// Folds `events` recorded at `at` onto `order`, appending them to `stream`.
    fn fold(
        order: &mut Order,
        stream: &mut Vec<(OrderEvent, Timestamp)>,
        events: Vec<OrderEvent>,
        at: Timestamp,
    ) -> Result<(), TestCaseError> {
        for event in events {
            let version = stream.len() as u64 + 1;
            let next = evolve(Some(order.clone()), &event, at, version).map_err(|e| {
                let history: Vec<String> = stream.iter().map(|(e, _)| e.summary(None)).collect();
                fail_msg(format!(
                    "decide produced an unfoldable event {event:?}: {e}\nafter:\n  {}",
                    history.join("\n  ")
                ))
            })?;
            *order = next;
            stream.push((event, at));
        }
        Ok(())
    }

    /// Builds the command of `step` against `order`, and checks the answer afterwards.
    fn decide_step(order: &Order, step: &Step, n: i64) -> Result<Vec<OrderEvent>, TestCaseError> {
        let outcome = |success: bool| {
            if success {
                OpOutcome::Succeeded {
                    provider_reference: Some(format!("prov_{n}")),
                    authorization_expires_at: Some(at(n + 7 * 24 * 3600)),
                }
            } else {
                declined()
            }
        };
        let capturable: i64 = order.payments.iter().map(|p| order.capturable(&p.id)).sum();
        let refundable: i64 = order.payments.iter().map(|p| order.refundable(&p.id)).sum();
        let unexpected =
            |r: &Result<Vec<OrderEvent>, OrderError>| fail_msg(format!("{step:?} gave {r:?}"));
        let events = match step {
            Step::Outcome {
                op,
                pending_only,
                success,
                on_authorization,
            } => {
                let pending: Vec<&PaymentOp> = order
                    .payment_ops
                    .iter()
                    .filter(|o| o.status == OpStatus::Pending)
                    .collect();
                let op = if *pending_only && !pending.is_empty() {
                    *op.get(&pending)
                } else {
                    op.get(&order.payment_ops)
                };
                let capture = if *on_authorization {
                    CaptureMode::OnAuthorization
                } else {
                    CaptureMode::OnShipment
                };
                let r = decide(
                    Some(order),
                    OrderCommand::RecordOutcome {
                        op_id: op.id.clone(),
                        outcome: outcome(*success),
                        capture,
                    },
                    None,
                );
                let events = r.clone().map_err(|_| unexpected(&r))?;
                if op.status != OpStatus::Pending {
                    prop_assert_eq!(&events, &Vec::new(), "a duplicate answer changed things");
                }
                events
            }
            Step::Capture(amount) => {
                let r = decide(
                    Some(order),
                    OrderCommand::Capture {
                        amount_minor: *amount,
                    },
                    None,
                );
                match &r {
                    Ok(events) => {
                        let ops = ops_of(events);
                        prop_assert!(ops.iter().all(|&(k, a)| k == OpKind::Capture && a > 0));
                        let sum: i64 = ops.iter().map(|(_, a)| a).sum();
                        prop_assert_eq!(sum, amount.unwrap_or(capturable));
                        prop_assert!(sum <= capturable);
                    }
                    Err(OrderError::InvalidAmount) => prop_assert!(amount.is_some_and(|a| a <= 0)),
                    // A cancelled order takes no more money (even if its void failed).
                    Err(OrderError::IllegalTransition { .. }) => {
                        prop_assert_eq!(order.state, OrderState::Cancelled)
                    }
                    Err(OrderError::NothingToCapture) => prop_assert_eq!(capturable, 0),
                    Err(OrderError::CaptureExceedsAuthorized {
                        requested,
                        remaining,
                    }) => {
                        prop_assert_eq!(*remaining, capturable);
                        prop_assert!(requested > remaining);
                    }
                    Err(_) => return Err(unexpected(&r)),
                }
                r.unwrap_or_default()
            }
            Step::Refund(amount) => {
                let r = decide(Some(order), refund(&format!("ref_{n}"), *amount), None);
                match &r {
                    Ok(events) => {
                        let ops = ops_of(events);
                        prop_assert!(ops.iter().all(|&(k, a)| k == OpKind::Refund && a > 0));
                        prop_assert_eq!(ops.iter().map(|(_, a)| a).sum::<i64>(), *amount);
                    }
                    Err(OrderError::InvalidAmount) => prop_assert!(*amount <= 0),
                    Err(OrderError::RefundExceedsCaptured {
                        requested,
                        remaining,
                    }) => {
                        prop_assert_eq!(*remaining, refundable);
                        prop_assert!(requested > remaining);
                    }
                    Err(_) => return Err(unexpected(&r)),
                }
                r.unwrap_or_default()
            }
            Step::RetryRefund(which) => {
                let id = if order.refunds.is_empty() {
                    Id::new("ref_none")
                } else {
                    which.get(&order.refunds).id.clone()
                };
                let r = decide(
                    Some(order),
                    OrderCommand::RetryRefund {
                        refund_id: id.clone(),
                    },
                    None,
                );
                match &r {
                    Ok(events) => {
                        let refund = order.refunds.iter().find(|x| x.id == id).unwrap();
                        // Only a part that failed is asked for again (others may be in flight).
                        let failed = order.payment_ops.iter().any(|o| {
                            o.refund_id.as_ref() == Some(&id) && o.status == OpStatus::Failed
                        });
                        prop_assert!(failed, "retried {} with no failed part", id);
                        prop_assert_ne!(order.refund_status(refund), RefundStatus::Succeeded);
                        let (done, in_flight) = order.refund_progress(&id);
                        let sum: i64 = ops_of(events).iter().map(|(_, a)| a).sum();
                        prop_assert_eq!(sum, refund.amount_minor - done - in_flight);
                    }
                    Err(OrderError::UnknownRefund(_)) => prop_assert!(order.refunds.is_empty()),
                    Err(
                        OrderError::NothingToRetry(_) | OrderError::RefundExceedsCaptured { .. },
                    ) => {}
                    Err(_) => return Err(unexpected(&r)),
                }
                r.unwrap_or_default()
            }
            Step::Expire(which) => {
                let payment = which.get(&order.payments);
                let r = decide(
                    Some(order),
                    OrderCommand::ExpireAuthorization {
                        payment_id: payment.id.clone(),
                    },
                    None,
                );
                let events = r.clone().map_err(|_| unexpected(&r))?;
                prop_assert!(events.len() <= 1);
                events
            }
            Step::Cancel => {
                let r = decide(
                    Some(order),
                    OrderCommand::Cancel(CancelOrder {
                        reason: CancelReason::CustomerRequest,
                        note: None,
                        refund_id: Id::new(format!("ref_cancel_{n}")),
                    }),
                    None,
                );
                match &r {
                    Ok(events) => {
                        prop_assert!(matches!(events[0], OrderEvent::OrderCancelled(_)));
                        // What was captured and not yet being refunded is refunded.
                        let refunds: i64 = ops_of(events)
                            .iter()
                            .filter(|(k, _)| *k == OpKind::Refund)
                            .map(|(_, a)| a)
                            .sum();
                        prop_assert_eq!(refunds, refundable);
                    }
                    Err(OrderError::IllegalTransition { .. }) => {
                        prop_assert_eq!(order.state, OrderState::Cancelled);
                    }
                    Err(_) => return Err(unexpected(&r)),
                }
                r.unwrap_or_default()
            }
            Step::AddPayment { bank_transfer } => {
                let id = format!("pay_s{n}");
                let payment = if *bank_transfer {
                    manual(&id, PaymentMethod::BankTransfer)
                } else {
                    card(&id)
                };
                let r = decide(Some(order), OrderCommand::AddPayment(payment), None);
                match &r {
                    Ok(events) => {
                        let needed = order.total() - order.secured_minor();
                        prop_assert!(needed > 0);
                        prop_assert!(!order.authorization_pending());
                        let OrderEvent::PaymentAdded(p) = &events[0] else {
                            return Err(unexpected(&r));
                        };
                        prop_assert_eq!(p.amount_minor, needed);
                    }
                    Err(OrderError::PaymentNotNeeded | OrderError::IllegalTransition { .. }) => {}
                    Err(_) => return Err(unexpected(&r)),
                }
                r.unwrap_or_default()
            }
            Step::MarkPaid(which) => {
                let payment = which.get(&order.payments);
                let r = decide(
                    Some(order),
                    OrderCommand::MarkPaid {
                        payment_id: payment.id.clone(),
                        reference: None,
                    },
                    None,
                );
                match &r {
                    Ok(_) => prop_assert!(payment.method.is_manual()),
                    Err(OrderError::NotManualPayment(_)) => {
                        prop_assert!(!payment.method.is_manual())
                    }
                    Err(OrderError::AlreadyPaid(_)) => {}
                    Err(OrderError::IllegalTransition { .. }) => {
                        prop_assert_eq!(order.state, OrderState::Cancelled)
                    }
                    Err(_) => return Err(unexpected(&r)),
                }
                r.unwrap_or_default()
            }
            Step::Deadline(offset) => {
                let now = at(*offset);
                let r = decide(
                    Some(order),
                    OrderCommand::PaymentDeadline {
                        now,
                        refund_id: Id::new(format!("ref_timeout_{n}")),
                    },
                    None,
                );
                let events = r.clone().map_err(|_| unexpected(&r))?;
                if let Some(first) = events.first() {
                    prop_assert!(
                        matches!(first, OrderEvent::OrderCancelled(c) if c.reason == CancelReason::PaymentTimeout)
                    );
                    prop_assert!(order.payment_due_at.is_some_and(|due| due <= now));
                    prop_assert_eq!(order.state, OrderState::Pending);
                    prop_assert!(!order.authorization_pending());
                }
                events
            }
        };
        Ok(events)
    }

    fn run(due: Option<i64>, steps: &[Step]) -> Result<(), TestCaseError> {
        let mut facts = Facts::new();
        facts.payment_due_at = due.map(at);
        let placed = decide(
            None,
            OrderCommand::Place(Box::new(place_order(Some(card("pay_1"))))),
            Some(&facts.ctx()),
        )
        .map_err(|e| fail_msg(format!("placing failed: {e:?}")))?;
        let mut stream = Vec::new();
        let first = replay(placed.iter().map(|e| (e, at(0))))
            .map_err(|e| fail_msg(e.to_string()))?
            .ok_or_else(|| fail_msg("no state".into()))?;
        stream.extend(placed.into_iter().map(|e| (e, at(0))));
        let mut order = first;
        check(&order, &stream)?;
        for (n, step) in (1i64..).zip(steps) {
            let events = decide_step(&order, step, n)?;
            fold(&mut order, &mut stream, events, at(n))?;
            check(&order, &stream)?;
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn random_payment_commands_keep_the_money_invariants(
            due in prop::option::of(1i64..=30),
            steps in vec(step(), 1..=30),
        ) {
            run(due, &steps)?;
        }
    }
}

// ---------------------------------------------------------------------------------------
// Refunds of lines
// ---------------------------------------------------------------------------------------

/// `ord_1` with three units of A at 7.00 and one poster B at 15.00, a 3.00 discount, 2.00
/// of tax and 5.00 shipping (total 40.00), captured in full with `pay_1`. A's share of the
/// discount is 1.75 and of the tax 1.17, so A's line was paid 20.42; B's 14.58.
fn captured_two_lines() -> Story {
    let mut facts = Facts::new();
    facts.stock.set(sku("B"), Id::new("east"), 10);
    let mut place = place_order(Some(card("pay_1")));
    place.lines = vec![
        NewLine {
            sku: sku("A"),
            name: "Product A".into(),
            quantity: 3,
            unit_price: 700,
        },
        NewLine {
            sku: sku("B"),
            name: "Poster".into(),
            quantity: 1,
            unit_price: 1500,
        },
    ];
    place.discount_amount = 300;
    place.tax_amount = 200;
    place.shipping_amount = 500;
    let events = decide(
        None,
        OrderCommand::Place(Box::new(place)),
        Some(&facts.ctx()),
    )
    .expect("placing succeeds");
    Story { events }
        .and(ok("pay_1.auth1"))
        .and(capture(None))
        .and(ok("pay_1.cap2"))
}

fn line_refund(id: &str, amount_minor: Option<i64>, lines: &[(u32, u32)]) -> OrderCommand {
    OrderCommand::Refund(RequestRefund {
        id: Id::new(id),
        amount_minor,
        reason: RefundReason::Damaged,
        method: RefundMethod::OriginalPayment,
        lines: lines
            .iter()
            .map(|&(line_no, quantity)| crate::payment::RefundLine {
                line_no,
                quantity,
                amount_minor: 0,
            })
            .collect(),
        note: None,
    })
}

#[test]
fn line_refund_cannot_exceed_what_the_line_was_paid() {
    let story = captured_two_lines();
    let money = story.order().line_money();
    assert_eq!(
        money.iter().map(|m| m.paid_minor).collect::<Vec<_>>(),
        vec![2042, 1458]
    );
    // 50.00 against one poster paid 14.58.
    assert_eq!(
        story.when(line_refund("ref_1", Some(5000), &[(2, 1)])),
        Err(OrderError::RefundExceedsLine {
            line_no: 2,
            unit: "minor units",
            requested: 5000,
            remaining: 1458
        })
    );
    // Without an amount, the refund is the units' whole value.
    let events = story.when(line_refund("ref_1", None, &[(2, 1)])).unwrap();
    let OrderEvent::RefundRequested(r) = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(r.amount_minor, 1458);
    assert_eq!(r.lines[0].amount_minor, 1458);
}

#[test]
fn line_refund_cannot_give_back_more_units_than_were_sold_across_refunds() {
    let story = captured_two_lines()
        .and(line_refund("ref_1", None, &[(1, 1)]))
        .and(ok("pay_1.ref3"));
    let a = story.order().line_money()[0];
    assert_eq!((a.refunded_quantity, a.refunded_minor), (1, 680));
    assert_eq!(
        story.when(line_refund("ref_2", None, &[(1, 3)])),
        Err(OrderError::RefundExceedsLine {
            line_no: 1,
            unit: "units",
            requested: 3,
            remaining: 2
        })
    );
    // The last two units are worth exactly what is left of the line: no rounding leak.
    let rest = story.and(line_refund("ref_2", None, &[(1, 2)])).order();
    let a = rest.line_money()[0];
    assert_eq!((a.refunded_quantity, a.refunded_minor), (3, 2042));
    assert_eq!(rest.refunds[1].amount_minor, 1362);
}

#[test]
fn line_refund_pending_or_failed_still_holds_the_line() {
    // A refund in flight, or failed and awaiting its retry, is money owed for those
    // units: a second refund of them is refused while the first can still be retried.
    let pending = captured_two_lines().and(line_refund("ref_1", None, &[(2, 1)]));
    let failed = captured_two_lines()
        .and(line_refund("ref_1", None, &[(2, 1)]))
        .and(fail("pay_1.ref3"));
    for story in [&pending, &failed] {
        assert!(matches!(
            story.when(line_refund("ref_2", Some(1), &[(2, 1)])),
            Err(OrderError::RefundExceedsLine { unit: "units", .. })
        ));
    }
    assert!(failed.when(retry("ref_1")).is_ok());
}

#[test]
fn line_refund_allocation_is_recorded_per_line_and_adds_up() {
    let story = captured_two_lines();
    let events = story
        .when(line_refund("ref_1", Some(1000), &[(1, 1), (2, 1)]))
        .unwrap();
    let OrderEvent::RefundRequested(r) = &events[0] else {
        panic!("{events:?}")
    };
    // Shared in proportion to the units' values (6.80 and 14.58).
    let parts: Vec<(u32, u32, i64)> = r
        .lines
        .iter()
        .map(|l| (l.line_no, l.quantity, l.amount_minor))
        .collect();
    assert_eq!(parts, vec![(1, 1, 318), (2, 1, 682)]);
    assert_eq!(parts.iter().map(|p| p.2).sum::<i64>(), 1000);
}

#[test]
fn line_refund_naming_an_unknown_or_repeated_line_is_refused() {
    let story = captured_two_lines();
    for lines in [&[(9, 1)][..], &[(1, 1), (1, 1)], &[(1, 0)]] {
        assert!(matches!(
            story.when(line_refund("ref_1", None, lines)),
            Err(OrderError::InvalidRefundLine(_))
        ));
    }
}

#[test]
fn refund_not_tied_to_lines_is_bounded_by_what_the_order_can_still_refund() {
    // Shipping goodwill after both lines were refunded in full: only shipping is left.
    let story = captured_two_lines()
        .and(line_refund("ref_1", None, &[(1, 3), (2, 1)]))
        .and(ok("pay_1.ref3"));
    assert_eq!(
        story.when(refund("ref_2", 501)),
        Err(OrderError::RefundExceedsCaptured {
            requested: 501,
            remaining: 500
        })
    );
    assert!(story.when(refund("ref_2", 500)).is_ok());
}

// ---------------------------------------------------------------------------------------
// Failed captures and reviews on channels capturing at authorization
// ---------------------------------------------------------------------------------------

/// Placed on a channel capturing at authorization; the authorization went through and
/// asked for capture `pay_1.cap2`.
fn capturing_at_authorization() -> Story {
    Story::card().and(ok_with("pay_1.auth1", CaptureMode::OnAuthorization))
}

#[test]
fn capture_failure_places_a_capture_failed_hold_that_blocks_release() {
    let story = capturing_at_authorization();
    assert!(story.order().op(&Id::new("pay_1.cap2")).is_some());
    let failed = story.and(fail("pay_1.cap2")).order();
    assert_eq!(failed.payment_state(), PaymentState::Authorized);
    assert_eq!(
        failed.release_blockers(),
        vec!["hold:capture_failed".to_owned()]
    );
    assert!(
        failed
            .hold(HoldReason::CaptureFailed)
            .unwrap()
            .note
            .as_deref()
            .unwrap()
            .contains("Your card was declined")
    );
}

#[test]
fn capture_failure_hold_is_released_when_a_capture_goes_through() {
    let story = capturing_at_authorization()
        .and(fail("pay_1.cap2"))
        .and(capture(None));
    // Still held while the new capture is in flight.
    assert!(story.order().hold(HoldReason::CaptureFailed).is_some());
    let events = story.when(ok("pay_1.cap3")).unwrap();
    assert!(events.contains(&OrderEvent::HoldReleased(HoldChange {
        reason: HoldReason::CaptureFailed,
        note: Some("capture pay_1.cap3 went through".into()),
    })));
    let order = story.then(&events);
    assert_eq!(order.payment_state(), PaymentState::Captured);
    assert!(order.release_blockers().is_empty());
}

/// Placed with `pay_1` above the high-value threshold, so it waits for review.
fn under_review() -> Story {
    let mut facts = Facts::new();
    facts.risk.high_value_threshold_minor = Some(TOTAL - 1);
    Story::placed(Some(card("pay_1")), &facts)
}

#[test]
fn review_holds_the_authorization_instead_of_capturing() {
    let story = under_review();
    let events = story
        .when(ok_with("pay_1.auth1", CaptureMode::OnAuthorization))
        .unwrap();
    assert!(
        !events.iter().any(|e| matches!(
            e,
            OrderEvent::PaymentOpRequested(r) if r.kind == OpKind::Capture
        )),
        "{events:?}"
    );
    assert_eq!(
        story.then(&events).payment_state(),
        PaymentState::Authorized
    );
}

#[test]
fn review_released_captures_what_the_authorization_held() {
    let story = under_review().and(ok_with("pay_1.auth1", CaptureMode::OnAuthorization));
    let events = story
        .when(OrderCommand::ReleaseHold {
            hold: hold(HoldReason::HighValueReview),
            capture: CaptureMode::OnAuthorization,
        })
        .unwrap();
    assert_eq!(
        events[1..],
        [requested("pay_1.cap2", "pay_1", OpKind::Capture, TOTAL)]
    );
    // A channel capturing on shipment keeps the authorization open.
    let on_shipment = story.when(release(HoldReason::HighValueReview)).unwrap();
    assert_eq!(on_shipment.len(), 1);
}

#[test]
fn review_ending_in_cancellation_voids_instead_of_refunding() {
    let story = under_review().and(ok_with("pay_1.auth1", CaptureMode::OnAuthorization));
    let events = story.when(cancel()).unwrap();
    assert!(
        events.contains(&requested("pay_1.void2", "pay_1", OpKind::Void, TOTAL)),
        "{events:?}"
    );
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, OrderEvent::RefundRequested(_))),
        "{events:?}"
    );
}

// ---------------------------------------------------------------------------------------
// Deadlines that no longer apply
// ---------------------------------------------------------------------------------------

#[test]
fn deadline_met_by_payment_is_cleared_and_says_so() {
    let story = due_story(card("pay_1"));
    assert_eq!(story.order().payment_due_at, Some(at(3600)));
    let events = story.when(ok("pay_1.auth1")).unwrap();
    let cleared = events
        .iter()
        .find_map(|e| match e {
            OrderEvent::PaymentDeadlineCleared { reason } => Some(reason.clone()),
            _ => None,
        })
        .expect("the deadline is cleared");
    assert_eq!(
        cleared,
        "met, the order was confirmed (payment pay_1 authorized)"
    );
    assert_eq!(story.then(&events).payment_due_at, None);
    // Paid, the deadline timer has nothing to do.
    let paid = story.and(ok("pay_1.auth1"));
    assert_eq!(paid.when(deadline(at(3600))), Ok(vec![]));
}

#[test]
fn deadline_made_moot_by_cancellation_is_cleared() {
    let story = due_story(manual("pay_1", PaymentMethod::BankTransfer));
    let events = story.when(cancel()).unwrap();
    assert_eq!(
        events.last(),
        Some(&OrderEvent::PaymentDeadlineCleared {
            reason: "moot, the order was cancelled".into()
        })
    );
    assert_eq!(story.then(&events).payment_due_at, None);
}

#[test]
fn status_follows_the_goods_and_refunds_and_holds_are_facts_of_their_own() {
    // Captured and partly refunded before anything shipped: still paid, and the refund
    // is told by refund_state.
    let refunded = Story::captured()
        .and(refund("ref_1", 40))
        .and(ok("pay_1.ref3"))
        .order();
    assert_eq!(refunded.customer_status(), CustomerStatus::Paid);
    assert_eq!(refunded.refund_state(), RefundState::PartiallyRefunded);
    // In flight, then refused: refund_failed until the retry goes through.
    let pending = Story::captured().and(refund("ref_1", 40));
    assert_eq!(pending.order().refund_state(), RefundState::Pending);
    let failed = pending.and(fail("pay_1.ref3")).order();
    assert_eq!(failed.refund_state(), RefundState::RefundFailed);
    // Everything back, nothing shipped and not cancelled: refunded.
    let all = Story::captured()
        .and(refund("ref_1", TOTAL))
        .and(ok("pay_1.ref3"))
        .order();
    assert_eq!(all.customer_status(), CustomerStatus::Refunded);
    assert_eq!(all.refund_state(), RefundState::Refunded);
    // A hold reads on_hold, not paid.
    let held = Story::captured()
        .and(OrderCommand::PlaceHold(hold(HoldReason::Manual)))
        .order();
    assert!(held.on_hold());
    assert_eq!(held.customer_status(), CustomerStatus::OnHold);
}

#[test]
fn capture_without_an_earlier_failure_closes_no_exception_entry() {
    use super::exceptions::{ExceptionChange, exception_changes};
    // The common success writes nothing to the queues (group commit keeps it joinable).
    let story = capturing_at_authorization();
    let events = story.when(ok("pay_1.cap2")).unwrap();
    let order = story.then(&events);
    assert!(
        events
            .iter()
            .all(|e| exception_changes(e, &order).is_empty())
    );
    // After a refusal, the capture that goes through closes its entry.
    let failed = capturing_at_authorization()
        .and(fail("pay_1.cap2"))
        .and(capture(None));
    let events = failed.when(ok("pay_1.cap3")).unwrap();
    let order = failed.then(&events);
    assert!(events.iter().any(|e| matches!(
        exception_changes(e, &order).as_slice(),
        [ExceptionChange::Resolve { .. }]
    )));
}

// ---------------------------------------------------------------------------------------
// Why a line waits
// ---------------------------------------------------------------------------------------

fn waits(order: &Order) -> Vec<(String, u32)> {
    order
        .explain_line(1)
        .1
        .into_iter()
        .map(|w| (w.reason, w.quantity))
        .collect()
}

#[test]
fn a_line_says_why_its_units_wait() {
    // Reserved but unpaid.
    assert_eq!(
        waits(&Story::card().order()),
        vec![("awaiting_payment".to_owned(), 1)]
    );
    // Paid, its capture in flight on a channel capturing at authorization.
    assert_eq!(
        waits(&capturing_at_authorization().order()),
        vec![("awaiting_capture".to_owned(), 1)]
    );
    // The capture refused: held.
    let held = capturing_at_authorization().and(fail("pay_1.cap2")).order();
    assert_eq!(waits(&held), vec![("hold:capture_failed".to_owned(), 1)]);
    // Nothing blocks it, but it was not released yet: the edit window.
    assert_eq!(
        waits(&Story::authorized().order()),
        vec![("edit_window".to_owned(), 1)]
    );
    // It will ship from east's fulfillment order, still pending; a line the order does not
    // have says nothing.
    let placements = Story::authorized().order().explain_line(1).0;
    assert_eq!(
        placements
            .iter()
            .map(|p| (p.location_id.as_str(), p.state, p.quantity, p.shipped))
            .collect::<Vec<_>>(),
        vec![("east", crate::fulfillment::FulfillmentState::Pending, 1, 0)]
    );
    assert_eq!(
        Story::authorized().order().explain_line(9),
        (vec![], vec![])
    );
}
