-- 0011: account automation. Templates that give every asset under a node
-- an account (created through the asset's privileged account when push
-- is set), the facts learnt about an asset's platform, and scheduled
-- jobs (rotation; pushing a template to assets added later) with a
-- lease so that one node of a cluster runs each.

-- secret_policy: generate-key and generate-password make a new secret per
-- asset; password and key give every asset the template's own secret,
-- sealed here like an account's (secret, secret_ref).
CREATE TABLE account_templates (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
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
    updated_at TEXT NOT NULL
);

-- The template an account was made from, if any (a table of its own, made
-- after both, so that a copy can fill the tables in the order they are
-- made). Removing the template unties its accounts; they stay.
CREATE TABLE template_accounts (
    account_id BIGINT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    template_id BIGINT NOT NULL REFERENCES account_templates (id) ON DELETE CASCADE
);
CREATE INDEX template_accounts_template ON template_accounts (template_id);

-- What a push learnt about an asset's platform, once.
CREATE TABLE asset_facts (
    asset_id BIGINT PRIMARY KEY REFERENCES assets (id) ON DELETE CASCADE,
    os_id TEXT NOT NULL DEFAULT '',
    os_family TEXT NOT NULL DEFAULT '',
    os_version TEXT NOT NULL DEFAULT '',
    arch TEXT NOT NULL DEFAULT '',
    hostname TEXT NOT NULL DEFAULT '',
    gathered_at TEXT NOT NULL
);

-- Scheduled jobs. A node runs a job only while it holds its lease
-- (lease_owner until lease_until), taken with a conditional UPDATE.
CREATE TABLE automation_jobs (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
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
    created_at TEXT NOT NULL
);
CREATE INDEX automation_jobs_next ON automation_jobs (next_run_at);
