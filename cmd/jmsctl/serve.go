package main

import (
	"fmt"
	"net"

	"github.com/spf13/cobra"

	"github.com/jms-bastion/jms/store"
)

func newServeCmd(a *app) *cobra.Command {
	var listen string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the bastion (an empty data directory is initialised first)",
		Long: `serve runs the jms SSH bastion. Settings come from jms.yaml in the data
directory, then JMS_* environment variables, then flags. An empty data
directory is initialised first, and the admin's password is printed once.`,
		Example: `  jmsctl serve
  jmsctl serve --listen 127.0.0.1:2222 --data-dir /var/lib/jms`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			cfg, err := a.config()
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("listen") {
				cfg.Listen = listen
			}
			if err := cfg.Validate(); err != nil {
				return err
			}
			if !isInitialised(cfg) {
				res, err := initDataDir(a.actorContext(ctx), cfg, a.getenv(store.KeySourceEnv), "admin", nil, cfg.PasswordMinLength)
				if err != nil {
					return err
				}
				printInit(a, cfg.DataDir, res)
			}
			if _, err := a.openStore(ctx); err != nil {
				return err
			}
			l, err := net.Listen("tcp", cfg.Listen)
			if err != nil {
				return fmt.Errorf("listen: %w", err)
			}
			fmt.Fprintf(a.stderr, "jms listening on %s (data in %s)\n", l.Addr(), cfg.DataDir)
			go func() { <-ctx.Done(); l.Close() }()
			for {
				c, err := l.Accept()
				if err != nil {
					return nil
				}
				c.Close()
			}
		},
	}
	cmd.Flags().StringVar(&listen, "listen", ":2222", "address to listen on (jms.yaml listen, env JMS_LISTEN)")
	return cmd
}
