package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/jms-bastion/jms/bastion"
	"github.com/jms-bastion/jms/bastion/proxy"
	"github.com/jms-bastion/jms/bastion/transfer"
	"github.com/jms-bastion/jms/config"
	"github.com/jms-bastion/jms/metrics"
	"github.com/jms-bastion/jms/recorder/storage"
	"github.com/jms-bastion/jms/store"
)

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
size and SHA-256 of the recording each left.

SIGTERM (or SIGINT) drains the server: it accepts no new connection,
/readyz answers 503, every session is warned at its terminal and runs
until it ends or drain_timeout (default 1h) is over; then the sessions
left are ended, their recordings and rows closed. A second SIGTERM or
SIGINT ends them at once. metrics_listen serves Prometheus metrics,
/healthz and /readyz (see docs/operations.md).

serve registers each ended session's recording files with their size and
SHA-256; with recording_storage: s3://bucket/prefix it uploads them in the
background (the spool left by a previous run first), and with
recording_retention it deletes expired recordings every hour (see
docs/recordings.md).`,
		Example: `  jmsctl serve
  jmsctl serve --listen 127.0.0.1:2222 --data-dir /var/lib/jms
  JMS_METRICS_LISTEN=127.0.0.1:9100 jmsctl serve   # Prometheus metrics, /healthz, /readyz
  systemctl stop jms   # SIGTERM: drains, sessions run up to drain_timeout`,
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
			if err := st.WarmPool(ctx); err != nil {
				return err
			}
			logger := a.logger(cfg.LogLevel)
			logger.Info("store opened", "engine", st.Engine(), "database", st.Location().String())
			nodeName, err := cfg.Node()
			if err != nil {
				return err
			}
			var srv *bastion.Server
			mx := newMetrics(cfg, st, func() *bastion.Server { return srv })
			// The recordings of every organization's sessions.
			recs, err := newRecordings(cfg, st.AllOrgs(), logger.With("component", "recordings"), uploadObserver(mx))
			if err != nil {
				return err
			}
			rctx, stopRecs := context.WithCancel(ctx)
			recsDone := make(chan struct{})
			go func() { defer close(recsDone); recs.Run(rctx) }()
			defer func() { stopRecs(); <-recsDone }()
			resetter, stopNotify := startNotify(ctx, cfg, st, logger.With("component", "notify"))
			defer stopNotify()
			hostKey, err := clusterHostKey(ctx, cfg, st, logger)
			if err != nil {
				return err
			}
			srv, err = buildServer(cfg, st, logger, serverParts{node: nodeName, hostKey: hostKey, reset: resetter, recs: recs, mx: mx,
				admin: remoteAdmin(cfg, st)})
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
			if cfg.MetricsListen != "" {
				ms, err := serveMetrics(mx, cfg.MetricsListen, st, srv, logger)
				if err != nil {
					l.Close()
					return err
				}
				defer ms.Close()
				fmt.Fprintf(a.stderr, "jms metrics on http://%s/metrics\n", ms.Addr())
			}
			fmt.Fprintf(a.stderr, "jms listening on %s\n", l.Addr())
			stopJobs := startAutomationJobs(ctx, cfg, st, logger)
			defer stopJobs()
			return serveUntilSignalled(ctx, srv, l, cfg.DrainTimeout, func() { node.drain(ctx) }, logger)
		},
	}
	cmd.Flags().StringVar(&listen, "listen", ":2222", "address to listen on (jms.yaml listen, env JMS_LISTEN)")
	return cmd
}

// serverParts are what the cluster, the notifications, the recording
// storage and the metrics give the server: the node name its session rows
// carry, the cluster's host key, the password resets, where recordings
// are, and what counts (nil: nothing).
type serverParts struct {
	node    string
	hostKey []byte
	reset   bastion.PasswordReset
	recs    *storage.Storage
	mx      *metrics.Metrics
	admin   bastion.AdminRunner // jmsctl over SSH (remote.go)
}

// buildServer assembles the bastion: the proxy, the transfers and the
// server, counting in the metrics when metrics_listen is set.
func buildServer(cfg config.Config, st *store.Store, logger *slog.Logger, parts serverParts) (*bastion.Server, error) {
	mx := parts.mx
	// The bastion sees every organization: a person's logins, grants and
	// sessions span all the orgs she is a member of.
	ast := instrument(st.AllOrgs(), mx)
	px := proxy.New(proxy.Config{
		Node:                parts.node,
		RecordingsDir:       cfg.RecordingsDir(),
		DataDir:             cfg.DataDir,
		HostKeyPolicy:       cfg.HostKeyPolicy,
		ConnectTimeout:      cfg.ConnectTimeout,
		Keepalive:           cfg.Keepalive,
		RecordInput:         cfg.RecordInput,
		SeparateConnections: !cfg.ReuseConnections,
		RecordingFailure:    cfg.RecordingFailure,
		ReviewTimeout:       cfg.ReviewTimeout,
		SpoolFull:           parts.recs.SpoolFull,
		Metrics:             mx,
	}, ast, logger.With("component", "proxy"))
	xfer := transfer.New(ast, px, logger.With("component", "transfer"), nil)
	xfer.SetMetrics(mx)
	xfer.SetNode(parts.node)
	return bastion.New(cfg, bastion.Deps{Store: ast, Proxy: px, Transfer: xfer, Logger: logger, Metrics: mx,
		HostKey: parts.hostKey, Reset: parts.reset, Recordings: parts.recs, Admin: parts.admin})
}

// serveUntilSignalled serves l until SIGTERM or SIGINT, then drains the
// server (drain_timeout, or until a second signal).
func serveUntilSignalled(ctx context.Context, srv *bastion.Server, l net.Listener, drainTimeout time.Duration, onDrain func(), logger *slog.Logger) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	// Signals are counted here: the first drains, the second ends the
	// sessions at once.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	select {
	case err := <-errc:
		return err
	case <-sigs:
	case <-ctx.Done():
		// main's signal context saw the first signal before sigs did:
		// take it off sigs, so that it is not taken for the second.
		select {
		case <-sigs:
		case <-time.After(time.Second):
		}
	}
	onDrain()
	drain(srv, drainTimeout, sigs, logger)
	return <-errc
}

// drain drains srv: it accepts no connection and is not ready any more,
// its sessions are warned and run until they end or timeout is over,
// or until a second signal on sigs; then those left are ended, their
// rows and recordings closed.
func drain(srv *bastion.Server, timeout time.Duration, sigs <-chan os.Signal, logger *slog.Logger) {
	logger.Info("draining: no new connections; sessions run until they end or the drain is over (signal again to end them now)",
		"drain_timeout", timeout)
	now, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-sigs:
			logger.Warn("second signal: ending the sessions now")
			cancel()
		case <-now.Done():
		}
	}()
	n := srv.Drain(now, timeout)
	logger.Info("drained", "sessions_ended", n)
}
