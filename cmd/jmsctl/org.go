package main

import (
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/jms-bastion/jms/store"
)

func orgColumns() []column[store.Org] {
	return []column[store.Org]{
		{"name", func(o store.Org) string { return o.Name }},
		{"members", func(o store.Org) string { return strconv.Itoa(o.Members) }},
		{"assets", func(o store.Org) string { return strconv.Itoa(o.Assets) }},
		{"comment", func(o store.Org) string { return o.Comment }},
		{"created_at", func(o store.Org) string { return fmtTime(o.CreatedAt) }},
	}
}

func memberColumns() []column[store.OrgMember] {
	return []column[store.OrgMember]{
		{"org", func(m store.OrgMember) string { return m.Org }},
		{"user", func(m store.OrgMember) string { return m.User }},
		{"role", func(m store.OrgMember) string { return m.Role }},
	}
}

func newOrgCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "org",
		Short: "Manage organizations: teams with their own inventory, access rules, sessions and audit",
		Long: `An organization holds assets, nodes, accounts, templates, groups, grants,
filters, login rules, tickets, sessions and audit rows. People are global
and members of organizations with a role in each: org-admin, org-auditor
or user. A fresh install has one, default; every command works in the one
--org (env JMS_ORG) names, default when none. See docs/organizations.md.`,
		Example: `  jmsctl org add team-b --comment "payments team"
  jmsctl org members add team-b carol --role org-admin
  jmsctl --org team-b asset add web1 --address 10.1.0.5
  jmsctl asset list --all-orgs`,
	}
	cmd.AddCommand(newOrgAddCmd(a), newOrgListCmd(a), newOrgShowCmd(a), newOrgRmCmd(a), newOrgRenameCmd(a), newOrgMembersCmd(a))
	return cmd
}

func newOrgAddCmd(a *app) *cobra.Command {
	var comment string
	cmd := &cobra.Command{
		Use:     "add NAME [--comment C]",
		Short:   "Add an organization (empty, without members)",
		Example: `  jmsctl org add team-b --comment "payments team"`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := a.actorContext(cmd.Context())
			s, err := a.openBase(ctx)
			if err != nil {
				return err
			}
			o, err := s.AddOrg(ctx, args[0], comment)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Added organization %s\n", o.Name)
			return nil
		},
	}
	cmd.Flags().StringVar(&comment, "comment", "", "free text")
	return cmd
}

func newOrgListCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List organizations with their member and asset counts (over SSH: your own)",
		Example: `  jmsctl org list
  jmsctl org list -o json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.openBase(cmd.Context())
			if err != nil {
				return err
			}
			user := ""
			if a.caller != nil && a.caller.role != roleAdmin && a.caller.role != roleAuditor {
				user = a.caller.user
			}
			orgs, err := s.ListOrgs(cmd.Context(), user)
			if err != nil {
				return err
			}
			return render(a.listing(), orgs, orgColumns())
		},
	}
}

// orgDetail is what org show prints: the organization and its members.
type orgDetail struct {
	store.Org  `yaml:",inline"`
	MemberList []store.OrgMember `json:"member_list" yaml:"member_list"`
}

func newOrgShowCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:         "show NAME",
		Short:       "Show an organization: its counts and its members with their roles",
		Example:     `  jmsctl org show team-b -o yaml`,
		Args:        cobra.ExactArgs(1),
		Annotations: orgArg(),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.openBase(cmd.Context())
			if err != nil {
				return err
			}
			o, err := s.GetOrg(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			ms, err := s.OrgMembers(cmd.Context(), o.Name)
			if err != nil {
				return err
			}
			l := a.listing()
			if l.format == "json" || l.format == "yaml" {
				return encode(l.w, l.format, orgDetail{Org: o, MemberList: ms})
			}
			if err := renderOne(l, o, orgColumns()); err != nil {
				return err
			}
			fmt.Fprintln(a.stdout)
			return render(l, ms, memberColumns()[1:])
		},
	}
}

func newOrgRmCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "rm NAME…",
		Short: "Remove empty organizations (their sessions and audit stay; members are let go)",
		Long: `rm removes an organization that holds nothing: no assets, nodes, groups,
grants, filters, login rules or templates (the error names what is left:
remove it, or move assets with 'jmsctl asset move'). The default
organization cannot be removed; rename it instead.`,
		Example: `  jmsctl org rm team-old`,
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := a.actorContext(cmd.Context())
			s, err := a.openBase(ctx)
			if err != nil {
				return err
			}
			for _, name := range args {
				if err := s.RemoveOrg(ctx, name); err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "Removed organization %s\n", name)
			}
			return nil
		},
	}
}

func newOrgRenameCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "rename NAME NEW",
		Short: "Rename an organization (the default one too)",
		Example: `  jmsctl org rename default hq
  jmsctl org rename team-b payments`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := a.actorContext(cmd.Context())
			s, err := a.openBase(ctx)
			if err != nil {
				return err
			}
			if err := s.RenameOrg(ctx, args[0], args[1]); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Renamed organization %s to %s\n", args[0], args[1])
			return nil
		},
	}
}
