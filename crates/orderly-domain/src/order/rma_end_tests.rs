//! Given / when / then tests for how a return ends without completing (cancellation,
//! expiry), and for its stream: folding it from scratch gives the state built step by
//! step, the state survives a serde round trip, and every step reads on the timeline.

use super::rma_story::*;
use super::test_story::*;
use super::*;
use crate::returns::{Acceptance, Disposition, ReturnState, Rule};
use crate::values::Id;

fn in_review() -> crate::returns::Judgement {
    review_judgement(vec![Rule::OutsideWindow])
}

// Expiry -----------------------------------------------------------------------------------

#[test]
fn an_authorized_return_not_shipped_by_its_date_expires_and_frees_its_units() {
    let story = delivered().asking("ret_1", &[(1, 2)], authorized());
    assert_eq!(
        story.when(expire_return("ret_1", SHIP_BY - 1)),
        Ok(Vec::new())
    );
    let events = story.when(expire_return("ret_1", SHIP_BY)).unwrap();
    assert_eq!(
        events,
        vec![OrderEvent::ReturnExpired(ReturnClosed {
            return_id: Id::new("ret_1"),
            reason: "not shipped within the policy's time".into(),
        })]
    );
    assert_eq!(
        story.when(expire_return("ret_1", SHIP_BY + 86_400)),
        Ok(events.clone()),
        "a late timer expires it too"
    );
    let order = sound_then(&story, &events);
    assert_eq!(ret(&order, "ret_1").state, ReturnState::Expired);
    assert_eq!(return_buckets(&order, 1), (0, 0, 0));
    assert_eq!(order.returnable_units(1), 2);
    let expired = story.step(expire_return("ret_1", SHIP_BY));
    assert_eq!(
        expired.when(expire_return("ret_1", SHIP_BY + 1)),
        Ok(Vec::new()),
        "expired once"
    );
}

#[test]
fn a_return_on_its_way_or_in_review_does_not_expire() {
    let moving = delivered()
        .asking("ret_1", &[(1, 1)], authorized())
        .step(track("ret_1", ReturnParcelStatus::InTransit));
    assert_eq!(
        moving.when(expire_return("ret_1", SHIP_BY + 1)),
        Ok(Vec::new())
    );
    let review = delivered().asking("ret_1", &[(1, 1)], in_review());
    assert_eq!(
        review.when(expire_return("ret_1", SHIP_BY + 1)),
        Ok(Vec::new())
    );
    // Kept with a refund: settled, nothing to ship.
    let kept = delivered()
        .asking("ret_1", &[(2, 1)], authorized())
        .step(resolve_with("ret_1", "ref_r1", false, true));
    assert_eq!(
        kept.when(expire_return("ret_1", SHIP_BY + 1)),
        Ok(Vec::new())
    );
}

#[test]
fn an_approved_return_expires_a_whole_shipping_time_after_its_approval() {
    let story = delivered()
        .asking("ret_1", &[(1, 1)], in_review())
        .step(review("ret_1", true));
    let ship_by = ret(&story.order(), "ret_1").ship_by.unwrap();
    assert!(ship_by > at(SHIP_BY));
    assert_eq!(story.when(expire_return("ret_1", SHIP_BY)), Ok(Vec::new()));
    let late = ship_by.as_second() - at(0).as_second();
    let events = story.when(expire_return("ret_1", late)).unwrap();
    assert!(matches!(&events[..], [OrderEvent::ReturnExpired(_)]));
}

// Cancellation -----------------------------------------------------------------------------

#[test]
fn cancelling_a_return_in_review_or_authorized_frees_its_units() {
    for j in [in_review(), authorized()] {
        let story = delivered().asking("ret_1", &[(1, 2), (2, 1)], j);
        let events = story.when(cancel_return("ret_1")).unwrap();
        assert_eq!(
            events,
            vec![OrderEvent::ReturnCancelled(ReturnClosed {
                return_id: Id::new("ret_1"),
                reason: "customer changed their mind".into(),
            })]
        );
        let cancelled = story.step(cancel_return("ret_1"));
        let order = cancelled.order();
        assert_eq!(ret(&order, "ret_1").state, ReturnState::Cancelled);
        assert_eq!(return_buckets(&order, 1), (0, 0, 0));
        assert_eq!(return_buckets(&order, 2), (0, 0, 0));
        assert_eq!(
            cancelled.when(cancel_return("ret_1")).unwrap_err().code(),
            "illegal_return_transition",
            "cancelled once"
        );
        // The units may be asked back again.
        cancelled.asking("ret_2", &[(1, 2), (2, 1)], authorized());
    }
}

#[test]
fn a_lost_parcel_can_be_cancelled_and_its_units_freed() {
    let story = delivered()
        .asking("ret_1", &[(1, 1)], authorized())
        .step(track("ret_1", ReturnParcelStatus::InTransit))
        .step(track("ret_1", ReturnParcelStatus::Lost))
        .step(cancel_return("ret_1"));
    assert_eq!(return_buckets(&story.order(), 1), (0, 0, 0));
}

#[test]
fn a_return_whose_goods_arrived_or_money_was_settled_cannot_be_cancelled() {
    let received = delivered()
        .asking("ret_1", &[(1, 1)], authorized())
        .step(receive("ret_1", &["A"], false));
    assert_eq!(
        received.when(cancel_return("ret_1")),
        Err(OrderError::ReturnState {
            rma: "RMA-ret_1".into(),
            state: ReturnState::Received,
            doing: "be cancelled"
        })
    );
    let in_transit = delivered()
        .asking("ret_1", &[(1, 1)], authorized())
        .step(track("ret_1", ReturnParcelStatus::InTransit));
    assert_eq!(
        in_transit.when(cancel_return("ret_1")).unwrap_err().code(),
        "illegal_return_transition"
    );
    let kept = delivered()
        .asking("ret_1", &[(2, 1)], authorized())
        .step(resolve_with("ret_1", "ref_r1", false, true));
    assert_eq!(
        kept.when(cancel_return("ret_1")).unwrap_err().code(),
        "illegal_return_transition",
        "refunded: the return is no longer the customer's to call off"
    );
}

// Replay -----------------------------------------------------------------------------------

/// Three returns on one order: `ret_1` lost, found, inspected, refunded after a failure
/// and completed; `ret_3` cancelled; `ret_2` approved in review and kept with a refund.
fn three_returns() -> Story {
    delivered()
        .asking("ret_1", &[(1, 2)], authorized())
        .step(track("ret_1", ReturnParcelStatus::InTransit))
        .step(track("ret_1", ReturnParcelStatus::Lost))
        .step(receive("ret_1", &["A", "?stray"], false))
        .step(receive("ret_1", &["A"], true))
        .step(inspect(
            "ret_1",
            &[
                (1, Acceptance::Accepted, Disposition::Restock),
                (2, Acceptance::Rejected, Disposition::Quarantine),
            ],
        ))
        .step(resolve("ret_1", "ref_r1"))
        .step(fail("pay_1.ref3"))
        .step(retry("ref_r1"))
        .step(ok("pay_1.ref4"))
        .step(complete("ret_1"))
        .asking("ret_3", &[(2, 1)], authorized())
        .step(cancel_return("ret_3"))
        .asking("ret_2", &[(2, 1)], in_review())
        .step(review("ret_2", true))
        .step(resolve_with("ret_2", "ref_r2", false, true))
        .step(ok("pay_1.ref5"))
        .step(complete("ret_2"))
}

#[test]
fn a_return_stream_folds_from_scratch_to_the_state_built_step_by_step() {
    let story = three_returns();
    // Step by step, as the runner folds each decision onto the snapshot it has.
    let mut incremental: Option<Order> = None;
    for (version, (event, n)) in (1u64..).zip(story.events.iter().zip(1..)) {
        incremental = Some(evolve(incremental, event, at(n), version).unwrap());
    }
    let incremental = incremental.unwrap();
    let replayed = story.order();
    assert_eq!(incremental, replayed);
    assert_sound(&replayed);
    let states: Vec<ReturnState> = replayed.returns.iter().map(|r| r.state).collect();
    assert_eq!(
        states,
        [
            ReturnState::Completed,
            ReturnState::Cancelled,
            ReturnState::Completed
        ]
    );
    assert_eq!(return_buckets(&replayed, 1), (2, 2, 1));
    assert_eq!(return_buckets(&replayed, 2), (1, 0, 0));
    assert_eq!(ret(&replayed, "ret_1").unexpected.len(), 1);
    // The snapshot and the stored events survive JSON.
    let json = serde_json::to_string(&replayed).unwrap();
    assert_eq!(serde_json::from_str::<Order>(&json).unwrap(), replayed);
    let stored: Vec<OrderEvent> = story
        .events
        .iter()
        .map(|e| serde_json::from_str(&serde_json::to_string(e).unwrap()).unwrap())
        .collect();
    assert_eq!(stored, story.events);
    assert_eq!(given(&stored), replayed);
}

#[test]
fn every_return_step_reads_on_the_timeline_with_its_rma() {
    let story = three_returns();
    let mut before: Option<Order> = None;
    let mut read = Vec::new();
    for (version, (event, n)) in (1u64..).zip(story.events.iter().zip(1..)) {
        if event.kind().starts_with("return_") {
            let text = event.summary(before.as_ref());
            assert!(text.contains("RMA-ret_"), "{}: {text}", event.kind());
            // Each decision names the policy version it was made under.
            let decision = [
                "return_requested",
                "return_reviewed",
                "return_received",
                "return_inspected",
                "return_items_decided",
                "return_resolved",
            ];
            if decision.contains(&event.kind()) {
                assert!(text.contains("policy 2026-11"), "{}: {text}", event.kind());
            }
            read.push(text);
        }
        before = Some(evolve(before, event, at(n), version).unwrap());
    }
    assert_eq!(
        read.len(),
        14,
        "eight steps of ret_1, two of ret_3, four of ret_2"
    );
    assert!(read[0].contains("policy 2026-11"), "{}", read[0]);
    assert!(
        read.iter()
            .any(|t| t.contains("policy exception: refund_without_return"))
    );
}
