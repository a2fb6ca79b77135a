//! `[console]`: how long a console sign-in lasts and how hard a password may be guessed.
//! A session ends after `session_idle_minutes` without a request, and after
//! `session_absolute_hours` however busy it is; `lockout_failures` wrong passwords in a
//! row lock the account for `lockout_minutes`. The defaults follow the usual guidance
//! for staff tools (OWASP's session and authentication cheat sheets).

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct ConsoleConfig {
    pub session_idle_minutes: u32,
    pub session_absolute_hours: u32,
    pub lockout_failures: u32,
    pub lockout_minutes: u32,
    /// Mark the session cookie `Secure` always. Without it the cookie is `Secure` when
    /// the request came over TLS, as a proxy says with `X-Forwarded-Proto: https`.
    pub secure_cookies: bool,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        ConsoleConfig {
            session_idle_minutes: 30,
            session_absolute_hours: 12,
            lockout_failures: 5,
            lockout_minutes: 15,
            secure_cookies: false,
        }
    }
}

impl ConsoleConfig {
    pub fn idle(&self) -> jiff::SignedDuration {
        jiff::SignedDuration::from_mins(i64::from(self.session_idle_minutes))
    }

    pub fn absolute(&self) -> jiff::SignedDuration {
        jiff::SignedDuration::from_hours(i64::from(self.session_absolute_hours))
    }

    pub fn lockout(&self) -> jiff::SignedDuration {
        jiff::SignedDuration::from_mins(i64::from(self.lockout_minutes))
    }

    pub(super) fn problems(&self) -> Vec<String> {
        let checks: [(&str, u32, u32); 4] = [
            ("session_idle_minutes", self.session_idle_minutes, 24 * 60),
            (
                "session_absolute_hours",
                self.session_absolute_hours,
                24 * 31,
            ),
            ("lockout_failures", self.lockout_failures, 100),
            ("lockout_minutes", self.lockout_minutes, 24 * 60),
        ];
        checks
            .iter()
            .filter(|(_, v, max)| *v == 0 || v > max)
            .map(|(key, _, max)| format!("console.{key}: must be 1 to {max}"))
            .collect()
    }
}
