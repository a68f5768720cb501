package bastion

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jms-bastion/jms/config"
	"github.com/jms-bastion/jms/store"
)

// manualClock is a clock the test moves.
type manualClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *manualClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *manualClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// testNode is a node with its lost sessions counted, on a store shared
// with the other nodes of the test.
type testNode struct {
	*Node
	mu   sync.Mutex
	lost []string
}

func (tn *testNode) lostReasons() []string {
	tn.mu.Lock()
	defer tn.mu.Unlock()
	return append([]string(nil), tn.lost...)
}

func newClusterStore(t *testing.T) (*store.Store, *manualClock) {
	t.Helper()
	clk := &manualClock{t: time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)}
	raw, _ := store.GenerateKeyBytes()
	key, _ := store.NewKey(raw, "test")
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "jms.db"),
		store.Options{Sealer: store.NewSealer(key), Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, clk
}

func joinTestNode(t *testing.T, st *store.Store, clk *manualClock, name string) *testNode {
	t.Helper()
	tn := &testNode{}
	tn.Node = newNode(st, NodeConfig{Registration: store.ServerRegistration{Name: name, Instance: "inst-" + name},
		Now: clk.now, Logger: slog.New(slog.DiscardHandler)}, func() int { return 1 }, func(reason string) {
		tn.mu.Lock()
		tn.lost = append(tn.lost, reason)
		tn.mu.Unlock()
	})
	if err := tn.register(context.Background()); err != nil {
		t.Fatal(err)
	}
	return tn
}

func sessionOn(t *testing.T, st *store.Store, node string) string {
	t.Helper()
	ss, err := st.StartSession(context.Background(), store.NewSession{User: "alice", Asset: "web1", Node: node})
	if err != nil {
		t.Fatal(err)
	}
	return ss.ID
}

func statusOf(t *testing.T, st *store.Store, id string) string {
	t.Helper()
	ss, err := st.GetSession(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return ss.Status
}

// Two nodes on one store: a node that stops beating is marked gone by
// the other, and its sessions closed, only once GoneAfter has passed; a
// live node's sessions are never touched; the node marked gone learns it
// at its next heartbeat, ends its sessions and registers again.
func TestNodeHeartbeatGoneAndInterrupted(t *testing.T) {
	ctx := context.Background()
	st, clk := newClusterStore(t)
	a, b := joinTestNode(t, st, clk, "a"), joinTestNode(t, st, clk, "b")
	onA, onB := sessionOn(t, st, "a"), sessionOn(t, st, "b")

	// Both beat for a while: nothing happens to anyone.
	for range 10 {
		clk.add(HeartbeatInterval)
		a.Beat(ctx)
		b.Beat(ctx)
	}
	if statusOf(t, st, onA) != store.StatusActive || statusOf(t, st, onB) != store.StatusActive {
		t.Fatal("a live node's session was closed")
	}

	// a stops (a kill -9): b beats on. Up to just before GoneAfter, a's
	// session stays active.
	var waited time.Duration
	for waited+HeartbeatInterval < GoneAfter {
		clk.add(HeartbeatInterval)
		waited += HeartbeatInterval
		b.Beat(ctx)
	}
	clk.add(GoneAfter - waited - time.Millisecond)
	b.Beat(ctx)
	if got := statusOf(t, st, onA); got != store.StatusActive {
		t.Fatalf("a's session %s before GoneAfter", got)
	}
	// At GoneAfter b's next beat closes it, and leaves its own alone.
	clk.add(time.Millisecond)
	b.Beat(ctx)
	if got := statusOf(t, st, onA); got != store.StatusInterrupted {
		t.Fatalf("a's session %s after GoneAfter, want interrupted", got)
	}
	if got := statusOf(t, st, onB); got != store.StatusActive {
		t.Fatalf("b's session %s, want active", got)
	}
	ss, _ := st.GetSession(ctx, onA)
	if !strings.Contains(ss.EndReason, "bastion node a missed its heartbeats") {
		t.Fatalf("end reason %q", ss.EndReason)
	}
	list, _ := st.ListServers(ctx, clk.now(), GoneAfter)
	if list[0].Name != "a" || list[0].State != store.ServerGone {
		t.Fatalf("servers = %+v", list)
	}
	if len(a.lostReasons()) != 0 || len(b.lostReasons()) != 0 {
		t.Fatal("a node ended its sessions before it beat")
	}

	// a was only stalled: its next heartbeat is refused, it ends its
	// sessions (their rows are closed) and serves again.
	clk.add(time.Second)
	a.Beat(ctx)
	if r := a.lostReasons(); len(r) != 1 || !strings.Contains(r[0], "lost contact") {
		t.Fatalf("a's lost = %q", r)
	}
	list, _ = st.ListServers(ctx, clk.now(), GoneAfter)
	if list[0].State != store.ServerServing {
		t.Fatalf("a after registering again = %+v", list[0])
	}
	clk.add(HeartbeatInterval)
	a.Beat(ctx)
	if r := a.lostReasons(); len(r) != 1 {
		t.Fatalf("a lost its sessions again: %q", r)
	}
}

func TestNodeDrainAndStop(t *testing.T) {
	ctx := context.Background()
	st, clk := newClusterStore(t)
	a := joinTestNode(t, st, clk, "a")
	a.Drain()
	clk.add(HeartbeatInterval)
	a.Beat(ctx)
	list, _ := st.ListServers(ctx, clk.now(), GoneAfter)
	if list[0].State != store.ServerDraining || list[0].LiveSessions != 1 {
		t.Fatalf("draining node = %+v", list[0])
	}
	if err := a.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	list, _ = st.ListServers(ctx, clk.now(), GoneAfter)
	if list[0].State != store.ServerGone || list[0].GoneReason != "stopped" {
		t.Fatalf("stopped node = %+v", list[0])
	}
}

// A second data directory cannot run under a live node's name.
func TestNodeNameInUse(t *testing.T) {
	st, clk := newClusterStore(t)
	joinTestNode(t, st, clk, "a")
	n := newNode(st, NodeConfig{Registration: store.ServerRegistration{Name: "a", Instance: "other"}, Now: clk.now},
		func() int { return 0 }, func(string) {})
	err := n.register(context.Background())
	if err == nil || !strings.Contains(err.Error(), "in use by a running node") {
		t.Fatalf("err = %v", err)
	}
}

// Refusals from one source spread over two nodes throttle it once their
// sum reaches throttle_failures, though neither node saw that many: the
// nodes share their counts, batched (one write per source and second).
func TestThrottleAcrossNodes(t *testing.T) {
	ctx := context.Background()
	st, _ := newClusterStore(t)
	cfg := config.Default(t.TempDir())
	cfg.ThrottleFailures = 10
	var nodes []*Server
	for _, name := range []string{"a", "b"} {
		s, err := newServer(cfg, Deps{Store: st, Proxy: &fakeProxy{}, Argon2: cheapArgon2, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.JoinCluster(ctx, st, NodeConfig{Registration: store.ServerRegistration{Name: name, Instance: name},
			Logger: slog.New(slog.DiscardHandler)}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.stopShare)
		nodes = append(nodes, s)
	}
	const source = "198.51.100.7"
	cs := &connState{source: source, key: store.SourceKey(source)}
	for range 5 {
		nodes[0].countRefusal(cs)
		nodes[1].countRefusal(cs)
	}
	if _, locked, _ := st.LoginLockedUntil(ctx, "", source, time.Now()); locked {
		t.Fatal("throttled before the nodes shared their counts")
	}
	nodes[0].share.Load().flush()
	nodes[1].share.Load().flush()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, locked, _ := st.LoginLockedUntil(ctx, "", source, time.Now()); locked {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("5 + 5 refusals over two nodes did not throttle the source")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Both nodes now refuse it from memory.
	for i, s := range nodes {
		if !s.throttled(ctx, cs.key) {
			t.Errorf("node %d does not refuse the throttled source", i)
		}
	}
}
