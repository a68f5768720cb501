package store

import (
	"context"
	"time"
)

// InviteUser gives name a one-time password (its hash) that she must
// change at her first login and that stops working at expires, and
// queues the invitation that tells it to her, in one transaction.
func (s *Store) InviteUser(ctx context.Context, name, hash string, expires time.Time, msgs []NewOutboxMessage) error {
	if s.Sealer() == nil {
		return ErrNoKey
	}
	return s.withTx(ctx, func(q querier) error {
		now := formatTime(s.now())
		if err := execOne(ctx, q, "user", name, `UPDATE users SET password_hash = ?, password_changed_at = ?,
			must_change_password = TRUE, invite_expires_at = ?, updated_at = ? WHERE name = ?`,
			hash, now, formatTime(expires), now, name); err != nil {
			return err
		}
		if err := s.enqueueIn(ctx, q, msgs); err != nil {
			return err
		}
		return s.recordOp(ctx, q, "user.invite", name, map[string]any{"expires": expires.UTC()})
	})
}
