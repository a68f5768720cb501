package bastion

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"charm.land/ssh"

	"github.com/jms-bastion/jms/bastion/filter"
	"github.com/jms-bastion/jms/bastion/proxy"
	"github.com/jms-bastion/jms/store"
)

// userError is what a person is told: one line, no internals. The
// wrapped error is for the log.
type userError struct {
	msg    string // the line shown, "jms: …"
	reason string // the audit's reason
	err    error
}

func (e *userError) Error() string { return e.msg }
func (e *userError) Unwrap() error { return e.err }

// noAsset is the one answer for an asset that does not exist and one the
// person may not reach, so that names cannot be probed.
func noAsset(user, ref string) *userError {
	return &userError{msg: fmt.Sprintf("jms: no asset %q for %s", ref, user), reason: fmt.Sprintf("no asset %q", ref)}
}

// refuse writes one line on stderr and ends the session with status 1.
func refuse(sess ssh.Session, pty bool, msg string) {
	nl := "\n"
	if pty {
		nl = "\r\n"
	}
	_, _ = fmt.Fprint(sess.Stderr(), msg+nl)
	_ = sess.Exit(1)
}

// userMiddleware refuses a session of a user who was disabled, locked
// or removed since she logged in: checked for every channel.
func (s *Server) userMiddleware(next ssh.Handler) ssh.Handler {
	return func(sess ssh.Session) {
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
			return
		case u.Disabled:
			reason = "user disabled"
		case u.Locked(s.now()):
			reason = "user locked"
		}
		if reason != "" {
			s.audit(sess.Context(), id.User, hostOf(sess.RemoteAddr()), methodConnect, store.LoginFailure, reason)
			refuse(sess, pty, fmt.Sprintf("jms: %s: %s", id.User, reason))
			return
		}
		next(sess)
	}
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
	ch := channelOf(sess)
	term := newTerminal(sess, ch)
	defer term.stop()
	source := hostOf(sess.RemoteAddr())
	t, err := ParseTarget(sess.User(), sess.RawCommand())
	log := s.log.With("user", t.User, "source", source)
	if err != nil {
		s.audit(sess.Context(), t.User, source, methodConnect, store.LoginFailure, "bad target")
		refuse(sess, term.hasPty, "jms: "+err.Error())
		return
	}
	if t.Asset == "" && !term.hasPty {
		refuse(sess, false, fmt.Sprintf("jms: no asset given; usage: ssh -p %s %s@bastion ASSET [COMMAND]", s.port(), t.User))
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
	if t.Asset == "" {
		term.keep = true
		status = s.menu(ctx, term, t.User, log)
	} else {
		status = s.connect(ctx, term, t, log)
	}
	if cause := context.Cause(ctx); errors.Is(cause, errIdle) {
		log.Info("idle timeout", "after", s.cfg.IdleTimeout)
		if t.Asset == "" { // a proxied session has said so already
			_, _ = fmt.Fprint(sess.Stderr(), "jms: session ended: idle timeout"+term.newline())
		}
		if status == 0 {
			status = 1
		}
	}
	_ = sess.Exit(status)
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
func (s *Server) connect(ctx context.Context, term *terminal, t Target, log *slog.Logger) int {
	acc, ga, err := s.resolve(ctx, term, t)
	if err == nil {
		return s.run(ctx, term, t, acc, ga, log)
	}
	return s.refused(ctx, term, t.User, err, log)
}

// refused tells and audits a refusal; it returns the exit status.
func (s *Server) refused(ctx context.Context, term *terminal, user string, err error, log *slog.Logger) int {
	_, _ = fmt.Fprint(term.sess.Stderr(), s.refusal(ctx, term, user, err, log)+term.newline())
	return 1
}

// refusal audits a refusal and returns the line to tell.
func (s *Server) refusal(ctx context.Context, term *terminal, user string, err error, log *slog.Logger) string {
	var ue *userError
	if !errors.As(err, &ue) {
		log.Error("connect", "err", err)
		ue = &userError{msg: "jms: internal error", reason: "internal error"}
	}
	s.audit(context.WithoutCancel(ctx), user, hostOf(term.sess.RemoteAddr()), methodConnect, store.LoginFailure, ue.reason)
	return ue.msg
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
	acc, ok := store.FindAccess(list, t.Asset)
	if !ok {
		return store.Access{}, store.GrantedAccount{}, noAsset(t.User, t.Asset)
	}
	if x, ok := execTransfer(t.Command); ok && s.transfer != nil {
		acc = transferAccess(acc, x)
	}
	ga, err := s.chooseAccount(ctx, term, t.User, acc, t.Account)
	return acc, ga, err
}

// chooseAccount picks the account to log in as: the one named, the only
// one, or (with a PTY) the one the person picks.
func (s *Server) chooseAccount(ctx context.Context, term *terminal, user string, acc store.Access, name string) (store.GrantedAccount, error) {
	accounts := connectable(acc)
	asset := acc.Asset.Name
	if name != "" {
		for _, g := range accounts {
			if g.Username == name {
				return g, nil
			}
		}
		return store.GrantedAccount{}, &userError{msg: fmt.Sprintf("jms: no account %q on %s for %s", name, asset, user),
			reason: fmt.Sprintf("no account %q on %s", name, asset)}
	}
	switch {
	case len(accounts) == 0:
		return store.GrantedAccount{}, &userError{msg: fmt.Sprintf("jms: no account on %s for %s", asset, user),
			reason: fmt.Sprintf("no account on %s", asset)}
	case len(accounts) == 1:
		return accounts[0], nil
	case !term.hasPty:
		names := accountNames(accounts)
		return store.GrantedAccount{}, &userError{
			msg: fmt.Sprintf("jms: several accounts on %s (%s): choose one, e.g. ssh -p %s %s@bastion %s@%s",
				asset, strings.Join(names, ", "), s.port(), user, names[0], asset),
			reason: fmt.Sprintf("no account chosen on %s", asset)}
	}
	return s.pickAccount(ctx, term, user, acc, accounts)
}

// run checks the grant once more at this moment and proxies the
// session; what went wrong is told on stderr.
func (s *Server) run(ctx context.Context, term *terminal, t Target, acc store.Access, ga store.GrantedAccount, log *slog.Logger) int {
	status, msg := s.session(ctx, term, t, acc, ga, log)
	if msg != "" {
		if term.hasPty {
			msg = "\r\n" + msg // the asset's prompt may hold the line
		}
		_, _ = fmt.Fprint(term.sess.Stderr(), msg+term.newline())
	}
	return status
}

// session checks the grant once more at this moment and proxies the
// session. It returns the exit status and the line to tell the person
// when something went wrong ("" otherwise); refusals are audited.
func (s *Server) session(ctx context.Context, term *terminal, t Target, acc store.Access, ga store.GrantedAccount, log *slog.Logger) (int, string) {
	now, err := s.st.AuthorizedAsset(ctx, t.User, acc.Asset.ID, s.now())
	if errors.Is(err, store.ErrDenied) {
		return 1, s.refusal(ctx, term, t.User, noAsset(t.User, t.Asset), log)
	}
	if err != nil {
		return 1, s.refusal(ctx, term, t.User, err, log)
	}
	g, ok := now.Account(ga.Username)
	if x, isX := execTransfer(t.Command); ok && isX && s.transfer != nil {
		return s.runTransfer(ctx, term, t, now, g, x, log), ""
	}
	if !ok || !g.Can(store.ActionConnect) {
		return 1, s.refusal(ctx, term, t.User, &userError{msg: fmt.Sprintf("jms: no account %q on %s for %s", ga.Username, acc.Asset.Name, t.User),
			reason: fmt.Sprintf("no account %q on %s", ga.Username, acc.Asset.Name)}, log)
	}
	v := term.attach()
	defer v.detach()
	log = log.With("asset", now.Asset.Name, "account", g.Username)
	log.Info("connect")
	status, err := s.runProxy(ctx, v, proxy.Request{
		User:    t.User,
		Source:  term.sess.RemoteAddr().String(),
		Asset:   now.Asset,
		Account: g,
		Command: t.Command,
	}, []string{store.ActionConnect}, log)
	if err == nil {
		return status, ""
	}
	if status == 0 {
		status = 1
	}
	var ue *proxy.UserError
	if errors.As(err, &ue) {
		log.Warn("session refused", "err", err)
		return status, ue.Error()
	}
	log.Error("session", "err", err)
	return status, "jms: internal error (the bastion's log has the details)"
}

// refuseSFTP answers the sftp subsystem until file transfer exists.
func (s *Server) refuseSFTP(sess ssh.Session) {
	id, err := verifyIdentity(sess)
	if err != nil {
		refuse(sess, false, "jms: authentication failed")
		return
	}
	s.audit(sess.Context(), id.User, hostOf(sess.RemoteAddr()), methodSFTP, store.LoginFailure, "file transfer not enabled")
	refuse(sess, false, "jms: file transfer is not enabled yet")
}
