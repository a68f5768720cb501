package transfer

import (
	"io"
	"sync"
)

// Read-ahead of a download. SFTP clients read a file with many requests
// in flight, but the request server answers them with a few workers,
// each waiting for its own round trip to the asset. A download that
// starts at offset 0 is therefore read ahead from the asset in blocks of
// readAheadBlock bytes (each block itself several requests in flight),
// at most readAheadWindow blocks beyond the furthest one asked for:
// memory per open file stays bounded by
// (readAheadWindow+readAheadKeep+1) blocks. Reads that fall outside the
// window go to the asset directly.
//
// A block is four of the largest READs, sftpMaxData (255 KiB, just under
// 1 MiB in all): OpenSSH's client's requests then fall within one block
// each, and a block is four whole requests towards an asset that takes
// them (see upstreamHandshake), 32 towards one that takes 32 KiB.
const (
	readAheadBlock  = 4 * sftpMaxData
	readAheadWindow = 8
	readAheadKeep   = 2 // blocks kept behind the furthest asked for, for reads out of order
	readAheadFetch  = 3 // blocks fetched at once
)

// blockPool holds the blocks of finished read-aheads for the next ones:
// a download of a large file would otherwise allocate (and zero, and
// collect) every byte of it once more.
var blockPool = sync.Pool{New: func() any { return new([readAheadBlock]byte) }}

type readAhead struct {
	r io.ReaderAt

	mu      sync.Mutex
	cond    *sync.Cond
	blocks  map[int64]*raBlock
	next    int64 // next block to fetch
	high    int64 // furthest block asked for
	eof     int64 // first block that ended the file; -1 while unknown
	closed  bool
	fetches sync.WaitGroup
	running int
}

type raBlock struct {
	buf  *[readAheadBlock]byte // from blockPool; nil once given back
	data []byte
	err  error
	done bool
}

func newReadAhead(r io.ReaderAt) *readAhead {
	ra := &readAhead{r: r, blocks: map[int64]*raBlock{}, eof: -1}
	ra.cond = sync.NewCond(&ra.mu)
	return ra
}

// schedule starts fetches up to the window; called with mu held.
func (ra *readAhead) schedule() {
	for !ra.closed && ra.running < readAheadFetch && ra.next <= ra.high+readAheadWindow && (ra.eof < 0 || ra.next <= ra.eof) {
		idx := ra.next
		ra.next++
		b := &raBlock{}
		ra.blocks[idx] = b
		ra.running++
		ra.fetches.Add(1)
		go ra.fetch(idx, b)
	}
}

func (ra *readAhead) fetch(idx int64, b *raBlock) {
	defer ra.fetches.Done()
	buf := blockPool.Get().(*[readAheadBlock]byte)
	n, err := ra.r.ReadAt(buf[:], idx*readAheadBlock)
	ra.mu.Lock()
	defer ra.mu.Unlock()
	b.buf, b.data, b.done = buf, buf[:n], true
	if ra.blocks[idx] != b {
		b.release() // dropped, or closed, while it was read
	}
	if err == nil && n < readAheadBlock {
		err = io.EOF
	}
	b.err = err
	if err != nil && (ra.eof < 0 || idx < ra.eof) {
		ra.eof = idx
	}
	ra.running--
	ra.schedule()
	ra.cond.Broadcast()
}

// ReadAt serves p from the blocks read ahead, or from the asset when off
// is outside the window.
func (ra *readAhead) ReadAt(p []byte, off int64) (int, error) {
	total := 0
	for total < len(p) {
		n, err, ok := ra.readBlock(p[total:], off+int64(total))
		if !ok {
			m, err := ra.r.ReadAt(p[total:], off+int64(total))
			return total + m, err
		}
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// readBlock copies from the block holding off; ok is false when that
// block is not (and will not be) read ahead.
func (ra *readAhead) readBlock(p []byte, off int64) (int, error, bool) {
	idx := off / readAheadBlock
	ra.mu.Lock()
	defer ra.mu.Unlock()
	if ra.closed || idx > ra.high+readAheadWindow+1 || (ra.eof >= 0 && idx > ra.eof) {
		return 0, nil, false
	}
	if idx > ra.high {
		ra.high = idx
		for i := range ra.blocks {
			if i < ra.high-readAheadKeep {
				ra.blocks[i].release()
				delete(ra.blocks, i)
			}
		}
	}
	ra.schedule()
	b, ok := ra.blocks[idx]
	if !ok {
		return 0, nil, false // dropped already, or behind the start
	}
	for !b.done && !ra.closed {
		ra.cond.Wait()
	}
	if !b.done || ra.blocks[idx] != b {
		return 0, nil, false // closed, or dropped (and given back) while waiting
	}
	start := off - idx*readAheadBlock
	if start >= int64(len(b.data)) {
		if b.err != nil {
			return 0, b.err, true
		}
		return 0, io.EOF, true
	}
	n := copy(p, b.data[start:])
	if start+int64(n) == int64(len(b.data)) && b.err != nil {
		return n, b.err, true
	}
	return n, nil, true
}

// Close stops reading ahead and waits for the fetches under way.
func (ra *readAhead) Close() {
	ra.mu.Lock()
	ra.closed = true
	for _, b := range ra.blocks {
		b.release()
	}
	ra.blocks = nil
	ra.cond.Broadcast()
	ra.mu.Unlock()
	ra.fetches.Wait()
}

// release gives a block read in full back to blockPool; called with mu
// held, once no reader can copy from it any more. A block still being
// read is given back by its fetch.
func (b *raBlock) release() {
	if b.done && b.buf != nil {
		blockPool.Put(b.buf)
		b.buf, b.data = nil, nil
	}
}
