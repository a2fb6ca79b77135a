//! Tests for what a shipment reads from its scans (status, last scan time, flags), the
//! one flag kept beside them (the watch's delay), and old snapshots that stored copies.

use super::*;
use crate::Timestamp;
use crate::fulfillment::ExceptionFlag;
use crate::fulfillment::TrackingStatus::{self, *};
use crate::values::Id;

fn at(n: i64) -> Timestamp {
    Timestamp::from_second(1_700_000_000 + n).unwrap()
}

/// Shipped at second 10, nothing scanned yet.
fn shipment() -> Shipment {
    Shipment {
        id: Id::new("shp_1_1"),
        package_id: Id::new("pkg_1_1"),
        carrier: "local".into(),
        service: "ground".into(),
        tracking_number: "LC1".into(),
        shipped_at: at(10),
        promised_by: Some(at(86_400)),
        price_minor: None,
        scans: Vec::new(),
        delayed_by_watch: None,
    }
}

/// What happens to a shipment, in order: a scan dated at a second, or the watch.
#[derive(Clone, Copy)]
enum Step {
    Scan(TrackingStatus, i64),
    Watch,
}

fn after(steps: &[Step]) -> Shipment {
    let mut s = shipment();
    for step in steps {
        match *step {
            Step::Scan(status, t) => s.record(Scan {
                status,
                occurred_at: at(t),
                location: None,
            }),
            Step::Watch => s.flag_delayed(),
        }
    }
    s
}

use Step::{Scan as S, Watch};

#[test]
fn the_status_is_the_furthest_a_scan_reported_and_a_late_scan_never_moves_it_back() {
    assert_eq!(after(&[]).status(), LabelCreated, "shipped, not scanned");
    assert_eq!(after(&[S(InTransit, 100)]).status(), InTransit);
    let late = after(&[S(InTransit, 100), S(LabelCreated, 50), S(PickedUp, 60)]);
    assert_eq!(late.status(), InTransit);
    assert_eq!(late.scans.len(), 3, "every scan is kept");
    // Exceptions say nothing about progress.
    let held_up = after(&[
        S(InTransit, 100),
        S(AttemptedDelivery, 200),
        S(Exception, 300),
    ]);
    assert_eq!(held_up.status(), InTransit);
    let delivered = after(&[S(InTransit, 100), S(Delivered, 400), S(OutForDelivery, 500)]);
    assert_eq!(delivered.status(), Delivered);
}

#[test]
fn the_first_scan_to_reach_the_last_leg_names_it() {
    let van_first = after(&[S(OutForDelivery, 100), S(ReadyForPickup, 200)]);
    assert_eq!(van_first.status(), OutForDelivery);
    let shelf_first = after(&[S(ReadyForPickup, 100), S(OutForDelivery, 200)]);
    assert_eq!(shelf_first.status(), ReadyForPickup);
}

#[test]
fn the_last_scan_time_is_the_newest_scan_or_the_shipping_time() {
    assert_eq!(after(&[]).last_scan_at(), at(10));
    assert_eq!(after(&[S(InTransit, 100)]).last_scan_at(), at(100));
    assert_eq!(
        after(&[S(InTransit, 100), S(PickedUp, 50)]).last_scan_at(),
        at(100),
        "a late scan does not move it back"
    );
    assert_eq!(
        after(&[S(PickedUp, 5)]).last_scan_at(),
        at(10),
        "a scan dated before shipping"
    );
}

#[test]
fn each_exception_is_flagged_once_in_the_order_first_raised() {
    let s = after(&[
        S(AttemptedDelivery, 100),
        S(Delayed, 200),
        S(AttemptedDelivery, 300),
        S(Exception, 350),
        S(Lost, 400),
    ]);
    assert_eq!(
        s.flags(),
        [
            ExceptionFlag::DeliveryFailed,
            ExceptionFlag::Delayed,
            ExceptionFlag::Lost
        ]
    );
}

#[test]
fn the_watchs_delay_keeps_its_place_among_the_scans_flags() {
    let s = after(&[S(AttemptedDelivery, 100), Watch, S(Lost, 300)]);
    assert_eq!(
        s.flags(),
        [
            ExceptionFlag::DeliveryFailed,
            ExceptionFlag::Delayed,
            ExceptionFlag::Lost
        ]
    );
    let told_again = after(&[
        S(AttemptedDelivery, 100),
        Watch,
        S(Lost, 300),
        S(Delayed, 400),
    ]);
    assert_eq!(
        told_again.flags(),
        s.flags(),
        "a carrier's delay adds nothing"
    );
}

#[test]
fn a_delay_raised_by_the_watch_or_by_a_scan_first_reads_the_same() {
    let watch_first = after(&[Watch, S(Delayed, 200)]);
    let scan_first = after(&[S(Delayed, 200), Watch]);
    assert_eq!(watch_first.flags(), [ExceptionFlag::Delayed]);
    assert_eq!(scan_first.flags(), [ExceptionFlag::Delayed]);
    assert_eq!(
        watch_first, scan_first,
        "the same scans and flags: the same state"
    );
    assert_eq!(after(&[Watch, Watch]).flags(), [ExceptionFlag::Delayed]);
}

#[test]
fn a_shipment_is_watched_until_delivered_shelved_delayed_lost_or_returned() {
    assert!(after(&[]).watched());
    assert!(after(&[S(AttemptedDelivery, 100)]).watched());
    for ended in [
        S(Delivered, 100),
        S(ReadyForPickup, 100),
        S(Lost, 100),
        S(ReturnedToSender, 100),
        S(Delayed, 100),
        Watch,
    ] {
        assert!(!after(&[S(InTransit, 50), ended]).watched());
    }
}

/// The snapshot an older Orderly wrote for `s`: its status, flags and last scan time
/// stored beside the scans.
fn written_before(s: &Shipment) -> serde_json::Value {
    let mut json = serde_json::to_value(s).unwrap();
    let old = json.as_object_mut().unwrap();
    old.remove("delayed_by_watch");
    old.insert("status".into(), serde_json::to_value(s.status()).unwrap());
    old.insert("flags".into(), serde_json::to_value(s.flags()).unwrap());
    let last = serde_json::to_value(s.last_scan_at()).unwrap();
    old.insert("last_scan_at".into(), last);
    json
}

#[test]
fn a_snapshot_keeps_the_scans_and_no_copy_of_what_they_say() {
    let s = after(&[S(AttemptedDelivery, 100), Watch, S(InTransit, 300)]);
    let json = serde_json::to_value(&s).unwrap();
    for copy in ["status", "flags", "last_scan_at"] {
        assert!(json.get(copy).is_none(), "{copy} in {json}");
    }
    assert_eq!(json["delayed_by_watch"], 1);
    assert!(
        serde_json::to_value(after(&[]))
            .unwrap()
            .get("delayed_by_watch")
            .is_none()
    );
    let back: Shipment = serde_json::from_value(json).unwrap();
    assert_eq!(back, s);
}

#[test]
fn old_snapshots_read_into_the_state_their_events_replay_to() {
    let histories: [&[Step]; 7] = [
        &[],
        &[S(InTransit, 100), S(Delivered, 200)],
        &[S(Delayed, 100), Watch],
        &[Watch],
        &[S(AttemptedDelivery, 100), Watch, S(Lost, 300)],
        &[Watch, S(Delayed, 200), S(Lost, 300)],
        &[Watch, S(Lost, 200), S(Delayed, 300)],
    ];
    for steps in histories {
        let replayed = after(steps);
        let old: Shipment = serde_json::from_value(written_before(&replayed)).unwrap();
        assert_eq!(old, replayed);
        assert_eq!(old.flags(), replayed.flags());
    }
}

#[test]
fn a_shipment_recorded_before_tracking_existed_still_reads() {
    let mut json = serde_json::to_value(shipment()).unwrap();
    let old = json.as_object_mut().unwrap();
    old.remove("promised_by");
    old.remove("scans");
    let s: Shipment = serde_json::from_value(json).unwrap();
    assert_eq!(s.status(), LabelCreated);
    assert_eq!(s.last_scan_at(), at(10));
    assert_eq!(s.flags(), []);
    assert_eq!(s.promised_by, None);
}
