package bastion

// The throttle across nodes. Each node counts pre-auth refusals per
// source in memory (sourceGuard, preauth.go) and throttles a source at
// ThrottleFailures of its own. In a cluster it also adds its counts to
// the store at most once every shareInterval, for at most
// maxSharedSources sources (never one write per attempt), and throttles a
// source whose refusals over every node reach ThrottleFailures.

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/jms-bastion/jms/store"
)

// shareInterval is how often a node shares its refusal counts, and
// maxSharedSources how many sources one share writes at most (the rest
// count on this node only until the next).
const (
	shareInterval    = time.Second
	maxSharedSources = 1024
)

// refusalShare gathers the refusals to share and shares them, from a
// timer armed while some wait.
type refusalShare struct {
	share func(counts map[string]int) // runs outside the lock

	mu      sync.Mutex
	pending map[string]int
	timer   *time.Timer
	stopped bool
}

func newRefusalShare(share func(map[string]int)) *refusalShare {
	return &refusalShare{share: share, pending: map[string]int{}}
}

// add counts one refusal from key.
func (r *refusalShare) add(key string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return
	}
	if _, ok := r.pending[key]; ok || len(r.pending) < maxSharedSources {
		r.pending[key]++
	}
	if r.timer == nil {
		r.timer = time.AfterFunc(shareInterval, r.flush)
	}
}

// flush shares what waits.
func (r *refusalShare) flush() {
	r.mu.Lock()
	p := r.pending
	r.pending = map[string]int{}
	r.timer = nil
	r.mu.Unlock()
	if len(p) > 0 {
		r.share(p)
	}
}

// stop drops what waits and shares no more.
func (r *refusalShare) stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stopped = true
	if r.timer != nil {
		r.timer.Stop()
		r.timer = nil
	}
}

// shareRefusals adds node's counts to the store and throttles the
// sources whose refusals over the cluster reach the threshold.
func (s *Server) shareRefusals(st NodeStore, node string) func(map[string]int) {
	return func(counts map[string]int) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		now := s.now()
		sums, err := st.ShareRefusals(ctx, node, counts, now, s.cfg.LockoutWindow)
		if err != nil {
			s.log.Error("sharing refused logins with the cluster", "err", err)
			return
		}
		for key, n := range sums {
			if n < s.cfg.ThrottleFailures {
				continue
			}
			if _, ok, _ := s.guard.until(key, now); ok {
				continue // throttled here already
			}
			until, locked, err := s.st.LoginLockedUntil(ctx, "", key, now)
			if err != nil {
				s.log.Error("reading the throttle of an address", "source", key, "err", err)
				continue
			}
			if !locked {
				until = now.Add(s.cfg.LockoutDuration)
				why := strconv.Itoa(n) + " refused logins over the cluster within " + s.cfg.LockoutWindow.String()
				if err := s.st.LockLogin(store.WithActor(ctx, "bastion"), "", key, until, why); err != nil {
					s.log.Error("throttling an address", "source", key, "err", err)
					continue
				}
				s.log.Warn("throttled an address", "source", key, "until", until, "refusals", n, "over", "cluster")
			}
			s.guard.throttle(key, until, now)
		}
	}
}
