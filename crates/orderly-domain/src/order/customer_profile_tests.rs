//! A customer's profile, derived from real order histories built by deciding commands.

use super::test_story::*;
use super::*;
use crate::customer::{CustomerFacts, CustomerFlag, profile};
use crate::payment::{CaptureMode, RefundMethod, RefundReason};
use crate::values::Id;

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

#[test]
fn lifetime_value_is_what_was_captured_and_kept_and_counts_follow_the_orders() {
    // Captured in full, then shipped; then 40 of it refunded.
    let kept = Story::captured()
        .and(release_all())
        .and(pick(1))
        .and(pack(&["A"]))
        .and(ship(CaptureMode::OnAuthorization))
        .and(refund("ref_1", 40))
        .and(ok("pay_1.ref3"))
        .order();
    // Placed and cancelled before any money moved.
    let cancelled = Story::card()
        .and(OrderCommand::Cancel(CancelOrder {
            reason: CancelReason::CustomerRequest,
            note: None,
            refund_id: Id::new("ref_cancel"),
        }))
        .order();
    assert_eq!(cancelled.state, OrderState::Cancelled);

    let p = profile(&[kept.clone(), cancelled], &CustomerFacts::default());
    assert_eq!(p.addresses.first(), Some(&kept.shipping_address));
    assert_eq!(p.orders, 2);
    assert_eq!(p.cancelled_orders, 1);
    assert_eq!(p.refunds, 1);
    assert_eq!(p.spend.len(), 1);
    let usd = &p.spend[0];
    assert_eq!(usd.currency, "USD");
    assert_eq!(
        usd.ordered_minor, TOTAL,
        "a cancelled order's total is not spend"
    );
    assert_eq!((usd.captured_minor, usd.refunded_minor), (TOTAL, 40));
    assert_eq!(usd.lifetime_value_minor(), TOTAL - 40);
    assert_eq!(p.shipped_units, 1);
    assert_eq!(p.return_rate_per_mille(), Some(0));
    assert_eq!(p.addresses.len(), 1, "one address, listed once");
    assert!(p.flags.is_empty());
}

#[test]
fn nothing_shipped_has_no_return_rate_and_a_fraud_hold_raises_the_flag() {
    let mut held = Story::card().order();
    held.holds.push(Hold {
        reason: HoldReason::FraudReview,
        note: Some("card used on 6 emails".into()),
        placed_at: at(5),
    });
    let p = profile(&[held.clone()], &CustomerFacts::default());
    assert_eq!(p.return_rate_per_mille(), None);
    assert_eq!(p.flags.len(), 1);
    assert_eq!(p.flags[0].flag, CustomerFlag::FraudReview);
    assert!(
        p.flags[0].reason.contains(&held.number),
        "{}",
        p.flags[0].reason
    );
    assert!(p.flags[0].reason.contains("card used on 6 emails"));

    // A person's flag stands in place of the derived one, not beside it.
    let facts = crate::customer::evolve(
        CustomerFacts::default(),
        &crate::customer::CustomerEvent::FlagRaised {
            flag: CustomerFlag::FraudReview,
            reason: "chargeback last month".into(),
        },
        "key:support",
        at(9),
    );
    let p = profile(&[held], &facts);
    assert_eq!(p.flags.len(), 1);
    assert_eq!(p.flags[0].reason, "chargeback last month");
    assert_eq!(p.flags[0].by, "key:support");
}
