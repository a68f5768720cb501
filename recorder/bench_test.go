package recorder

import (
	"bytes"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// termOutput returns n bytes that look like terminal output: text, colour
// sequences, CRLF and some multi-byte runes.
func termOutput(n int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		b.WriteString("\x1b[01;34mdrwxr-xr-x\x1b[0m  2 root root 4096 Jan  2 10:0")
		b.WriteString(strconv.Itoa(i % 10))
		b.WriteString(" fïchier-€-")
		b.WriteString(strings.Repeat("x", i%17))
		b.WriteString("\r\n")
	}
	return b.Bytes()[:n]
}

func BenchmarkWriterOutput(b *testing.B) {
	for _, size := range []int{32 << 10, 100, -32 << 10} {
		data, name := termOutput(max(size, 0)), strconv.Itoa(size)+"B"
		if size < 0 { // NULs, as from head -c N /dev/zero: six bytes each in the file
			size = -size
			data, name = make([]byte, size), strconv.Itoa(size)+"B-zeros"
		}
		b.Run(name+"/file", func(b *testing.B) {
			w, err := Create(filepath.Join(b.TempDir(), "bench.cast"), Header{Width: 80, Height: 24})
			if err != nil {
				b.Fatal(err)
			}
			defer w.Close()
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				if err := w.Output(data); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/discard", func(b *testing.B) {
			w, err := NewWriter(io.Discard, Header{Width: 80, Height: 24}, Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer w.Close()
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				if err := w.Output(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEscape compares kinds of output: plain ASCII text (logs), typical
// terminal output, and NUL bytes (head -c N /dev/zero), which grow 6-fold.
func BenchmarkEscape(b *testing.B) {
	kinds := map[string][]byte{
		"text":  bytes.Repeat([]byte("2024-01-02 10:00:00 INFO request served in 12ms path=/api/v1/items\r\n"), 500)[:32<<10],
		"term":  termOutput(32 << 10),
		"zeros": make([]byte, 32<<10),
	}
	for name, data := range kinds {
		b.Run(name, func(b *testing.B) {
			var buf []byte
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				buf = appendJSONString(buf[:0], nil, data)
			}
		})
	}
}

func BenchmarkCat(b *testing.B) {
	var file bytes.Buffer
	w, _ := NewWriter(&file, Header{Width: 80, Height: 24}, Options{})
	data := termOutput(32 << 10)
	for range 64 {
		w.Output(data)
	}
	w.Close()
	b.SetBytes(int64(64 * len(data)))
	b.ReportAllocs()
	for b.Loop() {
		r, err := NewReader(bytes.NewReader(file.Bytes()))
		if err != nil {
			b.Fatal(err)
		}
		if err := Cat(io.Discard, r); err != nil {
			b.Fatal(err)
		}
	}
}
