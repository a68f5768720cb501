package store

import (
	"errors"
	"strconv"
)

// Organizations divide the inventory: every asset, node, account,
// template, group, grant, filter, login rule, ticket, session and
// operation belongs to one. People are global and members of orgs.
//
// A *Store is a view of the database from one scope: one organization
// (what Open returns: the default one; InOrg for another) or every
// organization (AllOrgs, for system roles and the bastion's own
// lookups of a person's grants). Every query that reads or writes
// org-owned rows limits itself with orgCond and writes with writeOrg;
// TestEveryOrgOwnedQueryIsScoped fails for a function that does not, so
// that an unscoped path cannot be written by accident. A function that
// must see every org says why in a doc comment line "unscoped: …".

// DefaultOrgID is the organization a fresh install has, and where a
// single-org install's rows went when organizations arrived.
const DefaultOrgID int64 = 1

// DefaultOrgName is the default organization's name.
const DefaultOrgName = "default"

// ErrNoOrg is returned for a write in the all-organizations scope.
var ErrNoOrg = errors.New("this change needs one organization: choose it with --org (or JMS_ORG)")

// orgScope is the organizations a Store sees: one (org > 0) or all.
type orgScope struct {
	org int64
	all bool
}

// InOrg returns a view of the store limited to the organization id.
func (s *Store) InOrg(id int64) *Store {
	return &Store{shared: s.shared, scope: orgScope{org: id}}
}

// AllOrgs returns a view of the store that sees every organization.
// Writes of org-owned rows fail in it with ErrNoOrg, but for those that
// take their organization from what they change (a session from its
// asset).
func (s *Store) AllOrgs() *Store {
	return &Store{shared: s.shared, scope: orgScope{all: true}}
}

// ScopeOrg returns the one organization the view sees, and false for
// the all-organizations view.
func (s *Store) ScopeOrg() (int64, bool) {
	return s.scope.org, !s.scope.all
}

// orgCond is the SQL condition that limits the rows of the table known
// as alias (its name or alias in the query) to the scope. The id is a
// number of ours, never input, so it is written into the text.
func (s *Store) orgCond(alias string) string {
	if s.scope.all {
		return "1 = 1"
	}
	return alias + ".org_id = " + strconv.FormatInt(s.scope.org, 10)
}

// writeOrg is the organization new org-owned rows go to.
func (s *Store) writeOrg() (int64, error) {
	if s.scope.all || s.scope.org <= 0 {
		return 0, ErrNoOrg
	}
	return s.scope.org, nil
}

// historyCond is orgCond for history rows (sessions, operations), which
// may belong to no organization (org 0): an SFTP session on the virtual
// root spans organizations, a person changing her own password changes
// no organization's rows. The default organization's view shows those
// too, so that a single-org install's history stays whole; other
// organizations' views do not.
func (s *Store) historyCond(alias string) string {
	if !s.scope.all && s.scope.org == DefaultOrgID {
		return "(" + s.orgCond(alias) + " OR " + alias + ".org_id = 0)"
	}
	return s.orgCond(alias)
}
