-- 0004: failed logins are counted and locked per source key: an IPv4
-- address, or the /64 network of an IPv6 address (one host usually owns
-- a whole /64, so counting its addresses one by one would let it guess
-- 2^64 times as often). Older rows keep their address as their key.
ALTER TABLE login_events ADD COLUMN source_key TEXT NOT NULL DEFAULT '';
UPDATE login_events SET source_key = source;
CREATE INDEX login_events_source_key ON login_events (source_key, last_at);
