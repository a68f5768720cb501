package recorder

import (
	"path/filepath"
	"testing"
)

// BenchmarkBulkSession records what `head -c 300M /dev/zero` prints, in
// 32 KiB chunks, to a file, Close (and its fsync) included: 1.8 GB of
// JSON per iteration.
func BenchmarkBulkSession(b *testing.B) {
	chunk := make([]byte, 32<<10)
	const total = 300 << 20
	b.SetBytes(total)
	for b.Loop() {
		w, err := Create(filepath.Join(b.TempDir(), "bulk.cast"), Header{Width: 80, Height: 24})
		if err != nil {
			b.Fatal(err)
		}
		for n := 0; n < total; n += len(chunk) {
			if err := w.Output(chunk); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
}
