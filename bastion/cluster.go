package bastion

// The cluster: this server as one node of several on one database. It
// registers under its node name, writes a heartbeat every
// HeartbeatInterval with its live sessions and state, and on the same
// tick marks gone every node whose heartbeat is GoneAfter old, closing
// that node's sessions as interrupted (store.ReapServers). A node never
// closes a live node's sessions: only a heartbeat older than GoneAfter
// lets another node touch them, and the node whose row was marked gone
// ends its own sessions as soon as it learns it (its heartbeat is
// refused), since their rows are closed.

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jms-bastion/jms/store"
)

// The heartbeat's timing: a node that died is marked gone, and its
// sessions closed as interrupted, between GoneAfter and
// GoneAfter+HeartbeatInterval after its last heartbeat.
const (
	HeartbeatInterval = 2 * time.Second
	GoneAfter         = 5 * HeartbeatInterval
)

// NodeStore is what a node needs of the store; *store.Store satisfies it.
type NodeStore interface {
	RegisterServer(ctx context.Context, reg store.ServerRegistration, goneAfter time.Duration) (string, error)
	ServerHeartbeat(ctx context.Context, name, run string, live int, state string) error
	ReapServers(ctx context.Context, now time.Time, goneAfter time.Duration) ([]store.ReapedServer, error)
	StopServer(ctx context.Context, name, run string) error
	DropStaleWatches(ctx context.Context, before time.Time) (int, error)
	ShareRefusals(ctx context.Context, node string, counts map[string]int, now time.Time, window time.Duration) (map[string]int, error)
}

// staleWatch is how long a watch of a session (watchstream.go) lives
// without its watcher reading it.
const staleWatch = 30 * time.Second

// NodeConfig is a node's identity and timing.
type NodeConfig struct {
	Registration store.ServerRegistration
	Interval     time.Duration    // HeartbeatInterval when zero
	GoneAfter    time.Duration    // GoneAfter when zero
	Now          func() time.Time // time.Now when nil
	Logger       *slog.Logger     // slog.Default() when nil
}

// Node is this server's place in the cluster.
type Node struct {
	cfg  NodeConfig
	st   NodeStore
	live func() int          // the live sessions now
	lost func(reason string) // ends every live session
	log  *slog.Logger

	mu       sync.Mutex
	run      string
	draining atomic.Bool
}

// JoinCluster registers s as a node and returns it; Run keeps it alive.
// Join before accepting connections; then close the sessions a previous
// run of this node left (they carry its name). From then on s shares its
// pre-auth refusal counts with the cluster (refusalshare.go).
func (s *Server) JoinCluster(ctx context.Context, st NodeStore, cfg NodeConfig) (*Node, error) {
	n := newNode(st, cfg, s.live.count, func(reason string) { s.live.endAll(endCause(reason)) })
	if err := n.register(ctx); err != nil {
		return nil, err
	}
	if s.cfg.ThrottleFailures > 0 {
		s.share.Store(newRefusalShare(s.shareRefusals(st, n.Name())))
	}
	return n, nil
}

func newNode(st NodeStore, cfg NodeConfig, live func() int, lost func(string)) *Node {
	cfg.Interval = cmp.Or(cfg.Interval, HeartbeatInterval)
	cfg.GoneAfter = cmp.Or(cfg.GoneAfter, GoneAfter)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cmp.Or(cfg.Logger, slog.Default()).With("node", cfg.Registration.Name)
	return &Node{cfg: cfg, st: st, live: live, lost: lost, log: log}
}

// Name returns the node's name.
func (n *Node) Name() string { return n.cfg.Registration.Name }

func (n *Node) register(ctx context.Context) error {
	run, err := n.st.RegisterServer(ctx, n.cfg.Registration, n.cfg.GoneAfter)
	if err != nil {
		return err
	}
	n.mu.Lock()
	n.run = run
	n.mu.Unlock()
	return nil
}

func (n *Node) runID() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.run
}

// Drain marks the node draining from its next heartbeat on.
func (n *Node) Drain() { n.draining.Store(true) }

func (n *Node) state() string {
	if n.draining.Load() {
		return store.ServerDraining
	}
	return store.ServerServing
}

// Run beats every interval until ctx is done.
func (n *Node) Run(ctx context.Context) {
	t := time.NewTicker(n.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		bctx, cancel := context.WithTimeout(ctx, n.cfg.Interval)
		n.Beat(bctx)
		cancel()
	}
}

// Beat is one tick: this node's heartbeat, then the reaping of the nodes
// whose heartbeats stopped. A heartbeat refused because this node was
// marked gone (the database did not hear from it for GoneAfter) ends its
// live sessions, whose rows were closed, and registers it anew.
func (n *Node) Beat(ctx context.Context) {
	err := n.st.ServerHeartbeat(ctx, n.Name(), n.runID(), n.live(), n.state())
	switch {
	case errors.Is(err, store.ErrServerLost):
		n.log.Error("this node was marked gone by the cluster: ending its sessions and registering again")
		n.lost("the bastion node " + n.Name() + " lost contact with the cluster's database")
		if err := n.register(ctx); err != nil {
			n.log.Error("registering the node again", "err", err)
			return
		}
	case err != nil:
		n.log.Error("heartbeat", "err", err)
		return // a node that cannot write cannot judge the others
	}
	reaped, err := n.st.ReapServers(ctx, n.cfg.Now(), n.cfg.GoneAfter)
	if err != nil {
		n.log.Error("looking for nodes whose heartbeat stopped", "err", err)
	}
	for _, r := range reaped {
		n.log.Warn("a node stopped sending heartbeats: marked gone, its sessions closed as interrupted",
			"gone", r.Name, "last_heartbeat", r.LastBeat, "sessions", r.Sessions)
	}
	if _, err := n.st.DropStaleWatches(ctx, n.cfg.Now().Add(-staleWatch)); err != nil {
		n.log.Error("dropping abandoned watches", "err", err)
	}
}

// Stop marks the node gone, stopped cleanly.
func (n *Node) Stop(ctx context.Context) error {
	if err := n.st.StopServer(ctx, n.Name(), n.runID()); err != nil {
		return fmt.Errorf("mark node %s stopped: %w", n.Name(), err)
	}
	return nil
}
