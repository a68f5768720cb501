package store

import (
	"context"
	"encoding/json"
	"time"
)

type actorKey struct{}

// WithActor returns a context whose changes are audited as done by
// actor, e.g. "os:root" for jmsctl run by root or "ssh:alice".
func WithActor(ctx context.Context, actor string) context.Context {
	return context.WithValue(ctx, actorKey{}, actor)
}

func actorFrom(ctx context.Context) string {
	if a, ok := ctx.Value(actorKey{}).(string); ok && a != "" {
		return a
	}
	return "unknown"
}

// Operation is one change in the operations audit.
type Operation struct {
	ID     int64     `json:"id" yaml:"id"`
	At     time.Time `json:"at" yaml:"at"`
	Actor  string    `json:"actor" yaml:"actor"`
	Action string    `json:"action" yaml:"action"`
	Target string    `json:"target" yaml:"target"`
	Detail string    `json:"detail" yaml:"detail"`
	// OrgID is the organization the change was made in (0: across
	// organizations), Org its name ("" across organizations).
	OrgID int64  `json:"-" yaml:"-"`
	Org   string `json:"org" yaml:"org"`
}

// recordOp writes one operation in the transaction of the change it
// describes. detail is encoded as JSON; it must never hold a secret.
//
// unscoped: it writes the scope's own organization (0 across organizations).
func (s *Store) recordOp(ctx context.Context, q querier, action, target string, detail any) error {
	var d string
	switch v := detail.(type) {
	case nil:
	case string:
		d = v
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		d = string(b)
	}
	// The organization of the scope the change was made in; 0 for a
	// change made across organizations (people, settings, the cluster).
	_, err := q.ExecContext(ctx, `INSERT INTO operations (at, actor, action, target, detail, org_id) VALUES (?, ?, ?, ?, ?, ?)`,
		formatTime(s.now()), actorFrom(ctx), action, target, d, s.scope.org)
	return wrapError(err)
}

// AuditQuery narrows an audit listing. Zero fields match everything.
type AuditQuery struct {
	User    string
	Asset   string
	Session string
	Verdict string
	Since   time.Time
	Limit   int // 1000 when zero
}

func (a AuditQuery) limit() int {
	if a.Limit <= 0 {
		return 1000
	}
	return a.Limit
}

// ListOperations returns the operations audit of the scope, oldest
// first: one organization's changes, or (all-orgs view) every change,
// those made across organizations (org 0) with them. The default
// organization's view shows the changes across organizations too (people
// changing their password or MFA in the menu, settings), so that a
// single-org install's audit holds every change as it always did. User matches the
// actor's name (with or without its "os:"/"ssh:" prefix, and with the
// " from ADDRESS" of a change made over SSH).
func (s *Store) ListOperations(ctx context.Context, aq AuditQuery) ([]Operation, error) {
	query := `SELECT o.id, o.at, o.actor, o.action, o.target, o.detail, o.org_id, COALESCE(g.name, '')
		FROM operations o LEFT JOIN orgs g ON g.id = o.org_id WHERE ` + s.historyCond("o")
	var args []any
	if !aq.Since.IsZero() {
		query += ` AND o.at >= ?`
		args = append(args, formatTime(aq.Since))
	}
	if aq.User != "" {
		query += ` AND (o.actor = ? OR o.actor LIKE ? OR o.actor LIKE ?)`
		args = append(args, aq.User, "%:"+aq.User, "%:"+aq.User+" from %")
	}
	if aq.Asset != "" {
		query += ` AND o.target = ?`
		args = append(args, aq.Asset)
	}
	query += ` ORDER BY o.id DESC LIMIT ?`
	args = append(args, aq.limit())
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, wrapError(err)
	}
	defer rows.Close()
	var out []Operation
	for rows.Next() {
		var o Operation
		var at string
		if err := rows.Scan(&o.ID, &at, &o.Actor, &o.Action, &o.Target, &o.Detail, &o.OrgID, &o.Org); err != nil {
			return nil, wrapError(err)
		}
		o.At = parseTime(at)
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, wrapError(err)
	}
	reverse(out)
	return out, nil
}

func reverse[T any](s []T) {
	for i, j := 0, len(s)-1; i < j; i, j = i+1, j-1 {
		s[i], s[j] = s[j], s[i]
	}
}
