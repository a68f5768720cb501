package e2e

// Hostile bytes on admins' terminals: a login name and commands holding escape sequences
// reach the audit through the real server, and no jmsctl listing prints them raw.

import (
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
