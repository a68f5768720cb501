package bastion

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
	gossh "golang.org/x/crypto/ssh"

	"github.com/jms-bastion/jms/config"
	"github.com/jms-bastion/jms/store"
)

// enableMFA gives user a TOTP secret and recovery codes, as `jmsctl
// user mfa enable` does, and returns them.
func (f *fixture) enableMFA(user string) (string, []string) {
	f.t.Helper()
	k, err := NewTOTPKey(user)
	if err != nil {
		f.t.Fatal(err)
	}
	codes, err := store.GenerateRecoveryCodes()
	if err != nil {
		f.t.Fatal(err)
	}
	if err := f.st.EnableMFA(store.WithActor(context.Background(), "test"), user, store.Secret(k.Secret()), 0, codes); err != nil {
		f.t.Fatal(err)
	}
	return k.Secret(), codes
}

// kiPrompts records the prompts of a keyboard-interactive exchange.
type kiPrompts struct {
	mu           sync.Mutex
	prompts      []string
	instructions []string
}

func (k *kiPrompts) all() ([]string, []string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return slices.Clone(k.prompts), slices.Clone(k.instructions)
}

// answer returns a keyboard-interactive client method that answers each
// prompt with reply(prompt, instruction).
func (k *kiPrompts) answer(reply func(prompt, instruction string) string) gossh.AuthMethod {
	return gossh.KeyboardInteractive(func(name, instruction string, questions []string, echos []bool) ([]string, error) {
		k.mu.Lock()
		k.instructions = append(k.instructions, instruction)
		k.prompts = append(k.prompts, questions...)
		k.mu.Unlock()
		out := make([]string, len(questions))
		for i, q := range questions {
			out[i] = reply(q, instruction)
		}
		return out, nil
	})
}

func codeNow(t *testing.T, secret string) string {
	t.Helper()
	c, err := totp.GenerateCode(secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func otpAnswer(code string) func(string, string) string {
	return func(string, string) string { return code }
}

func TestMFAPasswordAndKeyThenOTP(t *testing.T) {
	f := newFixture(t, nil)
	secret, _ := f.enableMFA("alice")

	// The first factor alone is not enough.
	if c, err := f.dial("alice", gossh.Password(alicePassword)); err == nil {
		c.Close()
		t.Fatal("password alone logged in a user with MFA")
	}
	if c, err := f.dial("alice", gossh.PublicKeys(f.aliceKey)); err == nil {
		c.Close()
		t.Fatal("key alone logged in a user with MFA")
	}

	var ki kiPrompts
	c := f.mustDial("alice", gossh.Password(alicePassword), ki.answer(otpAnswer(codeNow(t, secret))))
	if res := run(t, c, "web2 exit 0", false, ""); !strings.Contains(res.stdout, "bye from web2") {
		t.Fatalf("session after password+OTP: %+v", res)
	}
	if p, _ := ki.all(); len(p) != 1 || p[0] != "OTP code: " {
		t.Fatalf("prompts %q, want one OTP code:", p)
	}
	e := f.waitEvent(store.LoginEvent{User: "alice", Method: "password", Result: store.LoginSuccess})
	if !e.MFA {
		t.Errorf("success event without mfa: %+v", e)
	}

	// Key + forced MFA (the JumpServer regression). The code of the
	// previous step is still valid but the step is used: wait for a
	// fresh one by using the next step's code, accepted within the skew.
	next, err := totp.GenerateCode(secret, time.Now().Add(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	c2 := f.mustDial("alice", gossh.PublicKeys(f.aliceKey), (&kiPrompts{}).answer(otpAnswer(next)))
	if res := run(t, c2, "web2 exit 0", false, ""); !strings.Contains(res.stdout, "bye from web2") {
		t.Fatalf("session after key+OTP: %+v", res)
	}
	f.waitEvent(store.LoginEvent{User: "alice", Method: "publickey", Result: store.LoginSuccess})
}

func TestMFAWrongAndReplayedCodes(t *testing.T) {
	f := newFixture(t, nil)
	secret, codes := f.enableMFA("alice")

	if c, err := f.dial("alice", gossh.Password(alicePassword), (&kiPrompts{}).answer(otpAnswer("000000x"))); err == nil {
		c.Close()
		t.Fatal("a malformed code logged in")
	}
	f.waitEvent(store.LoginEvent{User: "alice", Method: "keyboard-interactive", Result: store.LoginFailure, Reason: "wrong OTP code"})

	code := codeNow(t, secret)
	f.mustDial("alice", gossh.Password(alicePassword), (&kiPrompts{}).answer(otpAnswer(code))).Close()
	if c, err := f.dial("alice", gossh.Password(alicePassword), (&kiPrompts{}).answer(otpAnswer(code))); err == nil {
		c.Close()
		t.Fatal("a replayed code logged in")
	}
	f.waitEvent(store.LoginEvent{User: "alice", Method: "keyboard-interactive", Result: store.LoginFailure, Reason: "OTP code already used"})

	// A recovery code works once, typed in upper case without the dash.
	typed := strings.ToUpper(strings.ReplaceAll(codes[0], "-", ""))
	f.mustDial("alice", gossh.PublicKeys(f.aliceKey), (&kiPrompts{}).answer(otpAnswer(typed))).Close()
	f.waitEvent(store.LoginEvent{User: "alice", Result: store.LoginSuccess, Reason: "recovery code used"})
	if c, err := f.dial("alice", gossh.PublicKeys(f.aliceKey), (&kiPrompts{}).answer(otpAnswer(codes[0]))); err == nil {
		c.Close()
		t.Fatal("a used recovery code logged in again")
	}
}

func TestMFAAttemptsPerConnection(t *testing.T) {
	f := newFixture(t, func(c *config.Config) { c.LockoutThreshold = 0 })
	secret, _ := f.enableMFA("alice")
	var ki kiPrompts
	n := 0
	// The client retries keyboard-interactive; the server stops asking
	// after three codes, even when the fourth would be right.
	method := gossh.RetryableAuthMethod(ki.answer(func(string, string) string {
		n++
		if n > 3 {
			return codeNow(t, secret)
		}
		return "123456"
	}), 10)
	if c, err := f.dial("alice", gossh.Password(alicePassword), method); err == nil {
		c.Close()
		t.Fatal("logged in after three wrong codes")
	}
	if p, _ := ki.all(); len(p) != 3 {
		t.Fatalf("asked %d codes on one connection, want 3", len(p))
	}
}

func TestLockout(t *testing.T) {
	f := newFixture(t, func(c *config.Config) {
		c.LockoutThreshold = 3
		c.LockoutUserThreshold = 0
		c.ThrottleNames = 0
	})
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if c, err := f.dial("alice", gossh.Password("wrong")); err == nil {
			c.Close()
			t.Fatal("wrong password logged in")
		}
	}
	// Locked from this address, whatever comes next: password or key.
	if c, err := f.dial("alice", gossh.Password(alicePassword)); err == nil {
		c.Close()
		t.Fatal("a locked name logged in with the right password")
	}
	f.waitEvent(store.LoginEvent{User: "alice", Method: "password", Result: store.LoginFailure, Reason: "locked from this address"})
	if c, err := f.dial("alice", gossh.PublicKeys(f.aliceKey)); err == nil {
		c.Close()
		t.Fatal("a locked name logged in with a key")
	}
	locks, err := f.st.ListLoginLocks(ctx, "alice", time.Now())
	if err != nil || len(locks) != 1 || locks[0].Source != "127.0.0.1" {
		t.Fatalf("locks %+v, %v", locks, err)
	}
	// Other names are not affected.
	f.mustDial("bob", gossh.PublicKeys(f.bobKey)).Close()
	if n, err := f.st.UnlockLogins(store.WithActor(ctx, "test"), "alice", ""); err != nil || n != 1 {
		t.Fatalf("unlock: %d, %v", n, err)
	}
	f.mustDial("alice", gossh.Password(alicePassword)).Close()
}

func TestLockoutPerUserAndThrottle(t *testing.T) {
	f := newFixture(t, func(c *config.Config) {
		c.LockoutThreshold = 100
		c.LockoutUserThreshold = 2
		c.ThrottleNames = 4
	})
	for i := 0; i < 2; i++ {
		if c, err := f.dial("alice", gossh.Password("wrong")); err == nil {
			c.Close()
		}
	}
	// Her password is locked from everywhere; her key still works, and
	// she is not locked as a user (that is an administrator's lock).
	if _, locked, err := f.st.LoginLockedUntil(context.Background(), "alice", store.AnySource, time.Now()); err != nil || !locked {
		t.Fatalf("alice's password not locked after the per-user threshold: %v", err)
	}
	if u, err := f.st.GetUser(context.Background(), "alice"); err != nil || u.Locked(time.Now()) {
		t.Fatalf("failed logins locked alice as a user: %+v %v", u.LockedUntil, err)
	}
	if c, err := f.dial("alice", gossh.Password(alicePassword)); err == nil {
		c.Close()
		t.Fatal("a locked password logged in")
	}
	f.mustDial("alice", gossh.PublicKeys(f.aliceKey)).Close()
	// Failing as several names throttles the address: refused before
	// any authentication, even for a good key.
	for _, name := range []string{"nobody1", "nobody2", "nobody3"} {
		if c, err := f.dial(name, gossh.Password("x")); err == nil {
			c.Close()
		}
	}
	if c, err := f.dial("bob", gossh.PublicKeys(f.bobKey)); err == nil {
		c.Close()
		t.Fatal("a throttled address logged in")
	}
	f.waitEvent(store.LoginEvent{Result: store.LoginFailure, Reason: "address throttled"})
}

func TestLoginRules(t *testing.T) {
	f := newFixture(t, nil)
	ctx := store.WithActor(context.Background(), "test")
	if _, err := f.st.AddLoginRule(ctx, store.LoginRule{Name: "no-local", Action: "deny", Sources: []string{"127.0.0.1/32"}}); err != nil {
		t.Fatal(err)
	}
	var banner string
	cfg := clientConfig("alice", gossh.PublicKeys(f.aliceKey))
	cfg.BannerCallback = func(m string) error { banner += m; return nil }
	if c, err := gossh.Dial("tcp", f.addr, cfg); err == nil {
		c.Close()
		t.Fatal("a denied source logged in")
	}
	if !strings.Contains(banner, `login rule "no-local"`) {
		t.Errorf("banner %q does not name the rule", banner)
	}
	f.waitEvent(store.LoginEvent{User: "alice", Result: store.LoginFailure, Reason: "denied by login rule no-local"})
	// A wrong password is still a wrong password.
	if c, err := f.dial("alice", gossh.Password("nope")); err == nil {
		c.Close()
	}
	f.waitEvent(store.LoginEvent{User: "alice", Method: "password", Reason: "wrong password"})

	// An allow rule of a lower number wins for alice only.
	if _, err := f.st.AddLoginRule(ctx, store.LoginRule{Name: "alice-ok", Action: "allow", Priority: 10, Users: []string{"alice"}}); err != nil {
		t.Fatal(err)
	}
	f.mustDial("alice", gossh.PublicKeys(f.aliceKey)).Close()
	if c, err := f.dial("bob", gossh.PublicKeys(f.bobKey)); err == nil {
		c.Close()
		t.Fatal("bob logged in from a denied source")
	}
}

func TestPasswordMustChange(t *testing.T) {
	f := newFixture(t, func(c *config.Config) { c.PasswordMinLength = 10 })
	ctx := store.WithActor(context.Background(), "test")
	_, h, _ := f.st.PasswordHash(ctx, "alice")
	if err := f.st.SetPasswordHash(ctx, "alice", h, true); err != nil {
		t.Fatal(err)
	}
	var ki kiPrompts
	tries := 0
	method := ki.answer(func(prompt, instruction string) string {
		if prompt == "New password: " {
			tries++
		}
		switch tries {
		case 1:
			return "short" // refused by the policy
		case 2:
			return alicePassword // the same as before
		}
		return "a-brand-new-password"
	})
	f.mustDial("alice", gossh.Password(alicePassword), method).Close()
	_, ins := ki.all()
	all := strings.Join(ins, "|")
	if !strings.Contains(all, "must choose a new password") || !strings.Contains(all, "too short") || !strings.Contains(all, "must differ") {
		t.Errorf("instructions %q", ins)
	}
	u, _ := f.st.GetUser(ctx, "alice")
	if u.MustChangePassword {
		t.Error("must_change_password still set")
	}
	f.mustDial("alice", gossh.Password("a-brand-new-password")).Close()
	if c, err := f.dial("alice", gossh.Password(alicePassword)); err == nil {
		c.Close()
		t.Fatal("the old password still works")
	}
}

func TestPasswordExpired(t *testing.T) {
	f := newFixture(t, func(c *config.Config) { c.PasswordMaxAge = time.Nanosecond })
	// No keyboard-interactive answers: no login.
	if c, err := f.dial("alice", gossh.Password(alicePassword)); err == nil {
		c.Close()
		t.Fatal("an expired password logged in without a change")
	}
	var ki kiPrompts
	f.mustDial("alice", gossh.Password(alicePassword), ki.answer(otpAnswer("another-password-1"))).Close()
	if _, ins := ki.all(); len(ins) == 0 || !strings.Contains(ins[0], "expired") {
		t.Errorf("instructions %q", ins)
	}
	// A key login does not use the password: no change asked.
	f.mustDial("alice", gossh.PublicKeys(f.aliceKey)).Close()
}

var secretRE = regexp.MustCompile(`Secret: ([A-Z2-7]+)`)

func TestMFAEnrolmentAtLogin(t *testing.T) {
	f := newFixture(t, func(c *config.Config) { c.MFA = "required" })
	var ki kiPrompts
	var secret string
	var banner string
	method := ki.answer(func(prompt, instruction string) string {
		m := secretRE.FindStringSubmatch(instruction)
		if m == nil {
			return ""
		}
		secret = m[1]
		return codeNow(t, secret)
	})
	cfg := clientConfig("bob", gossh.PublicKeys(f.bobKey), method)
	cfg.BannerCallback = func(m string) error { banner += m; return nil }
	c, err := gossh.Dial("tcp", f.addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if !strings.Contains(banner, "█") {
		t.Errorf("banner without the QR code: %q", banner)
	}
	_, ins := ki.all()
	if len(ins) < 2 || !strings.Contains(ins[0], "Secret: ") || !strings.Contains(ins[1], "Recovery codes") {
		t.Fatalf("instructions %q", ins)
	}
	// The codes wait for Enter before the session covers them.
	if prompts, _ := ki.all(); !slices.Contains(prompts, "Press Enter once you have saved them: ") {
		t.Fatalf("prompts %q", prompts)
	}
	m, err := f.st.GetUserMFA(context.Background(), "bob")
	if err != nil || string(m.Seed) != secret {
		t.Fatalf("seed not saved: %v", err)
	}
	// From now on bob needs a code.
	if c, err := f.dial("bob", gossh.PublicKeys(f.bobKey)); err == nil {
		c.Close()
		t.Fatal("key alone after enrolment")
	}
	next, _ := totp.GenerateCode(secret, time.Now().Add(30*time.Second))
	f.mustDial("bob", gossh.PublicKeys(f.bobKey), (&kiPrompts{}).answer(otpAnswer(next))).Close()

	// A wrong first code saves nothing.
	if c, err := f.dial("alice", gossh.Password(alicePassword), (&kiPrompts{}).answer(otpAnswer("000000"))); err == nil {
		c.Close()
		t.Fatal("enrolment with a wrong code logged in")
	}
	if m, _ := f.st.GetUserMFA(context.Background(), "alice"); m.Seed != nil {
		t.Fatal("a seed was saved without a right code")
	}
}

// TestMFAEnrolmentAtLoginNoReplacement: a secret an administrator set
// while she was enrolling at login is not replaced by hers.
func TestMFAEnrolmentAtLoginNoReplacement(t *testing.T) {
	f := newFixture(t, func(c *config.Config) { c.MFA = "required" })
	var admin string
	method := (&kiPrompts{}).answer(func(_, instruction string) string {
		m := secretRE.FindStringSubmatch(instruction)
		if m == nil {
			return ""
		}
		if admin == "" {
			admin, _ = f.enableMFA("bob")
		}
		return codeNow(t, m[1])
	})
	if c, err := f.dial("bob", gossh.PublicKeys(f.bobKey), method); err == nil {
		c.Close()
		t.Fatal("an enrolment over an administrator's secret logged in")
	}
	if m, err := f.st.GetUserMFA(context.Background(), "bob"); err != nil || string(m.Seed) != admin {
		t.Fatalf("the administrator's secret was replaced: %v", err)
	}
}

// TestLoginTiming checks that an unknown name costs what a known name
// with a wrong password costs: both run one argon2id hash with the same
// parameters. Medians, with a generous margin.
func TestLoginTiming(t *testing.T) {
	if testing.Short() {
		t.Skip("timing")
	}
	f := newFixture(t, func(c *config.Config) { c.LockoutThreshold, c.LockoutUserThreshold, c.ThrottleNames = 0, 0, 0 })
	f.srv.argon = store.Argon2Params{Memory: 16 * 1024, Time: 2, Threads: 1, KeyLen: 32, SaltLen: 16}
	ctx := store.WithActor(context.Background(), "test")
	h, _ := store.HashPassword(store.Secret(alicePassword), f.srv.argon)
	if err := f.st.SetPasswordHash(ctx, "alice", h, false); err != nil {
		t.Fatal(err)
	}
	if f.srv.dummyHash, _ = store.HashPassword(store.Secret("dummy"), f.srv.argon); f.srv.dummyHash == "" {
		t.Fatal("dummy hash")
	}
	once := func(user string) time.Duration {
		start := time.Now()
		if c, err := f.dial(user, gossh.Password("wrong-password")); err == nil {
			c.Close()
		}
		return time.Since(start)
	}
	median := func(ds []time.Duration) time.Duration {
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		return ds[len(ds)/2]
	}
	// Interleaved, so that a burst of load elsewhere on the machine
	// slows both alike rather than one of the two medians.
	var ks, us []time.Duration
	for range 11 {
		ks = append(ks, once("alice"))
		us = append(us, once("nobody-here"))
	}
	known, unknown := median(ks), median(us)
	t.Logf("median: known user, wrong password %v; unknown user %v", known, unknown)
	lo, hi := min(known, unknown), max(known, unknown)
	if hi > 2*lo+20*time.Millisecond {
		t.Errorf("an unknown user takes %v, a known one with a wrong password %v: names can be told apart", unknown, known)
	}
}

// FuzzOTPAnswer sends whatever a client could answer to the
// keyboard-interactive steps (OTP code, new password twice, any number
// of answers, any bytes): nothing may panic.
func FuzzOTPAnswer(f *testing.F) {
	f.Add("123456", "", 1)
	f.Add("abcde-fghij", "x", 2)
	f.Add("\x00\xff", "\n", 0)
	f.Add(strings.Repeat("9", 5000), "", 3)
	f.Add("new-password-1", "new-password-1", 2)
	f.Add("", "", -1)
	ctx := store.WithActor(context.Background(), "fuzz")
	raw, _ := store.GenerateKeyBytes()
	key, _ := store.NewKey(raw, "fuzz")
	st, err := store.Open(ctx, filepath.Join(f.TempDir(), "jms.db"), store.Options{Sealer: store.NewSealer(key)})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	h, _ := store.HashPassword(store.Secret(alicePassword), cheapArgon2)
	if _, err := st.AddUser(ctx, store.NewUser{Name: "alice", PasswordHash: h}); err != nil {
		f.Fatal(err)
	}
	k, _ := NewTOTPKey("alice")
	if err := st.EnableMFA(ctx, "alice", store.Secret(k.Secret()), 0, nil); err != nil {
		f.Fatal(err)
	}
	cfg := config.Default(f.TempDir())
	cfg.LockoutThreshold, cfg.LockoutUserThreshold, cfg.ThrottleNames = 0, 0, 0
	srv := &Server{cfg: cfg, st: st, log: slog.New(slog.NewTextHandler(io.Discard, nil)), now: time.Now,
		argon: cheapArgon2, hashSem: make(chan struct{}, 1), guard: newSourceGuard(0, cfg.LockoutWindow)}
	f.Fuzz(func(t *testing.T, a, b string, n int) {
		cs := &connState{source: "127.0.0.1", release: func() {}}
		ctx := context.WithValue(context.Background(), connStateKey{}, cs)
		p := &pendingLogin{user: "alice", source: "127.0.0.1", method: methodPassword, needOTP: n%2 == 0,
			needNewPw: "change", needEnrol: n%3 == 0, password: store.Secret(alicePassword)}
		ch := func(name, instruction string, questions []string, echos []bool) ([]string, error) {
			switch {
			case n < 0:
				return nil, errors.New("client gone")
			case n%4 == 3:
				return []string{a, b, a}, nil
			case len(questions) == 2:
				return []string{a, b}, nil
			case len(questions) == 0:
				return nil, nil
			}
			return []string{a}, nil
		}
		_, _ = srv.keyboardInteractive(ctx, p, ch)
	})
}

// TestFailureFlood checks that a password-guessing flood is folded in
// the audit (one row per name, source and minute) and locks the name.
func TestFailureFlood(t *testing.T) {
	f := newFixture(t, nil)
	const n = 40
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if c, err := f.dial("alice", gossh.Password("guess")); err == nil {
				c.Close()
			}
		}()
	}
	wg.Wait()
	f.srv.refusals.flush(true) // the refusals of the locked name wait in memory
	evs := f.events(store.LoginQuery{User: "alice"})
	total := 0
	for _, e := range evs {
		total += e.Count
	}
	if total != n || len(evs) > 2 {
		t.Fatalf("%d rows counting %d attempts, want at most 2 rows counting %d: %+v", len(evs), total, n, evs)
	}
	// Locked from the address (and, as attempts in flight pass the
	// lock check together, maybe her password everywhere too).
	if _, locked, err := f.st.LoginLockedUntil(context.Background(), "alice", "127.0.0.1", time.Now()); err != nil || !locked {
		t.Fatalf("alice not locked from the address after a flood: %v", err)
	}
}
