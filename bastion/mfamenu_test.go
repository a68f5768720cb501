package bastion

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
	gossh "golang.org/x/crypto/ssh"

	"github.com/jms-bastion/jms/config"
	"github.com/jms-bastion/jms/store"
	"github.com/jms-bastion/jms/tui"
)

var (
	secretOnScreen   = regexp.MustCompile(`\b[A-Z2-7]{32}\b`)
	recoveryOnScreen = regexp.MustCompile(`\b[a-z0-9]{5}-[a-z0-9]{5}\b`)
)

// wrongCode is a 6-digit code that is not valid for secret now.
func wrongCode(t *testing.T, secret string) string {
	t.Helper()
	for _, c := range []string{"000000", "111111", "222222", "333333"} {
		if _, ok := checkTOTP(secret, c, time.Now()); !ok {
			return c
		}
	}
	t.Fatal("no wrong code found")
	return ""
}

// TestMenuMFAEnrol: M in the menu of a person without MFA shows a QR
// code and the secret in 80×24; a wrong code saves nothing and is a
// failed login; a right one saves the secret (sealed), shows the
// recovery codes until Enter, is audited, and cannot log in again;
// then M says MFA is on, and her next login asks for a code.
func TestMenuMFAEnrol(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	c := f.mustDial("alice", gossh.PublicKeys(f.aliceKey))
	m := startMenu(t, c, 80, 24)
	m.waitScreen("alice (user) · 2 assets")
	m.typeText("M")
	m.waitScreen("Scan this code")
	scr := m.screen()
	secret := secretOnScreen.FindString(scr)
	if secret == "" || !strings.Contains(scr, "▀") {
		t.Fatalf("no secret or no QR code on the screen:\n%s", scr)
	}
	if lines := strings.Split(scr, "\n"); !strings.Contains(lines[len(lines)-1]+lines[len(lines)-2], "enter verify") {
		t.Fatalf("the screen does not fit 80×24:\n%s", scr)
	}
	m.typeText(wrongCode(t, secret) + "\r")
	m.waitScreen("that code is not right")
	m.waitScreen("2 tries left")
	if mfa, _ := f.st.GetUserMFA(ctx, "alice"); mfa.Seed != nil {
		t.Fatal("a wrong code saved the secret")
	}
	f.waitEvent(store.LoginEvent{User: "alice", Method: methodMFAEnrol, Result: store.LoginFailure, Reason: reasonWrongEnrolCode})

	code := codeNow(t, secret)
	m.typeText(code + "\r")
	m.waitScreen("Press Enter once you have saved them")
	codes := recoveryOnScreen.FindAllString(m.screen(), -1)
	if len(codes) != store.RecoveryCodeCount || strings.Contains(m.screen(), secret) {
		t.Fatalf("recovery codes shown: %v\n%s", codes, m.screen())
	}
	m.typeText("q\x1b")
	time.Sleep(200 * time.Millisecond)
	if !strings.Contains(m.screen(), "Press Enter once") {
		t.Fatalf("a key other than Enter left the recovery codes:\n%s", m.screen())
	}
	m.typeText("\r")
	m.waitScreen("MFA is on: your next logins ask for a code.")

	mfa, err := f.st.GetUserMFA(ctx, "alice")
	if err != nil || string(mfa.Seed) != secret || mfa.LastStep < totpStep(time.Now())-totpSkew {
		t.Fatalf("saved: %+v, %v", mfa, err)
	}
	if n, _ := f.st.RecoveryCodesLeft(ctx, "alice"); n != store.RecoveryCodeCount {
		t.Fatalf("%d recovery codes saved", n)
	}
	ops, err := f.st.ListOperations(ctx, store.AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, op := range ops {
		if op.Action == "user.mfa.enable" && op.Target == "alice" && op.Actor == "ssh:alice" {
			found = true
		}
		if strings.Contains(op.Detail, secret) {
			t.Fatalf("the secret is in the audit: %+v", op)
		}
	}
	if !found {
		t.Fatalf("the enrolment is not audited as ssh:alice: %+v", ops)
	}
	f.waitEvent(store.LoginEvent{User: "alice", Method: methodMFAEnrol, Result: store.LoginSuccess})

	// M again: the status.
	m.typeText("M")
	m.waitScreen("MFA is on for alice")
	m.waitScreen("Recovery codes left: 10")
	m.waitScreen("jmsctl user mfa disable alice")
	m.typeText("\x1b")
	m.waitScreen("type to filter")
	m.typeText("q")
	if status := m.wait(5 * time.Second); status != 0 {
		t.Fatalf("quit: status %d", status)
	}

	// Her next login asks for a code; the enrolment's code is spent.
	var ki kiPrompts
	if _, err := f.dial("alice", gossh.PublicKeys(f.aliceKey), ki.answer(otpAnswer(code))); err == nil {
		t.Fatal("the enrolment's code logged in again")
	}
	f.waitEvent(store.LoginEvent{User: "alice", Result: store.LoginFailure, Reason: reasonReplayedOTP})
	next, err := totp.GenerateCode(secret, time.Now().Add(totpPeriod*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	c2, err := f.dial("alice", gossh.PublicKeys(f.aliceKey), ki.answer(otpAnswer(next)))
	if err != nil {
		t.Fatalf("a login with the next code: %v", err)
	}
	c2.Close()
}

// TestMenuMFAWrongCodes: a session gets maxOTPAttempts wrong codes,
// each a failed login; then the screen closes and stays closed for the
// session, and nothing is saved.
func TestMenuMFAWrongCodes(t *testing.T) {
	f := newFixture(t, nil)
	cs := &connState{source: "127.0.0.1", key: "127.0.0.1", authed: true}
	ctx := context.WithValue(context.Background(), connStateKey{}, cs)
	o := f.srv.ownMFA("alice", f.srv.log)
	st, err := o.start(ctx)
	if err != nil || st.On || st.Secret == "" || !strings.HasPrefix(st.URI, "otpauth://totp/jms:alice?") || st.QR == "" {
		t.Fatalf("start: %+v, %v", st, err)
	}
	bad := wrongCode(t, st.Secret)
	for i := range maxOTPAttempts {
		_, err := o.confirm(ctx, bad)
		if last := i == maxOTPAttempts-1; last != errors.Is(err, tui.ErrMFAAttempts) || err == nil {
			t.Fatalf("wrong code %d: %v", i+1, err)
		}
	}
	if _, err := o.start(ctx); !errors.Is(err, tui.ErrMFAAttempts) {
		t.Fatalf("M after too many codes: %v", err)
	}
	if _, err := o.confirm(ctx, codeNow(t, st.Secret)); !errors.Is(err, tui.ErrMFAAttempts) {
		t.Fatalf("a right code after too many: %v", err)
	}
	if mfa, _ := f.st.GetUserMFA(ctx, "alice"); mfa.Seed != nil {
		t.Fatal("wrong codes saved a secret")
	}
	e := f.waitEvent(store.LoginEvent{User: "alice", Method: methodMFAEnrol, Result: store.LoginFailure, Reason: reasonWrongEnrolCode})
	if e.Count != maxOTPAttempts || !e.MFA {
		t.Errorf("audited %+v, want %d wrong codes", e, maxOTPAttempts)
	}
}

// TestMenuMFANoReplacement: a secret set meanwhile (an administrator's
// enable) is never replaced by an enrolment from the menu, and with
// MFA on the screen only says so.
func TestMenuMFANoReplacement(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.WithValue(context.Background(), connStateKey{}, &connState{source: "127.0.0.1", key: "127.0.0.1"})
	o := f.srv.ownMFA("alice", f.srv.log)
	st, err := o.start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	admin, _ := f.enableMFA("alice")
	if _, err := o.confirm(ctx, codeNow(t, st.Secret)); err == nil || !strings.Contains(err.Error(), "MFA already") {
		t.Fatalf("an enrolment over an administrator's secret: %v", err)
	}
	if mfa, _ := f.st.GetUserMFA(ctx, "alice"); string(mfa.Seed) != admin {
		t.Fatal("the administrator's secret was replaced")
	}
	st, err = o.start(ctx)
	if err != nil || !st.On || st.RecoveryLeft != store.RecoveryCodeCount || st.Secret != "" {
		t.Fatalf("status with MFA on: %+v, %v", st, err)
	}
	if _, err := o.confirm(ctx, codeNow(t, admin)); err == nil {
		t.Fatal("confirm without an enrolment in progress succeeded")
	}
}

// FuzzMenuMFACode sends whatever a person could type as the first code
// of a menu enrolment: nothing panics, and a code saves the secret only
// when it is one checkTOTP accepts for it.
func FuzzMenuMFACode(f *testing.F) {
	for _, s := range []string{"123456", " 123456 ", "12345", "1234567", "abcdef", "\x00\xff", strings.Repeat("9", 5000), ""} {
		f.Add(s)
	}
	ctx := store.WithActor(context.Background(), "fuzz")
	raw, _ := store.GenerateKeyBytes()
	key, _ := store.NewKey(raw, "fuzz")
	st, err := store.Open(ctx, filepath.Join(f.TempDir(), "jms.db"), store.Options{Sealer: store.NewSealer(key)})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	if _, err := st.AddUser(ctx, store.NewUser{Name: "alice"}); err != nil {
		f.Fatal(err)
	}
	cfg := config.Default(f.TempDir())
	cfg.LockoutThreshold, cfg.LockoutUserThreshold, cfg.ThrottleNames = 0, 0, 0
	srv := &Server{cfg: cfg, st: st, log: slog.New(slog.NewTextHandler(io.Discard, nil)), now: time.Now,
		argon: cheapArgon2, hashSem: make(chan struct{}, 1), guard: newSourceGuard(0, cfg.LockoutWindow)}
	f.Fuzz(func(t *testing.T, code string) {
		cctx := context.WithValue(ctx, connStateKey{}, &connState{source: "127.0.0.1", key: "127.0.0.1"})
		o := srv.ownMFA("alice", srv.log)
		ms, err := o.start(cctx)
		if err != nil {
			t.Fatal(err)
		}
		_, valid := checkTOTP(ms.Secret, strings.TrimSpace(code), time.Now())
		_, err = o.confirm(cctx, code)
		if saved := err == nil; saved != valid {
			t.Fatalf("code %q: saved %v, valid %v (%v)", code, saved, valid, err)
		}
		if valid {
			if err := st.DisableMFA(ctx, "alice"); err != nil {
				t.Fatal(err)
			}
		}
	})
}
