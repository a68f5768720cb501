package main

import (
	"io"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/jms-bastion/jms/store"
)

// TestEveryCommandHasARole fails for a command of the tree that says no
// role (add it to commandRoles), and for a commandRoles entry that names
// no command (a renamed or removed one).
func TestEveryCommandHasARole(t *testing.T) {
	root := newRootCmd(newApp(strings.NewReader(""), io.Discard, io.Discard, nil))
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	seen := map[string]bool{}
	walk(root, func(c *cobra.Command) {
		if !c.HasParent() {
			return
		}
		seen[commandKey(c)] = true
		switch r := roleOf(c); r {
		case roleUser, roleOrgAuditor, roleOrgAdmin, roleAuditor, roleAdmin, roleLocal:
		case "":
			t.Errorf("%s has no role: add it to commandRoles (roles.go)", c.CommandPath())
		default:
			t.Errorf("%s needs an unknown role %q", c.CommandPath(), r)
		}
	})
	for key := range commandRoles {
		if !seen[key] {
			t.Errorf("commandRoles names %q, which is no command", key)
		}
	}
}

func TestPermit(t *testing.T) {
	admin := &caller{user: "root", role: "admin"}
	auditor := &caller{user: "audrey", role: "auditor"}
	carol := &caller{user: "carol", role: "user"}
	for _, tc := range []struct {
		name    string
		d       decision
		wantErr string // "" = allowed
	}{
		{"local CLI runs everything", decision{need: roleLocal}, ""},
		{"local CLI admin command", decision{need: roleAdmin}, ""},
		{"serve never over SSH", decision{command: "jmsctl serve", need: roleLocal, who: admin}, "jmsctl serve runs only on the bastion host itself, not over SSH"},
		{"admin runs admin", decision{need: roleAdmin, who: admin}, ""},
		{"admin runs org-admin anywhere", decision{need: roleOrgAdmin, who: admin, org: "team-b"}, ""},
		{"admin across orgs", decision{need: roleOrgAdmin, who: admin}, ""},
		{"org-admin refused admin", decision{command: "jmsctl user list", need: roleAdmin, who: carol, org: "team-b", orgRole: roleOrgAdmin},
			"jmsctl user list needs the admin role; you are org-admin of team-b"},
		{"org-admin in her org", decision{need: roleOrgAdmin, who: carol, org: "team-b", orgRole: roleOrgAdmin}, ""},
		{"org-admin reads her audit", decision{need: roleOrgAuditor, who: carol, org: "team-b", orgRole: roleOrgAdmin}, ""},
		{"org-admin elsewhere", decision{command: "jmsctl asset list", need: roleOrgAdmin, who: carol, org: "team-a"},
			"jmsctl asset list needs the org-admin role in team-a; you are not a member of team-a"},
		{"org-admin across orgs", decision{command: "jmsctl asset list", need: roleOrgAdmin, who: carol},
			"jmsctl asset list needs the org-admin role (--all-orgs needs a system role); you are a user"},
		{"org-auditor reads", decision{need: roleOrgAuditor, who: carol, org: "b", orgRole: roleOrgAuditor}, ""},
		{"org-auditor does not manage", decision{command: "jmsctl grant add", need: roleOrgAdmin, who: carol, org: "b", orgRole: roleOrgAuditor},
			"jmsctl grant add needs the org-admin role in b; you are org-auditor of b"},
		{"org-auditor not logins", decision{command: "jmsctl audit logins", need: roleAuditor, who: carol, org: "b", orgRole: roleOrgAuditor},
			"jmsctl audit logins needs the auditor role; you are org-auditor of b"},
		{"user self-service", decision{need: roleUser, who: carol}, ""},
		{"user refused", decision{command: "jmsctl user list", need: roleAdmin, who: carol, org: "default", orgRole: "user"},
			"jmsctl user list needs the admin role; you are user of default"},
		{"system auditor reads every org", decision{need: roleOrgAuditor, who: auditor}, ""},
		{"system auditor reads logins", decision{need: roleAuditor, who: auditor, org: "b"}, ""},
		{"system auditor does not manage", decision{command: "jmsctl asset add", need: roleOrgAdmin, who: auditor, org: "b"},
			"jmsctl asset add needs the org-admin role in b; you are auditor, not a member of b"},
		{"admin command: every membership", decision{command: "jmsctl user list", need: roleAdmin, who: carol, org: "default", orgRole: "user",
			memberships: []store.OrgMember{{Org: "default", Role: "user"}, {Org: "team-b", Role: roleOrgAdmin}}},
			"jmsctl user list needs the admin role; you are user of default, org-admin of team-b"},
		{"system auditor not admin", decision{command: "jmsctl settings show", need: roleAdmin, who: auditor},
			"jmsctl settings show needs the admin role; you are auditor"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := permit(tc.d)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.wantErr != "" && err == nil:
				t.Fatalf("allowed, want %q", tc.wantErr)
			case tc.wantErr != "" && err.Error() != tc.wantErr:
				t.Fatalf("got %q\nwant %q", err, tc.wantErr)
			}
		})
	}
}
