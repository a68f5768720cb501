package store

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// testClock is a clock tests move by hand.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// newClockedStore is newTestStore with a clock the test moves.
func newClockedStore(t *testing.T) (*Store, *testClock) {
	t.Helper()
	clk := &testClock{t: time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)}
	raw, err := GenerateKeyBytes()
	if err != nil {
		t.Fatal(err)
	}
	k, err := NewKey(raw, "test")
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(context.Background(), testDatabase(t, t.TempDir()), Options{Sealer: NewSealer(k), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, clk
}

const testGoneAfter = 10 * time.Second

func register(t *testing.T, s *Store, name, instance string) string {
	t.Helper()
	run, err := s.RegisterServer(context.Background(), ServerRegistration{Name: name, Instance: instance,
		Address: "10.0.0.1:2222", Version: "test"}, testGoneAfter)
	if err != nil {
		t.Fatalf("register %s: %v", name, err)
	}
	return run
}

func startOn(t *testing.T, s *Store, node string) Session {
	t.Helper()
	ss, err := s.StartSession(context.Background(), NewSession{User: "alice", Asset: "web1", Account: "root", Node: node})
	if err != nil {
		t.Fatal(err)
	}
	if ss.Node != node {
		t.Fatalf("session node = %q, want %q", ss.Node, node)
	}
	return ss
}

func sessionStatus(t *testing.T, s *Store, id string) Session {
	t.Helper()
	ss, err := s.GetSession(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return ss
}

func TestRegisterServer(t *testing.T) {
	ctx := context.Background()
	s, clk := newClockedStore(t)
	tests := []struct {
		name     string
		node     string
		instance string
		advance  time.Duration
		wantErr  error
	}{
		{"a new name registers", "a", "inst-a", 0, nil},
		{"the same data directory restarts at once", "a", "inst-a", time.Second, nil},
		{"another instance under a live name is refused", "a", "inst-x", time.Second, ErrConflict},
		{"another instance takes a name whose heartbeats stopped", "a", "inst-x", testGoneAfter, nil},
		{"an invalid name is refused", "bad name", "inst-b", 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk.Add(tt.advance)
			_, err := s.RegisterServer(ctx, ServerRegistration{Name: tt.node, Instance: tt.instance}, testGoneAfter)
			if tt.node == "bad name" {
				if err == nil {
					t.Fatal("an invalid name registered")
				}
				return
			}
			if !errors.Is(err, tt.wantErr) && (tt.wantErr != nil || err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestHeartbeatReapAndList(t *testing.T) {
	ctx := context.Background()
	s, clk := newClockedStore(t)
	runA := register(t, s, "a", "inst-a")
	runB := register(t, s, "b", "inst-b")
	onA, onB := startOn(t, s, "a"), startOn(t, s, "b")

	// Both beat: nobody is reaped.
	clk.Add(5 * time.Second)
	for _, n := range []struct{ name, run string }{{"a", runA}, {"b", runB}} {
		if err := s.ServerHeartbeat(ctx, n.name, n.run, 1, ServerServing); err != nil {
			t.Fatal(err)
		}
	}
	if reaped, err := s.ReapServers(ctx, clk.Now(), testGoneAfter); err != nil || len(reaped) != 0 {
		t.Fatalf("reaped %v, %v; want none", reaped, err)
	}

	// b keeps beating, a stops: just before the bound nothing happens.
	clk.Add(testGoneAfter - time.Millisecond)
	if err := s.ServerHeartbeat(ctx, "b", runB, 1, ServerDraining); err != nil {
		t.Fatal(err)
	}
	if reaped, _ := s.ReapServers(ctx, clk.Now(), testGoneAfter); len(reaped) != 0 {
		t.Fatalf("reaped %v before the bound", reaped)
	}
	if ss := sessionStatus(t, s, onA.ID); ss.Status != StatusActive {
		t.Fatalf("a's session %s before the bound", ss.Status)
	}

	// At the bound a is gone and its session interrupted; b's runs on.
	clk.Add(time.Millisecond)
	reaped, err := s.ReapServers(ctx, clk.Now(), testGoneAfter)
	if err != nil || len(reaped) != 1 || reaped[0].Name != "a" || reaped[0].Sessions != 1 {
		t.Fatalf("reaped %+v, %v; want a with 1 session", reaped, err)
	}
	if ss := sessionStatus(t, s, onA.ID); ss.Status != StatusInterrupted || ss.EndedAt == nil {
		t.Fatalf("a's session = %s, want interrupted", ss.Status)
	}
	if ss := sessionStatus(t, s, onB.ID); ss.Status != StatusActive {
		t.Fatalf("b's session = %s, want active", ss.Status)
	}
	// A second reaper finds nothing more to do.
	if again, _ := s.ReapServers(ctx, clk.Now(), testGoneAfter); len(again) != 0 {
		t.Fatalf("reaped twice: %v", again)
	}

	// a's late heartbeat is refused: it must not go on as if alive.
	if err := s.ServerHeartbeat(ctx, "a", runA, 1, ServerServing); !errors.Is(err, ErrServerLost) {
		t.Fatalf("late heartbeat: %v, want ErrServerLost", err)
	}

	list, err := s.ListServers(ctx, clk.Now(), testGoneAfter)
	if err != nil || len(list) != 2 {
		t.Fatalf("list = %v, %v", list, err)
	}
	if list[0].Name != "a" || list[0].State != ServerGone || list[0].LiveSessions != 0 {
		t.Fatalf("a = %+v", list[0])
	}
	if list[1].Name != "b" || list[1].State != ServerDraining || list[1].LiveSessions != 1 || list[1].Address != "10.0.0.1:2222" {
		t.Fatalf("b = %+v", list[1])
	}
	// With nobody left to reap, a stale node still lists as gone.
	clk.Add(testGoneAfter)
	list, _ = s.ListServers(ctx, clk.Now(), testGoneAfter)
	if list[1].State != ServerGone {
		t.Fatalf("stale b = %+v, want gone", list[1])
	}
}

// A session a node starts in the moment it is marked gone is closed by
// the next reap, not left active forever.
func TestReapClosesLateSessionsOfGoneNode(t *testing.T) {
	ctx := context.Background()
	s, clk := newClockedStore(t)
	register(t, s, "a", "inst-a")
	clk.Add(testGoneAfter)
	if _, err := s.ReapServers(ctx, clk.Now(), testGoneAfter); err != nil {
		t.Fatal(err)
	}
	late := startOn(t, s, "a")
	if _, err := s.ReapServers(ctx, clk.Now(), testGoneAfter); err != nil {
		t.Fatal(err)
	}
	if ss := sessionStatus(t, s, late.ID); ss.Status != StatusInterrupted {
		t.Fatalf("late session = %s, want interrupted", ss.Status)
	}
}

// At start a node closes its own sessions and those older than the
// cluster, never another node's.
func TestCloseInterruptedSessionsOfOneNode(t *testing.T) {
	ctx := context.Background()
	s, _ := newClockedStore(t)
	mine, theirs, legacy := startOn(t, s, "a"), startOn(t, s, "b"), startOn(t, s, "")
	n, err := s.CloseInterruptedSessions(ctx, "a", nil)
	if err != nil || n != 2 {
		t.Fatalf("closed %d, %v; want 2", n, err)
	}
	for id, want := range map[string]string{mine.ID: StatusInterrupted, legacy.ID: StatusInterrupted, theirs.ID: StatusActive} {
		if ss := sessionStatus(t, s, id); ss.Status != want {
			t.Errorf("session on %q = %s, want %s", ss.Node, ss.Status, want)
		}
	}
}

func TestStopServer(t *testing.T) {
	ctx := context.Background()
	s, clk := newClockedStore(t)
	run := register(t, s, "a", "inst-a")
	if err := s.StopServer(ctx, "a", run); err != nil {
		t.Fatal(err)
	}
	list, _ := s.ListServers(ctx, clk.Now(), testGoneAfter)
	if len(list) != 1 || list[0].State != ServerGone || list[0].GoneReason != "stopped" {
		t.Fatalf("list = %+v", list)
	}
	// Another instance may take a stopped node's name at once.
	if _, err := s.RegisterServer(ctx, ServerRegistration{Name: "a", Instance: "inst-x"}, testGoneAfter); err != nil {
		t.Fatal(err)
	}
}

// Refusals from one source spread over nodes add up within the window,
// and start again after it.
func TestShareRefusals(t *testing.T) {
	ctx := context.Background()
	s, clk := newClockedStore(t)
	window := time.Minute
	share := func(node string, n int) int {
		t.Helper()
		sums, err := s.ShareRefusals(ctx, node, map[string]int{"198.51.100.7": n}, clk.Now(), window)
		if err != nil {
			t.Fatal(err)
		}
		return sums["198.51.100.7"]
	}
	if got := share("a", 30); got != 30 {
		t.Fatalf("a alone = %d", got)
	}
	clk.Add(10 * time.Second)
	if got := share("b", 30); got != 60 {
		t.Fatalf("a+b = %d", got)
	}
	if got := share("a", 5); got != 65 {
		t.Fatalf("a+b+a = %d", got)
	}
	// a's window (started at 0) is over at 61 s: it starts again.
	clk.Add(51 * time.Second)
	if got := share("a", 1); got != 31 {
		t.Fatalf("after a's window = %d, want b's 30 + 1", got)
	}
}
