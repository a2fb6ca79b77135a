//! Unit tests of the pure packing and shipping rules in `commands.rs`.

use super::*;

fn t(days: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + days * 86_400).expect("a time")
}

fn quote(service: &str, price_minor: i64, transit_days: u32) -> Quote {
    Quote {
        carrier: "local".into(),
        service: service.into(),
        price_minor,
        transit_days,
        arrives_by: t(i64::from(transit_days)),
    }
}

/// Cheapest first, as `all_quotes` answers.
fn offers() -> Vec<Quote> {
    vec![
        quote("ground", 700, 5),
        quote("two_day", 1100, 2),
        quote("express", 1500, 1),
    ]
}

fn delivery(service: Option<&str>, deliver_by: Option<Timestamp>) -> Delivery {
    Delivery {
        service: service.map(str::to_owned),
        deliver_by,
        pickup_location: None,
    }
}

fn refusal(result: Result<impl std::fmt::Debug, AppError>) -> (&'static str, Vec<String>) {
    let e = result.expect_err("a refusal");
    let fields = e.field_issues().into_iter().map(|i| i.field).collect();
    (e.code(), fields)
}

#[test]
fn rate_shopping_takes_the_cheapest_service_that_arrives_by_the_promise() {
    let q = offers();
    assert_eq!(
        shop(&q, None, "US", 800).expect("a service").service,
        "ground"
    );
    let by_day_3 = delivery(None, Some(t(3)));
    assert_eq!(
        shop(&q, Some(&by_day_3), "US", 800)
            .expect("a service")
            .service,
        "two_day",
        "ground takes five days; two-day is the cheaper of the two in time"
    );
    // Nothing arrives in time: the fastest, rather than no shipment at all.
    let today = delivery(None, Some(t(0)));
    assert_eq!(
        shop(&q, Some(&today), "US", 800)
            .expect("a service")
            .service,
        "express"
    );
}

#[test]
fn rate_shopping_honours_the_service_the_order_asked_for() {
    let asked = delivery(Some("local/express"), Some(t(9)));
    let chosen = shop(&offers(), Some(&asked), "US", 800).expect("a service");
    assert_eq!(
        (chosen.service.as_str(), chosen.price_minor),
        ("express", 1500)
    );
    let gone = delivery(Some("local/overnight"), None);
    assert_eq!(
        refusal(shop(&offers(), Some(&gone), "US", 800)).0,
        "no_carrier_service"
    );
    assert_eq!(refusal(shop(&[], None, "FR", 800)).0, "no_carrier_service");
}

#[test]
fn a_ship_request_naming_carrier_and_service_is_not_rate_shopped() {
    let req = ShipRequest {
        carrier: Some("freight".into()),
        service: Some("pallet".into()),
        promised_by: Some(t(4)),
        ..ShipRequest::default()
    };
    let never = || -> Result<Quote, AppError> { Err(AppError::Internal("shopped".into())) };
    assert_eq!(
        service_for(&req, never).expect("as asked"),
        ("freight".into(), "pallet".into(), Some(t(4)))
    );
}

#[test]
fn otherwise_the_quote_ships_it_and_its_arrival_is_the_promise_unless_one_was_made() {
    // A carrier without a service is rate shopped like no carrier at all.
    let req = ShipRequest {
        carrier: Some("freight".into()),
        ..ShipRequest::default()
    };
    let two_day = || Ok(quote("two_day", 1100, 2));
    assert_eq!(
        service_for(&req, two_day).expect("shopped"),
        ("local".into(), "two_day".into(), Some(t(2)))
    );
    let promised = ShipRequest {
        promised_by: Some(t(7)),
        ..ShipRequest::default()
    };
    assert_eq!(
        service_for(&promised, two_day).expect("shopped").2,
        Some(t(7))
    );
    let refused = || -> Result<Quote, AppError> {
        Err(AppError::Conflict {
            code: "no_carrier_service",
            detail: "none".into(),
        })
    };
    assert_eq!(
        refusal(service_for(&ShipRequest::default(), refused)).0,
        "no_carrier_service"
    );
}

#[test]
fn a_blank_or_overlong_carrier_service_or_tracking_number_is_refused() {
    assert!(check_ship_request(&ShipRequest::default()).is_ok());
    let blank = ShipRequest {
        service: Some("  ".into()),
        ..ShipRequest::default()
    };
    assert_eq!(
        refusal(check_ship_request(&blank)),
        ("validation_failed", vec!["service".to_owned()])
    );
    let long = ShipRequest {
        tracking_number: Some("9".repeat(65)),
        ..ShipRequest::default()
    };
    assert_eq!(
        refusal(check_ship_request(&long)).1,
        vec!["tracking_number".to_owned()]
    );
}

#[test]
fn a_scanned_barcode_names_its_product_and_anything_else_is_read_as_a_sku() {
    // 4006381333931 is a valid EAN-13; the catalog knows it by its 14-digit form.
    let raw: Vec<String> = [
        "4006381333931",
        " MUG-1 ",
        "04006381333931",
        "0012345678905",
    ]
    .map(str::to_owned)
    .to_vec();
    assert_eq!(gtins_of(&raw), ["00012345678905", "04006381333931"]);
    let known = HashMap::from([("04006381333931".to_owned(), "TEE-M".to_owned())]);
    let skus: Vec<String> = skus_of(&raw, &known)
        .expect("all read")
        .iter()
        .map(|s| s.to_string())
        .collect();
    // A GTIN no product has is kept as its digits, for the order to refuse.
    assert_eq!(skus, ["TEE-M", "MUG-1", "TEE-M", "0012345678905"]);
    let bad = ["MUG-1".to_owned(), "not a sku".to_owned()];
    assert_eq!(
        refusal(skus_of(&bad, &known)),
        ("validation_failed", vec!["scans[1]".to_owned()])
    );
}

/// An order with two fulfillment orders: the first shipped its package, the second
/// packed `pkg_1_2`.
fn packed() -> Order {
    let address = serde_json::json!({"name": "A", "line1": "1 Main", "line2": null,
        "city": "Austin", "region": "TX", "postal_code": "78701", "country": "US"});
    let package = |id: &str| {
        serde_json::json!({"id": id, "items": [], "weight_grams": 800,
            "dimensions_mm": [10, 10, 10], "packed_at": t(0)})
    };
    let json = serde_json::json!({
        "id": "ord_1", "number": "WEB-1", "channel": "web", "external_id": null,
        "currency": "USD", "state": "confirmed",
        "customer": {"email": "a@example.com", "name": null, "phone": null},
        "shipping_address": address, "billing_address": address,
        "lines": [], "shipping_amount": 0, "tax_amount": 0, "discount_amount": 0,
        "holds": [], "reservations": [], "version": 5,
        "created_at": t(0), "updated_at": t(0),
        "fulfillment_orders": [
            {"id": "ful_1_1", "location_id": "wh-east", "state": "shipped", "lines": [],
             "created_at": t(0), "packages": [package("pkg_1_1")],
             "shipments": [{"id": "shp_1_1", "package_id": "pkg_1_1", "carrier": "local",
                "service": "ground", "tracking_number": "LC1", "shipped_at": t(1),
                "scans": []}]},
            {"id": "ful_1_2", "location_id": "wh-west", "state": "packed", "lines": [],
             "created_at": t(0), "packages": [package("pkg_1_2")]}
        ]
    });
    serde_json::from_value(json).expect("a packed order")
}

#[test]
fn shipping_a_package_names_its_fulfillment_order_and_the_next_shipment() {
    let handover = Handover {
        carrier: "local".into(),
        service: "ground".into(),
        tracking_number: "LC2".into(),
        promised_by: Some(t(5)),
        price_minor: Some(695),
        ready_for_pickup_at: None,
    };
    let order = packed();
    let cmd = ship_command(
        &order,
        &Id::new("pkg_1_2"),
        &handover,
        CaptureMode::OnShipment,
    )
    .expect("a command");
    let OrderCommand::Ship { ship, capture } = cmd else {
        panic!("not a shipment: {cmd:?}");
    };
    assert_eq!(
        (
            ship.fulfillment_id.as_str(),
            ship.shipment_id.as_str(),
            ship.tracking_number.as_str(),
            ship.promised_by,
            capture
        ),
        (
            "ful_1_2",
            "shp_1_2",
            "LC2",
            Some(t(5)),
            CaptureMode::OnShipment
        )
    );
    assert_eq!(
        refusal(ship_command(
            &order,
            &Id::new("pkg_1_7"),
            &handover,
            CaptureMode::OnAuthorization
        ))
        .0,
        "package_not_found"
    );
}
