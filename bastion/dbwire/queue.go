package dbwire

import (
	"context"
	"time"

	"github.com/jms-bastion/jms/bastion/database"
	"github.com/jms-bastion/jms/store"
)

// BatchStore writes command events in batches, in one transaction each.
type BatchStore interface {
	AddCommandEvents(ctx context.Context, es []store.CommandEvent) error
}

// queueDepth is how many statement records a session may have waiting
// for the store before its statements wait for the audit; maxBatch how
// many one transaction writes; batchWait how long the writer gathers
// records after the first before it writes them (a client sending
// statements back to back costs the store a transaction per batchWait,
// not one per statement).
const (
	queueDepth = 4096
	maxBatch   = 1024
	batchWait  = 50 * time.Millisecond
)

// Queue is an Auditor that takes the statement audit off the query
// path: Statement hands the record to the session's writer, which
// records whatever has gathered in one transaction, so that a client
// sending statements back to back waits for neither an insert nor a
// commit per statement. A statement still waits when queueDepth records
// are pending (the audit is never dropped); Close writes the rest. What
// a crash loses is what is pending: the last batchWait's statements, as a
// recording loses its last unflushed frames.
type Queue struct {
	a    Auditor
	st   BatchStore
	in   chan store.CommandEvent
	done chan struct{}
}

// NewQueue starts the writer of a's session, writing with st; Close
// ends it.
func NewQueue(a Auditor, st BatchStore) *Queue {
	q := &Queue{a: a, st: st, in: make(chan store.CommandEvent, queueDepth), done: make(chan struct{})}
	go q.write()
	return q
}

// Statement implements database.Auditor.
func (q *Queue) Statement(_ context.Context, rec database.StatementRecord) {
	q.in <- q.a.event(rec)
}

// Close writes the pending records and returns once they are in the
// store (or their failure is logged). No Statement may follow it.
func (q *Queue) Close() {
	close(q.in)
	<-q.done
}

func (q *Queue) write() {
	defer close(q.done)
	batch := make([]store.CommandEvent, 0, maxBatch)
	wait := time.NewTimer(batchWait)
	defer wait.Stop()
	for e := range q.in {
		batch = append(batch[:0], e)
		wait.Reset(batchWait)
		open := q.gather(&batch, wait)
		q.flush(batch)
		if !open {
			return
		}
	}
}

// gather adds records to batch until it is full, wait fires or the
// queue is closed (then it reports false).
func (q *Queue) gather(batch *[]store.CommandEvent, wait *time.Timer) bool {
	for len(*batch) < maxBatch {
		select {
		case e, ok := <-q.in:
			if !ok {
				return false
			}
			*batch = append(*batch, e)
		case <-wait.C:
			return true
		}
	}
	return true
}

// flush writes one batch; a failed batch is written event by event, so
// that one bad record costs only itself, all within one auditTimeout (a
// store that does not answer holds the queue that long, not once per
// record). The failures are logged once, with their count.
func (q *Queue) flush(batch []store.CommandEvent) {
	ctx, cancel := context.WithTimeout(context.Background(), auditTimeout)
	defer cancel()
	err := q.st.AddCommandEvents(ctx, batch)
	if err == nil {
		return
	}
	lost := len(batch)
	if len(batch) > 1 {
		lost = 0
		for _, e := range batch {
			if one := q.st.AddCommandEvents(ctx, []store.CommandEvent{e}); one != nil {
				lost, err = lost+1, one
			}
		}
	}
	if lost > 0 {
		q.a.logger().Error("recording statements in the audit", "session", q.a.Session, "lost", lost, "err", err)
	}
}
