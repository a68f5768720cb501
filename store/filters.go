package store

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
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
	ID        int64     `json:"id" yaml:"id"`
	Name      string    `json:"name" yaml:"name"`
	Action    string    `json:"action" yaml:"action"`
	Priority  int       `json:"priority" yaml:"priority"`
	Regex     string    `json:"regex" yaml:"regex"`
	Commands  []string  `json:"commands" yaml:"commands"`
	Users     []string  `json:"users" yaml:"users"`
	Groups    []string  `json:"groups" yaml:"groups"`
	Assets    []string  `json:"assets" yaml:"assets"`
	Nodes     []string  `json:"nodes" yaml:"nodes"`
	Accounts  []string  `json:"accounts" yaml:"accounts"`
	Active    bool      `json:"active" yaml:"active"`
	Comment   string    `json:"comment" yaml:"comment"`
	CreatedAt time.Time `json:"created_at" yaml:"created_at"`
}

// NewFilter is what AddFilter needs. Priority 0 means
// DefaultFilterPriority. Exactly one of Regex and Commands is set.
type NewFilter struct {
	Name     string
	Action   string
	Priority int
	Regex    string
	Commands []string
	Users    []string
	Groups   []string
	Assets   []string
	Nodes    []string
	Accounts []string
	Comment  string
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
	switch {
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
	err := s.withTx(ctx, func(q querier) error {
		var id int64
		err := q.QueryRowContext(ctx, `INSERT INTO filters (name, action, priority, regex, commands, comment, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, nf.Name, nf.Action, nf.Priority, nf.Regex,
			strings.Join(nf.Commands, "\n"), nf.Comment, formatTime(s.now())).Scan(&id)
		if err != nil {
			return nameTaken(err, "filter", nf.Name)
		}
		m := grantMembers{users: nf.Users, groups: nf.Groups, assets: nf.Assets, nodes: nodes, accounts: nf.Accounts}
		if err := m.insert(ctx, q, "filter", id); err != nil {
			return err
		}
		return s.recordOp(ctx, q, "filter.add", nf.Name, map[string]any{
			"action": nf.Action, "priority": nf.Priority, "regex": nf.Regex, "commands": nf.Commands,
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
	query := `SELECT id, name, action, priority, regex, commands, active, comment, created_at FROM filters`
	var args []any
	if name != "" {
		query += ` WHERE name = ?`
		args = append(args, name)
	}
	rows, err := s.db.QueryContext(ctx, query+` ORDER BY priority, id`, args...)
	if err != nil {
		return nil, wrapError(err)
	}
	var out []Filter
	for rows.Next() {
		var f Filter
		var cmds, created string
		if err := rows.Scan(&f.ID, &f.Name, &f.Action, &f.Priority, &f.Regex, &cmds, &f.Active, &f.Comment, &created); err != nil {
			rows.Close()
			return nil, wrapError(err)
		}
		f.Commands = []string{}
		if cmds != "" {
			f.Commands = strings.Split(cmds, "\n")
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
	scopes, err := loadScopes(ctx, s.db, "filter")
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
	return s.withTx(ctx, func(q querier) error {
		if err := execOne(ctx, q, "filter", name, `UPDATE filters SET active = ? WHERE name = ?`, active, name); err != nil {
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

// FiltersFor returns the active filters whose scope covers user on the
// asset with id assetID as account, in match order (priority, then id).
// The bastion turns them into bastion/filter rules.
func (s *Store) FiltersFor(ctx context.Context, user string, assetID int64, account string) ([]Filter, error) {
	var userID int64
	if err := s.db.QueryRowContext(ctx, `SELECT id FROM users WHERE name = ?`, user).Scan(&userID); err != nil {
		return nil, fmt.Errorf("user %q: %w", user, wrapError(err))
	}
	groups, err := s.userGroups(ctx, userID)
	if err != nil {
		return nil, err
	}
	a, err := s.GetAssetByID(ctx, assetID)
	if err != nil {
		return nil, err
	}
	all, err := s.ListFilters(ctx)
	if err != nil {
		return nil, err
	}
	out := []Filter{}
	for _, f := range all {
		if f.Active && f.Covers(user, groups, a.Name, a.Node, account) {
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
