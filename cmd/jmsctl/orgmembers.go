package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/jms-bastion/jms/store"
)

func newOrgMembersCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "members",
		Short: "Make people members of an organization, change their role, or let them go",
		Long: `A member's role says what she may do in the organization: org-admin
manages its inventory, grants, filters, login rules, tickets and members;
org-auditor reads its sessions, audit and recordings, and may watch and
kill its sessions; user reaches the assets granted to her. Only members of
an organization can be granted its assets; letting a member go ends her
access through its grants and groups at once.`,
		Example: `  jmsctl org members add team-b carol --role org-admin
  jmsctl org members add team-b dave erin
  jmsctl org members list team-b
  jmsctl org members rm team-b erin`,
	}
	cmd.AddCommand(newOrgMembersAddCmd(a), newOrgMembersRmCmd(a), newOrgMembersListCmd(a))
	return cmd
}

// orgArg marks a command whose first argument is the organization it
// works in (the permission check reads the caller's role there).
func orgArg() map[string]string { return map[string]string{orgArgAnnotation: "true"} }

func newOrgMembersAddCmd(a *app) *cobra.Command {
	var role string
	cmd := &cobra.Command{
		Use:   "add ORG USER… [--role org-admin|org-auditor|user]",
		Short: "Make people members of an organization, or change their role in it",
		Example: `  jmsctl org members add team-b carol --role org-admin
  jmsctl org members add team-b dave erin          # as user`,
		Args:        cobra.MinimumNArgs(2),
		Annotations: orgArg(),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := store.ValidOrgRole(role); err != nil {
				return err
			}
			ctx := a.actorContext(cmd.Context())
			s, err := a.openBase(ctx)
			if err != nil {
				return err
			}
			for _, user := range args[1:] {
				if err := s.SetOrgMember(ctx, args[0], user, role); err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "%s is %s of %s\n", user, role, args[0])
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&role, "role", store.RoleOrgUser, "the role in the organization: org-admin, org-auditor or user")
	_ = cmd.RegisterFlagCompletionFunc("role", cobra.FixedCompletions(store.OrgRoles, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func newOrgMembersRmCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "rm ORG USER…",
		Short: "Let people go from an organization (its grants and groups no longer reach them)",
		Long: `rm ends a membership. The person stays (people are global), and so do the
organization's grants and groups that name her: they no longer reach her,
and making her a member again restores them.`,
		Example:     `  jmsctl org members rm team-b erin`,
		Args:        cobra.MinimumNArgs(2),
		Annotations: orgArg(),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := a.actorContext(cmd.Context())
			s, err := a.openBase(ctx)
			if err != nil {
				return err
			}
			for _, user := range args[1:] {
				if err := s.RemoveOrgMember(ctx, args[0], user); err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "%s is no longer a member of %s\n", user, args[0])
			}
			return nil
		},
	}
}

func newOrgMembersListCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "list ORG",
		Aliases: []string{"ls"},
		Short:   "List an organization's members and their roles",
		Example: `  jmsctl org members list team-b
  jmsctl org members list team-b -o csv`,
		Args:        cobra.ExactArgs(1),
		Annotations: orgArg(),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.openBase(cmd.Context())
			if err != nil {
				return err
			}
			if _, err := s.GetOrg(cmd.Context(), args[0]); err != nil {
				return err
			}
			ms, err := s.OrgMembers(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return render(a.listing(), ms, memberColumns())
		},
	}
}
