package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/jms-bastion/jms/bastion"
	"github.com/jms-bastion/jms/bastion/proxy"
	"github.com/jms-bastion/jms/bastion/transfer"
	"github.com/jms-bastion/jms/recorder"
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
error and changes nothing. On start, sessions a crash left active are closed
as interrupted, with the size and SHA-256 of the recording each left.`,
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
			if err := closeInterrupted(ctx, st, cfg.DataDir, logger); err != nil {
				return err
			}
			px := proxy.New(proxy.Config{
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
			srv, err := bastion.New(cfg, bastion.Deps{Store: st, Proxy: px, Transfer: xfer, Logger: logger})
			if err != nil {
				return err
			}
			l, err := net.Listen("tcp", cfg.Listen)
			if err != nil {
				return fmt.Errorf("listen: %w", err)
			}
			fmt.Fprintf(a.stderr, "jms listening on %s\n", l.Addr())
			errc := make(chan error, 1)
			go func() { errc <- srv.Serve(l) }()
			stopJobs := startAutomationJobs(ctx, cfg, st, logger)
			defer stopJobs()
			select {
			case err := <-errc:
				return err
			case <-ctx.Done():
			}
			logger.Info("shutting down", "grace", shutdownGrace)
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

// closeInterrupted closes the sessions a previous run of this server left
// active, with the size and SHA-256 of the recordings they left. Only the
// holder of the data directory's lock calls it, before it listens.
func closeInterrupted(ctx context.Context, st *store.Store, dataDir string, logger *slog.Logger) error {
	n, err := st.CloseInterruptedSessions(ctx, func(path string) (int64, string, error) {
		if !filepath.IsAbs(path) {
			path = filepath.Join(dataDir, path)
		}
		return recorder.Digest(path)
	})
	if err != nil {
		return fmt.Errorf("close the sessions a previous run left active: %w", err)
	}
	if n > 0 {
		logger.Warn("closed sessions left active by a previous run", "sessions", n)
	}
	return nil
}
