package bastion

import (
	"context"
	"sync"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// keepaliveMisses is how many unanswered keepalives close a connection,
// like OpenSSH's ClientAliveCountMax.
const keepaliveMisses = 3

// keepaliveSender is what keepalive needs of a connection.
type keepaliveSender interface {
	SendRequest(name string, wantReply bool, payload []byte) (bool, []byte, error)
	Close() error
}

// keepalives starts, once per connection, the client keepalives: a
// keepalive@openssh.com request every interval (OpenSSH's
// ClientAliveInterval); a client that leaves keepaliveMisses of them
// unanswered in a row is gone (a dead network, a suspended laptop) and
// its connection is closed, which ends its sessions and frees the
// upstream connections. Any reply counts, a failure too: OpenSSH
// clients answer unknown requests with a failure.
func (s *Server) keepalives(ctx context.Context, cs *connState, conn keepaliveSender) {
	if s.cfg.Keepalive <= 0 {
		return
	}
	cs.keepaliveOnce.Do(func() {
		go runKeepalives(ctx, conn, s.cfg.Keepalive, func() {
			s.log.Info("closing a connection whose client stopped answering keepalives", "source", cs.source)
		})
	})
}

func runKeepalives(ctx context.Context, conn keepaliveSender, interval time.Duration, onDead func()) {
	t := time.NewTicker(interval)
	defer t.Stop()
	var mu sync.Mutex
	missed := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		mu.Lock()
		missed++
		dead := missed > keepaliveMisses
		mu.Unlock()
		if dead {
			onDead()
			_ = conn.Close()
			return
		}
		// SendRequest blocks until the reply; run it aside so that a
		// silent client is counted by the ticker, not waited for.
		go func() {
			if _, _, err := conn.SendRequest("keepalive@openssh.com", true, nil); err == nil {
				mu.Lock()
				missed = 0
				mu.Unlock()
			}
		}()
	}
}

var _ keepaliveSender = (*gossh.ServerConn)(nil)
