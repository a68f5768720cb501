package bastion

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"charm.land/ssh"
	gossh "golang.org/x/crypto/ssh"
)

// keepaliveMisses is how many keepalives in a row a client may leave
// unanswered, like OpenSSH's ClientAliveCountMax: with one sent at
// login and one every interval, a silent client is closed keepaliveMisses
// intervals after its last answer.
const keepaliveMisses = 3

// keepaliveSender is what keepalive needs of a connection.
type keepaliveSender interface {
	SendRequest(name string, wantReply bool, payload []byte) (bool, []byte, error)
	Close() error
}

// keepalives starts, once per connection, the client keepalives: a
// keepalive@openssh.com request at once and every interval (OpenSSH's
// ClientAliveInterval); a client that leaves keepaliveMisses of them
// unanswered in a row is gone (a dead network, a suspended laptop) and
// its connection is closed, which ends its sessions and frees the
// upstream connections. Any reply counts, a failure too: OpenSSH
// clients answer unknown requests with a failure. The server starts
// them at login; the channel handlers' calls find them started.
func (s *Server) keepalives(ctx context.Context, cs *connState, conn keepaliveSender) {
	if s.cfg.Keepalive <= 0 {
		return
	}
	cs.keepaliveOnce.Do(func() {
		startKeepalives(ctx, conn, s.cfg.Keepalive, func() {
			s.log.Info("closing a connection whose client stopped answering keepalives", "source", cs.source)
		})
	})
}

// startKeepalives sends a keepalive now and one every interval until ctx
// ends or the client is found gone. Between two beats it holds a timer,
// not a goroutine: an idle connection costs no stack for its keepalives.
func startKeepalives(ctx context.Context, conn keepaliveSender, every time.Duration, onDead func()) {
	k := &keepaliver{conn: conn, onDead: onDead}
	if !k.beat() {
		return
	}
	var mu sync.Mutex // orders the timer's creation before its first beat
	mu.Lock()
	defer mu.Unlock()
	var t *time.Timer
	t = time.AfterFunc(every, func() {
		mu.Lock()
		defer mu.Unlock()
		if ctx.Err() == nil && k.beat() {
			t.Reset(every)
		}
	})
	context.AfterFunc(ctx, func() { t.Stop() })
}

// keepaliver counts the keepalives of one connection that have no reply.
type keepaliver struct {
	conn       keepaliveSender
	onDead     func()
	unanswered atomic.Int32
	sending    sync.WaitGroup // keepalives waiting for their reply
}

// beat is one tick: once keepaliveMisses keepalives in a row have no
// reply, it calls onDead, closes the connection and reports false;
// otherwise it sends one more, aside (SendRequest blocks until the reply,
// and a silent client is counted by the ticks, not waited for).
func (k *keepaliver) beat() bool {
	if k.unanswered.Load() >= keepaliveMisses {
		k.onDead()
		_ = k.conn.Close()
		return false
	}
	k.unanswered.Add(1)
	k.sending.Go(func() {
		if _, _, err := k.conn.SendRequest("keepalive@openssh.com", true, nil); err == nil {
			k.unanswered.Store(0)
		}
	})
	return true
}

// loginConn is the SSH connection of a login as keepalives need it: at
// login the handshake is not over yet, so the *gossh.ServerConn is
// looked up in the context when a keepalive is sent.
type loginConn struct {
	ctx  context.Context
	conn net.Conn
}

func (c loginConn) SendRequest(name string, wantReply bool, payload []byte) (bool, []byte, error) {
	sc, _ := c.ctx.Value(ssh.ContextKeyConn).(*gossh.ServerConn)
	if sc == nil {
		return false, nil, errors.New("the handshake is not over")
	}
	return sc.SendRequest(name, wantReply, payload)
}

func (c loginConn) Close() error { return c.conn.Close() }

var _ keepaliveSender = (*gossh.ServerConn)(nil)
