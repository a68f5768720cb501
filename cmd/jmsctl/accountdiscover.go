package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/jms-bastion/jms/automation"
)

func localAccountColumns() []column[automation.LocalAccount] {
	return []column[automation.LocalAccount]{
		{"asset", func(l automation.LocalAccount) string { return l.Asset }},
		{"name", func(l automation.LocalAccount) string { return l.Name }},
		{"uid", func(l automation.LocalAccount) string { return strconv.Itoa(l.UID) }},
		{"shell", func(l automation.LocalAccount) string { return l.Shell }},
		{"password", func(l automation.LocalAccount) string { return l.Password }},
		{"keys", func(l automation.LocalAccount) string { return strconv.Itoa(l.Keys) }},
		{"last_login", func(l automation.LocalAccount) string { return l.LastLogin }},
		{"sudo", func(l automation.LocalAccount) string { return l.Sudo }},
		{"mark", func(l automation.LocalAccount) string { return l.Mark }},
		{"risks", func(l automation.LocalAccount) string { return strings.Join(l.Risks, ", ") }},
	}
}

func newAccountDiscoverCmd(a *app) *cobra.Command {
	var t automation.Target
	var add string
	var parallel int
	cmd := &cobra.Command{
		Use:   "discover (ASSET | --node PATH) [--add NAME,…] [--parallel 20]",
		Short: "List the local accounts of assets, which jms manages, and which are risky",
		Long: `discover logs in as each asset's privileged account and lists its local
accounts (root and uid 0, every account with a login shell, uids from
1000): uid, shell, whether a password is set (set, empty, locked, none),
how many authorized keys, the last login, sudo rights (ALL, some, no).
Each is marked managed (jms stores an account of that name on the asset)
or unknown, with its risks: uid 0 other than root, an empty password,
keys nobody manages. --add adopts the named accounts, where found, as
accounts without a secret (give them one with account passwd, or push).
The exit status is non-zero when an asset could not be read.`,
		Example: `  jmsctl account discover web1
  jmsctl account discover --node /prod -o json
  jmsctl account discover web1 --add alice,bob`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				t.Asset = args[0]
			}
			if (t.Asset == "") == (t.Node == "") {
				return fmt.Errorf("name ASSET or --node PATH")
			}
			if parallel < 1 || parallel > 500 {
				return fmt.Errorf("--parallel %d: want 1-500", parallel)
			}
			var names []string
			for _, n := range strings.Split(add, ",") {
				if n = strings.TrimSpace(n); n != "" {
					if err := automation.ValidAccountUser(n); err != nil {
						return err
					}
					names = append(names, n)
				}
			}
			ctx := a.actorContext(cmd.Context())
			s, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			r, err := a.runner(s, parallel, nil)
			if err != nil {
				return err
			}
			found, err := r.Discover(ctx, t, names)
			if err != nil {
				return err
			}
			return a.renderDiscovery(found)
		},
	}
	cmd.Flags().StringVar(&t.Node, "node", "", "every asset under this node")
	cmd.Flags().StringVar(&add, "add", "", "adopt these accounts (comma-separated) as accounts without a secret")
	cmd.Flags().IntVar(&parallel, "parallel", 20, "assets worked on at once")
	return cmd
}

// renderDiscovery prints the accounts found, the assets that could not
// be read on stderr, and fails when there were any.
func (a *app) renderDiscovery(found []automation.Discovery) error {
	if a.output == "json" || a.output == "yaml" {
		if err := encode(a.stdout, a.output, found); err != nil {
			return err
		}
	} else {
		var all []automation.LocalAccount
		for _, d := range found {
			all = append(all, d.Accounts...)
		}
		if err := render(a.listing(), all, localAccountColumns()); err != nil {
			return err
		}
	}
	failed := 0
	for _, d := range found {
		if len(d.Added) > 0 && a.output == "table" {
			fmt.Fprintf(a.stdout, "%s: adopted %s\n", d.Asset, strings.Join(d.Added, ", "))
		}
		if d.Status != automation.StatusOK {
			failed++
			fmt.Fprintf(a.stderr, "%s: %s: %s\n", d.Asset, d.Status, d.Detail)
		}
	}
	if failed > 0 {
		return fmt.Errorf("discover: %d of %d assets could not be read", failed, len(found))
	}
	return nil
}
