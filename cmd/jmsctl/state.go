package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/jms-bastion/jms/store"
)

// newStateCmds builds `NOUN enable NAME…` and `NOUN disable NAME…` for
// every noun with an active flag: one grammar across nouns. set switches
// one name on (true) or off.
func newStateCmds(a *app, noun, example string, short [2]string, set func(s *store.Store, ctx context.Context, name string, on bool) error) []*cobra.Command {
	mk := func(verb, short, done string, on bool) *cobra.Command {
		return &cobra.Command{
			Use:     verb + " NAME…",
			Short:   short,
			Example: "  jmsctl " + noun + " " + verb + " " + example,
			Args:    cobra.MinimumNArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				ctx := a.actorContext(cmd.Context())
				s, err := a.openStore(ctx)
				if err != nil {
					return err
				}
				for _, name := range args {
					if err := set(s, ctx, name, on); err != nil {
						return err
					}
					fmt.Fprintf(a.stdout, "%s %s %s\n", done, noun, name)
				}
				return nil
			},
		}
	}
	return []*cobra.Command{mk("enable", short[0], "Enabled", true), mk("disable", short[1], "Disabled", false)}
}
