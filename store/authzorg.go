package store

import (
	"context"
	"fmt"
)

// The organizations in an authorization: a person's assets come from
// every org of the view she is a member of, each asset and its access
// named with its org.

// grantOrgNames returns the names of the organizations of grants, by id.
func (s *Store) grantOrgNames(ctx context.Context, grants []*liveGrant) (map[int64]string, error) {
	seen := map[int64]bool{}
	var ids []any
	for _, g := range grants {
		if !seen[g.org] {
			seen[g.org] = true
			ids = append(ids, g.org)
		}
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id, name FROM orgs WHERE id IN (`+placeholders(len(ids))+`)`, ids...)
	if err != nil {
		return nil, wrapError(err)
	}
	defer rows.Close()
	out := make(map[int64]string, len(ids))
	for rows.Next() {
		var id int64
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			return nil, wrapError(err)
		}
		out[id] = name
	}
	return out, wrapError(rows.Err())
}

// orgMemberSet returns the ids of the people who are members of org.
func (s *Store) orgMemberSet(ctx context.Context, org int64) (map[int64]bool, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT user_id FROM org_members WHERE org_id = ?`, org)
	if err != nil {
		return nil, wrapError(err)
	}
	defer rows.Close()
	out := map[int64]bool{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, wrapError(err)
		}
		out[id] = true
	}
	return out, wrapError(rows.Err())
}

// SessionOrgs returns the organization id of each of the sessions ids
// that the view sees (a session's org is its asset's). The bastion's
// auditor view keeps an org-auditor to her orgs' sessions with it.
func (s *Store) SessionOrgs(ctx context.Context, ids []string) (map[string]int64, error) {
	out := make(map[string]int64, len(ids))
	for start := 0; start < len(ids); start += 500 {
		chunk := ids[start:min(start+500, len(ids))]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		if err := s.sessionOrgs(ctx, args, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *Store) sessionOrgs(ctx context.Context, ids []any, out map[string]int64) error {
	rows, err := s.db.QueryContext(ctx, `SELECT s.id, s.org_id FROM sessions s WHERE `+s.orgCond("s")+
		` AND s.id IN (`+placeholders(len(ids))+`)`, ids...)
	if err != nil {
		return fmt.Errorf("reading the organizations of sessions: %w", wrapError(err))
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var org int64
		if err := rows.Scan(&id, &org); err != nil {
			return wrapError(err)
		}
		out[id] = org
	}
	return wrapError(rows.Err())
}

// AuditOrgs returns the organizations whose sessions the person may
// audit through her membership (org-auditor or org-admin), by name,
// with their ids. System auditors and admins audit every org: that is
// their role, not a membership.
func (s *Store) AuditOrgs(ctx context.Context, user string) (map[int64]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT o.id, o.name FROM org_members m JOIN orgs o ON o.id = m.org_id
		JOIN users u ON u.id = m.user_id WHERE u.name = ? AND o.removed_at IS NULL AND m.role IN (?, ?)`,
		user, RoleOrgAuditor, RoleOrgAdmin)
	if err != nil {
		return nil, wrapError(err)
	}
	defer rows.Close()
	out := map[int64]string{}
	for rows.Next() {
		var id int64
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			return nil, wrapError(err)
		}
		out[id] = name
	}
	return out, wrapError(rows.Err())
}
