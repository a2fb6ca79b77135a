//! What a client needs to find things: a package, a shipment and a wave by id, waves by
//! status, place and time, orders by the keys a client holds (its channel's id, a
//! tracking number) or by text; and answers that say what they made.

use crate::helpers::{Res, TestApp, field_errors, order_body, send, spawn_app};
use jiff::{SignedDuration, Timestamp};
use orderly_domain::actor::Role;
use reqwest::Method;
use serde_json::{Value, json};

/// MUG at wh-central, CAP at wh-east.
async fn shop() -> TestApp {
    let app = spawn_app().await;
    app.seed_product("MUG", 1000).await;
    app.seed_product("CAP", 2000).await;
    app.receive("MUG", "wh-central", 50).await;
    app.receive("CAP", "wh-east", 50).await;
    app
}

fn fo(order: &Value) -> String {
    order["fulfillment_orders"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn ids(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn pack(app: &TestApp, fid: &str, key: Option<&str>) -> Res {
    let mut req = app
        .req(Method::POST, &format!("/fulfillment-orders/{fid}/packages"))
        .json(&json!({"scans": ["MUG"], "weight_grams": 400, "dimensions_mm": [100, 100, 100]}));
    if let Some(key) = key {
        req = req.header("idempotency-key", key);
    }
    send(req).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pack_answers_with_the_package_and_both_are_found_by_id_with_their_order() {
    let app = shop().await;
    let order = app
        .create_order(&order_body("web", &[("MUG", 1, 1000)]))
        .await;
    let (oid, fid) = (order["id"].as_str().unwrap().to_owned(), fo(&order));
    let picked = app
        .post(
            &format!("/fulfillment-orders/{fid}/pick"),
            &json!({"lines": [{"line_no": 1, "picked": 1}]}),
        )
        .await
        .expect(200);
    assert_eq!(
        picked["lines"],
        json!([{"line_no": 1, "sku": "MUG", "picked": 1, "short": 0}])
    );
    assert_eq!(picked["order_number"], order["number"]);

    // The package, its id, and the way back to its order, once, however often it is sent.
    let first = pack(&app, &fid, Some("pack-1")).await;
    let package = first.expect(201);
    let pkg = package["id"].as_str().unwrap().to_owned();
    assert!(pkg.starts_with("pkg_"), "{package}");
    assert_eq!(
        first.headers["location"].to_str().unwrap(),
        format!("/api/v1/packages/{pkg}")
    );
    assert_eq!(package["order_id"], json!(oid));
    assert_eq!(package["order_number"], order["number"]);
    assert_eq!(package["fulfillment_order_id"], json!(fid));
    assert_eq!(package["location_id"], "wh-central");
    assert_eq!(
        package["items"],
        json!([{"line_no": 1, "sku": "MUG", "quantity": 1}])
    );
    assert_eq!(
        package["links"]["order"],
        json!(format!("/api/v1/orders/{oid}"))
    );
    let replay = pack(&app, &fid, Some("pack-1")).await;
    assert_eq!(replay.expect(201), package, "a replay answers the same");
    let view = app.get(&format!("/orders/{oid}")).await.expect(200);
    assert_eq!(
        view["fulfillment_orders"][0]["packages"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // Read by id, by the warehouse too.
    let (_, warehouse) = app.key(Role::Warehouse).await;
    let read = |path: String| {
        let req = app.req_as(&warehouse, Method::GET, &path);
        async move { send(req).await }
    };
    assert_eq!(read(format!("/packages/{pkg}")).await.expect(200), package);
    let shipped = app
        .post(&format!("/packages/{pkg}/ship"), &json!({}))
        .await
        .expect(200);
    let shipment = &shipped["fulfillment_orders"][0]["shipments"][0];
    let shp = shipment["id"].as_str().unwrap();
    let found = read(format!("/shipments/{shp}")).await.expect(200);
    assert_eq!(found["tracking_number"], shipment["tracking_number"]);
    assert_eq!(found["package_id"], json!(pkg));
    assert_eq!(found["order_id"], json!(oid));
    assert_eq!(found["order_number"], order["number"]);
    assert_eq!(
        found["links"]["package"],
        json!(format!("/api/v1/packages/{pkg}"))
    );
    let package = read(format!("/packages/{pkg}")).await.expect(200);
    assert_eq!(package["shipment_id"], json!(shp));
    assert_eq!(
        package["links"]["shipment"],
        json!(format!("/api/v1/shipments/{shp}"))
    );

    for (path, code) in [
        (format!("/packages/{pkg}9"), "package_not_found"),
        ("/packages/nope".to_owned(), "package_not_found"),
        (format!("/shipments/{shp}9"), "shipment_not_found"),
        ("/shipments/shp_nope_1".to_owned(), "shipment_not_found"),
    ] {
        read(path).await.expect_problem(404, code);
    }
    send(app.client.get(app.url(&format!("/packages/{pkg}"))))
        .await
        .expect_problem(401, "unauthorized");
    app.assert_invariants().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waves_are_found_by_id_and_listed_by_status_location_and_time() {
    let app = shop().await;
    let mug = app
        .create_order(&order_body("web", &[("MUG", 1, 1000)]))
        .await;
    let cap = app
        .create_order(&order_body("web", &[("CAP", 1, 2000)]))
        .await;
    let central = app
        .post("/waves", &json!({"location_id": "wh-central"}))
        .await
        .expect(201)["wave_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let east = app
        .post("/waves", &json!({"location_id": "wh-east"}))
        .await
        .expect(201)["wave_id"]
        .as_str()
        .unwrap()
        .to_owned();

    let wave = app.get(&format!("/waves/{central}")).await.expect(200);
    assert_eq!(wave["status"], "open");
    assert_eq!(wave["location_id"], "wh-central");
    assert_eq!(
        (wave["members"].clone(), wave["to_pick"].clone()),
        (json!(1), json!(1))
    );
    assert_eq!(
        wave["fulfillment_orders"],
        json!([{"fulfillment_order_id": fo(&mug), "order_id": mug["id"],
                "order_number": mug["number"], "state": "released"}])
    );
    assert_eq!(
        wave["pick_list"],
        json!(format!("/api/v1/waves/{central}/pick-list"))
    );
    app.get("/waves/wav_nope")
        .await
        .expect_problem(404, "not_found");

    // Picking its only member completes the central wave.
    app.post(
        &format!("/fulfillment-orders/{}/pick", fo(&mug)),
        &json!({"lines": [{"line_no": 1, "picked": 1}]}),
    )
    .await
    .expect(200);
    let wave = app.get(&format!("/waves/{central}")).await.expect(200);
    assert_eq!(wave["status"], "completed");
    assert_eq!(wave["fulfillment_orders"][0]["state"], "picking");

    let list = |query: &str| {
        let path = format!("/waves{query}");
        let app = &app;
        async move { ids(&app.get(&path).await.expect(200)) }
    };
    assert_eq!(
        list("").await,
        [east.as_str(), central.as_str()],
        "newest first"
    );
    assert_eq!(list("?status=open").await, [east.as_str()]);
    assert_eq!(list("?status=completed").await, [central.as_str()]);
    assert_eq!(list("?location_id=wh-central").await, [central.as_str()]);
    assert_eq!(list("?location_id=wh-west").await, Vec::<String>::new());
    let later = (app.clock.now() + SignedDuration::from_hours(1)).to_string();
    let earlier = (Timestamp::now() - SignedDuration::from_hours(1)).to_string();
    assert_eq!(
        list(&format!("?created_from={later}")).await,
        Vec::<String>::new()
    );
    assert_eq!(
        list(&format!("?created_to={later}&created_from={earlier}"))
            .await
            .len(),
        2
    );
    let first = app.get("/waves?limit=1").await.expect(200);
    assert_eq!(ids(&first), [east.as_str()]);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = app
        .get(&format!("/waves?limit=1&cursor={cursor}"))
        .await
        .expect(200);
    assert_eq!(ids(&second), [central.as_str()]);
    assert!(second["next_cursor"].is_null());
    let east_wave = &app.get("/waves?status=open").await.expect(200)["data"][0];
    assert_eq!(
        east_wave["fulfillment_orders"],
        Value::Null,
        "lists stay short"
    );
    assert_eq!(east_wave["members"], 1);
    let east_wave = app.get(&format!("/waves/{east}")).await.expect(200);
    assert_eq!(
        east_wave["fulfillment_orders"][0]["fulfillment_order_id"],
        json!(fo(&cap))
    );
    app.get("/waves?status=picked")
        .await
        .expect_problem(400, "invalid_query");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_are_found_by_external_id_tracking_number_and_text() {
    let app = shop().await;
    let place = |external: &str, email: &str, name: &str, channel: &str| {
        let mut body = order_body(channel, &[("MUG", 1, 1000)]);
        body["external_id"] = json!(external);
        body["customer"] = json!({"email": email, "name": name});
        body
    };
    let ana = app
        .create_order(&place("SHOP-1", "ana@example.com", "Ana Díaz", "web"))
        .await;
    let zoe = app
        .create_order(&place("SHOP-2", "zoe@example.org", "Zoë Ångström", "web"))
        .await;
    let market = app
        .create_order(&place("SHOP-1", "bo@example.net", "Bo Li", "marketplace"))
        .await;
    let id = |o: &Value| o["id"].as_str().unwrap().to_owned();
    let packed = app.pick_and_pack(&fo(&zoe), &[(1, 1)], &["MUG"]).await;
    let shipped = app
        .post(
            &format!("/packages/{}/ship", packed["id"].as_str().unwrap()),
            &json!({}),
        )
        .await
        .expect(200);
    let tracking = shipped["fulfillment_orders"][0]["shipments"][0]["tracking_number"]
        .as_str()
        .unwrap()
        .to_owned();

    let find = |query: String| {
        let app = &app;
        async move { ids(&app.get(&format!("/orders?{query}")).await.expect(200)) }
    };
    // Its channel's id, in every channel unless one is named.
    assert_eq!(
        find("external_id=SHOP-1".into()).await,
        [id(&market), id(&ana)]
    );
    assert_eq!(
        find("external_id=SHOP-1&channel=web".into()).await,
        [id(&ana)]
    );
    assert_eq!(
        find("external_id=SHOP-9".into()).await,
        Vec::<String>::new()
    );
    assert_eq!(
        find(format!("tracking_number={tracking}")).await,
        [id(&zoe)]
    );
    assert_eq!(
        find("tracking_number=LC-NONE".into()).await,
        Vec::<String>::new()
    );
    // Text in the number, the email or the name, whatever the case.
    let number = ana["number"].as_str().unwrap().to_lowercase();
    for (q, found) in [
        (number.as_str(), vec![id(&ana)]),
        ("ZOE@EXAMPLE", vec![id(&zoe)]),
        ("ångström", vec![id(&zoe)]),
        ("ÅNGSTRÖM", vec![id(&zoe)]),
        ("díaz", vec![id(&ana)]),
        ("example", vec![id(&market), id(&zoe), id(&ana)]),
        ("nobody", vec![]),
    ] {
        assert_eq!(
            find(format!("q={}", crate::helpers::enc(q))).await,
            found,
            "q={q}"
        );
    }
    // Filters narrow each other, and pages keep their cursor.
    assert_eq!(
        find("q=example&channel=marketplace".into()).await,
        [id(&market)]
    );
    let first = app.get("/orders?q=example&limit=2").await.expect(200);
    assert_eq!(ids(&first), [id(&market), id(&zoe)]);
    let cursor = first["next_cursor"].as_str().unwrap();
    assert_eq!(
        find(format!("q=example&limit=2&cursor={cursor}")).await,
        [id(&ana)]
    );
    for bad in [
        "q=",
        "q=%20%20",
        "external_id=",
        &format!("q={}", "x".repeat(101)),
    ] {
        app.get(&format!("/orders?{bad}"))
            .await
            .expect_problem(400, "invalid_query");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_reports_an_unknown_sku_with_the_other_field_errors() {
    let app = shop().await;
    let before = app.fingerprint().await;
    // The README's example.
    let body = json!({"channel": "web", "currency": "EUR", "customer": {"email": "nope"},
        "shipping_address": {"country": "ZZ"},
        "lines": [{"sku": "NO-SUCH-SKU", "quantity": -1, "unit_price": 100}]});
    let problem = app
        .post("/orders", &body)
        .await
        .expect_problem(422, "validation_failed");
    let errors = field_errors(&problem);
    for expected in [
        ("currency", "currency_mismatch"),
        ("customer.email", "invalid_email"),
        ("shipping_address.country", "invalid_country"),
        ("lines[0].quantity", "must_be_positive"),
        ("lines[0].sku", "unknown_sku"),
    ] {
        assert!(
            errors.contains(&(expected.0.to_owned(), expected.1.to_owned())),
            "{expected:?} missing from {errors:?}"
        );
    }
    assert_eq!(
        app.fingerprint().await["tables"],
        before["tables"],
        "nothing changed"
    );
    // A known SKU among bad lines is not reported; an inactive one is.
    app.patch("/products/CAP", &json!({"active": false}))
        .await
        .expect(200);
    let before = app.fingerprint().await;
    let mut body = order_body("web", &[("MUG", 0, 1000), ("CAP", 1, 2000), ("NOPE", 1, 1)]);
    body["customer"]["email"] = json!("");
    let errors = field_errors(
        &app.post("/orders", &body)
            .await
            .expect_problem(422, "validation_failed"),
    );
    assert!(
        !errors.iter().any(|(f, _)| f == "lines[0].sku"),
        "{errors:?}"
    );
    assert!(
        errors.contains(&("lines[1].sku".into(), "inactive_sku".into())),
        "{errors:?}"
    );
    assert!(
        errors.contains(&("lines[2].sku".into(), "unknown_sku".into())),
        "{errors:?}"
    );
    assert!(
        errors.contains(&("customer.email".into(), "required".into())),
        "{errors:?}"
    );
    // Well-formed apart from the SKU: still one answer, from the write.
    let errors = field_errors(
        &app.post("/orders", &order_body("web", &[("NOPE", 1, 1)]))
            .await
            .expect_problem(422, "validation_failed"),
    );
    assert_eq!(
        errors,
        [("lines[0].sku".to_owned(), "unknown_sku".to_owned())]
    );
    let after = app.fingerprint().await;
    assert_eq!(after["tables"], before["tables"], "nothing changed");
}
