package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/jms-bastion/jms/automation"
)

func newAccountRotateCmd(a *app) *cobra.Command {
	var sel automation.Selection
	var template string
	var parallel int
	cmd := &cobra.Command{
		Use:   "rotate (ASSET [ACCOUNT] | --node PATH | --template NAME | --all) [--parallel 20]",
		Short: "Give accounts new secrets, set on the asset and proven before they are stored",
		Long: `rotate makes a new secret of the same kind for each account (24 random
characters, or a new ed25519 key), sets it on the asset through the
asset's privileged account (chpasswd on stdin; the new key added to
authorized_keys), logs in with it afresh, and only then stores it; a
rotated key's old public key is removed after that. When any step fails
the old secret stays valid on the asset and in the store, and the row
says which step failed (connect, set, verify, store). Scheduled rotation:
'jmsctl account template add … --rotate-every 30d' (run by serve; see
jmsctl job list).`,
		Example: `  jmsctl account rotate web1 deploy
  jmsctl account rotate --template deploy --parallel 50
  jmsctl account rotate --node /prod -o json`,
		Args: cobra.MaximumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if template != "" {
				if len(args) > 0 || sel.Node != "" || sel.All {
					return fmt.Errorf("--template names what to rotate: give no ASSET, --node or --all with it")
				}
			} else if err := selectionArgs(&sel, args); err != nil {
				return fmt.Errorf("name one of: ASSET [ACCOUNT], --node PATH, --template NAME or --all")
			}
			if parallel < 1 || parallel > 500 {
				return fmt.Errorf("--parallel %d: want 1-500", parallel)
			}
			ctx := a.actorContext(cmd.Context())
			s, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			progress, done := a.progress("rotate")
			r, err := a.runner(s, parallel, progress)
			if err != nil {
				return err
			}
			var rows []automation.Result
			if template != "" {
				rows, err = r.RotateTemplate(ctx, template)
			} else {
				rows, err = r.Rotate(ctx, sel)
			}
			done()
			if err != nil {
				return err
			}
			return a.renderResults(rows, "rotate")
		},
	}
	cmd.Flags().StringVar(&sel.Node, "node", "", "every account of the assets under this node")
	cmd.Flags().StringVar(&template, "template", "", "every account made from this template")
	cmd.Flags().BoolVar(&sel.All, "all", false, "every account of every asset")
	cmd.Flags().IntVar(&parallel, "parallel", 20, "assets worked on at once")
	return cmd
}
