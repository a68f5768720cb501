package main

import (
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/jms-bastion/jms/store"
)

func groupColumns() []column[store.Group] {
	return []column[store.Group]{
		{"name", func(g store.Group) string { return g.Name }},
		{"members", func(g store.Group) string { return strconv.Itoa(len(g.Members)) }},
		{"users", func(g store.Group) string { return joinComma(g.Members) }},
		{"comment", func(g store.Group) string { return g.Comment }},
	}
}

func newGroupCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "group",
		Short: "Manage groups of people (grants and filters can name a group)",
		Example: `  jmsctl group add ops --comment "on-call engineers"
  jmsctl group members add ops alice bob
  jmsctl group set ops --name oncall
  jmsctl group list`,
	}
	cmd.AddCommand(newGroupAddCmd(a), newGroupListCmd(a), newGroupShowCmd(a), newGroupRmCmd(a), newGroupMembersCmd(a), newGroupSetCmd(a))
	return cmd
}

func newGroupAddCmd(a *app) *cobra.Command {
	var comment string
	cmd := &cobra.Command{
		Use:     "add NAME [--comment C]",
		Short:   "Add an empty group",
		Example: `  jmsctl group add ops --comment "on-call engineers"`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := a.actorContext(cmd.Context())
			if err := store.ValidName("group", args[0]); err != nil {
				return err
			}
			s, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			g, err := s.AddGroup(ctx, args[0], comment)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Added group %s\n", g.Name)
			return nil
		},
	}
	cmd.Flags().StringVar(&comment, "comment", "", "free text")
	return cmd
}

func newGroupListCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List groups with their members",
		Example: `  jmsctl group list
  jmsctl group list -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.openStore(cmd.Context())
			if err != nil {
				return err
			}
			groups, err := inOrgs(cmd.Context(), a, s, func(v *store.Store) ([]store.Group, error) { return v.ListGroups(cmd.Context()) })
			if err != nil {
				return err
			}
			return renderInOrgs(a.listing(), groups, groupColumns())
		},
	}
}

func newGroupShowCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "show NAME",
		Short:   "Show one group and its members",
		Example: `  jmsctl group show ops -o yaml`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.openStore(cmd.Context())
			if err != nil {
				return err
			}
			g, err := s.GetGroup(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			fields := append(groupColumns(), column[store.Group]{"created_at", func(g store.Group) string { return fmtTime(g.CreatedAt) }})
			return renderOne(a.listing(), g, fields)
		},
	}
}

func newGroupRmCmd(a *app) *cobra.Command {
	return newRmCmd(a, "group", "Remove groups (their members stay; grants naming the group no longer reach them through it)", `  jmsctl group rm ops`, (*store.Store).RemoveGroup)
}

func newGroupMembersCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "members",
		Short: "Add people to a group or take them out",
		Example: `  jmsctl group members add ops alice bob
  jmsctl group members rm ops bob`,
	}
	cmd.AddCommand(&cobra.Command{
		Use:     "add GROUP USER…",
		Short:   "Put people in a group (all or none: an unknown user changes nothing)",
		Example: `  jmsctl group members add ops alice bob`,
		Args:    cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := a.actorContext(cmd.Context())
			s, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			added, err := s.AddMembers(ctx, args[0], args[1:])
			if err != nil {
				return err
			}
			if len(added) == 0 {
				fmt.Fprintf(a.stdout, "No change: already members of %s\n", args[0])
				return nil
			}
			fmt.Fprintf(a.stdout, "Added to %s: %s\n", args[0], joinComma(added))
			return nil
		},
	}, &cobra.Command{
		Use:     "rm GROUP USER…",
		Aliases: []string{"remove"},
		Short:   "Take people out of a group (all or none: a non-member changes nothing)",
		Example: `  jmsctl group members rm ops bob`,
		Args:    cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := a.actorContext(cmd.Context())
			s, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			if err := s.RemoveMembers(ctx, args[0], args[1:]); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Removed from %s: %s\n", args[0], joinComma(args[1:]))
			return nil
		},
	})
	return cmd
}

func newGroupSetCmd(a *app) *cobra.Command {
	var name, comment string
	cmd := &cobra.Command{
		Use:   "set NAME [--name NEW] [--comment C]",
		Short: "Rename a group or change its comment",
		Long: `set renames a group (--name) or changes its comment. A renamed group keeps
its members, and the grants, filters and login rules that name it follow it.`,
		Example: `  jmsctl group set ops --name oncall
  jmsctl group set ops --comment "on-call engineers, weekly rota"`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := a.actorContext(cmd.Context())
			flags := []string{"name", "comment"}
			var gu store.GroupUpdate
			if len(changedFlags(cmd, flags...)) == 0 {
				return nothingToChange(flags...)
			}
			if cmd.Flags().Changed("name") {
				gu.Name = &name
			}
			if cmd.Flags().Changed("comment") {
				gu.Comment = &comment
			}
			s, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			g, err := s.UpdateGroup(ctx, args[0], gu)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Updated group %s (%d members)\n", g.Name, len(g.Members))
			return nil
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "new name")
	cmd.Flags().StringVar(&comment, "comment", "", "free text")
	return cmd
}
