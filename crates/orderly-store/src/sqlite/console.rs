//! Console users and sessions on SQLite.

use super::read::SqliteReader;
use super::write::SqliteTx;
use crate::console::{
    ConsoleReads, ConsoleTx, ConsoleUserRow, FailedLogin, RawUser, SESSION_COLUMNS, SessionRow,
    USER_COLUMNS,
};
use crate::error::StoreError;
use crate::{from_ms, to_ms};
use rusqlite::{Connection, OptionalExtension, params};

fn raw_user(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<RawUser> {
    Ok(RawUser {
        id: r.get(at)?,
        username: r.get(at + 1)?,
        display_name: r.get(at + 2)?,
        role: r.get(at + 3)?,
        password_hash: r.get(at + 4)?,
        time_zone: r.get(at + 5)?,
        created_at: r.get(at + 6)?,
        disabled_at: r.get(at + 7)?,
        failed_logins: r.get(at + 8)?,
        locked_until: r.get(at + 9)?,
    })
}

fn user_by_name(conn: &Connection, username: &str) -> Result<Option<ConsoleUserRow>, StoreError> {
    conn.prepare_cached(&format!(
        "SELECT {USER_COLUMNS} FROM console_users WHERE username = ?1"
    ))?
    .query_row([username], |r| raw_user(r, 0))
    .optional()?
    .map(RawUser::decode)
    .transpose()
}

impl ConsoleTx for SqliteTx<'_> {
    fn insert_console_user(&mut self, u: &ConsoleUserRow) -> Result<(), StoreError> {
        self.conn()
            .prepare_cached(&format!(
                "INSERT INTO console_users ({USER_COLUMNS})
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
            ))?
            .execute(params![
                u.id,
                u.username,
                u.display_name,
                u.role.as_str(),
                u.password_hash,
                u.time_zone,
                to_ms(u.created_at),
                u.disabled_at.map(to_ms),
                u.failed_logins,
                u.locked_until.map(to_ms),
            ])?;
        Ok(())
    }

    fn load_console_user(&mut self, username: &str) -> Result<Option<ConsoleUserRow>, StoreError> {
        user_by_name(self.conn(), username)
    }

    fn save_console_user(&mut self, u: &ConsoleUserRow) -> Result<(), StoreError> {
        self.conn()
            .prepare_cached(
                "UPDATE console_users SET display_name = ?2, role = ?3, password_hash = ?4,
                   time_zone = ?5, disabled_at = ?6, failed_logins = ?7, locked_until = ?8
                 WHERE id = ?1",
            )?
            .execute(params![
                u.id,
                u.display_name,
                u.role.as_str(),
                u.password_hash,
                u.time_zone,
                u.disabled_at.map(to_ms),
                u.failed_logins,
                u.locked_until.map(to_ms),
            ])?;
        Ok(())
    }

    fn count_failed_login(
        &mut self,
        user_id: &str,
        limit: u32,
        lock_until: jiff::Timestamp,
    ) -> Result<Option<FailedLogin>, StoreError> {
        let row: Option<(i64, Option<i64>)> = self
            .conn()
            .prepare_cached(
                "UPDATE console_users SET
                   failed_logins = CASE WHEN failed_logins + 1 >= ?2 THEN 0 ELSE failed_logins + 1 END,
                   locked_until = CASE WHEN failed_logins + 1 >= ?2 THEN ?3 ELSE locked_until END
                 WHERE id = ?1 RETURNING failed_logins, locked_until",
            )?
            .query_row(params![user_id, limit, to_ms(lock_until)], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?;
        row.map(|(n, locked)| {
            Ok(FailedLogin {
                failed_logins: u32::try_from(n)
                    .map_err(|_| StoreError::Corrupt("failed_logins".into()))?,
                locked_until: locked.map(from_ms).transpose()?,
            })
        })
        .transpose()
    }

    fn insert_session(&mut self, s: &SessionRow) -> Result<(), StoreError> {
        self.conn()
            .prepare_cached(&format!(
                "INSERT INTO console_sessions ({SESSION_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
            ))?
            .execute(params![
                s.token_hash,
                s.user_id,
                s.csrf_token,
                to_ms(s.created_at),
                to_ms(s.last_seen_at),
                to_ms(s.expires_at),
            ])?;
        Ok(())
    }

    fn touch_session(&mut self, token_hash: &str, at: jiff::Timestamp) -> Result<(), StoreError> {
        self.conn()
            .prepare_cached(
                "UPDATE console_sessions SET last_seen_at = max(last_seen_at, ?2) WHERE token_hash = ?1",
            )?
            .execute(params![token_hash, to_ms(at)])?;
        Ok(())
    }

    fn delete_session(&mut self, token_hash: &str) -> Result<(), StoreError> {
        self.conn()
            .prepare_cached("DELETE FROM console_sessions WHERE token_hash = ?1")?
            .execute([token_hash])?;
        Ok(())
    }

    fn delete_sessions_of(&mut self, user_id: &str) -> Result<usize, StoreError> {
        Ok(self
            .conn()
            .prepare_cached("DELETE FROM console_sessions WHERE user_id = ?1")?
            .execute([user_id])?)
    }

    fn purge_sessions(
        &mut self,
        before: jiff::Timestamp,
        idle_ms: i64,
    ) -> Result<usize, StoreError> {
        Ok(self
            .conn()
            .prepare_cached(
                "DELETE FROM console_sessions WHERE expires_at < ?1 OR last_seen_at + ?2 < ?1",
            )?
            .execute(params![to_ms(before), idle_ms])?)
    }
}

impl ConsoleReads for SqliteReader<'_> {
    fn console_users(&mut self) -> Result<Vec<ConsoleUserRow>, StoreError> {
        let mut stmt = self.conn().prepare_cached(&format!(
            "SELECT {USER_COLUMNS} FROM console_users ORDER BY username"
        ))?;
        let raw = stmt
            .query_map([], |r| raw_user(r, 0))?
            .collect::<Result<Vec<_>, _>>()?;
        raw.into_iter().map(RawUser::decode).collect()
    }

    fn console_user(&mut self, username: &str) -> Result<Option<ConsoleUserRow>, StoreError> {
        user_by_name(self.conn(), username)
    }

    fn session(
        &mut self,
        token_hash: &str,
    ) -> Result<Option<(SessionRow, ConsoleUserRow)>, StoreError> {
        let users = USER_COLUMNS.replace(", ", ", u.");
        let row = self
            .conn()
            .prepare_cached(&format!(
                "SELECT s.token_hash, s.user_id, s.csrf_token, s.created_at, s.last_seen_at,
                        s.expires_at, u.{users}
                 FROM console_sessions s JOIN console_users u ON u.id = s.user_id
                 WHERE s.token_hash = ?1"
            ))?
            .query_row([token_hash], |r| {
                Ok((
                    (
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, i64>(3)?,
                        r.get::<_, i64>(4)?,
                        r.get::<_, i64>(5)?,
                    ),
                    raw_user(r, 6)?,
                ))
            })
            .optional()?;
        let Some(((token_hash, user_id, csrf_token, created, seen, expires), user)) = row else {
            return Ok(None);
        };
        let session = SessionRow {
            token_hash,
            user_id,
            csrf_token,
            created_at: from_ms(created)?,
            last_seen_at: from_ms(seen)?,
            expires_at: from_ms(expires)?,
        };
        Ok(Some((session, user.decode()?)))
    }

    fn user_names(&mut self, ids: &[String]) -> Result<Vec<(String, String)>, StoreError> {
        let mut stmt = self
            .conn()
            .prepare_cached("SELECT id, display_name FROM console_users WHERE id = ?1")?;
        let mut names = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(row) = stmt
                .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?
            {
                names.push(row);
            }
        }
        Ok(names)
    }
}
