package bastion

import (
	"context"
	"errors"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/jms-bastion/jms/config"
	"github.com/jms-bastion/jms/store"
)

type fakeKeepaliveConn struct {
	answer  bool
	closed  chan struct{}
	once    sync.Once
	sent    atomic.Int32
	release chan struct{}
}

func newFakeKeepaliveConn(answer bool) *fakeKeepaliveConn {
	return &fakeKeepaliveConn{answer: answer, closed: make(chan struct{}), release: make(chan struct{})}
}

func (f *fakeKeepaliveConn) SendRequest(string, bool, []byte) (bool, []byte, error) {
	f.sent.Add(1)
	if f.answer {
		return false, nil, nil // OpenSSH answers unknown requests with a failure: still alive
	}
	<-f.release // a silent client: no reply until the connection closes
	return false, nil, errors.New("closed")
}

func (f *fakeKeepaliveConn) Close() error {
	f.once.Do(func() { close(f.closed); close(f.release) })
	return nil
}

func TestKeepalives(t *testing.T) {
	t.Run("answering client stays", func(t *testing.T) {
		c := newFakeKeepaliveConn(true)
		k := &keepaliver{conn: c, onDead: func() { t.Error("onDead called for a client that answers") }}
		for range 10 {
			if !k.beat() {
				t.Fatal("a client that answers was found gone")
			}
			k.sending.Wait() // let the reply land
		}
		select {
		case <-c.closed:
			t.Fatal("a client that answers was closed")
		default:
		}
		if c.sent.Load() != 10 {
			t.Fatalf("%d keepalives sent, want 10", c.sent.Load())
		}
	})
	t.Run("silent client is closed at the third miss", func(t *testing.T) {
		c := newFakeKeepaliveConn(false)
		dead := make(chan struct{})
		k := &keepaliver{conn: c, onDead: func() { close(dead) }}
		// One keepalive at once, one per tick: the tick after the third
		// finds three unanswered and closes.
		for i := 1; i <= keepaliveMisses; i++ {
			if !k.beat() {
				t.Fatalf("found gone after %d beats, want %d", i, keepaliveMisses+1)
			}
		}
		select {
		case <-c.closed:
			t.Fatal("closed before the misses were counted")
		default:
		}
		if k.beat() {
			t.Fatalf("a silent client was not found gone after %d misses", keepaliveMisses)
		}
		<-c.closed
		<-dead
		k.sending.Wait() // every keepalive sent has returned
		if n := c.sent.Load(); n != keepaliveMisses {
			t.Fatalf("closed after %d keepalives, want %d", n, keepaliveMisses)
		}
	})
	t.Run("timer chain stops with the connection", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		c := newFakeKeepaliveConn(true)
		startKeepalives(ctx, c, time.Millisecond, func() { t.Error("onDead called for a client that answers") })
		for c.sent.Load() < 5 {
			runtime.Gosched()
		}
		cancel()
		// A beat already running may still send one; after that, none.
		deadline := time.Now().Add(5 * time.Second)
		for {
			n := c.sent.Load()
			time.Sleep(20 * time.Millisecond)
			if c.sent.Load() == n {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("keepalives go on after the connection ended")
			}
		}
	})
}

// TestKeepalivesAndIdleFromLogin: a logged-in connection that opens no
// channel gets keepalives and is closed after idle_timeout.
func TestKeepalivesAndIdleFromLogin(t *testing.T) {
	f := newFixture(t, func(c *config.Config) {
		c.Keepalive = 50 * time.Millisecond
		c.IdleTimeout = 600 * time.Millisecond
	})
	nc, err := net.Dial("tcp", f.addr)
	if err != nil {
		t.Fatal(err)
	}
	conn, _, reqs, err := gossh.NewClientConn(nc, f.addr, clientConfig("alice", gossh.PublicKeys(f.aliceKey)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	begin := time.Now()
	select {
	case r := <-reqs:
		if r.Type != "keepalive@openssh.com" {
			t.Fatalf("global request %q", r.Type)
		}
		_ = r.Reply(false, nil)
	case <-time.After(2 * time.Second):
		t.Fatal("no keepalive on a connection without channels")
	}
	go func() {
		for r := range reqs {
			_ = r.Reply(false, nil) // an answering client: only the idle deadline closes it
		}
	}()
	closed := make(chan error, 1)
	go func() { closed <- conn.Wait() }()
	select {
	case <-closed:
		if d := time.Since(begin); d < 400*time.Millisecond {
			t.Fatalf("closed after %v, before idle_timeout", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a logged-in connection without channels was never closed")
	}

	// A channel holds the deadline off.
	c := f.mustDial("alice", gossh.PublicKeys(f.aliceKey))
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	time.Sleep(time.Second)
	if _, _, err := c.SendRequest("ping@test", true, nil); err != nil {
		t.Fatalf("a connection with a channel open was closed: %v", err)
	}
}

func TestMaxConnectionsPerUser(t *testing.T) {
	f := newFixture(t, func(c *config.Config) { c.MaxConnectionsPerUser = 2 })
	a := f.mustDial("alice", gossh.PublicKeys(f.aliceKey))
	f.mustDial("alice", gossh.Password(alicePassword))
	var banner string
	cfg := clientConfig("alice", gossh.PublicKeys(f.aliceKey))
	cfg.BannerCallback = func(m string) error { banner += m; return nil }
	if c, err := gossh.Dial("tcp", f.addr, cfg); err == nil {
		c.Close()
		t.Fatal("a third connection logged in")
	}
	if !strings.Contains(banner, "2 connections open") {
		t.Errorf("banner %q", banner)
	}
	f.waitEvent(store.LoginEvent{User: "alice", Result: store.LoginFailure, Reason: reasonTooManyConns})
	f.mustDial("bob", gossh.PublicKeys(f.bobKey)).Close() // others are not affected
	a.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := f.dial("alice", gossh.PublicKeys(f.aliceKey))
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a closed connection did not free its slot: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
