package bastion

// The live-session registry: every session this server runs (proxied
// shells and commands, SFTP, forwarded ports), with the function that
// ends it. One poller goroutine runs while the registry is not empty:
// every pollInterval it ends the sessions an admin asked to kill (jmsctl
// session kill, from any process sharing the data directory), and those
// whose user may no longer do what they need (store.Authorize: grant
// expired or revoked, an action or a forward's port taken away, user
// disabled or removed).

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jms-bastion/jms/bastion/proxy"
	"github.com/jms-bastion/jms/bastion/sessionerr"
	"github.com/jms-bastion/jms/store"
)

// pollInterval is how often the live sessions are checked: a kill takes
// effect within about this long (plus the time to close the asset's
// connection).
const pollInterval = 500 * time.Millisecond

// endCause is why the bastion ended a session, as the person reads it
// and the session row records it ("idle timeout"). It counts as a kill
// (errors.Is(err, sessionerr.ErrKilled)), so the row's status is killed.
type endCause string

func (e endCause) Error() string { return string(e) }
func (e endCause) Unwrap() error { return sessionerr.ErrKilled }

// Reasons the bastion ends a session by itself.
const (
	errIdle        = endCause("idle timeout")
	errMaxDuration = endCause("maximum session duration")
)

// liveSession is one session in the registry.
type liveSession struct {
	id      string
	kind    string // store.SessionShell, SessionExec …, for the metrics
	user    string
	asset   string
	assetID int64
	account string // "" for a forward, made as no account
	port    int    // a forward's port, which a grant must open
	source  string // the client's address, for the login rules
	// recording is the recording's file, for watchers on other nodes
	// (watchstream.go); "" when there is none.
	recording string
	needs     []string // the actions the session needs of its grant
	// needsNow, when set, adds the actions the session needs at this
	// moment (an SFTP session: those of its open files).
	needsNow func() []string
	cancel   context.CancelCauseFunc
	notify   func(msg string) // tells the person something over the session; nil: cannot

	// Used by the poller only.
	nextCheck time.Time // when the grant is next checked
	nextAhead time.Time // when it is next checked expiryWarning ahead
	warned    bool      // the expiry warning was given
}

// authzQuery is the question the poller asks of the store about ls.
func (ls *liveSession) authzQuery(at time.Time) store.AuthzQuery {
	needs := ls.needs
	if ls.needsNow != nil {
		needs = append(slices.Clone(needs), ls.needsNow()...)
	}
	return store.AuthzQuery{User: ls.user, AssetID: ls.assetID, Account: ls.account, Actions: needs, Port: ls.port, At: at}
}

// revokedReason says why the grant of ls no longer holds, for the
// person and the session row.
func revokedReason(ls *liveSession, err error) string {
	de, _ := store.IsDenied(err)
	switch {
	case de != nil && de.Port != 0:
		return fmt.Sprintf("the grant to %s no longer opens port %d", ls.asset, ls.port)
	case de != nil && len(de.Missing) > 0 && ls.account != "":
		return fmt.Sprintf("the grant to %s as %s expired or was revoked (%s)", ls.asset, ls.account, strings.Join(de.Missing, ", "))
	case de != nil && len(de.Missing) > 0:
		return fmt.Sprintf("the grant to %s expired or was revoked (%s)", ls.asset, strings.Join(de.Missing, ", "))
	case de != nil && de.Asset != "" && ls.account != "":
		return fmt.Sprintf("the grant to %s as %s expired or was revoked", ls.asset, ls.account)
	}
	return fmt.Sprintf("the grant to %s expired or was revoked", ls.asset)
}

// expiryWarning is how long before a grant's end the session is warned,
// and aheadInterval how often that is looked at: one more authorization
// query per session every 30 s.
const (
	expiryWarning = 5 * time.Minute
	aheadInterval = 30 * time.Second
)

// revokeInterval is how often a live session's grant and user are
// checked again: less often than kill requests, since each check reads
// the authorization of one session. With the poll's own pollInterval, a
// change made by any node or jmsctl (a grant removed or expired, a user
// disabled, locked or removed, a login rule) ends the session within
// pollInterval+revokeInterval = 2 s, plus the query (docs/cluster.md).
const revokeInterval = 1500 * time.Millisecond

// liveSessions is the registry.
type liveSessions struct {
	interval time.Duration
	check    func(ctx context.Context, list []*liveSession) // one poll

	mu      sync.Mutex
	m       map[string]*liveSession
	running bool
	wake    chan struct{} // the registry became empty: the poller may stop now
	done    chan struct{} // closed when a poller stops (tests wait for it)
}

func newLiveSessions(interval time.Duration, check func(context.Context, []*liveSession)) *liveSessions {
	return &liveSessions{interval: interval, check: check, m: map[string]*liveSession{}, wake: make(chan struct{}, 1)}
}

// add registers a session and starts the poller if it is not running.
func (l *liveSessions) add(ls *liveSession) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.m[ls.id] = ls
	if !l.running {
		l.running = true
		l.done = make(chan struct{})
		go l.loop(l.done)
	}
}

// remove unregisters a session.
func (l *liveSessions) remove(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.m, id)
	if len(l.m) == 0 {
		select {
		case l.wake <- struct{}{}:
		default:
		}
	}
}

// byKind returns how many sessions of each kind are registered.
func (l *liveSessions) byKind() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]int{}
	for _, ls := range l.m {
		out[ls.kind]++
	}
	return out
}

// list returns the registered sessions.
func (l *liveSessions) list() []*liveSession {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]*liveSession, 0, len(l.m))
	for _, ls := range l.m {
		out = append(out, ls)
	}
	return out
}

// count returns how many sessions are registered.
func (l *liveSessions) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.m)
}

// endAll ends every registered session with cause.
func (l *liveSessions) endAll(cause error) {
	for _, ls := range l.list() {
		ls.cancel(cause)
	}
}

// stopped returns a channel closed once no poller runs.
func (l *liveSessions) stopped() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.running {
		c := make(chan struct{})
		close(c)
		return c
	}
	return l.done
}

func (l *liveSessions) loop(done chan struct{}) {
	defer close(done)
	t := time.NewTicker(l.interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-l.wake:
		}
		l.mu.Lock()
		if len(l.m) == 0 {
			l.running = false
			l.mu.Unlock()
			return
		}
		list := make([]*liveSession, 0, len(l.m))
		for _, ls := range l.m {
			list = append(list, ls)
		}
		l.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		l.check(ctx, list)
		cancel()
	}
}

// checkLive is one poll of the registry: kill requests first, then
// whether each user may still reach her asset.
func (s *Server) checkLive(ctx context.Context, list []*liveSession) {
	ids := make([]string, len(list))
	byID := make(map[string]*liveSession, len(list))
	for i, ls := range list {
		ids[i] = ls.id
		byID[ls.id] = ls
	}
	kills, err := s.st.PendingKills(ctx, ids)
	if err != nil {
		s.log.Error("live sessions: reading kill requests", "err", err)
	}
	for _, k := range kills {
		ls := byID[k.SessionID]
		if ls == nil {
			continue
		}
		who := k.By
		if who == "" {
			who = "an administrator"
		}
		cause := fmt.Errorf("%w by %s", sessionerr.ErrKilled, who)
		if k.Reason != "" {
			cause = fmt.Errorf("%w by %s: %s", sessionerr.ErrKilled, who, k.Reason)
		}
		s.log.Info("killing a session", "session", ls.id, "user", ls.user, "asset", ls.asset, "by", who, "reason", k.Reason)
		ls.cancel(cause)
		delete(byID, ls.id)
	}
	now, at := time.Now(), s.now()
	memo := pollMemo{}
	for _, ls := range byID {
		if now.Before(ls.nextCheck) {
			continue
		}
		ls.nextCheck = now.Add(revokeInterval)
		if cause := memo.revoked(ctx, s, ls, at); cause != nil {
			s.log.Info("ending a session", "session", ls.id, "user", ls.user, "asset", ls.asset, "reason", cause.Error())
			ls.cancel(cause)
			continue
		}
		s.warnExpiry(ctx, memo, ls, now, at)
	}
	s.publishWatches(ctx, byID)
}

// pollMemo shares one answer among the sessions of a poll that ask the
// store the same question (the same user, asset, account, port, source
// and actions at the same moment): a person's ten sessions on one asset
// cost one check, not ten. SFTP sessions, whose actions change with their
// open files, are always asked on their own.
type pollMemo map[string]error

func (m pollMemo) revoked(ctx context.Context, s *Server, ls *liveSession, at time.Time) error {
	if ls.needsNow != nil {
		return s.revoked(ctx, ls, at)
	}
	key := fmt.Sprintf("%q %d %q %d %q %q %d", ls.user, ls.assetID, ls.account, ls.port, ls.source, ls.needs, at.UnixNano())
	if cause, ok := m[key]; ok {
		return cause
	}
	cause := s.revoked(ctx, ls, at)
	m[key] = cause
	return cause
}

// warnExpiry tells the person once, expiryWarning ahead, that her grant
// ends: the session would be ended then without notice. Only the grant's
// validity can end it at a known time, so a check that far ahead finds
// exactly that.
func (s *Server) warnExpiry(ctx context.Context, memo pollMemo, ls *liveSession, now, at time.Time) {
	if ls.warned || ls.notify == nil || ls.assetID == 0 || now.Before(ls.nextAhead) {
		return
	}
	ls.nextAhead = now.Add(aheadInterval)
	if memo.revoked(ctx, s, ls, at.Add(expiryWarning)) == nil {
		return
	}
	ls.warned = true
	s.log.Info("warning of the grant's end", "session", ls.id, "user", ls.user, "asset", ls.asset)
	ls.notify(fmt.Sprintf("jms: your access to %s ends within %d minutes: the grant expires",
		ls.asset, int(expiryWarning/time.Minute)))
}

// revoked returns why ls may no longer go on at the time at, or nil. A
// lock never suspends the check: a user locked by an administrator ends
// here like a disabled one, and a grant revoked while she is locked ends
// her session all the same. (Failed logins do not lock a user for keys
// nor end her sessions: they refuse passwords only, see login.go.)
func (s *Server) revoked(ctx context.Context, ls *liveSession, at time.Time) error {
	// The user is read once per check: whether she is gone, and her
	// groups for the login rules.
	u, err := s.st.GetUser(ctx, ls.user)
	if cause := userGone(ls.user, u, err, s.now()); cause != nil || err != nil {
		return cause // a store error ends nothing
	}
	// An SFTP session on the virtual root (no asset): each operation
	// checks its grant; the session as a whole ends with its user or a
	// rule.
	if ls.assetID != 0 {
		_, err := s.st.Authorize(ctx, ls.authzQuery(at))
		if errors.Is(err, store.ErrDenied) {
			return endCause(revokedReason(ls, err))
		}
		if err != nil && ctx.Err() == nil {
			s.log.Error("live sessions: checking a grant", "session", ls.id, "err", err)
		}
	}
	return s.ruleEnds(ctx, ls, u)
}

// ruleEnds returns why a login rule now denies ls's user u, or nil: a
// session opened at 17:59 under "deny after 18:00" ends at 18:00.
func (s *Server) ruleEnds(ctx context.Context, ls *liveSession, u store.User) error {
	rule, denied, err := s.ruleDenies(ctx, ls.user, u.Groups, ls.source)
	switch {
	case err != nil:
		if ctx.Err() == nil {
			s.log.Error("live sessions: checking login rules", "session", ls.id, "err", err)
		}
		return nil
	case denied:
		return endCause(ruleRefusal(rule, ls.user, ls.source))
	}
	return nil
}

// userGone returns why user (u, as read with err) may no longer work
// (removed, disabled or locked by an administrator), or nil.
func userGone(user string, u store.User, err error, now time.Time) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return endCause("user " + user + " removed")
	case err != nil:
		return nil
	case u.Disabled:
		return endCause("user " + user + " disabled")
	case u.Locked(now):
		return endCause("user " + user + " locked")
	}
	return nil
}

// runProxy runs one proxied session under the registry, the maximum
// session duration and ctx (which the idle timeout cancels). needs are
// the actions the session keeps needing of its grant.
func (s *Server) runProxy(ctx context.Context, down proxy.Downstream, req *proxy.Request, needs []string, log *slog.Logger) (int, error) {
	kctx, kill := context.WithCancelCause(ctx)
	defer kill(nil)
	if d := s.cfg.MaxSessionDuration; d > 0 {
		var cancel context.CancelFunc
		kctx, cancel = context.WithTimeoutCause(kctx, d, errMaxDuration)
		defer cancel()
	}
	var id, recording string
	var notify func(string)
	if n, ok := down.(interface{ notice(string) }); ok {
		notify = n.notice
	}
	onStart := req.OnStart
	req.OnStart = func(row store.Session) {
		if onStart != nil {
			onStart(row)
		}
		id = row.ID
		source, _, err := net.SplitHostPort(req.Source)
		if err != nil {
			source = req.Source
		}
		if row.RecordingPath != "" {
			recording, _ = s.recordingFile(row)
		}
		s.register(&liveSession{id: row.ID, kind: row.Kind, user: req.User, asset: req.Asset.Name, assetID: req.Asset.ID,
			account: req.Account.Username, source: source, needs: needs, cancel: kill, notify: notify, recording: recording})
	}
	defer func() {
		if id != "" {
			s.live.remove(id)
			s.finishWatches(id, recording)
		}
	}()
	return s.proxy.Run(kctx, down, req)
}
