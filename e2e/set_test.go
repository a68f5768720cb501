package e2e

import (
	"strings"
	"testing"
)

// TestSetLoginRuleAndDisable: acl set and acl disable/enable change who
// may log in, as the real OpenSSH client sees it (issue 11).
func TestSetLoginRuleAndDisable(t *testing.T) {
	t.Parallel()
	e := newServerEnv(t)
	kl := e.keyLogin("alice")
	kl.Options = []string{"-o", "LogLevel=INFO"} // show the banner that says why
	allowed := func(what string) {
		t.Helper()
		if res := runSSH(t, kl, nil, "web1", "echo allowed"); res.ExitCode != 0 || res.Stdout != "allowed\n" {
			t.Fatalf("%s: want the login allowed: %+v", what, res)
		}
	}
	refused := func(what string) {
		t.Helper()
		res := runSSH(t, kl, nil, "web1", "true")
		if res.ExitCode != 255 || !strings.Contains(res.Stderr, `login rule "no-lan"`) {
			t.Fatalf("%s: want the login refused by no-lan: %+v", what, res)
		}
	}

	e.b.MustRun(t, "", "acl", "add", "no-lan", "--action", "deny", "--source", "10.0.0.0/8")
	allowed("deny from 10/8 only")
	e.b.MustRun(t, "", "acl", "set", "no-lan", "--add-source", "127.0.0.1")
	refused("after acl set --add-source 127.0.0.1")
	e.b.MustRun(t, "", "acl", "disable", "no-lan")
	allowed("after acl disable")
	e.b.MustRun(t, "", "acl", "enable", "no-lan")
	refused("after acl enable")

	// Removing the last source would make the rule deny from anywhere:
	// refused, and the rule is as it was.
	_, stderr, err := e.b.Run(t, "acl", "set", "no-lan", "--rm-source", "10.0.0.0/8", "--rm-source", "127.0.0.1")
	if err == nil || !strings.Contains(stderr, "would then apply to every source address") {
		t.Fatalf("emptying the sources: %v\n%s", err, stderr)
	}
	e.b.MustRun(t, "", "acl", "set", "no-lan", "--rm-source", "127.0.0.1/32")
	allowed("after acl set --rm-source")
}

// TestSetFilterExec: filter set changes what an exec command may run from
// the next session on.
func TestSetFilterExec(t *testing.T) {
	t.Parallel()
	e := newServerEnv(t)
	l := e.keyLogin("alice")
	e.b.MustRun(t, "", "filter", "add", "no-danger", "--action", "deny", "--command", "danger")
	if res := runSSH(t, l, nil, "web1", "echo hi"); res.ExitCode != 0 || res.Stdout != "hi\n" {
		t.Fatalf("before filter set: %+v", res)
	}
	e.b.MustRun(t, "", "filter", "set", "no-danger", "--add-command", "echo")
	res := runSSH(t, l, nil, "web1", "true && echo hi")
	if res.ExitCode != 126 || res.Stderr != `jms: command "echo hi" denied by filter "no-danger"`+"\n" {
		t.Fatalf("after filter set --add-command echo: %+v", res)
	}
	e.b.MustRun(t, "", "filter", "set", "no-danger", "--rm-command", "echo")
	if res := runSSH(t, l, nil, "web1", "echo hi"); res.ExitCode != 0 || res.Stdout != "hi\n" {
		t.Fatalf("after filter set --rm-command echo: %+v", res)
	}
}
