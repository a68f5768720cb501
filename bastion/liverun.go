package bastion

import (
	"context"
	"time"
)

// liveRun runs one session without a terminal (SFTP, a forward) under the
// live registry: its context ends with a kill, a revocation, the idle
// timeout or the maximum session duration, each as the cause.
type liveRun struct {
	s    *Server
	ctx  context.Context
	kill context.CancelCauseFunc

	id       string // set by join
	stopIdle func()
	cancel   context.CancelFunc // of the maximum duration
}

// newLiveRun returns a run under parent; end it with done.
func (s *Server) newLiveRun(parent context.Context) *liveRun {
	r := &liveRun{s: s, stopIdle: func() {}, cancel: func() {}}
	r.ctx, r.kill = context.WithCancelCause(parent)
	if d := s.cfg.MaxSessionDuration; d > 0 {
		r.ctx, r.cancel = context.WithTimeoutCause(r.ctx, d, errMaxDuration)
	}
	return r
}

// join registers the session once it has started, and watches last (when
// it was last active) against the idle timeout.
func (r *liveRun) join(ls *liveSession, last func() time.Time) {
	r.id = ls.id
	ls.cancel = r.kill
	r.s.register(ls)
	r.stopIdle = r.s.watchActivity(r.ctx, r.kill, last)
}

// done unregisters the session and releases the run.
func (r *liveRun) done() {
	r.stopIdle()
	if r.id != "" {
		r.s.live.remove(r.id)
	}
	r.cancel()
	r.kill(nil)
}
