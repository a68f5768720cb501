package bastion

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/jms-bastion/jms/config"
	"github.com/jms-bastion/jms/store"
)

func TestRouting(t *testing.T) {
	f := newFixture(t, nil)
	alice := f.mustDial("alice", gossh.PublicKeys(f.aliceKey))
	for _, tc := range []struct {
		name, login, cmd string
		pty              bool
		status           int
		stdout, stderr   string // substrings; "" matches anything
		notStderr        string // must not be on stderr
		asset, account   string // what the proxy got; "" when it must not run
		command          string
	}{
		{name: "command form", login: "alice", cmd: "web2 exit 7", status: 7, stdout: "bye from web2 as root", asset: "web2", account: "root", command: "exit 7"},
		{name: "account in command", login: "alice", cmd: "deploy@web1 exit 0", stdout: "as deploy", asset: "web1", account: "deploy", command: "exit 0"},
		{name: "login name", login: "alice@web2", cmd: "exit 4", status: 4, asset: "web2", account: "root", command: "exit 4"},
		{name: "login name with account", login: "alice@root@web1", cmd: "exit 0", asset: "web1", account: "root", command: "exit 0"},
		{name: "hash form", login: "alice#root#web1", cmd: "exit 0", asset: "web1", account: "root", command: "exit 0"},
		{name: "by address", login: "alice", cmd: "10.0.0.2 exit 0", asset: "web2", account: "root", command: "exit 0"},
		{name: "by id", login: "alice", cmd: "2 exit 0", asset: "web2", account: "root", command: "exit 0"},
		{name: "quoting kept", login: "alice", cmd: `web2   echo "a  b" 'c'`, asset: "web2", account: "root", command: `echo "a  b" 'c'`},
		{name: "pty shell", login: "alice@web2", pty: true, stdout: "a\nb\n", stderr: "Connecting to web2 (10.0.0.2) as root…\r\n", notStderr: "no terminal", asset: "web2", account: "root"},
		{name: "pty request passed", login: "alice", cmd: "web2 pty", pty: true, stdout: "pty=true term=xterm-256color size=80x24", notStderr: "Connecting", asset: "web2", account: "root", command: "pty"},
		// Issue 11: ssh alice@bastion web2 without -t got a blank shell.
		{name: "no pty, no command", login: "alice", cmd: "web2", stdout: "a\nb\n", stderr: "jms: no terminal requested: use ssh -t -p ", notStderr: "Connecting", asset: "web2", account: "root"},
		{name: "no pty, no command, login name", login: "alice@web2", stdout: "a\nb\n", stderr: "alice@bastion web2 for an interactive shell\n", asset: "web2", account: "root"},
		{name: "no pty", login: "alice", cmd: "web2 pty", stdout: "pty=false", asset: "web2", account: "root", command: "pty"},
		{name: "stdin", login: "alice", cmd: "web2 cat", stdout: "typed", asset: "web2", account: "root", command: "cat"},
		{name: "proxy refusal", login: "alice", cmd: "web2 refuse", status: 255, stderr: "jms: host key of web2 changed\n", asset: "web2", account: "root", command: "refuse"},
		{name: "unknown asset", login: "alice", cmd: "nosuch exit 0", status: 1, stderr: "jms: no asset \"nosuch\" for alice\n"},
		{name: "unknown asset, no command", login: "alice", cmd: "nosuch", status: 1, stderr: "jms: no asset \"nosuch\" for alice\n", notStderr: "no terminal"},
		{name: "forbidden asset", login: "alice", cmd: "db1 exit 0", status: 1, stderr: "jms: no asset \"db1\" for alice\n"},
		{name: "forbidden by login name", login: "alice@db1", cmd: "exit 0", status: 1, stderr: "jms: no asset \"db1\" for alice\n"},
		{name: "several accounts, no pty", login: "alice", cmd: "web1 exit 0", status: 1, stderr: "jms: several accounts on web1 (deploy, root): choose one"},
		{name: "account not granted", login: "alice", cmd: "admin@web2 exit 0", status: 1, stderr: "jms: no account \"admin\" on web2 for alice\n"},
		{name: "no target, no pty", login: "alice", cmd: "", status: 1, stderr: "jms: no asset given; usage: ssh -p"},
		{name: "bad target", login: "alice", cmd: "we'b1 ls", status: 1, stderr: "jms: invalid target"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := alice
			if tc.login != "alice" {
				c = f.mustDial(tc.login, gossh.PublicKeys(f.aliceKey))
			}
			before := len(f.proxy.reqs)
			stdin := ""
			if tc.command == "cat" {
				stdin = "typed"
			}
			res := run(t, c, tc.cmd, tc.pty, stdin)
			if res.status != tc.status || !strings.Contains(res.stdout, tc.stdout) || !strings.Contains(res.stderr, tc.stderr) ||
				tc.notStderr != "" && strings.Contains(res.stderr, tc.notStderr) {
				t.Fatalf("got %+v; want status %d, stdout ~%q, stderr ~%q", res, tc.status, tc.stdout, tc.stderr)
			}
			ran := len(f.proxy.reqs) > before
			if ran != (tc.asset != "") {
				t.Fatalf("proxy ran: %v, want %v", ran, tc.asset != "")
			}
			if ran {
				r := f.proxy.last()
				if r.User != "alice" || r.Asset.Name != tc.asset || r.Account.Username != tc.account || r.Command != tc.command {
					t.Fatalf("proxy got user %s asset %s account %s command %q; want %s %s %q",
						r.User, r.Asset.Name, r.Account.Username, r.Command, tc.asset, tc.account, tc.command)
				}
			}
		})
	}
	// Refusals are audited, unknown and forbidden alike.
	f.waitEvent(store.LoginEvent{User: "alice", Method: "connect", Result: store.LoginFailure, Reason: `no asset "db1"`})
	f.waitEvent(store.LoginEvent{User: "alice", Method: "connect", Result: store.LoginFailure, Reason: `no asset "nosuch"`})
}

func TestDisabledAfterLogin(t *testing.T) {
	f := newFixture(t, nil)
	c := f.mustDial("alice", gossh.PublicKeys(f.aliceKey))
	if res := run(t, c, "web2 exit 0", false, ""); res.status != 0 {
		t.Fatalf("%+v", res)
	}
	if err := f.st.SetUserDisabled(store.WithActor(t.Context(), "test"), "alice", true); err != nil {
		t.Fatal(err)
	}
	res := run(t, c, "web2 exit 0", false, "")
	if res.status != 1 || !strings.Contains(res.stderr, "alice: user disabled") {
		t.Fatalf("a new channel of a disabled user: %+v", res)
	}
}

func TestEnvFiltered(t *testing.T) {
	f := newFixture(t, nil)
	c := f.mustDial("alice", gossh.PublicKeys(f.aliceKey))
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, kv := range [][2]string{{"LANG", "C.UTF-8"}, {"LC_ALL", "C"}, {"TERM", "vt100"}} {
		if err := s.Setenv(kv[0], kv[1]); err != nil {
			t.Errorf("setenv %s refused: %v", kv[0], err)
		}
	}
	for _, k := range []string{"LD_PRELOAD", "PATH", "FOO", "LC_", "lc_all"} {
		if err := s.Setenv(k, "x"); err == nil {
			t.Errorf("setenv %s accepted", k)
		}
	}
	out, err := s.Output("web2 env")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(out)); got != "LANG=C.UTF-8 LC_ALL=C TERM=vt100" {
		t.Fatalf("environment passed on: %q", got)
	}
}

func TestChannelsRefused(t *testing.T) {
	f := newFixture(t, func(c *config.Config) { c.MaxChannels = 2 })
	c := f.mustDial("alice", gossh.PublicKeys(f.aliceKey))
	if _, err := c.Dial("tcp", "127.0.0.1:22"); err == nil || !strings.Contains(err.Error(), "port forwarding is not enabled") {
		t.Errorf("direct-tcpip: %v", err)
	}
	for typ, want := range map[string]string{
		"x11":                    "X11 forwarding is not enabled",
		"auth-agent@openssh.com": "agent forwarding is not enabled",
		"weird":                  `is not supported`,
	} {
		if _, _, err := c.OpenChannel(typ, nil); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", typ, err, want)
		}
	}
	if _, err := c.Listen("tcp", "127.0.0.1:0"); err == nil {
		t.Error("remote forwarding accepted")
	}
	s1, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s1.Close()
	if ok, err := s1.SendRequest("auth-agent-req@openssh.com", true, nil); ok || err != nil {
		t.Errorf("agent forwarding request: ok=%v err=%v", ok, err)
	}
	s2, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if _, err := c.NewSession(); err == nil || !strings.Contains(err.Error(), "too many channels") {
		t.Fatalf("a third channel: %v", err)
	}
	s1.Close()
	time.Sleep(100 * time.Millisecond)
	s3, err := c.NewSession()
	if err != nil {
		t.Fatalf("a channel after one closed: %v", err)
	}
	s3.Close()
}

func TestSFTPRefused(t *testing.T) {
	f := newFixture(t, nil)
	c := f.mustDial("alice", gossh.PublicKeys(f.aliceKey))
	ch, reqs, err := c.OpenChannel("session", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	status := make(chan uint32, 1)
	go func() {
		for r := range reqs {
			if r.Type == "exit-status" && len(r.Payload) == 4 {
				status <- uint32(r.Payload[3])
			}
			_ = r.Reply(false, nil)
		}
		close(status)
	}()
	ok, err := ch.SendRequest("subsystem", true, gossh.Marshal(struct{ Name string }{"sftp"}))
	if !ok || err != nil {
		t.Fatalf("subsystem request: %v %v", ok, err)
	}
	msg, _ := io.ReadAll(ch.Stderr())
	if string(msg) != "jms: file transfer is not enabled yet\n" {
		t.Fatalf("stderr %q", msg)
	}
	if st := <-status; st != 1 {
		t.Fatalf("exit status %d", st)
	}
	f.waitEvent(store.LoginEvent{User: "alice", Method: "sftp", Result: store.LoginFailure})
}

type lockedReader struct {
	r   io.Reader
	buf bytes.Buffer
}

func (l *lockedReader) all() string { return l.buf.String() }

// waitFor reads until the output holds want, and drops the output up to
// its end.
func (l *lockedReader) waitFor(t *testing.T, want string) {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		b := make([]byte, 1024)
		for !strings.Contains(l.buf.String(), want) {
			n, err := l.r.Read(b)
			l.buf.Write(b[:n])
			if err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("waiting for %q: %v; got %q", want, err, l.buf.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("waiting for %q; got %q", want, l.buf.String())
	}
	_, rest, _ := strings.Cut(l.buf.String(), want)
	l.buf.Reset()
	l.buf.WriteString(rest)
}
