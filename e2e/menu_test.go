package e2e

// The menu, replay, watch and kill as people use them: the real OpenSSH client in a tmux
// terminal against `jmsctl serve`, in front of a real sshd.

import (
	"context"
	"encoding/json"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// activeSession waits for alice's one live session and returns its id.
func activeSession(t *testing.T, b *Bastion) string {
	t.Helper()
	return singleSession(t, b, "--active")
}

// singleSession returns the id of the one session `session list` shows with the
// given flags; with none, ended ones too (for a session that an idle timeout may
// end before the test looks).
func singleSession(t *testing.T, b *Bastion, flags ...string) string {
	t.Helper()
	var id string
	ok := waitUntil(10*time.Second, func() bool {
		out := b.MustRun(t, "", append([]string{"-o", "json", "session", "list"}, flags...)...)
		var rows []map[string]any
		if err := json.Unmarshal([]byte(out), &rows); err != nil || len(rows) != 1 {
			return false
		}
		id, _ = rows[0]["id"].(string)
		return id != ""
	})
	if !ok {
		t.Fatalf("no single session (%s): %s", strings.Join(flags, " "), b.MustRun(t, "", append([]string{"session", "list"}, flags...)...))
	}
	return id
}

// dumpOnFailure makes the bastion print its goroutines into its log when the test fails.
func dumpOnFailure(t *testing.T, b *Bastion) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		b.mu.Lock()
		cmd := b.cmd
		b.mu.Unlock()
		if cmd != nil {
			_ = cmd.Process.Signal(syscall.SIGQUIT)
			time.Sleep(time.Second)
		}
	})
}

// waitForHistory waits until the screen or its scrollback matches re: a message written as
// the command exits can be scrolled off by tmux's "Pane is dead" line.
func waitForHistory(t *testing.T, term *Terminal, re *regexp.Regexp) {
	t.Helper()
	var hist string
	if !waitUntil(10*time.Second, func() bool {
		hist, _ = term.tmux("capture-pane", "-p", "-S", "-100", "-t", term.target)
		return re.MatchString(hist)
	}) {
		t.Fatalf("the terminal did not show %q; it shows:\n%s", re, hist)
	}
}

func TestMenuConnectReturnResizePassword(t *testing.T) {
	t.Parallel()
	e := newServerEnv(t)
	dumpOnFailure(t, e.b)
	// A second account on web1 for the picker, and an asset that is down.
	e.b.MustRun(t, "", "asset", "add", "down1", "--address", "127.0.0.1", "--port", strconv.Itoa(freePort(t)), "--comment", "switched off")
	e.b.MustRun(t, "secret-"+randomToken(4)+"\n", "account", "add", "down1", "nobody", "--password-stdin")
	e.b.MustRun(t, "", "grant", "add", "alice-down1", "--user", "alice", "--asset", "down1", "--account", "@all")

	term := termSSH(t, e.keyLogin("alice"), TermOptions{})
	term.waitForScreen(regexp.MustCompile(`alice \(user\) · 2 assets`), 15*time.Second)
	term.waitForScreen(regexp.MustCompile(`(?s)down1.*switched off.*web1`), 5*time.Second)

	// Typing filters; Enter on the one match connects.
	term.Type("web")
	term.waitForScreen(regexp.MustCompile(`1/2`), 5*time.Second)
	term.Keys("Enter")
	term.waitForScreen(regexp.MustCompile(`\$ ?$`), 15*time.Second)
	term.Line("echo marker-$((40+2)); stty size")
	term.waitForScreen(regexp.MustCompile(`marker-42\n24 80`), 10*time.Second)
	// The asset follows resizes while connected.
	term.Resize(100, 30)
	// Asked again until the window change has reached the asset's terminal.
	resized := regexp.MustCompile(`30 100`)
	if !waitEvery(10*time.Second, time.Second, func() bool {
		term.Line("stty size")
		return waitUntil(time.Second, func() bool { return resized.MatchString(term.Screen()) })
	}) {
		t.Fatalf("the asset's terminal did not follow the resize:\n%s", term.Screen())
	}
	// Exit: the menu comes back where it was, at the new size.
	term.Line("exit")
	term.waitForScreen(regexp.MustCompile(`Search: web +1/2`), 10*time.Second)
	scr := term.waitForScreen(regexp.MustCompile(`› +1  web1`), 5*time.Second)
	if lines := strings.Split(scr, "\n"); len(lines[len(lines)-1]) > 100 {
		t.Fatalf("the menu is wider than the terminal:\n%s", scr)
	}
	// The menu follows resizes too.
	term.Resize(80, 24)
	term.waitForScreen(regexp.MustCompile(`enter connect`), 5*time.Second)

	// An asset that is down: the error shows in place and she stays.
	term.Keys("C-u")
	term.Type("down1")
	term.waitForScreen(regexp.MustCompile(`1/2`), 5*time.Second)
	term.Keys("Enter")
	term.waitForScreen(regexp.MustCompile(`✗ jms: .*down1`), 20*time.Second)

	// Her password, from the menu.
	term.Keys("Escape")
	term.waitForScreen(regexp.MustCompile(`type to filter`), 5*time.Second)
	term.Type("P")
	term.waitForScreen(regexp.MustCompile(`Change your password`), 5*time.Second)
	newPassword := "new-" + randomToken(6)
	term.Type(e.password)
	term.Keys("Enter")
	term.Type(newPassword)
	term.Keys("Enter")
	term.Type(newPassword)
	term.Keys("Enter")
	term.waitForScreen(regexp.MustCompile(`Password changed\.`), 15*time.Second)
	term.Type("q")
	if code := term.Wait(10 * time.Second); code != 0 {
		t.Fatalf("quit: exit status %d", code)
	}
	pw := e.b.Login("alice")
	pw.Password = newPassword
	if res := runSSH(t, pw, nil, "web1", "echo hi"); res.Stdout != "hi\n" {
		t.Fatalf("login with the new password: %+v", res)
	}
	ops := e.b.MustRun(t, "", "--all-orgs", "audit", "operations", "--user", "alice") // her own changes over SSH are across orgs
	if !strings.Contains(ops, "ssh:alice") || !strings.Contains(ops, "user.passwd") {
		t.Fatalf("the password change is not audited as ssh:alice:\n%s", ops)
	}
}

func TestMenuAccountPicker(t *testing.T) {
	t.Parallel()
	e := newServerEnv(t)
	dumpOnFailure(t, e.b)
	e.b.MustRun(t, "secret-"+randomToken(4)+"\n", "account", "add", "web1", "zz-other", "--password-stdin")
	// A privileged account that sorts first: the picker must not start on it.
	e.b.MustRun(t, "secret-"+randomToken(4)+"\n", "account", "add", "web1", "aaa-root", "--password-stdin", "--privileged")
	term := termSSH(t, e.keyLogin("alice"), TermOptions{})
	term.waitForScreen(regexp.MustCompile(`web1`), 15*time.Second)
	term.Type("web1")
	term.Keys("Enter")
	term.waitForScreen(regexp.MustCompile(`Choose an account on web1`), 5*time.Second)
	term.waitForScreen(regexp.MustCompile(`zz-other`), 5*time.Second)
	term.waitForScreen(regexp.MustCompile(`aaa-root +privileged`), 5*time.Second)
	term.waitForScreen(regexp.MustCompile(`› `+regexp.QuoteMeta(e.s.User)+` `), 5*time.Second)
	term.Keys("Enter") // the least privileged: the sshd account
	term.waitForScreen(regexp.MustCompile(`\$ ?$`), 15*time.Second)
	term.Line("exit")
	term.waitForScreen(regexp.MustCompile(`Search: web1`), 10*time.Second)
	term.Keys("C-c")
	term.Wait(10 * time.Second)
}

func TestWatchReplayKill(t *testing.T) {
	t.Parallel()
	e := newServerEnv(t)
	dumpOnFailure(t, e.b)
	term := termSSH(t, e.keyLogin("alice@web1"), TermOptions{})
	term.waitForScreen(regexp.MustCompile(`\$ ?$`), 15*time.Second)
	id := activeSession(t, e.b)

	// Another process follows the session while she types.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	watch := exec.CommandContext(ctx, e.b.Bin, "--data-dir", e.b.DataDir, "session", "watch", id[:8])
	watch.Env = e.b.env()
	var out, errOut syncBuffer
	watch.Stdout, watch.Stderr = &out, &errOut
	if err := watch.Start(); err != nil {
		t.Fatal(err)
	}
	watchDone := make(chan error, 1)
	go func() { watchDone <- watch.Wait() }()
	term.Line("echo watched-$((6*7))")
	if !waitUntil(10*time.Second, func() bool { return strings.Contains(out.String(), "watched-42") }) {
		t.Fatalf("the watcher did not see the session: %q / %q", out.String(), errOut.String())
	}
	term.Line("exit")
	select {
	case err := <-watchDone:
		if err != nil {
			t.Fatalf("watch: %v\n%s", err, errOut.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the watcher did not end with the session")
	}
	if !strings.Contains(errOut.String(), "ended") {
		t.Fatalf("watch did not say the session ended: %q", errOut.String())
	}
	term.Wait(10 * time.Second)

	// Replay: --cat, --text; watch of an ended session plays its recording.
	if cat := e.b.MustRun(t, "", "replay", id, "--cat"); !strings.Contains(cat, "watched-42") {
		t.Fatalf("replay --cat:\n%s", cat)
	}
	if text := e.b.MustRun(t, "", "replay", id, "--text"); !strings.Contains(text, "watched-42") || strings.Contains(text, "\x1b") {
		t.Fatalf("replay --text:\n%q", text)
	}
	if stdout, stderr, err := e.b.Run(t, "session", "watch", id); err != nil || !strings.Contains(stderr, "has ended") || !strings.Contains(stdout, "watched-42") {
		t.Fatalf("watch of an ended session: %v %q %q", err, stderr, stdout)
	}

	// Kill: within seconds, the reason shown, the asset's connection closed.
	before := e.s.CountConnections()
	term2 := termSSH(t, e.keyLogin("alice@web1"), TermOptions{})
	term2.waitForScreen(regexp.MustCompile(`\$ ?$`), 15*time.Second)
	id = activeSession(t, e.b)
	e.s.WaitConnections(before+1, 5*time.Second)
	start := time.Now()
	if stdout := e.b.MustRun(t, "", "session", "kill", id, "--reason", "maintenance window"); !strings.Contains(stdout, "killed") {
		t.Fatalf("session kill: %q", stdout)
	}
	// The server polls kill requests every 0.5 s; the bound leaves room for
	// a race-built jmsctl starting on a loaded 2-core machine.
	if d := time.Since(start); d > 6*time.Second {
		t.Fatalf("the kill took %v", d)
	}
	waitForHistory(t, term2, regexp.MustCompile(`\njms: session ended: killed by os:\S+: maintenance window`))
	e.s.WaitConnections(before, 2*time.Second)
	show := e.b.MustRun(t, "", "session", "show", id)
	if !strings.Contains(show, "killed") || !strings.Contains(show, "maintenance window") {
		t.Fatalf("session show after kill:\n%s", show)
	}
	if ops := e.b.MustRun(t, "", "audit", "operations"); !strings.Contains(ops, "session.kill") {
		t.Fatalf("the kill is not audited:\n%s", ops)
	}
}

func TestKillOnGrantRemoved(t *testing.T) {
	t.Parallel()
	e := newServerEnv(t)
	dumpOnFailure(t, e.b)
	term := termSSH(t, e.keyLogin("alice"), TermOptions{})
	term.waitForScreen(regexp.MustCompile(`web1`), 15*time.Second)
	term.Type("web1")
	term.Keys("Enter")
	term.waitForScreen(regexp.MustCompile(`\$ ?$`), 15*time.Second)
	id := activeSession(t, e.b)
	e.b.MustRun(t, "", "grant", "rm", "alice-web1")
	// The bound is 2 s (docs/cluster.md); a loaded machine gets more.
	term.waitForScreen(regexp.MustCompile(`the grant to web1 expired or was revoked`), 10*time.Second)
	term.waitForScreen(regexp.MustCompile(`0 assets`), 5*time.Second)
	if show := e.b.MustRun(t, "", "session", "show", id); !strings.Contains(show, "expired or was revoked") {
		t.Fatalf("session show:\n%s", show)
	}
}

func TestIdleTimeout(t *testing.T) {
	t.Parallel()
	requireBinaries(t, "ssh", "sshpass")
	s := startSSHD(t)
	b := startBastion(t, BastionOptions{Config: "idle_timeout: 4s\n"})
	key := ClientKey(t)
	b.MustRun(t, "", "user", "add", "alice", "--key", key.PubPath)
	b.MustRun(t, "", "asset", "add", "web1", "--address", "127.0.0.1", "--port", strconv.Itoa(s.Port))
	b.MustRun(t, "", "account", "add", "web1", s.User, "--key", s.KeyFile)
	b.MustRun(t, "", "grant", "add", "g", "--user", "alice", "--asset", "web1")
	l := b.Login("alice@web1")
	l.KeyFile = key.Path
	term := termSSH(t, l, TermOptions{})
	term.waitForScreen(regexp.MustCompile(`\$ ?$`), 15*time.Second)
	id := singleSession(t, b) // the only one, maybe ended already
	term.waitForScreen(regexp.MustCompile(`this session ends in`), 10*time.Second)
	waitForHistory(t, term, regexp.MustCompile(`session ended: idle timeout`))
	show := b.MustRun(t, "", "-o", "json", "session", "show", id)
	if !strings.Contains(show, `"end_reason": "idle timeout"`) && !strings.Contains(show, `"end_reason":"idle timeout"`) {
		t.Fatalf("session show:\n%s", show)
	}
	if code := term.Wait(10 * time.Second); code == 0 {
		t.Fatal("an idle session ended with status 0")
	}
}

func TestAuditorMenu(t *testing.T) {
	t.Parallel()
	e := newServerEnv(t)
	dumpOnFailure(t, e.b)
	audKey := ClientKey(t)
	e.b.MustRun(t, "", "user", "add", "carol", "--role", "auditor", "--key", audKey.PubPath)
	alice := termSSH(t, e.keyLogin("alice@web1"), TermOptions{})
	alice.waitForScreen(regexp.MustCompile(`\$ ?$`), 15*time.Second)
	activeSession(t, e.b)

	l := e.b.Login("carol")
	l.KeyFile = audKey.Path
	aud := termSSH(t, l, TermOptions{Width: 100, Height: 30})
	aud.waitForScreen(regexp.MustCompile(`carol \(auditor\) · 1 live`), 15*time.Second)
	aud.waitForScreen(regexp.MustCompile(`› \S+ +alice +web1`), 5*time.Second)
	aud.Keys("Enter") // watch alice
	aud.waitForScreen(regexp.MustCompile(`watching alice@web1 as \S+, session \S+ started \d{4}-`), 5*time.Second)
	alice.Line("echo seen-by-$((2+3))")
	aud.waitForScreen(regexp.MustCompile(`seen-by-5`), 10*time.Second)
	// Nothing the auditor types reaches alice's session.
	aud.Type("echo from-auditor")
	time.Sleep(300 * time.Millisecond)
	if strings.Contains(alice.Screen(), "from-auditor") {
		t.Fatal("the auditor's keys reached the watched session")
	}
	alice.Line("exit")
	aud.waitForScreen(regexp.MustCompile(`Session \S+ ended\.`), 10*time.Second)
	aud.waitForScreen(regexp.MustCompile(`0 live · 1 recent`), 5*time.Second)
	aud.Keys("Enter") // replay it
	aud.waitForScreen(regexp.MustCompile(`seen-by-5`), 10*time.Second)
	aud.waitForScreen(regexp.MustCompile(`ended`), 15*time.Second)
	aud.Type("q")
	aud.waitForScreen(regexp.MustCompile(`carol \(auditor\)`), 5*time.Second)
	aud.Type("q")
	if code := aud.Wait(10 * time.Second); code != 0 {
		t.Fatalf("auditor quit: %d", code)
	}
}

// sgrReverse and sgrColour find reverse video and a foreground colour in
// what tmux capture-pane -e gives back.
var (
	sgrReverse = regexp.MustCompile(`\x1b\[(?:[0-9]+;)*7(?:;[0-9]+)*m`)
	sgrColour  = regexp.MustCompile(`\x1b\[(?:[0-9]+;)*(?:3[0-7]|9[0-7]|38;5;[0-9]+)(?:;[0-9]+)*m`)
)

// TestMenuKokoHabits is issue 11 as a JumpServer user meets it: colours
// and reverse video over SSH, an ID column, KoKo's p then Enter that
// does not connect, a number then Enter that does and says where, a
// search box that gives q back, and Esc Esc.
func TestMenuKokoHabits(t *testing.T) {
	t.Parallel()
	e := newServerEnv(t)
	dumpOnFailure(t, e.b)
	e.b.MustRun(t, "", "grant", "add", "alice-db1", "--user", "alice", "--asset", "db1", "--account", "@all")
	term := termSSH(t, e.keyLogin("alice"), TermOptions{})
	term.waitForScreen(regexp.MustCompile(`alice \(user\) · 2 assets`), 15*time.Second)
	term.waitForScreen(regexp.MustCompile(`ID  NAME`), 5*time.Second)
	// web1 and db1 were added in that order: IDs 1 and 2.
	term.waitForScreen(regexp.MustCompile(`›  2  db1 .*\n +1  web1`), 5*time.Second)

	// Bug 3: the menu had no SGR at all.
	styled := term.must("capture-pane", "-p", "-e", "-t", term.target)
	if !sgrReverse.MatchString(styled) || !sgrColour.MatchString(styled) {
		t.Fatalf("no reverse video or no colour in the menu:\n%q", styled)
	}

	// KoKo's p lists; Enter then does not pick the first row for her.
	term.Type("p")
	term.Keys("Enter")
	term.waitForScreen(regexp.MustCompile(`2 assets match: move to one`), 5*time.Second)
	if e.s.CountConnections() != 0 {
		t.Fatal("p then Enter connected to an asset")
	}

	// A number and Enter: that asset, and a line saying which.
	term.Type("1")
	term.waitForScreen(regexp.MustCompile(`Search: 1 `), 5*time.Second)
	term.Keys("Enter")
	term.waitForScreen(regexp.MustCompile(`Connecting to web1 \(127\.0\.0\.1:`+strconv.Itoa(e.s.Port)+`\) as `+regexp.QuoteMeta(e.s.User)+`…`), 15*time.Second)
	term.waitForScreen(regexp.MustCompile(`\$ ?$`), 15*time.Second)
	term.Line("exit")
	term.waitForScreen(regexp.MustCompile(`Search: 1 `), 10*time.Second)

	// Typed and erased: q is a command again, not search text. First,
	// Esc Esc clears the search and the node.
	term.Type("db")
	term.waitForScreen(regexp.MustCompile(`Search: db`), 5*time.Second)
	term.Keys("Escape", "Escape")
	term.waitForScreen(regexp.MustCompile(`type to filter`), 5*time.Second)
	term.Type("x")
	term.waitForScreen(regexp.MustCompile(`Search: x`), 5*time.Second)
	term.Keys("BSpace")
	term.waitForScreen(regexp.MustCompile(`type to filter`), 5*time.Second)
	term.Type("q")
	if code := term.Wait(10 * time.Second); code != 0 {
		t.Fatalf("q after erasing the search: exit status %d; screen:\n%s", code, term.Screen())
	}
}

// TestForgotT: ssh alice@bastion web1 without -t runs the shell without
// a prompt; the bastion says why on stderr, and a piped script still runs.
func TestForgotT(t *testing.T) {
	t.Parallel()
	e := newServerEnv(t)
	res := runSSH(t, e.keyLogin("alice"), strings.NewReader("echo piped-$((40+2))\n"), "web1")
	if res.ExitCode != 0 || !strings.Contains(res.Stdout, "piped-42") {
		t.Fatalf("piped shell: %+v", res)
	}
	if !strings.Contains(res.Stderr, "jms: no terminal requested: use ssh -t -p ") || !strings.Contains(res.Stderr, "alice@bastion web1 for an interactive shell") {
		t.Fatalf("stderr does not say to use -t: %q", res.Stderr)
	}
	if strings.Contains(res.Stderr, "Connecting to") {
		t.Fatalf("a non-interactive session got the connecting line: %q", res.Stderr)
	}
	// With a command, nothing is added.
	if res := runSSH(t, e.keyLogin("alice"), nil, "web1", "echo hi"); res.Stdout != "hi\n" || res.Stderr != "" {
		t.Fatalf("exec: %+v", res)
	}
}

// TestMenuGrantEnded: an asset she was shown whose grant is removed
// before she presses Enter says so, rather than "no asset".
func TestMenuGrantEnded(t *testing.T) {
	t.Parallel()
	e := newServerEnv(t)
	dumpOnFailure(t, e.b)
	term := termSSH(t, e.keyLogin("alice"), TermOptions{})
	term.waitForScreen(regexp.MustCompile(`›  1  web1`), 15*time.Second)
	e.b.MustRun(t, "", "grant", "rm", "alice-web1")
	term.Keys("Enter")
	term.waitForScreen(regexp.MustCompile(`✗ jms: your access to web1 has ended: the grant expired or was`), 10*time.Second)
	term.waitForScreen(regexp.MustCompile(`alice \(user\) · 0 assets`), 5*time.Second)
	term.Type("q")
	if code := term.Wait(10 * time.Second); code != 0 {
		t.Fatalf("quit: exit status %d", code)
	}
}
