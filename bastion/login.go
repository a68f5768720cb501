package bastion

// Authentication hardening: what happens between the first factor
// (password or key) and a logged-in connection. After the first factor
// the server may ask, over keyboard-interactive (RFC 4256), for more:
// a TOTP code, a TOTP enrolment, a new password. x/crypto/ssh's
// PartialSuccessError tells the client that the first method succeeded
// and which ones come next, as OpenSSH's AuthenticationMethods does, so
// "publickey then keyboard-interactive" works with a stock ssh client.
//
// Before the first factor (auth.go): an invalid name, a name locked
// from the source and a password locked everywhere are refused without
// hashing. Order of the checks once the first factor is right:
//  1. the TOTP code, when the user has MFA (wrong codes count towards
//     lockout; at most maxOTPAttempts per connection), unless an MFA
//     grace of hers from this very address is in force (mfa_grace);
//  2. the login rules (only now, so a refusal does not hide a wrong
//     password, and tells nothing to whoever lacks the second factor;
//     they are checked again for every new channel and every live
//     session: channels.go, live.go);
//  3. TOTP enrolment, when MFA is required of the user and she has none;
//  4. a new password, when the password she logged in with must change
//     (one-time password, or older than password_max_age).
// Nothing is changed in the store before 1 and 2 pass.

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"charm.land/ssh"
	gossh "golang.org/x/crypto/ssh"

	"github.com/jms-bastion/jms/store"
)

// AuthStore is what authentication hardening needs of the store;
// *store.Store satisfies it.
type AuthStore interface {
	GetUserMFA(ctx context.Context, name string) (store.UserMFA, error)
	UseMFAStep(ctx context.Context, userID, step int64) (bool, error)
	StartMFAGrace(ctx context.Context, userID int64, source, seedRef string, at time.Time) error
	MFAGraceValid(ctx context.Context, userID int64, source string, now time.Time, grace time.Duration) (bool, error)
	UseRecoveryCode(ctx context.Context, userID int64, code string) (bool, error)
	EnrolMFA(ctx context.Context, name string, seed store.Secret, lastStep int64, codes []string) error
	SetPasswordHash(ctx context.Context, name, hash string, mustChange bool) error
	CountFailures(ctx context.Context, user, source string, since time.Time, reasons []string) (store.FailureCounts, error)
	LockLogin(ctx context.Context, user, source string, until time.Time, reason string) error
	LoginLockedUntil(ctx context.Context, user, source string, now time.Time) (time.Time, bool, error)
	LoginRulesFor(ctx context.Context, user string) ([]store.LoginRule, error)
}

const (
	methodKeyboardInteractive = "keyboard-interactive"
	extMFA                    = "jms-mfa"
	// charmPublicKeyExt is where charm.land/ssh keeps the public key of
	// a key login in the permissions, to give it to sessions.
	charmPublicKeyExt = "gliderlabs/ssh.PublicKey"
)

// Failure reasons. Those in lockoutReasons count towards a lockout: a
// guess at a secret. A refused key does not (clients offer every key
// they have), nor does a login rule refusal, nor a valid TOTP code used
// already (a second connection within the code's 30 s: whoever types it
// knows the password and the code); they count towards the throttle of
// their source (preauth.go).
const (
	reasonWrongPassword = "wrong password"
	reasonUnknownUser   = "unknown user"
	reasonNoPassword    = "no password set"
	reasonInvalidName   = "invalid login name"
	reasonWrongOTP      = "wrong OTP code"
	reasonReplayedOTP   = "OTP code already used"
	reasonMFAGrace      = "mfa grace"
	reasonOTPAttempts   = "too many OTP attempts"
	reasonUserLocked    = "user locked"
	reasonSourceLocked  = "locked from this address"
	reasonPasswordLock  = "password locked after failed logins"
	reasonThrottled     = "address throttled"
	reasonInternal      = "internal error"
	reasonTooManyConns  = "too many connections"
)

var lockoutReasons = []string{reasonWrongPassword, reasonUnknownUser, reasonNoPassword, reasonInvalidName,
	reasonWrongOTP}

// The OTP prompts: the first, and the one after a valid code that was
// used already. OpenSSH always shows a prompt (its log, where it shows
// instructions, may be quieter), so the reason is in the prompt.
const (
	otpPrompt         = "OTP code: "
	replayedOTPPrompt = "This code was already used; wait for the next one. OTP code: "
)

// maxOTPAttempts caps TOTP codes (and enrolment or password-change
// rounds) per connection.
const maxOTPAttempts = 3

// errDenied is what a refused step returns to x/crypto; the client only
// learns "permission denied".
var errDenied = errors.New("jms: permission denied")

// preAuthKey keys the connection's gossh.ServerPreAuthConn in its
// context.
type preAuthKey struct{}

// pendingLogin is a login whose first factor succeeded and that waits
// for its keyboard-interactive steps. One per connection, used by the
// handshake goroutine only; the mutex is for the race detector's peace
// and for fuzzing.
type pendingLogin struct {
	mu        sync.Mutex
	user      string
	userID    int64
	role      string
	groups    []string
	source    string
	method    string // of the first factor: password or publickey
	perms     *gossh.Permissions
	password  store.Secret // the one she logged in with, to refuse reusing it
	needOTP   bool
	needEnrol bool
	needNewPw string // why the password must change; "" when it need not
	otpDone   bool
	rulesOK   bool
	enrolled  bool
	attempts  int
	mfaUsed   bool
	recovery  bool
	grace     bool      // the OTP prompt was skipped under an MFA grace
	seedRef   string    // the MFA secret a code was checked against
	otpAt     time.Time // when a TOTP code was accepted; zero if none
}

// mfaRequired reports whether the configuration requires MFA of role.
func (s *Server) mfaRequired(role string) bool {
	return s.cfg.MFA == "required" || slices.Contains(s.cfg.MFARoles, role)
}

// passwordExpired says why a password must change now, or "".
func (s *Server) passwordChangeReason(u store.User) string {
	switch {
	case u.MustChangePassword:
		return "You must choose a new password."
	case s.cfg.PasswordMaxAge > 0 && u.PasswordChangedAt != nil && s.now().After(u.PasswordChangedAt.Add(s.cfg.PasswordMaxAge)):
		return fmt.Sprintf("Your password is older than %s and has expired: choose a new one.", s.cfg.PasswordMaxAge)
	}
	return ""
}

// firstFactorDone runs once the password or the key is right. It
// either finishes the login (perms, nil), refuses it, or asks for the
// keyboard-interactive steps with a PartialSuccessError.
func (s *Server) firstFactorDone(ctx ssh.Context, user, method string, perms *gossh.Permissions, password store.Secret) (*gossh.Permissions, error) {
	cs := stateOf(ctx)
	u, err := s.st.GetUser(ctx, user)
	if err != nil {
		s.log.Error("looking up a user after the first factor", "user", user, "err", err)
		s.audit(ctx, user, cs.source, method, store.LoginFailure, "internal error")
		return nil, errDenied
	}
	mfa, err := s.st.GetUserMFA(ctx, user)
	if err != nil {
		// A seed that does not open (wrong key) must not let her in
		// without the second factor.
		s.log.Error("reading the MFA secret", "user", user, "err", err)
		s.audit(ctx, user, cs.source, method, store.LoginFailure, "internal error")
		return nil, errDenied
	}
	p := &pendingLogin{user: user, userID: u.ID, role: u.Role, groups: u.Groups, source: cs.source,
		method: method, perms: perms, needOTP: mfa.Seed != nil}
	if p.needOTP && s.inMFAGrace(ctx, u.ID, cs.source) {
		p.needOTP, p.grace, p.mfaUsed = false, true, true
	}
	p.needEnrol = mfa.Seed == nil && s.mfaRequired(u.Role)
	if method == methodPassword {
		p.needNewPw = s.passwordChangeReason(u)
		p.password = password
	}
	if !p.needOTP && !p.needEnrol && p.needNewPw == "" {
		if err := s.checkLoginRules(ctx, p); err != nil {
			return nil, err
		}
		return s.loginSucceeded(ctx, p)
	}
	return nil, &gossh.PartialSuccessError{Next: gossh.ServerAuthCallbacks{
		KeyboardInteractiveCallback: func(_ gossh.ConnMetadata, ch gossh.KeyboardInteractiveChallenge) (*gossh.Permissions, error) {
			return s.keyboardInteractive(ctx, p, ch)
		},
	}}
}

// keyboardInteractive runs the pending steps of p. A client may call it
// again after a failure: the steps done stay done.
func (s *Server) keyboardInteractive(ctx context.Context, p *pendingLogin, ch gossh.KeyboardInteractiveChallenge) (*gossh.Permissions, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.attempts >= maxOTPAttempts {
		s.failure(ctx, p.user, methodKeyboardInteractive, true, reasonOTPAttempts)
		return nil, errDenied
	}
	if p.needOTP && !p.otpDone {
		if err := s.askOTP(ctx, p, ch); err != nil {
			return nil, err
		}
	}
	if !p.rulesOK {
		if err := s.checkLoginRules(ctx, p); err != nil {
			return nil, err
		}
	}
	if p.needEnrol && !p.enrolled {
		if err := s.enrol(ctx, p, ch); err != nil {
			return nil, err
		}
	}
	if p.needNewPw != "" {
		if err := s.changePassword(ctx, p, ch); err != nil {
			return nil, err
		}
	}
	return s.loginSucceeded(ctx, p)
}

// inMFAGrace reports whether an MFA grace lets the user skip the OTP
// prompt from source: mfa_grace is on and the store says one is in
// force. A store that cannot answer asks for the code.
func (s *Server) inMFAGrace(ctx context.Context, userID int64, source string) bool {
	if s.cfg.MFAGrace <= 0 {
		return false
	}
	ok, err := s.st.MFAGraceValid(ctx, userID, source, s.now(), s.cfg.MFAGrace)
	if err != nil {
		s.log.Error("reading the MFA grace", "user_id", userID, "source", source, "err", err)
		return false
	}
	return ok
}

// askOTP asks for a TOTP (or recovery) code and checks it. A valid code
// that was used already (a second connection within its 30 s) is not a
// guess: she is told so and asked again, within maxOTPAttempts. A wrong
// code ends the round.
func (s *Server) askOTP(ctx context.Context, p *pendingLogin, ch gossh.KeyboardInteractiveChallenge) error {
	prompt := otpPrompt
	for {
		answers, err := ch("", "", []string{prompt}, []bool{false})
		if err != nil {
			return err // the client went away or sent garbage
		}
		p.attempts++
		code := ""
		if len(answers) == 1 {
			code = strings.TrimSpace(answers[0])
		}
		reason, err := s.verifySecondFactor(ctx, p, code)
		if err != nil {
			s.log.Error("checking an OTP code", "user", p.user, "err", err)
			s.audit(ctx, p.user, p.source, methodKeyboardInteractive, store.LoginFailure, "internal error")
			return errDenied
		}
		if reason == "" {
			p.otpDone, p.mfaUsed = true, true
			return nil
		}
		s.failure(ctx, p.user, methodKeyboardInteractive, true, reason)
		if reason != reasonReplayedOTP || p.attempts >= maxOTPAttempts {
			return errDenied
		}
		prompt = replayedOTPPrompt
	}
}

// verifySecondFactor checks code (6 digits, or a recovery code) for p:
// "" when it is right and was not used before, else why not.
func (s *Server) verifySecondFactor(ctx context.Context, p *pendingLogin, code string) (string, error) {
	if len(code) > 64 {
		return reasonWrongOTP, nil
	}
	mfa, err := s.st.GetUserMFA(ctx, p.user)
	if err != nil {
		return "", err
	}
	if mfa.Seed == nil {
		return reasonWrongOTP, nil // MFA was turned off meanwhile: fail safe
	}
	if !isOTPCode(code) {
		ok, err := s.st.UseRecoveryCode(ctx, mfa.UserID, store.NormalizeRecoveryCode(code))
		if err != nil {
			return "", err
		}
		if !ok {
			return reasonWrongOTP, nil
		}
		p.recovery = true
		return "", nil
	}
	now := s.now()
	step, ok := checkTOTP(string(mfa.Seed), code, now)
	if !ok {
		return reasonWrongOTP, nil
	}
	fresh, err := s.st.UseMFAStep(ctx, mfa.UserID, step)
	if err != nil {
		return "", err
	}
	if !fresh {
		return reasonReplayedOTP, nil
	}
	p.seedRef, p.otpAt = mfa.SeedRef, now
	return "", nil
}

// checkLoginRules refuses the login when a login rule denies it. The
// person is told which rule refused her in an SSH banner.
func (s *Server) checkLoginRules(ctx context.Context, p *pendingLogin) error {
	rule, denied, err := s.ruleDenies(ctx, p.user, p.groups, p.source)
	if err != nil {
		s.log.Error("reading login rules", "err", err)
		s.audit(ctx, p.user, p.source, p.method, store.LoginFailure, reasonInternal)
		return errDenied
	}
	if denied {
		s.auditEvent(ctx, store.LoginEvent{User: p.user, Source: p.source, Method: p.method, Result: store.LoginFailure,
			Reason: "denied by login rule " + rule.Name, MFA: p.mfaUsed})
		return &gossh.BannerError{Err: errDenied, Message: "jms: login refused: " + ruleRefusal(rule, p.user, p.source) + "\r\n"}
	}
	p.rulesOK = true
	return nil
}

// ruleDenies returns the login rule that denies user (a member of
// groups) logging in from source now, if one does. The rules are those
// of every organization she is a member of, narrowed to her by the store
// (LoginRulesFor). They are checked at login, for every new channel and
// for live sessions.
func (s *Server) ruleDenies(ctx context.Context, user string, groups []string, source string) (store.LoginRule, bool, error) {
	rules, err := s.st.LoginRulesFor(ctx, user)
	if err != nil {
		return store.LoginRule{}, false, err
	}
	addr, _ := netip.ParseAddr(source)
	rule, matched := store.DecideLogin(rules, store.LoginAttempt{User: user, Groups: groups, Source: addr, At: s.now()})
	return rule, matched && rule.Action == store.LoginRuleDeny, nil
}

// ruleRefusal is what a person is told when rule denies her.
func ruleRefusal(rule store.LoginRule, user, source string) string {
	return fmt.Sprintf("login rule %q does not allow %s to log in from %s at this time.", rule.Name, user, source)
}

// enrol makes a TOTP secret for a user who must have MFA and has none,
// shows it as a QR code and as text, and saves it only once she has
// typed a first code that it verifies.
func (s *Server) enrol(ctx context.Context, p *pendingLogin, ch gossh.KeyboardInteractiveChallenge) error {
	key, err := NewTOTPKey(p.user)
	if err != nil {
		s.log.Error("making a TOTP secret", "user", p.user, "err", err)
		return errDenied
	}
	// OpenSSH shows keyboard-interactive instructions through its log,
	// escaped and cut at about a kilobyte: the QR code goes in an SSH
	// banner (shown as UTF-8, but without colours), the secret in both.
	// Banner, QR code, instructions and prompt fit an 80×24 terminal
	// (enrolBanner).
	if c, ok := ctx.Value(preAuthKey{}).(gossh.ServerPreAuthConn); ok {
		if banner, err := enrolBanner(p.user, key.Secret()); err == nil {
			_ = c.SendAuthBanner(banner)
		}
	}
	intro := "Cannot scan? Type this secret in the app. Secret: " + key.Secret() + "\n"
	note := ""
	for {
		answers, err := ch("", note+intro, []string{"OTP code: "}, []bool{true})
		if err != nil {
			return err
		}
		p.attempts++
		var step int64
		ok := false
		if len(answers) == 1 {
			step, ok = checkTOTP(key.Secret(), strings.TrimSpace(answers[0]), s.now())
		}
		if ok {
			codes, err := store.GenerateRecoveryCodes()
			if err == nil {
				// EnrolMFA: a secret an administrator set meanwhile is
				// not replaced (the login fails; the next asks her code).
				err = s.st.EnrolMFA(store.WithActor(ctx, "ssh:"+p.user), p.user, store.Secret(key.Secret()), step, codes)
			}
			if err != nil {
				s.log.Error("saving a TOTP enrolment", "user", p.user, "err", err)
				return errDenied
			}
			p.enrolled, p.mfaUsed = true, true
			s.log.Info("MFA enrolled at login", "user", p.user, "source", p.source)
			// One prompt, so that the codes stay on the screen until she
			// has saved them: the menu would cover them at once.
			_, _ = ch("", "MFA is on. Recovery codes, each usable once instead of a code; keep them safe,\n"+
				"they are not shown again:\n  "+strings.Join(codes, "\n  ")+"\n",
				[]string{"Press Enter once you have saved them: "}, []bool{true})
			return nil
		}
		s.failure(ctx, p.user, methodKeyboardInteractive, true, reasonWrongEnrolCode)
		if p.attempts >= maxOTPAttempts {
			return errDenied
		}
		note = "That code is not right (is the phone's clock right?). Try again.\n\n"
	}
}

// changePassword asks for a new password twice, checks it against the
// policy and saves it.
func (s *Server) changePassword(ctx context.Context, p *pendingLogin, ch gossh.KeyboardInteractiveChallenge) error {
	policy := store.PasswordPolicy{MinLength: s.cfg.PasswordMinLength}
	note := p.needNewPw + "\n"
	for {
		answers, err := ch("", note, []string{"New password: ", "Retype new password: "}, []bool{false, false})
		if err != nil {
			return err
		}
		p.attempts++
		why := ""
		switch {
		case len(answers) != 2:
			why = "Answer both prompts."
		case answers[0] != answers[1]:
			why = "The two passwords differ."
		default:
			if err := policy.Check(store.Secret(answers[0])); err != nil {
				why = strings.ToUpper(err.Error()[:1]) + err.Error()[1:] + "."
			} else if p.password != nil && answers[0] == string(p.password) {
				why = "The new password must differ from the current one."
			}
		}
		if why == "" {
			if err := s.saveNewPassword(ctx, p.user, store.Secret(answers[0])); err != nil {
				s.log.Error("saving a new password", "user", p.user, "err", err)
				return errDenied
			}
			p.needNewPw = ""
			s.auditEvent(ctx, store.LoginEvent{User: p.user, Source: p.source, Method: methodKeyboardInteractive,
				Result: store.LoginSuccess, Reason: "password changed", MFA: p.mfaUsed})
			return nil
		}
		if p.attempts >= maxOTPAttempts {
			s.failure(ctx, p.user, methodKeyboardInteractive, p.mfaUsed, "password change failed: "+why)
			return errDenied
		}
		note = why + " " + p.needNewPw + "\n"
	}
}

func (s *Server) saveNewPassword(ctx context.Context, user string, pw store.Secret) error {
	if err := s.acquireHash(ctx); err != nil {
		return err
	}
	hash, err := store.HashPassword(pw, s.argon)
	s.releaseHash()
	if err != nil {
		return err
	}
	return s.st.SetPasswordHash(store.WithActor(ctx, "ssh:"+user), user, hash, false)
}

// loginSucceeded records the login and returns its permissions, unless
// the user has max_connections_per_user connections already. From now
// on the connection gets keepalives and, while it has no channel open,
// the idle deadline.
func (s *Server) loginSucceeded(ctx context.Context, p *pendingLogin) (*gossh.Permissions, error) {
	cs := stateOf(ctx)
	release, ok := s.users.acquire(p.user)
	if !ok {
		s.auditEvent(ctx, store.LoginEvent{User: p.user, Source: p.source, Method: p.method, Result: store.LoginFailure,
			Reason: reasonTooManyConns, MFA: p.mfaUsed})
		return nil, &gossh.BannerError{Err: errDenied,
			Message: fmt.Sprintf("jms: login refused: %s has %d connections open on this bastion, the most allowed.\r\n",
				p.user, s.cfg.MaxConnectionsPerUser)}
	}
	if !cs.holdUserSlot(release) {
		return nil, errDenied
	}
	perms := p.perms
	if perms == nil {
		perms = &gossh.Permissions{}
	}
	if perms.Extensions == nil {
		perms.Extensions = map[string]string{}
	}
	perms.Extensions[extMethod] = p.method
	perms.Extensions[extUser] = p.user
	switch {
	case p.grace:
		perms.Extensions[extMFA] = "grace"
	case p.mfaUsed:
		perms.Extensions[extMFA] = "totp"
	}
	cs.authenticated()
	if cs.conn != nil {
		s.keepalives(ctx, cs, loginConn{ctx: ctx, conn: cs.conn})
		cs.startIdle(s.cfg.IdleTimeout, func() {
			s.log.Info("closing a logged-in connection without channels", "user", p.user, "source", cs.source,
				"idle_timeout", s.cfg.IdleTimeout)
		})
	}
	reason := ""
	switch {
	case p.recovery:
		reason = "recovery code used"
	case p.grace:
		reason = reasonMFAGrace
	}
	s.startMFAGrace(ctx, p)
	s.auditEvent(ctx, store.LoginEvent{User: p.user, Source: p.source, Method: p.method, Result: store.LoginSuccess,
		Reason: reason, MFA: p.mfaUsed})
	return perms, nil
}

// startMFAGrace opens an MFA grace for p's user from p's address when
// mfa_grace is on and this login accepted a TOTP code (a recovery code
// or a grace does not open one): it lasts mfa_grace from the code's use.
func (s *Server) startMFAGrace(ctx context.Context, p *pendingLogin) {
	if s.cfg.MFAGrace <= 0 || p.otpAt.IsZero() || p.source == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := s.st.StartMFAGrace(ctx, p.userID, p.source, p.seedRef, p.otpAt); err != nil {
		s.log.Error("recording the MFA grace", "user", p.user, "source", p.source, "err", err)
	}
}

// publicKeyPerms are the permissions of a key login, as charm.land/ssh
// would make them (it gives sessions the key from them).
func publicKeyPerms(key gossh.PublicKey, user string) *gossh.Permissions {
	return &gossh.Permissions{Extensions: map[string]string{
		extMethod:         methodPublicKey,
		extUser:           user,
		extFingerprint:    gossh.FingerprintSHA256(key),
		charmPublicKeyExt: base64.StdEncoding.EncodeToString(key.Marshal()),
	}}
}

// failure audits a failed step and counts it towards the throttle of
// its source; when its reason is a guess at a secret, it also counts it
// towards the lockouts in the store: of the name from this source key,
// of the user's password from everywhere, and of this source key for
// every name. user is a valid or bounded name.
func (s *Server) failure(ctx context.Context, user, method string, mfa bool, reason string) {
	cs := stateOf(ctx)
	s.auditEvent(ctx, store.LoginEvent{User: user, Source: cs.source, Method: method, Result: store.LoginFailure,
		Reason: reason, MFA: mfa})
	s.countRefusal(cs)
	if !slices.Contains(lockoutReasons, reason) {
		return
	}
	cfg := s.cfg
	if cfg.LockoutThreshold <= 0 && cfg.LockoutUserThreshold <= 0 && cfg.ThrottleNames <= 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	now := s.now()
	fc, err := s.st.CountFailures(ctx, user, cs.key, now.Add(-cfg.LockoutWindow), lockoutReasons)
	if err != nil {
		s.log.Error("counting failed logins", "user", user, "source", cs.key, "err", err)
		return
	}
	window := cfg.LockoutWindow.String()
	if cfg.LockoutThreshold > 0 && fc.UserSource >= cfg.LockoutThreshold {
		s.lockLogin(ctx, user, cs.key, fmt.Sprintf("%d failed logins from %s within %s", fc.UserSource, cs.key, window))
	}
	if cfg.LockoutUserThreshold > 0 && fc.User >= cfg.LockoutUserThreshold {
		s.lockLogin(ctx, user, store.AnySource, fmt.Sprintf("%d failed logins within %s", fc.User, window))
	}
	if cfg.ThrottleNames > 0 && fc.Names >= cfg.ThrottleNames {
		s.lockLogin(ctx, "", cs.key, fmt.Sprintf("failed logins as %d names within %s", fc.Names, window))
	}
}

// lockLogin locks user from source (store.AnySource: her password
// everywhere; "" user: the source for every name) for LockoutDuration,
// unless a lock is in force already.
func (s *Server) lockLogin(ctx context.Context, user, source, why string) {
	now := s.now()
	if _, locked, err := s.st.LoginLockedUntil(ctx, user, source, now); err != nil || locked {
		return
	}
	until := now.Add(s.cfg.LockoutDuration)
	if err := s.st.LockLogin(store.WithActor(ctx, "bastion"), user, source, until, why); err != nil {
		s.log.Error("locking logins", "user", user, "source", source, "err", err)
		return
	}
	if user == "" {
		s.guard.throttle(source, until, now)
	}
	s.log.Warn("locked logins after failures", "user", user, "source", source, "until", until, "why", why)
}

// sourceLocked returns why user may not log in from the source key now
// (the name is locked from there, or the source is throttled), or "".
// A store that cannot answer refuses.
func (s *Server) sourceLocked(ctx context.Context, user, key string) string {
	_, locked, err := s.st.LoginLockedUntil(ctx, user, key, s.now())
	switch {
	case err != nil:
		s.log.Error("reading login locks", "user", user, "source", key, "err", err)
		return reasonInternal
	case locked:
		return reasonSourceLocked
	}
	return ""
}

// passwordLocked returns why user may not log in with a password from
// the source key now, or "": sourceLocked, or her password is locked
// from everywhere after failed logins (keys still work then).
func (s *Server) passwordLocked(ctx context.Context, user, key string) string {
	if reason := s.sourceLocked(ctx, user, key); reason != "" {
		return reason
	}
	_, locked, err := s.st.LoginLockedUntil(ctx, user, store.AnySource, s.now())
	switch {
	case err != nil:
		s.log.Error("reading login locks", "user", user, "err", err)
		return reasonInternal
	case locked:
		return reasonPasswordLock
	}
	return ""
}

// auditEvent records a login event; a failure to record is logged,
// never shown to the client.
func (s *Server) auditEvent(ctx context.Context, e store.LoginEvent) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	e.At = s.now()
	s.metrics.Login(e.Method, e.Result, e.Count)
	if err := s.st.AddLoginEvent(ctx, e); err != nil {
		s.log.Error("recording a login event", "user", e.User, "source", e.Source, "err", err)
	}
	lvl := slog.LevelInfo
	if e.Result != store.LoginSuccess {
		lvl = slog.LevelWarn
	}
	args := []any{"user", e.User, "source", e.Source, "method", e.Method, "result", e.Result, "reason", e.Reason, "mfa", e.MFA}
	if e.Count > 1 {
		args = append(args, "count", e.Count)
	}
	s.log.Log(ctx, lvl, "login", args...)
}
