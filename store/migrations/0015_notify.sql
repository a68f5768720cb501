-- 0015: notifications. The mail server's settings (one row), webhooks and
-- the outbox: every mail and webhook post is a row here first, delivered
-- by serve in the background with retries, so that sending never blocks a
-- login or a session.
--
-- Secrets are sealed like account secrets, bound to their row and a
-- random ref kept beside them: the SMTP password, each webhook's signing
-- secret and each outbox message's payload (an invitation holds a
-- one-time password). A delivered message's payload is dropped (NULL).
CREATE TABLE mail_settings (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    host TEXT NOT NULL,
    port INTEGER NOT NULL,
    security TEXT NOT NULL CHECK (security IN ('ssl', 'starttls', 'none')),
    username TEXT NOT NULL DEFAULT '',
    password TEXT,
    password_ref TEXT NOT NULL DEFAULT '',
    sender TEXT NOT NULL,
    ca_pem TEXT NOT NULL DEFAULT '',
    updated_at TEXT NOT NULL
);

CREATE TABLE webhooks (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    url TEXT NOT NULL,
    secret TEXT,
    secret_ref TEXT NOT NULL DEFAULT '',
    events TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);

CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    channel TEXT NOT NULL CHECK (channel IN ('mail', 'webhook')),
    recipient TEXT NOT NULL,
    event TEXT NOT NULL,
    subject TEXT NOT NULL DEFAULT '',
    payload TEXT,
    payload_ref TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    -- a digest mail waits for its recipient's next digest time and goes
    -- in one mail with the others due then
    digest BOOLEAN NOT NULL DEFAULT FALSE,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    next_at TEXT NOT NULL,
    lease_until TEXT,
    sent_at TEXT
);
CREATE INDEX outbox_due ON outbox (status, next_at);

-- Where the notifier has read the operations audit (and the logins) up to: serve turns
-- the operations that follow (a ticket opened or decided, a user locked,
-- MFA disabled, a session killed) into mails and webhook posts, moving
-- the cursor in the transaction that queues them. It starts at the
-- audit's end: what happened before is not notified.
CREATE TABLE notify_cursors (
    name TEXT PRIMARY KEY,
    last_id BIGINT NOT NULL,
    updated_at TEXT NOT NULL
);
INSERT INTO notify_cursors (name, last_id, updated_at)
    SELECT 'operations', COALESCE(MAX(id), 0), '' FROM operations;
-- The same for successful logins, to tell a user of a login from an
-- address she never logged in from before.
INSERT INTO notify_cursors (name, last_id, updated_at)
    SELECT 'logins', COALESCE(MAX(id), 0), '' FROM login_events;

-- Who gets which event's mail beyond (or instead of) its default
-- recipients: a rule for a user wins over one for her role, and one for
-- the event over one for every event ('*').
CREATE TABLE notify_rules (
    id INTEGER PRIMARY KEY,
    event TEXT NOT NULL,
    subject_kind TEXT NOT NULL CHECK (subject_kind IN ('user', 'role')),
    subject TEXT NOT NULL,
    mode TEXT NOT NULL CHECK (mode IN ('on', 'off', 'digest')),
    created_at TEXT NOT NULL,
    UNIQUE (event, subject_kind, subject)
);

-- Notices sent once for a state, not for an operation: a grant expiring
-- within 7 days is told once per grant and end time ("grant.expiring:ID:UNTIL").
CREATE TABLE notify_sent (
    notice_key TEXT PRIMARY KEY,
    sent_at TEXT NOT NULL
);

-- An invitation's one-time password works until invite_expires_at, and
-- only until she changes it (which clears this).
ALTER TABLE users ADD COLUMN invite_expires_at TEXT;

-- Self-service password resets over SSH (login name "reset"). Every
-- request is a row, for a user that exists or not (code_hash '' never
-- matches), so that requests are counted per name and per source alike
-- and take the same time. A code works once, for 15 minutes, for a few
-- attempts.
CREATE TABLE password_resets (
    id INTEGER PRIMARY KEY,
    user_name TEXT NOT NULL,
    source TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    salt TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    used_at TEXT
);
CREATE INDEX password_resets_user ON password_resets (user_name, created_at);
CREATE INDEX password_resets_source ON password_resets (source, created_at);
