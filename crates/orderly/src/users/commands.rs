//! The commands on console users and sessions. Sign-in answers with a session or with
//! why not (a wrong password with the tries left, a lockout with its end, a disabled
//! account); a session is looked up on every console request and moves its idle clock
//! on at most once a minute, so a busy page costs no write.

use super::passwords;
use crate::app::App;
use crate::app::auth::{Permission, authorize, hash_key};
use crate::app::error::AppError;
use jiff::{SignedDuration, Timestamp};
use orderly_domain::actor::{Actor, Role};
use orderly_domain::order::FieldIssue;
use orderly_store::{ConsoleUserRow, SessionRow};
use rand::RngCore;

/// The roles a person may sign in with (integration is for programs).
pub const USER_ROLES: [Role; 5] = [
    Role::Admin,
    Role::Supervisor,
    Role::Support,
    Role::Warehouse,
    Role::Finance,
];

/// How long a session's idle clock may lag: it is written at most this often.
const TOUCH_EVERY: SignedDuration = SignedDuration::from_secs(60);

#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    /// `None`: a generated one, returned once.
    pub password: Option<String>,
    pub time_zone: Option<String>,
}

/// A user as created or reset, with the password to hand over (shown this once).
#[derive(Debug, Clone)]
pub struct WithPassword {
    pub user: ConsoleUserRow,
    pub password: String,
}

/// Why a sign-in was refused, for the person at the form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Unknown username or wrong password (never said which); `left` tries before a
    /// lockout, when the username exists.
    WrongCredentials {
        left: Option<u32>,
    },
    Locked {
        until: Timestamp,
    },
    Disabled,
}

/// A new session: the cookie's secret and the session's form token.
#[derive(Debug, Clone)]
pub struct Started {
    pub token: String,
    pub user: SessionUser,
}

/// The person behind a live session.
#[derive(Debug, Clone)]
pub struct SessionUser {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub time_zone: Option<String>,
    /// Every form of the session carries it.
    pub csrf_token: String,
}

impl SessionUser {
    pub fn actor(&self) -> Actor {
        Actor::User {
            id: self.id.clone(),
            role: self.role,
        }
    }

    fn of(user: &ConsoleUserRow, csrf_token: &str) -> SessionUser {
        SessionUser {
            id: user.id.clone(),
            username: user.username.clone(),
            display_name: user.display_name.clone(),
            role: user.role,
            time_zone: user.time_zone.clone(),
            csrf_token: csrf_token.to_owned(),
        }
    }
}

fn secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// A username is 1-64 characters of lower-case letters, digits and `.-_@`; it is
/// compared as typed after trimming and lower-casing.
pub fn normalise_username(name: &str) -> String {
    name.trim().to_lowercase()
}

fn check_new(new: &NewUser) -> Vec<FieldIssue> {
    let mut issues = Vec::new();
    let name = &new.username;
    if name.is_empty()
        || name.len() > 64
        || !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || ".-_@".contains(c))
    {
        issues.push(FieldIssue::new(
            "username",
            "invalid_username",
            "a username is 1-64 characters: a-z, 0-9 and . - _ @",
        ));
    }
    let display = new.display_name.trim();
    if display.is_empty() || display.chars().count() > 100 || display.chars().any(char::is_control)
    {
        issues.push(FieldIssue::new(
            "display_name",
            "invalid_length",
            "a name is 1-100 characters, without control characters",
        ));
    }
    if !USER_ROLES.contains(&new.role) {
        issues.push(FieldIssue::new(
            "role",
            "not_a_user_role",
            "console users are admin, supervisor, support, warehouse or finance",
        ));
    }
    if let Some(p) = &new.password {
        issues.extend(password_issue(p));
    }
    if let Some(tz) = &new.time_zone
        && jiff::tz::TimeZone::get(tz).is_err()
    {
        issues.push(FieldIssue::new(
            "time_zone",
            "unknown_time_zone",
            "not an IANA time zone (such as America/Chicago)",
        ));
    }
    issues
}

fn password_issue(p: &str) -> Option<FieldIssue> {
    let n = p.chars().count();
    (!(passwords::MIN_LENGTH..=passwords::MAX_LENGTH).contains(&n)).then(|| {
        FieldIssue::new(
            "password",
            "invalid_length",
            format!(
                "a password is {} to {} characters",
                passwords::MIN_LENGTH,
                passwords::MAX_LENGTH
            ),
        )
    })
}

impl App {
    /// A new console user, if `actor` may manage users.
    pub async fn create_user(
        &self,
        actor: &Actor,
        mut new: NewUser,
    ) -> Result<WithPassword, AppError> {
        authorize(actor, Permission::ManageUsers)?;
        new.username = normalise_username(&new.username);
        let issues = check_new(&new);
        if !issues.is_empty() {
            return Err(AppError::Validation(issues));
        }
        let password = new.password.clone().unwrap_or_else(passwords::generate);
        let user = ConsoleUserRow {
            id: self.new_id("usr"),
            username: new.username,
            display_name: new.display_name.trim().to_owned(),
            role: new.role,
            password_hash: passwords::hash(password.clone()).await?,
            time_zone: new.time_zone,
            created_at: self.now(),
            disabled_at: None,
            failed_logins: 0,
            locked_until: None,
        };
        let row = user.clone();
        self.store
            .write(move |tx| {
                if tx.load_console_user(&row.username)?.is_some() {
                    return Err(AppError::Conflict {
                        code: "username_taken",
                        detail: format!("there is already a user {}", row.username),
                    });
                }
                tx.insert_console_user(&row)?;
                Ok(())
            })
            .await?;
        Ok(WithPassword { user, password })
    }

    /// Every console user, by username (password hashes included: the caller shows
    /// what it needs).
    pub async fn users(&self, actor: &Actor) -> Result<Vec<ConsoleUserRow>, AppError> {
        authorize(actor, Permission::ManageUsers)?;
        Ok(self.store.read(|r| r.console_users()).await?)
    }

    /// The people who may own a case (active users whose role works cases), as
    /// (owner label, name), by name.
    pub async fn case_assignees(&self, actor: &Actor) -> Result<Vec<(String, String)>, AppError> {
        authorize(actor, Permission::ManageCases)?;
        let users = self.store.read(|r| r.console_users()).await?;
        let mut people: Vec<(String, String)> = users
            .into_iter()
            .filter(|u| u.disabled_at.is_none())
            .filter(|u| {
                let who = Actor::User {
                    id: u.id.clone(),
                    role: u.role,
                };
                authorize(&who, Permission::ManageCases).is_ok()
            })
            .map(|u| (format!("user:{}", u.id), u.display_name))
            .collect();
        people.sort_by(|a, b| a.1.cmp(&b.1));
        Ok(people)
    }

    /// The names of the people and keys that `labels` (`user:…`, `api_key:…`) stand
    /// for, label → name; labels of nobody known are left out. Names only: the caller
    /// has already read what the labels came with.
    pub async fn names_of(
        &self,
        labels: Vec<String>,
    ) -> Result<std::collections::HashMap<String, String>, AppError> {
        let ids = |prefix: &str| -> Vec<String> {
            labels
                .iter()
                .filter_map(|l| l.strip_prefix(prefix).map(str::to_owned))
                .collect()
        };
        let (users, keys) = (ids("user:"), ids("api_key:"));
        if users.is_empty() && keys.is_empty() {
            return Ok(std::collections::HashMap::new());
        }
        let found = self
            .store
            .read(move |r| Ok((r.user_names(&users)?, r.api_key_names(&keys)?)))
            .await?;
        let (users, keys) = found;
        Ok(users
            .into_iter()
            .map(|(id, name)| (format!("user:{id}"), name))
            .chain(
                keys.into_iter()
                    .map(|(id, name)| (format!("api_key:{id}"), name)),
            )
            .collect())
    }

    /// Disables a user and ends their sessions at once.
    pub async fn disable_user(
        &self,
        actor: &Actor,
        username: &str,
    ) -> Result<ConsoleUserRow, AppError> {
        authorize(actor, Permission::ManageUsers)?;
        let (username, now) = (normalise_username(username), self.now());
        self.store
            .write(move |tx| {
                let mut user = tx
                    .load_console_user(&username)?
                    .ok_or_else(|| AppError::NotFound(format!("user {username}")))?;
                user.disabled_at.get_or_insert(now);
                tx.save_console_user(&user)?;
                tx.delete_sessions_of(&user.id)?;
                Ok(user)
            })
            .await
    }

    /// A new password for a user (`None`: generated), which also lifts a lockout,
    /// enables a disabled account and ends every session signed in with the old one.
    pub async fn reset_password(
        &self,
        actor: &Actor,
        username: &str,
        password: Option<String>,
    ) -> Result<WithPassword, AppError> {
        authorize(actor, Permission::ManageUsers)?;
        if let Some(issue) = password.as_deref().and_then(password_issue) {
            return Err(AppError::Validation(vec![issue]));
        }
        let password = password.unwrap_or_else(passwords::generate);
        let hash = passwords::hash(password.clone()).await?;
        let username = normalise_username(username);
        let user = self
            .store
            .write(move |tx| {
                let mut user = tx
                    .load_console_user(&username)?
                    .ok_or_else(|| AppError::NotFound(format!("user {username}")))?;
                user.password_hash = hash.clone();
                user.failed_logins = 0;
                user.locked_until = None;
                user.disabled_at = None;
                tx.save_console_user(&user)?;
                tx.delete_sessions_of(&user.id)?;
                Ok::<_, AppError>(user)
            })
            .await?;
        Ok(WithPassword { user, password })
    }

    /// Signs a person in: a session, or why not. A locked account is refused before
    /// its password is checked, so a lockout stops guessing outright.
    pub async fn sign_in(
        &self,
        username: &str,
        password: &str,
    ) -> Result<Result<Started, Refusal>, AppError> {
        let username = normalise_username(username);
        let now = self.now();
        let name = username.clone();
        let user = self.store.read(move |r| r.console_user(&name)).await?;
        if let Some(until) = user.as_ref().and_then(|u| u.locked_until)
            && until > now
        {
            return Ok(Err(Refusal::Locked { until }));
        }
        let matches = password.chars().count() <= passwords::MAX_LENGTH
            && passwords::verify(
                password.to_owned(),
                user.as_ref().map(|u| u.password_hash.clone()),
            )
            .await?;
        let Some(user) = user else {
            return Ok(Err(Refusal::WrongCredentials { left: None }));
        };
        let console = self.config.console.clone();
        if !matches {
            let lock_until = now.saturating_add(console.lockout()).unwrap_or(now);
            let id = user.id.clone();
            let limit = console.lockout_failures;
            let counted = self
                .store
                .write(move |tx| Ok::<_, AppError>(tx.count_failed_login(&id, limit, lock_until)?))
                .await?;
            return Ok(Err(match counted.and_then(|c| c.locked_until) {
                Some(until) if until > now => Refusal::Locked { until },
                _ => Refusal::WrongCredentials {
                    left: counted.map(|c| limit.saturating_sub(c.failed_logins)),
                },
            }));
        }
        if user.disabled_at.is_some() {
            return Ok(Err(Refusal::Disabled));
        }
        let token = secret();
        let session = SessionRow {
            token_hash: hash_key(&token),
            user_id: user.id.clone(),
            csrf_token: secret(),
            created_at: now,
            last_seen_at: now,
            expires_at: now.saturating_add(console.absolute()).unwrap_or(now),
        };
        let started = Started {
            token,
            user: SessionUser::of(&user, &session.csrf_token),
        };
        let idle_ms = console.idle().as_millis().try_into().unwrap_or(i64::MAX);
        self.store
            .write(move |tx| {
                let mut user = user.clone();
                user.failed_logins = 0;
                user.locked_until = None;
                tx.save_console_user(&user)?;
                tx.purge_sessions(now, idle_ms)?;
                tx.insert_session(&session)?;
                Ok::<_, AppError>(())
            })
            .await?;
        Ok(Ok(started))
    }

    /// The person behind a session cookie's secret, if the session lives: not signed
    /// out, not idle past `console.session_idle_minutes`, not past its absolute end,
    /// and its user not disabled.
    pub async fn session_user(&self, token: &str) -> Result<Option<SessionUser>, AppError> {
        let hash = hash_key(token);
        let key = hash.clone();
        let Some((session, user)) = self.store.read(move |r| r.session(&key)).await? else {
            return Ok(None);
        };
        let now = self.now();
        let idle_until = session
            .last_seen_at
            .saturating_add(self.config.console.idle())
            .unwrap_or(session.last_seen_at);
        if user.disabled_at.is_some() || now >= session.expires_at || now >= idle_until {
            return Ok(None);
        }
        if now.duration_since(session.last_seen_at) >= TOUCH_EVERY {
            self.store
                .write(move |tx| Ok::<_, AppError>(tx.touch_session(&hash, now)?))
                .await?;
        }
        Ok(Some(SessionUser::of(&user, &session.csrf_token)))
    }

    /// Ends the session of this cookie's secret (signing out twice is harmless).
    pub async fn sign_out(&self, token: &str) -> Result<(), AppError> {
        let hash = hash_key(token);
        self.store
            .write(move |tx| Ok::<_, AppError>(tx.delete_session(&hash)?))
            .await
    }
}
