package store

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Grant actions.
const (
	ActionConnect  = "connect"
	ActionUpload   = "upload"
	ActionDownload = "download"
	ActionDelete   = "delete"
	ActionForward  = "forward"
)

// AllActions lists every action a grant can give.
var AllActions = []string{ActionConnect, ActionUpload, ActionDownload, ActionDelete, ActionForward}

// DefaultActions are what a grant gives when --actions is not set.
var DefaultActions = []string{ActionConnect, ActionUpload, ActionDownload, ActionDelete}

// ErrDenied is returned when a person may not do what she asked.
var ErrDenied = errors.New("access denied")

// GrantedAccount is an account a person may use, with the actions the
// grants give her on it and the names of those grants.
type GrantedAccount struct {
	Account
	Actions []string `json:"actions" yaml:"actions"`
	Grants  []string `json:"grants" yaml:"grants"`
}

// Can reports whether action is granted on the account.
func (g GrantedAccount) Can(action string) bool {
	for _, a := range g.Actions {
		if a == action {
			return true
		}
	}
	return false
}

// Access is one asset a person may reach, with the accounts she may use
// there (possibly none: a grant covers the asset but names no account
// that exists on it).
type Access struct {
	Asset    Asset            `json:"asset" yaml:"asset"`
	Accounts []GrantedAccount `json:"accounts" yaml:"accounts"`
}

// Account returns the granted account with this username.
func (a Access) Account(username string) (GrantedAccount, bool) {
	for _, g := range a.Accounts {
		if g.Username == username {
			return g, true
		}
	}
	return GrantedAccount{}, false
}

type liveGrant struct {
	id          int64
	name        string
	actions     []string
	allAccounts bool
	accounts    map[string]bool
}

// liveGrants returns the grants that give userID something at time at:
// active, within their window, naming the user or one of her groups.
func liveGrants(ctx context.Context, q querier, userID int64, at time.Time) ([]*liveGrant, error) {
	t := formatTime(at)
	rows, err := q.QueryContext(ctx, `SELECT g.id, g.name, g.actions, g.all_accounts FROM grants g
		WHERE g.active AND (g.valid_from IS NULL OR g.valid_from <= ?) AND (g.valid_until IS NULL OR g.valid_until > ?)
		AND (EXISTS (SELECT 1 FROM grant_users gu WHERE gu.grant_id = g.id AND gu.user_id = ?)
		  OR EXISTS (SELECT 1 FROM grant_groups gg JOIN group_members m ON m.group_id = gg.group_id
		             WHERE gg.grant_id = g.id AND m.user_id = ?))
		ORDER BY g.name`, t, t, userID, userID)
	if err != nil {
		return nil, wrapError(err)
	}
	var out []*liveGrant
	for rows.Next() {
		g := &liveGrant{accounts: map[string]bool{}}
		var actions string
		if err := rows.Scan(&g.id, &g.name, &actions, &g.allAccounts); err != nil {
			rows.Close()
			return nil, wrapError(err)
		}
		g.actions = splitActions(actions)
		out = append(out, g)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, wrapError(err)
	}
	for _, g := range out {
		if g.allAccounts {
			continue
		}
		arows, err := q.QueryContext(ctx, `SELECT username FROM grant_accounts WHERE grant_id = ?`, g.id)
		if err != nil {
			return nil, wrapError(err)
		}
		for arows.Next() {
			var u string
			if err := arows.Scan(&u); err != nil {
				arows.Close()
				return nil, wrapError(err)
			}
			g.accounts[u] = true
		}
		arows.Close()
	}
	return out, nil
}

func splitActions(s string) []string {
	var out []string
	for _, a := range strings.Split(s, ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

// AuthorizedAssets answers "which assets and accounts may user use at
// time at": every active asset covered by a live grant of hers (directly,
// or through a node and its descendants), with the granted accounts that
// exist on it. A disabled user gets ErrDenied. Sorted by asset name.
func (s *Store) AuthorizedAssets(ctx context.Context, user string, at time.Time) ([]Access, error) {
	return s.authorized(ctx, user, at, 0)
}

// AuthorizedAsset is AuthorizedAssets for one asset; ErrDenied when the
// user may not reach it.
func (s *Store) AuthorizedAsset(ctx context.Context, user string, assetID int64, at time.Time) (Access, error) {
	acc, err := s.authorized(ctx, user, at, assetID)
	if err != nil {
		return Access{}, err
	}
	if len(acc) == 0 {
		return Access{}, fmt.Errorf("%s may not reach asset #%d: %w", user, assetID, ErrDenied)
	}
	return acc[0], nil
}

func (s *Store) authorized(ctx context.Context, user string, at time.Time, onlyAsset int64) ([]Access, error) {
	var userID int64
	var disabled bool
	if err := s.db.QueryRowContext(ctx, `SELECT id, disabled FROM users WHERE name = ?`, user).Scan(&userID, &disabled); err != nil {
		if err = wrapError(err); errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("user %q: %w", user, ErrDenied)
		}
		return nil, err
	}
	if disabled {
		return nil, fmt.Errorf("user %q is disabled: %w", user, ErrDenied)
	}
	grants, err := liveGrants(ctx, s.db, userID, at)
	if err != nil || len(grants) == 0 {
		return nil, err
	}
	byID := make(map[int64]*liveGrant, len(grants))
	ids := make([]any, 0, len(grants))
	for _, g := range grants {
		byID[g.id] = g
		ids = append(ids, g.id)
	}
	in := placeholders(len(ids))
	query := `SELECT x.grant_id, a.id FROM (
			SELECT grant_id, asset_id FROM grant_assets WHERE grant_id IN (` + in + `)
			UNION
			SELECT gn.grant_id, a2.id FROM grant_nodes gn JOIN nodes n ON n.id = gn.node_id
			JOIN nodes d ON (d.path = n.path OR d.path LIKE n.path || '/%')
			JOIN assets a2 ON a2.node_id = d.id WHERE gn.grant_id IN (` + in + `)
		) x JOIN assets a ON a.id = x.asset_id WHERE a.active`
	args := append(append([]any{}, ids...), ids...)
	if onlyAsset != 0 {
		query += ` AND a.id = ?`
		args = append(args, onlyAsset)
	}
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, wrapError(err)
	}
	assetGrants := map[int64][]*liveGrant{}
	for rows.Next() {
		var gid, aid int64
		if err := rows.Scan(&gid, &aid); err != nil {
			rows.Close()
			return nil, wrapError(err)
		}
		assetGrants[aid] = append(assetGrants[aid], byID[gid])
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, wrapError(err)
	}
	if len(assetGrants) == 0 {
		return nil, nil
	}
	assets, err := s.assetsByID(ctx, assetGrants)
	if err != nil {
		return nil, err
	}
	accounts, err := s.accountsByAsset(ctx, assetGrants)
	if err != nil {
		return nil, err
	}
	out := make([]Access, 0, len(assets))
	for _, a := range assets {
		acc := Access{Asset: a, Accounts: []GrantedAccount{}}
		for _, c := range accounts[a.ID] {
			var ga *GrantedAccount
			for _, g := range assetGrants[a.ID] {
				if !g.allAccounts && !g.accounts[c.Username] {
					continue
				}
				if ga == nil {
					ga = &GrantedAccount{Account: c}
				}
				ga.Grants = append(ga.Grants, g.name)
				ga.Actions = unionActions(ga.Actions, g.actions)
			}
			if ga != nil {
				sort.Strings(ga.Grants)
				acc.Accounts = append(acc.Accounts, *ga)
			}
		}
		out = append(out, acc)
	}
	return out, nil
}

func unionActions(have, add []string) []string {
	for _, a := range add {
		found := false
		for _, h := range have {
			if h == a {
				found = true
				break
			}
		}
		if !found {
			have = append(have, a)
		}
	}
	// keep the canonical order
	sort.Slice(have, func(i, j int) bool { return actionRank(have[i]) < actionRank(have[j]) })
	return have
}

func actionRank(a string) int {
	for i, x := range AllActions {
		if x == a {
			return i
		}
	}
	return len(AllActions)
}

// assetsByID loads the active assets whose ids are keys of want, sorted
// by name. For many ids it reads the whole table, which SQLite does
// faster than a long IN list.
func (s *Store) assetsByID(ctx context.Context, want map[int64][]*liveGrant) ([]Asset, error) {
	query := `SELECT ` + assetColumns + assetFrom
	var args []any
	if len(want) <= 200 {
		query += ` WHERE a.id IN (` + placeholders(len(want)) + `)`
		for id := range want {
			args = append(args, id)
		}
	}
	rows, err := s.db.QueryContext(ctx, query+` ORDER BY a.name`, args...)
	if err != nil {
		return nil, wrapError(err)
	}
	out := make([]Asset, 0, len(want))
	for rows.Next() {
		a, err := scanAsset(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		if _, ok := want[a.ID]; ok {
			out = append(out, a)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, wrapError(err)
	}
	ptrs := make([]*Asset, len(out))
	for i := range out {
		ptrs[i] = &out[i]
	}
	return out, s.fillLabels(ctx, ptrs)
}

// accountsByAsset loads the accounts on the assets that are keys of
// want, grouped by asset id and sorted by username.
func (s *Store) accountsByAsset(ctx context.Context, want map[int64][]*liveGrant) (map[int64][]Account, error) {
	query := `SELECT ` + accountColumns + ` FROM accounts c JOIN assets a ON a.id = c.asset_id`
	var args []any
	if len(want) <= 200 {
		query += ` WHERE c.asset_id IN (` + placeholders(len(want)) + `)`
		for id := range want {
			args = append(args, id)
		}
	}
	rows, err := s.db.QueryContext(ctx, query+` ORDER BY c.asset_id, c.username`, args...)
	if err != nil {
		return nil, wrapError(err)
	}
	defer rows.Close()
	out := map[int64][]Account{}
	for rows.Next() {
		c, err := scanAccount(rows)
		if err != nil {
			return nil, err
		}
		if _, ok := want[c.AssetID]; ok {
			out[c.AssetID] = append(out[c.AssetID], c)
		}
	}
	return out, wrapError(rows.Err())
}
