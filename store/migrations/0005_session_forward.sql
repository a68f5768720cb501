-- 0005: every channel is a session. A forwarded port (kind 'forward') has
-- a row of its own like a shell or an SFTP session: where it goes
-- (target, "web1:8080") and the bytes it moved each way, from the client
-- (bytes_in) and to it (bytes_out).
ALTER TABLE sessions ADD COLUMN target TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN bytes_in BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN bytes_out BIGINT NOT NULL DEFAULT 0;
