package proxy

import (
	"io"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/jms-bastion/jms/recorder"
)

// benchBytes is what one iteration moves: `head -c 300M /dev/zero`.
const benchBytes = 300 << 20

// BenchmarkExecThroughput moves 300 MiB of NUL bytes from an in-process
// asset through an exec session to the person: straight from the asset
// (the baseline), through the proxy recording to a discarding writer (the
// relay and encoding cost), and through the proxy recording to a file.
// An exec session's bytes go to its raw stream file as they are (they were
// \u0000 in asciicast's JSON before, six times the data).
func BenchmarkExecThroughput(b *testing.B) {
	discard := func(path string, h recorder.Header, o recorder.Options) (*recorder.Writer, error) {
		return recorder.NewWriter(io.Discard, h, o)
	}
	discardRaw := func(path string, start time.Time, now func() time.Time) (*recorder.RawWriter, error) {
		return recorder.NewRawWriter(io.Discard, start, now)
	}
	b.Run("direct", func(b *testing.B) {
		a := startAsset(b, "pw", nil)
		c, err := gossh.Dial("tcp", a.addr, &gossh.ClientConfig{User: "root", Auth: []gossh.AuthMethod{gossh.Password("pw")},
			HostKeyCallback: gossh.InsecureIgnoreHostKey()})
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		benchExec(b, func() *gossh.Client { return c })
	})
	b.Run("proxy-record-discard", func(b *testing.B) {
		h := newHarness(b, harnessOptions{create: discard, createRaw: discardRaw})
		c := h.dial()
		defer c.Close()
		benchExec(b, func() *gossh.Client { return c })
	})
	b.Run("proxy-record-file", func(b *testing.B) {
		h := newHarness(b, harnessOptions{})
		c := h.dial()
		defer c.Close()
		benchExec(b, func() *gossh.Client { return c })
	})
}

func benchExec(b *testing.B, client func() *gossh.Client) {
	b.SetBytes(benchBytes)
	b.ReportAllocs()
	for b.Loop() {
		s, err := client().NewSession()
		if err != nil {
			b.Fatal(err)
		}
		out, _ := s.StdoutPipe()
		if err := s.Start("zero 314572800"); err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, out)
		if err := s.Wait(); err != nil {
			b.Fatal(err)
		}
		if n != benchBytes {
			b.Fatalf("got %d bytes", n)
		}
	}
}
