package bastion

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"

	"charm.land/ssh"
	gossh "golang.org/x/crypto/ssh"

	"github.com/jms-bastion/jms/bastion/proxy"
	"github.com/jms-bastion/jms/bastion/sessionerr"
	"github.com/jms-bastion/jms/bastion/transfer"
	"github.com/jms-bastion/jms/store"
)

// Transfer serves SFTP and forwarded channels; *transfer.Service
// satisfies it.
type Transfer interface {
	ServeSFTP(ctx context.Context, ch io.ReadWriteCloser, req transfer.SFTPRequest) error
	Forward(ctx context.Context, nc gossh.NewChannel, req transfer.ForwardRequest)
	AuditExec(ctx context.Context, x transfer.ExecTransfer, r transfer.ExecRun)
}

// sftpHandler serves the sftp subsystem (sftp, and scp, which speaks
// SFTP today): the virtual root, or the asset the login names. It runs
// behind verifyAuthMiddleware and userMiddleware (subsystems skip the
// middleware chain otherwise).
func (s *Server) sftpHandler(sess ssh.Session) {
	source := hostOf(sess.RemoteAddr())
	t, err := ParseTarget(sess.User(), "")
	if err != nil {
		s.audit(sess.Context(), t.User, source, methodSFTP, store.LoginFailure, "bad target")
		refuse(sess, false, "jms: "+err.Error())
		return
	}
	log := s.log.With("user", t.User, "source", source)
	req := transfer.SFTPRequest{User: t.User, Source: sess.RemoteAddr().String(), Account: t.Account, Stderr: sess.Stderr()}
	if t.Asset != "" {
		list, err := s.st.AuthorizedAssets(sess.Context(), t.User, s.now())
		if err != nil && !errors.Is(err, store.ErrDenied) {
			log.Error("sftp: authorized assets", "err", err)
			refuse(sess, false, "jms: internal error")
			return
		}
		acc, err := store.LookupAccess(list, t.Asset)
		if err != nil {
			ue := unknownRef(t.User, t.Asset, err)
			s.audit(sess.Context(), t.User, source, methodSFTP, store.LoginFailure, ue.AuditReason())
			refuse(sess, false, ue.Msg)
			return
		}
		req.Asset = &acc
	}
	// The session joins the live registry: `jmsctl session kill`, a
	// disabled user and, for an asset the login named, a grant that no
	// longer gives the account the actions of its open files end it. It
	// ends after the idle timeout without a request, and at the maximum
	// session duration.
	run := s.newLiveRun(sess.Context())
	defer run.done()
	req.OnStart = func(f transfer.SFTPSession) {
		run.join(&liveSession{id: f.ID, kind: store.SessionSFTP, user: t.User, asset: f.Asset, assetID: f.AssetID, account: f.Account,
			source: source, needsNow: f.Needs}, f.LastActive)
	}
	err = s.transfer.ServeSFTP(run.ctx, sess, req)
	if err != nil {
		var ue *sessionerr.UserError
		if errors.As(err, &ue) {
			log.Info("sftp refused", "err", err)
			s.audit(sess.Context(), t.User, source, methodSFTP, store.LoginFailure, ue.AuditReason())
			refuse(sess, false, ue.Msg)
			return
		}
		log.Error("sftp", "err", err)
		refuse(sess, false, "jms: internal error (the bastion's log has the details)")
		return
	}
	exitChannel(sess, 0)
}

// directTCPIP serves a direct-tcpip channel (ssh -L, -W, ProxyJump)
// under a grant's forward action; without one it is refused with the
// reason, and audited. A forward is a session: it joins the live
// registry (session kill, a revoked grant or a disabled user end it) and
// ends after the idle timeout without a byte either way, or at the
// maximum session duration.
func (s *Server) directTCPIP(_ *ssh.Server, conn *gossh.ServerConn, nc gossh.NewChannel, ctx ssh.Context) {
	s.keepalives(ctx, stateOf(ctx), conn)
	user, err := s.connIdentity(ctx, conn)
	if err != nil {
		s.log.Error("channel refused: authentication does not check out", "login", conn.User(), "err", err)
		_ = nc.Reject(gossh.Prohibited, "jms: authentication failed")
		return
	}
	host, port, err := transfer.ParseDirectTCPIP(nc.ExtraData())
	if err != nil {
		_ = nc.Reject(gossh.ConnectionFailed, "jms: "+err.Error())
		return
	}
	cs := stateOf(ctx)
	if !cs.openChannel(s.cfg.MaxChannels) {
		_ = nc.Reject(gossh.ResourceShortage, fmt.Sprintf("jms: too many channels on this connection (at most %d)", s.cfg.MaxChannels))
		return
	}
	defer cs.closeChannel()
	run := s.newLiveRun(ctx)
	defer run.done()
	if s.databaseForward(run, nc, user, conn.RemoteAddr().String(), host, port) { // dbforward.go
		return
	}
	req := transfer.ForwardRequest{User: user, Source: conn.RemoteAddr().String(), Host: host, Port: port}
	req.OnStart = func(f transfer.ForwardSession) {
		run.join(&liveSession{id: f.ID, kind: store.SessionForward, user: user, asset: f.Asset, assetID: f.AssetID, port: f.Port,
			source: hostOf(conn.RemoteAddr()), needs: []string{store.ActionForward}}, f.LastActive)
	}
	s.transfer.Forward(run.ctx, nc, req)
}

// connIdentity is verifyIdentity and userMiddleware for a channel that
// is not a session: the user recorded at login, the key re-checked, and
// the user still enabled and unlocked.
func (s *Server) connIdentity(ctx ssh.Context, conn *gossh.ServerConn) (string, error) {
	if conn.Permissions == nil {
		return "", errors.New("no permissions on the connection")
	}
	ext := conn.Permissions.Extensions
	t, err := ParseTarget(conn.User(), "")
	if err != nil {
		return "", err
	}
	if subtle.ConstantTimeCompare([]byte(ext[extUser]), []byte(t.User)) != 1 {
		return "", errors.New("the logged-in user is not the one of the login name")
	}
	if ext[extMethod] == methodPublicKey {
		pk, _ := ctx.Value(ssh.ContextKeyPublicKey).(ssh.PublicKey)
		if pk == nil || subtle.ConstantTimeCompare([]byte(gossh.FingerprintSHA256(pk)), []byte(ext[extFingerprint])) != 1 {
			return "", errors.New("the connection's key is not the key that was checked")
		}
	}
	u, err := s.st.GetUser(ctx, t.User)
	switch {
	case err != nil:
		return "", err
	case u.Disabled:
		return "", errors.New("user disabled")
	case u.Locked(s.now()):
		return "", errors.New("user locked")
	}
	return t.User, nil
}

// execTransfer says what an exec command needs: for the server side of
// rsync or legacy scp the file actions it performs (not connect); for
// anything else, connect.
func execTransfer(cmd string) (transfer.ExecTransfer, bool) {
	if cmd == "" {
		return transfer.ExecTransfer{}, false
	}
	return transfer.ParseExecTransfer(cmd)
}

// transferAccess narrows acc to the accounts a transfer command may pick
// from (those with a file action, or connect), each made pickable by
// chooseAccount; session then asks store.Authorize for the exact actions.
func transferAccess(acc store.Access, x transfer.ExecTransfer) store.Access {
	out := acc
	out.Accounts = nil
	for _, g := range acc.Accounts {
		if g.Can(store.ActionUpload) || g.Can(store.ActionDownload) || g.Can(store.ActionDelete) || g.Can(store.ActionConnect) {
			g.Actions = append(slices.Clone(g.Actions), store.ActionConnect)
			out.Accounts = append(out.Accounts, g)
		}
	}
	return out
}

// refuseTransfer tells and audits an rsync or legacy scp command whose
// account lacks the action missing; it returns the exit status.
func (s *Server) refuseTransfer(ctx context.Context, term *terminal, t Target, asset store.Asset, account string, x transfer.ExecTransfer, missing string, log *slog.Logger) int {
	msg := fmt.Sprintf("jms: %s %s on %s as %s needs the %s action", x.Tool, x.Op, asset.Name, account, missing)
	log.Info("transfer refused", "tool", x.Tool, "op", x.Op, "asset", asset.Name, "account", account, "missing", missing)
	s.transfer.AuditExec(ctx, x, transfer.ExecRun{User: t.User, AssetID: asset.ID, Asset: asset.Name, Account: account, Denied: msg})
	_, _ = fmt.Fprint(term.sess.Stderr(), msg+term.newline())
	return 1
}

// runTransfer runs an rsync or legacy scp command as an exec session
// (recorded, filtered) for an account that has the actions it needs
// (session checked them), and audits it as a transfer with the bytes it
// moved.
func (s *Server) runTransfer(ctx context.Context, term *terminal, t Target, now store.Access, g store.GrantedAccount, x transfer.ExecTransfer, log *slog.Logger) int {
	v := term.attach()
	defer v.detach()
	down, counter := transfer.CountBytes(v)
	log = log.With("asset", now.Asset.Name, "account", g.Username)
	log.Info("transfer", "tool", x.Tool, "op", x.Op)
	var sessionID string
	status, err := s.runProxy(ctx, down, &proxy.Request{
		User:    t.User,
		Source:  term.sess.RemoteAddr().String(),
		Asset:   now.Asset,
		Account: g,
		Command: t.Command,
		OnStart: func(row store.Session) { sessionID = row.ID },
	}, x.Actions, log)
	var ended string
	if err != nil {
		_, _ = fmt.Fprint(term.sess.Stderr(), sessionError(log, err)+term.newline())
		if status == 0 {
			status = 1
		}
		ended = killCause(err)
	}
	s.transfer.AuditExec(ctx, x, transfer.ExecRun{SessionID: sessionID, User: t.User, AssetID: now.Asset.ID, Asset: now.Asset.Name, Account: g.Username,
		Bytes: counter, Exit: status, Ended: ended})
	return status
}
