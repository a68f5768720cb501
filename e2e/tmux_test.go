package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Terminal is a command running in a real terminal emulator: a tmux pane on a private tmux
// server, 80×24 unless resized. The pane stays after the command exits, so the last screen
// and the exit status can be read.
type Terminal struct {
	t      testing.TB
	socket string // tmux -L name
	target string // the pane
	status string // file the command's exit status is written to
}

var tmuxSeq atomic.Int64

// TermOptions tune startTerminal.
type TermOptions struct {
	Width, Height int    // default 80×24
	TERM          string // TERM for the command; default xterm-256color
	Env           []string
}

// startTerminal runs argv in a fresh tmux server and kills the server when the test ends.
// For an ssh session: startTerminal(t, TermOptions{}, sshArgs(login)...), with login.Password
// set the environment gets SSHPASS through termSSH.
func startTerminal(t testing.TB, o TermOptions, argv ...string) *Terminal {
	t.Helper()
	requireBinaries(t, "tmux")
	if o.Width == 0 {
		o.Width = 80
	}
	if o.Height == 0 {
		o.Height = 24
	}
	if o.TERM == "" {
		o.TERM = "xterm-256color"
	}
	term := &Terminal{
		t:      t,
		socket: fmt.Sprintf("jmse2e-%d-%d", os.Getpid(), tmuxSeq.Add(1)),
		target: "e2e:0.0",
	}
	conf := filepath.Join(t.TempDir(), "tmux.conf")
	// No status line (the pane is the whole window), no escape delay, keep dead panes.
	const tmuxConf = "set -g status off\nset -sg escape-time 0\nset -g remain-on-exit on\nset -g history-limit 5000\n"
	if err := os.WriteFile(conf, []byte(tmuxConf), 0o644); err != nil {
		t.Fatal(err)
	}
	// env sets TERM for the command itself: tmux would give it its own
	// default-terminal. A shell around it writes the exit status to a
	// file: tmux alone sometimes leaves a finished command as a zombie it
	// has not noticed (seen under load), and Wait would wait in vain.
	// The shell ignores SIGINT so that a ^C reaches the command only.
	term.status = filepath.Join(t.TempDir(), "exit-status")
	cmdline := []string{"sh", "-c", `f=$1; shift; trap "" INT; "$@"; echo $? > "$f.tmp" && mv "$f.tmp" "$f"`, "sh",
		term.status, "env", "TERM=" + o.TERM}
	cmdline = append(cmdline, o.Env...)
	cmdline = append(cmdline, argv...)
	args := append([]string{"-f", conf, "new-session", "-d", "-s", "e2e",
		"-x", strconv.Itoa(o.Width), "-y", strconv.Itoa(o.Height), "--"}, cmdline...)
	t.Cleanup(func() {
		if t.Failed() {
			if out, err := term.tmux("capture-pane", "-p", "-t", term.target); err == nil {
				t.Logf("last screen of %q:\n%s", strings.Join(argv, " "), out)
			}
		}
		// tmux leaves its socket behind: remove it too.
		sock, err := term.tmux("display-message", "-p", "#{socket_path}")
		_, _ = term.tmux("kill-server")
		if sock = strings.TrimSpace(sock); err == nil && strings.Contains(sock, term.socket) {
			os.Remove(sock)
		}
	})
	if out, err := term.tmux(args...); err != nil {
		t.Fatalf("tmux new-session: %v\n%s", err, out)
	}
	return term
}

// termSSH runs an interactive ssh as l in a new Terminal (l.TTY is implied by the terminal).
func termSSH(t testing.TB, l Login, o TermOptions, remote ...string) *Terminal {
	t.Helper()
	requireBinaries(t, "ssh")
	if l.Password != "" {
		requireBinaries(t, "sshpass")
		o.Env = append(o.Env, "SSHPASS="+l.Password)
	}
	return startTerminal(t, o, sshArgs(l, remote...)...)
}

func (term *Terminal) tmux(args ...string) (string, error) {
	cmd := exec.Command("tmux", append([]string{"-L", term.socket}, args...)...)
	cmd.Env = tmuxEnv()
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// tmuxEnv is the environment without the variables that tie tmux to an outer session.
func tmuxEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		switch name, _, _ := strings.Cut(kv, "="); name {
		case "TMUX", "TMUX_PANE", "SSH_AUTH_SOCK", "SSHPASS":
			continue
		}
		env = append(env, kv)
	}
	return env
}

func (term *Terminal) must(args ...string) string {
	term.t.Helper()
	out, err := term.tmux(args...)
	if err != nil {
		term.t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// Type sends text as typed, literally (no key names).
func (term *Terminal) Type(text string) {
	term.t.Helper()
	term.must("send-keys", "-t", term.target, "-l", "--", text)
}

// Keys sends tmux key names: "Enter", "C-c", "C-d", "Up", "Escape", "PageDown", "BSpace"…
func (term *Terminal) Keys(keys ...string) {
	term.t.Helper()
	term.must(append([]string{"send-keys", "-t", term.target}, keys...)...)
}

// Line types text and presses Enter.
func (term *Terminal) Line(text string) {
	term.t.Helper()
	term.Type(text)
	term.Keys("Enter")
}

// Screen returns the visible screen, one line per row, with trailing spaces and the empty rows
// at the bottom trimmed (so `\$ $` matches a prompt on the last non-empty row).
func (term *Terminal) Screen() string {
	term.t.Helper()
	return strings.TrimRight(term.must("capture-pane", "-p", "-t", term.target), " \n")
}

// Resize changes the window size; the program in it gets SIGWINCH.
func (term *Terminal) Resize(width, height int) {
	term.t.Helper()
	term.must("resize-window", "-t", "e2e", "-x", strconv.Itoa(width), "-y", strconv.Itoa(height))
}

// waitForScreen waits until the screen matches re and returns the screen; it fails the test
// with the last screen after timeout.
func (term *Terminal) waitForScreen(re *regexp.Regexp, timeout time.Duration) string {
	term.t.Helper()
	var screen string
	if waitUntil(timeout, func() bool { screen = term.Screen(); return re.MatchString(screen) }) {
		return screen
	}
	term.t.Fatalf("the screen did not match %q within %v; it shows:\n%s", re, timeout, screen)
	return ""
}

// Wait waits until the command in the terminal has exited and returns its exit status.
func (term *Terminal) Wait(timeout time.Duration) int {
	term.t.Helper()
	var dead, status string
	ok := waitUntil(timeout, func() bool {
		if b, err := os.ReadFile(term.status); err == nil {
			status = strings.TrimSpace(string(b))
			return true
		}
		out, err := term.tmux("display-message", "-p", "-t", term.target, "#{pane_dead} #{pane_dead_status}")
		if err != nil {
			return false
		}
		dead, status, _ = strings.Cut(strings.TrimSpace(out), " ")
		if dead == "1" {
			// The pane is the wrapper shell: its status is mv's, not the
			// command's. The file was written before the wrapper ended,
			// possibly just after the read above.
			if b, err := os.ReadFile(term.status); err == nil {
				status = strings.TrimSpace(string(b))
				return true
			}
		}
		// tmux marks the pane dead at EOF, and knows the status a moment later.
		return dead == "1" && status != ""
	})
	if !ok {
		term.t.Fatalf("the command in the terminal still runs after %v; the screen shows:\n%s", timeout, term.Screen())
	}
	code, err := strconv.Atoi(status)
	if err != nil {
		term.t.Fatalf("reading the exit status from tmux %q: %v", status, err)
	}
	return code
}
