//! Given / when / then tests for the goods a return does not pay for: rejected units go
//! where the policy says and back to the customer in a parcel of their own before the
//! return ends, a stray that came back in place of an awaited unit makes that unit a
//! wrong item (not short), and a return with nothing to pay completes without a refund.

use super::exceptions::{ExceptionChange, exception_changes, kind};
use super::rma_story::*;
use super::test_story::*;
use super::*;
use crate::returns::{Acceptance, Disposition, Reception, RejectedItems, ReturnState};
use crate::values::Id;
use jiff::SignedDuration;

fn reactions_of(story: &Story) -> Vec<Reaction> {
    let policy = ReactionPolicy {
        release_delay: SignedDuration::ZERO,
    };
    reactions(&story.order(), &policy, at(8_000))
}

/// Return `ret_1` of both units of A under `rejected`, received in full at `east`.
fn received_under(rejected: RejectedItems) -> Story {
    let mut j = authorized();
    j.rejected_items = rejected;
    delivered()
        .asking("ret_1", &[(1, 2)], j)
        .step(receive("ret_1", &["A", "A"], true))
}

fn send_back(id: &str, items: &[u32], location: &str) -> OrderCommand {
    OrderCommand::SendBackReturnItems {
        return_id: Id::new(id),
        send_back: SendBack {
            item_nos: items.to_vec(),
            carrier: "localcarrier".into(),
            service: "ground".into(),
            tracking_number: "LC0000000001".into(),
            location_id: Id::new(location),
        },
    }
}

fn opened(story: &Story, cmd: OrderCommand) -> Vec<(&'static str, String)> {
    let events = story.when(cmd).unwrap();
    let order = story.then(&events);
    events
        .iter()
        .flat_map(|e| exception_changes(e, &order))
        .filter_map(|c| match c {
            ExceptionChange::Open(e) => Some((e.kind, e.detail)),
            ExceptionChange::Resolve { .. } => None,
        })
        .collect()
}

#[test]
fn a_policy_that_sends_rejected_units_back_refuses_any_other_place_for_them() {
    let story = received_under(RejectedItems::ReturnToCustomer);
    for wrong in [Disposition::Scrap, Disposition::Quarantine] {
        assert!(
            matches!(
                story.when(inspect("ret_1", &[(1, Acceptance::Rejected, wrong)])),
                Err(OrderError::InspectionRefused { item_no: 1, .. })
            ),
            "{wrong:?}"
        );
    }
    let ok = inspect(
        "ret_1",
        &[
            (1, Acceptance::Rejected, Disposition::ReturnToCustomer),
            (2, Acceptance::Accepted, Disposition::Restock),
        ],
    );
    assert!(story.when(ok).is_ok());
}

#[test]
fn a_policy_that_holds_rejected_units_keeps_them_in_quarantine() {
    let story = received_under(RejectedItems::Hold);
    for wrong in [Disposition::Scrap, Disposition::ReturnToCustomer] {
        assert!(
            matches!(
                story.when(inspect("ret_1", &[(1, Acceptance::Rejected, wrong)])),
                Err(OrderError::InspectionRefused { item_no: 1, .. })
            ),
            "{wrong:?}"
        );
    }
    let held = inspect(
        "ret_1",
        &[(1, Acceptance::Rejected, Disposition::Quarantine)],
    );
    assert!(story.when(held).is_ok());
    // A decision on a unit left for a person follows the same policy.
    let waiting = story.step(inspect(
        "ret_1",
        &[
            (1, Acceptance::NeedsManualDecision, Disposition::Quarantine),
            (2, Acceptance::Accepted, Disposition::Restock),
        ],
    ));
    let decide = |disposition| OrderCommand::DecideReturnItems {
        return_id: Id::new("ret_1"),
        items: vec![ItemDecision {
            item_no: 1,
            acceptance: Acceptance::Rejected,
            disposition,
        }],
        note: None,
    };
    assert!(matches!(
        waiting.when(decide(Disposition::Scrap)),
        Err(OrderError::InspectionRefused { item_no: 1, .. })
    ));
    assert!(waiting.when(decide(Disposition::Quarantine)).is_ok());
}

#[test]
fn rejected_goods_go_back_before_a_return_with_nothing_to_pay_completes() {
    let story = received_under(RejectedItems::ReturnToCustomer);
    let cmd = inspect(
        "ret_1",
        &[
            (1, Acceptance::Rejected, Disposition::ReturnToCustomer),
            (2, Acceptance::Rejected, Disposition::ReturnToCustomer),
        ],
    );
    assert_eq!(
        opened(&story, cmd.clone()),
        [(
            kind::RETURN_SEND_BACK,
            "RMA-ret_1: items 1, 2 wait for their parcel back to the customer".to_owned()
        )],
        "nothing is owed, so no refund is blocked; the goods wait to go back"
    );
    let inspected = story.step(cmd);
    assert_eq!(
        reactions_of(&inspected),
        [],
        "the customer's goods are still here"
    );
    // A parcel from another place than where they wait, or of a unit not waiting.
    assert!(matches!(
        inspected.when(send_back("ret_1", &[1], "west")),
        Err(OrderError::InspectionRefused { item_no: 1, .. })
    ));
    assert!(matches!(
        inspected.when(send_back("ret_1", &[1, 1], "east")),
        Err(OrderError::InspectionRefused { item_no: 1, .. })
    ));
    let one = inspected.step(send_back("ret_1", &[1], "east"));
    assert_eq!(ret(&one.order(), "ret_1").send_back_due().len(), 1);
    assert_eq!(reactions_of(&one), []);
    assert!(matches!(
        one.when(send_back("ret_1", &[1], "east")),
        Err(OrderError::InspectionRefused { item_no: 1, .. })
    ));
    let both = one.clone().step(send_back("ret_1", &[2], "east"));
    assert_eq!(
        reactions_of(&both),
        [Reaction::CompleteReturn {
            return_id: Id::new("ret_1")
        }]
    );
    let done = both.clone().step(complete("ret_1"));
    let order = done.order();
    let r = ret(&order, "ret_1");
    assert_eq!(r.state, ReturnState::Completed);
    assert_eq!(r.resolution, None, "no refund for goods not accepted");
    assert_eq!(r.send_backs.len(), 2);
    assert!(order.refunds.is_empty());
    assert_eq!(return_buckets(&order, 1), (2, 2, 0));
    let last = done.events.last().unwrap();
    assert_eq!(
        last.summary(Some(&both.order())),
        "Return RMA-ret_1 completed with nothing to refund"
    );
    let sent = &both.events[both.events.len() - 1];
    assert_eq!(
        sent.summary(Some(&one.order())),
        "Return RMA-ret_1: items 2 sent back to the customer with localcarrier ground \
         (tracking LC0000000001) from east"
    );
}

#[test]
fn a_stray_in_place_of_a_missing_unit_makes_it_a_wrong_item_not_short() {
    let story = delivered().asking("ret_1", &[(1, 2), (2, 1)], authorized());
    // One A came back, and a C instead of the other A; B never came. Closed.
    let cmd = receive("ret_1", &["A", "C"], true);
    let opened = opened(&story, cmd.clone());
    assert_eq!(
        opened,
        [(
            kind::RETURN_WRONG_ITEM,
            "RMA-ret_1: something else came back: C for item 2".to_owned()
        )]
    );
    let received = story.step(cmd);
    let order = received.order();
    let r = ret(&order, "ret_1");
    let receptions: Vec<Reception> = r.items.iter().map(|i| i.reception).collect();
    assert_eq!(
        receptions,
        [Reception::Received, Reception::WrongItem, Reception::Short]
    );
    assert_eq!(r.unexpected[0].in_place_of, Some(2));
    assert_eq!(return_buckets(&order, 1), (2, 1, 0));
    // Only the unit that came back is paid for, once inspected.
    let paid = received.step(restock_all("ret_1", 1));
    assert_eq!(
        reactions_of(&paid),
        [Reaction::ResolveReturn {
            return_id: Id::new("ret_1")
        }]
    );
    let resolved = paid.step(resolve("ret_1", "ref_r1")).order();
    let res = ret(&resolved, "ret_1").resolution.clone().unwrap();
    assert_eq!(
        res.lines,
        [crate::returns::AskedItem {
            line_no: 1,
            quantity: 1
        }]
    );
}

#[test]
fn a_parcel_of_strays_only_is_received_and_ends_with_nothing_to_pay() {
    let story = delivered()
        .asking("ret_1", &[(2, 1)], authorized())
        .step(track("ret_1", ReturnParcelStatus::InTransit));
    let received = story.clone().step(receive("ret_1", &["C"], true));
    let order = received.order();
    let r = ret(&order, "ret_1");
    assert_eq!(r.state, ReturnState::Received, "something came back");
    assert_eq!(r.items[0].reception, Reception::WrongItem);
    assert_eq!(
        reactions_of(&received),
        [Reaction::CompleteReturn {
            return_id: Id::new("ret_1")
        }]
    );
    // Without a stray, closing before anything arrived stays refused.
    assert!(matches!(
        story.when(receive("ret_1", &[], true)),
        Err(OrderError::ReturnState { .. })
    ));
}
