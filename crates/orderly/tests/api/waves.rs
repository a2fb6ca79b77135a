//! Waves and pick lists: released fulfillment orders of one location grouped for picking,
//! each in at most one wave, with a pick list grouped by SKU in bin order.

use crate::helpers::{join_all, order_body, send, spawn_app};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::HashSet;

async fn shop() -> crate::helpers::TestApp {
    let app = spawn_app().await;
    app.seed_product("MUG", 1000).await;
    app.seed_product("CAP", 2000).await;
    for (sku, bin) in [("MUG", "B-07"), ("CAP", "A-02")] {
        app.post(
            "/inventory/adjustments",
            &json!({"sku": sku, "location_id": "wh-central", "kind": "receipt", "quantity": 50, "bin": bin}),
        )
        .await
        .expect(201);
    }
    app
}

fn paid(lines: &[(&str, i64, i64)]) -> Value {
    let mut b = order_body("web", lines);
    b["payment"] = json!({"method": "card", "token": "tok_visa"});
    b
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wave_takes_the_oldest_released_orders_and_lists_picks_in_bin_order() {
    let app = shop().await;
    let first = app
        .create_order(&paid(&[("MUG", 2, 1000), ("CAP", 1, 2000)]))
        .await;
    let second = app.create_order(&paid(&[("MUG", 1, 1000)])).await;
    let third = app.create_order(&paid(&[("CAP", 3, 2000)])).await;

    let wave = app
        .post(
            "/waves",
            &json!({"location_id": "wh-central", "max_orders": 2}),
        )
        .await
        .expect(201);
    let fo = |o: &Value| {
        o["fulfillment_orders"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(
        wave["fulfillment_order_ids"],
        json!([fo(&first), fo(&second)])
    );
    let lines = wave["lines"].as_array().unwrap();
    // CAP is in bin A-02, MUG in B-07: the picker walks A before B.
    assert_eq!(lines[0]["sku"], "CAP");
    assert_eq!(lines[0]["bin"], "A-02");
    assert_eq!(lines[0]["quantity"], 1);
    assert_eq!(lines[1]["sku"], "MUG");
    assert_eq!(lines[1]["quantity"], 3);
    assert_eq!(lines[1]["picks"].as_array().unwrap().len(), 2);

    let id = wave["wave_id"].as_str().unwrap().to_owned();
    assert_eq!(
        app.get(&format!("/waves/{id}/pick-list")).await.expect(200),
        wave
    );
    let page = app.get(&format!("/waves/{id}/pick-list.html")).await;
    assert_eq!(page.status, 200);
    assert!(page.content_type().starts_with("text/html"));
    // The printable page may use its inline style and nothing else, and is never framed.
    let header = |name: &str| page.headers[name].to_str().unwrap().to_owned();
    assert_eq!(
        header("content-security-policy"),
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; \
         base-uri 'none'; form-action 'none'"
    );
    assert_eq!(header("x-frame-options"), "DENY");
    assert_eq!(header("referrer-policy"), "no-referrer");
    assert_eq!(header("cache-control"), "no-store");
    let html = String::from_utf8_lossy(&page.bytes);
    assert!(html.contains("A-02") && html.contains(second["number"].as_str().unwrap()));

    let pdf = app.get(&format!("/waves/{id}/pick-list.pdf")).await;
    assert_eq!(pdf.status, 200);
    assert_eq!(pdf.content_type(), "application/pdf");
    let dir = tempfile::tempdir().unwrap();
    let (text, _) = crate::helpers::pdf_text(&pdf.bytes, dir.path());
    let (cap, mug) = (text.find("CAP").unwrap(), text.find("MUG").unwrap());
    assert!(cap < mug, "bin order in the PDF: {text}");
    assert!(
        text.contains("A-02") && text.contains(second["number"].as_str().unwrap()),
        "{text}"
    );

    // The next wave takes only what is left; then nothing waits.
    let next = app
        .post("/waves", &json!({"location_id": "wh-central"}))
        .await
        .expect(201);
    assert_eq!(next["fulfillment_order_ids"], json!([fo(&third)]));
    app.post("/waves", &json!({"location_id": "wh-central"}))
        .await
        .expect_problem(409, "nothing_to_wave");
    app.post("/waves", &json!({"location_id": "nowhere"}))
        .await
        .expect_problem(422, "validation_failed");
    // Once picked, a fulfillment order leaves the pick list.
    app.post(
        &format!("/fulfillment-orders/{}/pick", fo(&second)),
        &json!({"lines": [{"line_no": 1, "picked": 1}]}),
    )
    .await
    .expect(200);
    let after = app.get(&format!("/waves/{id}/pick-list")).await.expect(200);
    assert_eq!(after["lines"][1]["quantity"], 2);
    app.get("/waves/wav_nope/pick-list")
        .await
        .expect_problem(404, "not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_waves_never_share_a_fulfillment_order() {
    let app = shop().await;
    for n in 0..12 {
        // Different customers: one customer's sixth order would go to fraud review.
        let mut body = paid(&[("MUG", 1, 1000)]);
        body["customer"]["email"] = json!(format!("c{n}@example.com"));
        app.create_order(&body).await;
    }
    let requests = (0..4).map(|_| {
        send(
            app.req(Method::POST, "/waves")
                .json(&json!({"location_id": "wh-central", "max_orders": 4})),
        )
    });
    let waves = join_all(requests).await;
    let mut seen = HashSet::new();
    let mut total = 0;
    for w in &waves {
        if w.status == 201 {
            for id in w.json()["fulfillment_order_ids"].as_array().unwrap() {
                assert!(
                    seen.insert(id.as_str().unwrap().to_owned()),
                    "{id} in two waves"
                );
                total += 1;
            }
        } else {
            w.expect_problem(409, "nothing_to_wave");
        }
    }
    assert_eq!(
        total, 12,
        "every released fulfillment order is in exactly one wave"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_express_wave_takes_only_the_orders_that_asked_for_express() {
    let app = shop().await;
    let mut express = paid(&[("MUG", 1, 1000)]);
    express["delivery"] = json!({"service": "local/express"});
    let ground = app.create_order(&paid(&[("CAP", 1, 2000)])).await;
    let express = app.create_order(&express).await;

    app.post(
        "/waves",
        &json!({"location_id": "wh-central", "service": "local/teleport"}),
    )
    .await
    .expect_problem(422, "validation_failed");
    let wave = app
        .post(
            "/waves",
            &json!({"location_id": "wh-central", "service": "local/express"}),
        )
        .await
        .expect(201);
    assert_eq!(
        wave["fulfillment_order_ids"],
        json!([express["fulfillment_orders"][0]["id"]])
    );
    // Nothing else asked for express; the ground order goes in the next plain wave.
    app.post(
        "/waves",
        &json!({"location_id": "wh-central", "service": "local/express"}),
    )
    .await
    .expect_problem(409, "nothing_to_wave");
    let rest = app
        .post("/waves", &json!({"location_id": "wh-central"}))
        .await
        .expect(201);
    assert_eq!(
        rest["fulfillment_order_ids"],
        json!([ground["fulfillment_orders"][0]["id"]])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_printable_pick_list_escapes_what_the_catalog_says() {
    let app = spawn_app().await;
    app.post(
        "/products",
        &json!({"sku": "TEA", "name": "Tea & <script>alert(1)</script>", "price": 500, "currency": "USD"}),
    )
    .await
    .expect(201);
    app.receive("TEA", "wh-central", 5).await;
    app.create_order(&paid(&[("TEA", 1, 500)])).await;
    let wave = app
        .post("/waves", &json!({"location_id": "wh-central"}))
        .await
        .expect(201);
    let page = app
        .get(&format!(
            "/waves/{}/pick-list.html",
            wave["wave_id"].as_str().unwrap()
        ))
        .await;
    let html = String::from_utf8_lossy(&page.bytes);
    assert!(!html.contains("<script>"), "{html}");
    assert!(
        html.contains("Tea &#38; &#60;script&#62;alert(1)"),
        "{html}"
    );
    assert!(html.contains("<td class=q>1</td>"), "{html}");
}
