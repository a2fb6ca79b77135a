//! What an order went through, as the signals a case's root cause is suggested from.

use super::test_story::*;
use crate::case::{signals, suggest};
use crate::fulfillment::TrackingStatus;
use crate::payment::CaptureMode;
use std::collections::BTreeMap;

fn rules() -> BTreeMap<String, String> {
    [
        ("shipment_delayed", "carrier_delay"),
        ("short_pick", "inventory_accuracy"),
        ("return_reason:wrong_item", "wrong_item"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

#[test]
fn a_delayed_parcel_suggests_the_carriers_delay() {
    let shipped = Story::authorized()
        .and(release_all())
        .and(pick(1))
        .and(pack(&["A"]))
        .and(ship(CaptureMode::OnShipment))
        .and(scan(TrackingStatus::Delayed, 3_600));
    assert_eq!(signals(&shipped.order()), ["shipment_delayed"]);
    assert_eq!(
        suggest(&shipped.order(), &rules()).as_deref(),
        Some("carrier_delay")
    );
}

#[test]
fn a_short_pick_suggests_the_stock_count() {
    let short = Story::authorized().and(release_all()).and(pick(0));
    assert!(
        signals(&short.order()).contains(&"short_pick".to_owned()),
        "{:?}",
        signals(&short.order())
    );
    assert_eq!(
        suggest(&short.order(), &rules()).as_deref(),
        Some("inventory_accuracy")
    );
}

#[test]
fn an_uneventful_order_suggests_nothing() {
    let order = Story::authorized().order();
    assert_eq!(signals(&order), Vec::<String>::new());
    assert_eq!(suggest(&order, &rules()), None);
}
