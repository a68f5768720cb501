package bastion

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
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
		ctx, cancel := context.WithCancel(context.Background())
		c := newFakeKeepaliveConn(true)
		done := make(chan struct{})
		go func() { runKeepalives(ctx, c, 5*time.Millisecond, func() {}); close(done) }()
		time.Sleep(100 * time.Millisecond)
		select {
		case <-c.closed:
			t.Fatal("a client that answers was closed")
		default:
		}
		if c.sent.Load() < 5 {
			t.Fatalf("only %d keepalives sent", c.sent.Load())
		}
		cancel()
		<-done
	})
	t.Run("silent client is closed", func(t *testing.T) {
		c := newFakeKeepaliveConn(false)
		dead := make(chan struct{})
		go runKeepalives(context.Background(), c, 5*time.Millisecond, func() { close(dead) })
		select {
		case <-c.closed:
		case <-time.After(5 * time.Second):
			t.Fatal("a silent client was not closed")
		}
		<-dead
		if n := c.sent.Load(); n != keepaliveMisses {
			t.Fatalf("closed after %d keepalives, want %d", n, keepaliveMisses)
		}
	})
}
