-- 0017 (PostgreSQL): names are unique within an organization. The
-- inventory's tables get their org_id; each UNIQUE (name) becomes
-- UNIQUE (org_id, name). (0017_org_names.sqlite.sql does the same on
-- SQLite, which cannot drop a constraint and rebuilds the tables.)
ALTER TABLE groups ADD COLUMN org_id BIGINT NOT NULL DEFAULT 1 REFERENCES orgs (id);
ALTER TABLE groups DROP CONSTRAINT groups_name_key;
ALTER TABLE groups ADD CONSTRAINT groups_org_name UNIQUE (org_id, name);

ALTER TABLE nodes ADD COLUMN org_id BIGINT NOT NULL DEFAULT 1 REFERENCES orgs (id);
ALTER TABLE nodes DROP CONSTRAINT nodes_path_key;
ALTER TABLE nodes ADD CONSTRAINT nodes_org_path UNIQUE (org_id, path);

ALTER TABLE assets ADD COLUMN org_id BIGINT NOT NULL DEFAULT 1 REFERENCES orgs (id);
ALTER TABLE assets DROP CONSTRAINT assets_name_key;
ALTER TABLE assets ADD CONSTRAINT assets_org_name UNIQUE (org_id, name);

ALTER TABLE grants ADD COLUMN org_id BIGINT NOT NULL DEFAULT 1 REFERENCES orgs (id);
ALTER TABLE grants DROP CONSTRAINT grants_name_key;
ALTER TABLE grants ADD CONSTRAINT grants_org_name UNIQUE (org_id, name);

ALTER TABLE filters ADD COLUMN org_id BIGINT NOT NULL DEFAULT 1 REFERENCES orgs (id);
ALTER TABLE filters DROP CONSTRAINT filters_name_key;
ALTER TABLE filters ADD CONSTRAINT filters_org_name UNIQUE (org_id, name);

ALTER TABLE login_rules ADD COLUMN org_id BIGINT NOT NULL DEFAULT 1 REFERENCES orgs (id);
ALTER TABLE login_rules DROP CONSTRAINT login_rules_name_key;
ALTER TABLE login_rules ADD CONSTRAINT login_rules_org_name UNIQUE (org_id, name);

ALTER TABLE account_templates ADD COLUMN org_id BIGINT NOT NULL DEFAULT 1 REFERENCES orgs (id);
ALTER TABLE account_templates DROP CONSTRAINT account_templates_name_key;
ALTER TABLE account_templates ADD CONSTRAINT account_templates_org_name UNIQUE (org_id, name);

ALTER TABLE automation_jobs ADD COLUMN org_id BIGINT NOT NULL DEFAULT 1 REFERENCES orgs (id);
ALTER TABLE automation_jobs DROP CONSTRAINT automation_jobs_name_key;
ALTER TABLE automation_jobs ADD CONSTRAINT automation_jobs_org_name UNIQUE (org_id, name);
