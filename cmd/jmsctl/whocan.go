package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/jms-bastion/jms/store"
)

func newAssetWhoCanCmd(a *app) *cobra.Command {
	var at string
	cmd := &cobra.Command{
		Use:   "who-can ASSET",
		Short: "List who can reach an asset, as which accounts, through which grants",
		Long: `who-can lists every person who can reach the asset now (or --at a time),
with each account she may use there, its actions and the grants that give
it. Disabled and locked people, inactive grants and grants outside their
window do not count. To see why someone is missing, use
'jmsctl grant explain USER ASSET'.`,
		Example: `  jmsctl asset who-can web1
  jmsctl asset who-can web1 --at 2027-01-01T09:00:00Z
  jmsctl asset who-can web1 -o csv`,
		Args: cobra.ExactArgs(1),
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
			asset, err := s.GetAsset(ctx, args[0])
			if err != nil {
				return err
			}
			who, err := s.WhoCan(ctx, args[0], when)
			if err != nil {
				return err
			}
			if len(who) == 0 && a.output == "table" {
				why := "no grant gives anyone an account there"
				if !asset.Active {
					why = asset.Name + " is inactive"
				}
				fmt.Fprintf(a.stderr, "Nobody can reach %s: %s\n", asset.Name, why)
			}
			return render(a.listing(), who, []column[store.WhoCanEntry]{
				{"user", func(w store.WhoCanEntry) string { return w.User }},
				{"account", func(w store.WhoCanEntry) string { return w.Account }},
				{"actions", func(w store.WhoCanEntry) string { return joinComma(w.Actions) }},
				{"grants", func(w store.WhoCanEntry) string { return joinComma(w.Grants) }},
			})
		},
	}
	cmd.Flags().StringVar(&at, "at", "", "at this time instead of now (RFC 3339 or YYYY-MM-DD)")
	return cmd
}
