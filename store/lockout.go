package store

import (
	"context"
	"database/sql"
	"time"
)

// FailureCounts are the failed logins counted for a lockout decision,
// from the login audit (so they survive a restart). A folded audit row
// counts whole when its last attempt is in the window, so a count can
// include up to LoginAggregateWindow more than the window.
type FailureCounts struct {
	UserSource int // failures of this name from this source key
	User       int // failures of this name from every source
	Names      int // distinct names that failed from this source key
}

// CountFailures counts the failures with one of reasons since since;
// source is an address or its SourceKey.
func (s *Store) CountFailures(ctx context.Context, user, source string, since time.Time, reasons []string) (FailureCounts, error) {
	var fc FailureCounts
	if len(reasons) == 0 {
		return fc, nil
	}
	in := "?" + repeatString(", ?", len(reasons)-1)
	args := func(head ...any) []any {
		for _, r := range reasons {
			head = append(head, r)
		}
		return head
	}
	from := formatTime(since)
	source = SourceKey(source)
	var n sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT SUM(count) FROM login_events WHERE user_name = ? AND source_key = ?
		AND result = 'failure' AND last_at >= ? AND reason IN (`+in+`)`, args(user, source, from)...).Scan(&n)
	if err != nil {
		return fc, wrapError(err)
	}
	fc.UserSource = int(n.Int64)
	err = s.db.QueryRowContext(ctx, `SELECT SUM(count) FROM login_events WHERE user_name = ?
		AND result = 'failure' AND last_at >= ? AND reason IN (`+in+`)`, args(user, from)...).Scan(&n)
	if err != nil {
		return fc, wrapError(err)
	}
	fc.User = int(n.Int64)
	err = s.db.QueryRowContext(ctx, `SELECT COUNT(DISTINCT user_name) FROM login_events WHERE source_key = ?
		AND result = 'failure' AND last_at >= ? AND reason IN (`+in+`)`, args(source, from)...).Scan(&fc.Names)
	return fc, wrapError(err)
}

func repeatString(s string, n int) string {
	out := ""
	for range n {
		out += s
	}
	return out
}

// LoginLock is a lockout after failed logins: User locked from Source
// (a SourceKey), User's password refused from everywhere (Source
// AnySource), or (User "") Source throttled for every name. An
// administrator's lock of a user is users.locked_until, not one of these.
type LoginLock struct {
	User        string    `json:"user" yaml:"user"`
	Source      string    `json:"source" yaml:"source"`
	LockedUntil time.Time `json:"locked_until" yaml:"locked_until"`
	Reason      string    `json:"reason" yaml:"reason"`
	CreatedAt   time.Time `json:"created_at" yaml:"created_at"`
}

// LockLogin locks user (any name, known or not; "" for every name) from
// source (an address, its SourceKey, or AnySource) until until, and ends
// the user's MFA graces. It is audited in the operations log.
func (s *Store) LockLogin(ctx context.Context, user, source string, until time.Time, reason string) error {
	source = SourceKey(source)
	return s.withTx(ctx, func(q querier) error {
		now := formatTime(s.now())
		_, err := q.ExecContext(ctx, `INSERT INTO login_locks (user_name, source, locked_until, reason, created_at)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_name, source) DO UPDATE SET locked_until = excluded.locked_until,
			reason = excluded.reason, created_at = excluded.created_at`, user, source, formatTime(until), reason, now)
		if err != nil {
			return wrapError(err)
		}
		if user != "" {
			if err := endMFAGraceOf(ctx, q, user); err != nil {
				return err
			}
		}
		action, target := "login.lock", user
		if user == "" {
			action, target = "login.throttle", source
		}
		return s.recordOp(ctx, q, action, target, map[string]any{"source": source, "until": until.UTC(), "reason": reason})
	})
}

// LoginLockedUntil returns when the lock of user from source (or of
// source for every name) ends, if one is in force at now. source is an
// address, its SourceKey, or AnySource.
func (s *Store) LoginLockedUntil(ctx context.Context, user, source string, now time.Time) (time.Time, bool, error) {
	source = SourceKey(source)
	var until string
	err := s.db.QueryRowContext(ctx, `SELECT MAX(locked_until) FROM login_locks WHERE source = ?
		AND (user_name = ? OR user_name = '') AND locked_until > ?`, source, user, formatTime(now)).Scan(&sqlNullString{&until})
	if err != nil {
		return time.Time{}, false, wrapError(err)
	}
	if until == "" {
		return time.Time{}, false, nil
	}
	return parseTime(until), true, nil
}

// ListLoginLocks returns the locks in force at now: of user when user
// is not "", else all.
func (s *Store) ListLoginLocks(ctx context.Context, user string, now time.Time) ([]LoginLock, error) {
	query := `SELECT user_name, source, locked_until, reason, created_at FROM login_locks WHERE locked_until > ?`
	args := []any{formatTime(now)}
	if user != "" {
		query += ` AND user_name = ?`
		args = append(args, user)
	}
	rows, err := s.db.QueryContext(ctx, query+` ORDER BY user_name, source`, args...)
	if err != nil {
		return nil, wrapError(err)
	}
	defer rows.Close()
	var out []LoginLock
	for rows.Next() {
		var l LoginLock
		var until, created string
		if err := rows.Scan(&l.User, &l.Source, &until, &l.Reason, &created); err != nil {
			return nil, wrapError(err)
		}
		l.LockedUntil, l.CreatedAt = parseTime(until), parseTime(created)
		out = append(out, l)
	}
	return out, wrapError(rows.Err())
}

// UnlockLogins lifts every lock of user after failed logins, or the
// throttle of source (an address or its SourceKey) when user is "". It
// reports how many it lifted.
func (s *Store) UnlockLogins(ctx context.Context, user, source string) (int, error) {
	source = SourceKey(source)
	var n int64
	err := s.withTx(ctx, func(q querier) error {
		var res sql.Result
		var err error
		if user != "" {
			res, err = q.ExecContext(ctx, `DELETE FROM login_locks WHERE user_name = ?`, user)
		} else {
			res, err = q.ExecContext(ctx, `DELETE FROM login_locks WHERE user_name = '' AND source = ?`, source)
		}
		if err != nil {
			return wrapError(err)
		}
		n, _ = res.RowsAffected()
		if n == 0 {
			return nil
		}
		target := user
		if user == "" {
			target = source
		}
		return s.recordOp(ctx, q, "login.unlock", target, map[string]any{"locks": n})
	})
	return int(n), err
}

// sqlNullString scans a NULL as "".
type sqlNullString struct{ p *string }

func (n *sqlNullString) Scan(v any) error {
	var ns sql.NullString
	if err := ns.Scan(v); err != nil {
		return err
	}
	*n.p = ns.String
	return nil
}
