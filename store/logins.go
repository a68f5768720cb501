package store

import (
	"context"
	"errors"
	"net/netip"
	"time"
)

// Login results.
const (
	LoginSuccess = "success"
	LoginFailure = "failure"
)

// LoginAggregateWindow is how long repeated identical failures (same
// user, source, method and reason) fold into one row with a count.
const LoginAggregateWindow = time.Minute

// LoginEvent is one login attempt at the bastion, or a run of identical
// failed ones: Count attempts between At and LastAt.
type LoginEvent struct {
	ID     int64     `json:"-" yaml:"-"`
	At     time.Time `json:"at" yaml:"at"`
	LastAt time.Time `json:"last_at" yaml:"last_at"`
	User   string    `json:"user" yaml:"user"`     // the name as given, known or not
	Source string    `json:"source" yaml:"source"` // the client's IP address
	Method string    `json:"method" yaml:"method"` // password, publickey, connect, sftp …
	Result string    `json:"result" yaml:"result"` // success or failure
	Reason string    `json:"reason" yaml:"reason"` // why it failed; what it reached
	MFA    bool      `json:"mfa" yaml:"mfa"`
	Count  int       `json:"count" yaml:"count"` // attempts; 0 is 1 when adding
}

// AnySource is the source of a lock that holds from every address: a
// person whose password was guessed at too often, from everywhere.
const AnySource = "*"

// SourceKey is what failed logins are counted and locked by: an IPv4
// address as it is, an IPv6 address as its /64 network (one host
// usually owns a whole /64). Anything else, a key included, is returned
// as it is.
func SourceKey(source string) string {
	a, err := netip.ParseAddr(source)
	if err != nil {
		return source
	}
	a = a.WithZone("").Unmap()
	if a.Is4() {
		return a.String()
	}
	return netip.PrefixFrom(a, 64).Masked().String()
}

// AddLoginEvent records a login attempt, or e.Count identical ones; a
// zero At is the store's now. A failure identical to one recorded less
// than LoginAggregateWindow before (same user, source, method and
// reason) adds to that row's count and moves its last_at instead of
// adding a row, so that a password-guessing flood cannot grow the audit
// without bound.
func (s *Store) AddLoginEvent(ctx context.Context, e LoginEvent) error {
	if e.User == "" && e.Source == "" {
		return errors.New("a login event needs a user or a source")
	}
	switch e.Result {
	case LoginSuccess, LoginFailure:
	default:
		return errors.New("a login event's result is success or failure")
	}
	if e.At.IsZero() {
		e.At = s.now()
	}
	if e.Count < 1 {
		e.Count = 1
	}
	at := formatTime(e.At)
	return s.withTx(ctx, func(q querier) error {
		if e.Result == LoginFailure {
			res, err := q.ExecContext(ctx, `UPDATE login_events SET last_at = ?, count = count + ?
				WHERE id = (SELECT id FROM login_events WHERE user_name = ? AND source = ? AND method = ?
					AND result = ? AND reason = ? AND mfa = ? AND at >= ? AND at <= ? ORDER BY id DESC LIMIT 1)`,
				at, e.Count, e.User, e.Source, e.Method, e.Result, e.Reason, e.MFA,
				formatTime(e.At.Add(-LoginAggregateWindow)), at)
			if err != nil {
				return wrapError(err)
			}
			if n, err := res.RowsAffected(); err == nil && n > 0 {
				return nil
			}
		}
		_, err := q.ExecContext(ctx, `INSERT INTO login_events (at, last_at, user_name, source, source_key, method, result, reason, mfa, count)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, at, at, e.User, e.Source, SourceKey(e.Source), e.Method, e.Result, e.Reason, e.MFA, e.Count)
		return wrapError(err)
	})
}

// LoginQuery narrows ListLoginEvents. Zero fields match everything.
type LoginQuery struct {
	User   string
	Source string
	Result string    // success or failure
	Since  time.Time // rows whose last attempt is at or after Since
	Limit  int       // 1000 when zero
}

// ListLoginEvents returns the login audit, oldest first (the newest
// Limit rows).
func (s *Store) ListLoginEvents(ctx context.Context, lq LoginQuery) ([]LoginEvent, error) {
	query := `SELECT id, at, last_at, user_name, source, method, result, reason, mfa, count FROM login_events WHERE 1=1`
	var args []any
	if lq.User != "" {
		query += ` AND user_name = ?`
		args = append(args, lq.User)
	}
	if lq.Source != "" {
		query += ` AND source = ?`
		args = append(args, lq.Source)
	}
	if lq.Result != "" {
		query += ` AND result = ?`
		args = append(args, lq.Result)
	}
	if !lq.Since.IsZero() {
		query += ` AND last_at >= ?`
		args = append(args, formatTime(lq.Since))
	}
	limit := lq.Limit
	if limit <= 0 {
		limit = 1000
	}
	query += ` ORDER BY id DESC LIMIT ?`
	args = append(args, limit)
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, wrapError(err)
	}
	defer rows.Close()
	var out []LoginEvent
	for rows.Next() {
		var e LoginEvent
		var at, last string
		if err := rows.Scan(&e.ID, &at, &last, &e.User, &e.Source, &e.Method, &e.Result, &e.Reason, &e.MFA, &e.Count); err != nil {
			return nil, wrapError(err)
		}
		e.At, e.LastAt = parseTime(at), parseTime(last)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, wrapError(err)
	}
	reverse(out)
	return out, nil
}
