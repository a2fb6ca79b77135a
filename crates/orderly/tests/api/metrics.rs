//! `/metrics` as Prometheus scrapes it: an admin key on the main address (or no key on
//! `metrics.listen`, and then nothing on the main one), text that the Prometheus
//! client's own parser reads (Debian's `python3-prometheus-client`), requests counted
//! per route, orders captured, and an exception queue's depth following its entries.

use crate::helpers::*;
use orderly_domain::actor::Role;
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::BTreeMap;

const PYTHON: &str = "/usr/bin/python3";

/// Every sample of `text` as the Prometheus client parses it: `name{k="v",…}` → value.
fn parse(text: &str) -> BTreeMap<String, f64> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("metrics.txt");
    std::fs::write(&path, text).unwrap();
    let script = "import json, sys\n\
        from prometheus_client.parser import text_string_to_metric_families\n\
        out = {}\n\
        for family in text_string_to_metric_families(open(sys.argv[1]).read()):\n\
        \x20   for s in family.samples:\n\
        \x20       labels = ','.join(f'{k}=\"{v}\"' for k, v in sorted(s.labels.items()))\n\
        \x20       out[s.name + '{' + labels + '}'] = s.value\n\
        print(json.dumps(out))\n";
    let run = std::process::Command::new(PYTHON)
        .arg("-c")
        .arg(script)
        .arg(&path)
        .output()
        .expect("python3 (apt-get install python3-prometheus-client; .ci/run does)");
    assert!(
        run.status.success(),
        "the Prometheus parser refused the text: {}\n{text}",
        String::from_utf8_lossy(&run.stderr)
    );
    let parsed: BTreeMap<String, Value> = serde_json::from_slice(&run.stdout).unwrap();
    parsed
        .into_iter()
        .map(|(k, v)| (k, v.as_f64().unwrap()))
        .collect()
}

async fn scrape(app: &TestApp) -> BTreeMap<String, f64> {
    let res = send(
        app.client
            .get(format!("http://{}/metrics", app.addr))
            .bearer_auth(&app.admin_key),
    )
    .await;
    let text = String::from_utf8_lossy(&res.bytes).into_owned();
    assert_eq!(res.status, 200, "{text}");
    assert!(
        res.content_type().starts_with("text/plain"),
        "{}",
        res.content_type()
    );
    parse(&text)
}

fn depth(m: &BTreeMap<String, f64>, queue: &str) -> f64 {
    m[&format!("orderly_exception_queue_depth{{queue=\"{queue}\"}}")]
}

#[tokio::test]
async fn metrics_need_an_admin_key_parse_as_prometheus_and_a_queue_depth_follows_its_entries() {
    let app = spawn_app().await;
    app.seed_product("TEE-BLK-M", 2000).await;
    app.receive("TEE-BLK-M", "wh-east", 10).await;
    let url = format!("http://{}/metrics", app.addr);
    assert_eq!(send(app.client.get(&url)).await.status, 401);
    let (_, support) = app.key(Role::Support).await;
    send(app.client.get(&url).bearer_auth(&support))
        .await
        .expect_problem(403, "forbidden");

    let before = scrape(&app).await;
    assert_eq!(depth(&before, "payments"), 0.0);
    // A refused card opens a `payment_failed` entry in the payments queue.
    let mut body = order_body("web", &[("TEE-BLK-M", 1, 2000)]);
    body["payment"] = json!({"method": "card", "token": "tok_declined"});
    let order = app.create_order(&body).await;
    let id = order["id"].as_str().unwrap().to_owned();
    let during = scrape(&app).await;
    assert_eq!(depth(&during, "payments"), 1.0, "{during:?}");
    assert_eq!(depth(&during, "fulfillment"), 0.0);
    assert!(during["orderly_exception_queue_oldest_age_seconds{queue=\"payments\"}"] >= 0.0);
    assert_eq!(
        during["orderly_orders_captured_total{channel=\"web\"}"],
        1.0
    );
    let posted =
        "orderly_http_requests_total{method=\"POST\",route=\"/api/v1/orders\",status=\"201\"}";
    assert_eq!(during[posted], 1.0, "{during:?}");
    assert!(
        during["orderly_http_request_duration_seconds_count{method=\"POST\",route=\"/api/v1/orders\"}"]
            >= 1.0
    );
    // Routes are counted by their pattern, not by the ids in them.
    app.get(&format!("/orders/{id}")).await.expect(200);
    app.get(&format!("/orders/{}", order["number"].as_str().unwrap()))
        .await
        .expect(200);
    let read = scrape(&app).await;
    assert_eq!(
        read["orderly_http_requests_total{method=\"GET\",route=\"/api/v1/orders/{id}\",status=\"200\"}"],
        2.0
    );
    for gauge in [
        "orderly_backlog{of=\"outbox\"}",
        "orderly_backlog{of=\"webhooks\"}",
        "orderly_backlog{of=\"messages\"}",
        "orderly_timers_due{}",
        "orderly_timer_lag_seconds{}",
    ] {
        assert!(read.contains_key(gauge), "{gauge} in {read:?}");
    }

    // A good card settles it: the entry leaves the queue, and the depth says so.
    send(
        app.req(Method::POST, &format!("/orders/{id}/payments"))
            .json(&json!({"method": "card", "token": "tok_visa"})),
    )
    .await
    .expect(200);
    let after = scrape(&app).await;
    assert_eq!(depth(&after, "payments"), 0.0, "{after:?}");
}

#[tokio::test]
async fn metrics_on_their_own_address_need_no_key_and_leave_the_main_one() {
    let app = spawn_app_with(|c| c.metrics.listen = Some("127.0.0.1:0".into())).await;
    let own = app.metrics_addr.expect("metrics.listen was bound");
    let res = send(app.client.get(format!("http://{own}/metrics"))).await;
    let text = String::from_utf8_lossy(&res.bytes).into_owned();
    assert_eq!(res.status, 200, "{text}");
    let m = parse(&text);
    assert_eq!(depth(&m, "payments"), 0.0);
    // The main address serves no metrics then, key or none.
    send(
        app.client
            .get(format!("http://{}/metrics", app.addr))
            .bearer_auth(&app.admin_key),
    )
    .await
    .expect_problem(404, "no_route");
}
