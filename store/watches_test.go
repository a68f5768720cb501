package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// A watch's stream: published sealed, read once in order, completed,
// dropped when its watcher stops reading.
func TestWatchStream(t *testing.T) {
	ctx := context.Background()
	s, clk := newClockedStore(t)
	ss, err := s.StartSession(ctx, NewSession{User: "alice", Node: "a"})
	if err != nil {
		t.Fatal(err)
	}
	w, err := s.OpenWatch(ctx, ss)
	if err != nil || w.Node != "a" {
		t.Fatalf("open: %+v, %v", w, err)
	}
	publish := func(data string, done bool) {
		t.Helper()
		reqs, err := s.WatchRequests(ctx, []string{ss.ID})
		if err != nil || len(reqs) != 1 {
			t.Fatalf("requests %+v, %v", reqs, err)
		}
		if err := s.PublishWatch(ctx, reqs[0], []byte(data), done); err != nil {
			t.Fatal(err)
		}
	}
	publish("one ", false)
	publish("two ", false)
	var env string
	if err := s.db.QueryRowContext(ctx, `SELECT data FROM session_watch_chunks WHERE watch_id = ? AND seq = 0`, w.ID).Scan(&env); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(env, "one") {
		t.Fatalf("a chunk is in clear: %q", env)
	}
	got, done, err := s.ReadWatch(ctx, w)
	if err != nil || string(got) != "one two " || done {
		t.Fatalf("read %q, %v, %v", got, done, err)
	}
	if got, _, _ := s.ReadWatch(ctx, w); len(got) != 0 {
		t.Fatalf("read twice: %q", got)
	}
	// A publication that lost a race changes nothing.
	reqs, _ := s.WatchRequests(ctx, []string{ss.ID})
	stale := reqs[0]
	publish("three", true)
	if err := s.PublishWatch(ctx, stale, []byte("again"), false); !IsWatchMoved(err) {
		t.Fatalf("stale publication: %v", err)
	}
	got, done, err = s.ReadWatch(ctx, w)
	if err != nil || string(got) != "three" || !done {
		t.Fatalf("last read %q, %v, %v", got, done, err)
	}
	if reqs, _ := s.WatchRequests(ctx, []string{ss.ID}); len(reqs) != 0 {
		t.Fatalf("a completed watch is still requested: %+v", reqs)
	}
	// Not read for a while: dropped.
	clk.Add(time.Minute)
	if n, err := s.DropStaleWatches(ctx, clk.Now().Add(-30*time.Second)); err != nil || n != 1 {
		t.Fatalf("dropped %d, %v", n, err)
	}
	if _, _, err := s.ReadWatch(ctx, w); !errors.Is(err, ErrNotFound) {
		t.Fatalf("read of a dropped watch: %v", err)
	}
}
