package store

import (
	"context"
	"errors"
	"time"
)

// Command verdicts as the audit records them.
const (
	VerdictAllow  = "allow"
	VerdictDeny   = "deny"
	VerdictWarn   = "warn"
	VerdictReview = "review"
)

// ReviewVerdict is the verdict recorded for a command held for review,
// once its ticket is closed: review:approved, review:rejected or
// review:canceled (by the person, the end of the session or a timeout).
func ReviewVerdict(ticketStatus string) string { return VerdictReview + ":" + ticketStatus }

// CommandEvent is one command line a person submitted in a session,
// with the filter's verdict.
type CommandEvent struct {
	ID        int64     `json:"id" yaml:"id"`
	SessionID string    `json:"session_id" yaml:"session_id"`
	At        time.Time `json:"at" yaml:"at"`
	OffsetMS  int64     `json:"offset_ms" yaml:"offset_ms"` // since the session (and its recording) started
	User      string    `json:"user" yaml:"user"`
	Asset     string    `json:"asset" yaml:"asset"`
	Account   string    `json:"account" yaml:"account"`
	Command   string    `json:"command" yaml:"command"`
	Verdict   string    `json:"verdict" yaml:"verdict"`
	Filter    string    `json:"filter" yaml:"filter"` // the filter that decided; "" when none matched
	// A SQL statement's outcome: rows returned or affected and how long
	// it ran (nil: not a statement, or it never reached the server), and
	// the server's error.
	Rows       *int64 `json:"rows,omitempty" yaml:"rows,omitempty"`
	DurationMS *int64 `json:"duration_ms,omitempty" yaml:"duration_ms,omitempty"`
	Error      string `json:"error,omitempty" yaml:"error,omitempty"`
}

// TransferEvent is one file operation over SFTP or SCP.
type TransferEvent struct {
	ID        int64     `json:"id" yaml:"id"`
	SessionID string    `json:"session_id" yaml:"session_id"`
	At        time.Time `json:"at" yaml:"at"`
	User      string    `json:"user" yaml:"user"`
	Asset     string    `json:"asset" yaml:"asset"`
	Account   string    `json:"account" yaml:"account"`
	Operation string    `json:"operation" yaml:"operation"` // upload, download, delete, rename, mkdir …
	Path      string    `json:"path" yaml:"path"`
	Size      int64     `json:"size" yaml:"size"`
	Result    string    `json:"result" yaml:"result"` // ok, denied, failed
	Detail    string    `json:"detail" yaml:"detail"`
	// AssetID is the asset's id, when known: the event belongs to its
	// organization (else to its session's).
	AssetID int64 `json:"-" yaml:"-"`
}

// AddCommandEvent records a command, in its session's organization; a
// zero At is the store's now.
//
// unscoped: an event takes its organization from its session (eventOrg).
func (s *Store) AddCommandEvent(ctx context.Context, e CommandEvent) (int64, error) {
	if e.SessionID == "" || e.User == "" || e.Verdict == "" {
		return 0, errors.New("a command event needs a session, a user and a verdict")
	}
	if e.At.IsZero() {
		e.At = s.now()
	}
	org, err := s.eventOrg(ctx, e.SessionID, 0)
	if err != nil {
		return 0, err
	}
	var id int64
	err = s.db.QueryRowContext(ctx, `INSERT INTO command_events (session_id, at, offset_ms, user_name, asset_name,
		account, command, verdict, filter_name, org_id, row_count, duration_ms, error)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		e.SessionID, formatTime(e.At), e.OffsetMS, e.User, e.Asset, e.Account, e.Command, e.Verdict, e.Filter, org,
		e.Rows, e.DurationMS, e.Error).Scan(&id)
	return id, wrapError(err)
}

// AddTransferEvent records a file operation, in the organization of its
// asset (or session); a zero At is the store's now.
//
// unscoped: an event takes its organization from its asset or session (eventOrg).
func (s *Store) AddTransferEvent(ctx context.Context, e TransferEvent) (int64, error) {
	if e.User == "" || e.Operation == "" || e.Result == "" {
		return 0, errors.New("a transfer event needs a user, an operation and a result")
	}
	if e.At.IsZero() {
		e.At = s.now()
	}
	org, err := s.eventOrg(ctx, e.SessionID, e.AssetID)
	if err != nil {
		return 0, err
	}
	var id int64
	err = s.db.QueryRowContext(ctx, `INSERT INTO transfer_events (session_id, at, user_name, asset_name, account,
		operation, path, size, result, detail, org_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		e.SessionID, formatTime(e.At), e.User, e.Asset, e.Account, e.Operation, e.Path, e.Size, e.Result, e.Detail, org).Scan(&id)
	return id, wrapError(err)
}

// auditWhere builds the WHERE clause shared by the event listings.
func auditWhere(aq AuditQuery, withSession, withVerdict bool) (string, []any) {
	where := ` WHERE 1=1`
	var args []any
	if !aq.Since.IsZero() {
		where += ` AND at >= ?`
		args = append(args, formatTime(aq.Since))
	}
	if aq.User != "" {
		where += ` AND user_name = ?`
		args = append(args, aq.User)
	}
	if aq.Asset != "" {
		where += ` AND asset_name = ?`
		args = append(args, aq.Asset)
	}
	if withSession && aq.Session != "" {
		where += ` AND session_id = ?`
		args = append(args, aq.Session)
	}
	if withVerdict && aq.Verdict != "" {
		// "review" takes in its outcomes: review:approved and the rest.
		where += ` AND (verdict = ? OR verdict LIKE ?)`
		args = append(args, aq.Verdict, aq.Verdict+":%")
	}
	return where, args
}

// ListCommandEvents returns the newest aq.Limit command events of the
// scope that match aq, oldest first.
func (s *Store) ListCommandEvents(ctx context.Context, aq AuditQuery) ([]CommandEvent, error) {
	where, args := auditWhere(aq, true, true)
	where += ` AND ` + s.orgCond("e")
	rows, err := s.db.QueryContext(ctx, `SELECT id, session_id, at, offset_ms, user_name, asset_name, account, command,
		verdict, filter_name, row_count, duration_ms, error FROM command_events e`+where+` ORDER BY at DESC, id DESC LIMIT ?`, append(args, aq.limit())...)
	if err != nil {
		return nil, wrapError(err)
	}
	defer rows.Close()
	out := []CommandEvent{}
	for rows.Next() {
		var e CommandEvent
		var at string
		if err := rows.Scan(&e.ID, &e.SessionID, &at, &e.OffsetMS, &e.User, &e.Asset, &e.Account, &e.Command,
			&e.Verdict, &e.Filter, &e.Rows, &e.DurationMS, &e.Error); err != nil {
			return nil, wrapError(err)
		}
		e.At = parseTime(at)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, wrapError(err)
	}
	reverse(out)
	return out, nil
}

// ListTransferEvents returns the newest aq.Limit transfer events of the
// scope that match aq (Verdict matches the result), oldest first.
func (s *Store) ListTransferEvents(ctx context.Context, aq AuditQuery) ([]TransferEvent, error) {
	where, args := auditWhere(aq, true, false)
	where += ` AND ` + s.orgCond("e")
	if aq.Verdict != "" {
		where += ` AND result = ?`
		args = append(args, aq.Verdict)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id, session_id, at, user_name, asset_name, account, operation, path,
		size, result, detail FROM transfer_events e`+where+` ORDER BY at DESC, id DESC LIMIT ?`, append(args, aq.limit())...)
	if err != nil {
		return nil, wrapError(err)
	}
	defer rows.Close()
	out := []TransferEvent{}
	for rows.Next() {
		var e TransferEvent
		var at string
		if err := rows.Scan(&e.ID, &e.SessionID, &at, &e.User, &e.Asset, &e.Account, &e.Operation, &e.Path,
			&e.Size, &e.Result, &e.Detail); err != nil {
			return nil, wrapError(err)
		}
		e.At = parseTime(at)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, wrapError(err)
	}
	reverse(out)
	return out, nil
}
