package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/jms-bastion/jms/bastion"
	"github.com/jms-bastion/jms/config"
	"github.com/jms-bastion/jms/recorder"
	"github.com/jms-bastion/jms/store"
)

// instanceFile holds the random id of a data directory: the node that
// restarts from it under the same name is the same node.
const instanceFile = "node_id"

// clusterNode is this serve as a node of the cluster: registered, its
// previous run's sessions closed, beating until stop.
type clusterNode struct {
	node *bastion.Node
	stop context.CancelFunc
	done chan struct{}
}

// joinCluster registers srv as node name (refused while another data
// directory runs under it), closes the sessions this node's previous
// run left active, and starts its heartbeat. Call it holding the data
// directory's lock, before listening.
func joinCluster(ctx context.Context, cfg config.Config, st *store.Store, srv *bastion.Server, name string, logger *slog.Logger) (*clusterNode, error) {
	inst, err := instanceID(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	node, err := srv.JoinCluster(ctx, st, bastion.NodeConfig{Logger: logger, Registration: store.ServerRegistration{
		Name: name, Instance: inst, Address: nodeAddress(cfg.Listen), Version: version}})
	if err != nil {
		return nil, err
	}
	if err := closeInterrupted(ctx, st, name, cfg.DataDir, logger); err != nil {
		return nil, err
	}
	rctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	cn := &clusterNode{node: node, stop: stop, done: make(chan struct{})}
	go func() {
		defer close(cn.done)
		node.Run(rctx)
	}()
	return cn, nil
}

// drain marks the node draining (no new connections; its sessions run
// on) and says so at once with a heartbeat.
func (cn *clusterNode) drain(ctx context.Context) {
	cn.node.Drain()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	cn.node.Beat(ctx)
}

// leave stops the heartbeat and marks the node stopped.
func (cn *clusterNode) leave(logger *slog.Logger) {
	cn.stop()
	<-cn.done
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := cn.node.Stop(ctx); err != nil {
		logger.Error("leaving the cluster", "err", err)
	}
}

// instanceID reads the data directory's node id, made at first use.
func instanceID(dataDir string) (string, error) {
	path := filepath.Join(dataDir, instanceFile)
	b, err := os.ReadFile(path)
	if err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return strings.TrimSpace(string(b)), nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("node id: %w", err)
	}
	id := store.NewInstanceID()
	if err := os.WriteFile(path, []byte(id+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("node id: %w", err)
	}
	return id, nil
}

// nodeAddress is the listen address as other people read it: the host
// name in place of an empty or unspecified host.
func nodeAddress(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		if h, err := os.Hostname(); err == nil {
			host = h
		}
	}
	return net.JoinHostPort(host, port)
}

// closeInterrupted closes the sessions a previous run of this node left
// active, with the size and SHA-256 of the recordings they left. Only
// the holder of the data directory's lock calls it, once registered as
// node, before it listens: another node's sessions are never touched.
func closeInterrupted(ctx context.Context, st *store.Store, node, dataDir string, logger *slog.Logger) error {
	n, err := st.CloseInterruptedSessions(ctx, node, func(path string) (int64, string, error) {
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

// clusterHostKey returns the host key this node shows: the cluster's,
// sealed in the database. The first node to start stores its own there
// (so a single server keeps the key its clients trust); a node whose own
// key differs shows the cluster's and says so.
func clusterHostKey(ctx context.Context, cfg config.Config, st *store.Store, logger *slog.Logger) ([]byte, error) {
	own, err := os.ReadFile(cfg.HostKeyPath())
	if err != nil {
		return nil, fmt.Errorf("bastion host key: %w (run 'jmsctl init')", err)
	}
	if err := bastion.CheckHostKey(own); err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.HostKeyPath(), err)
	}
	signer, err := gossh.ParsePrivateKey(own)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.HostKeyPath(), err)
	}
	public := strings.TrimSpace(string(gossh.MarshalAuthorizedKey(signer.PublicKey())))
	key, isOwn, err := st.ClusterHostKey(ctx, store.Secret(own), public)
	if err != nil {
		return nil, err
	}
	if !isOwn {
		cs, err := gossh.ParsePrivateKey(key)
		if err != nil {
			return nil, fmt.Errorf("the cluster's host key: %w", err)
		}
		logger.Info("showing the cluster's host key from the database, not this data directory's",
			"cluster", gossh.FingerprintSHA256(cs.PublicKey()), "data_dir", gossh.FingerprintSHA256(signer.PublicKey()))
	}
	return key, nil
}
