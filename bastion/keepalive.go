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
		go func() {
			t := time.NewTicker(s.cfg.Keepalive)
			defer t.Stop()
			runKeepalives(ctx, conn, t.C, func() {
				s.log.Info("closing a connection whose client stopped answering keepalives", "source", cs.source)
			})
		}()
	})
}

// runKeepalives sends a keepalive now and at every tick, until ctx ends
// or keepaliveMisses of them in a row are unanswered at a tick: then it
// calls onDead and closes conn.
func runKeepalives(ctx context.Context, conn keepaliveSender, tick <-chan time.Time, onDead func()) {
	var unanswered atomic.Int32
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		if unanswered.Load() >= keepaliveMisses {
			onDead()
			_ = conn.Close()
			return
		}
		unanswered.Add(1)
		// SendRequest blocks until the reply; run it aside so that a
		// silent client is counted by the ticker, not waited for.
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, _, err := conn.SendRequest("keepalive@openssh.com", true, nil); err == nil {
				unanswered.Store(0)
			}
		}()
		select {
		case <-ctx.Done():
			return
		case <-tick:
		}
	}
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
