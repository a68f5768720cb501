package dbwire

import (
	"context"

	"github.com/jms-bastion/jms/bastion/database"
	"github.com/jms-bastion/jms/store"
)

// BatchStore writes command events in batches, in one transaction each.
type BatchStore interface {
	AddCommandEvents(ctx context.Context, es []store.CommandEvent) error
}

// queueDepth is how many statement records a session may have waiting
// for the store before its statements wait for the audit; maxBatch how
// many one transaction writes.
const (
	queueDepth = 1024
	maxBatch   = 256
)

// Queue is an Auditor that takes the statement audit off the query
// path: Statement hands the record to the session's writer, which
// records whatever has gathered in one transaction, so that a client
// sending statements back to back waits for neither an insert nor a
// commit per statement. A statement still waits when queueDepth records
// are pending (the audit is never dropped); Close writes the rest. What
// a crash loses is what is pending: the last moment's statements, as a
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
	for e := range q.in {
		batch = append(batch[:0], e)
	gather:
		for len(batch) < maxBatch {
			select {
			case e, ok := <-q.in:
				if !ok {
					break gather
				}
				batch = append(batch, e)
			default:
				break gather
			}
		}
		q.flush(batch)
	}
}

// flush writes one batch; a failed batch is written event by event, so
// that one bad record costs only itself.
func (q *Queue) flush(batch []store.CommandEvent) {
	ctx, cancel := context.WithTimeout(context.Background(), auditTimeout)
	defer cancel()
	if err := q.st.AddCommandEvents(ctx, batch); err == nil {
		return
	} else if len(batch) == 1 {
		q.a.logger().Error("recording a statement in the audit", "session", q.a.Session, "err", err)
		return
	}
	for _, e := range batch {
		q.flush([]store.CommandEvent{e})
	}
}
