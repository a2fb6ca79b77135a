//! `orderly bench capture`: the capture benchmark. It seeds a fresh database (a temporary
//! SQLite file, or a new database on the PostgreSQL server `--database` names), starts
//! `--processes` copies of `orderly serve` on it as child processes (so each server's peak
//! RSS is its own), drives N three-line orders over real HTTP from C concurrent clients
//! spread over the processes, and prints throughput, latency percentiles, peak RSS and the
//! `orderly check` result.

use crate::app::Origin;
use crate::app::auth::KeySpec;
use crate::config::{Config, DatabaseTarget};
use crate::startup::Application;
use anyhow::{Context, bail};
use orderly_domain::actor::{Actor, Role};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, clap::Args)]
pub struct CaptureArgs {
    /// Orders to capture.
    #[arg(long, default_value_t = 50_000)]
    pub orders: usize,
    /// Concurrent HTTP clients.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Lines per order.
    #[arg(long, default_value_t = 3)]
    pub lines: usize,
    /// SQLite synchronous mode of the server: full (durable) or normal.
    #[arg(long, default_value = "full")]
    pub synchronous: String,
    /// A PostgreSQL server URL (`postgres://user@host:port/db`): the benchmark creates a
    /// fresh database there, and drops it afterwards. Default: a temporary SQLite file.
    #[arg(long)]
    pub database: Option<String>,
    /// `orderly serve` processes sharing the database (more than one needs PostgreSQL).
    #[arg(long, default_value_t = 1)]
    pub processes: usize,
    /// `card` (tok_visa through the simulator: authorize, then capture, as the web
    /// channel does) or `none` (the order alone, left unpaid).
    #[arg(long, default_value = "card", value_parser = ["card", "none"])]
    pub payment: String,
}

const STATES: [(&str, &str, &str); 6] = [
    ("Austin", "TX", "78701"),
    ("New York", "NY", "10001"),
    ("San Francisco", "CA", "94105"),
    ("Chicago", "IL", "60611"),
    ("Atlanta", "GA", "30303"),
    ("Seattle", "WA", "98101"),
];

fn order_body(i: usize, lines: usize, skus: &[(String, i64)], card: bool) -> String {
    let (city, region, postal) = STATES[i % STATES.len()];
    let lines: Vec<String> = (0..lines)
        .map(|l| {
            let (sku, price) = &skus[(i * 7 + l * 13) % skus.len()];
            format!(
                r#"{{"sku":"{sku}","quantity":{},"unit_price":{price}}}"#,
                1 + (i + l) % 3
            )
        })
        .collect();
    format!(
        r#"{{"channel":"web","external_id":"bench-{i}","currency":"USD",
"customer":{{"email":"customer{}@example.com","name":"Bench Customer"}},
"shipping_address":{{"name":"Bench Customer","line1":"{} Main St","city":"{city}","region":"{region}","postal_code":"{postal}","country":"US"}},
"lines":[{}],"shipping_amount":500,"tax_amount":0,"discount_amount":0{}}}"#,
        i % 5000,
        i % 900 + 1,
        lines.join(","),
        if card {
            r#","payment":{"method":"card","provider":"simulator","token":"tok_visa"}"#
        } else {
            ""
        }
    )
}

/// What the clients send: how many orders, from how many clients, of how many lines.
pub(crate) struct Load {
    pub(crate) orders: usize,
    pub(crate) concurrency: usize,
    pub(crate) lines: usize,
    pub(crate) card: bool,
    /// Idempotency keys and external ids start with this, so loads on one database differ.
    pub(crate) prefix: String,
}

/// Captures `load.orders` orders over `urls` from `load.concurrency` clients; returns the
/// elapsed time, the sorted latencies (µs) and how many failed.
pub(crate) async fn drive(
    client: &reqwest::Client,
    urls: &[String],
    key: &str,
    skus: &[(String, i64)],
    load: &Load,
) -> anyhow::Result<(Duration, Vec<u64>, usize)> {
    let next = Arc::new(AtomicUsize::new(0));
    let skus = Arc::new(skus.to_vec());
    let auth = format!("Bearer {key}");
    let began = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..load.concurrency {
        let (client, next, skus, auth, url) = (
            client.clone(),
            next.clone(),
            skus.clone(),
            auth.clone(),
            urls[c % urls.len()].clone(),
        );
        let (total, lines, card, prefix) =
            (load.orders, load.lines, load.card, load.prefix.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies_us = Vec::new();
            let mut errors = 0usize;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let body =
                    order_body(i, lines, &skus, card).replace("bench-", &format!("{prefix}-"));
                let t = Instant::now();
                let res = client
                    .post(&url)
                    .header("authorization", &auth)
                    .header("content-type", "application/json")
                    .header("idempotency-key", format!("{prefix}-{i}"))
                    .body(body)
                    .send()
                    .await;
                let ok = match res {
                    Ok(r) => r.status().as_u16() == 201 && r.bytes().await.is_ok(),
                    Err(_) => false,
                };
                latencies_us.push(t.elapsed().as_micros() as u64);
                if !ok {
                    errors += 1;
                }
            }
            (latencies_us, errors)
        }));
    }
    let mut latencies = Vec::with_capacity(load.orders);
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await?;
        latencies.extend(l);
        errors += e;
    }
    let elapsed = began.elapsed();
    latencies.sort_unstable();
    Ok((elapsed, latencies, errors))
}

pub(crate) fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)] as f64 / 1000.0
}

fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
}

/// Seeds the demo catalog with ample stock and returns (admin key, [(sku, price)]).
pub(crate) async fn seed(config: Config) -> anyhow::Result<(String, Vec<(String, i64)>)> {
    let application = Application::build(config).await?;
    let app = application.state();
    let origin = Origin {
        actor: Actor::system("bench"),
        correlation_id: "bench-seed".into(),
    };
    let skus = crate::demo::create_catalog(&app, &origin, |_, _| 10_000_000).await?;
    let key = app
        .create_key(&origin.actor, KeySpec::unbound(Role::Integration, "bench"))
        .await?
        .secret;
    app.store.shutdown();
    Ok((key, skus))
}

/// The benchmark's database: its URL, and how to clean up after.
struct BenchDb {
    url: String,
    /// (server URL, database name) of a PostgreSQL database to drop at the end.
    drop_postgres: Option<(String, String)>,
}

async fn postgres_admin(url: &str) -> anyhow::Result<tokio_postgres::Client> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .with_context(|| format!("cannot connect to {url}"))?;
    tokio::spawn(connection);
    Ok(client)
}

async fn bench_database(args: &CaptureArgs, dir: &std::path::Path) -> anyhow::Result<BenchDb> {
    match &args.database {
        None => {
            if args.processes > 1 {
                bail!(
                    "several processes share a database only on PostgreSQL: pass --database postgres://…"
                );
            }
            Ok(BenchDb {
                url: format!("sqlite://{}", dir.join("bench.db").display()),
                drop_postgres: None,
            })
        }
        Some(url) => {
            if !matches!(DatabaseTarget::parse(url)?, DatabaseTarget::Postgres(_)) {
                bail!(
                    "--database takes a PostgreSQL server URL; without it the benchmark uses a temporary SQLite file"
                );
            }
            let name = format!("orderly_bench_{}", uuid::Uuid::now_v7().simple());
            postgres_admin(url)
                .await?
                .batch_execute(&format!("CREATE DATABASE {name}"))
                .await?;
            Ok(BenchDb {
                url: with_database(url, &name),
                drop_postgres: Some((url.clone(), name)),
            })
        }
    }
}

/// `url` with its database name replaced by `name`.
pub fn with_database(url: &str, name: &str) -> String {
    let scheme_end = url.find("://").map_or(0, |i| i + 3);
    let (head, query) = match url.find('?') {
        Some(q) => (&url[..q], &url[q..]),
        None => (url, ""),
    };
    let authority_end = head[scheme_end..]
        .find('/')
        .map_or(head.len(), |i| scheme_end + i);
    format!("{}/{name}{query}", &head[..authority_end])
}

/// Starts `orderly serve` on `port` and waits until it answers health checks.
pub(crate) async fn start_server(
    config: &std::path::Path,
    port: u16,
    client: &reqwest::Client,
) -> anyhow::Result<tokio::process::Child> {
    let mut child = tokio::process::Command::new(std::env::current_exe()?)
        .args(["serve", "--config"])
        .arg(config)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .env(
            "ORDERLY_LOG",
            std::env::var("ORDERLY_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .kill_on_drop(true)
        .spawn()
        .context("cannot start the server")?;
    let started = Instant::now();
    loop {
        let health = client
            .get(format!("http://127.0.0.1:{port}/api/v1/health"))
            .send()
            .await;
        if health.is_ok_and(|r| r.status().is_success()) {
            return Ok(child);
        }
        if child.try_wait()?.is_some() || started.elapsed() > Duration::from_secs(30) {
            bail!("the server on port {port} did not become healthy");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub async fn capture(args: CaptureArgs) -> anyhow::Result<()> {
    if args.concurrency == 0 || args.orders == 0 || args.lines == 0 || args.processes == 0 {
        bail!("orders, concurrency, lines and processes must be at least 1");
    }
    let dir = tempfile::tempdir().context("cannot create a temporary directory")?;
    let db = bench_database(&args, dir.path()).await?;
    let config_path = dir.path().join("orderly.toml");
    let overrides = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n[database]\nurl = \"{}\"\nsynchronous = \"{}\"\npool_size = 16\n",
        db.url, args.synchronous
    );
    let demo_without_sections: String = crate::DEMO_CONFIG
        .split("\n[[locations]]")
        .skip(1)
        .fold(String::new(), |acc, part| acc + "\n[[locations]]" + part);
    std::fs::write(&config_path, format!("{overrides}{demo_without_sections}"))?;
    let config = Config::load(Some(&config_path), None)?;
    let database = config.database.clone();
    let (key, skus) = seed(config).await?;

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .build()?;
    let mut servers = Vec::new();
    for _ in 0..args.processes {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let child = start_server(&config_path, port, &client).await?;
        let pid = child.id().context("server exited at once")?;
        servers.push((child, pid, format!("http://127.0.0.1:{port}/api/v1/orders")));
    }
    let backend = if db.drop_postgres.is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    println!(
        "capturing {} orders of {} lines with {} concurrent clients on {} {backend} process(es) (synchronous={})",
        args.orders,
        args.lines,
        args.concurrency,
        args.processes,
        if db.drop_postgres.is_some() {
            "on"
        } else {
            args.synchronous.as_str()
        }
    );
    let urls: Vec<String> = servers.iter().map(|(_, _, url)| url.clone()).collect();
    let load = Load {
        orders: args.orders,
        concurrency: args.concurrency,
        lines: args.lines,
        card: args.payment == "card",
        prefix: "bench".to_owned(),
    };
    let (elapsed, latencies, errors) = drive(&client, &urls, &key, &skus, &load).await?;
    let rss: Vec<Option<u64>> = servers
        .iter()
        .map(|(_, pid, _)| peak_rss_kib(*pid))
        .collect();
    for (mut child, pid, _) in servers {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status();
        let _ = tokio::time::timeout(Duration::from_secs(20), child.wait()).await;
    }

    let ok = args.orders - errors;
    println!("elapsed:        {:.2} s", elapsed.as_secs_f64());
    println!(
        "orders/s:       {:.0} ({ok} created, {errors} failed)",
        ok as f64 / elapsed.as_secs_f64()
    );
    println!(
        "latency ms:     p50 {:.2}  p95 {:.2}  p99 {:.2}  max {:.2}",
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.95),
        percentile(&latencies, 0.99),
        percentile(&latencies, 1.0)
    );
    for (i, kib) in rss.iter().enumerate() {
        match kib {
            Some(kib) => println!("server {i} peak RSS: {:.1} MiB", *kib as f64 / 1024.0),
            None => println!("server {i} peak RSS: unknown (no /proc)"),
        }
    }
    println!("orderly check:");
    let result = crate::maintenance::check_and_report(&database).await;
    if let Some((server, name)) = db.drop_postgres {
        postgres_admin(&server)
            .await?
            .batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)"))
            .await?;
    }
    result?;
    Ok(())
}
