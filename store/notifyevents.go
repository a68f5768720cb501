package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrCursorMoved is returned by AdvanceNotifyCursor when another server
// moved the cursor first: its messages are queued already.
var ErrCursorMoved = errors.New("the notify cursor was moved by another server")

// NotifyCursor returns where the cursor name stands: the last operation
// id notified.
func (s *Store) NotifyCursor(ctx context.Context, name string) (int64, error) {
	var id int64
	err := s.db.QueryRowContext(ctx, `SELECT last_id FROM notify_cursors WHERE name = ?`, name).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("notify cursor %s: %w", name, wrapError(err))
	}
	return id, nil
}

// OperationsAfter returns up to limit operations after id, oldest first,
// of the given actions.
//
// unscoped: the notifier tells of the changes of every organization.
func (s *Store) OperationsAfter(ctx context.Context, after int64, actions []string, limit int) ([]Operation, error) {
	args := []any{after}
	for _, a := range actions {
		args = append(args, a)
	}
	args = append(args, limit)
	rows, err := s.db.QueryContext(ctx, `SELECT id, at, actor, action, target, detail, org_id FROM operations
		WHERE id > ? AND action IN (`+placeholders(len(actions))+`) ORDER BY id LIMIT ?`, args...)
	if err != nil {
		return nil, wrapError(err)
	}
	defer rows.Close()
	out := []Operation{}
	for rows.Next() {
		var o Operation
		var at string
		if err := rows.Scan(&o.ID, &at, &o.Actor, &o.Action, &o.Target, &o.Detail, &o.OrgID); err != nil {
			return nil, wrapError(err)
		}
		o.At = parseTime(at)
		out = append(out, o)
	}
	return out, wrapError(rows.Err())
}

// AdvanceNotifyCursor queues msgs and moves the cursor name from from to
// to, in one transaction: each operation is notified once, by one
// server. ErrCursorMoved when the cursor is no longer at from.
func (s *Store) AdvanceNotifyCursor(ctx context.Context, name string, from, to int64, msgs []NewOutboxMessage) error {
	if len(msgs) > 0 && s.Sealer() == nil {
		return ErrNoKey
	}
	return s.withTx(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `UPDATE notify_cursors SET last_id = ?, updated_at = ? WHERE name = ? AND last_id = ?`,
			to, formatTime(s.now()), name, from)
		if err != nil {
			return wrapError(err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return ErrCursorMoved
		}
		return s.enqueueIn(ctx, q, msgs)
	})
}

// Notification rule modes.
const (
	NotifyOn     = "on"
	NotifyOff    = "off"
	NotifyDigest = "digest" // on, gathered into one mail per notify_digest
)

// NotifyRule says whether a user, or everyone with a role, gets an
// event's mail ("*": every event).
type NotifyRule struct {
	ID          int64     `json:"id" yaml:"id"`
	Event       string    `json:"event" yaml:"event"`
	SubjectKind string    `json:"subject_kind" yaml:"subject_kind"` // user or role
	Subject     string    `json:"subject" yaml:"subject"`
	Mode        string    `json:"mode" yaml:"mode"`
	CreatedAt   time.Time `json:"created_at" yaml:"created_at"`
}

// SetNotifyRule adds or replaces the rule for (event, kind, subject).
func (s *Store) SetNotifyRule(ctx context.Context, r NotifyRule) (NotifyRule, error) {
	if r.Mode != NotifyOn && r.Mode != NotifyOff && r.Mode != NotifyDigest {
		return r, fmt.Errorf("mode %q: want on, off or digest", r.Mode)
	}
	err := s.withTx(ctx, func(q querier) error {
		switch r.SubjectKind {
		case "user":
			var id int64
			if err := q.QueryRowContext(ctx, `SELECT id FROM users WHERE name = ?`, r.Subject).Scan(&id); err != nil {
				return fmt.Errorf("user %q: %w", r.Subject, wrapError(err))
			}
		case "role":
			if err := ValidRole(r.Subject); err != nil {
				return err
			}
		default:
			return fmt.Errorf("rule subject %q: want user or role", r.SubjectKind)
		}
		_, err := q.ExecContext(ctx, `INSERT INTO notify_rules (event, subject_kind, subject, mode, created_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (event, subject_kind, subject) DO UPDATE SET mode = excluded.mode`,
			r.Event, r.SubjectKind, r.Subject, r.Mode, formatTime(s.now()))
		if err != nil {
			return wrapError(err)
		}
		return s.recordOp(ctx, q, "notify.rule.set", r.Event, map[string]any{r.SubjectKind: r.Subject, "mode": r.Mode})
	})
	if err != nil {
		return r, err
	}
	rules, err := s.ListNotifyRules(ctx)
	for _, got := range rules {
		if got.Event == r.Event && got.SubjectKind == r.SubjectKind && got.Subject == r.Subject {
			return got, nil
		}
	}
	return r, err
}

// RemoveNotifyRule removes rule id.
func (s *Store) RemoveNotifyRule(ctx context.Context, id int64) error {
	return s.withTx(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `DELETE FROM notify_rules WHERE id = ?`, id)
		if err != nil {
			return wrapError(err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("notification rule %d: %w", id, ErrNotFound)
		}
		return s.recordOp(ctx, q, "notify.rule.rm", fmt.Sprint(id), nil)
	})
}

// ListNotifyRules returns every rule by event, kind and subject.
func (s *Store) ListNotifyRules(ctx context.Context) ([]NotifyRule, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, event, subject_kind, subject, mode, created_at FROM notify_rules
		ORDER BY event, subject_kind, subject`)
	if err != nil {
		return nil, wrapError(err)
	}
	defer rows.Close()
	out := []NotifyRule{}
	for rows.Next() {
		var r NotifyRule
		var created string
		if err := rows.Scan(&r.ID, &r.Event, &r.SubjectKind, &r.Subject, &r.Mode, &created); err != nil {
			return nil, wrapError(err)
		}
		r.CreatedAt = parseTime(created)
		out = append(out, r)
	}
	return out, wrapError(rows.Err())
}

// Recipient is a person who may get a mail.
type Recipient struct {
	Name, Email, Role string
}

// UsersWithRole returns the enabled users of role that have an address.
func (s *Store) UsersWithRole(ctx context.Context, role string) ([]Recipient, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name, email, role FROM users WHERE role = ? AND email <> '' AND NOT disabled ORDER BY name`, role)
	if err != nil {
		return nil, wrapError(err)
	}
	defer rows.Close()
	out := []Recipient{}
	for rows.Next() {
		var r Recipient
		if err := rows.Scan(&r.Name, &r.Email, &r.Role); err != nil {
			return nil, wrapError(err)
		}
		out = append(out, r)
	}
	return out, wrapError(rows.Err())
}

// GetRecipient returns a user's address and role ("" address: none).
func (s *Store) GetRecipient(ctx context.Context, name string) (Recipient, error) {
	r := Recipient{Name: name}
	err := s.db.QueryRowContext(ctx, `SELECT email, role FROM users WHERE name = ? AND NOT disabled`, name).Scan(&r.Email, &r.Role)
	if err != nil {
		return r, fmt.Errorf("user %q: %w", name, wrapError(err))
	}
	r.Email = strings.TrimSpace(r.Email)
	return r, nil
}

// SourceLogin is a successful login, and whether its source address
// (an IPv6 address as its /64) is new for the user: she logged in
// before, never from there.
type SourceLogin struct {
	ID        int64
	At        time.Time
	User      string
	Source    string
	Method    string
	NewSource bool
}

// LoginsAfter returns up to limit successful logins after id, oldest
// first, each saying whether its source is new for its user.
func (s *Store) LoginsAfter(ctx context.Context, after int64, limit int) ([]SourceLogin, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT e.id, e.at, e.user_name, e.source, e.method,
		NOT EXISTS (SELECT 1 FROM login_events p WHERE p.user_name = e.user_name AND p.result = ? AND p.id < e.id
			AND p.source_key = e.source_key)
		AND EXISTS (SELECT 1 FROM login_events p WHERE p.user_name = e.user_name AND p.result = ? AND p.id < e.id)
		FROM login_events e WHERE e.id > ? AND e.result = ? ORDER BY e.id LIMIT ?`,
		LoginSuccess, LoginSuccess, after, LoginSuccess, limit)
	if err != nil {
		return nil, wrapError(err)
	}
	defer rows.Close()
	out := []SourceLogin{}
	for rows.Next() {
		var l SourceLogin
		var at string
		if err := rows.Scan(&l.ID, &at, &l.User, &l.Source, &l.Method, &l.NewSource); err != nil {
			return nil, wrapError(err)
		}
		l.At = parseTime(at)
		out = append(out, l)
	}
	return out, wrapError(rows.Err())
}

// ExpiringGrant is a grant whose end is near, with the people it reaches.
type ExpiringGrant struct {
	ID    int64
	Name  string
	Until time.Time
	Users []string
	// Key names this notice in notify_sent: told once per grant and end.
	Key string
}

// GrantsExpiring returns the active grants that end after now and by
// now+within, and whose end was not notified yet, with the enabled
// people they reach (directly or through a group, while members of the
// grant's organization).
//
// unscoped: the notifier tells of the grants of every organization.
func (s *Store) GrantsExpiring(ctx context.Context, within time.Duration) ([]ExpiringGrant, error) {
	now := s.now()
	rows, err := s.db.QueryContext(ctx, `SELECT g.id, g.name, g.valid_until FROM grants g
		WHERE g.active AND g.valid_until IS NOT NULL AND g.valid_until > ? AND g.valid_until <= ?
		AND NOT EXISTS (SELECT 1 FROM notify_sent n WHERE n.notice_key = 'grant.expiring:' || g.id || ':' || g.valid_until)
		ORDER BY g.valid_until, g.id`, formatTime(now), formatTime(now.Add(within)))
	if err != nil {
		return nil, wrapError(err)
	}
	var out []ExpiringGrant
	for rows.Next() {
		var g ExpiringGrant
		var until string
		if err := rows.Scan(&g.ID, &g.Name, &until); err != nil {
			rows.Close()
			return nil, wrapError(err)
		}
		g.Until, g.Key = parseTime(until), fmt.Sprintf("grant.expiring:%d:%s", g.ID, until)
		out = append(out, g)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, wrapError(err)
	}
	for i := range out {
		users, err := queryNames(ctx, s.db, `SELECT u.name FROM users u WHERE NOT u.disabled AND (
			u.id IN (SELECT user_id FROM grant_users WHERE grant_id = ?)
			OR u.id IN (SELECT m.user_id FROM group_members m JOIN grant_groups gg ON gg.group_id = m.group_id WHERE gg.grant_id = ?))
			AND u.id IN (SELECT om.user_id FROM org_members om JOIN grants g ON g.org_id = om.org_id WHERE g.id = ?)
			ORDER BY u.name`, out[i].ID, out[i].ID, out[i].ID)
		if err != nil {
			return nil, err
		}
		out[i].Users = users
	}
	return out, nil
}

// EnqueueOnce queues msgs and records key as told, in one transaction;
// it queues nothing and returns false when key was told already.
func (s *Store) EnqueueOnce(ctx context.Context, key string, msgs []NewOutboxMessage) (bool, error) {
	if len(msgs) > 0 && s.Sealer() == nil {
		return false, ErrNoKey
	}
	first := false
	err := s.withTx(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `INSERT INTO notify_sent (notice_key, sent_at) VALUES (?, ?) ON CONFLICT (notice_key) DO NOTHING`,
			key, formatTime(s.now()))
		if err != nil {
			return wrapError(err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return wrapError(err)
		}
		first = true
		return s.enqueueIn(ctx, q, msgs)
	})
	return first, err
}
