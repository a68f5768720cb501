package bastion

// Self-service password reset over SSH: `ssh -p 2222 reset@bastion`,
// keyboard-interactive. She gives her login name; a code goes to her
// address on record (the answer and its timing are the same whether or
// not the name or an address exists: the request runs in the background
// and the bastion does not wait for it); she types the code (single use,
// 15 minutes, a few attempts, rate-limited per name and per source by
// the PasswordReset), then a new password under the policy. The reset
// does not log her in: her next login asks for the new password and,
// when she has MFA, her code. Every step is in the login audit.

import (
	"context"
	"strings"
	"sync"
	"time"

	"charm.land/ssh"
	gossh "golang.org/x/crypto/ssh"

	"github.com/jms-bastion/jms/store"
)

// ResetLogin is the login name that starts a password reset.
const ResetLogin = "reset"

// PasswordReset issues and checks reset codes (notify.Resetter).
type PasswordReset interface {
	// Request mails user a code when she exists with an address and
	// the limits allow; it says nothing either way.
	Request(ctx context.Context, user, source string)
	// Verify uses up user's code when code is it.
	Verify(ctx context.Context, user, code string) bool
}

// Reset reasons, in the login audit.
const (
	reasonResetRequested = "password reset requested"
	reasonResetWrongCode = "wrong password reset code"
	reasonResetDone      = "password reset"
)

// resetRequestTimeout bounds a request running in the background.
const resetRequestTimeout = 30 * time.Second

// resetCallback is the keyboard-interactive first factor: the reset
// dialogue for ResetLogin, a refusal (without a prompt) for every other
// name, which then logs in with a key or a password.
func (s *Server) resetCallback(ctx ssh.Context) func(gossh.ConnMetadata, gossh.KeyboardInteractiveChallenge) (*gossh.Permissions, error) {
	var once sync.Mutex
	return func(conn gossh.ConnMetadata, ch gossh.KeyboardInteractiveChallenge) (*gossh.Permissions, error) {
		if s.reset == nil || conn.User() != ResetLogin || !once.TryLock() {
			return nil, errDenied
		}
		// One reset per connection; the lock is never released.
		cs := stateOf(ctx)
		if s.throttled(ctx, cs.key) {
			return nil, errDenied
		}
		s.resetDialogue(ctx, cs, ch)
		return nil, errDenied
	}
}

func (s *Server) resetDialogue(ctx context.Context, cs *connState, ch gossh.KeyboardInteractiveChallenge) {
	a, err := ch("jms password reset", "", []string{"Your jms login name (a code goes to your address on record): "}, []bool{true})
	if err != nil || len(a) != 1 {
		return
	}
	name := strings.TrimSpace(a[0])
	if store.ValidName("user", name) == nil {
		bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), resetRequestTimeout)
		go func() {
			defer cancel()
			s.reset.Request(bg, name, cs.source)
		}()
	}
	s.auditEvent(ctx, store.LoginEvent{User: boundName(name), Source: cs.source, Method: methodKeyboardInteractive,
		Result: store.LoginFailure, Reason: reasonResetRequested})
	prompt := "If that name has an address on record, a code was mailed to it (valid 15 minutes). Code: "
	a, err = ch("", "", []string{prompt}, []bool{true})
	if err != nil || len(a) != 1 || store.ValidName("user", name) != nil || !s.reset.Verify(ctx, name, strings.TrimSpace(a[0])) {
		if err == nil {
			s.failure(ctx, boundName(name), methodKeyboardInteractive, false, reasonResetWrongCode)
		}
		return
	}
	p := &pendingLogin{user: name, source: cs.source, needNewPw: "Choose your new password."}
	if err := s.changePassword(ctx, p, ch); err != nil {
		return
	}
	s.auditEvent(ctx, store.LoginEvent{User: name, Source: cs.source, Method: methodKeyboardInteractive,
		Result: store.LoginSuccess, Reason: reasonResetDone})
	_, _ = ch("", "", []string{"Password changed. Log in again as " + name + " (press Enter): "}, []bool{true})
}
