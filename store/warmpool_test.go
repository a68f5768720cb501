package store

import (
	"context"
	"sync"
	"testing"
)

// TestWarmPool: a warmed SQLite store holds its every pooled connection
// idle, and a burst of queries afterwards opens none (they used to be
// closed down to two after each burst and opened again at the next).
// On PostgreSQL it opens nothing.
func TestWarmPool(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	if err := s.WarmPool(ctx); err != nil {
		t.Fatal(err)
	}
	st := s.db.Stats()
	if s.Engine() == PostgreSQL {
		if st.OpenConnections >= sqlitePool {
			t.Fatalf("PostgreSQL: %d connections open after WarmPool", st.OpenConnections)
		}
		return
	}
	if st.OpenConnections != sqlitePool || st.Idle != sqlitePool {
		t.Fatalf("after WarmPool: %d open, %d idle; want %d of each", st.OpenConnections, st.Idle, sqlitePool)
	}
	var wg sync.WaitGroup
	for range 4 * sqlitePool {
		wg.Go(func() {
			if _, err := s.SchemaVersion(ctx); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if after := s.db.Stats(); after.OpenConnections != sqlitePool || after.MaxIdleClosed != 0 {
		t.Fatalf("after a burst: %d open, %d closed for want of idle room; want %d open, none closed",
			after.OpenConnections, after.MaxIdleClosed, sqlitePool)
	}
}
