package e2e

// Hostile bytes on admins' terminals: a login name and commands holding escape sequences
// reach the audit through the real server, and no jmsctl listing prints them raw.

import (
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/ssh"
)

// rawControl returns the first control character (C0 but \n, DEL, C1) or invalid byte in s,
// or "" when there is none.
func rawControl(s string) string {
	for i, r := range s {
		switch {
		case r == utf8.RuneError:
			return s[i : i+1]
		case r == '\n':
		case r < 0x20, r >= 0x7f && r <= 0x9f:
			return string(r)
		}
	}
	return ""
}

func TestListingsEscapeHostileLogins(t *testing.T) {
	t.Parallel()
	e := newServerEnv(t)
	dumpOnFailure(t, e.b)

	// Anyone can send a login name: OpenSSH refuses to, an attacker's client does not.
	const evil = "evil\x1b]0;owned\x07\x1b[2J\u009b6n"
	cfg := &ssh.ClientConfig{User: evil, Auth: []ssh.AuthMethod{ssh.Password("guess")},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second}
	if c, err := ssh.Dial("tcp", e.b.Addr, cfg); err == nil {
		c.Close()
		t.Fatal("a made-up user logged in")
	}
	// A person's exec command with escapes in it, through the real client.
	res := runSSH(t, e.keyLogin("alice"), nil, "web1", "true '\x1b]52;c;cHduZWQ=\x07' 你好")
	if res.ExitCode != 0 {
		t.Fatalf("exec: %+v", res)
	}

	for _, args := range [][]string{
		{"audit", "logins"}, {"audit", "logins", "-o", "csv"}, {"audit", "logins", "-o", "yaml"}, {"audit", "logins", "-o", "json"},
		{"audit", "commands"}, {"audit", "commands", "-o", "csv"},
		{"session", "list"}, {"session", "list", "-o", "csv"},
	} {
		out := e.b.MustRun(t, "", args...)
		if c := rawControl(out); c != "" {
			t.Errorf("jmsctl %s prints a raw %q:\n%q", strings.Join(args, " "), c, out)
		}
	}
	if out := e.b.MustRun(t, "", "audit", "logins"); !strings.Contains(out, `evil\x1b]0;owned\x07\x1b[2J\u009b6n`) {
		t.Errorf("audit logins does not show the name written out:\n%s", out)
	}
	out := e.b.MustRun(t, "", "audit", "commands", "-o", "csv")
	if !strings.Contains(out, `\x1b]52;c;cHduZWQ=\x07`) || !strings.Contains(out, "你好") {
		t.Errorf("audit commands does not show the command written out, Chinese kept:\n%s", out)
	}
	id := strings.Fields(strings.Split(strings.TrimSpace(e.b.MustRun(t, "", "session", "list")), "\n")[1])[0]
	if show := e.b.MustRun(t, "", "session", "show", id); rawControl(show) != "" || !strings.Contains(show, `\x1b]52;c;`) {
		t.Errorf("session show:\n%q", show)
	}
}

// TestSessionWatchInATerminal watches alice's session from a real terminal (tmux) while her
// asset writes queries the terminal would answer (device attributes, cursor position) and a
// new title, and the auditor types: nothing is answered or left in the auditor's input, the
// title is hers, q stops watching and the terminal is back in cooked mode.
func TestSessionWatchInATerminal(t *testing.T) {
	t.Parallel()
	e := newServerEnv(t)
	dumpOnFailure(t, e.b)
	alice := termSSH(t, e.keyLogin("alice@web1"), TermOptions{})
	alice.waitForScreen(regexp.MustCompile(`\$ ?$`), 15*time.Second)
	id := activeSession(t, e.b)

	// After watch, the shell says whether the terminal is cooked again, then cat -v shows
	// whatever was left in the terminal's input: typed keys, or a terminal's answers.
	const script = `"$0" --data-dir "$1" session watch "$2"; stty -a | tr ' ;' '\n\n' | grep -x -- '-\{0,1\}icanon'; echo WATCH-DONE; exec cat -v`
	aud := startTerminal(t, TermOptions{Width: 100, Height: 30}, "sh", "-c", script, e.b.Bin, e.b.DataDir, id)
	aud.waitForScreen(regexp.MustCompile(`watching alice@web1 as \S+, session \S+ started`), 10*time.Second)
	title := strings.TrimSpace(aud.must("display-message", "-p", "-t", aud.target, "#{pane_title}"))

	// Her own terminal answers too: read swallows its answers so that her shell does not run them.
	alice.Line(`printf '\033[c\033[>c\033[6n\033]2;pwned\007\033]11;?\007'; read -rs -t 1 -d '' x; echo hostile-$((40+2))`)
	aud.waitForScreen(regexp.MustCompile(`hostile-42`), 10*time.Second)
	aud.Type("echo typed-by-auditor")
	aud.Keys("Enter")
	alice.Line("echo still-$((6*7))")
	aud.waitForScreen(regexp.MustCompile(`still-42`), 10*time.Second)
	if s := aud.Screen(); strings.Contains(s, "typed-by-auditor") {
		t.Fatalf("the auditor's keys echo over the watched session:\n%s", s)
	}
	if got := strings.TrimSpace(aud.must("display-message", "-p", "-t", aud.target, "#{pane_title}")); got != title {
		t.Errorf("the watched session set the auditor's title to %q (was %q)", got, title)
	}

	aud.Type("q")
	screen := aud.waitForScreen(regexp.MustCompile(`WATCH-DONE`), 10*time.Second)
	if !regexp.MustCompile(`(?m)^icanon$`).MatchString(screen) {
		t.Errorf("the terminal is not cooked after watch:\n%s", screen)
	}
	aud.Keys("Enter") // hand cat -v whatever is pending
	time.Sleep(500 * time.Millisecond)
	after := aud.Screen()
	after = after[strings.Index(after, "WATCH-DONE"):]
	if strings.Contains(after, "typed-by-auditor") || strings.Contains(after, "^[") {
		t.Errorf("watch left input for the auditor's shell:\n%s", after)
	}
}
