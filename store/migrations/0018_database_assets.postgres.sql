-- 0018 (PostgreSQL): database assets. An asset's platform may now be mysql
-- or postgresql; the list of platforms is checked in Go (store.ValidPlatform),
-- so the CHECK goes. 0018_database_assets.sqlite.sql does the same on
-- SQLite (where it rebuilds assets) and explains the rest.
ALTER TABLE assets DROP CONSTRAINT IF EXISTS assets_platform_check;

CREATE TABLE asset_databases (
    asset_id BIGINT PRIMARY KEY REFERENCES assets (id) ON DELETE CASCADE,
    database_name TEXT NOT NULL DEFAULT '',
    tls_mode TEXT NOT NULL DEFAULT 'disable'
        CHECK (tls_mode IN ('disable', 'require', 'verify-ca', 'verify-full')),
    tls_ca_file TEXT NOT NULL DEFAULT ''
);

ALTER TABLE filters ADD COLUMN kind TEXT NOT NULL DEFAULT 'shell';
ALTER TABLE filters ADD COLUMN statements TEXT NOT NULL DEFAULT '';

ALTER TABLE command_events ADD COLUMN row_count BIGINT;
ALTER TABLE command_events ADD COLUMN duration_ms BIGINT;
ALTER TABLE command_events ADD COLUMN error TEXT NOT NULL DEFAULT '';
