package e2e

// Tests of the harness itself against a real sshd: they prove that the fixtures the bastion
// tests stand on work (key and password logins, exit codes, PTYs in tmux, connection
// counting, host-key changes).

import (
	"bytes"
	"context"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

func TestHarnessSSHDExecByKey(t *testing.T) {
	t.Parallel()
	s := startSSHD(t)
	res := runSSH(t, Login{Port: s.Port, User: s.User, KeyFile: s.KeyFile}, nil, "echo hi; exit 3")
	if res.Stdout != "hi\n" || res.ExitCode != 3 {
		t.Fatalf("got stdout %q, exit %d, stderr %q; want \"hi\\n\", 3", res.Stdout, res.ExitCode, res.Stderr)
	}
}

func TestHarnessSSHDExecByPassword(t *testing.T) {
	t.Parallel()
	s := startSSHD(t)
	requirePasswordLogin(t, s)
	res := runSSH(t, Login{Port: s.Port, User: s.User, Password: s.Password}, nil, "echo hi; exit 3")
	if res.Stdout != "hi\n" || res.ExitCode != 3 {
		t.Fatalf("got stdout %q, exit %d, stderr %q; want \"hi\\n\", 3", res.Stdout, res.ExitCode, res.Stderr)
	}

	// A wrong password is refused: sshpass says so with its own status 5.
	res = runSSH(t, Login{Port: s.Port, User: s.User, Password: "wrong-" + s.Password}, nil, "true")
	if res.ExitCode == 0 {
		t.Fatalf("a wrong password logged in: %+v", res)
	}
}

func TestHarnessSSHDStdinAndStderr(t *testing.T) {
	t.Parallel()
	s := startSSHD(t)
	in := strings.Repeat("0123456789abcdef", 64*1024) // 1 MiB
	res := runSSH(t, Login{Port: s.Port, User: s.User, KeyFile: s.KeyFile}, strings.NewReader(in),
		"wc -c; echo oops >&2")
	if strings.TrimSpace(res.Stdout) != "1048576" || res.Stderr != "oops\n" || res.ExitCode != 0 {
		t.Fatalf("got %+v; want 1048576 on stdout, oops on stderr", res)
	}
}

func TestHarnessSSHDRootByKey(t *testing.T) {
	t.Parallel()
	requireRoot(t, "root logins need the tests to run as root")
	s := startSSHD(t)
	res := runSSH(t, Login{Port: s.Port, User: "root", KeyFile: s.KeyFile}, nil, "id -un")
	if res.Stdout != "root\n" {
		t.Fatalf("got %+v; want root", res)
	}
}

func TestHarnessSSHDPTYInTmux(t *testing.T) {
	t.Parallel()
	s := startSSHD(t)
	for _, tc := range []struct {
		name  string
		login Login
	}{
		{"key", Login{Port: s.Port, User: s.User, KeyFile: s.KeyFile}},
		{"password", Login{Port: s.Port, User: s.User, Password: s.Password}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.login.Password != "" {
				requirePasswordLogin(t, s)
			}
			term := termSSH(t, tc.login, TermOptions{TERM: "xterm-256color"})
			term.waitForScreen(regexp.MustCompile(`[$#] *$`), 20*time.Second)
			term.Line(`echo "term=$TERM size=$(stty size)"`)
			term.waitForScreen(regexp.MustCompile(`(?m)^term=xterm-256color size=24 80$`), 10*time.Second)

			term.Resize(100, 30)
			term.Line(`echo "now=$(stty size)"`)
			term.waitForScreen(regexp.MustCompile(`(?m)^now=30 100$`), 10*time.Second)

			term.Line("exit 7")
			if code := term.Wait(20 * time.Second); code != 7 {
				t.Fatalf("ssh exited %d, want 7", code)
			}
		})
	}
}

func TestHarnessSSHDCountConnections(t *testing.T) {
	t.Parallel()
	s := startSSHD(t)
	if n := s.CountConnections(); n != 0 {
		t.Fatalf("a fresh sshd has %d connections", n)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := Login{Port: s.Port, User: s.User, KeyFile: s.KeyFile}.Command(ctx, "echo up; sleep 60")
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	s.WaitConnections(1, 15*time.Second)

	// A second connection, from x/crypto as the bastion will make it.
	c := dialSSHD(t, s, nil)
	s.WaitConnections(2, 5*time.Second)
	c.Close()
	s.WaitConnections(1, 5*time.Second)

	cancel()
	<-done
	s.WaitConnections(0, 10*time.Second)
}

func TestHarnessSSHDRestartWithNewHostKey(t *testing.T) {
	t.Parallel()
	s := startSSHD(t)
	var seen ssh.PublicKey
	dialSSHD(t, s, &seen).Close()
	if !bytes.Equal(seen.Marshal(), s.HostKey.Marshal()) {
		t.Fatalf("sshd presented %s, SSHD.HostKey is %s", ssh.FingerprintSHA256(seen), ssh.FingerprintSHA256(s.HostKey))
	}
	old, oldLine := s.HostKey, s.HostKeyLine

	s.RestartWithNewHostKey()
	if bytes.Equal(old.Marshal(), s.HostKey.Marshal()) || oldLine == s.HostKeyLine {
		t.Fatal("RestartWithNewHostKey kept the host key")
	}
	dialSSHD(t, s, &seen).Close()
	if !bytes.Equal(seen.Marshal(), s.HostKey.Marshal()) {
		t.Fatalf("after the restart sshd presented %s, want the new %s", ssh.FingerprintSHA256(seen), ssh.FingerprintSHA256(s.HostKey))
	}
	// Logins still work after the restart.
	res := runSSH(t, Login{Port: s.Port, User: s.User, KeyFile: s.KeyFile}, nil, "echo again")
	if res.Stdout != "again\n" {
		t.Fatalf("after the restart: %+v", res)
	}
}

func TestHarnessCountEstablished(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	var conns []net.Conn
	for range 3 {
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		sc, err := l.Accept()
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, sc)
	}
	if n, err := countEstablished(port); err != nil || n != 3 {
		t.Fatalf("countEstablished = %d, %v; want 3 (server side only)", n, err)
	}
	for _, c := range conns {
		c.Close()
	}
	if !waitUntil(5*time.Second, func() bool { n, _ := countEstablished(port); return n == 0 }) {
		t.Fatal("connections still counted after close")
	}
}

// TestHarnessBastionSmoke checks the contract startBastion relies on: `jmsctl init --admin
// --admin-password-stdin`, `jmsctl serve --listen`, and the host key in
// DATA/ssh_host_ed25519_key.pub being the one the server presents.
func TestHarnessBastionSmoke(t *testing.T) {
	t.Parallel()
	requireBinaries(t, "ssh")
	b := startBastion(t, BastionOptions{})
	if !strings.HasPrefix(b.Banner, "SSH-2.0-") {
		t.Fatalf("banner %q", b.Banner)
	}
	want := b.HostKey()
	if want == nil {
		t.Fatal("no DATA/ssh_host_ed25519_key.pub after init and serve")
	}
	var seen ssh.PublicKey
	cfg := &ssh.ClientConfig{
		User: "nobody-" + randomToken(3),
		Auth: []ssh.AuthMethod{ssh.Password("x")},
		HostKeyCallback: func(_ string, _ net.Addr, key ssh.PublicKey) error {
			seen = key
			return nil
		},
		Timeout: 10 * time.Second,
	}
	if c, err := ssh.Dial("tcp", b.Addr, cfg); err == nil {
		c.Close()
		t.Fatal("an unknown user logged in to the bastion")
	}
	if seen == nil || !bytes.Equal(seen.Marshal(), want.Marshal()) {
		t.Fatalf("the bastion presented %v, the data dir holds %s", seen, ssh.FingerprintSHA256(want))
	}
}

// requirePasswordLogin skips (fails under JMS_E2E=1) when s cannot log in by password, which
// needs root to make the jmse2e account.
func requirePasswordLogin(t testing.TB, s *SSHD) {
	t.Helper()
	requireBinaries(t, "sshpass")
	if s.Password != "" {
		return
	}
	if e2eRequired() {
		t.Fatal("password logins to the sshd asset need the tests to run as root (JMS_E2E is set)")
	}
	t.Skip("password logins to the sshd asset need the tests to run as root")
}

// dialSSHD logs in to s with x/crypto/ssh and its key, as the bastion will, storing the
// presented host key in *seen when seen is not nil.
func dialSSHD(t testing.TB, s *SSHD, seen *ssh.PublicKey) *ssh.Client {
	t.Helper()
	signer, err := ssh.ParsePrivateKey(s.KeyPEM)
	if err != nil {
		t.Fatalf("parsing SSHD.KeyPEM: %v", err)
	}
	c, err := ssh.Dial("tcp", s.Addr, &ssh.ClientConfig{
		User: s.User,
		Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: func(_ string, _ net.Addr, key ssh.PublicKey) error {
			if seen != nil {
				*seen = key
			}
			return nil
		},
		Timeout: 10 * time.Second,
	})
	if err != nil {
		t.Fatalf("x/crypto login to sshd: %v", err)
	}
	return c
}
