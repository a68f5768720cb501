package bastion

import (
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"charm.land/ssh"
)

// terminal is one session channel as the handler uses it, possibly for
// several proxied sessions in a row (the menu loops). A single pump
// goroutine reads the client's input and a single forwarder follows the
// window size, so that a finished proxy session cannot keep reading
// keystrokes meant for the menu: each proxied session gets a view that
// stops reading when it is detached.
type terminal struct {
	sess   ssh.Session
	pty    ssh.Pty
	hasPty bool

	quit chan struct{}
	data chan []byte   // a chunk of input, owned by its reader until ack
	ack  chan struct{} // the chunk is consumed: the pump may reuse it
	err  error         // why input ended, set before data is closed

	readMu sync.Mutex // one reader at a time
	rest   []byte     // unread part of the current chunk

	lastInput atomic.Int64 // when the person last typed, in Unix nanoseconds

	// A proxied session may take the input as the pump reads it (push):
	// pushMu is held around each call of sink, so that unpush waits for
	// one in progress; ended and endErr say that input is over; repush
	// wakes a pump waiting to hand a chunk to a reader.
	pushMu sync.Mutex
	sink   func(p []byte, err error)
	ended  bool
	endErr error
	repush chan struct{}

	mu     sync.Mutex
	view   *view
	notify func(msg string) // shows a notice in the program running, if any
}

// newTerminal starts the input pump and the window forwarder; stop ends
// them.
func newTerminal(sess ssh.Session, ch *channel) *terminal {
	t := &terminal{
		sess:   sess,
		quit:   make(chan struct{}),
		data:   make(chan []byte),
		ack:    make(chan struct{}),
		repush: make(chan struct{}, 1),
	}
	t.lastInput.Store(time.Now().UnixNano())
	if ch != nil {
		// The channel answers window changes and calls resized: no
		// goroutine waits for them. Under t.mu, so that a change that
		// comes meanwhile waits and lands after this.
		t.mu.Lock()
		t.pty, t.hasPty = ch.watchWindow(t.resized)
		t.mu.Unlock()
	} else if _, winch, _ := sess.Pty(); winch != nil {
		go t.follow(winch)
	}
	go t.pump()
	return t
}

func (t *terminal) stop() { close(t.quit) }

// Input buffers: keystrokes fit the small one, which every terminal has;
// a read that fills it (a paste, a file piped to an exec session) moves the
// pump to a pooled big one until reads are small again, so that an idle
// session holds 256 bytes rather than 32 KiB.
const (
	pumpSmall = 256
	pumpBig   = 32 << 10
)

var pumpPool = sync.Pool{New: func() any { b := make([]byte, pumpBig); return &b }}

func (t *terminal) pump() {
	var small [pumpSmall]byte
	var big *[]byte // back to the pool only once the reader is done with it
	buf := small[:]
	for {
		n, err := t.sess.Read(buf)
		if n > 0 {
			t.lastInput.Store(time.Now().UnixNano())
			if !t.deliver(buf[:n]) {
				return
			}
		}
		if err != nil {
			if big != nil {
				pumpPool.Put(big)
			}
			t.endInput(err)
			return
		}
		switch { // the reader is done with buf (ack): pick the next one
		case big == nil && n == pumpSmall:
			big = pumpPool.Get().(*[]byte)
			buf = *big
		case big != nil && n < pumpSmall:
			pumpPool.Put(big)
			big, buf = nil, small[:]
		}
	}
}

// deliver hands a chunk of input to the proxied session that takes it
// (push), or to a reader; it reports false when the terminal stopped.
func (t *terminal) deliver(p []byte) bool {
	for {
		if t.pushed(p, nil) {
			return true
		}
		select {
		case t.data <- p:
			select {
			case <-t.ack:
				return true
			case <-t.quit:
				return false
			}
		case <-t.repush: // a session takes the input now
		case <-t.quit:
			return false
		}
	}
}

// pushed calls the sink, if there is one, and reports whether it did.
func (t *terminal) pushed(p []byte, err error) bool {
	t.pushMu.Lock()
	defer t.pushMu.Unlock()
	if t.sink == nil {
		return false
	}
	t.sink(p, err)
	return true
}

// endInput records why input ended, tells the sink and wakes the readers.
func (t *terminal) endInput(err error) {
	t.pushMu.Lock()
	t.ended, t.endErr = true, err
	if t.sink != nil {
		t.sink(nil, err)
	}
	t.pushMu.Unlock()
	t.err = err
	close(t.data)
}

// push makes sink take the input from now on: first what a reader left
// of the current chunk, then every chunk the pump reads, then the end of
// input (at once if it has ended).
func (t *terminal) push(sink func(p []byte, err error)) {
	t.readMu.Lock()
	rest := t.rest
	t.rest = nil
	t.readMu.Unlock()
	t.pushMu.Lock()
	t.sink = sink
	if len(rest) > 0 {
		sink(rest, nil)
	}
	if t.ended {
		sink(nil, t.endErr)
		t.sink = nil
	}
	t.pushMu.Unlock()
	if len(rest) > 0 {
		select { // the chunk is consumed: the pump may read on
		case t.ack <- struct{}{}:
		case <-t.quit:
		}
	}
	select {
	case t.repush <- struct{}{}:
	default:
	}
}

// unpush stops the pushing: once it returns, sink is not called any more
// and input goes to Read again.
func (t *terminal) unpush() {
	t.pushMu.Lock()
	t.sink = nil
	t.pushMu.Unlock()
}

// resized keeps the window size current and passes a change to the view.
func (t *terminal) resized(w ssh.Window) {
	t.mu.Lock()
	t.pty.Window = w
	v := t.view
	t.mu.Unlock()
	if v != nil {
		v.pushWindow(w)
	}
}

// follow calls resized with each change from winch, for a session whose
// channel does not answer them itself (see channel.windowChange). It ends
// when the channel's requests end.
func (t *terminal) follow(winch <-chan ssh.Window) {
	for w := range winch {
		t.resized(w)
	}
}

// read reads input, returning io.EOF-like errors when the client's
// input ends, or errDetached when cancel is closed first.
func (t *terminal) read(p []byte, cancel <-chan struct{}) (int, error) {
	t.readMu.Lock()
	defer t.readMu.Unlock()
	if len(t.rest) == 0 {
		select {
		case chunk, ok := <-t.data:
			if !ok {
				if t.err == nil {
					return 0, io.EOF
				}
				return 0, t.err
			}
			t.rest = chunk
		case <-cancel:
			return 0, errDetached
		}
	}
	n := copy(p, t.rest)
	t.rest = t.rest[n:]
	if len(t.rest) == 0 {
		select {
		case t.ack <- struct{}{}:
		case <-t.quit:
		}
	}
	return n, nil
}

var errDetached = errors.New("input detached")

// Read reads input for the menu.
func (t *terminal) Read(p []byte) (int, error) { return t.read(p, nil) }

// window returns the current window size.
func (t *terminal) window() (width, height int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.pty.Window.Width, t.pty.Window.Height
}

// idleSince returns when the person last typed.
func (t *terminal) idleSince() time.Time { return time.Unix(0, t.lastInput.Load()) }

// setNotify sets how notices reach the person while a program (the
// menu) draws the screen; nil means write them as a line.
func (t *terminal) setNotify(f func(string)) {
	t.mu.Lock()
	t.notify = f
	t.mu.Unlock()
}

// notice tells the person msg: in the menu's status line while it runs,
// as a line of its own otherwise (over an asset's screen), on stderr
// without a PTY (stdout is a command's data: rsync, scp, a pipe).
func (t *terminal) notice(msg string) {
	t.mu.Lock()
	f := t.notify
	t.mu.Unlock()
	switch {
	case f != nil:
		f(msg)
	case !t.hasPty:
		_, _ = io.WriteString(t.sess.Stderr(), msg+"\n")
	default:
		_, _ = io.WriteString(t.sess, t.newline()+msg+t.newline())
	}
}

// Write writes to the client's stdout, unchanged.
func (t *terminal) Write(p []byte) (int, error) { return t.sess.Write(p) }

// newline is the line end to write: "\r\n" on a PTY (the client's
// terminal is raw), "\n" otherwise.
func (t *terminal) newline() string {
	if t.hasPty {
		return "\r\n"
	}
	return "\n"
}

// attach returns a view for one proxied session.
func (t *terminal) attach() *view {
	v := &view{t: t, interrupt: make(chan struct{})}
	t.mu.Lock()
	if t.hasPty {
		v.winch = make(chan ssh.Window, 1)
	}
	t.view = v
	t.mu.Unlock()
	return v
}

// view is what the proxy sees of the terminal for one session; it
// satisfies proxy.Downstream.
type view struct {
	t         *terminal
	interrupt chan struct{} // closed by InterruptRead: reads return EOF
	intOnce   sync.Once

	mu      sync.Mutex
	winch   chan ssh.Window
	closed  bool
	sigs    bool
	pushing bool // the proxied session takes the input (PushInput)
}

// detach ends the view: reads return EOF, window changes stop (the
// channel given to the proxy is closed) and signals are unhooked.
func (v *view) detach() {
	v.t.mu.Lock()
	if v.t.view == v {
		v.t.view = nil
	}
	v.t.mu.Unlock()
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return
	}
	v.closed = true
	v.stopPush()
	v.InterruptRead()
	if v.winch != nil {
		close(v.winch)
	}
	if v.sigs {
		v.t.sess.Signals(nil)
	}
}

func (v *view) pushWindow(w ssh.Window) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed || v.winch == nil {
		return
	}
	select {
	case v.winch <- w:
	default:
		select { // keep only the newest size
		case <-v.winch:
		default:
		}
		v.winch <- w
	}
}

// PushInput hands the input to sink as the pump reads it
// (proxy.InputPusher), until StopInput or detach.
func (v *view) PushInput(sink func(p []byte, err error)) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return
	}
	v.pushing = true
	v.t.push(sink)
}

// StopInput ends PushInput.
func (v *view) StopInput() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.stopPush()
}

func (v *view) stopPush() {
	if v.pushing {
		v.pushing = false
		v.t.unpush()
	}
}

// InterruptRead makes a blocked Read return io.EOF without taking
// input: what the person types next goes to the menu
// (proxy.ReadInterrupter).
func (v *view) InterruptRead() { v.intOnce.Do(func() { close(v.interrupt) }) }

func (v *view) Read(p []byte) (int, error) {
	n, err := v.t.read(p, v.interrupt)
	if errors.Is(err, errDetached) {
		return 0, io.EOF
	}
	return n, err
}

func (v *view) Write(p []byte) (int, error) { return v.t.sess.Write(p) }

// notice tells the person msg as a line over the asset's screen (the
// grant's expiry warning).
func (v *view) notice(msg string) { v.t.notice(msg) }

func (v *view) Stderr() io.ReadWriter { return v.t.sess.Stderr() }

// Pty returns the client's PTY request with the current window size.
func (v *view) Pty() (ssh.Pty, <-chan ssh.Window, bool) {
	if !v.t.hasPty {
		return ssh.Pty{}, nil, false
	}
	v.t.mu.Lock()
	p := v.t.pty
	v.t.mu.Unlock()
	return p, v.winch, true
}

func (v *view) Signals(c chan<- ssh.Signal) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return
	}
	v.sigs = c != nil
	v.t.sess.Signals(c)
}

func (v *view) Environ() []string { return v.t.sess.Environ() }
