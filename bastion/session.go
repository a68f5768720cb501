package bastion

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"

	"charm.land/ssh"
	gossh "golang.org/x/crypto/ssh"

	"github.com/jms-bastion/jms/bastion/filter"
	"github.com/jms-bastion/jms/bastion/proxy"
	"github.com/jms-bastion/jms/bastion/sessionerr"
	"github.com/jms-bastion/jms/store"
)

// noAsset is the one answer for an asset that does not exist and one the
// person may not reach, so that names cannot be probed.
func noAsset(user, ref string) *sessionerr.UserError {
	return &sessionerr.UserError{Msg: fmt.Sprintf("jms: no asset %q for %s", ref, user), Reason: fmt.Sprintf("no asset %q", ref)}
}

// unknownRef is the answer for a ref that names none of the user's
// assets: an address several of them have, or a name assets of several
// of her organizations have, says which (her own assets only); anything
// else is noAsset.
func unknownRef(user, ref string, err error) *sessionerr.UserError {
	var amb *store.AmbiguousAddressError
	if errors.As(err, &amb) {
		return &sessionerr.UserError{Msg: "jms: " + amb.Error(), Reason: fmt.Sprintf("address %q of several assets", ref), Err: err}
	}
	var name *store.AmbiguousNameError
	if errors.As(err, &name) {
		return &sessionerr.UserError{Msg: "jms: " + name.Error(), Reason: fmt.Sprintf("name %q in several organizations", ref), Err: err}
	}
	return noAsset(user, ref)
}

// accessEnded is the answer for an asset she could reach a moment ago.
func accessEnded(asset string) *sessionerr.UserError {
	return &sessionerr.UserError{Msg: fmt.Sprintf("jms: your access to %s has ended: the grant expired or was revoked", asset),
		Reason: fmt.Sprintf("grant to %s expired or revoked", asset)}
}

// refuse writes one line on stderr and ends the session with status 1.
func refuse(sess ssh.Session, pty bool, msg string) {
	nl := "\n"
	if pty {
		nl = "\r\n"
	}
	_, _ = fmt.Fprint(sess.Stderr(), msg+nl)
	exitChannel(sess, 1)
}

// exitChannel ends a session channel as sshd does once the output is through:
// exit-status, then EOF, then close. OpenSSH's mux client (ControlMaster)
// drops a status that comes after EOF and exits 255; charm.land/ssh's
// Exit sends no EOF. Its own Exit(0) after the handler then finds the
// channel closed and sends nothing.
func exitChannel(sess ssh.Session, status int) {
	msg := struct{ Status uint32 }{uint32(status)}
	if _, err := sess.SendRequest("exit-status", false, gossh.Marshal(&msg)); err == nil {
		_ = sess.CloseWrite()
	}
	_ = sess.Close()
}

// userMiddleware refuses a session of a user who was disabled, locked
// or removed since she logged in: checked for every channel.
func (s *Server) userMiddleware(next ssh.Handler) ssh.Handler {
	return func(sess ssh.Session) {
		if !s.userRefused(sess) {
			next(sess)
		}
	}
}

// userRefused refuses the session when its user was removed, disabled or
// locked; it reports whether it did.
func (s *Server) userRefused(sess ssh.Session) bool {
	id, _ := verifyIdentity(sess)
	_, pty := channelPty(sess)
	u, err := s.st.GetUser(sess.Context(), id.User)
	var reason string
	switch {
	case errors.Is(err, store.ErrNotFound):
		reason = "user removed"
	case err != nil:
		s.log.Error("looking up a user", "user", id.User, "err", err)
		refuse(sess, pty, "jms: internal error")
		return true
	case u.Disabled:
		reason = "user disabled"
	case u.Locked(s.now()):
		reason = "user locked"
	}
	if reason != "" {
		s.audit(sess.Context(), id.User, hostOf(sess.RemoteAddr()), methodConnect, store.LoginFailure, reason)
		refuse(sess, pty, fmt.Sprintf("jms: %s: %s", id.User, reason))
		return true
	}
	return false
}

func channelPty(sess ssh.Session) (ssh.Pty, bool) {
	if ch := channelOf(sess); ch != nil {
		return ch.ptyRequest()
	}
	return ssh.Pty{}, false
}

// routeMiddleware routes a session by its shape: a target (in the login
// name or the command's first word) goes to the proxy; a PTY with no
// target gets the menu; anything else is told how to name an asset.
func (s *Server) routeMiddleware(next ssh.Handler) ssh.Handler {
	return func(sess ssh.Session) {
		s.handle(sess)
		next(sess)
	}
}

func (s *Server) handle(sess ssh.Session) {
	term := newTerminal(sess, channelOf(sess))
	defer term.stop()
	t, log, ok := s.target(sess, term)
	if !ok {
		return
	}
	// ctx ends with the channel, or with a cause of the bastion's own:
	// the idle timeout ends the menu and the session running in it, and
	// an exec command that reads commands from its input (sh, bash -s).
	ctx, cancel := context.WithCancelCause(sess.Context())
	defer cancel(nil)
	if term.hasPty || t.Command == "" || filter.ReadsCommands(t.Command) {
		stop := s.watchIdle(ctx, cancel, term, log)
		defer stop()
	}
	var status int
	switch {
	case isAdminTarget(*t):
		status = s.adminCommand(ctx, term, *t, log)
	case t.Asset == "":
		status = s.menu(ctx, term, t.User, log)
	default:
		status = s.connect(ctx, term, *t, log)
	}
	exitChannel(sess, s.idleEnd(ctx, term, t, status, log))
}

// target reads the session's target; a bad one is refused (ok false).
func (s *Server) target(sess ssh.Session, term *terminal) (_ *Target, _ *slog.Logger, ok bool) {
	source := hostOf(sess.RemoteAddr())
	t, err := ParseTarget(sess.User(), sess.RawCommand())
	log := s.log.With("user", t.User, "source", source)
	if err != nil {
		s.audit(sess.Context(), t.User, source, methodConnect, store.LoginFailure, "bad target")
		refuse(sess, term.hasPty, "jms: "+err.Error())
		return nil, nil, false
	}
	if t.Asset == "" && !term.hasPty {
		refuse(sess, false, fmt.Sprintf("jms: no asset given; usage: ssh -p %s %s@bastion ASSET [COMMAND]", s.port(), t.User))
		return nil, nil, false
	}
	return &t, log, true
}

// idleEnd returns the exit status of a session, noting an idle timeout.
func (s *Server) idleEnd(ctx context.Context, term *terminal, t *Target, status int, log *slog.Logger) int {
	if cause := context.Cause(ctx); errors.Is(cause, errIdle) {
		log.Info("idle timeout", "after", s.cfg.IdleTimeout)
		if t.Asset == "" { // a proxied session has said so already
			_, _ = fmt.Fprint(term.sess.Stderr(), "jms: session ended: idle timeout"+term.newline())
		}
		if status == 0 {
			status = 1
		}
	}
	return status
}

func (s *Server) port() string {
	if i := strings.LastIndexByte(s.cfg.Listen, ':'); i >= 0 && i+1 < len(s.cfg.Listen) {
		return s.cfg.Listen[i+1:]
	}
	return "2222"
}

// connect resolves t among the assets the user may reach now, picks the
// account and runs the proxy; it returns the exit status to send. A
// refusal is told on stderr and audited.
//
// The functions from here down to the proxy's copiers stay on the
// session goroutine's stack for as long as the session is open, so they
// keep small frames: what they need is behind pointers, and the work
// that needs room (store lookups, refusals, logs) is done in helpers that
// have returned by then (docs/performance.md, "Memory per idle session").
func (s *Server) connect(ctx context.Context, term *terminal, t Target, log *slog.Logger) int {
	r, err := s.resolved(ctx, term, t)
	if err == nil {
		return s.run(ctx, term, t, &r.acc, &r.ga, log)
	}
	return s.refused(ctx, term, t.User, err, log)
}

// resolution is the asset and account a session goes to.
type resolution struct {
	acc store.Access
	ga  store.GrantedAccount
}

// resolved is resolve, with its answer on the heap.
func (s *Server) resolved(ctx context.Context, term *terminal, t Target) (*resolution, error) {
	acc, ga, err := s.resolve(ctx, term, t)
	if err != nil {
		return nil, err
	}
	return &resolution{acc: acc, ga: ga}, nil
}

// refused tells and audits a refusal; it returns the exit status.
func (s *Server) refused(ctx context.Context, term *terminal, user string, err error, log *slog.Logger) int {
	_, _ = fmt.Fprint(term.sess.Stderr(), s.refusal(ctx, term, user, err, log)+term.newline())
	return 1
}

// refusal audits a refusal and returns the line to tell.
func (s *Server) refusal(ctx context.Context, term *terminal, user string, err error, log *slog.Logger) string {
	var ue *sessionerr.UserError
	if !errors.As(err, &ue) {
		log.Error("connect", "err", err)
		ue = &sessionerr.UserError{Msg: "jms: internal error", Reason: "internal error"}
	}
	s.audit(context.WithoutCancel(ctx), user, hostOf(term.sess.RemoteAddr()), methodConnect, store.LoginFailure, ue.AuditReason())
	return ue.Msg
}

// resolve finds the asset and account t names that the user may connect
// to now.
func (s *Server) resolve(ctx context.Context, term *terminal, t Target) (store.Access, store.GrantedAccount, error) {
	list, err := s.st.AuthorizedAssets(ctx, t.User, s.now())
	if errors.Is(err, store.ErrDenied) {
		return store.Access{}, store.GrantedAccount{}, noAsset(t.User, t.Asset)
	}
	if err != nil {
		return store.Access{}, store.GrantedAccount{}, err
	}
	acc, err := store.LookupAccess(list, t.Asset)
	if err != nil {
		return store.Access{}, store.GrantedAccount{}, unknownRef(t.User, t.Asset, err)
	}
	if x, ok := execTransfer(t.Command); ok && s.transfer != nil {
		acc = transferAccess(acc, x)
	}
	ga, err := s.chooseAccount(ctx, term, t.User, acc, t.Account, len(list))
	return acc, ga, err
}

// chooseAccount picks the account to log in as: the one named, the only
// one, or (with a PTY) the one the person picks.
// total is how many assets she has, for the picker's header.
func (s *Server) chooseAccount(ctx context.Context, term *terminal, user string, acc store.Access, name string, total int) (store.GrantedAccount, error) {
	accounts := connectable(acc)
	asset := acc.Asset.Name
	if name != "" {
		for _, g := range accounts {
			if g.Username == name {
				return g, nil
			}
		}
		return store.GrantedAccount{}, &sessionerr.UserError{Msg: fmt.Sprintf("jms: no account %q on %s for %s", name, asset, user),
			Reason: fmt.Sprintf("no account %q on %s", name, asset)}
	}
	switch {
	case len(accounts) == 0:
		return store.GrantedAccount{}, &sessionerr.UserError{Msg: fmt.Sprintf("jms: no account on %s for %s", asset, user),
			Reason: fmt.Sprintf("no account on %s", asset)}
	case len(accounts) == 1:
		return accounts[0], nil
	case !term.hasPty:
		names := accountNames(accounts)
		return store.GrantedAccount{}, &sessionerr.UserError{
			Msg: fmt.Sprintf("jms: several accounts on %s (%s): choose one, e.g. ssh -p %s %s@bastion %s@%s",
				asset, strings.Join(names, ", "), s.port(), user, names[0], asset),
			Reason: fmt.Sprintf("no account chosen on %s", asset)}
	}
	return s.pickAccount(ctx, term, user, acc, accounts, total)
}

// run checks the grant once more at this moment and proxies the
// session; what went wrong is told on stderr.
func (s *Server) run(ctx context.Context, term *terminal, t Target, acc *store.Access, ga *store.GrantedAccount, log *slog.Logger) int {
	status, msg := s.session(ctx, term, t, acc, ga, log)
	if msg != "" {
		s.tell(term, msg)
	}
	return status
}

// tell writes what went wrong with a session on stderr.
func (s *Server) tell(term *terminal, msg string) {
	if term.hasPty {
		msg = "\r\n" + msg // the asset's prompt may hold the line
	}
	_, _ = fmt.Fprint(term.sess.Stderr(), msg+term.newline())
}

// session checks the grant once more at this moment, through
// store.Authorize, for what the session needs (connect, or the file
// actions of an rsync or scp command), and proxies the session. It
// returns the exit status and the line to tell the person when
// something went wrong ("" otherwise); refusals are audited.
func (s *Server) session(ctx context.Context, term *terminal, t Target, acc *store.Access, ga *store.GrantedAccount, log *slog.Logger) (int, string) {
	p, status, msg := s.authorizeSession(ctx, term, t, acc, ga, log)
	if p == nil {
		return status, msg
	}
	return s.proxySession(ctx, term, t, p, log)
}

// sessionPlan is a session authorized to go to the asset.
type sessionPlan struct {
	asset   store.Asset
	account store.GrantedAccount
}

// authorizeSession checks the grant once more (session) and says where
// Enter led. It returns the session to proxy, or nil with the exit status
// and the line to tell when it was refused or was a file transfer (run
// here, to its end).
func (s *Server) authorizeSession(ctx context.Context, term *terminal, t Target, acc *store.Access, ga *store.GrantedAccount,
	log *slog.Logger) (*sessionPlan, int, string) {
	needs := []string{store.ActionConnect}
	x, isX := execTransfer(t.Command)
	isX = isX && s.transfer != nil
	if isX {
		needs = x.Actions
	}
	now, err := s.st.Authorize(ctx, store.AuthzQuery{User: t.User, AssetID: acc.Asset.ID, Account: ga.Username, Actions: needs, At: s.now()})
	de, denied := store.IsDenied(err)
	switch {
	case denied && isX && de != nil && len(de.Missing) > 0:
		return nil, s.refuseTransfer(ctx, term, t, acc.Asset, ga.Username, x, de.Missing[0], log), ""
	case denied && de != nil && de.Asset != "":
		return nil, 1, s.refusal(ctx, term, t.User, &sessionerr.UserError{Msg: fmt.Sprintf("jms: no account %q on %s for %s", ga.Username, acc.Asset.Name, t.User),
			Reason: fmt.Sprintf("no account %q on %s", ga.Username, acc.Asset.Name), Err: err}, log)
	case denied:
		// She was shown this asset a moment ago (the menu, or resolve
		// found it): say that her access ended, not that it does not exist.
		return nil, 1, s.refusal(ctx, term, t.User, accessEnded(acc.Asset.Name), log)
	case err != nil:
		return nil, 1, s.refusal(ctx, term, t.User, err, log)
	}
	g := now.Accounts[0]
	if store.IsDatabasePlatform(now.Asset.Platform) {
		status, msg := s.databaseSession(ctx, term, t, now, g, log) // dbsession.go
		return nil, status, msg
	}
	if isX {
		return nil, s.runTransfer(ctx, term, t, now, g, x, log), ""
	}
	switch {
	case term.hasPty && t.Command == "":
		// Say where Enter led before the asset's output: it is no longer
		// the menu's business which asset this is.
		_, _ = fmt.Fprint(term.sess.Stderr(), connecting(now.Asset, g.Username)+term.newline())
	case t.Command == "":
		// ssh alice@bastion web3 without -t: a shell with no prompt. It
		// still runs (a script may be piped in), but say why it is blank.
		_, _ = fmt.Fprintf(term.sess.Stderr(), "jms: no terminal requested: use ssh -t -p %s %s@bastion %s for an interactive shell\n",
			s.port(), t.User, t.Asset)
	}
	return &sessionPlan{asset: now.Asset, account: g}, 0, ""
}

// proxySession proxies an authorized session on a view of the terminal.
func (s *Server) proxySession(ctx context.Context, term *terminal, t Target, p *sessionPlan, log *slog.Logger) (int, string) {
	v := term.attach()
	defer v.detach()
	log = s.connectLog(log, p)
	status, err := s.runProxy(ctx, v, &proxy.Request{
		User:    t.User,
		Source:  term.sess.RemoteAddr().String(),
		Asset:   p.asset,
		Account: p.account,
		Command: t.Command,
	}, []string{store.ActionConnect}, log)
	if err == nil {
		return status, ""
	}
	if status == 0 {
		status = 1
	}
	return status, sessionError(log, err)
}

// connectLog logs the connect and returns the session's logger.
func (s *Server) connectLog(log *slog.Logger, p *sessionPlan) *slog.Logger {
	log = log.With("asset", p.asset.Name, "account", p.account.Username)
	log.Info("connect")
	return log
}

// sessionError logs why a proxied session was refused or ended early and
// returns the line to tell the person. A session killed (by an admin, a
// revoked grant, the idle timeout) is logged as killed, with the cause
// that says by whom and why, not as refused.
func sessionError(log *slog.Logger, err error) string {
	var ue *sessionerr.UserError
	if !errors.As(err, &ue) {
		log.Error("session", "err", err)
		return "jms: internal error (the bastion's log has the details)"
	}
	if cause := killCause(err); cause != "" {
		log.Info("session killed", "cause", cause)
	} else {
		log.Warn("session refused or cut short", "err", err)
	}
	return ue.Error()
}

// killCause returns why the bastion or an admin ended a session ("killed
// by os:root: disk full", "idle timeout"), or "" when err is no kill.
func killCause(err error) string {
	var ue *sessionerr.UserError
	if errors.Is(err, sessionerr.ErrKilled) && errors.As(err, &ue) && ue.Err != nil {
		return ue.Err.Error()
	}
	return ""
}

// connecting is the line that precedes an interactive session:
// "Connecting to db1 (10.0.0.5) as app…".
func connecting(a store.Asset, account string) string {
	addr := a.Address
	if a.Port != 0 && a.Port != 22 {
		addr = net.JoinHostPort(a.Address, strconv.Itoa(a.Port))
	}
	return fmt.Sprintf("Connecting to %s (%s) as %s…", a.Name, addr, account)
}

// refuseSFTP answers the sftp subsystem on a server built without file
// transfer (Deps.Transfer nil).
func (s *Server) refuseSFTP(sess ssh.Session) {
	id, err := verifyIdentity(sess)
	if err != nil {
		refuse(sess, false, "jms: authentication failed")
		return
	}
	s.audit(sess.Context(), id.User, hostOf(sess.RemoteAddr()), methodSFTP, store.LoginFailure, "file transfer not enabled")
	refuse(sess, false, "jms: file transfer is not enabled yet")
}
