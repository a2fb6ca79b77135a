//! Outbound webhooks end to end: real HTTP receivers on loopback, the dispatcher and
//! delivery worker driven by the test's manual clock, signatures checked by our own
//! verifier and by an independent one in Python, retries on the schedule, dead letters
//! and disabled endpoints in the exception queue, redelivery and the replay feed, and
//! the destination policy refusing private addresses. Its receiver (`Receiver`) and
//! helpers are shared with `delivery_crash.rs`, which is why they live here and the file
//! runs past 600 lines.

use crate::helpers::{TestApp, order_body, spawn_app, spawn_app_with};
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use jiff::SignedDuration;
use orderly::providers::signature::{Secret, verify};
use orderly::webhooks::worker::deliver_due;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// One request a receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    pub body: Vec<u8>,
    pub answered: u16,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("json body")
    }
}

/// A webhook receiver on loopback: answers `fail_first` requests with a 500 (or what
/// `answer` says), then 200.
pub struct Receiver {
    pub url: String,
    pub got: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    pub async fn start(fail_first: usize) -> Receiver {
        Receiver::answering(move |n| {
            if n < fail_first {
                (StatusCode::INTERNAL_SERVER_ERROR, HeaderMap::new())
            } else {
                (StatusCode::OK, HeaderMap::new())
            }
        })
        .await
    }

    pub async fn answering(
        answer: impl Fn(usize) -> (StatusCode, HeaderMap) + Send + Sync + 'static,
    ) -> Receiver {
        let got: Arc<Mutex<Vec<Received>>> = Arc::default();
        let count = Arc::new(AtomicUsize::new(0));
        let answer = Arc::new(answer);
        let (log, seen) = (got.clone(), count.clone());
        let handler = move |headers: HeaderMap, body: Bytes| {
            let (log, seen, answer) = (log.clone(), seen.clone(), answer.clone());
            async move {
                let n = seen.fetch_add(1, Ordering::SeqCst);
                let (status, reply_headers) = answer(n);
                let header = |name: &str| {
                    headers
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned()
                };
                log.lock().unwrap().push(Received {
                    id: header("webhook-id"),
                    timestamp: header("webhook-timestamp"),
                    signature: header("webhook-signature"),
                    body: body.to_vec(),
                    answered: status.as_u16(),
                });
                (status, reply_headers, "receiver says hello")
            }
        };
        let router = axum::Router::new().route("/hook", axum::routing::post(handler));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await });
        Receiver {
            url: format!("http://{addr}/hook"),
            got,
        }
    }

    pub fn received(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    /// The requests answered with a 2xx.
    pub fn accepted(&self) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| (200..300).contains(&r.answered))
            .collect()
    }
}

/// An app whose deliveries may reach loopback, with `tweak` applied after.
pub async fn loopback_app(tweak: impl FnOnce(&mut orderly::config::Config)) -> TestApp {
    spawn_app_with(|c| {
        c.webhooks.allowed_networks = vec!["127.0.0.0/8".into()];
        tweak(c);
    })
    .await
}

/// Subscribes `url` to `types`; returns (subscription id, secret).
pub async fn subscribe(app: &TestApp, url: &str, types: &[&str]) -> (String, String) {
    let res = app
        .post(
            "/webhook-subscriptions",
            &json!({"url": url, "event_types": types, "description": "test receiver"}),
        )
        .await;
    res.expect(201);
    let body = res.json();
    (
        body["id"].as_str().unwrap().to_owned(),
        body["secret"].as_str().unwrap().to_owned(),
    )
}

async fn stocked(app: &TestApp) {
    app.seed_product("MUG-CLASSIC", 1299).await;
    app.receive("MUG-CLASSIC", "wh-east", 100).await;
}

#[tokio::test]
async fn deliveries_are_signed_numbered_per_order_and_on_the_feed() {
    let app = loopback_app(|_| {}).await;
    stocked(&app).await;
    let receiver = Receiver::start(0).await;
    let (sub, secret) = subscribe(&app, &receiver.url, &["*"]).await;
    assert!(secret.starts_with("whsec_"));
    let a = app
        .create_order(&order_body("web", &[("MUG-CLASSIC", 1, 1299)]))
        .await;
    let b = app
        .create_order(&order_body("web", &[("MUG-CLASSIC", 2, 1299)]))
        .await;
    let sent = deliver_due(&app.state, app.clock.now()).await.unwrap();
    assert!(sent >= 2, "{sent}");
    let got = receiver.accepted();
    let secrets = [Secret::parse(&secret).unwrap()];
    let mut per_order: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    let mut ids = Vec::new();
    for r in &got {
        let now_s = jiff::Timestamp::now().as_second();
        verify(&secrets, &r.id, &r.timestamp, &r.signature, &r.body, now_s)
            .expect("our own verifier accepts the signature");
        let event = r.json();
        assert_eq!(event["id"], r.id.as_str(), "webhook-id is the event id");
        per_order
            .entry(event["order_id"].as_str().unwrap().to_owned())
            .or_default()
            .push(event["sequence"].as_i64().unwrap());
        assert!(
            event["order"]["number"].is_string(),
            "the order summary rides along"
        );
        ids.push(r.id.clone());
    }
    assert_eq!(per_order.len(), 2);
    for order in [&a, &b] {
        let seq = &per_order[order["id"].as_str().unwrap()];
        let expected: Vec<i64> = (1..=seq.len() as i64).collect();
        assert_eq!(
            seq, &expected,
            "sequence numbers start at 1, in order, no gaps"
        );
    }
    let types: Vec<String> = got
        .iter()
        .filter(|r| r.json()["order_id"] == a["id"])
        .map(|r| r.json()["type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(types[0], "order.placed");
    assert!(
        types.contains(&"payment.authorized".to_owned()),
        "{types:?}"
    );
    // Nothing more to send: every delivery is delivered once.
    assert_eq!(deliver_due(&app.state, app.clock.now()).await.unwrap(), 0);
    assert_eq!(receiver.received().len(), got.len());

    // The feed holds the same events in the same order.
    let feed = app.get("/events?after=0&limit=200").await;
    feed.expect(200);
    let feed = feed.json();
    let fed: Vec<&str> = feed["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"]["id"].as_str().unwrap())
        .collect();
    // Each order's events come in its own order on both; across orders the receiver
    // may get them interleaved differently (deliveries go out concurrently).
    let of_order = |list: &[&str], order: &Value| -> Vec<String> {
        let short = order["id"].as_str().unwrap().trim_start_matches("ord_");
        list.iter()
            .filter(|id| id.contains(short))
            .map(|id| id.to_string())
            .collect()
    };
    let sent: Vec<&str> = ids.iter().map(String::as_str).collect();
    assert_eq!(fed.len(), sent.len());
    for order in [&a, &b] {
        assert_eq!(of_order(&fed, order), of_order(&sent, order));
    }
    let last = feed["next_after"].as_i64().unwrap();
    let rest = app.get(&format!("/events?after={last}")).await.json();
    assert_eq!(rest["data"], json!([]));
    assert_eq!(rest["next_after"], last);

    // The delivery log shows each delivery with its one attempt.
    let log = app
        .get(&format!(
            "/webhook-subscriptions/{sub}/deliveries?limit=200"
        ))
        .await
        .json();
    let log = log["data"].as_array().unwrap();
    assert_eq!(log.len(), got.len());
    for d in log {
        assert_eq!(d["status"], "delivered");
        assert_eq!(d["log"][0]["status_code"], 200);
        assert_eq!(d["log"][0]["response_body"], "receiver says hello");
    }

    // A redelivery sends the same event again, under the same id.
    let first = log.last().unwrap();
    let res = app
        .post(
            &format!("/webhook-subscriptions/{sub}/redeliver"),
            &json!({"delivery_ids": [first["id"]]}),
        )
        .await;
    res.expect(202);
    assert_eq!(res.json()["redelivered"], 1);
    deliver_due(&app.state, app.clock.now()).await.unwrap();
    let again = receiver.received();
    assert_eq!(again.len(), got.len() + 1);
    assert_eq!(
        again.last().unwrap().id,
        first["event_id"].as_str().unwrap()
    );
}

#[tokio::test]
async fn a_receiver_failing_five_times_gets_the_event_once_on_the_schedule() {
    let app = loopback_app(|c| c.webhooks.jitter_percent = 0).await;
    stocked(&app).await;
    let receiver = Receiver::start(5).await;
    let (sub, _) = subscribe(&app, &receiver.url, &["order.placed"]).await;
    app.create_order(&order_body("web", &[("MUG-CLASSIC", 1, 1299)]))
        .await;
    let schedule = app.state.config.webhooks.retry_schedule_seconds.clone();
    let mut now = app.clock.now();
    assert_eq!(
        deliver_due(&app.state, now).await.unwrap(),
        1,
        "first attempt at once"
    );
    for (i, wait) in schedule.iter().take(5).enumerate() {
        let wait = SignedDuration::from_secs(*wait as i64);
        let early = now + wait - SignedDuration::from_secs(1);
        assert_eq!(
            deliver_due(&app.state, early).await.unwrap(),
            0,
            "retry {} is not due a second early",
            i + 1
        );
        now += wait;
        assert_eq!(
            deliver_due(&app.state, now).await.unwrap(),
            1,
            "retry {}",
            i + 1
        );
    }
    let got = receiver.received();
    assert_eq!(got.len(), 6);
    assert_eq!(receiver.accepted().len(), 1, "exactly one success");
    assert!(
        got.iter().all(|r| r.id == got[0].id),
        "every attempt carries the same id"
    );
    let later = now + SignedDuration::from_hours(48);
    assert_eq!(deliver_due(&app.state, later).await.unwrap(), 0);
    let log = app
        .get(&format!("/webhook-subscriptions/{sub}/deliveries"))
        .await
        .json();
    let d = &log["data"][0];
    assert_eq!(d["status"], "delivered");
    assert_eq!(d["attempts"], 6);
    let outcomes: Vec<&str> = d["log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        [
            "failed",
            "failed",
            "failed",
            "failed",
            "failed",
            "delivered"
        ]
    );
    assert_eq!(d["log"][0]["error"], "answered 500");
    let s = app
        .get(&format!("/webhook-subscriptions/{sub}"))
        .await
        .json();
    assert_eq!(
        s["failing_since"],
        Value::Null,
        "a success ends the run of failures"
    );
}

#[tokio::test]
async fn a_dead_endpoint_is_dead_lettered_then_disabled_and_re_enabled_by_hand() {
    let app = loopback_app(|c| {
        c.webhooks.jitter_percent = 0;
        c.webhooks.retry_schedule_seconds = vec![60, 60];
        c.webhooks.disable_after_seconds = 100;
    })
    .await;
    stocked(&app).await;
    let receiver = Receiver::start(usize::MAX).await;
    let (sub, _) = subscribe(&app, &receiver.url, &["order.placed"]).await;
    let order = app
        .create_order(&order_body("web", &[("MUG-CLASSIC", 1, 1299)]))
        .await;
    let start = app.clock.now();
    for minutes in [0, 1, 2] {
        let at = start + SignedDuration::from_mins(minutes);
        assert_eq!(deliver_due(&app.state, at).await.unwrap(), 1);
    }
    let log = app
        .get(&format!(
            "/webhook-subscriptions/{sub}/deliveries?status=dead"
        ))
        .await
        .json();
    assert_eq!(log["data"].as_array().unwrap().len(), 1, "{log}");
    let dead = app
        .get("/exceptions/deliveries?kind=webhook_dead_letter")
        .await
        .json();
    let entry = &dead["data"][0];
    assert_eq!(entry["order_id"], order["id"]);
    assert!(
        entry["detail"].as_str().unwrap().contains("failed 3 times"),
        "{entry}"
    );
    let s = app
        .get(&format!("/webhook-subscriptions/{sub}"))
        .await
        .json();
    assert_eq!(s["active"], false, "failing 120 s > 100 s disables it: {s}");
    assert!(
        s["disabled_reason"]
            .as_str()
            .unwrap()
            .contains("failing since")
    );
    let flagged = app
        .get("/exceptions/deliveries?kind=webhook_endpoint_disabled")
        .await
        .json();
    assert_eq!(flagged["data"].as_array().unwrap().len(), 1, "{flagged}");

    // While disabled nothing is sent; re-enabled by hand, a redelivery goes out again.
    app.create_order(&order_body("web", &[("MUG-CLASSIC", 1, 1299)]))
        .await;
    let later = start + SignedDuration::from_mins(10);
    assert_eq!(deliver_due(&app.state, later).await.unwrap(), 0);
    let res = app
        .patch(
            &format!("/webhook-subscriptions/{sub}"),
            &json!({"active": true}),
        )
        .await;
    res.expect(200);
    assert_eq!(res.json()["disabled_reason"], Value::Null);
    let from = jiff::Timestamp::MIN.to_string();
    let to = (later + SignedDuration::from_hours(1)).to_string();
    let res = app
        .post(
            &format!("/webhook-subscriptions/{sub}/redeliver"),
            &json!({"from": from, "to": to}),
        )
        .await;
    res.expect(202);
    assert_eq!(
        res.json()["redelivered"],
        1,
        "the dead one; none was queued while off"
    );
    let before = receiver.received().len();
    deliver_due(&app.state, later).await.unwrap();
    assert_eq!(receiver.received().len(), before + 1);
}

#[tokio::test]
async fn private_destinations_are_refused_and_redirects_not_followed() {
    let app = spawn_app().await;
    for url in [
        "http://127.0.0.1:9/hook",
        "http://localhost:9/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://10.1.2.3/hook",
        "http://[::1]:9/hook",
    ] {
        let res = app
            .post(
                "/webhook-subscriptions",
                &json!({"url": url, "event_types": ["*"]}),
            )
            .await;
        assert_eq!(
            res.status,
            422,
            "{url}: {}",
            String::from_utf8_lossy(&res.bytes)
        );
        assert_eq!(
            res.json()["errors"][0]["code"],
            "destination_not_allowed",
            "{url}"
        );
    }
    let res = app
        .post(
            "/webhook-subscriptions",
            &json!({"url": "ftp://example.com/x", "event_types": ["*"]}),
        )
        .await;
    assert_eq!(res.json()["errors"][0]["code"], "invalid_url");
    let res = app
        .post(
            "/webhook-subscriptions",
            &json!({"url": "https://example.com/x", "event_types": ["order.shipped"]}),
        )
        .await;
    assert_eq!(res.json()["errors"][0]["code"], "unknown_event_type");
    let list = app.get("/webhook-subscriptions").await.json();
    assert_eq!(list["data"], json!([]), "nothing was saved");

    // A receiver allowed on loopback that redirects to the metadata address.
    for follow in [false, true] {
        let app = loopback_app(|c| c.webhooks.follow_redirects = follow).await;
        stocked(&app).await;
        let receiver = Receiver::answering(|_| {
            let mut h = HeaderMap::new();
            h.insert("location", "http://169.254.169.254/latest".parse().unwrap());
            (StatusCode::TEMPORARY_REDIRECT, h)
        })
        .await;
        let (sub, _) = subscribe(&app, &receiver.url, &["order.placed"]).await;
        app.create_order(&order_body("web", &[("MUG-CLASSIC", 1, 1299)]))
            .await;
        deliver_due(&app.state, app.clock.now()).await.unwrap();
        let log = app
            .get(&format!("/webhook-subscriptions/{sub}/deliveries"))
            .await
            .json();
        let attempt = &log["data"][0]["log"][0];
        assert_eq!(attempt["outcome"], "failed");
        let error = attempt["error"].as_str().unwrap();
        if follow {
            assert!(error.contains("169.254.169.254"), "{error}");
            assert!(error.contains("not allowed"), "{error}");
        } else {
            assert_eq!(attempt["status_code"], 307);
            assert!(error.contains("not followed"), "{error}");
        }
        assert_eq!(log["data"][0]["status"], "pending", "retried later");
    }
}

#[tokio::test]
async fn an_independent_verifier_accepts_both_secrets_during_rotation() {
    let app = loopback_app(|_| {}).await;
    stocked(&app).await;
    let receiver = Receiver::start(0).await;
    let (sub, old) = subscribe(&app, &receiver.url, &["order.placed"]).await;
    let res = app
        .post(
            &format!("/webhook-subscriptions/{sub}/rotate-secret"),
            &json!({}),
        )
        .await;
    res.expect(200);
    let rotated = res.json();
    let new = rotated["secret"].as_str().unwrap().to_owned();
    assert_eq!(rotated["secrets"], 2, "the old secret still signs");
    app.create_order(&order_body("web", &[("MUG-CLASSIC", 1, 1299)]))
        .await;
    deliver_due(&app.state, app.clock.now()).await.unwrap();
    let r = receiver.accepted().pop().expect("one delivery");
    let script = r#"
import base64, hashlib, hmac, sys
secret, msg_id, ts, sig_header, body_path, tamper = sys.argv[1:7]
body = open(body_path, "rb").read()
if tamper == "1":
    body = body.replace(b"order.placed", b"order.plated")
key = base64.b64decode(secret.removeprefix("whsec_"))
signed = msg_id.encode() + b"." + ts.encode() + b"." + body
expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
ok = any(hmac.compare_digest(s.split(",", 1)[1], expected) for s in sig_header.split(" "))
print("valid" if ok else "invalid")
"#;
    let dir = tempfile::tempdir().unwrap();
    let body_path = dir.path().join("body");
    std::fs::write(&body_path, &r.body).unwrap();
    let run = |secret: &str, tamper: &str| {
        let out = std::process::Command::new("python3")
            .args(["-c", script, secret, &r.id, &r.timestamp, &r.signature])
            .arg(&body_path)
            .arg(tamper)
            .output()
            .expect("python3 runs");
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    assert_eq!(run(&new, "0"), "valid");
    assert_eq!(
        run(&old, "0"),
        "valid",
        "the previous secret verifies during rotation"
    );
    assert_eq!(run(&new, "1"), "invalid", "a tampered body fails");
    assert_eq!(
        run("whsec_dGhpcyBpcyBub3QgdGhlIHNlY3JldCBhdCBhbGwhIQ==", "0"),
        "invalid",
        "another secret fails"
    );
    // A second rotation without keeping the previous drops the old secret.
    let res = app
        .post(
            &format!("/webhook-subscriptions/{sub}/rotate-secret"),
            &json!({"keep_previous": false}),
        )
        .await;
    assert_eq!(res.json()["secrets"], 1);
}

#[tokio::test]
async fn subscriptions_and_the_feed_keep_to_a_keys_channels() {
    use orderly::app::auth::KeySpec;
    use orderly_domain::actor::Role;
    let app = loopback_app(|_| {}).await;
    stocked(&app).await;
    let (_, market) = app
        .key_with(KeySpec {
            role: Role::Integration,
            name: "marketplace feed".into(),
            channels: Some(vec!["marketplace".into()]),
            expires_at: None,
        })
        .await;
    let receiver = Receiver::start(0).await;
    let (everything, _) = subscribe(&app, &receiver.url, &["*"]).await;
    let body = json!({"url": receiver.url, "event_types": ["order.placed"]});
    let mine = crate::helpers::send(
        app.req_as(&market, reqwest::Method::POST, "/webhook-subscriptions")
            .json(&body),
    )
    .await
    .expect(201);
    assert_eq!(
        mine["channels"],
        json!(["marketplace"]),
        "a bound key's own channels"
    );
    let theirs = crate::helpers::send(app.req_as(
        &market,
        reqwest::Method::GET,
        &format!("/webhook-subscriptions/{everything}"),
    ))
    .await;
    assert_eq!(
        theirs.status, 404,
        "a subscription for every channel is not its to see"
    );
    let wide = json!({"url": receiver.url, "event_types": ["*"], "channels": ["web"]});
    let refused = crate::helpers::send(
        app.req_as(&market, reqwest::Method::POST, "/webhook-subscriptions")
            .json(&wide),
    )
    .await;
    assert_eq!(
        refused.expect(422)["errors"][0]["code"],
        "channel_not_allowed"
    );

    app.create_order(&order_body("web", &[("MUG-CLASSIC", 1, 1299)]))
        .await;
    app.create_order(&order_body("marketplace", &[("MUG-CLASSIC", 1, 1299)]))
        .await;
    deliver_due(&app.state, app.clock.now()).await.unwrap();
    let feed = crate::helpers::send(app.req_as(&market, reqwest::Method::GET, "/events"))
        .await
        .expect(200);
    let channels: Vec<&str> = feed["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"]["channel"].as_str().unwrap())
        .collect();
    assert!(!channels.is_empty());
    assert!(channels.iter().all(|c| *c == "marketplace"), "{channels:?}");
    let placed: Vec<Value> = receiver
        .accepted()
        .iter()
        .map(|r| r.json())
        .filter(|e| e["type"] == "order.placed")
        .collect();
    // The unbound subscription got both orders; the bound one only the marketplace's.
    assert_eq!(placed.len(), 3, "{placed:?}");
}
