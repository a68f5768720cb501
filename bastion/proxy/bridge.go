package proxy

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"time"

	"charm.land/ssh"
	gossh "golang.org/x/crypto/ssh"

	"github.com/jms-bastion/jms/bastion/filter"
	"github.com/jms-bastion/jms/bastion/sessionerr"
	"github.com/jms-bastion/jms/recorder"
)

// Buffers: each copier starts with a small buffer, so that an idle session
// costs little (three copiers hold 1.5 KiB), and takes a big pooled one
// while data comes in bulk, or for any read that fills the small one.
const (
	smallBuf = 512
	bigBuf   = 64 << 10
)

var bigPool = sync.Pool{New: func() any { b := make([]byte, bigBuf); return &b }}

// buffer is a copier's read buffer that grows under bulk traffic and
// shrinks back when it stops. It does not allocate per chunk.
type buffer struct {
	small [smallBuf]byte
	big   *[]byte
	bulk  bool // reads fill the small buffer: use big ones
}

func (b *buffer) bytes() []byte {
	if !b.bulk {
		return b.small[:]
	}
	if b.big == nil {
		b.big = bigPool.Get().(*[]byte)
	}
	return *b.big
}

// adapt picks the buffer for the next read after one of n bytes.
func (b *buffer) adapt(n int) {
	switch {
	case !b.bulk && n == smallBuf:
		b.bulk = true
	case b.bulk && n < smallBuf:
		b.bulk = false
		b.release()
	}
}

// take hands the big buffer over (to the recording queue).
func (b *buffer) take() *[]byte {
	p := b.big
	b.big = nil
	return p
}

func (b *buffer) release() {
	if b.big != nil {
		bigPool.Put(b.big)
		b.big = nil
	}
}

// startRemote passes on the locale and the PTY on the session channel
// acquire opened, and starts the shell or the command.
func (s *session) startRemote() (*remote, error) {
	r := s.remote
	var err error
	for _, kv := range s.down.Environ() {
		k, v, ok := strings.Cut(kv, "=")
		if ok && (k == "LANG" || strings.HasPrefix(k, "LC_")) {
			_ = r.setenv(k, v) // sshd refuses what its AcceptEnv does not name: fine
		}
	}
	if s.isPty {
		term := s.pty.Term
		if term == "" {
			term = "vt100"
		}
		if err := r.requestPty(term, s.pty.Window.Height, s.pty.Window.Width, s.pty.Modes); err != nil {
			r.close()
			return nil, userErrorf(err, "jms: %s refused a terminal: %s", s.req.Asset.Name, err)
		}
	}
	if s.req.Command == "" {
		err = r.shell()
	} else {
		err = r.start(s.req.Command)
	}
	if err != nil {
		r.close()
		return nil, userErrorf(err, "jms: %s refused to start the session: %s", s.req.Asset.Name, err)
	}
	return r, nil
}

// bridge runs the shell or command on the asset and carries its I/O until
// it ends. exited reports whether the asset sent an exit status (or
// signal); otherwise status is ExitLost.
func (s *session) bridge(ctx context.Context) (status int, exited bool, err error) {
	r, err := s.startRemote()
	if err != nil {
		return ExitLost, false, err
	}
	defer r.close()

	bctx, cancel := context.WithCancelCause(ctx)
	s.cancel = cancel
	defer cancel(nil)
	// Ending the bridge (kill, shutdown, client gone, recording failed)
	// closes the session's channel (and the asset's connection when no
	// other session shares it), which unblocks every copier.
	aborted := make(chan struct{})
	stopClose := context.AfterFunc(bctx, func() { defer close(aborted); s.abort(r) })
	defer stopClose()

	var q *recQueue
	if s.rec != nil {
		q = s.startRecQueue()
	}
	if s.isPty {
		w, h := s.pty.Window.Width, s.pty.Window.Height
		if w <= 0 || h <= 0 {
			w, h = 80, 24
		}
		s.tracker = filter.NewLineTracker(w, h)
		if s.nrules == 0 {
			s.tracker.Unfiltered()
		}
	}
	s.carry(bctx, r, q)

	// Tear down: stop signal delivery first (the request loop delivering
	// one holds a lock that Signals needs, so the control loop keeps
	// draining meanwhile), then the control loop and the channel (the
	// connection closes once its last session lets it go: releaseConn).
	// An abort that began runs to its end first: run late (its own
	// goroutine), it would judge the connection alone once this session
	// let it go, and close it under another.
	s.down.Signals(nil)
	if !stopClose() {
		<-aborted
		if s.abortTimer != nil {
			s.abortTimer.Stop()
		}
	}
	cancel(nil)
	<-s.ctlDone
	r.close()
	if q != nil {
		q.close() // both pumps and the control loop are done with it
	}
	s.stopInput()
	return s.result(ctx, r)
}

// carry starts the copiers and the control loop and waits for the asset's
// side to end: the session channel closed, or the control loop ended.
func (s *session) carry(ctx context.Context, r *remote, q *recQueue) {
	var outMu *sync.Mutex // notices go to stdout only with a PTY
	if s.isPty {
		outMu = &s.outMu
	}
	var stderrDone sync.WaitGroup
	stderrDone.Go(func() { s.pumpOut(recorder.StreamStderr, r.stderr, s.down.Stderr(), q, nil, nil) })

	s.startInput(ctx, r.stdin, q)

	sigs := make(chan ssh.Signal, 8)
	s.down.Signals(sigs)
	s.ctlDone = make(chan struct{})
	go func() { defer close(s.ctlDone); s.control(ctx, r, sigs, q) }()

	// stdout is copied here, in the session's own goroutine: one goroutine
	// fewer per session.
	s.pumpOut(recorder.StreamStdout, r.stdout, s.down, q, s.tracker, outMu)
	stderrDone.Wait()
	select { // the exit status comes before the channel closes
	case <-r.ended:
	case <-s.ctlDone: // ended from inside (ctx): result says why
	}
}

// result maps how the bridge ended to the exit status to pass on and the
// error to tell the person.
func (s *session) result(ctx context.Context, r *remote) (status int, exited bool, err error) {
	s.mu.Lock()
	endedBy, userErr := s.endedBy, s.userErr
	s.mu.Unlock()

	status, exited, missing := ExitLost, false, false
	select {
	case <-r.ended: // the control loop wrote r.exit before
		status, exited, missing = r.exit.outcome()
	default:
	}
	if userErr != nil {
		return ExitLost, false, userErr
	}
	if errors.Is(endedBy, errClientGone) {
		return status, exited, nil
	}
	if ctx.Err() != nil {
		cause := context.Cause(ctx)
		if errors.Is(cause, sessionerr.ErrKilled) {
			return ExitLost, false, userErrorf(cause, "jms: session ended: %s", cause)
		}
		return ExitLost, false, userErrorf(cause, "jms: session ended by the bastion")
	}
	if !exited {
		if missing {
			return ExitLost, false, userErrorf(errExitMissing, "jms: connection to %s closed without an exit status", s.req.Asset.Name)
		}
		return ExitLost, false, userErrorf(errExitUnreadable, "jms: connection to %s lost", s.req.Asset.Name)
	}
	return status, exited, nil
}

// pumpOut copies the asset's output (stream) to the person and queues it
// for the recording. It returns at the end of src or when the person's
// side fails. With a tracker, the output also goes to it once the person
// has it; mu, when not nil, is held around each write to the person.
func (s *session) pumpOut(stream recorder.Stream, src io.Reader, dst io.Writer, q *recQueue, tr *filter.LineTracker, mu *sync.Mutex) {
	var b buffer
	defer b.release()
	for {
		buf := b.bytes()
		n, err := src.Read(buf)
		if n > 0 {
			if q != nil && !s.recOK.Load() && s.p.cfg.RecordingFailure != "continue" {
				return // the recording failed: nothing more goes out
			}
			if tr != nil {
				// Before the person sees it: what she types after a
				// prompt she saw is then read against that prompt.
				tr.Output(buf[:n])
			}
			if mu != nil {
				mu.Lock()
			}
			_, werr := dst.Write(buf[:n])
			if mu != nil {
				mu.Unlock()
			}
			if werr != nil {
				s.endWith(errClientGone, nil)
				return
			}
			s.p.cfg.Metrics.RelayedOut(n)
			if q != nil && s.recOK.Load() {
				if b.big != nil {
					q.data(stream, b.take(), n)
				} else {
					q.dataCopy(stream, buf[:n])
				}
			}
		}
		if err != nil {
			return
		}
		b.adapt(n)
	}
}

// recordInput records a chunk of the person's input when input is
// recorded: into the raw stream file through the queue for a session that
// has one, into the cast otherwise. It reports whether the session goes
// on.
func (s *session) recordInput(q *recQueue, p []byte) bool {
	if !s.p.cfg.RecordInput || !s.recOK.Load() {
		return true
	}
	if s.raw != nil && q != nil {
		q.dataCopy(recorder.StreamStdin, p)
		return true
	}
	if rerr := s.rec.Input(p); rerr != nil {
		return s.recordFailed(rerr)
	}
	s.p.cfg.Metrics.Recorded(len(p))
	return true
}

// control carries window changes and signals to the asset and sends
// keepalives, until ctx ends. It also serves what the asset sends besides
// the streams (the session channel's requests, with the exit status, and
// the connection's global requests and channel opens), so that no
// goroutine of x/crypto's client waits on them.
func (s *session) control(ctx context.Context, r *remote, sigs <-chan ssh.Signal, q *recQueue) {
	winch := s.winch
	if !s.isPty {
		winch = nil
	}
	cur := s.pty.Window
	var tick <-chan time.Time
	if s.p.cfg.Keepalive > 0 {
		t := time.NewTicker(s.p.cfg.Keepalive)
		defer t.Stop()
		tick = t.C
	}
	a := assetEvents{reqs: r.reqs, global: r.conn.Reqs, chans: r.conn.Chans}
	k := keepalive{answered: make(chan struct{}, 1)}
	for {
		select {
		case <-ctx.Done():
			return
		case w, ok := <-winch:
			if !ok {
				winch = nil
				continue
			}
			if w.Width <= 0 || w.Height <= 0 || (w.Width == cur.Width && w.Height == cur.Height) {
				continue
			}
			cur = w
			s.resize(r, q, w)
		case sig := <-sigs:
			if err := r.signal(string(sig)); err != nil {
				s.log.Debug("signal not passed on", "signal", sig, "err", err)
			}
		case req, ok := <-a.reqs:
			if !ok {
				a.reqs = nil
				close(r.ended)
				continue
			}
			r.channelRequest(req)
		case req, ok := <-a.global:
			if !ok {
				a.global = nil
				s.p.pool.drop(s.ac) // the connection is gone
			} else if req.WantReply {
				_ = req.Reply(false, nil)
			}
		case nc, ok := <-a.chans:
			if !ok {
				a.chans = nil
			} else {
				rejectChannel(nc)
			}
		case <-k.answered:
			k.inFlight, k.missed = false, 0
		case <-tick:
			if !s.keepalive(r, &k) {
				return
			}
		}
	}
}

// assetEvents are the channels the control loop serves for the asset;
// each is set to nil once closed.
type assetEvents struct {
	reqs   <-chan *gossh.Request // the session channel's
	global <-chan *gossh.Request
	chans  <-chan gossh.NewChannel
}

// resize passes a new window size on to the asset, the line tracker and
// the recording.
func (s *session) resize(r *remote, q *recQueue, w ssh.Window) {
	if ws, ok := s.down.(windowSetter); ok {
		ws.SetWindow(w)
	}
	if err := r.windowChange(w.Height, w.Width); err != nil {
		s.log.Debug("window change not passed on", "err", err)
	}
	if s.tracker != nil {
		s.tracker.Resize(w.Width, w.Height)
	}
	if q != nil && s.recOK.Load() {
		q.resize(w.Width, w.Height)
	}
}

// keepalive is the state of the keepalives to the asset.
type keepalive struct {
	inFlight bool
	missed   int
	answered chan struct{}
}

// keepalive is one tick of the keepalives: it sends one unless one is
// still unanswered, and ends the session (reporting false) once
// keepaliveMax ticks went by without an answer.
func (s *session) keepalive(r *remote, k *keepalive) bool {
	if k.inFlight {
		k.missed++
		if k.missed >= keepaliveMax {
			s.log.Warn("the asset stopped answering keepalives: closing", "missed", k.missed)
			s.endWith(errKeepalive, userErrorf(errKeepalive, "jms: connection to %s lost (no answer to %d keepalives)",
				s.req.Asset.Name, k.missed))
			s.connLost()
			return false
		}
		return true
	}
	k.inFlight = true
	// The reply (any reply, even a refusal) comes back on answered; when
	// the connection closes, SendRequest fails and the goroutine ends.
	go func() {
		if _, _, err := r.conn.SendRequest("keepalive@openssh.com", true, nil); err == nil {
			select {
			case k.answered <- struct{}{}:
			default:
			}
		}
	}()
	return true
}
