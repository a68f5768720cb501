package bastion

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	gossh "golang.org/x/crypto/ssh"

	"github.com/jms-bastion/jms/config"
	"github.com/jms-bastion/jms/store"
)

// dbBytes is the size of the database and its write-ahead log.
func (f *fixture) dbBytes() int64 {
	f.t.Helper()
	var n int64
	for _, p := range []string{f.srv.cfg.DBPath(), f.srv.cfg.DBPath() + "-wal"} {
		if fi, err := os.Stat(p); err == nil {
			n += fi.Size()
		}
	}
	return n
}

// TestPreAuthFlood is issue 10's goal: 10,000 attempts from one address
// offering a key under huge, invalid login names add under 1 MB to the
// database and the log together, and every attempt is still counted in
// the audit.
func TestPreAuthFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 connections")
	}
	f := newFixture(t, nil)
	// Warm up: the first writes size the WAL whatever comes next.
	f.mustDial("alice", gossh.PublicKeys(f.aliceKey)).Close()
	f.waitEvent(store.LoginEvent{User: "alice", Result: store.LoginSuccess})
	db0, log0 := f.dbBytes(), f.logBytes.count()

	const attempts = 10000
	huge := strings.Repeat("Ä\x1b[31m", 2000)
	var next, refusedAtAccept atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > attempts {
					return
				}
				cfg := clientConfig(fmt.Sprintf("%s-%d", huge, i), gossh.PublicKeys(f.strayKey))
				c, err := gossh.Dial("tcp", f.addr, cfg)
				if err == nil {
					c.Close()
					t.Error("a stray key under an invalid name logged in")
					return
				}
				if !strings.Contains(err.Error(), "unable to authenticate") {
					refusedAtAccept.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	f.srv.refusals.flush(true)
	db, logged := f.dbBytes()-db0, f.logBytes.count()-log0
	t.Logf("%d attempts (%d refused at accept): database +%d bytes, log +%d bytes", attempts, refusedAtAccept.Load(), db, logged)
	if db+logged >= 1<<20 {
		t.Errorf("database +%d and log +%d bytes: want under 1 MB together", db, logged)
	}
	if refusedAtAccept.Load() < attempts/2 {
		t.Errorf("only %d attempts refused at accept: the source was not throttled", refusedAtAccept.Load())
	}
	total, rows := 0, 0
	for _, e := range f.events(store.LoginQuery{Result: store.LoginFailure, Limit: 10000}) {
		total += e.Count
		rows++
		if len(e.User) > maxNameBytes || !utf8.ValidString(e.User) || strings.ContainsAny(e.User, "\x1b\n") {
			t.Errorf("audited name %q is not bounded and escaped", e.User)
		}
	}
	if total != attempts || rows > 30 {
		t.Errorf("%d failure rows counting %d attempts, want a few rows counting %d", rows, total, attempts)
	}
}

func TestBoundName(t *testing.T) {
	long := strings.Repeat("a", 65)
	for _, tc := range []struct{ in, want string }{
		{"alice", "alice"},
		{"Alice.Root@web1", "Alice.Root@web1"},
		{strings.Repeat("a", 64), strings.Repeat("a", 64)},
		{long, strings.Repeat("a", 55) + "~" + hash8(long)},
		{"a\x1b[2Jb", `a\x1b[2Jb~` + hash8("a\x1b[2Jb")},
		{"é", `\u00e9~` + hash8("é")},
		{"\xff", `\xff~` + hash8("\xff")},
		{"(more names)", "(more names)~" + hash8("(more names)")},
		{"a~b", "a~b~" + hash8("a~b")},
		{"", ""},
	} {
		if got := boundName(tc.in); got != tc.want {
			t.Errorf("boundName(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func hash8(s string) string { return boundName(s)[len(boundName(s))-8:] }

// FuzzBoundName: whatever a client sends as a name, what is stored and
// logged is short, valid UTF-8, printable ASCII, unchanged when it is
// a plain short name, and distinct for distinct long names.
func FuzzBoundName(f *testing.F) {
	for _, s := range []string{"alice", "alice@root@web1", strings.Repeat("x", 100), "\x00\xff\x1b[31m", "é~\\"} {
		f.Add(s, s+"!")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		ba := boundName(a)
		if len(ba) > maxNameBytes || !utf8.ValidString(ba) {
			t.Fatalf("boundName(%q) = %q: too long or not UTF-8", a, ba)
		}
		for i := 0; i < len(ba); i++ {
			if ba[i] < 0x20 || ba[i] > 0x7e {
				t.Fatalf("boundName(%q) = %q: byte %#x", a, ba, ba[i])
			}
		}
		if len(a) <= maxNameBytes && printableASCII(a) && ba != a {
			t.Fatalf("boundName(%q) = %q: a plain name changed", a, ba)
		}
		if a != b && ba == boundName(b) && (len(a) > 20 || len(b) > 20) {
			// 32 bits of hash: a collision in a fuzz run is a bug.
			t.Fatalf("boundName(%q) == boundName(%q) == %q", a, b, ba)
		}
	})
}

// TestLockedNameIsNotHashed: a name locked from a source is refused
// before the password is hashed, so that guessing at a lock costs no
// argon2id.
func TestLockedNameIsNotHashed(t *testing.T) {
	f := newFixture(t, nil)
	ctx := store.WithActor(context.Background(), "test")
	if err := f.st.LockLogin(ctx, "alice", "127.0.0.1", time.Now().Add(time.Hour), "test"); err != nil {
		t.Fatal(err)
	}
	// Take every hashing slot: a login that hashes now waits for ever.
	for range cap(f.srv.hashSem) {
		f.srv.hashSem <- struct{}{}
	}
	defer func() {
		for range cap(f.srv.hashSem) {
			<-f.srv.hashSem
		}
	}()
	done := make(chan error, 1)
	go func() {
		c, err := f.dial("alice", gossh.Password(alicePassword))
		if err == nil {
			c.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("a locked name logged in")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the password of a locked name is hashed")
	}
	f.srv.refusals.flush(true)
	f.waitEvent(store.LoginEvent{User: "alice", Method: methodPassword, Reason: reasonSourceLocked})
}

// TestRefusalAudit: the first refusal of a kind is written at once, the
// repeats within the window once with their count, a source's new names
// beyond maxKindsPerSource fold, and the final flush writes what waits.
func TestRefusalAudit(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	written := map[refusalKey]int{}
	writes := 0
	a := newRefusalAudit(time.Minute, clock, func(k refusalKey, n int) {
		mu.Lock()
		defer mu.Unlock()
		written[k] += n
		writes++
	})
	k := refusalKey{user: "x", source: "192.0.2.1", method: methodPublicKey, reason: reasonInvalidName}
	for range 100 {
		a.note(k)
	}
	if writes != 1 || written[k] != 1 {
		t.Fatalf("after 100 refusals in a window: %d writes, %v", writes, written)
	}
	advance(time.Minute)
	a.note(k)
	if writes != 2 || written[k] != 101 {
		t.Fatalf("after the window: %d writes, %v", writes, written)
	}
	for i := range 50 {
		a.note(refusalKey{user: fmt.Sprint("name", i), source: "192.0.2.2", method: methodPassword, reason: reasonSourceLocked})
	}
	many := refusalKey{user: manyNames, source: "192.0.2.2", method: methodPassword, reason: reasonSourceLocked}
	if writes != 2+maxKindsPerSource+1 {
		t.Fatalf("50 names from one source: %d writes, want %d", writes-2, maxKindsPerSource+1)
	}
	a.flush(true)
	total := 0
	for k, n := range written {
		if k.source == "192.0.2.2" {
			total += n
		}
	}
	if total != 50 || written[many] != 50-maxKindsPerSource {
		t.Fatalf("after the final flush: %d refusals written from the source, %d folded: %v", total, written[many], written)
	}
}

func TestSourceGuard(t *testing.T) {
	t0 := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	g := newSourceGuard(3, time.Minute)
	for i, want := range []bool{false, false, true} {
		if _, reached := g.refused("192.0.2.1", t0.Add(time.Duration(i)*time.Second)); reached != want {
			t.Fatalf("refusal %d: reached %v, want %v", i+1, reached, want)
		}
	}
	// A new window starts the count again; other sources count apart.
	if n, _ := g.refused("192.0.2.1", t0.Add(2*time.Minute)); n != 1 {
		t.Fatalf("count after the window: %d", n)
	}
	if n, _ := g.refused("192.0.2.2", t0); n != 1 {
		t.Fatalf("another source: %d", n)
	}
	// A throttle holds until it ends, then is forgotten.
	g.throttle("192.0.2.1", t0.Add(time.Minute), t0)
	if _, ok, recheck := g.until("192.0.2.1", t0.Add(time.Second)); !ok || recheck {
		t.Fatalf("just throttled: %v, recheck %v", ok, recheck)
	}
	if _, ok, recheck := g.until("192.0.2.1", t0.Add(59*time.Second)); !ok || !recheck {
		t.Fatalf("not throttled before the end (%v), or not rechecked (%v)", ok, recheck)
	}
	if _, ok, _ := g.until("192.0.2.1", t0.Add(time.Minute)); ok {
		t.Fatal("still throttled at the end")
	}
	if len(g.throttled) != 0 {
		t.Fatalf("an ended throttle is kept: %v", g.throttled)
	}
	if _, reached := newSourceGuard(0, time.Minute).refused("192.0.2.1", t0); reached {
		t.Fatal("throttle_failures 0 throttled")
	}
}

// TestThrottledSourceIsRefusedFromMemory: once a source is throttled,
// its connections are refused from memory, without asking the store
// each time; an unlock in the store takes effect within
// throttleRecheck.
func TestThrottledSourceIsRefusedFromMemory(t *testing.T) {
	f := newFixture(t, func(c *config.Config) { c.ThrottleFailures = 3 })
	// The memory entry is made at the third refusal, so it is not
	// re-read from the store before start+throttleRecheck.
	start := time.Now()
	for range 3 {
		if c, err := f.dial("nobody", gossh.PublicKeys(f.strayKey)); err == nil {
			c.Close()
			t.Fatal("a stray key logged in")
		}
	}
	if !waitUntil(5*time.Second, func() bool { _, ok, _ := f.srv.guard.until("127.0.0.1", time.Now()); return ok }) {
		t.Fatal("three refused keys did not throttle the source")
	}
	if _, locked, _ := f.st.LoginLockedUntil(context.Background(), "", "127.0.0.1", time.Now()); !locked {
		t.Fatal("the throttle is not in the store (for other nodes and restarts)")
	}
	unlocked := time.Now()
	if _, err := f.st.UnlockLogins(store.WithActor(context.Background(), "test"), "", "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	if c, err := f.dial("bob", gossh.PublicKeys(f.bobKey)); err == nil {
		c.Close()
		if time.Since(start) < throttleRecheck {
			t.Fatalf("the throttle was read from the store, not memory (unlocked %v ago)", time.Since(unlocked))
		}
	}
	if !waitUntil(2*throttleRecheck, func() bool {
		c, err := f.dial("bob", gossh.PublicKeys(f.bobKey))
		if err == nil {
			c.Close()
		}
		return err == nil
	}) {
		t.Fatalf("an unlock in the store did not take effect within %v", throttleRecheck)
	}
}

func waitUntil(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}
