package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/jms-bastion/jms/bastion"
	"github.com/jms-bastion/jms/bastion/proxy"
	"github.com/jms-bastion/jms/bastion/transfer"
	"github.com/jms-bastion/jms/store"
)

// shutdownGrace is how long serve waits for open sessions after SIGINT
// or SIGTERM before it closes them.
const shutdownGrace = 5 * time.Second

func newServeCmd(a *app) *cobra.Command {
	var listen string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the bastion (an empty data directory is initialised first)",
		Long: `serve runs the jms SSH bastion until SIGINT or SIGTERM. Settings come
from the defaults, then jms.yaml in the data directory, then JMS_*
environment variables, then flags. An empty data directory is initialised
first, and the admin's password is printed once. serve locks the data
directory (serve.lock): a second serve on the same directory exits with an
error and changes nothing. serve registers as a node of the cluster under
node_name (the host name by default; see jmsctl server list). On start,
sessions this node left active in a crash are closed as interrupted, with the
size and SHA-256 of the recording each left.`,
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
			// One server per data directory, locked before anything is
			// initialised, opened or closed.
			if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
				return fmt.Errorf("make data dir: %w", err)
			}
			lock, err := lockDataDir(cfg.DataDir)
			if err != nil {
				return err
			}
			defer lock.release()
			if !isInitialised(cfg) {
				res, err := initDataDir(a.actorContext(ctx), cfg, a.getenv(store.KeySourceEnv), "admin", nil, cfg.PasswordMinLength)
				if err != nil {
					return err
				}
				printInit(a, cfg.DataDir, res)
			}
			st, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			logger := a.logger(cfg.LogLevel)
			logger.Info("store opened", "engine", st.Engine(), "database", st.Location().String())
			nodeName, err := cfg.Node()
			if err != nil {
				return err
			}
			resetter, stopNotify := startNotify(ctx, cfg, st, logger.With("component", "notify"))
			defer stopNotify()
			px := proxy.New(proxy.Config{
				Node:             nodeName,
				RecordingsDir:    cfg.RecordingsDir(),
				DataDir:          cfg.DataDir,
				HostKeyPolicy:    cfg.HostKeyPolicy,
				ConnectTimeout:   cfg.ConnectTimeout,
				Keepalive:        cfg.Keepalive,
				RecordInput:      cfg.RecordInput,
				RecordingFailure: cfg.RecordingFailure,
				ReviewTimeout:    cfg.ReviewTimeout,
			}, st, logger.With("component", "proxy"))
			xfer := transfer.New(st, px, logger.With("component", "transfer"), nil)
			xfer.SetNode(nodeName)
			hostKey, err := clusterHostKey(ctx, cfg, st, logger)
			if err != nil {
				return err
			}
			srv, err := bastion.New(cfg, bastion.Deps{Store: st, Proxy: px, Transfer: xfer, Logger: logger, HostKey: hostKey, Reset: resetter})
			if err != nil {
				return err
			}
			node, err := joinCluster(ctx, cfg, st, srv, nodeName, logger)
			if err != nil {
				return err
			}
			defer node.leave(logger)
			l, err := net.Listen("tcp", cfg.Listen)
			if err != nil {
				return fmt.Errorf("listen: %w", err)
			}
			fmt.Fprintf(a.stderr, "jms listening on %s\n", l.Addr())
			errc := make(chan error, 1)
			go func() { errc <- srv.Serve(l) }()
			select {
			case err := <-errc:
				return err
			case <-ctx.Done():
			}
			logger.Info("shutting down", "grace", shutdownGrace)
			node.drain(ctx)
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
			defer cancel()
			if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
				return err
			}
			return <-errc
		},
	}
	cmd.Flags().StringVar(&listen, "listen", ":2222", "address to listen on (jms.yaml listen, env JMS_LISTEN)")
	return cmd
}
