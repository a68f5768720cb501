-- 0016: organizations. One install serves several teams: every asset,
-- node, account (through its asset), template, group, grant, filter,
-- login rule, ticket, session and operation belongs to one
-- organization. People are global and members of orgs with a role per
-- org. A single-org install moves into "default" (id 1) whole: every
-- row gets org_id 1 and every person becomes a member of it.
--
-- orgs: removed_at marks an organization removed; its history (sessions,
-- tickets, operations) keeps pointing at it, and its name is free again.
CREATE TABLE orgs (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    comment TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    removed_at TEXT
);
CREATE UNIQUE INDEX orgs_name ON orgs (name) WHERE removed_at IS NULL;
INSERT INTO orgs (name, comment, created_at)
    VALUES ('default', 'the organization of a single-org install', '2026-01-01T00:00:00.000000Z');

-- org_members: who belongs to which organization, with what role there:
-- org-admin manages the org's inventory, grants, filters and tickets;
-- org-auditor reads its sessions and audit, replays, watches and kills;
-- user may be granted the org's assets. System roles (users.role admin
-- and auditor) reach every org without being members.
CREATE TABLE org_members (
    org_id BIGINT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role TEXT NOT NULL DEFAULT 'user' CHECK (role IN ('org-admin', 'org-auditor', 'user')),
    created_at TEXT NOT NULL,
    PRIMARY KEY (org_id, user_id)
);
CREATE INDEX org_members_user ON org_members (user_id);
INSERT INTO org_members (org_id, user_id, role, created_at)
    SELECT 1, id, 'user', created_at FROM users;

-- History rows carry their organization (no foreign key: history
-- outlives a removed organization).
ALTER TABLE sessions ADD COLUMN org_id BIGINT NOT NULL DEFAULT 1;
ALTER TABLE tickets ADD COLUMN org_id BIGINT NOT NULL DEFAULT 1;
ALTER TABLE operations ADD COLUMN org_id BIGINT NOT NULL DEFAULT 1;
ALTER TABLE command_events ADD COLUMN org_id BIGINT NOT NULL DEFAULT 1;
ALTER TABLE transfer_events ADD COLUMN org_id BIGINT NOT NULL DEFAULT 1;
CREATE INDEX sessions_org ON sessions (org_id, started_at);
CREATE INDEX tickets_org ON tickets (org_id, status);
CREATE INDEX operations_org ON operations (org_id, at);
CREATE INDEX command_events_org ON command_events (org_id, at);
CREATE INDEX transfer_events_org ON transfer_events (org_id, at);
