package bastion

import (
	"runtime/debug"
	"sync"
	"time"
)

// hashReleaseDelay is how long the argon2 hashes must have been idle
// before the memory they used is returned to the OS.
const hashReleaseDelay = 2 * time.Second

// stopper is the part of *time.Timer that idleRelease uses.
type stopper interface{ Stop() bool }

// idleRelease returns freed heap memory to the OS once a burst of
// argon2id hashes is over. Each hash allocates its 64 MiB working memory
// afresh (x/crypto/argon2 has no way to reuse it); once garbage, the Go
// runtime keeps those pages resident for minutes, so a burst of password
// logins would leave hundreds of MiB behind. debug.FreeOSMemory forces a
// collection and hands the pages back, but it stops the world: it runs
// once, delay after the last hash of a burst ends, never per login. A
// nil *idleRelease does nothing.
type idleRelease struct {
	delay     time.Duration
	afterFunc func(time.Duration, func()) stopper
	free      func()

	mu    sync.Mutex
	busy  int     // hashes running
	gen   uint64  // bumped by every begin and end: a timer of an older one is stale
	timer stopper // armed while idle and not yet freed
}

func newIdleRelease(delay time.Duration) *idleRelease {
	return &idleRelease{
		delay:     delay,
		afterFunc: func(d time.Duration, f func()) stopper { return time.AfterFunc(d, f) },
		free:      debug.FreeOSMemory,
	}
}

// begin marks a hash started: a pending release waits for the next idle.
func (r *idleRelease) begin() {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.busy++
	r.gen++
	if r.timer != nil {
		r.timer.Stop()
		r.timer = nil
	}
}

// end marks a hash done; the last one running arms the release.
func (r *idleRelease) end() {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.busy > 0 {
		r.busy--
	}
	if r.busy > 0 {
		return
	}
	r.gen++
	gen := r.gen
	if r.timer != nil {
		r.timer.Stop()
	}
	r.timer = r.afterFunc(r.delay, func() { r.fire(gen) })
}

// fire frees the memory unless a hash began (or ended) since gen.
func (r *idleRelease) fire(gen uint64) {
	r.mu.Lock()
	if gen != r.gen || r.busy > 0 {
		r.mu.Unlock()
		return
	}
	r.timer = nil
	r.mu.Unlock()
	r.free()
}

// stop cancels a pending release (the server is shutting down).
func (r *idleRelease) stop() {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.gen++
	if r.timer != nil {
		r.timer.Stop()
		r.timer = nil
	}
}
