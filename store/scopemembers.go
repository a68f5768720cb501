package store

import (
	"context"
	"errors"
	"fmt"
)

// A grant, filter or login rule names people, groups, assets and nodes
// of its own organization only: the people must be its members, the
// rest must be in it. memberResolver finds each name's id there and
// says plainly which name does not fit.
type memberResolver struct {
	q   querier
	org int64
}

// orgName is the name of the resolver's organization, for messages.
func (r memberResolver) orgName(ctx context.Context) string {
	var name string
	if err := r.q.QueryRowContext(ctx, `SELECT name FROM orgs WHERE id = ?`, r.org).Scan(&name); err != nil {
		return fmt.Sprintf("#%d", r.org)
	}
	return name
}

// user returns the id of the person called name; with member set she
// must be a member of the organization (removing her from a rule needs
// no membership: she may have left it).
func (r memberResolver) user(ctx context.Context, name string, member bool) (int64, error) {
	var id int64
	var in bool
	err := r.q.QueryRowContext(ctx, `SELECT u.id, EXISTS (SELECT 1 FROM org_members m WHERE m.user_id = u.id AND m.org_id = ?)
		FROM users u WHERE u.name = ?`, r.org, name).Scan(&id, &in)
	if err = wrapError(err); errors.Is(err, ErrNotFound) {
		return 0, fmt.Errorf("user %q does not exist: %w", name, ErrNotFound)
	}
	if err != nil {
		return 0, err
	}
	if member && !in {
		org := r.orgName(ctx)
		return 0, fmt.Errorf("user %q is not a member of organization %q: add her first (jmsctl org members add %s %s)",
			name, org, org, name)
	}
	return id, nil
}

// inOrg returns the id of the row of table (groups, assets or nodes)
// whose column (name or path) is value in the organization. One of
// another organization is not named: what other organizations hold is
// theirs to know.
//
// unscoped: it looks in r.org, which its callers take from the scope.
func (r memberResolver) inOrg(ctx context.Context, what, table, column, value, hint string) (int64, error) {
	var id int64
	err := r.q.QueryRowContext(ctx, `SELECT id FROM `+table+` WHERE `+column+` = ? AND org_id = ?`, value, r.org).Scan(&id)
	if err = wrapError(err); errors.Is(err, ErrNotFound) {
		return 0, fmt.Errorf("%s %q does not exist in organization %q%s: %w", what, value, r.orgName(ctx), hint, ErrNotFound)
	}
	return id, err
}

// applyMembers runs stmt (a format of table, kind and column) for each
// name of m, resolved in the scope's organization, on the grant or
// filter (kind) id. adding requires the people to be members.
func (s *Store) applyMembers(ctx context.Context, q querier, kind string, id int64, m grantMembers, stmt string, adding bool) error {
	org, err := s.writeOrg()
	if err != nil {
		return err
	}
	r := memberResolver{q: q, org: org}
	type part struct {
		table, column string
		names         []string
		resolve       func(string) (any, error)
	}
	parts := []part{
		{kind + "_users", "user_id", m.users, func(n string) (any, error) { return r.user(ctx, n, adding) }},
		{kind + "_groups", "group_id", m.groups, func(n string) (any, error) { return r.inOrg(ctx, "group", "groups", "name", n, "") }},
		{kind + "_assets", "asset_id", m.assets, func(n string) (any, error) { return r.inOrg(ctx, "asset", "assets", "name", n, "") }},
		{kind + "_nodes", "node_id", m.nodes, func(p string) (any, error) {
			clean, err := CleanNodePath(p)
			if err != nil {
				return nil, err
			}
			if clean == "" {
				return nil, errors.New("the root node / cannot be named: name the assets or top-level nodes")
			}
			return r.inOrg(ctx, "node", "nodes", "path", clean, " (nodes come from asset paths; see jmsctl node list)")
		}},
		{kind + "_accounts", "username", m.accounts, func(u string) (any, error) { return u, ValidAccountName(u) }},
	}
	for _, p := range parts {
		for _, name := range p.names {
			ref, err := p.resolve(name)
			if err != nil {
				return err
			}
			if _, err := q.ExecContext(ctx, fmt.Sprintf(stmt, p.table, kind, p.column), id, ref); err != nil {
				return wrapError(err)
			}
		}
	}
	return nil
}

// checkRuleMembers checks that the users a login rule of the
// organization org names are its members and its groups are in it.
func (r memberResolver) checkRuleMembers(ctx context.Context, users, groups []string) error {
	for _, u := range users {
		if _, err := r.user(ctx, u, true); errors.Is(err, ErrNotFound) {
			return fmt.Errorf("user %q: %w", u, ErrNotFound)
		} else if err != nil {
			return err
		}
	}
	for _, g := range groups {
		if _, err := r.inOrg(ctx, "group", "groups", "name", g, ""); errors.Is(err, ErrNotFound) {
			return fmt.Errorf("group %q: %w", g, ErrNotFound)
		} else if err != nil {
			return err
		}
	}
	return nil
}

// assetOrg returns the organization of the asset with the id, whatever
// the view: what happens on an asset (its sessions, their filters and
// events) belongs to the asset's organization.
//
// unscoped: it finds the organization an asset's history goes to.
func (s *Store) assetOrg(ctx context.Context, assetID int64) (int64, error) {
	var org int64
	err := s.db.QueryRowContext(ctx, `SELECT org_id FROM assets WHERE id = ?`, assetID).Scan(&org)
	if err = wrapError(err); errors.Is(err, ErrNotFound) {
		return 0, fmt.Errorf("asset #%d: %w", assetID, ErrNotFound)
	}
	return org, err
}

// queryInt64s runs a query that selects one integer column.
func queryInt64s(ctx context.Context, q querier, query string, args ...any) ([]int64, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, wrapError(err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var n int64
		if err := rows.Scan(&n); err != nil {
			return nil, wrapError(err)
		}
		out = append(out, n)
	}
	return out, wrapError(rows.Err())
}

// eventOrg is the organization of an event (command, transfer, ticket)
// of session sessionID on the asset assetID (0: unknown): the asset's,
// else the session's (its asset's), else the view's (0 in the all-orgs
// view: an event of no organization).
//
// unscoped: history takes its organization from its asset or session.
func (s *Store) eventOrg(ctx context.Context, sessionID string, assetID int64) (int64, error) {
	if assetID > 0 {
		org, err := s.assetOrg(ctx, assetID)
		if !errors.Is(err, ErrNotFound) {
			return org, err
		}
	}
	if sessionID != "" {
		orgs, err := queryInt64s(ctx, s.db, `SELECT org_id FROM sessions WHERE id = ?`, sessionID)
		if err != nil || len(orgs) == 1 {
			return first(orgs), err
		}
	}
	org, _ := s.ScopeOrg()
	return org, nil
}

func first(ids []int64) int64 {
	if len(ids) == 0 {
		return 0
	}
	return ids[0]
}
