-- switchboard schema, version 1: users (extensions) and registrations (location service).
-- Passwords are never stored: only HA1 = H(username:realm:password) per algorithm
-- (RFC 2617 §3.2.2.2, RFC 7616 §3.4.2).

CREATE TABLE users (
    realm         TEXT    NOT NULL,
    username      TEXT    NOT NULL,             -- the extension, e.g. '1001'
    display_name  TEXT,
    ha1_md5       TEXT    NOT NULL,             -- lowercase hex MD5(username:realm:password)
    ha1_sha256    TEXT    NOT NULL,             -- lowercase hex SHA-256(username:realm:password)
    loopback_only INTEGER NOT NULL DEFAULT 0,   -- 1: well-known password, refuse from non-loopback sources
    origin        TEXT    NOT NULL DEFAULT 'config',
    updated_at    INTEGER NOT NULL,             -- unix ms
    PRIMARY KEY (realm, username)
);

CREATE INDEX users_origin ON users (origin);

CREATE TABLE registrations (
    aor          TEXT    NOT NULL,              -- 'sip:1001@switchboard.test'
    contact      TEXT    NOT NULL,              -- Contact URI as registered
    expires_at   INTEGER NOT NULL,              -- unix ms
    q            REAL,                          -- Contact q parameter, if any
    call_id      TEXT    NOT NULL,
    cseq         INTEGER NOT NULL,
    transport    TEXT    NOT NULL,              -- 'UDP', 'TCP', 'TLS', ...
    source_addr  TEXT    NOT NULL,              -- where the REGISTER came from (ip:port)
    local_addr   TEXT    NOT NULL,              -- our address it arrived on (ip:port)
    flow_id      INTEGER,                       -- connection id (TCP/TLS); meaningless after restart
    instance     TEXT,                          -- +sip.instance (RFC 5626)
    reg_id       INTEGER,                       -- reg-id (RFC 5626)
    user_agent   TEXT,
    path         TEXT,                          -- Path header values, comma-joined (RFC 3327)
    updated_at   INTEGER NOT NULL,              -- unix ms
    PRIMARY KEY (aor, contact)
);

CREATE INDEX registrations_expires_at ON registrations (expires_at);
