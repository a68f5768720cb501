package main

import (
	"fmt"
	"path/filepath"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/jms-bastion/jms/store"
)

func newSecretCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "secret",
		Short: "The key that seals account secrets, MFA seeds and the cluster's host key",
		Example: `  jmsctl secret status
  jmsctl secret rekey`,
	}
	cmd.AddCommand(newSecretStatusCmd(a), newSecretRekeyCmd(a))
	return cmd
}

func newSecretRekeyCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "rekey",
		Short: "Re-seal every secret under a new key and replace secret.key",
		Long: `rekey makes a new key in secret.key.new (0600), re-seals every account
secret, MFA seed and the cluster's SSH host key under it and records it in
the database as the key to
seal with, in one transaction; then it keeps the old key in secret.key.old
and renames secret.key.new over secret.key. If it is interrupted, nothing
becomes unreadable: secret.key.new and secret.key.old are loaded as well,
and running rekey again finishes the job.

A running 'jmsctl serve' need not stop: its next seal sees the new key id in
the database and reloads the key files. secret.key.old stays, to open what a
process that missed the rekey may still have sealed with it; the next rekey
replaces it once no secret names it ('jmsctl secret status' shows). A key
given in JMS_SECRET_KEY is not rotated here.`,
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
			fmt.Fprintf(a.stdout, "The old key is kept in %s; a running 'jmsctl serve' picks up the new key at its next seal\n",
				filepath.Join(cfg.DataDir, "secret.key.old"))
			return nil
		},
	}
}

func newSecretStatusCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show which keys seal the secrets, and how many secrets each",
		Long: `status lists the keys in play: the one the database says new secrets are
sealed with (current), every key a sealed secret names, and every key this
jmsctl loaded (secret.key, secret.key.new, secret.key.old or
JMS_SECRET_KEY), with how many sealed secrets (account secrets and MFA
seeds) name each. A key that secrets name but that is not loaded cannot open
them: find it, or they are lost. A loaded key that no secret names and that
is not current is no longer needed. "v1" counts secrets sealed before jms
bound them to more than their row id: 'jmsctl secret rekey' re-seals them.`,
		Example: `  jmsctl secret status
  jmsctl secret status -o json
  jmsctl --data-dir /var/lib/jms secret status -o csv`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.openStore(cmd.Context())
			if err != nil {
				return err
			}
			uses, err := s.KeyUsage(cmd.Context())
			if err != nil {
				return err
			}
			return render(a.listing(), uses, []column[store.KeyUse]{
				{"key_id", func(u store.KeyUse) string { return u.KeyID }},
				{"current", func(u store.KeyUse) string { return yesNo(u.Current) }},
				{"source", func(u store.KeyUse) string { return keySourceLabel(u.Source) }},
				{"secrets", func(u store.KeyUse) string { return strconv.Itoa(u.Envelopes) }},
				{"v1", func(u store.KeyUse) string { return strconv.Itoa(u.V1) }},
			})
		},
	}
}

// keySourceLabel names where a key was loaded from: the key file's name
// (they all live in the data directory), or the environment variable.
func keySourceLabel(source string) string {
	switch source {
	case "":
		return "not loaded"
	case store.KeySourceEnv:
		return source
	}
	return filepath.Base(source)
}
