package recorder

import (
	"crypto/rand"
	"io"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkRawWriter records 32 KiB chunks of NULs and of random bytes
// into a raw stream file, flushing after each chunk (what the proxy does
// when its recorder keeps up), against the cast writer's NULs above.
func BenchmarkRawWriter(b *testing.B) {
	random := make([]byte, 32<<10)
	rand.Read(random)
	for _, in := range []struct {
		name string
		data []byte
	}{{"zeros", make([]byte, 32<<10)}, {"random", random}} {
		b.Run(in.name+"/file", func(b *testing.B) {
			w, err := CreateRaw(filepath.Join(b.TempDir(), "bench.raw"), time.Now(), nil)
			if err != nil {
				b.Fatal(err)
			}
			defer w.Close()
			b.SetBytes(int64(len(in.data)))
			b.ReportAllocs()
			for b.Loop() {
				if err := w.Write(StreamStdout, in.data); err != nil {
					b.Fatal(err)
				}
				if err := w.Flush(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRawRead reads 64 MiB of 32 KiB frames back.
func BenchmarkRawRead(b *testing.B) {
	path := filepath.Join(b.TempDir(), "bench.raw")
	w, _ := CreateRaw(path, time.Now(), nil)
	chunk := make([]byte, 32<<10)
	rand.Read(chunk)
	for range 2048 {
		w.Write(StreamStdout, chunk)
	}
	w.Close()
	b.SetBytes(64 << 20)
	for b.Loop() {
		r, err := OpenRaw(path)
		if err != nil {
			b.Fatal(err)
		}
		if n, err := CopyRawStream(io.Discard, r, StreamStdout); err != nil || n != 64<<20 {
			b.Fatal(n, err)
		}
		r.Close()
	}
}
