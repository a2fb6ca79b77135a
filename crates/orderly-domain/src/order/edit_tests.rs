//! Edits and unit cancellations: stock, fulfillment orders and money follow each commit,
//! and the anchors' bugs (an abandoned edit resurrecting consumed reservations, a lost
//! money difference, a new payment ignoring what was paid) cannot happen.

use super::test_story::*;
use super::*;
use crate::fulfillment::FulfillmentState;
use crate::geo::LatLon;
use crate::payment::{CaptureMode, OpKind, PaymentState};
use crate::sourcing::{LocationFacts, StockView};
use crate::values::{CountryCode, Id};

fn location(id: &str, latitude: f64, longitude: f64) -> LocationFacts {
    LocationFacts {
        id: Id::new(id),
        coords: LatLon {
            latitude,
            longitude,
        },
        can_ship: true,
        can_pickup: false,
        priority: 1,
        handling_cost_minor: 0,
        ships_to: Vec::new(),
    }
}

/// East (New York) and west (Los Angeles), each with 5 of TEE-M, TEE-L and CAP.
struct World {
    locations: Vec<LocationFacts>,
    stock: StockView,
    window: EditWindow,
    backorders: bool,
}

const BOSTON: LatLon = LatLon {
    latitude: 42.36,
    longitude: -71.06,
};
const LOS_ANGELES: LatLon = LatLon {
    latitude: 34.05,
    longitude: -118.24,
};

impl World {
    fn new() -> World {
        let mut stock = StockView::default();
        for at in ["east", "west"] {
            for s in ["TEE-M", "TEE-L", "CAP"] {
                stock.set(sku(s), Id::new(at), 5);
            }
        }
        World {
            locations: vec![
                location("east", 40.71, -74.0),
                location("west", 34.0, -118.0),
            ],
            stock,
            window: EditWindow::UntilPicking,
            backorders: false,
        }
    }

    fn facts(&self, ship_to: LatLon) -> EditFacts {
        EditFacts {
            locations: self.locations.clone(),
            stock: self.stock.clone(),
            ship_to: Some(ship_to),
            allow_backorders: self.backorders,
            policy: Default::default(),
            window: self.window,
            limits: Limits {
                max_lines_per_order: 5,
                max_quantity_per_line: 100,
            },
            reserve_at_payment: false,
        }
    }

    /// Two TEE-M at 20.00 and one CAP at 10.00 to Boston, by card `pay_1`, tax 5.00.
    fn placed(&self) -> Story {
        let mut place = place_order(Some(card("pay_1")));
        place.lines = vec![
            NewLine {
                sku: sku("TEE-M"),
                name: "Tee M".into(),
                quantity: 2,
                unit_price: 2000,
            },
            NewLine {
                sku: sku("CAP"),
                name: "Cap".into(),
                quantity: 1,
                unit_price: 1000,
            },
        ];
        place.tax_amount = 500;
        let base = Facts::new();
        let ctx = PlaceContext {
            sourcing: SourcingContext {
                locations: &self.locations,
                stock: &self.stock,
                ship_to: Some(BOSTON),
                allow_backorders: false,
                policy: Default::default(),
            },
            ..base.ctx()
        };
        let events = decide(None, OrderCommand::Place(Box::new(place)), Some(&ctx))
            .expect("placing succeeds");
        Story { events }
    }

    /// Placed and authorized for 55.00, nothing captured.
    fn authorized(&self) -> Story {
        self.placed().and(ok("pay_1.auth1"))
    }

    /// Authorized and captured in full.
    fn captured(&self) -> Story {
        self.authorized().and(capture(None)).and(ok("pay_1.cap2"))
    }
}

/// Begins edit `id` with nothing staged.
fn begin(id: &str) -> EditCommand {
    EditCommand::Begin(BeginEdit {
        edit_id: Id::new(id),
        author: "ana".into(),
        note: None,
        changes: Vec::new(),
    })
}

fn one_shot(changes: Vec<EditChange>) -> EditCommand {
    EditCommand::Commit(Box::new(CommitEdit {
        edit_id: Id::new("edt_1"),
        author: "support key 'ana'".into(),
        changes,
        note: None,
        note_to_customer: None,
        payment: None,
        refund_id: Id::new("ref_e1"),
        balance_blocks_release: true,
    }))
}

fn edit(story: &Story, cmd: EditCommand, facts: &EditFacts) -> Result<Vec<OrderEvent>, OrderError> {
    decide_edit(&story.order(), cmd, facts)
}

fn edited(events: &[OrderEvent]) -> &OrderEdited {
    events
        .iter()
        .find_map(|e| match e {
            OrderEvent::OrderEdited(e) => Some(e.as_ref()),
            _ => None,
        })
        .expect("an order_edited event")
}

fn los_angeles() -> Address {
    Address {
        city: "Los Angeles".into(),
        region: Some("CA".into()),
        postal_code: "90012".into(),
        line1: "200 N Spring St".into(),
        ..address()
    }
}

fn locations_of(order: &Order) -> Vec<&str> {
    let mut at: Vec<&str> = order
        .reservations
        .iter()
        .map(|r| r.location_id.as_str())
        .collect();
    at.sort_unstable();
    at.dedup();
    at
}

fn sound(order: &Order) {
    assert!(order.violations().is_empty(), "{:?}", order.violations());
}

#[test]
fn an_address_change_resources_to_the_nearer_warehouse_and_says_why() {
    let world = World::new();
    let story = world.authorized();
    assert_eq!(locations_of(&story.order()), ["east"]);
    let change = EditChange::ShippingAddress {
        address: los_angeles(),
    };
    let events = edit(&story, one_shot(vec![change]), &world.facts(LOS_ANGELES)).unwrap();
    let e = edited(&events);
    let reason = &e.resourced.as_ref().expect("re-sourced").reason;
    assert!(
        reason.contains("west") && reason.contains("east"),
        "{reason}"
    );
    let given: u32 = e.released.iter().map(|u| u.quantity).sum();
    assert_eq!(given, 3, "the east reservation is given back whole");
    let order = story.then(&events);
    assert_eq!(locations_of(&order), ["west"]);
    assert_eq!(order.shipping_address.city, "Los Angeles");
    assert_eq!(
        order.fulfillment_orders[0].state,
        FulfillmentState::Cancelled
    );
    assert_eq!(order.fulfillment_orders[1].location_id.as_str(), "west");
    assert_eq!(e.settlement, Settlement::default(), "no money moves");
    sound(&order);
    let text = events[0].summary(Some(&story.order()));
    assert!(
        text.contains("shipping address to 200 N Spring St, Los Angeles CA US"),
        "{text}"
    );
    assert!(
        text.contains("re-sourced: the new address in Los Angeles, US is better served from west"),
        "{text}"
    );
}

#[test]
fn an_address_nearby_keeps_the_reservations() {
    let world = World::new();
    let story = world.authorized();
    let nearby = Address {
        line1: "9 Beacon St".into(),
        ..address()
    };
    let change = EditChange::ShippingAddress { address: nearby };
    let events = edit(&story, one_shot(vec![change]), &world.facts(BOSTON)).unwrap();
    let e = edited(&events);
    assert!(e.resourced.is_none() && e.released.is_empty() && e.reserved.is_empty());
    assert_eq!(story.then(&events).shipping_address.line1, "9 Beacon St");
}

#[test]
fn a_quantity_increase_reserves_joins_the_pending_fulfillment_order_and_leaves_a_balance_due() {
    let world = World::new();
    let story = world.authorized();
    let change = EditChange::SetQuantity {
        line_no: 1,
        quantity: 3,
    };
    let events = edit(&story, one_shot(vec![change]), &world.facts(BOSTON)).unwrap();
    let e = edited(&events);
    assert_eq!(e.reserved.len(), 1);
    assert_eq!(
        e.reserved[0].fulfillment_id.as_ref().map(Id::as_str),
        Some(FUL)
    );
    // 20.00 more, and the tax at the order's rate: 5.00 on 50.00 is 2.00 on 20.00.
    assert_eq!((e.before.total, e.after.total), (5500, 7700));
    assert_eq!(e.settlement.balance_due, 2200);
    assert!(
        events
            .iter()
            .any(|x| matches!(x, OrderEvent::HoldPlaced(h) if h.reason == HoldReason::BalanceDue))
    );
    let order = story.then(&events);
    assert_eq!(order.balance_due(), 2200);
    assert_eq!(order.fulfillment_orders.len(), 1, "one parcel still");
    assert_eq!(order.fulfillment_orders[0].lines[0].quantity, 3);
    assert!(
        order
            .release_blockers()
            .contains(&"hold:balance_due".to_owned())
    );
    sound(&order);
    // The money difference survives: the next payment is asked for exactly what is owed.
    let then = Story {
        events: story.events.iter().chain(&events).cloned().collect(),
    };
    let paid = then.when(OrderCommand::AddPayment(card("pay_2"))).unwrap();
    assert!(
        paid.iter()
            .any(|x| matches!(x, OrderEvent::PaymentAdded(p) if p.amount_minor == 2200))
    );
    let settled = then
        .and(OrderCommand::AddPayment(card("pay_2")))
        .and(ok("pay_2.auth1"));
    let order = settled.order();
    assert_eq!(
        (order.balance_due(), order.hold(HoldReason::BalanceDue)),
        (0, None)
    );
}

#[test]
fn an_increase_with_a_payment_asks_for_the_difference_and_a_decline_leaves_it_owed() {
    let world = World::new();
    let story = world.captured();
    let EditCommand::Commit(mut c) = one_shot(vec![EditChange::AddLine {
        sku: sku("TEE-L"),
        name: "Tee L".into(),
        quantity: 1,
        unit_price: 2000,
        price_override: false,
    }]) else {
        unreachable!()
    };
    c.payment = Some(card("pay_2"));
    let events = edit(&story, EditCommand::Commit(c), &world.facts(BOSTON)).unwrap();
    let e = edited(&events);
    assert_eq!(e.settlement.authorization, 2200);
    assert!(events.iter().any(|x| matches!(x, OrderEvent::PaymentOpRequested(r)
        if r.kind == OpKind::Authorize && r.amount_minor == 2200 && r.payment_id.as_str() == "pay_2")));
    let after = Story {
        events: story.events.iter().chain(&events).cloned().collect(),
    };
    let declined = after.clone().and(fail("pay_2.auth1"));
    assert_eq!(
        declined.order().balance_due(),
        2200,
        "a decline leaves the difference owed"
    );
    let approved = after.and(ok_with("pay_2.auth1", CaptureMode::OnAuthorization));
    assert_eq!(approved.order().balance_due(), 0);
}

#[test]
fn an_increase_beyond_stock_is_refused_unless_the_channel_backorders() {
    let mut world = World::new();
    let story = world.authorized();
    let change = EditChange::SetQuantity {
        line_no: 2,
        quantity: 12,
    };
    let refused = edit(&story, one_shot(vec![change.clone()]), &world.facts(BOSTON));
    assert!(
        matches!(refused, Err(OrderError::OutOfStock { .. })),
        "{refused:?}"
    );
    world.backorders = true;
    let events = edit(&story, one_shot(vec![change]), &world.facts(BOSTON)).unwrap();
    let order = story.then(&events);
    assert_eq!(order.lines[1].buckets.backordered, 1);
    sound(&order);
}

#[test]
fn a_size_swap_moves_the_units_to_the_new_variant_at_the_same_price() {
    let world = World::new();
    let story = world.authorized();
    let change = EditChange::SwapVariant {
        line_no: 1,
        sku: sku("TEE-L"),
        name: "Tee L".into(),
        quantity: Some(1),
        unit_price: 2000,
        price_override: false,
    };
    let events = edit(&story, one_shot(vec![change]), &world.facts(BOSTON)).unwrap();
    let e = edited(&events);
    assert_eq!(e.before.total, e.after.total);
    assert_eq!(e.settlement.difference, 0);
    let order = story.then(&events);
    assert_eq!(order.lines.len(), 3);
    assert_eq!(
        (
            order.lines[0].buckets.ordered,
            order.lines[2].buckets.allocated
        ),
        (1, 1)
    );
    assert_eq!(order.lines[2].sku, sku("TEE-L"));
    assert_eq!(
        order.fulfillment_orders.len(),
        1,
        "the new size joins the same parcel"
    );
    sound(&order);
    let text = events[0].summary(Some(&story.order()));
    assert!(
        text.starts_with("support key 'ana' changed the order: changed 1 unit of TEE-M to TEE-L"),
        "{text}"
    );
}

#[test]
fn removing_a_line_of_a_captured_order_refunds_its_share() {
    let world = World::new();
    let story = world.captured();
    let events = edit(
        &story,
        one_shot(vec![EditChange::RemoveLine { line_no: 2 }]),
        &world.facts(BOSTON),
    )
    .unwrap();
    let e = edited(&events);
    // 10.00 of 50.00 goes, with its 1.00 of tax.
    assert_eq!((e.after.total, e.settlement.refunded), (4400, 1100));
    assert!(
        events
            .iter()
            .any(|x| matches!(x, OrderEvent::RefundRequested(r) if r.amount_minor == 1100))
    );
    let order = story.then(&events);
    assert_eq!(order.held_minor(), 4400);
    assert_eq!(order.balance_due(), 0);
    assert_eq!(order.lines[1].buckets.ordered, 0);
    sound(&order);
}

#[test]
fn a_decrease_before_capture_reduces_the_authorization_and_capture_takes_only_the_new_total() {
    let world = World::new();
    let story = world.authorized();
    let events = edit(
        &story,
        one_shot(vec![EditChange::RemoveLine { line_no: 2 }]),
        &world.facts(BOSTON),
    )
    .unwrap();
    assert!(
        events
            .iter()
            .any(|x| matches!(x, OrderEvent::PaymentOpRequested(r)
        if r.kind == OpKind::Reduce && r.amount_minor == 1100))
    );
    let after = Story {
        events: story.events.iter().chain(&events).cloned().collect(),
    };
    let reduced = after.clone().and(ok("pay_1.red2"));
    let order = reduced.order();
    assert_eq!(order.capturable(&Id::new("pay_1")), 4400);
    assert_eq!(order.payment_state(), PaymentState::Authorized);
    sound(&order);
    // The provider refused the reduction: the last shipment still captures only 44.00.
    let refused = after.and(fail("pay_1.red2"));
    assert_eq!(refused.order().capturable(&Id::new("pay_1")), 5500);
    assert_eq!(refused.order().uncaptured_minor(), 4400);
}

#[test]
fn an_edit_is_refused_once_picking_started_or_once_released_when_configured() {
    let mut world = World::new();
    let released = world.authorized().and(release_all());
    let change = EditChange::SetQuantity {
        line_no: 1,
        quantity: 1,
    };
    assert!(
        edit(
            &released,
            one_shot(vec![change.clone()]),
            &world.facts(BOSTON)
        )
        .is_ok()
    );
    world.window = EditWindow::UntilRelease;
    let refused = edit(
        &released,
        one_shot(vec![change.clone()]),
        &world.facts(BOSTON),
    );
    assert!(
        matches!(refused, Err(OrderError::EditNotAllowed(ref why)) if why.contains("ful_1_1 is released")),
        "{refused:?}"
    );
    world.window = EditWindow::UntilPicking;
    let picking = released.and(pick_lines(&[(1, 2), (2, 1)]));
    let refused = edit(&picking, one_shot(vec![change]), &world.facts(BOSTON));
    assert!(
        matches!(refused, Err(OrderError::EditNotAllowed(ref why)) if why.contains("picking")),
        "{refused:?}"
    );
}

#[test]
fn one_edit_is_open_at_a_time_and_abandoning_it_changes_nothing() {
    let world = World::new();
    let story = world.authorized();
    let open = story.clone();
    let events = edit(&open, begin("edt_1"), &world.facts(BOSTON)).unwrap();
    let open = Story {
        events: open.events.iter().chain(&events).cloned().collect(),
    };
    let second = edit(&open, begin("edt_2"), &world.facts(BOSTON));
    assert_eq!(second, Err(OrderError::EditOpen("edt_1".into())));
    let stage = EditCommand::Stage {
        edit_id: Id::new("edt_1"),
        changes: vec![EditChange::SetQuantity {
            line_no: 1,
            quantity: 4,
        }],
    };
    let staged = edit(&open, stage, &world.facts(BOSTON)).unwrap();
    let open = Story {
        events: open.events.iter().chain(&staged).cloned().collect(),
    };
    let abandon = EditCommand::Abandon {
        edit_id: Id::new("edt_1"),
        reason: "customer kept the order".into(),
    };
    let abandoned = edit(&open, abandon, &world.facts(BOSTON)).unwrap();
    let order = open.then(&abandoned);
    let before = story.order();
    assert_eq!(
        (order.lines.clone(), order.reservations.clone()),
        (before.lines, before.reservations)
    );
    assert!(order.open_edit.is_none());
}

#[test]
fn a_staged_change_that_cannot_be_made_is_refused_when_added() {
    let world = World::new();
    let story = world
        .authorized()
        .and_edit(begin("edt_1"), &world.facts(BOSTON));
    let stage = |line_no| EditCommand::Stage {
        edit_id: Id::new("edt_1"),
        changes: vec![EditChange::RemoveLine { line_no }],
    };
    assert!(
        matches!(edit(&story, stage(9), &world.facts(BOSTON)), Err(OrderError::Invalid(ref i)) if i[0].code == "unknown_line")
    );
    let story = story.and_edit(stage(1), &world.facts(BOSTON));
    assert_eq!(
        edit(&story, stage(2), &world.facts(BOSTON)),
        Err(OrderError::EditEmptiesOrder)
    );
}

#[test]
fn cancelling_some_units_gives_their_money_back_and_cancelling_all_cancels_the_order() {
    let world = World::new();
    let story = world.captured();
    let cancel = |lines: Vec<(u32, u32)>| {
        EditCommand::RequestCancellation(Box::new(RequestCancellation {
            request_id: Id::new("edt_c"),
            author: "ana".into(),
            lines: Some(
                lines
                    .into_iter()
                    .map(|(line_no, quantity)| CancelLine { line_no, quantity })
                    .collect(),
            ),
            reason: CancelReason::CustomerRequest,
            note: None,
            refund_id: Id::new("ref_c"),
        }))
    };
    let events = edit(&story, cancel(vec![(1, 1)]), &world.facts(BOSTON)).unwrap();
    let e = edited(&events);
    assert_eq!(e.cancellation, Some(CancelReason::CustomerRequest));
    assert_eq!(e.settlement.refunded, 2200);
    let text = events[0].summary(Some(&story.order()));
    assert!(
        text.starts_with("ana cancelled 1 unit of TEE-M (customer_request)"),
        "{text}"
    );
    sound(&story.then(&events));
    let all = edit(&story, cancel(vec![(1, 2), (2, 1)]), &world.facts(BOSTON)).unwrap();
    assert!(
        all.iter()
            .any(|x| matches!(x, OrderEvent::OrderCancelled(_)))
    );
    let too_many = edit(&story, cancel(vec![(1, 3)]), &world.facts(BOSTON));
    assert!(
        matches!(too_many, Err(OrderError::Invalid(ref i)) if i[0].code == "quantity_beyond_line")
    );
}

#[test]
fn an_edit_refused_after_partial_fulfillment_leaves_stock_as_it_was() {
    // medusa#16406: a rollback resurrected reservations fulfillment had consumed.
    let world = World::new();
    let story = world
        .authorized()
        .and(release_all())
        .and(pick_lines(&[(1, 2), (2, 1)]));
    let before = story.order();
    let refused = edit(
        &story,
        one_shot(vec![EditChange::RemoveLine { line_no: 2 }]),
        &world.facts(BOSTON),
    );
    assert!(refused.is_err());
    assert_eq!(
        story.order(),
        before,
        "nothing of a refused edit is applied"
    );
}

#[test]
fn cancelling_the_order_abandons_its_open_edit() {
    let world = World::new();
    let story = world
        .authorized()
        .and_edit(begin("edt_1"), &world.facts(BOSTON));
    let events = story
        .when(OrderCommand::Cancel(CancelOrder {
            reason: CancelReason::CustomerRequest,
            note: None,
            refund_id: Id::new("ref_x"),
        }))
        .unwrap();
    assert!(matches!(&events[0], OrderEvent::EditAbandoned(a) if a.edit_id.as_str() == "edt_1"));
    assert!(story.then(&events).open_edit.is_none());
}

impl Story {
    /// Decides an edit command (which must succeed) and appends its events.
    fn and_edit(mut self, cmd: EditCommand, facts: &EditFacts) -> Story {
        let events = decide_edit(&self.order(), cmd, facts).expect("the edit is accepted");
        self.events.extend(events);
        self
    }
}

#[test]
fn an_edit_that_changes_no_money_on_a_pickup_order_cannot_change_its_service() {
    let world = World::new();
    let mut story = world.authorized();
    if let Some(OrderEvent::OrderPlaced(p)) = story.events.first_mut() {
        p.delivery = Some(Delivery {
            service: None,
            deliver_by: None,
            pickup_location: Some(Id::new("east")),
        });
        p.shipping_address.country = CountryCode::parse("US").unwrap();
    }
    let change = EditChange::ShippingService {
        service: "local/express".into(),
        shipping_amount: None,
    };
    let refused = edit(&story, one_shot(vec![change]), &world.facts(BOSTON));
    assert!(
        matches!(refused, Err(OrderError::Invalid(ref i)) if i[0].code == "pickup_order"),
        "{refused:?}"
    );
}

#[test]
fn a_decrease_takes_units_from_a_fulfillment_order_still_open_when_another_is_picking() {
    // Two TEE-M, one at each warehouse: west (the newer) picks its unit, east has not started.
    let mut world = World::new();
    world.stock.set(sku("TEE-M"), Id::new("east"), 1);
    world.stock.set(sku("TEE-M"), Id::new("west"), 1);
    let story = world.authorized();
    let order = story.order();
    assert_eq!(
        order.fulfillment_orders.len(),
        2,
        "{:?}",
        order.fulfillment_orders
    );
    let at = |loc: &str| {
        order
            .fulfillment_orders
            .iter()
            .find(|f| f.location_id.as_str() == loc)
            .unwrap()
            .clone()
    };
    let (east, west) = (at("east").id, at("west"));
    assert_eq!(
        order.fulfillment_orders[1].id, west.id,
        "west's is the newer"
    );
    let picked: Vec<(u32, u32)> = west.lines.iter().map(|l| (l.line_no, l.quantity)).collect();
    let story = story
        .and(OrderCommand::Release {
            fulfillment_id: Some(west.id.clone()),
        })
        .and(OrderCommand::Pick {
            fulfillment_id: west.id.clone(),
            picked,
        });
    let change = EditChange::SetQuantity {
        line_no: 1,
        quantity: 1,
    };
    let events = edit(&story, one_shot(vec![change]), &world.facts(BOSTON)).unwrap();
    let e = edited(&events);
    assert_eq!(e.released.len(), 1);
    assert_eq!(e.released[0].fulfillment_id.as_ref(), Some(&east));
    sound(&story.then(&events));
}
