package bastion

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
	gossh "golang.org/x/crypto/ssh"

	"github.com/jms-bastion/jms/config"
	"github.com/jms-bastion/jms/store"
)

// TestMFAReplayedCodeSaysWhy: a valid code used already is refused with
// its reason in the next prompt, on the same connection, and does not
// count towards the lockout: three replays with lockout_threshold 2 lock
// nothing, and the next code logs in.
func TestMFAReplayedCodeSaysWhy(t *testing.T) {
	f := newFixture(t, func(c *config.Config) {
		c.LockoutThreshold, c.LockoutUserThreshold, c.ThrottleNames = 2, 2, 2
	})
	secret, _ := f.enableMFA("alice")
	used := codeNow(t, secret)
	f.mustDial("alice", gossh.Password(alicePassword), (&kiPrompts{}).answer(otpAnswer(used))).Close()

	var ki kiPrompts
	if c, err := f.dial("alice", gossh.Password(alicePassword), ki.answer(otpAnswer(used))); err == nil {
		c.Close()
		t.Fatal("a replayed code logged in")
	}
	prompts, _ := ki.all()
	want := []string{otpPrompt, replayedOTPPrompt, replayedOTPPrompt}
	if len(prompts) != len(want) || prompts[0] != want[0] || prompts[1] != want[1] || prompts[2] != want[2] {
		t.Fatalf("prompts %q, want %q", prompts, want)
	}
	ctx := context.Background()
	if locks, err := f.st.ListLoginLocks(ctx, "", time.Now()); err != nil || len(locks) != 0 {
		t.Fatalf("replayed codes locked logins: %+v %v", locks, err)
	}
	fc, err := f.st.CountFailures(ctx, "alice", "127.0.0.1", time.Now().Add(-time.Hour), lockoutReasons)
	if err != nil || fc.UserSource != 0 || fc.User != 0 {
		t.Fatalf("replayed codes counted as failed logins: %+v %v", fc, err)
	}
	n := 0
	for _, e := range f.events(store.LoginQuery{User: "alice", Result: store.LoginFailure}) {
		if e.Reason == reasonReplayedOTP {
			n += e.Count
		}
	}
	if n != 3 {
		t.Errorf("%d replays audited, want 3", n)
	}

	// Replayed once, then the next step's code: in, on one connection.
	next, err := totp.GenerateCode(secret, time.Now().Add(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	answers := []string{used, next}
	var ki2 kiPrompts
	c := f.mustDial("alice", gossh.Password(alicePassword), ki2.answer(func(string, string) string {
		a := answers[0]
		answers = answers[1:]
		return a
	}))
	c.Close()
	if p, _ := ki2.all(); len(p) != 2 || p[1] != replayedOTPPrompt {
		t.Fatalf("prompts %q", p)
	}
}

// dialFrom logs in from a given local address (127.0.0.0/8 is all
// loopback on Linux).
func (f *fixture) dialFrom(local string, user string, auth ...gossh.AuthMethod) (*gossh.Client, error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 10 * time.Second}
	nc, err := d.Dial("tcp", f.addr)
	if err != nil {
		return nil, err
	}
	cc, chans, reqs, err := gossh.NewClientConn(nc, f.addr, clientConfig(user, auth...))
	if err != nil {
		nc.Close()
		return nil, err
	}
	return gossh.NewClient(cc, chans, reqs), nil
}

func mustNotLogIn(t *testing.T, why string, c *gossh.Client, err error) {
	t.Helper()
	if err == nil {
		c.Close()
		t.Fatal(why)
	}
}

// TestMFAGrace: with mfa_grace, a code typed at login lets the same
// user from the same address skip the OTP prompt, never the first
// factor; other users, other addresses, recovery codes, an MFA reset, a
// disable and a lock get no grace.
func TestMFAGrace(t *testing.T) {
	f := newFixture(t, func(c *config.Config) { c.MFAGrace = time.Minute })
	ctx := store.WithActor(context.Background(), "test")
	secret, codes := f.enableMFA("alice")
	keyOnly := func() (*gossh.Client, error) { return f.dial("alice", gossh.PublicKeys(f.aliceKey)) }

	// A recovery code opens no grace.
	f.mustDial("alice", gossh.PublicKeys(f.aliceKey), (&kiPrompts{}).answer(otpAnswer(codes[0]))).Close()
	c, err := keyOnly()
	mustNotLogIn(t, "a recovery code opened a grace", c, err)

	f.mustDial("alice", gossh.Password(alicePassword), (&kiPrompts{}).answer(otpAnswer(codeNow(t, secret)))).Close()
	// The key alone, then the password alone: no OTP prompt.
	var ki kiPrompts
	c = f.mustDial("alice", gossh.PublicKeys(f.aliceKey), ki.answer(otpAnswer("000000")))
	if res := run(t, c, "web2 exit 0", false, ""); res.status != 0 {
		t.Fatalf("session under the grace: %+v", res)
	}
	c.Close()
	if p, _ := ki.all(); len(p) != 0 {
		t.Fatalf("asked %q under the grace", p)
	}
	f.mustDial("alice", gossh.Password(alicePassword)).Close()
	e := f.waitEvent(store.LoginEvent{User: "alice", Method: "publickey", Result: store.LoginSuccess, Reason: "mfa grace"})
	if !e.MFA {
		t.Errorf("a grace login audited without mfa: %+v", e)
	}
	// Never the first factor.
	c, err = f.dial("alice", gossh.Password("wrong"))
	mustNotLogIn(t, "a wrong password logged in under the grace", c, err)
	c, err = f.dial("alice", gossh.PublicKeys(f.strayKey))
	mustNotLogIn(t, "a stranger's key logged in under the grace", c, err)
	// Another address.
	c, err = f.dialFrom("127.0.0.2", "alice", gossh.PublicKeys(f.aliceKey))
	mustNotLogIn(t, "the grace served another address", c, err)
	// Login rules still decide.
	if _, err := f.st.AddLoginRule(ctx, store.LoginRule{Name: "no-local", Action: "deny", Sources: []string{"127.0.0.1/32"}}); err != nil {
		t.Fatal(err)
	}
	c, err = keyOnly()
	mustNotLogIn(t, "the grace skipped a login rule", c, err)
	f.waitEvent(store.LoginEvent{User: "alice", Method: "publickey", Result: store.LoginFailure, Reason: "denied by login rule no-local"})
	if err := f.st.RemoveLoginRule(ctx, "no-local"); err != nil {
		t.Fatal(err)
	}

	// Each of these ends it. Every round starts from a new secret (its
	// codes are all unused), opens a grace and checks it works.
	for _, end := range []struct {
		name string
		do   func() error
	}{
		{"an mfa reset", func() error { f.enableMFA("alice"); return nil }},
		{"a disable", func() error {
			if err := f.st.SetUserDisabled(ctx, "alice", true); err != nil {
				return err
			}
			return f.st.SetUserDisabled(ctx, "alice", false)
		}},
		{"a lock", func() error {
			if err := f.st.LockUser(ctx, "alice", time.Now().Add(time.Hour), "test"); err != nil {
				return err
			}
			return f.st.UnlockUser(ctx, "alice")
		}},
		{"a lock after failed logins", func() error {
			if err := f.st.LockLogin(ctx, "alice", "127.0.0.1", time.Now().Add(time.Hour), "test"); err != nil {
				return err
			}
			_, err := f.st.UnlockLogins(ctx, "alice", "")
			return err
		}},
	} {
		secret, _ := f.enableMFA("alice")
		f.mustDial("alice", gossh.Password(alicePassword), (&kiPrompts{}).answer(otpAnswer(codeNow(t, secret)))).Close()
		f.mustDial("alice", gossh.PublicKeys(f.aliceKey)).Close()
		if err := end.do(); err != nil {
			t.Fatal(err)
		}
		c, err := keyOnly()
		mustNotLogIn(t, "the grace outlived "+end.name, c, err)
	}
}

// TestMFAGraceOff: mfa_grace 0 (the default) asks every connection.
func TestMFAGraceOff(t *testing.T) {
	f := newFixture(t, nil)
	secret, _ := f.enableMFA("alice")
	f.mustDial("alice", gossh.Password(alicePassword), (&kiPrompts{}).answer(otpAnswer(codeNow(t, secret)))).Close()
	c, err := f.dial("alice", gossh.PublicKeys(f.aliceKey))
	mustNotLogIn(t, "a grace with mfa_grace 0", c, err)
}
