//! The console over HTTP, as a browser without JavaScript uses it: sign-in with its
//! lockout, session cookies and their expiry, CSRF on every form, actions refused to a
//! role that lacks them (and nothing changed), refunds bounded by the role's limit,
//! search and the order page's unified timeline.

use crate::helpers::*;
use orderly::users::commands::NewUser;
use orderly_domain::actor::{Actor, Role};
use reqwest::Method;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use serde_json::json;

/// A browser: no redirects followed, cookies kept by hand.
pub struct Browser {
    client: reqwest::Client,
    root: String,
    cookies: Vec<(String, String)>,
    pub forwarded_https: bool,
}

pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub set_cookies: Vec<String>,
    pub html: String,
}

impl Page {
    /// The value of the first hidden `csrf` field.
    pub fn csrf(&self) -> String {
        self.field("csrf")
    }

    /// The value of the first input named `name`.
    pub fn field(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self
            .html
            .find(&marker)
            .unwrap_or_else(|| panic!("no {name} field in {}", self.html))
            + marker.len();
        let end = self.html[start..].find('"').unwrap();
        self.html[start..start + end].to_owned()
    }

    pub fn shows(&self, text: &str) -> bool {
        self.html.contains(text)
    }
}

impl Browser {
    pub fn new(app: &TestApp) -> Browser {
        Browser {
            client: reqwest::Client::builder()
                .no_proxy()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            root: format!("http://{}", app.addr),
            cookies: Vec::new(),
            forwarded_https: false,
        }
    }

    async fn send(&mut self, method: Method, path: &str, form: Option<&[(&str, String)]>) -> Page {
        let mut req = self.client.request(method, format!("{}{path}", self.root));
        if !self.cookies.is_empty() {
            let jar: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            req = req.header(COOKIE, jar.join("; "));
        }
        if self.forwarded_https {
            req = req.header("x-forwarded-proto", "https");
        }
        if let Some(form) = form {
            let mut body = form_urlencoded::Serializer::new(String::new());
            for (k, v) in form {
                body.append_pair(k, v);
            }
            req = req
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body.finish());
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let location = res
            .headers()
            .get(LOCATION)
            .map(|v| v.to_str().unwrap().to_owned());
        let set_cookies: Vec<String> = res
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect();
        for c in &set_cookies {
            let pair = c.split(';').next().unwrap();
            let (k, v) = pair.split_once('=').unwrap();
            self.cookies.retain(|(name, _)| name != k);
            if !c.contains("Max-Age=0") {
                self.cookies.push((k.to_owned(), v.to_owned()));
            }
        }
        let html = res.text().await.unwrap();
        Page {
            status,
            location,
            set_cookies,
            html,
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        self.send(Method::GET, path, None).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, String)]) -> Page {
        self.send(Method::POST, path, Some(form)).await
    }

    /// Signs in through the form; the answer to the POST.
    pub async fn sign_in(&mut self, username: &str, password: &str) -> Page {
        let form = self.get("/console/sign-in").await;
        assert_eq!(form.status, 200, "{}", form.html);
        let csrf = form.csrf();
        self.post(
            "/console/sign-in",
            &[
                ("csrf", csrf),
                ("next", "/console".into()),
                ("username", username.into()),
                ("password", password.into()),
            ],
        )
        .await
    }

    /// The CSRF token of the signed-in session (from any page's sign-out form).
    pub async fn csrf(&mut self) -> String {
        self.get("/console").await.csrf()
    }
}

/// A console user of `role` named after it; returns (username, password).
pub async fn user(app: &TestApp, role: Role) -> (String, String) {
    let made = app
        .state
        .create_user(
            &Actor::system("test"),
            NewUser {
                username: role.as_str().into(),
                display_name: format!("Test {}", role.as_str()),
                role,
                password: None,
                time_zone: Some("America/Chicago".into()),
            },
        )
        .await
        .unwrap();
    (made.user.username, made.password)
}

pub async fn signed_in(app: &TestApp, role: Role) -> Browser {
    let (name, password) = user(app, role).await;
    let mut b = Browser::new(app);
    let page = b.sign_in(&name, &password).await;
    assert_eq!(page.status, 303, "{}", page.html);
    b
}

/// A paid order of one unit at `price` minor units (captured at once on the web channel).
async fn paid_order(app: &TestApp, price: i64) -> String {
    app.seed_product("TEE-BLK-M", price).await;
    app.receive("TEE-BLK-M", "wh-east", 10).await;
    let order = app
        .create_order(&order_body("web", &[("TEE-BLK-M", 1, price)]))
        .await;
    order["id"].as_str().unwrap().to_owned()
}

async fn version(app: &TestApp, id: &str) -> (u64, usize) {
    let timeline = app.get(&format!("/orders/{id}/timeline")).await.expect(200);
    let data = timeline["data"].as_array().unwrap();
    (
        data.last().unwrap()["version"].as_u64().unwrap(),
        data.len(),
    )
}

#[tokio::test]
async fn a_user_signs_in_with_a_session_cookie_and_wrong_passwords_lock_the_account() {
    let app = spawn_app().await;
    let (name, password) = user(&app, Role::Support).await;
    let mut b = Browser::new(&app);
    b.forwarded_https = true;
    // Unsigned, a page sends you to the form and remembers where you were going.
    let page = b.get("/console/search?q=x").await;
    assert_eq!(page.status, 303);
    assert_eq!(
        page.location.as_deref(),
        Some("/console/sign-in?next=%2Fconsole%2Fsearch%3Fq%3Dx")
    );
    assert_eq!(b.get("/").await.location.as_deref(), Some("/console"));

    // Four wrong passwords say so; the fifth locks the account, visibly.
    for _ in 0..4 {
        let page = b.sign_in(&name, "not the password").await;
        assert_eq!(page.status, 401);
        assert!(page.shows("Wrong username or password"), "{}", page.html);
    }
    let page = b.sign_in(&name, "not the password").await;
    assert_eq!(page.status, 429);
    assert!(page.shows("This account is locked"), "{}", page.html);
    // While locked, the right password is refused too.
    let page = b.sign_in(&name, &password).await;
    assert_eq!(page.status, 429);
    assert!(
        page.set_cookies
            .iter()
            .all(|c| !c.starts_with("orderly_session="))
    );

    app.clock.advance(jiff::SignedDuration::from_mins(16));
    let page = b.sign_in(&name, &password).await;
    assert_eq!(page.status, 303, "{}", page.html);
    assert_eq!(page.location.as_deref(), Some("/console"));
    let cookie = page
        .set_cookies
        .iter()
        .find(|c| c.starts_with("orderly_session="))
        .expect("a session cookie");
    for flag in ["HttpOnly", "SameSite=Lax", "Secure", "Path=/console"] {
        assert!(cookie.contains(flag), "{cookie} lacks {flag}");
    }
    let home = b.get("/console").await;
    assert_eq!(home.status, 200);
    assert!(home.shows("Test support"), "{}", home.html);

    // Signing out ends the session on the server: the old cookie no longer works.
    let old = b.cookies.clone();
    let csrf = home.csrf();
    assert_eq!(
        b.post("/console/sign-out", &[("csrf", csrf)]).await.status,
        303
    );
    b.cookies = old;
    assert_eq!(b.get("/console").await.status, 303);
}

#[tokio::test]
async fn an_unknown_user_and_a_disabled_one_are_refused_and_a_forged_sign_in_form_too() {
    let app = spawn_app().await;
    let (name, password) = user(&app, Role::Warehouse).await;
    let mut b = Browser::new(&app);
    assert_eq!(b.sign_in("nobody", "whatever it is").await.status, 401);
    // A sign-in form posted from elsewhere carries no matching token.
    let page = b
        .post(
            "/console/sign-in",
            &[
                ("csrf", "f".repeat(48)),
                ("username", name.clone()),
                ("password", password.clone()),
            ],
        )
        .await;
    assert_eq!(page.status, 403);
    assert!(page.shows("csrf_token_invalid"));

    let mut signed = Browser::new(&app);
    assert_eq!(signed.sign_in(&name, &password).await.status, 303);
    app.state
        .disable_user(&Actor::system("test"), &name)
        .await
        .unwrap();
    assert_eq!(
        signed.get("/console").await.status,
        303,
        "disabling ends sessions"
    );
    let page = b.sign_in(&name, &password).await;
    assert_eq!(page.status, 403);
    assert!(page.shows("disabled"));
}

#[tokio::test]
async fn one_address_guessing_across_accounts_is_stopped_before_any_password_is_checked() {
    let app = spawn_app_with(|c| {
        c.server.auth_failure_limit = 3;
        c.server.auth_failure_window_seconds = 60;
    })
    .await;
    let (name, password) = user(&app, Role::Support).await;
    let mut b = Browser::new(&app);
    // Three wrong guesses at three names (no account reaches its own lockout).
    for guess in ["alice", "bob", "carol"] {
        assert_eq!(b.sign_in(guess, "wrong password").await.status, 401);
    }
    // Now even the right password from this address waits for the window.
    let page = b.sign_in(&name, &password).await;
    assert_eq!(page.status, 429, "{}", page.html);
    assert!(
        page.shows("Too many wrong sign-ins from your address"),
        "{}",
        page.html
    );
    assert!(
        page.set_cookies
            .iter()
            .all(|c| !c.starts_with("orderly_session="))
    );
    app.clock.advance(jiff::SignedDuration::from_secs(61));
    assert_eq!(b.sign_in(&name, &password).await.status, 303);
    // A body that is not a form is refused as a page, not a crash.
    let mut raw = Browser::new(&app);
    let form = raw.get("/console/sign-in").await;
    let page = raw
        .post(
            "/console/sign-in",
            &[("csrf", form.csrf()), ("username", "x".repeat(5000))],
        )
        .await;
    assert_eq!(page.status, 413, "{}", page.html);
}

#[tokio::test]
async fn a_session_ends_when_idle_and_after_its_absolute_time() {
    let app = spawn_app().await;
    let mut b = signed_in(&app, Role::Support).await;
    // Busy: a request every 20 minutes keeps it alive past the idle limit...
    for _ in 0..3 {
        app.clock.advance(jiff::SignedDuration::from_mins(20));
        assert_eq!(b.get("/console").await.status, 200);
    }
    // ... but not past 12 hours.
    for _ in 0..34 {
        app.clock.advance(jiff::SignedDuration::from_mins(20));
        b.get("/console").await;
    }
    assert_eq!(b.get("/console").await.status, 303, "absolute expiry");

    let mut idle = signed_in(&app, Role::Finance).await;
    assert_eq!(idle.get("/console").await.status, 200);
    app.clock.advance(jiff::SignedDuration::from_mins(31));
    assert_eq!(idle.get("/console").await.status, 303, "idle expiry");
}

/// (path under the order, form fields) of every order action on the page.
fn order_actions(id: &str) -> Vec<(String, Vec<(&'static str, String)>)> {
    vec![
        (
            format!("/console/orders/{id}/notes"),
            vec![("text", "called".into())],
        ),
        (
            format!("/console/orders/{id}/holds"),
            vec![("reason", "manual".into()), ("note", "check".into())],
        ),
        (
            format!("/console/orders/{id}/refunds"),
            vec![("amount", "5.00".into()), ("reason", "damaged".into())],
        ),
        (
            format!("/console/orders/{id}/cancellation"),
            vec![("reason", "customer_request".into())],
        ),
    ]
}

#[tokio::test]
async fn every_order_action_refuses_a_missing_token_an_expired_session_and_a_role_without_it() {
    let app = spawn_app().await;
    let id = paid_order(&app, 3000).await;
    let before = version(&app, &id).await;

    // Support may do each of these; without the form's token, none changes anything.
    let mut support = signed_in(&app, Role::Support).await;
    for (path, form) in order_actions(&id) {
        let page = support.post(&path, &form).await;
        assert_eq!(page.status, 403, "{path}: {}", page.html);
        assert!(page.shows("csrf_token_invalid"), "{path}");
        let mut forged = form.clone();
        forged.push(("csrf", "0".repeat(64)));
        assert_eq!(support.post(&path, &forged).await.status, 403, "{path}");
    }
    assert_eq!(version(&app, &id).await, before);

    // A warehouse user may annotate but not hold, refund or cancel.
    let mut warehouse = signed_in(&app, Role::Warehouse).await;
    let csrf = warehouse.csrf().await;
    for (path, mut form) in order_actions(&id).into_iter().skip(1) {
        form.push(("csrf", csrf.clone()));
        let page = warehouse.post(&path, &form).await;
        assert_eq!(page.status, 403, "{path}: {}", page.html);
        assert!(page.shows("forbidden"), "{path}: {}", page.html);
    }
    assert_eq!(version(&app, &id).await, before);
    // What the role may not do is not offered.
    let page = warehouse.get(&format!("/console/orders/{id}")).await;
    assert_eq!(page.status, 200);
    assert!(
        !page.shows("/refunds\"") && !page.shows("Cancel order"),
        "{}",
        page.html
    );
    assert!(page.shows("Add note"));

    // An expired session changes nothing either: it is sent to sign in.
    let csrf = support.csrf().await;
    app.clock.advance(jiff::SignedDuration::from_mins(31));
    for (path, mut form) in order_actions(&id) {
        form.push(("csrf", csrf.clone()));
        let page = support.post(&path, &form).await;
        assert_eq!(page.status, 303, "{path}");
        assert!(page.location.unwrap().starts_with("/console/sign-in"));
    }
    assert_eq!(version(&app, &id).await, before);
}

#[tokio::test]
async fn support_refunds_within_its_limit_and_a_larger_refund_is_neither_offered_nor_taken() {
    let app = spawn_app().await;
    let id = paid_order(&app, 50_000).await;
    let mut support = signed_in(&app, Role::Support).await;
    let page = support.get(&format!("/console/orders/{id}")).await;
    assert!(
        page.shows("your role may refund up to USD 200.00 at once"),
        "{}",
        page.html
    );
    let csrf = page.csrf();
    let key = page.field("form_key");
    let refund = |amount: &str, key: String| {
        vec![
            ("csrf", csrf.clone()),
            ("form_key", key),
            ("amount", amount.to_owned()),
            ("reason", "damaged".to_owned()),
            ("method", "original_payment".to_owned()),
        ]
    };
    // Above the limit: refused with the API's code, nothing recorded.
    let page = support
        .post(
            &format!("/console/orders/{id}/refunds"),
            &refund("250.00", format!("{key}-a")),
        )
        .await;
    assert_eq!(page.status, 403, "{}", page.html);
    assert!(page.shows("refund limit"), "{}", page.html);
    let order = app.get(&format!("/orders/{id}")).await.expect(200);
    assert_eq!(order["refunds"].as_array().unwrap().len(), 0);
    // The API refuses the support key the same way.
    let (_, key_secret) = app.key(Role::Support).await;
    send(
        app.req_as(&key_secret, Method::POST, &format!("/orders/{id}/refunds"))
            .json(&json!({"amount": 25_000, "reason": "damaged"})),
    )
    .await
    .expect_problem(403, "forbidden");

    // Within it: done, and a double submit of the same form refunds once.
    for _ in 0..2 {
        let page = support
            .post(
                &format!("/console/orders/{id}/refunds"),
                &refund("12.50", format!("{key}-b")),
            )
            .await;
        assert_eq!(page.status, 303, "{}", page.html);
    }
    let page = support.get(&format!("/console/orders/{id}")).await;
    assert!(
        page.shows("Refund of USD 12.50 requested."),
        "{}",
        page.html
    );
    let order = app.get(&format!("/orders/{id}")).await.expect(200);
    let refunds = order["refunds"].as_array().unwrap();
    assert_eq!(refunds.len(), 1, "{refunds:?}");
    assert_eq!(refunds[0]["amount"], 1250);
    // The notice is shown once.
    assert!(
        !support
            .get(&format!("/console/orders/{id}"))
            .await
            .shows("Refund of USD 12.50 requested.")
    );

    // Finance has no limit of its own.
    let mut finance = signed_in(&app, Role::Finance).await;
    let page = finance.get(&format!("/console/orders/{id}")).await;
    assert!(!page.shows("your role may refund up to"));
    let csrf = page.csrf();
    let page = finance
        .post(
            &format!("/console/orders/{id}/refunds"),
            &[
                ("csrf", csrf),
                ("amount", "300".into()),
                ("reason", "damaged".into()),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.html);
}

#[tokio::test]
async fn search_opens_a_single_hit_and_lists_several() {
    let app = spawn_app().await;
    let id = paid_order(&app, 2000).await;
    let order = app.get(&format!("/orders/{id}")).await.expect(200);
    let number = order["number"].as_str().unwrap().to_owned();
    let mut b = signed_in(&app, Role::Support).await;
    let page = b
        .get(&format!(
            "/console/search?q={}",
            enc(&number.to_lowercase())
        ))
        .await;
    assert_eq!(page.status, 303);
    assert_eq!(page.location.unwrap(), format!("/console/orders/{id}"));
    let email = order["customer"]["email"].as_str().unwrap();
    let page = b.get(&format!("/console/search?q={}", enc(email))).await;
    assert_eq!(page.status, 303);
    assert!(
        page.location
            .unwrap()
            .starts_with("/console/customers/cus_")
    );
    // A tracking number opens its order, whose label the page links to.
    let fid = first_fulfillment(&order);
    let packed = app.pick_and_pack(&fid, &[(1, 1)], &["TEE-BLK-M"]).await;
    let package = packed["id"].as_str().unwrap().to_owned();
    let shipped = app
        .post(&format!("/packages/{package}/ship"), &json!({}))
        .await
        .expect(200);
    let tracking = shipped["fulfillment_orders"][0]["shipments"][0]["tracking_number"]
        .as_str()
        .unwrap()
        .to_owned();
    let page = b.get(&format!("/console/search?q={tracking}")).await;
    assert_eq!(
        page.location.as_deref(),
        Some(format!("/console/orders/{id}").as_str())
    );
    let page = b.get(&format!("/console/orders/{id}")).await;
    assert!(page.shows(&tracking), "{}", page.html);
    let label_at = page.html.find("/label.pdf").expect("a label link");
    let start = page.html[..label_at].rfind('"').unwrap() + 1;
    let label = b
        .get(&page.html[start..label_at + "/label.pdf".len()])
        .await;
    assert_eq!(label.status, 200);
    assert!(label.html.starts_with("%PDF"));
    let page = b.get("/console/search?q=nothing-like-this").await;
    assert_eq!(page.status, 200);
    assert!(page.shows("Nothing found"));
    // An address the console does not have is a page saying so, not JSON.
    let page = b.get("/console/no/such/page").await;
    assert_eq!(page.status, 404);
    assert!(page.shows("No such page"), "{}", page.html);
}

#[tokio::test]
async fn the_order_page_interleaves_order_payment_note_and_case_events_newest_first() {
    let app = spawn_app().await;
    let id = paid_order(&app, 2000).await;
    let mut b = signed_in(&app, Role::Support).await;
    let csrf = b.csrf().await;
    let page = b
        .post(
            &format!("/console/orders/{id}/notes"),
            &[
                ("csrf", csrf.clone()),
                ("text", "Customer called about the size".into()),
            ],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.html);
    app.post(
        "/cases",
        &json!({"subject": "Where is my parcel", "channel": "phone", "order": id}),
    )
    .await
    .expect(201);
    let page = b.get(&format!("/console/orders/{id}")).await;
    assert_eq!(page.status, 200);
    let note = page
        .html
        .find("Customer called about the size")
        .expect("the note");
    let case = page.html.find("Where is my parcel").expect("the case");
    let placed = page
        .html
        .find("data-strand=\"order\"")
        .expect("an order event");
    assert!(
        page.shows("Note by support user &#39;Test support&#39;"),
        "{}",
        page.html
    );
    // Newest first: the case (opened last) before the note, both before the placement.
    let timeline = page.html.find("id=\"timeline\"").unwrap();
    let case_entry = page.html[timeline..]
        .find("Case CASE-")
        .map(|i| i + timeline)
        .expect("case on the timeline");
    let note_entry = page.html[timeline..]
        .find("Customer called")
        .map(|i| i + timeline)
        .unwrap();
    assert!(
        case_entry < note_entry
            && note_entry
                < page.html[timeline..]
                    .rfind("data-strand=\"order\"")
                    .unwrap()
                    + timeline
    );
    assert!(note > 0 && case > 0 && placed > 0);
    // Filtering keeps one strand.
    let page = b.get(&format!("/console/orders/{id}?strand=case")).await;
    let timeline = &page.html[page.html.find("id=\"timeline\"").unwrap()..];
    assert!(timeline.contains("Case CASE-") && !timeline.contains("Customer called"));
    // Times show in the user's zone.
    assert!(page.shows(" CST") || page.shows(" CDT"), "{}", page.html);
}
