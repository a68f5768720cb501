package bastion

import (
	"errors"
	"io"
)

// errInterrupted ends a command whose person typed Ctrl-C.
var errInterrupted = errors.New("interrupted (Ctrl-C)")

// Control characters a terminal's line discipline would act on.
const (
	ctrlC = 0x03
	ctrlD = 0x04
)

// ptyInput is the input of a command run with a PTY. The client's
// terminal is raw and the bastion emulates no PTY, so ptyInput does the
// little a line discipline would: Enter ("\r") ends a line ("\n"),
// Ctrl-D ends the input and Ctrl-C calls interrupt. It reads in a
// goroutine of its own, so that Ctrl-C stops a command that reads
// nothing (session watch, replay); the goroutine ends when in does (the
// view detached) or done is closed (the command is over).
func ptyInput(in io.Reader, done <-chan struct{}, interrupt func()) io.Reader {
	r := &chanReader{ch: make(chan []byte, 64)}
	send := func(b []byte) bool {
		select {
		case r.ch <- b:
			return true
		case <-done:
			return false
		}
	}
	go func() {
		defer close(r.ch)
		buf := make([]byte, 1024)
		ended := false
		for {
			n, err := in.Read(buf)
			out, end, stop := discipline(buf[:n])
			if stop {
				interrupt()
				return
			}
			if !ended && len(out) > 0 && !send(out) {
				return
			}
			if end && !ended { // keep reading: a Ctrl-C may follow
				ended = true
				if !send(nil) {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	return r
}

// discipline maps raw terminal input: "\r" to "\n"; ended is true at a
// Ctrl-D (what follows it is dropped), interrupt at a Ctrl-C.
func discipline(p []byte) (out []byte, ended, interrupt bool) {
	for _, c := range p {
		switch c {
		case ctrlC:
			return out, ended, true
		case ctrlD:
			ended = true
		case '\r':
			if !ended {
				out = append(out, '\n')
			}
		default:
			if !ended {
				out = append(out, c)
			}
		}
	}
	return out, ended, false
}

// chanReader reads the chunks sent on ch; a nil chunk or a closed ch is
// the end of the input.
type chanReader struct {
	ch   chan []byte
	rest []byte
	done bool
}

func (r *chanReader) Read(p []byte) (int, error) {
	for len(r.rest) == 0 {
		if r.done {
			return 0, io.EOF
		}
		chunk, ok := <-r.ch
		if !ok || chunk == nil {
			r.done = true
			return 0, io.EOF
		}
		r.rest = chunk
	}
	n := copy(p, r.rest)
	r.rest = r.rest[n:]
	return n, nil
}
