package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestAuditorMenuRefreshesOnItsOwn is issue 11's auditor menu through the
// real OpenSSH client: ? shows the help; a session that starts or ends
// while the auditor looks appears, with its STATUS, without a key; and
// the player says that it cuts the idle time of the replayed session.
func TestAuditorMenuRefreshesOnItsOwn(t *testing.T) {
	t.Parallel()
	e := newServerEnv(t)
	dumpOnFailure(t, e.b)
	audKey := ClientKey(t)
	e.b.MustRun(t, "", "user", "add", "carol", "--role", "auditor", "--key", audKey.PubPath)
	l := e.b.Login("carol")
	l.KeyFile = audKey.Path
	aud := termSSH(t, l, TermOptions{Width: 100, Height: 30})
	aud.waitForScreen(regexp.MustCompile(`carol \(auditor\) · 0 live · 0 recent`), 15*time.Second)
	aud.waitForScreen(regexp.MustCompile(`LENGTH +STATUS`), 5*time.Second)

	aud.Type("?")
	aud.waitForScreen(regexp.MustCompile(`refresh on their own every 2 s`), 5*time.Second)
	aud.Type("x") // any key goes back
	aud.waitForScreen(regexp.MustCompile(`Live sessions \(0\)`), 5*time.Second)

	// Alice logs in: her session shows up with no key pressed.
	alice := termSSH(t, e.keyLogin("alice@web1"), TermOptions{})
	alice.waitForScreen(regexp.MustCompile(`\$ ?$`), 15*time.Second)
	aud.waitForScreen(regexp.MustCompile(`carol \(auditor\) · 1 live · 0 recent`), 10*time.Second)
	aud.waitForScreen(regexp.MustCompile(`alice +web1 +\S+ +\d{4}-\d\d-\d\d \d\d:\d\d +\S+ +active`), 5*time.Second)

	// A pause longer than the player's 2 s idle limit, then she leaves:
	// the menu moves her session to the recent ones by itself.
	alice.Line("echo before-idle; sleep 4; echo after-$((6*7))")
	alice.waitForScreen(regexp.MustCompile(`(?m)^after-42`), 15*time.Second)
	alice.Line("exit")
	aud.waitForScreen(regexp.MustCompile(`carol \(auditor\) · 0 live · 1 recent`), 10*time.Second)
	aud.waitForScreen(regexp.MustCompile(`alice +web1 +\S+ +\d{4}-\d\d-\d\d \d\d:\d\d +\S+ +closed`), 5*time.Second)

	aud.Keys("Enter") // replay it
	aud.waitForScreen(regexp.MustCompile(`idle >2s cut|skipping \S+ idle`), 10*time.Second)
	aud.waitForScreen(regexp.MustCompile(`(?m)^after-42`), 15*time.Second)
	aud.Type("q")
	aud.waitForScreen(regexp.MustCompile(`carol \(auditor\)`), 5*time.Second)
	aud.Type("q")
	if code := aud.Wait(10 * time.Second); code != 0 {
		t.Fatalf("auditor quit: %d", code)
	}
}

// TestReplayAtInATerminal: jmsctl replay --at in a real terminal starts
// the player at that moment with the wall-clock time in its status line,
// and ← goes back before it (the player used to start from a copy of the
// recording with everything before --at squashed into the first frame).
func TestReplayAtInATerminal(t *testing.T) {
	t.Parallel()
	bin := buildJmsctl(t)
	cast := filepath.Join(t.TempDir(), "s.cast")
	// 1700000000 is 2023-11-14 22:13:20 UTC; a minute of idle before "later".
	rec := `{"version": 2, "width": 60, "height": 10, "timestamp": 1700000000}
[0.5, "o", "$ echo early\r\nearly\r\n$ "]
[70.0, "o", "echo later\r\nlater\r\n$ "]
`
	if err := os.WriteFile(cast, []byte(rec), 0o600); err != nil {
		t.Fatal(err)
	}
	term := startTerminal(t, TermOptions{Width: 80, Height: 14, Env: []string{"TZ=UTC"}},
		bin, "replay", cast, "--at", "1:10", "--data-dir", t.TempDir())
	term.waitForScreen(regexp.MustCompile(`(?m)^later`), 10*time.Second)
	term.waitForScreen(regexp.MustCompile(`1:10 / 1:10 22:14:30`), 5*time.Second)
	term.Keys("Left", "Space") // back 5 s, and pause there
	term.waitForScreen(regexp.MustCompile(`paused +1:0[5-9] / 1:10 22:14:2[5-9]`), 5*time.Second)
	if strings.Contains(term.Screen(), "\nlater") {
		t.Fatalf("← after --at still shows the screen at --at:\n%s", term.Screen())
	}
	term.Keys("Home")
	term.waitForScreen(regexp.MustCompile(`paused +0:00 / 1:10 22:13:20`), 5*time.Second)
	term.Type("q")
	if code := term.Wait(10 * time.Second); code != 0 {
		t.Fatalf("replay: exit status %d\n%s", code, term.Screen())
	}
}
