package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/jms-bastion/jms/bastion/sessionerr"
	"github.com/jms-bastion/jms/store"
)

// liveExec is an exec session through the bastion, still running.
type liveExec struct {
	c     *gossh.Client
	s     *gossh.Session
	out   *syncBuf
	errb  *syncBuf
	stdin io.WriteCloser
}

// startExec runs cmd through the bastion as user and waits until its
// output is want.
func (h *harness) startExec(user, cmd, want string) *liveExec {
	h.t.Helper()
	c, s := h.dialSession(user)
	e := &liveExec{c: c, s: s, out: &syncBuf{}, errb: &syncBuf{}}
	s.Stdout, s.Stderr = e.out, e.errb
	var err error
	if e.stdin, err = s.StdinPipe(); err != nil {
		h.t.Fatal(err)
	}
	if err := s.Start(cmd); err != nil {
		h.t.Fatal(err)
	}
	if !waitFor(10*time.Second, func() bool { return e.out.String() == want }) {
		h.t.Fatalf("%s: output %q, stderr %q", cmd, e.out.String(), e.errb.String())
	}
	return e
}

// kill kills the i-th session the bastion took (from 0).
func (h *harness) kill(i int) {
	h.mu.Lock()
	cancel := h.cancels[i]
	h.mu.Unlock()
	cancel(fmt.Errorf("%w by admin", sessionerr.ErrKilled))
}

// echoes checks that a running ready session still carries its bytes.
func (e *liveExec) echoes(t *testing.T, line string) {
	t.Helper()
	before := e.out.String()
	if _, err := io.WriteString(e.stdin, line); err != nil {
		t.Fatalf("write: %v", err)
	}
	if !waitFor(10*time.Second, func() bool { return e.out.String() == before+line }) {
		t.Fatalf("output %q, want %q", e.out.String(), before+line)
	}
}

func addUser(t *testing.T, h *harness, name string) {
	t.Helper()
	if _, err := h.st.AddUser(store.WithActor(context.Background(), "test"), store.NewUser{Name: name}); err != nil {
		t.Fatal(err)
	}
}

// Two sessions of one person to one asset as one account share one
// connection; killing one leaves the other working, and the connection
// closes with the last.
func TestShareTwoSessions(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	first := h.startExec("alice", "hang", "hanging\n")
	second := h.startExec("alice", "ready", "ready\n")
	if n := h.asset.accepted.Load(); n != 1 {
		t.Fatalf("the asset took %d connections, want 1", n)
	}
	second.echoes(t, "one\n")

	h.kill(0)
	if code := exitCode(t, first.s.Wait()); code != ExitLost {
		t.Fatalf("killed session: exit %d", code)
	}
	if got := first.errb.String(); got != "jms: session ended: killed by admin\n" {
		t.Fatalf("killed session: stderr %q", got)
	}
	second.echoes(t, "two\n")
	if n := h.asset.conns.Load(); n != 1 {
		t.Fatalf("the asset has %d connections, want 1", n)
	}

	second.stdin.Close()
	if code := exitCode(t, second.s.Wait()); code != 0 {
		t.Fatalf("second session: exit %d, stderr %q", code, second.errb.String())
	}
	h.waitNoAssetConns()
	if n := h.px.pool.size(keyOf(h.request("alice"))); n != 0 {
		t.Fatalf("the pool still holds %d connections", n)
	}
}

// request is the Request the harness makes for user (its key in the pool).
func (h *harness) request(user string) Request {
	h.t.Helper()
	a, err := h.st.GetAsset(context.Background(), "web1")
	if err != nil {
		h.t.Fatal(err)
	}
	return Request{User: user, Asset: a, Account: h.account}
}

// An asset that refuses more channels on a connection (sshd's
// MaxSessions) gets a new connection for the next session.
func TestShareMaxSessions(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.asset.maxSessions.Store(2)
	var live []*liveExec
	for range 5 {
		live = append(live, h.startExec("alice", "ready", "ready\n"))
	}
	if n := h.asset.accepted.Load(); n != 3 {
		t.Fatalf("the asset took %d connections, want 3 (2 sessions each)", n)
	}
	for i, e := range live {
		e.echoes(t, fmt.Sprintf("session %d\n", i))
	}
	// One ending makes room on its connection: the next one goes there.
	live[0].stdin.Close()
	if code := exitCode(t, live[0].s.Wait()); code != 0 {
		t.Fatalf("exit %d, stderr %q", code, live[0].errb.String())
	}
	live[0] = h.startExec("alice", "ready", "ready\n")
	live[0].echoes(t, "again\n")
	if n := h.asset.accepted.Load(); n != 3 {
		t.Fatalf("the asset took %d connections, want still 3", n)
	}
	for _, e := range live {
		e.stdin.Close()
		if code := exitCode(t, e.s.Wait()); code != 0 {
			t.Fatalf("exit %d, stderr %q", code, e.errb.String())
		}
	}
	h.waitNoAssetConns()
}

// Different people never share a connection.
func TestShareNotAcrossPeople(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	addUser(t, h, "bob")
	a := h.startExec("alice", "ready", "ready\n")
	b := h.startExec("bob", "ready", "ready\n")
	if n := h.asset.accepted.Load(); n != 2 {
		t.Fatalf("the asset took %d connections, want 2", n)
	}
	a.echoes(t, "alice\n")
	b.echoes(t, "bob\n")
	for _, e := range []*liveExec{a, b} {
		e.stdin.Close()
		exitCode(t, e.s.Wait())
	}
	h.waitNoAssetConns()
}

// With reuse off, each session dials its own connection.
func TestShareOff(t *testing.T) {
	h := newHarness(t, harnessOptions{cfg: Config{SeparateConnections: true}})
	a := h.startExec("alice", "ready", "ready\n")
	b := h.startExec("alice", "ready", "ready\n")
	if n := h.asset.accepted.Load(); n != 2 {
		t.Fatalf("the asset took %d connections, want 2", n)
	}
	if n := h.px.pool.size(keyOf(h.request("alice"))); n != 0 {
		t.Fatalf("the pool holds %d connections, want none", n)
	}
	h.kill(0)
	exitCode(t, a.s.Wait())
	b.echoes(t, "still\n")
	b.stdin.Close()
	exitCode(t, b.s.Wait())
	h.waitNoAssetConns()
}

// A shared connection the asset drops leaves the pool: the next session
// dials anew.
func TestShareConnectionLost(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	a := h.startExec("alice", "hang", "hanging\n")
	h.asset.dropConns()
	if code := exitCode(t, a.s.Wait()); code != ExitLost {
		t.Fatalf("exit %d", code)
	}
	b := h.startExec("alice", "ready", "ready\n")
	b.echoes(t, "anew\n")
	if n := h.asset.accepted.Load(); n != 2 {
		t.Fatalf("the asset took %d connections, want 2", n)
	}
	b.stdin.Close()
	exitCode(t, b.s.Wait())
	h.waitNoAssetConns()
}

// The pool's key keeps people, assets, accounts and addresses apart.
func TestShareKey(t *testing.T) {
	base := Request{User: "alice", Asset: store.Asset{ID: 1, Address: "10.0.0.1", Port: 22, HostKey: "ssh-ed25519 AAAA"},
		Account: store.GrantedAccount{Account: store.Account{ID: 7}}}
	for _, tc := range []struct {
		name  string
		edit  func(r *Request)
		share bool
	}{
		{"same", func(r *Request) { r.Command = "uptime"; r.Source = "10.9.9.9:1" }, true},
		{"another person", func(r *Request) { r.User = "bob" }, false},
		{"another asset", func(r *Request) { r.Asset.ID = 2 }, false},
		{"another account", func(r *Request) { r.Account.ID = 8 }, false},
		{"another address", func(r *Request) { r.Asset.Address = "10.0.0.2" }, false},
		{"another port", func(r *Request) { r.Asset.Port = 2022 }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			other := base
			tc.edit(&other)
			var p pool
			c := p.add(keyOf(base), nil, true)
			got := p.take(keyOf(other), "")
			if (got == c) != tc.share {
				t.Fatalf("shared: %v, want %v", got == c, tc.share)
			}
		})
	}
}

// A refusal for a cap makes a connection full until a session leaves
// it; any other failure takes it out of the pool.
func TestPoolRefusals(t *testing.T) {
	var p pool
	k := connKey{user: "alice"}
	c := p.add(k, nil, true) // one session on it
	if p.take(k, "") != c || p.take(k, "") != c {
		t.Fatal("take: want the connection")
	}
	if p.refused(c, &gossh.OpenChannelError{Reason: gossh.Prohibited, Message: "open failed"}) {
		t.Fatal("refused: last with two sessions on it")
	}
	if p.take(k, "") != nil {
		t.Fatal("take: a full connection was handed out")
	}
	if p.release(c) {
		t.Fatal("release: last with one session still on it")
	}
	if p.take(k, "") != c {
		t.Fatal("take: the connection has room again")
	}
	if p.refused(c, io.EOF) {
		t.Fatal("refused: last with one session on it")
	}
	if p.take(k, "") != nil || p.size(k) != 0 {
		t.Fatal("a failed connection stayed in the pool")
	}
	if !p.release(c) {
		t.Fatal("release: the last session must be told")
	}
}

// A connection is shared only while the key it verified is the one
// pinned (an admin's re-pin sends new sessions to a new connection).
func TestPoolHostKey(t *testing.T) {
	var p pool
	k := connKey{user: "alice"}
	c := p.add(k, nil, true)
	c.hostKey = "A"
	for _, tc := range []struct {
		pin  string
		want bool
	}{{"A", true}, {"", true}, {"B", false}} {
		got := p.take(k, tc.pin)
		if (got == c) != tc.want {
			t.Errorf("pin %q: shared %v, want %v", tc.pin, got == c, tc.want)
		}
		if got != nil {
			p.release(got)
		}
	}
}

// A shared connection that does not answer a channel open within the
// connect timeout is closed and left: the session dials anew.
func TestShareOpenTimeout(t *testing.T) {
	h := newHarness(t, harnessOptions{cfg: Config{ConnectTimeout: 300 * time.Millisecond}})
	stuck := h.startExec("alice", "hang", "hanging\n")
	h.asset.stallOpen.Store(true)
	b := h.startExec("alice", "ready", "ready\n")
	b.echoes(t, "anew\n")
	if n := h.asset.accepted.Load(); n != 2 {
		t.Fatalf("the asset took %d connections, want 2", n)
	}
	if code := exitCode(t, stuck.s.Wait()); code != ExitLost {
		t.Fatalf("the session on the stalled connection: exit %d", code)
	}
	b.stdin.Close()
	exitCode(t, b.s.Wait())
	h.waitNoAssetConns()
}

// bgExec is an exec session through the bastion run in the background:
// ready receives nil once its output is want (or why it is not), and
// ended its result once it exits.
type bgExec struct {
	stdin io.WriteCloser
	out   *syncBuf
	ready chan error
	ended chan execResult
}

// execBackground runs cmd through the bastion as user without waiting.
func (h *harness) execBackground(user, cmd, want string) *bgExec {
	e := &bgExec{out: &syncBuf{}, ready: make(chan error, 1), ended: make(chan execResult, 1)}
	_, s := h.dialSession(user)
	errb := &syncBuf{}
	s.Stdout, s.Stderr = e.out, errb
	var err error
	if e.stdin, err = s.StdinPipe(); err != nil {
		h.t.Fatal(err)
	}
	if err := s.Start(cmd); err != nil {
		h.t.Fatal(err)
	}
	gone := make(chan struct{})
	go func() {
		defer close(gone)
		werr := s.Wait()
		code := 0
		var ee *gossh.ExitError
		switch {
		case errors.As(werr, &ee):
			code = ee.ExitStatus()
		case werr != nil:
			code = -1
		}
		e.ended <- execResult{stdout: e.out.String(), stderr: errb.String(), code: code}
	}()
	go func() {
		if err := waitOutput(e.out, want, gone); err != nil {
			e.ready <- fmt.Errorf("%s: %w, stderr %q", cmd, err, errb.String())
			return
		}
		e.ready <- nil
	}()
	return e
}

// waitOutput waits until out is want, at most 10 s, or until the session
// is gone.
func waitOutput(out *syncBuf, want string, gone <-chan struct{}) error {
	deadline := time.After(10 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for out.String() != want {
		select {
		case <-gone:
			if out.String() == want {
				return nil
			}
			return fmt.Errorf("ended with output %q", out.String())
		case <-deadline:
			return fmt.Errorf("output %q, want %q", out.String(), want)
		case <-tick.C:
		}
	}
	return nil
}

// coalesceTimeout is the connect timeout of the tests of coalesced dials:
// a waiter whose wait runs out dials apart, which a loaded machine (logins
// under -race taking seconds each) must not cause before every session
// arrived.
const coalesceTimeout = 2 * time.Minute

// waitDialing waits until the asset took conns connections and waiters
// sessions of alice wait on a dial under way.
func (h *harness) waitDialing(conns int64, waiters int) {
	h.t.Helper()
	dk := dialKey{connKey: keyOf(h.request("alice"))}
	if p, ok := pinOf(h.request("alice").Asset); ok {
		dk.pin = p
	}
	if !waitFor(coalesceTimeout/2, func() bool {
		return h.asset.accepted.Load() == conns && h.px.pool.waiting(dk) == waiters
	}) {
		h.t.Fatalf("the asset took %d connections (want %d), %d sessions wait on a dial (want %d)",
			h.asset.accepted.Load(), conns, h.px.pool.waiting(dk), waiters)
	}
}

// Sessions that arrive while a dial for their key is under way wait for
// it and share its connection instead of each dialling; once it is full
// (MaxSessions), the next one dials and the others wait for that.
func TestShareCoalescesDials(t *testing.T) {
	for _, tc := range []struct {
		name        string
		maxSessions int64
		want        int64 // connections the asset takes
	}{
		{"no cap", 0, 1},
		{"two sessions a connection", 2, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, harnessOptions{cfg: Config{ConnectTimeout: coalesceTimeout}})
			h.asset.maxSessions.Store(tc.maxSessions)
			h.asset.holdHandshakes()
			var live []*bgExec
			for range 5 {
				live = append(live, h.execBackground("alice", "ready", "ready\n"))
			}
			h.waitDialing(1, 4)
			h.asset.releaseHandshakes()
			for _, e := range live {
				if err := <-e.ready; err != nil {
					t.Fatal(err)
				}
			}
			if n := h.asset.accepted.Load(); n != tc.want {
				t.Fatalf("the asset took %d connections, want %d", n, tc.want)
			}
			for i, e := range live {
				line := fmt.Sprintf("session %d\n", i)
				before := e.out.String()
				io.WriteString(e.stdin, line)
				if !waitFor(10*time.Second, func() bool { return e.out.String() == before+line }) {
					t.Fatalf("session %d: output %q", i, e.out.String())
				}
			}
			for _, e := range live {
				e.stdin.Close()
				if r := <-e.ended; r.code != 0 {
					t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
				}
			}
			h.waitNoAssetConns()
		})
	}
}

// A dial that fails for a reason of the asset's (here a changed host key)
// fails every session that waited for it, with the same one line, and no
// session dials again.
func TestShareDialFailsForAll(t *testing.T) {
	pinned := strings.TrimSpace(string(gossh.MarshalAuthorizedKey(newSigner(t).PublicKey())))
	h := newHarness(t, harnessOptions{pinned: pinned, cfg: Config{ConnectTimeout: coalesceTimeout}})
	h.asset.holdHandshakes()
	var all []*bgExec
	for range 3 {
		all = append(all, h.execBackground("alice", "ready", "ready\n"))
	}
	h.waitDialing(1, 2)
	h.asset.releaseHandshakes()
	var first string
	for i, e := range all {
		r := <-e.ended
		if r.code != ExitLost || !strings.HasPrefix(r.stderr, "jms: host key of web1 changed (pinned ") || strings.Count(r.stderr, "\n") != 1 {
			t.Fatalf("session %d: exit %d, stderr %q", i, r.code, r.stderr)
		}
		if i == 0 {
			first = r.stderr
		} else if r.stderr != first {
			t.Fatalf("session %d: stderr %q, the first had %q", i, r.stderr, first)
		}
	}
	if n := h.asset.accepted.Load(); n != 1 {
		t.Fatalf("the asset took %d connections, want 1", n)
	}
	h.mu.Lock()
	ids := append([]string(nil), h.ids...)
	h.mu.Unlock()
	for _, id := range ids {
		ss, err := h.st.GetSession(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if ss.Status != store.StatusFailed || !strings.Contains(ss.EndReason, "host key") {
			t.Errorf("session %s: status %s, reason %q", ss.ID, ss.Status, ss.EndReason)
		}
	}
}

// When the session that dials ends before its dial does (killed, or its
// client gone), a session that waited for it dials anew rather than fail
// with the other's cancellation; a waiter that ends itself fails alone.
func TestShareDialerGone(t *testing.T) {
	h := newHarness(t, harnessOptions{cfg: Config{ConnectTimeout: coalesceTimeout}})
	h.asset.holdHandshakes()
	dialler := h.execBackground("alice", "ready", "ready\n")
	h.waitDialing(1, 0)
	waiter := h.execBackground("alice", "ready", "ready\n")
	h.waitDialing(1, 1)
	quitter := h.execBackground("alice", "ready", "ready\n")
	h.waitDialing(1, 2)

	h.kill(2) // the quitter, while it waits
	if r := <-quitter.ended; r.code != ExitLost || r.stderr != "jms: connection to web1 canceled\n" {
		t.Fatalf("the waiter killed: exit %d, stderr %q", r.code, r.stderr)
	}
	h.kill(0) // the dialler, while it dials
	if r := <-dialler.ended; r.code != ExitLost || r.stderr != "jms: connection to web1 canceled\n" {
		t.Fatalf("the dialler killed: exit %d, stderr %q", r.code, r.stderr)
	}
	h.waitDialing(2, 0) // the waiter dials
	h.asset.releaseHandshakes()
	if err := <-waiter.ready; err != nil {
		t.Fatal(err)
	}
	waiter.stdin.Close()
	if r := <-waiter.ended; r.code != 0 {
		t.Fatalf("the waiter: exit %d, stderr %q", r.code, r.stderr)
	}
	h.waitNoAssetConns()
}

// dialSession logs in to the bastion as user and opens a session channel;
// the connection closes with the test.
func (h *harness) dialSession(user string) (*gossh.Client, *gossh.Session) {
	h.t.Helper()
	c, err := gossh.Dial("tcp", h.addr, &gossh.ClientConfig{User: user, HostKeyCallback: gossh.InsecureIgnoreHostKey()})
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { c.Close() })
	s, err := c.NewSession()
	if err != nil {
		h.t.Fatal(err)
	}
	return c, s
}

// A new connection whose asset never answers the session's channel open
// fails the session within the connect timeout, with one line, instead of
// leaving it (and every session waiting for its dial) hanging: with
// shared connections and without.
func TestDialOpenTimeout(t *testing.T) {
	for _, separate := range []bool{false, true} {
		t.Run(fmt.Sprintf("separate=%v", separate), func(t *testing.T) {
			h := newHarness(t, harnessOptions{cfg: Config{ConnectTimeout: 300 * time.Millisecond, SeparateConnections: separate}})
			h.asset.stallOpen.Store(true)
			e := h.execBackground("alice", "ready", "ready\n")
			select {
			case r := <-e.ended:
				if r.code != ExitLost || r.stderr != "jms: web1 did not answer a session open within 300ms\n" {
					t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
				}
			case <-time.After(time.Minute):
				t.Fatal("the session still waits for its channel a minute later")
			}
			h.waitNoAssetConns()
			h.mu.Lock()
			id := h.ids[0]
			h.mu.Unlock()
			ss, err := h.st.GetSession(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			if ss.Status != store.StatusFailed || ss.EndReason != "the asset did not answer a channel open in time" {
				t.Fatalf("session row: status %s, reason %q", ss.Status, ss.EndReason)
			}
		})
	}
}

// A session that waits for another's dial longer than the connect
// timeout (here: the dialler's connection took the handshake but never
// answers its channel open) stops waiting and dials its own connection;
// the dialler fails alone once its own open runs out.
func TestShareWaitRunsOut(t *testing.T) {
	const timeout = 3 * time.Second
	h := newHarness(t, harnessOptions{cfg: Config{ConnectTimeout: timeout}})
	h.asset.holdHandshakes()
	dialler := h.execBackground("alice", "ready", "ready\n")
	h.waitDialing(1, 0)
	h.asset.stallOpen.Store(true) // the dialler's open, the next one the asset sees
	waiter := h.execBackground("alice", "ready", "ready\n")
	h.waitDialing(1, 1)
	// The waiter's wait ends a connect timeout after it began; the
	// dialler's open starts only after the release, so its own timeout
	// ends at least this much later.
	time.Sleep(timeout / 3)
	h.asset.releaseHandshakes()
	if err := <-waiter.ready; err != nil {
		t.Fatal(err)
	}
	if n := h.asset.accepted.Load(); n != 2 {
		t.Fatalf("the asset took %d connections, want 2", n)
	}
	if r := <-dialler.ended; r.code != ExitLost || r.stderr != "jms: web1 did not answer a session open within 3s\n" {
		t.Fatalf("the dialler: exit %d, stderr %q", r.code, r.stderr)
	}
	waiter.stdin.Close()
	if r := <-waiter.ended; r.code != 0 {
		t.Fatalf("the waiter: exit %d, stderr %q", r.code, r.stderr)
	}
	h.waitNoAssetConns()
}
