package transfer

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// defaultRecheck is how long an open file's grant check holds: its reads
// and writes check the grant again after that, so an action revoked
// while a file is open stops it within about this long.
const defaultRecheck = 2 * time.Second

// lease is an open file's right to one action (upload to write, download
// to read). The open checked the grant; I/O checks it again, through
// store.Authorize, once the last check is older than the Service's
// recheck. A refusal sticks: the file stays refused. While the lease is
// held, the live-session registry sees its action among the session's
// needs.
type lease struct {
	v      *vfs
	t      target
	op     string
	action string

	until atomic.Int64 // unix nanoseconds until which the last check holds

	mu       sync.Mutex
	err      error // the refusal, once revoked
	released bool
}

// newLease takes a lease on action for a file of t just opened under a
// check of the grant.
func (v *vfs) newLease(t target, op, action string) *lease {
	l := &lease{v: v, t: t, op: op, action: action}
	l.until.Store(time.Now().Add(v.s.recheck).UnixNano())
	v.opened(action, 1)
	return l
}

// check returns nil while the action is still granted, and the refusal
// (audited once) when it is not.
func (l *lease) check() error {
	if time.Now().UnixNano() < l.until.Load() {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return l.err
	}
	if time.Now().UnixNano() < l.until.Load() {
		return nil
	}
	v := l.v
	_, _, err := v.grant(v.ctx, l.t.f, l.op, l.action)
	var de *deniedError
	if errors.As(err, &de) {
		l.err = err
		v.log.Info("open file refused: its grant changed", "op", l.op, "asset", l.t.f.asset.Name, "account", l.t.f.account, "path", l.t.rpath, "why", de.why)
		v.event(v.ctx, l.t.f, l.op, l.t.rpath, 0, ResultDenied, "refused while open: "+de.why)
		return err
	}
	if err != nil {
		// The store could not say: refuse this I/O, ask again at the next.
		v.log.Error("checking the grant of an open file", "asset", l.t.f.asset.Name, "err", err)
		return denied("the grant could not be checked")
	}
	l.until.Store(time.Now().Add(v.s.recheck).UnixNano())
	return nil
}

// release ends the lease when its file closes. A nil lease does nothing.
func (l *lease) release() {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.released {
		l.released = true
		l.v.opened(l.action, -1)
	}
}
