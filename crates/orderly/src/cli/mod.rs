//! Command-line entry points: serve, migrate, check, keys, returns, bench.

use crate::config::{Config, DatabaseConfig, DatabaseTarget, LogFormat};
use crate::startup::{Application, shutdown_signal};
use anyhow::Context;
use clap::{Parser, Subcommand};

pub mod common;
pub use common::Common;
use orderly_domain::actor::Role;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(name = "orderly", version, about = "Orderly order management system")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API.
    Serve {
        #[command(flatten)]
        common: Common,
        /// Address to listen on, e.g. 127.0.0.1:8080 (overrides server.listen).
        #[arg(long)]
        listen: Option<String>,
        /// Run with the built-in demo configuration, catalog, stock and orders.
        #[arg(long)]
        demo: bool,
    },
    /// Apply database migrations.
    Migrate {
        #[command(flatten)]
        common: Common,
    },
    /// Verify the stored invariants; exits non-zero naming each violation.
    Check {
        #[command(flatten)]
        common: Common,
    },
    /// Copy a live SQLite database consistently (the server may keep running).
    Backup {
        #[command(flatten)]
        common: Common,
        /// The new file to write; it must not exist.
        #[arg(long)]
        to: PathBuf,
    },
    /// Manage API keys.
    Keys {
        #[command(subcommand)]
        action: KeysAction,
    },
    /// Manage console users (people who sign in to /console).
    Users {
        #[command(subcommand)]
        action: crate::users::cli::UsersAction,
    },
    /// Returns: replay past requests under a draft policy (`returns backtest`).
    Returns {
        #[command(subcommand)]
        action: ReturnsAction,
    },
    /// Operations reports.
    Report {
        #[command(subcommand)]
        action: ReportAction,
    },
    /// The operations KPIs' counters.
    Kpis {
        #[command(subcommand)]
        action: KpisAction,
    },
    /// Fill a database with a year of realistic history (the demo's catalog and
    /// configuration unless --config names another).
    Seed {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        args: crate::seed::SeedArgs,
    },
    /// Benchmarks that print figures.
    Bench {
        #[command(subcommand)]
        which: BenchKind,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysAction {
    /// Create a key and print it (shown once).
    Create {
        #[command(flatten)]
        common: Common,
        /// admin, support, supervisor, warehouse, finance or integration.
        #[arg(long)]
        role: String,
        #[arg(long, default_value = "cli")]
        name: String,
        /// Bind the key to a channel (repeat for several): it sees and acts on only
        /// their orders. Without --config the demo's channels are the ones known.
        #[arg(long = "channel")]
        channels: Vec<String>,
        /// The key stops working after this many days.
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
    /// List every key (never their secrets).
    List {
        #[command(flatten)]
        common: Common,
    },
    /// Revoke a key now: it fails at once on every process sharing the database.
    Revoke {
        #[command(flatten)]
        common: Common,
        id: String,
    },
    /// A new secret for a key (same role, name and channels); the old one ends now, or
    /// after --grace-minutes.
    Rotate {
        #[command(flatten)]
        common: Common,
        id: String,
        #[arg(long, default_value_t = 0)]
        grace_minutes: u32,
    },
}

#[derive(Debug, Subcommand)]
pub enum ReturnsAction {
    /// Replay every return request recorded since a time under a draft policy version
    /// and print what would change; writes nothing.
    Backtest {
        #[command(flatten)]
        common: Common,
        /// The draft: one policy version as TOML, the keys of one [[returns.policies]]
        /// entry as a top-level table.
        #[arg(long)]
        policy: PathBuf,
        /// From when: a span back from now (7d, 24h, 30d) or an RFC 3339 time.
        #[arg(long, default_value = "30d")]
        since: String,
        /// `text` for a person, `json` for the report as the API gives it.
        #[arg(long, default_value = "text", value_parser = ["text", "json"])]
        format: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ReportAction {
    /// The weekly operations review: every KPI of one week (Monday to Sunday in the
    /// business calendar's zone) beside the week before, with its benchmark.
    Weekly {
        #[command(flatten)]
        common: Common,
        /// A date in the week (YYYY-MM-DD); default: the last complete week.
        #[arg(long)]
        week: Option<String>,
        /// `csv` for a spreadsheet, `html` for a page with eight-week trend charts.
        #[arg(long, default_value = "html", value_parser = ["csv", "html"])]
        format: String,
        /// Where to write it; default: standard output.
        #[arg(long)]
        output: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum KpisAction {
    /// Recompute every KPI counter from the event log and replace the kept ones (they
    /// are kept as events commit; this is for a database that had none, or a check).
    Rebuild {
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Debug, Subcommand)]
pub enum BenchKind {
    /// Capture orders over HTTP against a server on a fresh temporary database.
    Capture(crate::bench::CaptureArgs),
    /// Webhook deliveries to local receivers: deliveries/s, commit-to-receipt latency,
    /// and capture throughput with and without delivery running.
    Webhooks(crate::bench_webhooks::WebhookArgs),
    /// What support reads (order, customer, searches, queues), timed over HTTP on a
    /// database `orderly seed` filled.
    Support(crate::bench_support::SupportArgs),
}

/// Starts logging to stderr before the command runs: the filter from `ORDERLY_LOG`
/// (default `info`; `orderly check` quiets the migration runner to warnings, so its
/// report stands alone), the format from `log.format` in the command's configuration
/// or `ORDERLY_LOG__FORMAT`, and colour only when stderr is a terminal, so log files
/// and pipes carry no escape codes.
pub fn init_tracing(cli: &Cli) {
    use std::io::IsTerminal;
    let (common, demo, default_filter) = match &cli.command {
        Command::Serve { common, demo, .. } => (Some(common), *demo, "info"),
        Command::Check { common } => (Some(common), false, "info,refinery_core=warn"),
        Command::Migrate { common } | Command::Backup { common, .. } => {
            (Some(common), false, "info")
        }
        Command::Keys {
            action:
                KeysAction::Create { common, .. }
                | KeysAction::List { common }
                | KeysAction::Revoke { common, .. }
                | KeysAction::Rotate { common, .. },
        } => (Some(common), false, "info"),
        Command::Returns {
            action: ReturnsAction::Backtest { common, .. },
        } => (Some(common), false, "warn"),
        Command::Users { action } => (Some(action.common()), false, "warn"),
        Command::Kpis {
            action: KpisAction::Rebuild { common },
        }
        | Command::Report {
            action: ReportAction::Weekly { common, .. },
        } => (Some(common), false, "warn"),
        Command::Seed { common, .. } => (Some(common), common.config.is_none(), "warn"),
        Command::Bench { .. } => (None, false, "info"),
    };
    let config_path = common.and_then(|c| c.config.as_deref());
    let log = crate::config::log_config(config_path, demo.then_some(crate::DEMO_CONFIG));
    let filter = tracing_subscriber::EnvFilter::try_from_env("ORDERLY_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let _ = match log.format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// The configuration for `serve`: the demo's, a file's, or an error saying which is missing.
fn serve_config(common: &Common, listen: Option<String>, demo: bool) -> anyhow::Result<Config> {
    if !demo && common.config.is_none() {
        anyhow::bail!("no configuration: pass --config FILE (or set ORDERLY_CONFIG), or --demo");
    }
    let mut config = Config::load(common.config.as_deref(), demo.then_some(crate::DEMO_CONFIG))?;
    if let Some(db) = &common.database {
        DatabaseTarget::parse(db)?;
        config.database.url = db.clone();
    }
    if let Some(listen) = listen {
        config.server.listen = listen;
    }
    Ok(config)
}

/// The database settings for maintenance commands: the configuration file's (when
/// given) with `--database` overriding its URL, else the defaults.
fn database_config(common: &Common) -> anyhow::Result<DatabaseConfig> {
    let mut db = match &common.config {
        Some(path) => Config::load(Some(path), None)?.database,
        None => DatabaseConfig::default(),
    };
    if let Some(url) = &common.database {
        DatabaseTarget::parse(url)?;
        db.url = url.clone();
    }
    Ok(db)
}

/// The demo's database, as `serve --demo` creates it (`crates/orderly/demo/orderly.toml`).
pub const DEMO_DATABASE_URL: &str = "sqlite://data/demo.db";

/// The database for a command that works on an existing one (`check`, `backup`, `keys`).
/// Named by `--config` or `--database`, it is that one. Named by neither, it is the
/// default `data/orderly.db` when that file exists, else the demo's `data/demo.db` when
/// that one does (so `orderly check` right after `serve --demo` checks the demo); when
/// neither exists the error says which files were looked for and how to name another.
fn existing_database_config(common: &Common) -> anyhow::Result<DatabaseConfig> {
    let db = database_config(common)?;
    if common.config.is_some() || common.database.is_some() {
        return Ok(db);
    }
    let default_path = sqlite_path(&db.url)?;
    if default_path.exists() {
        return Ok(db);
    }
    let demo_path = sqlite_path(DEMO_DATABASE_URL)?;
    if demo_path.exists() {
        eprintln!(
            "{} does not exist; using the demo's database {}",
            default_path.display(),
            demo_path.display()
        );
        return Ok(DatabaseConfig {
            url: DEMO_DATABASE_URL.into(),
            ..db
        });
    }
    anyhow::bail!(
        "no database: neither {} (the default) nor {} (the demo's) exists in {}; \
         name one with --config FILE (its database.url) or --database URL \
         (sqlite://PATH or postgres://USER@HOST:PORT/DB)",
        default_path.display(),
        demo_path.display(),
        std::env::current_dir()
            .map(|d| d.display().to_string())
            .unwrap_or_else(|_| "the current directory".into())
    )
}

/// The file a SQLite URL names; the defaults this is used on are always SQLite.
fn sqlite_path(url: &str) -> anyhow::Result<PathBuf> {
    match DatabaseTarget::parse(url)? {
        DatabaseTarget::Sqlite(path) => Ok(path),
        DatabaseTarget::Postgres(_) => anyhow::bail!("{url} is not a SQLite database"),
    }
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve {
            common,
            listen,
            demo,
        } => {
            let config = serve_config(&common, listen, demo)?;
            runtime()?.block_on(serve(config, demo))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate { common } => {
            let db = database_config(&common)?;
            runtime()?.block_on(async {
                // Migrating writes no events.
                crate::maintenance::open_existing(&db, true, Default::default())
                    .await?
                    .shutdown();
                anyhow::Ok(())
            })?;
            println!("{}: schema is up to date", db.url);
            Ok(ExitCode::SUCCESS)
        }
        Command::Check { common } => check(&existing_database_config(&common)?),
        Command::Backup { common, to } => {
            backup(&existing_database_config(&common)?, &to)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Keys { action } => {
            runtime()?.block_on(keys(action))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Users { action } => {
            runtime()?.block_on(async {
                let app = operator_app(action.common()).await?;
                let result = crate::users::cli::run(&app, action).await;
                app.store.shutdown();
                result
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Returns {
            action:
                ReturnsAction::Backtest {
                    common,
                    policy,
                    since,
                    format,
                },
        } => runtime()?.block_on(backtest(common, policy, since, format)),
        Command::Kpis {
            action: KpisAction::Rebuild { common },
        } => runtime()?.block_on(rebuild_kpis(common)),
        Command::Report {
            action:
                ReportAction::Weekly {
                    common,
                    week,
                    format,
                    output,
                },
        } => runtime()?.block_on(weekly_report(common, week, format, output)),
        Command::Seed { common, args } => {
            runtime()?.block_on(seed(common, args))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench {
            which: BenchKind::Capture(args),
        } => {
            runtime()?.block_on(crate::bench::capture(args))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench {
            which: BenchKind::Webhooks(args),
        } => {
            runtime()?.block_on(crate::bench_webhooks::webhooks(args))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Bench {
            which: BenchKind::Support(args),
        } => {
            runtime()?.block_on(crate::bench_support::support(args))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The database `orderly seed` fills when none is named.
const SEED_DATABASE_URL: &str = "sqlite://data/seed.db";

/// `orderly seed`: an application on the named database (the demo's configuration
/// unless --config names another), filled by `App::seed`.
async fn seed(common: Common, args: crate::seed::SeedArgs) -> anyhow::Result<()> {
    let demo = common.config.is_none();
    let mut config = Config::load(common.config.as_deref(), demo.then_some(crate::DEMO_CONFIG))?;
    config.database.url = common
        .database
        .clone()
        .unwrap_or_else(|| SEED_DATABASE_URL.to_owned());
    DatabaseTarget::parse(&config.database.url)?;
    config.server.listen = "127.0.0.1:0".into();
    let url = config.database.url.clone();
    let app = Application::build(config).await?;
    app.state().seed(&args).await?;
    println!("database: {url}");
    Ok(())
}

/// `orderly keys …`: the same application commands the `/api-keys` routes run, by the
/// system on this machine (whoever can run the binary on the database is its operator).
async fn keys(action: KeysAction) -> anyhow::Result<()> {
    let common = match &action {
        KeysAction::Create { common, .. }
        | KeysAction::List { common }
        | KeysAction::Revoke { common, .. }
        | KeysAction::Rotate { common, .. } => common.clone(),
    };
    let app = operator_app(&common).await?;
    let result = key_action(&app, action).await;
    app.store.shutdown();
    result
}

/// The application on an existing database, for a command the operator runs (keys,
/// users): the configuration named, or the demo's.
async fn operator_app(common: &Common) -> anyhow::Result<crate::app::App> {
    let mut config = Config::load(
        common.config.as_deref(),
        common.config.is_none().then_some(crate::DEMO_CONFIG),
    )?;
    config.database = existing_database_config(common)?;
    let store =
        crate::maintenance::open_existing(&config.database, true, config.kpi_rules()?).await?;
    crate::app::App::new(store, config)
}

async fn key_action(app: &crate::app::App, action: KeysAction) -> anyhow::Result<()> {
    use crate::app::auth::KeySpec;
    let cli = orderly_domain::actor::Actor::system("cli");
    match action {
        KeysAction::Create {
            role,
            name,
            channels,
            expires_in_days,
            ..
        } => {
            let role = Role::parse(&role).with_context(|| format!("unknown role {role}"))?;
            let expires_at = expires_in_days
                .map(|d| {
                    app.now()
                        .checked_add(jiff::SignedDuration::from_hours(i64::from(d) * 24))
                })
                .transpose()
                .context("expiry out of range")?;
            let spec = KeySpec {
                role,
                name,
                channels: (!channels.is_empty()).then_some(channels),
                expires_at,
            };
            let new = app
                .create_key(&cli, spec)
                .await
                .map_err(crate::app::error::AppError::explain)?;
            println!(
                "created {} key {}\n{}",
                role.as_str(),
                new.key.id,
                new.secret
            );
        }
        KeysAction::List { .. } => {
            let now = app.now();
            println!(
                "{:<40} {:<12} {:<24} {:<24} {:<25} state",
                "id", "role", "name", "channels", "expires"
            );
            for k in app
                .api_keys(&cli)
                .await
                .map_err(crate::app::error::AppError::explain)?
            {
                let state = match (k.revoked_at, k.is_live(now)) {
                    (Some(_), _) => "revoked",
                    (None, true) => "live",
                    (None, false) => "expired",
                };
                println!(
                    "{:<40} {:<12} {:<24} {:<24} {:<25} {state}",
                    k.id,
                    k.role.as_str(),
                    k.name,
                    k.channels.map_or_else(|| "all".to_owned(), |c| c.join(",")),
                    k.expires_at
                        .map_or_else(|| "never".to_owned(), orderly_domain::time::rfc3339),
                );
            }
        }
        KeysAction::Revoke { id, .. } => {
            let k = app
                .revoke_key(&cli, id)
                .await
                .map_err(crate::app::error::AppError::explain)?;
            println!("revoked key {}", k.id);
        }
        KeysAction::Rotate {
            id, grace_minutes, ..
        } => {
            let grace = (grace_minutes > 0)
                .then(|| jiff::SignedDuration::from_mins(i64::from(grace_minutes)));
            let new = app
                .rotate_key(&cli, id.clone(), grace)
                .await
                .map_err(crate::app::error::AppError::explain)?;
            let ends = if grace_minutes > 0 {
                format!("in {grace_minutes} minutes")
            } else {
                "now".to_owned()
            };
            println!(
                "rotated key {id} (it ends {ends}); new key {}\n{}",
                new.key.id, new.secret
            );
        }
    }
    Ok(())
}

/// `orderly report weekly`: the weekly review of the database's KPIs.
async fn weekly_report(
    common: Common,
    week: Option<String>,
    format: String,
    output: Option<PathBuf>,
) -> anyhow::Result<ExitCode> {
    use crate::kpis::weekly;
    let app = existing_app(&common).await?;
    let zone = app.config.calendar.time_zone.clone();
    let rules = app.config.kpi_rules()?;
    let day = match week {
        Some(w) => w
            .parse::<jiff::civil::Date>()
            .with_context(|| format!("--week {w:?} is not a date (YYYY-MM-DD)"))?,
        // The last complete week: the one before this week.
        None => rules
            .day(app.now())
            .checked_sub(jiff::Span::new().days(7))?,
    };
    let monday = weekly::monday_of(day);
    let lines = weekly::review(&app, monday).await;
    app.store.shutdown();
    let lines = lines?;
    let text = match format.as_str() {
        "csv" => weekly::csv(&lines)?,
        _ => weekly::html(&lines, monday, &zone)?,
    };
    match output {
        Some(path) => std::fs::write(&path, text)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => print!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}

/// The application over an existing database, for a maintenance command: the
/// configuration `--config` names (the demo's without one), the database `--database`
/// names.
async fn existing_app(common: &Common) -> anyhow::Result<crate::app::App> {
    let mut config = Config::load(
        common.config.as_deref(),
        common.config.is_none().then_some(crate::DEMO_CONFIG),
    )?;
    config.database = existing_database_config(common)?;
    let store =
        crate::maintenance::open_existing(&config.database, false, config.kpi_rules()?).await?;
    crate::app::App::new(store, config)
}

/// `orderly kpis rebuild`: every counter recomputed from the events and replaced.
async fn rebuild_kpis(common: Common) -> anyhow::Result<ExitCode> {
    let app = existing_app(&common).await?;
    let started = std::time::Instant::now();
    let done = app.rebuild_kpis().await;
    app.store.shutdown();
    let done = done?;
    println!(
        "rebuilt {} KPI counters and {} marks from {} events ({} orders, {} cases) in {:.1} s",
        done.rows.len(),
        done.marks.len(),
        done.events.0,
        done.orders,
        done.cases,
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

/// `orderly returns backtest`: the application's backtest, by the system on this machine
/// (whoever can run the binary on the database is its operator), on the database the
/// other maintenance commands use.
async fn backtest(
    common: Common,
    policy: PathBuf,
    since: String,
    format: String,
) -> anyhow::Result<ExitCode> {
    let app = existing_app(&common).await?;
    let result = crate::returns::backtest_cli::run(&app, &policy, &since, &format).await;
    app.store.shutdown();
    result.map(|()| ExitCode::SUCCESS)
}

async fn serve(config: Config, demo: bool) -> anyhow::Result<()> {
    let application = Application::build(config).await?;
    let addr = application.local_addr()?;
    if demo {
        crate::demo::prepare(&application.state(), addr).await?;
    }
    tracing::info!(%addr, "orderly listening");
    application.run_until(shutdown_signal()).await
}

fn check(db: &DatabaseConfig) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(crate::maintenance::check_and_report(db))
}

/// `orderly backup`: a consistent copy of a live SQLite database, taken while the server
/// keeps running (`VACUUM INTO` reads one snapshot).
fn backup(db: &DatabaseConfig, to: &std::path::Path) -> anyhow::Result<()> {
    let path = match DatabaseTarget::parse(&db.url)? {
        DatabaseTarget::Sqlite(path) => path,
        DatabaseTarget::Postgres(_) => {
            anyhow::bail!(
                "backup copies SQLite files; back up PostgreSQL with pg_dump (see the README)"
            )
        }
    };
    let path = path.as_path();
    if !path.exists() {
        anyhow::bail!("database {} does not exist", path.display());
    }
    if to.exists() {
        anyhow::bail!("{} exists; a backup never overwrites a file", to.display());
    }
    orderly_store::backup_sqlite(path, to)?;
    println!("backed up {} to {}", path.display(), to.display());
    Ok(())
}
