package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/hex"
	"errors"
	"time"
)

// Password reset limits.
const (
	// ResetCodeTTL is how long a reset code works.
	ResetCodeTTL = 15 * time.Minute
	// MaxResetAttempts wrong codes burn a code.
	MaxResetAttempts = 5
)

// ResetRequest is one request for a reset code.
type ResetRequest struct {
	User   string
	Source string // the address, as SourceKey makes it
	// Code is the code to mail; empty when there is nobody to mail (no
	// such user, no address): the request is recorded all the same.
	Code Secret
	// Mail is the message carrying Code, queued with the request.
	Mail *NewOutboxMessage
}

// ResetRequestsSince counts the requests for user and from source since.
func (s *Store) ResetRequestsSince(ctx context.Context, user, source string, since time.Time) (byUser, bySource int, err error) {
	err = s.db.QueryRowContext(ctx, `SELECT
		(SELECT COUNT(*) FROM password_resets WHERE user_name = ? AND created_at >= ?),
		(SELECT COUNT(*) FROM password_resets WHERE source = ? AND created_at >= ?)`,
		user, formatTime(since), source, formatTime(since)).Scan(&byUser, &bySource)
	return byUser, bySource, wrapError(err)
}

func resetHash(user, salt string, code []byte) string {
	h := sha256.New()
	h.Write([]byte(user + "\x00" + salt + "\x00"))
	h.Write(code)
	return hex.EncodeToString(h.Sum(nil))
}

// AddResetRequest records a request, and when it carries a code, ends
// the user's earlier codes and queues its mail, in one transaction.
func (s *Store) AddResetRequest(ctx context.Context, r ResetRequest) error {
	saltB := make([]byte, 16)
	if _, err := rand.Read(saltB); err != nil {
		return err
	}
	salt := hex.EncodeToString(saltB)
	hash := ""
	if len(r.Code) > 0 {
		hash = resetHash(r.User, salt, r.Code)
	}
	now := s.now()
	return s.withTx(ctx, func(q querier) error {
		// Requests are kept a day: enough for the rate limits.
		if _, err := q.ExecContext(ctx, `DELETE FROM password_resets WHERE created_at < ?`, formatTime(now.Add(-24*time.Hour))); err != nil {
			return wrapError(err)
		}
		if hash != "" {
			if _, err := q.ExecContext(ctx, `UPDATE password_resets SET used_at = ? WHERE user_name = ? AND used_at IS NULL`,
				formatTime(now), r.User); err != nil {
				return wrapError(err)
			}
		}
		if _, err := q.ExecContext(ctx, `INSERT INTO password_resets (user_name, source, code_hash, salt, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?)`, r.User, r.Source, hash, salt, formatTime(now), formatTime(now.Add(ResetCodeTTL))); err != nil {
			return wrapError(err)
		}
		if r.Mail != nil {
			if err := s.enqueueIn(ctx, q, []NewOutboxMessage{*r.Mail}); err != nil {
				return err
			}
		}
		return s.recordOp(ctx, q, "user.reset.request", r.User, map[string]any{"source": r.Source, "code_sent": hash != ""})
	})
}

// UseResetCode checks code against user's newest live code and uses it
// up when it matches. A wrong code counts; MaxResetAttempts burn the
// code. It answers false alike for no such user, no code, an expired,
// used or burnt code and a wrong one.
func (s *Store) UseResetCode(ctx context.Context, user string, code Secret) (bool, error) {
	ok := false
	now := formatTime(s.now())
	err := s.withTx(ctx, func(q querier) error {
		var id int64
		var hash, salt string
		var attempts int
		err := q.QueryRowContext(ctx, `SELECT id, code_hash, salt, attempts FROM password_resets
			WHERE user_name = ? AND code_hash <> '' AND used_at IS NULL AND expires_at > ? ORDER BY id DESC LIMIT 1`, user, now).
			Scan(&id, &hash, &salt, &attempts)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return wrapError(err)
		}
		ok = hash != "" && subtle.ConstantTimeCompare([]byte(hash), []byte(resetHash(user, salt, code))) == 1
		var used any
		if ok || attempts+1 >= MaxResetAttempts {
			used = now
		}
		_, err = q.ExecContext(ctx, `UPDATE password_resets SET attempts = attempts + 1, used_at = ? WHERE id = ?`, used, id)
		return wrapError(err)
	})
	return ok, err
}
