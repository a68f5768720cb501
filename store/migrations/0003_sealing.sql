-- 0003: sealing bound to values never reused, and the key secrets are sealed with.
--
-- Row ids are reused (INTEGER PRIMARY KEY without AUTOINCREMENT), so a v2
-- envelope is bound also to a random ref made at each seal and kept beside
-- it; '' for values sealed before (v1 envelopes, bound to the row id only,
-- opened as before and re-sealed as v2 by `jmsctl secret rekey`).
ALTER TABLE accounts ADD COLUMN secret_ref TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN mfa_seed_ref TEXT NOT NULL DEFAULT '';

-- The id of the key new secrets must be sealed with: one row, changed in
-- the transaction of a rekey. Every seal reads it in its own transaction,
-- so a running server never seals with a key a rekey has replaced.
CREATE TABLE sealing_key (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    key_id TEXT NOT NULL,
    changed_at TEXT NOT NULL
);
