package proxy

// recQueue records output and resizes in a goroutine of its own, so that
// encoding, hashing and writing the recording overlap with relaying the
// next chunk instead of adding to it. Chunks travel by value in a bounded
// channel with their pooled buffer: a slow disk slows the session down
// (back-pressure) rather than growing memory, and nothing is allocated
// per chunk.
//
// The price: a recording failure is seen up to recQueueLen chunks after
// the bytes concerned reached the person (at most 512 KiB), where a
// synchronous recorder would stop at the failing chunk.
const recQueueLen = 8

type recItem struct {
	buf           *[]byte // output bytes, a bigPool buffer; nil for a resize
	n             int
	width, height int
}

type recQueue struct {
	s    *session
	ch   chan recItem
	done chan struct{}
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
			var err error
			if it.buf != nil {
				err = s.rec.Output((*it.buf)[:it.n])
			} else {
				err = s.rec.Resize(it.width, it.height)
			}
			if err != nil {
				s.recordFailed(err)
			} else {
				m.Recorded(it.n)
			}
		}
		if it.buf != nil {
			bigPool.Put(it.buf)
		}
	}
}

// output queues a chunk whose buffer the queue now owns.
func (q *recQueue) output(buf *[]byte, n int) { q.put(recItem{buf: buf, n: n}) }

// outputCopy queues a copy of p.
func (q *recQueue) outputCopy(p []byte) {
	b := bigPool.Get().(*[]byte)
	n := copy(*b, p)
	q.put(recItem{buf: b, n: n})
}

func (q *recQueue) resize(w, h int) { q.put(recItem{width: w, height: h}) }

// put queues it, counted in the metrics' queue depth until run takes it.
func (q *recQueue) put(it recItem) {
	q.s.p.cfg.Metrics.Queued(1)
	q.ch <- it
}

// close waits until everything queued is recorded. Nothing may be queued
// after it.
func (q *recQueue) close() {
	close(q.ch)
	<-q.done
}
