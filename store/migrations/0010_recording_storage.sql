-- 0010: where each session's recording is. A session's recording is a set
-- of files (the asciicast, and for some sessions more beside it); each has
-- a row with its size and SHA-256 taken when the session ended (tamper
-- evidence, also for recordings that never leave the local disk), where it
-- is (state: local, spool, stored, expired, missing), its object's key,
-- size and SHA-256 once uploaded, and the upload's attempts and last error.
-- sessions.recording_state sums them up for listings: '' until the
-- recording's files are registered, then local, spool, stored, expired or
-- missing.
ALTER TABLE sessions ADD COLUMN recording_state TEXT NOT NULL DEFAULT '';
CREATE INDEX sessions_recording_state ON sessions (recording_state);

CREATE TABLE recording_files (
    id INTEGER PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    local_path TEXT NOT NULL DEFAULT '',
    size BIGINT NOT NULL DEFAULT 0,
    sha256 TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL,
    object_key TEXT NOT NULL DEFAULT '',
    object_size BIGINT NOT NULL DEFAULT 0,
    object_sha256 TEXT NOT NULL DEFAULT '',
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    next_attempt_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    stored_at TEXT,
    UNIQUE (session_id, name)
);
CREATE INDEX recording_files_due ON recording_files (state, next_attempt_at);
