-- 0007: MFA grace. A TOTP code accepted at login lets the same user,
-- from the same source address, skip the OTP prompt of new connections
-- (whose first factor succeeded) for mfa_grace after the code's use; off
-- by default. The row is bound to the MFA secret it was proven with
-- (seed_ref): an MFA reset ends it, and the store deletes it when the
-- user is disabled or locked.
CREATE TABLE mfa_grace (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    source TEXT NOT NULL,
    seed_ref TEXT NOT NULL,
    used_at TEXT NOT NULL,
    PRIMARY KEY (user_id, source)
);
