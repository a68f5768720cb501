package bastion

import (
	"bytes"
	"io"
	"testing"

	"charm.land/ssh"
)

// chunkSession is an ssh.Session whose input arrives in the given chunks.
type chunkSession struct {
	ssh.Session
	chunks [][]byte
}

func (s *chunkSession) Read(p []byte) (int, error) {
	if len(s.chunks) == 0 {
		return 0, io.EOF
	}
	n := copy(p, s.chunks[0])
	s.chunks[0] = s.chunks[0][n:]
	if len(s.chunks[0]) == 0 {
		s.chunks = s.chunks[1:]
	}
	return n, nil
}

func (s *chunkSession) Pty() (ssh.Pty, <-chan ssh.Window, bool) { return ssh.Pty{}, nil, false }

// TestTerminalPumpBuffers: keystrokes, a paste bigger than the pump's
// small buffer and bigger than its big one, then keystrokes again, all
// reach the reader whole and in order while the pump moves between its
// buffers (and the pooled one is reused by the next terminal).
func TestTerminalPumpBuffers(t *testing.T) {
	paste := bytes.Repeat([]byte("0123456789abcdef"), 5000) // 80,000 bytes
	for round := range 2 {
		in := [][]byte{[]byte("l"), []byte("s"), []byte("\r"), bytes.Clone(paste), []byte("x"), bytes.Clone(paste[:pumpSmall]), []byte("y")}
		var want []byte
		for _, c := range in {
			want = append(want, c...)
		}
		term := newTerminal(&chunkSession{chunks: in}, nil)
		got, err := io.ReadAll(readerFunc(func(p []byte) (int, error) { return term.Read(p[:min(len(p), 700)]) }))
		term.stop()
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("round %d: got %d bytes, want %d (first difference at %d)", round, len(got), len(want), firstDiff(got, want))
		}
	}
}

type readerFunc func(p []byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// chanSession is an ssh.Session whose input is what comes on in; its
// input ends when in is closed.
type chanSession struct {
	ssh.Session
	in chan []byte
}

func (s *chanSession) Read(p []byte) (int, error) {
	c, ok := <-s.in
	if !ok {
		return 0, io.EOF
	}
	return copy(p, c), nil
}

func (s *chanSession) Pty() (ssh.Pty, <-chan ssh.Window, bool) { return ssh.Pty{}, nil, false }

// pushed collects what a proxied session is pushed.
type pushed struct {
	got  chan string
	errs chan error
}

func newPushed() *pushed { return &pushed{got: make(chan string, 16), errs: make(chan error, 1)} }

func (p *pushed) sink(b []byte, err error) {
	if len(b) > 0 {
		p.got <- string(b)
	}
	if err != nil {
		p.errs <- err
	}
}

// TestTerminalPushInput: a proxied session that takes the input as the
// pump reads it (proxy.InputPusher) gets first what the menu left of a
// chunk, then every chunk in order; once it stops, the next keystroke
// goes to Read again (none is lost between the two), and the end of input
// reaches the sink, at once when it came before.
func TestTerminalPushInput(t *testing.T) {
	in := make(chan []byte)
	term := newTerminal(&chanSession{in: in}, nil)
	defer term.stop()

	in <- []byte("menu")
	b := make([]byte, 2)
	if n, err := term.Read(b); err != nil || string(b[:n]) != "me" {
		t.Fatalf("menu read %q, %v", b[:n], err)
	}
	v := term.attach()
	p := newPushed()
	v.PushInput(p.sink)
	for _, want := range []string{"nu", "ls\r", "x"} {
		if want != "nu" {
			in <- []byte(want)
		}
		if got := <-p.got; got != want {
			t.Fatalf("pushed %q, want %q", got, want)
		}
	}
	v.StopInput()
	v.detach()
	go func() { in <- []byte("q") }()
	if n, err := term.Read(b); err != nil || string(b[:n]) != "q" {
		t.Fatalf("after the session, read %q, %v", b[:n], err)
	}

	v2 := term.attach()
	p2 := newPushed()
	v2.PushInput(p2.sink)
	close(in)
	if err := <-p2.errs; err != io.EOF {
		t.Fatalf("end of input: %v", err)
	}
	v2.detach()
	p3 := newPushed()
	term.attach().PushInput(p3.sink)
	if err := <-p3.errs; err != io.EOF {
		t.Fatalf("end of input before PushInput: %v", err)
	}
	select {
	case s := <-p.got:
		t.Fatalf("a stopped sink got %q", s)
	default:
	}
}
