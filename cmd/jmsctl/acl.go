package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/jms-bastion/jms/store"
)

func aclWho(r store.LoginRule) string {
	var parts []string
	if len(r.Users) > 0 {
		parts = append(parts, "users="+joinComma(r.Users))
	}
	if len(r.Groups) > 0 {
		parts = append(parts, "groups="+joinComma(r.Groups))
	}
	if len(parts) == 0 {
		return "everyone"
	}
	return strings.Join(parts, " ")
}

func orAny(v []string, any string) string {
	if len(v) == 0 {
		return any
	}
	return strings.Join(v, ", ")
}

func aclTZ(r store.LoginRule) string {
	if r.TZ == "" {
		return "server local"
	}
	return r.TZ
}

func aclColumns() []column[store.LoginRule] {
	return []column[store.LoginRule]{
		{"priority", func(r store.LoginRule) string { return strconv.Itoa(r.Priority) }},
		{"name", func(r store.LoginRule) string { return r.Name }},
		{"action", func(r store.LoginRule) string { return r.Action }},
		{"who", aclWho},
		{"sources", func(r store.LoginRule) string { return orAny(r.Sources, "anywhere") }},
		{"times", func(r store.LoginRule) string { return orAny(r.Times, "always") }},
		{"tz", aclTZ},
	}
}

func newACLCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "acl",
		Short: "Manage login rules: who may log in to the bastion, from where and when",
		Long: `Login rules decide whether a person who has proven who she is (password or
key, and her OTP code) may log in, from her TCP source address and the time.
Rules are tried lowest priority number first (1-100, default 50; ties by
age); the first that matches decides, allow or deny. No matching rule
allows: to allow only what you list, add a catch-all deny at priority 100.
A rule matches a person named by --user or in a --group (neither: everyone),
from an address in a --source CIDR (none: anywhere), at a --time (none:
always). Times are in --tz (an IANA zone such as Europe/Paris), or the
server's local zone. A refusal is told to the person, with the rule's name,
and audited in 'jmsctl audit logins'.`,
		Example: `  jmsctl acl add office --group ops --source 10.0.0.0/8 --priority 10
  jmsctl acl add office-hours --user alice --time "Mon-Fri 08:00-20:00" --tz Europe/Paris --priority 20
  jmsctl acl add nobody-else --action deny --priority 100
  jmsctl acl list`,
	}
	cmd.AddCommand(newACLAddCmd(a), newACLListCmd(a), newACLShowCmd(a), newACLRmCmd(a))
	return cmd
}

func newACLAddCmd(a *app) *cobra.Command {
	var r store.LoginRule
	cmd := &cobra.Command{
		Use:   "add NAME [--user U]… [--group G]… [--source CIDR]… [--time RANGE]… [--action allow|deny] [--priority N]",
		Short: "Add a login rule",
		Long: `add makes a login rule. --user, --group, --source and --time repeat (or take
comma lists for users and groups); within one of them any value matches,
and every one given must match. --source is a CIDR with its host bits zero
(10.0.0.0/8; 10.0.0.1/8 is refused, naming 10.0.0.0/8) or a single address.
--time is "DAYS HH:MM-HH:MM", "DAYS" or "HH:MM-HH:MM": days are Mon..Sun,
ranges (Mon-Fri) or lists (Sat,Sun), hours on 24 hours with minutes; an end
before the start runs past midnight ("Mon-Fri 22:00-06:00" covers Tuesday
03:00). A value close to a valid one ("Mon-Fri 8-20", "9am-5pm") is refused
with the form it likely means. --action defaults to allow, --priority to 50.`,
		Example: `  jmsctl acl add lan-only --action deny --source 0.0.0.0/0 --priority 90
  jmsctl acl add lan --source 192.168.0.0/16 --source 10.0.0.0/8 --priority 10
  jmsctl acl add weekend --action deny --group contractors --time Sat,Sun
  jmsctl acl add nights --action deny --time "22:00-06:00" --tz UTC`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := a.actorContext(cmd.Context())
			r.Name = args[0]
			if cmd.Flags().Changed("priority") && r.Priority == 0 {
				return fmt.Errorf("priority 0 is out of range: want 1-100 (lower is matched first)")
			}
			if err := r.Check(); err != nil {
				return err
			}
			s, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			added, err := s.AddLoginRule(ctx, r)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Added login rule %s: %s %s from %s at %s (%s), priority %d\n", added.Name, added.Action,
				aclWho(added), orAny(added.Sources, "anywhere"), orAny(added.Times, "any time"), aclTZ(added), added.Priority)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&r.Action, "action", store.LoginRuleAllow, "allow or deny")
	f.IntVar(&r.Priority, "priority", store.DefaultFilterPriority, "1-100, lower is matched first")
	f.StringSliceVar(&r.Users, "user", nil, "only for these users")
	f.StringSliceVar(&r.Groups, "group", nil, "only for members of these groups")
	f.StringArrayVar(&r.Sources, "source", nil, "only from this CIDR or address (repeatable)")
	f.StringArrayVar(&r.Times, "time", nil, `only at these times, e.g. "Mon-Fri 08:00-20:00" (repeatable)`)
	f.StringVar(&r.TZ, "tz", "", "time zone of --time (IANA name); default the server's local zone")
	f.StringVar(&r.Comment, "comment", "", "free text")
	return cmd
}

func newACLListCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List login rules in the order they are tried",
		Example: `  jmsctl acl list
  jmsctl acl list -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.openStore(cmd.Context())
			if err != nil {
				return err
			}
			rules, err := s.ListLoginRules(cmd.Context())
			if err != nil {
				return err
			}
			return render(a.listing(), rules, aclColumns())
		},
	}
}

func newACLShowCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "show NAME",
		Short:   "Show one login rule",
		Example: `  jmsctl acl show office -o yaml`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.openStore(cmd.Context())
			if err != nil {
				return err
			}
			r, err := s.GetLoginRule(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return renderOne(a.listing(), r, append(aclColumns(),
				column[store.LoginRule]{"comment", func(r store.LoginRule) string { return r.Comment }},
				column[store.LoginRule]{"created_at", func(r store.LoginRule) string { return fmtTime(r.CreatedAt) }}))
		},
	}
}

func newACLRmCmd(a *app) *cobra.Command {
	return newRmCmd(a, "login rule", "Remove login rules", `  jmsctl acl rm office-hours`, (*store.Store).RemoveLoginRule)
}
