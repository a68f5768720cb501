// Package bastion is the jms SSH server: it authenticates people, works
// out what they asked to reach from the shape of their session (login
// name, command, PTY) and hands them to the proxy, or to the menu.
package bastion

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"charm.land/ssh"
	"charm.land/wish/v2"
	rm "charm.land/wish/v2/recover"
	gossh "golang.org/x/crypto/ssh"

	"github.com/jms-bastion/jms/bastion/proxy"
	"github.com/jms-bastion/jms/config"
	"github.com/jms-bastion/jms/metrics"
	"github.com/jms-bastion/jms/store"
)

// Store is what the server needs of the store; *store.Store satisfies it.
type Store interface {
	PasswordHash(ctx context.Context, name string) (store.User, string, error)
	RehashPassword(ctx context.Context, name, oldHash, newHash string) error
	UserKeyOwner(ctx context.Context, fingerprint string) (string, error)
	TouchUserKey(ctx context.Context, fingerprint string) error
	GetUser(ctx context.Context, name string) (store.User, error)
	AuthorizedAssets(ctx context.Context, user string, at time.Time) ([]store.Access, error)
	// Authorize is the one authorization decision (connect, the live
	// sessions' poller).
	Authorize(ctx context.Context, q store.AuthzQuery) (store.Access, error)
	AddLoginEvent(ctx context.Context, e store.LoginEvent) error
	AuthStore // MFA, lockout, login rules, password change: login.go

	// The live sessions: kill requests (live.go).
	PendingKills(ctx context.Context, ids []string) ([]store.KillRequest, error)
	// Her own account, from the menu (menu.go).
	SetPasswordHash(ctx context.Context, name, hash string, mustChange bool) error
	AddUserKey(ctx context.Context, user, line string) (store.UserKey, error)
	ListUserKeys(ctx context.Context, user string) ([]store.UserKey, error)
	MFAMenuStore // her MFA from the menu (mfamenu.go)
	// The auditor menu (auditor.go), limited to an org-auditor's orgs
	// (auditscope.go).
	ListSessions(ctx context.Context, q store.SessionQuery) ([]store.Session, error)
	GetSession(ctx context.Context, idOrPrefix string) (store.Session, error)
	AuditOrgs(ctx context.Context, user string) (map[int64]string, error)
	Memberships(ctx context.Context, user string) ([]store.OrgMember, error)
	SessionOrgs(ctx context.Context, ids []string) (map[string]int64, error)
	// Watching across nodes (watchstream.go).
	WatchStore
	watchPublisher
}

// Proxy runs one authorized session against an asset; *proxy.Proxy
// satisfies it.
type Proxy interface {
	Run(ctx context.Context, down proxy.Downstream, req *proxy.Request) (exitStatus int, err error)
}

// Deps are the server's collaborators.
type Deps struct {
	Store Store
	Proxy Proxy
	// Transfer serves SFTP and forwarded channels; nil refuses both.
	Transfer Transfer
	// Recordings opens ended sessions' recordings wherever they are
	// (spool or object store); nil reads the local file.
	Recordings Recordings
	Logger     *slog.Logger     // slog.Default() when nil
	Now        func() time.Time // time.Now when nil; grants are checked at Now()
	// Argon2 are the password hashing parameters a login upgrades weaker
	// hashes to; store.DefaultArgon2 when zero.
	Argon2 store.Argon2Params
	// HostKey is the host key (PEM, ed25519) to show: the cluster's, from
	// the database. Nil reads the data directory's.
	HostKey []byte
	// Reset runs self-service password resets (login name "reset",
	// reset.go); nil turns them off.
	Reset PasswordReset
	// Metrics count logins; nil counts nothing.
	Metrics *metrics.Metrics
	// Admin runs `jmsctl …` over SSH (admin.go); nil refuses it.
	Admin AdminRunner
}

// Server is the bastion's SSH server.
type Server struct {
	cfg      config.Config
	st       Store
	proxy    Proxy
	transfer Transfer
	reset    PasswordReset
	admin    AdminRunner
	recs     Recordings
	log      *slog.Logger
	now      func() time.Time

	argon     store.Argon2Params
	dummyHash string        // verified for unknown users, so timing does not tell names
	hashSem   chan struct{} // caps concurrent argon2 hashes (64 MiB each by default)
	hashMem   *idleRelease  // returns their memory to the OS after a burst
	unauth    *unauthLimiter
	guard     *sourceGuard                 // pre-auth refusals and throttles per source (preauth.go)
	share     atomic.Pointer[refusalShare] // the same, shared with the cluster (refusalshare.go)
	refusals  *refusalAudit                // pre-auth refusals, audited in aggregate
	users     *userConns                   // logged-in connections per user
	conns     conns
	live      *liveSessions // the proxied sessions running now
	feeds     watchFeeds    // the streams of watches from other nodes (watchfeed.go)
	edge      *proxyEdge    // the PROXY protocol; nil: off
	metrics   *metrics.Metrics

	srv *ssh.Server

	lmu       sync.Mutex
	closing   bool
	drainEnd  time.Time // when a drain ends its sessions; zero: not draining
	listeners []net.Listener
}

// Default algorithms, in order of preference. The client's order decides
// (RFC 4253 7.1: the client's first choice that the server supports), and
// OpenSSH clients put chacha20-poly1305 first. x/crypto's chacha20 has no
// amd64 assembly: on this 2-core machine BenchmarkCipher moves 763 MB/s
// with aes128-gcm, 520 MB/s with aes256-gcm and 198 MB/s with
// chacha20-poly1305. So the default offers AES-GCM only, which OpenSSH
// clients then pick; `ciphers` in jms.yaml (JMS_CIPHERS) can add
// chacha20-poly1305@openssh.com for clients without AES hardware.
// x/crypto adds curve25519-sha256@libssh.org by itself with
// curve25519-sha256, and kex-strict (Terrapin) too.
var (
	defaultKeyExchanges = []string{gossh.KeyExchangeMLKEM768X25519, gossh.KeyExchangeCurve25519}
	defaultCiphers      = []string{gossh.CipherAES128GCM, gossh.CipherAES256GCM}
	defaultMACs         = []string{gossh.HMACSHA256ETM, gossh.HMACSHA512ETM}
)

// New builds the server from cfg: the persistent ed25519 host key of the
// data directory, the algorithms, the defences and the middleware.
// Sessions a crash left active are closed by jmsctl serve, under the
// data directory's lock, before it builds the server.
func New(cfg config.Config, deps Deps) (*Server, error) {
	if deps.Store == nil || deps.Proxy == nil {
		return nil, errors.New("bastion: a store and a proxy are required")
	}
	s, err := newServer(cfg, deps)
	if err != nil {
		return nil, err
	}
	pem := deps.HostKey
	if pem == nil {
		pem, err = os.ReadFile(cfg.HostKeyPath())
		if err != nil {
			return nil, fmt.Errorf("bastion host key: %w (run 'jmsctl init')", err)
		}
	}
	if err := CheckHostKey(pem); err != nil {
		return nil, err
	}
	s.srv, err = wish.NewServer(s.options(pem)...)
	if err != nil {
		return nil, fmt.Errorf("bastion: %w", err)
	}
	return s, nil
}

// newServer makes the Server and its defences, with the defaults of
// what deps leaves out.
func newServer(cfg config.Config, deps Deps) (*Server, error) {
	s := &Server{
		cfg:      cfg,
		st:       deps.Store,
		proxy:    deps.Proxy,
		transfer: deps.Transfer,
		reset:    deps.Reset,
		admin:    deps.Admin,
		recs:     deps.Recordings,
		log:      cmp.Or(deps.Logger, slog.Default()),
		now:      deps.Now,
		argon:    deps.Argon2,
		hashMem:  newIdleRelease(hashReleaseDelay),
		unauth:   newUnauthLimiter(cfg.MaxUnauthPerSource, cfg.MaxUnauth),
		guard:    newSourceGuard(cfg.ThrottleFailures, cfg.LockoutWindow),
		users:    &userConns{max: cfg.MaxConnectionsPerUser},
		metrics:  deps.Metrics,
	}
	if s.now == nil {
		s.now = time.Now
	}
	edge, err := newProxyEdge(cfg)
	if err != nil {
		return nil, err
	}
	s.edge = edge
	if s.argon == (store.Argon2Params{}) {
		s.argon = store.DefaultArgon2
	}
	s.hashSem = make(chan struct{}, hashSlots(s.argon, runtime.GOMAXPROCS(0)))
	s.live = newLiveSessions(pollInterval, s.checkLive)
	s.refusals = newRefusalAudit(store.LoginAggregateWindow, s.now, s.writeRefusal)
	dummy, err := store.GeneratePassword(24)
	if err != nil {
		return nil, err
	}
	s.hashMem.begin()
	s.dummyHash, err = store.HashPassword(dummy, s.argon)
	s.hashMem.end() // the dummy hash's 64 MiB go back to the OS too
	if err != nil {
		return nil, err
	}
	return s, nil
}

// hashSlots is how many argon2 hashes may run at once: enough to keep
// every CPU busy, no more. Each hash runs its Threads lanes in parallel,
// so on 2 CPUs one hash (p=4) uses both already, and a second one would
// add its 64 MiB to the peak without adding throughput.
func hashSlots(p store.Argon2Params, cpus int) int {
	return max(1, cpus/max(1, int(p.Threads)))
}

// CheckHostKey checks that pem is an ed25519 private key.
func CheckHostKey(pem []byte) error {
	signer, err := gossh.ParsePrivateKey(pem)
	if err != nil {
		return fmt.Errorf("bastion host key: %w", err)
	}
	if signer.PublicKey().Type() != gossh.KeyAlgoED25519 {
		return fmt.Errorf("bastion host key: want ed25519, found %s", signer.PublicKey().Type())
	}
	return nil
}

// options are the wish server's options: identity, authentication,
// the connection hooks and handlers (configure), and the middleware.
func (s *Server) options(pem []byte) []ssh.Option {
	return []ssh.Option{
		wish.WithVersion("jms"),
		ssh.HostKeyPEM(pem),
		// The password callback is set in configure's
		// ServerConfigCallback: it may answer with a partial success
		// (charm.land/ssh's PasswordHandler cannot). keyboard-interactive
		// is offered only after a first factor, for MFA and password
		// changes: login.go.
		wish.WithPublicKeyAuth(s.publicKeyHandler),
		ssh.WrapConn(s.acceptConn),
		s.configure,
		wish.WithMiddleware(s.middleware()...),
	}
}

// middleware is the chain every session channel goes through, inside
// the recover middleware. wish runs the LAST middleware listed FIRST:
// read the list from the bottom up.
func (s *Server) middleware() []wish.Middleware {
	return []wish.Middleware{
		rm.MiddlewareWithLogger(printfLogger{s.log},
			// 3. route by the session's shape: a target goes to the
			//    proxy, a PTY without one to the menu.
			s.routeMiddleware,
			// 2. the user must still exist and be enabled and not
			//    locked by an administrator now, for this channel,
			//    not only at login.
			s.userMiddleware,
			// 1. the authenticated key must be the one recorded in the
			//    auth callback (CVE-2024-45337 class).
			s.verifyAuthMiddleware,
		),
	}
}

// configure sets what wish has no option for: the pre-auth deadline,
// the x/crypto callbacks, the channel, request and subsystem handlers.
func (s *Server) configure(srv *ssh.Server) error {
	algs := gossh.Config{
		KeyExchanges: orDefault(s.cfg.KeyExchanges, defaultKeyExchanges),
		Ciphers:      orDefault(s.cfg.Ciphers, defaultCiphers),
		MACs:         orDefault(s.cfg.MACs, defaultMACs),
	}
	// Pre-auth deadline: charm.land/ssh sets it on the connection at
	// accept and clears it once authenticated.
	srv.HandshakeTimeout = s.cfg.PreAuthTimeout
	srv.ServerConfigCallback = func(ctx ssh.Context) *gossh.ServerConfig {
		return &gossh.ServerConfig{
			Config:                    algs,
			VerifiedPublicKeyCallback: s.verifiedPublicKey(ctx),
			PasswordCallback:          s.passwordCallback(ctx),
			// Only the login name "reset" (a password reset, reset.go)
			// gets a prompt; other names are refused at once and go on
			// to their key or password.
			KeyboardInteractiveCallback: s.resetCallback(ctx),
			// Keeps the connection's banner sender, for MFA enrolment
			// (login.go).
			PreAuthConnCallback: func(c gossh.ServerPreAuthConn) { ctx.SetValue(preAuthKey{}, c) },
		}
	}
	// No PTY emulation and no PTY allocation: this handler only accepts
	// the pty-req. Emulation rewrites "\n" as "\r\n" on the way out,
	// which corrupts full-screen programs on the asset; the proxy
	// passes raw bytes both ways.
	srv.PtyHandler = func(ssh.Context, ssh.Session, ssh.Pty) (func() error, error) {
		return func() error { return nil }, nil
	}
	srv.ChannelHandlers = map[string]ssh.ChannelHandler{
		"session": s.sessionChannel,
		"default": s.refuseChannel,
	}
	srv.RequestHandlers = map[string]ssh.RequestHandler{"default": s.globalRequest}
	srv.SubsystemHandlers = map[string]ssh.SubsystemHandler{"sftp": s.refuseSFTP}
	if s.transfer != nil {
		// Subsystems skip the middleware chain: give them its checks.
		srv.SubsystemHandlers["sftp"] = ssh.SubsystemHandler(s.verifyAuthMiddleware(s.userMiddleware(s.sftpHandler)))
		srv.ChannelHandlers["direct-tcpip"] = s.directTCPIP
	}
	// Every channel type but the refusals checks the login rules.
	for typ, h := range srv.ChannelHandlers {
		if typ != "default" {
			srv.ChannelHandlers[typ] = s.ruleChecked(h)
		}
	}
	srv.ConnectionFailedCallback = func(c net.Conn, err error) {
		s.log.Debug("connection failed before login", "source", c.RemoteAddr().String(), "err", err)
	}
	return nil
}

func orDefault(v, def []string) []string {
	if len(v) > 0 {
		return v
	}
	return def
}

// Serve accepts connections on l until Shutdown or Close. It returns nil
// after them.
func (s *Server) Serve(l net.Listener) error {
	s.lmu.Lock()
	if s.closing {
		s.lmu.Unlock()
		l.Close()
		return nil
	}
	s.listeners = append(s.listeners, l)
	s.lmu.Unlock()
	err := s.srv.Serve(l)
	s.lmu.Lock()
	closing := s.closing
	s.lmu.Unlock()
	if closing || errors.Is(err, ssh.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting connections, closes those not logged in, and
// waits for the logged-in ones to end, or for ctx; then it closes what
// is left. (charm.land/ssh's own Shutdown waits on a WaitGroup that a
// handshake finishing meanwhile adds to, which the race detector flags.)
func (s *Server) Shutdown(ctx context.Context) error {
	s.lmu.Lock()
	s.closing = true
	ls := s.listeners
	s.listeners = nil
	s.lmu.Unlock()
	for _, l := range ls {
		_ = l.Close()
	}
	s.conns.close()
	s.hashMem.stop()
	s.stopShare()
	defer s.refusals.flush(true)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var err error
	for s.conns.loggedInCount() > 0 && err == nil {
		select {
		case <-ctx.Done():
			err = ctx.Err()
		case <-tick.C:
		}
	}
	_ = s.srv.Close()
	return err
}

// Close closes the listeners and every connection at once.
func (s *Server) Close() error {
	s.lmu.Lock()
	s.closing = true
	s.lmu.Unlock()
	s.conns.close()
	s.hashMem.stop()
	s.stopShare()
	defer s.refusals.flush(true)
	return s.srv.Close()
}

// stopShare stops sharing refusal counts with the cluster.
func (s *Server) stopShare() {
	if sh := s.share.Load(); sh != nil {
		sh.stop()
	}
}

// printfLogger adapts slog to the recover middleware.
type printfLogger struct{ l *slog.Logger }

func (p printfLogger) Printf(format string, v ...any) { p.l.Error(fmt.Sprintf(format, v...)) }
