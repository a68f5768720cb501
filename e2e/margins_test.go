package e2e

import (
	"regexp"
	"testing"
	"time"
)

// TestBadScrollMarginsDoNotKillTheBastion: scroll margins below the
// screen followed by a scroll, printed in any shell session, panicked the
// terminal emulator of the command filter in the goroutine that pumps the
// asset's output, taking `jmsctl serve` and every session down with it.
func TestBadScrollMarginsDoNotKillTheBastion(t *testing.T) {
	t.Parallel()
	e := newServerEnv(t)
	dumpOnFailure(t, e.b)
	alice := termSSH(t, e.keyLogin("alice@web1"), TermOptions{})
	alice.waitForScreen(regexp.MustCompile(`\$ ?$`), 15*time.Second)
	alice.Line("true")
	alice.Line(`printf 'a\n\033[1;200r\033[Mb\n\033[1;200r\033[5S'; echo margins-$((40+2))`)
	alice.waitForScreen(regexp.MustCompile(`(?m)^margins-42`), 10*time.Second)
	alice.Line("echo still-$((1+1))")
	alice.waitForScreen(regexp.MustCompile(`(?m)^still-2`), 10*time.Second)
	alice.Line("exit")
	if code := alice.Wait(10 * time.Second); code != 0 {
		t.Fatalf("alice's session: exit status %d", code)
	}
	// The bastion still serves.
	again := termSSH(t, e.keyLogin("alice@web1"), TermOptions{})
	again.waitForScreen(regexp.MustCompile(`\$ ?$`), 15*time.Second)
	again.Line("exit")
	again.Wait(10 * time.Second)
}
