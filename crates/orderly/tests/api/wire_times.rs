//! Every time Orderly writes on the wire is RFC 3339 UTC with exactly three fractional
//! digits, wherever it comes from (our clock, a client's promise, a carrier's scan) and
//! wherever it appears (a field, a timeline summary, a list).

use crate::helpers::{TestApp, order_body, spawn_app};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

/// Whether `s` is exactly `YYYY-MM-DDTHH:MM:SS.mmmZ`.
fn is_wire_time(s: &str) -> bool {
    let pattern = "dddd-dd-ddTdd:dd:dd.dddZ";
    s.len() == pattern.len()
        && s.bytes().zip(pattern.bytes()).all(|(c, p)| match p {
            b'd' => c.is_ascii_digit(),
            other => c == other,
        })
}

/// Every time inside `s` (a whole value or one in a sentence): from where a date-time
/// starts (`YYYY-MM-DDT`) to the end of its zone.
fn times_in(s: &str) -> Vec<String> {
    let b = s.as_bytes();
    let starts_time = |i: usize| {
        b.len() >= i + 11
            && (i == 0 || !b[i - 1].is_ascii_digit())
            && b[i..i + 4].iter().all(u8::is_ascii_digit)
            && b[i + 4] == b'-'
            && b[i + 5..i + 7].iter().all(u8::is_ascii_digit)
            && b[i + 7] == b'-'
            && b[i + 8..i + 10].iter().all(u8::is_ascii_digit)
            && b[i + 10] == b'T'
    };
    (0..b.len())
        .filter(|&i| starts_time(i))
        .map(|i| {
            let mut end = (i + 11..b.len())
                .find(|&j| !(b[j].is_ascii_digit() || b":.+-".contains(&b[j])))
                .unwrap_or(b.len());
            if b.get(end) == Some(&b'Z') {
                end += 1;
            }
            s[i..end].to_owned()
        })
        .collect()
}

/// Asserts every time in `value` has the wire width; returns how many it checked.
fn assert_wire_times(value: &Value, path: &str) -> usize {
    match value {
        Value::String(s) => {
            let found = times_in(s);
            for t in &found {
                assert!(is_wire_time(t), "{path}: {t:?} (in {s:?})");
            }
            found.len()
        }
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| assert_wire_times(v, &format!("{path}[{i}]")))
            .sum(),
        Value::Object(fields) => fields
            .iter()
            .map(|(k, v)| assert_wire_times(v, &format!("{path}.{k}")))
            .sum(),
        _ => 0,
    }
}

/// A shipped, scanned one-MUG order promised for a whole second; returns its id.
async fn shipped_order(app: &TestApp) -> String {
    let mut body = order_body("web", &[("MUG", 1, 1000)]);
    body["delivery"] = json!({"deliver_by": "2030-01-01T00:00:00Z"});
    let order = app.create_order(&body).await;
    let id = order["id"].as_str().unwrap().to_owned();
    let fid = order["fulfillment_orders"][0]["id"].as_str().unwrap();
    let packed = app.pick_and_pack(fid, &[(1, 1)], &["MUG"]).await;
    let pkg = packed["id"].as_str().unwrap();
    let shipped = app
        .post(
            &format!("/packages/{pkg}/ship"),
            &json!({"promised_by": "2030-01-02T00:00:00.5Z"}),
        )
        .await
        .expect(200);
    let tracking = shipped["fulfillment_orders"][0]["shipments"][0]["tracking_number"].clone();
    // Scans an hour ago, at a whole second and at a tenth: the widths jiff would print.
    let an_hour_ago = Timestamp::from_second(Timestamp::now().as_second() - 3600).unwrap();
    for (n, at) in [
        an_hour_ago.to_string(),
        (an_hour_ago + SignedDuration::from_millis(100)).to_string(),
    ]
    .into_iter()
    .enumerate()
    {
        app.track(&json!({"id": format!("trk_{n}"), "carrier": "local",
            "tracking_number": tracking, "status": "in_transit", "occurred_at": at}))
            .await
            .expect(200);
    }
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timestamps_on_the_wire_have_three_fractional_digits() {
    let app = spawn_app().await;
    app.seed_product("MUG", 1000).await;
    app.receive("MUG", "wh-central", 10).await;
    let id = shipped_order(&app).await;
    // A declined card: a payment deadline, a hold, a failed operation.
    let mut declined = order_body("web", &[("MUG", 1, 1000)]);
    declined["payment"] = json!({"method": "card", "token": "tok_declined"});
    let unpaid = app.create_order(&declined).await;

    let order = app.get(&format!("/orders/{id}")).await.expect(200);
    assert_eq!(order["delivery"]["deliver_by"], "2030-01-01T00:00:00.000Z");
    let shipment = &order["fulfillment_orders"][0]["shipments"][0];
    assert_eq!(shipment["promised_by"], "2030-01-02T00:00:00.500Z");
    assert_eq!(
        shipment["scans"][0]["occurred_at"].as_str().unwrap().len(),
        24
    );
    let mut checked = assert_wire_times(&order, "order");
    for oid in [id.as_str(), unpaid["id"].as_str().unwrap()] {
        let timeline = app
            .get(&format!("/orders/{oid}/timeline"))
            .await
            .expect(200);
        checked += assert_wire_times(&timeline, "timeline");
    }
    let list = app.get("/orders?limit=10").await.expect(200);
    checked += assert_wire_times(&list, "list");
    assert!(checked > 40, "only {checked} times seen");
}

#[test]
fn the_checker_tells_wire_times_from_others() {
    assert!(is_wire_time("2026-12-03T10:51:17.000Z"));
    for bad in [
        "2026-12-03T10:51:17Z",
        "2026-12-03T10:51:17.1Z",
        "2026-12-03T10:51:17.99Z",
        "2026-12-03T10:51:17.000+00:00",
    ] {
        assert!(!is_wire_time(bad), "{bad}");
    }
    assert_eq!(
        times_in(
            "Shipment shp_1: in_transit (2026-11-22T10:00:00Z); due 2026-11-23T00:00:00.000Z."
        ),
        ["2026-11-22T10:00:00Z", "2026-11-23T00:00:00.000Z"]
    );
}
