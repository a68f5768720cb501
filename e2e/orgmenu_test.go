package e2e

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestAssetsOfTwoOrgs is issue 16's bastion side through the real
// OpenSSH client and sshd: alice, a member of default and team-b, has a
// web1 in each. The bare name is refused with the org/asset choices;
// team-b/web1 (in the command or the login) reaches team-b's; the menu
// has an ORG column and o; dora, org-auditor of team-b, audits team-b's
// sessions only; leaving team-b ends alice's access to its assets.
func TestAssetsOfTwoOrgs(t *testing.T) {
	t.Parallel()
	e := newServerEnv(t)
	dumpOnFailure(t, e.b)
	b := e.b
	b.MustRun(t, "", "org", "add", "team-b")
	b.MustRun(t, "", "org", "members", "add", "team-b", "alice")
	b.MustRun(t, "", "--org", "team-b", "asset", "add", "web1", "--address", "127.0.0.1", "--port", strconv.Itoa(e.s.Port),
		"--comment", "team-b's web1")
	b.MustRun(t, "", "--org", "team-b", "account", "add", "web1", e.s.User, "--key", e.s.KeyFile)
	b.MustRun(t, "", "--org", "team-b", "grant", "add", "b-web1", "--user", "alice", "--asset", "web1", "--account", "@all")

	res := runSSH(t, e.keyLogin("alice"), nil, "web1", "echo hi")
	if res.ExitCode == 0 || !strings.Contains(res.Stderr, "web1 is in more than one of your organizations: name default/web1 or team-b/web1") {
		t.Fatalf("bare web1: %+v", res)
	}
	if res := runSSH(t, e.keyLogin("alice"), nil, "team-b/web1", "echo from-b"); res.Stdout != "from-b\n" || res.ExitCode != 0 {
		t.Fatalf("team-b/web1: %+v", res)
	}
	if res := runSSH(t, e.keyLogin("alice@"+e.s.User+"@team-b/web1"), nil, "echo login-b"); res.Stdout != "login-b\n" || res.ExitCode != 0 {
		t.Fatalf("alice@account@team-b/web1: %+v", res)
	}
	if res := runSSH(t, e.keyLogin("alice@default/web1"), nil, "echo from-default"); res.Stdout != "from-default\n" || res.ExitCode != 0 {
		t.Fatalf("alice@default/web1: %+v", res)
	}

	menu := termSSH(t, e.keyLogin("alice"), TermOptions{Width: 100, Height: 30})
	menu.waitForScreen(regexp.MustCompile(`ID +ORG +NAME`), 15*time.Second)
	menu.waitForScreen(regexp.MustCompile(`team-b +web1 +127\.0\.0\.1`), 5*time.Second)
	menu.waitForScreen(regexp.MustCompile(`o next org`), 5*time.Second)
	menu.Type("o")
	menu.waitForScreen(regexp.MustCompile(`org default 1/2`), 5*time.Second)
	menu.Type("q")
	if code := menu.Wait(10 * time.Second); code != 0 {
		t.Fatalf("menu quit: %d", code)
	}

	dKey := ClientKey(t)
	b.MustRun(t, "", "--org", "team-b", "user", "add", "dora", "--key", dKey.PubPath)
	b.MustRun(t, "", "org", "members", "add", "team-b", "dora", "--role", "org-auditor")
	dl := b.Login("dora")
	dl.KeyFile = dKey.Path
	aud := termSSH(t, dl, TermOptions{Width: 100, Height: 30})
	// Two sessions of team-b's web1; default's is not hers to see.
	aud.waitForScreen(regexp.MustCompile(`dora \(auditing team-b\) · 0 live · 2 recent`), 15*time.Second)
	aud.Type("q")
	if code := aud.Wait(10 * time.Second); code != 0 {
		t.Fatalf("auditor quit: %d", code)
	}

	b.MustRun(t, "", "org", "members", "rm", "team-b", "alice")
	res = runSSH(t, e.keyLogin("alice"), nil, "team-b/web1", "echo hi")
	if res.ExitCode == 0 || !strings.Contains(res.Stderr, `no asset "team-b/web1" for alice`) {
		t.Fatalf("team-b/web1 after leaving team-b: %+v", res)
	}
	if res := runSSH(t, e.keyLogin("alice"), nil, "web1", "echo only-default"); res.Stdout != "only-default\n" {
		t.Fatalf("web1 after leaving team-b: %+v", res)
	}
}
