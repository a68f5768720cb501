package e2e

// A forwarded port is a session: with the real OpenSSH client (`ssh -W` through the bastion
// to a loopback echo listener) it shows in `jmsctl session list --active` with its kind and
// target, `jmsctl session kill`, `user disable` and `grant rm` end it within a few seconds,
// idle_timeout and max_session_duration end it, and its row keeps the bytes each way.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// forwardRun is one `ssh -W web1:PORT` through the bastion, its stdin and stdout the tunnel.
type forwardRun struct {
	stdin  io.WriteCloser
	stdout *bufio.Reader
	stderr *syncBuffer
	done   chan error
}

// startForward opens `ssh -W web1:port` as alice; the test's end closes it.
func startForward(t *testing.T, e *transferEnv, port int) *forwardRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	args := append(e.clientOptions(), "-W", "web1:"+strconv.Itoa(port), "-p", strconv.Itoa(e.b.Port), "-l", "alice", "127.0.0.1")
	cmd := exec.CommandContext(ctx, "ssh", args...)
	cmd.Env = sshEnv(Login{})
	cmd.WaitDelay = 5 * time.Second
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	f := &forwardRun{stdin: stdin, stdout: bufio.NewReader(stdout), stderr: &syncBuffer{}, done: make(chan error, 1)}
	cmd.Stderr = f.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { f.done <- cmd.Wait() }()
	t.Cleanup(func() { stdin.Close(); cancel(); <-f.done })
	return f
}

// echo sends a line through the tunnel and reads it back.
func (f *forwardRun) echo(t *testing.T, line string) {
	t.Helper()
	if _, err := io.WriteString(f.stdin, line+"\n"); err != nil {
		t.Fatalf("write to the tunnel: %v; stderr: %s", err, f.stderr.String())
	}
	got := make(chan string, 1)
	go func() { s, _ := f.stdout.ReadString('\n'); got <- s }()
	select {
	case s := <-got:
		if s != line+"\n" {
			t.Fatalf("echo through the tunnel: %q; stderr: %s", s, f.stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("no echo through the tunnel; stderr: %s", f.stderr.String())
	}
}

// ended waits for ssh to exit, within limit.
func (f *forwardRun) ended(t *testing.T, limit time.Duration, what string) {
	t.Helper()
	select {
	case <-f.done:
		f.done <- nil // for the cleanup
	case <-time.After(limit):
		t.Fatalf("%s: ssh -W still runs %s later; stderr: %s", what, limit, f.stderr.String())
	}
}

// activeForward waits for alice's one active forward session and returns its row.
func activeForward(t *testing.T, e *transferEnv) map[string]any {
	t.Helper()
	return findForward(t, e, "--active")
}

// findForward returns the first forward session that `session list` shows with
// the given flags: with none, ended ones too (for a session that an idle
// timeout may end before the test looks).
func findForward(t *testing.T, e *transferEnv, flags ...string) map[string]any {
	t.Helper()
	var row map[string]any
	if !waitUntil(15*time.Second, func() bool {
		out, _, err := e.b.Run(t, append([]string{"session", "list", "-o", "json"}, flags...)...)
		if err != nil {
			return false
		}
		var rows []map[string]any
		if json.Unmarshal([]byte(out), &rows) != nil {
			return false
		}
		for _, r := range rows {
			if r["kind"] == "forward" {
				row = r
				return true
			}
		}
		return false
	}) {
		out, _, _ := e.b.Run(t, "session", "list", "-o", "json")
		t.Fatalf("no active forward session:\n%s", out)
	}
	return row
}

// sessionRow returns a session's row once it is no longer active.
func sessionRow(t *testing.T, e *transferEnv, id string) map[string]any {
	t.Helper()
	var row map[string]any
	if !waitUntil(10*time.Second, func() bool {
		out, _, err := e.b.Run(t, "session", "show", id, "-o", "json")
		row = nil
		return err == nil && json.Unmarshal([]byte(out), &row) == nil && row["status"] != "active"
	}) {
		t.Fatalf("session %s is still active: %v", id, row)
	}
	return row
}

func newForwardEnv(t *testing.T, config string) (*transferEnv, int) {
	t.Helper()
	requireBinaries(t, "ssh", "sftp", "scp")
	s := startSSHD(t)
	b := startBastion(t, BastionOptions{Config: config})
	e := &transferEnv{b: b, s: s, key: ClientKey(t), acct: s.User}
	b.MustRun(t, "", "user", "add", "alice", "--key", e.key.Path+".pub")
	b.MustRun(t, "", "asset", "add", "web1", "--address", "127.0.0.1", "--port", strconv.Itoa(s.Port))
	b.MustRun(t, "", "account", "add", "web1", s.User, "--key", s.KeyFile)
	echo := echoListener(t)
	b.MustRun(t, "", "grant", "add", "tunnel", "--user", "alice", "--asset", "web1", "--actions", "forward", "--ports", strconv.Itoa(echo))
	return e, echo
}

// TestForwardIsASession: listed with kind and target, killed, ended by user disable and
// grant rm, with its bytes each way on the row.
func TestForwardIsASession(t *testing.T) {
	t.Parallel()
	e, echo := newForwardEnv(t, "")
	target := "web1:" + strconv.Itoa(echo)

	f := startForward(t, e, echo)
	f.echo(t, "through the tunnel") // 19 bytes each way
	row := activeForward(t, e)
	if row["target"] != target || row["user"] != "alice" || row["asset"] != "web1" {
		t.Fatalf("active forward row %v; want target %s", row, target)
	}
	table := e.b.MustRun(t, "", "session", "list", "--active")
	if !strings.Contains(table, "forward") || !strings.Contains(table, target) {
		t.Errorf("session list --active does not show the forward and its target:\n%s", table)
	}
	id := row["id"].(string)
	e.b.MustRun(t, "", "session", "kill", id, "--reason", "maintenance")
	f.ended(t, 10*time.Second, "session kill")
	row = sessionRow(t, e, id)
	if row["status"] != "killed" || !strings.Contains(row["end_reason"].(string), "maintenance") ||
		row["bytes_in"] != float64(19) || row["bytes_out"] != float64(19) {
		t.Errorf("killed forward row %v", row)
	}

	f = startForward(t, e, echo)
	f.echo(t, "again")
	id = activeForward(t, e)["id"].(string)
	e.b.MustRun(t, "", "user", "disable", "alice")
	f.ended(t, 10*time.Second, "user disable")
	if row = sessionRow(t, e, id); row["status"] != "killed" || !strings.Contains(row["end_reason"].(string), "disabled") {
		t.Errorf("forward row after user disable %v", row)
	}
	e.b.MustRun(t, "", "user", "enable", "alice")

	f = startForward(t, e, echo)
	f.echo(t, "once more")
	id = activeForward(t, e)["id"].(string)
	e.b.MustRun(t, "", "grant", "rm", "tunnel")
	f.ended(t, 10*time.Second, "grant rm")
	if row = sessionRow(t, e, id); row["status"] != "killed" || !strings.Contains(row["end_reason"].(string), "revoked") {
		t.Errorf("forward row after grant rm %v", row)
	}
}

// TestForwardLimits: idle_timeout ends a forward that carries nothing, max_session_duration
// one that keeps busy.
func TestForwardLimits(t *testing.T) {
	t.Parallel()
	e, echo := newForwardEnv(t, "idle_timeout: 3s\nmax_session_duration: 8s\n")

	f := startForward(t, e, echo)
	f.echo(t, "then nothing")
	id := findForward(t, e)["id"].(string) // the only forward so far, maybe ended already
	f.ended(t, 10*time.Second, "idle_timeout 3s")
	if row := sessionRow(t, e, id); !strings.Contains(row["end_reason"].(string), "idle timeout") {
		t.Errorf("idle forward row %v", row)
	}

	f = startForward(t, e, echo)
	start := time.Now()
	stop := make(chan struct{})
	defer close(stop)
	// Busy from the start, a byte every 300 ms, never idle: the writer
	// starts before the row is looked up, which can take seconds under load.
	go func() {
		for {
			if _, err := io.WriteString(f.stdin, "."); err != nil {
				return
			}
			select {
			case <-stop:
				return
			case <-time.After(300 * time.Millisecond):
			}
		}
	}()
	id = activeForward(t, e)["id"].(string)
	f.ended(t, 20*time.Second, "max_session_duration 8s")
	if d := time.Since(start); d < 6*time.Second {
		t.Errorf("the busy forward ended after %s, before its maximum duration", d)
	}
	if row := sessionRow(t, e, id); !strings.Contains(row["end_reason"].(string), "maximum session duration") {
		t.Errorf("long forward row %v", row)
	}
}

// TestForwardLocalKilled: the same through `ssh -L`: the forwarded connection shows with its
// target and `jmsctl session kill` closes it on the person's side.
func TestForwardLocalKilled(t *testing.T) {
	t.Parallel()
	e, echo := newForwardEnv(t, "")
	lport := freePort(t)
	l := Login{Port: e.b.Port, User: "alice", KeyFile: e.key.Path,
		Options: []string{"-N", "-o", "ExitOnForwardFailure=yes", "-L", fmt.Sprintf("127.0.0.1:%d:web1:%d", lport, echo)}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := l.Command(ctx)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); cmd.Wait() }()
	var conn net.Conn
	waitUntil(10*time.Second, func() bool {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", lport))
		conn = c
		return err == nil
	})
	if conn == nil {
		t.Fatal("ssh -L did not listen")
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	buf := make([]byte, 4)
	if _, err := conn.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(conn, buf); err != nil {
		t.Fatalf("echo through -L: %v", err)
	}
	row := activeForward(t, e)
	if row["target"] != "web1:"+strconv.Itoa(echo) {
		t.Fatalf("active -L forward row %v", row)
	}
	e.b.MustRun(t, "", "session", "kill", row["id"].(string))
	if n, err := conn.Read(buf); err == nil {
		t.Fatalf("the -L connection still carries bytes after the kill (%d bytes)", n)
	}
	if row = sessionRow(t, e, row["id"].(string)); row["status"] != "killed" || row["bytes_in"] != float64(4) {
		t.Errorf("killed -L forward row %v", row)
	}
}
