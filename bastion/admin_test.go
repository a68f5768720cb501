package bastion

import (
	"context"
	"io"
	"strings"
	"sync"
	"testing"

	gossh "golang.org/x/crypto/ssh"

	"github.com/jms-bastion/jms/config"
	"github.com/jms-bastion/jms/store"
)

// fakeAdmin records the requests it runs: it echoes its stdin to stdout,
// writes "err" to stderr and exits with the status of its first
// argument when that is "exit=N".
type fakeAdmin struct {
	mu   sync.Mutex
	reqs []AdminRequest
}

func (f *fakeAdmin) run(ctx context.Context, req AdminRequest) int {
	if len(req.Args) > 0 && req.Args[0] == "wait" { // until Ctrl-C
		<-ctx.Done()
		_, _ = io.WriteString(req.Stderr, "ended: "+context.Cause(ctx).Error()+"\n")
		return 1
	}
	in, _ := io.ReadAll(req.Stdin)
	_, _ = io.WriteString(req.Stdout, "args="+strings.Join(req.Args, "|")+"\nin="+string(in)+"\n")
	_, _ = io.WriteString(req.Stderr, "err\n")
	f.mu.Lock()
	f.reqs = append(f.reqs, req)
	f.mu.Unlock()
	if len(req.Args) > 0 && req.Args[0] == "exit=3" {
		return 3
	}
	return 0
}

func (f *fakeAdmin) last() AdminRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.reqs) == 0 {
		return AdminRequest{}
	}
	return f.reqs[len(f.reqs)-1]
}

// TestAdminCommand: `jmsctl` as the command's first word, or as the
// asset of the login name, runs the admin command with the words that
// follow, split as a shell would, her streams, exit status and roles;
// it never reaches the proxy and is audited as an admin login.
func TestAdminCommand(t *testing.T) {
	adm := &fakeAdmin{}
	f := newFixtureDeps(t, nil, func(d *Deps) { d.Admin = adm.run })
	alice := f.mustDial("alice", gossh.PublicKeys(f.aliceKey))

	res := run(t, alice, `jmsctl asset add 'web 9' --comment "a b"`, false, "data")
	if res.status != 0 || res.stdout != "args=asset|add|web 9|--comment|a b\nin=data\n" || res.stderr != "err\n" {
		t.Errorf("jmsctl over SSH: %+v", res)
	}
	req := adm.last()
	if req.User != "alice" || req.Role != store.RoleUser || req.Source != "127.0.0.1" || req.PTY {
		t.Errorf("request: %+v", req)
	}
	if res := run(t, alice, "jmsctl exit=3", false, ""); res.status != 3 {
		t.Errorf("exit status: %+v; want 3", res)
	}
	if res := run(t, alice, "jmsctl", true, ""); res.status != 0 || !strings.Contains(res.stdout, "args=\r\n") {
		t.Errorf("jmsctl with a PTY: %+v; want no args and \\r\\n line ends", res)
	}
	if req := adm.last(); !req.PTY || req.Width != 80 || len(req.Args) != 0 {
		t.Errorf("PTY request: %+v", req)
	}
	viaLogin := f.mustDial("alice@jmsctl", gossh.PublicKeys(f.aliceKey))
	if res := run(t, viaLogin, "user list", false, ""); res.stdout != "args=user|list\nin=\n" {
		t.Errorf("alice@jmsctl: %+v", res)
	}

	adm.mu.Lock()
	n := len(adm.reqs)
	adm.mu.Unlock()
	for _, cmd := range []string{"jmsctl asset list | grep x", "jmsctl 'unterminated"} {
		if res := run(t, alice, cmd, false, ""); res.status != 1 || !strings.HasPrefix(res.stderr, "jms: jmsctl: ") {
			t.Errorf("%q: %+v; want a refusal", cmd, res)
		}
	}
	acct := f.mustDial("alice@root@jmsctl", gossh.PublicKeys(f.aliceKey))
	if res := run(t, acct, "user list", false, ""); res.status != 1 || !strings.Contains(res.stderr, "not an asset") {
		t.Errorf("alice@root@jmsctl: %+v", res)
	}
	if req := adm.last(); len(adm.reqs) != n {
		t.Errorf("a refused command reached the runner: %+v", req)
	}
	f.proxy.mu.Lock()
	proxied := len(f.proxy.reqs)
	f.proxy.mu.Unlock()
	if proxied != 0 {
		t.Errorf("the admin command reached the proxy %d times", proxied)
	}
	f.waitEvent(store.LoginEvent{User: "alice", Method: methodAdmin, Result: store.LoginSuccess, Reason: `jmsctl asset add "web 9"`})
}

// TestAdminCommandOff: a server without Deps.Admin refuses jmsctl.
func TestAdminCommandOff(t *testing.T) {
	f := newFixture(t, func(*config.Config) {})
	alice := f.mustDial("alice", gossh.PublicKeys(f.aliceKey))
	if res := run(t, alice, "jmsctl user list", false, ""); res.status != 1 || !strings.Contains(res.stderr, "not available") {
		t.Errorf("jmsctl without a runner: %+v", res)
	}
}

// TestAdminCommandPTY: with a PTY the bastion does what a line
// discipline would for the command: Enter is a newline, Ctrl-D ends the
// input, Ctrl-C ends a command that reads nothing.
func TestAdminCommandPTY(t *testing.T) {
	adm := &fakeAdmin{}
	f := newFixtureDeps(t, nil, func(d *Deps) { d.Admin = adm.run })
	alice := f.mustDial("alice", gossh.PublicKeys(f.aliceKey))
	if res := run(t, alice, "jmsctl read", true, "abc\rdef\x04ignored"); res.stdout != "args=read\r\nin=abc\r\ndef\r\n" {
		t.Errorf("input through the PTY: %q", res.stdout)
	}
	res := run(t, alice, "jmsctl wait", true, "\x03")
	if res.status != 1 || !strings.Contains(res.stdout+res.stderr, "ended: interrupted (Ctrl-C)") {
		t.Errorf("Ctrl-C: %+v", res)
	}
}

func TestDiscipline(t *testing.T) {
	tests := []struct {
		in, out          string
		ended, interrupt bool
	}{
		{in: "abc", out: "abc"},
		{in: "a\rb\r", out: "a\nb\n"},
		{in: "ab\x04cd", out: "ab", ended: true},
		{in: "ab\x03cd", out: "ab", interrupt: true},
		{in: "\x04\x03", ended: true, interrupt: true},
	}
	for _, tt := range tests {
		out, ended, interrupt := discipline([]byte(tt.in))
		if string(out) != tt.out || ended != tt.ended || interrupt != tt.interrupt {
			t.Errorf("discipline(%q) = %q, %v, %v; want %q, %v, %v", tt.in, out, ended, interrupt, tt.out, tt.ended, tt.interrupt)
		}
	}
}
