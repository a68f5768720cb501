package bastion

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// idleWarning is how long before the idle timeout the person is warned:
// a minute, or the last tenth of a shorter timeout.
func idleWarning(timeout time.Duration) time.Duration {
	return min(time.Minute, timeout/10)
}

// watchIdle ends an interactive session (the menu, a shell) once the
// person has typed nothing for cfg.IdleTimeout: it warns her first, then
// cancels ctx with errIdle, which ends the menu and the proxied session
// running in it (recorded with the end reason "idle timeout"). It returns
// a function that stops the watch; a zero timeout watches nothing.
func (s *Server) watchIdle(ctx context.Context, cancel context.CancelCauseFunc, term *terminal, log *slog.Logger) (stop func()) {
	timeout := s.cfg.IdleTimeout
	warnAfter := timeout - idleWarning(timeout)
	var warned time.Time // the input time the warning was about
	return s.watchQuiet(ctx, cancel, term.idleSince, func(last time.Time, idle time.Duration) {
		if idle >= warnAfter && !warned.Equal(last) {
			warned = last
			left := (timeout - idle).Round(time.Second)
			term.notice(fmt.Sprintf("jms: no input for %s: this session ends in %s unless you type something",
				fmtIdle(idle), fmtIdle(left)))
		}
	}, log)
}

// fmtIdle writes d for people: 45s, 1m30s, 29m, 1h30m.
func fmtIdle(d time.Duration) string {
	d = d.Round(time.Second)
	if d < time.Minute || d%time.Minute != 0 && d < time.Hour {
		return d.String()
	}
	return strings.TrimSuffix(d.Round(time.Minute).String(), "0s")
}

// watchActivity ends a session without a terminal (a forward, SFTP)
// once it has been quiet for cfg.IdleTimeout: it cancels ctx with
// errIdle. last returns when it last saw activity (a byte either way
// through a forward, a request from an SFTP client). It returns a function
// that stops the watch; a zero timeout watches nothing.
func (s *Server) watchActivity(ctx context.Context, cancel context.CancelCauseFunc, last func() time.Time) (stop func()) {
	return s.watchQuiet(ctx, cancel, last, nil, s.log)
}

// watchQuiet is the one idle watch: every tick it asks last when the
// session was last active, cancels ctx with errIdle once that is
// cfg.IdleTimeout ago, and otherwise hands the idle time to tick (nil:
// nothing to do). It returns a function that stops the watch; a zero
// timeout watches nothing.
func (s *Server) watchQuiet(ctx context.Context, cancel context.CancelCauseFunc, last func() time.Time,
	tick func(last time.Time, idle time.Duration), log *slog.Logger) (stop func()) {
	timeout := s.cfg.IdleTimeout
	if timeout <= 0 {
		return func() {}
	}
	every := min(max(timeout/50, 20*time.Millisecond), time.Second)
	// A timer, not a goroutine, between two looks: an idle session costs
	// no stack for its watch. mu orders the looks with stop.
	var (
		mu      sync.Mutex
		stopped bool
		t       *time.Timer
	)
	look := func() {
		mu.Lock()
		defer mu.Unlock()
		if stopped || ctx.Err() != nil {
			return
		}
		at := last()
		idle := time.Since(at)
		if idle >= timeout {
			log.Debug("idle timeout reached", "idle", idle.Round(time.Second))
			stopped = true
			cancel(errIdle)
			return
		}
		if tick != nil {
			tick(at, idle)
		}
		t.Reset(every)
	}
	mu.Lock()
	t = time.AfterFunc(every, look)
	mu.Unlock()
	stopCtx := context.AfterFunc(ctx, func() { t.Stop() })
	return func() {
		stopCtx()
		mu.Lock()
		defer mu.Unlock()
		stopped = true
		t.Stop()
	}
}
