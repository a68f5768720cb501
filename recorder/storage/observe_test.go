package storage

import (
	"sync"
	"testing"
	"time"
)

// countingObserver keeps what storage tells it.
type countingObserver struct {
	mu       sync.Mutex
	stored   int
	bytes    int64
	failed   int
	measures []SpoolStatus
}

func (c *countingObserver) UploadStored(n int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stored++
	c.bytes += n
}

func (c *countingObserver) UploadFailed() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failed++
}

func (c *countingObserver) SpoolMeasured(s SpoolStatus) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.measures = append(c.measures, s)
}

func (c *countingObserver) last(t *testing.T) SpoolStatus {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.measures) == 0 {
		t.Fatal("the spool was never reported")
	}
	return c.measures[len(c.measures)-1]
}

func TestObserverSeesUploadsFallBehindAndCatchUp(t *testing.T) {
	fx := newFixture(t, true)
	obs := &countingObserver{}
	fx.s.o.Observer = obs
	id := "0a0a0a0a-0000-4000-8000-0000000000a1"
	fx.session(t, id, cast)
	fx.obj.failPuts = 1

	fx.step(t) // registered, the upload fails
	fx.advance(10 * time.Minute)
	fx.s.measureSpool()
	fx.s.observeSpool(fx.ctx)
	got := obs.last(t)
	if obs.failed != 1 || obs.stored != 0 {
		t.Fatalf("after a failed upload: failed %d, stored %d", obs.failed, obs.stored)
	}
	if got.Files != 1 || got.Failed != 1 || got.Oldest < 10*time.Minute || got.Bytes != int64(len(cast)) {
		t.Fatalf("spool while the store is down: %+v", got)
	}

	fx.step(t) // the retry is due: stored
	fx.s.measureSpool()
	fx.s.observeSpool(fx.ctx)
	f := fx.file(t, id)
	if obs.stored != 1 || obs.bytes != f.ObjectSize || f.ObjectSize == 0 {
		t.Fatalf("after the upload: stored %d, %d bytes (object %d)", obs.stored, obs.bytes, f.ObjectSize)
	}
	if got := obs.last(t); got != (SpoolStatus{}) {
		t.Fatalf("spool once caught up: %+v", got)
	}
}

func TestObserverIgnoredWhenLocal(t *testing.T) {
	fx := newFixture(t, false)
	obs := &countingObserver{}
	fx.s.o.Observer = obs
	fx.session(t, "0a0a0a0a-0000-4000-8000-0000000000a2", cast)
	fx.step(t)
	fx.s.measureSpool()
	fx.s.observeSpool(fx.ctx)
	if len(obs.measures) != 0 || fx.s.SpoolBytes() != 0 {
		t.Fatalf("a local recordings folder reported as a spool: %+v, %d bytes", obs.measures, fx.s.SpoolBytes())
	}
}
