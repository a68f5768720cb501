package e2e

// The bastion's front door with the real OpenSSH client: logins by password and key, each
// target form, exit codes and stdio passed through, refusals, the login audit, and ssh-audit's
// verdict on the server's algorithms.

import (
	"context"
	"encoding/json"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// serverEnv is a bastion in front of one sshd asset, web1, with alice (password and key) granted
// every account on web1; db1 (the same sshd) exists but is not granted to her.
type serverEnv struct {
	b        *Bastion
	s        *SSHD
	key      *Key
	password string
}

func newServerEnv(t *testing.T) *serverEnv {
	t.Helper()
	requireBinaries(t, "ssh", "sshpass")
	s := startSSHD(t)
	b := startBastion(t, BastionOptions{})
	e := &serverEnv{b: b, s: s, key: ClientKey(t), password: "alice-" + randomToken(6)}
	b.MustRun(t, e.password+"\n", "user", "add", "alice", "--password-stdin", "--key", e.key.PubPath)
	for _, name := range []string{"web1", "db1"} {
		b.MustRun(t, "", "asset", "add", name, "--address", "127.0.0.1", "--port", strconv.Itoa(s.Port))
		b.MustRun(t, "", "account", "add", name, s.User, "--key", s.KeyFile)
	}
	b.MustRun(t, "", "grant", "add", "alice-web1", "--user", "alice", "--asset", "web1", "--account", "@all")
	return e
}

func (e *serverEnv) keyLogin(user string) Login {
	l := e.b.Login(user)
	l.KeyFile = e.key.Path
	return l
}

func TestServerPasswordAndKeyLogins(t *testing.T) {
	t.Parallel()
	e := newServerEnv(t)
	pw := e.b.Login("alice")
	pw.Password = e.password
	if res := runSSH(t, pw, nil, "web1", "echo hi"); res.Stdout != "hi\n" || res.ExitCode != 0 {
		t.Fatalf("password login: %+v", res)
	}
	res := runSSH(t, e.keyLogin("alice"), nil, "web1", "echo out; echo err >&2; exit 3")
	if res.Stdout != "out\n" || res.Stderr != "err\n" || res.ExitCode != 3 {
		t.Fatalf("key login: %+v; want out, err, 3", res)
	}

	bad := pw
	bad.Password = "wrong-" + e.password
	if res := runSSH(t, bad, nil, "web1", "true"); res.ExitCode == 0 {
		t.Fatalf("a wrong password logged in: %+v", res)
	}
	stray := e.b.Login("alice")
	stray.KeyFile = ClientKey(t).Path
	if res := runSSH(t, stray, nil, "web1", "true"); res.ExitCode != 255 {
		t.Fatalf("an unknown key logged in: %+v", res)
	}

	var evs []map[string]any
	waitUntil(10*time.Second, func() bool {
		out := e.b.MustRun(t, "", "-o", "json", "audit", "logins", "--user", "alice")
		evs = nil
		if err := json.Unmarshal([]byte(out), &evs); err != nil {
			t.Fatalf("audit logins -o json: %v\n%s", err, out)
		}
		return len(evs) >= 4
	})
	want := []struct{ method, result, reason string }{
		{"password", "success", ""},
		{"publickey", "success", ""},
		{"password", "failure", "wrong password"},
		{"publickey", "failure", "unknown key"},
	}
	for _, w := range want {
		found := false
		for _, ev := range evs {
			if ev["method"] == w.method && ev["result"] == w.result && ev["reason"] == w.reason &&
				ev["source"] == "127.0.0.1" && ev["count"] == float64(1) {
				found = true
			}
		}
		if !found {
			t.Errorf("no login event %+v in %v", w, evs)
		}
	}
	for _, k := range []string{"at", "last_at", "user", "source", "method", "result", "reason", "mfa", "count"} {
		if _, ok := evs[0][k]; !ok {
			t.Errorf("audit logins -o json lacks %q: %v", k, evs[0])
		}
	}
}

func TestServerTargetForms(t *testing.T) {
	t.Parallel()
	e := newServerEnv(t)
	acct := e.s.User
	for _, tc := range []struct {
		name   string
		login  string
		remote []string
	}{
		{"command form", "alice", []string{"web1", "id -un"}},
		{"account in command", "alice", []string{acct + "@web1", "id -un"}},
		{"login name", "alice@web1", []string{"id -un"}},
		{"login name with account", "alice@" + acct + "@web1", []string{"id -un"}},
		{"hash form", "alice#" + acct + "#web1", []string{"id -un"}},
		{"by address", "alice", []string{"127.0.0.1", "id -un"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := runSSH(t, e.keyLogin(tc.login), nil, tc.remote...)
			if res.Stdout != acct+"\n" || res.ExitCode != 0 {
				t.Fatalf("%s %v: %+v; want %s", tc.login, tc.remote, res, acct)
			}
		})
	}
}

func TestServerPTYAndExitStatus(t *testing.T) {
	t.Parallel()
	e := newServerEnv(t)
	l := e.keyLogin("alice")
	l.TTY = true
	// ssh -tt alice@bastion web1: an interactive shell on web1 through a PTY.
	res := runSSH(t, l, strings.NewReader("echo marker-$((40+2)); tty; exit 5\n"), "web1")
	if !strings.Contains(res.Stdout, "marker-42") || !strings.Contains(res.Stdout, "/dev/pts/") || res.ExitCode != 5 {
		t.Fatalf("ssh -tt … web1: %+v; want marker-42, a tty and exit 5", res)
	}
	// stdin streams through an exec session.
	in := strings.Repeat("0123456789abcdef", 64*1024)
	res = runSSH(t, e.keyLogin("alice"), strings.NewReader(in), "web1", "wc -c")
	if strings.TrimSpace(res.Stdout) != "1048576" || res.ExitCode != 0 {
		t.Fatalf("stdin: %+v", res)
	}
}

func TestServerRefusals(t *testing.T) {
	t.Parallel()
	e := newServerEnv(t)
	l := e.keyLogin("alice")
	for _, tc := range []struct {
		name   string
		login  string
		remote []string
		stderr string
	}{
		{"unknown asset", "alice", []string{"nosuch", "true"}, `jms: no asset "nosuch" for alice` + "\n"},
		{"forbidden asset", "alice", []string{"db1", "true"}, `jms: no asset "db1" for alice` + "\n"},
		{"forbidden by login name", "alice@db1", []string{"true"}, `jms: no asset "db1" for alice` + "\n"},
		{"no asset given", "alice", nil, "jms: no asset given; usage: ssh -p " + strconv.Itoa(e.b.Port) + " alice@bastion ASSET [COMMAND]\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := l
			l.User = tc.login
			res := runSSH(t, l, strings.NewReader(""), tc.remote...)
			if res.ExitCode != 1 || res.Stdout != "" || res.Stderr != tc.stderr {
				t.Fatalf("got %+v; want exit 1, stderr %q", res, tc.stderr)
			}
		})
	}
	out := e.b.MustRun(t, "", "audit", "logins", "--result", "failure")
	for _, want := range []string{`no asset "nosuch"`, `no asset "db1"`} {
		if !strings.Contains(out, want) {
			t.Errorf("audit logins lacks %q:\n%s", want, out)
		}
	}
}

// TestServerSSHAudit runs ssh-audit against the bastion: nothing may fail.
func TestServerSSHAudit(t *testing.T) {
	t.Parallel()
	requireBinaries(t, "ssh-audit")
	b := startBastion(t, BastionOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, "ssh-audit", "-n", "-p", strconv.Itoa(b.Port), "127.0.0.1").CombinedOutput()
	report := string(out)
	if !strings.Contains(report, "ssh-ed25519") || !strings.Contains(report, "curve25519-sha256") {
		t.Fatalf("ssh-audit did not audit the server:\n%s", report)
	}
	for _, line := range strings.Split(report, "\n") {
		if strings.Contains(line, "[fail]") {
			t.Errorf("ssh-audit: %s", line)
		}
	}
	if t.Failed() {
		t.Logf("ssh-audit report:\n%s", report)
	}
}
