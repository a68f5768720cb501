-- 0002: authentication hardening: login rules, MFA recovery codes,
-- lockouts per (user, source) and per source, and an index for counting
-- failures per source.

-- Login rules: who may log in from where and when. Names, CIDRs and time
-- ranges are kept as newline-separated text: a rule naming a user who is
-- later removed matches nobody (rather than everyone, as an emptied link
-- table would).
CREATE TABLE login_rules (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    action TEXT NOT NULL CHECK (action IN ('allow', 'deny')),
    priority INTEGER NOT NULL DEFAULT 50 CHECK (priority BETWEEN 1 AND 100),
    users TEXT NOT NULL DEFAULT '',
    groups TEXT NOT NULL DEFAULT '',
    sources TEXT NOT NULL DEFAULT '',
    times TEXT NOT NULL DEFAULT '',
    tz TEXT NOT NULL DEFAULT '',
    active BOOLEAN NOT NULL DEFAULT TRUE,
    comment TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);

-- One-time MFA recovery codes, stored as SHA-256 hashes (they are random
-- and long, so a fast hash is enough).
CREATE TABLE mfa_recovery_codes (
    id INTEGER PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    used_at TEXT,
    UNIQUE (user_id, code_hash)
);

-- Lockouts narrower than users.locked_until: a user name locked from one
-- source address, or (user_name = '') a source address throttled for
-- every name. Names are kept as given: unknown names lock like known ones.
CREATE TABLE login_locks (
    user_name TEXT NOT NULL,
    source TEXT NOT NULL,
    locked_until TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    PRIMARY KEY (user_name, source)
);

CREATE INDEX login_events_source ON login_events (source, last_at);
