package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/jms-bastion/jms/store"
)

// The roles a command may need (its roleAnnotation), least to most:
//   - user: anyone who logs in: self-service (me), help, version,
//     completion, the organizations she belongs to;
//   - org-auditor: reads one organization's sessions, audit, replays and
//     recordings, watches and kills its sessions (an org-admin of the
//     organization, a system auditor and a system admin may too);
//   - org-admin: manages one organization's inventory, grants, filters,
//     login rules, tickets and members;
//   - auditor: reads what belongs to no organization (logins): system
//     auditors and admins;
//   - admin: people, settings, notifications, storage, every
//     organization: system admins only;
//   - local: only on the bastion host itself, never over SSH (serve,
//     init, db, secret): it holds the database and the keys.
const (
	roleUser       = "user"
	roleOrgAuditor = store.RoleOrgAuditor
	roleOrgAdmin   = store.RoleOrgAdmin
	roleAuditor    = "auditor"
	roleAdmin      = "admin"
	roleLocal      = "local"
)

// roleAnnotation is the annotation key that holds the role a command
// needs; orgArgAnnotation marks a command whose first argument names
// the organization it works in (org show, org members …).
const (
	roleAnnotation   = "jms.role"
	orgArgAnnotation = "jms.org-arg"
)

// decision is what permit decides from.
type decision struct {
	command string  // the command path, for the message
	need    string  // the role the command needs
	who     *caller // nil: the local CLI
	org     string  // the organization the command works in; "" for all
	orgRole string  // the caller's role in org, "" for none
	// memberships are all the caller's, for a command that needs a
	// system role (her role in one org is not what it asks about).
	memberships []store.OrgMember
}

// permit decides whether a command may run. The local CLI (no caller) is
// root on the database and may run everything; over SSH the caller's
// system role and her role in the chosen organization decide. A refusal
// says which role the command needs and what the caller is.
func permit(d decision) error {
	if d.who == nil || d.need == roleUser {
		return nil
	}
	if d.need == roleLocal {
		return fmt.Errorf("%s runs only on the bastion host itself, not over SSH", d.command)
	}
	if d.who.role == roleAdmin {
		return nil
	}
	ok := false
	switch d.need {
	case roleAuditor:
		ok = d.who.role == roleAuditor
	case roleOrgAuditor:
		ok = d.who.role == roleAuditor || (d.org != "" && (d.orgRole == roleOrgAuditor || d.orgRole == roleOrgAdmin))
	case roleOrgAdmin:
		ok = d.org != "" && d.orgRole == roleOrgAdmin
	}
	if ok {
		return nil
	}
	return fmt.Errorf("%s needs the %s role%s; you are %s", d.command, d.need, needWhere(d), describe(d))
}

// needWhere says where the needed role must be held.
func needWhere(d decision) string {
	switch {
	case d.need != roleOrgAdmin && d.need != roleOrgAuditor:
		return ""
	case d.org == "":
		return " (--all-orgs needs a system role)"
	}
	return " in " + d.org
}

// describe says what the caller is, for a refusal: "org-admin of
// team-b", "auditor, not a member of team-b".
func describe(d decision) string {
	var parts []string
	if d.who.role != roleUser {
		parts = append(parts, d.who.role)
	}
	switch {
	case len(d.memberships) > 0:
		for _, m := range d.memberships {
			parts = append(parts, m.Role+" of "+m.Org)
		}
	case d.org == "":
	case d.orgRole != "":
		parts = append(parts, d.orgRole+" of "+d.org)
	default:
		parts = append(parts, "not a member of "+d.org)
	}
	if len(parts) == 0 {
		return "a user"
	}
	return strings.Join(parts, ", ")
}

// roleOf is the role cmd needs: its annotation; cobra's own help and
// completion commands and the nouns (which only print their help) need
// none beyond logging in.
func roleOf(cmd *cobra.Command) string {
	if r, ok := cmd.Annotations[roleAnnotation]; ok {
		return r
	}
	if isNoun(cmd) || isCobraBuiltin(cmd) {
		return roleUser
	}
	return "" // a command nobody annotated: TestEveryCommandHasARole fails
}

func isNoun(cmd *cobra.Command) bool {
	_, annotated := commandRoles[commandKey(cmd)]
	return cmd.HasSubCommands() && !annotated
}

// isCobraBuiltin reports whether cmd is one cobra adds: help,
// completion (and its shells), __complete.
func isCobraBuiltin(cmd *cobra.Command) bool {
	for c := cmd; c.HasParent(); c = c.Parent() {
		if !c.Parent().HasParent() {
			switch c.Name() {
			case "help", "completion", cobra.ShellCompRequestCmd, cobra.ShellCompNoDescRequestCmd:
				return true
			}
		}
	}
	return false
}

// commandKey is cmd's path without the root: "asset list".
func commandKey(cmd *cobra.Command) string {
	_, key, _ := strings.Cut(cmd.CommandPath(), " ")
	return key
}

// annotateRoles writes each command's role (commandRoles) into its
// annotations; a command that set its own keeps it.
func annotateRoles(root *cobra.Command) {
	walk(root, func(c *cobra.Command) {
		r, ok := commandRoles[commandKey(c)]
		if !ok {
			return
		}
		if c.Annotations == nil {
			c.Annotations = map[string]string{}
		}
		if _, set := c.Annotations[roleAnnotation]; !set {
			c.Annotations[roleAnnotation] = r
		}
	})
}
