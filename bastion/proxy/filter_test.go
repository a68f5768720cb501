package proxy

import (
	"context"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/jms-bastion/jms/store"
)

// addFilters gives the harness's store the filters of these tests:
// reboot is denied, env flagged, zero needs review.
func (h *harness) addFilters() {
	h.t.Helper()
	ctx := store.WithActor(context.Background(), "test")
	for _, nf := range []store.NewFilter{
		{Name: "no-reboot", Action: "deny", Commands: []string{"reboot"}},
		{Name: "flag-env", Action: "warn", Commands: []string{"env"}},
		{Name: "zero-review", Action: "review", Regex: `^zero( |$)`},
		{Name: "allow-echo-reboot", Action: "allow", Priority: 10, Regex: `^echo reboot-ok`},
	} {
		if _, err := h.st.AddFilter(ctx, nf); err != nil {
			h.t.Fatal(err)
		}
	}
}

// events returns the command audit of every session so far.
func (h *harness) events() []store.CommandEvent {
	h.t.Helper()
	evs, err := h.st.ListCommandEvents(context.Background(), store.AuditQuery{})
	if err != nil {
		h.t.Fatal(err)
	}
	return evs
}

func (h *harness) lastEvent() store.CommandEvent {
	h.t.Helper()
	evs := h.events()
	if len(evs) == 0 {
		h.t.Fatal("no command event")
	}
	return evs[len(evs)-1]
}

// pendingTicket waits for the pending ticket of cmd.
func (h *harness) pendingTicket(cmd string) store.Ticket {
	h.t.Helper()
	var got store.Ticket
	if !waitFor(5*time.Second, func() bool {
		ts, err := h.st.ListTickets(context.Background(), store.TicketPending)
		if err != nil {
			h.t.Fatal(err)
		}
		for _, t := range ts {
			if t.Command == cmd {
				got = t
				return true
			}
		}
		return false
	}) {
		h.t.Fatalf("no pending ticket for %q", cmd)
	}
	return got
}

func TestExecFilter(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.addFilters()
	tests := []struct {
		cmd, stdout, stderr, verdict, filter string
		code                                 int
		ran                                  bool
	}{
		{"echo hi", "hi\n", "", "allow", "", 0, true},
		{"reboot now", "", `jms: command "reboot now" denied by filter "no-reboot"` + "\n", "deny", "no-reboot", ExitDenied, false},
		{"echo ok && sudo /sbin/reboot", "", `jms: command "sudo /sbin/reboot" denied by filter "no-reboot"` + "\n", "deny", "no-reboot", ExitDenied, false},
		{"echo rebooted.txt", "rebooted.txt\n", "", "allow", "", 0, true},
		{"echo reboot-ok", "reboot-ok\n", "", "allow", "allow-echo-reboot", 0, true},
		{"env LANG", "\n", "", "warn", "flag-env", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.cmd, func(t *testing.T) {
			r := h.exec(tt.cmd, nil)
			if r.code != tt.code || r.stdout != tt.stdout || r.stderr != tt.stderr {
				t.Errorf("got %d %q %q, want %d %q %q", r.code, r.stdout, r.stderr, tt.code, tt.stdout, tt.stderr)
			}
			if ran := slices.Contains(h.asset.Ran(), tt.cmd); ran != tt.ran {
				t.Errorf("ran on the asset: %v, want %v", ran, tt.ran)
			}
			ss := h.lastSession()
			e := h.lastEvent()
			if e.SessionID != ss.ID || e.Command != tt.cmd || e.Verdict != tt.verdict || e.Filter != tt.filter ||
				e.User != "alice" || e.Asset != "web1" || e.Account != "root" {
				t.Errorf("event %+v", e)
			}
			if ss.ExitStatus == nil || *ss.ExitStatus != tt.code {
				t.Errorf("session row %+v", ss)
			}
		})
	}
	if n := len(h.events()); n != len(tests) {
		t.Errorf("%d events, want %d", n, len(tests))
	}
}

func TestExecReview(t *testing.T) {
	h := newHarness(t, harnessOptions{cfg: Config{ReviewPoll: 50 * time.Millisecond, ReviewTimeout: time.Minute}})
	h.addFilters()
	ctx := store.WithActor(context.Background(), "test")
	for _, approve := range []bool{true, false} {
		done := make(chan execResult, 1)
		go func() { done <- h.exec("zero 10", nil) }()
		tk := h.pendingTicket("zero 10")
		if tk.Filter != "zero-review" || tk.User != "alice" || tk.Asset != "web1" {
			t.Errorf("ticket %+v", tk)
		}
		select {
		case r := <-done:
			t.Fatalf("ran before the decision: %+v", r)
		case <-time.After(200 * time.Millisecond):
		}
		decided := time.Now()
		if _, err := h.st.DecideTicket(ctx, tk.ID, approve, "boss", "freeze\x1b[2J until 6"); err != nil {
			t.Fatal(err)
		}
		var r execResult
		select {
		case r = <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("still held 5 s after the decision")
		}
		if d := time.Since(decided); d > 2*time.Second {
			t.Errorf("released %v after the decision", d)
		}
		wait := `jms: command "zero 10" waits for approval (ticket ` + itoa(tk.ID) + `); disconnect to cancel`
		if !strings.Contains(r.stderr, wait) {
			t.Errorf("stderr %q", r.stderr)
		}
		e := h.lastEvent()
		if approve {
			if r.code != 0 || len(r.stdout) != 10 || !strings.Contains(r.stderr, "approved by boss") {
				t.Errorf("approved: %d %q %q", r.code, r.stdout, r.stderr)
			}
			if e.Verdict != "review:approved" || e.Filter != "zero-review" {
				t.Errorf("event %+v", e)
			}
		} else {
			// The reason is shown, escaped: it is admin input.
			if r.code != ExitDenied || r.stdout != "" || !strings.Contains(r.stderr, `rejected by boss (freeze\x1b[2J until 6): command not run`) {
				t.Errorf("rejected: %d %q %q", r.code, r.stdout, r.stderr)
			}
			if e.Verdict != "review:rejected" {
				t.Errorf("event %+v", e)
			}
		}
	}
	if n := strings.Count(strings.Join(h.asset.Ran(), "\n"), "zero 10"); n != 1 {
		t.Errorf("zero 10 ran %d times, want once: %q", n, h.asset.Ran())
	}
	// The audit can ask for every review, whatever its outcome.
	evs, err := h.st.ListCommandEvents(ctx, store.AuditQuery{Verdict: "review"})
	if err != nil || len(evs) != 2 {
		t.Errorf("review events %+v %v", evs, err)
	}
}

func TestExecReviewTimeoutAndDisconnect(t *testing.T) {
	h := newHarness(t, harnessOptions{cfg: Config{ReviewPoll: 50 * time.Millisecond, ReviewTimeout: 300 * time.Millisecond}})
	h.addFilters()
	r := h.exec("zero 1", nil)
	if r.code != ExitDenied || !strings.Contains(r.stderr, "canceled: no decision within 300ms") {
		t.Errorf("timeout: %+v", r)
	}
	if e := h.lastEvent(); e.Verdict != "review:canceled" {
		t.Errorf("event %+v", e)
	}

	h2 := newHarness(t, harnessOptions{cfg: Config{ReviewPoll: 50 * time.Millisecond}})
	h2.addFilters()
	c := h2.dial()
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start("zero 2"); err != nil {
		t.Fatal(err)
	}
	tk := h2.pendingTicket("zero 2")
	c.Close()
	if !waitFor(5*time.Second, func() bool {
		got, err := h2.st.GetTicket(context.Background(), tk.ID)
		return err == nil && got.Status == store.TicketCanceled
	}) {
		t.Error("the ticket of a person who left is still pending")
	}
	h2.lastSession()
	if slices.Contains(h2.asset.Ran(), "zero 2") {
		t.Error("ran after the person left")
	}
}

// ptySession opens a shell with an echoing PTY through the bastion.
type ptyClient struct {
	t     *testing.T
	c     *gossh.Client
	s     *gossh.Session
	stdin io.WriteCloser
	out   *syncBuf
}

func (h *harness) ptyShell(t *testing.T) *ptyClient {
	c := h.dial()
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	stdin, _ := s.StdinPipe()
	out := &syncBuf{}
	s.Stdout = out
	if err := s.RequestPty("xterm-256color", 24, 80, gossh.TerminalModes{gossh.ECHO: 1}); err != nil {
		t.Fatal(err)
	}
	if err := s.Shell(); err != nil {
		t.Fatal(err)
	}
	p := &ptyClient{t: t, c: c, s: s, stdin: stdin, out: out}
	p.wait("$ ")
	return p
}

func (p *ptyClient) wait(want string) {
	p.t.Helper()
	if !waitFor(5*time.Second, func() bool { return strings.Contains(p.out.String(), want) }) {
		p.t.Fatalf("no %q in output %q", want, p.out.String())
	}
}

// typ types keys one at a time, as a person does.
func (p *ptyClient) typ(keys string) {
	p.t.Helper()
	for i := 0; i < len(keys); i++ {
		if _, err := p.stdin.Write([]byte{keys[i]}); err != nil {
			p.t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (p *ptyClient) close() {
	p.c.Close()
}

func TestPTYFilter(t *testing.T) {
	h := newHarness(t, harnessOptions{cfg: Config{ReviewPoll: 50 * time.Millisecond}})
	h.addFilters()
	p := h.ptyShell(t)
	defer p.close()

	p.typ("echo hi\r")
	p.wait("hi\r\n$ ")
	p.typ("rebooo\x7ft\r")
	p.wait(`jms: command "reboot" denied by filter "no-reboot"` + "\r\n")
	p.wait("^C\r\n$ ")
	p.typ("echo after\r")
	p.wait("after\r\n$ ")
	// A paste is judged line by line before any of it is sent.
	p.typ("")
	p.stdin.Write([]byte("\x1b[200~echo pasted\nreboot\n\x1b[201~"))
	p.wait(`jms: command "reboot" denied by filter "no-reboot"` + "\r\n")
	p.typ("\x15echo last\r")
	p.wait("last\r\n$ ")

	ran := h.asset.Ran()
	for _, c := range ran {
		if strings.Contains(c, "reboot") || strings.Contains(c, "pasted") {
			t.Errorf("%q reached the asset: %q", c, ran)
		}
	}
	if want := []string{"echo hi", "echo after", "echo last"}; !slices.Equal(ran, want) {
		t.Errorf("ran %q, want %q", ran, want)
	}

	p.typ("exit 0\r")
	p.s.Wait()
	ss := h.lastSession()
	var got []string
	var last int64 = -1
	for _, e := range h.events() {
		if e.SessionID != ss.ID {
			t.Errorf("event of another session: %+v", e)
		}
		if e.OffsetMS < last {
			t.Errorf("offsets go back: %+v", e)
		}
		last = e.OffsetMS
		got = append(got, e.Command+" "+e.Verdict+" "+e.Filter)
	}
	want := []string{"echo hi allow ", "reboot deny no-reboot", "echo after allow ",
		"echo pasted deny no-reboot", "reboot deny no-reboot", "echo last allow ", "exit 0 allow "}
	if !slices.Equal(got, want) {
		t.Errorf("audit\n%q\nwant\n%q", got, want)
	}
	_, evs := h.recording(ss)
	if !strings.Contains(outputOf(evs), `denied by filter "no-reboot"`) {
		t.Error("the denial is not in the recording")
	}
}

func TestPTYReview(t *testing.T) {
	h := newHarness(t, harnessOptions{cfg: Config{ReviewPoll: 50 * time.Millisecond}})
	h.addFilters()
	ctx := store.WithActor(context.Background(), "test")
	p := h.ptyShell(t)
	defer p.close()

	// Ctrl-C cancels.
	p.typ("zero 3\r")
	tk := h.pendingTicket("zero 3")
	p.wait(`jms: command "zero 3" waits for approval (ticket ` + itoa(tk.ID) + `); Ctrl-C cancels`)
	p.typ("x\x03")
	p.wait("jms: ticket " + itoa(tk.ID) + " canceled")
	if got, _ := h.st.GetTicket(ctx, tk.ID); got.Status != store.TicketCanceled {
		t.Errorf("ticket %+v", got)
	}
	// Approved: the Enter goes through.
	p.typ("zero 2\r")
	tk = h.pendingTicket("zero 2")
	decided := time.Now()
	if _, err := h.st.DecideTicket(ctx, tk.ID, true, "boss", ""); err != nil {
		t.Fatal(err)
	}
	p.wait("approved by boss")
	if !waitFor(2*time.Second, func() bool { return slices.Contains(h.asset.Ran(), "zero 2") }) {
		t.Fatalf("approved command did not run within 2 s: %q", h.asset.Ran())
	}
	if d := time.Since(decided); d > 2*time.Second {
		t.Errorf("released %v after the decision", d)
	}
	// Rejected: the line is dropped.
	p.typ("zero 1\r")
	tk = h.pendingTicket("zero 1")
	if _, err := h.st.DecideTicket(ctx, tk.ID, false, "boss", "use the runbook"); err != nil {
		t.Fatal(err)
	}
	p.wait("rejected by boss (use the runbook): command not run")
	p.typ("echo done\r")
	p.wait("done\r\n$ ")
	if want := []string{"zero 2", "echo done"}; !slices.Equal(h.asset.Ran(), want) {
		t.Errorf("ran %q, want %q", h.asset.Ran(), want)
	}
	var verdicts []string
	for _, e := range h.events() {
		verdicts = append(verdicts, e.Verdict)
	}
	if want := []string{"review:canceled", "review:approved", "review:rejected", "allow"}; !slices.Equal(verdicts, want) {
		t.Errorf("verdicts %q, want %q", verdicts, want)
	}
}

func TestShellWithoutPTYFilter(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.addFilters()
	c := h.dial()
	defer c.Close()
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	var out, errb syncBuf
	s.Stdout, s.Stderr = &out, &errb
	s.Stdin = strings.NewReader("echo one\r\nreboot\r\necho two\r\nexit 3\r\n")
	err = s.Run("")
	if code := exitCode(t, err); code != 3 {
		t.Fatalf("exit %d; stderr %q", code, errb.String())
	}
	if !strings.Contains(errb.String(), `jms: command "reboot" denied by filter "no-reboot"`+"\n") {
		t.Errorf("stderr %q", errb.String())
	}
	if want := []string{"echo one", "echo two"}; !slices.Equal(h.asset.Ran(), want) {
		t.Errorf("ran %q, want %q", h.asset.Ran(), want)
	}
	if n := len(h.events()); n != 4 {
		t.Errorf("%d events, want 4", n)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestExecShellStdinFilter: the input of an exec'd shell (sh reading its
// commands from stdin) is judged line by line, as a shell without a PTY's
// is; the audit has every line, not only "sh".
func TestExecShellStdinFilter(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.addFilters()
	res := h.exec("sh", strings.NewReader("echo one\r\nreboot\r\necho two\r\n"))
	if !strings.Contains(res.stderr, `jms: command "reboot" denied by filter "no-reboot"`) {
		t.Errorf("stderr %q", res.stderr)
	}
	if want := []string{"sh", "echo one", "echo two"}; !slices.Equal(h.asset.Ran(), want) {
		t.Errorf("ran %q, want %q", h.asset.Ran(), want)
	}
	var got []string
	for _, e := range h.events() {
		got = append(got, e.Command+" "+e.Verdict)
	}
	if want := []string{"sh allow", "echo one allow", "reboot deny", "echo two allow"}; !slices.Equal(got, want) {
		t.Errorf("audit %q, want %q", got, want)
	}
	// A command that does not read commands passes its input untouched.
	res = h.exec("cat", strings.NewReader("reboot\n"))
	if res.stdout != "reboot\n" {
		t.Errorf("cat: %+v", res)
	}
}

// TestShellWithoutPTYContinuation: the lines of a command read over
// several lines are judged joined and sent all or none; a line too long to
// judge is refused, not judged in halves.
func TestShellWithoutPTYContinuation(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.addFilters()
	long := "echo " + strings.Repeat("x", maxHeldLine) + " reboot"
	in := "echo re\\\r\nboot\r\necho 'a\r\nb' ; reb\\\r\noot\r\n" + long + "\r\necho fine\r\nexit 0\r\n"
	res := h.exec("sh", strings.NewReader(in))
	if n := strings.Count(res.stderr, `denied by filter "no-reboot"`); n != 2 {
		t.Errorf("%d denials on stderr, want 2: %q", n, clip(res.stderr))
	}
	if !strings.Contains(res.stderr, "too long to judge: not run") {
		t.Errorf("no refusal of the long line: %q", clip(res.stderr))
	}
	if want := []string{"sh", "echo fine"}; !slices.Equal(h.asset.Ran(), want) {
		t.Errorf("ran %q, want %q", h.asset.Ran(), want)
	}
	var got []string
	for _, e := range h.events() {
		got = append(got, clip(e.Command)+" "+e.Verdict)
	}
	want := []string{"sh allow", "echo re\\\nboot deny", "echo 'a\nb' ; reb\\\noot deny",
		short(long) + " deny", "echo fine allow", "exit 0 allow"}
	if !slices.Equal(got, want) {
		t.Errorf("audit\n%q\nwant\n%q", got, want)
	}
}

// TestPTYProbeAndNoEcho: a key the shell binds to accept-line (^T here)
// and input the shell does not echo are judged and audited.
func TestPTYProbeAndNoEcho(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.addFilters()
	p := h.ptyShell(t)
	defer p.close()

	p.typ("reboot\x14")
	p.wait(`jms: command "reboot" denied by filter "no-reboot"` + "\r\n")
	p.wait("^C\r\n$ ")
	p.typ("echo bound\x14")
	p.wait("bound\r\n$ ")
	p.typ("echo re\\\r")
	p.wait("$ ")
	p.typ("boot\r")
	p.wait(`denied by filter "no-reboot"`)
	p.typ("noecho\r")
	p.wait("noecho\r\n$ ")
	time.Sleep(100 * time.Millisecond)
	p.typ("reboot\r")
	if !waitFor(5*time.Second, func() bool { return strings.Count(p.out.String(), `denied by filter "no-reboot"`) == 3 }) {
		t.Fatalf("unechoed reboot not denied: %q", p.out.String())
	}
	p.typ("echo quiet\r")
	p.wait("quiet\r\n$ ")
	time.Sleep(100 * time.Millisecond)
	p.typ("exit 0\r")
	p.s.Wait()

	ran := h.asset.Ran()
	for _, c := range ran {
		if c == "reboot" || strings.Contains(c, "boot") && !strings.Contains(c, "bound") {
			t.Errorf("%q reached the asset: %q", c, ran)
		}
	}
	var got []string
	for _, e := range h.events() {
		got = append(got, e.Command+" "+e.Verdict)
	}
	want := []string{"reboot deny", "echo bound allow", "echo re\\\nboot deny", "noecho allow",
		"reboot deny", "echo quiet allow", "exit 0 allow"}
	if !slices.Equal(got, want) {
		t.Errorf("audit\n%q\nwant\n%q", got, want)
	}
}

// clip shortens text with a very long line for a test's message.
func clip(s string) string {
	if len(s) > 300 {
		return s[:150] + "…" + s[len(s)-150:]
	}
	return s
}

// TestPTYProbeAuditWithoutFilters: a line a bound key submits is in the
// command audit also when no filter applies.
func TestPTYProbeAuditWithoutFilters(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	p := h.ptyShell(t)
	defer p.close()
	p.typ("echo bound\x14")
	p.wait("bound\r\n$ ")
	p.typ("exit 0\r")
	p.s.Wait()
	var got []string
	for _, e := range h.events() {
		got = append(got, e.Command+" "+e.Verdict)
	}
	if want := []string{"echo bound allow", "exit 0 allow"}; !slices.Equal(got, want) {
		t.Errorf("audit %q, want %q", got, want)
	}
}

// TestPTYPasswordPrompt: what is typed at a password prompt is judged but
// never shown, audited or logged in clear.
func TestPTYPasswordPrompt(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.addFilters()
	p := h.ptyShell(t)
	defer p.close()
	p.typ("passwd\r")
	p.wait("Password: ")
	p.typ("reboot\r")
	p.wait(`jms: input typed at a password prompt matches filter "no-reboot": not sent`)
	p.wait("$ ")
	p.typ("passwd\r")
	if !waitFor(5*time.Second, func() bool { return strings.Count(p.out.String(), "Password: ") == 2 }) {
		t.Fatalf("no second prompt: %q", p.out.String())
	}
	p.typ("hunter2\r")
	time.Sleep(500 * time.Millisecond)
	p.typ("exit 0\r")
	p.s.Wait()
	if strings.Contains(p.out.String(), `"reboot"`) || strings.Contains(p.out.String(), "hunter2") {
		t.Errorf("a secret was shown: %q", p.out.String())
	}
	var got []string
	for _, e := range h.events() {
		got = append(got, e.Command+" "+e.Verdict)
	}
	want := []string{"passwd allow", "(not echoed, at a password prompt) deny", "passwd allow", "exit 0 allow"}
	if !slices.Equal(got, want) {
		t.Errorf("audit %q, want %q", got, want)
	}
}

// TestPTYLongPaste: a paste too long to judge is refused whole.
func TestPTYLongPaste(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.addFilters()
	p := h.ptyShell(t)
	defer p.close()
	paste := "\x1b[200~echo " + strings.Repeat("x", 2<<20) + "\nreboot\n\x1b[201~"
	if _, err := p.stdin.Write([]byte(paste)); err != nil {
		t.Fatal(err)
	}
	p.wait("jms: a paste of over 1 MiB is too long to judge: not sent")
	p.typ("echo after\r")
	p.wait("after\r\n$ ")
	p.typ("exit 0\r")
	p.s.Wait()
	if want := []string{"echo after"}; !slices.Equal(h.asset.Ran(), want) {
		t.Errorf("ran %q, want %q", clip(strings.Join(h.asset.Ran(), "|")), want)
	}
}
