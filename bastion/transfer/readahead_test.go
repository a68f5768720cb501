package transfer

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	mrand "math/rand/v2"
	"sync"
	"testing"
)

func TestReadAhead(t *testing.T) {
	for _, size := range []int{0, 1, readAheadBlock - 1, readAheadBlock, 5*readAheadBlock + 12345, 20 * readAheadBlock} {
		data := make([]byte, size)
		rand.Read(data)
		ra := newReadAhead(bytes.NewReader(data))
		got := make([]byte, size)
		// Eight readers take 32 KiB chunks in order, as the request
		// server's workers do, plus a few random reads.
		const chunk = 32 << 10
		var mu sync.Mutex
		next := int64(0)
		var wg sync.WaitGroup
		errs := make(chan error, 16)
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					mu.Lock()
					off := next
					next += chunk
					mu.Unlock()
					if off > int64(size) {
						return
					}
					buf := make([]byte, chunk)
					n, err := ra.ReadAt(buf, off)
					if err != nil && !errors.Is(err, io.EOF) {
						errs <- err
						return
					}
					if errors.Is(err, io.EOF) && off+int64(n) != int64(size) {
						errs <- io.ErrUnexpectedEOF
						return
					}
					copy(got[off:], buf[:n])
					if size > 0 && mrand.IntN(20) == 0 {
						roff := mrand.Int64N(int64(size))
						rb := make([]byte, 1000)
						rn, _ := ra.ReadAt(rb, roff)
						if !bytes.Equal(rb[:rn], data[roff:min(int(roff)+1000, size)]) {
							errs <- errors.New("random read differs")
							return
						}
					}
				}
			}()
		}
		wg.Wait()
		ra.Close()
		close(errs)
		for err := range errs {
			t.Fatalf("size %d: %v", size, err)
		}
		if !bytes.Equal(got, data) {
			t.Fatalf("size %d: data differs", size)
		}
	}
}
