package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// Kinds of account secret.
const (
	SecretNone     = "none"
	SecretPassword = "password"
	SecretKey      = "key"
)

var accountNameRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}\$?$`)

// ValidAccountName checks the username of an account on an asset. "@"
// and "#" are refused: they separate user, account and asset in login
// names.
func ValidAccountName(u string) error {
	if !accountNameRE.MatchString(u) {
		return fmt.Errorf("invalid account username %q: use 1-64 of A-Z a-z 0-9 . _ - (no @ or #)", u)
	}
	return nil
}

// Account is a login on an asset that the bastion uses on people's
// behalf. Its secret stays sealed in the store.
type Account struct {
	ID         int64     `json:"id" yaml:"id"`
	AssetID    int64     `json:"-" yaml:"-"`
	Asset      string    `json:"asset" yaml:"asset"`
	Username   string    `json:"username" yaml:"username"`
	SecretKind string    `json:"secret_kind" yaml:"secret_kind"`
	Privileged bool      `json:"privileged" yaml:"privileged"`
	Comment    string    `json:"comment" yaml:"comment"`
	CreatedAt  time.Time `json:"created_at" yaml:"created_at"`
	UpdatedAt  time.Time `json:"updated_at" yaml:"updated_at"`
}

// NewAccount is what AddAccount needs.
type NewAccount struct {
	Asset      string
	Username   string
	SecretKind string // SecretPassword, SecretKey or SecretNone
	Secret     Secret
	Privileged bool
	Comment    string
}

func accountBinding(id int64, ref string) binding {
	return binding{table: "accounts", id: id, column: "secret", ref: ref}
}

// CheckAccountSecret checks that a secret fits its kind: a private key
// must parse and must not be passphrase-protected.
func CheckAccountSecret(kind string, secret Secret) error {
	switch kind {
	case SecretNone:
		if len(secret) != 0 {
			return errors.New("a secret was given for an account without one")
		}
	case SecretPassword:
		if len(secret) == 0 {
			return errors.New("empty password")
		}
	case SecretKey:
		if _, err := gossh.ParsePrivateKey(secret); err != nil {
			var pm *gossh.PassphraseMissingError
			if errors.As(err, &pm) {
				return errors.New("the private key is protected by a passphrase: give it without one (ssh-keygen -p)")
			}
			return fmt.Errorf("not an OpenSSH/PEM private key: %w", err)
		}
	default:
		return fmt.Errorf("unknown secret kind %q", kind)
	}
	return nil
}

// AddAccount adds an account on an asset with its secret sealed,
// bound to the row it is stored in.
func (s *Store) AddAccount(ctx context.Context, na NewAccount) (Account, error) {
	if err := ValidAccountName(na.Username); err != nil {
		return Account{}, err
	}
	if na.SecretKind == "" {
		na.SecretKind = SecretNone
	}
	if err := CheckAccountSecret(na.SecretKind, na.Secret); err != nil {
		return Account{}, err
	}
	if na.SecretKind != SecretNone && s.Sealer() == nil {
		return Account{}, ErrNoKey
	}
	var id int64
	err := s.withTx(ctx, func(q querier) error {
		var assetID int64
		var platform string
		if _, err := s.writeOrg(); err != nil {
			return err
		}
		if err := q.QueryRowContext(ctx, `SELECT id, platform FROM assets a WHERE name = ? AND `+s.orgCond("a"), na.Asset).Scan(&assetID, &platform); err != nil {
			return fmt.Errorf("asset %q: %w", na.Asset, wrapError(err))
		}
		if err := checkDatabaseSecret(platform, na.Asset, na.SecretKind); err != nil {
			return err
		}
		now := formatTime(s.now())
		err := q.QueryRowContext(ctx, `INSERT INTO accounts (asset_id, username, secret_kind, privileged, comment, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, assetID, na.Username, na.SecretKind, na.Privileged, na.Comment, now, now).Scan(&id)
		if err != nil {
			return nameTaken(err, "account", na.Username+"@"+na.Asset)
		}
		if na.SecretKind != SecretNone {
			env, ref, err := s.sealIn(ctx, q, na.Secret, accountBinding(id, ""))
			if err != nil {
				return err
			}
			if _, err := q.ExecContext(ctx, `UPDATE accounts SET secret = ?, secret_ref = ? WHERE id = ?`, env, ref, id); err != nil {
				return wrapError(err)
			}
		}
		return s.recordOp(ctx, q, "account.add", na.Username+"@"+na.Asset,
			map[string]any{"secret_kind": na.SecretKind, "privileged": na.Privileged})
	})
	if err != nil {
		return Account{}, err
	}
	return s.GetAccount(ctx, na.Asset, na.Username)
}

// SetAccountSecret replaces an account's secret. The secret is sealed
// inside the transaction that finds the row, bound to it.
func (s *Store) SetAccountSecret(ctx context.Context, asset, username, kind string, secret Secret) error {
	if _, err := s.writeOrg(); err != nil {
		return err
	}
	if err := CheckAccountSecret(kind, secret); err != nil {
		return err
	}
	if kind != SecretNone && s.Sealer() == nil {
		return ErrNoKey
	}
	return s.withTx(ctx, func(q querier) error {
		id, err := s.accountID(ctx, q, asset, username)
		if err != nil {
			return err
		}
		var env any
		ref := ""
		if kind != SecretNone {
			if env, ref, err = s.sealIn(ctx, q, secret, accountBinding(id, "")); err != nil {
				return err
			}
		}
		if _, err := q.ExecContext(ctx, `UPDATE accounts SET secret_kind = ?, secret = ?, secret_ref = ?, updated_at = ? WHERE id = ?`,
			kind, env, ref, formatTime(s.now()), id); err != nil {
			return wrapError(err)
		}
		return s.recordOp(ctx, q, "account.secret", username+"@"+asset, map[string]any{"secret_kind": kind})
	})
}

const accountColumns = `c.id, c.asset_id, a.name, c.username, c.secret_kind, c.privileged, c.comment, c.created_at, c.updated_at`

func scanAccount(sc interface{ Scan(...any) error }) (Account, error) {
	var c Account
	var created, updated string
	if err := sc.Scan(&c.ID, &c.AssetID, &c.Asset, &c.Username, &c.SecretKind, &c.Privileged, &c.Comment, &created, &updated); err != nil {
		return c, wrapError(err)
	}
	c.CreatedAt, c.UpdatedAt = parseTime(created), parseTime(updated)
	return c, nil
}

// GetAccount returns the account username on asset.
func (s *Store) GetAccount(ctx context.Context, asset, username string) (Account, error) {
	c, err := scanAccount(s.db.QueryRowContext(ctx, `SELECT `+accountColumns+` FROM accounts c JOIN assets a ON a.id = c.asset_id
		WHERE a.name = ? AND c.username = ? AND `+s.orgCond("a"), asset, username))
	if errors.Is(err, ErrNotFound) {
		return c, fmt.Errorf("account %s@%s: %w", username, asset, ErrNotFound)
	}
	return c, err
}

// ListAccounts lists the accounts on asset, or on every asset when
// asset is "", sorted by asset and username.
func (s *Store) ListAccounts(ctx context.Context, asset string) ([]Account, error) {
	query := `SELECT ` + accountColumns + ` FROM accounts c JOIN assets a ON a.id = c.asset_id WHERE ` + s.orgCond("a")
	var args []any
	if asset != "" {
		if _, err := s.GetAsset(ctx, asset); err != nil {
			return nil, err
		}
		query += ` AND a.name = ?`
		args = append(args, asset)
	}
	rows, err := s.db.QueryContext(ctx, query+` ORDER BY a.name, a.org_id, c.username`, args...)
	if err != nil {
		return nil, wrapError(err)
	}
	defer rows.Close()
	var out []Account
	for rows.Next() {
		c, err := scanAccount(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, wrapError(rows.Err())
}

// RemoveAccount deletes an account and its secret.
func (s *Store) RemoveAccount(ctx context.Context, asset, username string) error {
	if _, err := s.writeOrg(); err != nil {
		return err
	}
	acc, err := s.GetAccount(ctx, asset, username)
	if err != nil {
		return err
	}
	return s.withTx(ctx, func(q querier) error {
		if err := execOne(ctx, q, "account", username+"@"+asset, `DELETE FROM accounts WHERE id = ?`, acc.ID); err != nil {
			return err
		}
		return s.recordOp(ctx, q, "account.rm", username+"@"+asset, nil)
	})
}

// AccountSecret opens the secret of the account with this id. A wrong
// key or a tampered row is an error naming the key's source.
func (s *Store) AccountSecret(ctx context.Context, id int64) (Account, Secret, error) {
	c, err := scanAccount(s.db.QueryRowContext(ctx, `SELECT `+accountColumns+` FROM accounts c JOIN assets a ON a.id = c.asset_id
		WHERE c.id = ? AND `+s.orgCond("a"), id))
	if err != nil {
		return c, nil, fmt.Errorf("account #%d: %w", id, err)
	}
	if c.SecretKind == SecretNone {
		return c, nil, nil
	}
	var env sql.NullString
	var ref string
	if err := s.db.QueryRowContext(ctx, `SELECT secret, secret_ref FROM accounts WHERE id = ?`, id).Scan(&env, &ref); err != nil {
		return c, nil, wrapError(err)
	}
	if !env.Valid {
		return c, nil, fmt.Errorf("account %s@%s: its %s is missing", c.Username, c.Asset, c.SecretKind)
	}
	if s.Sealer() == nil {
		return c, nil, ErrNoKey
	}
	sec, err := s.openBound(env.String, accountBinding(id, ref))
	if err != nil {
		return c, nil, fmt.Errorf("account %s@%s: %w", c.Username, c.Asset, err)
	}
	return c, sec, nil
}

// AccountUpdate is a change to an account; nil fields keep their value.
// The secret changes with SetAccountSecret only.
type AccountUpdate struct {
	Privileged *bool
	Comment    *string
}

// UpdateAccount changes whether an account is privileged and its comment.
func (s *Store) UpdateAccount(ctx context.Context, asset, username string, au AccountUpdate) (Account, error) {
	target := username + "@" + asset
	if _, err := s.writeOrg(); err != nil {
		return Account{}, err
	}
	err := s.withTx(ctx, func(q querier) error {
		id, err := s.accountID(ctx, q, asset, username)
		if err != nil {
			return err
		}
		detail := map[string]any{}
		now := formatTime(s.now())
		if au.Privileged != nil {
			if _, err := q.ExecContext(ctx, `UPDATE accounts SET privileged = ?, updated_at = ? WHERE id = ?`, *au.Privileged, now, id); err != nil {
				return wrapError(err)
			}
			detail["privileged"] = *au.Privileged
		}
		if au.Comment != nil {
			if _, err := q.ExecContext(ctx, `UPDATE accounts SET comment = ?, updated_at = ? WHERE id = ?`, *au.Comment, now, id); err != nil {
				return wrapError(err)
			}
			detail["comment"] = *au.Comment
		}
		return s.recordOp(ctx, q, "account.set", target, detail)
	})
	if err != nil {
		return Account{}, err
	}
	return s.GetAccount(ctx, asset, username)
}

// accountID returns the id of the account username on asset in the
// scope.
func (s *Store) accountID(ctx context.Context, q querier, asset, username string) (int64, error) {
	var id int64
	err := q.QueryRowContext(ctx, `SELECT c.id FROM accounts c JOIN assets a ON a.id = c.asset_id
		WHERE a.name = ? AND c.username = ? AND `+s.orgCond("a"), asset, username).Scan(&id)
	if err = wrapError(err); errors.Is(err, ErrNotFound) {
		return 0, fmt.Errorf("account %s@%s: %w", username, asset, ErrNotFound)
	}
	return id, err
}
