package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/jms-bastion/jms/store"
)

// scope returns the view of s a command works in, resolving the
// organization's name once: every organization with --all-orgs, else
// the one --org (env JMS_ORG) names, else the caller's own (see
// defaultOrg). An unknown name is an error that says how to list them.
func (a *app) scope(ctx context.Context, s *store.Store) (*store.Store, error) {
	if a.allOrgs {
		a.orgName, a.orgRole = "", ""
		return s.AllOrgs(), nil
	}
	o, err := a.chosenOrg(ctx, s)
	if err != nil {
		return nil, err
	}
	a.orgName = o.Name
	if a.caller != nil {
		if a.orgRole, err = s.OrgRole(ctx, o.ID, a.caller.user); err != nil {
			return nil, fmt.Errorf("reading %s's role in organization %q: %w", a.caller.user, o.Name, err)
		}
	}
	return s.InOrg(o.ID), nil
}

// chosenOrg is the organization --org names, or the default one.
func (a *app) chosenOrg(ctx context.Context, s *store.Store) (store.Org, error) {
	if a.org == "" {
		return a.defaultOrg(ctx, s)
	}
	o, err := s.GetOrg(ctx, a.org)
	if errors.Is(err, store.ErrNotFound) {
		return o, fmt.Errorf("--org %q: no such organization ('jmsctl org list' shows them)", a.org)
	}
	return o, err
}

// defaultOrg is where a command works without --org: locally and for
// system admins and auditors, the default organization; for anyone
// else, her only organization, else the default one if she is a member
// of it, else she must choose.
func (a *app) defaultOrg(ctx context.Context, s *store.Store) (store.Org, error) {
	if a.caller == nil || a.caller.role == "admin" || a.caller.role == "auditor" {
		return s.GetOrgByID(ctx, store.DefaultOrgID)
	}
	ms, err := s.Memberships(ctx, a.caller.user)
	if err != nil {
		return store.Org{}, err
	}
	def, err := s.GetOrgByID(ctx, store.DefaultOrgID)
	if err != nil {
		return def, err
	}
	names := make([]string, len(ms))
	for i, m := range ms {
		names[i] = m.Org
		if m.Org == def.Name {
			return def, nil
		}
	}
	switch len(ms) {
	case 0:
		return def, nil // her role there is none: the permission check says so
	case 1:
		return s.GetOrg(ctx, ms[0].Org)
	}
	return def, fmt.Errorf("you are a member of %s: choose one with --org", strings.Join(names, ", "))
}

// orgFlags adds --org and --all-orgs to the root command.
func (a *app) orgFlags(root *cobra.Command) {
	root.PersistentFlags().StringVar(&a.org, "org", a.getenv("JMS_ORG"), "the organization to work in (env JMS_ORG; default: default, or your only one over SSH)")
	root.PersistentFlags().BoolVar(&a.allOrgs, "all-orgs", false, "read across every organization (listings, audit); a change needs one organization")
	_ = root.RegisterFlagCompletionFunc("org", func(cmd *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
		return a.orgNames(cmd.Context()), cobra.ShellCompDirectiveNoFileComp
	})
}

// orgNames lists the organizations to complete --org with: the
// caller's own over SSH (every one for a system admin or auditor).
func (a *app) orgNames(ctx context.Context) []string {
	s, err := a.openBase(ctx)
	if err != nil {
		return nil
	}
	user := ""
	if a.caller != nil && a.caller.role != "admin" && a.caller.role != "auditor" {
		user = a.caller.user
	}
	orgs, err := s.ListOrgs(ctx, user)
	names, _ := mapNames(orgs, err, func(o store.Org) string { return o.Name + "\t" + o.Comment })
	return names
}

// checkOrgFlags refuses --org with --all-orgs. A change in the
// all-organizations view fails in the store (store.ErrNoOrg).
func (a *app) checkOrgFlags(cmd *cobra.Command) error {
	if a.allOrgs && cmd.Flags().Changed("org") {
		return errors.New("--org and --all-orgs: choose one")
	}
	return nil
}
