//! `orderly bench support`: what support and operations read, timed over HTTP on a
//! database `orderly seed` filled: the order view, the customer view, searches by
//! email, phone and tracking number, every exception queue's first page with the
//! queues' counts, the case queues, a month's KPIs (by channel, and by week) and the
//! inventory insight, and the console's pages with the KPI dashboard. Each is asked `--requests` times (objects picked
//! across the whole database) from one client, and its p50/p95/p99 printed with the
//! database's size. The server runs in this process with its timer worker idle, so the
//! figures are the reads' alone.

use crate::app::auth::KeySpec;
use crate::bench::percentile;
use crate::config::{Config, DatabaseTarget};
use crate::startup::Application;
use anyhow::{Context, bail};
use orderly_domain::actor::{Actor, Role};
use std::time::Instant;

#[derive(Debug, Clone, clap::Args)]
pub struct SupportArgs {
    /// The seeded database (`sqlite://PATH` or `postgres://…`).
    #[arg(long, default_value = "sqlite://data/seed.db")]
    pub database: String,
    /// Requests per endpoint.
    #[arg(long, default_value_t = 300)]
    pub requests: usize,
    /// Customers the seed spread its orders over (`orderly seed --customers`).
    #[arg(long, default_value_t = 100_000)]
    pub customers: usize,
    /// Orders the seed made (`orderly seed --orders`).
    #[arg(long, default_value_t = 1_000_000)]
    pub orders: usize,
}

/// One endpoint's paths, asked in turn: of the API (with the key), or of the console
/// (from the root, with the session cookie).
struct Probe {
    name: &'static str,
    paths: Vec<String>,
    console: bool,
}

fn api(name: &'static str, paths: Vec<String>) -> Probe {
    Probe {
        name,
        paths,
        console: false,
    }
}

fn console(name: &'static str, paths: Vec<String>) -> Probe {
    Probe {
        name,
        paths,
        console: true,
    }
}

/// `from=…&to=…` of a calendar month: the `k`-th of the twelve before `today`'s, in turn.
fn month(today: jiff::civil::Date, k: usize) -> String {
    let back = i64::try_from(k % 12).unwrap_or(0) + 1;
    let first = today
        .first_of_month()
        .checked_sub(jiff::Span::new().months(back))
        .unwrap_or(today);
    let last = first.last_of_month();
    format!("from={first}&to={last}")
}

fn probes(args: &SupportArgs, orders: &[String], today: jiff::civil::Date) -> Vec<Probe> {
    let n = args.requests;
    let pick = |k: usize, over: usize| (k.wrapping_mul(7919) + 13) % over.max(1);
    let customer = |k: usize| pick(k, args.customers);
    let each = |f: &dyn Fn(usize) -> String| (0..n).map(f).collect::<Vec<_>>();
    let order = |k: usize| orders[k % orders.len()].clone();
    let mut out = vec![
        api("order view", each(&|k| format!("/orders/{}", order(k)))),
        api(
            "order support view",
            each(&|k| format!("/orders/{}/support", order(k))),
        ),
        api(
            "customer view",
            each(&|k| format!("/customers/customer{}%40example.com", customer(k))),
        ),
        api(
            "orders by email",
            each(&|k| format!("/orders?email=customer{}%40example.com", customer(k))),
        ),
        api(
            "customers by email",
            each(&|k| format!("/customers?email=customer{}%40", customer(k))),
        ),
        api(
            "customers by phone",
            each(&|k| format!("/customers?phone={:07}", customer(k))),
        ),
        api(
            "orders by tracking number",
            each(&|k| format!("/orders?tracking_number=SEED{:08}0", pick(k, args.orders))),
        ),
        api(
            "exception board",
            vec!["/exceptions?limit=50".to_owned(); n],
        ),
    ];
    for queue in orderly_domain::order::exceptions::queue::ALL {
        out.push(api(queue, vec![format!("/exceptions/{queue}?limit=50"); n]));
    }
    out.extend([
        api(
            "kpis: a month by channel",
            each(&|k| format!("/metrics/kpis?{}&group_by=channel", month(today, k))),
        ),
        api(
            "kpis: a month, by week",
            each(&|k| format!("/metrics/kpis?{}&period=week", month(today, k))),
        ),
        api("inventory insight", vec!["/metrics/insight".to_owned(); n]),
    ]);
    for (queue, name) in [
        ("unassigned", "cases: unassigned"),
        ("breached", "cases: breached"),
        ("all", "cases: all"),
    ] {
        out.push(api(name, vec![format!("/cases?queue={queue}&limit=50"); n]));
    }
    out.extend([
        console(
            "console: order page",
            each(&|k| format!("/console/orders/{}", order(k))),
        ),
        console(
            "console: customer page",
            each(&|k| format!("/console/customers/customer{}%40example.com", customer(k))),
        ),
        console(
            "console: exception board",
            vec!["/console/exceptions".to_owned(); n],
        ),
        console(
            "console: queue page",
            each(&|k| {
                let queues = orderly_domain::order::exceptions::queue::ALL;
                format!("/console/exceptions/{}", queues[k % queues.len()])
            }),
        ),
        console(
            "console: KPI dashboard",
            each(&|k| format!("/console/kpis?{}", month(today, k))),
        ),
        console(
            "console: case queue",
            vec!["/console/cases?queue=all".to_owned(); n],
        ),
        console(
            "console: search (tracking)",
            each(&|k| format!("/console/search?q=SEED{:08}0", pick(k, args.orders))),
        ),
        console(
            "console: search (email)",
            each(&|k| format!("/console/search?q=customer{}%40example.com", customer(k))),
        ),
    ]);
    out
}

/// The `name=value` pairs of an answer's cookies, as a `Cookie` header sends them back.
fn cookies(res: &reqwest::Response) -> String {
    res.headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|c| c.split(';').next())
        .collect::<Vec<_>>()
        .join("; ")
}

/// Signs a new support user in through the console's form; the session's cookie.
async fn console_session(
    state: &crate::app::AppState,
    root: &str,
) -> anyhow::Result<(reqwest::Client, String)> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let username = format!("bench{}", &state.new_id("u")[2..14]);
    let made = state
        .create_user(
            &Actor::system("bench"),
            crate::users::commands::NewUser {
                username: username.clone(),
                display_name: "Bench support".into(),
                role: Role::Support,
                password: None,
                time_zone: None,
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!("creating the bench user: {e}"))?;
    let form = client.get(format!("{root}/console/sign-in")).send().await?;
    let signin = cookies(&form);
    let html = form.text().await?;
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .context("the sign-in form has no csrf field")?
        .to_owned();
    let body = form_urlencoded::Serializer::new(String::new())
        .append_pair("csrf", &csrf)
        .append_pair("username", &username)
        .append_pair("password", &made.password)
        .append_pair("next", "/console")
        .finish();
    let res = client
        .post(format!("{root}/console/sign-in"))
        .header(reqwest::header::COOKIE, signin)
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(body)
        .send()
        .await?;
    if res.status() != reqwest::StatusCode::SEE_OTHER {
        bail!("signing in to the console answered {}", res.status());
    }
    Ok((client, cookies(&res)))
}

fn database_size(url: &str) -> String {
    match DatabaseTarget::parse(url) {
        Ok(DatabaseTarget::Sqlite(path)) => {
            let bytes: u64 = ["", "-wal"]
                .iter()
                .filter_map(|s| std::fs::metadata(format!("{}{s}", path.display())).ok())
                .map(|m| m.len())
                .sum();
            format!("{:.0} MiB", bytes as f64 / (1024.0 * 1024.0))
        }
        _ => "see pg_database_size".to_owned(),
    }
}

pub async fn support(args: SupportArgs) -> anyhow::Result<()> {
    if args.requests == 0 {
        bail!("--requests must be at least 1");
    }
    let mut config = Config::load(None, Some(crate::DEMO_CONFIG))?;
    config.database.url = args.database.clone();
    config.server.listen = "127.0.0.1:0".into();
    // The seed settled its history; keep the workers from sweeping while we measure.
    config.payments.worker_interval_ms = 24 * 3600 * 1000;
    config.webhooks.dispatcher = false;
    let app = Application::build(config).await?;
    let addr = app.local_addr()?;
    let state = app.state();
    let key = state
        .create_key(
            &Actor::system("bench"),
            KeySpec::unbound(Role::Admin, "support bench"),
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .secret;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::new();
    let root = format!("http://{addr}");
    let base = format!("{root}/api/v1");
    let (browser, session) = console_session(&state, &root).await?;
    let auth = format!("Bearer {key}");
    // Orders to view: ids from customers' order lists spread over the database.
    let mut orders = Vec::new();
    for k in 0..50 {
        let c = (k * 1999 + 7) % args.customers.max(1);
        let page: serde_json::Value = client
            .get(format!(
                "{base}/orders?email=customer{c}%40example.com&limit=5"
            ))
            .header("authorization", &auth)
            .send()
            .await?
            .json()
            .await?;
        if let Some(rows) = page["data"].as_array() {
            orders.extend(
                rows.iter()
                    .filter_map(|o| o["id"].as_str().map(str::to_owned)),
            );
        }
    }
    if orders.is_empty() {
        bail!("no orders found for the seed's customers: seed the database first (orderly seed)");
    }
    println!(
        "database {} ({}), {} requests per endpoint, one client",
        args.database,
        database_size(&args.database),
        args.requests
    );
    println!(
        "{:<28} {:>8} {:>8} {:>8} {:>8}",
        "endpoint", "p50 ms", "p95 ms", "p99 ms", "errors"
    );
    let today = state.config.kpi_rules()?.day(state.now());
    for probe in probes(&args, &orders, today) {
        let mut us = Vec::with_capacity(probe.paths.len());
        let mut errors = 0;
        for path in &probe.paths {
            let request = if probe.console {
                browser
                    .get(format!("{root}{path}"))
                    .header(reqwest::header::COOKIE, &session)
            } else {
                client
                    .get(format!("{base}{path}"))
                    .header("authorization", &auth)
            };
            let began = Instant::now();
            let res = request
                .send()
                .await
                .with_context(|| format!("GET {path}"))?;
            // A search with one hit sends the browser on to it; a lost session would
            // send it to sign in.
            let ok = res.status().is_success()
                || probe.console
                    && res.status() == reqwest::StatusCode::SEE_OTHER
                    && res
                        .headers()
                        .get(reqwest::header::LOCATION)
                        .and_then(|l| l.to_str().ok())
                        .is_some_and(|l| !l.starts_with("/console/sign-in"));
            let body = res.bytes().await?;
            us.push(began.elapsed().as_micros() as u64);
            if !ok {
                errors += 1;
                if errors == 1 {
                    eprintln!("{path}: {}", String::from_utf8_lossy(&body));
                }
            }
        }
        us.sort_unstable();
        println!(
            "{:<28} {:>8.2} {:>8.2} {:>8.2} {:>8}",
            probe.name,
            percentile(&us, 0.5),
            percentile(&us, 0.95),
            percentile(&us, 0.99),
            errors
        );
    }
    let _ = stop.send(());
    server.await??;
    Ok(())
}
