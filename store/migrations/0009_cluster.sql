-- 0009: the cluster. Several `jmsctl serve` nodes on one database.
--
-- servers: the nodes, one row per node name. A node writes heartbeat_at
-- every few seconds; a node whose heartbeat is older than the gone
-- bound is marked 'gone' by whichever node notices, and its active
-- sessions are closed as interrupted. instance is a random id kept in
-- the node's data directory: the same data directory restarting under
-- the same name is the same node (its previous run is over: serve.lock),
-- another one under a name in use is refused while that name is live.
CREATE TABLE servers (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    instance TEXT NOT NULL,
    run_id TEXT NOT NULL,
    address TEXT NOT NULL DEFAULT '',
    version TEXT NOT NULL DEFAULT '',
    started_at TEXT NOT NULL,
    heartbeat_at TEXT NOT NULL,
    live_sessions INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL DEFAULT 'serving' CHECK (state IN ('serving', 'draining', 'gone')),
    gone_reason TEXT NOT NULL DEFAULT ''
);

-- The node that runs a session: it alone ends it, or closes it as
-- interrupted when it starts again; another node closes it only once
-- that node is gone. '' for sessions older than the cluster.
ALTER TABLE sessions ADD COLUMN node TEXT NOT NULL DEFAULT '';
CREATE INDEX sessions_node ON sessions (node, status);

-- The SSH host key every node shows, sealed under the shared secret key
-- (one row). The public half is kept in clear for `jmsctl server list`.
CREATE TABLE cluster_host_key (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    private_key TEXT NOT NULL,
    key_ref TEXT NOT NULL,
    public_key TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- Watching a session held by another node: the watcher asks (a row
-- here, touched while it watches), the node holding the session copies
-- its recording into sealed chunks, the watcher reads and deletes them.
-- At most a few chunks wait at a time: the node stops copying until the
-- watcher has read them.
CREATE TABLE session_watches (
    id INTEGER PRIMARY KEY,
    ref TEXT NOT NULL UNIQUE,
    session_id TEXT NOT NULL,
    node TEXT NOT NULL,
    requested_at TEXT NOT NULL,
    seen_at TEXT NOT NULL,
    sent BIGINT NOT NULL DEFAULT 0,
    next_seq BIGINT NOT NULL DEFAULT 0,
    done BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX session_watches_node ON session_watches (node);

CREATE TABLE session_watch_chunks (
    watch_id BIGINT NOT NULL REFERENCES session_watches (id) ON DELETE CASCADE,
    seq BIGINT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (watch_id, seq)
);

-- Pre-auth refusals per source key and node within the lockout window, so
-- that a source throttled for refusals spread over several nodes is
-- throttled on all: each node writes its counts in memory here at most
-- once a second, one row per source it saw refused (never one write per
-- attempt), and throttles a source on the sum over the nodes.
CREATE TABLE source_refusals (
    source_key TEXT NOT NULL,
    node TEXT NOT NULL,
    since TEXT NOT NULL,
    count INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (source_key, node)
);
