package bastion

// Pre-auth defences: what the server does with connections and attempts
// before anyone has logged in, so that a flood from one address costs
// it little memory, little disk and few log lines.
//
//   - Names as given by a client are bounded and escaped (boundName)
//     before they reach the audit or the log.
//   - Every pre-auth refusal, of any method, counts in memory towards
//     the throttle of its source (sourceGuard); a throttled source is
//     kept in memory until its throttle ends, and refused at accept.
//   - Refusals that do not count towards a lockout in the store (refused
//     keys, locked names, throttled sources) are aggregated in memory
//     (refusalAudit): the first of a kind is written at once, the
//     repeats within LoginAggregateWindow as one row and one log line
//     with their count.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/jms-bastion/jms/printable"
	"github.com/jms-bastion/jms/store"
)

// maxNameBytes bounds a client-given name as the audit and the log keep
// it; jms user names are at most 64 bytes.
const maxNameBytes = 64

// boundName returns a name given by a client as it may be stored and
// logged: a jms-like name of at most maxNameBytes printable ASCII bytes
// as it is; anything else as the escaped start of it, then "~" and a
// short hash of the whole name, so that distinct names stay distinct.
// No jms user name contains "~", a backslash or a parenthesis, so no
// bounded name looks like a jms user name or like manyNames.
func boundName(name string) string {
	if len(name) <= maxNameBytes && printableASCII(name) {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	tag := "~" + hex.EncodeToString(sum[:4])
	budget := maxNameBytes - len(tag)
	out := make([]byte, 0, maxNameBytes)
	for i, r := range name {
		// Controls and broken bytes as every listing writes them out
		// (printable), other non-ASCII as \uXXXX: the result is ASCII.
		var esc string
		switch {
		case r == utf8.RuneError && !validRuneAt(name, i):
			esc = printable.Escape(name[i : i+1])
		case r < utf8.RuneSelf || printable.Escape(string(r)) != string(r):
			esc = printable.Escape(string(r))
		default:
			q := strconv.QuoteRuneToASCII(r)
			esc = q[1 : len(q)-1]
		}
		if len(out)+len(esc) > budget {
			break
		}
		out = append(out, esc...)
	}
	return string(out) + tag
}

// validRuneAt reports whether a RuneError at s[i] was really U+FFFD.
func validRuneAt(s string, i int) bool {
	_, size := utf8.DecodeRuneInString(s[i:])
	return size == 3
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c > 0x7e || strings.IndexByte(`\\~()`, c) >= 0 {
			return false
		}
	}
	return true
}

// maxGuarded bounds the sources the guard and the refusal audit keep.
const maxGuarded = 1 << 14

// maxKindsPerSource bounds the kinds of refusal (names, methods,
// reasons) one source gets audited rows for within a window; beyond
// it, its refusals fold under manyNames. A source that tries a new name
// each time writes a few rows, not one per name.
const maxKindsPerSource = 8

// The name and source of refusals folded beyond the bounds.
const (
	manyNames   = "(more names)"
	manySources = "(more sources)"
)

// throttleRecheck is how long a throttle in memory is trusted before
// the store is asked again: an administrator's `jmsctl user unlock
// --address` (another process) takes effect within it.
const throttleRecheck = 5 * time.Second

// sourceGuard counts pre-auth refusals per source key and remembers the
// sources it throttled, with when their throttle ends.
type sourceGuard struct {
	mu        sync.Mutex
	window    time.Duration
	max       int // refusals within window that throttle; 0 never
	fails     map[string]*failCount
	throttled map[string]throttle
}

type failCount struct {
	since time.Time
	n     int
}

type throttle struct {
	until   time.Time
	checked time.Time // when the store last confirmed it
}

func newSourceGuard(max int, window time.Duration) *sourceGuard {
	return &sourceGuard{window: window, max: max, fails: map[string]*failCount{}, throttled: map[string]throttle{}}
}

// until returns when the throttle of key ends, if it is throttled at
// now, and whether the store should confirm it again.
func (g *sourceGuard) until(key string, now time.Time) (until time.Time, ok, recheck bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	th, ok := g.throttled[key]
	if ok && !now.Before(th.until) {
		delete(g.throttled, key)
		return time.Time{}, false, false
	}
	return th.until, ok, ok && now.Sub(th.checked) >= throttleRecheck
}

// throttle remembers that key is throttled until until, as of now.
func (g *sourceGuard) throttle(key string, until, now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.throttled) >= maxGuarded {
		for k, th := range g.throttled {
			if !now.Before(th.until) {
				delete(g.throttled, k)
			}
		}
	}
	if len(g.throttled) < maxGuarded {
		g.throttled[key] = throttle{until: until, checked: now}
	}
	delete(g.fails, key)
}

// forget drops the throttle of key (lifted in the store).
func (g *sourceGuard) forget(key string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.throttled, key)
}

// refused counts a pre-auth refusal from key at now and reports how
// many there were within the window, and whether that reaches the
// threshold.
func (g *sourceGuard) refused(key string, now time.Time) (int, bool) {
	if g.max <= 0 {
		return 0, false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	fc := g.fails[key]
	if fc == nil || now.Sub(fc.since) >= g.window {
		if fc == nil && len(g.fails) >= maxGuarded {
			g.prune(now)
		}
		fc = &failCount{since: now}
		g.fails[key] = fc
	}
	fc.n++
	return fc.n, fc.n >= g.max
}

// prune forgets the counts whose window is over, or all of them when
// none is (a flood from more sources than maxGuarded).
func (g *sourceGuard) prune(now time.Time) {
	for k, fc := range g.fails {
		if now.Sub(fc.since) >= g.window {
			delete(g.fails, k)
		}
	}
	if len(g.fails) >= maxGuarded {
		clear(g.fails)
	}
}

// refusalKey is one kind of pre-auth refusal.
type refusalKey struct {
	user, source, method, reason string
}

// refusalRun is the refusals of one kind since they were last written.
type refusalRun struct {
	written time.Time // when a row was last written
	pending int       // refusals since then, not written yet
}

// refusalAudit aggregates pre-auth refusals: write is called with the
// count to record, at most once per kind and window, and by flush for
// the rest.
type refusalAudit struct {
	window time.Duration
	now    func() time.Time
	write  func(k refusalKey, count int)

	mu    sync.Mutex
	runs  map[refusalKey]*refusalRun
	kinds map[string]int // kinds in runs, per source
	timer *time.Timer    // armed while some refusal waits to be written
	done  bool
}

func newRefusalAudit(window time.Duration, now func() time.Time, write func(refusalKey, int)) *refusalAudit {
	return &refusalAudit{window: window, now: now, write: write, runs: map[refusalKey]*refusalRun{}, kinds: map[string]int{}}
}

// note records one refusal of kind k.
func (a *refusalAudit) note(k refusalKey) {
	now := a.now()
	a.mu.Lock()
	if a.done {
		a.mu.Unlock()
		a.write(k, 1)
		return
	}
	k = a.fold(k)
	if a.timer == nil { // flush sweeps every window while runs are kept
		a.timer = time.AfterFunc(a.window, func() { a.flush(false) })
	}
	r := a.runs[k]
	if r != nil && now.Sub(r.written) < a.window {
		r.pending++
		a.mu.Unlock()
		return
	}
	n := 1
	if r == nil {
		r = &refusalRun{}
		a.runs[k] = r
		a.kinds[k.source]++
	} else {
		n += r.pending
	}
	r.written, r.pending = now, 0
	a.mu.Unlock()
	a.write(k, n)
}

// fold returns the kind a new refusal is kept under: k itself while its
// source has few kinds and the audit few runs, else k under manyNames
// (and manySources when the runs are full). Called with a.mu held.
func (a *refusalAudit) fold(k refusalKey) refusalKey {
	if _, ok := a.runs[k]; ok {
		return k
	}
	if a.kinds[k.source] >= maxKindsPerSource {
		k.user = manyNames
	}
	if _, ok := a.runs[k]; !ok && len(a.runs) >= maxGuarded {
		k.user, k.source = manyNames, manySources
	}
	return k
}

// flush writes the refusals that wait (all of them when final, or
// those whose window is over) and forgets the kinds with none waiting
// whose window is over; it runs again a window later while kinds are
// kept. The final flush turns aggregation off.
func (a *refusalAudit) flush(final bool) {
	now := a.now()
	type out struct {
		k refusalKey
		n int
	}
	var due []out
	a.mu.Lock()
	for k, r := range a.runs {
		over := now.Sub(r.written) >= a.window
		if r.pending > 0 && (final || over) {
			due = append(due, out{k, r.pending})
			r.written, r.pending = now, 0
			continue
		}
		if over && r.pending == 0 {
			delete(a.runs, k)
			if a.kinds[k.source]--; a.kinds[k.source] <= 0 {
				delete(a.kinds, k.source)
			}
		}
	}
	if a.timer != nil {
		a.timer.Stop()
		a.timer = nil
	}
	if final {
		a.done = true
	} else if len(a.runs) > 0 {
		a.timer = time.AfterFunc(a.window, func() { a.flush(false) })
	}
	a.mu.Unlock()
	for _, o := range due {
		a.write(o.k, o.n)
	}
}

// preAuthRefusal is how the server records a pre-auth refusal that does not
// count towards a lockout in the store: counted towards the throttle of
// its source, and audited and logged in aggregate under the source key
// (an IPv6 /64 is one source here too).
func (s *Server) preAuthRefusal(cs *connState, user, method, reason string) {
	s.refusals.note(refusalKey{user: boundName(user), source: cs.key, method: method, reason: reason})
	if reason != reasonThrottled {
		s.countRefusal(cs)
	}
}

// countRefusal counts a pre-auth refusal towards the throttle of the
// connection's source, and throttles it at the threshold.
func (s *Server) countRefusal(cs *connState) {
	now := s.now()
	if sh := s.share.Load(); sh != nil {
		sh.add(cs.key)
	}
	n, reached := s.guard.refused(cs.key, now)
	if !reached {
		return
	}
	until := now.Add(s.cfg.LockoutDuration)
	s.guard.throttle(cs.key, until, now)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	why := strconv.Itoa(n) + " refused logins within " + s.cfg.LockoutWindow.String()
	if err := s.st.LockLogin(store.WithActor(ctx, "bastion"), "", cs.key, until, why); err != nil {
		s.log.Error("throttling an address", "source", cs.key, "err", err)
		return
	}
	s.log.Warn("throttled an address", "source", cs.key, "until", until, "refusals", n)
}

// writeRefusal records count refusals of one kind: one audit row, one
// log line.
func (s *Server) writeRefusal(k refusalKey, count int) {
	if k.method == "" { // log only: refused before any SSH was spoken
		s.log.Warn("refused connections", "source", k.source, "reason", k.reason, "count", count)
		return
	}
	s.auditEvent(context.Background(), store.LoginEvent{User: k.user, Source: k.source, Method: k.method,
		Result: store.LoginFailure, Reason: k.reason, Count: count})
}
