-- 0017 (SQLite): names are unique within an organization. SQLite cannot
-- drop a UNIQUE constraint, so each inventory table is rebuilt with its
-- org_id and UNIQUE (org_id, name) in place of UNIQUE (name): made anew,
-- copied, the old one dropped and the new one renamed, as SQLite's
-- ALTER TABLE page describes. The migration runs with foreign keys off
-- (no cascade fires on the drop; the check after it must find nothing).
-- 0017_org_names.postgres.sql does the same on PostgreSQL.

CREATE TABLE groups_new (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    comment TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    org_id BIGINT NOT NULL DEFAULT 1 REFERENCES orgs (id),
    UNIQUE (org_id, name)
);
INSERT INTO groups_new (id, name, comment, created_at)
    SELECT id, name, comment, created_at FROM groups;
DROP TABLE groups;
ALTER TABLE groups_new RENAME TO groups;

CREATE TABLE nodes_new (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL,
    created_at TEXT NOT NULL,
    org_id BIGINT NOT NULL DEFAULT 1 REFERENCES orgs (id),
    UNIQUE (org_id, path)
);
INSERT INTO nodes_new (id, path, created_at)
    SELECT id, path, created_at FROM nodes;
DROP TABLE nodes;
ALTER TABLE nodes_new RENAME TO nodes;

CREATE TABLE assets_new (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
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
    updated_at TEXT NOT NULL,
    org_id BIGINT NOT NULL DEFAULT 1 REFERENCES orgs (id),
    UNIQUE (org_id, name)
);
INSERT INTO assets_new (id, name, address, port, platform, node_id, comment, active, host_key, host_key_pinned_at, created_at, updated_at)
    SELECT id, name, address, port, platform, node_id, comment, active, host_key, host_key_pinned_at, created_at, updated_at FROM assets;
DROP TABLE assets;
ALTER TABLE assets_new RENAME TO assets;
CREATE INDEX assets_node ON assets (node_id);
CREATE INDEX assets_address ON assets (address);

CREATE TABLE grants_new (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    actions TEXT NOT NULL DEFAULT 'connect,upload,download,delete',
    all_accounts BOOLEAN NOT NULL DEFAULT FALSE,
    forward_ports TEXT NOT NULL DEFAULT '',
    valid_from TEXT,
    valid_until TEXT,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    comment TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    org_id BIGINT NOT NULL DEFAULT 1 REFERENCES orgs (id),
    UNIQUE (org_id, name)
);
INSERT INTO grants_new (id, name, actions, all_accounts, forward_ports, valid_from, valid_until, active, comment, created_at)
    SELECT id, name, actions, all_accounts, forward_ports, valid_from, valid_until, active, comment, created_at FROM grants;
DROP TABLE grants;
ALTER TABLE grants_new RENAME TO grants;

CREATE TABLE filters_new (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('deny', 'allow', 'warn', 'review')),
    priority INTEGER NOT NULL DEFAULT 50 CHECK (priority BETWEEN 1 AND 100),
    regex TEXT NOT NULL DEFAULT '',
    commands TEXT NOT NULL DEFAULT '',
    active BOOLEAN NOT NULL DEFAULT TRUE,
    comment TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    org_id BIGINT NOT NULL DEFAULT 1 REFERENCES orgs (id),
    UNIQUE (org_id, name)
);
INSERT INTO filters_new (id, name, action, priority, regex, commands, active, comment, created_at)
    SELECT id, name, action, priority, regex, commands, active, comment, created_at FROM filters;
DROP TABLE filters;
ALTER TABLE filters_new RENAME TO filters;

CREATE TABLE login_rules_new (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('allow', 'deny')),
    priority INTEGER NOT NULL DEFAULT 50 CHECK (priority BETWEEN 1 AND 100),
    users TEXT NOT NULL DEFAULT '',
    groups TEXT NOT NULL DEFAULT '',
    sources TEXT NOT NULL DEFAULT '',
    times TEXT NOT NULL DEFAULT '',
    tz TEXT NOT NULL DEFAULT '',
    active BOOLEAN NOT NULL DEFAULT TRUE,
    comment TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    org_id BIGINT NOT NULL DEFAULT 1 REFERENCES orgs (id),
    UNIQUE (org_id, name)
);
INSERT INTO login_rules_new (id, name, action, priority, users, groups, sources, times, tz, active, comment, created_at)
    SELECT id, name, action, priority, users, groups, sources, times, tz, active, comment, created_at FROM login_rules;
DROP TABLE login_rules;
ALTER TABLE login_rules_new RENAME TO login_rules;

CREATE TABLE account_templates_new (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    username TEXT NOT NULL,
    secret_policy TEXT NOT NULL
        CHECK (secret_policy IN ('generate-key', 'generate-password', 'password', 'key')),
    secret TEXT,
    secret_ref TEXT NOT NULL DEFAULT '',
    sudo TEXT NOT NULL DEFAULT '',
    shell TEXT NOT NULL DEFAULT '',
    make_home BOOLEAN NOT NULL DEFAULT FALSE,
    unix_groups TEXT NOT NULL DEFAULT '',
    push BOOLEAN NOT NULL DEFAULT FALSE,
    node_id BIGINT REFERENCES nodes (id) ON DELETE RESTRICT,
    rotate_every_s BIGINT NOT NULL DEFAULT 0,
    comment TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    org_id BIGINT NOT NULL DEFAULT 1 REFERENCES orgs (id),
    UNIQUE (org_id, name)
);
INSERT INTO account_templates_new (id, name, username, secret_policy, secret, secret_ref, sudo, shell, make_home, unix_groups, push, node_id, rotate_every_s, comment, created_at, updated_at)
    SELECT id, name, username, secret_policy, secret, secret_ref, sudo, shell, make_home, unix_groups, push, node_id, rotate_every_s, comment, created_at, updated_at FROM account_templates;
DROP TABLE account_templates;
ALTER TABLE account_templates_new RENAME TO account_templates;

CREATE TABLE automation_jobs_new (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('rotate', 'push')),
    template_id BIGINT REFERENCES account_templates (id) ON DELETE CASCADE,
    account_id BIGINT REFERENCES accounts (id) ON DELETE CASCADE,
    every_s BIGINT NOT NULL,
    next_run_at TEXT NOT NULL,
    last_run_at TEXT,
    last_result TEXT NOT NULL DEFAULT '',
    last_failures TEXT NOT NULL DEFAULT '',
    lease_owner TEXT NOT NULL DEFAULT '',
    lease_until TEXT,
    created_at TEXT NOT NULL,
    org_id BIGINT NOT NULL DEFAULT 1 REFERENCES orgs (id),
    UNIQUE (org_id, name)
);
INSERT INTO automation_jobs_new (id, name, kind, template_id, account_id, every_s, next_run_at, last_run_at, last_result, last_failures, lease_owner, lease_until, created_at)
    SELECT id, name, kind, template_id, account_id, every_s, next_run_at, last_run_at, last_result, last_failures, lease_owner, lease_until, created_at FROM automation_jobs;
DROP TABLE automation_jobs;
ALTER TABLE automation_jobs_new RENAME TO automation_jobs;
CREATE INDEX automation_jobs_next ON automation_jobs (next_run_at);
