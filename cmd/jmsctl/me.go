package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/jms-bastion/jms/store"
)

// jmsctl me: a person's own assets, keys, MFA, password and sessions.
// Over SSH "me" is the caller; locally --user names her.

func newMeCmd(a *app) *cobra.Command {
	var user string
	cmd := &cobra.Command{
		Use:   "me",
		Short: "Yourself: your organizations, assets, SSH keys, MFA, password and sessions",
		Long: `me shows who you are to jms: your system role, the organizations you are a
member of and your role in each, whether MFA is on, your keys and how many
assets you may reach. Its subcommands list your assets and sessions, manage
your SSH keys and change your password.

Over SSH (ssh -p 2222 you@bastion jmsctl me) it is you; on the bastion
host, name the person with --user.`,
		Example: `  ssh -p 2222 alice@bastion jmsctl me
  ssh -p 2222 alice@bastion jmsctl me assets -o json
  jmsctl me --user alice`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.meSummary(cmd.Context(), user)
		},
	}
	cmd.PersistentFlags().StringVar(&user, "user", "", "the person (the local CLI only: over SSH it is you)")
	who := func() string { return user }
	cmd.AddCommand(newMeAssetsCmd(a, who), newMeKeysCmd(a, who), newMeMFACmd(a, who), newMePasswdCmd(a, who), newMeSessionsCmd(a, who))
	return cmd
}

// me returns the person the me commands are about, and a view of the
// store across her organizations.
func (a *app) me(ctx context.Context, flagUser string) (string, *store.Store, error) {
	name := flagUser
	switch {
	case a.caller != nil && flagUser != "" && flagUser != a.caller.user:
		return "", nil, fmt.Errorf("--user: over SSH, me is you (%s)", a.caller.user)
	case a.caller != nil:
		name = a.caller.user
	case name == "":
		return "", nil, errors.New("name the person with --user (over SSH, me is whoever logged in)")
	}
	s, err := a.openBase(ctx)
	if err != nil {
		return "", nil, err
	}
	return name, s.AllOrgs(), nil
}

// meInfo is what jmsctl me prints.
type meInfo struct {
	Name          string            `json:"name" yaml:"name"`
	Role          string            `json:"role" yaml:"role"`
	Email         string            `json:"email" yaml:"email"`
	Organizations []store.OrgMember `json:"organizations" yaml:"organizations"`
	MFAEnabled    bool              `json:"mfa_enabled" yaml:"mfa_enabled"`
	Keys          int               `json:"keys" yaml:"keys"`
	Assets        int               `json:"assets" yaml:"assets"`
}

func (a *app) meSummary(ctx context.Context, flagUser string) error {
	name, s, err := a.me(ctx, flagUser)
	if err != nil {
		return err
	}
	u, err := s.GetUser(ctx, name)
	if err != nil {
		return err
	}
	ms, err := s.Memberships(ctx, name)
	if err != nil {
		return err
	}
	access, err := s.AuthorizedAssets(ctx, name, time.Now())
	if err != nil {
		return err
	}
	info := meInfo{Name: u.Name, Role: u.Role, Email: u.Email, Organizations: ms, MFAEnabled: u.MFAEnabled, Keys: u.Keys, Assets: len(access)}
	return renderOne(a.listing(), info, []column[meInfo]{
		{"name", func(m meInfo) string { return m.Name }},
		{"role", func(m meInfo) string { return m.Role }},
		{"email", func(m meInfo) string { return m.Email }},
		{"organizations", func(m meInfo) string { return memberRoles(m.Organizations) }},
		{"mfa", func(m meInfo) string { return yesNo(m.MFAEnabled) }},
		{"keys", func(m meInfo) string { return strconv.Itoa(m.Keys) }},
		{"assets", func(m meInfo) string { return strconv.Itoa(m.Assets) }},
	})
}

// memberRoles writes memberships as "default (user), team-b (org-admin)".
func memberRoles(ms []store.OrgMember) string {
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = m.Org + " (" + m.Role + ")"
	}
	return strings.Join(parts, ", ")
}

func newMeAssetsCmd(a *app, who func() string) *cobra.Command {
	return &cobra.Command{
		Use:     "assets",
		Aliases: []string{"ls"},
		Short:   "List the assets you may reach, with your accounts there (as the menu lists them)",
		Example: `  jmsctl me assets
  jmsctl me assets -o json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			name, s, err := a.me(cmd.Context(), who())
			if err != nil {
				return err
			}
			access, err := s.AuthorizedAssets(cmd.Context(), name, time.Now())
			if err != nil {
				return err
			}
			return render(a.listing(), access, []column[store.Access]{
				{"name", func(x store.Access) string { return x.Asset.Name }},
				{"org", func(x store.Access) string { return fieldOrg(x.Asset) }},
				{"address", func(x store.Access) string { return x.Asset.Address }},
				{"platform", func(x store.Access) string { return x.Asset.Platform }},
				{"node", func(x store.Access) string { return x.Asset.Node }},
				{"accounts", func(x store.Access) string { return grantedAccounts(x.Accounts) }},
				{"comment", func(x store.Access) string { return x.Asset.Comment }},
			})
		},
	}
}

func grantedAccounts(gs []store.GrantedAccount) string {
	names := make([]string, len(gs))
	for i, g := range gs {
		names[i] = g.Username
	}
	return joinComma(names)
}

func newMeMFACmd(a *app, who func() string) *cobra.Command {
	return &cobra.Command{
		Use:     "mfa",
		Short:   "Say whether MFA is on for you (an admin turns it on: jmsctl user mfa enable)",
		Example: `  jmsctl me mfa`,
		RunE: func(cmd *cobra.Command, args []string) error {
			name, s, err := a.me(cmd.Context(), who())
			if err != nil {
				return err
			}
			u, err := s.GetUser(cmd.Context(), name)
			if err != nil {
				return err
			}
			state := "off: only your password or key is asked (an admin turns it on with 'jmsctl user mfa enable')"
			if u.MFAEnabled {
				state = "on: a one-time code is asked at every login"
			}
			fmt.Fprintf(a.stdout, "MFA is %s\n", state)
			return nil
		},
	}
}

func newMeSessionsCmd(a *app, who func() string) *cobra.Command {
	var active bool
	cmd := &cobra.Command{
		Use:   "sessions [--active]",
		Short: "List your sessions, the latest first",
		Example: `  jmsctl me sessions
  jmsctl me sessions --active -o json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			name, s, err := a.me(cmd.Context(), who())
			if err != nil {
				return err
			}
			ss, err := s.ListSessions(cmd.Context(), store.SessionQuery{User: name, Active: active})
			if err != nil {
				return err
			}
			return render(a.listing(), ss, sessionColumns(time.Now()))
		},
	}
	cmd.Flags().BoolVar(&active, "active", false, "only sessions still running")
	return cmd
}
