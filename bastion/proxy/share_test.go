package proxy

import (
	"context"
	"fmt"
	"io"
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
	c, err := gossh.Dial("tcp", h.addr, &gossh.ClientConfig{User: user, HostKeyCallback: gossh.InsecureIgnoreHostKey()})
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { c.Close() })
	s, err := c.NewSession()
	if err != nil {
		h.t.Fatal(err)
	}
	e := &liveExec{c: c, s: s, out: &syncBuf{}, errb: &syncBuf{}}
	s.Stdout, s.Stderr = e.out, e.errb
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
