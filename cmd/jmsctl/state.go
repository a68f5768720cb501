package main

import (
	"context"
	"fmt"
	"strings"

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

// changedFlags returns the flags of names the command line gave; set
// commands refuse to run with none ("nothing to change").
func changedFlags(cmd *cobra.Command, names ...string) []string {
	var out []string
	for _, n := range names {
		if cmd.Flags().Changed(n) {
			out = append(out, n)
		}
	}
	return out
}

// nothingToChange is the error of a set command given no change.
func nothingToChange(names ...string) error {
	flags := make([]string, len(names))
	for i, n := range names {
		flags[i] = "--" + n
	}
	last := len(flags) - 1
	if last == 0 {
		return fmt.Errorf("nothing to change: give %s", flags[0])
	}
	return fmt.Errorf("nothing to change: give %s or %s", strings.Join(flags[:last], ", "), flags[last])
}
