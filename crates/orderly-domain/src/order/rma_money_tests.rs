//! Given / when / then tests for the money side of a return: when the policy's refund
//! timing comes (the `ResolveReturn` and `CompleteReturn` reactions), what a resolution
//! pays, what a failed provider refund shows, keep-it refunds and waived fees, and two
//! returns of one line. Each of the anchors' bugs is a named test here.

use super::rma_story::*;
use super::test_story::*;
use super::*;
use crate::payment::{OpKind, RefundLine, RefundMethod, RefundReason, RefundStatus};
use crate::returns::{Acceptance, Disposition, Outcome, RefundTiming, ReturnShipping, ReturnState};
use crate::values::Id;
use jiff::SignedDuration;

/// A 2.00 restocking fee and a 5.00 return label, refunded after inspection.
fn with_fees() -> crate::returns::Judgement {
    judgement(
        Outcome::Authorized,
        RefundTiming::AfterInspection,
        200,
        ReturnShipping::FlatFee { fee_minor: 500 },
    )
}

fn reactions_of(story: &Story) -> Vec<Reaction> {
    let policy = ReactionPolicy {
        release_delay: SignedDuration::ZERO,
    };
    reactions(&story.order(), &policy, at(8_000))
}

fn resolve_reaction(id: &str) -> Reaction {
    Reaction::ResolveReturn {
        return_id: Id::new(id),
    }
}

fn complete_reaction(id: &str) -> Reaction {
    Reaction::CompleteReturn {
        return_id: Id::new(id),
    }
}

/// Both units of A asked back with fees, received in full and the receipt closed.
fn received_with_fees() -> Story {
    delivered()
        .asking("ret_1", &[(1, 2)], with_fees())
        .step(track("ret_1", ReturnParcelStatus::InTransit))
        .step(receive("ret_1", &["A", "A"], true))
}

/// The three events of a resolution refunding `amount_minor` of `lines` through
/// `pay_1`'s operation `op`.
fn resolved_events(
    resolution: ReturnResolution,
    exceptions: Vec<PolicyException>,
    refund_lines: Vec<RefundLine>,
    op: &str,
) -> Vec<OrderEvent> {
    let refund_id = resolution.refund_id.clone().unwrap();
    let amount_minor = resolution.amount_minor;
    vec![
        OrderEvent::ReturnResolved(ReturnResolved {
            return_id: Id::new("ret_1"),
            resolution,
            exceptions,
        }),
        OrderEvent::RefundRequested(RefundRequested {
            id: refund_id.clone(),
            amount_minor,
            reason: RefundReason::Return,
            method: RefundMethod::OriginalPayment,
            lines: refund_lines,
            note: Some("return RMA-ret_1".into()),
        }),
        OrderEvent::PaymentOpRequested(PaymentOpRequested {
            id: Id::new(op),
            payment_id: Id::new("pay_1"),
            kind: OpKind::Refund,
            amount_minor,
            refund_id: Some(refund_id),
            to_store_credit: false,
        }),
    ]
}

// When the refund is due -------------------------------------------------------------------

#[test]
fn medusa_4052_receiving_a_return_does_not_force_its_refund() {
    // Refund timing after inspection: the receipt alone is no reason to pay.
    let story = received_with_fees();
    assert_eq!(ret(&story.order(), "ret_1").state, ReturnState::Received);
    assert_eq!(reactions_of(&story), []);
    assert!(!refund_due(ret(&story.order(), "ret_1")));
}

#[test]
fn after_inspection_the_refund_is_due_once_inspected_and_the_receipt_closed() {
    let partial = delivered()
        .asking("ret_1", &[(1, 2)], with_fees())
        .step(receive("ret_1", &["A"], false))
        .step(inspect(
            "ret_1",
            &[(1, Acceptance::Accepted, Disposition::Restock)],
        ));
    assert_eq!(ret(&partial.order(), "ret_1").state, ReturnState::Inspected);
    assert_eq!(reactions_of(&partial), [], "a unit is still awaited");
    let closed = partial.step(receive("ret_1", &[], true));
    assert_eq!(reactions_of(&closed), [resolve_reaction("ret_1")]);
}

#[test]
fn on_receipt_the_refund_is_due_when_the_receipt_closes_before_inspection() {
    let mut j = with_fees();
    j.refund_timing = RefundTiming::OnReceipt;
    let story = delivered()
        .asking("ret_1", &[(1, 2)], j)
        .step(receive("ret_1", &["A"], false));
    assert_eq!(reactions_of(&story), []);
    let closed = story.step(receive("ret_1", &["A"], true));
    assert_eq!(reactions_of(&closed), [resolve_reaction("ret_1")]);
}

#[test]
fn a_resolution_that_cannot_go_through_is_not_offered() {
    // The capture was declined: nothing was taken, so nothing can be given back.
    let story = delivered_with(false)
        .asking("ret_1", &[(1, 2)], authorized())
        .step(receive("ret_1", &["A", "A"], true))
        .step(restock_all("ret_1", 2));
    let order = story.order();
    assert!(refund_due(ret(&order, "ret_1")));
    assert_eq!(reactions_of(&story), []);
    assert!(matches!(
        story.when(resolve("ret_1", "ref_r1")),
        Err(OrderError::RefundExceedsCaptured { .. })
    ));
}

#[test]
fn a_lost_parcel_found_in_part_waits_for_the_receipt_to_close() {
    // Both units were lost; one turns up. The other is not settled by being lost: the
    // return waits until a person closes the receipt (or the unit turns up too).
    let story = delivered()
        .asking("ret_1", &[(1, 2)], authorized())
        .step(track("ret_1", ReturnParcelStatus::InTransit))
        .step(track("ret_1", ReturnParcelStatus::Lost))
        .step(receive("ret_1", &["A"], false))
        .step(restock_all("ret_1", 1));
    let order = story.order();
    assert_eq!(ret(&order, "ret_1").state, ReturnState::Inspected);
    assert!(!ret(&order, "ret_1").receipt_closed());
    assert_eq!(reactions_of(&story), []);
    let closed = story.clone().step(receive("ret_1", &[], true));
    let order = closed.order();
    assert_eq!(
        ret(&order, "ret_1").items[1].reception,
        crate::returns::Reception::Short
    );
    assert_eq!(reactions_of(&closed), [resolve_reaction("ret_1")]);
    let found = story.step(receive("ret_1", &["A"], true));
    assert_eq!(ret(&found.order(), "ret_1").state, ReturnState::Received);
    assert_eq!(
        reactions_of(&found),
        [],
        "the found unit is inspected first"
    );
}

// What a resolution pays -------------------------------------------------------------------

#[test]
fn a_resolution_refunds_the_accepted_units_less_the_fee_share_and_the_label() {
    let story = received_with_fees().step(inspect(
        "ret_1",
        &[
            (1, Acceptance::Accepted, Disposition::Restock),
            (2, Acceptance::Rejected, Disposition::ReturnToCustomer),
        ],
    ));
    assert_eq!(reactions_of(&story), [resolve_reaction("ret_1")]);
    let events = story.when(resolve("ret_1", "ref_r1")).unwrap();
    // One unit of A is worth 9.80 of the 19.61 judged; the 2.00 fee follows that share
    // (0.99), the 5.00 label is taken whole: 9.80 - 0.99 - 5.00 = 3.81.
    assert_eq!(
        events,
        resolved_events(
            ReturnResolution {
                refund_id: Some(Id::new("ref_r1")),
                value_minor: 980,
                restocking_fee_minor: 99,
                shipping_fee_minor: 500,
                amount_minor: 381,
                shipping_reimbursed_minor: 0,
                postage_refund_id: None,
                method: RefundMethod::OriginalPayment,
                lines: asked(&[(1, 1)]),
                at: at(7_000),
            },
            Vec::new(),
            vec![RefundLine {
                line_no: 1,
                quantity: 1,
                amount_minor: 381,
            }],
            "pay_1.ref3",
        )
    );
    let order = sound_then(&story, &events);
    assert_eq!(
        ret(&order, "ret_1").status(&order),
        ReturnState::RefundPending
    );
    assert_eq!(
        story
            .and(resolve("ret_1", "ref_r1"))
            .when(resolve("ret_1", "ref_r2")),
        Err(OrderError::ReturnAlreadyResolved("RMA-ret_1".into())),
        "one return, one refund"
    );
}

#[test]
fn a_return_with_nothing_accepted_has_nothing_to_resolve() {
    let story = received_with_fees().step(inspect(
        "ret_1",
        &[
            (1, Acceptance::Rejected, Disposition::Scrap),
            (2, Acceptance::Rejected, Disposition::ReturnToCustomer),
        ],
    ));
    assert_eq!(reactions_of(&story), []);
    assert_eq!(
        story.when(resolve("ret_1", "ref_r1")),
        Err(OrderError::NothingToResolve("RMA-ret_1".into()))
    );
}

#[test]
fn solidus_1093_a_failed_refund_never_reads_as_reimbursed() {
    let story = received_with_fees()
        .step(restock_all("ret_1", 2))
        .step(resolve("ret_1", "ref_r1"));
    let refund = &story.order().refunds[0];
    assert_eq!((refund.id.as_str(), refund.amount_minor), ("ref_r1", 1261));
    // The provider refuses the refund.
    let failed = story.step(fail("pay_1.ref3"));
    let order = failed.order();
    let r = ret(&order, "ret_1");
    assert_eq!(
        order.refund_status_of(&Id::new("ref_r1")),
        Some(RefundStatus::RefundFailed)
    );
    assert_eq!(r.status(&order), ReturnState::RefundFailed);
    assert_eq!(
        r.state,
        ReturnState::Inspected,
        "the goods are in, the money is not"
    );
    assert!(!complete_due(&order, r));
    assert_eq!(reactions_of(&failed), []);
    assert_eq!(
        failed.when(complete("ret_1")),
        Err(OrderError::ReturnState {
            rma: "RMA-ret_1".into(),
            state: ReturnState::Inspected,
            doing: "be completed yet"
        })
    );
    // Retried: pending again, then through; only then does the return complete.
    let retried = failed.step(retry("ref_r1"));
    let order = retried.order();
    assert_eq!(
        ret(&order, "ret_1").status(&order),
        ReturnState::RefundPending
    );
    assert_eq!(reactions_of(&retried), []);
    let paid = retried.step(ok("pay_1.ref4"));
    assert_eq!(reactions_of(&paid), [complete_reaction("ret_1")]);
    let done = paid.step(complete("ret_1"));
    let order = done.order();
    assert_eq!(ret(&order, "ret_1").status(&order), ReturnState::Completed);
    assert_eq!(reactions_of(&done), []);
    assert_eq!(return_buckets(&order, 1), (2, 2, 2));
}

#[test]
fn a_resolution_owing_nothing_completes_without_a_refund() {
    // One unit of B at 14.70 against a 20.00 label: nothing is owed.
    let j = judgement(
        Outcome::Authorized,
        RefundTiming::AfterInspection,
        0,
        ReturnShipping::FlatFee { fee_minor: 2_000 },
    );
    let story = delivered()
        .asking("ret_1", &[(2, 1)], j)
        .step(receive("ret_1", &["B"], true))
        .step(restock_all("ret_1", 1));
    let events = story.when(resolve("ret_1", "ref_r1")).unwrap();
    let [OrderEvent::ReturnResolved(r)] = &events[..] else {
        panic!("{events:?}")
    };
    assert_eq!(
        (r.resolution.refund_id.clone(), r.resolution.amount_minor),
        (None, 0)
    );
    let resolved = story.step(resolve("ret_1", "ref_r1"));
    assert_eq!(reactions_of(&resolved), [complete_reaction("ret_1")]);
    assert!(resolved.order().refunds.is_empty());
}

// Policy exceptions ------------------------------------------------------------------------

#[test]
fn a_keep_it_refund_completes_without_any_receipt() {
    let story = delivered().asking("ret_1", &[(2, 1)], authorized());
    let events = story
        .when(resolve_with("ret_1", "ref_r1", false, true))
        .unwrap();
    assert_eq!(
        events,
        resolved_events(
            ReturnResolution {
                refund_id: Some(Id::new("ref_r1")),
                value_minor: B_PAID,
                restocking_fee_minor: 0,
                shipping_fee_minor: 0,
                amount_minor: B_PAID,
                shipping_reimbursed_minor: 0,
                postage_refund_id: None,
                method: RefundMethod::OriginalPayment,
                lines: asked(&[(2, 1)]),
                at: at(7_000),
            },
            vec![PolicyException::RefundWithoutReturn],
            vec![RefundLine {
                line_no: 2,
                quantity: 1,
                amount_minor: B_PAID,
            }],
            "pay_1.ref3",
        )
    );
    let resolved = story.step(resolve_with("ret_1", "ref_r1", false, true));
    assert_eq!(
        reactions_of(&resolved),
        [],
        "the refund is still with the provider"
    );
    let paid = resolved.step(ok("pay_1.ref3"));
    assert_eq!(reactions_of(&paid), [complete_reaction("ret_1")]);
    let order = paid.step(complete("ret_1")).order();
    let r = ret(&order, "ret_1");
    assert_eq!(r.state, ReturnState::Completed);
    assert_eq!(r.exceptions, vec![PolicyException::RefundWithoutReturn]);
    assert!(
        r.items
            .iter()
            .all(|i| i.reception == crate::returns::Reception::Awaiting)
    );
    assert_eq!(return_buckets(&order, 2), (1, 0, 0));
    assert_eq!(order.returnable_units(2), 0, "kept, not returnable again");
}

#[test]
fn a_keep_it_refund_is_only_for_goods_not_yet_arrived() {
    let story = received_with_fees();
    assert_eq!(
        story
            .when(resolve_with("ret_1", "ref_r1", false, true))
            .unwrap_err()
            .code(),
        "illegal_return_transition"
    );
}

#[test]
fn a_waived_fee_is_an_exception_and_refunds_the_full_value() {
    let story = received_with_fees().step(restock_all("ret_1", 2));
    let events = story
        .when(resolve_with("ret_1", "ref_r1", true, false))
        .unwrap();
    let OrderEvent::ReturnResolved(r) = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(r.exceptions, vec![PolicyException::FeeWaived]);
    let res = &r.resolution;
    assert_eq!(
        (
            res.value_minor,
            res.restocking_fee_minor,
            res.shipping_fee_minor,
            res.amount_minor
        ),
        (A_PAID, 0, 0, A_PAID)
    );
    let order = sound_then(&story, &events);
    assert_eq!(
        ret(&order, "ret_1").exceptions,
        vec![PolicyException::FeeWaived]
    );
    // Waiving a fee the policy did not charge sets nothing aside.
    let free = delivered()
        .asking("ret_1", &[(2, 1)], authorized())
        .step(receive("ret_1", &["B"], true))
        .step(restock_all("ret_1", 1));
    let events = free
        .when(resolve_with("ret_1", "ref_r1", true, false))
        .unwrap();
    let OrderEvent::ReturnResolved(r) = &events[0] else {
        panic!("{events:?}")
    };
    assert!(r.exceptions.is_empty());
}

// Two returns of one line ------------------------------------------------------------------

/// Return `id` of one unit of A, received, restocked, refunded through `op` and
/// completed.
fn one_a_returned(story: Story, id: &str, refund_id: &str, op: &str) -> Story {
    let story = story
        .asking(id, &[(1, 1)], authorized())
        .step(receive(id, &["A"], true))
        .step(restock_all(id, 1));
    assert_eq!(reactions_of(&story), [resolve_reaction(id)]);
    let story = story.step(resolve(id, refund_id)).step(ok(op));
    assert_eq!(reactions_of(&story), [complete_reaction(id)]);
    story.step(complete(id))
}

#[test]
fn medusa_14936_13433_two_returns_of_one_line_add_up() {
    let first = one_a_returned(delivered(), "ret_1", "ref_r1", "pay_1.ref3");
    let order = first.order();
    assert_eq!(return_buckets(&order, 1), (1, 1, 1));
    assert_eq!(order.returnable_units(1), 1);
    assert_eq!(order.return_summary(), ReturnSummary::PartiallyReturned);
    let second = one_a_returned(first, "ret_2", "ref_r2", "pay_1.ref4");
    let order = second.order();
    assert_eq!(return_buckets(&order, 1), (2, 2, 2));
    assert_eq!(order.returnable_units(1), 0);
    assert_eq!(
        order.return_summary(),
        ReturnSummary::PartiallyReturned,
        "B is kept"
    );
    let refunds: Vec<i64> = order.refunds.iter().map(|r| r.amount_minor).collect();
    assert_eq!(
        refunds,
        vec![980, 981],
        "the line's units add up to what it was paid"
    );
    let a = order.line_money()[0];
    assert_eq!((a.refunded_quantity, a.refunded_minor), (2, A_PAID));
    assert_eq!(
        second.when(ask(&second, "ret_3", &[(1, 1)], authorized())),
        Err(OrderError::ReturnQuantity {
            line_no: 1,
            requested: 1,
            returnable: 0
        })
    );
    // B goes back too: the whole order is returned and refunded, to the minor unit.
    let all = second
        .asking("ret_3", &[(2, 1)], authorized())
        .step(receive("ret_3", &["B"], true))
        .step(restock_all("ret_3", 1))
        .step(resolve("ret_3", "ref_r3"))
        .step(ok("pay_1.ref5"));
    let order = all.order();
    assert_eq!(order.return_summary(), ReturnSummary::Returned);
    let refunded: i64 = order.refunds.iter().map(|r| r.amount_minor).sum();
    assert_eq!(refunded, A_PAID + B_PAID);
    assert_eq!(
        ORDER_TOTAL - refunded,
        500,
        "only the outbound shipping is kept"
    );
}

// Reactions beside the others ---------------------------------------------------------------

#[test]
fn on_carrier_acceptance_the_refund_is_due_once_the_parcel_moves() {
    let mut j = authorized();
    j.refund_timing = RefundTiming::OnCarrierAcceptance;
    let story = delivered().asking("ret_1", &[(1, 1)], j);
    assert_eq!(reactions_of(&story), [], "not shipped yet");
    let moving = story.step(track("ret_1", ReturnParcelStatus::InTransit));
    assert_eq!(reactions_of(&moving), [resolve_reaction("ret_1")]);
    let paid = moving
        .step(resolve("ret_1", "ref_r1"))
        .step(ok("pay_1.ref3"));
    assert_eq!(reactions_of(&paid), [], "paid, but the goods are not in");
    let done = paid
        .step(receive("ret_1", &["A"], true))
        .step(restock_all("ret_1", 1));
    assert_eq!(reactions_of(&done), [complete_reaction("ret_1")]);
}

#[test]
fn goods_rejected_after_their_refund_went_out_wait_for_a_person() {
    use super::exceptions::{ExceptionChange, exception_changes, kind};
    let mut j = authorized();
    j.refund_timing = RefundTiming::OnCarrierAcceptance;
    let refunded = delivered()
        .asking("ret_1", &[(1, 1)], j)
        .step(track("ret_1", ReturnParcelStatus::InTransit))
        .step(resolve("ret_1", "ref_r1"))
        .step(ok("pay_1.ref3"))
        .step(receive("ret_1", &["A"], true));
    let cmd = inspect(
        "ret_1",
        &[(1, Acceptance::Rejected, Disposition::ReturnToCustomer)],
    );
    let events = refunded.when(cmd).unwrap();
    let order = refunded.then(&events);
    let opened: Vec<(&str, String)> = events
        .iter()
        .flat_map(|e| exception_changes(e, &order))
        .filter_map(|c| match c {
            ExceptionChange::Open(e) => Some((e.kind, e.detail)),
            ExceptionChange::Resolve { .. } => None,
        })
        .collect();
    assert_eq!(
        opened,
        [
            (
                kind::RETURN_NEEDS_DECISION,
                "RMA-ret_1: items 1 were rejected, but the refund went out before inspection"
                    .to_owned()
            ),
            (
                kind::RETURN_SEND_BACK,
                "RMA-ret_1: items 1 wait for their parcel back to the customer".to_owned()
            )
        ]
    );
}

#[test]
fn a_parcel_lost_after_its_refund_ends_once_a_person_closes_its_receipt() {
    let mut j = authorized();
    j.refund_timing = RefundTiming::OnCarrierAcceptance;
    let lost = delivered()
        .asking("ret_1", &[(1, 1)], j)
        .step(track("ret_1", ReturnParcelStatus::InTransit))
        .step(resolve("ret_1", "ref_r1"))
        .step(ok("pay_1.ref3"))
        .step(track("ret_1", ReturnParcelStatus::Lost));
    assert_eq!(reactions_of(&lost), [], "the parcel may still turn up");
    let closed = lost.step(receive("ret_1", &[], true));
    assert_eq!(
        ret(&closed.order(), "ret_1").items[0].reception,
        crate::returns::Reception::Short
    );
    assert_eq!(reactions_of(&closed), [complete_reaction("ret_1")]);
    let done = closed.step(complete("ret_1")).order();
    assert_eq!(ret(&done, "ret_1").state, ReturnState::Completed);
}

#[test]
fn a_store_credit_refund_is_settled_before_the_return_completes() {
    let mut j = authorized();
    j.refund_method = RefundMethod::StoreCredit;
    let story = delivered()
        .asking("ret_1", &[(2, 1)], j)
        .step(receive("ret_1", &["B"], true))
        .step(restock_all("ret_1", 1))
        .step(resolve("ret_1", "ref_r1"));
    assert_eq!(
        reactions_of(&story),
        [Reaction::SettleStoreCredit {
            op_id: Id::new("pay_1.ref3"),
            redeem_minor: None,
        }]
    );
    let settled = story.step(OrderCommand::RecordOutcome {
        op_id: Id::new("pay_1.ref3"),
        outcome: store_credit_settled(),
        capture: crate::payment::CaptureMode::OnAuthorization,
    });
    assert_eq!(reactions_of(&settled), [complete_reaction("ret_1")]);
}

#[test]
fn the_customers_postage_is_paid_back_by_a_refund_of_its_own_tied_to_no_line() {
    // The customer shipped both units of A themselves; 3.00 of their postage is paid back.
    let mut j = with_fees();
    j.return_shipping = ReturnShipping::CustomerLabel {
        reimburse_up_to_minor: 800,
    };
    j.shipping_reimbursed_minor = 300;
    let story = delivered()
        .asking("ret_1", &[(1, 2)], j)
        .step(receive("ret_1", &["A", "A"], true))
        .step(restock_all("ret_1", 2));
    let events = story.when(resolve("ret_1", "ref_r1")).unwrap();
    let summary = events[0].summary(Some(&story.order()));
    assert!(
        summary.contains("the customer's postage USD 3.00 paid back"),
        "{summary}"
    );
    let resolved = story.step(resolve("ret_1", "ref_r1"));
    let order = resolved.order();
    let res = ret(&order, "ret_1").resolution.clone().unwrap();
    let goods = value_of(&order, &[(1, 2)]) - 200;
    assert_eq!(
        (res.amount_minor, res.shipping_reimbursed_minor),
        (goods, 300),
        "the goods less the fee, no label fee; the postage apart"
    );
    assert_eq!(res.postage_refund_id, Some(Id::new("ref_r1_postage")));
    let refunds: Vec<(&str, i64, usize)> = order
        .refunds
        .iter()
        .map(|r| (r.id.as_str(), r.amount_minor, r.lines.len()))
        .collect();
    assert_eq!(
        refunds,
        [("ref_r1", goods, 1), ("ref_r1_postage", 300, 0)],
        "the goods' refund is bounded by its line, the postage by the order"
    );
    assert_eq!(
        ret(&order, "ret_1").status(&order),
        ReturnState::RefundPending
    );
    // The goods' refund goes through; the postage's is refused: not reimbursed yet.
    let goods_paid = resolved.step(ok("pay_1.ref3"));
    assert_eq!(reactions_of(&goods_paid), []);
    let refused = goods_paid.step(fail("pay_1.ref4"));
    let order = refused.order();
    assert_eq!(
        ret(&order, "ret_1").status(&order),
        ReturnState::RefundFailed
    );
    assert_eq!(reactions_of(&refused), []);
    let retried = refused.step(retry("ref_r1_postage")).step(ok("pay_1.ref5"));
    assert_eq!(reactions_of(&retried), [complete_reaction("ret_1")]);
}

#[test]
fn postage_is_never_paid_back_beyond_what_the_payments_can_return() {
    let mut j = authorized();
    j.return_shipping = ReturnShipping::CustomerLabel {
        reimburse_up_to_minor: 1_000_000,
    };
    j.shipping_reimbursed_minor = 1_000_000;
    let story = delivered()
        .asking("ret_1", &[(1, 2)], j)
        .step(receive("ret_1", &["A", "A"], true))
        .step(restock_all("ret_1", 2));
    let before = story.order();
    let room: i64 = before
        .payments
        .iter()
        .map(|p| before.refundable(&p.id))
        .sum();
    let order = story.step(resolve("ret_1", "ref_r1")).order();
    let res = ret(&order, "ret_1").resolution.clone().unwrap();
    assert_eq!(res.amount_minor, value_of(&order, &[(1, 2)]));
    assert_eq!(res.shipping_reimbursed_minor, room - res.amount_minor);
    let left: i64 = order.payments.iter().map(|p| order.refundable(&p.id)).sum();
    assert_eq!(left, 0, "everything taken went back, nothing more");
}
