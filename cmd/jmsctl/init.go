package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/jms-bastion/jms/store"
)

func newInitCmd(a *app) *cobra.Command {
	var admin string
	var passwordStdin bool
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Make the data directory, its keys and the first admin",
		Long: `init makes the data directory: jms.db, secret.key (0600; JMS_SECRET_KEY
overrides it), the bastion's ed25519 host key, recordings/ and the first admin.
Without --admin-password-stdin a random password is printed once. init refuses
a directory that is already initialised and then changes nothing.`,
		Example: `  jmsctl init
  jmsctl init --data-dir /var/lib/jms --admin root
  printf '%s\n' "$ADMIN_PASSWORD" | jmsctl init --admin-password-stdin`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := a.config()
			if err != nil {
				return err
			}
			if err := cfg.Validate(); err != nil {
				return err
			}
			var password store.Secret
			if passwordStdin {
				if password, err = readSecret(a.stdin, "admin password"); err != nil {
					return err
				}
			}
			res, err := initDataDir(a.actorContext(cmd.Context()), cfg, a.getenv(store.KeySourceEnv), admin, password, cfg.PasswordMinLength)
			if err != nil {
				return err
			}
			printInit(a, cfg.DataDir, res)
			return nil
		},
	}
	cmd.Flags().StringVar(&admin, "admin", "admin", "name of the first admin")
	cmd.Flags().BoolVar(&passwordStdin, "admin-password-stdin", false, "read the admin's password from stdin")
	return cmd
}

func printInit(a *app, dir string, res initResult) {
	fmt.Fprintf(a.stdout, "Initialised %s\n", dir)
	fmt.Fprintf(a.stdout, "  host key: %s\n", res.HostKey)
	switch {
	case res.Joined != "":
		fmt.Fprintf(a.stdout, "  joined the database %s, which already holds jms data (no admin made)\n", res.Joined)
	case res.GeneratedSecret != nil:
		fmt.Fprintf(a.stdout, "  admin %q, password (shown once): %s\n", res.Admin, string(res.GeneratedSecret))
		fmt.Fprintf(a.stdout, "  change it with: jmsctl user passwd %s --password-stdin\n", res.Admin)
	default:
		fmt.Fprintf(a.stdout, "  admin %q with the password from stdin\n", res.Admin)
	}
}
