package bastion

// Draining, for rolling restarts: the server stops accepting
// connections (a load balancer sees the port closed and /readyz false),
// closes those not logged in, tells every live session at its terminal
// when it will be ended, and lets the logged-in connections run until
// they end or the drain time is over. Then it ends the sessions left as
// the bastion ending them (status closed, not interrupted), waits for
// their rows and recordings to be closed, and closes the server.

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// errDrained ends the sessions a drain leaves at its end: their rows
// say "ended by the bastion: the server shut down".
var errDrained = errors.New("the server shut down")

// drainFinish bounds the wait for the ended sessions to close their
// rows and recordings (the asset's connection, the last bytes).
const drainFinish = 30 * time.Second

// drainTick is how often a drain looks whether the logged-in
// connections are gone.
const drainTick = 100 * time.Millisecond

// Draining reports whether the server is draining or closed: it
// accepts no connection, and is not ready for a load balancer.
func (s *Server) Draining() bool {
	s.lmu.Lock()
	defer s.lmu.Unlock()
	return s.closing
}

// LiveSessions returns how many sessions of each kind (shell, exec,
// sftp, forward) run now, for the metrics.
func (s *Server) LiveSessions() map[string]int { return s.live.byKind() }

// Connections returns how many connections are logged in now, with a
// session or in the menu, for the metrics.
func (s *Server) Connections() int { return s.conns.loggedInCount() }

// Drain stops accepting connections, closes those not logged in and
// warns the live sessions; then it waits for the logged-in connections
// to end, for up to timeout or until ctx ends (a second signal). Then it
// ends the sessions left, waits (drainFinish at most) for their rows and
// recordings to close, and closes the server. It returns how many
// sessions it ended.
func (s *Server) Drain(ctx context.Context, timeout time.Duration) int {
	end := s.now().Add(timeout)
	s.stopAccepting(end)
	for _, ls := range s.live.list() {
		s.warnDrain(ls, end)
	}
	s.waitLoggedOut(ctx, timeout)
	ended := s.endSessions()
	_ = s.Close()
	return ended
}

// stopAccepting closes the listeners and the connections not logged in,
// and remembers when the drain ends.
func (s *Server) stopAccepting(end time.Time) {
	s.lmu.Lock()
	s.closing = true
	s.drainEnd = end
	ls := s.listeners
	s.listeners = nil
	s.lmu.Unlock()
	for _, l := range ls {
		_ = l.Close()
	}
	s.conns.close()
}

// waitLoggedOut waits until no connection is logged in, for up to
// timeout or until ctx ends. A second warning goes to the sessions
// expiryWarning before the end of a drain longer than twice that.
func (s *Server) waitLoggedOut(ctx context.Context, timeout time.Duration) {
	over := time.NewTimer(timeout)
	defer over.Stop()
	var warn <-chan time.Time
	if timeout > 2*expiryWarning {
		t := time.NewTimer(timeout - expiryWarning)
		defer t.Stop()
		warn = t.C
	}
	tick := time.NewTicker(drainTick)
	defer tick.Stop()
	for s.conns.loggedInCount() > 0 {
		select {
		case <-ctx.Done():
			return
		case <-over.C:
			return
		case <-warn:
			for _, ls := range s.live.list() {
				s.warnDrain(ls, s.now().Add(expiryWarning))
			}
		case <-tick.C:
		}
	}
}

// endSessions ends every live session with errDrained and waits, up to
// drainFinish, until they have closed their rows and recordings (they
// leave the registry after that). It returns how many it ended.
func (s *Server) endSessions() int {
	list := s.live.list()
	for _, ls := range list {
		ls.cancel(errDrained)
	}
	if len(list) == 0 {
		return 0
	}
	s.log.Info("drain over: ending the sessions left", "sessions", len(list))
	deadline := time.NewTimer(drainFinish)
	defer deadline.Stop()
	tick := time.NewTicker(drainTick / 2)
	defer tick.Stop()
	for len(s.live.list()) > 0 {
		select {
		case <-deadline.C:
			s.log.Error("sessions did not close within the drain's finish", "sessions", len(s.live.list()), "waited", drainFinish)
			return len(list)
		case <-tick.C:
		}
	}
	return len(list)
}

// register adds a session to the live registry; on a draining server
// it is told at once when it will be ended.
func (s *Server) register(ls *liveSession) {
	s.live.add(ls)
	s.lmu.Lock()
	end := s.drainEnd
	s.lmu.Unlock()
	if !end.IsZero() {
		s.warnDrain(ls, end)
	}
}

// warnDrain tells the person of ls, at her terminal, when the drain
// ends her session.
func (s *Server) warnDrain(ls *liveSession, end time.Time) {
	if ls.notify == nil {
		return
	}
	ls.notify(fmt.Sprintf("jms: this server is shutting down: your session on %s ends within %s (at %s UTC); log in again to continue on another server",
		ls.asset, roughly(end.Sub(s.now())), end.UTC().Format("15:04")))
}

// roughly says d in whole minutes, or seconds under two minutes.
func roughly(d time.Duration) string {
	if d < 2*time.Minute {
		return fmt.Sprintf("%d seconds", max(0, int(d.Round(time.Second)/time.Second)))
	}
	return fmt.Sprintf("%d minutes", int(d.Round(time.Minute)/time.Minute))
}
