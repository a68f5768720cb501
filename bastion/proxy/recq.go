package proxy

import (
	"sync"
	"sync/atomic"

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
// The goroutine runs only while there is something to record: it starts
// with the first chunk queued and ends once the queue is empty and
// flushed, so that an idle session holds no stack for its recording.
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
	s  *session
	ch chan recItem
	// running is set while a goroutine records (run); wg counts them.
	running atomic.Bool
	wg      sync.WaitGroup
	// mu guards closed: senders hold it shared, so that close waits for
	// a send in progress and later sends (input read after the bridge
	// ended) are dropped rather than sent on a closed channel.
	mu     sync.RWMutex
	closed bool
}

func (s *session) startRecQueue() *recQueue {
	return &recQueue{s: s, ch: make(chan recItem, recQueueLen)}
}

// kick starts a goroutine to record what was queued, unless one runs.
func (q *recQueue) kick() {
	if q.running.CompareAndSwap(false, true) {
		q.wg.Add(1)
		go q.run()
	}
}

// run records until the queue is empty, then flushes and ends. A chunk
// queued just as it ends is either seen by its last look at the queue or
// starts another run (kick after the send).
func (q *recQueue) run() {
	defer q.wg.Done()
	for {
		select {
		case it := <-q.ch:
			q.take(it)
			continue
		default:
		}
		if q.s.recOK.Load() {
			if err := q.flush(); err != nil {
				q.s.recordFailed(err)
			}
		}
		q.running.Store(false)
		if len(q.ch) == 0 || !q.running.CompareAndSwap(false, true) {
			return
		}
	}
}

// take records one queued item.
func (q *recQueue) take(it recItem) {
	s := q.s
	m := s.p.cfg.Metrics
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
	select {
	case q.ch <- it:
	default: // full: the goroutine recording it runs; wait for room
		q.kick()
		q.ch <- it
	}
	q.kick()
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
	q.mu.Unlock()
	// Every send kicked after it queued: the runs take all of it.
	q.wg.Wait()
}
