//! `orderly bench webhooks`: delivery throughput and what delivery costs capture. It
//! starts `--endpoints` receivers on loopback (each subscribed to every event), then on a
//! fresh SQLite database runs `orderly serve` phase after phase: capturing with the
//! dispatcher off (a backlog), draining that backlog (deliveries per second), then
//! `--rounds` rounds of capturing with the dispatcher on (capture beside delivery, and
//! the latency from an event's commit to its receipt) and off (the baseline), in
//! alternating order, because the database grows from phase to phase and a larger one
//! is slower to write to: whichever phase always came second would be measured against
//! a handicap. One round's change varies by ±10 % on this machine; the median is reported.

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
    /// Rounds of capture with and without delivery (the median change is reported).
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// `webhooks.writer_share_percent` for the servers that deliver (default: the
    /// configuration's).
    #[arg(long)]
    pub writer_share: Option<u8>,
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
    writer_share: u8,
) -> anyhow::Result<std::path::PathBuf> {
    let path = dir.join(format!("orderly-{dispatcher}.toml"));
    let overrides = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n[database]\nurl = \"{db_url}\"\nsynchronous = \"full\"\n\
         [webhooks]\ndispatcher = {dispatcher}\nwriter_share_percent = {writer_share}\nallowed_networks = [\"127.0.0.0/8\"]\n\
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
    if args.orders == 0 || args.endpoints == 0 || args.concurrency == 0 || args.rounds == 0 {
        bail!("orders, endpoints, concurrency and rounds must be at least 1");
    }
    let dir = tempfile::tempdir().context("cannot create a temporary directory")?;
    let db_url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let share = args
        .writer_share
        .unwrap_or(crate::config::WebhooksConfig::default().writer_share_percent);
    let off = phase_config(dir.path(), &db_url, false, share)?;
    let on = phase_config(dir.path(), &db_url, true, share)?;
    let (key, skus) = seed(Config::load(Some(&off), None)?).await?;
    let seen = Arc::new(Seen::default());
    let endpoints = receivers(args.endpoints, seen.clone()).await?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .build()?;
    let load = |prefix: &str| Load {
        orders: args.orders,
        concurrency: args.concurrency,
        lines: 3,
        card: false,
        prefix: prefix.to_owned(),
    };
    println!(
        "{} orders per phase, {} concurrent clients, {} endpoints subscribed to every event (SQLite, synchronous=full, writer share {} %)",
        args.orders, args.concurrency, args.endpoints, share
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

    // Then rounds of capture with the dispatcher on and off, their order alternating
    // so neither always meets the larger database; each "on" phase waits until what it
    // queued is delivered.
    let mut rounds = Vec::new();
    let mut during_capture = 0;
    for round in 0..args.rounds {
        let mut rates = [0.0; 2];
        let order = if round % 2 == 0 {
            [true, false]
        } else {
            [false, true]
        };
        for delivering in order {
            let port = free_port()?;
            let config = if delivering { &on } else { &off };
            let mut server = start_server(config, port, &client).await?;
            let orders = format!("http://127.0.0.1:{port}/api/v1/orders");
            let before = seen.count.load(Ordering::Relaxed);
            let prefix = format!("r{round}{}", if delivering { "on" } else { "off" });
            let (took, _, failed) = drive(&client, &[orders], &key, &skus, &load(&prefix)).await?;
            if delivering {
                during_capture += seen.count.load(Ordering::Relaxed) - before;
                wait_quiet(&seen, Duration::from_secs(2), Duration::from_secs(600)).await;
            }
            stop(&mut server).await;
            if failed > 0 {
                bail!("{failed} orders failed in round {}", round + 1);
            }
            rates[usize::from(delivering)] = args.orders as f64 / took.as_secs_f64();
        }
        rounds.push((rates[0], rates[1]));
    }
    let delivered_live = seen.count.load(Ordering::Relaxed) - before;
    let mut latencies = seen
        .latencies_ms
        .lock()
        .map(|l| l.clone())
        .unwrap_or_default();
    latencies.sort_unstable();
    let us: Vec<u64> = latencies.iter().map(|ms| ms * 1000).collect();

    println!(
        "backlog:            {drained} deliveries of {backlog_orders} orders drained in {:.2} s: {:.0} deliveries/s",
        drain_time.as_secs_f64(),
        drained as f64 / drain_time.as_secs_f64()
    );
    let mut changes = Vec::new();
    for (i, (off_rate, on_rate)) in rounds.iter().enumerate() {
        let change = (on_rate / off_rate - 1.0) * 100.0;
        changes.push(change);
        println!(
            "round {}: capture {off_rate:.0} orders/s without delivery, {on_rate:.0} delivering: {change:+.1} %",
            i + 1
        );
    }
    changes.sort_by(f64::total_cmp);
    println!(
        "capture while delivering, median of {} rounds: {:+.1} %",
        changes.len(),
        changes[changes.len() / 2]
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
