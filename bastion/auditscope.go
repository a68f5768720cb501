package bastion

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/jms-bastion/jms/store"
)

// auditScope is whose sessions a person may see, watch and replay in
// the auditor menu: every organization's (the system roles auditor and
// admin) or those of the orgs where she is org-auditor or org-admin.
type auditScope struct {
	all  bool
	orgs map[int64]string // by id; when not all
}

// auditScopeOf returns u's audit scope; ok is false when she gets the
// asset menu. The auditor menu is for those whose duty is to audit: the
// system auditor (every organization) and an org-auditor (the orgs where
// she is org-auditor or org-admin). Admins and org-admins land on their
// assets, as admins always did; they watch and kill with `jmsctl session`
// (locally or over SSH).
func (s *Server) auditScopeOf(ctx context.Context, u store.User) (auditScope, bool, error) {
	switch u.Role {
	case store.RoleAuditor:
		return auditScope{all: true}, true, nil
	case store.RoleAdmin:
		return auditScope{}, false, nil
	}
	ms, err := s.st.Memberships(ctx, u.Name)
	if err != nil {
		return auditScope{}, false, fmt.Errorf("the organizations of %s: %w", u.Name, err)
	}
	if !slices.ContainsFunc(ms, func(m store.OrgMember) bool { return m.Role == store.RoleOrgAuditor }) {
		return auditScope{}, false, nil
	}
	orgs, err := s.st.AuditOrgs(ctx, u.Name)
	if err != nil {
		return auditScope{}, false, fmt.Errorf("the organizations %s audits: %w", u.Name, err)
	}
	return auditScope{orgs: orgs}, len(orgs) > 0, nil
}

// role says what the scope is, next to her name in the menu: "auditor",
// "admin", or "org-auditor of team-a, team-b".
func (a auditScope) role(u store.User) string {
	if a.all {
		return u.Role
	}
	names := slices.Sorted(maps.Values(a.orgs))
	return "auditing " + strings.Join(names, ", ")
}

// filter keeps the sessions of the scope's organizations.
func (s *Server) filterSessions(ctx context.Context, a auditScope, list []store.Session) ([]store.Session, error) {
	if a.all || len(list) == 0 {
		return list, nil
	}
	ids := make([]string, len(list))
	for i, ss := range list {
		ids[i] = ss.ID
	}
	orgs, err := s.st.SessionOrgs(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := list[:0:0]
	for _, ss := range list {
		if org, ok := orgs[ss.ID]; ok && a.orgs[org] != "" {
			out = append(out, ss)
		}
	}
	return out, nil
}

// auditSession returns the session id names when the scope covers it;
// outside it, the answer is the one for a session that does not exist,
// so that other organizations' sessions cannot be probed.
func (s *Server) auditSession(ctx context.Context, a auditScope, id string) (store.Session, error) {
	ss, err := s.st.GetSession(ctx, id)
	if err != nil || a.all {
		return ss, err
	}
	in, err := s.filterSessions(ctx, a, []store.Session{ss})
	if err != nil {
		return store.Session{}, err
	}
	if len(in) == 0 {
		return store.Session{}, fmt.Errorf("session %q: %w", id, store.ErrNotFound)
	}
	return ss, nil
}
