package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/jms-bastion/jms/automation"
)

// selectionArgs reads ASSET [ACCOUNT] | --node PATH | --all.
func selectionArgs(sel *automation.Selection, args []string) error {
	if len(args) > 0 {
		sel.Asset = args[0]
	}
	if len(args) > 1 {
		sel.Account = args[1]
	}
	n := 0
	for _, set := range []bool{sel.Asset != "", sel.Node != "", sel.All} {
		if set {
			n++
		}
	}
	if n != 1 {
		return fmt.Errorf("name one of: ASSET [ACCOUNT], --node PATH or --all")
	}
	return nil
}

func newAccountVerifyCmd(a *app) *cobra.Command {
	var sel automation.Selection
	var parallel int
	cmd := &cobra.Command{
		Use:   "verify (ASSET [ACCOUNT] | --node PATH | --all) [--parallel 20]",
		Short: "Log in with each stored secret and say which still work",
		Long: `verify logs in to the assets with each selected account's stored secret,
as a session would (pinned host key, connect timeout), and changes
nothing. One row per account: ok, auth-failed (the asset refused the
stored secret: it was changed behind the bastion's back), unreachable,
host-key-mismatch or failed: <why>. The exit status is non-zero when any
failed. 'jmsctl asset test' stays for one asset.`,
		Example: `  jmsctl account verify web1
  jmsctl account verify web1 deploy
  jmsctl account verify --node /prod --parallel 50
  jmsctl account verify --all -o json`,
		Args: cobra.MaximumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := selectionArgs(&sel, args); err != nil {
				return err
			}
			if parallel < 1 || parallel > 500 {
				return fmt.Errorf("--parallel %d: want 1-500", parallel)
			}
			ctx := a.actorContext(cmd.Context())
			s, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			progress, done := a.progress("verify")
			r, err := a.runner(s, parallel, progress)
			if err != nil {
				return err
			}
			rows, err := r.Verify(ctx, sel)
			done()
			if err != nil {
				return err
			}
			return a.renderResults(rows, "verify")
		},
	}
	cmd.Flags().StringVar(&sel.Node, "node", "", "every account of the assets under this node")
	cmd.Flags().BoolVar(&sel.All, "all", false, "every account of every asset")
	cmd.Flags().IntVar(&parallel, "parallel", 20, "assets worked on at once")
	return cmd
}
