package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/jms-bastion/jms/printable"
	"github.com/jms-bastion/jms/store"
)

// parseTimeFlag reads an RFC 3339 time or a bare date (2026-12-31, in
// UTC). A date stands for the start of that day, or, with endOfDay,
// for its end (the start of the next day): --until 2026-12-31 includes
// the 31st.
func parseTimeFlag(flag, s string, endOfDay bool) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	if d, err := time.Parse(time.DateOnly, s); err == nil {
		if endOfDay {
			d = d.AddDate(0, 0, 1)
		}
		return d, nil
	}
	return time.Time{}, fmt.Errorf("--%s %q: want an RFC 3339 time (2026-12-31T18:00:00Z, 2026-12-31T18:00:00+02:00) or a date (2026-12-31)", flag, s)
}

// timeFlagPtr parses an optional time flag; "none" or "" clears it.
func timeFlagPtr(flag, s string, endOfDay bool) (t *time.Time, clear bool, err error) {
	if s == "" || s == "none" {
		return nil, true, nil
	}
	v, err := parseWhen(flag, s, time.Now(), endOfDay)
	if err != nil {
		return nil, false, err
	}
	return &v, false, nil
}

func grantWho(g store.Grant) string {
	who := append([]string{}, g.Users...)
	for _, gr := range g.Groups {
		who = append(who, "group:"+gr)
	}
	return joinComma(who)
}

func grantWhat(g store.Grant) string {
	return joinComma(append(append([]string{}, g.Assets...), g.Nodes...))
}

func grantWindow(g store.Grant) string {
	switch {
	case g.ValidFrom == nil && g.ValidUntil == nil:
		return "always"
	case g.ValidFrom == nil:
		return "until " + fmtTimePtr(g.ValidUntil)
	case g.ValidUntil == nil:
		return "from " + fmtTimePtr(g.ValidFrom)
	}
	return fmtTimePtr(g.ValidFrom) + " to " + fmtTimePtr(g.ValidUntil)
}

func grantColumns(now time.Time) []column[store.Grant] {
	return []column[store.Grant]{
		{"name", func(g store.Grant) string { return g.Name }},
		{"who", grantWho},
		{"assets", grantWhat},
		{"accounts", func(g store.Grant) string { return joinComma(g.Accounts) }},
		{"actions", func(g store.Grant) string { return joinComma(g.Actions) }},
		{"state", func(g store.Grant) string { return g.State(now) }},
	}
}

func newGrantCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "grant",
		Short: "Manage grants: who may reach which assets, as which accounts, doing what, until when",
		Long: `A grant lets people (users, and the members of groups) reach assets (named,
or under nodes, which cover their descendants: /prod covers /prod/web but
not /production) as accounts (by username, or @all), doing some actions
(connect, upload, download, delete, forward), within an optional time window.
Someone may use an account when at least one active grant in its window
names her (or a group of hers), covers the asset and gives the account.`,
		Example: `  jmsctl grant add ops --group ops --node /prod --account root --actions connect,upload
  jmsctl grant add audit-2026 --user carol --asset db1 --until 2026-12-31
  jmsctl grant explain alice web1
  jmsctl grant list -o json`,
	}
	cmd.AddCommand(newGrantAddCmd(a), newGrantListCmd(a), newGrantShowCmd(a), newGrantRmCmd(a),
		newGrantSetCmd(a), newGrantExplainCmd(a))
	cmd.AddCommand(newStateCmds(a, "grant", "ops",
		[2]string{"Switch grants back on", "Switch grants off without removing them (same as set --active=false)"},
		func(s *store.Store, ctx context.Context, name string, on bool) error {
			_, err := s.UpdateGrant(ctx, name, store.GrantUpdate{Active: &on})
			return err
		})...)
	return cmd
}

func newGrantAddCmd(a *app) *cobra.Command {
	var ng store.NewGrant
	var actions, from, until, span, ports string
	var force bool
	cmd := &cobra.Command{
		Use:   "add NAME [--user U]… [--group G]… [--asset A]… [--node N]… [--account NAME|@all]…",
		Short: "Add a grant",
		Long: `add makes a grant in one step. It needs someone (--user or --group) and
something (--asset or --node); every user, group, asset and node named must
exist. Without --account the grant gives every account on the assets (@all).
--actions defaults to connect,upload,download,delete (forward must be asked
for). --from and --until take RFC 3339 times, dates in UTC (a date in
--until includes that whole day), now, or a time from now (4h, 90m, 2d, 1w);
--for gives the length of the window instead of --until. A window already
over, or an account that exists on none of the covered assets, is refused:
such a grant would give nothing (--force adds it anyway, with a warning).
--ports lists the asset ports the forward action opens to ssh -L/-W
(default: the asset's SSH port). Flags repeat or take comma lists.`,
		Example: `  jmsctl grant add ops --group ops --node /prod
  jmsctl grant add deploy --user alice --user bob --asset web1,web2 --account deploy --actions connect,upload
  jmsctl grant add contractor --user dan --node /staging --from 2026-12-01 --until 2026-12-31 --comment "ticket 4711"
  jmsctl grant add tunnel --user alice --asset db1 --account deploy --actions forward --ports 5432
  jmsctl grant add oncall --user bob --node /prod --account root --from now --for 4h`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := a.actorContext(cmd.Context())
			ng.Name = args[0]
			var err error
			if ng.Actions, err = store.ParseActions(actions); err != nil {
				return fmt.Errorf("--actions: %w", err)
			}
			if ng.ForwardPorts, err = store.ParsePorts(ports); err != nil {
				return fmt.Errorf("--ports: %w", err)
			}
			if err := grantWindowFlags(&ng, from, until, span, time.Now()); err != nil {
				return err
			}
			s, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			ng.Force = force
			g, err := s.AddGrant(ctx, ng)
			if err != nil {
				return err
			}
			for _, w := range g.Warnings {
				fmt.Fprintf(a.stderr, "Warning: grant %s: %s\n", g.Name, w)
			}
			fmt.Fprintf(a.stdout, "Added grant %s: %s on %s as %s (actions %s; %s)\n", g.Name, grantWho(g), grantWhat(g),
				joinComma(g.Accounts), joinComma(g.Actions), grantWindow(g))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&ng.Users, "user", nil, "user the grant names (repeatable)")
	f.StringSliceVar(&ng.Groups, "group", nil, "group whose members the grant names (repeatable)")
	f.StringSliceVar(&ng.Assets, "asset", nil, "asset the grant covers (repeatable)")
	f.StringSliceVar(&ng.Nodes, "node", nil, "node the grant covers, with its descendants (repeatable)")
	f.StringSliceVar(&ng.Accounts, "account", nil, "account username, or @all (the default when omitted)")
	f.StringVar(&actions, "actions", strings.Join(store.DefaultActions, ","), "actions: some of "+strings.Join(store.AllActions, ","))
	f.StringVar(&from, "from", "", "valid from (RFC 3339, YYYY-MM-DD, now, or from now: 4h, 2d)")
	f.StringVar(&until, "until", "", "valid until (RFC 3339, YYYY-MM-DD to include that day, or from now: 4h, 2d)")
	f.StringVar(&span, "for", "", "valid for this long from --from (or now): 4h, 90m, 2d, 1w")
	f.BoolVar(&force, "force", false, "add a grant that would give nothing (window over, account on no covered asset), with a warning")
	f.StringVar(&ng.Comment, "comment", "", "free text")
	f.StringVar(&ports, "ports", "", "ports the forward action opens, e.g. 22,8080 (default: the asset's SSH port)")
	return cmd
}

func newGrantListCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List grants",
		Example: `  jmsctl grant list
  jmsctl grant list -o yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.openStore(cmd.Context())
			if err != nil {
				return err
			}
			gs, err := inOrgs(cmd.Context(), a, s, func(v *store.Store) ([]store.Grant, error) { return v.ListGrants(cmd.Context()) })
			if err != nil {
				return err
			}
			return renderInOrgs(a.listing(), gs, grantColumns(s.Now()))
		},
	}
}

func newGrantShowCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "show NAME",
		Short:   "Show one grant",
		Example: `  jmsctl grant show ops -o json`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.openStore(cmd.Context())
			if err != nil {
				return err
			}
			g, err := s.GetGrant(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			now := s.Now()
			return renderOne(a.listing(), g, []column[store.Grant]{
				{"name", func(g store.Grant) string { return g.Name }},
				{"users", func(g store.Grant) string { return joinComma(g.Users) }},
				{"groups", func(g store.Grant) string { return joinComma(g.Groups) }},
				{"assets", func(g store.Grant) string { return joinComma(g.Assets) }},
				{"nodes", func(g store.Grant) string { return joinComma(g.Nodes) }},
				{"accounts", func(g store.Grant) string { return joinComma(g.Accounts) }},
				{"actions", func(g store.Grant) string { return joinComma(g.Actions) }},
				{"forward_ports", func(g store.Grant) string { return grantPorts(g) }},
				{"valid_from", func(g store.Grant) string { return fmtTimePtr(g.ValidFrom) }},
				{"valid_until", func(g store.Grant) string { return fmtTimePtr(g.ValidUntil) }},
				{"state", func(g store.Grant) string { return g.State(now) }},
				{"comment", func(g store.Grant) string { return g.Comment }},
				{"created_at", func(g store.Grant) string { return fmtTime(g.CreatedAt) }},
			})
		},
	}
}

func newGrantRmCmd(a *app) *cobra.Command {
	return newRmCmd(a, "grant", "Remove grants", `  jmsctl grant rm contractor`, (*store.Store).RemoveGrant)
}

func newGrantSetCmd(a *app) *cobra.Command {
	var gu store.GrantUpdate
	var actions, from, until, comment, ports string
	var active bool
	cmd := &cobra.Command{
		Use:   "set NAME",
		Short: "Change a grant: members, accounts, actions, window, active",
		Long: `set changes a grant in one transaction. --add-X and --rm-X add and remove
members; --actions replaces the actions; --from/--until set the window
("none" clears a bound); --active=false switches the grant off without
removing it. The grant must still name someone, cover something and give
an account.`,
		Example: `  jmsctl grant set ops --add-user carol --rm-group interns
  jmsctl grant set deploy --actions connect --until 2027-01-31
  jmsctl grant set contractor --active=false
  jmsctl grant set ops --add-account root --rm-account @all`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := a.actorContext(cmd.Context())
			fl := cmd.Flags()
			changed := false
			for _, name := range []string{"add-user", "rm-user", "add-group", "rm-group", "add-asset", "rm-asset",
				"add-node", "rm-node", "add-account", "rm-account", "actions", "from", "until", "active", "comment", "ports"} {
				changed = changed || fl.Changed(name)
			}
			if !changed {
				return fmt.Errorf("nothing to change: see jmsctl grant set --help")
			}
			var err error
			if fl.Changed("actions") {
				if gu.Actions, err = store.ParseActions(actions); err != nil {
					return fmt.Errorf("--actions: %w", err)
				}
			}
			if fl.Changed("from") {
				if gu.ValidFrom, gu.ClearFrom, err = timeFlagPtr("from", from, false); err != nil {
					return err
				}
			}
			if fl.Changed("until") {
				if gu.ValidUntil, gu.ClearUntil, err = timeFlagPtr("until", until, true); err != nil {
					return err
				}
			}
			if fl.Changed("active") {
				gu.Active = &active
			}
			if fl.Changed("comment") {
				gu.Comment = &comment
			}
			if fl.Changed("ports") {
				p, err := store.ParsePorts(ports)
				if err != nil {
					return fmt.Errorf("--ports: %w", err)
				}
				gu.ForwardPorts = &p
			}
			s, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			g, err := s.UpdateGrant(ctx, args[0], gu)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Updated grant %s: %s on %s as %s (actions %s; %s; %s)\n", g.Name, grantWho(g), grantWhat(g),
				joinComma(g.Accounts), joinComma(g.Actions), grantWindow(g), g.State(s.Now()))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&gu.AddUsers, "add-user", nil, "user to name")
	f.StringSliceVar(&gu.RemoveUsers, "rm-user", nil, "user to stop naming")
	f.StringSliceVar(&gu.AddGroups, "add-group", nil, "group to name")
	f.StringSliceVar(&gu.RemoveGroups, "rm-group", nil, "group to stop naming")
	f.StringSliceVar(&gu.AddAssets, "add-asset", nil, "asset to cover")
	f.StringSliceVar(&gu.RemoveAssets, "rm-asset", nil, "asset to stop covering")
	f.StringSliceVar(&gu.AddNodes, "add-node", nil, "node to cover")
	f.StringSliceVar(&gu.RemoveNodes, "rm-node", nil, "node to stop covering")
	f.StringSliceVar(&gu.AddAccounts, "add-account", nil, "account username or @all to give")
	f.StringSliceVar(&gu.RemoveAccounts, "rm-account", nil, "account username or @all to stop giving")
	f.StringVar(&actions, "actions", "", "new actions: some of "+strings.Join(store.AllActions, ","))
	f.StringVar(&from, "from", "", `valid from (RFC 3339 or YYYY-MM-DD; "none" clears)`)
	f.StringVar(&until, "until", "", `valid until (RFC 3339 or YYYY-MM-DD, inclusive; "none" clears)`)
	f.BoolVar(&active, "active", true, "false switches the grant off")
	f.StringVar(&ports, "ports", "", `ports the forward action opens, e.g. 22,8080 ("" : the asset's SSH port)`)
	f.StringVar(&comment, "comment", "", "free text")
	return cmd
}

func newGrantExplainCmd(a *app) *cobra.Command {
	var at string
	cmd := &cobra.Command{
		Use:   "explain USER ASSET",
		Short: "Explain why a person can or cannot reach an asset",
		Long: `explain prints a verdict line, then every grant that names the person (or a
group of hers) or covers the asset, and why it applies or not: inactive,
expired, not yet valid, does not cover the asset, no granted account exists
there. It also says when the person is disabled or locked, or the asset
inactive. It exits 0 whatever the verdict; -o json gives "allowed".`,
		Example: `  jmsctl grant explain alice web1
  jmsctl grant explain alice web1 --at 2027-01-01
  jmsctl grant explain alice web1 -o json | jq .allowed`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			s, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			when := s.Now()
			if at != "" {
				if when, err = parseTimeFlag("at", at, false); err != nil {
					return err
				}
			}
			e, err := s.ExplainAccess(ctx, args[0], args[1], when)
			if err != nil {
				return err
			}
			cols := []column[store.GrantCheck]{
				{"grant", func(c store.GrantCheck) string { return c.Grant }},
				{"applies", func(c store.GrantCheck) string { return yesNo(c.Applies) }},
				{"names", func(c store.GrantCheck) string { return orDash(c.Names) }},
				{"covers", func(c store.GrantCheck) string { return orDash(c.Covers) }},
				{"accounts", func(c store.GrantCheck) string { return orDash(joinComma(c.Accounts)) }},
				{"actions", func(c store.GrantCheck) string { return joinComma(c.Actions) }},
				{"why_not", func(c store.GrantCheck) string { return c.Reason }},
			}
			switch a.output {
			case "json", "yaml":
				return renderOne(a.listing(), e, nil)
			case "csv":
				return render(a.listing(), e.Grants, cols)
			}
			fmt.Fprintln(a.stdout, e.Verdict)
			if len(e.Grants) == 0 {
				return nil
			}
			// The reasons are the point here: no 40-column cells.
			fmt.Fprintln(a.stdout)
			tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "GRANT\tAPPLIES\tNAMES\tCOVERS\tACCOUNTS\tACTIONS\tWHY NOT")
			for _, c := range e.Grants {
				row := make([]string, len(cols))
				for i, col := range cols {
					row[i] = printable.Escape(col.value(c))
				}
				fmt.Fprintln(tw, strings.Join(row, "\t"))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&at, "at", "", "explain at this time instead of now (RFC 3339 or YYYY-MM-DD)")
	return cmd
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// grantPorts says what the forward action of g opens.
func grantPorts(g store.Grant) string {
	if len(g.ForwardPorts) == 0 {
		return "ssh port"
	}
	out := make([]string, len(g.ForwardPorts))
	for i, p := range g.ForwardPorts {
		out[i] = strconv.Itoa(p)
	}
	return strings.Join(out, ",")
}
