//! Console users and their sessions as rows. A user is a person who signs in to the
//! console with a username and password; a session is one sign-in, found by the hash of
//! its cookie's secret. Both are plain rows, not event streams: what a user *does* is
//! recorded on the streams they act on, with `Actor::User` as the actor.
//!
//! `ConsoleTx` is the write side (part of `WriteTx`), `ConsoleReads` the read side (part
//! of `Reader`); both backends implement both in their `console` module.

use crate::error::StoreError;
use jiff::Timestamp;
use orderly_domain::actor::Role;

/// A console user as stored. `password_hash` is an argon2 PHC string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleUserRow {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub password_hash: String,
    /// The IANA zone the user reads times in; `None`: the business calendar's.
    pub time_zone: Option<String>,
    pub created_at: Timestamp,
    pub disabled_at: Option<Timestamp>,
    /// Wrong passwords since the last sign-in or lockout.
    pub failed_logins: u32,
    pub locked_until: Option<Timestamp>,
}

/// One sign-in. The cookie carries a secret; the row holds its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    pub token_hash: String,
    pub user_id: String,
    pub csrf_token: String,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    /// The absolute end, however active the session is.
    pub expires_at: Timestamp,
}

/// A wrong password's effect on the user: the count after it and whether it locked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailedLogin {
    pub failed_logins: u32,
    pub locked_until: Option<Timestamp>,
}

/// The write side of console users.
pub trait ConsoleTx {
    /// Inserts a user; `Conflict` when the username is taken.
    fn insert_console_user(&mut self, user: &ConsoleUserRow) -> Result<(), StoreError>;
    fn load_console_user(&mut self, username: &str) -> Result<Option<ConsoleUserRow>, StoreError>;
    /// Stores the password hash, disabled time, failure count and lockout of `user`.
    fn save_console_user(&mut self, user: &ConsoleUserRow) -> Result<(), StoreError>;
    /// Counts a wrong password atomically; at `limit` the user is locked until
    /// `lock_until` and the count starts again. `None` when there is no such user.
    fn count_failed_login(
        &mut self,
        user_id: &str,
        limit: u32,
        lock_until: Timestamp,
    ) -> Result<Option<FailedLogin>, StoreError>;
    fn insert_session(&mut self, session: &SessionRow) -> Result<(), StoreError>;
    /// Moves a session's idle clock on.
    fn touch_session(&mut self, token_hash: &str, at: Timestamp) -> Result<(), StoreError>;
    /// Ends one session (sign-out).
    fn delete_session(&mut self, token_hash: &str) -> Result<(), StoreError>;
    /// Ends every session of a user (disabled, or a new password); returns how many.
    fn delete_sessions_of(&mut self, user_id: &str) -> Result<usize, StoreError>;
    /// Deletes sessions that ended before `before` by either clock; returns how many.
    fn purge_sessions(&mut self, before: Timestamp, idle_ms: i64) -> Result<usize, StoreError>;
}

/// The read side of console users.
pub trait ConsoleReads {
    /// Every user, by username.
    fn console_users(&mut self) -> Result<Vec<ConsoleUserRow>, StoreError>;
    fn console_user(&mut self, username: &str) -> Result<Option<ConsoleUserRow>, StoreError>;
    /// A session and its user, by the hash of the cookie's secret.
    fn session(
        &mut self,
        token_hash: &str,
    ) -> Result<Option<(SessionRow, ConsoleUserRow)>, StoreError>;
    /// (id, display name) of the users among `ids`, for timelines.
    fn user_names(&mut self, ids: &[String]) -> Result<Vec<(String, String)>, StoreError>;
}

/// The columns `user_from` reads, in its order.
pub(crate) const USER_COLUMNS: &str = "id, username, display_name, role, password_hash, \
     time_zone, created_at, disabled_at, failed_logins, locked_until";

/// The columns of a session row, in `SessionRow`'s order.
pub(crate) const SESSION_COLUMNS: &str =
    "token_hash, user_id, csrf_token, created_at, last_seen_at, expires_at";

/// A user's columns as either backend reads them, before decoding.
pub(crate) struct RawUser {
    pub(crate) id: String,
    pub(crate) username: String,
    pub(crate) display_name: String,
    pub(crate) role: String,
    pub(crate) password_hash: String,
    pub(crate) time_zone: Option<String>,
    pub(crate) created_at: i64,
    pub(crate) disabled_at: Option<i64>,
    pub(crate) failed_logins: i64,
    pub(crate) locked_until: Option<i64>,
}

impl RawUser {
    pub(crate) fn decode(self) -> Result<ConsoleUserRow, StoreError> {
        Ok(ConsoleUserRow {
            role: Role::parse(&self.role)
                .ok_or_else(|| StoreError::Corrupt(format!("user role {}", self.role)))?,
            id: self.id,
            username: self.username,
            display_name: self.display_name,
            password_hash: self.password_hash,
            time_zone: self.time_zone,
            created_at: crate::from_ms(self.created_at)?,
            disabled_at: self.disabled_at.map(crate::from_ms).transpose()?,
            failed_logins: u32::try_from(self.failed_logins)
                .map_err(|_| StoreError::Corrupt("failed_logins".into()))?,
            locked_until: self.locked_until.map(crate::from_ms).transpose()?,
        })
    }
}
