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
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    next_at TEXT NOT NULL,
    lease_until TEXT,
    sent_at TEXT
);
CREATE INDEX outbox_due ON outbox (status, next_at);
