package dbwire

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jms-bastion/jms/bastion/database"
	"github.com/jms-bastion/jms/bastion/filter"
	"github.com/jms-bastion/jms/store"
)

// batchStore records the batches it is given; a batch holding the
// command "bad" fails whole.
type batchStore struct {
	mu      sync.Mutex
	batches [][]store.CommandEvent
}

func (b *batchStore) AddCommandEvents(_ context.Context, es []store.CommandEvent) error {
	if slices.ContainsFunc(es, func(e store.CommandEvent) bool { return e.Command == "bad" }) {
		return errors.New("refused")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.batches = append(b.batches, slices.Clone(es))
	return nil
}

func (b *batchStore) commands() []string {
	var out []string
	for _, batch := range b.batches {
		for _, e := range batch {
			out = append(out, e.Command)
		}
	}
	return out
}

func TestQueue(t *testing.T) {
	start := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	allow := database.Verdict{Action: filter.Allow}
	for _, tt := range []struct {
		name     string
		commands []string
		want     []string
	}{
		{"none", nil, nil},
		{"in order", []string{"SELECT 1", "SELECT 2", "SELECT 3"}, []string{"SELECT 1", "SELECT 2", "SELECT 3"}},
		{"more than a queue", seq(3000), seq(3000)},
		{"a bad record costs only itself", []string{"a", "bad", "b"}, []string{"a", "b"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			bs := &batchStore{}
			q := NewQueue(Auditor{Session: "s1", Start: start, User: "alice", Asset: "db1", Account: "app"}, bs)
			for i, c := range tt.commands {
				q.Statement(context.Background(), database.StatementRecord{Text: c, Verdict: allow, Ran: true, Rows: 1,
					Started: start.Add(time.Duration(i) * time.Millisecond)})
			}
			q.Close()
			if got := bs.commands(); !slices.Equal(got, tt.want) {
				t.Fatalf("got %d records %.60q, want %d", len(got), got, len(tt.want))
			}
			for _, batch := range bs.batches {
				if len(batch) > maxBatch {
					t.Errorf("a batch of %d", len(batch))
				}
				for _, e := range batch {
					if e.SessionID != "s1" || e.User != "alice" || e.Verdict != store.VerdictAllow || e.Rows == nil ||
						!strings.HasPrefix(e.At.String(), "2026-11-30") {
						t.Fatalf("event %+v", e)
					}
				}
			}
		})
	}
}

func seq(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("SELECT %d", i)
	}
	return out
}
