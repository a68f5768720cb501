package e2e

import (
	"regexp"
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
