package store

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Filter actions.
const (
	FilterDeny   = "deny"
	FilterAllow  = "allow"
	FilterWarn   = "warn"
	FilterReview = "review"
)

// FilterActions lists what a filter can do with a command it matches.
var FilterActions = []string{FilterDeny, FilterAllow, FilterWarn, FilterReview}

// DefaultFilterPriority is a filter's priority when none is given.
const DefaultFilterPriority = 50

// Filter is a command filter: a regular expression or a list of command
// words, an action, a priority (1-100, lower first) and a scope. An
// empty scope dimension (no users and no groups, say) matches all.
type Filter struct {
	ID         int64     `json:"id" yaml:"id"`
	Name       string    `json:"name" yaml:"name"`
	Action     string    `json:"action" yaml:"action"`
	Priority   int       `json:"priority" yaml:"priority"`
	Regex      string    `json:"regex" yaml:"regex"`
	Commands   []string  `json:"commands" yaml:"commands"`
	Kind       string    `json:"kind" yaml:"kind"`             // shell or sql
	Statements []string  `json:"statements" yaml:"statements"` // statement kinds a sql filter matches
	Users      []string  `json:"users" yaml:"users"`
	Groups     []string  `json:"groups" yaml:"groups"`
	Assets     []string  `json:"assets" yaml:"assets"`
	Nodes      []string  `json:"nodes" yaml:"nodes"`
	Accounts   []string  `json:"accounts" yaml:"accounts"`
	Active     bool      `json:"active" yaml:"active"`
	Comment    string    `json:"comment" yaml:"comment"`
	CreatedAt  time.Time `json:"created_at" yaml:"created_at"`
}

// NewFilter is what AddFilter needs. Priority 0 means
// DefaultFilterPriority. Exactly one of Regex and Commands is set.
type NewFilter struct {
	Name     string
	Action   string
	Priority int
	Regex    string
	Commands []string
	// Kind is FilterShell (the default) or FilterSQL; a SQL filter has
	// Regex or Statements (kinds such as DROP or "DROP DATABASE").
	Kind       string
	Statements []string
	Users      []string
	Groups     []string
	Assets     []string
	Nodes      []string
	Accounts   []string
	Comment    string
}

// Check fills defaults and checks the filter.
func (nf *NewFilter) Check() error {
	if err := ValidName("filter", nf.Name); err != nil {
		return err
	}
	nf.Action = strings.ToLower(strings.TrimSpace(nf.Action))
	if !slices.Contains(FilterActions, nf.Action) {
		if nf.Action == "" {
			return errors.New("--action is required: deny, allow, warn or review")
		}
		return fmt.Errorf("unknown filter action %q: want deny, allow, warn or review", nf.Action)
	}
	if nf.Priority == 0 {
		nf.Priority = DefaultFilterPriority
	}
	if nf.Priority < 1 || nf.Priority > 100 {
		return fmt.Errorf("priority %d is out of range: want 1-100 (lower is matched first)", nf.Priority)
	}
	var cmds []string
	for _, c := range nf.Commands {
		c = strings.Join(strings.Fields(c), " ")
		if c == "" {
			return errors.New("--command needs a word, e.g. --command reboot")
		}
		if !slices.Contains(cmds, c) {
			cmds = append(cmds, c)
		}
	}
	nf.Commands = cmds
	if err := nf.checkKind(); err != nil {
		return err
	}
	switch {
	case nf.Kind == FilterSQL:
		if err := checkSQLMatch(nf.Regex, nf.Statements); err != nil {
			return err
		}
	case nf.Regex == "" && len(cmds) == 0:
		return errors.New("give exactly one of --regex RE or --command WORD")
	case nf.Regex != "" && len(cmds) > 0:
		return errors.New("give either --regex or --command, not both")
	case nf.Regex != "":
		if _, err := regexp.Compile(nf.Regex); err != nil {
			return fmt.Errorf("--regex %q is not a valid Go regular expression: %w", nf.Regex, err)
		}
	}
	for _, a := range nf.Accounts {
		if err := ValidAccountName(a); err != nil {
			return err
		}
	}
	return nil
}

// AddFilter adds a command filter with its scope in one transaction.
// Every user, group, asset and node it names must exist.
func (s *Store) AddFilter(ctx context.Context, nf NewFilter) (Filter, error) {
	if err := nf.Check(); err != nil {
		return Filter{}, err
	}
	var nodes []string
	for _, n := range nf.Nodes {
		c, err := CleanNodePath(n)
		if err != nil {
			return Filter{}, err
		}
		nodes = append(nodes, c)
	}
	org, err := s.writeOrg()
	if err != nil {
		return Filter{}, err
	}
	err = s.withTx(ctx, func(q querier) error {
		var id int64
		err := q.QueryRowContext(ctx, `INSERT INTO filters (name, action, priority, regex, commands, kind, statements, comment, created_at, org_id)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, nf.Name, nf.Action, nf.Priority, nf.Regex,
			strings.Join(nf.Commands, "\n"), nf.Kind, strings.Join(nf.Statements, "\n"), nf.Comment, formatTime(s.now()), org).Scan(&id)
		if err != nil {
			return nameTaken(err, "filter", nf.Name)
		}
		m := grantMembers{users: nf.Users, groups: nf.Groups, assets: nf.Assets, nodes: nodes, accounts: nf.Accounts}
		if err := m.insert(ctx, s, q, "filter", id); err != nil {
			return err
		}
		return s.recordOp(ctx, q, "filter.add", nf.Name, map[string]any{
			"action": nf.Action, "priority": nf.Priority, "regex": nf.Regex, "commands": nf.Commands,
			"kind": nf.Kind, "statements": nf.Statements,
			"users": nf.Users, "groups": nf.Groups, "assets": nf.Assets, "nodes": nodes, "accounts": nf.Accounts})
	})
	if err != nil {
		return Filter{}, err
	}
	return s.GetFilter(ctx, nf.Name)
}

// ListFilters returns every filter in the order they are matched:
// by priority, then id.
func (s *Store) ListFilters(ctx context.Context) ([]Filter, error) {
	return s.listFilters(ctx, "")
}

// GetFilter returns the filter called name.
func (s *Store) GetFilter(ctx context.Context, name string) (Filter, error) {
	fs, err := s.listFilters(ctx, name)
	if err != nil {
		return Filter{}, err
	}
	if len(fs) == 0 {
		return Filter{}, fmt.Errorf("filter %q: %w", name, ErrNotFound)
	}
	return fs[0], nil
}

func (s *Store) listFilters(ctx context.Context, name string) ([]Filter, error) {
	query := `SELECT id, name, action, priority, regex, commands, kind, statements, active, comment, created_at FROM filters f WHERE ` + s.orgCond("f")
	var args []any
	if name != "" {
		query += ` AND name = ?`
		args = append(args, name)
	}
	rows, err := s.db.QueryContext(ctx, query+` ORDER BY priority, id`, args...)
	if err != nil {
		return nil, wrapError(err)
	}
	var out []Filter
	for rows.Next() {
		var f Filter
		var cmds, stmts, created string
		if err := rows.Scan(&f.ID, &f.Name, &f.Action, &f.Priority, &f.Regex, &cmds, &f.Kind, &stmts, &f.Active, &f.Comment, &created); err != nil {
			rows.Close()
			return nil, wrapError(err)
		}
		f.Commands = []string{}
		if cmds != "" {
			f.Commands = strings.Split(cmds, "\n")
		}
		f.Statements = []string{}
		if stmts != "" {
			f.Statements = strings.Split(stmts, "\n")
		}
		f.CreatedAt = parseTime(created)
		out = append(out, f)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, wrapError(err)
	}
	if len(out) == 0 {
		return out, nil
	}
	scopes, err := s.loadScopes(ctx, s.db, "filter")
	if err != nil {
		return nil, err
	}
	for i := range out {
		f := &out[i]
		sn := scopes[f.ID]
		if sn == nil {
			sn = &scopeNames{}
		}
		f.Users, f.Groups, f.Assets = orEmpty(sn.users), orEmpty(sn.groups), orEmpty(sn.assets)
		f.Nodes, f.Accounts = orEmpty(sn.nodes), orEmpty(sn.accounts)
	}
	return out, nil
}

// RemoveFilter deletes the filters called names, all or none, in one
// transaction.
func (s *Store) RemoveFilter(ctx context.Context, names ...string) error {
	return s.removeNamed(ctx, "filter", "filters", "filter.rm", names)
}

// SetFilterActive turns a filter on or off without removing it.
func (s *Store) SetFilterActive(ctx context.Context, name string, active bool) error {
	org, err := s.writeOrg()
	if err != nil {
		return err
	}
	return s.withTx(ctx, func(q querier) error {
		if err := execOne(ctx, q, "filter", name, `UPDATE filters SET active = ? WHERE name = ? AND org_id = ?`, active, name, org); err != nil {
			return err
		}
		action := "filter.disable"
		if active {
			action = "filter.enable"
		}
		return s.recordOp(ctx, q, action, name, nil)
	})
}

// Covers reports whether the filter's scope takes in the user (a member
// of groups) on the asset (in node, "" for none) as account. Each scope
// dimension that is set must match; an unset one matches all.
func (f Filter) Covers(user string, groups []string, asset, node, account string) bool {
	if len(f.Users)+len(f.Groups) > 0 {
		ok := slices.Contains(f.Users, user)
		for _, g := range f.Groups {
			ok = ok || slices.Contains(groups, g)
		}
		if !ok {
			return false
		}
	}
	if len(f.Assets)+len(f.Nodes) > 0 {
		ok := slices.Contains(f.Assets, asset)
		for _, n := range f.Nodes {
			ok = ok || (node != "" && (node == n || strings.HasPrefix(node, n+"/")))
		}
		if !ok {
			return false
		}
	}
	if len(f.Accounts) > 0 && !slices.Contains(f.Accounts, account) {
		return false
	}
	return true
}

// FiltersFor returns the active shell filters whose scope covers user on
// the asset with id assetID as account, in match order (priority, then id).
// Only the filters of the asset's organization judge its sessions, with
// the groups of that organization, whatever the view. The bastion turns
// them into bastion/filter rules.
func (s *Store) FiltersFor(ctx context.Context, user string, assetID int64, account string) ([]Filter, error) {
	return s.filtersFor(ctx, FilterShell, user, assetID, account)
}

// SQLFiltersFor returns the active SQL (statement) filters whose scope
// covers user on the database asset with id assetID as account, in match
// order, as FiltersFor does for shell filters.
func (s *Store) SQLFiltersFor(ctx context.Context, user string, assetID int64, account string) ([]Filter, error) {
	return s.filtersFor(ctx, FilterSQL, user, assetID, account)
}

func (s *Store) filtersFor(ctx context.Context, kind, user string, assetID int64, account string) ([]Filter, error) {
	org, err := s.assetOrg(ctx, assetID)
	if err != nil {
		return nil, err
	}
	v := s.InOrg(org)
	var userID int64
	if err := s.db.QueryRowContext(ctx, `SELECT id FROM users WHERE name = ?`, user).Scan(&userID); err != nil {
		return nil, fmt.Errorf("user %q: %w", user, wrapError(err))
	}
	groups, err := queryNames(ctx, s.db, `SELECT g.name FROM group_members m JOIN groups g ON g.id = m.group_id
		WHERE m.user_id = ? AND g.org_id = ? ORDER BY g.name`, userID, org)
	if err != nil {
		return nil, err
	}
	a, err := v.GetAssetByID(ctx, assetID)
	if err != nil {
		return nil, err
	}
	all, err := v.ListFilters(ctx)
	if err != nil {
		return nil, err
	}
	out := []Filter{}
	for _, f := range all {
		if f.Active && f.Kind == kind && f.Covers(user, groups, a.Name, a.Node, account) {
			out = append(out, f)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Priority != out[j].Priority {
			return out[i].Priority < out[j].Priority
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// FilterUpdate is a change to a command filter; nil and empty fields
// keep their value. Regex replaces the match (dropping the commands);
// AddCommands on a regex filter replace the regex.
type FilterUpdate struct {
	Action                  *string
	Priority                *int
	Regex                   *string
	AddCommands, RmCommands []string
	// Statements, when not nil, replaces a SQL filter's statement kinds
	// (dropping its regex); Regex on a SQL filter drops its kinds.
	Statements              []string
	AddUsers, RmUsers       []string
	AddGroups, RmGroups     []string
	AddAssets, RmAssets     []string
	AddNodes, RmNodes       []string
	AddAccounts, RmAccounts []string
	Comment                 *string
}

// listEdit is one list of names changed by --add-X and --rm-X.
type listEdit struct {
	flag    string // the X of --add-X, for messages
	have    []string
	add, rm []string
}

// apply returns the list after the edit. Removing a name the list does
// not hold is refused: a typo must not pass for a change.
func (e listEdit) apply(owner string) ([]string, error) {
	for _, r := range e.rm {
		if !slices.Contains(e.have, r) && !slices.Contains(e.add, r) {
			return nil, fmt.Errorf("%s has no %s %q to remove (--rm-%s)", owner, e.flag, r, e.flag)
		}
	}
	out := []string{}
	for _, x := range dedupe(append(slices.Clone(e.have), e.add...)) {
		if !slices.Contains(e.rm, x) {
			out = append(out, x)
		}
	}
	return out, nil
}

// widens reports whether the edit empties a list that held names: for a
// scope that means "everyone" or "everywhere", the opposite of what
// removing a name suggests.
func widens(before, after []string) bool { return len(before) > 0 && len(after) == 0 }

// planFilterUpdate returns the filter cur after fu, checked like a new
// filter, with node paths cleaned.
func planFilterUpdate(cur Filter, fu FilterUpdate) (NewFilter, error) {
	nf := NewFilter{Name: cur.Name, Action: cur.Action, Priority: cur.Priority, Regex: cur.Regex, Comment: cur.Comment,
		Kind: cur.Kind, Statements: cur.Statements}
	owner := "filter " + strconv.Quote(cur.Name)
	if fu.Action != nil {
		nf.Action = *fu.Action
	}
	if fu.Priority != nil {
		if *fu.Priority == 0 {
			return nf, errors.New("priority 0 is out of range: want 1-100 (lower is matched first)")
		}
		nf.Priority = *fu.Priority
	}
	if fu.Comment != nil {
		nf.Comment = *fu.Comment
	}
	var rmCmds []string
	for _, c := range fu.RmCommands {
		rmCmds = append(rmCmds, strings.Join(strings.Fields(c), " "))
	}
	cmds, err := listEdit{"command", cur.Commands, fu.AddCommands, rmCmds}.apply(owner)
	if err != nil {
		return nf, err
	}
	nf.Commands = cmds
	switch {
	case fu.Statements != nil:
		nf.Statements, nf.Regex = fu.Statements, ""
	case fu.Regex != nil:
		nf.Regex = *fu.Regex
		nf.Statements = nil
		if len(fu.AddCommands) == 0 {
			nf.Commands = nil
		}
	case len(fu.AddCommands) > 0:
		nf.Regex = ""
	}
	addNodes, err := cleanNodePaths(fu.AddNodes)
	if err != nil {
		return nf, err
	}
	rmNodes, err := cleanNodePaths(fu.RmNodes)
	if err != nil {
		return nf, err
	}
	edits := []struct {
		e   listEdit
		dst *[]string
	}{
		{listEdit{"user", cur.Users, fu.AddUsers, fu.RmUsers}, &nf.Users},
		{listEdit{"group", cur.Groups, fu.AddGroups, fu.RmGroups}, &nf.Groups},
		{listEdit{"asset", cur.Assets, fu.AddAssets, fu.RmAssets}, &nf.Assets},
		{listEdit{"node", cur.Nodes, addNodes, rmNodes}, &nf.Nodes},
		{listEdit{"account", cur.Accounts, fu.AddAccounts, fu.RmAccounts}, &nf.Accounts},
	}
	for _, ed := range edits {
		if *ed.dst, err = ed.e.apply(owner); err != nil {
			return nf, err
		}
	}
	if err := checkNotWidened(owner, cur.Users, cur.Groups, nf.Users, nf.Groups, "every user", "--add-user or --add-group"); err != nil {
		return nf, err
	}
	if err := checkNotWidened(owner, cur.Assets, cur.Nodes, nf.Assets, nf.Nodes, "every asset", "--add-asset or --add-node"); err != nil {
		return nf, err
	}
	if err := checkNotWidened(owner, cur.Accounts, nil, nf.Accounts, nil, "every account", "--add-account"); err != nil {
		return nf, err
	}
	return nf, nf.Check()
}

// checkNotWidened refuses an edit that removes the last names of a scope
// dimension (a, b together), which would make it cover all.
func checkNotWidened(owner string, a, b, a2, b2 []string, all, keep string) error {
	if widens(append(slices.Clone(a), b...), append(slices.Clone(a2), b2...)) {
		return fmt.Errorf("%s would then apply to %s: keep one or give %s (or rm the %s)", owner, all, keep, owner[:strings.LastIndex(owner, " ")])
	}
	return nil
}

// UpdateFilter changes a command filter in one transaction, checked as
// filter add checks a new one; every user, group, asset and node added
// must exist.
func (s *Store) UpdateFilter(ctx context.Context, name string, fu FilterUpdate) (Filter, error) {
	org, err := s.writeOrg()
	if err != nil {
		return Filter{}, err
	}
	cur, err := s.GetFilter(ctx, name)
	if err != nil {
		return Filter{}, err
	}
	nf, err := planFilterUpdate(cur, fu)
	if err != nil {
		return Filter{}, err
	}
	rm := grantMembers{users: minus(cur.Users, nf.Users), groups: minus(cur.Groups, nf.Groups), assets: minus(cur.Assets, nf.Assets),
		nodes: minus(cur.Nodes, nf.Nodes), accounts: minus(cur.Accounts, nf.Accounts)}
	add := grantMembers{users: minus(nf.Users, cur.Users), groups: minus(nf.Groups, cur.Groups), assets: minus(nf.Assets, cur.Assets),
		nodes: minus(nf.Nodes, cur.Nodes), accounts: minus(nf.Accounts, cur.Accounts)}
	err = s.withTx(ctx, func(q querier) error {
		if err := rm.remove(ctx, s, q, "filter", cur.ID); err != nil {
			return err
		}
		if err := add.insert(ctx, s, q, "filter", cur.ID); err != nil {
			return err
		}
		_, err := q.ExecContext(ctx, `UPDATE filters SET action = ?, priority = ?, regex = ?, commands = ?, statements = ?, comment = ?
			WHERE id = ? AND org_id = ?`, nf.Action, nf.Priority, nf.Regex, strings.Join(nf.Commands, "\n"),
			strings.Join(nf.Statements, "\n"), nf.Comment, cur.ID, org)
		if err != nil {
			return wrapError(err)
		}
		return s.recordOp(ctx, q, "filter.set", name, map[string]any{
			"action": nf.Action, "priority": nf.Priority, "regex": nf.Regex, "commands": nf.Commands, "statements": nf.Statements,
			"users": nf.Users, "groups": nf.Groups, "assets": nf.Assets, "nodes": nf.Nodes, "accounts": nf.Accounts})
	})
	if err != nil {
		return Filter{}, err
	}
	return s.GetFilter(ctx, name)
}

// minus returns the names of a that are not in b.
func minus(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}
