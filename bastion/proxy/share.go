package proxy

import (
	"context"
	"errors"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/jms-bastion/jms/store"
)

// acquire finds the session a connection to the asset: with reuse on, a
// live one of the same person to the same asset as the same account, on
// which it opens the session's channel at once (s.remote); otherwise, or
// when each refuses a channel (sshd's MaxSessions), a new one, whose
// channel startRemote opens. Only dialling reads the account's secret.
func (s *session) acquire(ctx context.Context, end *store.SessionEnd) error {
	s.log.Info("session starting", "kind", s.kind(), "source", s.req.Source, "pty", s.isPty, "filters", s.nrules)
	key := keyOf(s.req)
	pin, pinOK := pinOf(s.req.Asset)
	if pin == "" && s.p.cfg.HostKeyPolicy == "require" {
		pinOK = false // no key trusted: only a dial says so
	}
	reuse := !s.p.cfg.SeparateConnections
	if reuse && pinOK {
		for c := s.p.pool.take(key, pin); c != nil; c = s.p.pool.take(key, pin) {
			r, err := s.openShared(c)
			if err == nil {
				s.log.Debug("sharing a connection to the asset")
				s.ac, s.remote = c, r
				return nil
			}
			s.log.Debug("a shared connection refused a channel", "err", err)
			if s.p.pool.refused(c, err) {
				closeConn(c.conn, nil)
			}
		}
	}
	conn, err := s.dial(ctx, end)
	if err != nil {
		return err
	}
	s.ac = s.p.pool.add(key, conn, reuse)
	return nil
}

// errOpenTimeout: a shared connection did not answer a channel open.
var errOpenTimeout = errors.New("the asset did not answer a channel open in time")

// openShared opens the session's channel on a shared connection. An asset
// that does not answer within the connect timeout is taken for dead (as
// a dial would be): the connection leaves the pool and closes, ending the
// sessions stuck on it, and the caller dials anew.
func (s *session) openShared(c *assetConn) (*remote, error) {
	t := time.AfterFunc(s.p.cfg.ConnectTimeout, func() {
		s.log.Warn("the asset did not answer a channel open on a shared connection: closing it", "timeout", s.p.cfg.ConnectTimeout)
		s.p.pool.drop(c)
		_ = c.conn.Close()
	})
	r, err := openRemote(c.conn)
	if !t.Stop() && err == nil {
		_ = r.close()
		return nil, errOpenTimeout
	}
	return r, err
}

// releaseConn counts the session out of its connection (releaseConn).
func (s *session) releaseConn() {
	var sreqs <-chan *gossh.Request
	if s.remote != nil {
		sreqs = s.remote.reqs
	}
	s.p.releaseConn(s.ac, sreqs)
}

// releaseConn counts a session out of c; sreqs are the requests of its
// channel (nil when it opened none). The last session closes the
// connection (closeConn); one leaving others on it takes its channel's
// last requests until the asset confirms the channel's close, so that
// they do not stall the connection.
func (p *Proxy) releaseConn(c *assetConn, sreqs <-chan *gossh.Request) {
	if p.pool.release(c) {
		closeConn(c.conn, sreqs)
		return
	}
	if sreqs != nil {
		go drainRequests(sreqs)
	}
}

func drainRequests(reqs <-chan *gossh.Request) {
	for req := range reqs {
		if req.WantReply {
			_ = req.Reply(false, nil)
		}
	}
}

// abort ends the session's side on the asset from the bastion's (kill,
// shutdown, client gone): it closes the session's channel, and the
// connection too when no other session uses it, which unblocks every
// copier at once. On a shared connection the copiers end once the asset
// confirms the channel's close: one that does not within the connect
// timeout is taken for dead and its connection closed (abortTimer, which
// the bridge stops once its copiers are done).
func (s *session) abort(r *remote) {
	_ = r.close()
	if s.p.pool.alone(s.ac) {
		_ = s.ac.conn.Close()
		return
	}
	s.abortTimer = time.AfterFunc(s.p.cfg.ConnectTimeout, func() {
		s.log.Warn("the asset did not confirm the close of a session on a shared connection: closing it", "timeout", s.p.cfg.ConnectTimeout)
		s.connLost()
	})
}

// connLost takes the session's connection out of the pool and closes it:
// the asset stopped answering on it, for every session it carries.
func (s *session) connLost() {
	s.p.pool.drop(s.ac)
	_ = s.ac.conn.Close()
}
