//! Customer notifications end to end: triggers from configuration, templates rendered
//! with the order's data, the database transport readable per order and on the
//! timeline, a real SMTP exchange with a local aiosmtpd (Debian's `python3-aiosmtpd`),
//! retries and dead letters, follow-ups held back by the customer's preferences,
//! preview and resend.

use crate::helpers::{TestApp, order_body, spawn_app, spawn_app_with};
use jiff::SignedDuration;
use orderly::config::notifications::{Category, SmtpSecurity, Transport, Trigger};
use orderly::notifications::worker::send_due;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Debian's interpreter, which has the `python3-aiosmtpd` package.
const PYTHON: &str = "/usr/bin/python3";

/// A local SMTP server (aiosmtpd) writing what it receives to a Maildir.
struct SmtpSink {
    port: u16,
    dir: tempfile::TempDir,
    child: std::process::Child,
}

impl SmtpSink {
    // The child is killed and reaped by `Drop`, which clippy cannot see.
    #[allow(clippy::zombie_processes)]
    async fn start() -> SmtpSink {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let dir = tempfile::tempdir().unwrap();
        let maildir = dir.path().join("mail");
        let child = std::process::Command::new(PYTHON)
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .spawn()
            .expect("start aiosmtpd (Debian package python3-aiosmtpd; .ci/run installs it)");
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return SmtpSink { port, dir, child };
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("aiosmtpd did not listen on {port}");
    }

    /// Every message received: headers and the decoded text and HTML parts, in the
    /// order they were made (their ids are time-ordered; the Maildir's names sort by
    /// an unpadded microsecond count, so not by arrival).
    fn received(&self) -> Vec<Value> {
        let script = r#"
import email, email.policy, json, mailbox, sys
out = []
for key, msg in mailbox.Maildir(sys.argv[1], factory=None).items():
    m = email.message_from_bytes(msg.as_bytes(), policy=email.policy.default)
    out.append({
        "subject": str(m["subject"]), "to": str(m["to"]), "from": str(m["from"]),
        "message_id": str(m["message-id"]),
        "text": m.get_body(("plain",)).get_content(),
        "html": m.get_body(("html",)).get_content(),
        "attachments": [{"name": a.get_filename(), "type": a.get_content_type(),
                         "head": a.get_content()[:5].decode("latin-1")}
                        for a in m.iter_attachments()],
    })
out.sort(key=lambda m: m["message_id"])
print(json.dumps(out))
"#;
        let out = std::process::Command::new(PYTHON)
            .args(["-c", script])
            .arg(self.maildir())
            .output()
            .expect("read the maildir");
        assert!(out.status.success(), "{out:?}");
        serde_json::from_slice(&out.stdout).expect("json")
    }

    fn maildir(&self) -> PathBuf {
        self.dir.path().join("mail")
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn smtp(c: &mut orderly::config::Config, port: u16) {
    c.notifications.transport = Transport::Smtp;
    c.notifications.smtp.host = "127.0.0.1".into();
    c.notifications.smtp.port = port;
    c.notifications.smtp.security = SmtpSecurity::None;
    c.notifications.smtp.timeout_ms = 2_000;
}

async fn messages(app: &TestApp, order: &str) -> Vec<Value> {
    app.get(&format!("/orders/{order}/messages"))
        .await
        .expect(200)["data"]
        .as_array()
        .unwrap()
        .clone()
}

/// MUG at wh-central only, CAP at wh-east only: an order of both ships in two parcels.
async fn split_shop(app: &TestApp) {
    app.seed_product("MUG", 1000).await;
    app.seed_product("CAP", 1500).await;
    app.receive("MUG", "wh-central", 20).await;
    app.receive("CAP", "wh-east", 20).await;
}

/// Picks, packs and ships the fulfillment order at `index`; returns its tracking number.
async fn ship(app: &TestApp, order: &Value, index: usize, line: u32, sku: &str) -> String {
    let fid = order["fulfillment_orders"][index]["id"].as_str().unwrap();
    let packed = app.pick_and_pack(fid, &[(line, 1)], &[sku]).await;
    let pkg = packed["id"].as_str().unwrap();
    let shipped = app
        .post(&format!("/packages/{pkg}/ship"), &json!({}))
        .await
        .expect(200);
    let f = shipped["fulfillment_orders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == fid)
        .unwrap()
        .clone();
    f["shipments"][0]["tracking_number"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_smtp_server_gets_each_parcels_items_and_tracking_link() {
    let sink = SmtpSink::start().await;
    let app = spawn_app_with(|c| smtp(c, sink.port)).await;
    split_shop(&app).await;
    let order = app
        .create_order(&order_body("web", &[("MUG", 1, 1000), ("CAP", 1, 1500)]))
        .await;
    assert_eq!(order["fulfillment_orders"].as_array().unwrap().len(), 2);
    let number = order["number"].as_str().unwrap().to_owned();
    let (mug, cap) = {
        let f = order["fulfillment_orders"].as_array().unwrap();
        let mug = f
            .iter()
            .position(|f| f["location_id"] == "wh-central")
            .unwrap();
        (mug, 1 - mug)
    };
    let first = ship(&app, &order, mug, 1, "MUG").await;
    send_due(&app.state, app.clock.now()).await.unwrap();
    let second = ship(&app, &order, cap, 2, "CAP").await;
    send_due(&app.state, app.clock.now()).await.unwrap();

    let got = sink.received();
    let subjects: Vec<&str> = got.iter().map(|m| m["subject"].as_str().unwrap()).collect();
    assert_eq!(
        subjects,
        [
            format!("Your order {number} is confirmed"),
            format!("Part of your order {number} has shipped"),
            format!("Your order {number} has shipped"),
        ],
        "{got:#?}"
    );
    for m in &got {
        assert_eq!(m["to"], "ana@example.com");
        assert!(m["from"].as_str().unwrap().contains("orders@example.com"));
        assert!(m["message_id"].as_str().unwrap().ends_with("@orderly>"));
    }
    let part = got[1]["text"].as_str().unwrap();
    assert!(
        part.contains(&format!("Tracking number: {first}")),
        "{part}"
    );
    assert!(
        part.contains(&format!("https://track.example.com/{first}")),
        "{part}"
    );
    assert!(
        part.contains("In this parcel:\n- 1 x Product MUG (MUG)"),
        "{part}"
    );
    assert!(
        part.contains("Still to come:\n- 1 x Product CAP (CAP)"),
        "{part}"
    );
    assert!(
        !part.contains(&second),
        "the second parcel had not shipped yet"
    );
    let all = got[2]["text"].as_str().unwrap();
    assert!(all.contains(&format!("Tracking number: {second}")), "{all}");
    assert!(
        all.contains("In this parcel:\n- 1 x Product CAP (CAP)"),
        "{all}"
    );
    assert!(
        all.contains(&format!("Parcel 1: local {first}"))
            && all.contains(&format!("Parcel 2: local {second}")),
        "both parcels listed: {all}"
    );
    assert!(!all.contains("Still to come"), "{all}");
    let html = got[2]["html"].as_str().unwrap();
    assert!(
        html.contains(&format!("<a href=\"https://track.example.com/{second}\">")),
        "{html}"
    );

    // Each message is on the order's timeline with its status.
    let timeline = app
        .get(&format!(
            "/orders/{}/timeline",
            order["id"].as_str().unwrap()
        ))
        .await
        .expect(200);
    let sent: Vec<&str> = timeline["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "message")
        .map(|e| e["summary"].as_str().unwrap())
        .collect();
    assert_eq!(sent.len(), 3, "{sent:?}");
    assert!(
        sent[1].contains("shipping_confirmation to ana@example.com: sent by smtp"),
        "{sent:?}"
    );
}

#[tokio::test]
async fn the_return_approval_mail_carries_the_prepaid_label_as_a_pdf() {
    let sink = SmtpSink::start().await;
    let app = crate::returns::shop(spawn_app_with(|c| smtp(c, sink.port)).await).await;
    let order = crate::returns::delivered(&app, &[("MUG", 1, 1000)]).await;
    let asked = app
        .post(
            "/returns",
            &json!({"order": order["number"], "items": [{"line_no": 1, "quantity": 1}],
                "reason": "changed_mind", "wanted": {"kind": "refund"}}),
        )
        .await
        .expect(201);
    let rma = asked["rma"].as_str().unwrap();
    assert_eq!(asked["state"], "authorized", "{asked}");
    assert_eq!(asked["label"]["tracking_number"], rma);
    send_due(&app.state, app.clock.now()).await.unwrap();

    let got = sink.received();
    let approved = got
        .iter()
        .find(|m| m["subject"] == format!("Your return {rma} is approved"))
        .unwrap_or_else(|| panic!("{got:#?}"));
    assert_eq!(
        approved["attachments"],
        json!([{"name": format!("return-label-{rma}.pdf"), "type": "application/pdf", "head": "%PDF-"}]),
        "{approved:#?}"
    );
    assert!(
        approved["text"]
            .as_str()
            .unwrap()
            .contains(&format!("Your prepaid label is attached: print it and stick it on the parcel (local ground, tracking number {rma})")),
        "{approved:#?}"
    );
    // The other messages carry no files.
    assert!(
        got.iter()
            .filter(|m| m["subject"] != approved["subject"])
            .all(|m| m["attachments"] == json!([])),
        "{got:#?}"
    );
}

#[tokio::test]
async fn the_database_transport_keeps_messages_readable_with_preview_and_resend() {
    let app = spawn_app().await;
    app.seed_product("MUG-CLASSIC", 1299).await;
    app.receive("MUG-CLASSIC", "wh-east", 10).await;
    let order = app
        .create_order(&order_body("web", &[("MUG-CLASSIC", 2, 1299)]))
        .await;
    let id = order["id"].as_str().unwrap();
    assert!(
        messages(&app, id).await.is_empty(),
        "nothing before the dispatcher ran"
    );
    send_due(&app.state, app.clock.now()).await.unwrap();
    let list = messages(&app, id).await;
    assert_eq!(list.len(), 1, "{list:?}");
    let m = &list[0];
    assert_eq!(
        (m["template"].as_str(), m["status"].as_str()),
        (Some("order_confirmation"), Some("sent"))
    );
    assert_eq!(m["transport"], "database");
    assert_eq!(m["event_type"], "order.placed");
    let text = m["text"].as_str().unwrap();
    assert!(
        text.contains("- 2 x Product MUG-CLASSIC (MUG-CLASSIC): USD 25.98"),
        "{text}"
    );
    assert!(text.contains("Total: USD 30.98"), "{text}");

    let preview = app
        .get(&format!(
            "/orders/{id}/notifications/order_cancelled/preview"
        ))
        .await
        .expect(200);
    assert_eq!(
        preview["subject"],
        format!(
            "Your order {} is cancelled",
            order["number"].as_str().unwrap()
        )
    );
    let unknown = app
        .get(&format!(
            "/orders/{id}/notifications/no_such_template/preview"
        ))
        .await;
    assert_eq!(unknown.status, 404);

    let first = m["id"].as_str().unwrap();
    let resent = app
        .post(&format!("/orders/{id}/messages/{first}/resend"), &json!({}))
        .await
        .expect(202);
    assert_eq!(resent["resend_of"], first);
    assert_eq!(resent["subject"], m["subject"], "the same words");
    send_due(&app.state, app.clock.now()).await.unwrap();
    let list = messages(&app, id).await;
    assert_eq!(list.len(), 2);
    assert_eq!(list[1]["status"], "sent");
    let (_, warehouse) = app.key(orderly_domain::actor::Role::Warehouse).await;
    let refused = crate::helpers::send(
        app.req_as(
            &warehouse,
            reqwest::Method::POST,
            &format!("/orders/{id}/messages/{first}/resend"),
        )
        .json(&json!({})),
    )
    .await;
    assert_eq!(refused.status, 403);
}

#[tokio::test]
async fn an_unreachable_smtp_server_is_retried_then_dead_lettered() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let app = spawn_app_with(|c| {
        smtp(c, port);
        c.notifications.retry_schedule_seconds = vec![60];
    })
    .await;
    app.seed_product("MUG-CLASSIC", 1299).await;
    app.receive("MUG-CLASSIC", "wh-east", 10).await;
    let order = app
        .create_order(&order_body("web", &[("MUG-CLASSIC", 1, 1299)]))
        .await;
    let id = order["id"].as_str().unwrap();
    let now = app.clock.now();
    send_due(&app.state, now).await.unwrap();
    let m = messages(&app, id).await.remove(0);
    assert_eq!(m["status"], "pending", "{m}");
    assert!(m["last_error"].as_str().unwrap().contains("SMTP"), "{m}");
    assert!(
        m["subject"].is_string(),
        "rendered once, kept for the retry"
    );
    send_due(&app.state, now + SignedDuration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(messages(&app, id).await[0]["attempts"], 1, "not due yet");
    send_due(&app.state, now + SignedDuration::from_secs(90))
        .await
        .unwrap();
    let m = messages(&app, id).await.remove(0);
    assert_eq!(
        (m["status"].as_str(), m["attempts"].as_i64()),
        (Some("dead"), Some(2))
    );
    let queue = app
        .get("/exceptions/deliveries?kind=notification_failed")
        .await
        .expect(200);
    let entry = &queue["data"][0];
    assert_eq!(entry["order_id"], id);
    assert!(
        entry["detail"]
            .as_str()
            .unwrap()
            .contains("order_confirmation"),
        "{entry}"
    );
}

#[tokio::test]
async fn follow_ups_wait_their_delay_and_respect_the_customers_wishes() {
    let app = spawn_app_with(|c| {
        c.notifications.triggers = Some(vec![Trigger {
            event: "order.placed".into(),
            template: "review_request".into(),
            delay_seconds: 3600,
            category: Category::FollowUp,
            channels: None,
        }]);
    })
    .await;
    app.seed_product("MUG-CLASSIC", 1299).await;
    app.receive("MUG-CLASSIC", "wh-east", 10).await;
    app.post(
        "/customers/mo@example.com/notification-preferences",
        &json!({"follow_ups": false}),
    )
    .await
    .expect(200);
    let prefs = app
        .get("/customers/mo@example.com/notification-preferences")
        .await
        .expect(200);
    assert_eq!(prefs["follow_ups"], false);
    // Not an address: refused, read as well as written, rather than answered a default.
    for bad in ["null%2Cnull", "mo"] {
        let refused = app
            .get(&format!("/customers/{bad}/notification-preferences"))
            .await
            .expect_problem(422, "validation_failed");
        assert_eq!(refused["errors"][0]["code"], "invalid_email");
    }
    let ana = app
        .create_order(&order_body("web", &[("MUG-CLASSIC", 1, 1299)]))
        .await;
    let mut body = order_body("web", &[("MUG-CLASSIC", 1, 1299)]);
    body["customer"]["email"] = json!("mo@example.com");
    let mo = app.create_order(&body).await;
    let now = app.clock.now();
    send_due(&app.state, now).await.unwrap();
    for o in [&ana, &mo] {
        let m = &messages(&app, o["id"].as_str().unwrap()).await[0];
        assert_eq!(m["status"], "pending", "an hour's delay: {m}");
        assert_eq!(
            m["template"], "review_request",
            "only the configured trigger"
        );
    }
    send_due(&app.state, now + SignedDuration::from_secs(3601))
        .await
        .unwrap();
    let sent = &messages(&app, ana["id"].as_str().unwrap()).await[0];
    assert_eq!(sent["status"], "sent");
    let held = &messages(&app, mo["id"].as_str().unwrap()).await[0];
    assert_eq!(held["status"], "suppressed");
    assert!(
        held["last_error"].as_str().unwrap().contains("opted out"),
        "{held}"
    );
    let none = app
        .get("/exceptions/deliveries?kind=notification_failed")
        .await
        .expect(200);
    assert_eq!(none["data"], json!([]), "a wish is not a failure");
}

#[test]
fn a_broken_template_or_trigger_stops_start_up_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "[[notifications.templates]]\nname = \"order_confirmation\"\nsubject = \"{% if %}\"\ntext = \"x\"\nhtml = \"x\"\n",
    );
    let err = orderly::config::Config::load(Some(&path), Some(orderly::DEMO_CONFIG))
        .unwrap_err()
        .to_string();
    assert!(err.contains("notifications.templates"), "{err}");
    let path = write(
        dir.path(),
        "[[notifications.triggers]]\nevent = \"order.shipped\"\ntemplate = \"nope\"\n",
    );
    let err = orderly::config::Config::load(Some(&path), Some(orderly::DEMO_CONFIG))
        .unwrap_err()
        .to_string();
    assert!(err.contains("notifications.triggers[0].event"), "{err}");
    assert!(err.contains("notifications.triggers[0].template"), "{err}");
}

fn write(dir: &Path, toml: &str) -> PathBuf {
    let path = dir.join("orderly.toml");
    std::fs::write(&path, toml).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_is_emailed_when_a_case_is_escalated_to_it() {
    let sink = SmtpSink::start().await;
    let app = spawn_app_with(|c| {
        smtp(c, sink.port);
        c.cases
            .group_emails
            .insert("tier2".into(), "tier2@shop.example".into());
    })
    .await;
    // Monday 10:00 in New York; a normal case is due for its first answer at 18:00.
    app.clock.set("2026-12-07T15:00:00Z".parse().unwrap());
    let opened = app
        .post(
            "/cases",
            &json!({"subject": "Where is my refund?", "channel": "email", "group": "tier1"}),
        )
        .await
        .expect(201);
    let number = opened["number"].as_str().unwrap().to_owned();
    let at = |t: &str| -> jiff::Timestamp { t.parse().unwrap() };
    // Level 1 keeps it with tier1 (no address): nobody is mailed.
    app.clock.set(at("2026-12-07T23:00:00Z"));
    app.state
        .fire_due_timers(at("2026-12-07T23:00:00Z"))
        .await
        .unwrap();
    send_due(&app.state, app.clock.now()).await.unwrap();
    assert!(sink.received().is_empty());
    // Level 2 hands it to tier2, which is told.
    app.clock.set(at("2026-12-08T18:00:00Z"));
    app.state
        .fire_due_timers(at("2026-12-08T18:00:00Z"))
        .await
        .unwrap();
    send_due(&app.state, app.clock.now()).await.unwrap();
    let got = sink.received();
    assert_eq!(got.len(), 1, "{got:#?}");
    assert_eq!(got[0]["to"], "tier2@shop.example");
    let subject = got[0]["subject"].as_str().unwrap();
    assert!(
        subject.starts_with(&format!("{number} escalated to level 2 (urgent)")),
        "{subject}"
    );
    assert!(got[0]["text"].as_str().unwrap().contains("Group: tier2"));
    // Another pass sends nothing more.
    app.state
        .fire_due_timers(at("2026-12-09T18:00:00Z"))
        .await
        .unwrap();
    send_due(&app.state, app.clock.now()).await.unwrap();
    assert_eq!(sink.received().len(), 1);
}
