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
		{"active", func(r store.LoginRule) string { return yesNo(r.Active) }},
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
and audited in 'jmsctl audit logins'.

Rules belong to an organization (--org): they name its members and groups
only. A login is judged by the rules of every organization the person is a
member of, so a deny rule of one organization keeps her out of the bastion
as a whole.`,
		Example: `  jmsctl acl add office --group ops --source 10.0.0.0/8 --priority 10
  jmsctl acl add office-hours --user alice --time "Mon-Fri 08:00-20:00" --tz Europe/Paris --priority 20
  jmsctl acl add nobody-else --action deny --priority 100
  jmsctl acl set office --add-source 172.16.0.0/12 --rm-group interns
  jmsctl acl disable office-hours
  jmsctl acl list`,
	}
	cmd.AddCommand(newACLAddCmd(a), newACLListCmd(a), newACLShowCmd(a), newACLRmCmd(a), newACLSetCmd(a))
	cmd.AddCommand(newStateCmds(a, "acl", "office-hours",
		[2]string{"Switch login rules back on", "Switch login rules off without removing them"},
		(*store.Store).SetLoginRuleActive)...)
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
			rules, err := inOrgs(cmd.Context(), a, s, func(v *store.Store) ([]store.LoginRule, error) { return v.ListLoginRules(cmd.Context()) })
			if err != nil {
				return err
			}
			return renderInOrgs(a.listing(), rules, aclColumns())
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

// aclSetFlags are the flags of acl set, in the order the "nothing to
// change" error names them.
var aclSetFlags = []string{"action", "priority", "add-source", "rm-source", "add-time", "rm-time",
	"add-user", "rm-user", "add-group", "rm-group", "tz", "comment"}

func newACLSetCmd(a *app) *cobra.Command {
	var ru store.LoginRuleUpdate
	var action, tz, comment string
	var priority int
	cmd := &cobra.Command{
		Use:   "set NAME [--action allow|deny] [--priority N] [--add-source CIDR/--rm-source] [--add-time RANGE/--rm-time] [--add-user/--rm-user] [--add-group/--rm-group] [--tz Z] [--comment C]",
		Short: "Change a login rule: action, priority, who, sources, times",
		Long: `set changes a login rule in one transaction, checked as acl add checks a
new one (same source and time forms, same messages). --add-X and --rm-X
add and remove users, groups, sources and times; a source or time is found
in its canonical form, so --rm-source 10.0.0.1 removes 10.0.0.1/32.
Removing a value the rule does not hold is refused, and so is removing the
last user and group, source or time: the rule would then cover everyone,
anywhere or always. Switch a rule off with 'jmsctl acl disable'.`,
		Example: `  jmsctl acl set office --add-source 172.16.0.0/12 --rm-source 10.0.0.0/8
  jmsctl acl set office-hours --add-time "Sat 09:00-12:00" --tz Europe/Paris
  jmsctl acl set weekend --action allow --priority 30 --add-group oncall`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := a.actorContext(cmd.Context())
			fl := cmd.Flags()
			if len(changedFlags(cmd, aclSetFlags...)) == 0 {
				return nothingToChange(aclSetFlags...)
			}
			if fl.Changed("action") {
				ru.Action = &action
			}
			if fl.Changed("priority") {
				ru.Priority = &priority
			}
			if fl.Changed("tz") {
				ru.TZ = &tz
			}
			if fl.Changed("comment") {
				ru.Comment = &comment
			}
			s, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			r, err := s.UpdateLoginRule(ctx, args[0], ru)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Updated login rule %s: %s %s from %s at %s (%s), priority %d\n", r.Name, r.Action,
				aclWho(r), orAny(r.Sources, "anywhere"), orAny(r.Times, "any time"), aclTZ(r), r.Priority)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&action, "action", "", "allow or deny")
	f.IntVar(&priority, "priority", store.DefaultFilterPriority, "1-100, lower is matched first")
	f.StringSliceVar(&ru.AddUsers, "add-user", nil, "user the rule names")
	f.StringSliceVar(&ru.RmUsers, "rm-user", nil, "user the rule stops naming")
	f.StringSliceVar(&ru.AddGroups, "add-group", nil, "group the rule names")
	f.StringSliceVar(&ru.RmGroups, "rm-group", nil, "group the rule stops naming")
	f.StringArrayVar(&ru.AddSources, "add-source", nil, "CIDR or address to add (repeatable)")
	f.StringArrayVar(&ru.RmSources, "rm-source", nil, "CIDR or address to remove (repeatable)")
	f.StringArrayVar(&ru.AddTimes, "add-time", nil, `time range to add, e.g. "Mon-Fri 08:00-20:00" (repeatable)`)
	f.StringArrayVar(&ru.RmTimes, "rm-time", nil, "time range to remove (repeatable)")
	f.StringVar(&tz, "tz", "", `time zone of the times (IANA name; "" the server's local zone)`)
	f.StringVar(&comment, "comment", "", "free text")
	return cmd
}
