package bastion

import (
	"context"
	"crypto/subtle"
	"errors"
	"net"
	"sync"
	"time"

	"charm.land/ssh"
	gossh "golang.org/x/crypto/ssh"

	"github.com/jms-bastion/jms/store"
)

// Login methods as the audit names them.
const (
	methodPassword  = "password"
	methodPublicKey = "publickey"
	methodConnect   = "connect" // a refused connect after login
	methodSFTP      = "sftp"
	// the menu's password change, whose current password is a guess
	methodPasswordChange = "password-change"
)

// Permission extensions the auth callbacks set. x/crypto keeps one
// Permissions per offered key and hands the connection the one of the
// key that signed, so these describe the method that succeeded.
const (
	extMethod      = "jms-method"
	extUser        = "jms-user"
	extFingerprint = "jms-pubkey-fp"
)

// connState is what the server keeps per connection, in its context.
type connState struct {
	source string // the client's IP address
	key    string // what failures are counted by: store.SourceKey(source)

	conn net.Conn // closed by keepalives and the idle deadline

	mu          sync.Mutex
	releaseOnce sync.Once
	release     func()
	authed      bool
	keyUser     string // the user and reason of the last refused key,
	keyReason   string // audited if the connection never logs in
	channels    int
	globalReqs  bucket
	onAuth      func() // the server counts logged-in connections
	onAuthClose func()
	releaseUser func()      // frees the user's connection slot
	gone        bool        // the TCP connection closed
	idle        *time.Timer // closes a logged-in connection without channels
	idleFor     time.Duration

	keepaliveOnce sync.Once
}

type connStateKey struct{}

func stateOf(ctx context.Context) *connState {
	cs, _ := ctx.Value(connStateKey{}).(*connState)
	if cs == nil {
		return &connState{} // not reached: acceptConn sets it
	}
	return cs
}

// authenticated marks the connection logged in and frees its
// unauthenticated slot.
func (cs *connState) authenticated() {
	cs.mu.Lock()
	was := cs.authed
	cs.authed = true
	cs.mu.Unlock()
	cs.releaseOnce.Do(cs.release)
	if !was && cs.onAuth != nil {
		cs.onAuth()
	}
}

// closed runs when the TCP connection closes; it returns the refused
// key's user and reason when the connection never logged in, for the
// audit.
func (cs *connState) closed() (user, reason string) {
	cs.releaseOnce.Do(cs.release)
	cs.mu.Lock()
	authed, user, reason := cs.authed, cs.keyUser, cs.keyReason
	cs.gone = true
	if cs.idle != nil {
		cs.idle.Stop()
	}
	releaseUser := cs.releaseUser
	cs.releaseUser = nil
	cs.mu.Unlock()
	if releaseUser != nil {
		releaseUser()
	}
	if authed {
		if cs.onAuthClose != nil {
			cs.onAuthClose()
		}
		return "", ""
	}
	return user, reason
}

// startIdle arms the idle deadline of a logged-in connection: closed
// when it has no channel open for d (0: never).
func (cs *connState) startIdle(d time.Duration, onIdle func()) {
	if d <= 0 || cs.conn == nil {
		return
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cs.idleFor = d
	cs.idle = time.AfterFunc(d, func() {
		cs.mu.Lock()
		busy := cs.channels > 0 || cs.gone
		cs.mu.Unlock()
		if !busy {
			onIdle()
			_ = cs.conn.Close()
		}
	})
	if cs.channels > 0 {
		cs.idle.Stop()
	}
}

// keyRefused notes the last refused key; user is bounded already.
func (cs *connState) keyRefused(user, reason string) {
	cs.mu.Lock()
	cs.keyUser, cs.keyReason = user, reason
	cs.mu.Unlock()
}

// openChannel counts a new channel, refusing beyond max.
func (cs *connState) openChannel(max int) bool {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.channels >= max {
		return false
	}
	cs.channels++
	if cs.idle != nil {
		cs.idle.Stop()
	}
	return true
}

// closeChannel counts a closed channel; the last one re-arms the idle
// deadline.
func (cs *connState) closeChannel() {
	cs.mu.Lock()
	cs.channels--
	if cs.channels == 0 && cs.idle != nil && !cs.gone {
		cs.idle.Reset(cs.idleFor)
	}
	cs.mu.Unlock()
}

// holdUserSlot keeps release to run when the connection closes; it
// reports false (and releases) when it closed already.
func (cs *connState) holdUserSlot(release func()) bool {
	cs.mu.Lock()
	gone := cs.gone
	if !gone {
		cs.releaseUser = release
	}
	cs.mu.Unlock()
	if gone {
		release()
	}
	return !gone
}

// userConns caps the logged-in connections of each user.
type userConns struct {
	mu  sync.Mutex
	n   map[string]int
	max int // 0: no cap
}

// acquire takes a connection slot of user, and returns the function
// that frees it.
func (u *userConns) acquire(user string) (release func(), ok bool) {
	if u == nil || u.max <= 0 {
		return func() {}, true
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.n[user] >= u.max {
		return nil, false
	}
	if u.n == nil {
		u.n = map[string]int{}
	}
	u.n[user]++
	var once sync.Once
	return func() {
		once.Do(func() {
			u.mu.Lock()
			defer u.mu.Unlock()
			if u.n[user]--; u.n[user] <= 0 {
				delete(u.n, user)
			}
		})
	}, true
}

// unauthLimiter caps connections that have not logged in yet, per
// source address and overall.
type unauthLimiter struct {
	mu        sync.Mutex
	perSource map[string]int
	total     int
	maxPer    int
	max       int
}

func newUnauthLimiter(maxPer, max int) *unauthLimiter {
	if maxPer < 1 {
		maxPer = 1
	}
	if max < 1 {
		max = 1
	}
	return &unauthLimiter{perSource: map[string]int{}, maxPer: maxPer, max: max}
}

func (l *unauthLimiter) acquire(source string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.total >= l.max || l.perSource[source] >= l.maxPer {
		return false
	}
	l.total++
	l.perSource[source]++
	return true
}

func (l *unauthLimiter) releaseFn(source string) func() {
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.total--
		if l.perSource[source]--; l.perSource[source] <= 0 {
			delete(l.perSource, source)
		}
	}
}

// trackedConn tells its connState when it closes, and audits a
// refused key of a connection that never logged in.
type trackedConn struct {
	net.Conn
	once    sync.Once
	cs      *connState
	onClose func(user, reason string)
}

func (c *trackedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		if user, reason := c.cs.closed(); reason != "" {
			c.onClose(user, reason)
		}
	})
	return err
}

// conns tracks the server's connections for Shutdown: those not logged
// in yet (closed at once) and the number of logged-in ones (waited for).
type conns struct {
	mu      sync.Mutex
	closing bool
	pending map[*trackedConn]struct{}
	authed  int
}

func (cn *conns) add(c *trackedConn) bool {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	if cn.closing {
		return false
	}
	if cn.pending == nil {
		cn.pending = map[*trackedConn]struct{}{}
	}
	cn.pending[c] = struct{}{}
	return true
}

func (cn *conns) loggedIn(c *trackedConn) {
	cn.mu.Lock()
	delete(cn.pending, c)
	cn.authed++
	cn.mu.Unlock()
}

func (cn *conns) gone(c *trackedConn, authed bool) {
	cn.mu.Lock()
	delete(cn.pending, c)
	if authed {
		cn.authed--
	}
	cn.mu.Unlock()
}

// close refuses new connections and closes those not logged in.
func (cn *conns) close() {
	cn.mu.Lock()
	cn.closing = true
	pending := make([]*trackedConn, 0, len(cn.pending))
	for c := range cn.pending {
		pending = append(pending, c)
	}
	cn.mu.Unlock()
	for _, c := range pending {
		_ = c.Close()
	}
}

func (cn *conns) loggedInCount() int {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	return cn.authed
}

// acceptConn runs for every TCP connection before the handshake: it
// reads the PROXY header of a trusted load balancer (proxyheader.go),
// takes the connection's unauthenticated slot (memory only), then
// refuses a throttled source. Nothing is written for a refused
// connection but aggregated audit rows and log lines.
func (s *Server) acceptConn(ctx ssh.Context, c net.Conn) net.Conn {
	peer := hostOf(c.RemoteAddr())
	refused := func(err error) { s.refuseProxyHeader(peer, err) }
	c, err := s.edge.accept(c, refused)
	if err != nil {
		refused(err)
		return nil
	}
	source := hostOf(c.RemoteAddr())
	cs := &connState{source: source, key: store.SourceKey(source), globalReqs: bucket{capacity: 64, perSecond: 2}}
	if !s.unauth.acquire(cs.key) {
		s.refusals.note(refusalKey{source: cs.key, reason: "too many unauthenticated connections"})
		return nil
	}
	cs.release = s.unauth.releaseFn(cs.key)
	if s.throttled(ctx, cs.key) {
		cs.releaseOnce.Do(cs.release)
		s.preAuthRefusal(cs, "", methodConnect, reasonThrottled)
		return nil
	}
	tc := &trackedConn{Conn: c, cs: cs, onClose: func(user, reason string) {
		s.preAuthRefusal(cs, user, methodPublicKey, reason)
	}}
	cs.conn = tc
	cs.onAuth = func() { s.conns.loggedIn(tc) }
	cs.onAuthClose = func() { s.conns.gone(tc, true) }
	if !s.conns.add(tc) {
		cs.releaseOnce.Do(cs.release)
		return nil
	}
	ctx.SetValue(connStateKey{}, cs)
	return tc
}

// throttled reports whether the source key is throttled: from memory,
// or from the store (another node, a restart) when memory does not know
// or last asked more than throttleRecheck ago; the answer is remembered.
// A store that cannot answer refuses the connection.
func (s *Server) throttled(ctx context.Context, key string) bool {
	now := s.now()
	if _, ok, recheck := s.guard.until(key, now); ok && !recheck {
		return true
	}
	until, locked, err := s.st.LoginLockedUntil(ctx, "", key, now)
	switch {
	case err != nil:
		s.log.Error("reading the throttle of an address", "source", key, "err", err)
		return true
	case locked:
		s.guard.throttle(key, until, now)
	default:
		s.guard.forget(key)
	}
	return locked
}

func hostOf(a net.Addr) string {
	if a == nil {
		return ""
	}
	if host, _, err := net.SplitHostPort(a.String()); err == nil {
		return host
	}
	return a.String()
}

// audit records a login event without MFA.
func (s *Server) audit(ctx context.Context, user, source, method, result, reason string) {
	s.auditEvent(ctx, store.LoginEvent{User: user, Source: source, Method: method, Result: result, Reason: reason})
}

// grantPermissions records in the connection's permissions how user
// logged in. Every auth method ends here on success, keyboard-interactive
// (MFA) included when it comes.
func grantPermissions(ctx ssh.Context, method, user, fingerprint string) {
	p := ctx.Permissions()
	if p.Permissions == nil {
		p.Permissions = &gossh.Permissions{}
	}
	if p.Extensions == nil {
		p.Extensions = map[string]string{}
	}
	p.Extensions[extMethod] = method
	p.Extensions[extUser] = user
	if fingerprint != "" {
		p.Extensions[extFingerprint] = fingerprint
	}
}

// passwordCallback checks a password with argon2id. An invalid name
// and a name locked from this source (or whose password is locked
// everywhere) are refused before any hashing: a lock must not cost a
// hash per guess. Unknown users and users without a password are
// checked against a dummy hash, so that the time taken does not tell
// which names exist. A right password is the first factor:
// firstFactorDone decides what follows.
func (s *Server) passwordCallback(ctx ssh.Context) func(gossh.ConnMetadata, []byte) (*gossh.Permissions, error) {
	return func(conn gossh.ConnMetadata, password []byte) (*gossh.Permissions, error) {
		ctx.SetValue(ssh.ContextKeyUser, conn.User())
		cs := stateOf(ctx)
		t, err := ParseTarget(conn.User(), "")
		if err != nil {
			s.failure(ctx, boundName(conn.User()), methodPassword, false, reasonInvalidName)
			return nil, errDenied
		}
		user := t.User
		if reason := s.passwordLocked(ctx, user, cs.key); reason != "" {
			s.preAuthRefusal(cs, user, methodPassword, reason)
			return nil, errDenied
		}
		reason, err := s.checkPassword(ctx, user, store.Secret(password))
		if err != nil {
			s.log.Error("password check", "user", user, "err", err)
			reason = reasonInternal
		}
		if reason != "" {
			s.failure(ctx, user, methodPassword, false, reason)
			return nil, errDenied
		}
		return s.firstFactorDone(ctx, user, methodPassword, nil, store.Secret(password))
	}
}

// checkPassword returns why the login fails, or "" when it succeeds.
func (s *Server) checkPassword(ctx context.Context, user string, password store.Secret) (string, error) {
	if err := s.acquireHash(ctx); err != nil {
		return "connection closed", nil
	}
	defer s.releaseHash()

	u, hash, err := s.st.PasswordHash(ctx, user)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return "", err
	}
	if hash == "" {
		_, _ = store.VerifyPassword(password, s.dummyHash, s.argon)
		if err != nil {
			return reasonUnknownUser, nil
		}
		return reasonNoPassword, nil
	}
	rehash, verr := store.VerifyPassword(password, hash, s.argon)
	switch {
	case errors.Is(verr, store.ErrPasswordMismatch):
		return reasonWrongPassword, nil
	case verr != nil:
		return "", verr
	case u.Disabled:
		return "user disabled", nil
	case u.Locked(s.now()):
		return reasonUserLocked, nil
	}
	if rehash {
		if nh, err := store.HashPassword(password, s.argon); err == nil {
			if err := s.st.RehashPassword(ctx, user, hash, nh); err != nil {
				s.log.Warn("upgrading a password hash", "user", user, "err", err)
			}
		}
	}
	return "", nil
}

// acquireHash waits for one of the hashSem slots that cap concurrent
// argon2 hashes (each takes 64 MiB by default), or for ctx.
func (s *Server) acquireHash(ctx context.Context) error {
	select {
	case s.hashSem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	s.hashMem.begin()
	return nil
}

// releaseHash frees the slot; after the last hash of a burst, the
// hashes' memory goes back to the OS (memrelease.go).
func (s *Server) releaseHash() {
	s.hashMem.end()
	<-s.hashSem
}

// publicKeyHandler answers whether key may log in the user of the login
// name. x/crypto calls it when a key is offered, signed or not: it
// records nothing but the verdict and the fingerprint in this key's
// permissions. A refused key is audited only if the connection never
// logs in (offering keys is not a failed attempt), in aggregate, and
// then counts towards the throttle of the source (preauth.go).
func (s *Server) publicKeyHandler(ctx ssh.Context, key ssh.PublicKey) bool {
	cs := stateOf(ctx)
	login := ctx.User()
	t, err := ParseTarget(login, "")
	if err != nil {
		cs.keyRefused(boundName(login), reasonInvalidName)
		return false
	}
	fp := gossh.FingerprintSHA256(key)
	owner, err := s.st.UserKeyOwner(ctx, fp)
	switch {
	case errors.Is(err, store.ErrNotFound):
		cs.keyRefused(t.User, "unknown key")
		return false
	case err != nil:
		s.log.Error("looking up a key", "fingerprint", fp, "err", err)
		cs.keyRefused(t.User, reasonInternal)
		return false
	case subtle.ConstantTimeCompare([]byte(owner), []byte(t.User)) != 1:
		cs.keyRefused(t.User, "key of another user")
		return false
	}
	u, err := s.st.GetUser(ctx, t.User)
	switch {
	case err != nil:
		cs.keyRefused(t.User, "unknown user")
		return false
	case u.Disabled:
		cs.keyRefused(t.User, "user disabled")
		return false
	case u.Locked(s.now()):
		cs.keyRefused(t.User, "user locked")
		return false
	}
	grantPermissions(ctx, methodPublicKey, t.User, fp)
	return true
}

// verifiedPublicKey runs after the client proved it holds the key
// (x/crypto's VerifiedPublicKeyCallback): only then is the login a
// success. It checks that the permissions are those of this very key.
func (s *Server) verifiedPublicKey(ctx ssh.Context) func(gossh.ConnMetadata, gossh.PublicKey, *gossh.Permissions, string) (*gossh.Permissions, error) {
	return func(_ gossh.ConnMetadata, key gossh.PublicKey, perms *gossh.Permissions, _ string) (*gossh.Permissions, error) {
		cs := stateOf(ctx)
		fp := gossh.FingerprintSHA256(key)
		if perms == nil || perms.Extensions[extMethod] != methodPublicKey ||
			subtle.ConstantTimeCompare([]byte(perms.Extensions[extFingerprint]), []byte(fp)) != 1 {
			s.log.Error("public key permissions do not match the verified key", "fingerprint", fp)
			return nil, errors.New("jms: key mismatch")
		}
		user := perms.Extensions[extUser]
		if reason := s.sourceLocked(ctx, user, cs.key); reason != "" {
			s.preAuthRefusal(cs, user, methodPublicKey, reason)
			return nil, errDenied
		}
		if err := s.st.TouchUserKey(ctx, fp); err != nil {
			s.log.Warn("recording key use", "fingerprint", fp, "err", err)
		}
		// Fresh permissions of this very key: the ones x/crypto cached
		// are shared with charm.land/ssh's context.
		return s.firstFactorDone(ctx, user, methodPublicKey, publicKeyPerms(key, user), nil)
	}
}

// identity is who is logged in on a session, as the auth callbacks
// recorded it and verifyIdentity confirmed it.
type identity struct {
	User   string
	Method string
}

// verifyIdentity re-checks, for a session, what the auth callbacks
// recorded: the user is the one of the login name, and for a public key
// login the key the connection authenticated with is the one whose
// fingerprint was recorded. x/crypto does not promise that the last
// key PublicKeyCallback saw is the one that signed (CVE-2024-45337).
func verifyIdentity(sess ssh.Session) (identity, error) {
	perms := sess.Permissions()
	if perms.Permissions == nil {
		return identity{}, errors.New("no permissions on the connection")
	}
	ext := perms.Extensions
	t, err := ParseTarget(sess.User(), "")
	if err != nil {
		return identity{}, err
	}
	if subtle.ConstantTimeCompare([]byte(ext[extUser]), []byte(t.User)) != 1 {
		return identity{}, errors.New("the logged-in user is not the one of the login name")
	}
	pk := sess.PublicKey()
	switch ext[extMethod] {
	case methodPublicKey:
		if pk == nil {
			return identity{}, errors.New("public key login without a public key")
		}
		if subtle.ConstantTimeCompare([]byte(gossh.FingerprintSHA256(pk)), []byte(ext[extFingerprint])) != 1 {
			return identity{}, errors.New("the session's key is not the key that was checked")
		}
	case methodPassword:
		if pk != nil {
			return identity{}, errors.New("password login with a public key")
		}
	default:
		return identity{}, errors.New("unknown login method")
	}
	return identity{User: t.User, Method: ext[extMethod]}, nil
}

// verifyAuthMiddleware ends a session whose identity does not check out.
func (s *Server) verifyAuthMiddleware(next ssh.Handler) ssh.Handler {
	return func(sess ssh.Session) {
		if _, err := verifyIdentity(sess); err != nil {
			s.log.Error("session refused: authentication does not check out", "login", boundName(sess.User()),
				"source", sess.RemoteAddr().String(), "err", err)
			refuse(sess, false, "jms: authentication failed")
			return
		}
		next(sess)
	}
}

// bucket is a token bucket: capacity requests at once, refilled at
// perSecond.
type bucket struct {
	capacity  float64
	perSecond float64
	tokens    float64
	last      time.Time
	started   bool
}

func (b *bucket) allow(now time.Time) bool {
	if !b.started {
		b.started, b.tokens, b.last = true, b.capacity, now
	}
	b.tokens += now.Sub(b.last).Seconds() * b.perSecond
	if b.tokens > b.capacity {
		b.tokens = b.capacity
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
