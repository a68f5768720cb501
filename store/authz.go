package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
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
	// OrgID and Org are the organization of the asset (and of the grants
	// that give it).
	OrgID int64  `json:"org_id" yaml:"org_id"`
	Org   string `json:"org" yaml:"org"`
}

// Ref is how the person names the asset where a bare name could be
// ambiguous: "org/asset".
func (a Access) Ref() string {
	if a.Org == "" {
		return a.Asset.Name
	}
	return a.Org + "/" + a.Asset.Name
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
	org         int64
	bit         uint64 // 1<<index among the user's live grants; 0 past 64
	name        string
	actions     []string
	mask        uint8 // actions as bits of AllActions
	allAccounts bool
	accounts    map[string]bool
}

// liveGrants returns the grants that give userID something at time at:
// active, within their window, of an organization of the view that she
// is a member of (leaving it ends them at once), naming the user or one
// of her groups.
func (s *Store) liveGrants(ctx context.Context, userID int64, at time.Time) ([]*liveGrant, error) {
	t := formatTime(at)
	rows, err := s.db.QueryContext(ctx, `SELECT g.id, g.org_id, g.name, g.actions, g.all_accounts FROM grants g
		WHERE `+s.orgCond("g")+` AND g.active AND (g.valid_from IS NULL OR g.valid_from <= ?) AND (g.valid_until IS NULL OR g.valid_until > ?)
		AND EXISTS (SELECT 1 FROM org_members om WHERE om.org_id = g.org_id AND om.user_id = ?)
		AND (EXISTS (SELECT 1 FROM grant_users gu WHERE gu.grant_id = g.id AND gu.user_id = ?)
		  OR EXISTS (SELECT 1 FROM grant_groups gg JOIN group_members m ON m.group_id = gg.group_id
		             WHERE gg.grant_id = g.id AND m.user_id = ?))
		ORDER BY g.name, g.org_id`, t, t, userID, userID, userID)
	if err != nil {
		return nil, wrapError(err)
	}
	var out []*liveGrant
	for rows.Next() {
		g := &liveGrant{accounts: map[string]bool{}}
		var actions string
		if err := rows.Scan(&g.id, &g.org, &g.name, &actions, &g.allAccounts); err != nil {
			rows.Close()
			return nil, wrapError(err)
		}
		g.actions = splitActions(actions)
		for _, a := range g.actions {
			if r := actionRank(a); r < len(AllActions) {
				g.mask |= 1 << r
			}
		}
		if len(out) < 64 {
			g.bit = 1 << len(out)
		}
		out = append(out, g)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(out) == 0 {
		return nil, wrapError(err)
	}
	byID, ids := grantIDs(out)
	arows, err := s.db.QueryContext(ctx, `SELECT grant_id, username FROM grant_accounts WHERE grant_id IN (`+placeholders(len(ids))+`)`, ids...)
	if err != nil {
		return nil, wrapError(err)
	}
	defer arows.Close()
	for arows.Next() {
		var id int64
		var u string
		if err := arows.Scan(&id, &u); err != nil {
			return nil, wrapError(err)
		}
		byID[id].accounts[u] = true
	}
	return out, wrapError(arows.Err())
}

func grantIDs(grants []*liveGrant) (map[int64]*liveGrant, []any) {
	byID := make(map[int64]*liveGrant, len(grants))
	ids := make([]any, 0, len(grants))
	for _, g := range grants {
		byID[g.id] = g
		ids = append(ids, g.id)
	}
	return byID, ids
}

// coverage says which live grants cover which assets: named directly,
// or through a node (which covers its descendants too) of the grant's
// organization.
type coverage struct {
	byAsset map[int64][]*liveGrant
	byNode  map[orgPath][]*liveGrant
}

// orgPath is a node: paths are unique within an organization.
type orgPath struct {
	org  int64
	path string
}

// loadCoverage reads what the grants cover. An asset or node of another
// organization than the grant's covers nothing (the grant commands
// refuse to name one; this makes sure).
func (s *Store) loadCoverage(ctx context.Context, grants []*liveGrant) (coverage, error) {
	c := coverage{byAsset: map[int64][]*liveGrant{}, byNode: map[orgPath][]*liveGrant{}}
	byID, ids := grantIDs(grants)
	in := placeholders(len(ids))
	rows, err := s.db.QueryContext(ctx, `SELECT ga.grant_id, ga.asset_id, '' FROM grant_assets ga
		JOIN grants g ON g.id = ga.grant_id JOIN assets a ON a.id = ga.asset_id AND a.org_id = g.org_id
		WHERE ga.grant_id IN (`+in+`)
		UNION ALL SELECT gn.grant_id, 0, n.path FROM grant_nodes gn JOIN grants g ON g.id = gn.grant_id
		JOIN nodes n ON n.id = gn.node_id AND n.org_id = g.org_id
		WHERE `+s.orgCond("n")+` AND gn.grant_id IN (`+in+`)`, append(append([]any{}, ids...), ids...)...)
	if err != nil {
		return c, wrapError(err)
	}
	defer rows.Close()
	for rows.Next() {
		var gid, aid int64
		var path string
		if err := rows.Scan(&gid, &aid, &path); err != nil {
			return c, wrapError(err)
		}
		g := byID[gid]
		if path != "" {
			k := orgPath{g.org, path}
			c.byNode[k] = append(c.byNode[k], g)
		} else {
			c.byAsset[aid] = append(c.byAsset[aid], g)
		}
	}
	return c, wrapError(rows.Err())
}

// grantsFor returns the grants that cover asset a, each once, by name.
func (c coverage) grantsFor(a *Asset) []*liveGrant {
	out := c.byAsset[a.ID]
	if len(c.byNode) > 0 {
		for p := a.Node; p != ""; p = p[:strings.LastIndexByte(p, '/')] {
			out = append(out[:len(out):len(out)], c.byNode[orgPath{a.OrgID, p}]...)
		}
	}
	if len(out) < 2 {
		return out
	}
	out = slices.Clone(out)
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return slices.CompactFunc(out, func(x, y *liveGrant) bool { return x.id == y.id })
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
// exist on it. A disabled user, or one locked out at time at, gets ErrDenied. Sorted by asset name.
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
	at = at.UTC().Truncate(time.Microsecond) // the store's time resolution
	userID, err := s.authzUser(ctx, user, at)
	if err != nil {
		return nil, err
	}
	grants, err := s.liveGrants(ctx, userID, at)
	if err != nil || len(grants) == 0 {
		return nil, err
	}
	cov, err := s.loadCoverage(ctx, grants)
	if err != nil {
		return nil, err
	}
	orgs, err := s.grantOrgNames(ctx, grants)
	if err != nil {
		return nil, err
	}
	if onlyAsset != 0 {
		return s.authorizedOne(ctx, onlyAsset, cov, orgs)
	}
	inv, err := s.inventory(ctx)
	if err != nil {
		return nil, err
	}
	var out []Access
	memo := newAccessMemo()
	for i := range inv.assets {
		a := &inv.assets[i]
		if !a.Active || orgs[a.OrgID] == "" {
			continue
		}
		if g := cov.grantsFor(a); len(g) > 0 {
			if out == nil {
				out = make([]Access, 0, len(inv.assets)-i)
			}
			acc := buildAccess(a.clone(), inv.accounts[a.ID], g, memo)
			acc.OrgID, acc.Org = a.OrgID, orgs[a.OrgID]
			out = append(out, acc)
		}
	}
	return out, nil
}

// authzUser returns the id of the person, or ErrDenied when she is
// unknown, disabled or locked out at time at.
func (s *Store) authzUser(ctx context.Context, user string, at time.Time) (int64, error) {
	var userID int64
	var disabled bool
	var locked sql.NullString
	if err := s.db.QueryRowContext(ctx, `SELECT id, disabled, locked_until FROM users WHERE name = ?`, user).Scan(&userID, &disabled, &locked); err != nil {
		if err = wrapError(err); errors.Is(err, ErrNotFound) {
			return 0, fmt.Errorf("user %q: %w", user, ErrDenied)
		}
		return 0, err
	}
	if disabled {
		return 0, fmt.Errorf("user %q is disabled: %w", user, ErrDenied)
	}
	if until := parseNullTime(locked); until != nil && at.Before(*until) {
		return 0, fmt.Errorf("user %q is locked until %s: %w", user, until.Format(time.RFC3339), ErrDenied)
	}
	return userID, nil
}

// authorizedOne is authorized for one asset: it reads just it, not the
// whole inventory.
func (s *Store) authorizedOne(ctx context.Context, id int64, cov coverage, orgs map[int64]string) ([]Access, error) {
	a, err := s.GetAssetByID(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	g := cov.grantsFor(&a)
	if !a.Active || orgs[a.OrgID] == "" || len(g) == 0 {
		return nil, nil
	}
	accounts, err := s.InOrg(a.OrgID).ListAccounts(ctx, a.Name)
	if err != nil {
		return nil, err
	}
	acc := buildAccess(a, accounts, g, newAccessMemo())
	acc.OrgID, acc.Org = a.OrgID, orgs[a.OrgID]
	return []Access{acc}, nil
}

// buildAccess gives each account on the asset the actions of the grants
// (covering the asset) that name it or all accounts. Lists of actions
// and of grant names are shared through memo between results (clipped,
// so that an append copies).
func buildAccess(a Asset, accounts []Account, grants []*liveGrant, memo *accessMemo) Access {
	acc := Access{Asset: a, Accounts: make([]GrantedAccount, 0, len(accounts))}
	for _, c := range accounts {
		var mask uint8
		var set uint64
		var n int
		for _, g := range grants {
			if g.allAccounts || g.accounts[c.Username] {
				mask |= g.mask
				set |= g.bit
				n++
			}
		}
		if n == 0 {
			continue
		}
		ga := GrantedAccount{Account: c, Actions: memo.actions(mask)}
		ga.Grants = memo.grants[set]
		if ga.Grants == nil || len(ga.Grants) != n {
			ga.Grants = make([]string, 0, n)
			for _, g := range grants { // sorted by name
				if g.allAccounts || g.accounts[c.Username] {
					ga.Grants = append(ga.Grants, g.name)
				}
			}
			if len(grants) <= 64 && !hasUnindexed(grants) {
				memo.grants[set] = ga.Grants
			}
		}
		acc.Accounts = append(acc.Accounts, ga)
	}
	return acc
}

func hasUnindexed(grants []*liveGrant) bool {
	for _, g := range grants {
		if g.bit == 0 {
			return true
		}
	}
	return false
}

// accessMemo remembers action and grant lists within one authorization.
type accessMemo struct {
	byMask [1 << 8][]string
	grants map[uint64][]string
}

func newAccessMemo() *accessMemo { return &accessMemo{grants: map[uint64][]string{}} }

func (m *accessMemo) actions(mask uint8) []string {
	if m.byMask[mask] == nil {
		out := []string{}
		for i, a := range AllActions {
			if mask&(1<<i) != 0 {
				out = append(out, a)
			}
		}
		m.byMask[mask] = slices.Clip(out)
	}
	return m.byMask[mask]
}

func (a *Asset) clone() Asset {
	c := *a
	c.Labels = maps.Clone(a.Labels)
	if a.HostKeyPinnedAt != nil {
		t := *a.HostKeyPinnedAt
		c.HostKeyPinnedAt = &t
	}
	return c
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

// FindAccess picks the asset ref names among those a person may reach:
// "org/asset" names one of an organization, then the rest is looked up
// among that org's; else by name, else by address when exactly one of
// them has it, else by id ("#12" or "12"). A name or address shared by
// several of her assets names none (LookupAccess says which they are).
func FindAccess(list []Access, ref string) (Access, bool) {
	a, err := LookupAccess(list, ref)
	return a, err == nil
}

// AmbiguousAddressError is LookupAccess's answer for an address that
// several of the person's assets have: she has to name one.
type AmbiguousAddressError struct {
	Address string
	Names   []string // her assets with that address, sorted
}

func (e *AmbiguousAddressError) Error() string {
	return fmt.Sprintf("%s is the address of %s: name one", e.Address, joinAnd(e.Names))
}

// AmbiguousNameError is LookupAccess's answer for a bare name that
// assets of several of the person's organizations have.
type AmbiguousNameError struct {
	Name string
	Refs []string // "org/asset", sorted
}

func (e *AmbiguousNameError) Error() string {
	return fmt.Sprintf("%s is in more than one of your organizations: name %s", e.Name, joinWith(e.Refs, " or "))
}

// joinAnd joins names as a sentence does: "a", "a and b", "a, b and c".
func joinAnd(names []string) string {
	return joinWith(names, " and ")
}

func joinWith(names []string, last string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + last + names[len(names)-1]
}

// SpansOrgs reports whether list holds assets of more than one
// organization (then "org/asset" tells them apart).
func SpansOrgs(list []Access) bool {
	for _, a := range list {
		if a.OrgID != list[0].OrgID || a.Org != list[0].Org {
			return true
		}
	}
	return false
}

// LookupAccess is FindAccess with the reason when ref names none of
// list: ErrNotFound, an *AmbiguousNameError when ref is a name assets of
// several of her orgs have, or an *AmbiguousAddressError when ref is the
// address of several (only her own assets are named, so nothing is
// disclosed).
func LookupAccess(list []Access, ref string) (Access, error) {
	if org, rest, ok := strings.Cut(ref, "/"); ok {
		var in []Access
		for _, a := range list {
			if a.Org == org {
				in = append(in, a)
			}
		}
		if a, err := LookupAccess(in, rest); err == nil || !errors.Is(err, ErrNotFound) {
			return a, err
		}
		return Access{}, fmt.Errorf("asset %q: %w", ref, ErrNotFound)
	}
	multi := SpansOrgs(list)
	var byName []Access
	for _, a := range list {
		if a.Asset.Name == ref {
			byName = append(byName, a)
		}
	}
	switch {
	case len(byName) == 1:
		return byName[0], nil
	case len(byName) > 1:
		return Access{}, &AmbiguousNameError{Name: ref, Refs: accessRefs(byName, true)}
	}
	var byAddr []Access
	for _, a := range list {
		if strings.EqualFold(a.Asset.Address, ref) {
			byAddr = append(byAddr, a)
		}
	}
	switch {
	case len(byAddr) == 1:
		return byAddr[0], nil
	case len(byAddr) > 1:
		return Access{}, &AmbiguousAddressError{Address: ref, Names: accessRefs(byAddr, multi)}
	}
	if id, err := strconv.ParseInt(strings.TrimPrefix(ref, "#"), 10, 64); err == nil {
		for _, a := range list {
			if a.Asset.ID == id {
				return a, nil
			}
		}
	}
	return Access{}, fmt.Errorf("asset %q: %w", ref, ErrNotFound)
}

// accessRefs names the assets of list, as org/asset when withOrg, sorted.
func accessRefs(list []Access, withOrg bool) []string {
	out := make([]string, len(list))
	for i, a := range list {
		out[i] = a.Asset.Name
		if withOrg {
			out[i] = a.Ref()
		}
	}
	slices.Sort(out)
	return out
}
