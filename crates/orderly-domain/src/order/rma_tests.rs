//! Given / when / then tests for the goods side of a return: the request and its units,
//! the review, the parcel, the receipt and the inspection, cancellation and expiry, and
//! replaying a return's stream. Every step checks that the buckets and the returns add
//! up (`Step::step`, `assert_sound`). The money side is in `rma_money_tests`.

use super::rma_story::*;
use super::test_story::*;
use super::*;
use crate::returns::{
    Acceptance, Disposition, Outcome, Reception, RefundTiming, ReturnShipping, ReturnState, Rule,
};
use crate::values::Id;

// Requests ---------------------------------------------------------------------------------

#[test]
fn a_request_within_the_returnable_units_holds_them() {
    let story = delivered();
    let cmd = ask(&story, "ret_1", &[(1, 1), (2, 1)], authorized());
    let events = story.when(cmd).unwrap();
    let mut j = authorized();
    j.value_minor = 980 + B_PAID;
    j.refundable_minor = 980 + B_PAID;
    assert_eq!(
        events,
        vec![OrderEvent::ReturnRequested(Box::new(ReturnRequested {
            return_id: Id::new("ret_1"),
            rma: "RMA-ret_1".into(),
            source: ReturnSource::SelfService,
            items: asked(&[(1, 1), (2, 1)]),
            reason: "too_small".into(),
            note: None,
            photos: Vec::new(),
            wanted: crate::returns::Wanted::Refund,
            final_sale_exception: false,
            window_extension: false,
            shipping_cost_minor: None,
            facts: facts_of(&story),
            judgement: j,
        }))]
    );
    let order = story.then(&events);
    assert_sound(&order);
    let r = ret(&order, "RMA-ret_1");
    assert_eq!(r.state, ReturnState::Authorized);
    assert_eq!(r.ship_by, Some(at(SHIP_BY)));
    assert_eq!(r.items.len(), 2);
    assert_eq!((r.items[0].line_no, r.items[1].line_no), (1, 2));
    assert!(
        r.items
            .iter()
            .all(|i| i.reception == Reception::Awaiting && i.acceptance == Acceptance::Pending)
    );
    assert_eq!(return_buckets(&order, 1), (1, 0, 0));
    assert_eq!(return_buckets(&order, 2), (1, 0, 0));
    assert_eq!(order.returnable_units(1), 1);
    assert_eq!(order.returnable_units(2), 0);
    assert_eq!(story.order().customer_status(), CustomerStatus::Delivered);
    assert_eq!(order.return_summary(), ReturnSummary::ReturnRequested);
    assert_eq!(order.customer_status(), CustomerStatus::ReturnRequested);
}

#[test]
fn a_second_request_for_more_than_remains_is_refused_naming_the_line_and_count() {
    let story = delivered().asking("ret_1", &[(1, 1)], authorized());
    assert_eq!(
        story.when(ask(&story, "ret_2", &[(1, 2)], authorized())),
        Err(OrderError::ReturnQuantity {
            line_no: 1,
            requested: 2,
            returnable: 1
        })
    );
    assert_eq!(
        story.when(ask(&story, "ret_2", &[(2, 1), (1, 0)], authorized())),
        Err(OrderError::ReturnQuantity {
            line_no: 1,
            requested: 0,
            returnable: 1
        }),
        "a line asked with no units is refused too"
    );
    assert_eq!(
        story.when(ask(&story, "ret_1", &[(2, 1)], authorized())),
        Err(OrderError::AlreadyExists),
        "a return id is used once"
    );
}

#[test]
fn a_rejected_request_is_recorded_but_holds_no_units() {
    let rejected = judgement(
        Outcome::Rejected {
            rule: Rule::FinalSale,
        },
        RefundTiming::AfterInspection,
        0,
        ReturnShipping::Free,
    );
    let story = delivered().asking("ret_1", &[(1, 2)], rejected);
    let order = story.order();
    let r = ret(&order, "ret_1");
    assert_eq!(r.state, ReturnState::Rejected);
    assert_eq!(r.status(&order), ReturnState::Rejected);
    assert_eq!(r.ship_by, None);
    assert_eq!(r.items.len(), 2, "the asked units are on the record");
    assert_eq!(return_buckets(&order, 1), (0, 0, 0));
    assert_eq!(order.returnable_units(1), 2);
    // The units are still returnable: a new request for them goes through.
    story.asking("ret_2", &[(1, 2)], authorized());
}

#[test]
fn a_request_for_units_not_delivered_is_refused() {
    // Authorized, not shipped: nothing is delivered.
    let story = Story::authorized();
    assert_eq!(
        story.when(ask(&story, "ret_1", &[(1, 1)], authorized())),
        Err(OrderError::ReturnQuantity {
            line_no: 1,
            requested: 1,
            returnable: 0
        })
    );
    let story = delivered();
    assert_eq!(
        story.when(ask(&story, "ret_1", &[(1, 3)], authorized())),
        Err(OrderError::ReturnQuantity {
            line_no: 1,
            requested: 3,
            returnable: 2
        })
    );
}

// Review -----------------------------------------------------------------------------------

#[test]
fn an_approval_authorizes_and_records_the_decision_and_its_exceptions() {
    let rules = vec![Rule::WindowExtensionAsked, Rule::OverAutoApprovalLimit];
    let story = delivered().asking("ret_1", &[(1, 1)], review_judgement(rules.clone()));
    let order = story.order();
    assert_eq!(ret(&order, "ret_1").state, ReturnState::NeedsReview);
    assert_eq!(ret(&order, "ret_1").ship_by, None);
    assert_eq!(
        return_buckets(&order, 1),
        (1, 0, 0),
        "review holds the units"
    );
    let requested_at = ret(&order, "ret_1").requested_at;
    let events = story.when(review("ret_1", true)).unwrap();
    assert_eq!(
        events,
        vec![OrderEvent::ReturnReviewed(ReturnReviewed {
            return_id: Id::new("ret_1"),
            decision: ReturnDecision {
                approved: true,
                by: "maria".into(),
                role: "supervisor".into(),
                note: None,
                rules: rules.clone(),
                at: at(5_000),
            },
            exceptions: vec![PolicyException::WindowExtended],
        })]
    );
    let order = sound_then(&story, &events);
    let r = ret(&order, "ret_1");
    assert_eq!(r.state, ReturnState::Authorized);
    assert_eq!(r.decisions.len(), 1);
    assert_eq!(r.exceptions, vec![PolicyException::WindowExtended]);
    // The customer gets the policy's whole shipping time from the approval.
    let allowed = at(SHIP_BY).duration_since(requested_at);
    assert_eq!(
        r.ship_by,
        Some(r.updated_at.saturating_add(allowed).unwrap())
    );
    assert!(r.ship_by > Some(at(SHIP_BY)));
}

#[test]
fn approving_a_large_return_is_the_policy_working_not_an_exception() {
    let story = delivered().asking(
        "ret_1",
        &[(1, 1)],
        review_judgement(vec![Rule::OverAutoApprovalLimit]),
    );
    let events = story.when(review("ret_1", true)).unwrap();
    let [OrderEvent::ReturnReviewed(r)] = &events[..] else {
        panic!("{events:?}")
    };
    assert!(r.exceptions.is_empty());
    assert!(
        ret(&sound_then(&story, &events), "ret_1")
            .exceptions
            .is_empty()
    );
}

#[test]
fn an_exception_set_aside_by_two_rules_is_counted_once() {
    // A late request asking for the window to be extended, with a final-sale item
    // between: the window is extended once, whatever order the policy names the rules in.
    assert_eq!(
        exceptions_of(&[
            Rule::OutsideWindow,
            Rule::FinalSaleExceptionAsked,
            Rule::WindowExtensionAsked,
        ]),
        vec![
            PolicyException::WindowExtended,
            PolicyException::FinalSaleAccepted
        ]
    );
    assert_eq!(
        exceptions_of(&[Rule::OverAutoApprovalLimit, Rule::SerialReturner]),
        Vec::new()
    );
}

#[test]
fn a_denial_rejects_and_frees_the_units() {
    let story = delivered()
        .asking(
            "ret_1",
            &[(1, 2)],
            review_judgement(vec![Rule::OutsideWindow]),
        )
        .step(review("ret_1", false));
    let order = story.order();
    let r = ret(&order, "ret_1");
    assert_eq!(r.state, ReturnState::Rejected);
    assert!(!r.decisions[0].approved);
    assert_eq!(r.decisions[0].rules, vec![Rule::OutsideWindow]);
    assert!(r.exceptions.is_empty(), "a denial sets no rule aside");
    assert_eq!(return_buckets(&order, 1), (0, 0, 0));
    assert_eq!(order.returnable_units(1), 2);
}

#[test]
fn only_a_return_in_review_can_be_reviewed() {
    let story = delivered().asking("ret_1", &[(1, 1)], authorized());
    let refused = story.when(review("ret_1", true)).unwrap_err();
    assert_eq!(refused.code(), "illegal_return_transition");
    assert_eq!(
        refused,
        OrderError::ReturnState {
            rma: "RMA-ret_1".into(),
            state: ReturnState::Authorized,
            doing: "be reviewed"
        }
    );
    let reviewed = delivered()
        .asking(
            "ret_1",
            &[(1, 1)],
            review_judgement(vec![Rule::SerialReturner]),
        )
        .step(review("ret_1", true));
    assert_eq!(
        reviewed.when(review("ret_1", false)).unwrap_err().code(),
        "illegal_return_transition",
        "reviewed once"
    );
    assert_eq!(
        reviewed.when(review("ret_9", true)),
        Err(OrderError::UnknownReturn("ret_9".into()))
    );
}

// The parcel -------------------------------------------------------------------------------

#[test]
fn the_parcel_is_in_transit_once() {
    let story = delivered().asking("ret_1", &[(1, 1)], authorized());
    let events = story
        .when(track("ret_1", ReturnParcelStatus::InTransit))
        .unwrap();
    assert_eq!(
        events,
        vec![OrderEvent::ReturnTracked(ReturnTracked {
            return_id: Id::new("ret_1"),
            status: ReturnParcelStatus::InTransit,
            occurred_at: at(6_000),
        })]
    );
    let story = story.step(track("ret_1", ReturnParcelStatus::InTransit));
    assert_eq!(ret(&story.order(), "ret_1").state, ReturnState::InTransit);
    assert_eq!(
        story.when(track("ret_1", ReturnParcelStatus::InTransit)),
        Ok(Vec::new())
    );
}

#[test]
fn a_lost_parcel_is_a_state_and_can_still_be_found() {
    let story = delivered()
        .asking("ret_1", &[(1, 2)], authorized())
        .step(track("ret_1", ReturnParcelStatus::InTransit))
        .step(track("ret_1", ReturnParcelStatus::Lost));
    let order = story.order();
    let r = ret(&order, "ret_1");
    assert_eq!(r.state, ReturnState::Lost);
    assert!(
        r.items
            .iter()
            .all(|i| i.reception == Reception::LostInTransit)
    );
    assert_eq!(
        return_buckets(&order, 1),
        (2, 0, 0),
        "still open, still held"
    );
    assert_eq!(
        story.when(track("ret_1", ReturnParcelStatus::Lost)),
        Ok(Vec::new())
    );
    assert_eq!(
        story.when(track("ret_1", ReturnParcelStatus::InTransit)),
        Ok(Vec::new()),
        "a late transit scan does not move a lost parcel back"
    );
    // Found: it arrives after all.
    let found = story.step(receive("ret_1", &["A", "A"], false)).order();
    let r = ret(&found, "ret_1");
    assert_eq!(r.state, ReturnState::Received);
    assert!(r.items.iter().all(|i| i.reception == Reception::Received));
    assert_eq!(return_buckets(&found, 1), (2, 2, 0));
}

#[test]
fn a_parcel_cannot_be_lost_before_it_is_on_its_way() {
    let story = delivered().asking("ret_1", &[(1, 1)], authorized());
    assert_eq!(
        story
            .when(track("ret_1", ReturnParcelStatus::Lost))
            .unwrap_err()
            .code(),
        "illegal_return_transition"
    );
}

// Receipt ----------------------------------------------------------------------------------

/// Return `ret_1` of both units of A and the poster B, authorized, in transit.
fn in_transit() -> Story {
    delivered()
        .asking("ret_1", &[(1, 2), (2, 1)], authorized())
        .step(track("ret_1", ReturnParcelStatus::InTransit))
}

#[test]
fn a_receipt_matches_scans_to_awaited_units_and_records_strays() {
    let story = in_transit();
    let events = story
        .when(receive("ret_1", &["A", "C", "?4006381333931"], false))
        .unwrap();
    assert_eq!(
        events,
        vec![OrderEvent::ReturnReceived(ReturnReceived {
            return_id: Id::new("ret_1"),
            location_id: Id::new("east"),
            items: vec![1],
            unexpected: vec![
                UnexpectedItem {
                    scan: "C".into(),
                    sku: Some(sku("C")),
                    location_id: Id::new("east"),
                    in_place_of: None,
                },
                UnexpectedItem {
                    scan: "?4006381333931".into(),
                    sku: None,
                    location_id: Id::new("east"),
                    in_place_of: None,
                },
            ],
            short: Vec::new(),
            wrong_item: Vec::new(),
        })]
    );
    let order = sound_then(&story, &events);
    let r = ret(&order, "ret_1");
    assert_eq!(r.state, ReturnState::Received);
    let receptions: Vec<Reception> = r.items.iter().map(|i| i.reception).collect();
    assert_eq!(
        receptions,
        [
            Reception::Received,
            Reception::Awaiting,
            Reception::Awaiting
        ],
        "a partial receipt leaves the rest awaited"
    );
    assert_eq!(r.items[0].location_id, Some(Id::new("east")));
    assert!(r.items[0].received_at.is_some());
    assert_eq!(r.unexpected.len(), 2, "strays are recorded, not accepted");
    assert_eq!(return_buckets(&order, 1), (2, 1, 0));
    assert_eq!(return_buckets(&order, 2), (1, 0, 0));
    assert!(!r.receipt_closed());
}

#[test]
fn the_same_receipt_twice_receives_the_units_once() {
    // Two desks scan the same parcel: the second receipt finds nothing awaited.
    let story = in_transit().step(receive("ret_1", &["A", "A"], false));
    assert_eq!(
        story.when(receive("ret_1", &["A", "A"], false)),
        Err(OrderError::AlreadyReceived {
            rma: "RMA-ret_1".into(),
            sku: "A".into()
        })
    );
    assert_eq!(
        story.when(receive("ret_1", &["B", "B"], false)),
        Err(OrderError::AlreadyReceived {
            rma: "RMA-ret_1".into(),
            sku: "B".into()
        }),
        "one B awaited, two scanned"
    );
    assert_eq!(return_buckets(&story.order(), 1), (2, 2, 0));
}

#[test]
fn closing_the_receipt_marks_the_rest_short() {
    let story = in_transit()
        .step(receive("ret_1", &["A"], false))
        .step(receive("ret_1", &[], true));
    let order = story.order();
    let r = ret(&order, "ret_1");
    let receptions: Vec<Reception> = r.items.iter().map(|i| i.reception).collect();
    assert_eq!(
        receptions,
        [Reception::Received, Reception::Short, Reception::Short]
    );
    assert!(r.receipt_closed());
    assert_eq!(
        return_buckets(&order, 1),
        (2, 1, 0),
        "returned counts received units only"
    );
    assert_eq!(return_buckets(&order, 2), (1, 0, 0));
    assert_eq!(
        story.when(receive("ret_1", &[], true)).unwrap_err().code(),
        "illegal_return_transition",
        "an empty receipt is refused"
    );
}

#[test]
fn a_receipt_cannot_close_before_anything_arrived() {
    let story = in_transit();
    assert_eq!(
        story.when(receive("ret_1", &[], true)).unwrap_err().code(),
        "illegal_return_transition"
    );
}

// Inspection -------------------------------------------------------------------------------

/// `in_transit` with every unit received and the receipt closed.
fn received() -> Story {
    in_transit().step(receive("ret_1", &["A", "A", "B"], true))
}

#[test]
fn inspection_records_each_unit_and_only_restock_fills_the_restocked_bucket() {
    let story = received();
    let inspected = story.step(inspect(
        "ret_1",
        &[
            (1, Acceptance::Accepted, Disposition::Restock),
            (2, Acceptance::Rejected, Disposition::Quarantine),
        ],
    ));
    let order = inspected.order();
    let r = ret(&order, "ret_1");
    assert_eq!(
        r.state,
        ReturnState::Received,
        "item 3 is not inspected yet"
    );
    assert_eq!(r.items[0].acceptance, Acceptance::Accepted);
    assert_eq!(r.items[0].disposition, Some(Disposition::Restock));
    assert_eq!(r.items[0].condition.as_deref(), Some("like_new"));
    assert_eq!(r.items[1].acceptance, Acceptance::Rejected);
    assert_eq!(r.items[1].disposition, Some(Disposition::Quarantine));
    assert_eq!(
        return_buckets(&order, 1),
        (2, 2, 1),
        "quarantine is not restock"
    );
    let done = inspected
        .step(inspect(
            "ret_1",
            &[(3, Acceptance::NeedsManualDecision, Disposition::Quarantine)],
        ))
        .order();
    assert_eq!(ret(&done, "ret_1").state, ReturnState::Inspected);
    assert_eq!(return_buckets(&done, 2), (1, 1, 0));
}

#[test]
fn a_unit_not_accepted_cannot_be_restocked() {
    let story = received();
    for acceptance in [Acceptance::Rejected, Acceptance::NeedsManualDecision] {
        for disposition in [Disposition::Restock, Disposition::Refurbish] {
            assert!(matches!(
                story.when(inspect("ret_1", &[(1, acceptance, disposition)])),
                Err(OrderError::InspectionRefused { item_no: 1, .. })
            ));
        }
    }
    assert!(matches!(
        story.when(inspect(
            "ret_1",
            &[(1, Acceptance::Pending, Disposition::Scrap)]
        )),
        Err(OrderError::InspectionRefused { item_no: 1, .. })
    ));
}

#[test]
fn an_unreceived_or_inspected_unit_cannot_be_inspected() {
    let partial = in_transit().step(receive("ret_1", &["A"], false));
    let restock = |n| (n, Acceptance::Accepted, Disposition::Restock);
    assert_eq!(
        partial.when(inspect("ret_1", &[restock(2)])),
        Err(OrderError::InspectionRefused {
            rma: "RMA-ret_1".into(),
            item_no: 2,
            why: "it has not been received"
        })
    );
    let once = partial.step(inspect("ret_1", &[restock(1)]));
    assert_eq!(
        once.when(inspect("ret_1", &[restock(1)])),
        Err(OrderError::InspectionRefused {
            rma: "RMA-ret_1".into(),
            item_no: 1,
            why: "it has already been inspected"
        })
    );
    assert_eq!(
        received().when(inspect("ret_1", &[restock(1), restock(1)])),
        Err(OrderError::InspectionRefused {
            rma: "RMA-ret_1".into(),
            item_no: 1,
            why: "it is named twice"
        })
    );
    assert_eq!(
        received().when(inspect("ret_1", &[restock(9)])),
        Err(OrderError::UnknownReturnItem {
            rma: "RMA-ret_1".into(),
            item_no: 9
        })
    );
    assert_eq!(
        in_transit()
            .when(inspect("ret_1", &[restock(1)]))
            .unwrap_err()
            .code(),
        "illegal_return_transition"
    );
    // Every received unit inspected: inspected, though units are still awaited.
    let order = once.order();
    assert_eq!(ret(&order, "ret_1").state, ReturnState::Inspected);
    assert!(!ret(&order, "ret_1").receipt_closed());
    // More arrives: received again, and inspected again once it is.
    let more = once.step(receive("ret_1", &["A"], false));
    assert_eq!(ret(&more.order(), "ret_1").state, ReturnState::Received);
    let again = more.step(inspect("ret_1", &[restock(2)])).order();
    assert_eq!(ret(&again, "ret_1").state, ReturnState::Inspected);
    assert_eq!(return_buckets(&again, 1), (2, 2, 2));
}
