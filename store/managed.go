package store

import (
	"context"
	"errors"
	"fmt"
)

// ManagedAccount is an account the automation set up on an asset, to be
// stored once the asset has it and a fresh login proved it.
type ManagedAccount struct {
	Asset      string
	Username   string
	TemplateID int64 // 0: none
	SecretKind string
	Secret     Secret
	// Action is the operation recorded: "account.push", "account.rotate".
	Action string
	// Detail goes into the operations audit; never a secret.
	Detail map[string]any
}

// SaveManagedAccount adds the account or replaces its secret (sealed,
// bound to its row) and records the operation, in one transaction.
func (s *Store) SaveManagedAccount(ctx context.Context, m ManagedAccount) (Account, error) {
	if err := ValidAccountName(m.Username); err != nil {
		return Account{}, err
	}
	if err := CheckAccountSecret(m.SecretKind, m.Secret); err != nil {
		return Account{}, err
	}
	if m.SecretKind != SecretNone && s.Sealer() == nil {
		return Account{}, ErrNoKey
	}
	if _, err := s.writeOrg(); err != nil {
		return Account{}, err
	}
	target := m.Username + "@" + m.Asset
	err := s.withTx(ctx, func(q querier) error {
		var assetID int64
		if err := q.QueryRowContext(ctx, `SELECT id FROM assets a WHERE name = ? AND `+s.orgCond("a"), m.Asset).Scan(&assetID); err != nil {
			return fmt.Errorf("asset %q: %w", m.Asset, wrapError(err))
		}
		now := formatTime(s.now())
		var id int64
		err := q.QueryRowContext(ctx, `SELECT id FROM accounts WHERE asset_id = ? AND username = ?`, assetID, m.Username).Scan(&id)
		switch err = wrapError(err); {
		case errors.Is(err, ErrNotFound):
			err = q.QueryRowContext(ctx, `INSERT INTO accounts (asset_id, username, secret_kind, comment, created_at, updated_at)
				VALUES (?, ?, ?, ?, ?, ?) RETURNING id`, assetID, m.Username, m.SecretKind, "managed by jms", now, now).Scan(&id)
			if err != nil {
				return nameTaken(err, "account", target)
			}
		case err != nil:
			return err
		}
		var env any
		ref := ""
		if m.SecretKind != SecretNone {
			if env, ref, err = s.sealIn(ctx, q, m.Secret, accountBinding(id, "")); err != nil {
				return err
			}
		}
		if _, err := q.ExecContext(ctx, `UPDATE accounts SET secret_kind = ?, secret = ?, secret_ref = ?, updated_at = ? WHERE id = ?`,
			m.SecretKind, env, ref, now, id); err != nil {
			return wrapError(err)
		}
		if m.TemplateID != 0 {
			if _, err := q.ExecContext(ctx, `INSERT INTO template_accounts (account_id, template_id)
				SELECT ?, t.id FROM account_templates t WHERE t.id = ? AND `+s.orgCond("t")+`
				ON CONFLICT (account_id) DO UPDATE SET template_id = excluded.template_id`, id, m.TemplateID); err != nil {
				return wrapError(err)
			}
		}
		return s.recordOp(ctx, q, m.Action, target, m.Detail)
	})
	if err != nil {
		return Account{}, err
	}
	return s.GetAccount(ctx, m.Asset, m.Username)
}

// RecordOperation records an operation that changed something outside
// the database (an account pushed to an asset, a failed rotation).
// detail must never hold a secret.
func (s *Store) RecordOperation(ctx context.Context, action, target string, detail map[string]any) error {
	return s.withTx(ctx, func(q querier) error {
		return s.recordOp(ctx, q, action, target, detail)
	})
}

// PrivilegedAccount returns the privileged account of an asset: root
// when it is privileged, else the first privileged one by name.
func (s *Store) PrivilegedAccount(ctx context.Context, asset string) (Account, error) {
	c, err := scanAccount(s.db.QueryRowContext(ctx, `SELECT `+accountColumns+` FROM accounts c JOIN assets a ON a.id = c.asset_id
		WHERE a.name = ? AND c.privileged = ? AND `+s.orgCond("a")+` ORDER BY CASE WHEN c.username = 'root' THEN 0 ELSE 1 END, c.username LIMIT 1`, asset, true))
	if errors.Is(err, ErrNotFound) {
		return c, fmt.Errorf("asset %s has no privileged account (add one with jmsctl account add %s root --password-stdin --privileged): %w", asset, asset, ErrNotFound)
	}
	return c, err
}

// TemplateAccounts returns the accounts made from a template, sorted by
// asset.
func (s *Store) TemplateAccounts(ctx context.Context, templateID int64) ([]Account, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+accountColumns+` FROM accounts c JOIN assets a ON a.id = c.asset_id
		JOIN template_accounts ta ON ta.account_id = c.id
		WHERE ta.template_id = ? AND `+s.orgCond("a")+` ORDER BY a.name, c.username`, templateID)
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
