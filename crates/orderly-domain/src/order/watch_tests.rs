//! Watched conditions: each clock starts with its event, the timer raises the watch only
//! while its condition holds, and the condition's end clears it, opening and resolving
//! the queue entry.

use super::exceptions::{ExceptionChange, exception_changes, queue};
use super::test_story::*;
use super::watch::{Watch, WatchThresholds, ended, started, watch_kind};
use super::*;
use crate::Timestamp;
use crate::calendar::{BusinessCalendar, Interval, WallTime};
use crate::values::Id;
use jiff::SignedDuration;
use jiff::civil::Weekday;
use jiff::tz::TimeZone;

fn raise(order: &Order, watch: &Watch) -> Vec<OrderEvent> {
    when(
        order,
        OrderCommand::RaiseWatches {
            watches: vec![watch.key()],
        },
    )
    .expect("decided")
}

fn keys(watches: &[(Watch, Timestamp)]) -> Vec<String> {
    watches.iter().map(|(w, _)| w.key()).collect()
}

#[test]
fn an_unpaid_order_is_queued_once_its_clock_ran_and_leaves_when_paid() {
    let placed = Story::card();
    let order = placed.order();
    assert!(
        started(&order, order.created_at).is_empty(),
        "not while the card's authorization is on its way"
    );
    let placed = placed.and(fail("pay_1.auth1"));
    let order = placed.order();
    assert_eq!(order.state, OrderState::Pending);
    let transfer = Story::placed(None, &Facts::new()).order();
    assert_eq!(keys(&started(&transfer, transfer.created_at)), ["unpaid"]);
    assert!(
        started(&order, at(99)).is_empty(),
        "only when its clock starts"
    );

    let raised = raise(&order, &Watch::Unpaid);
    assert_eq!(
        raised,
        [OrderEvent::WatchRaised(watch::WatchRaised {
            watch: "unpaid".into(),
            detail: "placed and not paid".into(),
        })]
    );
    let queued = placed.then(&raised);
    assert!(queued.watches.contains("unpaid"));
    match &exception_changes(&raised[0], &queued)[..] {
        [ExceptionChange::Open(e)] => {
            assert_eq!((e.queue, e.kind), (queue::PAYMENTS, watch_kind::UNPAID));
            assert_eq!(e.subject_id, order.id);
        }
        other => panic!("{other:?}"),
    }
    assert!(raise(&queued, &Watch::Unpaid).is_empty(), "raised once");
    assert!(ended(&queued).is_empty(), "still unpaid");

    // A new card goes through: the condition is over, and clearing says so.
    let paid = Story {
        events: [placed.events.clone(), raised].concat(),
    }
    .and(OrderCommand::AddPayment(card("pay_2")))
    .and(ok("pay_2.auth1"));
    assert_eq!(paid.order().state, OrderState::Confirmed);
    let cleared = paid.when(OrderCommand::ClearWatches).expect("cleared");
    assert_eq!(
        cleared,
        [OrderEvent::WatchCleared(watch::WatchCleared {
            watch: "unpaid".into(),
            reason: "paid".into(),
        })]
    );
    let after = paid.then(&cleared);
    assert!(after.watches.is_empty());
    assert_eq!(
        exception_changes(&cleared[0], &after),
        [ExceptionChange::Resolve {
            subject_id: order.id.clone(),
            kinds: &[watch_kind::UNPAID],
            resolution: "paid",
        }]
    );
    assert!(when(&after, OrderCommand::ClearWatches).unwrap().is_empty());
}

#[test]
fn a_paid_order_not_released_or_shipped_is_queued_and_a_timer_too_late_does_nothing() {
    let confirmed = Story::authorized();
    let order = confirmed.order();
    let confirmed_at = order.confirmed_at.expect("confirmed");
    assert_eq!(
        keys(&started(&order, confirmed_at)),
        ["release_overdue", "ship_overdue"]
    );
    let held = confirmed.clone().and(OrderCommand::PlaceHold(HoldChange {
        reason: HoldReason::Manual,
        note: None,
    }));
    let raised = raise(&held.order(), &Watch::ReleaseOverdue);
    let [OrderEvent::WatchRaised(r)] = &raised[..] else {
        panic!("{raised:?}")
    };
    assert!(r.detail.contains("blocked by hold:manual"), "{}", r.detail);

    // Released and shipped: the ship timer finds nothing to queue.
    let shipped = confirmed
        .and(release_all())
        .and(pick(1))
        .and(pack(&["A"]))
        .and(ship(crate::payment::CaptureMode::OnShipment));
    assert!(raise(&shipped.order(), &Watch::ShipOverdue).is_empty());
    assert!(raise(&shipped.order(), &Watch::ReleaseOverdue).is_empty());
    assert!(raise(&shipped.order(), &Watch::PartiallyShipped).is_empty());
    // A key the order does not know is no watch.
    let nonsense = OrderCommand::RaiseWatches {
        watches: vec!["nonsense".into()],
    };
    assert!(when(&shipped.order(), nonsense).unwrap().is_empty());
}

#[test]
fn cancelling_ends_every_watch_of_the_order() {
    let placed = Story::card();
    let raised = raise(&placed.order(), &Watch::Unpaid);
    let cancelled = Story {
        events: [placed.events.clone(), raised].concat(),
    }
    .and(OrderCommand::Cancel(CancelOrder {
        reason: CancelReason::CustomerRequest,
        note: None,
        refund_id: Id::new("ref_c"),
    }));
    assert_eq!(
        ended(&cancelled.order()),
        [(Watch::Unpaid, "order cancelled")]
    );
}

#[test]
fn keys_name_their_object_and_parse_back() {
    for w in [
        Watch::Unpaid,
        Watch::ReleaseOverdue,
        Watch::ShipOverdue,
        Watch::PartiallyShipped,
        Watch::ReturnDecision(Id::new("ret_1")),
        Watch::ReturnReceipt(Id::new("ret_1")),
        Watch::ReturnInspection(Id::new("ret_1")),
        Watch::EditOpen(Id::new("edt_1")),
    ] {
        assert_eq!(Watch::parse(&w.key()), Some(w.clone()), "{}", w.key());
    }
    for bad in [
        "",
        "return_decision",
        "return_decision:",
        "unpaid:x",
        "other",
    ] {
        assert_eq!(Watch::parse(bad), None, "{bad}");
    }
}

#[test]
fn business_thresholds_skip_the_weekend_and_wall_ones_do_not() {
    let nine_to_five = || {
        vec![Interval {
            start: WallTime::new(9, 0).unwrap(),
            end: WallTime::new(17, 0).unwrap(),
        }]
    };
    let calendar = BusinessCalendar::new(
        TimeZone::UTC,
        [
            Weekday::Monday,
            Weekday::Tuesday,
            Weekday::Wednesday,
            Weekday::Thursday,
            Weekday::Friday,
        ]
        .map(|d| (d, nine_to_five())),
        [],
    )
    .unwrap();
    let t = WatchThresholds {
        unpaid: SignedDuration::from_mins(30),
        release: SignedDuration::from_hours(4),
        ship: SignedDuration::from_hours(16),
        partially_shipped: SignedDuration::from_hours(24),
        return_decision_days: 1,
        return_receipt_days: 14,
        inspection: SignedDuration::from_hours(8),
        edit_open: SignedDuration::from_mins(60),
    };
    // Friday 2026-12-04, 15:00 UTC.
    let friday: Timestamp = "2026-12-04T15:00:00Z".parse().unwrap();
    let due = |w: &Watch| t.due(w, friday, &calendar).to_string();
    assert_eq!(due(&Watch::Unpaid), "2026-12-04T15:30:00Z");
    assert_eq!(
        due(&Watch::ReleaseOverdue),
        "2026-12-07T11:00:00Z",
        "2 h Friday, 2 h Monday"
    );
    assert_eq!(due(&Watch::ShipOverdue), "2026-12-08T15:00:00Z");
    assert_eq!(
        due(&Watch::ReturnDecision(Id::new("r"))),
        "2026-12-07T15:00:00Z"
    );
    assert_eq!(
        due(&Watch::ReturnReceipt(Id::new("r"))),
        "2026-12-18T15:00:00Z"
    );
    assert_eq!(due(&Watch::PartiallyShipped), "2026-12-05T15:00:00Z");
}

#[test]
fn the_confirmation_watches_share_one_timer_that_comes_back_for_the_later() {
    let calendar = BusinessCalendar::new(
        TimeZone::UTC,
        [
            Weekday::Monday,
            Weekday::Tuesday,
            Weekday::Wednesday,
            Weekday::Thursday,
            Weekday::Friday,
            Weekday::Saturday,
            Weekday::Sunday,
        ]
        .map(|d| {
            (
                d,
                vec![Interval {
                    start: WallTime::new(0, 0).unwrap(),
                    end: WallTime::new(24, 0).unwrap(),
                }],
            )
        }),
        [],
    )
    .unwrap();
    let t = WatchThresholds {
        unpaid: SignedDuration::from_mins(30),
        release: SignedDuration::from_hours(4),
        ship: SignedDuration::from_hours(16),
        partially_shipped: SignedDuration::from_hours(24),
        return_decision_days: 1,
        return_receipt_days: 14,
        inspection: SignedDuration::from_hours(8),
        edit_open: SignedDuration::from_mins(60),
    };
    let confirmed = Story::authorized();
    let order = confirmed.order();
    let at_confirmation = order.confirmed_at.unwrap();
    let hours = |h: i64| at_confirmation + SignedDuration::from_hours(h);
    assert_eq!(
        watch::timers(&started(&order, at_confirmation), &t, &calendar),
        [(watch::CONFIRMED.to_owned(), hours(4))],
        "one row, at the earlier threshold"
    );
    // At 4 h: release is due (still pending), shipping comes back at 16 h.
    assert_eq!(
        watch::confirmed_due(&order, hours(4), &t, &calendar),
        (vec![Watch::ReleaseOverdue], Some(hours(16)))
    );
    assert_eq!(
        watch::confirmed_due(&order, hours(16), &t, &calendar),
        (vec![Watch::ReleaseOverdue, Watch::ShipOverdue], None)
    );
    // Released meanwhile: only shipping is left to watch.
    let released = confirmed.and(release_all()).order();
    assert_eq!(
        watch::confirmed_due(&released, hours(4), &t, &calendar),
        (vec![], Some(hours(16)))
    );
}

#[test]
fn a_shipment_that_leaves_units_behind_starts_the_partial_clock() {
    let mut place = place_order(Some(card("pay_1")));
    place.lines[0].quantity = 2;
    let facts = Facts::new();
    let shipped = Story::placing(place, &facts)
        .and(ok("pay_1.auth1"))
        .and(release_all())
        .and(pick_lines(&[(1, 1)]))
        .and(pack(&["A"]))
        .and(ship(crate::payment::CaptureMode::OnShipment));
    let order = shipped.order();
    let shipped_at = order.fulfillment_orders[0].shipments[0].shipped_at;
    assert!(
        keys(&started(&order, shipped_at)).contains(&"partially_shipped".to_owned()),
        "{:?}",
        keys(&started(&order, shipped_at))
    );
    assert_eq!(
        Watch::PartiallyShipped.holds(&order).as_deref(),
        Some("1 unit(s) shipped, 1 still waiting")
    );
    // The unit found nowhere is cancelled: nothing waits any more, and the watch ends.
    let raised = shipped.then(&raise(&order, &Watch::PartiallyShipped));
    assert!(raised.watches.contains("partially_shipped"));
    let mut rest = raised.clone();
    rest.lines[0].buckets.cancelled += 1;
    rest.lines[0].buckets.backordered = 0;
    rest.lines[0].buckets.unallocated = 0;
    assert_eq!(ended(&rest), [(Watch::PartiallyShipped, "shipped")]);
}
