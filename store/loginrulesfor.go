package store

import (
	"context"
	"slices"
)

// LoginRulesFor returns the login rules that judge user's login: those
// of every organization she is a member of. There is one login, so a
// deny rule of one organization keeps her out of the bastion as a
// whole. Each rule comes narrowed to her: one that names people or
// groups and covers her (by name, or through a group of its own
// organization) names her alone, one that does not is left out, one
// that names nobody (everyone) stays as it is. DecideLogin tries them by
// priority, as ever.
//
// unscoped: a login is judged by the rules of every organization of the person.
func (s *Store) LoginRulesFor(ctx context.Context, user string) ([]LoginRule, error) {
	orgs, err := s.memberOrgIDs(ctx, user)
	if err != nil {
		return nil, err
	}
	var out []LoginRule
	for _, org := range orgs {
		rules, err := s.InOrg(org).ListLoginRules(ctx)
		if err != nil {
			return nil, err
		}
		groups, err := queryNames(ctx, s.db, `SELECT g.name FROM group_members m JOIN groups g ON g.id = m.group_id
			JOIN users u ON u.id = m.user_id WHERE u.name = ? AND g.org_id = ?`, user, org)
		if err != nil {
			return nil, err
		}
		for _, r := range rules {
			if narrowed, ok := narrowRule(r, user, groups); ok {
				out = append(out, narrowed)
			}
		}
	}
	return out, nil
}

// narrowRule returns r as it applies to user, a member of groups of r's
// organization; ok is false when r does not cover her.
func narrowRule(r LoginRule, user string, groups []string) (LoginRule, bool) {
	if len(r.Users)+len(r.Groups) == 0 {
		return r, true
	}
	covered := slices.Contains(r.Users, user)
	for _, g := range groups {
		covered = covered || slices.Contains(r.Groups, g)
	}
	if !covered {
		return r, false
	}
	r.Users, r.Groups = []string{user}, []string{}
	return r, true
}

// memberOrgIDs returns the ids of the organizations user is a member of.
func (s *Store) memberOrgIDs(ctx context.Context, user string) ([]int64, error) {
	return queryInt64s(ctx, s.db, `SELECT m.org_id FROM org_members m JOIN users u ON u.id = m.user_id
		JOIN orgs o ON o.id = m.org_id WHERE u.name = ? AND o.removed_at IS NULL ORDER BY m.org_id`, user)
}
