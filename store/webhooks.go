package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Webhook is an HTTP(S) endpoint that jms posts JSON events to. Its
// signing secret stays sealed; GetWebhook opens it into Secret.
type Webhook struct {
	ID   int64  `json:"id" yaml:"id"`
	Name string `json:"name" yaml:"name"`
	URL  string `json:"url" yaml:"url"`
	// Events are the events posted; empty means every event.
	Events    []string  `json:"events" yaml:"events"`
	Signed    bool      `json:"signed" yaml:"signed"`
	Secret    Secret    `json:"-" yaml:"-"`
	CreatedAt time.Time `json:"created_at" yaml:"created_at"`
}

var webhookNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

func webhookBinding(id int64, ref string) binding {
	return binding{table: "webhooks", id: id, column: "secret", ref: ref}
}

// AddWebhook adds a webhook, its secret (when not empty) sealed.
func (s *Store) AddWebhook(ctx context.Context, h Webhook) (Webhook, error) {
	if !webhookNameRE.MatchString(h.Name) {
		return Webhook{}, fmt.Errorf("webhook name %q: use 1-64 of a-z 0-9 . _ -", h.Name)
	}
	if len(h.Secret) > 0 && s.Sealer() == nil {
		return Webhook{}, ErrNoKey
	}
	err := s.withTx(ctx, func(q querier) error {
		var id int64
		err := q.QueryRowContext(ctx, `INSERT INTO webhooks (name, url, events, created_at) VALUES (?, ?, ?, ?) RETURNING id`,
			h.Name, h.URL, strings.Join(h.Events, ","), formatTime(s.now())).Scan(&id)
		if err != nil {
			return nameTaken(err, "webhook", h.Name)
		}
		if len(h.Secret) > 0 {
			env, ref, err := s.sealIn(ctx, q, h.Secret, webhookBinding(id, ""))
			if err != nil {
				return err
			}
			if _, err := q.ExecContext(ctx, `UPDATE webhooks SET secret = ?, secret_ref = ? WHERE id = ?`, env, ref, id); err != nil {
				return wrapError(err)
			}
		}
		return s.recordOp(ctx, q, "webhook.add", h.Name, map[string]any{"url": h.URL, "events": h.Events, "signed": len(h.Secret) > 0})
	})
	if err != nil {
		return Webhook{}, err
	}
	out, _, _, err := s.webhookRow(ctx, h.Name)
	return out, err
}

// RemoveWebhook removes a webhook. Posts still queued for it fail.
func (s *Store) RemoveWebhook(ctx context.Context, name string) error {
	return s.withTx(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `DELETE FROM webhooks WHERE name = ?`, name)
		if err != nil {
			return wrapError(err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("webhook %q: %w", name, ErrNotFound)
		}
		return s.recordOp(ctx, q, "webhook.rm", name, nil)
	})
}

const webhookColumns = `id, name, url, events, secret, secret_ref, created_at`

func scanWebhook(sc interface{ Scan(...any) error }) (Webhook, sql.NullString, string, error) {
	var h Webhook
	var events, created, ref string
	var env sql.NullString
	if err := sc.Scan(&h.ID, &h.Name, &h.URL, &events, &env, &ref, &created); err != nil {
		return h, env, "", err
	}
	h.Events = []string{}
	if events != "" {
		h.Events = strings.Split(events, ",")
	}
	h.Signed = env.Valid
	h.CreatedAt = parseTime(created)
	return h, env, ref, nil
}

func (s *Store) webhookRow(ctx context.Context, name string) (Webhook, sql.NullString, string, error) {
	h, env, ref, err := scanWebhook(s.db.QueryRowContext(ctx, `SELECT `+webhookColumns+` FROM webhooks WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return h, env, ref, fmt.Errorf("webhook %q: %w", name, ErrNotFound)
	}
	return h, env, ref, wrapError(err)
}

// GetWebhook returns a webhook with its secret opened.
func (s *Store) GetWebhook(ctx context.Context, name string) (Webhook, error) {
	h, env, ref, err := s.webhookRow(ctx, name)
	if err != nil || !env.Valid {
		return h, err
	}
	if h.Secret, err = s.openBound(env.String, webhookBinding(h.ID, ref)); err != nil {
		return h, fmt.Errorf("open the secret of webhook %q: %w", name, err)
	}
	return h, nil
}

// ListWebhooks returns the webhooks by name, secrets not opened.
func (s *Store) ListWebhooks(ctx context.Context) ([]Webhook, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+webhookColumns+` FROM webhooks ORDER BY name`)
	if err != nil {
		return nil, wrapError(err)
	}
	defer rows.Close()
	out := []Webhook{}
	for rows.Next() {
		h, _, _, err := scanWebhook(rows)
		if err != nil {
			return nil, wrapError(err)
		}
		out = append(out, h)
	}
	return out, wrapError(rows.Err())
}
