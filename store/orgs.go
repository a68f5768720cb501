package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Org roles: what a member may do in one organization. System roles
// (User.Role "admin" and "auditor") reach every organization.
const (
	RoleOrgAdmin   = "org-admin"
	RoleOrgAuditor = "org-auditor"
	RoleOrgUser    = "user"
)

// OrgRoles lists the roles a member can have, most powerful first.
var OrgRoles = []string{RoleOrgAdmin, RoleOrgAuditor, RoleOrgUser}

// ValidOrgRole checks an org role name.
func ValidOrgRole(r string) error {
	if !slices.Contains(OrgRoles, r) {
		return fmt.Errorf("unknown org role %q: want org-admin, org-auditor or user", r)
	}
	return nil
}

// Org is an organization: a team with its own inventory, grants,
// filters, sessions and audit.
type Org struct {
	ID        int64     `json:"id" yaml:"id"`
	Name      string    `json:"name" yaml:"name"`
	Comment   string    `json:"comment" yaml:"comment"`
	Members   int       `json:"members" yaml:"members"`
	Assets    int       `json:"assets" yaml:"assets"`
	CreatedAt time.Time `json:"created_at" yaml:"created_at"`
}

// OrgMember is a person's membership of an organization.
type OrgMember struct {
	Org  string `json:"org" yaml:"org"`
	User string `json:"user" yaml:"user"`
	Role string `json:"role" yaml:"role"`
}

const orgColumns = `o.id, o.name, o.comment, o.created_at,
	(SELECT COUNT(*) FROM org_members m WHERE m.org_id = o.id),
	(SELECT COUNT(*) FROM assets a WHERE a.org_id = o.id)`

func scanOrg(sc interface{ Scan(...any) error }) (Org, error) {
	var o Org
	var created string
	if err := sc.Scan(&o.ID, &o.Name, &o.Comment, &created, &o.Members, &o.Assets); err != nil {
		return o, wrapError(err)
	}
	o.CreatedAt = parseTime(created)
	return o, nil
}

// AddOrg makes an organization.
func (s *Store) AddOrg(ctx context.Context, name, comment string) (Org, error) {
	if err := ValidName("organization", name); err != nil {
		return Org{}, err
	}
	err := s.withTx(ctx, func(q querier) error {
		var id int64
		err := q.QueryRowContext(ctx, `INSERT INTO orgs (name, comment, created_at) VALUES (?, ?, ?) RETURNING id`,
			name, comment, formatTime(s.now())).Scan(&id)
		if err != nil {
			return nameTaken(err, "organization", name)
		}
		return s.InOrg(id).recordOp(ctx, q, "org.add", name, map[string]any{"comment": comment})
	})
	if err != nil {
		return Org{}, err
	}
	return s.GetOrg(ctx, name)
}

// GetOrg returns the organization called name.
//
// unscoped: organizations are above the scope.
func (s *Store) GetOrg(ctx context.Context, name string) (Org, error) {
	o, err := scanOrg(s.db.QueryRowContext(ctx, `SELECT `+orgColumns+` FROM orgs o WHERE o.name = ? AND o.removed_at IS NULL`, name))
	if errors.Is(err, ErrNotFound) {
		return o, fmt.Errorf("organization %q: %w", name, ErrNotFound)
	}
	return o, err
}

// GetOrgByID returns the organization with the id, removed or not.
//
// unscoped: organizations are above the scope.
func (s *Store) GetOrgByID(ctx context.Context, id int64) (Org, error) {
	o, err := scanOrg(s.db.QueryRowContext(ctx, `SELECT `+orgColumns+` FROM orgs o WHERE o.id = ?`, id))
	if errors.Is(err, ErrNotFound) {
		return o, fmt.Errorf("organization #%d: %w", id, ErrNotFound)
	}
	return o, err
}

// ListOrgs returns the organizations by name; with user set, only those
// the person is a member of.
//
// unscoped: organizations are above the scope.
func (s *Store) ListOrgs(ctx context.Context, user string) ([]Org, error) {
	query := `SELECT ` + orgColumns + ` FROM orgs o WHERE o.removed_at IS NULL`
	var args []any
	if user != "" {
		query += ` AND o.id IN (SELECT m.org_id FROM org_members m JOIN users u ON u.id = m.user_id WHERE u.name = ?)`
		args = append(args, user)
	}
	rows, err := s.db.QueryContext(ctx, query+` ORDER BY o.name`, args...)
	if err != nil {
		return nil, wrapError(err)
	}
	defer rows.Close()
	out := []Org{}
	for rows.Next() {
		o, err := scanOrg(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, wrapError(rows.Err())
}

// RemovedOrgIDs returns the ids of the removed organizations: their
// sessions, tickets and audit stay, and a listing across every
// organization reads them too.
//
// unscoped: organizations are above the scope.
func (s *Store) RemovedOrgIDs(ctx context.Context) ([]int64, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id FROM orgs WHERE removed_at IS NOT NULL ORDER BY id`)
	if err != nil {
		return nil, wrapError(err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, wrapError(err)
		}
		ids = append(ids, id)
	}
	return ids, wrapError(rows.Err())
}

// RenameOrg renames an organization. The default one can be renamed too:
// it stays the one rows without an organization went to.
func (s *Store) RenameOrg(ctx context.Context, from, to string) error {
	if err := ValidName("organization", to); err != nil {
		return err
	}
	return s.withTx(ctx, func(q querier) error {
		o, err := s.GetOrg(ctx, from)
		if err != nil {
			return err
		}
		if _, err := q.ExecContext(ctx, `UPDATE orgs SET name = ? WHERE id = ?`, to, o.ID); err != nil {
			return nameTaken(err, "organization", to)
		}
		return s.InOrg(o.ID).recordOp(ctx, q, "org.rename", from, map[string]any{"to": to})
	})
}

// RemoveOrg removes an empty organization: one without assets, nodes,
// groups, grants, filters, login rules or templates (their names are in
// the error). Its members are let go; its sessions, tickets and audit
// stay, under its id, and its name is free again.
func (s *Store) RemoveOrg(ctx context.Context, name string) error {
	return s.withTx(ctx, func(q querier) error {
		o, err := s.GetOrg(ctx, name)
		if err != nil {
			return err
		}
		if o.ID == DefaultOrgID {
			return conflict(nil, "organization %q is the default one and cannot be removed (rename it instead)", name)
		}
		if used := orgContents(ctx, q, o.ID); len(used) > 0 {
			return conflict(nil, "organization %q still holds %s: remove or move them first", name, joinPhrases(used))
		}
		if _, err := q.ExecContext(ctx, `DELETE FROM org_members WHERE org_id = ?`, o.ID); err != nil {
			return wrapError(err)
		}
		if _, err := q.ExecContext(ctx, `UPDATE orgs SET removed_at = ? WHERE id = ?`, formatTime(s.now()), o.ID); err != nil {
			return wrapError(err)
		}
		return s.InOrg(o.ID).recordOp(ctx, q, "org.rm", name, nil)
	})
}

// orgContents names what an organization still holds, by kind.
//
// unscoped: it counts one named organization's rows.
func orgContents(ctx context.Context, q querier, org int64) []string {
	var out []string
	for _, r := range restrictedBy["orgs"] {
		names, err := queryNames(ctx, q, `SELECT `+r.nameColumn+` FROM `+r.table+` WHERE org_id = ? ORDER BY `+r.nameColumn, org)
		if err == nil && len(names) > 0 {
			out = append(out, usedByPhrase(r.noun, names))
		}
	}
	return out
}

func joinPhrases(p []string) string {
	switch len(p) {
	case 0:
		return ""
	case 1:
		return p[0]
	}
	out := p[0]
	for _, x := range p[1 : len(p)-1] {
		out += ", " + x
	}
	return out + " and " + p[len(p)-1]
}

// SetOrgMember makes user a member of org with role, or changes the role
// of a member.
func (s *Store) SetOrgMember(ctx context.Context, org, user, role string) error {
	if err := ValidOrgRole(role); err != nil {
		return err
	}
	return s.withTx(ctx, func(q querier) error {
		o, err := s.GetOrg(ctx, org)
		if err != nil {
			return err
		}
		uid, err := lookupID(ctx, q, "user", `SELECT id FROM users WHERE name = ?`, user)
		if err != nil {
			return err
		}
		if _, err := q.ExecContext(ctx, `INSERT INTO org_members (org_id, user_id, role, created_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (org_id, user_id) DO UPDATE SET role = excluded.role`, o.ID, uid, role, formatTime(s.now())); err != nil {
			return wrapError(err)
		}
		return s.InOrg(o.ID).recordOp(ctx, q, "org.members.add", user, map[string]any{"org": org, "role": role})
	})
}

// RemoveOrgMember ends user's membership of org. Grants and groups of
// the org that name the person no longer reach her (they stay, so that
// adding her back restores them).
func (s *Store) RemoveOrgMember(ctx context.Context, org, user string) error {
	return s.withTx(ctx, func(q querier) error {
		o, err := s.GetOrg(ctx, org)
		if err != nil {
			return err
		}
		res, err := q.ExecContext(ctx, `DELETE FROM org_members WHERE org_id = ? AND user_id = (SELECT id FROM users WHERE name = ?)`, o.ID, user)
		if err != nil {
			return wrapError(err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%s is not a member of organization %q: %w", user, org, ErrNotFound)
		}
		return s.InOrg(o.ID).recordOp(ctx, q, "org.members.rm", user, map[string]any{"org": org})
	})
}

// OrgMembers lists an organization's members by name.
func (s *Store) OrgMembers(ctx context.Context, org string) ([]OrgMember, error) {
	return s.memberships(ctx, `o.name = ? AND o.removed_at IS NULL`, org)
}

// Memberships lists the organizations a person is a member of, by name.
func (s *Store) Memberships(ctx context.Context, user string) ([]OrgMember, error) {
	return s.memberships(ctx, `u.name = ? AND o.removed_at IS NULL`, user)
}

func (s *Store) memberships(ctx context.Context, where string, arg any) ([]OrgMember, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT o.name, u.name, m.role FROM org_members m
		JOIN orgs o ON o.id = m.org_id JOIN users u ON u.id = m.user_id WHERE `+where+` ORDER BY o.name, u.name`, arg)
	if err != nil {
		return nil, wrapError(err)
	}
	defer rows.Close()
	out := []OrgMember{}
	for rows.Next() {
		var m OrgMember
		if err := rows.Scan(&m.Org, &m.User, &m.Role); err != nil {
			return nil, wrapError(err)
		}
		out = append(out, m)
	}
	return out, wrapError(rows.Err())
}

// OrgRole returns user's role in the organization id, "" for none.
func (s *Store) OrgRole(ctx context.Context, org int64, user string) (string, error) {
	var role string
	err := s.db.QueryRowContext(ctx, `SELECT m.role FROM org_members m JOIN users u ON u.id = m.user_id
		WHERE m.org_id = ? AND u.name = ?`, org, user).Scan(&role)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return role, wrapError(err)
}
