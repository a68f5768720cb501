package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Ticket statuses. A ticket starts pending and is decided once.
const (
	TicketPending  = "pending"
	TicketApproved = "approved"
	TicketRejected = "rejected"
	TicketCanceled = "canceled"
)

// ErrTicketDecided is returned when a ticket that is no longer pending is
// approved, rejected or canceled.
var ErrTicketDecided = errors.New("ticket already decided")

// Ticket is a command held for review: the session waits until an admin
// approves or rejects it, or the person cancels it.
type Ticket struct {
	ID        int64      `json:"id" yaml:"id"`
	SessionID string     `json:"session_id" yaml:"session_id"`
	At        time.Time  `json:"at" yaml:"at"`
	User      string     `json:"user" yaml:"user"`
	Asset     string     `json:"asset" yaml:"asset"`
	Account   string     `json:"account" yaml:"account"`
	Command   string     `json:"command" yaml:"command"`
	Filter    string     `json:"filter" yaml:"filter"`
	Status    string     `json:"status" yaml:"status"`
	DecidedBy string     `json:"decided_by" yaml:"decided_by"`
	DecidedAt *time.Time `json:"decided_at" yaml:"decided_at"`
}

// NewTicket is what AddTicket needs.
type NewTicket struct {
	SessionID string
	User      string
	Asset     string
	Account   string
	Command   string
	Filter    string
}

// AddTicket opens a pending ticket for a held command, in its session's
// organization.
func (s *Store) AddTicket(ctx context.Context, nt NewTicket) (Ticket, error) {
	if nt.SessionID == "" || nt.User == "" || nt.Command == "" {
		return Ticket{}, errors.New("a ticket needs a session, a user and a command")
	}
	org, err := s.eventOrg(ctx, nt.SessionID, 0)
	if err != nil {
		return Ticket{}, err
	}
	v := s.InOrg(org)
	var id int64
	err = s.withTx(ctx, func(q querier) error {
		err := q.QueryRowContext(ctx, `INSERT INTO tickets (session_id, at, user_name, asset_name, account, command, filter_name, status, org_id)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, nt.SessionID, formatTime(s.now()), nt.User, nt.Asset, nt.Account,
			nt.Command, nt.Filter, TicketPending, org).Scan(&id)
		if err != nil {
			return wrapError(err)
		}
		return v.recordOp(ctx, q, "ticket.open", fmt.Sprint(id), map[string]any{
			"session": nt.SessionID, "user": nt.User, "asset": nt.Asset, "account": nt.Account,
			"command": nt.Command, "filter": nt.Filter})
	})
	if err != nil {
		return Ticket{}, err
	}
	return v.GetTicket(ctx, id)
}

const ticketColumns = `id, session_id, at, user_name, asset_name, account, command, filter_name, status, decided_by, decided_at`

func scanTicket(sc interface{ Scan(...any) error }) (Ticket, error) {
	var t Ticket
	var at string
	var decided sql.NullString
	if err := sc.Scan(&t.ID, &t.SessionID, &at, &t.User, &t.Asset, &t.Account, &t.Command, &t.Filter, &t.Status,
		&t.DecidedBy, &decided); err != nil {
		return Ticket{}, err
	}
	t.At = parseTime(at)
	if decided.Valid && decided.String != "" {
		d := parseTime(decided.String)
		t.DecidedAt = &d
	}
	return t, nil
}

// GetTicket returns ticket id, if it is of the scope.
func (s *Store) GetTicket(ctx context.Context, id int64) (Ticket, error) {
	t, err := scanTicket(s.db.QueryRowContext(ctx, `SELECT `+ticketColumns+` FROM tickets t WHERE id = ? AND `+s.orgCond("t"), id))
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return Ticket{}, fmt.Errorf("ticket %d: %w", id, ErrNotFound)
		}
		return Ticket{}, wrapError(err)
	}
	return t, nil
}

// TicketDecision is a ticket's status as a held session polls it.
type TicketDecision struct {
	Status    string
	DecidedBy string
	// Reason is the reason the admin gave with an approval or a
	// rejection ("" when none). It is admin input: escape it before it
	// goes to a terminal.
	Reason string
}

// TicketStatus returns the status of ticket id: what a held session
// polls. Once an admin decided it, the reason given comes with it (kept
// in the operations audit, searched from the newest entry: the decision
// was just made).
//
// unscoped: the bastion polls the tickets of its own sessions, whatever their organization.
func (s *Store) TicketStatus(ctx context.Context, id int64) (TicketDecision, error) {
	var d TicketDecision
	err := s.db.QueryRowContext(ctx, `SELECT status, decided_by FROM tickets WHERE id = ?`, id).Scan(&d.Status, &d.DecidedBy)
	if errors.Is(err, sql.ErrNoRows) {
		return d, fmt.Errorf("ticket %d: %w", id, ErrNotFound)
	}
	if err != nil || (d.Status != TicketApproved && d.Status != TicketRejected) {
		return d, wrapError(err)
	}
	var detail string
	err = s.db.QueryRowContext(ctx, `SELECT detail FROM operations WHERE target = ? AND action IN ('ticket.approve', 'ticket.reject')
		ORDER BY id DESC LIMIT 1`, fmt.Sprint(id)).Scan(&detail)
	if errors.Is(err, sql.ErrNoRows) {
		return d, nil
	}
	if err != nil {
		return d, wrapError(err)
	}
	var why struct {
		Reason string `json:"reason"`
	}
	if json.Unmarshal([]byte(detail), &why) == nil {
		d.Reason = why.Reason
	}
	return d, nil
}

// ListTickets returns the scope's tickets oldest first: those with the
// given status, or all of them when status is "" or "all".
func (s *Store) ListTickets(ctx context.Context, status string) ([]Ticket, error) {
	query := `SELECT ` + ticketColumns + ` FROM tickets t WHERE ` + s.orgCond("t")
	var args []any
	switch status {
	case "", "all":
	case TicketPending, TicketApproved, TicketRejected, TicketCanceled:
		query += ` AND status = ?`
		args = append(args, status)
	default:
		return nil, fmt.Errorf("ticket status %q: want pending, approved, rejected, canceled or all", status)
	}
	rows, err := s.db.QueryContext(ctx, query+` ORDER BY id`, args...)
	if err != nil {
		return nil, wrapError(err)
	}
	defer rows.Close()
	out := []Ticket{}
	for rows.Next() {
		t, err := scanTicket(rows)
		if err != nil {
			return nil, wrapError(err)
		}
		out = append(out, t)
	}
	return out, wrapError(rows.Err())
}

// DecideTicket approves or rejects a pending ticket as by (an admin's
// name), with an optional reason kept in the operations audit. A ticket
// that is no longer pending gives ErrTicketDecided.
func (s *Store) DecideTicket(ctx context.Context, id int64, approve bool, by, reason string) (Ticket, error) {
	status, action := TicketRejected, "ticket.reject"
	if approve {
		status, action = TicketApproved, "ticket.approve"
	}
	detail := map[string]any{}
	if reason != "" {
		detail["reason"] = reason
	}
	return s.closeTicket(ctx, id, status, by, action, detail)
}

// CancelTicket closes a pending ticket because the person gave up on it
// (Ctrl-C, the session ended, the wait timed out); why says which. The
// bastion cancels the tickets of its own sessions, whatever the view.
func (s *Store) CancelTicket(ctx context.Context, id int64, why string) (Ticket, error) {
	detail := map[string]any{}
	if why != "" {
		detail["reason"] = why
	}
	return s.AllOrgs().closeTicket(ctx, id, TicketCanceled, "", "ticket.cancel", detail)
}

// closeTicket decides ticket id of the scope; the decision is audited in
// the ticket's organization.
func (s *Store) closeTicket(ctx context.Context, id int64, status, by, action string, detail map[string]any) (Ticket, error) {
	var org int64
	err := s.withTx(ctx, func(q querier) error {
		var cur, cmd string
		err := q.QueryRowContext(ctx, `SELECT status, command, org_id FROM tickets t WHERE id = ? AND `+s.orgCond("t"), id).Scan(&cur, &cmd, &org)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("ticket %d: %w", id, ErrNotFound)
		}
		if err != nil {
			return wrapError(err)
		}
		if cur != TicketPending {
			return fmt.Errorf("ticket %d is %s: %w", id, cur, ErrTicketDecided)
		}
		if _, err := q.ExecContext(ctx, `UPDATE tickets SET status = ?, decided_by = ?, decided_at = ? WHERE id = ? AND status = ?`,
			status, by, formatTime(s.now()), id, TicketPending); err != nil {
			return wrapError(err)
		}
		detail["command"] = cmd
		return s.InOrg(org).recordOp(ctx, q, action, fmt.Sprint(id), detail)
	})
	if err != nil {
		return Ticket{}, err
	}
	return s.InOrg(org).GetTicket(ctx, id)
}
