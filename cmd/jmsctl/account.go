package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/jms-bastion/jms/store"
)

func accountColumns() []column[store.Account] {
	return []column[store.Account]{
		{"asset", func(c store.Account) string { return c.Asset }},
		{"username", func(c store.Account) string { return c.Username }},
		{"secret", func(c store.Account) string { return c.SecretKind }},
		{"privileged", func(c store.Account) string { return yesNo(c.Privileged) }},
		{"comment", func(c store.Account) string { return c.Comment }},
	}
}

func newAccountCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "account",
		Short: "Manage the accounts on assets that the bastion logs in with",
		Long: `An account is a login on an asset (root@web1) whose secret, a password or a
private key, the bastion keeps sealed with AES-256-GCM under the data
directory's key and uses on people's behalf. Secrets come from stdin or a
file, never from the command line, and no command prints them.`,
		Example: `  printf '%s\n' "$PW" | jmsctl account add web1 root --password-stdin --privileged
  jmsctl account add web1 deploy --key deploy_ed25519
  jmsctl account set web1 deploy --privileged=false
  jmsctl account list web1`,
	}
	cmd.AddCommand(newAccountAddCmd(a), newAccountListCmd(a), newAccountShowCmd(a), newAccountRmCmd(a), newAccountPasswdCmd(a), newAccountSetCmd(a),
		newAccountTemplateCmd(a), newAccountPushCmd(a), newAccountVerifyCmd(a), newAccountRotateCmd(a),
		newAccountDiscoverCmd(a))
	return cmd
}

// readAccountSecret reads the secret of --password-stdin or --key FILE
// ("-" reads the key from stdin).
func (a *app) readAccountSecret(passwordStdin bool, keyFile string) (string, store.Secret, error) {
	switch {
	case passwordStdin && keyFile != "":
		return "", nil, errors.New("give either --password-stdin or --key FILE, not both")
	case passwordStdin:
		pw, err := readSecret(a.stdin, "password")
		return store.SecretPassword, pw, err
	case keyFile == "-":
		k, err := readSecretAll(a.stdin, "private key")
		return store.SecretKey, k, err
	case keyFile != "":
		if err := a.localFile("--key", keyFile); err != nil {
			return "", nil, err
		}
		if fi, err := os.Stat(keyFile); err == nil && fi.Mode().Perm()&0o077 != 0 {
			fmt.Fprintf(a.stderr, "warning: %s is readable by others (mode %04o); consider chmod 600 or removing it once stored\n", keyFile, fi.Mode().Perm())
		}
		b, err := os.ReadFile(keyFile)
		if err != nil {
			return "", nil, fmt.Errorf("private key: %w", err)
		}
		return store.SecretKey, store.Secret(b), nil
	}
	return "", nil, errors.New("give the account's secret with --password-stdin or --key FILE (never on the command line)")
}

func newAccountAddCmd(a *app) *cobra.Command {
	var na store.NewAccount
	var passwordStdin bool
	var keyFile string
	cmd := &cobra.Command{
		Use:   "add ASSET USERNAME (--password-stdin | --key FILE) [--privileged] [--comment C]",
		Short: "Add an account on an asset, with its password or private key",
		Long: `add stores an account on an asset. The password is read from stdin
(--password-stdin, one line); a private key from a file (--key FILE, or
--key - for stdin), in OpenSSH or PEM format and without a passphrase.
--privileged marks an administrative account such as root.`,
		Example: `  printf '%s\n' "$PW" | jmsctl account add web1 root --password-stdin --privileged
  jmsctl account add web1 deploy --key ./deploy_ed25519 --comment "CI deploys"
  vault read -field=key secret/web1 | jmsctl account add web1 app --key -`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := a.actorContext(cmd.Context())
			na.Asset, na.Username = args[0], args[1]
			if err := store.ValidAccountName(na.Username); err != nil {
				return err
			}
			s, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			if _, err := s.GetAsset(ctx, na.Asset); err != nil {
				return err
			}
			if na.SecretKind, na.Secret, err = a.readAccountSecret(passwordStdin, keyFile); err != nil {
				return err
			}
			defer clear(na.Secret)
			c, err := s.AddAccount(ctx, na)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Added account %s@%s (%s)\n", c.Username, c.Asset, c.SecretKind)
			return nil
		},
	}
	cmd.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read the password from stdin")
	cmd.Flags().StringVar(&keyFile, "key", "", "private key file (- for stdin)")
	cmd.Flags().BoolVar(&na.Privileged, "privileged", false, "an administrative account (root, Administrator)")
	cmd.Flags().StringVar(&na.Comment, "comment", "", "free text")
	return cmd
}

func newAccountListCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "list [ASSET]",
		Aliases: []string{"ls"},
		Short:   "List accounts (the kind of secret, never the secret)",
		Example: `  jmsctl account list
  jmsctl account list web1 -o json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.openStore(cmd.Context())
			if err != nil {
				return err
			}
			asset := ""
			if len(args) == 1 {
				asset = args[0]
			}
			accs, err := inOrgs(cmd.Context(), a, s, func(v *store.Store) ([]store.Account, error) { return v.ListAccounts(cmd.Context(), asset) })
			if err != nil {
				return err
			}
			return renderInOrgs(a.listing(), accs, accountColumns())
		},
	}
}

func newAccountShowCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "show ASSET USERNAME",
		Short:   "Show an account: what kind of secret it has, never the secret",
		Example: `  jmsctl account show web1 root`,
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.openStore(cmd.Context())
			if err != nil {
				return err
			}
			c, err := s.GetAccount(cmd.Context(), args[0], args[1])
			if err != nil {
				return err
			}
			fields := append(accountColumns(),
				column[store.Account]{"created_at", func(c store.Account) string { return fmtTime(c.CreatedAt) }},
				column[store.Account]{"updated_at", func(c store.Account) string { return fmtTime(c.UpdatedAt) }})
			return renderOne(a.listing(), c, fields)
		},
	}
}

func newAccountRmCmd(a *app) *cobra.Command {
	var revoke string
	cmd := &cobra.Command{
		Use:     "rm ASSET USERNAME [--remove-from-asset lock|delete]",
		Aliases: []string{"remove"},
		Short:   "Remove an account and its secret",
		Long: `rm removes the account and its secret from jms. With --remove-from-asset
the user is first revoked on the asset through its privileged account:
lock (usermod -L -e 1: no password or key login) or delete (userdel -r),
and its jms sudoers drop-in removed; when that fails the account is kept.`,
		Example: `  jmsctl account rm web1 deploy
  jmsctl account rm web1 deploy --remove-from-asset lock
  jmsctl account rm web1 olduser --remove-from-asset delete`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := a.actorContext(cmd.Context())
			s, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			if _, err := s.GetAccount(ctx, args[0], args[1]); err != nil {
				return err
			}
			if revoke != "" {
				r, err := a.runner(s, 1, nil)
				if err != nil {
					return err
				}
				if err := r.RemoveFromAsset(ctx, args[0], args[1], revoke); err != nil {
					return err
				}
			}
			if err := s.RemoveAccount(ctx, args[0], args[1]); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Removed account %s@%s\n", args[1], args[0])
			return nil
		},
	}
	cmd.Flags().StringVar(&revoke, "remove-from-asset", "", "lock or delete the user on the asset first")
	return cmd
}

func newAccountPasswdCmd(a *app) *cobra.Command {
	var passwordStdin bool
	var keyFile string
	cmd := &cobra.Command{
		Use:   "passwd ASSET USERNAME (--password-stdin | --key FILE)",
		Short: "Replace an account's secret (a password or a private key)",
		Example: `  printf '%s\n' "$NEW_PW" | jmsctl account passwd web1 root --password-stdin
  jmsctl account passwd web1 deploy --key ./deploy_ed25519.new`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := a.actorContext(cmd.Context())
			s, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			if _, err := s.GetAccount(ctx, args[0], args[1]); err != nil {
				return err
			}
			kind, secret, err := a.readAccountSecret(passwordStdin, keyFile)
			if err != nil {
				return err
			}
			defer clear(secret)
			if err := s.SetAccountSecret(ctx, args[0], args[1], kind, secret); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Replaced the secret of %s@%s (%s)\n", args[1], args[0], kind)
			return nil
		},
	}
	cmd.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read the password from stdin")
	cmd.Flags().StringVar(&keyFile, "key", "", "private key file (- for stdin)")
	return cmd
}

func newAccountSetCmd(a *app) *cobra.Command {
	var privileged bool
	var comment, rotateEvery string
	cmd := &cobra.Command{
		Use:   "set ASSET USERNAME [--privileged=true|false] [--comment C] [--rotate-every 30d]",
		Short: "Mark an account privileged or not, or change its comment",
		Long: `set changes an account's privileged mark and its comment. Its secret
changes with 'jmsctl account passwd' only, which reads it from stdin.`,
		Example: `  jmsctl account set web1 root --privileged
  jmsctl account set web1 deploy --privileged=false --comment "CI deploys"
  jmsctl account set web1 app --rotate-every 30d`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := a.actorContext(cmd.Context())
			flags := []string{"privileged", "comment", "rotate-every"}
			if len(changedFlags(cmd, flags...)) == 0 {
				return nothingToChange(flags...)
			}
			var au store.AccountUpdate
			if cmd.Flags().Changed("privileged") {
				au.Privileged = &privileged
			}
			if cmd.Flags().Changed("comment") {
				au.Comment = &comment
			}
			every, err := parseEvery(rotateEvery)
			if err != nil {
				return err
			}
			s, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("rotate-every") {
				if err := s.SetAccountRotation(ctx, args[0], args[1], every); err != nil {
					return err
				}
				if len(changedFlags(cmd, "privileged", "comment")) == 0 {
					fmt.Fprintf(a.stdout, "Rotation of %s@%s: %s\n", args[1], args[0], orNone(fmtEvery(every)))
					return nil
				}
			}
			c, err := s.UpdateAccount(ctx, args[0], args[1], au)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Updated account %s@%s (privileged: %s)\n", c.Username, c.Asset, yesNo(c.Privileged))
			return nil
		},
	}
	cmd.Flags().BoolVar(&privileged, "privileged", false, "true marks an administrative account such as root; false unmarks it")
	cmd.Flags().StringVar(&comment, "comment", "", "free text")
	cmd.Flags().StringVar(&rotateEvery, "rotate-every", "", "rotate the secret on this period (30d, 12h; 0 stops), a job run by serve")
	return cmd
}
