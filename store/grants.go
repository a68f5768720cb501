package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// AllAccounts is the account name that stands for every account on the
// covered assets.
const AllAccounts = "@all"

// Grant lets people (users, and the members of groups) reach assets
// (named, or under nodes with their descendants) as accounts (by
// username, or all of them), doing some actions, within a time window.
type Grant struct {
	ID          int64    `json:"id" yaml:"id"`
	Name        string   `json:"name" yaml:"name"`
	Users       []string `json:"users" yaml:"users"`
	Groups      []string `json:"groups" yaml:"groups"`
	Assets      []string `json:"assets" yaml:"assets"`
	Nodes       []string `json:"nodes" yaml:"nodes"`
	Accounts    []string `json:"accounts" yaml:"accounts"` // ["@all"] when AllAccounts
	AllAccounts bool     `json:"all_accounts" yaml:"all_accounts"`
	Actions     []string `json:"actions" yaml:"actions"`
	// ForwardPorts are the ports of the asset the forward action opens;
	// empty means the asset's SSH port only.
	ForwardPorts []int      `json:"forward_ports" yaml:"forward_ports"`
	ValidFrom    *time.Time `json:"valid_from" yaml:"valid_from"`
	ValidUntil   *time.Time `json:"valid_until" yaml:"valid_until"`
	Active       bool       `json:"active" yaml:"active"`
	Comment      string     `json:"comment" yaml:"comment"`
	CreatedAt    time.Time  `json:"created_at" yaml:"created_at"`
	// Warnings say why a grant added with Force gives nothing yet.
	Warnings []string `json:"warnings,omitempty" yaml:"warnings,omitempty"`
}

// State describes the grant at time at: "active", "inactive",
// "expired" or "not yet valid".
func (g Grant) State(at time.Time) string {
	switch {
	case !g.Active:
		return "inactive"
	case g.ValidUntil != nil && !at.Before(*g.ValidUntil):
		return "expired"
	case g.ValidFrom != nil && at.Before(*g.ValidFrom):
		return "not yet valid"
	}
	return "active"
}

// NewGrant is what AddGrant needs. No Accounts means every account
// (AllAccounts); no Actions means DefaultActions.
type NewGrant struct {
	Name     string
	Users    []string
	Groups   []string
	Assets   []string
	Nodes    []string
	Accounts []string // usernames, or "@all"
	Actions  []string
	// ForwardPorts are the asset ports the forward action opens (empty:
	// the asset's SSH port).
	ForwardPorts []int
	ValidFrom    *time.Time
	ValidUntil   *time.Time
	Comment      string
	// Force adds the grant even when it would give nothing (its window
	// is over, or an account it gives is on none of its assets): the
	// problems come back as the grant's Warnings instead of an error.
	Force bool
}

// ParseActions reads a comma-separated action list, e.g.
// "connect,upload", checking each against AllActions; the result is
// deduplicated and in canonical order.
func ParseActions(s string) ([]string, error) {
	var out []string
	for _, a := range strings.Split(s, ",") {
		a = strings.ToLower(strings.TrimSpace(a))
		if a == "" {
			continue
		}
		if !slices.Contains(AllActions, a) {
			return nil, fmt.Errorf("unknown action %q: want some of %s", a, strings.Join(AllActions, ","))
		}
		out = unionActions(out, []string{a})
	}
	if len(out) == 0 {
		return nil, errors.New("no action given: want some of " + strings.Join(AllActions, ","))
	}
	return out, nil
}

func checkActions(actions []string) ([]string, error) {
	return ParseActions(strings.Join(actions, ","))
}

// checkWindow checks that until comes after from.
//
// unscoped: no SQL (its message ends in --from, which reads as SQL).
func checkWindow(from, until *time.Time) error {
	if from != nil && until != nil && !until.After(*from) {
		return fmt.Errorf("the window ends (%s) before it starts (%s): --until must be after --from",
			until.UTC().Format(time.RFC3339), from.UTC().Format(time.RFC3339))
	}
	return nil
}

// checkedGrant is a NewGrant's fields once checked and normalised.
type checkedGrant struct {
	actions []string
	all     bool
	names   []string
	ports   []int
}

// checkNewGrant checks a new grant's shape: a name, someone, something,
// known actions, valid accounts, window and ports.
func checkNewGrant(ng NewGrant) (checkedGrant, error) {
	var v checkedGrant
	if err := ValidName("grant", ng.Name); err != nil {
		return v, err
	}
	if len(ng.Users)+len(ng.Groups) == 0 {
		return v, errors.New("a grant needs at least one --user or --group")
	}
	if len(ng.Assets)+len(ng.Nodes) == 0 {
		return v, errors.New("a grant needs at least one --asset or --node")
	}
	if len(ng.Actions) == 0 {
		ng.Actions = DefaultActions
	}
	var err error
	if v.actions, err = checkActions(ng.Actions); err != nil {
		return v, err
	}
	if v.all, v.names, err = splitAccounts(ng.Accounts); err != nil {
		return v, err
	}
	if err := checkWindow(ng.ValidFrom, ng.ValidUntil); err != nil {
		return v, err
	}
	v.ports, err = checkPorts(ng.ForwardPorts)
	return v, err
}

// splitAccounts separates "@all" from usernames, checking the names.
func splitAccounts(accounts []string) (all bool, names []string, err error) {
	if len(accounts) == 0 {
		return true, nil, nil
	}
	for _, a := range accounts {
		a = strings.TrimSpace(a)
		if a == AllAccounts {
			all = true
			continue
		}
		if err := ValidAccountName(a); err != nil {
			return false, nil, err
		}
		if !slices.Contains(names, a) {
			names = append(names, a)
		}
	}
	if all && len(names) > 0 {
		return false, nil, fmt.Errorf("--account @all already gives every account: drop %s or @all", strings.Join(names, ", "))
	}
	return all, names, nil
}

// AddGrant adds a grant with its members in one transaction. Every
// user, group, asset and node it names must exist.
func (s *Store) AddGrant(ctx context.Context, ng NewGrant) (Grant, error) {
	v, err := checkNewGrant(ng)
	if err != nil {
		return Grant{}, err
	}
	actions, all, names, ports := v.actions, v.all, v.names, v.ports
	org, err := s.writeOrg()
	if err != nil {
		return Grant{}, err
	}
	var warnings []string
	err = s.withTx(ctx, func(q querier) error {
		var id int64
		err := q.QueryRowContext(ctx, `INSERT INTO grants (name, actions, all_accounts, forward_ports, valid_from, valid_until, comment, created_at, org_id)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, ng.Name, strings.Join(actions, ","), all, formatPorts(ports),
			formatTimePtr(ng.ValidFrom), formatTimePtr(ng.ValidUntil), ng.Comment, formatTime(s.now()), org).Scan(&id)
		if err != nil {
			return nameTaken(err, "grant", ng.Name)
		}
		m := grantMembers{users: ng.Users, groups: ng.Groups, assets: ng.Assets, nodes: ng.Nodes, accounts: names}
		if err := m.insert(ctx, s, q, "grant", id); err != nil {
			return err
		}
		if warnings, err = s.givesNothing(ctx, q, ng, names, s.now()); err != nil {
			return err
		}
		if len(warnings) > 0 && !ng.Force {
			return fmt.Errorf("grant %s would give nothing: %s (use --force to add it anyway)", ng.Name, strings.Join(warnings, "; "))
		}
		return s.recordOp(ctx, q, "grant.add", ng.Name, map[string]any{
			"users": ng.Users, "groups": ng.Groups, "assets": ng.Assets, "nodes": ng.Nodes,
			"accounts": accountsOut(all, names), "actions": actions, "forward_ports": ports,
			"valid_from": ng.ValidFrom, "valid_until": ng.ValidUntil})
	})
	if err != nil {
		return Grant{}, err
	}
	g, err := s.GetGrant(ctx, ng.Name)
	g.Warnings = warnings
	return g, err
}

func accountsOut(all bool, names []string) []string {
	if all {
		return []string{AllAccounts}
	}
	if names == nil {
		return []string{}
	}
	return names
}

// grantMembers are the names a grant or filter is scoped by; insert and
// remove resolve them to ids in the tables <kind>_users, <kind>_groups,
// <kind>_assets, <kind>_nodes and <kind>_accounts.
type grantMembers struct {
	users, groups, assets, nodes, accounts []string
}

func (m grantMembers) insert(ctx context.Context, s *Store, q querier, kind string, id int64) error {
	return s.applyMembers(ctx, q, kind, id, m, `INSERT INTO %s (%s_id, %s) VALUES (?, ?) ON CONFLICT DO NOTHING`, true)
}

func (m grantMembers) remove(ctx context.Context, s *Store, q querier, kind string, id int64) error {
	return s.applyMembers(ctx, q, kind, id, m, `DELETE FROM %s WHERE %s_id = ? AND %s = ?`, false)
}

// scopeNames are the names a grant or filter is scoped by, loaded.
type scopeNames struct {
	users, groups, assets, nodes, accounts []string
}

// loadScopes returns the member names of every grant or filter (kind)
// of the scope, keyed by its id, each list sorted.
func (s *Store) loadScopes(ctx context.Context, q querier, kind string) (map[int64]*scopeNames, error) {
	// The parent rows of the scope: the kind's table is its plural.
	inScope := ` WHERE x.` + kind + `_id IN (SELECT p.id FROM ` + kind + `s p WHERE ` + s.orgCond("p") + `)`
	out := map[int64]*scopeNames{}
	get := func(id int64) *scopeNames {
		sn := out[id]
		if sn == nil {
			sn = &scopeNames{}
			out[id] = sn
		}
		return sn
	}
	queries := []struct {
		query string
		field func(*scopeNames) *[]string
	}{
		{`SELECT x.` + kind + `_id, u.name FROM ` + kind + `_users x JOIN users u ON u.id = x.user_id` + inScope + ` ORDER BY u.name`,
			func(s *scopeNames) *[]string { return &s.users }},
		{`SELECT x.` + kind + `_id, g.name FROM ` + kind + `_groups x JOIN groups g ON g.id = x.group_id` + inScope + ` ORDER BY g.name`,
			func(s *scopeNames) *[]string { return &s.groups }},
		{`SELECT x.` + kind + `_id, a.name FROM ` + kind + `_assets x JOIN assets a ON a.id = x.asset_id` + inScope + ` ORDER BY a.name`,
			func(s *scopeNames) *[]string { return &s.assets }},
		{`SELECT x.` + kind + `_id, n.path FROM ` + kind + `_nodes x JOIN nodes n ON n.id = x.node_id` + inScope + ` ORDER BY n.path`,
			func(s *scopeNames) *[]string { return &s.nodes }},
		{`SELECT x.` + kind + `_id, x.username FROM ` + kind + `_accounts x` + inScope + ` ORDER BY x.username`,
			func(s *scopeNames) *[]string { return &s.accounts }},
	}
	for _, qq := range queries {
		rows, err := q.QueryContext(ctx, qq.query)
		if err != nil {
			return nil, wrapError(err)
		}
		for rows.Next() {
			var id int64
			var name string
			if err := rows.Scan(&id, &name); err != nil {
				rows.Close()
				return nil, wrapError(err)
			}
			f := qq.field(get(id))
			*f = append(*f, name)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, wrapError(err)
		}
	}
	return out, nil
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// ListGrants returns every grant with its members, sorted by name.
func (s *Store) ListGrants(ctx context.Context) ([]Grant, error) {
	return s.listGrants(ctx, "")
}

// GetGrant returns the grant called name.
func (s *Store) GetGrant(ctx context.Context, name string) (Grant, error) {
	gs, err := s.listGrants(ctx, name)
	if err != nil {
		return Grant{}, err
	}
	if len(gs) == 0 {
		return Grant{}, fmt.Errorf("grant %q: %w", name, ErrNotFound)
	}
	return gs[0], nil
}

func (s *Store) listGrants(ctx context.Context, name string) ([]Grant, error) {
	query := `SELECT id, name, actions, all_accounts, forward_ports, valid_from, valid_until, active, comment, created_at
		FROM grants g WHERE ` + s.orgCond("g")
	var args []any
	if name != "" {
		query += ` AND name = ?`
		args = append(args, name)
	}
	rows, err := s.db.QueryContext(ctx, query+` ORDER BY name`, args...)
	if err != nil {
		return nil, wrapError(err)
	}
	var out []Grant
	for rows.Next() {
		var g Grant
		var actions, ports, created string
		var from, until sql.NullString
		if err := rows.Scan(&g.ID, &g.Name, &actions, &g.AllAccounts, &ports, &from, &until, &g.Active, &g.Comment, &created); err != nil {
			rows.Close()
			return nil, wrapError(err)
		}
		g.Actions = splitActions(actions)
		g.ForwardPorts = splitPorts(ports)
		g.ValidFrom, g.ValidUntil = parseNullTime(from), parseNullTime(until)
		g.CreatedAt = parseTime(created)
		out = append(out, g)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, wrapError(err)
	}
	if len(out) == 0 {
		return out, nil
	}
	scopes, err := s.loadScopes(ctx, s.db, "grant")
	if err != nil {
		return nil, err
	}
	for i := range out {
		g := &out[i]
		sn := scopes[g.ID]
		if sn == nil {
			sn = &scopeNames{}
		}
		g.Users, g.Groups, g.Assets, g.Nodes = orEmpty(sn.users), orEmpty(sn.groups), orEmpty(sn.assets), orEmpty(sn.nodes)
		g.Accounts = accountsOut(g.AllAccounts, sn.accounts)
	}
	return out, nil
}

// RemoveGrant deletes the grants called names, all or none, in one
// transaction.
func (s *Store) RemoveGrant(ctx context.Context, names ...string) error {
	return s.removeNamed(ctx, "grant", "grants", "grant.rm", names)
}

// GrantUpdate holds the changes to a grant; zero fields change nothing.
type GrantUpdate struct {
	AddUsers, RemoveUsers       []string
	AddGroups, RemoveGroups     []string
	AddAssets, RemoveAssets     []string
	AddNodes, RemoveNodes       []string
	AddAccounts, RemoveAccounts []string // usernames or "@all"
	Actions                     []string
	ValidFrom, ValidUntil       *time.Time
	ClearFrom, ClearUntil       bool
	Active                      *bool
	Comment                     *string
	ForwardPorts                *[]int // nil: unchanged; empty: the asset's SSH port
}

// UpdateGrant changes a grant in one transaction. The result must still
// name someone, cover something and give some account.
func (s *Store) UpdateGrant(ctx context.Context, name string, gu GrantUpdate) (Grant, error) {
	cur, err := s.GetGrant(ctx, name)
	if err != nil {
		return Grant{}, err
	}
	ch, err := planGrantUpdate(cur, gu)
	if err != nil {
		return Grant{}, err
	}
	err = s.withTx(ctx, func(q querier) error {
		if err := s.writeGrantChange(ctx, q, ch, cur.ID); err != nil {
			return err
		}
		return s.recordOp(ctx, q, "grant.set", name, ch.detail(gu))
	})
	if err != nil {
		return Grant{}, err
	}
	return s.GetGrant(ctx, name)
}

// grantChange is a checked GrantUpdate: the grant's new settings and the
// members to add and remove, node paths cleaned.
type grantChange struct {
	actions     []string
	from, until *time.Time
	active      bool
	comment     string
	ports       []int
	portsSet    bool // the update gave ForwardPorts
	all         bool // @all accounts
	add, rm     grantMembers
}

// planGrantUpdate checks gu against the grant cur and works out the
// change.
func planGrantUpdate(cur Grant, gu GrantUpdate) (grantChange, error) {
	ch, err := grantSettings(cur, gu)
	if err != nil {
		return ch, err
	}
	if err := ch.planAccounts(cur, gu); err != nil {
		return ch, err
	}
	if countAfter(cur.Users, gu.AddUsers, gu.RemoveUsers)+countAfter(cur.Groups, gu.AddGroups, gu.RemoveGroups) == 0 {
		return ch, errors.New("the grant would name nobody: keep or add a --add-user or --add-group")
	}
	if ch.rm.nodes, err = cleanNodePaths(gu.RemoveNodes); err != nil {
		return ch, err
	}
	if ch.add.nodes, err = cleanNodePaths(gu.AddNodes); err != nil {
		return ch, err
	}
	if countAfter(cur.Assets, gu.AddAssets, gu.RemoveAssets)+countAfter(cur.Nodes, ch.add.nodes, ch.rm.nodes) == 0 {
		return ch, errors.New("the grant would cover nothing: keep or add an --add-asset or --add-node")
	}
	ch.add.users, ch.add.groups, ch.add.assets = gu.AddUsers, gu.AddGroups, gu.AddAssets
	ch.rm.users, ch.rm.groups, ch.rm.assets = gu.RemoveUsers, gu.RemoveGroups, gu.RemoveAssets
	return ch, nil
}

// grantSettings returns the grant's actions, window, state, comment and
// ports after gu.
func grantSettings(cur Grant, gu GrantUpdate) (grantChange, error) {
	ch := grantChange{actions: cur.Actions, from: cur.ValidFrom, until: cur.ValidUntil, active: cur.Active,
		comment: cur.Comment, ports: cur.ForwardPorts, portsSet: gu.ForwardPorts != nil}
	var err error
	if len(gu.Actions) > 0 {
		if ch.actions, err = checkActions(gu.Actions); err != nil {
			return ch, err
		}
	}
	if gu.ClearFrom {
		ch.from = nil
	}
	if gu.ClearUntil {
		ch.until = nil
	}
	if gu.ValidFrom != nil {
		ch.from = gu.ValidFrom
	}
	if gu.ValidUntil != nil {
		ch.until = gu.ValidUntil
	}
	if err := checkWindow(ch.from, ch.until); err != nil {
		return ch, err
	}
	if gu.Active != nil {
		ch.active = *gu.Active
	}
	if gu.Comment != nil {
		ch.comment = *gu.Comment
	}
	if gu.ForwardPorts != nil {
		if ch.ports, err = checkPorts(*gu.ForwardPorts); err != nil {
			return ch, err
		}
	}
	return ch, nil
}

// planAccounts works out the accounts after gu: @all, or a list of
// usernames, never both and never none.
func (ch *grantChange) planAccounts(cur Grant, gu GrantUpdate) error {
	ch.all = cur.AllAccounts
	for _, a := range gu.AddAccounts {
		if a == AllAccounts {
			ch.all = true
		} else {
			ch.add.accounts = append(ch.add.accounts, a)
		}
	}
	for _, a := range gu.RemoveAccounts {
		if a == AllAccounts {
			ch.all = false
		} else {
			ch.rm.accounts = append(ch.rm.accounts, a)
		}
	}
	names := slices.DeleteFunc(append(slices.Clone(cur.Accounts), ch.add.accounts...), func(a string) bool {
		return a == AllAccounts || slices.Contains(ch.rm.accounts, a)
	})
	if ch.all && len(names) > 0 {
		return fmt.Errorf("@all already gives every account: remove %s (--rm-account) or don't add @all", strings.Join(names, ", "))
	}
	if !ch.all && len(names) == 0 {
		return errors.New("the grant would give no account: add a username or @all (--add-account)")
	}
	return nil
}

// countAfter returns how many distinct names have holds once add is added
// and rm removed.
func countAfter(have, add, rm []string) int {
	n := 0
	for _, x := range unique(append(slices.Clone(have), add...)) {
		if !slices.Contains(rm, x) {
			n++
		}
	}
	return n
}

// cleanNodePaths returns the clean form of each node path.
func cleanNodePaths(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		c, err := CleanNodePath(p)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// writeGrantChange applies the change to the grant id of the scope's
// organization: members removed, then added (with @all, every listed
// account goes), then its settings.
func (s *Store) writeGrantChange(ctx context.Context, q querier, ch grantChange, id int64) error {
	org, err := s.writeOrg()
	if err != nil {
		return err
	}
	if err := ch.rm.remove(ctx, s, q, "grant", id); err != nil {
		return err
	}
	if ch.all {
		if _, err := q.ExecContext(ctx, `DELETE FROM grant_accounts WHERE grant_id = ?`, id); err != nil {
			return wrapError(err)
		}
	}
	if err := ch.add.insert(ctx, s, q, "grant", id); err != nil {
		return err
	}
	_, err = q.ExecContext(ctx, `UPDATE grants SET actions = ?, all_accounts = ?, forward_ports = ?, valid_from = ?, valid_until = ?,
		active = ?, comment = ? WHERE id = ? AND org_id = ?`, strings.Join(ch.actions, ","), ch.all, formatPorts(ch.ports),
		formatTimePtr(ch.from), formatTimePtr(ch.until), ch.active, ch.comment, id, org)
	return wrapError(err)
}

// detail is what the operations audit keeps of the update: the members
// added and removed, and the settings after it.
func (ch grantChange) detail(gu GrantUpdate) map[string]any {
	detail := map[string]any{}
	for k, v := range map[string][]string{"add_users": gu.AddUsers, "rm_users": gu.RemoveUsers,
		"add_groups": gu.AddGroups, "rm_groups": gu.RemoveGroups, "add_assets": gu.AddAssets,
		"rm_assets": gu.RemoveAssets, "add_nodes": ch.add.nodes, "rm_nodes": ch.rm.nodes,
		"add_accounts": gu.AddAccounts, "rm_accounts": gu.RemoveAccounts} {
		if len(v) > 0 {
			detail[k] = v
		}
	}
	if ch.portsSet {
		detail["forward_ports"] = ch.ports
	}
	detail["actions"], detail["valid_from"], detail["valid_until"], detail["active"] = ch.actions, ch.from, ch.until, ch.active
	return detail
}

func unique(s []string) []string {
	sort.Strings(s)
	return slices.Compact(s)
}
