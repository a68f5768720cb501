-- 0001: the whole inventory, authorization and audit schema.
-- Portable SQL: it runs on SQLite and PostgreSQL alike, except for the
-- id columns, whose type a PostgreSQL migration set spells BIGSERIAL.
-- Times are TEXT in UTC, fixed width ("2006-01-02T15:04:05.000000Z"),
-- so that they sort and compare as strings in both databases.

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    email TEXT NOT NULL DEFAULT '',
    role TEXT NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'auditor', 'admin')),
    password_hash TEXT NOT NULL DEFAULT '',
    password_changed_at TEXT,
    must_change_password BOOLEAN NOT NULL DEFAULT FALSE,
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    locked_until TEXT,
    mfa_seed TEXT,
    mfa_last_step BIGINT NOT NULL DEFAULT 0,
    comment TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE user_keys (
    id INTEGER PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    fingerprint TEXT NOT NULL UNIQUE,
    public_key TEXT NOT NULL,
    comment TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    last_used_at TEXT
);
CREATE INDEX user_keys_user ON user_keys (user_id);

CREATE TABLE groups (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    comment TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);

CREATE TABLE group_members (
    group_id BIGINT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user ON group_members (user_id);

-- Nodes form a tree by their paths ("/prod/web" is a child of "/prod").
CREATE TABLE nodes (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);

CREATE TABLE assets (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    address TEXT NOT NULL,
    port INTEGER NOT NULL DEFAULT 22,
    platform TEXT NOT NULL DEFAULT 'linux'
        CHECK (platform IN ('linux', 'unix', 'windows', 'network', 'database')),
    node_id BIGINT REFERENCES nodes (id) ON DELETE RESTRICT,
    comment TEXT NOT NULL DEFAULT '',
    active BOOLEAN NOT NULL DEFAULT TRUE,
    host_key TEXT NOT NULL DEFAULT '',
    host_key_pinned_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX assets_node ON assets (node_id);
CREATE INDEX assets_address ON assets (address);

CREATE TABLE asset_labels (
    asset_id BIGINT NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (asset_id, key)
);
CREATE INDEX asset_labels_kv ON asset_labels (key, value);

-- Accounts on assets. secret is a sealed envelope (see seal.go), never clear text.
CREATE TABLE accounts (
    id INTEGER PRIMARY KEY,
    asset_id BIGINT NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    username TEXT NOT NULL,
    secret_kind TEXT NOT NULL DEFAULT 'none' CHECK (secret_kind IN ('none', 'password', 'key')),
    secret TEXT,
    privileged BOOLEAN NOT NULL DEFAULT FALSE,
    comment TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (asset_id, username)
);

CREATE TABLE grants (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    actions TEXT NOT NULL DEFAULT 'connect,upload,download,delete',
    all_accounts BOOLEAN NOT NULL DEFAULT FALSE,
    forward_ports TEXT NOT NULL DEFAULT '',
    valid_from TEXT,
    valid_until TEXT,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    comment TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);

CREATE TABLE grant_users (
    grant_id BIGINT NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (grant_id, user_id)
);
CREATE INDEX grant_users_user ON grant_users (user_id);

CREATE TABLE grant_groups (
    grant_id BIGINT NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
    group_id BIGINT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    PRIMARY KEY (grant_id, group_id)
);
CREATE INDEX grant_groups_group ON grant_groups (group_id);

CREATE TABLE grant_assets (
    grant_id BIGINT NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
    asset_id BIGINT NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    PRIMARY KEY (grant_id, asset_id)
);
CREATE INDEX grant_assets_asset ON grant_assets (asset_id);

CREATE TABLE grant_nodes (
    grant_id BIGINT NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
    node_id BIGINT NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
    PRIMARY KEY (grant_id, node_id)
);

-- Account names a grant gives (the username of an account on each asset);
-- grants.all_accounts stands for "@all".
CREATE TABLE grant_accounts (
    grant_id BIGINT NOT NULL REFERENCES grants (id) ON DELETE CASCADE,
    username TEXT NOT NULL,
    PRIMARY KEY (grant_id, username)
);

CREATE TABLE filters (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    action TEXT NOT NULL CHECK (action IN ('deny', 'allow', 'warn', 'review')),
    priority INTEGER NOT NULL DEFAULT 50 CHECK (priority BETWEEN 1 AND 100),
    regex TEXT NOT NULL DEFAULT '',
    commands TEXT NOT NULL DEFAULT '',
    active BOOLEAN NOT NULL DEFAULT TRUE,
    comment TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);

CREATE TABLE filter_users (
    filter_id BIGINT NOT NULL REFERENCES filters (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (filter_id, user_id)
);
CREATE TABLE filter_groups (
    filter_id BIGINT NOT NULL REFERENCES filters (id) ON DELETE CASCADE,
    group_id BIGINT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    PRIMARY KEY (filter_id, group_id)
);
CREATE TABLE filter_assets (
    filter_id BIGINT NOT NULL REFERENCES filters (id) ON DELETE CASCADE,
    asset_id BIGINT NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    PRIMARY KEY (filter_id, asset_id)
);
CREATE TABLE filter_nodes (
    filter_id BIGINT NOT NULL REFERENCES filters (id) ON DELETE CASCADE,
    node_id BIGINT NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
    PRIMARY KEY (filter_id, node_id)
);
CREATE TABLE filter_accounts (
    filter_id BIGINT NOT NULL REFERENCES filters (id) ON DELETE CASCADE,
    username TEXT NOT NULL,
    PRIMARY KEY (filter_id, username)
);

-- Sessions keep names rather than foreign keys: the audit outlives what it names.
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL DEFAULT 'shell',
    user_name TEXT NOT NULL,
    asset_name TEXT NOT NULL DEFAULT '',
    account TEXT NOT NULL DEFAULT '',
    source TEXT NOT NULL DEFAULT '',
    command TEXT NOT NULL DEFAULT '',
    started_at TEXT NOT NULL,
    ended_at TEXT,
    status TEXT NOT NULL DEFAULT 'active',
    exit_status INTEGER,
    end_reason TEXT NOT NULL DEFAULT '',
    recording_path TEXT NOT NULL DEFAULT '',
    recording_size BIGINT NOT NULL DEFAULT 0,
    recording_sha256 TEXT NOT NULL DEFAULT '',
    kill_requested_at TEXT,
    kill_reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_started ON sessions (started_at);
CREATE INDEX sessions_status ON sessions (status);

CREATE TABLE login_events (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    last_at TEXT NOT NULL,
    user_name TEXT NOT NULL,
    source TEXT NOT NULL DEFAULT '',
    method TEXT NOT NULL DEFAULT '',
    result TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    mfa BOOLEAN NOT NULL DEFAULT FALSE,
    count INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX login_events_at ON login_events (at);
CREATE INDEX login_events_user ON login_events (user_name, at);

CREATE TABLE command_events (
    id INTEGER PRIMARY KEY,
    session_id TEXT NOT NULL,
    at TEXT NOT NULL,
    offset_ms BIGINT NOT NULL DEFAULT 0,
    user_name TEXT NOT NULL,
    asset_name TEXT NOT NULL,
    account TEXT NOT NULL,
    command TEXT NOT NULL,
    verdict TEXT NOT NULL,
    filter_name TEXT NOT NULL DEFAULT ''
);
CREATE INDEX command_events_at ON command_events (at);
CREATE INDEX command_events_session ON command_events (session_id);

CREATE TABLE transfer_events (
    id INTEGER PRIMARY KEY,
    session_id TEXT NOT NULL,
    at TEXT NOT NULL,
    user_name TEXT NOT NULL,
    asset_name TEXT NOT NULL,
    account TEXT NOT NULL,
    operation TEXT NOT NULL,
    path TEXT NOT NULL,
    size BIGINT NOT NULL DEFAULT 0,
    result TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX transfer_events_at ON transfer_events (at);

CREATE TABLE tickets (
    id INTEGER PRIMARY KEY,
    session_id TEXT NOT NULL,
    at TEXT NOT NULL,
    user_name TEXT NOT NULL,
    asset_name TEXT NOT NULL,
    account TEXT NOT NULL,
    command TEXT NOT NULL,
    filter_name TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'approved', 'rejected', 'canceled')),
    decided_by TEXT NOT NULL DEFAULT '',
    decided_at TEXT
);
CREATE INDEX tickets_status ON tickets (status);

-- The operations audit: every change made through jmsctl or by the server.
-- detail describes what changed and never holds a secret.
CREATE TABLE operations (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX operations_at ON operations (at);
