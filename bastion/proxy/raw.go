package proxy

import (
	"sync"

	"charm.land/ssh"
)

// charm.land/ssh either emulates a PTY (its default when a Server has no
// PtyHandler: writes then turn "\n" into "\r\n", which breaks full-screen
// programs on the asset) or allocates a real local one. A bastion wants
// neither: it accepts the request and passes raw bytes to the asset's own
// PTY. RawPtyHandler and RawSession do that.

type rawPtyKey struct{}

type rawPty struct {
	mu  sync.Mutex
	pty ssh.Pty
}

// rawPtys holds the PTY requests of one connection's sessions (a
// connection can carry several, e.g. with OpenSSH's ControlMaster).
type rawPtys struct {
	mu sync.Mutex
	m  map[ssh.Session]*rawPty
}

// RawPtyHandler is a charm.land/ssh PtyHandler (ssh.Server.PtyHandler)
// that accepts a PTY request without emulating or allocating anything. The
// request is kept in the connection's context for RawSession.
func RawPtyHandler(ctx ssh.Context, sess ssh.Session, pty ssh.Pty) (func() error, error) {
	ctx.Lock()
	all, _ := ctx.Value(rawPtyKey{}).(*rawPtys)
	if all == nil {
		all = &rawPtys{m: map[ssh.Session]*rawPty{}}
		ctx.SetValue(rawPtyKey{}, all)
	}
	ctx.Unlock()
	all.mu.Lock()
	all.m[sess] = &rawPty{pty: pty}
	all.mu.Unlock()
	return func() error {
		all.mu.Lock()
		delete(all.m, sess)
		all.mu.Unlock()
		return nil
	}, nil
}

// RawSession is a session of a server using RawPtyHandler, as a
// Downstream: its Pty reports the accepted request (charm.land/ssh's own
// Pty says "no PTY" when none was emulated or allocated), with the latest
// window size given to SetWindow.
type RawSession struct {
	ssh.Session
}

// NewRawSession wraps sess.
func NewRawSession(sess ssh.Session) RawSession { return RawSession{sess} }

func (r RawSession) state() *rawPty {
	all, _ := r.Session.Context().Value(rawPtyKey{}).(*rawPtys)
	if all == nil {
		return nil
	}
	all.mu.Lock()
	defer all.mu.Unlock()
	return all.m[r.Session]
}

// Pty returns the PTY request, the channel of window changes and whether a
// PTY was requested.
func (r RawSession) Pty() (ssh.Pty, <-chan ssh.Window, bool) {
	pty, winch, ok := r.Session.Pty()
	if ok {
		return pty, winch, true
	}
	st := r.state()
	if st == nil {
		return pty, winch, false
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.pty, winch, true
}

// SetWindow records the latest window size. Whoever reads the window
// changes (the proxy while it runs, the menu otherwise) calls it, so that
// the next Pty call reports the current size.
func (r RawSession) SetWindow(w ssh.Window) {
	if st := r.state(); st != nil {
		st.mu.Lock()
		st.pty.Window = w
		st.mu.Unlock()
	}
}

// windowSetter is what the proxy tells of window changes it reads.
type windowSetter interface {
	SetWindow(ssh.Window)
}
