package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Kinds of session.
const (
	SessionShell   = "shell"   // an interactive shell, with or without a PTY
	SessionExec    = "exec"    // one command
	SessionSFTP    = "sftp"    // an SFTP subsystem: file transfers, audited per operation
	SessionForward = "forward" // a forwarded TCP connection (ssh -L, -W, ProxyJump)
	SessionSQL     = "sql"     // a SQL console or one-shot statements on a database asset
)

// Statuses of a session.
const (
	StatusActive      = "active"      // running now
	StatusClosed      = "closed"      // ended normally, whatever the exit status
	StatusFailed      = "failed"      // never got going, or broke (host key, recording)
	StatusInterrupted = "interrupted" // left active by a bastion that stopped
	StatusKilled      = "killed"      // ended by an admin, or by the bastion (grant revoked, user disabled, idle or duration limit)
)

// Session is one session through the bastion (a shell, a command, SFTP,
// a forwarded port) and its recording, if it has one. It keeps names, not
// references: the audit outlives the people and assets it names.
type Session struct {
	ID              string     `json:"id" yaml:"id"`
	Kind            string     `json:"kind" yaml:"kind"`
	User            string     `json:"user" yaml:"user"`
	Asset           string     `json:"asset" yaml:"asset"`
	Account         string     `json:"account" yaml:"account"`
	Source          string     `json:"source" yaml:"source"`
	Command         string     `json:"command" yaml:"command"`
	Target          string     `json:"target" yaml:"target"`
	BytesIn         int64      `json:"bytes_in" yaml:"bytes_in"`
	BytesOut        int64      `json:"bytes_out" yaml:"bytes_out"`
	StartedAt       time.Time  `json:"started_at" yaml:"started_at"`
	EndedAt         *time.Time `json:"ended_at" yaml:"ended_at"`
	Status          string     `json:"status" yaml:"status"`
	ExitStatus      *int       `json:"exit_status" yaml:"exit_status"`
	EndReason       string     `json:"end_reason" yaml:"end_reason"`
	RecordingPath   string     `json:"recording_path" yaml:"recording_path"`
	RecordingSize   int64      `json:"recording_size" yaml:"recording_size"`
	RecordingSHA256 string     `json:"recording_sha256" yaml:"recording_sha256"`
	// Node is the bastion node that runs the session; "" for sessions
	// older than the cluster.
	Node string `json:"node" yaml:"node"`
	// RecordingState is where the recording is: "" until its files are
	// registered after the session, then one of the Recording* states.
	RecordingState string `json:"recording_state" yaml:"recording_state"`
	// OrgID is the organization of the session's asset (0 for a session
	// across organizations: the SFTP root of every granted asset).
	OrgID int64 `json:"-" yaml:"-"`
}

// Duration returns how long the session lasted, or has lasted by now.
func (s Session) Duration(now time.Time) time.Duration {
	end := now
	if s.EndedAt != nil {
		end = *s.EndedAt
	}
	if end.Before(s.StartedAt) {
		return 0
	}
	return end.Sub(s.StartedAt)
}

// NewSession is what StartSession needs.
type NewSession struct {
	// ID is the session's id; empty means a new random UUIDv4. The proxy
	// picks it itself so that the recording's file name carries it.
	ID   string
	Kind string // SessionShell, SessionExec, SessionSFTP or SessionForward; SessionShell when empty
	User string
	// AssetID is the asset's id: the session belongs to its
	// organization. Zero: the asset called Asset in the view's
	// organization (or the one of that name, in the all-orgs view).
	AssetID int64
	Asset   string
	Account string
	Source  string // the client's address
	Command string
	// Target is where a forward goes, as "asset:port".
	Target string
	// RecordingPath is where the recording is written, relative to the
	// data directory (or absolute); empty when there is none.
	RecordingPath string
	// StartedAt is the start; the store's clock when zero.
	StartedAt time.Time
	// Node is the bastion node that runs it (see servers.go).
	Node string
}

// SessionEnd is how a session ended.
type SessionEnd struct {
	Status          string // StatusClosed, StatusFailed or StatusKilled
	ExitStatus      *int   // nil when there was none (never connected)
	Reason          string // why it ended, for people
	RecordingSize   int64
	RecordingSHA256 string
	// BytesIn and BytesOut are what a forward moved, from the client and
	// to it.
	BytesIn, BytesOut int64
	// EndedAt is the end; the store's clock when zero.
	EndedAt time.Time
}

// ShortSessionID is the first 8 characters of a session id, as tables,
// menus and messages show it; every command takes any unique prefix.
func ShortSessionID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// SessionQuery narrows ListSessions. Zero fields match everything.
type SessionQuery struct {
	Active bool // only sessions still running
	User   string
	Asset  string
	Since  time.Time // started at or after
	Limit  int       // the latest 1000 when zero
}

// StartSession records the start of a session, status active.
func (s *Store) StartSession(ctx context.Context, ns NewSession) (Session, error) {
	if ns.ID == "" {
		ns.ID = uuid.NewString()
	} else if err := validSessionID(ns.ID); err != nil {
		return Session{}, err
	}
	if ns.Kind == "" {
		ns.Kind = SessionShell
	}
	switch ns.Kind {
	case SessionShell, SessionExec, SessionSFTP, SessionForward, SessionSQL:
	default:
		return Session{}, fmt.Errorf("session kind %q: want %s, %s, %s or %s", ns.Kind, SessionShell, SessionExec, SessionSFTP, SessionForward)
	}
	if ns.User == "" {
		return Session{}, errors.New("session: no user")
	}
	start := ns.StartedAt
	if start.IsZero() {
		start = s.now()
	}
	org, err := s.sessionOrg(ctx, ns)
	if err != nil {
		return Session{}, err
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO sessions (id, kind, user_name, asset_name, account, source, command,
		target, started_at, status, recording_path, node, org_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		ns.ID, ns.Kind, ns.User, ns.Asset, ns.Account, ns.Source, ns.Command, ns.Target, formatTime(start), StatusActive,
		ns.RecordingPath, ns.Node, org)
	if err != nil {
		return Session{}, nameTaken(err, "session", ns.ID)
	}
	return s.InOrg(org).getSession(ctx, ns.ID)
}

// sessionOrg is the organization a new session belongs to: its asset's
// (by id; else the view's organization; else, across organizations, the
// one asset of that name). A session of no asset, or of an asset gone,
// in the all-orgs view (the SFTP root of every granted asset) is of
// none: 0.
//
// unscoped: a session takes its organization from its asset.
func (s *Store) sessionOrg(ctx context.Context, ns NewSession) (int64, error) {
	if ns.AssetID > 0 {
		return s.assetOrg(ctx, ns.AssetID)
	}
	if org, one := s.ScopeOrg(); one {
		return org, nil
	}
	if ns.Asset == "" {
		return 0, nil
	}
	orgs, err := queryInt64s(ctx, s.db, `SELECT org_id FROM assets WHERE name = ? ORDER BY org_id`, ns.Asset)
	if err == nil && len(orgs) > 1 {
		err = fmt.Errorf("session: asset %q is in %d organizations: give the asset's id", ns.Asset, len(orgs))
	}
	return first(orgs), err
}

// EndSession records how a session ended. A session ends once: ending
// one that has already ended is an error.
//
// unscoped: the bastion ends its own sessions, whatever their organization.
func (s *Store) EndSession(ctx context.Context, id string, end SessionEnd) error {
	switch end.Status {
	case StatusClosed, StatusFailed, StatusKilled, StatusInterrupted:
	default:
		return fmt.Errorf("session %s: cannot end with status %q", id, end.Status)
	}
	at := end.EndedAt
	if at.IsZero() {
		at = s.now()
	}
	var exit any
	if end.ExitStatus != nil {
		exit = *end.ExitStatus
	}
	res, err := s.db.ExecContext(ctx, `UPDATE sessions SET ended_at = ?, status = ?, exit_status = ?, end_reason = ?,
		recording_size = ?, recording_sha256 = ?, bytes_in = ?, bytes_out = ? WHERE id = ? AND status = ?`,
		formatTime(at), end.Status, exit, end.Reason, end.RecordingSize, end.RecordingSHA256, end.BytesIn, end.BytesOut, id, StatusActive)
	if err != nil {
		return wrapError(err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return wrapError(err)
	} else if n == 1 {
		return nil
	}
	cur, err := s.AllOrgs().getSession(ctx, id)
	if err != nil {
		return err
	}
	return fmt.Errorf("session %s has already ended (%s)", id, cur.Status)
}

// RecordingDigest returns the size and hex SHA-256 of the recording a
// session row names (its recording_path, as stored).
type RecordingDigest func(recordingPath string) (size int64, sha256 string, err error)

// CloseInterruptedSessions marks the sessions that node left active
// when it stopped without ending them (a crash, a kill -9) as
// interrupted, ended now, with the size and SHA-256 of the recording each
// left (through digest, when not nil). Sessions older than the cluster
// (no node) count as every node's. Only node itself may call it, holding
// its data directory's lock, before it accepts connections: the sessions
// of another node that is alive are never touched here (a gone node's
// are closed by ReapServers). It returns how many it marked.
//
// unscoped: a node closes the sessions it left, whatever their organization.
func (s *Store) CloseInterruptedSessions(ctx context.Context, node string, digest RecordingDigest) (int, error) {
	type left struct{ id, path string }
	rows, err := s.db.QueryContext(ctx, `SELECT id, recording_path FROM sessions WHERE status = ? AND (node = ? OR node = '')`,
		StatusActive, node)
	if err != nil {
		return 0, wrapError(err)
	}
	var todo []left
	for rows.Next() {
		var l left
		if err := rows.Scan(&l.id, &l.path); err != nil {
			rows.Close()
			return 0, wrapError(err)
		}
		todo = append(todo, l)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, wrapError(err)
	}
	n := 0
	for _, l := range todo {
		reason := "the bastion stopped during the session"
		var size int64
		var sum string
		if l.path != "" && digest != nil {
			if size, sum, err = digest(l.path); err != nil {
				reason += "; its recording could not be read: " + err.Error()
				size, sum = 0, ""
			}
		}
		res, err := s.db.ExecContext(ctx, `UPDATE sessions SET status = ?, ended_at = ?, end_reason = ?,
			recording_size = ?, recording_sha256 = ? WHERE id = ? AND status = ?`,
			StatusInterrupted, formatTime(s.now()), reason, size, sum, l.id, StatusActive)
		if err != nil {
			return n, wrapError(err)
		}
		k, err := res.RowsAffected()
		if err != nil {
			return n, wrapError(err)
		}
		n += int(k)
	}
	return n, nil
}

const sessionColumns = `id, kind, user_name, asset_name, account, source, command, started_at, ended_at, status,
	exit_status, end_reason, recording_path, recording_size, recording_sha256, target, bytes_in, bytes_out, node,
	recording_state, org_id`

func scanSession(sc interface{ Scan(...any) error }) (Session, error) {
	var ss Session
	var started string
	var ended sql.NullString
	var exit sql.NullInt64
	err := sc.Scan(&ss.ID, &ss.Kind, &ss.User, &ss.Asset, &ss.Account, &ss.Source, &ss.Command, &started, &ended,
		&ss.Status, &exit, &ss.EndReason, &ss.RecordingPath, &ss.RecordingSize, &ss.RecordingSHA256,
		&ss.Target, &ss.BytesIn, &ss.BytesOut, &ss.Node, &ss.RecordingState, &ss.OrgID)
	if err != nil {
		return ss, wrapError(err)
	}
	ss.StartedAt = parseTime(started)
	ss.EndedAt = parseNullTime(ended)
	if exit.Valid {
		v := int(exit.Int64)
		ss.ExitStatus = &v
	}
	return ss, nil
}

func (s *Store) getSession(ctx context.Context, id string) (Session, error) {
	ss, err := scanSession(s.db.QueryRowContext(ctx, `SELECT `+sessionColumns+` FROM sessions s WHERE id = ? AND `+s.historyCond("s"), id))
	if errors.Is(err, ErrNotFound) {
		return ss, fmt.Errorf("session %s: %w", id, ErrNotFound)
	}
	return ss, err
}

// MinSessionPrefix is the shortest id prefix GetSession accepts.
const MinSessionPrefix = 4

// validSessionID checks that id holds only what a UUID holds, so that it
// can be used in a file name and a LIKE pattern.
func validSessionID(id string) error {
	if id == "" || len(id) > 64 {
		return fmt.Errorf("invalid session id %q", id)
	}
	for _, r := range id {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f' || r >= 'A' && r <= 'F' || r == '-') {
			return fmt.Errorf("invalid session id %q: want hex digits and dashes", id)
		}
	}
	return nil
}

// GetSession returns the session whose id is idOrPrefix, or the one
// session whose id starts with it (at least MinSessionPrefix characters).
func (s *Store) GetSession(ctx context.Context, idOrPrefix string) (Session, error) {
	p := strings.ToLower(strings.TrimSpace(idOrPrefix))
	if err := validSessionID(p); err != nil {
		return Session{}, err
	}
	if ss, err := s.getSession(ctx, p); err == nil || !errors.Is(err, ErrNotFound) {
		return ss, err
	}
	if len(p) < MinSessionPrefix {
		return Session{}, fmt.Errorf("session %q: give at least %d characters of its id", idOrPrefix, MinSessionPrefix)
	}
	found, err := s.querySessions(ctx, `SELECT `+sessionColumns+` FROM sessions s WHERE id LIKE ? AND `+s.historyCond("s")+`
		ORDER BY started_at LIMIT 6`, p+"%")
	if err != nil {
		return Session{}, err
	}
	switch len(found) {
	case 0:
		return Session{}, fmt.Errorf("session %s: %w", idOrPrefix, ErrNotFound)
	case 1:
		return found[0], nil
	}
	ids := make([]string, 0, len(found))
	for i, f := range found {
		if i == 5 {
			ids = append(ids, "…")
			break
		}
		ids = append(ids, f.ID)
	}
	return Session{}, fmt.Errorf("session id prefix %q is ambiguous: it matches %s; give more characters", idOrPrefix, strings.Join(ids, ", "))
}

// ListSessions returns the latest sessions of the scope that match sq,
// oldest first.
func (s *Store) ListSessions(ctx context.Context, sq SessionQuery) ([]Session, error) {
	query := `SELECT ` + sessionColumns + ` FROM sessions s WHERE ` + s.historyCond("s")
	var args []any
	if sq.Active {
		query += ` AND status = ?`
		args = append(args, StatusActive)
	}
	if sq.User != "" {
		query += ` AND user_name = ?`
		args = append(args, sq.User)
	}
	if sq.Asset != "" {
		query += ` AND asset_name = ?`
		args = append(args, sq.Asset)
	}
	if !sq.Since.IsZero() {
		query += ` AND started_at >= ?`
		args = append(args, formatTime(sq.Since))
	}
	limit := sq.Limit
	if limit <= 0 {
		limit = 1000
	}
	query += ` ORDER BY started_at DESC, id DESC LIMIT ?`
	args = append(args, limit)
	out, err := s.querySessions(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	reverse(out)
	return out, nil
}

// querySessions runs a query that selects sessionColumns and scans every
// row it returns.
func (s *Store) querySessions(ctx context.Context, query string, args ...any) ([]Session, error) {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, wrapError(err)
	}
	defer rows.Close()
	var out []Session
	for rows.Next() {
		ss, err := scanSession(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, ss)
	}
	return out, wrapError(rows.Err())
}
