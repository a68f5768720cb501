-- 0018 (SQLite): database assets. An asset's platform may now be mysql or
-- postgresql; the list of platforms is checked in Go (store.ValidPlatform),
-- not by a CHECK, so that a platform to come needs no rebuild again. SQLite
-- cannot drop a CHECK, so assets is rebuilt once without it, as 0017 did
-- (foreign keys are off during a migration and checked after it).
-- Rows with the old platform 'database' stay as they are: such an asset has
-- no engine, and the bastion says so until its platform is set.
-- 0018_database_assets.postgres.sql does the same on PostgreSQL.

CREATE TABLE assets_new (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    address TEXT NOT NULL,
    port INTEGER NOT NULL DEFAULT 22,
    platform TEXT NOT NULL DEFAULT 'linux',
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
INSERT INTO assets_new (id, name, address, port, platform, node_id, comment, active, host_key, host_key_pinned_at,
        created_at, updated_at, org_id)
    SELECT id, name, address, port, platform, node_id, comment, active, host_key, host_key_pinned_at,
        created_at, updated_at, org_id FROM assets;
DROP TABLE assets;
ALTER TABLE assets_new RENAME TO assets;
CREATE INDEX assets_node ON assets (node_id);
CREATE INDEX assets_address ON assets (address);

-- A database asset's settings: the database (schema) a session starts in,
-- and how the bastion protects its connection to the server.
CREATE TABLE asset_databases (
    asset_id BIGINT PRIMARY KEY REFERENCES assets (id) ON DELETE CASCADE,
    database_name TEXT NOT NULL DEFAULT '',
    tls_mode TEXT NOT NULL DEFAULT 'disable'
        CHECK (tls_mode IN ('disable', 'require', 'verify-ca', 'verify-full')),
    tls_ca_file TEXT NOT NULL DEFAULT ''
);

-- Filters judge shell command lines (kind 'shell') or SQL statements
-- (kind 'sql'); statements lists the statement kinds a SQL filter
-- matches (DROP, TRUNCATE …), one a line, like commands.
ALTER TABLE filters ADD COLUMN kind TEXT NOT NULL DEFAULT 'shell';
ALTER TABLE filters ADD COLUMN statements TEXT NOT NULL DEFAULT '';

-- A SQL statement's outcome in the command audit: rows returned or
-- affected, how long it ran, and the server's error (NULL: not a
-- statement, or it never ran).
ALTER TABLE command_events ADD COLUMN row_count BIGINT;
ALTER TABLE command_events ADD COLUMN duration_ms BIGINT;
ALTER TABLE command_events ADD COLUMN error TEXT NOT NULL DEFAULT '';
