package proxy

import (
	"io"
	"testing"

	gossh "golang.org/x/crypto/ssh"

	"github.com/jms-bastion/jms/recorder"
)

// benchBytes is what one iteration moves: `head -c 300M /dev/zero`.
const benchBytes = 300 << 20

// BenchmarkExecThroughput moves 300 MiB of NUL bytes from an in-process
// asset through an exec session to the person: straight from the asset
// (the baseline), through the proxy recording to a discarding writer (the
// relay and encoding cost), and through the proxy recording to a file.
// NUL bytes become \u0000 in the recording's JSON, so the file is about
// six times the data: that is the format's cost.
func BenchmarkExecThroughput(b *testing.B) {
	discard := func(path string, h recorder.Header, o recorder.Options) (*recorder.Writer, error) {
		return recorder.NewWriter(io.Discard, h, o)
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
		h := newHarness(b, harnessOptions{create: discard})
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
