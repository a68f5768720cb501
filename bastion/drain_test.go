package bastion

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/jms-bastion/jms/store"
)

// lockedBuffer is a bytes.Buffer safe for a writer and a reader.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestDrain: a drain refuses new connections, warns a running command
// on its stderr (not its stdout), and at its end ends it as the server
// shutting down, its row closed, before Drain returns.
func TestDrain(t *testing.T) {
	f := newFixture(t, nil)
	started := make(chan string, 1)
	f.proxy.hook = holdProxy(f.st, started)
	c := f.mustDial("alice", gossh.PublicKeys(f.aliceKey))
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr lockedBuffer
	sess.Stdout, sess.Stderr = &stdout, &stderr
	if err := sess.Start("web2 hold"); err != nil {
		t.Fatal(err)
	}
	id := <-started
	if got := f.srv.LiveSessions(); got[store.SessionShell] != 1 || len(got) != 1 {
		t.Errorf("live sessions by kind: %v", got)
	}
	t.Log("started")

	second, now := context.WithCancel(context.Background())
	defer now()
	done := make(chan int, 1)
	go func() { done <- f.srv.Drain(second, time.Hour) }()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(stderr.String(), "jms: this server is shutting down: your session on web2 ends within 60 minutes") {
		if time.Now().After(deadline) {
			t.Fatalf("no warning on stderr: %q (stdout %q)", stderr.String(), stdout.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if strings.Contains(stdout.String(), "shutting down") {
		t.Errorf("the warning went to the command's stdout: %q", stdout.String())
	}
	if !f.srv.Draining() {
		t.Error("Draining is false during a drain")
	}
	if _, err := f.dial("alice", gossh.PublicKeys(f.aliceKey)); err == nil {
		t.Error("a draining server let a new connection log in")
	}
	t.Log("warned")
	now() // the second signal
	select {
	case n := <-done:
		if n != 1 {
			t.Errorf("Drain ended %d sessions, want 1", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Drain did not return after the second signal")
	}
	t.Log("drained")
	ss, err := f.st.GetSession(context.Background(), id)
	if err != nil || ss.Status != store.StatusClosed || ss.EndReason != errDrained.Error() {
		t.Fatalf("the drained session's row: %+v, %v", ss, err)
	}
	_ = sess.Wait()
}

// TestDrainIdle: a server with no one logged in drains at once.
func TestDrainIdle(t *testing.T) {
	f := newFixture(t, nil)
	begin := time.Now()
	if n := f.srv.Drain(context.Background(), time.Hour); n != 0 {
		t.Fatalf("ended %d sessions", n)
	}
	if d := time.Since(begin); d > 5*time.Second {
		t.Fatalf("an idle drain took %v", d)
	}
}

func TestRoughly(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{-time.Second, "0 seconds"},
		{3 * time.Second, "3 seconds"},
		{119 * time.Second, "119 seconds"},
		{2 * time.Minute, "2 minutes"},
		{time.Hour, "60 minutes"},
		{59*time.Minute + 40*time.Second, "60 minutes"},
	} {
		if got := roughly(tc.d); got != tc.want {
			t.Errorf("roughly(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}
