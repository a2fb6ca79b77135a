//! Console users and sessions on PostgreSQL, the twin of `sqlite/console.rs`. Sign-ins
//! are rare beside orders, so nothing here joins group commit.

use super::read::PgReader;
use super::write::PgTx;
use super::{Conn, col};
use crate::console::{
    ConsoleReads, ConsoleTx, ConsoleUserRow, FailedLogin, RawUser, SESSION_COLUMNS, SessionRow,
    USER_COLUMNS,
};
use crate::error::StoreError;
use crate::{from_ms, to_ms};
use tokio_postgres::Row;

fn raw_user(r: &Row, at: usize) -> Result<RawUser, StoreError> {
    Ok(RawUser {
        id: col(r, at)?,
        username: col(r, at + 1)?,
        display_name: col(r, at + 2)?,
        role: col(r, at + 3)?,
        password_hash: col(r, at + 4)?,
        time_zone: col(r, at + 5)?,
        created_at: col(r, at + 6)?,
        disabled_at: col(r, at + 7)?,
        failed_logins: col(r, at + 8)?,
        locked_until: col(r, at + 9)?,
    })
}

fn user_by_name(c: &Conn<'_>, username: &str) -> Result<Option<ConsoleUserRow>, StoreError> {
    c.query_opt(
        &format!("SELECT {USER_COLUMNS} FROM console_users WHERE username = $1"),
        &[&username],
    )?
    .map(|r| raw_user(&r, 0)?.decode())
    .transpose()
}

impl ConsoleTx for PgTx<'_> {
    fn insert_console_user(&mut self, u: &ConsoleUserRow) -> Result<(), StoreError> {
        self.conn().execute(
            &format!(
                "INSERT INTO console_users ({USER_COLUMNS})
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
            ),
            &[
                &u.id,
                &u.username,
                &u.display_name,
                &u.role.as_str(),
                &u.password_hash,
                &u.time_zone,
                &to_ms(u.created_at),
                &u.disabled_at.map(to_ms),
                &i64::from(u.failed_logins),
                &u.locked_until.map(to_ms),
            ],
        )?;
        Ok(())
    }

    fn load_console_user(&mut self, username: &str) -> Result<Option<ConsoleUserRow>, StoreError> {
        user_by_name(self.conn(), username)
    }

    fn save_console_user(&mut self, u: &ConsoleUserRow) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE console_users SET display_name = $2, role = $3, password_hash = $4,
               time_zone = $5, disabled_at = $6, failed_logins = $7, locked_until = $8
             WHERE id = $1",
            &[
                &u.id,
                &u.display_name,
                &u.role.as_str(),
                &u.password_hash,
                &u.time_zone,
                &u.disabled_at.map(to_ms),
                &i64::from(u.failed_logins),
                &u.locked_until.map(to_ms),
            ],
        )?;
        Ok(())
    }

    fn count_failed_login(
        &mut self,
        user_id: &str,
        limit: u32,
        lock_until: jiff::Timestamp,
    ) -> Result<Option<FailedLogin>, StoreError> {
        let row = self.conn().query_opt(
            "UPDATE console_users SET
               failed_logins = CASE WHEN failed_logins + 1 >= $2 THEN 0 ELSE failed_logins + 1 END,
               locked_until = CASE WHEN failed_logins + 1 >= $2 THEN $3 ELSE locked_until END
             WHERE id = $1 RETURNING failed_logins, locked_until",
            &[&user_id, &i64::from(limit), &to_ms(lock_until)],
        )?;
        row.map(|r| {
            Ok(FailedLogin {
                failed_logins: u32::try_from(col::<i64>(&r, 0)?)
                    .map_err(|_| StoreError::Corrupt("failed_logins".into()))?,
                locked_until: col::<Option<i64>>(&r, 1)?.map(from_ms).transpose()?,
            })
        })
        .transpose()
    }

    fn insert_session(&mut self, s: &SessionRow) -> Result<(), StoreError> {
        self.conn().execute(
            &format!(
                "INSERT INTO console_sessions ({SESSION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)"
            ),
            &[
                &s.token_hash,
                &s.user_id,
                &s.csrf_token,
                &to_ms(s.created_at),
                &to_ms(s.last_seen_at),
                &to_ms(s.expires_at),
            ],
        )?;
        Ok(())
    }

    fn touch_session(&mut self, token_hash: &str, at: jiff::Timestamp) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE console_sessions SET last_seen_at = GREATEST(last_seen_at, $2)
             WHERE token_hash = $1",
            &[&token_hash, &to_ms(at)],
        )?;
        Ok(())
    }

    fn delete_session(&mut self, token_hash: &str) -> Result<(), StoreError> {
        self.conn().execute(
            "DELETE FROM console_sessions WHERE token_hash = $1",
            &[&token_hash],
        )?;
        Ok(())
    }

    fn delete_sessions_of(&mut self, user_id: &str) -> Result<usize, StoreError> {
        let n = self.conn().execute(
            "DELETE FROM console_sessions WHERE user_id = $1",
            &[&user_id],
        )?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    fn purge_sessions(
        &mut self,
        before: jiff::Timestamp,
        idle_ms: i64,
    ) -> Result<usize, StoreError> {
        let n = self.conn().execute(
            "DELETE FROM console_sessions WHERE expires_at < $1 OR last_seen_at + $2 < $1",
            &[&to_ms(before), &idle_ms],
        )?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }
}

impl ConsoleReads for PgReader<'_> {
    fn console_users(&mut self) -> Result<Vec<ConsoleUserRow>, StoreError> {
        self.conn()
            .query(
                &format!("SELECT {USER_COLUMNS} FROM console_users ORDER BY username"),
                &[],
            )?
            .iter()
            .map(|r| raw_user(r, 0)?.decode())
            .collect()
    }

    fn console_user(&mut self, username: &str) -> Result<Option<ConsoleUserRow>, StoreError> {
        user_by_name(self.conn(), username)
    }

    fn session(
        &mut self,
        token_hash: &str,
    ) -> Result<Option<(SessionRow, ConsoleUserRow)>, StoreError> {
        let users = USER_COLUMNS.replace(", ", ", u.");
        let Some(r) = self.conn().query_opt(
            &format!(
                "SELECT s.token_hash, s.user_id, s.csrf_token, s.created_at, s.last_seen_at,
                        s.expires_at, u.{users}
                 FROM console_sessions s JOIN console_users u ON u.id = s.user_id
                 WHERE s.token_hash = $1"
            ),
            &[&token_hash],
        )?
        else {
            return Ok(None);
        };
        let session = SessionRow {
            token_hash: col(&r, 0)?,
            user_id: col(&r, 1)?,
            csrf_token: col(&r, 2)?,
            created_at: from_ms(col(&r, 3)?)?,
            last_seen_at: from_ms(col(&r, 4)?)?,
            expires_at: from_ms(col(&r, 5)?)?,
        };
        Ok(Some((session, raw_user(&r, 6)?.decode()?)))
    }

    fn user_names(&mut self, ids: &[String]) -> Result<Vec<(String, String)>, StoreError> {
        self.conn()
            .query(
                "SELECT id, display_name FROM console_users WHERE id = ANY($1)",
                &[&ids],
            )?
            .iter()
            .map(|r| Ok((col(r, 0)?, col(r, 1)?)))
            .collect()
    }
}
