package bastion

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jms-bastion/jms/store"
)

// fakeTimers stands in for time.AfterFunc: the test fires timers by hand.
type fakeTimers struct {
	mu     sync.Mutex
	timers []*fakeTimer
}

type fakeTimer struct {
	f       func()
	d       time.Duration
	stopped bool
}

func (t *fakeTimer) Stop() bool { was := !t.stopped; t.stopped = true; return was }

func (ft *fakeTimers) afterFunc(d time.Duration, f func()) stopper {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	t := &fakeTimer{f: f, d: d}
	ft.timers = append(ft.timers, t)
	return t
}

// fireAll runs every timer, stopped or not, as a late time.AfterFunc
// whose Stop came too late would.
func (ft *fakeTimers) fireAll() {
	ft.mu.Lock()
	ts := ft.timers
	ft.timers = nil
	ft.mu.Unlock()
	for _, t := range ts {
		t.f()
	}
}

func (ft *fakeTimers) pending() int {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	n := 0
	for _, t := range ft.timers {
		if !t.stopped {
			n++
		}
	}
	return n
}

func newTestRelease() (*idleRelease, *fakeTimers, *int) {
	ft := &fakeTimers{}
	frees := new(int)
	r := &idleRelease{delay: time.Second, afterFunc: ft.afterFunc, free: func() { *frees++ }}
	return r, ft, frees
}

// TestIdleReleaseOncePerBurst: a burst of overlapping hashes frees the
// memory once, after the last one, and not while any runs.
func TestIdleReleaseOncePerBurst(t *testing.T) {
	r, ft, frees := newTestRelease()
	// 100 logins, 2 hashes at a time (the cap on 2 cores), overlapping.
	r.begin()
	for range 99 {
		r.begin()
		r.end()
		ft.fireAll() // a hash still runs: nothing to free yet
	}
	if *frees != 0 {
		t.Fatalf("freed %d times while hashes ran, want 0", *frees)
	}
	r.end()
	if ft.pending() != 1 {
		t.Fatalf("%d releases pending after the burst, want 1", ft.pending())
	}
	ft.fireAll()
	ft.fireAll()
	if *frees != 1 {
		t.Fatalf("freed %d times after the burst, want 1", *frees)
	}
}

// TestIdleReleaseDebounced: hashes one after another, each ending before
// the next begins, free once after the last, not once per hash.
func TestIdleReleaseDebounced(t *testing.T) {
	r, ft, frees := newTestRelease()
	for range 50 {
		r.begin()
		r.end()
	}
	if got := ft.pending(); got != 1 {
		t.Fatalf("%d releases pending, want 1", got)
	}
	ft.fireAll() // every timer, including the stopped ones firing late
	if *frees != 1 {
		t.Fatalf("freed %d times, want 1", *frees)
	}
	for _, tm := range ft.timers {
		if tm.d != time.Second {
			t.Fatalf("armed for %v, want the delay", tm.d)
		}
	}
	// The next burst frees again.
	r.begin()
	r.end()
	ft.fireAll()
	if *frees != 2 {
		t.Fatalf("freed %d times after a second burst, want 2", *frees)
	}
}

// TestIdleReleaseStop: a stopped release does not free; nil is a no-op.
func TestIdleReleaseStop(t *testing.T) {
	r, ft, frees := newTestRelease()
	r.begin()
	r.end()
	r.stop()
	ft.fireAll()
	if *frees != 0 {
		t.Fatalf("freed %d times after stop, want 0", *frees)
	}
	var none *idleRelease
	none.begin()
	none.end()
	none.stop()
}

// TestPasswordLoginsReleaseMemory: the server's hashing path drives the
// release: password checks (right, wrong and unknown) free once after
// the last one, however many ran.
func TestPasswordLoginsReleaseMemory(t *testing.T) {
	f := newFixture(t, nil)
	r, ft, frees := newTestRelease()
	f.srv.hashMem = r
	ctx := context.Background()
	for _, c := range []struct{ user, pw string }{
		{"alice", alicePassword}, {"alice", "wrong"}, {"nobody", "x"}, {"alice", alicePassword},
	} {
		if _, err := f.srv.checkPassword(ctx, c.user, []byte(c.pw)); err != nil {
			t.Fatalf("checkPassword(%s): %v", c.user, err)
		}
	}
	if len(f.srv.hashSem) != 0 {
		t.Fatalf("%d hash slots still held", len(f.srv.hashSem))
	}
	ft.fireAll()
	if *frees != 1 {
		t.Fatalf("freed %d times after 4 password checks, want 1", *frees)
	}
}

// TestHashSlots: concurrent hashes are capped so that together their
// lanes fill the CPUs and no more (each one holds 64 MiB).
func TestHashSlots(t *testing.T) {
	for _, c := range []struct {
		threads uint8
		cpus    int
		want    int
	}{
		{4, 1, 1}, {4, 2, 1}, {4, 4, 1}, {4, 7, 1}, {4, 8, 2}, {4, 64, 16},
		{1, 2, 2}, {2, 2, 1}, {0, 3, 3}, {4, 0, 1},
	} {
		if got := hashSlots(store.Argon2Params{Threads: c.threads}, c.cpus); got != c.want {
			t.Errorf("hashSlots(p=%d, %d CPUs) = %d, want %d", c.threads, c.cpus, got, c.want)
		}
	}
}

// TestIdleReleaseRealTimer: with the real timer, a burst frees once,
// after the delay.
func TestIdleReleaseRealTimer(t *testing.T) {
	r := newIdleRelease(20 * time.Millisecond)
	freed := make(chan struct{}, 10)
	r.free = func() { freed <- struct{}{} }
	for range 3 {
		r.begin()
		r.end()
	}
	select {
	case <-freed:
	case <-time.After(5 * time.Second):
		t.Fatal("no release 5 s after the burst")
	}
	select {
	case <-freed:
		t.Fatal("released twice for one burst")
	case <-time.After(100 * time.Millisecond):
	}
}
