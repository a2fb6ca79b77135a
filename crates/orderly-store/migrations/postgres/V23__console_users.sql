-- Console users and their sessions (issue 19). A user signs in with a username and a
-- password (an argon2 PHC string in `password_hash`); `failed_logins` counts wrong
-- passwords since the last success and `locked_until` ends a lockout. A session row is
-- found by the SHA-256 of its cookie's secret, so a copy of the database holds no
-- usable session; `csrf_token` is the value every form of the session must carry.
-- Times are milliseconds since the epoch, as everywhere.
CREATE TABLE console_users (
    id             TEXT COLLATE "C" PRIMARY KEY,
    username       TEXT COLLATE "C" NOT NULL UNIQUE,
    display_name   TEXT NOT NULL,
    role           TEXT NOT NULL,
    password_hash  TEXT NOT NULL,
    time_zone      TEXT,
    created_at     BIGINT NOT NULL,
    disabled_at    BIGINT,
    failed_logins  BIGINT NOT NULL DEFAULT 0,
    locked_until   BIGINT
);

CREATE TABLE console_sessions (
    token_hash    TEXT COLLATE "C" PRIMARY KEY,
    user_id       TEXT COLLATE "C" NOT NULL REFERENCES console_users (id),
    csrf_token    TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    last_seen_at  BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL
);
CREATE INDEX console_sessions_by_user ON console_sessions (user_id);
CREATE INDEX console_sessions_by_expiry ON console_sessions (expires_at);
