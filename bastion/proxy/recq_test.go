package proxy

import (
	"bytes"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/jms-bastion/jms/recorder"
)

// TestRecQueueRunsOnlyWhileBusy: the recording queue's goroutine starts
// with a chunk and ends once the queue is empty, and every chunk queued
// from several goroutines, in bursts with idle gaps between them, reaches
// the recording in the order each sender queued it.
func TestRecQueueRunsOnlyWhileBusy(t *testing.T) {
	for _, tc := range []struct {
		name            string
		senders, chunks int
		burst           int // chunks per burst before the sender waits for the queue to idle
	}{
		{"one sender, one chunk at a time", 1, 200, 1},
		{"one sender, bursts past the queue's length", 1, 200, 3 * recQueueLen},
		{"three senders at once", 3, 300, 50},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			w, err := recorder.NewWriter(&out, recorder.Header{Width: 80, Height: 24}, recorder.Options{})
			if err != nil {
				t.Fatal(err)
			}
			s := &session{p: New(Config{}, nil, nil), rec: w}
			s.recOK.Store(true)
			q := s.startRecQueue()
			var wg sync.WaitGroup
			for g := range tc.senders {
				wg.Go(func() {
					for i := range tc.chunks {
						q.dataCopy(recorder.StreamStdout, fmt.Appendf(nil, "<%d:%d>", g, i))
						if (i+1)%tc.burst == 0 {
							idle(q)
						}
					}
				})
			}
			wg.Wait()
			q.close()
			if q.running.Load() {
				t.Fatal("a recording goroutine still runs after close")
			}
			checkOrder(t, out.String(), tc.senders, tc.chunks)
			q.dataCopy(recorder.StreamStdout, []byte("late")) // dropped, not sent on a closed queue
		})
	}
}

// idle waits until the queue is empty and no goroutine records.
func idle(q *recQueue) {
	for q.running.Load() || len(q.ch) > 0 {
		runtime.Gosched()
	}
}

// checkOrder finds every sender's chunks in the recording, in order.
func checkOrder(t *testing.T, cast string, senders, chunks int) {
	t.Helper()
	r, err := recorder.NewReader(strings.NewReader(cast))
	if err != nil {
		t.Fatal(err)
	}
	evs, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	for _, e := range evs {
		all.WriteString(e.Data)
	}
	got := all.String()
	for g := range senders {
		at := 0
		for i := range chunks {
			want := fmt.Sprintf("<%d:%d>", g, i)
			j := strings.Index(got[at:], want)
			if j < 0 {
				t.Fatalf("sender %d: chunk %d missing or out of order", g, i)
			}
			at += j + len(want)
		}
	}
}
