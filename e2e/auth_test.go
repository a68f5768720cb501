package e2e

// Authentication hardening with the real OpenSSH client: TOTP after a password or a key,
// wrong and replayed codes, lockout and unlock, login rules by CIDR, the first-login and
// expired password flows, and enrolment when MFA is required. Codes come from the secret
// `jmsctl user mfa enable -o json` prints, never from a bypass.

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
)

// enableMFA turns MFA on for user and returns her TOTP secret.
func enableMFA(t *testing.T, b *Bastion, user string) string {
	t.Helper()
	var out struct {
		Secret string `json:"secret"`
		URI    string `json:"uri"`
	}
	if err := json.Unmarshal([]byte(b.MustRun(t, "", "-o", "json", "user", "mfa", "enable", user)), &out); err != nil {
		t.Fatal(err)
	}
	if out.Secret == "" || !strings.HasPrefix(out.URI, "otpauth://totp/jms:"+user+"?") {
		t.Fatalf("mfa enable: %+v", out)
	}
	return out.Secret
}

// code returns the TOTP code of secret at now+offset.
func code(t *testing.T, secret string, offset time.Duration) func(string) string {
	return func(string) string {
		c, err := totp.GenerateCode(secret, time.Now().Add(offset))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
}

func loginEvents(t *testing.T, b *Bastion, user string) []map[string]any {
	t.Helper()
	var evs []map[string]any
	if err := json.Unmarshal([]byte(b.MustRun(t, "", "-o", "json", "audit", "logins", "--user", user)), &evs); err != nil {
		t.Fatal(err)
	}
	return evs
}

func TestAuthOTPAfterPasswordAndKey(t *testing.T) {
	t.Parallel()
	e := newServerEnv(t)
	secret := enableMFA(t, e.b, "alice")
	login := e.b.Login("alice")

	// Password, then the code of this time step.
	first := code(t, secret, 0)("")
	out, rc := expectSSH(t, login, []Step{Type("password:", e.password), Type("OTP code:", first)}, "web1", "echo pw-otp-ok")
	if rc != 0 || !strings.Contains(out, "pw-otp-ok") {
		t.Fatalf("password+OTP: exit %d\n%s", rc, out)
	}
	// Key (forced MFA on a key login), then the next step's code.
	kl := e.keyLogin("alice")
	out, rc = expectSSH(t, kl, []Step{{"OTP code:", code(t, secret, 30*time.Second)}}, "web1", "echo key-otp-ok")
	if rc != 0 || !strings.Contains(out, "key-otp-ok") {
		t.Fatalf("key+OTP: exit %d\n%s", rc, out)
	}
	// The first code again: replayed, told why and asked again (three
	// codes a connection).
	out, rc = expectSSH(t, login, []Step{Type("password:", e.password), Type("OTP code:", first),
		Type(replayedPrompt, first), Type(replayedPrompt, first)}, "web1", "true")
	if rc != 255 {
		t.Fatalf("a replayed code logged in: exit %d\n%s", rc, out)
	}
	// A wrong code.
	out, rc = expectSSH(t, kl, []Step{Type("OTP code:", "000000")}, "web1", "true")
	if rc != 255 {
		t.Fatalf("a wrong code logged in: exit %d\n%s", rc, out)
	}
	// The key alone, without an answer (BatchMode): refused.
	if res := runSSH(t, kl, nil, "web1", "true"); res.ExitCode != 255 {
		t.Fatalf("key alone logged in: %+v", res)
	}

	reasons := map[string]bool{}
	mfaOK := 0
	for _, ev := range loginEvents(t, e.b, "alice") {
		reasons[ev["reason"].(string)] = true
		if ev["result"] == "success" && ev["mfa"] == true {
			mfaOK++
		}
	}
	if mfaOK < 2 || !reasons["OTP code already used"] || !reasons["wrong OTP code"] {
		t.Fatalf("audit: %d MFA successes, reasons %v", mfaOK, reasons)
	}
}

// replayedPrompt is how OpenSSH shows the OTP prompt after a valid
// code used already: "(alice@127.0.0.1) This code was … OTP code:".
const replayedPrompt = "This code was already used; wait for the next one. OTP code:"

// newMFAEnv is newServerEnv with config for the bastion, and MFA on for
// alice; it returns her TOTP secret.
func newMFAEnv(t *testing.T, config string) (*serverEnv, string) {
	t.Helper()
	requireBinaries(t, "ssh", "sshpass")
	s := startSSHD(t)
	b := startBastion(t, BastionOptions{Config: config})
	e := &serverEnv{b: b, s: s, key: ClientKey(t), password: "alice-" + randomToken(6)}
	b.MustRun(t, e.password+"\n", "user", "add", "alice", "--password-stdin", "--key", e.key.PubPath)
	b.MustRun(t, "", "asset", "add", "web1", "--address", "127.0.0.1", "--port", strconv.Itoa(s.Port))
	b.MustRun(t, "", "account", "add", "web1", s.User, "--key", s.KeyFile)
	b.MustRun(t, "", "grant", "add", "alice-web1", "--user", "alice", "--asset", "web1", "--account", "@all")
	return e, enableMFA(t, b, "alice")
}

// TestAuthOTPReplaySaysWhy (issue 11): ssh then another connection
// within the same 30 s meets a used code. OpenSSH shows why in the
// prompt, asks again, and the replays do not count towards the lockout:
// three of them with lockout_threshold 2 lock nothing, and the next
// code logs her in.
func TestAuthOTPReplaySaysWhy(t *testing.T) {
	t.Parallel()
	e, secret := newMFAEnv(t, "lockout_threshold: 2\nlockout_user_threshold: 2\n")
	login := e.b.Login("alice")
	used := code(t, secret, 0)("")
	out, rc := expectSSH(t, login, []Step{Type("password:", e.password), Type("OTP code:", used)}, "web1", "echo first")
	if rc != 0 || !strings.Contains(out, "first") {
		t.Fatalf("first login: exit %d\n%s", rc, out)
	}
	out, rc = expectSSH(t, login, []Step{Type("password:", e.password), Type("OTP code:", used),
		Type(replayedPrompt, used), Type(replayedPrompt, used)}, "web1", "true")
	if rc != 255 {
		t.Fatalf("a replayed code logged in: exit %d\n%s", rc, out)
	}
	t.Logf("a replayed code as the person sees it:\n%s", out)
	if locks := e.b.MustRun(t, "", "user", "locks"); strings.Contains(locks, "alice") {
		t.Fatalf("replayed codes locked alice:\n%s", locks)
	}
	// Replayed, then the next code: in, on the same connection.
	out, rc = expectSSH(t, login, []Step{Type("password:", e.password), Type("OTP code:", used),
		{replayedPrompt, code(t, secret, 30*time.Second)}}, "web1", "echo next")
	if rc != 0 || !strings.Contains(out, "next") {
		t.Fatalf("the next code after a replay: exit %d\n%s", rc, out)
	}
	replays := 0
	for _, ev := range loginEvents(t, e.b, "alice") {
		if ev["reason"] == "OTP code already used" {
			replays += int(ev["count"].(float64))
		}
	}
	if replays != 4 {
		t.Errorf("%d replays audited, want 4", replays)
	}
}

// TestAuthMFAGraceSSHThenSCP (issue 11): with mfa_grace, ssh then scp
// from the same address ask the code once; scp still needs the
// password, and its login is audited as "mfa grace".
func TestAuthMFAGraceSSHThenSCP(t *testing.T) {
	t.Parallel()
	requireBinaries(t, "scp")
	e, secret := newMFAEnv(t, "mfa_grace: 60s\n")
	out, rc := expectSSH(t, e.b.Login("alice"), []Step{Type("password:", e.password),
		Type("OTP code:", code(t, secret, 0)(""))}, "web1", "echo ssh-ok")
	if rc != 0 || !strings.Contains(out, "ssh-ok") {
		t.Fatalf("ssh: exit %d\n%s", rc, out)
	}
	// The source on the asset: not t.TempDir, which is 0700 to the
	// asset's account.
	dir, err := os.MkdirTemp("", "jms-e2e-grace-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	src, dst := filepath.Join(dir, "src.txt"), filepath.Join(t.TempDir(), "dst.txt")
	if err := os.WriteFile(src, []byte("through the grace\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	args := append([]string{}, sshBaseOptions...)
	args = append(args, "-o", "BatchMode=no", "-o", "NumberOfPasswordPrompts=1",
		"-o", "PreferredAuthentications=password,keyboard-interactive", "-o", "PubkeyAuthentication=no",
		"-P", strconv.Itoa(e.b.Port), "alice@web1@127.0.0.1:"+src, dst)
	out, rc = expectCommand(t, "scp", args, []Step{Type("password:", e.password)})
	if b, err := os.ReadFile(dst); rc != 0 || err != nil || string(b) != "through the grace\n" {
		t.Fatalf("scp under the grace: exit %d, %q %v\n%s", rc, b, err, out)
	}
	if strings.Contains(out, "OTP code") {
		t.Fatalf("scp asked the code again:\n%s", out)
	}
	grace := false
	for _, ev := range loginEvents(t, e.b, "alice") {
		grace = grace || (ev["reason"] == "mfa grace" && ev["result"] == "success" && ev["mfa"] == true)
	}
	if !grace {
		t.Fatalf("no mfa grace login in the audit: %v", loginEvents(t, e.b, "alice"))
	}
	// The grace skips the code, never the password.
	out, rc = expectCommand(t, "scp", args, []Step{Type("password:", "wrong-"+e.password)})
	if rc == 0 {
		t.Fatalf("a wrong password logged in under the grace:\n%s", out)
	}
}

func TestAuthLockoutAndUnlock(t *testing.T) {
	t.Parallel()
	requireBinaries(t, "ssh", "sshpass")
	b := startBastion(t, BastionOptions{Config: "lockout_threshold: 3\nlockout_user_threshold: 3\nlockout_window: 10m\nlockout_duration: 30m\n"})
	s := startSSHD(t)
	pw := "alice-" + randomToken(6)
	key := ClientKey(t)
	b.MustRun(t, pw+"\n", "user", "add", "alice", "--password-stdin", "--key", key.PubPath)
	b.MustRun(t, "", "asset", "add", "web1", "--address", "127.0.0.1", "--port", strconv.Itoa(s.Port))
	b.MustRun(t, "", "account", "add", "web1", s.User, "--key", s.KeyFile)
	b.MustRun(t, "", "grant", "add", "g", "--user", "alice", "--asset", "web1", "--account", "@all")

	bad := b.Login("alice")
	bad.Password = "wrong-" + pw
	for i := 0; i < 3; i++ {
		if res := runSSH(t, bad, nil, "web1", "true"); res.ExitCode != 255 {
			t.Fatalf("wrong password: %+v", res)
		}
	}
	good := b.Login("alice")
	good.Password = pw
	if res := runSSH(t, good, nil, "web1", "true"); res.ExitCode != 255 {
		t.Fatalf("a locked user logged in with the right password: %+v", res)
	}
	// Failures lock her name from this address and her password
	// everywhere, not her as a user: that is an administrator's lock.
	show := b.MustRun(t, "", "user", "show", "alice")
	if strings.Contains(show, "locked until") || !strings.Contains(show, "locked_from:") {
		t.Fatalf("user show:\n%s", show)
	}
	locks := b.MustRun(t, "", "user", "locks")
	if !strings.Contains(locks, "127.0.0.1") || !strings.Contains(locks, "*") {
		t.Fatalf("user locks:\n%s", locks)
	}
	b.MustRun(t, "", "user", "unlock", "alice")
	if res := runSSH(t, good, nil, "web1", "echo back"); res.ExitCode != 0 || res.Stdout != "back\n" {
		t.Fatalf("after unlock: %+v", res)
	}

	// An administrator's lock refuses every method, keys too.
	kl := b.Login("alice")
	kl.KeyFile = key.Path
	b.MustRun(t, "", "user", "lock", "alice", "--reason", "laptop stolen")
	if res := runSSH(t, kl, nil, "web1", "true"); res.ExitCode != 255 {
		t.Fatalf("a key login of a locked user: %+v", res)
	}
	if show := b.MustRun(t, "", "user", "show", "alice"); !strings.Contains(show, "locked until") {
		t.Fatalf("user show after user lock:\n%s", show)
	}
	b.MustRun(t, "", "user", "unlock", "alice")
	if res := runSSH(t, kl, nil, "web1", "echo key"); res.ExitCode != 0 || res.Stdout != "key\n" {
		t.Fatalf("key login after unlock: %+v", res)
	}
	ops := b.MustRun(t, "", "--all-orgs", "audit", "operations") // the bastion's lockouts are across orgs
	if !strings.Contains(ops, "user.lock") || !strings.Contains(ops, "login.lock") || !strings.Contains(ops, "user.unlock") {
		t.Fatalf("operations audit:\n%s", ops)
	}
}

// TestAuthPasswordLockKeepsKeys: failed passwords that lock alice's
// password everywhere do not lock her keys (anyone can make passwords
// fail), and she is refused before her password is even checked.
func TestAuthPasswordLockKeepsKeys(t *testing.T) {
	t.Parallel()
	requireBinaries(t, "ssh", "sshpass")
	b := startBastion(t, BastionOptions{Config: "lockout_threshold: 100\nlockout_user_threshold: 3\n"})
	s := startSSHD(t)
	pw := "alice-" + randomToken(6)
	key := ClientKey(t)
	b.MustRun(t, pw+"\n", "user", "add", "alice", "--password-stdin", "--key", key.PubPath)
	b.MustRun(t, "", "asset", "add", "web1", "--address", "127.0.0.1", "--port", strconv.Itoa(s.Port))
	b.MustRun(t, "", "account", "add", "web1", s.User, "--key", s.KeyFile)
	b.MustRun(t, "", "grant", "add", "g", "--user", "alice", "--asset", "web1", "--account", "@all")
	bad := b.Login("alice")
	bad.Password = "wrong-" + pw
	for range 3 {
		if res := runSSH(t, bad, nil, "web1", "true"); res.ExitCode != 255 {
			t.Fatalf("wrong password: %+v", res)
		}
	}
	good := b.Login("alice")
	good.Password = pw
	if res := runSSH(t, good, nil, "web1", "true"); res.ExitCode != 255 {
		t.Fatalf("a locked password logged in: %+v", res)
	}
	kl := b.Login("alice")
	kl.KeyFile = key.Path
	if res := runSSH(t, kl, nil, "web1", "echo key"); res.ExitCode != 0 || res.Stdout != "key\n" {
		t.Fatalf("her key after password failures: %+v", res)
	}
	found := false
	for _, ev := range loginEvents(t, b, "alice") {
		found = found || ev["reason"] == "password locked after failed logins"
	}
	if !found {
		t.Error("the refused password is not in the login audit")
	}
}

// TestAuthLoginRuleAfterLoginControlMaster: a rule added while alice
// holds a ControlMaster connection refuses her next multiplexed session
// and ends the one running.
func TestAuthLoginRuleAfterLoginControlMaster(t *testing.T) {
	t.Parallel()
	e := newServerEnv(t)
	dir, err := os.MkdirTemp("", "cm")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	ctl := filepath.Join(dir, "c")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	master := e.keyLogin("alice")
	master.Options = []string{"-o", "ControlMaster=yes", "-o", "ControlPath=" + ctl, "-N"}
	mc := master.Command(ctx)
	if err := mc.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mc.Process.Kill(); _ = mc.Wait() })
	if !waitUntil(10*time.Second, func() bool { _, err := os.Stat(ctl); return err == nil }) {
		t.Fatal("the ControlMaster did not start")
	}
	kl := e.keyLogin("alice")
	kl.Options = []string{"-o", "ControlMaster=no", "-o", "ControlPath=" + ctl}
	if res := runSSH(t, kl, nil, "web1", "echo first"); res.Stdout != "first\n" || res.ExitCode != 0 {
		t.Fatalf("first session: %+v", res)
	}
	long := kl.Command(ctx, "web1", "echo started; sleep 25; echo survived")
	var out, errOut syncBuffer
	long.Stdout, long.Stderr = &out, &errOut
	if err := long.Start(); err != nil {
		t.Fatal(err)
	}
	if !waitUntil(10*time.Second, func() bool { return strings.Contains(out.String(), "started") }) {
		t.Fatalf("the long session did not start: %q %q", out.String(), errOut.String())
	}
	e.b.MustRun(t, "", "acl", "add", "closing-time", "--action", "deny", "--source", "127.0.0.1/32")
	begin := time.Now()
	_ = long.Wait()
	if d := time.Since(begin); d > 15*time.Second || strings.Contains(out.String(), "survived") {
		t.Fatalf("the running session went on under a denying rule (%v): %q", d, out.String())
	}
	if !strings.Contains(errOut.String(), "closing-time") {
		t.Errorf("the ended session does not say why: %q", errOut.String())
	}
	// OpenSSH's mux client does not print why the bastion refused the
	// channel; it then tries a connection of its own, which the rule
	// refuses too.
	res := runSSH(t, kl, nil, "web1", "echo second")
	if res.Stdout != "" || res.ExitCode != 255 || !strings.Contains(res.Stderr, "Session open refused by peer") {
		t.Fatalf("a multiplexed session under a denying rule: %+v", res)
	}
}

func TestAuthLoginRulesByCIDR(t *testing.T) {
	t.Parallel()
	e := newServerEnv(t)
	kl := e.keyLogin("alice")
	kl.Options = []string{"-o", "LogLevel=INFO"} // show the banner that says why

	e.b.MustRun(t, "", "acl", "add", "no-loopback", "--action", "deny", "--source", "127.0.0.1/32")
	res := runSSH(t, kl, nil, "web1", "true")
	if res.ExitCode != 255 || !strings.Contains(res.Stderr, `login rule "no-loopback"`) {
		t.Fatalf("denied source: %+v", res)
	}
	e.b.MustRun(t, "", "acl", "rm", "no-loopback")

	// An allow-list: loopback allowed first, everything else denied.
	e.b.MustRun(t, "", "acl", "add", "loopback", "--source", "127.0.0.1/32", "--priority", "10")
	e.b.MustRun(t, "", "acl", "add", "elsewhere", "--action", "deny", "--priority", "100")
	e.b.MustRun(t, "", "acl", "add", "lan", "--action", "deny", "--source", "10.0.0.0/8", "--priority", "5")
	if res := runSSH(t, kl, nil, "web1", "echo allowed"); res.ExitCode != 0 || res.Stdout != "allowed\n" {
		t.Fatalf("allowed source: %+v", res)
	}
	list := e.b.MustRun(t, "", "acl", "list")
	if strings.Index(list, "lan") > strings.Index(list, "loopback") || strings.Index(list, "loopback") > strings.Index(list, "elsewhere") {
		t.Fatalf("acl list not in priority order:\n%s", list)
	}
	found := false
	for _, ev := range loginEvents(t, e.b, "alice") {
		if ev["reason"] == "denied by login rule no-loopback" && ev["result"] == "failure" {
			found = true
		}
	}
	if !found {
		t.Fatal("the refusal is not in the login audit")
	}
}

var oneTimeRE = regexp.MustCompile(`One-time password .*: (\S+)`)

func TestAuthFirstLoginPasswordSet(t *testing.T) {
	t.Parallel()
	e := newServerEnv(t)
	out := e.b.MustRun(t, "", "user", "add", "carol", "--one-time-password")
	m := oneTimeRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no one-time password in %q", out)
	}
	e.b.MustRun(t, "", "grant", "add", "carol-web1", "--user", "carol", "--asset", "web1", "--account", "@all")
	newPw := "carol-new-" + randomToken(4)
	cl := e.b.Login("carol")
	cl.Options = []string{"-o", "LogLevel=INFO"} // show why a password is refused
	got, rc := expectSSH(t, cl, []Step{
		Type("password:", m[1]),
		Type("New password:", "short"),
		Type("Retype new password:", "short"),
		Type("New password:", newPw),
		Type("Retype new password:", newPw),
	}, "web1", "echo first-login-ok")
	if rc != 0 || !strings.Contains(got, "first-login-ok") || !strings.Contains(got, "too short") {
		t.Fatalf("first login: exit %d\n%s", rc, got)
	}
	l := e.b.Login("carol")
	l.Password = newPw
	if res := runSSH(t, l, nil, "web1", "echo new-ok"); res.ExitCode != 0 || res.Stdout != "new-ok\n" {
		t.Fatalf("new password: %+v", res)
	}
	l.Password = m[1]
	if res := runSSH(t, l, nil, "web1", "true"); res.ExitCode != 255 {
		t.Fatalf("the one-time password still works: %+v", res)
	}
}

func TestAuthExpiredPassword(t *testing.T) {
	t.Parallel()
	requireBinaries(t, "ssh")
	b := startBastion(t, BastionOptions{Config: "password_max_age: 1s\n"})
	pw := "alice-" + randomToken(6)
	b.MustRun(t, pw+"\n", "user", "add", "alice", "--password-stdin")
	time.Sleep(1100 * time.Millisecond)
	newPw := "alice-new-" + randomToken(4)
	l := b.Login("alice")
	l.Options = []string{"-o", "LogLevel=INFO"}
	got, rc := expectSSH(t, l, []Step{
		Type("password:", pw),
		Type("New password:", newPw),
		Type("Retype new password:", newPw),
	}, "whoami-not-an-asset")
	// Logged in (the unknown target is the session's business, after the login).
	if !strings.Contains(got, "expired") || strings.Contains(got, "Permission denied") {
		t.Fatalf("expired password flow: exit %d\n%s", rc, got)
	}
	ops := b.MustRun(t, "", "--all-orgs", "audit", "operations") // her own change over SSH is across orgs
	if !strings.Contains(ops, "user.passwd") || !strings.Contains(ops, "ssh:alice") {
		t.Fatalf("the change is not audited as alice's:\n%s", ops)
	}
}

var enrolSecretRE = regexp.MustCompile(`Secret: ([A-Z2-7]+)`)

func TestAuthMFARequiredEnrolment(t *testing.T) {
	t.Parallel()
	requireBinaries(t, "ssh")
	b := startBastion(t, BastionOptions{Config: "mfa: required\n"})
	key := ClientKey(t)
	b.MustRun(t, "", "user", "add", "dave", "--key", key.PubPath)
	l := b.Login("dave")
	l.KeyFile = key.Path
	l.Options = []string{"-o", "LogLevel=INFO"} // ssh shows keyboard-interactive instructions at INFO
	var secret string
	got, _ := expectSSH(t, l, []Step{{"OTP code:", func(screen string) string {
		m := enrolSecretRE.FindStringSubmatch(screen)
		if m == nil {
			t.Errorf("no secret on the screen:\n%s", screen)
			return ""
		}
		secret = m[1]
		// Issue 11: the banner, the QR code, the secret and the prompt
		// fit an 80×24 terminal.
		if i := strings.Index(screen, "MFA is required"); i < 0 {
			t.Errorf("no enrolment banner:\n%s", screen)
		} else if n := strings.Count(strings.TrimRight(screen[i:], " \r\n"), "\n") + 1; n > 24 {
			t.Errorf("the enrolment screen is %d lines:\n%s", n, screen[i:])
		}
		return code(t, secret, 0)("")
	}}, Type("Press Enter once you have saved them:", "")}, "no-such-asset")
	if strings.Contains(got, "Permission denied") || !strings.Contains(got, "Recovery codes") || !strings.Contains(got, "█") {
		t.Fatalf("enrolment:\n%s", got)
	}
	t.Logf("enrolment as the person sees it:\n%s", got)
	if !strings.Contains(b.MustRun(t, "", "user", "show", "dave"), "recovery_codes_left: 10") {
		t.Fatal("MFA not on after enrolment")
	}
	// Next login needs a code of the enrolled secret.
	got, rc := expectSSH(t, l, []Step{{"OTP code:", code(t, secret, 30*time.Second)}}, "no-such-asset")
	if strings.Contains(got, "Permission denied") {
		t.Fatalf("login after enrolment: %d\n%s", rc, got)
	}
}

// TestAuthKeepaliveWithoutChannels: `ssh -N` opens no channel; when the
// client stops answering (SIGSTOP: the kernel still acknowledges TCP)
// the bastion closes the connection after three unanswered keepalives,
// and an answering client without channels is closed at idle_timeout.
func TestAuthKeepaliveWithoutChannels(t *testing.T) {
	t.Parallel()
	requireBinaries(t, "ssh")
	b := startBastion(t, BastionOptions{Config: "keepalive: 1s\nidle_timeout: 6s\n"})
	key := ClientKey(t)
	b.MustRun(t, "", "user", "add", "alice", "--key", key.PubPath)
	kl := b.Login("alice")
	kl.KeyFile = key.Path
	kl.Options = []string{"-N"}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	stopped := kl.Command(ctx)
	if err := stopped.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stopped.Process.Signal(syscall.SIGCONT); _ = stopped.Process.Kill(); _ = stopped.Wait() })
	if !waitUntil(10*time.Second, func() bool { return strings.Count(b.Log(), "result=success") >= 1 }) {
		t.Fatal("no login")
	}
	if err := stopped.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	begin := time.Now()
	if !waitUntil(8*time.Second, func() bool { return strings.Contains(b.Log(), "stopped answering keepalives") }) {
		t.Fatal("a silent client without channels was never closed")
	}
	if d := time.Since(begin); d < 2*time.Second {
		t.Fatalf("closed after %v, before three keepalives could go unanswered", d)
	}

	answering := kl.Command(ctx)
	if err := answering.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- answering.Wait() }()
	select {
	case <-done:
		// The client may see the close a moment before the log line is
		// written: wait for it.
		if !waitUntil(5*time.Second, func() bool { return strings.Contains(b.Log(), "closing a logged-in connection without channels") }) {
			t.Fatalf("ssh -N ended, but not by the idle deadline:\n%s", b.Log())
		}
	case <-time.After(20 * time.Second):
		_ = answering.Process.Kill()
		t.Fatal("a logged-in connection without channels outlived idle_timeout")
	}
}
