package proxy

import (
	"context"
	"errors"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/jms-bastion/jms/sshdial"
	"github.com/jms-bastion/jms/store"
)

// acquire finds the session a connection to the asset and opens the
// session's channel on it (s.ac, s.remote). With reuse on, that is a live
// connection of the same person to the same asset as the same account
// with room for one more channel; else, when another session's dial for
// that key is under way, the connection it makes (acquireShared); else a
// new one, which the sessions arriving meanwhile wait for. Only dialling
// reads the account's secret.
func (s *session) acquire(ctx context.Context, end *store.SessionEnd) error {
	s.log.Info("session starting", "kind", s.kind(), "source", s.req.Source, "pty", s.isPty, "filters", s.nrules)
	pin, pinOK := pinOf(s.req.Asset)
	if pin == "" && s.p.cfg.HostKeyPolicy == "require" {
		pinOK = false // no key trusted: only a dial says so
	}
	if s.p.cfg.SeparateConnections || !pinOK {
		return s.dialAlone(ctx, end, false)
	}
	return s.acquireShared(ctx, end, dialKey{connKey: keyOf(s.req), pin: pin})
}

// acquireShared shares a connection of dk with room, waits for the dial
// under way for dk, or dials for dk, until the session has a channel or
// a reason to fail. A connection that refuses the channel (sshd's
// MaxSessions) is full: the session looks again, and the first to find
// no room dials the next connection.
func (s *session) acquireShared(ctx context.Context, end *store.SessionEnd, dk dialKey) error {
	for {
		c, d, lead := s.p.pool.find(dk)
		switch {
		case c != nil:
			if s.share(c) {
				return nil
			}
		case lead:
			return s.dialFor(ctx, end, dk, d)
		default:
			again, reason, err := s.await(ctx, d)
			if err != nil {
				return s.dialFailed(end, reason, err)
			}
			if !again {
				return s.dialAlone(ctx, end, true)
			}
		}
	}
}

// share opens the session's channel on c, a pooled connection it was
// counted in on. It reports false when c refused, and counts the session
// out of c again.
func (s *session) share(c *assetConn) bool {
	r, err := s.openShared(c)
	if err == nil {
		s.log.Debug("sharing a connection to the asset")
		s.ac, s.remote = c, r
		return true
	}
	s.log.Debug("a shared connection refused a channel", "err", err)
	if s.p.pool.refused(c, err) {
		closeConn(c.conn, nil)
	}
	return false
}

// dialFor dials the connection that d stands for and ends d: the sessions
// waiting on it then share the connection, or fail as this dial failed,
// or, when it failed because this session ended, one of them dials anew.
func (s *session) dialFor(ctx context.Context, end *store.SessionEnd, dk dialKey, d *pendingDial) error {
	c, reason, err := s.dialNew(ctx, true)
	if err != nil {
		d.err, d.reason, d.redial = err, reason, ctx.Err() != nil
	}
	s.p.pool.dialed(dk, d, c)
	if err != nil {
		return s.dialFailed(end, reason, err)
	}
	s.ac = c
	return nil
}

// await waits, at most the connect timeout, for d, the dial of another
// session. again reports that the session should look for a connection
// again: the dial made one, or its session ended before it could say. A
// failed dial is the waiter's failure too (err, and reason for the row):
// a second dial to the same address, as the same account, with the same
// secret and the same pinned key, would fail the same way. When the wait
// runs out (again false, err nil) the session dials its own connection.
func (s *session) await(ctx context.Context, d *pendingDial) (again bool, reason string, err error) {
	defer s.p.pool.left(d)
	t := time.NewTimer(s.p.cfg.ConnectTimeout)
	defer t.Stop()
	select {
	case <-d.done:
		if d.err == nil || d.redial {
			return true, "", nil
		}
		return false, d.reason, d.err
	case <-ctx.Done():
		de := &sshdial.Error{Kind: sshdial.Canceled, Reason: "canceled while connecting", Err: context.Cause(ctx)}
		return false, de.Reason, dialError(de, s.req.Asset, s.req.Account)
	case <-t.C:
		s.log.Debug("another session's dial to the asset is taking long: dialling apart", "timeout", s.p.cfg.ConnectTimeout)
		return false, "", nil
	}
}

// dialAlone dials a connection for the session, listed in the pool for
// others to share when pooled.
func (s *session) dialAlone(ctx context.Context, end *store.SessionEnd, pooled bool) error {
	c, reason, err := s.dialNew(ctx, pooled)
	if err != nil {
		return s.dialFailed(end, reason, err)
	}
	s.p.pool.list(c)
	s.ac = c
	return nil
}

// dialNew dials the asset and opens the session's channel on the new
// connection before any other session can share it. It returns the
// connection's entry, not listed yet, or the end reason and the error as
// Proxy.dial does.
func (s *session) dialNew(ctx context.Context, pooled bool) (*assetConn, string, error) {
	dr, err := s.p.dial(ctx, s.req)
	if err != nil {
		return nil, dr.reason, err
	}
	r, err := s.openWithin(dr.conn, func() { _ = dr.conn.Close() })
	switch {
	case errors.Is(err, errOpenTimeout):
		return nil, err.Error(), userErrorf(err, "jms: %s did not answer a session open within %s", s.req.Asset.Name, s.p.cfg.ConnectTimeout)
	case err != nil:
		closeConn(dr.conn, nil)
		return nil, "the asset refused a session: " + err.Error(), userErrorf(err, "jms: %s refused a session: %s", s.req.Asset.Name, err)
	}
	s.remote = r
	return newConn(keyOf(s.req), dr.conn, pooled), "", nil
}

// errOpenTimeout: a shared connection did not answer a channel open.
var errOpenTimeout = errors.New("the asset did not answer a channel open in time")

// openShared opens the session's channel on a shared connection. An asset
// that does not answer within the connect timeout is taken for dead (as
// a dial would be): the connection leaves the pool and closes, ending the
// sessions stuck on it, and the caller dials anew.
func (s *session) openShared(c *assetConn) (*remote, error) {
	return s.openWithin(c.conn, func() {
		s.log.Warn("the asset did not answer a channel open on a shared connection: closing it", "timeout", s.p.cfg.ConnectTimeout)
		s.p.pool.drop(c)
		_ = c.conn.Close()
	})
}

// openWithin opens a session channel on conn, or, when the asset does not
// answer within the connect timeout, runs closeConn (which must end the
// open by closing conn) and returns errOpenTimeout. A new connection gets
// the same deadline as a shared one: without it, a session (and the
// sessions waiting for its dial) would hang on an asset that took the
// connection but never answers.
func (s *session) openWithin(conn *sshdial.Conn, closeConn func()) (*remote, error) {
	t := time.AfterFunc(s.p.cfg.ConnectTimeout, closeConn)
	r, err := openRemote(conn)
	if !t.Stop() {
		if err == nil {
			_ = r.close()
		}
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
