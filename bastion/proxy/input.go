package proxy

import (
	"bytes"
	"context"
	"io"
	"sync"

	"github.com/jms-bastion/jms/bastion/filter"
	"github.com/jms-bastion/jms/recorder"
)

// startInput starts carrying the person's input to the asset: pushed by
// a Downstream that reads in a goroutine of its own (InputPusher), so that
// no goroutine of the session's waits for keystrokes, or read in one of
// the session's otherwise. A session with a PTY also runs the line
// tracker's loop, which needs its own goroutine (a held command waits for
// a decision while ^C is watched for).
func (s *session) startInput(ctx context.Context, dst io.WriteCloser, q *recQueue) {
	s.inDone = make(chan struct{})
	ip, push := s.down.(InputPusher)
	var sink func(p []byte, err error)
	switch {
	case s.tracker != nil:
		in := make(chan []byte, 16)
		s.inEnd = sync.OnceFunc(func() { close(in) })
		go func() { defer close(s.inDone); s.trackInput(ctx, in, dst, q) }()
		sink = func(p []byte, err error) {
			if len(p) > 0 {
				in <- bytes.Clone(p)
			}
			if err != nil {
				s.inEnd()
			}
		}
	case s.req.Command == "" || filter.ReadsCommands(s.req.Command):
		// A shell without a PTY, or a command that reads commands from
		// its input (sh, bash -s, python3 -, su, ssh …): its input is
		// judged command by command.
		sink = s.lineInput(ctx, dst, q)
	default:
		sink = s.plainInput(dst, q)
	}
	if push {
		s.pusher = ip
		if s.tracker == nil {
			close(s.inDone) // nothing runs but the pusher's calls, which StopInput ends
		}
		ip.PushInput(sink)
		return
	}
	if s.tracker != nil {
		go s.readInput(sink, nil)
		return
	}
	go s.readInput(sink, s.inDone)
}

// readInput reads the person's input into sink until it ends.
func (s *session) readInput(sink func(p []byte, err error), done chan struct{}) {
	if done != nil {
		defer close(done)
	}
	var b buffer
	defer b.release()
	for {
		buf := b.bytes()
		n, err := s.down.Read(buf)
		if n > 0 || err != nil {
			sink(buf[:n], err)
		}
		if err != nil {
			return
		}
		b.adapt(n)
	}
}

// stopInput stops the input once the bridge is over: a pushing
// Downstream stops calling the sink; a blocked Read of one that can be
// interrupted returns. It returns once nothing of the session's reads
// input any more (a menu reading the same channel next loses no
// keystroke).
func (s *session) stopInput() {
	switch ri, ok := s.down.(ReadInterrupter); {
	case s.pusher != nil:
		s.pusher.StopInput()
		if s.inEnd != nil {
			s.inEnd()
		}
	case ok:
		ri.InterruptRead()
	default:
		return
	}
	<-s.inDone
}

// plainInput is the sink of an exec command's input: the bytes go to the
// asset as they come, and at the person's EOF the asset's stdin is
// closed.
func (s *session) plainInput(dst io.WriteCloser, q *recQueue) func(p []byte, err error) {
	toRaw := s.p.cfg.RecordInput && s.raw != nil && q != nil
	stopped := false
	return func(p []byte, err error) {
		if stopped {
			return
		}
		if len(p) > 0 && !s.inputChunk(dst, q, p, toRaw) {
			stopped = true
			return
		}
		if err != nil {
			dst.Close()
			stopped = true
		}
	}
}

// inputChunk passes one chunk of input to the asset and records it. It
// reports whether input goes on.
func (s *session) inputChunk(dst io.Writer, q *recQueue, p []byte, toRaw bool) bool {
	if s.done.Load() {
		return false // the session ended while this read waited
	}
	if !toRaw && !s.recordInput(q, p) {
		return false
	}
	if _, err := dst.Write(p); err != nil {
		return false
	}
	s.p.cfg.Metrics.RelayedIn(len(p))
	if toRaw && s.recOK.Load() {
		q.dataCopy(recorder.StreamStdin, p) // into the raw file, after the asset has it
	}
	return true
}
