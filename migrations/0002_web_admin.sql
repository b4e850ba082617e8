-- Web administration (issue 6): admin accounts, API tokens, audit log.
-- Times are Unix milliseconds (UTC). Passwords only as argon2id PHC strings, tokens only as
-- SHA-256 (hex) of the secret shown once at creation.

CREATE TABLE admin_users (
    name            TEXT PRIMARY KEY NOT NULL,
    password_hash   TEXT NOT NULL,
    role            TEXT NOT NULL CHECK (role IN ('admin', 'viewer')),
    created         INTEGER NOT NULL,
    failed_logins   INTEGER NOT NULL DEFAULT 0,
    last_failed     INTEGER NOT NULL DEFAULT 0,
    locked_until    INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE api_tokens (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    name            TEXT NOT NULL,
    token_sha256    TEXT NOT NULL UNIQUE,
    role            TEXT NOT NULL CHECK (role IN ('admin', 'viewer')),
    created         INTEGER NOT NULL,
    created_by      TEXT NOT NULL,
    last_used       INTEGER
);

CREATE TABLE audit_log (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    at              INTEGER NOT NULL,
    actor           TEXT NOT NULL,
    action          TEXT NOT NULL,
    target          TEXT NOT NULL,
    detail          TEXT NOT NULL DEFAULT '{}'
);
