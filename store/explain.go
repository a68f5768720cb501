package store

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// Explanation says whether a person can reach an asset at a time, as
// which accounts and through which grants, or why not. It agrees with
// AuthorizedAsset: Allowed is true exactly when AuthorizedAsset gives
// at least one account, and Accounts are the same.
type Explanation struct {
	User     string             `json:"user" yaml:"user"`
	Asset    string             `json:"asset" yaml:"asset"`
	At       time.Time          `json:"at" yaml:"at"`
	Allowed  bool               `json:"allowed" yaml:"allowed"`
	Verdict  string             `json:"verdict" yaml:"verdict"`
	Reasons  []string           `json:"reasons" yaml:"reasons"` // why not; empty when allowed
	Accounts []ExplainedAccount `json:"accounts" yaml:"accounts"`
	Grants   []GrantCheck       `json:"grants" yaml:"grants"` // grants that name the user or cover the asset
}

// ExplainedAccount is an account the person may use on the asset.
type ExplainedAccount struct {
	Username   string   `json:"username" yaml:"username"`
	Privileged bool     `json:"privileged" yaml:"privileged"`
	Actions    []string `json:"actions" yaml:"actions"`
	Grants     []string `json:"grants" yaml:"grants"`
}

// GrantCheck is one grant weighed for a person and an asset.
type GrantCheck struct {
	Grant    string   `json:"grant" yaml:"grant"`
	Applies  bool     `json:"applies" yaml:"applies"`
	Names    string   `json:"names" yaml:"names"`       // how it names the person ("user alice", "group ops"), "" if it does not
	Covers   string   `json:"covers" yaml:"covers"`     // how it covers the asset ("asset web1", "node /prod"), "" if not
	Accounts []string `json:"accounts" yaml:"accounts"` // its accounts that exist on the asset
	Actions  []string `json:"actions" yaml:"actions"`
	Reason   string   `json:"reason" yaml:"reason"` // why it does not apply; "" when it does
}

// WhoCanEntry is one account on an asset that one person may use.
type WhoCanEntry struct {
	User    string   `json:"user" yaml:"user"`
	Account string   `json:"account" yaml:"account"`
	Actions []string `json:"actions" yaml:"actions"`
	Grants  []string `json:"grants" yaml:"grants"`
}

// ExplainAccess explains whether user can reach the asset called asset
// at time at. Unknown user or asset is ErrNotFound; every other outcome
// is an Explanation.
func (s *Store) ExplainAccess(ctx context.Context, user, asset string, at time.Time) (Explanation, error) {
	u, err := s.GetUser(ctx, user)
	if err != nil {
		return Explanation{}, err
	}
	a, accounts, grants, err := s.accessFacts(ctx, asset)
	if err != nil {
		return Explanation{}, err
	}
	e := explain(u, a, accounts, grants, at)
	org, members, err := s.assetOrgMembers(ctx, a)
	if err != nil {
		return Explanation{}, err
	}
	if !members[u.ID] {
		notMember(&e, org)
	}
	return e, nil
}

// notMember turns e into a refusal: the person is not a member of the
// asset's organization, so no grant of it reaches her.
func notMember(e *Explanation, org string) {
	e.Reasons = append(e.Reasons, fmt.Sprintf("%s is not a member of organization %s", e.User, org))
	e.Allowed = false
	e.Accounts = []ExplainedAccount{}
	e.Verdict = fmt.Sprintf("%s cannot reach %s: %s", e.User, e.Asset, strings.Join(e.Reasons, "; "))
}

// assetOrgMembers returns the name of a's organization and the ids of
// its members.
func (s *Store) assetOrgMembers(ctx context.Context, a Asset) (string, map[int64]bool, error) {
	id := a.OrgID
	o, err := s.GetOrgByID(ctx, id)
	if err != nil {
		return "", nil, fmt.Errorf("the organization of asset %s: %w", a.Name, err)
	}
	members, err := s.orgMemberSet(ctx, id)
	return o.Name, members, err
}

// WhoCan lists, for every person who can reach the asset at time at,
// each account she may use there, sorted by user then account.
func (s *Store) WhoCan(ctx context.Context, asset string, at time.Time) ([]WhoCanEntry, error) {
	a, accounts, grants, err := s.accessFacts(ctx, asset)
	if err != nil {
		return nil, err
	}
	users, err := s.ListUsers(ctx)
	if err != nil {
		return nil, err
	}
	_, members, err := s.assetOrgMembers(ctx, a)
	if err != nil {
		return nil, err
	}
	out := []WhoCanEntry{}
	for _, u := range users {
		if !members[u.ID] {
			continue
		}
		e := explain(u, a, accounts, grants, at)
		if !e.Allowed {
			continue
		}
		for _, c := range e.Accounts {
			out = append(out, WhoCanEntry{User: u.Name, Account: c.Username, Actions: c.Actions, Grants: c.Grants})
		}
	}
	return out, nil
}

// accessFacts loads what explain weighs for an asset: the asset, its
// accounts and every grant.
func (s *Store) accessFacts(ctx context.Context, asset string) (Asset, []Account, []Grant, error) {
	a, err := s.GetAsset(ctx, asset)
	if err != nil {
		return a, nil, nil, err
	}
	accounts, err := s.ListAccounts(ctx, asset)
	if err != nil {
		return a, nil, nil, err
	}
	grants, err := s.ListGrants(ctx)
	return a, accounts, grants, err
}

// explain is the policy, a pure function of its inputs: every grant that
// names the person or covers the asset is weighed (checkGrant), the
// accounts of those that apply are gathered, and the verdict says why
// not when the person, the asset or the grants stand in the way. It must
// agree with the SQL of Store.authorized (TestExplainAgreesWithAuthorized).
func explain(u User, a Asset, accounts []Account, grants []Grant, at time.Time) Explanation {
	at = at.UTC().Truncate(time.Microsecond) // the store's time resolution
	e := Explanation{User: u.Name, Asset: a.Name, At: at, Reasons: []string{}, Accounts: []ExplainedAccount{}, Grants: []GrantCheck{}}
	byUser := map[string]*ExplainedAccount{}
	var naming, namingCovering []string // grants that name her; and cover the asset
	for _, g := range grants {
		c, ok := checkGrant(u, a, accounts, g, at)
		if !ok {
			continue
		}
		if c.Names != "" {
			naming = append(naming, g.Name)
			if c.Covers != "" {
				namingCovering = append(namingCovering, g.Name)
			}
		}
		if c.Applies {
			for _, username := range c.Accounts {
				ea := byUser[username]
				if ea == nil {
					ea = &ExplainedAccount{Username: username}
					byUser[username] = ea
				}
				ea.Grants = append(ea.Grants, g.Name)
				ea.Actions = unionActions(ea.Actions, g.Actions)
			}
		}
		e.Grants = append(e.Grants, c)
	}
	for _, acc := range accounts { // accounts are sorted by username
		if ea := byUser[acc.Username]; ea != nil {
			ea.Privileged = acc.Privileged
			sort.Strings(ea.Grants)
			e.Accounts = append(e.Accounts, *ea)
		}
	}
	e.Reasons = denyReasons(u, a, at, naming, namingCovering, e)
	e.Allowed = len(e.Reasons) == 0 && len(e.Accounts) > 0
	if !e.Allowed {
		e.Accounts = []ExplainedAccount{}
		e.Verdict = fmt.Sprintf("%s cannot reach %s: %s", u.Name, a.Name, strings.Join(e.Reasons, "; "))
		return e
	}
	e.Verdict = canVerdict(u.Name, a.Name, e.Accounts)
	return e
}

// checkGrant weighs grant g for person u and asset a at time at: how it
// names her, how it covers the asset, its accounts there, and whether it
// applies or why not. ok is false when g neither names her nor covers
// the asset.
func checkGrant(u User, a Asset, accounts []Account, g Grant, at time.Time) (c GrantCheck, ok bool) {
	c = GrantCheck{Grant: g.Name, Accounts: []string{}, Actions: g.Actions, Names: grantNames(g, u), Covers: grantCovers(g, a)}
	if c.Names == "" && c.Covers == "" {
		return c, false
	}
	for _, acc := range accounts {
		if g.AllAccounts || slices.Contains(g.Accounts, acc.Username) {
			c.Accounts = append(c.Accounts, acc.Username)
		}
	}
	switch {
	case c.Names == "":
		c.Reason = fmt.Sprintf("names neither %s nor a group %s is in", u.Name, u.Name)
	case c.Covers == "":
		c.Reason = "does not cover " + a.Name + " (" + notCovered(a) + ")"
	case !g.Active:
		c.Reason = "is inactive"
	case g.ValidUntil != nil && !at.Before(*g.ValidUntil):
		c.Reason = "expired at " + g.ValidUntil.UTC().Format(time.RFC3339)
	case g.ValidFrom != nil && at.Before(*g.ValidFrom):
		c.Reason = "is not valid until " + g.ValidFrom.UTC().Format(time.RFC3339)
	case len(c.Accounts) == 0 && g.AllAccounts:
		c.Reason = a.Name + " has no account"
	case len(c.Accounts) == 0:
		c.Reason = fmt.Sprintf("gives %s, none of which exists on %s", plural(len(g.Accounts), "account", "accounts")+" "+strings.Join(g.Accounts, ", "), a.Name)
	default:
		c.Applies = true
	}
	return c, true
}

// grantNames says how g names u ("user alice", "group ops"), or "".
func grantNames(g Grant, u User) string {
	if slices.Contains(g.Users, u.Name) {
		return "user " + u.Name
	}
	for _, gr := range g.Groups {
		if slices.Contains(u.Groups, gr) {
			return "group " + gr
		}
	}
	return ""
}

// grantCovers says how g covers a ("asset web1", "node /prod"), or "".
func grantCovers(g Grant, a Asset) string {
	if slices.Contains(g.Assets, a.Name) {
		return "asset " + a.Name
	}
	if a.Node == "" {
		return ""
	}
	for _, n := range g.Nodes {
		if a.Node == n || strings.HasPrefix(a.Node, n+"/") {
			return "node " + n
		}
	}
	return ""
}

// denyReasons says why u cannot reach a at time at, given the grants that
// name her and those that also cover a, and the accounts e found; none
// when she can.
func denyReasons(u User, a Asset, at time.Time, naming, namingCovering []string, e Explanation) []string {
	reasons := []string{}
	if u.Disabled {
		reasons = append(reasons, u.Name+" is disabled")
	}
	if u.LockedUntil != nil && at.Before(*u.LockedUntil) {
		reasons = append(reasons, u.Name+" is locked until "+u.LockedUntil.UTC().Format(time.RFC3339))
	}
	if !a.Active {
		reasons = append(reasons, a.Name+" is inactive")
	}
	switch {
	case len(naming) == 0:
		r := "no grant names " + u.Name
		if len(u.Groups) > 0 {
			r += " or a group " + u.Name + " is in (" + strings.Join(u.Groups, ", ") + ")"
		}
		reasons = append(reasons, r)
	case len(namingCovering) == 0:
		reasons = append(reasons, fmt.Sprintf("%s %s %s %s but %s not cover %s (%s)", plural(len(naming), "grant", "grants"),
			strings.Join(naming, ", "), plural(len(naming), "names", "name"), u.Name, plural(len(naming), "does", "do"), a.Name, notCovered(a)))
	case len(e.Accounts) == 0:
		for _, c := range e.Grants {
			if c.Names != "" && c.Covers != "" {
				reasons = append(reasons, "grant "+c.Grant+" "+c.Reason)
			}
		}
	}
	return reasons
}

// notCovered says why no grant covers a: "neither the asset nor its node
// /prod/web or an ancestor".
func notCovered(a Asset) string {
	if a.Node == "" {
		return "it names neither the asset nor a node: " + a.Name + " is in no node"
	}
	return "neither the asset nor its node " + a.Node + " or an ancestor"
}

// canVerdict: "alice can reach web1 as root, deploy (actions
// connect,upload) via grants ops, deploy".
func canVerdict(user, asset string, accounts []ExplainedAccount) string {
	same := true
	var grants []string
	for _, c := range accounts {
		same = same && slices.Equal(c.Actions, accounts[0].Actions)
		grants = append(grants, c.Grants...)
	}
	grants = unique(grants)
	var as []string
	for _, c := range accounts {
		if same {
			as = append(as, c.Username)
		} else {
			as = append(as, c.Username+" (actions "+strings.Join(c.Actions, ",")+")")
		}
	}
	v := user + " can reach " + asset + " as " + strings.Join(as, ", ")
	if same {
		v += " (actions " + strings.Join(accounts[0].Actions, ",") + ")"
	}
	return v + " via " + plural(len(grants), "grant", "grants") + " " + strings.Join(grants, ", ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
