package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/jms-bastion/jms/store"
)

// newRmCmd builds `NOUN rm NAME…`: the names are removed in one
// transaction, and none when one of them does not exist.
func newRmCmd(a *app, noun, short, example string, rm func(*store.Store, context.Context, ...string) error) *cobra.Command {
	return &cobra.Command{
		Use:     "rm NAME…",
		Aliases: []string{"remove"},
		Short:   short,
		Example: example,
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := a.actorContext(cmd.Context())
			s, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			if err := rm(s, ctx, args...); err != nil {
				return err
			}
			for _, name := range args {
				fmt.Fprintf(a.stdout, "Removed %s %s\n", noun, name)
			}
			return nil
		},
	}
}
