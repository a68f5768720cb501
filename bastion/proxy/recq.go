package proxy

import (
	"sync"

	"github.com/jms-bastion/jms/recorder"
)

// recQueue records output and resizes in a goroutine of its own, so that
// encoding, hashing and writing the recording overlap with relaying the
// next chunk instead of adding to it. Chunks travel by value in a bounded
// channel with their pooled buffer: a slow disk slows the session down
// (back-pressure) rather than growing memory, and nothing is allocated
// per chunk.
//
// A session with a PTY records into its asciicast; one without records
// its streams' bytes into the raw stream file beside it (recorder.RawWriter),
// and only the bastion's notices into the cast. Both hold what they record
// in memory until the queue runs empty (or recorder.MaxHeld gathers), so that what
// the session has shown is in the files as soon as the recorder catches up,
// and a recorder starved of CPU writes many chunks per system call.
//
// The price: a recording failure is seen up to recQueueLen chunks and
// recorder.MaxHeld bytes after the bytes concerned reached the person (at
// most 640 KiB), where a synchronous recorder would stop at the failing
// chunk.
const recQueueLen = 8

type recKind uint8

const (
	recData   recKind = iota // bytes of a stream
	recNotice                // a notice of the bastion's, for the cast
	recResize
)

type recItem struct {
	kind          recKind
	stream        recorder.Stream
	buf           *[]byte // the bytes, a bigPool buffer; nil for a resize
	n             int
	width, height int
}

type recQueue struct {
	s    *session
	ch   chan recItem
	done chan struct{}
	// mu guards closed: senders hold it shared, so that close waits for
	// a send in progress and later sends (input read after the bridge
	// ended) are dropped rather than sent on a closed channel.
	mu     sync.RWMutex
	closed bool
}

func (s *session) startRecQueue() *recQueue {
	q := &recQueue{s: s, ch: make(chan recItem, recQueueLen), done: make(chan struct{})}
	go q.run()
	return q
}

func (q *recQueue) run() {
	defer close(q.done)
	s := q.s
	m := s.p.cfg.Metrics
	for it := range q.ch {
		m.Queued(-1)
		if s.recOK.Load() {
			if err := q.record(it); err != nil {
				s.recordFailed(err)
			} else {
				m.Recorded(it.n)
			}
		}
		if it.buf != nil {
			bigPool.Put(it.buf)
		}
		if len(q.ch) == 0 && s.recOK.Load() {
			if err := q.flush(); err != nil {
				s.recordFailed(err)
			}
		}
	}
}

// flush writes what the recording holds in memory.
func (q *recQueue) flush() error {
	if q.s.raw != nil {
		if err := q.s.raw.Flush(); err != nil {
			return err
		}
	}
	return q.s.rec.Flush()
}

func (q *recQueue) record(it recItem) error {
	s := q.s
	switch {
	case it.kind == recResize:
		return s.rec.Resize(it.width, it.height)
	case it.kind == recData && s.raw != nil:
		return s.raw.Write(it.stream, (*it.buf)[:it.n])
	case it.kind == recData && it.stream == recorder.StreamStdin:
		return s.rec.Input((*it.buf)[:it.n])
	}
	return s.rec.OutputHeld((*it.buf)[:it.n])
}

func (q *recQueue) send(it recItem) {
	q.mu.RLock()
	defer q.mu.RUnlock()
	if q.closed {
		if it.buf != nil {
			bigPool.Put(it.buf)
		}
		return
	}
	q.s.p.cfg.Metrics.Queued(1) // the queue's depth in the metrics, until run takes it
	q.ch <- it
}

// data queues a chunk of a stream whose buffer the queue now owns.
func (q *recQueue) data(s recorder.Stream, buf *[]byte, n int) {
	q.send(recItem{kind: recData, stream: s, buf: buf, n: n})
}

// dataCopy queues a copy of p as a chunk of a stream.
func (q *recQueue) dataCopy(s recorder.Stream, p []byte) {
	for len(p) > 0 {
		b := bigPool.Get().(*[]byte)
		n := copy(*b, p)
		q.send(recItem{kind: recData, stream: s, buf: b, n: n})
		p = p[n:]
	}
}

// notice queues a copy of p, the bastion's own output, for the cast.
func (q *recQueue) notice(p []byte) {
	b := bigPool.Get().(*[]byte)
	n := copy(*b, p)
	q.send(recItem{kind: recNotice, buf: b, n: n})
}

func (q *recQueue) resize(w, h int) { q.send(recItem{kind: recResize, width: w, height: h}) }

// close waits until everything queued is recorded. Later sends are
// dropped.
func (q *recQueue) close() {
	q.mu.Lock()
	q.closed = true
	close(q.ch)
	q.mu.Unlock()
	<-q.done
}
