package bastion

// Her MFA from the menu (M): the same rules as the enrolment at login
// (login.go, enrol): a fresh secret shown as a QR code and as text,
// saved (sealed, by the store) only once a first code of it verifies,
// that code's time step kept so it cannot log in again, her recovery
// codes shown once. A wrong code is a failed login (audited, counted
// towards the throttle of her source, as at login); a session gets
// maxOTPAttempts of them. Turning MFA off or resetting it stays an
// administrator's jmsctl user mfa disable.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/jms-bastion/jms/store"
	"github.com/jms-bastion/jms/tui"
)

// methodMFAEnrol is the method of the login events of the menu's MFA
// enrolment.
const methodMFAEnrol = "mfa-enrol"

// reasonWrongEnrolCode is a wrong first code at an enrolment, at login
// or from the menu. It is no guess at a secret (the secret is on her
// screen), so it counts towards the throttle of its source, not
// towards the lockouts.
const reasonWrongEnrolCode = "wrong OTP code at enrolment"

// MFAMenuStore is what the menu's MFA screen needs of the store;
// *store.Store satisfies it.
type MFAMenuStore interface {
	GetUser(ctx context.Context, name string) (store.User, error)
	RecoveryCodesLeft(ctx context.Context, name string) (int, error)
	EnrolMFA(ctx context.Context, name string, seed store.Secret, lastStep int64, codes []string) error
}

// ownMFA is one session's MFA screen: the secret she is enrolling
// (made by start, kept here until confirm saves it) and her wrong codes.
type ownMFA struct {
	s    *Server
	user string
	log  *slog.Logger

	mu      sync.Mutex
	pending string // the base32 secret being enrolled; "" when none
	wrong   int
}

func (s *Server) ownMFA(user string, log *slog.Logger) *ownMFA {
	return &ownMFA{s: s, user: user, log: log}
}

// start returns her MFA status; without MFA, a fresh secret to enrol,
// which replaces any earlier one of this session.
func (o *ownMFA) start(ctx context.Context) (tui.MFAState, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.pending = ""
	if o.wrong >= maxOTPAttempts {
		return tui.MFAState{}, tui.ErrMFAAttempts
	}
	u, err := o.s.st.GetUser(ctx, o.user)
	if err != nil {
		o.log.Error("menu: reading her MFA", "err", err)
		return tui.MFAState{}, errors.New("cannot read your MFA now")
	}
	if u.MFAEnabled {
		left, err := o.s.st.RecoveryCodesLeft(ctx, o.user)
		if err != nil {
			o.log.Error("menu: counting her recovery codes", "err", err)
			return tui.MFAState{}, errors.New("cannot read your MFA now")
		}
		return tui.MFAState{On: true, RecoveryLeft: left}, nil
	}
	key, err := NewTOTPKey(o.user)
	if err != nil {
		o.log.Error("menu: making a TOTP secret", "err", err)
		return tui.MFAState{}, errors.New("cannot make an MFA secret now")
	}
	uri := totpURI(o.user, key.Secret())
	qr, err := RenderQR(uri, false)
	if err != nil {
		qr = "" // the screen shows the URI instead
	}
	o.pending = key.Secret()
	return tui.MFAState{Secret: key.Secret(), URI: uri, QR: qr}, nil
}

// confirm checks code against the secret being enrolled; when it
// verifies, it saves the secret with the code's time step (so the code
// cannot log in again) and returns her new recovery codes.
func (o *ownMFA) confirm(ctx context.Context, code string) ([]string, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.wrong >= maxOTPAttempts {
		o.pending = ""
		return nil, tui.ErrMFAAttempts
	}
	if o.pending == "" {
		return nil, errors.New("no enrolment in progress: press M again")
	}
	step, ok := checkTOTP(o.pending, strings.TrimSpace(code), o.s.now())
	if !ok {
		o.wrong++
		o.s.failure(ctx, o.user, methodMFAEnrol, true, reasonWrongEnrolCode)
		if o.wrong >= maxOTPAttempts {
			o.pending = ""
			o.log.Warn("menu: MFA enrolment closed after wrong codes", "wrong", o.wrong)
			return nil, tui.ErrMFAAttempts
		}
		tries := "tries"
		if left := maxOTPAttempts - o.wrong; left == 1 {
			tries = "try"
		}
		return nil, fmt.Errorf("that code is not right (is the phone's clock right?): %d %s left", maxOTPAttempts-o.wrong, tries)
	}
	codes, err := store.GenerateRecoveryCodes()
	if err != nil {
		o.log.Error("menu: making recovery codes", "err", err)
		return nil, errors.New("cannot save your MFA now")
	}
	err = o.s.st.EnrolMFA(store.WithActor(ctx, "ssh:"+o.user), o.user, store.Secret(o.pending), step, codes)
	o.pending = ""
	switch {
	case errors.Is(err, store.ErrConflict):
		o.log.Warn("menu: MFA enrolment refused: she has MFA already")
		return nil, errors.New("you have MFA already (turned on meanwhile): nothing was changed")
	case err != nil:
		o.log.Error("menu: saving an MFA enrolment", "err", err)
		return nil, errors.New("cannot save your MFA now")
	}
	o.log.Info("MFA enrolled from the menu", "recovery_codes", len(codes))
	o.s.auditEvent(ctx, store.LoginEvent{User: o.user, Source: stateOf(ctx).source, Method: methodMFAEnrol,
		Result: store.LoginSuccess, Reason: "MFA enrolled from the menu", MFA: true})
	return codes, nil
}
