package e2e

// Account automation against a real sshd on this machine: the asset IS
// this machine, so every test makes Unix users named jmsauto-<random>
// and deletes them (home and sudoers drop-in too) when it ends.

import (
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// autoEnv is a bastion with asset web1 (this machine's sshd, reading
// ~/.ssh/authorized_keys like a real asset) under /prod, whose root is
// its privileged account.
type autoEnv struct {
	s *SSHD
	b *Bastion
}

func newAutoEnv(t *testing.T) autoEnv {
	t.Helper()
	return newAutoEnvWith(t, BastionOptions{})
}

func newAutoEnvWith(t *testing.T, opts BastionOptions) autoEnv {
	t.Helper()
	requireRoot(t, "account automation creates Unix users: run the e2e tests as root")
	requireBinaries(t, "useradd", "usermod", "userdel", "chpasswd", "visudo", "runuser", "getent")
	s := startSSHDWith(t, sshdOptions{HomeKeys: true})
	b := startBastion(t, opts)
	b.MustRun(t, "", "asset", "add", "web1", "--address", "127.0.0.1", "--port", strconv.Itoa(s.Port), "--node", "/prod")
	b.MustRun(t, "", "account", "add", "web1", "root", "--key", s.KeyFile, "--privileged")
	return autoEnv{s: s, b: b}
}

// autoUser returns a fresh user name and removes that user from this
// machine when the test ends.
func autoUser(t *testing.T) string {
	t.Helper()
	name := "jmsauto-" + randomToken(4)
	t.Cleanup(func() {
		_ = exec.Command("userdel", "-r", "-f", name).Run()
		_ = os.Remove("/etc/sudoers.d/jms-" + name)
		_ = os.Remove("/etc/sudoers.d/.jms-" + name + ".new")
		_ = exec.Command("groupdel", name).Run()
	})
	return name
}

func userExists(name string) bool {
	return exec.Command("getent", "passwd", name).Run() == nil
}

func TestAccountPushCreatesAUserThatLogsInThroughTheBastion(t *testing.T) {
	t.Parallel()
	e := newAutoEnv(t)
	b := e.b
	name := autoUser(t)
	b.MustRun(t, "", "account", "template", "add", name, "--secret", "generate-key", "--home", "--shell", "/bin/bash",
		"--sudo", "ALL", "--node", "/prod", "--push")

	// A dry run reads the asset, prints the commands and changes nothing.
	out := b.MustRun(t, "", "account", "push", "--template", name, "--dry-run")
	for _, want := range []string{"web1: " + name + " (template " + name + "): would change", "useradd -m -d /home/" + name,
		"visudo -c -q -f /etc/sudoers.d/.jms-" + name + ".new", "<<< [authorized_keys]"} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "PRIVATE KEY") || userExists(name) {
		t.Fatalf("the dry run leaked a key or made the user:\n%s", out)
	}

	out = b.MustRun(t, "", "account", "push", "--template", name)
	if !strings.Contains(out, "changed") || !userExists(name) {
		t.Fatalf("push did not make %s:\n%s", name, out)
	}
	checkMode(t, "/etc/sudoers.d/jms-"+name, 0o440, 0)
	home := "/home/" + name
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	checkMode(t, filepath.Join(home, ".ssh"), 0o700|os.ModeDir, uid)
	checkMode(t, filepath.Join(home, ".ssh", "authorized_keys"), 0o600, uid)
	if out := b.MustRun(t, "", "asset", "show", "web1"); !strings.Contains(out, "debian") {
		t.Errorf("asset show lacks the detected facts:\n%s", out)
	}

	// Idempotent: the second push changes nothing.
	out = b.MustRun(t, "", "account", "push", "web1")
	if !strings.Contains(out, " ok") || strings.Contains(out, "changed") {
		t.Fatalf("second push:\n%s", out)
	}

	// A person logs in through the bastion as the pushed account, with
	// the generated key she never sees, and has the template's sudo.
	key := writeKey(t, t.TempDir(), "alice", "alice")
	b.MustRun(t, "", "user", "add", "alice", "--key", key.PubPath)
	b.MustRun(t, "", "grant", "add", "g", "--user", "alice", "--asset", "web1", "--account", name)
	l := b.Login("alice@" + name + "@web1")
	l.KeyFile = key.Path
	res := runSSH(t, l, nil, "id -un; sudo -n id -u")
	if res.ExitCode != 0 || res.Stdout != name+"\n0\n" {
		t.Fatalf("login through the bastion as %s: exit %d\nstdout %q\nstderr %q", name, res.ExitCode, res.Stdout, res.Stderr)
	}
	if out := b.MustRun(t, "", "audit", "operations"); !strings.Contains(out, "account.push") {
		t.Errorf("the push is not in the operations audit:\n%s", out)
	}

	// A key rotation: the new key logs in, the old one is gone.
	before, _ := os.ReadFile(filepath.Join(home, ".ssh", "authorized_keys"))
	if out := b.MustRun(t, "", "account", "rotate", "web1", name); !strings.Contains(out, "changed") {
		t.Fatalf("rotate:\n%s", out)
	}
	after, _ := os.ReadFile(filepath.Join(home, ".ssh", "authorized_keys"))
	if strings.Count(string(after), "jms-managed") != 1 || string(after) == string(before) {
		t.Fatalf("authorized_keys after the rotation:\n%s\nbefore:\n%s", after, before)
	}
	if res := runSSH(t, l, nil, "id -un"); res.ExitCode != 0 || res.Stdout != name+"\n" {
		t.Fatalf("login with the rotated key: exit %d %q %q", res.ExitCode, res.Stdout, res.Stderr)
	}

	// The asset's host key changes: push refuses it, a row says why.
	e.s.RestartWithNewHostKey()
	out, errOut, err := b.Run(t, "account", "push", "web1")
	if err == nil || !strings.Contains(out, "host-key-mismatch") || !strings.Contains(errOut, "Error: push: 1 of 1 failed") {
		t.Fatalf("push to a changed host key: err %v\n%s\n%s", err, out, errOut)
	}
}

func TestAccountPushRefusesUnsafeValues(t *testing.T) {
	t.Parallel()
	b := startBastion(t, BastionOptions{})
	for _, args := range [][]string{
		{"x", "--username", "x;rm -rf /", "--secret", "generate-password"},
		{"y", "--username", "-o", "--secret", "generate-password"},
		{"z", "--secret", "generate-password", "--shell", "/bin/sh -c id"},
		{"w", "--secret", "generate-password", "--groups", "adm,$(id)"},
		{"v", "--secret", "generate-password", "--sudo", "/bin/sh -c id"},
		{"u", "--secret", "generate-password", "--sudo", "/usr/bin/vi *"},
		{"rootish", "--username", "root", "--secret", "generate-password"},
	} {
		_, errOut, err := b.Run(t, append([]string{"account", "template", "add"}, args...)...)
		if err == nil || !strings.HasPrefix(errOut, "Error: ") || strings.Count(errOut, "\n") != 1 {
			t.Errorf("template add %v: err %v, stderr %q", args, err, errOut)
		}
	}
	if out := b.MustRun(t, "", "account", "template", "list"); strings.Contains(out, "x;") {
		t.Errorf("a refused template was stored:\n%s", out)
	}
}

// checkMode checks a file's mode and, when uid >= 0, its owner.
func checkMode(t *testing.T, path string, mode os.FileMode, uid int) {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if fi.Mode() != mode {
		t.Errorf("%s: mode %v, want %v", path, fi.Mode(), mode)
	}
	if uid >= 0 {
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != uid {
			t.Errorf("%s: owner %d, want %d", path, st.Uid, uid)
		}
	}
}

// sshpassLogin says whether user logs in to the sshd directly with pw.
func sshpassLogin(t *testing.T, s *SSHD, user, pw string) bool {
	t.Helper()
	res := runSSH(t, Login{Port: s.Port, User: user, Password: pw}, nil, "true")
	return res.ExitCode == 0
}

func TestAccountVerifyAndRotatePasswords(t *testing.T) {
	t.Parallel()
	requireBinaries(t, "sshpass")
	e := newAutoEnv(t)
	b := e.b
	name := autoUser(t)
	// web2 is the same machine through an sshd whose root sessions find a
	// failing chpasswd first on PATH: a rotation there fails midway.
	fake := t.TempDir()
	if err := os.Chmod(fake, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(fake, "chpasswd"), []byte("#!/bin/sh\necho 'chpasswd: simulated failure' >&2\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	s2 := startSSHDWith(t, sshdOptions{HomeKeys: true,
		ExtraConfig: "SetEnv PATH=" + fake + ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"})
	b.MustRun(t, "", "asset", "add", "web2", "--address", "127.0.0.1", "--port", strconv.Itoa(s2.Port), "--node", "/prod")
	b.MustRun(t, "", "account", "add", "web2", "root", "--key", s2.KeyFile, "--privileged")

	// The template's password seeds the account on web1 and web2 (the
	// same machine: pushed once, found as it should be the second time).
	p0 := "P0-" + randomToken(8)
	b.MustRun(t, p0+"\n", "account", "template", "add", name, "--password-stdin", "--shell", "/bin/bash", "--home", "--node", "/prod", "--push")
	out := b.MustRun(t, "", "account", "push", "--template", name, "--parallel", "1")
	if !strings.Contains(out, "changed") || !sshpassLogin(t, e.s, name, p0) {
		t.Fatalf("push did not set the password:\n%s", out)
	}
	out = b.MustRun(t, "", "account", "verify", "--node", "/prod")
	if strings.Count(out, " ok ") < 4 {
		t.Fatalf("verify after push:\n%s", out)
	}

	// A password changed behind the bastion's back: verify says so.
	cmd := exec.Command("chpasswd")
	cmd.Stdin = strings.NewReader(name + ":behind-" + randomToken(6) + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chpasswd: %v %s", err, out)
	}
	out, _, err := b.Run(t, "account", "verify", "web1", name)
	if err == nil || !strings.Contains(out, "auth-failed") {
		t.Fatalf("verify missed a changed password: err %v\n%s", err, out)
	}
	// A push puts the stored password back.
	if out := b.MustRun(t, "", "account", "push", "web1"); !strings.Contains(out, "password set") || !sshpassLogin(t, e.s, name, p0) {
		t.Fatalf("push did not restore the password:\n%s", out)
	}

	// A rotation that fails midway leaves the old password working on the
	// asset and in the store.
	out, _, err = b.Run(t, "account", "rotate", "web2", name)
	if err == nil || !strings.Contains(out, "failed: set: chpasswd: chpasswd: simulated failure") {
		t.Fatalf("the failing rotation: err %v\n%s", err, out)
	}
	if !sshpassLogin(t, e.s, name, p0) {
		t.Fatal("the old password stopped working after a failed rotation")
	}
	b.MustRun(t, "", "account", "verify", "web2", name)

	// web3: the same machine through an sshd that refuses the account's
	// logins. The new password is set, the fresh login fails, the old
	// password is put back, and the store keeps it.
	s3 := startSSHDWith(t, sshdOptions{HomeKeys: true, ExtraConfig: "DenyUsers " + name + "\n"})
	b.MustRun(t, "", "asset", "add", "web3", "--address", "127.0.0.1", "--port", strconv.Itoa(s3.Port))
	b.MustRun(t, "", "account", "add", "web3", "root", "--key", s3.KeyFile, "--privileged")
	b.MustRun(t, p0+"\n", "account", "add", "web3", name, "--password-stdin")
	out, _, err = b.Run(t, "account", "rotate", "web3", name)
	if err == nil || !strings.Contains(out, "failed: verify: ") || !strings.Contains(out, "(the old secret stays)") {
		t.Fatalf("a rotation whose fresh login fails: err %v\n%s", err, out)
	}
	if !sshpassLogin(t, e.s, name, p0) {
		t.Fatal("the old password was not put back after the failed verification")
	}
	b.MustRun(t, "", "account", "verify", "web1", name)

	// A rotation: the old password fails, the new one (which nobody
	// sees) works through the bastion.
	out = b.MustRun(t, "", "account", "rotate", "web1", name)
	if !strings.Contains(out, "changed") {
		t.Fatalf("rotate:\n%s", out)
	}
	if sshpassLogin(t, e.s, name, p0) {
		t.Fatal("the old password still works after the rotation")
	}
	key := writeKey(t, t.TempDir(), "alice", "alice")
	b.MustRun(t, "", "user", "add", "alice", "--key", key.PubPath)
	b.MustRun(t, "", "grant", "add", "g", "--user", "alice", "--asset", "web1", "--account", name)
	l := b.Login("alice@" + name + "@web1")
	l.KeyFile = key.Path
	if res := runSSH(t, l, nil, "id -un"); res.ExitCode != 0 || res.Stdout != name+"\n" {
		t.Fatalf("login with the rotated password: exit %d %q %q", res.ExitCode, res.Stdout, res.Stderr)
	}
	if out := b.MustRun(t, "", "audit", "operations"); !strings.Contains(out, "account.rotate") {
		t.Errorf("the rotation is not audited:\n%s", out)
	}
}

func TestAccountDiscoverReportsAPlantedUID0AndRevokes(t *testing.T) {
	t.Parallel()
	e := newAutoEnv(t)
	b := e.b
	evil := autoUser(t)
	if out, err := exec.Command("useradd", "-o", "-u", "0", "-g", "0", "-M", "-d", "/home/"+evil, "-s", "/bin/bash", evil).CombinedOutput(); err != nil {
		t.Fatalf("planting a uid-0 user: %v %s", err, out)
	}
	name := autoUser(t)
	b.MustRun(t, "", "account", "template", "add", name, "--secret", "generate-password", "--shell", "/bin/bash", "--node", "/prod", "--push")
	b.MustRun(t, "", "account", "push", "web1")

	out := b.MustRun(t, "", "account", "discover", "web1", "-o", "csv")
	row := func(user string) string {
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, "web1,"+user+",") {
				return l
			}
		}
		t.Fatalf("discover does not list %s:\n%s", user, out)
		return ""
	}
	if r := row(evil); !strings.Contains(r, ",0,") || !strings.Contains(r, "unknown") || !strings.Contains(r, "uid 0") {
		t.Errorf("the planted uid-0 account: %s", r)
	}
	if r := row(name); !strings.Contains(r, ",set,") || !strings.Contains(r, "managed") {
		t.Errorf("the pushed account: %s", r)
	}
	if r := row("root"); strings.Contains(r, "uid 0") {
		t.Errorf("root is flagged: %s", r)
	}

	// Adopted as an account without a secret.
	out = b.MustRun(t, "", "account", "discover", "web1", "--add", evil)
	if !strings.Contains(out, "adopted "+evil) {
		t.Errorf("--add:\n%s", out)
	}
	if out := b.MustRun(t, "", "account", "list", "web1"); !strings.Contains(out, evil) {
		t.Errorf("the adopted account is not listed:\n%s", out)
	}

	// Revoked on the asset, then removed.
	b.MustRun(t, "", "account", "rm", "web1", name, "--remove-from-asset", "delete")
	if userExists(name) {
		t.Errorf("%s still exists on the asset", name)
	}
	if _, errOut, err := b.Run(t, "account", "rm", "web1", evil, "--remove-from-asset", "delete"); err == nil || !strings.Contains(errOut, "system account") {
		t.Errorf("revoking a uid-0 account: err %v, %s", err, errOut)
	}
}

// shadowLocked says whether name's password is locked on this machine.
func shadowLocked(t *testing.T, name string) bool {
	t.Helper()
	out, err := exec.Command("getent", "shadow", name).Output()
	if err != nil {
		t.Fatalf("getent shadow %s: %v", name, err)
	}
	fields := strings.Split(string(out), ":")
	return len(fields) > 1 && strings.HasPrefix(fields[1], "!")
}

func TestAccountTemplateRmRevokesItsAccounts(t *testing.T) {
	t.Parallel()
	requireBinaries(t, "sshpass")
	e := newAutoEnv(t)
	b := e.b
	name := autoUser(t)
	// web2 is this machine again, through a second sshd: the account is
	// pushed to both.
	s2 := startSSHDWith(t, sshdOptions{HomeKeys: true})
	b.MustRun(t, "", "asset", "add", "web2", "--address", "127.0.0.1", "--port", strconv.Itoa(s2.Port), "--node", "/prod")
	b.MustRun(t, "", "account", "add", "web2", "root", "--key", s2.KeyFile, "--privileged")
	p0 := "P0-" + randomToken(8)
	b.MustRun(t, p0+"\n", "account", "template", "add", name, "--password-stdin", "--shell", "/bin/bash", "--sudo", "ALL", "--node", "/prod", "--push")
	if out := b.MustRun(t, "", "account", "push", "--template", name, "--parallel", "1"); !sshpassLogin(t, e.s, name, p0) {
		t.Fatalf("push did not make %s:\n%s", name, out)
	}

	// web2's privileged key no longer works: its revocation fails, web1's
	// is done, and nothing leaves the store (the template is kept).
	wrong := writeKey(t, t.TempDir(), "wrong", "wrong")
	b.MustRun(t, "", "account", "passwd", "web2", "root", "--key", wrong.Path)
	out, errOut, err := b.Run(t, "account", "template", "rm", name, "--remove-from-asset", "lock", "--parallel", "1")
	if err == nil || !strings.Contains(out, "web1") || !strings.Contains(out, "locked") || !strings.Contains(out, "auth-failed") ||
		!strings.Contains(errOut, "template rm: 1 of 2 failed: template "+name+" kept") {
		t.Fatalf("rm with a failing revocation: err %v\n%s\n%s", err, out, errOut)
	}
	if !shadowLocked(t, name) || sshpassLogin(t, e.s, name, p0) {
		t.Fatalf("%s is not locked on the asset", name)
	}
	if _, err := os.Stat("/etc/sudoers.d/jms-" + name); !os.IsNotExist(err) {
		t.Errorf("the sudoers drop-in stayed: %v", err)
	}
	if out := b.MustRun(t, "", "account", "template", "list"); !strings.Contains(out, name) {
		t.Fatalf("the template went although a revocation failed:\n%s", out)
	}
	if out := b.MustRun(t, "", "account", "list", "web1"); !strings.Contains(out, name) {
		t.Fatalf("the locked account left jms although the template was kept:\n%s", out)
	}

	// Fixed and run again: deleted on web1, gone already on web2 (the same
	// machine); the template and both accounts leave the store.
	b.MustRun(t, "", "account", "passwd", "web2", "root", "--key", s2.KeyFile)
	out = b.MustRun(t, "", "account", "template", "rm", name, "--remove-from-asset", "delete", "--parallel", "1", "-o", "csv")
	if !strings.Contains(out, "web1,"+name+","+name+",changed,deleted") || !strings.Contains(out, "web2,"+name+","+name+",ok,gone already") {
		t.Fatalf("rm --remove-from-asset delete:\n%s", out)
	}
	if userExists(name) {
		t.Fatalf("%s still exists on the asset", name)
	}
	for _, asset := range []string{"web1", "web2"} {
		if out := b.MustRun(t, "", "account", "list", asset); strings.Contains(out, name) {
			t.Errorf("the revoked account stayed in jms on %s:\n%s", asset, out)
		}
	}
	if out := b.MustRun(t, "", "account", "template", "list"); strings.Contains(out, name) {
		t.Errorf("the template stayed:\n%s", out)
	}
	if out := b.MustRun(t, "", "audit", "operations"); !strings.Contains(out, "account.revoke") || !strings.Contains(out, "template.rm") {
		t.Errorf("the revocation is not audited:\n%s", out)
	}
}

// The scheduler inside serve rotates a template's accounts on its period:
// job list shows the run, the old key is gone from the asset and the new
// one logs in through the bastion.
func TestServeRotatesOnSchedule(t *testing.T) {
	t.Parallel()
	// Due jobs are looked for every 200 ms rather than every 30 s; the
	// period is the shortest a user can give, 1 min.
	e := newAutoEnvWith(t, BastionOptions{Env: []string{"JMS_TEST_JOB_TICK=200ms"}})
	b := e.b
	name := autoUser(t)
	b.MustRun(t, "", "account", "template", "add", name, "--secret", "generate-key", "--home", "--shell", "/bin/bash",
		"--node", "/prod", "--push", "--rotate-every", "1m")
	b.MustRun(t, "", "account", "push", "--template", name)
	keys := filepath.Join("/home", name, ".ssh", "authorized_keys")
	before, err := os.ReadFile(keys)
	if err != nil {
		t.Fatal(err)
	}
	job := "rotate template " + name
	out := b.MustRun(t, "", "job", "list", "-o", "csv")
	if !strings.Contains(out, job+",rotate,1m0s,") {
		t.Fatalf("job list lacks the rotation:\n%s", out)
	}

	key := writeKey(t, t.TempDir(), "alice", "alice")
	b.MustRun(t, "", "user", "add", "alice", "--key", key.PubPath)
	b.MustRun(t, "", "grant", "add", "g", "--user", "alice", "--asset", "web1", "--account", name)
	l := b.Login("alice@" + name + "@web1")
	l.KeyFile = key.Path
	if res := runSSH(t, l, nil, "id -un"); res.ExitCode != 0 || res.Stdout != name+"\n" {
		t.Fatalf("login before the rotation: exit %d %q %q", res.ExitCode, res.Stdout, res.Stderr)
	}

	// serve logs each job it has run (and recorded).
	done := func() bool {
		for _, line := range strings.Split(b.Log(), "\n") {
			if strings.Contains(line, "automation job done") && strings.Contains(line, `job="`+job+`"`) {
				return true
			}
		}
		return false
	}
	if !waitUntil(3*time.Minute, done) {
		t.Fatalf("serve did not run %q within 3 minutes; serve's log:\n%s", job, b.Log())
	}
	out = b.MustRun(t, "", "job", "list", "-o", "csv")
	var row string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, job+",") {
			row = l
		}
	}
	if f := strings.Split(row, ","); len(f) < 7 || f[4] == "" || f[5] != "ok (1)" || f[6] != "" {
		t.Fatalf("job list after the run (want a last run, ok (1), no failures):\n%s", out)
	}
	after, err := os.ReadFile(keys)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(string(after), "jms-managed") != 1 || string(after) == string(before) {
		t.Fatalf("authorized_keys after the scheduled rotation:\n%s\nbefore:\n%s", after, before)
	}
	if res := runSSH(t, l, nil, "id -un"); res.ExitCode != 0 || res.Stdout != name+"\n" {
		t.Fatalf("login with the rotated key: exit %d %q %q", res.ExitCode, res.Stdout, res.Stderr)
	}
	if out := b.MustRun(t, "", "audit", "operations"); !strings.Contains(out, "account.rotate") || !strings.Contains(out, "job.run") {
		t.Errorf("the scheduled rotation is not audited:\n%s", out)
	}
}
