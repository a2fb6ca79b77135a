//! Cancellation requests: asked of released fulfillment orders, blocking the warehouse
//! meanwhile, carried out by the last acceptance, ended by a rejection.

use super::test_story::*;
use super::*;
use crate::fulfillment::FulfillmentState;
use crate::payment::CaptureMode;
use crate::values::Id;

fn facts() -> EditFacts {
    let base = Facts::new();
    EditFacts {
        locations: base.locations.clone(),
        stock: base.stock.clone(),
        ship_to: None,
        allow_backorders: false,
        policy: Default::default(),
        window: EditWindow::UntilPicking,
        limits: Limits {
            max_lines_per_order: 5,
            max_quantity_per_line: 100,
        },
        reserve_at_payment: false,
    }
}

fn request(lines: Option<Vec<CancelLine>>) -> OrderCommand {
    OrderCommand::Edit(Box::new((
        EditCommand::RequestCancellation(Box::new(RequestCancellation {
            request_id: Id::new("edt_c"),
            author: "ana".into(),
            lines,
            reason: CancelReason::CustomerRequest,
            note: None,
            refund_id: Id::new("ref_c"),
        })),
        facts(),
    )))
}

fn answer(rejected: Option<&str>) -> OrderCommand {
    OrderCommand::Edit(Box::new((
        EditCommand::AnswerCancellation {
            fulfillment_id: Id::new(FUL),
            rejected: rejected.map(str::to_owned),
        },
        facts(),
    )))
}

#[test]
fn before_release_a_cancellation_is_immediate() {
    let events = Story::authorized().when(request(None)).unwrap();
    assert!(
        matches!(events[0], OrderEvent::OrderCancelled(_)),
        "{events:?}"
    );
}

#[test]
fn after_release_it_is_asked_and_the_warehouse_waits_for_nothing_else() {
    let story = Story::authorized().and(release_all());
    let events = story.when(request(None)).unwrap();
    assert!(
        matches!(&events[..], [OrderEvent::CancellationRequested(r)] if r.fulfillment_ids == [Id::new(FUL)])
    );
    let asked = story.clone().and(request(None));
    let order = asked.order();
    assert!(
        order
            .release_blockers()
            .contains(&"cancellation_requested".to_owned())
    );
    assert_eq!(
        asked.when(pick(1)),
        Err(OrderError::CancellationPending("edt_c".into()))
    );
    assert_eq!(
        asked.when(request(None)),
        Err(OrderError::CancellationPending("edt_c".into()))
    );
    // The warehouse accepts: the order is cancelled in the same decision.
    let accepted = asked.clone().and(answer(None));
    let order = accepted.order();
    assert_eq!(order.state, OrderState::Cancelled);
    assert!(order.cancel_request.is_none() && order.reservations.is_empty());
    assert!(order.violations().is_empty(), "{:?}", order.violations());
    assert_eq!(
        accepted.when(answer(None)),
        Err(OrderError::NoCancellationRequest(FUL.into()))
    );
}

#[test]
fn picked_units_put_back_are_cancelled_and_a_packed_parcel_is_refused() {
    let picking = Story::authorized().and(release_all()).and(pick(1));
    let units = Some(vec![CancelLine {
        line_no: 1,
        quantity: 1,
    }]);
    // One unit of one: every unit, so the whole order is asked for.
    let asked = picking.clone().and(request(units));
    assert!(
        asked
            .order()
            .pending_cancellation()
            .is_some_and(|r| r.lines.is_none())
    );
    let done = asked.and(answer(None)).order();
    assert_eq!(done.state, OrderState::Cancelled);
    assert_eq!(
        done.fulfillment_orders[0].state,
        FulfillmentState::Cancelled
    );

    let packed = picking.and(pack(&["A"])).and(request(None));
    assert!(matches!(
        packed.when(answer(None)),
        Err(OrderError::FulfillmentState { .. })
    ));
    let refused = packed.clone().and(answer(Some("sealed"))).order();
    assert_eq!(refused.state, OrderState::Confirmed);
    let rejection = refused
        .cancel_request
        .as_ref()
        .and_then(|r| r.rejected.as_ref());
    assert_eq!(rejection.map(|r| r.reason.as_str()), Some("sealed"));
    assert!(
        refused.release_blockers().is_empty(),
        "a refused request blocks nothing"
    );
    // It ships; nothing is cancelled any more.
    let shipped = packed
        .and(answer(Some("sealed")))
        .and(ship(CaptureMode::OnShipment));
    assert_eq!(shipped.when(request(None)), Err(OrderError::AlreadyShipped));
}

#[test]
fn an_order_paid_on_delivery_is_cancelled_through_its_warehouse_too() {
    let mut cod = card("pay_1");
    cod.method = crate::payment::PaymentMethod::CashOnDelivery;
    cod.provider = crate::payment::MANUAL_PROVIDER.into();
    let story = Story::placed(Some(cod), &Facts::new()).and(release_all());
    let asked = story.and(request(None));
    assert!(asked.order().pending_cancellation().is_some());
    let done = asked.and(answer(None)).order();
    assert_eq!(done.state, OrderState::Cancelled);
    assert!(done.violations().is_empty(), "{:?}", done.violations());
}
