package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Mail security modes: implicit TLS (SMTPS, usually port 465), STARTTLS
// (usually 587) or none (a relay on loopback only).
const (
	MailSSL      = "ssl"
	MailSTARTTLS = "starttls"
	MailNoTLS    = "none"
)

// MailSettings is how jms reaches its SMTP server. The password stays
// sealed in the database; GetMailSettings opens it into Password, whose
// String redacts it.
type MailSettings struct {
	Host     string `json:"host" yaml:"host"`
	Port     int    `json:"port" yaml:"port"`
	Security string `json:"security" yaml:"security"`
	Username string `json:"username" yaml:"username"`
	Password Secret `json:"-" yaml:"-"`
	// HasPassword says a password is stored, without opening it.
	HasPassword bool   `json:"has_password" yaml:"has_password"`
	From        string `json:"from" yaml:"from"`
	// CAPEM holds extra CA certificates (PEM) that the server's
	// certificate may chain to: a private CA.
	CAPEM     string    `json:"-" yaml:"-"`
	UpdatedAt time.Time `json:"updated_at" yaml:"updated_at"`
}

func mailBinding(ref string) binding {
	return binding{table: "mail_settings", id: 1, column: "password", ref: ref}
}

// SetMailSettings stores the mail settings. A nil password keeps the one
// stored; an empty (non-nil) one removes it.
//
// unscoped: the mail settings are the install's, above organizations.
func (s *Store) SetMailSettings(ctx context.Context, m MailSettings, password Secret) error {
	if m.Host == "" || m.Port < 1 || m.Port > 65535 || m.From == "" {
		return errors.New("mail settings need a host, a port (1-65535) and a from address")
	}
	switch m.Security {
	case MailSSL, MailSTARTTLS, MailNoTLS:
	default:
		return fmt.Errorf("mail security %q: want ssl, starttls or none", m.Security)
	}
	if len(password) > 0 && s.Sealer() == nil {
		return ErrNoKey
	}
	return s.withTx(ctx, func(q querier) error {
		now := formatTime(s.now())
		_, err := q.ExecContext(ctx, `INSERT INTO mail_settings (id, host, port, security, username, sender, ca_pem, updated_at)
			VALUES (1, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET host = excluded.host, port = excluded.port, security = excluded.security,
				username = excluded.username, sender = excluded.sender, ca_pem = excluded.ca_pem, updated_at = excluded.updated_at`,
			m.Host, m.Port, m.Security, m.Username, m.From, m.CAPEM, now)
		if err != nil {
			return wrapError(err)
		}
		switch {
		case password == nil:
		case len(password) == 0:
			if _, err := q.ExecContext(ctx, `UPDATE mail_settings SET password = NULL, password_ref = '' WHERE id = 1`); err != nil {
				return wrapError(err)
			}
		default:
			env, ref, err := s.sealIn(ctx, q, password, mailBinding(""))
			if err != nil {
				return err
			}
			if _, err := q.ExecContext(ctx, `UPDATE mail_settings SET password = ?, password_ref = ? WHERE id = 1`, env, ref); err != nil {
				return wrapError(err)
			}
		}
		return s.recordOp(ctx, q, "settings.mail", m.Host, map[string]any{
			"port": m.Port, "security": m.Security, "username": m.Username, "from": m.From,
			"ca": m.CAPEM != "", "password_changed": password != nil})
	})
}

// GetMailSettings returns the mail settings with the password opened;
// ErrNotFound when none were set.
func (s *Store) GetMailSettings(ctx context.Context) (MailSettings, error) {
	m, env, ref, err := s.mailRow(ctx)
	if err != nil || !env.Valid {
		return m, err
	}
	pw, err := s.openBound(env.String, mailBinding(ref))
	if err != nil {
		return m, fmt.Errorf("open the SMTP password: %w", err)
	}
	m.Password = pw
	return m, nil
}

// MailSettingsRedacted returns the mail settings without opening the
// password (no key needed); ErrNotFound when none were set.
func (s *Store) MailSettingsRedacted(ctx context.Context) (MailSettings, error) {
	m, _, _, err := s.mailRow(ctx)
	return m, err
}

func (s *Store) mailRow(ctx context.Context) (MailSettings, sql.NullString, string, error) {
	var m MailSettings
	var env sql.NullString
	var ref, updated string
	err := s.db.QueryRowContext(ctx, `SELECT host, port, security, username, password, password_ref, sender, ca_pem, updated_at
		FROM mail_settings WHERE id = 1`).Scan(&m.Host, &m.Port, &m.Security, &m.Username, &env, &ref, &m.From, &m.CAPEM, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return m, env, "", fmt.Errorf("mail settings: %w (set them with 'jmsctl settings mail set')", ErrNotFound)
	}
	if err != nil {
		return m, env, "", wrapError(err)
	}
	m.HasPassword = env.Valid
	m.UpdatedAt = parseTime(updated)
	return m, env, ref, nil
}
