// Package e2e holds the end-to-end tests of jms: the real OpenSSH client talks to `jmsctl
// serve`, which proxies to a real sshd on loopback started by the test.
//
// The tests need ssh, sshd, sshpass, tmux (and a few more tools, see .ci/run). Without them
// they skip with a message saying what is missing; with JMS_E2E=1 (set by .ci/run) a missing
// tool is a failure, never a skip. `go test -short` skips them too, unless JMS_E2E=1.
//
// This file holds the package plumbing: TestMain, the tool checks, ports and small helpers.
// The fixtures live in files named for what they hold: sshd_test.go (the asset),
// jmsctl_test.go (the bastion), ssh_client_test.go (the OpenSSH client), keys_test.go and
// tmux_test.go (interactive sessions in a real terminal emulator).
package e2e

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// e2eRequired reports whether JMS_E2E asks for the end-to-end tests to run for sure: then a
// missing tool fails the test instead of skipping it.
func e2eRequired() bool {
	v := os.Getenv("JMS_E2E")
	return v != "" && v != "0" && v != "false"
}

func TestMain(m *testing.M) {
	code := m.Run()
	cleanupJmsctlBuild()
	// The fixtures start goroutines (process waiters, ssh clients): none may outlive the tests.
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: goroutines leaked: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// toolPaths maps the tools the tests call to where they must be. sshd needs its absolute path
// (it re-executes itself).
var toolPaths = map[string]string{
	"sshd": "/usr/sbin/sshd",
}

// requireBinaries skips the test (or fails it under JMS_E2E=1) when one of the named tools is
// not installed, or when -short is given without JMS_E2E. Names are looked up in PATH, except
// sshd, which must be /usr/sbin/sshd; a name with a slash is taken as a path.
func requireBinaries(t testing.TB, names ...string) {
	t.Helper()
	if testing.Short() && !e2eRequired() {
		t.Skip("e2e: skipped with -short (set JMS_E2E=1 to run)")
	}
	var missing []string
	for _, name := range names {
		if _, err := toolPath(name); err != nil {
			missing = append(missing, name)
		}
	}
	if len(missing) == 0 {
		return
	}
	msg := fmt.Sprintf("e2e: missing %s (on Debian: apt-get install openssh-server openssh-client sshpass tmux asciinema ssh-audit rsync bash zsh)",
		strings.Join(missing, ", "))
	if e2eRequired() {
		t.Fatal(msg + "; JMS_E2E is set, so this is a failure")
	}
	t.Skip(msg + "; set JMS_E2E=1 to make this a failure")
}

// toolPath returns where a tool named as in requireBinaries is.
func toolPath(name string) (string, error) {
	if p, ok := toolPaths[name]; ok {
		name = p
	}
	if strings.Contains(name, "/") {
		fi, err := os.Stat(name)
		if err != nil {
			return "", err
		}
		if fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
			return "", fmt.Errorf("%s is not an executable file", name)
		}
		return name, nil
	}
	return exec.LookPath(name)
}

// isRoot reports whether the tests run as root (as in CI): only then can the sshd asset log in
// the dedicated account jmse2e, and by password.
func isRoot() bool { return os.Geteuid() == 0 }

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("finding a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// waitForTCP waits until addr accepts a TCP connection and sends an SSH identification
// line ("SSH-2.0-…"), which it returns. exited, when not nil, is closed when the server
// process is gone, so that a server that dies at start fails fast.
func waitForSSHBanner(addr string, timeout time.Duration, exited <-chan struct{}) (string, error) {
	deadline := time.Now().Add(timeout)
	var lastErr error
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return "", errors.New("the server exited before it accepted connections")
		default:
		}
		banner, err := readSSHBanner(addr)
		if err == nil {
			return banner, nil
		}
		lastErr = err
		time.Sleep(50 * time.Millisecond)
	}
	return "", fmt.Errorf("%s did not answer with an SSH banner within %v: %w", addr, timeout, lastErr)
}

func readSSHBanner(addr string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 0, 256)
	one := make([]byte, 1)
	for len(buf) < 255 {
		if _, err := c.Read(one); err != nil {
			return "", fmt.Errorf("reading the banner: %w", err)
		}
		if one[0] == '\n' {
			line := strings.TrimRight(string(buf), "\r")
			if strings.HasPrefix(line, "SSH-") {
				return line, nil
			}
			buf = buf[:0] // RFC 4253 allows other lines before the banner
			continue
		}
		buf = append(buf, one[0])
	}
	return "", errors.New("no SSH banner in the first 255 bytes")
}

// randomToken returns n random bytes as hex.
func randomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return hex.EncodeToString(b)
}

// syncBuffer is a bytes.Buffer safe for a subprocess writing while the test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitUntil polls cond every 20 ms until it is true or timeout passes.
func waitUntil(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// requireRoot skips a test that needs root, or fails it when JMS_E2E is
// set: in CI nothing may skip.
func requireRoot(t testing.TB, why string) {
	t.Helper()
	if isRoot() {
		return
	}
	if e2eRequired() {
		t.Fatal(why + " (JMS_E2E is set)")
	}
	t.Skip(why)
}
