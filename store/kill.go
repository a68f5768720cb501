package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// KillRequest is an admin's request to end a live session: the bastion
// that owns the session polls for them and ends it.
type KillRequest struct {
	SessionID   string
	RequestedAt time.Time
	By          string // the actor who asked, as the operations audit names her
	Reason      string
}

// MaxKillReason bounds the reason given with a kill, in bytes.
const MaxKillReason = 500

// RequestKill asks the bastion running session idOrPrefix to end it, for
// reason. The request is audited (session.kill) as done by the context's
// actor, in the session's organization. It returns the session; a
// session that has already ended is an error that says how it ended, one
// of another organization than the view's is not found.
func (s *Store) RequestKill(ctx context.Context, idOrPrefix, reason string) (Session, error) {
	reason = strings.TrimSpace(strings.ReplaceAll(strings.ReplaceAll(reason, "\r", " "), "\n", " "))
	if len(reason) > MaxKillReason {
		return Session{}, fmt.Errorf("kill reason: at most %d bytes", MaxKillReason)
	}
	ss, err := s.GetSession(ctx, idOrPrefix)
	if err != nil {
		return Session{}, err
	}
	if ss.Status != StatusActive {
		return ss, fmt.Errorf("session %s is not live: it ended (%s: %s)", ss.ID, ss.Status, ss.EndReason)
	}
	err = s.withTx(ctx, func(q querier) error {
		if err := execOne(ctx, q, "active session", ss.ID, `UPDATE sessions SET kill_requested_at = ?, kill_reason = ?
			WHERE id = ? AND status = ?`, formatTime(s.now()), reason, ss.ID, StatusActive); err != nil {
			return err
		}
		return s.InOrg(ss.OrgID).recordOp(ctx, q, "session.kill", ss.ID, map[string]any{"user": ss.User, "asset": ss.Asset, "reason": reason})
	})
	if err != nil {
		return ss, err
	}
	return ss, nil
}

// PendingKills returns the kill requests of the active sessions among
// ids (all active sessions when ids is empty), with who asked.
//
// unscoped: the bastion polls for the kills of its own sessions, whatever their organization.
func (s *Store) PendingKills(ctx context.Context, ids []string) ([]KillRequest, error) {
	query := `SELECT s.id, s.kill_requested_at, s.kill_reason,
		COALESCE((SELECT o.actor FROM operations o WHERE o.action = 'session.kill' AND o.target = s.id ORDER BY o.id DESC LIMIT 1), '')
		FROM sessions s WHERE s.status = ? AND s.kill_requested_at IS NOT NULL`
	args := []any{StatusActive}
	if len(ids) > 0 {
		query += ` AND s.id IN (` + placeholders(len(ids)) + `)`
		for _, id := range ids {
			args = append(args, id)
		}
	}
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, wrapError(err)
	}
	defer rows.Close()
	var out []KillRequest
	for rows.Next() {
		var k KillRequest
		var at string
		if err := rows.Scan(&k.SessionID, &at, &k.Reason, &k.By); err != nil {
			return nil, wrapError(err)
		}
		k.RequestedAt = parseTime(at)
		out = append(out, k)
	}
	return out, wrapError(rows.Err())
}
