package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/jms-bastion/jms/store"
)

// checkPermission runs permit for cmd before it runs (PersistentPreRunE).
// The local CLI needs nothing opened; over SSH the organization is
// resolved (the command's ORG argument where it takes one, else --org
// or the caller's own) to learn her role in it.
func (a *app) checkPermission(cmd *cobra.Command, args []string) error {
	if err := a.checkOrgFlags(cmd); err != nil {
		return err
	}
	if cmd.Annotations[orgArgAnnotation] == "true" && len(args) > 0 {
		if cmd.Flags().Changed("org") && a.org != args[0] {
			return fmt.Errorf("%s works in the organization its argument names (%s): leave out --org", cmd.CommandPath(), args[0])
		}
		a.org = args[0]
	}
	d := decision{command: cmd.CommandPath(), need: roleOf(cmd), who: a.caller}
	if d.need == "" {
		return fmt.Errorf("%s has no role: it cannot be run (a bug: add it to commandRoles)", d.command)
	}
	if a.caller == nil || d.need == roleUser || d.need == roleLocal || a.caller.role == roleAdmin {
		return permit(d)
	}
	if d.need == roleAdmin || d.need == roleAuditor {
		d.memberships = a.callerMemberships(cmd.Context()) // for the refusal's words
		return permit(d)
	}
	if _, err := a.openStore(cmd.Context()); err != nil {
		return err
	}
	d.org, d.orgRole = a.orgName, a.orgRole
	return permit(d)
}

// callerMemberships lists the caller's organizations and roles; none
// when they cannot be read (a refusal then says less).
func (a *app) callerMemberships(ctx context.Context) []store.OrgMember {
	s, err := a.openBase(ctx)
	if err != nil {
		return nil
	}
	ms, _ := s.Memberships(ctx, a.caller.user)
	return ms
}
