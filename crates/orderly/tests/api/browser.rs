//! The console in a real browser: Debian's headless Chromium driven through WebDriver by
//! its own chromedriver (both installed by `.ci/run`), against the app on a real port.
//! Each scenario is what a person does (types into fields, presses buttons, reads the
//! page) and checks what the page shows afterwards. The accessibility check runs
//! axe-core (from npm, installed by `.ci/run`) inside the page; the screenshots of the
//! main pages are written where `ORDERLY_SCREENSHOTS_DIR` says (`docs/screenshots`
//! through `docs/screenshots.sh`), and otherwise to a temporary directory, checked to be
//! PNG images either way.

use crate::console::user;
use crate::helpers::*;
use crate::returns::{delivered, shop};
use crate::returns_support::{admin_return, ask};
use orderly_domain::actor::Role;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use thirtyfour::prelude::*;

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// chromedriver on a port of its own, stopped when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn chromedriver() -> Driver {
    assert!(
        std::path::Path::new(CHROMEDRIVER).exists() && std::path::Path::new(CHROMIUM).exists(),
        "the browser tests need Debian's chromium and chromium-driver \
         (apt-get install chromium chromium-driver; .ci/run installs them)"
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    // Owned at once, so that it is stopped however this ends.
    let driver = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let status = format!("{}/status", driver.url);
    for _ in 0..100 {
        if let Ok(r) = reqwest::Client::new().get(&status).send().await
            && r.status().is_success()
        {
            return driver;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not start on port {port}");
}

/// A headless Chromium of `width` px, with the flags a container needs.
async fn chromium(driver: &Driver, width: u32) -> WebDriver {
    let mut caps = DesiredCapabilities::chrome();
    caps.set_binary(CHROMIUM).unwrap();
    for arg in [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--lang=en-US",
    ] {
        caps.add_arg(arg).unwrap();
    }
    caps.add_arg(&format!("--window-size={width},1000"))
        .unwrap();
    WebDriver::new(driver.url.clone(), caps)
        .await
        .expect("start chromium")
}

/// A signed-in browser session and the app it talks to.
struct Person {
    web: WebDriver,
    root: String,
}

impl Person {
    async fn sign_in(driver: &Driver, app: &TestApp, who: &(String, String), width: u32) -> Person {
        let web = chromium(driver, width).await;
        let p = Person {
            web,
            root: format!("http://{}", app.addr),
        };
        p.open("/console").await;
        // Sent to the sign-in form first, then back.
        assert!(p.url().await.contains("/console/sign-in"));
        p.fill("#username", &who.0).await;
        p.fill("#password", &who.1).await;
        p.press("main button[type=submit]").await;
        assert!(
            p.body().await.contains("Good to see you"),
            "{}",
            p.body().await
        );
        p
    }

    async fn open(&self, path: &str) {
        self.web.goto(format!("{}{path}", self.root)).await.unwrap();
    }

    async fn url(&self) -> String {
        self.web.current_url().await.unwrap().to_string()
    }

    async fn el(&self, css: &str) -> WebElement {
        self.web
            .find(By::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css}: {e}"))
    }

    async fn fill(&self, css: &str, text: &str) {
        let e = self.el(css).await;
        e.clear().await.unwrap();
        e.send_keys(text).await.unwrap();
    }

    async fn choose(&self, css: &str, value: &str) {
        self.el(&format!("{css} option[value=\"{value}\"]"))
            .await
            .click()
            .await
            .unwrap();
    }

    /// Marks the page, so that `arrived` can tell the next one from it.
    async fn mark(&self) {
        self.web
            .execute("window.__orderlyOld = true;", Vec::<Value>::new())
            .await
            .unwrap();
    }

    /// Waits until a new page has replaced the marked one and finished loading.
    async fn arrived(&self) {
        for _ in 0..400 {
            let done = self
                .web
                .execute(
                    "return !window.__orderlyOld && document.readyState === 'complete';",
                    Vec::<Value>::new(),
                )
                .await;
            if done.is_ok_and(|r| r.json() == &json!(true)) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("no new page after 10 s at {}", self.url().await);
    }

    /// Presses a button or link that leads to another page, and waits for it.
    async fn press(&self, css: &str) {
        self.mark().await;
        self.el(css).await.click().await.unwrap();
        self.arrived().await;
    }

    /// Presses a button whose form asks for confirmation, accepts it, and waits for the
    /// next page.
    async fn press_and_confirm(&self, css: &str) {
        self.mark().await;
        self.el(css).await.click().await.unwrap();
        self.web.accept_alert().await.unwrap();
        self.arrived().await;
    }

    /// Types into the focused field as a barcode scanner does (the code, then Enter),
    /// and waits for the answer.
    async fn scan(&self, code: &str) {
        self.mark().await;
        let field = self.web.active_element().await.unwrap();
        assert_eq!(field.attr("id").await.unwrap().as_deref(), Some("scan"));
        field.send_keys(format!("{code}\n")).await.unwrap();
        self.arrived().await;
    }

    /// The visible text of the page's main part.
    async fn body(&self) -> String {
        self.el("body").await.text().await.unwrap()
    }

    async fn has(&self, css: &str) -> bool {
        !self.web.find_all(By::Css(css)).await.unwrap().is_empty()
    }

    async fn quit(self) {
        self.web.quit().await.unwrap();
    }
}

fn text(v: &Value, key: &str) -> String {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} in {v}"))
        .to_owned()
}

/// The tracking number of an order's first shipment.
fn tracking(order: &Value) -> String {
    order["fulfillment_orders"][0]["shipments"][0]["tracking_number"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn support_finds_an_order_by_tracking_works_a_case_refunds_within_authority_and_edits_the_address()
 {
    let app = shop(spawn_app().await).await;
    app.seed_product("HOOD-BLK-L", 15_000).await;
    app.receive("HOOD-BLK-L", "wh-east", 10).await;
    let order = delivered(&app, &[("HOOD-BLK-L", 2, 15_000)]).await;
    let (oid, number) = (text(&order, "id"), text(&order, "number"));
    let driver = chromedriver().await;
    let who = user(&app, Role::Support).await;
    let p = Person::sign_in(&driver, &app, &who, 1280).await;

    // Find the order by its tracking number, with the "/" shortcut into the search box.
    p.el("body").await.send_keys("/").await.unwrap();
    let focused = p.web.active_element().await.unwrap();
    assert_eq!(focused.attr("id").await.unwrap().as_deref(), Some("q"));
    focused.send_keys(tracking(&order)).await.unwrap();
    p.mark().await;
    focused.send_keys(Key::Enter).await.unwrap();
    p.arrived().await;
    assert!(
        p.url().await.ends_with(&format!("/console/orders/{oid}")),
        "{}",
        p.url().await
    );
    let page = p.body().await;
    assert!(
        page.contains(&format!("Order {number}")) && page.contains("delivered"),
        "{page}"
    );
    // The timeline interleaves the strands, newest first: the delivery above the payment.
    let timeline = p.el("ol.timeline").await.text().await.unwrap();
    let delivered_at = timeline.find("delivered").expect("a delivery entry");
    let paid_at = timeline
        .find("captured")
        .or_else(|| timeline.find("authorized"))
        .expect("a payment entry");
    assert!(delivered_at < paid_at, "{timeline}");
    p.press(".filters a[href*=\"strand=payment\"]").await;
    let payments = p.el("ol.timeline").await.text().await.unwrap();
    assert!(
        !payments.contains("delivered") && payments.contains("payment"),
        "{payments}"
    );

    // Open a case from the order and resolve it with a root cause.
    p.open(&format!("/console/orders/{oid}")).await;
    p.fill("#case-subject", "Parcel arrived late").await;
    p.choose("#case-channel", "chat").await;
    p.fill("#case-summary", "The customer says it came two days late")
        .await;
    p.press("#open-case button[type=submit]").await;
    let case = p.body().await;
    assert!(
        case.contains("Parcel arrived late")
            && case.contains("The customer says it came two days late"),
        "{case}"
    );
    assert!(case.contains("Owner: Test support"), "{case}");
    p.choose("#root_cause", "carrier_delay").await;
    p.fill("#resolve-note", "Apologised; carrier claim filed")
        .await;
    p.press("#resolve-form button[type=submit]").await;
    let case = p.body().await;
    assert!(
        case.contains("Resolved: carrier_delay.") && case.contains("Root cause: carrier_delay"),
        "{case}"
    );
    let number_of_case = case
        .split("Case ")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    let api = app
        .get(&format!("/cases/{number_of_case}"))
        .await
        .expect(200);
    assert_eq!(api["status"], "resolved");
    assert_eq!(api["root_cause"], "carrier_delay");

    // Refund within authority (USD 200.00 for support in the demo configuration).
    p.open(&format!("/console/orders/{oid}")).await;
    assert!(
        p.body()
            .await
            .contains("your role may refund up to USD 200.00 at once")
    );
    // The order is worth more than that: no button refunds all of it.
    assert!(!p.has("#refund-all").await);
    p.fill("#refund-amount", "25.00").await;
    p.choose("#refund-reason", "damaged").await;
    p.press_and_confirm("#refund-form button[type=submit]")
        .await;
    let page = p.body().await;
    assert!(page.contains("Refund of USD 25.00 requested."), "{page}");
    // Above it: refused with the API's code, nothing recorded.
    p.fill("#refund-amount", "250.00").await;
    p.press_and_confirm("#refund-form button[type=submit]")
        .await;
    let refused = p.body().await;
    assert!(
        refused.contains("refund limit") && refused.contains("forbidden"),
        "{refused}"
    );
    let after = app.get(&format!("/orders/{oid}")).await.expect(200);
    assert_eq!(after["refunds"].as_array().unwrap().len(), 1, "{after}");
    // A forged form (the token of no session) is refused too.
    p.open(&format!("/console/orders/{oid}")).await;
    p.web
        .execute(
            "document.querySelector('#refund-form input[name=csrf]').value = '0'.repeat(64);",
            Vec::<Value>::new(),
        )
        .await
        .unwrap();
    p.fill("#refund-amount", "10.00").await;
    p.press_and_confirm("#refund-form button[type=submit]")
        .await;
    assert!(p.body().await.contains("csrf_token_invalid"));
    assert_eq!(
        app.get(&format!("/orders/{oid}")).await.expect(200)["refunds"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    p.quit().await;

    // Edit an address with its preview, on an order not shipped yet.
    let body = card_order(&[("TEE-BLK-M", 1, 2000)], "tok_visa");
    let open = app.create_order(&body).await;
    let open_id = text(&open, "id");
    let p = Person::sign_in(&driver, &app, &who, 1280).await;
    p.open(&format!("/console/orders/{open_id}")).await;
    p.fill("#edit-line1", "500 Congress Ave").await;
    p.press("#edit-order button[type=submit]").await;
    let preview = p.body().await;
    assert!(
        preview.contains("What committing it now would do"),
        "{preview}"
    );
    assert!(
        preview.contains("shipping address to 500 Congress Ave"),
        "{preview}"
    );
    // Nothing changed yet.
    let before = app.get(&format!("/orders/{open_id}")).await.expect(200);
    assert_eq!(before["shipping_address"]["line1"], "1 Main St");
    p.press("button[value=commit]").await;
    assert!(p.body().await.contains("Edit committed."));
    let after = app.get(&format!("/orders/{open_id}")).await.expect(200);
    assert_eq!(after["shipping_address"]["line1"], "500 Congress Ave");
    assert!(p.body().await.contains("500 Congress Ave"));
    p.quit().await;

    // A refused payment sits in the payments queue until a retry with a good card.
    let body = card_order(&[("TEE-BLK-M", 1, 2000)], "tok_declined");
    let refused = app.create_order(&body).await;
    let refused_id = text(&refused, "id");
    let p = Person::sign_in(&driver, &app, &who, 1280).await;
    p.open("/console/exceptions").await;
    p.press("a[href=\"/console/exceptions/payments?kind=payment_failed\"]")
        .await;
    assert!(p.body().await.contains(&refused_id));
    let row = format!("tr:has(a[href=\"/console/orders/{refused_id}\"])");
    p.fill(&format!("{row} input[name=token]"), "tok_visa")
        .await;
    p.press(&format!("{row} button[type=submit]")).await;
    let queue = p.body().await;
    assert!(
        queue.contains("New payment for") && queue.contains("the order is now captured"),
        "{queue}"
    );
    assert!(!queue.contains(&refused_id), "{queue}");
    p.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warehouse_prints_a_pick_list_and_packs_past_a_refused_scan_and_a_supervisor_approves_a_return()
 {
    let app = shop(spawn_app().await).await;
    let body = card_order(&[("TEE-BLK-M", 2, 2000), ("MUG", 1, 1000)], "tok_visa");
    let order = app.create_order(&body).await;
    let number = text(&order, "number");
    let driver = chromedriver().await;
    let who = user(&app, Role::Warehouse).await;
    // The pack station is used on a 768 px tablet.
    let p = Person::sign_in(&driver, &app, &who, 768).await;
    p.open("/console/floor?location=wh-east").await;
    p.press("form[action=\"/console/waves\"] button").await;
    let list = p.body().await;
    assert!(
        list.contains("Pick list")
            && list.contains("TEE-BLK-M")
            && list.contains(&format!("{number} x2")),
        "{list}"
    );
    // Printing leaves only the list: the print styles hide the forms and navigation.
    assert!(p.has("button[data-print]").await);
    p.web
        .execute(
            "window.print = () => { document.body.dataset.printed = 'yes'; };",
            Vec::<Value>::new(),
        )
        .await
        .unwrap();
    p.el("button[data-print]").await.click().await.unwrap();
    assert_eq!(
        p.el("body")
            .await
            .attr("data-printed")
            .await
            .unwrap()
            .as_deref(),
        Some("yes")
    );
    p.press("form[action$=\"/pick\"] button").await;
    assert!(p.body().await.contains("Pick of"), "{}", p.body().await);

    // Pack: the scanner types into the focused field and ends with Enter.
    let fo = first_fulfillment(&order);
    p.open(&format!("/console/pack?fo={number}")).await;
    p.scan("CAP-BLU").await;
    assert!(p.has(".scan-refused").await);
    assert!(
        p.el(".scan-refused")
            .await
            .text()
            .await
            .unwrap()
            .contains("CAP-BLU is not in this fulfillment order")
    );
    for code in ["TEE-BLK-M", "TEE-BLK-M", "MUG"] {
        p.scan(code).await;
        assert!(p.has(".scan-ok").await, "{}", p.body().await);
    }
    // One scan too many is refused at once as well.
    p.scan("MUG").await;
    assert!(
        p.el(".scan-refused")
            .await
            .text()
            .await
            .unwrap()
            .contains("one MUG too many")
    );
    // The layout holds at 768 px: nothing wider than the window.
    let wide = p
        .web
        .execute(
            "return document.documentElement.scrollWidth <= window.innerWidth;",
            Vec::<Value>::new(),
        )
        .await
        .unwrap();
    assert_eq!(wide.json(), &json!(true));
    p.press("form[action$=\"/packages\"] button").await;
    assert!(p.body().await.contains("Packed."));
    p.press("form[action$=\"/ship\"] button").await;
    let shipped = p.body().await;
    assert!(
        shipped.contains("Shipped: the label is ready.") && shipped.contains("Label PDF"),
        "{shipped}"
    );
    let after = app
        .get(&format!("/orders/{}", text(&order, "id")))
        .await
        .expect(200);
    assert_eq!(after["fulfillment_orders"][0]["id"], fo);
    assert_eq!(after["fulfillment_orders"][0]["state"], "shipped");
    p.open("/console/floor?location=wh-east").await;
    assert!(p.body().await.contains(&number) && p.has("a[href$=\"/label.pdf\"]").await);
    p.quit().await;

    // A return over support's approval limit waits for review; a supervisor approves it.
    app.seed_product("COAT-L", 30_000).await;
    app.receive("COAT-L", "wh-east", 5).await;
    let coat = delivered(&app, &[("COAT-L", 1, 30_000)]).await;
    let ret = admin_return(&app, &coat, ask(&[(1, 1)], "size_too_small"))
        .await
        .expect(201);
    assert_eq!(ret["state"], "needs_review", "{ret}");
    let boss = user(&app, Role::Supervisor).await;
    let p = Person::sign_in(&driver, &app, &boss, 1280).await;
    p.open("/console/returns").await;
    let desk = p.body().await;
    assert!(desk.contains(&text(&ret, "rma")), "{desk}");
    p.press(&format!(
        "a[href=\"/console/returns/{}\"]",
        text(&ret, "rma")
    ))
    .await;
    p.fill("#review-note", "Within policy").await;
    p.press("button[value=approve]").await;
    let page = p.body().await;
    assert!(
        page.contains("Approved: the return is authorized."),
        "{page}"
    );
    let api = app
        .get(&format!("/returns/{}", text(&ret, "rma")))
        .await
        .expect(200);
    assert_eq!(api["state"], "authorized");
    p.quit().await;
}

/// Where axe-core's script is: `ORDERLY_AXE_JS`, else where `.ci/run` installs it.
fn axe_script() -> String {
    let path = std::env::var("ORDERLY_AXE_JS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../.ci/axe/node_modules/axe-core/axe.min.js")
        });
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "axe-core is needed at {} ({e}); install it with \
             `npm install --prefix .ci/axe axe-core@4` (.ci/run does)",
            path.display()
        )
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_main_pages_have_no_serious_accessibility_violation_and_are_photographed() {
    let app = shop(spawn_app().await).await;
    let order = delivered(&app, &[("TEE-BLK-M", 1, 2000)]).await;
    let oid = text(&order, "id");
    let ret = admin_return(&app, &order, ask(&[(1, 1)], "size_too_small"))
        .await
        .expect(201);
    let case = app
        .post(
            "/cases",
            &json!({"subject": "Wrong size", "channel": "email", "order": oid}),
        )
        .await
        .expect(201);
    let body = card_order(&[("TEE-BLK-M", 2, 2000)], "tok_visa");
    let packing = app.create_order(&body).await;
    let fo = first_fulfillment(&packing);
    app.post(
        &format!("/fulfillment-orders/{fo}/pick"),
        &json!({"lines": [{"line_no": 1, "picked": 2}]}),
    )
    .await
    .expect(200);
    // Refused payments for the exception board: two waiting past the escalation age,
    // one fresh.
    let declined = |n: i64| card_order(&[("TEE-BLK-M", n, 2000)], "tok_declined");
    app.create_order(&declined(1)).await;
    app.create_order(&declined(2)).await;
    app.clock.advance(jiff::SignedDuration::from_hours(25));
    app.create_order(&declined(1)).await;
    let axe = axe_script();
    let driver = chromedriver().await;
    let who = user(&app, Role::Admin).await;
    let p = Person::sign_in(&driver, &app, &who, 1280).await;
    let out = std::env::var("ORDERLY_SCREENSHOTS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            std::env::temp_dir().join(format!("orderly-shots-{}", std::process::id()))
        });
    std::fs::create_dir_all(&out).unwrap();
    let pages = [
        ("order", format!("/console/orders/{oid}")),
        ("exceptions", "/console/exceptions".to_owned()),
        ("case", format!("/console/cases/{}", text(&case, "number"))),
        ("returns-desk", "/console/returns?list=all".to_owned()),
        ("return", format!("/console/returns/{}", text(&ret, "rma"))),
        (
            "pack-station",
            format!("/console/pack?fo={fo}&scans=TEE-BLK-M&scan=CAP-BLU"),
        ),
        ("customer", "/console/customers/ana@example.com".to_owned()),
        ("cases", "/console/cases?queue=all".to_owned()),
        ("floor", "/console/floor?location=wh-east".to_owned()),
        ("home", "/console".to_owned()),
        ("kpis", "/console/kpis".to_owned()),
    ];
    let mut problems = Vec::new();
    for (name, path) in &pages {
        p.open(path).await;
        p.web.execute(&axe, Vec::<Value>::new()).await.unwrap();
        let result = p
            .web
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, {resultTypes: ['violations']})
                    .then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact,
                        nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 3)}))))
                    .catch(e => done([{id: 'axe_failed', impact: 'critical', nodes: [String(e)]}]));",
                Vec::<Value>::new(),
            )
            .await
            .unwrap();
        for v in result.json().as_array().unwrap() {
            if matches!(v["impact"].as_str(), Some("serious" | "critical")) {
                problems.push(format!("{name}: {v}"));
            }
        }
        if [
            "order",
            "exceptions",
            "case",
            "returns-desk",
            "pack-station",
            "kpis",
        ]
        .contains(name)
        {
            let png = p.web.screenshot_as_png().await.unwrap();
            assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "{name}");
            std::fs::write(out.join(format!("{name}.png")), png).unwrap();
        }
    }
    assert!(
        problems.is_empty(),
        "axe found serious or critical violations:\n{}",
        problems.join("\n")
    );
    p.quit().await;
}
