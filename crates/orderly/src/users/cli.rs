//! `orderly users create|list|disable|reset-password`: the user commands run by the
//! system on this machine (whoever can run the binary on the database is its operator).

use super::commands::NewUser;
use crate::app::App;
use crate::app::error::AppError;
use anyhow::Context;
use clap::Subcommand;
use orderly_domain::actor::{Actor, Role};

#[derive(Debug, Subcommand)]
pub enum UsersAction {
    /// Create a console user and print their password (shown once).
    Create {
        #[command(flatten)]
        common: crate::cli::common::Common,
        #[arg(long)]
        username: String,
        /// The name people see on the timeline (default: the username).
        #[arg(long)]
        name: Option<String>,
        /// admin, supervisor, support, warehouse or finance.
        #[arg(long)]
        role: String,
        /// The IANA zone the user reads times in (default: the business calendar's).
        #[arg(long)]
        time_zone: Option<String>,
        /// Read the password from the first line of stdin instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List every user with role and state (never their passwords).
    List {
        #[command(flatten)]
        common: crate::cli::common::Common,
    },
    /// Disable a user: their sessions end at once and they cannot sign in.
    Disable {
        #[command(flatten)]
        common: crate::cli::common::Common,
        username: String,
    },
    /// A new password (generated and printed, or from stdin): lifts a lockout,
    /// re-enables the account and ends its sessions.
    ResetPassword {
        #[command(flatten)]
        common: crate::cli::common::Common,
        username: String,
        #[arg(long)]
        password_stdin: bool,
    },
}

impl UsersAction {
    pub fn common(&self) -> &crate::cli::common::Common {
        match self {
            UsersAction::Create { common, .. }
            | UsersAction::List { common }
            | UsersAction::Disable { common, .. }
            | UsersAction::ResetPassword { common, .. } => common,
        }
    }
}

fn stdin_password(wanted: bool) -> anyhow::Result<Option<String>> {
    if !wanted {
        return Ok(None);
    }
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .context("reading the password from stdin")?;
    Ok(Some(line.trim_end_matches(['\r', '\n']).to_owned()))
}

pub async fn run(app: &App, action: UsersAction) -> anyhow::Result<()> {
    let cli = Actor::system("cli");
    match action {
        UsersAction::Create {
            username,
            name,
            role,
            time_zone,
            password_stdin,
            ..
        } => {
            let role = Role::parse(&role).with_context(|| format!("unknown role {role}"))?;
            let new = NewUser {
                display_name: name.unwrap_or_else(|| username.clone()),
                username,
                role,
                password: stdin_password(password_stdin)?,
                time_zone,
            };
            let given = new.password.is_some();
            let made = app
                .create_user(&cli, new)
                .await
                .map_err(AppError::explain)?;
            println!(
                "created {} user {} ({})",
                made.user.role.as_str(),
                made.user.username,
                made.user.id
            );
            if !given {
                println!("password: {}", made.password);
            }
        }
        UsersAction::List { .. } => {
            let now = app.now();
            println!(
                "{:<24} {:<28} {:<11} {:<20} state",
                "username", "name", "role", "time zone"
            );
            for u in app.users(&cli).await.map_err(AppError::explain)? {
                let state = match (u.disabled_at, u.locked_until) {
                    (Some(_), _) => "disabled".to_owned(),
                    (None, Some(until)) if until > now => {
                        format!("locked until {}", orderly_domain::time::rfc3339(until))
                    }
                    _ => "active".to_owned(),
                };
                println!(
                    "{:<24} {:<28} {:<11} {:<20} {state}",
                    u.username,
                    u.display_name,
                    u.role.as_str(),
                    u.time_zone.as_deref().unwrap_or("(calendar)"),
                );
            }
        }
        UsersAction::Disable { username, .. } => {
            let u = app
                .disable_user(&cli, &username)
                .await
                .map_err(AppError::explain)?;
            println!("disabled user {}; their sessions have ended", u.username);
        }
        UsersAction::ResetPassword {
            username,
            password_stdin,
            ..
        } => {
            let given = stdin_password(password_stdin)?;
            let shown = given.is_none();
            let made = app
                .reset_password(&cli, &username, given)
                .await
                .map_err(AppError::explain)?;
            println!(
                "new password set for {}; their sessions have ended",
                made.user.username
            );
            if shown {
                println!("password: {}", made.password);
            }
        }
    }
    Ok(())
}
