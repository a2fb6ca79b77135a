//! Building and running the server, callable from tests: `Application::build` binds the
//! listener (port 0 in tests) and opens the store; `run_until` serves until the shutdown
//! future resolves, finishes in-flight requests, then stops the writer cleanly.

use crate::app::clock::{Clock, SystemClock, UuidV7Ids};
use crate::app::{App, AppState};
use crate::config::{Config, DatabaseConfig, DatabaseTarget};
use crate::http;
use anyhow::Context;
use orderly_domain::kpi::KpiRules;
use orderly_store::{PgOptions, SqliteOptions, Store, Synchronous};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;

pub struct Application {
    listener: TcpListener,
    /// `metrics.listen`'s listener, when the metrics have an address of their own.
    metrics: Option<TcpListener>,
    app: AppState,
}

/// Opens (and migrates) the store the configuration names.
/// `kpi` is what the KPI counters every append keeps need (`Config::kpi_rules`).
pub async fn open_store(db: &DatabaseConfig, kpi: Arc<KpiRules>) -> anyhow::Result<Store> {
    match DatabaseTarget::parse(&db.url)? {
        DatabaseTarget::Sqlite(path) => {
            let mut options = SqliteOptions::new(&path);
            options.synchronous = if db.synchronous == "normal" {
                Synchronous::Normal
            } else {
                Synchronous::Full
            };
            options.read_connections = db.read_connections;
            if !db.group_commit {
                options.max_batch = 1;
            }
            options.kpi = kpi;
            Store::open_sqlite(&options)
                .with_context(|| format!("cannot open database {}", path.display()))
        }
        DatabaseTarget::Postgres(url) => {
            let options = PgOptions {
                url,
                pool_size: db.pool_size,
                statement_timeout_ms: db.statement_timeout_ms,
                synchronous_commit: db.synchronous_commit.clone(),
                connect_timeout_ms: db.connect_timeout_ms,
                group_commit: db.group_commit,
                kpi,
            };
            Store::open_postgres(&options)
                .await
                .context("cannot open the PostgreSQL database")
        }
    }
}

impl Application {
    /// The server on the system clock.
    pub async fn build(config: Config) -> anyhow::Result<Application> {
        Application::build_with_clock(config, Arc::new(SystemClock)).await
    }

    /// The server reading time from `clock` (tests pass a `ManualClock` they advance).
    pub async fn build_with_clock(
        config: Config,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Application> {
        let store = open_store(&config.database, config.kpi_rules()?).await?;
        let channels: Vec<String> = config.channels.iter().map(|c| c.id.clone()).collect();
        store
            .prepare_channels(&channels)
            .await
            .context("cannot prepare order numbering")?;
        let listener = TcpListener::bind(&config.server.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.server.listen))?;
        let metrics = match &config.metrics.listen {
            Some(addr) => Some(
                TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("cannot listen on {addr} (metrics.listen)"))?,
            ),
            None => None,
        };
        Ok(Application {
            listener,
            metrics,
            app: Arc::new(App::with_time(store, config, clock, Arc::new(UuidV7Ids))?),
        })
    }

    pub fn local_addr(&self) -> anyhow::Result<SocketAddr> {
        Ok(self.listener.local_addr()?)
    }

    /// Where `/metrics` is served without authentication, if `metrics.listen` is set.
    pub fn metrics_addr(&self) -> anyhow::Result<Option<SocketAddr>> {
        Ok(self.metrics.as_ref().map(|l| l.local_addr()).transpose()?)
    }

    pub fn state(&self) -> AppState {
        self.app.clone()
    }

    /// Serves until `shutdown` resolves; in-flight requests then get
    /// `shutdown_grace_seconds` to finish, and connections still open after that are
    /// dropped rather than holding the exit (`http/serve.rs`).
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let router = http::router(self.app.clone());
        let metrics = self.metrics.map(|listener| {
            let routes = axum::Router::new()
                .route(
                    "/metrics",
                    axum::routing::get(crate::system::http::metrics_open),
                )
                .with_state(self.app.clone());
            tokio::spawn(async move {
                if let Err(e) = axum::serve(listener, routes).await {
                    tracing::error!(error = %e, "the metrics listener stopped");
                }
            })
        });
        let housekeeping = tokio::spawn(purge_idempotency_keys(self.app.clone()));
        let interval =
            std::time::Duration::from_millis(self.app.config.payments.worker_interval_ms);
        let timers = tokio::spawn(crate::workers::timers::run(self.app.clone(), interval));
        let idle = std::time::Duration::from_millis(self.app.config.webhooks.poll_interval_ms);
        let dispatcher = self
            .app
            .config
            .webhooks
            .dispatcher
            .then(|| tokio::spawn(crate::workers::dispatcher::run(self.app.clone(), idle)));
        let grace = std::time::Duration::from_secs(self.app.config.server.shutdown_grace_seconds);
        let limits = http::serve::ConnectionLimits::from_config(&self.app.config.server);
        http::serve::serve(self.listener, router, limits, shutdown, grace).await;
        housekeeping.abort();
        timers.abort();
        if let Some(m) = metrics {
            m.abort();
        }
        if let Some(d) = dispatcher {
            d.abort();
        }
        self.app.store.shutdown();
        Ok(())
    }
}

/// Once an hour, deletes expired idempotency records (kept for the configured
/// retention, at least 24 hours) and done work (`purge_done_work`), so those tables do
/// not grow without bound, and checks stock against its reorder points
/// (`App::check_low_stock`).
async fn purge_idempotency_keys(app: AppState) {
    let mut every_hour = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        every_hour.tick().await;
        let now = app.now();
        let purged = app.store.write(move |tx| tx.purge_idempotency(now)).await;
        match purged {
            Ok(n) if n > 0 => tracing::info!(purged = n, "expired idempotency keys removed"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "idempotency purge failed"),
        }
        match purge_done_work(&app).await {
            Ok((0, 0)) => {}
            Ok((messages, timers)) => {
                tracing::info!(
                    messages,
                    timers,
                    "delivered outbox messages and fired timers removed"
                );
            }
            Err(e) => tracing::warn!(error = %e, "done-work purge failed"),
        }
        match app.check_low_stock().await {
            Ok((0, 0)) => {}
            Ok((opened, resolved)) => {
                tracing::info!(opened, resolved, "low-stock entries checked");
            }
            Err(e) => tracing::warn!(error = %e, "low-stock check failed"),
        }
    }
}

/// Rows deleted by one round of `purge_done_work`: small enough not to hold the SQLite
/// writer long.
const PURGE_ROUND: u32 = 5_000;

/// Deletes the outbox messages delivered and the timers fired longer ago than
/// `database.done_work_retention_hours`, a bounded round at a time in the background
/// share of the writer; returns (messages, timers) deleted.
pub async fn purge_done_work(app: &AppState) -> anyhow::Result<(u64, u64)> {
    let hours = i64::from(app.config.database.done_work_retention_hours);
    let before = app.now() - jiff::SignedDuration::from_hours(hours);
    let mut total = (0, 0);
    loop {
        let (messages, timers) = app
            .store
            .write_background(move |tx| tx.purge_done(before, PURGE_ROUND))
            .await?;
        total = (total.0 + messages, total.1 + timers);
        if messages < u64::from(PURGE_ROUND) && timers < u64::from(PURGE_ROUND) {
            return Ok(total);
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
