//! `orderly bench support`: what support and operations read, timed over HTTP on a
//! database `orderly seed` filled: the order view, the customer view, searches by
//! email, phone and tracking number, every exception queue's first page with the
//! queues' counts, and the case queues. Each is asked `--requests` times (objects picked
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

/// One endpoint's paths, asked in turn.
struct Probe {
    name: &'static str,
    paths: Vec<String>,
}

fn probes(args: &SupportArgs, orders: &[String]) -> Vec<Probe> {
    let n = args.requests;
    let pick = |k: usize, over: usize| (k.wrapping_mul(7919) + 13) % over.max(1);
    let customer = |k: usize| pick(k, args.customers);
    let mut out = vec![
        Probe {
            name: "order view",
            paths: (0..n)
                .map(|k| format!("/orders/{}", orders[k % orders.len()]))
                .collect(),
        },
        Probe {
            name: "order support view",
            paths: (0..n)
                .map(|k| format!("/orders/{}/support", orders[k % orders.len()]))
                .collect(),
        },
        Probe {
            name: "customer view",
            paths: (0..n)
                .map(|k| format!("/customers/customer{}%40example.com", customer(k)))
                .collect(),
        },
        Probe {
            name: "orders by email",
            paths: (0..n)
                .map(|k| format!("/orders?email=customer{}%40example.com", customer(k)))
                .collect(),
        },
        Probe {
            name: "customers by email",
            paths: (0..n)
                .map(|k| format!("/customers?email=customer{}%40", customer(k)))
                .collect(),
        },
        Probe {
            name: "customers by phone",
            paths: (0..n)
                .map(|k| format!("/customers?phone={:07}", customer(k)))
                .collect(),
        },
        Probe {
            name: "orders by tracking number",
            paths: (0..n)
                .map(|k| format!("/orders?tracking_number=SEED{:08}0", pick(k, args.orders)))
                .collect(),
        },
        Probe {
            name: "exception board",
            paths: vec!["/exceptions?limit=50".to_owned(); n],
        },
    ];
    for queue in orderly_domain::order::exceptions::queue::ALL {
        out.push(Probe {
            name: queue,
            paths: vec![format!("/exceptions/{queue}?limit=50"); n],
        });
    }
    for queue in ["unassigned", "breached", "all"] {
        out.push(Probe {
            name: match queue {
                "unassigned" => "cases: unassigned",
                "breached" => "cases: breached",
                _ => "cases: all",
            },
            paths: vec![format!("/cases?queue={queue}&limit=50"); n],
        });
    }
    out
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
    let base = format!("http://{addr}/api/v1");
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
    for probe in probes(&args, &orders) {
        let mut us = Vec::with_capacity(probe.paths.len());
        let mut errors = 0;
        for path in &probe.paths {
            let began = Instant::now();
            let res = client
                .get(format!("{base}{path}"))
                .header("authorization", &auth)
                .send()
                .await
                .with_context(|| format!("GET {path}"))?;
            let ok = res.status().is_success();
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
