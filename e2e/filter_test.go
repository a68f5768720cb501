package e2e

// Command filtering end to end: the corpus of testdata/filter/corpus.yaml typed through the
// OpenSSH client and `jmsctl serve` into a real bash on the sshd asset, each attempt checked by
// the marker files the asset's programs leave; exec sessions judged before they run; review
// tickets approved and rejected with jmsctl; the command audit.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	"gopkg.in/yaml.v3"
)

// corpusAttempt is one entry of testdata/filter/corpus.yaml (its header says what each field
// means).
type corpusAttempt struct {
	Name    string   `yaml:"name"`
	Keys    string   `yaml:"keys"`
	Line    *string  `yaml:"line"`
	Verdict string   `yaml:"verdict"`
	Ran     []string `yaml:"ran"`
	Chunk   bool     `yaml:"chunk"`
	Width   int      `yaml:"width"`
}

// filterEnv is a bastion in front of the sshd asset web1 with the corpus's filters: danger is
// denied (no-danger), boom needs review (boom-review). The asset has the corpus's programs
// (danger, safe, boom: each touches $MARK/NAME) in bin, and a marker folder mark.
type filterEnv struct {
	*serverEnv
	bin, mark string
}

func newFilterEnv(t *testing.T) *filterEnv {
	t.Helper()
	requireRoot(t, "e2e: the filter tests log in to the asset as jmse2e, which needs root")
	e := &filterEnv{serverEnv: newServerEnv(t)}
	// Not t.TempDir: jmse2e must reach it.
	dir, err := os.MkdirTemp("", "jms-e2e-filter-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	e.bin, e.mark = filepath.Join(dir, "bin"), filepath.Join(dir, "mark")
	for _, d := range []string{dir, e.bin, e.mark} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(d, 0o777); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"danger", "safe", "boom"} {
		script := "#!/bin/sh\ntouch \"$MARK/" + name + "\"\n"
		if err := os.WriteFile(filepath.Join(e.bin, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if u, err := user.Lookup(e.s.User); err == nil {
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		_ = os.Chown(e.mark, uid, gid)
	}
	e.b.MustRun(t, "", "filter", "add", "no-danger", "--action", "deny", "--command", "danger")
	e.b.MustRun(t, "", "filter", "add", "boom-review", "--action", "review", "--regex", "^boom( |$)")
	return e
}

func (e *filterEnv) marked(name string) bool {
	_, err := os.Stat(filepath.Join(e.mark, name))
	return err == nil
}

func (e *filterEnv) clearMarks(t *testing.T) {
	t.Helper()
	ents, err := os.ReadDir(e.mark)
	if err != nil {
		t.Fatal(err)
	}
	for _, de := range ents {
		os.Remove(filepath.Join(e.mark, de.Name()))
	}
}

// ptySSH is an OpenSSH client in a pseudo-terminal that the test types into.
type ptySSH struct {
	t    *testing.T
	cmd  *exec.Cmd
	tty  *os.File
	out  *syncBuffer
	done chan struct{}
	mu   sync.Mutex
	last time.Time // when output last arrived
}

func startPtySSH(t *testing.T, l Login, w, h int, remote ...string) *ptySSH {
	t.Helper()
	requireBinaries(t, "ssh")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	cmd := l.Command(ctx, remote...)
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Cols: uint16(w), Rows: uint16(h)})
	if err != nil {
		cancel()
		t.Fatalf("starting ssh in a pty: %v", err)
	}
	p := &ptySSH{t: t, cmd: cmd, tty: tty, out: &syncBuffer{}, done: make(chan struct{}), last: time.Now()}
	go func() {
		defer close(p.done)
		buf := make([]byte, 32<<10)
		for {
			n, err := tty.Read(buf)
			if n > 0 {
				p.out.Write(buf[:n])
				p.mu.Lock()
				p.last = time.Now()
				p.mu.Unlock()
			}
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		tty.Close()
		<-p.done
		cancel()
		if t.Failed() {
			t.Logf("ssh output:\n%q", tail(p.out.String(), 3000))
		}
	})
	return p
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func (p *ptySSH) write(s string) {
	p.t.Helper()
	if _, err := io.WriteString(p.tty, s); err != nil {
		p.t.Fatalf("typing %q: %v", s, err)
	}
}

// quiet waits until no output has come for d (at most max).
func (p *ptySSH) quiet(d, max time.Duration) {
	end := time.Now().Add(max)
	for time.Now().Before(end) {
		p.mu.Lock()
		since := time.Since(p.last)
		p.mu.Unlock()
		if since >= d {
			return
		}
		time.Sleep(d / 4)
	}
}

// settle waits for output to follow what was just typed (at most grow), then for quiet.
func (p *ptySSH) settle(before int, grow, quietFor time.Duration) {
	waitUntil(grow, func() bool { return len(p.out.String()) > before })
	p.quiet(quietFor, 5*time.Second)
}

// waitFor waits until the output after from holds want and returns where it ends.
func (p *ptySSH) waitFor(from int, want string, timeout time.Duration) int {
	p.t.Helper()
	var at int
	if !waitUntil(timeout, func() bool {
		s := p.out.String()
		if from > len(s) {
			from = len(s)
		}
		i := strings.Index(s[from:], want)
		at = from + i + len(want)
		return i >= 0
	}) {
		p.t.Fatalf("no %q in the output within %v; output since: %q", want, timeout, tail(p.out.String()[from:], 2000))
	}
	return at
}

func (p *ptySSH) resize(w, h int) {
	p.t.Helper()
	if err := pty.Setsize(p.tty, &pty.Winsize{Cols: uint16(w), Rows: uint16(h)}); err != nil {
		p.t.Fatal(err)
	}
}

// keystrokes splits typed keys as a terminal sends them: one byte at a time, an escape
// sequence or a bracketed paste at once.
func keystrokes(keys string) []string {
	const pasteStart, pasteEnd = "\x1b[200~", "\x1b[201~"
	var out []string
	for i := 0; i < len(keys); {
		if strings.HasPrefix(keys[i:], pasteStart) {
			end := strings.Index(keys[i:], pasteEnd)
			if end < 0 {
				out = append(out, keys[i:])
				break
			}
			out = append(out, keys[i:i+end+len(pasteEnd)])
			i += end + len(pasteEnd)
			continue
		}
		if keys[i] == 0x1b && i+1 < len(keys) {
			n := 2
			switch keys[i+1] {
			case '[':
				for n = 2; i+n < len(keys) && (keys[i+n] < 0x40 || keys[i+n] > 0x7e); n++ {
				}
				n++
			case 'O':
				n = 3
			}
			n = min(n, len(keys)-i)
			out = append(out, keys[i:i+n])
			i += n
			continue
		}
		out = append(out, keys[i:i+1])
		i++
	}
	return out
}

// corpusPS1 is the prompt of the corpus's bash, as in bastion/filter's replay.
const corpusPS1 = `\[\e[01;32m\]user@host\[\e[00m\]:\[\e[01;34m\]\W\[\e[00m\]$ `

// enterCorpusShell replaces the login shell with a bash set up as the corpus wants (no rc
// files, no history file, the programs on PATH and in the working directory) and waits for its
// prompt.
func (e *filterEnv) enterCorpusShell(p *ptySSH) {
	p.t.Helper()
	p.waitFor(0, "$ ", 30*time.Second)
	p.quiet(200*time.Millisecond, 3*time.Second)
	from := len(p.out.String())
	p.write(fmt.Sprintf("cd %s && exec env -i PATH=%s:/usr/bin:/bin HOME=%s TERM=xterm-256color MARK=%s HISTFILE=/dev/null INPUTRC=/dev/null LANG=C.UTF-8 PS1='%s' bash --norc --noprofile -i\r",
		e.bin, e.bin, filepath.Dir(e.bin), e.mark, corpusPS1))
	p.waitFor(from, "user@host", 30*time.Second)
	p.quiet(200*time.Millisecond, 3*time.Second)
}

func loadCorpusFile(t *testing.T) []corpusAttempt {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "filter", "corpus.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var as []corpusAttempt
	if err := yaml.Unmarshal(b, &as); err != nil {
		t.Fatal(err)
	}
	return as
}

type commandEvent struct {
	SessionID string `json:"session_id"`
	OffsetMS  int64  `json:"offset_ms"`
	User      string `json:"user"`
	Asset     string `json:"asset"`
	Command   string `json:"command"`
	Verdict   string `json:"verdict"`
	Filter    string `json:"filter"`
}

func (e *filterEnv) commandEvents(t *testing.T, args ...string) []commandEvent {
	t.Helper()
	out := e.b.MustRun(t, "", append([]string{"-o", "json", "audit", "commands"}, args...)...)
	var evs []commandEvent
	if err := json.Unmarshal([]byte(out), &evs); err != nil {
		t.Fatalf("audit commands -o json: %v\n%s", err, out)
	}
	return evs
}

type ticket struct {
	ID      int64  `json:"id"`
	Command string `json:"command"`
	Status  string `json:"status"`
	Filter  string `json:"filter"`
}

// pendingTicket waits for the pending ticket of command.
func (e *filterEnv) pendingTicket(t *testing.T, command string) ticket {
	t.Helper()
	var got ticket
	if !waitUntil(15*time.Second, func() bool {
		var ts []ticket
		out := e.b.MustRun(t, "", "-o", "json", "ticket", "list")
		if err := json.Unmarshal([]byte(out), &ts); err != nil {
			t.Fatalf("ticket list -o json: %v\n%s", err, out)
		}
		for _, tk := range ts {
			if tk.Command == command {
				got = tk
				return true
			}
		}
		return false
	}) {
		t.Fatalf("no pending ticket for %q", command)
	}
	return got
}

// TestFilterCorpus types every attempt of the corpus into one interactive session, through
// the bastion, into bash on the asset, and checks by the markers that the denied commands did
// not run and the allowed ones did; the review attempt is rejected with jmsctl. Then the
// command audit of the session.
func TestFilterCorpus(t *testing.T) {
	e := newFilterEnv(t)
	attempts := loadCorpusFile(t)
	if len(attempts) < 40 {
		t.Fatalf("corpus has %d attempts, want at least 40", len(attempts))
	}
	l := e.keyLogin("alice")
	l.TTY = true
	p := startPtySSH(t, l, 80, 24, "web1")
	e.enterCorpusShell(p)
	width := 80
	ran := 0
	for _, a := range attempts {
		ok := t.Run(a.Name, func(t *testing.T) {
			p.t = t
			e.clearMarks(t)
			w := a.Width
			if w == 0 {
				w = 80
			}
			if w != width {
				// A new size, then a fresh prompt.
				p.resize(w, 24)
				width = w
				time.Sleep(200 * time.Millisecond)
				p.write("\x03")
				p.quiet(200*time.Millisecond, 3*time.Second)
			}
			from := len(p.out.String())
			chunks := keystrokes(a.Keys)
			if a.Chunk {
				chunks = []string{a.Keys}
			}
			for _, k := range chunks {
				before := len(p.out.String())
				p.write(k)
				p.settle(before, 500*time.Millisecond, 40*time.Millisecond)
			}
			if strings.HasPrefix(a.Keys, "boom") {
				// The review filter holds it: reject it as an admin would.
				p.waitFor(from, "waits for approval (ticket ", 10*time.Second)
				tk := e.pendingTicket(t, strings.TrimRight(a.Keys, "\r"))
				e.b.MustRun(t, "", "ticket", "reject", strconv.FormatInt(tk.ID, 10))
				p.waitFor(from, fmt.Sprintf("jms: ticket %d rejected by os:", tk.ID), 5*time.Second)
			}
			p.quiet(300*time.Millisecond, 5*time.Second)
			if a.Verdict == "deny" {
				if e.marked("danger") || e.marked("boom") {
					t.Errorf("a denied command ran (markers danger %v, boom %v)", e.marked("danger"), e.marked("boom"))
				}
				if !strings.Contains(p.out.String()[from:], "jms: ") {
					t.Errorf("no message from the bastion: %q", p.out.String()[from:])
				}
			}
			for _, r := range a.Ran {
				if !waitUntil(3*time.Second, func() bool { return e.marked(r) }) {
					t.Errorf("%s did not run; output: %q", r, p.out.String()[from:])
				}
			}
		})
		if ok {
			ran++
		}
		p.t = t
	}
	t.Logf("%d of %d attempts passed end to end", ran, len(attempts))

	// The audit has the session's lines with their verdicts.
	evs := e.commandEvents(t, "--user", "alice", "--asset", "web1")
	if len(evs) == 0 {
		t.Fatal("no command events")
	}
	session := evs[len(evs)-1].SessionID
	denied := e.commandEvents(t, "--session", session, "--verdict", "deny")
	rejected := e.commandEvents(t, "--session", session, "--verdict", "review")
	var lines []string
	for _, ev := range denied {
		if ev.Filter != "no-danger" || ev.User != "alice" || ev.Asset != "web1" {
			t.Errorf("deny event %+v", ev)
		}
		lines = append(lines, ev.Command)
	}
	for _, a := range attempts {
		if a.Line != nil && a.Verdict == "deny" && !strings.HasPrefix(*a.Line, "boom") {
			found := false
			for _, l := range lines {
				found = found || l == *a.Line
			}
			if !found {
				t.Errorf("attempt %q: no deny event for %q in %q", a.Name, *a.Line, lines)
			}
		}
	}
	if len(rejected) != 1 || rejected[0].Verdict != "review:rejected" || rejected[0].Command != "boom now" || rejected[0].Filter != "boom-review" {
		t.Errorf("review events %+v", rejected)
	}
	var last int64
	for _, ev := range e.commandEvents(t, "--session", session) {
		if ev.OffsetMS < last {
			t.Errorf("offsets go back: %+v", ev)
		}
		last = ev.OffsetMS
	}
	table := e.b.MustRun(t, "", "audit", "commands", "--session", session, "--verdict", "deny")
	if !strings.Contains(table, "no-danger") || !strings.Contains(table, "OFFSET") {
		t.Errorf("audit commands table:\n%s", table)
	}
}

// TestFilterExecAndReview: exec commands are judged before they run; review tickets are
// approved and rejected with jmsctl, in exec and interactive sessions.
func TestFilterExecAndReview(t *testing.T) {
	e := newFilterEnv(t)
	l := e.keyLogin("alice")
	env := fmt.Sprintf("cd %s && MARK=%s PATH=%s:$PATH ", e.bin, e.mark, e.bin)

	res := runSSH(t, l, nil, "web1", env+"danger")
	if res.ExitCode != 126 || res.Stdout != "" || !strings.HasPrefix(res.Stderr, `jms: command "MARK=`) ||
		!strings.HasSuffix(res.Stderr, `" denied by filter "no-danger"`+"\n") || e.marked("danger") {
		t.Errorf("exec danger: %+v (marker %v); want 126 and the denial", res, e.marked("danger"))
	}
	res = runSSH(t, l, nil, "web1", "true && danger")
	if res.ExitCode != 126 || res.Stderr != `jms: command "danger" denied by filter "no-danger"`+"\n" {
		t.Errorf("exec true && danger: %+v", res)
	}
	res = runSSH(t, l, nil, "web1", env+"safe && echo ok")
	if res.ExitCode != 0 || res.Stdout != "ok\n" || !e.marked("safe") {
		t.Errorf("exec safe: %+v", res)
	}

	// Review in exec: approved runs, rejected does not.
	for _, approve := range []bool{true, false} {
		e.clearMarks(t)
		done := make(chan SSHResult, 1)
		go func() { done <- runSSH(t, l, nil, "web1", env+"boom") }()
		tk := e.pendingTicket(t, env+"boom")
		if tk.Filter != "boom-review" {
			t.Errorf("ticket %+v", tk)
		}
		verb := "reject"
		if approve {
			verb = "approve"
		}
		args := []string{"ticket", verb, strconv.FormatInt(tk.ID, 10)}
		if !approve {
			args = append(args, "--reason", "runbook \x1b[2J step 4")
		}
		e.b.MustRun(t, "", args...)
		start := time.Now()
		var r SSHResult
		select {
		case r = <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("exec still held 10 s after %s", verb)
		}
		if d := time.Since(start); d > 2*time.Second+500*time.Millisecond {
			t.Errorf("released %v after jmsctl ticket %s returned", d, verb)
		}
		if !strings.Contains(r.Stderr, fmt.Sprintf("waits for approval (ticket %d)", tk.ID)) {
			t.Errorf("stderr %q", r.Stderr)
		}
		if approve && (r.ExitCode != 0 || !e.marked("boom")) {
			t.Errorf("approved: %+v, marker %v", r, e.marked("boom"))
		}
		if !approve && (r.ExitCode != 126 || e.marked("boom")) {
			t.Errorf("rejected: %+v, marker %v", r, e.marked("boom"))
		}
		// The admin's reason is shown, escaped.
		if !approve && (!strings.Contains(r.Stderr, fmt.Sprintf(`jms: ticket %d rejected by os:`, tk.ID)) ||
			!strings.Contains(r.Stderr, ` (runbook \x1b[2J step 4): command not run`) || strings.Contains(r.Stderr, "\x1b[2J")) {
			t.Errorf("the reason of the rejection is not shown (escaped): %q", r.Stderr)
		}
	}

	// Review in an interactive session: approved, then Ctrl-C cancels.
	e.clearMarks(t)
	lt := l
	lt.TTY = true
	p := startPtySSH(t, lt, 100, 30, "web1")
	e.enterCorpusShell(p)
	from := len(p.out.String())
	p.write("boom again\r")
	tk := e.pendingTicket(t, "boom again")
	p.waitFor(from, fmt.Sprintf("waits for approval (ticket %d); Ctrl-C cancels", tk.ID), 5*time.Second)
	e.b.MustRun(t, "", "ticket", "approve", strconv.FormatInt(tk.ID, 10))
	p.waitFor(from, fmt.Sprintf("jms: ticket %d approved by os:", tk.ID), 3*time.Second)
	if !waitUntil(3*time.Second, func() bool { return e.marked("boom") }) {
		t.Error("approved boom did not run")
	}
	e.clearMarks(t)
	p.quiet(200*time.Millisecond, 3*time.Second)
	from = len(p.out.String())
	p.write("boom later\r")
	tk = e.pendingTicket(t, "boom later")
	p.write("\x03")
	p.waitFor(from, fmt.Sprintf("jms: ticket %d canceled", tk.ID), 3*time.Second)
	p.quiet(200*time.Millisecond, 3*time.Second)
	if e.marked("boom") {
		t.Error("canceled boom ran")
	}
	// The session is still usable.
	p.write("safe\r")
	if !waitUntil(3*time.Second, func() bool { return e.marked("safe") }) {
		t.Error("safe did not run after a canceled review")
	}
	out := e.b.MustRun(t, "", "ticket", "list", "--status", "all")
	for _, w := range []string{"approved", "rejected", "canceled"} {
		if !strings.Contains(out, w) {
			t.Errorf("ticket list --status all lacks %s:\n%s", w, out)
		}
	}
	var verdicts []string
	for _, ev := range e.commandEvents(t, "--verdict", "review") {
		verdicts = append(verdicts, ev.Verdict)
	}
	if strings.Join(verdicts, ",") != "review:approved,review:rejected,review:approved,review:canceled" {
		t.Errorf("review verdicts %q", verdicts)
	}
}

// TestFilterHardening: the holes of issue 10 in the filter, through the OpenSSH client and
// the bastion into bash on the asset. An exec'd shell's stdin is judged (echo danger | ssh
// bastion web1 sh); a command read over several lines is judged whole in `ssh -T` and exec
// alike; an allow rule names the program, not any word; su -lc is looked into.
func TestFilterHardening(t *testing.T) {
	e := newFilterEnv(t)
	l := e.keyLogin("alice")
	env := fmt.Sprintf("cd %s && MARK=%s PATH=%s:$PATH ", e.bin, e.mark, e.bin)

	// Item 3: a shell or an interpreter that reads its commands from stdin.
	for _, shell := range []string{"sh", "bash -s", "/usr/bin/env bash", "exec sh"} {
		e.clearMarks(t)
		res := runSSH(t, l, strings.NewReader("safe\ndanger\necho done\n"), "web1", env+shell)
		if e.marked("danger") || !e.marked("safe") || res.Stdout != "done\n" ||
			!strings.Contains(res.Stderr, `jms: command "danger" denied by filter "no-danger"`) {
			t.Errorf("exec %q with danger on stdin: %+v (markers danger %v safe %v)", shell, res, e.marked("danger"), e.marked("safe"))
		}
	}
	evs := e.commandEvents(t, "--user", "alice", "--verdict", "deny")
	if len(evs) == 0 || evs[len(evs)-1].Command != "danger" {
		t.Errorf("the audit has no denied danger from stdin: %+v", evs)
	}

	// Item 7: continuations, in ssh -T (a shell without a PTY) and in an exec'd shell.
	for _, input := range []string{"dan\\\nger\n", "echo 'x\n'; danger\n", "bash <<EOF\ndanger\nEOF\n", "echo x |\nxargs dan\\\nger\n"} {
		e.clearMarks(t)
		res := runSSH(t, l, strings.NewReader(fmt.Sprintf("cd %s && export MARK=%s PATH=%s:$PATH\n%ssafe\n", e.bin, e.mark, e.bin, input)), "web1")
		if e.marked("danger") || !e.marked("safe") || !strings.Contains(res.Stderr, `denied by filter "no-danger"`) {
			t.Errorf("ssh -T with %q: %+v (markers danger %v safe %v)", input, res, e.marked("danger"), e.marked("safe"))
		}
		e.clearMarks(t)
		res = runSSH(t, l, strings.NewReader(input+"safe\n"), "web1", env+"sh")
		if e.marked("danger") || !e.marked("safe") {
			t.Errorf("exec sh with %q: %+v (markers danger %v safe %v)", input, res, e.marked("danger"), e.marked("safe"))
		}
	}

	// Item 16: su -lc is looked into (denied before su asks for anything).
	for _, cmd := range []string{"su -lc danger", "su -c'danger' root", "runuser -l root -c danger", "sudo -s danger"} {
		res := runSSH(t, l, nil, "web1", cmd)
		if res.ExitCode != 126 || !strings.Contains(res.Stderr, `denied by filter "no-danger"`) {
			t.Errorf("exec %q: %+v", cmd, res)
		}
	}

	// Item 9: an allow rule matches the program in command position only.
	e.b.MustRun(t, "", "filter", "add", "may-safe", "--action", "allow", "--priority", "1", "--command", "safe")
	e.clearMarks(t)
	res := runSSH(t, l, nil, "web1", env+"danger safe")
	if res.ExitCode != 126 || e.marked("danger") {
		t.Errorf("exec danger safe with allow safe: %+v (marker %v)", res, e.marked("danger"))
	}
	res = runSSH(t, l, nil, "web1", env+"safe danger")
	if res.ExitCode != 0 || !e.marked("safe") {
		t.Errorf("exec safe danger with allow safe: %+v", res)
	}

	// Items 9 and 16 typed at bash's prompt in a PTY.
	lt := l
	lt.TTY = true
	p := startPtySSH(t, lt, 100, 30, "web1")
	e.enterCorpusShell(p)
	for _, line := range []string{"danger safe", "su -lc danger", "sudo -s danger"} {
		e.clearMarks(t)
		from := len(p.out.String())
		p.write(line + "\r")
		p.waitFor(from, `denied by filter "no-danger"`, 10*time.Second)
		p.quiet(300*time.Millisecond, 5*time.Second)
		if e.marked("danger") {
			t.Errorf("%q ran danger in a PTY", line)
		}
	}
	from := len(p.out.String())
	p.write("safe\r")
	if !waitUntil(5*time.Second, func() bool { return e.marked("safe") }) {
		t.Errorf("safe did not run: %q", p.out.String()[from:])
	}
}

// TestIdleExecShell: the idle limit applies to an exec'd shell that reads its commands from
// the person's input (ssh bastion web1 sh), as to ssh -T, and not to a command that does not.
func TestIdleExecShell(t *testing.T) {
	t.Parallel()
	requireBinaries(t, "ssh")
	s := startSSHD(t)
	b := startBastion(t, BastionOptions{Config: "idle_timeout: 3s\n"})
	key := ClientKey(t)
	b.MustRun(t, "", "user", "add", "alice", "--key", key.PubPath)
	b.MustRun(t, "", "asset", "add", "web1", "--address", "127.0.0.1", "--port", strconv.Itoa(s.Port))
	b.MustRun(t, "", "account", "add", "web1", s.User, "--key", s.KeyFile)
	b.MustRun(t, "", "grant", "add", "g", "--user", "alice", "--asset", "web1")
	l := b.Login("alice")
	l.KeyFile = key.Path

	run := func(remote ...string) (time.Duration, int, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := l.Command(ctx, remote...)
		stdin, err := cmd.StdinPipe() // open and silent: the person types nothing
		if err != nil {
			t.Fatal(err)
		}
		defer stdin.Close()
		var stderr syncBuffer
		cmd.Stderr = &stderr
		start := time.Now()
		err = cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return time.Since(start), code, stderr.String()
	}
	d, code, stderr := run("web1", "sh")
	if code == 0 || d > 20*time.Second || !strings.Contains(stderr, "idle timeout") {
		t.Errorf("exec sh, idle: ended after %v with %d, stderr %q; want the idle timeout", d, code, stderr)
	}
	d, code, stderr = run("web1", "sleep 5; echo done")
	if code != 0 || d < 5*time.Second {
		t.Errorf("exec sleep 5: ended after %v with %d, stderr %q; want no idle timeout", d, code, stderr)
	}
}
