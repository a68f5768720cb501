package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/jms-bastion/jms/store"
)

func filterMatch(f store.Filter) string {
	prefix := ""
	if f.Kind == store.FilterSQL {
		prefix = "sql "
	}
	switch {
	case f.Regex != "":
		return prefix + "regex " + f.Regex
	case f.Kind == store.FilterSQL:
		return "sql statement " + strings.Join(f.Statements, ", ")
	}
	return "command " + strings.Join(f.Commands, " | ")
}

func filterScope(f store.Filter) string {
	var parts []string
	add := func(label string, names []string) {
		if len(names) > 0 {
			parts = append(parts, label+"="+joinComma(names))
		}
	}
	add("users", f.Users)
	add("groups", f.Groups)
	add("assets", f.Assets)
	add("nodes", f.Nodes)
	add("accounts", f.Accounts)
	if len(parts) == 0 {
		return "everyone, everywhere"
	}
	return strings.Join(parts, " ")
}

func filterColumns() []column[store.Filter] {
	return []column[store.Filter]{
		{"priority", func(f store.Filter) string { return strconv.Itoa(f.Priority) }},
		{"name", func(f store.Filter) string { return f.Name }},
		{"action", func(f store.Filter) string { return f.Action }},
		{"match", filterMatch},
		{"scope", filterScope},
		{"active", func(f store.Filter) string { return yesNo(f.Active) }},
	}
}

func newFilterCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "filter",
		Short: "Manage command filters: deny, allow, warn about or hold commands for review",
		Long: `Command filters judge every command line people submit in their sessions.
All filters whose scope covers (user, asset, account) take part, lowest
priority number first (1-100, default 50; ties by age); the first that
matches decides: allow runs the command, deny refuses it, warn runs it and
flags the event, review holds it until an admin approves. No match allows.
--command WORD of deny, warn and review matches the word at a word boundary
(reboot matches "sudo /sbin/reboot", not "rebooted"); of allow, it matches
the program in command position only (allow ls does not allow
"touch x ls"). --regex is a Go regular expression.
No scope flag means everyone, everywhere. A filter guards against mistakes
and casual misuse; it cannot see inside a script written on the asset.
With --sql a filter judges SQL statements sent to database assets (mysql,
postgresql) instead: --statement DROP,TRUNCATE matches the statement's
verb (or its leading words, "DROP DATABASE"), --regex the statement; see
docs/databases.md.`,
		Example: `  jmsctl filter add no-reboot --action deny --command reboot --command shutdown
  jmsctl filter add no-drop --sql --action deny --statement DROP,TRUNCATE,GRANT
  jmsctl filter add prod-restarts --action review --priority 10 --regex '^systemctl (stop|restart)' --node /prod
  jmsctl filter set no-reboot --add-command halt --rm-group ops
  jmsctl filter list`,
	}
	cmd.AddCommand(newFilterAddCmd(a), newFilterListCmd(a), newFilterShowCmd(a), newFilterRmCmd(a), newFilterSetCmd(a))
	cmd.AddCommand(newStateCmds(a, "filter", "no-reboot",
		[2]string{"Switch command filters back on", "Switch command filters off without removing them"},
		(*store.Store).SetFilterActive)...)
	return cmd
}

func newFilterAddCmd(a *app) *cobra.Command {
	var nf store.NewFilter
	var sql bool
	cmd := &cobra.Command{
		Use:   "add NAME --action deny|allow|warn|review (--regex RE | --command WORD… | --sql (--regex RE | --statement KIND,…))",
		Short: "Add a command filter",
		Long: `add makes a command filter. Give exactly one of --regex (a Go regular
expression) or --command (repeatable; a word, or several words matched as a
sequence, e.g. "rm -rf /"). --priority runs 1-100, default 50, lower first.
Scope flags repeat or take comma lists; without any the filter applies to
everyone, everywhere. Each scope dimension that is given must match: a user
listed or in a group listed; an asset listed or under a node listed; an
account listed.
--sql makes a statement filter for database assets: it judges each SQL
statement (several in one input are split, comments and literals are not
taken for keywords) by --statement kinds (DROP, TRUNCATE, "DROP DATABASE")
or --regex.`,
		Example: `  jmsctl filter add no-reboot --action deny --command reboot
  jmsctl filter add no-rm-root --action deny --priority 5 --command "rm -rf /"
  jmsctl filter add psql-warn --action warn --regex '\bDROP\s+TABLE\b' --node /db --account postgres
  jmsctl filter add ops-ok --action allow --priority 1 --group ops --command reboot
  jmsctl filter add no-drop --sql --action deny --regex '(?i)^\s*drop\s'
  jmsctl filter add sql-review --sql --action review --statement DROP,TRUNCATE,GRANT --node /db`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := a.actorContext(cmd.Context())
			nf.Name = args[0]
			if sql {
				nf.Kind = store.FilterSQL
			}
			if cmd.Flags().Changed("priority") && nf.Priority == 0 {
				return fmt.Errorf("priority 0 is out of range: want 1-100 (lower is matched first)")
			}
			if err := nf.Check(); err != nil {
				return err
			}
			s, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			f, err := s.AddFilter(ctx, nf)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Added filter %s: %s on %s, priority %d (%s)\n", f.Name, f.Action, filterMatch(f), f.Priority, filterScope(f))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&nf.Action, "action", "", "deny, allow, warn or review")
	f.IntVar(&nf.Priority, "priority", store.DefaultFilterPriority, "1-100, lower is matched first")
	f.StringVar(&nf.Regex, "regex", "", "Go regular expression")
	f.StringArrayVar(&nf.Commands, "command", nil, "command word(s): matched at a word boundary, or for allow as the program run (repeatable)")
	f.BoolVar(&sql, "sql", false, "judge SQL statements on database assets, not shell commands")
	f.StringSliceVar(&nf.Statements, "statement", nil, "with --sql: statement kinds to match, e.g. DROP,TRUNCATE,\"DROP DATABASE\"")
	f.StringSliceVar(&nf.Users, "user", nil, "only for these users")
	f.StringSliceVar(&nf.Groups, "group", nil, "only for members of these groups")
	f.StringSliceVar(&nf.Assets, "asset", nil, "only on these assets")
	f.StringSliceVar(&nf.Nodes, "node", nil, "only on assets under these nodes")
	f.StringSliceVar(&nf.Accounts, "account", nil, "only as these accounts")
	f.StringVar(&nf.Comment, "comment", "", "free text")
	return cmd
}

func newFilterListCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List command filters in the order they are matched",
		Example: `  jmsctl filter list
  jmsctl filter list -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.openStore(cmd.Context())
			if err != nil {
				return err
			}
			fs, err := inOrgs(cmd.Context(), a, s, func(v *store.Store) ([]store.Filter, error) { return v.ListFilters(cmd.Context()) })
			if err != nil {
				return err
			}
			return renderInOrgs(a.listing(), fs, filterColumns())
		},
	}
}

func newFilterShowCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "show NAME",
		Short:   "Show one command filter",
		Example: `  jmsctl filter show no-reboot -o yaml`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.openStore(cmd.Context())
			if err != nil {
				return err
			}
			f, err := s.GetFilter(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return renderOne(a.listing(), f, append(filterColumns(),
				column[store.Filter]{"comment", func(f store.Filter) string { return f.Comment }},
				column[store.Filter]{"created_at", func(f store.Filter) string { return fmtTime(f.CreatedAt) }}))
		},
	}
}

func newFilterRmCmd(a *app) *cobra.Command {
	return newRmCmd(a, "filter", "Remove command filters", `  jmsctl filter rm no-reboot`, (*store.Store).RemoveFilter)
}

// filterSetFlags are the flags of filter set, in the order the "nothing
// to change" error names them.
var filterSetFlags = []string{"action", "priority", "regex", "statement", "add-command", "rm-command",
	"add-user", "rm-user", "add-group", "rm-group", "add-asset", "rm-asset",
	"add-node", "rm-node", "add-account", "rm-account", "comment"}

func newFilterSetCmd(a *app) *cobra.Command {
	var fu store.FilterUpdate
	var action, regex, comment string
	var statements []string
	var priority int
	cmd := &cobra.Command{
		Use:   "set NAME [--action A] [--priority N] [--regex RE | --add-command W… --rm-command W…] [--add-X/--rm-X …] [--comment C]",
		Short: "Change a command filter: action, priority, match, scope",
		Long: `set changes a command filter in one transaction, checked as filter add
checks a new one. --regex replaces the match with a regular expression;
--add-command on a regex filter replaces the regex with command words.
--add-X and --rm-X add and remove scope names (user, group, asset, node,
account). Removing a name the filter does not hold is refused, and so is
removing the last names of a scope dimension: that would widen the filter
to everyone or everywhere; say so with a new filter instead.`,
		Example: `  jmsctl filter set no-reboot --add-command halt --add-command poweroff
  jmsctl filter set no-reboot --action review --priority 10
  jmsctl filter set psql-warn --regex '\bDROP\s+(TABLE|DATABASE)\b'
  jmsctl filter set ops-ok --add-group sre --rm-user alice
  jmsctl filter set no-drop --statement DROP,TRUNCATE`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := a.actorContext(cmd.Context())
			fl := cmd.Flags()
			if len(changedFlags(cmd, filterSetFlags...)) == 0 {
				return nothingToChange(filterSetFlags...)
			}
			if fl.Changed("regex") && (fl.Changed("add-command") || fl.Changed("rm-command")) {
				return fmt.Errorf("give either --regex or --add-command/--rm-command, not both")
			}
			if fl.Changed("regex") && fl.Changed("statement") {
				return fmt.Errorf("give either --regex or --statement, not both")
			}
			if fl.Changed("statement") {
				fu.Statements = statements
				if fu.Statements == nil {
					fu.Statements = []string{}
				}
			}
			if fl.Changed("action") {
				fu.Action = &action
			}
			if fl.Changed("priority") {
				fu.Priority = &priority
			}
			if fl.Changed("regex") {
				fu.Regex = &regex
			}
			if fl.Changed("comment") {
				fu.Comment = &comment
			}
			s, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			f, err := s.UpdateFilter(ctx, args[0], fu)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Updated filter %s: %s on %s, priority %d (%s)\n", f.Name, f.Action, filterMatch(f), f.Priority, filterScope(f))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&action, "action", "", "deny, allow, warn or review")
	f.IntVar(&priority, "priority", store.DefaultFilterPriority, "1-100, lower is matched first")
	f.StringVar(&regex, "regex", "", "Go regular expression (replaces the match)")
	f.StringSliceVar(&statements, "statement", nil, "SQL filters: statement kinds to match (replaces the match)")
	f.StringArrayVar(&fu.AddCommands, "add-command", nil, "command word(s) to match (repeatable)")
	f.StringArrayVar(&fu.RmCommands, "rm-command", nil, "command word(s) to stop matching (repeatable)")
	f.StringSliceVar(&fu.AddUsers, "add-user", nil, "user to scope to")
	f.StringSliceVar(&fu.RmUsers, "rm-user", nil, "user to stop scoping to")
	f.StringSliceVar(&fu.AddGroups, "add-group", nil, "group to scope to")
	f.StringSliceVar(&fu.RmGroups, "rm-group", nil, "group to stop scoping to")
	f.StringSliceVar(&fu.AddAssets, "add-asset", nil, "asset to scope to")
	f.StringSliceVar(&fu.RmAssets, "rm-asset", nil, "asset to stop scoping to")
	f.StringSliceVar(&fu.AddNodes, "add-node", nil, "node to scope to")
	f.StringSliceVar(&fu.RmNodes, "rm-node", nil, "node to stop scoping to")
	f.StringSliceVar(&fu.AddAccounts, "add-account", nil, "account to scope to")
	f.StringSliceVar(&fu.RmAccounts, "rm-account", nil, "account to stop scoping to")
	f.StringVar(&comment, "comment", "", "free text")
	return cmd
}
