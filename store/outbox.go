package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Outbox channels and statuses.
const (
	ChannelMail    = "mail"
	ChannelWebhook = "webhook"

	OutboxPending = "pending"
	OutboxSent    = "sent"
	OutboxFailed  = "failed"
)

// OutboxMessage is one mail or webhook post waiting in the outbox, sent,
// or given up on. Payload is sealed in the database and opened only for
// the worker that delivers it (ClaimOutbox).
type OutboxMessage struct {
	ID        int64      `json:"id" yaml:"id"`
	Channel   string     `json:"channel" yaml:"channel"`
	Recipient string     `json:"recipient" yaml:"recipient"`
	Event     string     `json:"event" yaml:"event"`
	Subject   string     `json:"subject" yaml:"subject"`
	Status    string     `json:"status" yaml:"status"`
	Attempts  int        `json:"attempts" yaml:"attempts"`
	LastError string     `json:"last_error" yaml:"last_error"`
	CreatedAt time.Time  `json:"created_at" yaml:"created_at"`
	NextAt    time.Time  `json:"next_at" yaml:"next_at"`
	SentAt    *time.Time `json:"sent_at" yaml:"sent_at"`
	Digest    bool       `json:"digest" yaml:"digest"`
	Payload   Secret     `json:"-" yaml:"-"`
}

// NewOutboxMessage is what Enqueue needs. Payload is what the channel
// delivers (a mail's parts, a webhook's JSON body), sealed at rest.
type NewOutboxMessage struct {
	Channel   string
	Recipient string // an address, or a webhook's name
	Event     string
	Subject   string // shown by 'jmsctl notify outbox': never a secret
	Payload   Secret
	// Digest mails wait until DueAt and go with the recipient's others.
	Digest bool
	DueAt  time.Time // zero: now
}

func outboxBinding(id int64, ref string) binding {
	return binding{table: "outbox", id: id, column: "payload", ref: ref}
}

// Enqueue adds messages to the outbox in one transaction, due now.
func (s *Store) Enqueue(ctx context.Context, msgs ...NewOutboxMessage) error {
	if s.Sealer() == nil {
		return ErrNoKey
	}
	return s.withTx(ctx, func(q querier) error { return s.enqueueIn(ctx, q, msgs) })
}

func (s *Store) enqueueIn(ctx context.Context, q querier, msgs []NewOutboxMessage) error {
	now := formatTime(s.now())
	for _, m := range msgs {
		if m.Channel != ChannelMail && m.Channel != ChannelWebhook {
			return fmt.Errorf("outbox channel %q: want mail or webhook", m.Channel)
		}
		var id int64
		due := now
		if !m.DueAt.IsZero() {
			due = formatTime(m.DueAt)
		}
		err := q.QueryRowContext(ctx, `INSERT INTO outbox (channel, recipient, event, subject, digest, created_at, next_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, m.Channel, m.Recipient, m.Event, m.Subject, m.Digest, now, due).Scan(&id)
		if err != nil {
			return wrapError(err)
		}
		env, ref, err := s.sealIn(ctx, q, m.Payload, outboxBinding(id, ""))
		if err != nil {
			return err
		}
		if _, err := q.ExecContext(ctx, `UPDATE outbox SET payload = ?, payload_ref = ? WHERE id = ?`, env, ref, id); err != nil {
			return wrapError(err)
		}
	}
	return nil
}

const outboxColumns = `id, channel, recipient, event, subject, status, attempts, last_error, created_at, next_at, sent_at, digest`

func scanOutbox(sc interface{ Scan(...any) error }, extra ...any) (OutboxMessage, error) {
	var m OutboxMessage
	var created, next string
	var sent sql.NullString
	dest := append([]any{&m.ID, &m.Channel, &m.Recipient, &m.Event, &m.Subject, &m.Status, &m.Attempts, &m.LastError,
		&created, &next, &sent, &m.Digest}, extra...)
	if err := sc.Scan(dest...); err != nil {
		return m, err
	}
	m.CreatedAt, m.NextAt, m.SentAt = parseTime(created), parseTime(next), parseNullTime(sent)
	return m, nil
}

// ListOutbox returns outbox messages oldest first: those with status, or
// the pending and failed ones when status is "", or all with "all".
func (s *Store) ListOutbox(ctx context.Context, status string) ([]OutboxMessage, error) {
	query := `SELECT ` + outboxColumns + ` FROM outbox`
	var args []any
	switch status {
	case "":
		query += ` WHERE status IN (?, ?)`
		args = append(args, OutboxPending, OutboxFailed)
	case "all":
	case OutboxPending, OutboxSent, OutboxFailed:
		query += ` WHERE status = ?`
		args = append(args, status)
	default:
		return nil, fmt.Errorf("outbox status %q: want pending, sent, failed or all", status)
	}
	rows, err := s.db.QueryContext(ctx, query+` ORDER BY id`, args...)
	if err != nil {
		return nil, wrapError(err)
	}
	defer rows.Close()
	out := []OutboxMessage{}
	for rows.Next() {
		m, err := scanOutbox(rows)
		if err != nil {
			return nil, wrapError(err)
		}
		out = append(out, m)
	}
	return out, wrapError(rows.Err())
}

// ClaimOutbox leases up to limit due pending messages for lease, so that
// no other worker (another serve on the same database) sends them
// meanwhile, and returns them with their payloads opened. A message
// whose payload cannot be opened is marked failed, not returned.
func (s *Store) ClaimOutbox(ctx context.Context, lease time.Duration, limit int) ([]OutboxMessage, error) {
	now := s.now()
	type claimed struct {
		m        OutboxMessage
		env, ref string
	}
	var got []claimed
	err := s.withTx(ctx, func(q querier) error {
		got = got[:0]
		rows, err := q.QueryContext(ctx, `SELECT `+outboxColumns+`, payload, payload_ref FROM outbox
			WHERE status = ? AND next_at <= ? AND (lease_until IS NULL OR lease_until <= ?) AND payload IS NOT NULL
			ORDER BY next_at, id LIMIT ?`, OutboxPending, formatTime(now), formatTime(now), limit)
		if err != nil {
			return wrapError(err)
		}
		for rows.Next() {
			var c claimed
			if c.m, err = scanOutbox(rows, &c.env, &c.ref); err != nil {
				rows.Close()
				return wrapError(err)
			}
			got = append(got, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return wrapError(err)
		}
		for _, c := range got {
			if _, err := q.ExecContext(ctx, `UPDATE outbox SET lease_until = ? WHERE id = ?`, formatTime(now.Add(lease)), c.m.ID); err != nil {
				return wrapError(err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]OutboxMessage, 0, len(got))
	for _, c := range got {
		p, err := s.openBound(c.env, outboxBinding(c.m.ID, c.ref))
		if err != nil {
			if ferr := s.OutboxFailed(ctx, c.m.ID, "cannot open the message: "+err.Error(), time.Time{}); ferr != nil {
				return nil, errors.Join(err, ferr)
			}
			continue
		}
		c.m.Payload = p
		out = append(out, c.m)
	}
	return out, nil
}

// OutboxSent marks a message delivered and drops its payload.
func (s *Store) OutboxSent(ctx context.Context, id int64) error {
	now := formatTime(s.now())
	_, err := s.db.ExecContext(ctx, `UPDATE outbox SET status = ?, sent_at = ?, attempts = attempts + 1, last_error = '',
		lease_until = NULL, payload = NULL, payload_ref = '' WHERE id = ?`, OutboxSent, now, id)
	return wrapError(err)
}

// OutboxFailed records a failed attempt at a message: tried again at
// retryAt, or given up on (status failed) when retryAt is zero. A failed
// message keeps its sealed payload, for 'jmsctl notify outbox retry'.
func (s *Store) OutboxFailed(ctx context.Context, id int64, lastError string, retryAt time.Time) error {
	if retryAt.IsZero() {
		_, err := s.db.ExecContext(ctx, `UPDATE outbox SET status = ?, attempts = attempts + 1, last_error = ?,
			lease_until = NULL WHERE id = ?`, OutboxFailed, lastError, id)
		return wrapError(err)
	}
	_, err := s.db.ExecContext(ctx, `UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_at = ?, lease_until = NULL
		WHERE id = ?`, lastError, formatTime(retryAt), id)
	return wrapError(err)
}

// RetryOutbox makes failed (and pending) messages due now again, with
// their attempts counted afresh: all of them, or the one with id when
// id > 0. It returns how many it made due.
func (s *Store) RetryOutbox(ctx context.Context, id int64) (int64, error) {
	query := `UPDATE outbox SET status = ?, next_at = ?, attempts = 0, lease_until = NULL WHERE status IN (?, ?) AND payload IS NOT NULL`
	args := []any{OutboxPending, formatTime(s.now()), OutboxPending, OutboxFailed}
	if id > 0 {
		query += ` AND id = ?`
		args = append(args, id)
	}
	res, err := s.db.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, wrapError(err)
	}
	return res.RowsAffected()
}
