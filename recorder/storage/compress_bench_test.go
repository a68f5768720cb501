package storage

import (
	"bytes"
	stdgzip "compress/gzip"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"testing"

	kgzip "github.com/klauspost/compress/gzip"
)

// benchCast is 16 MiB of asciicast output events: base64 of random bytes
// (the throughput bench's text, which compresses badly), or terminal-like
// text (log lines: what sessions mostly hold).
func benchCast(random bool) []byte {
	var b bytes.Buffer
	b.WriteString(`{"version":2,"width":80,"height":24}` + "\n")
	raw := make([]byte, 3<<10)
	for i := 0; b.Len() < 16<<20; i++ {
		var data string
		if random {
			rand.Read(raw)
			data = base64.StdEncoding.EncodeToString(raw)
		} else {
			data = fmt.Sprintf("Nov 30 08:%02d:%02d web1 sshd[%d]: Accepted publickey for deploy from 10.0.%d.%d port %d ssh2",
				i/60%60, i%60, 1000+i%977, i%7, i%251, 40000+i%9973)
		}
		fmt.Fprintf(&b, "[%d.%06d,\"o\",\"%s\\r\\n\"]\n", i/1000, i%1000, data)
	}
	return b.Bytes()
}

// BenchmarkCompress compares the gzip the uploader could use: the
// standard library's at its default level, and klauspost/compress's.
func BenchmarkCompress(b *testing.B) {
	for _, kind := range []string{"text", "random"} {
		in := benchCast(kind == "random")
		b.Run(kind, func(b *testing.B) { benchCompress(b, in) })
	}
}

func benchCompress(b *testing.B, in []byte) {
	for _, c := range []struct {
		name string
		new  func(io.Writer) io.WriteCloser
	}{
		{"std-default", func(w io.Writer) io.WriteCloser { return stdgzip.NewWriter(w) }},
		{"std-bestspeed", func(w io.Writer) io.WriteCloser { z, _ := stdgzip.NewWriterLevel(w, stdgzip.BestSpeed); return z }},
		{"klauspost-default", func(w io.Writer) io.WriteCloser { return kgzip.NewWriter(w) }},
		{"klauspost-bestspeed", func(w io.Writer) io.WriteCloser { z, _ := kgzip.NewWriterLevel(w, kgzip.BestSpeed); return z }},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			var out int
			for i := 0; i < b.N; i++ {
				var buf bytes.Buffer
				z := c.new(&buf)
				z.Write(in)
				z.Close()
				out = buf.Len()
			}
			b.ReportMetric(float64(out)/float64(len(in)), "ratio")
		})
	}
}
