//! `orderly bench webhooks`: delivery throughput and what delivery costs capture. It
//! starts `--endpoints` receivers on loopback (each subscribed to every event), then on a
//! fresh SQLite database runs `orderly serve` four times: capturing with the dispatcher
//! off (a backlog), draining that backlog (deliveries per second), capturing with the
//! dispatcher on (capture throughput beside delivery, and the latency from an event's
//! commit to its receipt), and capturing with it off again: the baseline, measured last
//! so its database is at least as large as the delivering phase's (a database that just
//! took tens of thousands of delivery writes is slower to write to for a while, which
//! is no cost of delivery running).

use crate::bench::{Load, drive, percentile, seed, start_server};
use crate::config::Config;
use anyhow::{Context, bail};
use axum::body::Bytes;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, clap::Args)]
pub struct WebhookArgs {
    /// Orders captured in each phase.
    #[arg(long, default_value_t = 5_000)]
    pub orders: usize,
    /// Receivers, one subscription each.
    #[arg(long, default_value_t = 8)]
    pub endpoints: usize,
    /// Concurrent HTTP clients capturing.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
}

/// What the receivers saw: how many requests, and the commit-to-receipt latencies (ms).
#[derive(Default)]
struct Seen {
    count: AtomicUsize,
    latencies_ms: Mutex<Vec<u64>>,
}

async fn receivers(n: usize, seen: Arc<Seen>) -> anyhow::Result<Vec<String>> {
    let mut urls = Vec::new();
    for _ in 0..n {
        let seen = seen.clone();
        let handler = move |body: Bytes| {
            let seen = seen.clone();
            async move {
                let now = jiff::Timestamp::now();
                let at = serde_json::from_slice::<serde_json::Value>(&body)
                    .ok()
                    .and_then(|v| {
                        v["timestamp"]
                            .as_str()
                            .and_then(|t| t.parse::<jiff::Timestamp>().ok())
                    });
                if let Some(at) = at
                    && let Ok(mut l) = seen.latencies_ms.lock()
                {
                    l.push(u64::try_from(now.duration_since(at).as_millis()).unwrap_or(0));
                }
                seen.count.fetch_add(1, Ordering::Relaxed);
                "ok"
            }
        };
        let router = axum::Router::new().route("/hook", axum::routing::post(handler));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        urls.push(format!("http://{}/hook", listener.local_addr()?));
        tokio::spawn(async move { axum::serve(listener, router).await });
    }
    Ok(urls)
}

/// Writes a configuration for the phase (`dispatcher` on or off) and returns its path.
fn phase_config(
    dir: &std::path::Path,
    db_url: &str,
    dispatcher: bool,
) -> anyhow::Result<std::path::PathBuf> {
    let path = dir.join(format!("orderly-{dispatcher}.toml"));
    let overrides = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n[database]\nurl = \"{db_url}\"\nsynchronous = \"full\"\n\
         [webhooks]\ndispatcher = {dispatcher}\nallowed_networks = [\"127.0.0.0/8\"]\n\
         [notifications]\nenabled = false\n",
    );
    let rest: String = crate::DEMO_CONFIG
        .split("\n[[locations]]")
        .skip(1)
        .fold(String::new(), |acc, part| acc + "\n[[locations]]" + part);
    std::fs::write(&path, format!("{overrides}{rest}"))?;
    Ok(path)
}

pub async fn webhooks(args: WebhookArgs) -> anyhow::Result<()> {
    if args.orders == 0 || args.endpoints == 0 || args.concurrency == 0 {
        bail!("orders, endpoints and concurrency must be at least 1");
    }
    let dir = tempfile::tempdir().context("cannot create a temporary directory")?;
    let db_url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let off = phase_config(dir.path(), &db_url, false)?;
    let on = phase_config(dir.path(), &db_url, true)?;
    let (key, skus) = seed(Config::load(Some(&off), None)?).await?;
    let seen = Arc::new(Seen::default());
    let endpoints = receivers(args.endpoints, seen.clone()).await?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .build()?;
    let load = |prefix| Load {
        orders: args.orders,
        concurrency: args.concurrency,
        lines: 3,
        card: false,
        prefix,
    };
    println!(
        "{} orders per phase, {} concurrent clients, {} endpoints subscribed to every event (SQLite, synchronous=full)",
        args.orders, args.concurrency, args.endpoints
    );

    // Phase 1: the baseline, and the subscriptions (made while nothing is delivered).
    let port = free_port()?;
    let mut server = start_server(&off, port, &client).await?;
    let base = format!("http://127.0.0.1:{port}/api/v1");
    for url in &endpoints {
        let res = client
            .post(format!("{base}/webhook-subscriptions"))
            .bearer_auth(&key)
            .json(&serde_json::json!({"url": url, "event_types": ["*"]}))
            .send()
            .await?;
        if res.status().as_u16() != 201 {
            bail!("subscribing {url}: {} {}", res.status(), res.text().await?);
        }
    }
    let (_, _, e_backlog) = drive(
        &client,
        &[format!("{base}/orders")],
        &key,
        &skus,
        &load("backlog"),
    )
    .await?;
    stop(&mut server).await;
    let backlog_orders = args.orders - e_backlog;

    // Phase 3 first in time: drain what phase 1 queued, with no capture running.
    let port = free_port()?;
    let began = Instant::now();
    let mut server = start_server(&on, port, &client).await?;
    let drained = wait_quiet(&seen, Duration::from_secs(2), Duration::from_secs(600)).await;
    let drain_time = began.elapsed().saturating_sub(Duration::from_secs(2));
    if let Ok(mut l) = seen.latencies_ms.lock() {
        l.clear();
    }
    stop(&mut server).await;
    let before = seen.count.load(Ordering::Relaxed);

    // Phase 2: capture while delivering.
    let port = free_port()?;
    let mut server = start_server(&on, port, &client).await?;
    let base = format!("http://127.0.0.1:{port}/api/v1");
    let (t_on, _, e_on) = drive(
        &client,
        &[format!("{base}/orders")],
        &key,
        &skus,
        &load("on"),
    )
    .await?;
    let during_capture = seen.count.load(Ordering::Relaxed) - before;
    wait_quiet(&seen, Duration::from_secs(2), Duration::from_secs(600)).await;
    stop(&mut server).await;
    let delivered_live = seen.count.load(Ordering::Relaxed) - before;

    // Phase 4: the baseline, with nothing delivering.
    let port = free_port()?;
    let mut server = start_server(&off, port, &client).await?;
    let orders = format!("http://127.0.0.1:{port}/api/v1/orders");
    let (t_off, _, e_off) = drive(&client, &[orders], &key, &skus, &load("off")).await?;
    stop(&mut server).await;
    let mut latencies = seen
        .latencies_ms
        .lock()
        .map(|l| l.clone())
        .unwrap_or_default();
    latencies.sort_unstable();
    let us: Vec<u64> = latencies.iter().map(|ms| ms * 1000).collect();

    let rate = |n: usize, t: Duration| n as f64 / t.as_secs_f64();
    let off_rate = rate(args.orders - e_off, t_off);
    let on_rate = rate(args.orders - e_on, t_on);
    println!(
        "backlog:            {drained} deliveries of {backlog_orders} orders drained in {:.2} s: {:.0} deliveries/s",
        drain_time.as_secs_f64(),
        rate(drained, drain_time)
    );
    println!("capture, no delivery: {off_rate:.0} orders/s ({e_off} failed)");
    println!(
        "capture, delivering:  {on_rate:.0} orders/s ({e_on} failed): {:+.1} %",
        (on_rate / off_rate - 1.0) * 100.0
    );
    println!(
        "live deliveries:    {delivered_live} ({during_capture} while capturing); commit to receipt ms p50 {:.0}  p99 {:.0}  max {:.0}",
        percentile(&us, 0.50),
        percentile(&us, 0.99),
        percentile(&us, 1.0)
    );
    println!("orderly check:");
    let config = Config::load(Some(&off), None)?;
    crate::maintenance::check_and_report(&config.database).await?;
    Ok(())
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Waits until no request arrived for `quiet` (or `limit` passed); returns how many
/// arrived meanwhile.
async fn wait_quiet(seen: &Seen, quiet: Duration, limit: Duration) -> usize {
    let start = seen.count.load(Ordering::Relaxed);
    let began = Instant::now();
    let mut last = start;
    let mut still = Instant::now();
    while began.elapsed() < limit {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = seen.count.load(Ordering::Relaxed);
        if now != last {
            last = now;
            still = Instant::now();
        } else if still.elapsed() >= quiet && now > start {
            break;
        }
    }
    last - start
}

async fn stop(server: &mut tokio::process::Child) {
    if let Some(pid) = server.id() {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status();
    }
    let _ = tokio::time::timeout(Duration::from_secs(20), server.wait()).await;
}
