//! What support can tell the customer, derived from the order.

use super::test_story::*;
use super::*;
use crate::fulfillment::TrackingStatus;
use crate::payment::CaptureMode;

fn texts(order: &Order) -> Vec<(Topic, String)> {
    advice_for(order)
        .into_iter()
        .map(|a| (a.topic, a.text))
        .collect()
}

fn shipped() -> Story {
    Story::authorized()
        .and(release_all())
        .and(pick(1))
        .and(pack(&["A"]))
        .and(ship(CaptureMode::OnShipment))
}

#[test]
fn a_parcel_in_transit_says_where_it_is_and_when_it_is_expected() {
    let order = shipped().and(scan(TrackingStatus::InTransit, 600)).order();
    let promise = crate::time::rfc3339(
        order.fulfillment_orders[0].shipments[0]
            .promised_by
            .unwrap(),
    );
    assert_eq!(
        texts(&order),
        [(
            Topic::Shipment,
            format!("Parcel LC1 (1 unit) with local is in transit, expected by {promise}")
        )]
    );
}

#[test]
fn a_delayed_parcel_says_so_and_a_delivered_one_when() {
    let late = shipped().and(scan(TrackingStatus::Delayed, 600)).order();
    let text = &texts(&late)[0].1;
    assert!(
        text.starts_with("Parcel LC1 (1 unit) with local is delayed, expected by "),
        "{text}"
    );
    let delivered = shipped().and(scan(TrackingStatus::Delivered, 600)).order();
    let at = crate::time::rfc3339(delivered.fulfillment_orders[0].shipments[0].last_scan_at());
    assert_eq!(
        texts(&delivered),
        [(
            Topic::Shipment,
            format!("Parcel LC1 (1 unit) with local was delivered {at}")
        )]
    );
}

#[test]
fn a_line_the_picker_could_not_find_says_it_waits_for_a_warehouse() {
    let order = Story::authorized().and(release_all()).and(pick(0)).order();
    let lines: Vec<String> = advice_for(&order)
        .into_iter()
        .filter(|a| a.topic == Topic::Line)
        .map(|a| a.text)
        .collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(
        lines,
        ["1 unit of Product A (A): a warehouse is being chosen for them"]
    );
}

#[test]
fn an_unpaid_order_says_what_it_waits_for_and_a_cancelled_one_why() {
    let unpaid = Story::card().order();
    assert!(
        texts(&unpaid)
            .iter()
            .any(|(t, s)| *t == Topic::Payment && s.starts_with("The order waits for payment")),
        "{:?}",
        texts(&unpaid)
    );
    let cancelled = Story::authorized()
        .and(OrderCommand::Cancel(CancelOrder {
            reason: CancelReason::CustomerRequest,
            note: None,
            refund_id: crate::values::Id::new("ref_1"),
        }))
        .order();
    let all = texts(&cancelled);
    assert_eq!(
        all[0],
        (
            Topic::Order,
            "The order was cancelled (customer request)".into()
        )
    );
    assert!(
        all.iter().all(|(t, _)| *t != Topic::Line),
        "a cancelled order's lines wait for nothing: {all:?}"
    );
}
