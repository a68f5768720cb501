package e2e

// Draining with the real OpenSSH client: after SIGTERM a session goes
// on, is warned, new logins are refused; the session ends by itself (the
// server then exits) or at a second SIGTERM, its row closed (not
// interrupted) and its recording valid.

import (
	"context"
	"net"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// requireRefused fails unless a new TCP connection to the bastion is
// refused, or closed without an SSH banner.
func requireRefused(t *testing.T, b *Bastion) {
	t.Helper()
	if banner, err := readSSHBanner(b.Addr); err == nil {
		t.Fatalf("a draining server answered a new connection: %q", banner)
	}
}

// TestDrainSessionEndsByItself: SIGTERM; the shell goes on and is warned,
// a new login is refused; when the person exits, the server exits by
// itself and the row is closed with its exit status.
func TestDrainSessionEndsByItself(t *testing.T) {
	t.Parallel()
	e := newServerEnv(t)
	term := termSSH(t, e.keyLogin("alice@web1"), TermOptions{Width: 200})
	term.waitForScreen(regexp.MustCompile(`\$ ?$`), 15*time.Second)
	id := activeSession(t, e.b)

	e.b.Signal(syscall.SIGTERM)
	term.waitForScreen(regexp.MustCompile(`jms: this server is shutting down: your session on web1 ends within 60 minutes`), 15*time.Second)
	requireRefused(t, e.b)
	if r := runSSH(t, e.keyLogin("alice"), nil, "web1", "echo new"); r.ExitCode != 255 {
		t.Fatalf("a new login on a draining server: %+v", r)
	}
	term.Line("echo still-$((6*7))")
	term.waitForScreen(regexp.MustCompile(`(?m)^still-42`), 10*time.Second)
	term.Line("exit")
	if st := term.Wait(15 * time.Second); st != 0 {
		t.Fatalf("ssh exit status %d", st)
	}
	e.b.WaitExit(30 * time.Second)
	row := sessionJSON(t, e.b, id)
	if row["status"] != "closed" || !strings.Contains(toString(row["end_reason"]), "exited with status 0") {
		t.Fatalf("the drained session's row: %v", row)
	}
	if cat := e.b.MustRun(t, "", "replay", id, "--cat"); !strings.Contains(cat, "still-42") {
		t.Fatalf("the recording lost what was typed while draining:\n%s", cat)
	}
	if !strings.Contains(e.b.Log(), `msg=drained`) {
		t.Errorf("no drained line in the log:\n%s", e.b.Log())
	}
}

// TestDrainSecondSignal: a command that runs longer than anyone waits is
// warned on stderr (its stdout is data) and ended by the second SIGTERM:
// its row closed by the bastion, not interrupted, its recording valid.
func TestDrainSecondSignal(t *testing.T) {
	t.Parallel()
	e := newServerEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := e.keyLogin("alice").Command(ctx, "web1", "echo started; sleep 120; echo survived")
	var out, errOut syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if !waitUntil(15*time.Second, func() bool { return strings.Contains(out.String(), "started") }) {
		t.Fatalf("the command did not start: %q %q", out.String(), errOut.String())
	}
	id := activeSession(t, e.b)
	e.b.Signal(syscall.SIGTERM)
	if !waitUntil(15*time.Second, func() bool { return strings.Contains(errOut.String(), "this server is shutting down") }) {
		t.Fatalf("no warning on stderr: %q", errOut.String())
	}
	if strings.Contains(out.String(), "shutting down") {
		t.Errorf("the warning went into the command's stdout: %q", out.String())
	}
	requireRefused(t, e.b)
	e.b.Signal(syscall.SIGTERM)
	_ = cmd.Wait()
	e.b.WaitExit(45 * time.Second)
	if strings.Contains(out.String(), "survived") {
		t.Fatalf("the command outlived the second signal: %q", out.String())
	}
	row := sessionJSON(t, e.b, id)
	if row["status"] != "closed" || !strings.Contains(toString(row["end_reason"]), "the server shut down") {
		t.Fatalf("the session ended by the drain: %v", row)
	}
	if cat := e.b.MustRun(t, "", "replay", id, "--cat"); !strings.Contains(cat, "started") {
		t.Fatalf("the recording:\n%s", cat)
	}
	if _, err := net.DialTimeout("tcp", e.b.Addr, time.Second); err == nil {
		t.Errorf("the server still listens after the drain")
	}
}

// TestDrainTimeout: a session still running when drain_timeout is over
// is ended by the bastion (row closed, recording valid) and the server
// exits by itself.
func TestDrainTimeout(t *testing.T) {
	t.Parallel()
	b, login := newKeyEnv(t, "drain_timeout: 3s\n")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := login.Command(ctx, "web1", "echo started; sleep 120; echo survived")
	var out, errOut syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if !waitUntil(15*time.Second, func() bool { return strings.Contains(out.String(), "started") }) {
		t.Fatalf("the command did not start: %q %q", out.String(), errOut.String())
	}
	id := activeSession(t, b)
	b.Signal(syscall.SIGTERM)
	b.WaitExit(60 * time.Second)
	_ = cmd.Wait()
	warned := regexp.MustCompile(`jms: this server is shutting down: your session on web1 ends within [0-3] seconds`)
	if !warned.MatchString(errOut.String()) || strings.Contains(out.String(), "survived") {
		t.Fatalf("stdout %q, stderr %q", out.String(), errOut.String())
	}
	row := sessionJSON(t, b, id)
	if row["status"] != "closed" || !strings.Contains(toString(row["end_reason"]), "the server shut down") {
		t.Fatalf("the session ended by the drain: %v", row)
	}
	if cat := b.MustRun(t, "", "replay", id, "--cat"); !strings.Contains(cat, "started") {
		t.Fatalf("the recording:\n%s", cat)
	}
}
