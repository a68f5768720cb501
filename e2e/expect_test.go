package e2e

import (
	"context"
	"errors"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
)

// Step is one prompt of an interactive login and what to type at it. Answer runs when the
// prompt shows, so a TOTP code is computed at the last moment; it sees everything printed so
// far (the QR code and secret of an enrolment, say).
type Step struct {
	Prompt string
	Answer func(screen string) string
}

// Type answers a prompt with fixed text.
func Type(prompt, text string) Step {
	return Step{Prompt: prompt, Answer: func(string) string { return text }}
}

// expectSSH runs the OpenSSH client as l in a pseudo-terminal (ssh reads passwords and
// keyboard-interactive answers from its tty), answers the prompts of steps in order, and
// returns all it printed and its exit status. l.Password is not used: give a "password:"
// step. A prompt that never shows fails the test.
func expectSSH(t testing.TB, l Login, steps []Step, remote ...string) (string, int) {
	t.Helper()
	requireBinaries(t, "ssh")
	host := "127.0.0.1"
	args := append([]string{}, l.Options...)
	args = append(args, sshBaseOptions...)
	args = append(args, "-o", "BatchMode=no", "-o", "NumberOfPasswordPrompts=1")
	if l.KeyFile != "" {
		args = append(args, "-o", "PreferredAuthentications=publickey,keyboard-interactive",
			"-o", "IdentitiesOnly=yes", "-i", l.KeyFile)
	} else {
		args = append(args, "-o", "PreferredAuthentications=password,keyboard-interactive", "-o", "PubkeyAuthentication=no")
	}
	args = append(args, "-p", strconv.Itoa(l.Port), "-l", l.User, host)
	if len(remote) > 0 {
		args = append(args, "--")
		args = append(args, remote...)
	}
	return expectCommand(t, "ssh", args, steps)
}

// expectCommand runs name (ssh, or scp, sftp… that run ssh) with args in a pseudo-terminal,
// answers the prompts of steps in order, and returns all it printed and its exit status.
func expectCommand(t testing.TB, name string, args []string, steps []Step) (string, int) {
	t.Helper()
	requireBinaries(t, name)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	// A UTF-8 locale: ssh shows banners' UTF-8 (the enrolment QR code) only then.
	cmd.Env = append(sshEnv(Login{}), "LC_ALL=C.UTF-8")
	cmd.WaitDelay = 5 * time.Second
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 60, Cols: 120})
	if err != nil {
		t.Fatalf("starting ssh in a pty: %v", err)
	}
	defer tty.Close()
	out := &syncBuffer{}
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		_, _ = io.Copy(out, tty) // ends with EIO when ssh exits
	}()
	from := 0
	for _, st := range steps {
		ok := waitUntil(30*time.Second, func() bool {
			return strings.Contains(out.String()[from:], st.Prompt)
		})
		if !ok {
			_ = cmd.Process.Kill()
			t.Fatalf("%s %s: no prompt %q; output so far:\n%s", name, strings.Join(args, " "), st.Prompt, out.String())
		}
		screen := out.String()
		from = strings.Index(screen[from:], st.Prompt) + from + len(st.Prompt)
		if _, err := io.WriteString(tty, st.Answer(screen)+"\r"); err != nil {
			t.Fatalf("typing at %q: %v", st.Prompt, err)
		}
	}
	err = cmd.Wait()
	tty.Close()
	select {
	case <-copied:
	case <-time.After(5 * time.Second):
	}
	if ctx.Err() != nil {
		t.Fatalf("%s did not finish; output:\n%s", name, out.String())
	}
	code := 0
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatalf("%s: %v", name, err)
	}
	return out.String(), code
}
