package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/jms-bastion/jms/store"
)

func newSecretCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "secret",
		Short:   "The key that seals account secrets",
		Example: `  jmsctl secret rekey`,
	}
	cmd.AddCommand(newSecretRekeyCmd(a))
	return cmd
}

func newSecretRekeyCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "rekey",
		Short: "Re-seal every secret under a new key and replace secret.key",
		Long: `rekey makes a new key in secret.key.new (0600), re-seals every account
secret and MFA seed under it in one transaction, then renames it over
secret.key. If it is interrupted, nothing becomes unreadable: the next start
loads secret.key.new as well, and running rekey again finishes the job.
Stop 'jmsctl serve' first, or restart it afterwards, so that it loads the new
key. A key given in JMS_SECRET_KEY is not rotated here.`,
		Example: `  jmsctl secret rekey
  jmsctl --data-dir /var/lib/jms secret rekey`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := a.actorContext(cmd.Context())
			cfg, err := a.config()
			if err != nil {
				return err
			}
			if a.getenv(store.KeySourceEnv) != "" {
				return fmt.Errorf("the secret key comes from %s, not from a file in %s, so rekey cannot replace it: "+
					"write the current key to %s (mode 0600), unset %s, run 'jmsctl secret rekey', then use the new %s (or set %s to its content)",
					store.KeySourceEnv, cfg.DataDir, cfg.KeyPath(), store.KeySourceEnv, store.KeyFileName, store.KeySourceEnv)
			}
			s, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			res, err := s.RekeyDataDir(ctx, cfg.DataDir)
			if err != nil {
				return err
			}
			if res.Resumed {
				fmt.Fprintln(a.stdout, "Finished an interrupted rekey (secret.key.new was there)")
			}
			fmt.Fprintf(a.stdout, "Re-sealed %s under key %s (was %s); %s replaced\n",
				plural(res.Resealed, "secret"), res.NewKeyID, res.OldKeyID, cfg.KeyPath())
			fmt.Fprintln(a.stdout, "Restart a running 'jmsctl serve' so that it loads the new key")
			return nil
		},
	}
}
