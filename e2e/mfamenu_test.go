package e2e

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestMenuEnableMFA: alice, without MFA, presses M in the menu of a real
// OpenSSH client in an 80×24 terminal, scans (reads) the secret, types a
// code, sees her recovery codes until Enter; her next login asks for a
// code, and a code of the secret she enrolled logs her in.
func TestMenuEnableMFA(t *testing.T) {
	t.Parallel()
	e := newServerEnv(t)
	dumpOnFailure(t, e.b)
	term := termSSH(t, e.keyLogin("alice"), TermOptions{})
	term.waitForScreen(regexp.MustCompile(`alice \(user\) · \d+ assets?`), 15*time.Second)
	term.Type("M")
	scr := term.waitForScreen(regexp.MustCompile(`(?s)Scan this code.*Code:.*enter verify`), 5*time.Second)
	secret := regexp.MustCompile(`\b[A-Z2-7]{32}\b`).FindString(scr)
	if secret == "" || !strings.ContainsAny(scr, "▀▄█") {
		t.Fatalf("no secret or no QR code in 80×24:\n%s", scr)
	}
	term.Type("000000")
	term.Keys("Enter")
	// A wrong code (or, once in a million, a right one): told, or enrolled.
	scr = term.waitForScreen(regexp.MustCompile(`not right|Press Enter once`), 10*time.Second)
	if strings.Contains(scr, "not right") {
		term.Type(code(t, secret, 0)(""))
		term.Keys("Enter")
	}
	scr = term.waitForScreen(regexp.MustCompile(`Press Enter once you have saved them`), 10*time.Second)
	if n := len(regexp.MustCompile(`\b[a-z0-9]{5}-[a-z0-9]{5}\b`).FindAllString(scr, -1)); n != 10 {
		t.Fatalf("%d recovery codes on the screen:\n%s", n, scr)
	}
	term.Type("q")
	time.Sleep(300 * time.Millisecond)
	if !strings.Contains(term.Screen(), "Press Enter once") {
		t.Fatalf("q left the recovery codes:\n%s", term.Screen())
	}
	term.Keys("Enter")
	term.waitForScreen(regexp.MustCompile(`MFA is on: your next logins ask for a code\.`), 5*time.Second)
	term.Type("M")
	term.waitForScreen(regexp.MustCompile(`Recovery codes left: 10`), 5*time.Second)
	term.Keys("Escape")
	term.waitForScreen(regexp.MustCompile(`type to filter`), 5*time.Second)
	term.Type("q")
	if code := term.Wait(10 * time.Second); code != 0 {
		t.Fatalf("quit: exit status %d", code)
	}

	// The next login asks for a code of the enrolled secret (the next
	// step's: the enrolment spent this one).
	out, rc := expectSSH(t, e.keyLogin("alice"), []Step{{"OTP code:", code(t, secret, 30*time.Second)}}, "web1", "echo mfa-menu-ok")
	if rc != 0 || !strings.Contains(out, "mfa-menu-ok") {
		t.Fatalf("a login with a code after the enrolment: exit %d\n%s", rc, out)
	}
	ops := e.b.MustRun(t, "", "--all-orgs", "audit", "operations", "--user", "alice") // her own changes over SSH are across orgs
	if !strings.Contains(ops, "ssh:alice") || !strings.Contains(ops, "user.mfa.enable") || strings.Contains(ops, secret) {
		t.Fatalf("the enrolment is not audited as ssh:alice (or shows the secret):\n%s", ops)
	}
}
