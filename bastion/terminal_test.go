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
