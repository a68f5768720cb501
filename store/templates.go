package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Secret policies of an account template.
const (
	PolicyGenerateKey      = "generate-key"      // a new ed25519 key per asset
	PolicyGeneratePassword = "generate-password" // a new password per asset
	PolicyPassword         = "password"          // the template's password, on every asset
	PolicyKey              = "key"               // the template's private key, on every asset
)

// AccountTemplate gives every asset under its node an account (JumpServer's
// "system user"). Whether the values are safe to run on an asset is
// checked by the automation package before a template is stored.
type AccountTemplate struct {
	ID           int64         `json:"id" yaml:"id"`
	Name         string        `json:"name" yaml:"name"`
	OrgID        int64         `json:"org_id" yaml:"org_id"`
	Username     string        `json:"username" yaml:"username"`
	SecretPolicy string        `json:"secret_policy" yaml:"secret_policy"`
	Sudo         string        `json:"sudo" yaml:"sudo"`
	Shell        string        `json:"shell" yaml:"shell"`
	Home         bool          `json:"home" yaml:"home"`
	Groups       []string      `json:"groups" yaml:"groups"`
	Push         bool          `json:"push" yaml:"push"`
	Node         string        `json:"node" yaml:"node"`
	RotateEvery  time.Duration `json:"rotate_every" yaml:"rotate_every"`
	Comment      string        `json:"comment" yaml:"comment"`
	CreatedAt    time.Time     `json:"created_at" yaml:"created_at"`
	UpdatedAt    time.Time     `json:"updated_at" yaml:"updated_at"`
}

// NewAccountTemplate is what AddTemplate needs: the template and, for the
// password and key policies, its secret.
type NewAccountTemplate struct {
	AccountTemplate
	Secret Secret
}

func templateBinding(id int64) binding {
	return binding{table: "account_templates", id: id, column: "secret"}
}

// SecretKind is the kind of secret the template's accounts have.
func (t AccountTemplate) SecretKind() string {
	switch t.SecretPolicy {
	case PolicyGeneratePassword, PolicyPassword:
		return SecretPassword
	case PolicyGenerateKey, PolicyKey:
		return SecretKey
	}
	return SecretNone
}

// AddTemplate stores a template, its secret sealed, its node made as
// needed.
func (s *Store) AddTemplate(ctx context.Context, nt NewAccountTemplate) (AccountTemplate, error) {
	if err := ValidName("template", nt.Name); err != nil {
		return AccountTemplate{}, err
	}
	shared := nt.SecretPolicy == PolicyPassword || nt.SecretPolicy == PolicyKey
	if shared {
		if err := CheckAccountSecret(nt.SecretKind(), nt.Secret); err != nil {
			return AccountTemplate{}, err
		}
		if s.Sealer() == nil {
			return AccountTemplate{}, ErrNoKey
		}
	} else if len(nt.Secret) != 0 {
		return AccountTemplate{}, fmt.Errorf("template %q: policy %s makes its own secrets", nt.Name, nt.SecretPolicy)
	}
	node, err := CleanNodePath(nt.Node)
	if err != nil {
		return AccountTemplate{}, err
	}
	nt.Node = node
	org, err := s.writeOrg()
	if err != nil {
		return AccountTemplate{}, err
	}
	err = s.withTx(ctx, func(q querier) error {
		now := formatTime(s.now())
		var nodeRef any
		if node != "" {
			id, err := s.ensureNode(ctx, q, node, now)
			if err != nil {
				return err
			}
			nodeRef = id
		}
		var id int64
		err := q.QueryRowContext(ctx, `INSERT INTO account_templates (org_id, name, username, secret_policy, sudo, shell, make_home,
			unix_groups, push, node_id, rotate_every_s, comment, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			org, nt.Name, nt.Username, nt.SecretPolicy, nt.Sudo, nt.Shell, nt.Home, strings.Join(nt.Groups, ","),
			nt.Push, nodeRef, int64(nt.RotateEvery/time.Second), nt.Comment, now, now).Scan(&id)
		if err != nil {
			return nameTaken(err, "template", nt.Name)
		}
		if shared {
			env, ref, err := s.sealIn(ctx, q, nt.Secret, templateBinding(id))
			if err != nil {
				return err
			}
			if _, err := q.ExecContext(ctx, `UPDATE account_templates SET secret = ?, secret_ref = ? WHERE id = ?`, env, ref, id); err != nil {
				return wrapError(err)
			}
		}
		if err := s.templateJobs(ctx, q, id, nt.AccountTemplate); err != nil {
			return err
		}
		return s.recordOp(ctx, q, "template.add", nt.Name, map[string]any{"username": nt.Username,
			"secret_policy": nt.SecretPolicy, "node": node, "push": nt.Push, "sudo": nt.Sudo})
	})
	if err != nil {
		return AccountTemplate{}, err
	}
	return s.GetTemplate(ctx, nt.Name)
}

const templateColumns = `t.id, t.name, t.org_id, t.username, t.secret_policy, t.sudo, t.shell, t.make_home, t.unix_groups,
	t.push, COALESCE(n.path, ''), t.rotate_every_s, t.comment, t.created_at, t.updated_at`

const templateFrom = ` FROM account_templates t LEFT JOIN nodes n ON n.id = t.node_id`

func scanTemplate(sc interface{ Scan(...any) error }) (AccountTemplate, error) {
	var t AccountTemplate
	var groups, created, updated string
	var every int64
	if err := sc.Scan(&t.ID, &t.Name, &t.OrgID, &t.Username, &t.SecretPolicy, &t.Sudo, &t.Shell, &t.Home, &groups,
		&t.Push, &t.Node, &every, &t.Comment, &created, &updated); err != nil {
		return t, wrapError(err)
	}
	if groups != "" {
		t.Groups = strings.Split(groups, ",")
	}
	t.RotateEvery = time.Duration(every) * time.Second
	t.CreatedAt, t.UpdatedAt = parseTime(created), parseTime(updated)
	return t, nil
}

// GetTemplate returns the template called name.
func (s *Store) GetTemplate(ctx context.Context, name string) (AccountTemplate, error) {
	t, err := scanTemplate(s.db.QueryRowContext(ctx, `SELECT `+templateColumns+templateFrom+` WHERE t.name = ? AND `+s.orgCond("t"), name))
	if errors.Is(err, ErrNotFound) {
		return t, fmt.Errorf("template %q: %w", name, ErrNotFound)
	}
	return t, err
}

// GetTemplateByID returns the template with this id.
func (s *Store) GetTemplateByID(ctx context.Context, id int64) (AccountTemplate, error) {
	t, err := scanTemplate(s.db.QueryRowContext(ctx, `SELECT `+templateColumns+templateFrom+` WHERE t.id = ? AND `+s.orgCond("t"), id))
	if errors.Is(err, ErrNotFound) {
		return t, fmt.Errorf("template #%d: %w", id, ErrNotFound)
	}
	return t, err
}

// ListTemplates returns the scope's templates, sorted by name.
func (s *Store) ListTemplates(ctx context.Context) ([]AccountTemplate, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+templateColumns+templateFrom+` WHERE `+s.orgCond("t")+` ORDER BY t.name, t.org_id`)
	if err != nil {
		return nil, wrapError(err)
	}
	defer rows.Close()
	var out []AccountTemplate
	for rows.Next() {
		t, err := scanTemplate(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, wrapError(rows.Err())
}

// RemoveTemplate deletes a template. The accounts made from it stay, no
// longer tied to it.
func (s *Store) RemoveTemplate(ctx context.Context, name string) error {
	return s.RemoveTemplateWithAccounts(ctx, name, nil)
}

// RemoveTemplateWithAccounts deletes a template and, in the same
// transaction, the accounts listed (those revoked on their assets); the
// other accounts made from it stay, no longer tied to it.
func (s *Store) RemoveTemplateWithAccounts(ctx context.Context, name string, accounts []Account) error {
	if _, err := s.writeOrg(); err != nil {
		return err
	}
	return s.withTx(ctx, func(q querier) error {
		for _, c := range accounts {
			target := c.Username + "@" + c.Asset
			if err := execOne(ctx, q, "account", target, `DELETE FROM accounts WHERE id = ?
				AND asset_id IN (SELECT a.id FROM assets a WHERE `+s.orgCond("a")+`)`, c.ID); err != nil {
				return err
			}
			if err := s.recordOp(ctx, q, "account.rm", target, map[string]any{"template": name}); err != nil {
				return err
			}
		}
		if err := execOne(ctx, q, "template", name, `DELETE FROM account_templates WHERE name = ? AND `+s.orgCond("account_templates"), name); err != nil {
			return err
		}
		return s.recordOp(ctx, q, "template.rm", name, nil)
	})
}

// TemplateSecret opens the secret of a template with the password or
// key policy; nil for the generating policies.
func (s *Store) TemplateSecret(ctx context.Context, id int64) (Secret, error) {
	var env sql.NullString
	var ref string
	if err := s.db.QueryRowContext(ctx, `SELECT secret, secret_ref FROM account_templates t WHERE id = ? AND `+s.orgCond("t"), id).Scan(&env, &ref); err != nil {
		return nil, fmt.Errorf("template #%d: %w", id, wrapError(err))
	}
	if !env.Valid {
		return nil, nil
	}
	if s.Sealer() == nil {
		return nil, ErrNoKey
	}
	b := templateBinding(id)
	b.ref = ref
	sec, err := s.openBound(env.String, b)
	if err != nil {
		return nil, fmt.Errorf("template #%d: %w", id, err)
	}
	return sec, nil
}
